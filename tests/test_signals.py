"""Signals, the wall clock and a lost source end a live session cleanly."""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from biofeedback.session._watchdog import Watchdog


def test_watchdog_bounds_wall_clock_and_gives_up():
    dog = Watchdog(duration=30.0, give_up=10.0, grace=2.0)
    dog.begin(now=0.0)
    dog.data(now=5.0)
    assert dog.check(now=14.9) is None
    reason, text = dog.check(now=15.0)  # 10 s without data
    assert reason == "source_lost" and "give-up timeout 10 s" in text
    dog = Watchdog(duration=30.0, give_up=None)
    dog.begin(now=0.0)
    for t in np.arange(0.0, 20.0, 0.5):  # data for 20 s, then the stream vanishes
        dog.data(now=float(t))
    assert dog.check(now=31.9) is None
    assert dog.check(now=32.0)[0] == "duration"  # never waits for ever


@pytest.mark.lsl
def test_a_stream_that_never_returns_ends_the_session(uid):
    """``live --lsl NAME --duration 30`` with a stream in volts that vanishes for good."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    info = pylsl.StreamInfo(f"vanish-{uid}", "EEG", 4, 256.0, "double64", f"vanish-{uid}")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def push():
        t0 = pylsl.local_clock()
        n = 0
        while not stop.is_set() and pylsl.local_clock() - t0 < 3.0:
            due = int((pylsl.local_clock() - t0) * 256)
            if due > n:
                # volts, where LSL EEG without a unit is read as µV
                outlet.push_chunk(np.random.default_rng(n).normal(0, 10e-6, (due - n, 4))
                                  .tolist())
                n = due
            time.sleep(0.01)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    try:
        src = LSLSource(f"vanish-{uid}", timeout=5, lost_after=0.5)
        session = Session(src, load_pipeline(), [], record=False, publish=False,
                          duration=30.0, give_up=2.0)
        session.publish = False
        t0 = time.monotonic()
        summary = session.run()
        took = time.monotonic() - t0
    finally:
        stop.set()
        thread.join()
    assert summary.stopped_by == "source_lost"
    assert took < 15.0  # 3 s of data, 2 s to give up (warm-up and loaded machines aside)
    assert any("give-up timeout 2 s" in line for line in summary.lines())
    # and the stream's unit was called wrong within its first seconds
    assert any(line.startswith("warning: amplitudes look like volts, expected µV")
               for line in summary.lines())


def test_amplitudes_in_the_wrong_unit_are_named():
    from biofeedback.quality import unit_problem

    eeg = np.random.default_rng(0).normal(0, 10e-6, (4, 512))  # 10 µV in volts
    eeg[1] = -0.1875  # a railed channel says nothing about the unit
    assert unit_problem(eeg) is None
    assert "look like volts, expected µV" in unit_problem(eeg * 1e-6)
    assert "times too large" in unit_problem(eeg * 1e6)
    assert unit_problem(np.zeros((4, 512))) is None  # flat: the gates say so


@pytest.mark.slow
@pytest.mark.lsl
def test_sighup_then_ctrl_c_close_the_recording_and_the_recorder(tmp_path):
    """A closed terminal (SIGHUP), then an impatient Ctrl-C while it closes."""
    from biofeedback.io import read_recording
    from biofeedback.io._xdf import scan_chunks

    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--duration", "60",
         "--recordings", str(tmp_path), "--view", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while not list(tmp_path.glob("*.json")) and time.monotonic() < end:
            time.sleep(0.1)
        (side,) = tmp_path.glob("*.json")
        time.sleep(2.0)
        proc.send_signal(signal.SIGHUP)
        t_sig = time.monotonic()
        t_summary = None
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)  # while the session closes
        while proc.poll() is None and time.monotonic() - t_sig < 60:
            if t_summary is None and "summary" in side.read_text():
                t_summary = time.monotonic() - t_sig
            time.sleep(0.02)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    xdf = side.with_suffix(".xdf")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "SIGHUP received" in err
    assert f"recording: {xdf}" in out
    summary = json.loads(side.read_text())["summary"]
    assert summary["stopped_by"] == "SIGHUP" and summary["n_windows"] > 0
    assert t_summary is not None and t_summary < 2.0
    # LabRecorderCLI finished the file (footers) and went with the session
    counts = scan_chunks(xdf)[3]
    assert counts.get("StreamFooter", 0) == counts.get("StreamHeader") >= 3
    alive = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True, text=True)
    assert alive.stdout.split() == []
    # hurried by the second signal, the recorder may miss the last fraction of a second
    assert summary["n_samples"] - 128 <= read_recording(xdf).n_times <= summary["n_samples"]
