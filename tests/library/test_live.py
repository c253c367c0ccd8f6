"""Live sessions with a participant: filed, indexed, compared; three make a progress report."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.library import latest_model
from biofeedback.library._live import ModelChoice, resolve_model

HERE = Path(__file__).resolve().parent
LIVE_SHORT = HERE / "live_short.toml"


def _live(root, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--participant", "demo", "--root",
         str(root), "--pipeline", str(LIVE_SHORT), "--view", "none", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _bash_pipes() -> bool:
    """Whether bash's process substitution (``<(...)``, through /dev/fd) works here."""
    return shutil.which("bash") is not None and Path("/dev/fd").is_dir()


def _signalled_live(root, where, sig):
    """``live --duration 3`` for participant demo under ``root``, sent ``sig`` as
    ``where`` begins (:data:`_SIGNAL_WHILE`); with the dashboard for "dashboard"."""
    page = ["--dashboard", "--no-browser", "--port", "0"] if where == "dashboard" else []
    return [sys.executable, "-c", _SIGNAL_WHILE, where, sig, "live", "--participant", "demo",
            "--root", str(root), "--pipeline", str(LIVE_SHORT), "--view", "none",
            "--duration", "3", *page]


def _piped(root, args, option, piped):
    """``live`` for participant P1 under ``root`` with ``args`` and ``option``
    given ``piped`` through a pipe: ``option <(cat piped)``, run by bash."""
    import shlex

    return ["bash", "-c",
            f"{shlex.quote(sys.executable)} -m biofeedback.cli live --participant P1 "
            f"--root {shlex.quote(str(root))} {args} {option} <(cat {shlex.quote(str(piped))})"]


class _SideBySide:
    """Commands run side by side, each writing its output to files (one whose
    pipe was full would wait until the commands before it were read); none is
    left running once the ``with`` block ends."""

    def __init__(self, folder):
        self.folder, self.procs = folder, {}

    def start(self, key, argv):
        k = len(self.procs)
        with open(self.folder / f"{k}.out", "w") as out, \
                open(self.folder / f"{k}.err", "w") as err:
            self.procs[key] = k, subprocess.Popen(argv, stdout=out, stderr=err, text=True)

    def results(self, timeout=180) -> dict:
        """``{key: CompletedProcess}``, each command given ``timeout`` seconds from now."""
        deadline = time.monotonic() + timeout
        for _, proc in self.procs.values():
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        return {key: subprocess.CompletedProcess(
            proc.args, proc.returncode, (self.folder / f"{k}.out").read_text(),
            (self.folder / f"{k}.err").read_text()) for key, (k, proc) in self.procs.items()}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for _, proc in self.procs.values():
            proc.kill()  # gone already when all went well
            proc.wait()


@pytest.fixture(scope="module")
def commands_at_once(tmp_path_factory, request):
    """The module's ``live`` commands that share nothing, run side by side once,
    each under a root of its own: each is a session of a few seconds that
    mostly waits on the clock, and one after another they took about a minute.
    ``{key: (root, CompletedProcess)}``, for the tests named by their keys; a
    command whose test is not selected, or would skip (no bash, no shared
    data), is not run."""
    here = request.path
    selected = {item.name for item in request.session.items if item.path == here}
    roots = {}
    with _SideBySide(tmp_path_factory.mktemp("outputs")) as runs:

        def start(test, key, argv_of_root):  # test: its name, with its parameters
            if test in selected:
                roots[key] = tmp_path_factory.mktemp("root")
                runs.start(key, argv_of_root(roots[key]))

        for where, sig in _SIGNALLED:
            start(f"{test_a_signal_after_the_session_closed_lets_it_end.__name__}[{where}-{sig}]",
                  (where, sig),
                  functools.partial(_signalled_live, where=where, sig=sig))
        if _bash_pipes():
            start(test_model_auto_reads_a_piped_pipeline_once.__name__, "piped pipeline",
                  lambda root: _piped(root, "--model auto --view none --duration 5",
                                      "--pipeline", LIVE_SHORT))
            start(test_model_auto_and_check_read_a_piped_scenario_once.__name__,
                  "piped scenario",
                  lambda root: _piped(
                      root, "--model auto --check --check-seconds 2 --view none --duration 3",
                      "--scenario", HERE.parents[1] / "pipelines" / "scenarios" / "demo.toml"))
        test = test_model_auto_without_a_board_runs_on_the_default_board_and_says_so.__name__
        if test in selected:
            try:
                muse_dir = request.getfixturevalue("muse_dir")
            except pytest.skip.Exception:  # the test skips
                muse_dir = None
            if muse_dir is not None:  # P1's model from a Muse, for a session on no board named

                def default_board(root):
                    files = [str(p) for p in sorted(muse_dir.glob("subjecta-*.csv"))]
                    assert main(["train", *files, "--cv", "none", "-q", "--n-jobs", "1", "--out",
                                 str(root / "sub-P1" / "models" / "muse.bfm")]) == 0
                    return [sys.executable, "-m", "biofeedback", "live", "--participant", "P1",
                            "--root", str(root), "--model", "auto", "--duration", "2",
                            "--view", "none"]

                start(test, "default board", default_board)
        return {key: (roots[key], done) for key, done in runs.results().items()}


@pytest.mark.lsl
@pytest.mark.slow
def test_three_synthetic_sessions_with_a_participant_make_a_progress_report(tmp_path, capsys):
    first = _live(tmp_path)
    running = tmp_path / "sub-demo" / "ses-01" / ".running"
    deadline = time.monotonic() + 60
    while not running.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    assert running.exists(), first.communicate()
    second = _live(tmp_path)  # a second session for the same person, at the same time
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    # each got its own number, and the second said why it is not session 1
    assert "already has session 01 running" in outs[1][1]
    assert "filed separately as session 02" in outs[1][1]
    # the third in this process (the two above ran as the command does, exit codes and all)
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                 str(LIVE_SHORT), "--view", "none", "--model", "auto"])
    third = capsys.readouterr().out
    assert code == 0
    assert "No model of participant demo" in third
    for n, (out, _) in enumerate([*outs, (third, "")], start=1):
        lines = out.strip().splitlines()
        xdf = (tmp_path / "sub-demo" / f"ses-{n:02d}" / "eeg"
               / f"sub-demo_ses-{n:02d}_task-short_eeg.xdf")
        assert lines[-1] == f"recording: {xdf}", out
        assert f"filed as sub-demo session {n:02d} under {tmp_path}" in lines
        assert any(ln.startswith(f"Session {n}") for ln in lines)  # today vs before
        assert xdf.is_file() and xdf.with_suffix(".json").is_file()
        assert xdf.with_suffix(".html").is_file()  # the session report sits beside it
    assert "Session 3:" in third and "earlier sessions" in third
    # the third session started from the second one's final threshold
    sides = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("*_eeg.json"))]
    assert sides[2]["feedback"]["thresholds"][0]["source"] == "carried"
    assert sides[2]["programme"]["participant"] == "demo"
    out = tmp_path / "demo.html"
    assert main(["progress", "demo", "--root", str(tmp_path), "--json", "--out", str(out)]) == 0
    p = json.loads(capsys.readouterr().out)
    assert [s["session"] for s in p["sessions"]] == [1, 2, 3]
    assert all(s["status"] == "complete" and not s["simulated"] for s in p["sessions"])
    # integrity figures of every session (latency itself depends on the machine's load)
    assert all(s["effective_sfreq"] > 200 and s["n_dropped"] is not None
               and "latency_p99" in s for s in p["sessions"]), p["sessions"]
    assert set(p["trend"]) >= {"metric", "slope_per_session", "ci95", "learner"}
    doc = out.read_text()
    assert "Progress of demo: 3 sessions" in doc and doc.count("data:image/png") == 3
    assert main(["sessions", "demo", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("complete") == 3


def test_model_auto_takes_the_newest_model_of_the_participant(tmp_path):
    models = tmp_path / "sub-P1" / "models"
    models.mkdir(parents=True)
    old, new = models / "a.bfm", models / "b.bfm"
    old.write_bytes(b"")
    new.write_bytes(b"")
    os.utime(old, (time.time(), time.time() + 10))  # "a" is newer despite its name
    assert latest_model(tmp_path, "P1") == old
    # files that record no date of their own (not model files): their modification time
    path, note, read = resolve_model("auto", "P1", tmp_path)
    assert path == str(old) and read is None
    assert note.startswith("--model auto: a.bfm (modified ") and note.endswith(
        "; the file records no date of its own), the newest of the 2 models of P1.")
    assert resolve_model("m.bfm", None, tmp_path) == ModelChoice("m.bfm")
    path, note, read = resolve_model("auto", "P2", tmp_path)
    assert path is None and "No model of participant P2" in note and read is None


def test_model_auto_takes_the_newest_model_that_fits_the_headset(tmp_path):
    """A participant back on the synthetic board is not handed their Muse model; the
    board each model was trained on is read with what it reads, once."""
    import json
    import zipfile

    from biofeedback.hardware import get_profile
    from biofeedback.library._carry import montage

    models = tmp_path / "sub-P1" / "models"
    models.mkdir(parents=True)
    for name, board, age in (("synth.bfm", "synthetic", 20), ("muse.bfm", "muse_2", 10)):
        prof = get_profile(board)
        with zipfile.ZipFile(models / name, "w") as zf:  # what --model auto reads of a model
            zf.writestr("meta.json", json.dumps({"ch_names": list(prof.ch_names),
                                                 "sfreq": prof.sfreq, "profile": board}))
        os.utime(models / name, (time.time() - age, time.time() - age))

    def on(board):
        prof = get_profile(board)
        return montage(prof.name, prof.ch_names, prof.sfreq)

    muse, synth = models / "muse.bfm", models / "synth.bfm"
    path, note, read = resolve_model("auto", "P1", tmp_path, on("muse_2"))
    assert path == str(muse) and read == (muse, "muse_2")
    assert note.startswith("--model auto: muse.bfm (saved ") and note.endswith(
        "), the newest of the 2 models of P1.")
    path, note, read = resolve_model("auto", "P1", tmp_path, on("synthetic"))
    assert path == str(synth) and read == (synth, "synthetic")
    assert note.startswith("muse.bfm, the newest model of P1, reads TP9, AF7, AF8, TP10 at "
                           "256 Hz, which synthetic (16 channels at 250 Hz) does not give; "
                           "this session uses synth.bfm (saved ")
    assert note.endswith("), the newest that fits it.")
    path, note, read = resolve_model("auto", "P1", tmp_path, on("ganglion"))
    assert read == (muse, "muse_2")  # the newest: the one the note speaks of
    assert path is None and note == (  # not '2 model(s)', nor two brackets in a row
        "None of the 2 models of P1 fits ganglion (F3, F4, O1, O2 at 200 Hz): the newest, "
        "muse.bfm, reads TP9, AF7, AF8, TP10 at 256 Hz; this session runs without one: "
        "train one on recordings from this headset.")
    assert resolve_model("auto", "P1", tmp_path).path == str(muse)


def test_model_auto_goes_by_the_date_each_model_file_records(tmp_path):
    """A study copied with cp -r (or from a zip, or git) has its files' modification
    times reset, and --model auto took whichever model the copy wrote last. It goes
    by the date each model file records, and says which one it took."""
    import datetime as dt
    import zipfile

    from biofeedback.library._layout import participant_models

    rec, trained = tmp_path / "rec.xdf", tmp_path / "trained.bfm"
    assert main(["simulate", "relaxed_engaged", "--out", str(rec)]) == 0
    assert main(["train", str(rec), "--labels-from", "markers", "--cv", "none", "-q",
                 "--n-jobs", "1", "--out", str(trained)]) == 0
    with zipfile.ZipFile(trained) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["meta.json"])
    saved = dt.datetime.fromisoformat(meta["saved_at"])  # the file says when it was saved
    assert saved.tzinfo is not None and abs(time.time() - saved.timestamp()) < 600

    models = tmp_path / "study" / "sub-P1" / "models"
    models.mkdir(parents=True)

    def as_saved(name, saved_at=None, archive=(2026, 10, 1, 9, 0, 0)):
        """The trained model as saved then (without saved_at: by an earlier version)."""
        m = {k: v for k, v in meta.items() if k != "saved_at"}
        if saved_at:
            m["saved_at"] = saved_at
        with zipfile.ZipFile(models / name, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(zipfile.ZipInfo("meta.json", archive), json.dumps(m))
            for k, v in members.items():
                if k != "meta.json":
                    zf.writestr(zipfile.ZipInfo(k, archive), v)
        return models / name

    week1 = as_saved("week1.bfm", "2026-11-01T09:00:00+00:00")
    week2 = as_saved("week2.bfm", "2026-11-08T09:00:00+00:00")
    older = as_saved("older.bfm")  # dated by its archive: October
    now = time.time()
    for k, m in enumerate((week2, older, week1)):  # the copy wrote week1 last
        os.utime(m, (now + k, now + k))
    assert participant_models(tmp_path / "study", "P1") == [week2, week1, older]
    path, note, read = resolve_model("auto", "P1", tmp_path / "study")
    when = dt.datetime(2026, 11, 8, 9, tzinfo=dt.timezone.utc).astimezone()
    assert path == str(week2)
    assert note == (f"--model auto: week2.bfm (saved {when:%Y-%m-%d %H:%M}), the newest of "
                    "the 3 models of P1.")
    assert read is None  # no headset given: nothing read to choose


@pytest.mark.lsl
def test_model_auto_without_a_board_runs_on_the_default_board_and_says_so(muse_dir,
                                                                           commands_at_once):
    """A model does not choose the headset: with no --board, --scenario, --lsl
    or --pipeline, --model auto runs on the default pipeline's board (as
    ``live`` alone does), passes over a Muse model that cannot read it, and
    says which board the model was trained on and how to use it."""
    root, proc = commands_at_once["default board"]  # a Muse model trained there first
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (  # not 'None of the 1 model(s)'
        "muse.bfm, the only model of P1, reads TP9, AF7, AF8, TP10 at 256 Hz, which "
        "synthetic (16 channels at 250 Hz) does not give; this session runs without one: "
        "train one on recordings from this headset.")
    assert lines[1] == (
        "muse.bfm was trained on muse_2016 recordings; no --board, --scenario, --lsl or "
        "--pipeline names this session's headset, so it runs on synthetic, the default "
        "pipeline's board: give --board muse_2016 to use that headset.")
    xdf = root / "sub-P1" / "ses-01" / "eeg" / "sub-P1_ses-01_task-default_eeg.xdf"
    assert lines[-1] == f"recording: {xdf}"
    side = json.loads(xdf.with_suffix(".json").read_text())
    assert "model" not in side


@pytest.mark.lsl
@pytest.mark.slow
def test_model_auto_reads_a_piped_pipeline_once(commands_at_once):
    """``--pipeline <(...)`` is a pipe: read twice (once to choose the model), the
    session got an empty pipeline and ran without its protocol."""
    if not _bash_pipes():
        pytest.skip("needs bash's process substitution (/dev/fd)")
    root, proc = commands_at_once["piped pipeline"]  # --duration 5
    assert proc.returncode == 0, proc.stderr
    xdf = root / "sub-P1" / "ses-01" / "eeg" / "sub-P1_ses-01_task-short_eeg.xdf"
    assert proc.stdout.strip().splitlines()[-1] == f"recording: {xdf}", proc.stdout
    side = json.loads(xdf.with_suffix(".json").read_text())
    assert side["pipeline"]["name"] == "short"
    assert [b["name"] for b in side["pipeline"]["feedback"]["blocks"]] == [
        "baseline", "training", "transfer"]


@pytest.mark.lsl
@pytest.mark.slow
def test_model_auto_and_check_read_a_piped_scenario_once(commands_at_once):
    """``--scenario <(...)`` is a pipe too: the model choice, the signal check
    and the session each read it, and the second read was empty."""
    if not _bash_pipes():
        pytest.skip("needs bash's process substitution (/dev/fd)")
    # --check --check-seconds 2 --duration 3, the scenario demo.toml
    root, proc = commands_at_once["piped scenario"]
    assert proc.returncode == 0, proc.stderr
    assert "GO:" in proc.stdout
    xdf = root / "sub-P1" / "ses-01" / "eeg" / "sub-P1_ses-01_task-default_eeg.xdf"
    assert proc.stdout.strip().splitlines()[-1] == f"recording: {xdf}", proc.stdout
    side = json.loads(xdf.with_suffix(".json").read_text())
    assert side["source"]["scenario"] == "demo", side["source"]


def test_live_refuses_a_participant_without_a_recording(tmp_path, capsys):
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--no-record",
                 "--duration", "1"])
    assert code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "biofeedback: error: --participant files the session's recording under the study "
        "root; it cannot be used with --no-record."]
    code = main(["live", "--participant", "../x", "--root", str(tmp_path), "--duration", "1"])
    assert code == 1 and "Invalid participant ID '../x'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing reserved


def _recorders_writing_under(parent, folder):
    """PIDs of the LabRecorderCLI children of ``parent`` that write under
    ``folder`` (not one an earlier test left behind)."""
    return subprocess.run(["pgrep", "-P", str(parent), "-f", f"LabRecorderCLI.*{folder}"],
                          capture_output=True, text=True).stdout.split()


@pytest.mark.lsl
@pytest.mark.slow
def test_a_session_stopped_before_its_recording_began_is_not_filed(tmp_path, capsys, ctrl_c):
    import threading

    me, seen = os.getpid(), []

    def interrupt_when_the_recorder_starts():
        end = time.monotonic() + 60
        while not seen and time.monotonic() < end:
            seen.extend(_recorders_writing_under(me, tmp_path))
            time.sleep(0.002)
        ctrl_c()

    threading.Thread(target=interrupt_when_the_recorder_starts, daemon=True).start()
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                 str(LIVE_SHORT), "--view", "none", "--duration", "20"])
    out = capsys.readouterr().out
    assert seen and code == 130  # stopped by Ctrl-C: 128 + SIGINT, as a shell reports it
    assert "filed as" not in out and "recording:" not in out
    assert not (tmp_path / "sub-demo" / "ses-01").exists()  # the number is free again
    assert "demo" not in main_sessions(tmp_path, capsys)


@pytest.mark.lsl
def test_a_session_stopped_before_its_first_sample_is_set_aside(tmp_path, capsys,
                                                                default_stop_signals):
    """SIGTERM (or the dashboard's stop) as the recorder starts: the recording
    holds no sample, which every reader refuses. It was filed all the same, as
    session 01 ("partial 0.0 min"), and took the number of the next session."""
    import shutil
    import signal
    import threading

    from biofeedback.config import load_pipeline
    from biofeedback.library import StudyIndex, reserve_session
    from biofeedback.library._live import ProgrammeSession

    me, seen = os.getpid(), []

    def term_when_the_recorder_starts():  # the session stops before its first read
        end = time.monotonic() + 30
        while not seen and time.monotonic() < end:
            seen.extend(_recorders_writing_under(me, tmp_path))
            time.sleep(0.002)
        os.kill(me, signal.SIGTERM)

    watcher = threading.Thread(target=term_when_the_recorder_starts, daemon=True)
    watcher.start()
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                 str(LIVE_SHORT), "--view", "none", "--duration", "20"])
    watcher.join()
    lines = capsys.readouterr().out.strip().splitlines()
    assert seen and code == 143  # stopped by SIGTERM: 128 + 15
    assert any(ln.startswith("session ") and " 0 samples " in ln for ln in lines), lines
    assert not any("filed as" in ln for ln in lines), lines
    assert lines[-2] == ("not filed: the session ended before its first sample, so it is not "
                         "session 01 of sub-demo (its number is free again); its recording is "
                         "kept outside the study's sessions"), lines
    xdf = Path(lines[-1].removeprefix("recording: "))
    assert xdf.parent == tmp_path / "sub-demo" / "unfiled" and xdf.name.endswith("_eeg.xdf")
    assert xdf.is_file() and xdf.with_suffix(".json").is_file()  # kept, closed
    assert not (tmp_path / "sub-demo" / "ses-01").exists()
    assert "demo" not in main_sessions(tmp_path, capsys)

    # one the index read while it ran (the dashboard's history, 'sessions' in
    # another terminal) is dropped from it too: its number is not remembered
    prog = ProgrammeSession("demo", tmp_path, load_pipeline(LIVE_SHORT))
    assert prog.paths.session == 1
    for path in (xdf, xdf.with_suffix(".json")):
        shutil.copy(path, prog.recording.with_suffix(path.suffix))
    with StudyIndex(tmp_path) as index:
        index.sync()
        assert [r["session"] for r in index.sessions("demo")] == [1]
    again, freed = prog.set_aside()
    assert freed and again.parent == xdf.parent and again != xdf and again.is_file()
    assert "demo" not in main_sessions(tmp_path, capsys)
    assert reserve_session(tmp_path, "demo", "short").session == 1  # the next one takes it


def main_sessions(root, capsys) -> str:
    main(["sessions", "--root", str(root)])
    return capsys.readouterr().out


_SIGNAL_WHILE = """\
import os, signal, sys
signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as in a terminal (the runner may be nohup'd)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
from biofeedback.cli import main
from biofeedback.feedback import _report
from biofeedback.library._live import ProgrammeSession
where, sig = sys.argv[1], getattr(signal, sys.argv[2])

def signalled(real):
    def call(*args, **kwargs):  # the signal comes as this step begins
        os.kill(os.getpid(), sig)
        return real(*args, **kwargs)
    return call

if where == "report":
    _report.write_report = signalled(_report.write_report)
elif where == "dashboard":
    from biofeedback.dashboard import DashboardServer
    DashboardServer.stop = signalled(DashboardServer.stop)
else:
    ProgrammeSession.finish = signalled(ProgrammeSession.finish)
sys.exit(main(sys.argv[3:]))
"""
_SIGNALLED = [("report", "SIGHUP"), ("filing", "SIGTERM"), ("dashboard", "SIGHUP")]


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.parametrize("where, sig", _SIGNALLED)
def test_a_signal_after_the_session_closed_lets_it_end(commands_at_once, where, sig):
    """A closed terminal (its shell sends SIGHUP again) or a service manager's
    SIGTERM once the session has closed its recording: the process was ended
    on the spot while it wrote the report or filed the session (no summary, no
    line saying how to write the report, the session left marked running).
    Now the report is skipped with that line, as after a second Ctrl-C, and
    the rest goes on: filed, indexed, the summary printed."""
    root, proc = commands_at_once[where, sig]
    eeg = root / "sub-demo" / "ses-01" / "eeg"
    xdf = eeg / "sub-demo_ses-01_task-short_eeg.xdf"
    lines = proc.stdout.strip().splitlines()
    # the session ran its duration: its status is 0, the signal cut only the report short
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    if where == "report":
        assert (f"report: not written ({sig} while it was written); write it with: "
                f"biofeedback report {xdf}") in lines
        assert not xdf.with_suffix(".html").exists()
    else:
        assert f"report: {xdf.with_suffix('.html')}" in lines
        assert (f"{sig} received after the session closed: finishing its summary first."
                in proc.stderr)
    assert f"filed as sub-demo session 01 under {root}" in lines
    assert lines[-1] == f"recording: {xdf}"
    assert not (root / "sub-demo" / "ses-01" / ".running").exists()
    assert not [p for p in eeg.iterdir() if p.suffix not in (".xdf", ".json", ".html")]


@pytest.mark.lsl
@pytest.mark.slow
def test_ctrl_c_during_the_report_still_files_the_session(tmp_path, capsys, monkeypatch,
                                                         ctrl_c):
    from biofeedback.feedback import _report

    real = _report.write_report

    def interrupted(*args, **kwargs):  # the second Ctrl-C of someone in a hurry
        ctrl_c()
        return real(*args, **kwargs)

    monkeypatch.setattr(_report, "write_report", interrupted)
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                 str(LIVE_SHORT), "--view", "none", "--duration", "3"])
    lines = capsys.readouterr().out.strip().splitlines()
    eeg = tmp_path / "sub-demo" / "ses-01" / "eeg"
    xdf = eeg / "sub-demo_ses-01_task-short_eeg.xdf"
    assert code == 0
    assert f"report: not written (Ctrl-C while it was written); write it with: biofeedback " \
           f"report {xdf}" in lines
    assert f"filed as sub-demo session 01 under {tmp_path}" in lines
    assert lines[-1] == f"recording: {xdf}"
    assert sorted(p.name for p in eeg.iterdir()) == [xdf.with_suffix(".json").name, xdf.name]
    assert not (tmp_path / "sub-demo" / "ses-01" / ".running").exists()
    assert "demo" in main_sessions(tmp_path, capsys)  # indexed


@pytest.mark.lsl
@pytest.mark.slow
def test_the_first_session_under_a_root_is_read_once(tmp_path, capsys, caplog):
    """A new root's index is built from the folders when the first session ends;
    that session is not read a second time (its warnings said twice). The
    default pipeline does not carry thresholds, so no index exists before."""
    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--view", "none",
                 "--duration", "3"])
    out = capsys.readouterr().out
    said = [r.getMessage() for r in caplog.records if "session 01 ended early" in r.getMessage()]
    assert code == 0 and len(said) == 1, said
    assert f"filed as sub-demo session 01 under {tmp_path}" in out
    # the comparison: stopped in its baseline, it had no training window at all (it
    # was said to have had no clean ones, as if the electrodes had been off)
    assert ("Session 1 is filed; it ended before its training began, so it has nothing to "
            "compare with later sessions.") in out.splitlines()
    assert "demo" in main_sessions(tmp_path, capsys)


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM"])
def test_a_signal_while_the_session_starts_gives_its_number_back(tmp_path, sig,
                                                                default_stop_signals,
                                                                signal_once_there):
    """A closed terminal (SIGHUP) the moment the session folder is reserved: the
    folder is given back, so the participant's first session stays number 01."""
    proc = _live(tmp_path, "--duration", "20")
    running = tmp_path / "sub-demo" / "ses-01" / ".running"
    out, err = signal_once_there(proc, running, sig)
    assert "Traceback" not in err
    assert not (tmp_path / "sub-demo" / "ses-01").exists(), (out, err)


def test_a_model_files_board_is_a_name_or_none():
    """The board a model names is printed as a --board to give: from an edited
    file, a path, a command or an escape sequence is no board at all."""
    from biofeedback.library._live import trained_on

    said = {profile: trained_on({"profile": profile})
            for profile in ["muse_2", "my_muse.toml", "/home/x/boards/b.toml",
                            "muse_2; rm -rf ~", "muse_2\x1b[2J", "", 3]}
    assert said == {"muse_2": "muse_2", "my_muse.toml": "my_muse.toml",
                    "/home/x/boards/b.toml": None, "muse_2; rm -rf ~": None,
                    "muse_2\x1b[2J": None, "": None, 3: None}
    assert trained_on({}) is None and trained_on(None) is None


def test_choosing_a_model_never_inflates_a_bomb(tmp_path):
    """--model auto peeks at each model's meta.json: a member inflating past the
    bound is passed over unread, as an unreadable file is."""
    import zipfile

    from biofeedback.library._live import _model_reads

    meta = json.dumps({"ch_names": ["TP9", "AF7"], "sfreq": 256.0, "profile": "muse_2"})
    for name, pad in (("small.bfm", 0), ("bomb.bfm", 20 * 2**20)):
        with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("meta.json", meta + " " * pad)
    assert _model_reads(tmp_path / "small.bfm") == (["TP9", "AF7"], 256.0, "muse_2")
    assert _model_reads(tmp_path / "bomb.bfm") is None


@pytest.mark.lsl
@pytest.mark.slow
def test_a_study_without_its_last_session_file_never_reuses_a_number(tmp_path, capsys):
    """A study from before sub-<ID>/.last-session (or with it stale) numbered the
    next session after the folders alone: once the latest folder was deleted by
    hand, its number went to a different session while the index still held the
    first one under it."""
    def session(n):
        code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                     str(LIVE_SHORT), "--view", "none", "--duration", "2"])
        out = capsys.readouterr().out
        assert code == 0 and f"filed as sub-demo session {n:02d} under {tmp_path}" in out, out

    for n in (1, 2):
        session(n)
    sub = tmp_path / "sub-demo"
    last = sub / ".last-session"
    last.unlink()  # an old study
    shutil.rmtree(sub / "ses-02")  # deleted by hand: the index still holds session 2
    session(3)
    # a stale file, and the index read since: it forgets session 3, not its number
    shutil.rmtree(sub / "ses-03")
    last.write_text("1\n")
    assert main(["sessions", "demo", "--root", str(tmp_path), "--json"]) == 0
    assert [r["session"] for r in json.loads(capsys.readouterr().out)] == [1]
    session(4)
    # no file again, and the index rebuilt from the folders: the rebuild keeps the number
    shutil.rmtree(sub / "ses-04")
    last.unlink()
    assert main(["index", "--rebuild", "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    session(5)
    assert [p.name for p in sorted(sub.glob("ses-*"))] == ["ses-01", "ses-05"]


@pytest.mark.lsl
@pytest.mark.slow
def test_sessions_and_progress_say_what_each_session_trained_and_how_it_ended(tmp_path,
                                                                              capsys):
    """Sessions of two protocols and one cut off by SIGTERM, as a participant reads
    them: 'sessions' named no measure (a lowered one's -0.3 read like a rise) and
    listed the cut session as 'partial' without saying where it stopped;
    'progress' printed a verdict on one measure without naming the sessions it
    left out."""
    import signal

    code = main(["live", "--participant", "demo", "--root", str(tmp_path), "--pipeline",
                 str(LIVE_SHORT), "--view", "none"])
    assert code == 0
    alpha = tmp_path / "alpha.toml"
    alpha.write_text(LIVE_SHORT.read_text().replace('name = "short"', 'name = "alphadown"')
                     .replace('threshold_start = "carry"',
                              'target = "alpha_rel"\ndirection = "down"')
                     .replace("duration = 2.0\n\n[[feedback.blocks]]\nname = \"transfer\"",
                              "duration = 60.0\n\n[[feedback.blocks]]\nname = \"transfer\""))
    proc = _live(tmp_path, "--pipeline", str(alpha))
    eeg = tmp_path / "sub-demo" / "ses-02" / "eeg"
    deadline = time.monotonic() + 60
    while not list(eeg.glob("*.xdf")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(4.0)  # the baseline (2 s) and into training
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    capsys.readouterr()
    assert main(["sessions", "demo", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[6:8] == ["trains", "trained"], lines[0]
    assert lines[1].split()[7:9] == ["engagement", "up"] and "complete" in lines[1]
    assert lines[2].split()[7:9] == ["alpha_rel", "down"] and "partial" in lines[2]
    assert lines[3].startswith("sub-demo session 02 ended early (SIGTERM) in block "), lines
    assert len(lines) == 4
    assert main(["progress", "demo", "--root", str(tmp_path), "--out",
                 str(tmp_path / "p.html")]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == ("Session 1 trained engagement (raised): not on the curves or in the "
                       "trends, which follow alpha_rel (lowered), the measure of the latest "
                       "session.")
    assert said[1].startswith("Too early to tell whether demo is learning")
