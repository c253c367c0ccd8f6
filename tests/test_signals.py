"""Signals, the wall clock and a lost source end a live session cleanly."""

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from biofeedback.session._watchdog import Watchdog


def test_watchdog_bounds_wall_clock_and_gives_up():
    dog = Watchdog(duration=30.0, give_up=10.0, grace=2.0)
    dog.begin(now=0.0)
    dog.data(now=5.0)
    assert dog.check(now=14.9) is None
    reason, text = dog.check(now=15.0)  # 10 s without data
    assert (reason, text) == ("source_lost",
                              "the source sent no data for 10 s (give-up timeout 10 s)")
    assert "recording" not in text  # live --no-record has none; the summary names one
    dog = Watchdog(duration=30.0, give_up=None)
    dog.begin(now=0.0)
    for t in np.arange(0.0, 20.0, 0.5):  # data for 20 s, then the stream vanishes
        dog.data(now=float(t))
    assert dog.check(now=31.9) is None
    assert dog.check(now=32.0) == (  # never waits for ever
        "duration", "30 s of wall-clock time passed with too little data, the session's "
        "duration")
    # said as "The session stops: <text>." and noted "stopped: <text>": once
    assert "session ended" not in text



@contextlib.contextmanager
def _sending(push):
    """``push(stop)`` on a thread while the block runs; ``stop`` set and the thread
    joined after it."""
    stop = threading.Event()
    thread = threading.Thread(target=push, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

@pytest.mark.lsl
@pytest.mark.slow
def test_a_stream_that_never_returns_ends_the_session(uid, collect_sink, caplog):
    """``live --lsl NAME --duration 30`` with a stream in volts that vanishes for good."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    info = pylsl.StreamInfo(f"vanish-{uid}", "EEG", 4, 256.0, "double64", f"vanish-{uid}")
    outlet = pylsl.StreamOutlet(info)

    def push(stop):
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

    with _sending(push), caplog.at_level("WARNING", logger="biofeedback"):
        src = LSLSource(f"vanish-{uid}", timeout=5, lost_after=0.5)
        session = Session(src, load_pipeline(), [collect_sink], record=False, publish=False,
                          duration=30.0, give_up=2.0)
        session.publish = False
        t0 = time.monotonic()
        summary = session.run()
        took = time.monotonic() - t0
    assert summary.stopped_by == "source_lost"
    # as it was lost, the user learns for how long it is waited for
    lost = next(i for i, m in enumerate(caplog.messages) if m.endswith("lost; waiting for it "
                                                                       "to return."))
    assert caplog.messages[lost + 1] == ("If it sends nothing for 2 s (--give-up), the "
                                         "session ends.")
    assert took < 15.0  # 3 s of data, 2 s to give up (warm-up and loaded machines aside)
    assert any("give-up timeout 2 s" in line for line in summary.lines())
    # and the stream's unit was called wrong within its first seconds
    # in the summary (printed, and the sidecar's), and as a marker to every sink
    # (the dashboard shows it: tests/dashboard/test_browser.py)
    assert any(line.startswith("warning: amplitudes look like volts, expected µV")
               for line in summary.lines())
    assert any(n.startswith("warning: amplitudes look like volts")
               for n in summary.to_dict()["notes"])
    assert any(e.startswith("amplitude_warning amplitudes look like volts")
               for e in collect_sink.events)


@pytest.mark.lsl
def test_a_stream_found_but_silent_is_said_before_the_session_gives_up(uid, monkeypatch,
                                                                       caplog):
    """muse-lsl connected to a headset that does not stream yet: its stream is
    found, and the terminal stayed blank until --give-up (60 s) ended the
    session with "the source sent no data"."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session, _session
    from biofeedback.stream import LSLSource

    monkeypatch.setattr(_session, "_FIRST_SAMPLE_AFTER", 0.5)  # 3 s in use
    _outlet = pylsl.StreamOutlet(pylsl.StreamInfo(  # noqa: F841 (found, never sends)
        f"silent-{uid}", "EEG", 4, 256.0, "float32", f"silent-{uid}"))
    with caplog.at_level("WARNING", logger="biofeedback"):
        summary = Session(LSLSource(f"silent-{uid}", timeout=5), load_pipeline(), [],
                          record=False, publish=False, duration=10.0, give_up=1.5).run()
    assert summary.stopped_by == "source_lost"
    said = [m for m in caplog.messages if "has sent no sample" in m]
    assert said == [f"LSL stream 'silent-{uid}' has sent no sample in its first 0.5 s; the "
                    "session ends if none comes within 1.5 s (--give-up)."]


def test_amplitudes_in_the_wrong_unit_are_named():
    from biofeedback.quality import unit_problem

    eeg = np.random.default_rng(0).normal(0, 10e-6, (4, 512))  # 10 µV in volts
    eeg[1] = -0.1875  # a railed channel says nothing about the unit
    assert unit_problem(eeg) is None
    assert "look like volts, expected µV" in unit_problem(eeg * 1e-6)
    assert "times too large" in unit_problem(eeg * 1e6)
    assert unit_problem(np.zeros((4, 512))) is None  # flat: the gates say so
    # whole numbers: counts; EEG in whole µV of a normal size is still EEG
    assert "ADC's raw counts" in unit_problem(np.round(eeg * 1e6 / 0.02235) * 1e-6)
    assert unit_problem(np.round(eeg * 1e6) * 1e-6) is None
    # a channel the sender fills with NaN (a dead electrode) is left out, and
    # numpy's "All-NaN slice" RuntimeWarning no longer reaches the terminal
    eeg[2] = np.nan
    assert unit_problem(eeg) is None
    assert "look like volts, expected µV" in unit_problem(eeg * 1e-6)


@pytest.mark.lsl
@pytest.mark.slow
def test_a_stream_of_adc_counts_is_named(uid, collect_sink):
    """An int16 LSL stream of a board's raw counts, read as µV: every window is
    gated, and the session says why instead of only '100 % artifacts'."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    info = pylsl.StreamInfo(f"counts-{uid}", "EEG", 4, 250.0, "int16", f"counts-{uid}")
    outlet = pylsl.StreamOutlet(info)

    def push(stop):
        rng, t0, n = np.random.default_rng(0), pylsl.local_clock(), 0
        while not stop.is_set():
            due = int((pylsl.local_clock() - t0) * 250)
            if due > n:  # 10 µV of EEG in counts of 0.02235 µV
                uv = rng.normal(0, 10, (due - n, 4))
                outlet.push_chunk(np.round(uv / 0.02235).astype(np.int16).tolist())
                n = due
            time.sleep(0.01)

    with _sending(push):
        session = Session(LSLSource(f"counts-{uid}", timeout=5), load_pipeline(),
                          [collect_sink], record=False, publish=False, duration=3.0)
        summary = session.run()
    assert summary.n_windows > 0 and summary.n_gated == summary.n_windows
    assert any(n.startswith("warning: values are whole numbers") and "ADC's raw counts" in n
               for n in summary.to_dict()["notes"])
    assert any(e.startswith("amplitude_warning values are whole numbers")
               for e in collect_sink.events)


def test_a_second_signal_while_closing_hurries_it():
    import os

    from biofeedback._signals import hold_signals

    hurry = threading.Event()
    before = signal.getsignal(signal.SIGHUP)  # ignored under nohup, else the default
    with hold_signals(hurry):
        os.kill(os.getpid(), signal.SIGHUP)  # a closed terminal, while the session closes
        assert hurry.wait(2.0)
    assert signal.getsignal(signal.SIGHUP) == before


@pytest.mark.lsl
def test_sigterm_to_a_session_without_a_recording_does_not_speak_of_one(
        uid, caplog, default_stop_signals):
    """``live --no-record`` stopped by a service manager: nothing to close."""
    import os

    from biofeedback.feedback import Sink
    from biofeedback.live import build_session

    class TermOnFirstWindow(Sink):
        name = "term"
        lossless = True

        def write(self, result):
            if not getattr(self, "sent", False):
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)

    session = build_session("synthetic", record=False, feedback=False, duration=30,
                            sinks=[TermOnFirstWindow()], name=f"term-{uid}")
    summary = session.run()
    assert summary.stopped_by == "SIGTERM" and summary.recording is None
    said = [r.getMessage() for r in caplog.records if "SIGTERM received" in r.getMessage()]
    assert said == ["SIGTERM received: ending the session."]


@pytest.mark.lsl
def test_sigterm_before_the_recording_began_does_not_speak_of_closing_it(
        tmp_path, caplog, default_stop_signals):
    """SIGTERM while the board connects: 'closing its recording' was said, then
    'stopped: before the session began, so nothing was recorded'."""
    import os

    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.live import build_session

    class TermWhileConnecting(BrainFlowSource):
        def start(self):
            super().start()
            os.kill(os.getpid(), signal.SIGTERM)

    src = TermWhileConnecting(get_profile("synthetic"))
    session = build_session(src, feedback=False, duration=30, recordings_dir=tmp_path)
    summary = session.run()
    assert summary.stopped_by == "SIGTERM" and summary.recording is None
    assert not list(tmp_path.glob("*.xdf"))
    said = [r.getMessage() for r in caplog.records if "SIGTERM received" in r.getMessage()]
    assert said == ["SIGTERM received: ending the session."]


def _recorder_running(xdf) -> bool:
    alive = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True, text=True)
    return bool(alive.stdout.split())


def _footers(xdf) -> bool:
    from biofeedback.io._xdf import scan_chunks

    counts = scan_chunks(xdf)[3]
    return counts.get("StreamFooter", 0) == counts.get("StreamHeader", -1)


@pytest.mark.slow
def _start_live(folder, preexec_fn=None):
    """A `live` command recording into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "biofeedback", "live", "--duration", "60",
         "--recordings", str(folder), "--view", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)


def _sidecar_of(proc, folder):
    """The sidecar the `live` command ``proc`` writes into ``folder``, once it
    is there (the command ended when it never comes)."""
    try:
        end = time.monotonic() + 60
        while not list(folder.glob("*.json")) and time.monotonic() < end:
            time.sleep(0.1)
        (side,) = folder.glob("*.json")
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return side


def _live_recording_for(seconds, folder, preexec_fn=None):
    """A `live` command recording into ``folder``, ``seconds`` after its
    sidecar appeared: (process, sidecar)."""
    proc = _start_live(folder, preexec_fn)
    side = _sidecar_of(proc, folder)
    time.sleep(seconds)
    return proc, side


@pytest.mark.lsl
def test_sigterm_closes_the_recording_and_the_recorder_within_2_s(tmp_path):
    """A service manager stops the session: all of it on disk, LabRecorderCLI gone, < 2 s."""
    import pyxdf

    from biofeedback.io import read_recording
    from biofeedback.io._xdf import scan_chunks

    proc, side = _live_recording_for(2.0, tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        t_sig = time.monotonic()
        t_summary = t_closed = None
        xdf = side.with_suffix(".xdf")
        while proc.poll() is None and time.monotonic() - t_sig < 60:
            if t_summary is None and "summary" in side.read_text():
                t_summary = time.monotonic() - t_sig
            if t_closed is None and not _recorder_running(xdf) and _footers(xdf):
                t_closed = time.monotonic() - t_sig
            time.sleep(0.01)
        t_exit = time.monotonic() - t_sig
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err  # 128 + SIGTERM
    assert "Traceback" not in err and "SIGTERM received" in err
    assert f"recording: {xdf}" in out
    summary = json.loads(side.read_text())["summary"]
    assert summary["stopped_by"] == "SIGTERM" and summary["n_windows"] > 0
    assert t_summary is not None and t_summary < 2.0
    # the recording closed and LabRecorderCLI gone within 2 s, and the process
    # with them: the report (seconds of work) is left for later, and said how
    t_closed = t_exit if t_closed is None else t_closed
    print(f"SIGTERM: sidecar summary {t_summary:.2f} s, recording closed {t_closed:.2f} s, "
          f"exit {t_exit:.2f} s")
    assert t_closed < 2.0, f"the recording took {t_closed:.2f} s to close after SIGTERM"
    assert t_exit < 3.0, f"the process took {t_exit:.2f} s to exit after SIGTERM"
    assert (f"report: not written (SIGTERM asks for a prompt exit); write it with: "
            f"biofeedback report {xdf}") in out
    assert not xdf.with_suffix(".html").exists()
    # LabRecorderCLI went with the session, and the file is whole: footers,
    # every sample the session saw and its last marker
    assert not _recorder_running(xdf)
    valid_end, size, cut, counts = scan_chunks(xdf)
    assert valid_end == size and cut is None
    assert counts.get("StreamFooter", 0) == counts.get("StreamHeader") >= 3
    streams, _ = pyxdf.load_xdf(str(xdf))
    for stream in streams:
        footer = stream["footer"]["info"]
        assert int(footer["sample_count"][0]) == len(stream["time_stamps"])
    markers = next(s for s in streams if s["info"]["name"][0].endswith("-Markers"))
    assert markers["time_series"][-1] == ["session_end"]
    assert read_recording(xdf).n_times == summary["n_samples"]


def _signals_at_default():
    """For a command started by the test: Ctrl-C and SIGHUP at their defaults
    (a runner started in the background or with nohup ignores them, and so
    would the command)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.lsl
def test_a_session_ended_by_a_signal_exits_with_its_status(tmp_path):
    """A script or service manager tells a session cut short from one that ran
    its duration (exit 0): 128 + the signal's number, as a shell reports a
    process it ended, with the recording closed as at any end. Every signal
    exited 0. (The three sessions run side by side.)"""
    from biofeedback.io._xdf import scan_chunks

    statuses = {"SIGINT": 130, "SIGHUP": 129, "SIGTERM": 143}
    procs = {sig: _start_live(tmp_path / sig, _signals_at_default) for sig in statuses}
    try:
        sides = {sig: _sidecar_of(proc, tmp_path / sig) for sig, proc in procs.items()}
        time.sleep(2.0)
        for sig, proc in procs.items():
            proc.send_signal(getattr(signal, sig))
        outs = {sig: proc.communicate(timeout=60) for sig, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for sig, status in statuses.items():
        out, err = outs[sig]
        assert procs[sig].returncode == status, (sig, err)
        assert "Traceback" not in err, sig
        xdf = sides[sig].with_suffix(".xdf")
        assert out.strip().splitlines()[-1] == f"recording: {xdf}"
        summary = json.loads(sides[sig].read_text())["summary"]
        assert summary["stopped_by"] == ("interrupt" if sig == "SIGINT" else sig)
        assert summary["n_windows"] > 0, sig
        valid_end, size, cut, counts = scan_chunks(xdf)
        assert (valid_end, cut) == (size, None), sig
        assert counts.get("StreamFooter", 0) == counts.get("StreamHeader") >= 3, sig
        assert not _recorder_running(xdf), sig


def _header(name, fmt, n_ch, rate):
    """A stream header's XML as LabRecorder writes it (the fields readers use)."""
    return (f"<?xml version='1.0'?><info><name>{name}</name><channel_count>{n_ch}"
            f"</channel_count><nominal_srate>{rate}</nominal_srate><channel_format>{fmt}"
            f"</channel_format><source_id>{name}</source_id></info>").encode()


def _open_xdf(path, n_eeg, n_markers, footers=False):
    """An XDF as LabRecorder leaves it when ended: chunks, no footers, a cut chunk."""
    import struct

    from biofeedback._xdf_chunks import chunk, varlen

    header = _header
    ts = 100.0 + np.arange(n_eeg) / 100.0
    eeg = np.arange(n_eeg * 2, dtype=float).reshape(n_eeg, 2)
    out = bytearray(b"XDF:") + chunk(1, b"<?xml version='1.0'?><info/>")
    out += chunk(2, header("eeg", "double64", 2, 100.0), 1)
    out += chunk(2, header("mk", "string", 1, 0.0), 2)
    out += chunk(4, struct.pack("<dd", 100.5, 1e-5), 1)
    for start in range(0, n_eeg, 50):  # every timestamp but each chunk's first deduced
        part = [varlen(len(ts[start:start + 50]))]
        for k, (t, row) in enumerate(zip(ts[start:start + 50], eeg[start:start + 50])):
            part.append((b"\x08" + struct.pack("<d", t)) if k == 0 else b"\x00")
            part.append(row.astype("<f8").tobytes())
        out += chunk(3, b"".join(part), 1)
    for k in range(n_markers):
        raw = f"m{k}".encode()
        out += chunk(3, varlen(1) + b"\x08" + struct.pack("<d", 100.0 + k) + varlen(len(raw))
                     + raw, 2)
    if footers:
        out += chunk(6, b"<?xml version='1.0'?><info><sample_count>1</sample_count></info>", 1)
    out += chunk(3, varlen(5) + b"\x08" * 3, 1)[:-2]  # cut while writing
    path.write_bytes(bytes(out))
    return ts, eeg


@pytest.mark.parametrize("footers", [False, True])
def test_an_ended_recorder_s_file_is_closed_with_what_the_session_sent(tmp_path, footers):
    """SIGTERM ends LabRecorderCLI before its footers: the session finishes the file."""
    import pyxdf

    from biofeedback._xdf_chunks import complete_xdf
    from biofeedback.io._xdf import scan_chunks

    path = tmp_path / "ended.xdf"
    _open_xdf(path, 200, 3, footers)
    # the session sent 230 EEG samples and 4 markers; the file holds 200 and 3
    all_ts = 100.0 + np.arange(230) / 100.0
    all_eeg = np.arange(460, dtype=float).reshape(230, 2)
    tails = {"eeg": (230, all_ts[-64:], all_eeg[-64:]),
             "mk": (4, np.array([101.0, 102.0, 103.0]), [["m1"], ["m2"], ["m3"]])}
    report = complete_xdf(path, tails)
    assert report == {"eeg": {"samples": 230, "appended": 30},
                      "mk": {"samples": 4, "appended": 1}}
    valid_end, size, cut, counts = scan_chunks(path)
    assert (valid_end, cut) == (size, None) and counts["StreamFooter"] == 2
    streams = {s["info"]["name"][0]: s for s in
               pyxdf.load_xdf(str(path), synchronize_clocks=False,
                              dejitter_timestamps=False)[0]}
    eeg = streams["eeg"]
    np.testing.assert_allclose(eeg["time_stamps"], all_ts)
    np.testing.assert_array_equal(eeg["time_series"], all_eeg)
    footer = eeg["footer"]["info"]
    assert footer["sample_count"] == ["230"]
    assert float(footer["first_timestamp"][0]) == 100.0
    assert float(footer["last_timestamp"][0]) == all_ts[-1]
    offsets = footer["clock_offsets"][0]["offset"]
    assert [float(o["value"][0]) for o in offsets] == [1e-5, 0.0]
    assert [m[0] for m in streams["mk"]["time_series"]] == ["m0", "m1", "m2", "m3"]
    # closing twice changes nothing
    before = path.read_bytes()
    complete_xdf(path, tails)
    assert path.read_bytes() == before


def test_streams_whose_headers_the_recorder_had_not_written_get_them(tmp_path):
    """A session stopped as it started: LabRecorderCLI, ended, held the last
    streams' headers in its buffer (or wrote nothing at all)."""
    import pyxdf

    from biofeedback._xdf_chunks import complete_xdf
    from biofeedback.io._xdf import scan_chunks

    headers = {"eeg": _header("eeg", "double64", 2, 100.0).decode(),
               "mk": _header("mk", "string", 1, 0.0).decode(),
               "cues": _header("cues", "string", 1, 0.0).decode()}
    tails = {"cues": (2, np.array([101.5, 102.5]), [["c1"], ["c2"]])}
    path = tmp_path / "early.xdf"
    _open_xdf(path, 200, 3)  # the headers of eeg and mk only
    report = complete_xdf(path, tails, headers=headers)
    assert report["cues"] == {"samples": 2, "appended": 2}
    counts = scan_chunks(path)[3]
    assert counts["StreamHeader"] == counts["StreamFooter"] == 3
    streams = {s["info"]["name"][0]: s for s in
               pyxdf.load_xdf(str(path), synchronize_clocks=False,
                              dejitter_timestamps=False)[0]}
    assert [m[0] for m in streams["cues"]["time_series"]] == ["c1", "c2"]
    assert len(streams["eeg"]["time_stamps"]) == 200  # the others as they were
    empty = tmp_path / "empty.xdf"  # ended before it wrote a byte
    empty.write_bytes(b"")
    complete_xdf(empty, tails, headers=headers)
    counts = scan_chunks(empty)[3]
    assert counts["FileHeader"] == 1 and counts["StreamHeader"] == counts["StreamFooter"] == 3
    streams = pyxdf.load_xdf(str(empty), synchronize_clocks=False)[0]
    assert sorted(s["info"]["name"][0] for s in streams) == ["cues", "eeg", "mk"]


@pytest.mark.lsl
def test_another_programs_stream_whose_header_the_recorder_held_is_in_the_file(tmp_path, uid):
    """--also-record: LabRecorderCLI, ended on a loaded machine, still held a
    peer's stream header in its buffer; the file lacked that stream although
    it had said it collected it. The inlet the session keeps on it gives its
    header and samples."""
    import pylsl
    import pyxdf

    from biofeedback._xdf_chunks import complete_xdf
    from biofeedback.stream._lsl import KeptInlets

    name = f"psychopy-{uid}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, "string", name))
    kept = KeptInlets([f"name='{name}'"])
    kept.open(listen=1.0)
    assert outlet.wait_for_consumers(10.0)  # the inlet is subscribed before the markers go
    sent = [pylsl.local_clock() + i for i in range(3)]
    for i, t in enumerate(sent):
        outlet.push_sample([f"stimulus {i}"], t)
    path = tmp_path / "ended.xdf"
    _open_xdf(path, 200, 3)  # eeg and mk: the peer's header never reached the file
    (_, inlet, _), = kept._inlets
    end = time.monotonic() + 5
    while inlet.samples_available() < 3 and time.monotonic() < end:  # the markers arrived
        time.sleep(0.05)
    report = complete_xdf(path, kept.tails(), headers=kept.headers())
    assert report[name] == {"samples": 3, "appended": 3}
    streams = {s["info"]["name"][0]: s for s in
               pyxdf.load_xdf(str(path), synchronize_clocks=False,
                              dejitter_timestamps=False)[0]}
    peer = streams[name]
    assert peer["info"]["type"] == ["Markers"] and peer["info"]["source_id"] == [name]
    assert [m[0] for m in peer["time_series"]] == ["stimulus 0", "stimulus 1", "stimulus 2"]
    np.testing.assert_allclose(peer["time_stamps"], sent)
    assert len(streams["eeg"]["time_stamps"]) == 200


@pytest.mark.slow
@pytest.mark.lsl
def test_sigterm_as_the_recorder_starts_leaves_a_whole_recording(tmp_path, signal_once_there):
    """Stopped as LabRecorderCLI opened the file: every stream the session declared has
    its header and footer (the file once held 2 of its 4 streams)."""
    import pyxdf

    from biofeedback.io._xdf import scan_chunks

    xdf = tmp_path / "sub-P1" / "ses-01" / "eeg" / "sub-P1_ses-01_task-default_eeg.xdf"
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--participant", "P1", "--root",
         str(tmp_path), "--duration", "60", "--view", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = signal_once_there(proc, xdf, "SIGTERM")
    assert proc.returncode == 143, err  # 128 + SIGTERM
    assert "Traceback" not in err and "footers" not in err, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("recording: "), out
    rec = Path(last.removeprefix("recording: "))
    # stopped before its first sample, it is not filed: kept outside the sessions
    assert rec == xdf or rec.parent == tmp_path / "sub-P1" / "unfiled", out
    counts = scan_chunks(rec)[3]
    assert counts["StreamHeader"] == counts["StreamFooter"] == 4, counts
    names = sorted(s["info"]["name"][0] for s in pyxdf.load_xdf(str(rec))[0])
    assert names == [f"biofeedback-{k}" for k in ("Cues", "EEG", "Estimates", "Markers")]


@pytest.mark.parametrize("raising", [False, True])
def test_every_signal_held_over_a_step_acts_after_it_in_order(raising):
    """signals_after sent again only the first signal it held: a SIGTERM after
    a Ctrl-C (a service manager stopping a session the user had interrupted)
    was lost. Each acts once, in order, also when the first one's handler
    raises (Ctrl-C's KeyboardInterrupt)."""
    from biofeedback._signals import signals_after

    acted = []

    def handler(signum, _frame):
        acted.append(signal.Signals(signum).name)
        if raising and signum == signal.SIGINT:
            raise KeyboardInterrupt

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(KeyboardInterrupt) if raising else contextlib.nullcontext():
            with signals_after():
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGTERM)
                signal.raise_signal(signal.SIGINT)
                assert acted == []  # held over the step
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
    assert acted == ["SIGINT", "SIGTERM"]


@pytest.mark.lsl
@pytest.mark.slow
def test_a_sender_sending_at_another_rate_than_it_declares_is_said_while_it_runs(
        uid, collect_sink):
    """A stream declaring 256 Hz that sends 200 Hz (stamped as sent) was read at
    256 Hz, every band 28 % off, with one sentence in the summary at the end
    alone. It is said once 10 s of its stamps have come, and marked."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(f"rate-{uid}", "EEG", 4, 256.0, "float32",
                                                 f"rate-{uid}"))

    def push(stop):
        rng, t0, n = np.random.default_rng(0), pylsl.local_clock(), 0
        while not stop.is_set():
            due = int((pylsl.local_clock() - t0) * 200)
            if due > n:
                outlet.push_chunk(rng.normal(0, 10, (due - n, 4)).tolist(),
                                  (t0 + np.arange(n, due) / 200.0).tolist())
                n = due
            time.sleep(0.01)

    with _sending(push):
        session = Session(LSLSource(f"rate-{uid}", timeout=5), load_pipeline(),
                          [collect_sink], record=False, publish=False, duration=12.0)
        summary = session.run()
    said = [e for e in collect_sink.events if e.startswith("rate_warning ")]
    assert len(said) == 1  # once
    assert said[0].startswith("rate_warning the samples come at 200.00 Hz, 21.9 % below "
                              "the nominal 256 Hz")
    assert summary.duration >= 12.0  # ... and the session went on, said at its end too
    assert any(n.startswith("warning: the samples came at 200.00 Hz") for n in summary.notes)


@pytest.mark.lsl
@pytest.mark.slow
def test_a_sender_whose_rate_changes_mid_session_is_said_while_it_runs(
        uid, collect_sink, monkeypatch):
    """The rate was looked at once, over the first 10 s of stamps: a sender
    at 256 Hz that went on at 200 Hz (a preset changed, a sender restarted)
    was read 28 % off without a word until the summary, which averaged the
    rate down. Each stretch is judged (2 s here, 10 s in use); said once."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session, _session
    from biofeedback.stream import LSLSource

    monkeypatch.setattr(_session, "_RATE_AFTER", 2.0)
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(f"rate2-{uid}", "EEG", 4, 256.0, "float32",
                                                 f"rate2-{uid}"))

    def push(stop):
        outlet.wait_for_consumers(5.0)
        rng, t0, n = np.random.default_rng(0), pylsl.local_clock(), 0
        switch = 2.2  # s: 256 Hz until then, 200 Hz after
        while not stop.is_set():
            el = pylsl.local_clock() - t0
            due = int(el * 256) if el < switch else int(switch * 256 + (el - switch) * 200)
            if due > n:
                k = np.arange(n, due)
                at = np.where(k < switch * 256, k / 256.0, switch + (k - switch * 256) / 200.0)
                outlet.push_chunk(rng.normal(0, 10, (due - n, 4)).tolist(), (t0 + at).tolist())
                n = due
            time.sleep(0.01)

    with _sending(push):
        session = Session(LSLSource(f"rate2-{uid}", timeout=5), load_pipeline(),
                          [collect_sink], record=False, publish=False, duration=6.5)
        session.run()
    said = [e for e in collect_sink.events if e.startswith("rate_warning ")]
    assert len(said) == 1, said  # the stretch that changed; the next one, still off, is not
    rate = float(said[0].removeprefix("rate_warning the samples come at ").split(" Hz")[0])
    assert 200.0 <= rate < 215.0, said


@pytest.mark.lsl
def test_a_flat_channel_and_nan_samples_are_said_once_and_marked(uid, collect_sink, caplog):
    """A stream with a flat channel, then NaN on every channel for a moment:
    the terminal's dashboard view marked them, but the plain view, a log and
    the summary said nothing (the flat channel left out of every index, the
    NaN windows gated, without a word). Each is said once, marked (a
    ``channel_warning`` recorded and given to every sink) and in the notes."""
    import pylsl

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    sfreq = 256.0
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(f"flat-{uid}", "EEG", 4, sfreq, "float32",
                                                 f"flat-{uid}"))

    def push(stop):
        outlet.wait_for_consumers(5.0)  # the burst must reach the session
        rng, t0, n = np.random.default_rng(0), pylsl.local_clock(), 0
        while not stop.is_set():
            due = int((pylsl.local_clock() - t0) * sfreq)
            if due > n:
                x = rng.normal(0, 10, (due - n, 4))
                x[:, 2] = 0.0  # EEG03: no contact, a flat line
                k = np.arange(n, due)
                x[(k >= 2.25 * sfreq) & (k < 2.5 * sfreq)] = np.nan  # after the first window
                outlet.push_chunk(x.tolist(), (t0 + k / sfreq).tolist())
                n = due
            time.sleep(0.01)

    with _sending(push), caplog.at_level("WARNING", logger="biofeedback"):
        session = Session(LSLSource(f"flat-{uid}", timeout=5), load_pipeline(),
                          [collect_sink], record=False, publish=False, duration=4.5)
        summary = session.run()
    flat = ("channel EEG03 is flat (the signal does not change): left out of the indices; "
            "check the electrode and its cable")
    nan = ("the EEG holds NaN or inf samples on channels EEG01, EEG02, EEG03, EEG04: windows "
           "holding them are gated (feedback pauses), and a channel that keeps sending them "
           "is left out of the indices; check what sends the EEG")
    said = [e for e in collect_sink.events if e.startswith("channel_warning ")]
    assert said == [f"channel_warning {flat}", f"channel_warning {nan}"]
    assert [m for m in caplog.messages if "left out of the indices" in m] == [
        flat[0].upper() + flat[1:] + ".", nan[0].upper() + nan[1:] + "."]
    gated = sum(r.gated for r in collect_sink.results)
    n = len(collect_sink.results)
    assert 0 < gated < n
    notes = [x for x in summary.notes if "channel" in x]
    assert notes == [f"warning: {flat} ({n - gated} of {n} windows)",
                     f"warning: {nan} ({gated} of {n} windows each)"]
