"""Live sessions on real parts: BrainFlow's synthetic board, LSL on loopback,
LabRecorder, and replay of what was recorded."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from biofeedback.config import load_pipeline
from biofeedback.feedback import Sink
from biofeedback.hardware import BrainFlowSource, get_profile
from biofeedback.io import read_recording
from biofeedback.replay import replay
from biofeedback.session import Session
from biofeedback.stream import LSLSource

PLAYER = Path(__file__).with_name("lsl_player.py")
pytestmark = pytest.mark.lsl


class Broken(Sink):
    name = "broken"

    def write(self, r):
        raise RuntimeError("no display")


def _start_player(csv, name, source_id, *args):
    proc = subprocess.Popen([sys.executable, str(PLAYER), str(csv), name, source_id, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.slow
def test_synthetic_session_records_and_replays_to_the_same_estimates(tmp_path, uid, collect_sink):
    collect, broken = collect_sink, Broken()
    src = BrainFlowSource(get_profile("synthetic"))
    session = Session(src, load_pipeline(), [collect, broken], record=True,
                      recordings_dir=tmp_path, duration=3.0, name=f"bf-{uid}")
    summary = session.run()
    # the session went on without the broken sink, and said so
    assert "broken" in summary.sink_errors and "no display" in summary.sink_errors["broken"]
    assert summary.n_windows >= 3 and len(collect.results) == summary.n_windows
    # sinks (terminal, dashboard) see the session's events, not the file's bookkeeping
    assert "session_start" in collect.events and "losses_marked" not in collect.events
    assert summary.recording.exists() and summary.recording.with_suffix(".json").exists()
    rec = read_recording(summary.recording)
    assert rec.provenance["losses_from"] == "markers"  # the bookkeeping marker is in the file
    # every sample the engine saw is in the file, in volts
    assert rec.n_times == summary.n_samples
    assert rec.sfreq == 250 and rec.ch_names == list(get_profile("synthetic").ch_names)
    side = rec.provenance["sidecar"]
    assert side["board_profile"]["name"] == "synthetic"
    assert side["pipeline"]["window"] == {"length": 2.0, "hop": 0.5}
    assert side["software"]["brainflow"] and side["summary"]["n_windows"] == summary.n_windows
    recorded = rec.streams[f"bf-{uid}-Estimates"]
    assert recorded.ch_names == [*session.engine.estimate_names, "gated"]
    # replaying the recording gives what the live run gave
    out = replay(summary.recording)
    assert len(out.t_end) == len(recorded.timestamps) == summary.n_windows
    np.testing.assert_allclose(out.t_end, recorded.timestamps, atol=1e-3)
    live = np.asarray(recorded.data).T
    np.testing.assert_allclose(out.estimates, live[:, :-1], rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(out.gated, live[:, -1].astype(bool))
    live_mem = np.array([r.estimates for r in collect.results])
    np.testing.assert_allclose(out.estimates, live_mem, rtol=1e-6, equal_nan=True)


@pytest.mark.slow
def test_muse_recording_over_lsl_is_consumed_by_the_cli(muse_dir, tmp_path, uid):
    from biofeedback.cli import main

    csv = muse_dir / "subjecta-relaxed-1.csv"
    player = _start_player(csv, f"muse-{uid}", f"muse-{uid}", "--duration", "20")
    try:
        code = main(["live", "--lsl", f"muse-{uid}", "--duration", "3", "--view", "none",
                     "--recordings", str(tmp_path)])
    finally:
        player.kill()
        player.wait()
    assert code == 0
    (xdf,) = tmp_path.glob("*.xdf")
    rec = read_recording(xdf)
    assert rec.ch_names == ["TP9", "AF7", "AF8", "TP10"] and rec.sfreq == 256
    # the recorded samples are the file's samples, in order, converted to volts
    ref = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4)).T * 1e-6
    # quantised Muse values repeat: align on the first 16 samples of every channel
    head = rec.data[:, :16]
    cands = np.flatnonzero(np.isclose(ref[0, : ref.shape[1] - 15], head[0, 0], rtol=0, atol=1e-12))
    starts = [i for i in cands if np.allclose(ref[:, i : i + 16], head, rtol=1e-12, atol=0)]
    assert starts, "the recorded samples are not a run of the file's samples"
    first = int(starts[0])
    np.testing.assert_allclose(rec.data, ref[:, first : first + rec.n_times], rtol=1e-12)
    est = rec.streams["biofeedback-Estimates"]
    assert len(est.timestamps) >= 3


@pytest.mark.slow
def test_estimates_outlet_is_read_by_an_independent_inlet(uid, collect_sink):
    import pylsl

    collect = collect_sink
    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), [collect],
                      record=False, duration=3.5, name=f"est-{uid}")
    th = threading.Thread(target=session.run)
    th.start()
    found = pylsl.resolve_byprop("name", f"est-{uid}-Estimates", timeout=5)
    assert found
    inlet = pylsl.StreamInlet(found[0])
    info = inlet.info(timeout=5)
    labels = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling("channel")
    assert info.nominal_srate() == 0  # irregular: pyxdf must not dejitter it
    samples, stamps = [], []
    while th.is_alive() or inlet.samples_available():
        d, t = inlet.pull_chunk(timeout=0.2)
        samples += d
        stamps += t
    th.join()
    assert labels == [*session.engine.estimate_names, "gated"]
    got = {round(t, 6): s for t, s in zip(stamps, samples)}
    # an inlet gets what is sent once it is connected (no history), which on a
    # busy machine can be after the first windows: every window from then on
    assert stamps
    since = [r for r in collect.results if r.t_end >= min(stamps)]
    matched = [r for r in collect.results if round(r.t_end, 6) in got]
    assert [r.t_end for r in matched] == [r.t_end for r in since] and len(matched) >= 2
    for r in matched:
        np.testing.assert_allclose(got[round(r.t_end, 6)][:-1], r.estimates, equal_nan=True)


@pytest.mark.slow
def test_a_stream_that_vanishes_is_marked_as_a_gap_and_resumes(muse_dir, tmp_path, uid,
                                                               collect_until_back):
    csv = muse_dir / "subjectb-neutral-1.csv"
    player = _start_player(csv, f"drop-{uid}", f"drop-{uid}", "--pause-at", "2",
                           "--pause-for", "2.5", "--duration", "14")
    collect = collect_until_back
    try:
        src = LSLSource(f"drop-{uid}", lost_after=0.5, timeout=5)
        session = collect.session = Session(src, load_pipeline(), [collect], record=True,
                                            recordings_dir=tmp_path, duration=9.0,
                                            name=f"gap-{uid}")
        summary = session.run()
    finally:
        player.kill()
        player.wait()
    assert len(summary.gaps) == 1
    # the 640 samples (2.5 s) the player skipped, plus what the new outlet sent
    # before the source found it again (about 1-2 s, longer on a loaded machine)
    gap = summary.gaps[0]
    assert 640 <= gap["n"] and gap["duration"] < 6.0
    assert any(e.startswith("gap_start") for e in collect.events)
    assert any(e.startswith("gap_end") for e in collect.events)
    rec = read_recording(summary.recording)
    texts = [m for _, m in rec.markers]
    assert "gap_start" in texts and any(t.startswith("gap_end") for t in texts)
    outages = [g.n_missing for g in rec.gaps if g.source == "marker"]
    assert outages == [gap["n"]], "the reader reads the gap markers"
    # the gap is the hole in the recorded timestamps. The player stamps each
    # chunk as it pushes it, so a push made late moves the step by its
    # lateness; the session counts from the pushes on time before and after
    # (the lower envelope of the stamps against their index over a quarter
    # second each side). On a loaded machine, where every push in that quarter
    # second can be late, the two part by a sample.
    steps = np.round(np.diff(rec.timestamps) * 256.0).astype(int)
    assert abs(steps.max() - 1 - gap["n"]) <= 1
    # windows came out after the stream returned
    assert max(r.t_end for r in collect.results) > gap["onset"] + gap["duration"]


def _recorder_running(xdf) -> bool:
    alive = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True, text=True)
    return bool(alive.stdout.split())


@pytest.mark.slow
def test_kill_9_leaves_a_readable_recording(tmp_path):
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "live", "--duration", "60",
                             "--view", "none", "--recordings", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 30
    xdf = None
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("*.xdf"))
        if found and found[0].stat().st_size > 50_000:
            xdf = found[0]
            break
        time.sleep(0.2)
    assert xdf is not None, "the session never started recording"
    # 120 kB: about 3.5 s of the 16-channel EEG written (2 s later when idle)
    while xdf.stat().st_size < 120_000 and time.monotonic() < deadline + 30:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the recorder notices its parent is gone, finishes the file and exits
    rec_pids = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True,
                              text=True).stdout.split()
    end = time.monotonic() + 10
    while rec_pids and time.monotonic() < end:
        time.sleep(0.2)
        rec_pids = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True,
                                  text=True).stdout.split()
    for pid in rec_pids:  # never leave a recorder behind
        os.kill(int(pid), signal.SIGKILL)
    rec = read_recording(xdf)
    assert rec.n_times / rec.sfreq > 2.0
    assert rec.provenance["sidecar"]["board_profile"]["name"] == "synthetic"


class SecondSignal(Sink):
    """Sends SIGHUP while the session closes (in ``finish``: the recorder still runs)."""

    name = "second-signal"
    lossless = True

    def finish(self):
        os.kill(os.getpid(), signal.SIGHUP)


@pytest.mark.slow
def test_other_apps_streams_are_recorded_beside_the_session_to_their_last_sample(
        tmp_path, uid, caplog, default_stop_signals):
    """PsychoPy's markers and another device's 100 Hz stream, up to the moment a
    service manager stops the session (SIGTERM), a closed terminal (SIGHUP)
    hurrying its closing."""
    import pylsl

    name, ecg = f"psychopy-{uid}", f"ecg-{uid}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, "string", name))
    ecg_out = pylsl.StreamOutlet(pylsl.StreamInfo(ecg, "ECG", 1, 100.0, "double64", ecg))
    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(),
                      [SecondSignal()], record=True, recordings_dir=tmp_path, duration=20.0,
                      name=f"ar-{uid}", also_record=[f"name='{name}'", f"name='{ecg}'"])
    pushed, ecg_pushed = [], []

    def stimulus():
        # the sidecar is written once the recorder runs (an inlet gets no history)
        end = time.monotonic() + 20
        while not list(tmp_path.glob("*.json")) and time.monotonic() < end:
            time.sleep(0.05)
        t0 = pylsl.local_clock()
        n = 0
        for i in range(4):
            end = time.monotonic() + 0.3
            while time.monotonic() < end:  # the other device sends all along
                due = int((pylsl.local_clock() - t0) * 100.0)
                if due > n:
                    stamps = (t0 + np.arange(n, due) / 100.0).tolist()
                    ecg_out.push_chunk([[float(k)] for k in range(n, due)], stamps)
                    ecg_pushed.extend(stamps)
                    n = due
                time.sleep(0.01)
            t = pylsl.local_clock()
            outlet.push_sample([f"stimulus {i}"], t)
            pushed.append(t)
        # the last marker, and the session is stopped at once: LabRecorder has
        # not pulled either stream's last moments
        os.kill(os.getpid(), signal.SIGTERM)

    th = threading.Thread(target=stimulus)
    th.start()
    with caplog.at_level("WARNING", logger="biofeedback"):
        summary = session.run()
    th.join()
    assert summary.stopped_by == "SIGTERM"
    assert "SIGHUP received while closing: closing at once." in caplog.messages
    # the handlers are ours no more, LabRecorderCLI is gone, the file is closed
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    assert not _recorder_running(summary.recording)
    from biofeedback.io._xdf import scan_chunks

    valid_end, size, cut, counts = scan_chunks(summary.recording)
    assert (valid_end, cut) == (size, None)
    assert counts["StreamFooter"] == counts["StreamHeader"] >= 5  # 3 own, 2 other programs'
    rec = read_recording(summary.recording)
    assert rec.provenance["sidecar"]["summary"]["stopped_by"] == "SIGTERM"
    got = [(t, m) for t, m in rec.markers if m.startswith("stimulus")]
    assert [m for _, m in got] == [f"stimulus {i}" for i in range(4)]
    np.testing.assert_allclose([t for t, _ in got], pushed, atol=1e-3)  # on the EEG's clock
    assert rec.timestamps[0] < got[0][0] < rec.timestamps[-1]
    # every sample of the other device up to the stop, once each, none missing
    other = rec.streams[ecg]
    values = np.asarray(other.data, dtype=float).ravel()
    assert other.timestamps[-1] == pytest.approx(ecg_pushed[-1], abs=1e-3)
    np.testing.assert_array_equal(np.diff(values), 1.0)
    np.testing.assert_allclose(np.diff(other.timestamps), 0.01, atol=1e-3)


def _labrecorders_of(pid) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), "LabRecorderCLI"], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


@pytest.mark.slow
def test_ctrl_c_while_the_recorder_starts_leaves_no_recorder_and_no_file(tmp_path, uid,
                                                                         ctrl_c):
    me, seen = os.getpid(), []

    def interrupt_when_spawned():  # Ctrl-C the moment LabRecorderCLI exists
        end = time.monotonic() + 60
        while not seen and time.monotonic() < end:
            seen.extend(_labrecorders_of(me))
            time.sleep(0.002)
        ctrl_c()

    src = BrainFlowSource(get_profile("synthetic"))
    session = Session(src, load_pipeline(), [], record=True, recordings_dir=tmp_path,
                      duration=20.0, name=f"bf-{uid}")
    threading.Thread(target=interrupt_when_spawned, daemon=True).start()
    try:
        summary = session.run()
    finally:
        time.sleep(1.5)  # long enough for a left-over recorder to open its file
        left = _labrecorders_of(me)
        for pid in left:  # never leave one behind, whatever the outcome
            os.kill(pid, signal.SIGKILL)
    assert seen, "LabRecorderCLI was never started"
    assert summary.stopped_by == "interrupt" and summary.recording is None
    # said as a stop from the page or by SIGTERM says it (before: a summary of
    # 0 samples and nothing about the recording)
    assert "stopped: before the session began, so nothing was recorded" in summary.notes
    assert left == [], "LabRecorderCLI outlived the session"
    assert list(tmp_path.iterdir()) == []  # no empty or header-only XDF, no sidecar


def _session_beside_markers(tmp_path, name, session_name):
    """Another program's marker outlet ``name``, and a synthetic session
    recording it beside its own streams (``--also-record``); the test stops
    it once its markers are sent (30 s at the most)."""
    import pylsl

    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, "string", name))
    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), [],
                      record=True, recordings_dir=tmp_path, duration=30.0, name=session_name,
                      also_record=[f"name='{name}'"])
    return name, outlet, session


def _push_while_recording(tmp_path, session, push):
    """Once the session records (its sidecar exists) and a second has passed
    for LabRecorder to subscribe, call ``push()``; then stop the session half
    a second later. Ending on the markers rather than on a fixed duration
    keeps a slow start on a loaded machine from cutting the last one off."""
    end = time.monotonic() + 20
    while not list(tmp_path.glob("*.json")) and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(1.0)
    try:
        push()
        time.sleep(0.5)
    finally:
        session.stop()


@pytest.mark.parametrize("stamps, per_second", [("unix", 1.0), ("unix_ms", 1000.0)])
def test_a_stream_stamped_with_unix_time_is_recorded_on_the_eeg_clock(tmp_path, uid, stamps,
                                                                     per_second):
    """muse-lsl's markers (time.time() stamps), and a JavaScript sender's
    (Date.now(): Unix time in milliseconds), recorded beside the EEG line up
    with it."""
    import pylsl

    from biofeedback.cli import main
    from biofeedback.stream._peers import unix_clock_note

    name, outlet, session = _session_beside_markers(tmp_path, f"{stamps}marks-{uid}",
                                                    f"ux-{uid}")
    pushed = []

    def stimulus():
        for i in range(3):
            outlet.push_sample([f"stimulus {i}"], time.time() * per_second)
            pushed.append(pylsl.local_clock())
            time.sleep(0.4)

    th = threading.Thread(target=_push_while_recording, args=(tmp_path, session, stimulus))
    th.start()
    summary = session.run()
    th.join()
    assert unix_clock_note(name, ms=per_second > 1) in summary.notes
    rec = read_recording(summary.recording)
    assert rec.provenance["sidecar"]["stream_clocks"][name]["stamps"] == stamps
    got = [t for t, m in rec.markers if m.startswith("stimulus")]
    np.testing.assert_allclose(got, pushed, atol=0.01)  # on the EEG's clock
    assert rec.timestamps[0] < got[0] < got[-1] < rec.timestamps[-1]
    np.testing.assert_allclose(rec.streams[name].timestamps, got)
    assert not [w for w in rec.warnings if "clock of its own" in w]
    # a copy holds the moved stamps and is not moved again
    copy = tmp_path / "copy" / "copy.xdf"
    copy.parent.mkdir()
    assert main(["convert", str(summary.recording), str(copy)]) == 0
    again = read_recording(copy)
    np.testing.assert_allclose([t for t, m in again.markers if m.startswith("stimulus")], got)


def test_a_stream_stamped_on_its_own_clock_is_said_not_lined_up(tmp_path, uid):
    """A device's markers stamped on its own clock (neither LSL nor Unix time)
    are recorded as sent, and the summary, the sidecar and the reader say that
    their times cannot be lined up with the EEG's."""

    from biofeedback.cli import main
    from biofeedback.stream._peers import own_clock_note

    name, outlet, session = _session_beside_markers(tmp_path, f"devclock-{uid}",
                                                    f"dc-{uid}")
    sent = []

    def device():  # its clock counts from its own start, days from the LSL clock
        for i in range(3):
            sent.append(5e5 + 0.4 * i)
            outlet.push_sample([f"event {i}"], sent[-1])
            time.sleep(0.4)

    th = threading.Thread(target=_push_while_recording, args=(tmp_path, session, device))
    th.start()
    summary = session.run()
    th.join()
    assert own_clock_note(name) in summary.notes
    assert own_clock_note(name) in session.summary_lines()
    rec = read_recording(summary.recording)
    assert rec.provenance["sidecar"]["stream_clocks"] == {
        name: {"source_id": name, "stamps": "own", "shift": None}}
    said = (f"The stream {name!r} is stamped on a clock of its own (the sidecar's "
            "stream_clocks): its times cannot be lined up with the EEG's.")
    assert said in rec.warnings
    np.testing.assert_allclose(rec.streams[name].timestamps, sent)  # as sent, not moved
    # a copy keeps saying so
    copy = tmp_path / "copy" / "copy.xdf"
    copy.parent.mkdir()
    assert main(["convert", str(summary.recording), str(copy)]) == 0
    assert said in read_recording(copy).warnings


@pytest.mark.lsl
def test_also_record_matching_the_sessions_own_streams_records_them_once(tmp_path, uid):
    """``--also-record "type='Markers'"`` (PsychoPy's markers) matches the
    session's marker and cue streams too: each stream is in the file once."""
    import pylsl
    import pyxdf

    name = f"psychopy-{uid}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, "string", name))  # noqa: F841
    # type='Markers', kept to this test's streams (others may run on the machine)
    pred = f"type='Markers' and (name='{name}' or starts-with(name, 'once-{uid}'))"
    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), [],
                      record=True, recordings_dir=tmp_path, duration=3.0,
                      name=f"once-{uid}", also_record=[pred])
    summary = session.run()
    streams, _ = pyxdf.load_xdf(str(summary.recording), dejitter_timestamps=False)
    names = sorted(s["info"]["name"][0] for s in streams)
    assert names == sorted([name, f"once-{uid}-EEG", f"once-{uid}-Estimates",
                            f"once-{uid}-Markers"]), names
    rec = read_recording(summary.recording)
    assert [m for _, m in rec.markers].count("session_start") == 1
