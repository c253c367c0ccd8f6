"""The signal check: figures and verdicts per electrode, impedance from lead-off."""

import json
from dataclasses import replace

import numpy as np
import pytest

from biofeedback.check import (
    LEADOFF_AMPS,
    LEADOFF_HZ,
    SERIES_OHMS,
    CheckLimits,
    check_signal,
    leadoff_impedance,
    measure_impedance,
)
from biofeedback.cli import main
from biofeedback.errors import BiofeedbackError
from biofeedback.simulate import read_scenario, simulate


@pytest.fixture(scope="module")
def bad_contacts():
    """The shipped scenario of a Cyton with a railed, a flat and a mains electrode,
    cut to 12 s."""
    return replace(read_scenario("bad_contacts"), duration=12.0)


@pytest.mark.parametrize("ohms", [5e3, 20e3, 150e3, 1.5e6])
def test_leadoff_impedance_recovers_a_known_31_hz_amplitude(ohms, rng):
    sfreq = 250.0
    t = np.arange(int(2 * sfreq)) / sfreq
    amp = LEADOFF_AMPS * (ohms + SERIES_OHMS)  # what the ADS1299 current makes
    eeg = rng.standard_normal(t.size) * 10e-6 + 20e-6 * np.sin(2 * np.pi * 10 * t)
    x = (amp * np.sin(2 * np.pi * LEADOFF_HZ * t + 0.7) + eeg + 0.05  # DC offset
         + 30e-6 * t + 15e-6 * np.sin(2 * np.pi * 50 * t))  # drift and mains
    z = leadoff_impedance(x, sfreq)
    # 10 µV of noise over 500 samples moves the fitted amplitude by ~0.6 µV = 100 kΩ/1000
    assert z == pytest.approx(ohms, abs=0.02 * ohms + 300.0)


def test_leadoff_impedance_refuses_what_it_cannot_measure():
    assert np.isnan(leadoff_impedance(np.ones(10), 250.0))
    x = np.sin(np.arange(500) / 250.0)
    x[3] = np.nan
    assert np.isnan(leadoff_impedance(x, 250.0))


def test_check_finds_the_railed_flat_and_mains_electrodes(bad_contacts):
    sim = simulate(bad_contacts)
    sfreq = sim.profile.sfreq
    data = sim.data[:, int(sfreq): int(5 * sfreq)]
    report = check_signal(data, sfreq, sim.ch_names, sim.profile)
    by = {c.name: c for c in report.channels}
    assert report.verdict == "fix"
    assert by["O2"].problems == ["railed"] and by["O2"].railed_pct == 100.0
    assert by["P7"].problems == ["flat"] and by["P7"].flat
    assert by["C3"].problems == ["mains"]
    # 40 µV peak at 50 Hz is 28 µV RMS
    assert by["C3"].line_uv == pytest.approx(40 / np.sqrt(2), rel=0.1)
    for name in ("F3", "F4", "C4", "P8", "O1"):
        assert by[name].verdict == "go", by[name]
        assert 3 < by[name].rms_uv < 30 and by[name].line_uv < 2
    lines = report.lines()
    assert any(ln.strip().startswith("O2") and "FIX" in ln and "railed 100%" in ln for ln in lines)
    assert lines[-1].startswith("FIX: C3, P7, O2")
    msg = report.to_message()
    assert msg["type"] == "check" and msg["verdict"] == "fix"
    assert msg["q"][sim.ch_names.index("O2")] == "railed"
    assert msg["q"][sim.ch_names.index("P7")] == "flat"
    assert msg["q"][sim.ch_names.index("F3")] == "clean"
    json.dumps(msg, allow_nan=True)


def test_nan_samples_are_said_as_such_not_as_a_railed_or_flat_electrode():
    """A stream with no value for some samples sends NaN: a channel of NaN alone
    was "railed 100% of the time: the electrode is off", one with some NaN
    "flat: no signal" (its other samples a clean EEG)."""
    sim = simulate("demo")
    n = int(4 * sim.profile.sfreq)
    data = sim.data[:, :n].copy()
    data[1] = np.nan  # AF7: nothing but NaN
    data[2, n // 2: n // 2 + n // 10] = np.nan  # AF8: a tenth of its samples
    report = check_signal(data, sim.profile.sfreq, sim.ch_names, sim.profile)
    by = {c.name: c for c in report.channels}
    assert by["AF7"].problems == ["nan"] and by["AF7"].nan_pct == 100.0
    assert by["AF7"].advice == ("NaN or inf in 100% of its samples: the streaming app had no "
                                "value for them; check the app and the headset's link, then "
                                "the electrode")
    assert by["AF8"].problems == ["nan"] and by["AF8"].advice.startswith("NaN or inf in 10% ")
    assert by["AF7"].railed_pct == 0.0
    assert by["TP9"].verdict == by["TP10"].verdict == "go"
    assert report.to_message()["q"][1:3] == ["flat", "flat"]  # the head map: no signal


def test_a_profile_without_a_mains_check_is_not_judged_on_mains(bad_contacts, tmp_path):
    """``mains_check = false`` in a board profile (the synthetic board's, whose
    50 Hz test sine is no pick-up) turns the check's mains verdict off; a
    profile file without the field is judged, as before the field existed."""
    from biofeedback.hardware import get_profile, read_profile

    assert get_profile("synthetic").mains_check is False
    assert get_profile("cyton").mains_check is True
    sim = simulate(bad_contacts)
    sfreq = sim.profile.sfreq
    data = sim.data[:, int(sfreq): int(5 * sfreq)]
    off = replace(sim.profile, mains_check=False)
    by = {c.name: c for c in check_signal(data, sfreq, sim.ch_names, off).channels}
    assert by["C3"].verdict == "go" and by["C3"].line_uv > 20  # measured, not judged
    assert by["O2"].problems == ["railed"]
    demo = simulate("demo")
    n = int(4 * demo.profile.sfreq)
    quiet = replace(demo.profile, mains_check=False)
    report = check_signal(demo.data[:, :n], demo.profile.sfreq, demo.ch_names, quiet)
    assert report.lines()[-1] == (f"GO: every electrode is in contact (mains noise is not "
                                  f"judged on {quiet.name}: its profile turns that check off).")
    f = tmp_path / "b.toml"
    f.write_text('name="b"\ndescription="x"\nsfreq=250.0\nch_names=["Fz"]\n')
    assert read_profile(f).mains_check is True
    f.write_text('name="b"\ndescription="x"\nsfreq=250.0\nch_names=["Fz"]\n'
                 'mains_check = "no"\n')
    with pytest.raises(BiofeedbackError, match="mains_check"):
        read_profile(f)


def test_check_says_go_on_a_clean_headset_and_judges_drift_and_impedance():
    sim = simulate("demo")
    n = int(4 * sim.profile.sfreq)
    clean = check_signal(sim.data[:, :n], sim.profile.sfreq, sim.ch_names, sim.profile)
    assert clean.verdict == "go" and clean.lines()[-1].startswith("GO")
    data = sim.data[:, :n].copy()
    data[1] += np.arange(n) / sim.profile.sfreq * 80e-6  # 80 µV/s drift on AF7 (in range)
    z = {"TP9": 12.0, "AF8": 180.0}
    rep = check_signal(data, sim.profile.sfreq, sim.ch_names, sim.profile,
                       limits=CheckLimits(max_drift_uv_s=40, max_impedance_kohm=50),
                       impedance_kohm=z)
    by = {c.name: c for c in rep.channels}
    assert by["AF7"].problems == ["drift"] and by["AF7"].drift_uv_s == pytest.approx(80, rel=0.05)
    assert by["AF8"].problems == ["impedance"] and "180 kΩ" in by["AF8"].advice
    assert by["TP9"].verdict == "go" and by["TP9"].impedance_kohm == 12.0
    assert "impedance" in rep.lines()[1]


def test_check_needs_two_seconds():
    sim = simulate("demo")
    with pytest.raises(ValueError, match="at least 2 s"):
        check_signal(sim.data[:, :100], sim.profile.sfreq, sim.ch_names, sim.profile)


def test_impedance_is_only_measured_on_openbci_boards():
    from biofeedback.simulate import ScenarioSource

    assert measure_impedance(ScenarioSource("demo", realtime=False)) == {}


def test_check_command_exit_status_table_and_json(tmp_path, capsys):
    out = tmp_path / "check.json"
    code = main(["check", "--scenario", "bad_contacts", "--seconds", "2",
                 "--out", str(out), "--json"])
    assert code == 2
    printed = capsys.readouterr()
    # --json prints, as every other command's --json: stdout is the JSON alone,
    # the table goes to stderr; --out writes the same to a file
    assert json.loads(printed.out) == json.loads(out.read_text())
    assert "signal check · cyton" in printed.err and "FIX: C3, P7, O2" in printed.err
    saved = json.loads(out.read_text())
    assert saved["verdict"] == "fix"
    assert [c["verdict"] for c in saved["channels"]].count("fix") == 3


def test_an_out_that_cannot_be_written_is_said_before_the_check_listens(tmp_path, capsys):
    """Said after the seconds of listening, as 'File exists: notes.txt; write
    elsewhere' (mkdir's error for a file where the folder goes)."""
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = tmp_path / "notes.txt" / "check.json"
    code = main(["check", "--scenario", "bad_contacts", "--seconds", "2", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 1
    assert "signal check" not in printed.out + printed.err  # nothing was checked
    assert printed.err.strip() == (
        f"biofeedback: error: {out} cannot be written: {tmp_path / 'notes.txt'} does not "
        "take new files (not a folder); choose another place for it.")


def test_check_json_file_the_older_form_still_writes_and_says_so(tmp_path, capsys):
    from biofeedback.cli import build_parser
    from biofeedback.cli._check import _outputs

    old = str(tmp_path / "old.json")
    args = build_parser().parse_args(["check", "--json", old])
    _outputs(args)
    assert (args.out, args.json) == (old, None)
    assert f"--out {old} is its name now" in capsys.readouterr().err
    args = build_parser().parse_args(["check", "--json", old, "--out", "b.json"])
    with pytest.raises(BiofeedbackError, match="pass one of them"):
        _outputs(args)


def test_live_check_stops_before_the_session_when_an_electrode_needs_fixing(
        tmp_path, capsys):
    code = main(["live", "--scenario", "bad_contacts", "--check", "--check-seconds", "2",
                 "--view", "none", "--recordings", str(tmp_path)])
    assert code == 2
    out = capsys.readouterr()
    assert "FIX: C3, P7, O2" in out.out
    assert "found electrodes to fix (C3, P7, O2)" in out.err
    assert not list(tmp_path.iterdir())  # no session was started, nothing recorded


@pytest.mark.lsl
def test_a_stream_that_stops_mid_check_is_one_sentence():
    """It was a ValueError traceback ('needs at least 2 s of data, got 1.65 s')."""
    import uuid

    import pylsl

    from biofeedback.check._source import _collect
    from biofeedback.errors import StreamError
    from biofeedback.stream import LSLSource

    name = f"qa-check-{uuid.uuid4().hex[:10]}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 100.0, "double64", name))
    with LSLSource(name, timeout=5, lost_after=0.2) as src:
        t0 = pylsl.local_clock()
        out.push_chunk(np.zeros((50, 2)).tolist(), (t0 + np.arange(50) / 100.0).tolist())
        with pytest.raises(StreamError, match=r"Only 0\.5 s of the 1 s .* before it stopped"):
            _collect(src, 1.0, deadline_extra=0.3)


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_watch_stopped_by_a_service_manager_ends_as_ctrl_c_does(tmp_path, sig,
                                                                 default_stop_signals,
                                                                 signal_once_there):
    """`check --watch` stopped by SIGTERM (a service manager) or SIGHUP (a closed
    terminal): the source is stopped, the last check stays in --out, and the exit
    status is the verdict (2: bad_contacts has electrodes to fix), not a kill."""
    import subprocess
    import sys

    out = tmp_path / "check.json"
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "check", "--scenario",
                             "bad_contacts", "--watch", "--seconds", "2", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = signal_once_there(proc, out, sig, timeout=30)
    assert proc.returncode == 2, err
    assert json.loads(out.read_text())["verdict"] == "fix"
    assert [p.name for p in tmp_path.iterdir()] == ["check.json"]  # no partial file left


def test_a_second_sighup_while_the_check_releases_the_board_does_not_keep_it(
        default_stop_signals):
    """A closed terminal: SIGHUP while the board is read, and again (its shell
    sends it to its jobs) as the check releases it. Raised inside BrainFlow's
    ctypes call, the first came out as ctypes.ArgumentError (a traceback, exit
    1); the check now ends at the next read, releases the board whatever comes
    then, and says so."""
    import os
    import signal

    from biofeedback.check import run_check
    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.session._watchdog import interrupt_on_signals

    class HangUpTwice(BrainFlowSource):
        def _read(self, timeout):
            chunk = super()._read(timeout)
            if chunk is not None:
                os.kill(os.getpid(), signal.SIGHUP)  # the check is listening
            return chunk

        def _close(self):
            os.kill(os.getpid(), signal.SIGHUP)  # the board is being released
            super()._close()

    said = []
    with interrupt_on_signals(), pytest.raises(KeyboardInterrupt):  # as live and check run
        run_check(HangUpTwice(get_profile("synthetic")), seconds=2.0, progress=said.append)
    assert said[-1] == "stopped by SIGHUP before its verdict; the board is released."
    again = BrainFlowSource(get_profile("synthetic")).start()  # the board is free
    again.stop()


@pytest.mark.slow
def test_live_check_hung_up_while_listening_ends_without_a_traceback(tmp_path):
    """``live --check --participant`` in a terminal that closes as the check
    listens: the check says it stopped, the board is released, no session is
    reserved, and no traceback."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "live", "--check",
                             "--participant", "P1", "--root", str(tmp_path), "--view", "none",
                             "--duration", "5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert "listening for 4 s" in proc.stderr.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 129, err  # 128 + SIGHUP
    assert err.splitlines()[-2:] == [
        "signal check: stopped by SIGHUP before its verdict; the board is released.",
        "biofeedback: interrupted"], err
    assert not list(tmp_path.iterdir())  # no session folder reserved


def test_go_on_the_synthetic_board_does_not_claim_low_mains(capsys):
    """Its 50 Hz test sine reads 110 µV of 'mains' on F7, and its profile turns
    the mains check off: GO said 'mains noise is low' beside that figure."""
    assert main(["check", "--seconds", "2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("GO") and "mains noise is low" not in last
    assert "mains noise is not judged on synthetic" in last
