"""A signal as a participant's session number is reserved gives the number back.

Python raises KeyboardInterrupt between any two bytecodes: each test wraps
one step of the reservation with one that makes it, then raises the signal
(as a key pressed, or a terminal closed, as it returns).
"""

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.config import load_pipeline
from biofeedback.library import _layout, _live
from biofeedback.library._layout import reserve_session

LIVE_SHORT = Path(__file__).resolve().parent / "live_short.toml"


def _then(real, signum, when=lambda *args: True):
    def call(*args, **kwargs):
        out = real(*args, **kwargs)
        if when(*args):
            signal.raise_signal(signum)  # the signal as the call returns
        return out
    return call


def _number_free(root) -> bool:
    folders = sorted(p.name for p in (Path(root) / "sub-demo").glob("ses-*"))
    return folders == [] and reserve_session(root, "demo", "short").session == 1


def test_ctrl_c_as_the_session_folder_is_made_gives_the_number_back(tmp_path, monkeypatch,
                                                                     ctrl_c):
    """Ctrl-C as mkdir of ses-01 returned left the empty folder: number 01 taken."""
    monkeypatch.setattr(Path, "mkdir", _then(Path.mkdir, signal.SIGINT,
                                             lambda path, *a: path.name.startswith("ses-")))
    with pytest.raises(KeyboardInterrupt):
        reserve_session(tmp_path, "demo", "short")
    monkeypatch.undo()
    assert _number_free(tmp_path)


def test_ctrl_c_as_the_reservation_returns_gives_the_number_back(tmp_path, monkeypatch,
                                                                  ctrl_c):
    """Ctrl-C as reserve_session returned, before ProgrammeSession held its
    paths, left ses-01 marked running for good."""
    monkeypatch.setattr(_layout, "reserve_session",
                        _then(_layout.reserve_session, signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        _live.ProgrammeSession("demo", tmp_path, load_pipeline(LIVE_SHORT))
    monkeypatch.undo()
    assert _number_free(tmp_path)


def _index_held_by_another_program(root):
    """The study's index, with a session folder it has yet to take in, held
    locked by another connection (a database browser, a session being filed):
    the connection, to close."""
    from biofeedback.library import StudyIndex

    with StudyIndex(root):
        pass
    eeg = Path(root) / "sub-other" / "ses-01" / "eeg"
    eeg.mkdir(parents=True)
    (eeg / "sub-other_ses-01_task-short_eeg.json").write_text(
        json.dumps({"programme": {"participant": "other", "session": 1}}))
    holder = sqlite3.connect(Path(root) / "biofeedback.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_as_live_reserves_the_session_gives_the_number_back(
        tmp_path, monkeypatch, capsys, ctrl_c, default_stop_signals, sig, code):
    """`live --participant`: a signal as the ProgrammeSession was made, before
    the command held it, kept the number (the next session became 02). And
    it acts at once: held until the session had read the study's index, it
    waited the 3 s the index waits for another program's lock."""
    sent = []

    def reserved(*args, **kwargs):
        out = real(*args, **kwargs)
        sent.append(time.monotonic())
        signal.raise_signal(getattr(signal, sig))  # the signal as the reservation returns
        return out

    real = _live.ProgrammeSession.reserved
    monkeypatch.setattr(_live.ProgrammeSession, "reserved", reserved)
    holder = _index_held_by_another_program(tmp_path)
    try:
        got = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                    str(LIVE_SHORT), "--view", "none", "--duration", "2"])
        took = time.monotonic() - sent[0]
    finally:
        holder.close()
    monkeypatch.undo()
    assert got == code
    assert took < 1.5
    assert "interrupted" in capsys.readouterr().err
    assert _number_free(tmp_path)


def test_ctrl_c_as_the_last_number_is_noted_leaves_no_tmp(tmp_path, monkeypatch, ctrl_c):
    """sub-<ID>/.last-session goes through a .tmp file: Ctrl-C as it was
    written left it in the participant's folder."""
    monkeypatch.setattr(Path, "write_text", _then(Path.write_text, signal.SIGINT,
                                                  lambda path, *a: path.name.endswith(".tmp")))
    with pytest.raises(KeyboardInterrupt):
        reserve_session(tmp_path, "demo", "short")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "sub-demo").iterdir()) == []
    assert _number_free(tmp_path)


_SIGNAL_AS_THE_SESSION_RUNS = """\
import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as in a terminal (the runner may be nohup'd)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from biofeedback.cli import main
from biofeedback.session import Session

real = Session.run
def run(self):  # the signal as the command hands over to the session
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    return real(self)
Session.run = run
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_as_live_hands_over_to_the_session_gives_the_number_back(tmp_path, sig,
                                                                          code):
    """Between the command's handlers (SIGTERM and SIGHUP unwind as Ctrl-C
    does) and the session's own, both were at their default: the process
    ended on the spot, ses-01 left marked running."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AS_THE_SESSION_RUNS, sig, "live", "--participant",
         "demo", "--root", str(tmp_path), "--pipeline", str(LIVE_SHORT), "--view", "none",
         "--duration", "2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _number_free(tmp_path)


def test_ctrl_c_as_simulate_reserves_a_session_gives_the_number_back(tmp_path, monkeypatch,
                                                                    ctrl_c):
    """`simulate --participant`: Ctrl-C as reserve_session returned, before
    the block that releases the session, kept ses-01 taken, marked running."""
    from biofeedback.library import simulate_sessions

    monkeypatch.setattr(_layout, "reserve_session",
                        _then(_layout.reserve_session, signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        simulate_sessions("learner", "demo", 1, root=tmp_path, report=False)
    monkeypatch.undo()
    assert _number_free(tmp_path)


def test_ctrl_c_as_the_study_root_is_probed_leaves_no_probe(tmp_path, monkeypatch, ctrl_c):
    """The study root's writability is tried with a file: Ctrl-C as it was
    written left .write-test-PID in the root."""
    monkeypatch.setattr(Path, "write_text", _then(
        Path.write_text, signal.SIGINT, lambda path, *a: path.name.startswith(".write-test")))
    with pytest.raises(KeyboardInterrupt):
        reserve_session(tmp_path, "demo", "short")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_simulated_programme(tmp_path, monkeypatch, capsys, caplog, ctrl_c,
                                              sig, status):
    """Ctrl-C during 'simulate --sessions N' ended the session in progress, which
    was filed as partial, and the next sessions went on to the last: exit 0."""
    from biofeedback.library import _simulate

    real_run, real_write = _simulate._run_one, _simulate._Events.write
    now = {}

    def run_one(scen, config, paths, *args, **kwargs):
        now.update(session=paths.session, windows=0)
        return real_run(scen, config, paths, *args, **kwargs)

    def write(self, result):  # the signal 20 windows into session 02
        real_write(self, result)
        now["windows"] += 1
        if now["session"] == 2 and now["windows"] == 20:
            ctrl_c() if sig == signal.SIGINT else signal.raise_signal(sig)

    monkeypatch.setattr(_simulate, "_run_one", run_one)
    monkeypatch.setattr(_simulate._Events, "write", write)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["simulate", "learner", "--participant", "demo", "--sessions", "4",
                     "--root", str(tmp_path)]) == status
    out, err = capsys.readouterr()
    # the session the signal stopped is kept, as live keeps it; no other starts
    assert [p.name for p in sorted((tmp_path / "sub-demo").glob("ses-*"))] == [
        "ses-01", "ses-02"]
    assert [ln.split(",")[0] for ln in out.splitlines()] == [
        "sub-demo ses-01: complete", "sub-demo ses-02: partial"]
    assert "stopped the programme in session 02, after 2 sessions of 4" in caplog.text
    assert err.rstrip().endswith("biofeedback: interrupted")
    assert main(["sessions", "demo", "--root", str(tmp_path), "--json"]) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["complete",
                                                                         "partial"]


def test_a_signal_as_a_simulated_session_starts_gives_its_number_back(tmp_path, monkeypatch,
                                                                      capsys, ctrl_c):
    """Ctrl-C as a simulated session's source opened ended the session before its
    engine existed, and the programme stopped on an AttributeError traceback."""
    from biofeedback.library import _simulate
    from biofeedback.simulate import ScenarioSource

    real_run, real_open = _simulate._run_one, ScenarioSource._open
    now = {}

    def run_one(scen, config, paths, *args, **kwargs):
        now["session"] = paths.session
        return real_run(scen, config, paths, *args, **kwargs)

    def open_then_ctrl_c(self):
        real_open(self)
        if now["session"] == 2:
            ctrl_c()

    monkeypatch.setattr(_simulate, "_run_one", run_one)
    monkeypatch.setattr(ScenarioSource, "_open", open_then_ctrl_c)
    assert main(["simulate", "learner", "--participant", "demo", "--sessions", "4",
                 "--root", str(tmp_path)]) == 130
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "AttributeError" not in err
    assert [p.name for p in sorted((tmp_path / "sub-demo").glob("ses-*"))] == ["ses-01"]
    assert [ln.split(",")[0] for ln in out.splitlines()] == ["sub-demo ses-01: complete"]
    assert reserve_session(tmp_path, "demo", "default").session == 2  # given back


def test_sigterm_between_simulated_sessions_gives_the_number_back(tmp_path):
    """SIGTERM as 'simulate --sessions N' reserved its next session (outside any
    session, where nothing handled it) killed the process on the spot: its
    session folder stayed behind, marked running."""
    import subprocess
    import sys

    script = f"""
import signal, sys
from biofeedback.cli import main
from biofeedback.library import _layout
reserve = _layout.reserve_session  # simulate_sessions imports it when it runs
def then_sigterm(*args, **kwargs):
    paths = reserve(*args, **kwargs)
    if paths.session == 2:
        signal.raise_signal(signal.SIGTERM)
    return paths
_layout.reserve_session = then_sigterm
sys.exit(main(["simulate", "learner", "--participant", "demo", "--sessions", "3",
               "--root", {str(tmp_path)!r}]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert [p.name for p in sorted((tmp_path / "sub-demo").glob("ses-*"))] == ["ses-01"]
    assert reserve_session(tmp_path, "demo", "default").session == 2
