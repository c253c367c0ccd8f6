"""An LSL stream that goes away and comes back: the outage reported as it was."""

import threading
import time

import numpy as np
import pytest

pytestmark = [pytest.mark.lsl, pytest.mark.slow]  # a real outage: about 3 s


def _publish(name, sfreq, outage_at, outage, total, stop, ready):
    """Push ``total`` s of data; the outlet is gone for ``outage`` s from ``outage_at``
    s after ``ready`` is set (the reader has its first data: on a loaded machine
    resolving the stream can take longer than ``outage_at``)."""
    import pylsl

    def outlet():
        info = pylsl.StreamInfo(name, "EEG", 2, sfreq, "double64", name)
        return pylsl.StreamOutlet(info, chunk_size=0)

    out = outlet()
    t0 = pylsl.local_clock()
    n = 0
    away = False
    t_out = None
    while not stop.is_set() and n < total * sfreq:
        elapsed = pylsl.local_clock() - t0
        if t_out is None and ready.is_set():
            t_out = elapsed + outage_at
        if t_out is not None and t_out <= elapsed < t_out + outage:
            if not away:
                out, away = None, True  # the device is gone
            n = int(elapsed * sfreq)  # its samples are lost with it
            time.sleep(0.005)
            continue
        if away:
            out, away = outlet(), False  # back, and it pushes at once
        due = int(elapsed * sfreq)
        if due > n:
            out.push_chunk(np.zeros((due - n, 2)).tolist(),
                           (t0 + np.arange(n, due) / sfreq).tolist())
            n = due
        time.sleep(0.005)


def test_an_outage_is_reported_as_long_as_it_was(uid):
    from biofeedback.stream import LSLSource

    name, sfreq, outage = f"outage-{uid}", 250.0, 1.0
    stop, ready = threading.Event(), threading.Event()
    # the device keeps sending after the outage until the test has what it
    # waits for: on a loaded machine finding it again can take seconds
    thread = threading.Thread(target=_publish, args=(name, sfreq, 0.3, outage, 30.0, stop, ready),
                              daemon=True)
    thread.start()
    src = LSLSource(name, timeout=5, lost_after=0.3)
    events, stamps = [], []
    try:
        src.start()
        end = time.monotonic() + 15
        while time.monotonic() < end and not any(e.kind == "reconnected" for e in events):
            chunk = src.read(0.05)
            if chunk is not None:
                ready.set()
                stamps.append(chunk.timestamps)
            events.extend(src.pop_events())
    finally:
        stop.set()
        thread.join()
        src.stop()
    back = [e for e in events if e.kind == "reconnected"]
    assert [e.kind for e in events] == ["disconnected", "reconnected"], events
    # the samples between the last one before and the first one after: the
    # outage itself, plus what the re-created outlet sent before we were back
    print(f"outage {outage:.2f} s reported as {back[0].duration:.3f} s")
    # exactly the hole in what was received
    idx = np.round(np.concatenate(stamps) * sfreq).astype(np.int64)
    (hole,) = np.flatnonzero(np.diff(idx) > 1)
    assert back[0].n == idx[hole + 1] - idx[hole] - 1
    assert back[0].duration == back[0].n / sfreq
    assert outage - 0.01 <= back[0].duration < outage + 0.25


def test_a_stream_named_with_an_apostrophe_comes_back_without_liblsl_s_errors(tmp_path,
                                                                               uid):
    """A sender named "Bob's Muse" that went away and came back was found
    again, but liblsl's own recovery, whose query puts the name between single
    quotes, printed "A recovery attempt encountered an unexpected error:
    Invalid query" every half second of the outage in the terminal of `live`."""
    import subprocess
    import sys

    name = f"Bob's Muse {uid}"
    sender = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, numpy as np, pylsl\n"
         "def outlet():\n"
         f"    return pylsl.StreamOutlet(pylsl.StreamInfo({name!r}, 'EEG', 4, 250.0, "
         f"'float32', {uid!r}))\n"
         "out, t0, n, away = outlet(), pylsl.local_clock(), 0, False\n"
         "while n < 40 * 250:\n"
         "    now = pylsl.local_clock() - t0\n"
         "    if 6.0 <= now < 8.5:\n"  # gone for 2.5 s
         "        out, away, n = None, True, int(now * 250)\n"
         "    else:\n"
         "        if away:\n"
         "            out, away = outlet(), False\n"
         "        due = int(now * 250)\n"
         "        if due > n:\n"
         "            out.push_chunk(np.random.normal(0, 10, (due - n, 4)).tolist(),\n"
         "                           (t0 + np.arange(n, due) / 250.0).tolist())\n"
         "            n = due\n"
         "    time.sleep(0.01)\n"],
        cwd=tmp_path)
    try:
        live = subprocess.run(
            [sys.executable, "-m", "biofeedback", "live", "--lsl", name, "--no-record",
             "--view", "none", "--duration", "12"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        sender.kill()
        sender.wait()
    assert live.returncode == 0, live.stderr
    assert f"LSL stream {name} is back after" in live.stderr  # found again
    assert "recovery attempt" not in live.stderr, live.stderr
    assert "gap: stream lost" in live.stdout
