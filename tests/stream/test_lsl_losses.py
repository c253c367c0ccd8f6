"""What an LSL stream lost, read from its timestamps: stalls, holes within one read."""

import os
import time
import uuid

import numpy as np
import pytest

from biofeedback.stream import LSLSource

pytestmark = pytest.mark.lsl


def _kinds(src):
    return [(e.kind, e.n) for e in src.pop_events()]


def test_a_stall_is_no_outage_and_a_hole_within_one_read_is_one():
    src = LSLSource("never-opened", lost_after=0.5)
    src.sfreq = 100.0
    ts = 10.0 + np.arange(50) / 100.0
    src._losses(ts)
    src._last_ts = float(ts[-1])
    assert _kinds(src) == []
    # silent for lost_after, then every sample came (the sender, or we, stalled)
    src._lost = True
    src._losses(ts[-1] + (1 + np.arange(20)) / 100.0)
    (ev,) = src.pop_events()
    assert (ev.kind, ev.n, ev.duration) == ("reconnected", 0, 0.0)
    assert not src._lost
    # a 10-sample drop since the last read, and a 2 s outage inside this one:
    # liblsl recovered the stream between two reads, so there was no silence
    # to notice (inside one read only outages count: senders that stamp chunks
    # when they push them jitter by more than a few samples); judged, as a
    # silence between reads is, once the stamps have gone 0.25 s past it
    src._last_ts = 20.0
    t = np.concatenate([20.11 + np.arange(10) / 100.0, 22.21 + np.arange(10) / 100.0,
                        22.41 + np.arange(10) / 100.0])
    src._losses(t)
    got = src.pop_events()
    assert [(e.kind, e.n) for e in got] == [("dropped", 10), ("disconnected", 0),
                                            ("reconnected", 200)]
    assert got[1].timestamp == pytest.approx(20.2) and got[2].timestamp == pytest.approx(22.21)
    assert got[2].duration == pytest.approx(2.0)
    assert src.n_dropped == 10


def test_silence_before_the_first_sample_is_no_loss():
    """A stream found but slow to start (or a session slow to read) has lost nothing."""
    import pylsl

    name = f"late-{uuid.uuid4().hex[:10]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, "double64", name))
    src = LSLSource(name, timeout=5, lost_after=0.2)
    with src:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            assert src.read(0.05) is None
        assert src.pop_events() == []
        t0 = pylsl.local_clock()
        outlet.push_chunk(np.zeros((20, 2)).tolist(), (t0 + np.arange(20) / 100.0).tolist())
        got = []
        end = time.monotonic() + 10
        while not got and time.monotonic() < end:
            chunk = src.read(0.1)
            got = [] if chunk is None else [chunk]
        assert got and src.pop_events() == []


def test_a_stall_is_marked_but_counted_as_no_gap_by_the_session_and_readers():
    from biofeedback.io._losses import marker_gaps
    from biofeedback.session import Session
    from biofeedback.session._dispatch import Dispatcher
    from biofeedback.session._summary import SessionSummary, Tally
    from biofeedback.stream._source import SourceEvent

    session = Session(LSLSource("never-opened"), None, publish=False)
    session._dispatch = Dispatcher([])
    tally = Tally(SessionSummary("stall"))
    session._handle_events([SourceEvent("disconnected", timestamp=5.0),
                            SourceEvent("reconnected", timestamp=6.0, n=0)], tally)
    assert tally.gaps == [] and tally.gap_open is None
    assert marker_gaps([(5.0, "gap_start"), (6.0, "gap_end duration=0.000 n=0")], 100.0) == []
    assert len(marker_gaps([(5.0, "gap_start"), (6.0, "gap_end duration=1.000 n=100")],
                           100.0)) == 1


def _push_stamped(n_chunks, late, sfreq=256.0, chunk=12, lose=()):
    """Stamps as a sender that stamps each chunk when it pushes it (muse-lsl) makes them.

    ``late[k]`` seconds of lateness of push k; chunks in ``lose`` never arrive.
    """
    out = []
    for k in range(n_chunks):
        if k in lose:
            continue
        push = 100.0 + (k + 1) * chunk / sfreq + late[k]
        out.append(push - (chunk - 1 - np.arange(chunk)) / sfreq)
    return out


def _drops(chunks, sfreq=256.0):
    src = LSLSource("never-opened", lost_after=1.0)
    src.sfreq = sfreq
    for ts in chunks:
        src._losses(ts)
        src._last_ts = float(ts[-1])
    return [(e.kind, e.n) for e in src.pop_events()]


def test_late_pushes_stamped_on_push_are_no_drops_but_lost_chunks_are(rng):
    """A third of the pushes late by ~15 ms (a loaded machine) lost nothing.

    Judged on each step alone, 29 of these 320 steps counted as drops.
    """
    late = np.where(rng.random(320) < 0.3, rng.exponential(0.015, 320), 0.0)
    assert _drops(_push_stamped(320, late)) == []
    # the same sender losing two chunks (one pushed late itself): two drops of 12
    got = _drops(_push_stamped(320, late, lose=(100, 211)))
    assert got == [("dropped", 12), ("dropped", 12)]
    # exact stamps: as before, each step is a drop
    got = _drops(_push_stamped(320, np.zeros(320), lose=(50,)))
    assert got == [("dropped", 12)]


def test_late_pushes_of_half_second_chunks_are_no_drops_but_lost_chunks_are(rng):
    """A sender pushing half a second of samples at a time, stamped when pushed
    (pylsl's push_chunk without stamps), a push late by 60-150 ms now and then:
    the chunk that came back in line after it came half a second later,
    past the quarter second a step was judged over, and the lateness was
    counted as lost samples (14 and 32 in two of five live sessions)."""
    late = np.zeros(40)
    late[[5, 12, 13, 30]] = rng.uniform(0.06, 0.15, 4)
    assert _drops(_push_stamped(40, late, chunk=128)) == []
    # the same sender losing a chunk: one drop of 128
    assert _drops(_push_stamped(40, late, chunk=128, lose=(20,))) == [("dropped", 128)]
    # ... the one after a late push: the stamps never come back from that
    # lateness, which is then told from the loss by nothing; 128 in all
    got = _drops(_push_stamped(40, late, chunk=128, lose=(13,)))
    assert {kind for kind, _ in got} == {"dropped"} and sum(n for _, n in got) == 128


@pytest.mark.lsl
def test_late_pushes_of_half_second_chunks_through_lsl_are_no_drops(uid):
    """The same through a real outlet on loopback: chunks of 128 samples at
    256 Hz stamped as pushed, one of them late by 100 ms, read as they come."""
    import pylsl

    name = f"halfsec-{uid}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 256.0, "float32", name))
    with LSLSource(name, timeout=5) as src:
        t0 = pylsl.local_clock() - 10.0  # a sender's schedule 10 s ago (no stamp ahead)
        for k in range(12):
            push = t0 + (k + 1) * 0.5 + (0.1 if k == 5 else 0.0)
            x = np.column_stack([np.arange(128 * k, 128 * (k + 1)), np.zeros(128)])
            out.push_chunk(x.tolist(), (push - (127 - np.arange(128)) / 256.0).tolist())
            got = 0
            end = time.monotonic() + 10
            while got < 128 and time.monotonic() < end:
                chunk = src.read(0.1)
                got += 0 if chunk is None else chunk.timestamps.size
            assert got == 128
        src.flush_events()
        assert [e for e in src.pop_events() if e.kind != "marker"] == []
        assert src.n_dropped == 0


def test_a_drop_in_the_last_quarter_second_is_judged_when_the_stream_closes():
    """Drops are judged over 0.25 s after them; at the end that span is cut short."""
    chunks = _push_stamped(40, np.zeros(40), lose=(38,))  # the next-to-last chunk lost
    assert _drops(chunks) == []  # still pending: 12 samples after the step, not 64
    src = LSLSource("never-opened", lost_after=1.0)
    src.sfreq = 256.0
    for ts in chunks:
        src._losses(ts)
        src._last_ts = float(ts[-1])
    src.flush_events()
    assert [(e.kind, e.n) for e in src.pop_events()] == [("dropped", 12)]
    assert src.n_dropped == 12
    src.flush_events()  # judged once
    assert src.pop_events() == []


@pytest.mark.slow
def test_a_session_ending_just_after_a_drop_counts_it(tmp_path, uid):
    """Packets lost 0.1 s before a live session's end: in its summary and recording."""
    from biofeedback.config import load_pipeline
    from biofeedback.io import read_recording
    from biofeedback.session import Session
    from biofeedback.simulate import LSLPublisher

    scen = tmp_path / "late_loss.toml"
    scen.write_text('name = "late_loss"\nboard = "muse_2"\nduration = 30.0\nseed = 3\n'
                    '[[timeline]]\nat = 0.0\nstate = "relaxed"\n'
                    "[faults]\npacket_size = 12\n"
                    "[[faults.loss_bursts]]\nat = 3.0\nduration = 0.06\n")
    name = f"lateloss-{uid}"
    # the scenario starts once the session records (its inlet on the truth stream)
    with LSLPublisher(scen, name, wait_for_consumers=30.0):
        src = LSLSource(name, lost_after=1.0, timeout=10)
        session = Session(src, load_pipeline(), [], record=True, recordings_dir=tmp_path,
                          duration=3.1, name=f"ll-{uid}", also_record=[f"name='{name}-truth'"])
        summary = session.run()
    rec = read_recording(summary.recording)
    ts = rec.timestamps
    steps = np.round(np.diff(ts) * 256.0).astype(int) - 1
    hole = int(steps.max())
    assert hole >= 12 and ts[-1] - ts[int(steps.argmax())] < 0.25  # a drop near the end
    assert summary.n_dropped == hole
    assert summary.losses["dropped"] == hole and summary.losses["drops"] == 1
    assert sum(g.n_missing for g in rec.gaps) == hole
    assert rec.provenance["losses_from"] == "markers"  # the session marked it


def _skip_then_pause(name, sfreq, stop, ready, skip_at=1.0, skip=10, pause_at=1.1, pause=2.0):
    """Push samples stamped exactly on the LSL clock: ``skip`` of them never sent
    at ``skip_at`` s, then nothing from ``pause_at`` s for ``pause`` s (those are
    lost too), then on again; the clock starts once ``ready`` is set."""
    import pylsl

    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, sfreq, "double64", name),
                             chunk_size=0)
    t0, n = pylsl.local_clock(), 0
    while not stop.is_set():
        elapsed = pylsl.local_clock() - t0
        if not ready.is_set():
            t0, n = pylsl.local_clock(), 0  # the reader is not there yet: start over
            out.push_sample([0.0], t0)
            time.sleep(0.02)
            continue
        due = int(elapsed * sfreq)
        if n < skip_at * sfreq <= due:
            n += skip  # lost on the way
        if pause_at <= elapsed < pause_at + pause:
            n = due  # silent: its samples are lost
        elif due > n:
            out.push_chunk(np.arange(n, due, dtype=float)[:, None].tolist(),
                           (t0 + np.arange(n, due) / sfreq).tolist())
            n = due
        time.sleep(0.005)


def test_a_drop_just_before_an_outage_is_counted(uid):
    """Samples lost a tenth of a second before the stream goes silent are still
    counted when it comes back: the drop is judged when the silence begins,
    not forgotten when the stream reconnects."""
    import threading

    name, sfreq = f"dropout-{uid}", 200.0
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=_skip_then_pause, args=(name, sfreq, stop, ready),
                              daemon=True)
    thread.start()
    src = LSLSource(name, timeout=5, lost_after=0.5)
    events = []
    try:
        src.start()
        end = time.monotonic() + 30
        while time.monotonic() < end:
            chunk = src.read(0.05)
            if chunk is not None and not ready.is_set():
                src.pop_events()
                ready.set()
            events.extend(src.pop_events())
            if any(e.kind == "reconnected" for e in events):
                break
    finally:
        stop.set()
        thread.join()
        src.stop()
    kinds = [(e.kind, e.n) for e in events]
    assert [k for k, _ in kinds] == ["dropped", "disconnected", "reconnected"], kinds
    assert kinds[0] == ("dropped", 10)
    assert kinds[2][1] >= 0.5 * 2.0 * sfreq  # the silence's samples, counted apart
    assert src.n_dropped == 10


def test_a_backlog_pushed_after_a_stall_with_a_rounding_step_is_no_outage(caplog):
    """A sender stalls, then pushes its backlog as one chunk stamped back in
    time without a gap, but for a step of 1.6 periods (its stamps rounded):
    as everywhere else, a step under 5 periods is no loss."""
    import pylsl

    name = f"stall-{uuid.uuid4().hex[:10]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, "double64", name))
    src = LSLSource(name, timeout=5, lost_after=0.2)
    with src:
        t0 = pylsl.local_clock()
        first = t0 + np.arange(20) / 100.0 - 1.0  # the backlog ends before now
        outlet.push_chunk(np.zeros((20, 2)).tolist(), first.tolist())
        end = time.monotonic() + 10
        while src._last_ts is None and time.monotonic() < end:
            src.read(0.1)
        end = time.monotonic() + 10
        while not src._lost and time.monotonic() < end:  # the sender stalls
            assert src.read(0.05) is None
        assert src._lost
        backlog = first[-1] + (1.6 + np.arange(60)) / 100.0
        outlet.push_chunk(np.zeros((60, 2)).tolist(), backlog.tolist())
        got = None
        end = time.monotonic() + 10
        while got is None and time.monotonic() < end:
            got = src.read(0.1)
    assert got is not None
    assert [(e.kind, e.n) for e in src.pop_events()] == [("disconnected", 0),
                                                         ("reconnected", 0)]
    assert "is back after" not in caplog.text


def _stamped_on_push(name, sfreq, stop, ready, pauses):
    """Push one sample at a time at ``sfreq``, each stamped by liblsl as it is
    pushed (a sample-index channel); ``pauses`` are ``(at, seconds, backlog)``,
    ``at`` counted from when ``ready`` is set: nothing pushed for ``seconds``,
    then the samples due meanwhile pushed one by one as fast as they go
    (``backlog`` True: a stall, the sender kept them) or never (lost)."""
    import pylsl

    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, sfreq, "double64", name),
                             chunk_size=1)
    t0, n, since = pylsl.local_clock(), 0, None
    while not stop.is_set():
        now = pylsl.local_clock()
        if since is None and ready.is_set():
            since = now
        due = int((now - t0) * sfreq)
        at = -1.0 if since is None else now - since
        if any(p[0] <= at < p[0] + p[1] for p in pauses):
            time.sleep(0.002)
            continue
        for p_at, seconds, backlog in pauses:
            end = int((since - t0 + p_at + seconds) * sfreq) if since is not None else 0
            if not backlog and n < end <= due:
                n = end  # the samples of the pause never sent
        while n < due:
            out.push_sample([float(n)])
            n += 1
        time.sleep(0.004)


def test_a_backlog_stamped_as_pushed_after_a_stall_is_no_outage(uid, caplog):
    """A sender that stamps each sample as it pushes it stalls 0.6 s, then
    pushes its backlog one sample at a time: the stamps show a 0.6 s step, then
    60 samples with nearly one stamp. Nothing was lost (it counted as a 0.6 s
    outage); the same pause whose samples are never sent is one."""
    import threading

    name, sfreq = f"burst-{uid}", 100.0
    stop, ready = threading.Event(), threading.Event()
    pauses = [(0.4, 0.6, True), (1.6, 0.6, False)]
    thread = threading.Thread(target=_stamped_on_push, args=(name, sfreq, stop, ready, pauses),
                              daemon=True)
    thread.start()
    src = LSLSource(name, timeout=5, lost_after=0.3)
    events, index = [], []
    try:
        src.start()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            chunk = src.read(0.05)
            if chunk is not None:
                ready.set()
                index.extend(chunk.data[0] * 1e6)  # µV in, volts out
            events.extend(src.pop_events())
            if any(e.kind == "reconnected" and e.n for e in events):
                break
    finally:
        stop.set()
        thread.join()
        src.stop()
    back = [e for e in events if e.kind == "reconnected"]
    # the stall: every sample came (so would any stall of this busy machine's)
    assert back[0].n == 0 and back[0].duration == 0.0, events
    steps = np.diff(np.rint(index))  # what really came: one hole, of the second pause
    (hole,) = steps[steps > 1] - 1
    assert steps.min() == 1 and 60 <= hole <= 63
    assert [e.n for e in back if e.n] == [back[-1].n] and abs(back[-1].n - hole) <= 2, events
    assert back[-1].duration == pytest.approx(back[-1].n / sfreq)
    assert "dropped" not in [e.kind for e in events] and src.n_dropped == 0
    assert "nothing was lost" in caplog.text


def _packets_on_push(name, sfreq, stop, ready, pause, chunk, after):
    """Push ``chunk`` samples at a time at ``sfreq`` (a sample-index channel),
    each packet stamped as it is pushed: its last sample now, the others a
    period apart before it (liblsl stamps a single sample so). ``pause`` is
    ``(at, seconds)``, ``at`` counted from when ``ready`` is set: nothing is
    pushed for ``seconds``, then the samples due meanwhile are ``after``:
    ``"burst"`` pushed at once packet by packet, ``"one"`` pushed as one
    packet evenly stamped up to now, ``"drain"`` pushed at twice the rate
    until caught up (0.75 s after a 1.5 s stall), ``"lost"`` never sent."""
    import pylsl

    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 1, sfreq, "double64", name),
                             chunk_size=chunk)

    def push(first, count):
        now = pylsl.local_clock()
        out.push_chunk(np.arange(first, first + count, dtype=float)[:, None].tolist(),
                       (now - (count - 1 - np.arange(count)) / sfreq).tolist())

    t0, n, since = pylsl.local_clock(), 0, None
    p_at, seconds = pause
    while not stop.is_set():
        now = pylsl.local_clock()
        if since is None and ready.is_set():
            since = now
        due = int((now - t0) * sfreq)
        at = -1.0 if since is None else now - since
        if p_at <= at < p_at + seconds:
            time.sleep(0.002)
            continue
        back = since is not None and at >= p_at + seconds
        if back and after == "lost" and n < int((since - t0 + p_at + seconds) * sfreq):
            n = int((since - t0 + p_at + seconds) * sfreq)  # the pause's samples never sent
        if back and after == "one" and due - n > 2 * chunk:
            push(n, due - n)
            n = due
        if back and after == "drain" and due - n > 2 * chunk:
            push(n, chunk)  # twice the rate until caught up
            n += chunk
            time.sleep(chunk / (2 * sfreq))
            continue
        while due - n >= chunk:
            push(n, chunk)
            n += chunk
        time.sleep(0.004)


STALL_CASES = [(1, "burst", True), (12, "burst", True), (12, "burst", False),
               (12, "one", False), (12, "drain", False), (12, "drain", True),
               (12, "lost", True), (12, "lost", False)]


def _stall_case(name, chunk, after, within, pause=(1.0, 1.5), sfreq=250.0):
    """One case of :func:`test_a_stall_is_a_stall_whether_or_not_a_read_falls_inside_it`:
    a sender (a thread) pausing as ``after`` says, read until the pause is
    judged. Returns ``(events, index, n_dropped)``."""
    import threading

    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=_packets_on_push,
                              args=(name, sfreq, stop, ready, pause, chunk, after),
                              daemon=True)
    thread.start()
    src = LSLSource(name, timeout=5, lost_after=1.0)
    events, index, t_ready, t_judged = [], [], None, None
    try:
        src.start()
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if within and t_ready is not None:
                # this process stalls over the sender's stall: one read holds it
                asleep = time.monotonic() - t_ready
                if pause[0] - 0.3 < asleep < sum(pause) + 0.3:
                    time.sleep(sum(pause) + 0.3 - asleep)
            chunk_read = src.read(0.05)
            if chunk_read is not None:
                if not ready.is_set():
                    ready.set()
                    t_ready = time.monotonic()
                index.extend(np.rint(chunk_read.data[0] * 1e6))  # µV in, volts out
            events.extend(src.pop_events())
            if any(e.kind == "reconnected" for e in events) and t_judged is None:
                t_judged = time.monotonic()
            # 1 s more after the stall is judged (for any word after it), and
            # 2.5 s after the stall at the latest
            if t_ready is not None and (
                    time.monotonic() - t_ready > sum(pause) + 2.5
                    or t_judged is not None and time.monotonic() - t_judged > 1.0):
                break
    finally:
        stop.set()
        thread.join()
        src.flush_events()
        events.extend(src.pop_events())
        src.stop()
    return events, index, src.n_dropped


_ONE_CASE = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from test_lsl_losses import _stall_case
name, chunk, after, within = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
events, index, n_dropped = _stall_case(name, chunk, after, within)
json.dump({"events": [[e.kind, e.timestamp, e.n, e.duration] for e in events],
           "index": [float(i) for i in index], "n_dropped": n_dropped}, sys.stdout)
"""


@pytest.fixture(scope="module")
def stall_cases():
    """Every case of the stall test run at once, each sender and reader in a
    process of their own: each case mostly waits on the clock (its 1.5 s
    stall and the second after it is judged), so side by side, two a core at
    a time, they take the time of two instead of eight. A process each, as each case had when they
    ran one after another, not a thread each: the senders stamp packets as
    they push them, and sixteen threads sharing one interpreter's lock made
    pushes late enough to move a stall's stamps by three samples (one run in
    seven). ``{case: (events, index, n_dropped)}``, or what a case that
    failed to run said."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from biofeedback.stream._source import SourceEvent

    uid = uuid.uuid4().hex[:10]
    here = str(Path(__file__).resolve().parent)
    got = {}
    # in waves of two cases a core: all eight at once beside the suite's other
    # workers starved a sender pushing samples one by one, stamped as pushed,
    # for 30 ms, a step in its stamps a drop judge reads as lost samples
    wave = 2 * len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 4
    cases = list(enumerate(STALL_CASES))
    for first in range(0, len(cases), wave):
        procs = {case: subprocess.Popen(
            [sys.executable, "-c", _ONE_CASE, here, f"stall-{uid}-{k}", str(case[0]),
             case[1], str(int(case[2]))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for k, case in cases[first: first + wave]}
        try:
            for case, proc in procs.items():
                out, err = proc.communicate(timeout=60)
                got[case] = (proc.returncode, out, err)
        finally:
            for proc in procs.values():
                proc.kill()  # gone already when all went well
                proc.wait()
    cases = {}
    for case, (code, out, err) in got.items():
        if code:
            cases[case] = f"the case ended with status {code}:\n{err}"
            continue
        res = json.loads(out)
        events = [SourceEvent(kind, timestamp, n, duration)
                  for kind, timestamp, n, duration in res["events"]]
        cases[case] = (events, res["index"], res["n_dropped"])
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("chunk, after, within", STALL_CASES)
def test_a_stall_is_a_stall_whether_or_not_a_read_falls_inside_it(stall_cases, chunk, after,
                                                                  within):
    """A sender stalls 1.5 s, then pushes what it kept: nothing was lost, and
    the stream reports a stall (``reconnected`` with n=0), never dropped
    samples nor an outage, whether it pushes samples or packets of 12 each
    stamped as pushed, sends its backlog at once or drains it over 0.75 s,
    and whether this process read during the stall or not at all (the stall
    inside one read). An outage inside one read was counted from its step
    alone (375 samples "lost" after a stall of a sender pushing samples one
    by one), and so was a backlog of packets between reads (the first read
    after the stall holding one evenly stamped packet) or drained over more
    than a quarter second. The same pause with its samples never sent is an
    outage of those samples, inside one read too."""
    sfreq = 250.0
    got = stall_cases[(chunk, after, within)]
    assert not isinstance(got, str), got
    events, index, n_dropped = got
    steps = np.diff(index)
    assert steps.min() == 1, "the samples came out of order"
    hole = int((steps[steps > 1] - 1).sum())  # what really never came
    kinds = [(e.kind, e.n) for e in events]
    assert [k for k, _ in kinds] == ["disconnected", "reconnected"], kinds
    assert n_dropped == 0
    if after == "lost":
        assert hole >= 0.9 * 1.5 * sfreq
        assert abs(kinds[1][1] - hole) <= 2, (kinds, hole)
    else:
        assert hole == 0 and kinds[1][1] == 0, kinds
        assert events[1].duration == 0.0
