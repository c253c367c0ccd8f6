"""The training programme: study layout, SQLite index, progress, simulated learners."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.library import StudyError, StudyIndex, reserve_session, simulate_sessions
from biofeedback.library._layout import (
    check_participant,
    list_session_dirs,
    running_sessions,
    unindexed_session_dirs,
)
from biofeedback.library._progress import compare_line, progress, to_json, trend

HERE = Path(__file__).resolve().parent
SHORT = HERE / "short.toml"
REPO = HERE.parents[1]


@pytest.fixture(scope="module")
def short_study(tmp_path_factory):
    """Three short simulated sessions of a learner (with a transfer block, carried thresholds)."""
    root = tmp_path_factory.mktemp("study")
    simulate_sessions("learner", "p01", 3, root=root, pipeline=SHORT, progress=False)
    return root


@pytest.fixture
def study(short_study, tmp_path):
    """A private copy of the short study, to break."""
    root = tmp_path / "study"
    shutil.copytree(short_study, root)
    return root


# -- layout ----------------------------------------------------------------------
@pytest.mark.parametrize("pid", ["a/b", "..", "../x", "P 01", "", "p-01", "p_01", "é1"])
def test_participant_ids_that_could_escape_the_root_are_refused(pid):
    with pytest.raises(StudyError, match="letters and digits only"):
        check_participant(pid)


def test_a_file_where_the_participants_folder_goes_is_one_sentence(tmp_path, capsys):
    """It read "File exists: .../sub-P01; write elsewhere.", as if the session's
    output were the problem."""
    root = tmp_path / "study"
    root.mkdir()
    (root / "sub-P01").write_text("notes")
    assert main(["live", "--participant", "P01", "--root", str(root), "--duration", "2",
                 "--view", "none"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {root / 'sub-P01'} is a file where participant P01's session "
        "folders go; move it out of the study root, or pass another --root DIR.")
    assert (root / "sub-P01").read_text() == "notes"


def test_an_empty_id_is_said_in_plain_words(tmp_path, capsys):
    """It read "Invalid participant ID an empty ID: ..."."""
    assert main(["live", "--participant", "", "--root", str(tmp_path / "study")]) == 1
    assert capsys.readouterr().err.startswith(
        "biofeedback: error: The participant ID is empty: use ASCII letters and digits only")
    assert not (tmp_path / "study").exists()


def test_an_id_or_task_too_long_for_a_file_name_is_one_sentence(tmp_path, capsys):
    from biofeedback.cli import main

    code = main(["live", "--participant", "P" * 300, "--root", str(tmp_path / "study"),
                 "--duration", "2", "--view", "none"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert "Invalid participant ID PPPPPPPPPPPP... (300 characters): use at most 64" in err
    assert not (tmp_path / "study").exists()
    # a task label is cut to fit, so a long --protocol still names a file
    paths = reserve_session(tmp_path / "study", "P1", "t" * 300)
    paths.release()
    assert paths.task == "t" * 64 and len(paths.xdf.name) < 255


def test_session_numbers_follow_and_files_are_bids_shaped(short_study):
    dirs = list_session_dirs(short_study)
    assert [(p, n) for p, n, _ in dirs] == [("p01", 1), ("p01", 2), ("p01", 3)]
    eeg = short_study / "sub-p01" / "ses-02" / "eeg"
    names = sorted(p.name for p in eeg.iterdir())
    assert names == ["sub-p01_ses-02_task-short_eeg.json", "sub-p01_ses-02_task-short_eeg.xdf"]
    assert not (short_study / "sub-p01" / "ses-02" / ".running").exists()


def test_sessions_started_at_once_get_distinct_numbers(tmp_path):
    code = ("import sys; from biofeedback.library import reserve_session; "
            "p = reserve_session(sys.argv[1], 'p7', 'x'); print(p.session)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(6)]
    outs = [p.communicate(timeout=60) for p in procs]
    numbers = sorted(int(o[0]) for o in outs)
    assert numbers == [1, 2, 3, 4, 5, 6]
    # their processes have ended, so none of them counts as running
    assert running_sessions(tmp_path, "p7") == []


def test_an_id_differing_only_in_case_is_refused_and_named(short_study, capsys):
    # 'P01' and 'p01' would be one folder on Windows and macOS, two people to the index
    with pytest.raises(StudyError, match=r"'P01' differs only in case from 'p01', who "
                                         r"already has sessions under .*--participant p01"):
        reserve_session(short_study, "P01", "x")
    assert not (short_study / "sub-P01").exists()
    assert main(["progress", "P01", "--root", str(short_study)]) == 1
    assert "No sessions of participant 'P01' under" in (err := capsys.readouterr().err)
    assert "did you mean 'p01'?" in err
    assert main(["sessions", "P01", "--root", str(short_study)]) == 0
    assert "did you mean 'p01'?" in capsys.readouterr().out


def test_a_participant_without_sessions_is_told_who_has_them(short_study, tmp_path, capsys):
    from biofeedback.library import study_root

    sentence = (f"No sessions of participant 'nobody' under {study_root(short_study)}; it "
                "holds sessions of p01.")
    assert main(["progress", "nobody", "--root", str(short_study)]) == 1
    assert capsys.readouterr().err == f"biofeedback: error: {sentence}\n"
    assert main(["sessions", "nobody", "--root", str(short_study)]) == 0
    assert capsys.readouterr().out == f"{sentence}\n"
    empty = study_root(tmp_path)
    assert main(["progress", "nobody", "--root", str(empty)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: No sessions of participant 'nobody' under {empty}, which "
        f"holds none yet: 'biofeedback live --participant nobody --root {empty}' records "
        "one.\n")


@pytest.mark.parametrize("command", ["progress", "sessions"])
def test_the_participant_is_named_as_live_names_it_or_as_the_argument(short_study, command,
                                                                      capsys):
    root = ["--root", str(short_study), "--json"]
    assert main([command, "p01", *root]) == 0
    as_argument = json.loads(capsys.readouterr().out)
    assert main([command, "--participant", "p01", *root]) == 0
    assert json.loads(capsys.readouterr().out) == as_argument
    assert main([command, "p01", "--participant", "p01", *root]) == 0  # the same, twice
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # two people: which one was meant?
        main([command, "p01", "--participant", "p02", *root])
    assert exc.value.code == 2
    assert "the participant is given twice (p01 and p02); give one ID" in capsys.readouterr().err


def test_a_progress_report_that_cannot_be_written_is_said_before_it_is_built(
        short_study, tmp_path, capsys, monkeypatch):
    """Said after the report was built, as "(File exists)" for a file where the
    folder goes; now before, in the sentence replay and check give."""
    import biofeedback.library._progress as progress_module

    def built(*_args, **_kwargs):
        raise AssertionError("the report was built")

    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = tmp_path / "notes.txt" / "p.html"
    monkeypatch.setattr(progress_module, "progress", built)
    assert main(["progress", "p01", "--root", str(short_study), "--out", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {out} cannot be written: {tmp_path / 'notes.txt'} does not "
        "take new files (not a folder); choose another place for it.\n")
    assert main(["progress", "p01", "--root", str(short_study), "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {tmp_path} is a folder; name a file to write.\n")


def test_a_second_session_while_one_runs_says_so(tmp_path, caplog):
    first = reserve_session(tmp_path, "p8", "x")  # this process: still "running"
    with caplog.at_level("WARNING", logger="biofeedback"):
        second = reserve_session(tmp_path, "p8", "x")
    assert (first.session, second.session) == (1, 2)
    assert "already has session 01 running" in caplog.text
    assert "filed separately as session 02" in caplog.text
    first.release()
    second.release()


# -- the index -------------------------------------------------------------------
def test_index_holds_sessions_blocks_thresholds_and_paths(short_study):
    with StudyIndex(short_study) as idx:
        rows = idx.sessions("p01")
        blocks = idx.blocks("p01")
        n_thr = idx.con.execute("SELECT count(*) FROM thresholds").fetchone()[0]
        mode = idx.con.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert [r["session"] for r in rows] == [1, 2, 3]
    assert all(r["status"] == "complete" and r["simulated"] for r in rows)
    assert [b["kind"] for b in blocks[:4]] == ["baseline", "training", "training", "transfer"]
    assert n_thr > 10  # thresholds as they moved, about one a second
    for r in rows:
        assert (short_study / r["xdf"]).is_file() and (short_study / r["sidecar"]).is_file()
        assert np.isfinite(r["regulation"]) and np.isfinite(r["transfer_regulation"])
        assert 0 <= r["time_in_target"] <= 1 and r["final_thresholds"]
    # the regulated measure is each training block relative to the session's baseline
    side = json.loads((short_study / rows[0]["sidecar"]).read_text())
    base = side["feedback"]["baseline"]["engagement"]
    b1 = side["feedback"]["blocks"][1]
    assert blocks[1]["regulation"] == pytest.approx(
        (b1["target_mean"] - base["mean"]) / base["sd"])


def test_carried_threshold_starts_the_next_session(short_study):
    sides = [json.loads(p.read_text()) for p in sorted(short_study.rglob("*_eeg.json"))]
    first_thr = sides[0]["feedback"]["thresholds"][0]
    assert first_thr["source"] == "baseline"
    second = sides[1]["feedback"]
    assert second["thresholds"][0]["source"] in ("carried", "baseline")
    assert sides[1]["programme"]["carried_thresholds"][0]["threshold"] == pytest.approx(
        first_thr["threshold"])
    assert second["blocks"][1]["threshold_start"] == pytest.approx(first_thr["threshold"])


def test_thresholds_carry_over_only_on_the_same_headset(study, caplog):
    import dataclasses

    from biofeedback.simulate import read_scenario

    muse = read_scenario("learner")  # sessions 1-3 ran on a Muse 2
    cyton = dataclasses.replace(muse, board="cyton")
    with caplog.at_level("WARNING", logger="biofeedback"):
        simulate_sessions(cyton, "p01", 1, root=study, pipeline=SHORT, progress=False)
    assert ("earlier sessions ran on other headsets, the last (session 03) on muse_2 (TP9, "
            "AF7, AF8, TP10 at 256 Hz); their thresholds do not fit cyton (8 channels at 250 "
            "Hz), so this session's baseline sets them afresh.") in caplog.text
    side = json.loads(next(study.glob("sub-p01/ses-04/eeg/*.json")).read_text())
    assert side["programme"]["carried_thresholds"] == []
    assert side["programme"]["carried_from"] is None
    assert "carry_note" in side["programme"]
    assert side["feedback"]["thresholds"][0]["source"] == "baseline"
    # back on the Muse: session 3's thresholds, not the Cyton's, and a sentence says so
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        simulate_sessions(muse, "p01", 1, root=study, pipeline=SHORT, progress=False)
    assert ("last session (04) ran on cyton (8 channels at 250 Hz); this one runs on muse_2 "
            "(TP9, AF7, AF8, TP10 at 256 Hz), so the thresholds come from session 03, the "
            "latest that fits.") in caplog.text
    side = json.loads(next(study.glob("sub-p01/ses-05/eeg/*.json")).read_text())
    with StudyIndex(study) as idx:
        rows = {r["session"]: r for r in idx.sessions("p01")}
    assert side["programme"]["carried_from"] == 3
    assert side["programme"]["carried_thresholds"][0]["threshold"] == pytest.approx(
        rows[3]["final_thresholds"][0]["threshold"])
    assert (rows[4]["board"], rows[4]["sfreq"], len(rows[4]["ch_names"])) == ("cyton", 250, 8)


def test_thresholds_do_not_carry_to_estimates_computed_otherwise(study, tmp_path, caplog):
    """1 s windows instead of 2 s change an estimate's spread: its threshold starts afresh."""
    pipe = tmp_path / "short1s.toml"
    pipe.write_text(SHORT.read_text().replace('name = "short"',
                                              'name = "short"\n\n[window]\nlength = 1.0'))
    with caplog.at_level("WARNING", logger="biofeedback"):
        simulate_sessions("learner", "p01", 1, root=study, pipeline=pipe, progress=False)
    assert ("earlier sessions on this headset computed their estimates otherwise, the last "
            "(session 03) with [window] length = 2.0 (this session: 1.0); their thresholds do "
            "not fit this session's estimates, so its baseline sets them afresh.") in caplog.text
    side = json.loads(next(study.glob("sub-p01/ses-04/eeg/*.json")).read_text())
    assert side["feedback"]["thresholds"][0]["source"] == "baseline"
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):  # back to 2 s windows: session 3's
        simulate_sessions("learner", "p01", 1, root=study, pipeline=SHORT, progress=False)
    assert ("last session (04) computed its estimates with [window] length = 1.0 (this "
            "session: 2.0), so the thresholds come from session 03") in caplog.text
    side = json.loads(next(study.glob("sub-p01/ses-05/eeg/*.json")).read_text())
    assert side["programme"]["carried_from"] == 3


def test_rebuild_gives_the_same_rows(study):
    with StudyIndex(study) as idx:
        before = idx.sessions()
        assert idx.rebuild() == 3
        after = idx.sessions()
    strip = [{k: v for k, v in r.items() if k != "id"} for r in before]
    assert strip == [{k: v for k, v in r.items() if k != "id"} for r in after]


def test_progress_bars_stay_off_a_log(study, capsys):
    """Off a terminal (CI, a log file) index --rebuild prints no progress bar."""
    assert main(["index", "--rebuild", "--root", str(study)]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "indexed 3 sessions" in cap.out


def test_two_processes_writing_at_once_never_corrupt_it(study):
    code = ("import sys; from biofeedback.library import StudyIndex\n"
            "from biofeedback.library._layout import list_session_dirs\n"
            "with StudyIndex(sys.argv[1], timeout=60) as idx:\n"
            "    for i in range(60):\n"
            "        for pid, n, f in list_session_dirs(idx.root):\n"
            "            idx.add_session(f, pid, n)\n"
            "        if i % 20 == 0:\n"
            "            idx.rebuild()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(study)], text=True,
                              stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    con = sqlite3.connect(study / "biofeedback.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == 12
    con.close()


def test_a_session_killed_mid_way_is_indexed_from_its_xdf(study):
    side = next(study.rglob("sub-p01_ses-02_*_eeg.json"))
    full = json.loads(side.read_text())
    with StudyIndex(study) as idx:
        complete = idx.sessions("p01")[1]
    # what a killed session leaves: the sidecar written at its start, no summary
    cut = {k: v for k, v in full.items() if k not in ("summary", "feedback")}
    side.write_text(json.dumps(cut))
    with StudyIndex(study) as idx:
        idx.rebuild()
        row = idx.sessions("p01")[1]
    assert row["status"] == "interrupted"
    assert row["regulation"] == pytest.approx(complete["regulation"], abs=1e-5)
    assert row["time_in_target"] == pytest.approx(complete["time_in_target"])


# -- bad input: one sentence each, nothing lost ------------------------------------
def _corrupt(root):
    (root / "biofeedback.sqlite").write_bytes(b"this is not a database" * 100)
    return "not a readable database"


def _newer(root):
    con = sqlite3.connect(root / "biofeedback.sqlite")
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    return "written by a newer version (schema 99"


def _no_sidecar(root):
    next(root.rglob("sub-p01_ses-03_*_eeg.json")).unlink()
    return None


def _sql(*statements, why=None):
    def breaking(root):
        con = sqlite3.connect(root / "biofeedback.sqlite")
        for statement in statements:
            con.execute(statement)
        con.commit()
        con.close()
        return why
    return breaking


def _edited_sidecar(edit):
    def breaking(root):
        side = next(root.rglob("sub-p01_ses-03_*_eeg.json"))
        side.write_text(json.dumps(edit(json.loads(side.read_text()))))
        os.utime(side, (1e9, 2e9))  # the index sees the file changed
        return None
    return breaking


def _blocks(side):
    side["feedback"]["blocks"][0] = 5
    return side


def _planned(side):
    side["pipeline"]["feedback"]["blocks"] = -4.5
    return side


def _trace(side):
    side["feedback"]["blocks"][1]["threshold_trace"] = 1.5
    side["feedback"]["blocks"][2]["index"] = [2]
    side["programme"]["started_at"] = ["today"]
    return side


@pytest.mark.parametrize("breaking, sentence, status", [
    (_corrupt, "rebuilt from the session files", "complete"),
    (_newer, "rebuilt from the session files", "complete"),
    (_no_sidecar, "has no sidecar; indexed what its XDF holds", "no_sidecar"),
    (_edited_sidecar(lambda side: [side]), "could not be read (it holds no JSON object); "
     "indexed what its XDF holds", "no_sidecar"),
    # a part of another type is left out and named, the rest of the sidecar indexed
    (_edited_sidecar(_blocks), '"feedback.blocks[0]" is 5, not a table; the index leaves '
     "out those parts", "complete"),
    (_edited_sidecar(_planned), '"pipeline.feedback.blocks" is -4.5, not a list of tables',
     "complete"),
    (_edited_sidecar(_trace), '"programme.started_at" is ["today"], not a name; '
     '"feedback.blocks[1].threshold_trace" is 1.5, not a list; "feedback.blocks[2].index" '
     "is [2], not a number", "complete"),
    (_sql("UPDATE meta SET value='x' WHERE key='schema_version'",
          why="its schema_version 'x' is not a number"),
     "rebuilt from the session files", "complete"),
    (_sql("DROP TABLE sessions"), "", "complete"),
    # no meta table, so no version: the altered table was kept and written into
    (_sql("DROP TABLE meta", "ALTER TABLE sessions DROP COLUMN regulation"), "", "complete"),
    (_sql("ALTER TABLE blocks DROP COLUMN regulation"), "", "complete"),
    (_sql("UPDATE sessions SET regulation='x', duration='long'"), "", "complete"),
    (_sql("UPDATE blocks SET start='soon'", "UPDATE sessions SET mtime='x'"), "", "complete"),
])
def test_broken_index_or_files_are_rebuilt_and_said(study, capsys, caplog, breaking,
                                                    sentence, status):
    why = breaking(study)
    with caplog.at_level("WARNING", logger="biofeedback"):
        code = main(["sessions", "p01", "--root", str(study)] +
                    ([] if why else []))
        if why is None:
            assert main(["index", "--rebuild", "--root", str(study)]) == 0
    out = capsys.readouterr().out
    assert code == 0
    text = out + caplog.text
    assert sentence in text and (why is None or why in text)
    with StudyIndex(study) as idx:
        rows = idx.sessions("p01")
    assert [r["session"] for r in rows] == [1, 2, 3]  # nothing lost
    assert rows[2]["status"] == status and np.isfinite(rows[2]["regulation"])
    if why is not None:
        assert list(study.glob("biofeedback.sqlite.*.bad")), "the bad file is kept aside"


def test_an_earlier_recording_copied_in_is_dated_by_its_recording(study, capsys):
    """A session folder holding an XDF alone (an earlier recording copied into the
    study) was dated by the file's modification time: the day it was copied, so
    the history listed it as recorded today."""
    import datetime as dt

    from biofeedback.io import read_recording

    sample = REPO / "recordings" / "sample_synthetic.xdf"
    eeg = study / "sub-p01" / "ses-04" / "eeg"
    eeg.mkdir(parents=True)
    copied = shutil.copy(sample, eeg / "sub-p01_ses-04_task-old_eeg.xdf")
    os.utime(copied)  # copied today
    recorded = dt.datetime.fromtimestamp(read_recording(sample).started).astimezone()
    assert recorded.date() < dt.date.today()
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[-1]
    assert (row["session"], row["status"]) == (4, "no_sidecar")
    assert row["started_at"] == recorded.isoformat(timespec="seconds")


def test_a_recording_copied_in_under_another_name_is_said_with_the_name_to_give(
        study, capsys, caplog, tmp_path):
    """A recording copied into a session folder under its own name (old.xdf, a
    muse CSV) was not indexed, and nothing said so: the session was missing
    from the history without a word."""
    sample = REPO / "recordings" / "sample_synthetic.xdf"
    eeg = study / "sub-p01" / "ses-04" / "eeg"
    eeg.mkdir(parents=True)
    old = Path(shutil.copy(sample, eeg / "old_recording.xdf"))
    assert main(["simulate", "demo", "--out", str(tmp_path / "muse.csv")]) == 0
    capsys.readouterr()
    post = study / "sub-p01" / "ses-post"
    post.mkdir()
    csv = Path(shutil.copy(tmp_path / "muse.csv", post / "muse.csv"))
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert [r["label"] for r in json.loads(capsys.readouterr().out)] == ["01", "02", "03"]
    assert (f"{old} is not indexed: the index reads a session's XDF recording by its BIDS "
            "name; rename it to sub-p01_ses-04_task-<protocol>_eeg.xdf (a protocol of letters "
            "and digits), then run 'biofeedback index --rebuild'.") in caplog.messages
    assert (f"{csv} is not indexed: the index reads a session's XDF recording by its BIDS "
            f"name; convert it with 'biofeedback convert {csv} "
            f"{post / 'sub-p01_ses-post_task-<protocol>_eeg.xdf'}' (a protocol of letters and "
            "digits), then run 'biofeedback index --rebuild'.") in caplog.messages
    # done as said, both are indexed, and nothing more is said
    old.rename(eeg / "sub-p01_ses-04_task-earlier_eeg.xdf")
    assert main(["convert", str(csv), str(post / "sub-p01_ses-post_task-rest_eeg.xdf")]) == 0
    csv.unlink()
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["index", "--rebuild", "--root", str(study)]) == 0
    assert not [m for m in caplog.messages if "is not indexed" in m]
    capsys.readouterr()
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert sorted(r["label"] for r in json.loads(capsys.readouterr().out)) == [
        "01", "02", "03", "04", "post"]


def test_a_sidecar_part_of_another_type_is_left_out_alone(study, caplog):
    """A block or gap that was not a table made the whole sidecar left out (the
    session indexed from its XDF alone, as "no_sidecar"), and a bug raising
    TypeError or KeyError in the reader would have been hidden the same way."""
    from biofeedback.library._record import read_session_folder

    def edit(side):
        side["summary"]["gaps"] = [{"onset": 3.0, "duration": 0.5}, "1.5 s", None,
                                   {"onset": "x", "duration": 0.25}]
        side["feedback"]["blocks"][-1] = ["transfer"]
        side["feedback"]["baseline"] = 7
        side["pipeline"] = {"feedback": {"blocks": 3}}
        return side

    _edited_sidecar(edit)(study)
    folder = next(study.rglob("sub-p01_ses-03_*_eeg.json")).parent.parent
    with caplog.at_level("WARNING", logger="biofeedback"):
        rec = read_session_folder(folder, "p01", 3, study)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].endswith(
        ' is not of a sidecar\'s shape: "summary.gaps[1]" is "1.5 s", not a table; '
        '"summary.gaps[2]" is null, not a table; "summary.gaps[3].onset" is "x", not a '
        'number; "pipeline.feedback.blocks" is 3, not a list of tables; '
        '"feedback.blocks[3]" is ["transfer"], not a table; "feedback.baseline" is 7, not a '
        'table of tables; the index leaves out those parts.'), said
    assert rec["status"] == "complete" and rec["uid"]  # the rest is indexed
    assert rec["n_gaps"] == 2 and rec["gap_seconds"] == 0.75
    assert [b["kind"] for b in rec["blocks"]] == ["baseline", "training", "training"]
    assert all(np.isnan(b["regulation"]) for b in rec["blocks"])  # no baseline to refer to


@pytest.mark.parametrize("args, message", [
    (["progress", "a/b"], "Invalid participant ID 'a/b': use ASCII letters and digits only"),
    (["progress", ".."], "Invalid participant ID '..'"),
    (["progress", "P 01"], "Invalid participant ID 'P 01'"),
    # a letter, but not one BIDS labels allow: the sentence says ASCII
    (["progress", "Zoë"], "Invalid participant ID 'Zoë': use ASCII letters and digits only"),
    (["simulate", "learner", "--participant", "../x", "--sessions", "1"],
     "Invalid participant ID '../x'"),
    (["progress", "nobody"], "No sessions of participant 'nobody'"),
    (["simulate", "demo", "--participant", "p1"], "the scenario has no [participant] table"),
    # a baseline too short for the threshold (and the session's reference) never starts
    (["simulate", "learner", "--participant", "p1", "--pipeline",
      str(HERE / "short_baseline.toml")],
     "[feedback] min_baseline: the blocks before feedback ('rest') last 2.5 s, less than the "
     "3 s of baseline the threshold is set on; make block 'rest' at least 3 s long, or lower "
     "min_baseline."),
    (["live", "--participant", "p1", "--pipeline", str(HERE / "short_baseline.toml"),
      "--duration", "1"], "make block 'rest' at least 3 s long"),
    (["sessions", "--root", "{tmp}/no_study"], "no_study: no such folder, so no study to read"),
    (["progress", "p1", "--root", "{tmp}/no_study"], "no_study: no such folder"),
    (["index", "--root", "{tmp}/no_study"], "no_study: no such folder"),
    (["index", "--rebuild", "--root", "{tmp}/no_study"], "no_study: no such folder"),
    (["dashboard", "--participant", "p1", "--root", "{tmp}/no_study", "--no-browser"],
     "no_study: no such folder"),
])
def test_bad_input_is_one_sentence(args, message, tmp_path, capsys):
    args = [a.format(tmp=tmp_path) for a in args]
    code = main(args if "--root" in args else [*args, "--root", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "no_study").exists(), "reading a study never creates its folder"


@pytest.fixture
def read_only_study(study, tmp_path):
    """The study on a read-only file system: a read-only bind mount as root (where
    permissions do not bind), the write bits taken away otherwise."""
    import stat

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        mount = subprocess.run(["mount", "--bind", str(study), str(ro)], capture_output=True)
        if mount.returncode != 0:
            pytest.skip("root without mount: no read-only file system to test on")
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True,
                           capture_output=True)
            yield ro
        finally:
            subprocess.run(["umount", "-l", str(ro)], capture_output=True)  # lazy: never left
        return
    paths = [study, *study.rglob("*")]
    for p in paths:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield study
    finally:
        for p in paths:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_a_study_on_a_read_only_disk_is_read_in_memory(read_only_study, tmp_path, capsys,
                                                       caplog):
    """An archived study (read-only): sessions and progress read it, and write nothing."""
    study = read_only_study
    before = sorted(p.name for p in study.iterdir())
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)) == 3
        out = tmp_path / "p.html"
        assert main(["progress", "p01", "--root", str(study), "--out", str(out)]) == 0
        assert out.exists()
        capsys.readouterr()
        assert main(["progress", "p01", "--root", str(study)]) == 1
    assert "cannot be written" in caplog.text and "read into memory" in caplog.text
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --out FILE.html in a folder you can write to" in err[0]
    assert sorted(p.name for p in study.iterdir()) == before


def test_the_dashboard_lists_the_sessions_of_a_read_only_study(read_only_study, caplog):
    """'dashboard --participant' on an archived study (read-only) stopped with
    "The index ... cannot be opened", after it had read the study in memory to
    check the participant had sessions."""
    from biofeedback.cli._dashboard import _History
    from biofeedback.dashboard import DashboardServer

    study = read_only_study
    before = sorted(p.name for p in study.iterdir())
    server = DashboardServer(port=0)  # what it queues for pages, not started
    history = _History(server, "p01", study, every=10.0)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert history.refresh(0.0)
        assert not history.refresh(10.0)  # read again: nothing changed, nothing sent
    sent = json.loads(server._hub.latest["history"])
    assert [s["session"] for s in sent["sessions"]] == [1, 2, 3]
    # said once, not every time the study is read again
    (said,) = [m for m in caplog.messages if "read into memory" in m]
    assert said.startswith(f"The study root {study} cannot be written (")
    assert sorted(p.name for p in study.iterdir()) == before


def test_an_unwritable_root_is_one_sentence(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["simulate", "learner", "--participant", "p1", "--root",
                 str(blocker / "study")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "The study root" in err[0] and "is not writable" in err[0] and "--root DIR" in err[0]


def test_a_root_that_is_a_file_is_said_as_such(tmp_path, capsys):
    blocker = tmp_path / "study"
    blocker.write_text("")
    code = main(["simulate", "learner", "--participant", "p1", "--root", str(blocker)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert f"The study root {blocker} is a file; a study is a folder" in err[0]
    assert blocker.read_text() == ""  # left as it was


# -- progress --------------------------------------------------------------------
def test_trend_interval_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    x = np.arange(1, 9)
    y = 0.3 * x + rng.normal(0, 0.5, x.size)
    fit = trend(x, y)
    ref = stats.linregress(x, y)
    assert fit["slope"] == pytest.approx(ref.slope)
    assert fit["p"] == pytest.approx(ref.pvalue)
    half = stats.t.ppf(0.975, x.size - 2) * ref.stderr
    assert fit["ci95"] == pytest.approx([ref.slope - half, ref.slope + half])
    assert np.isnan(trend([1, 2], [0.0, 1.0])["slope"])  # too few sessions


def test_progress_report_is_self_contained(short_study, tmp_path, capsys):
    out = tmp_path / "p.html"
    assert main(["progress", "p01", "--root", str(short_study), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "p01" in printed and f"report: {out}" in printed
    doc = out.read_text()
    assert doc.count("data:image/png;base64,") == 3
    assert "http://" not in doc and "https://" not in doc and "<script" not in doc
    assert "Alkoby et al. 2018" in doc and "Integrity of every session" in doc
    for n in (1, 2, 3):
        assert f"<td>{n}</td>" in doc
    # where each session's threshold came from, not the mode the pipeline asked for
    assert doc.count("<td>carried</td>") == 2 and doc.count("<td>baseline (none carried)</td>") == 1


def test_progress_follows_one_measure_and_says_which_sessions_it_leaves_out(study, tmp_path):
    """Sessions training another measure are named, never drawn on its curve."""
    simulate_sessions("learner", "p01", 1, root=study, pipeline=HERE / "short_alpha.toml",
                      progress=False)
    simulate_sessions("learner", "p01", 1, root=study, pipeline=SHORT, progress=False)
    # session 5 starts from session 3's engagement threshold, passing over session 4's alpha
    side = json.loads(next(study.glob("sub-p01/ses-05/eeg/*.json")).read_text())
    assert side["programme"]["carried_from"] == 3
    assert side["feedback"]["thresholds"][0]["source"] == "carried"
    p = progress("p01", study)
    assert p["trend"]["target"] == "engagement" and p["trend"]["n_sessions"] == 4
    assert p["trend"]["other_measure_sessions"] == [4]
    assert p["sessions"][3]["board"] == "muse_2" and p["sessions"][3]["task"] == "alphadown"
    from biofeedback.library._progress_html import _figures, write_progress_html

    curve = _figures(p)[0][1].axes[0]
    drawn = {float(v) for line in curve.get_lines() for v in line.get_xdata()}
    assert 4.0 not in drawn and {1.0, 2.0, 3.0, 5.0} <= drawn
    doc = write_progress_html(p, tmp_path / "p.html").read_text()
    assert ("Session 4 trained alpha_rel (lowered): not on the curves or in the trends, "
            "which follow engagement (raised)") in doc
    assert "<th>protocol</th>" in doc and "<td>muse_2 (4 ch at 256 Hz)</td>" in doc


def test_one_session_is_drawn_on_whole_session_and_block_numbers(tmp_path):
    """A participant's first progress report drew session 1 on an axis reading
    0.6, 0.8, 1.0, 1.2, 1.4 (and its one training block on 0.96 ... 1.04)."""
    from biofeedback.library._progress_html import _figures

    simulate_sessions("learner", "p06", 1, root=tmp_path, pipeline=SHORT, progress=False)
    p = progress("p06", tmp_path)
    n_blocks = sum(b["kind"] == "training" for b in p["sessions"][0]["blocks"])
    figs = dict(_figures(p))
    axes = [(ax, [1.0]) for ax in (figs["learning curve"].axes[0], *figs["rates"].axes)]
    axes.append((figs["within sessions"].axes[0], [float(k) for k in range(1, n_blocks + 1)]))
    for ax, want in axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks == want, (ax.get_xlabel(), ticks)


@pytest.mark.parametrize("where", ["root", "elsewhere"])
def test_progress_links_each_sessions_report_and_fits_the_page(tmp_path, capsys, where):
    """The sessions table printed each report's path under the study root, so it
    ran past the page's right edge (and the path did not open from the page)."""
    import re
    from urllib.parse import unquote

    from biofeedback.dashboard._cdp import find_chromium

    root = tmp_path / "study"
    simulate_sessions("learner", "P01", 2, root=root, pipeline=SHORT, report=True,
                      progress=False)
    out = (root if where == "root" else tmp_path / "reports" / "of" / "P01") / "p.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert main(["progress", "P01", "--root", str(root), "--out", str(out)]) == 0
    capsys.readouterr()
    doc = out.read_text()
    hrefs = re.findall(r'<td><a href="([^"]+)" title="[^"]+">report</a></td>', doc)
    reports = sorted(root.rglob("*_eeg.html"))
    assert len(hrefs) == len(reports) == 2
    assert [(out.parent / unquote(h)).resolve() for h in hrefs] == [r.resolve() for r in reports]
    if find_chromium() is None:
        return  # the width is checked where Chromium is installed (CI installs it)
    from biofeedback.dashboard._cdp import HeadlessChromium

    with HeadlessChromium(1200, 900) as b:
        b.goto(out.as_uri())
        b.wait_for("document.readyState === 'complete'", 10)
        wide = b.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide


def test_the_integrity_table_fits_a_window_with_long_paths_in_its_warnings(study, tmp_path,
                                                                          capsys):
    """A warning names its file by the whole path, which breaks nowhere: under a
    study root a few folders deep, the integrity table ran 500 px past a
    1280 px window.

    The report had no viewport: a phone laid it out 980 px wide and zoomed it
    out, and its tables ran past that too; now the page is the phone's width and
    only a wide table scrolls sideways."""
    from biofeedback.dashboard._cdp import find_chromium

    root = tmp_path / "LabShared" / "NeurofeedbackProjects2026" / "AlphaUpTrainingWinterCohort"
    root.parent.mkdir(parents=True)
    shutil.copytree(study, root)
    next((root / "sub-p01" / "ses-02").rglob("*_eeg.json")).write_text("{not json")
    out = tmp_path / "p.html"
    assert main(["index", "--rebuild", "--root", str(root)]) == 0
    assert main(["progress", "p01", "--root", str(root), "--out", str(out)]) == 0
    capsys.readouterr()
    doc = out.read_text()
    assert f"<td class=text>{root}" in doc  # the warning, whole, in a cell that wraps it
    if find_chromium() is None:
        return  # the width is checked where Chromium is installed (CI installs it)
    from biofeedback.dashboard._cdp import HeadlessChromium

    with HeadlessChromium(1280, 900) as b:
        b.goto(out.as_uri())
        b.wait_for("document.readyState === 'complete'", 10)
        wide = b.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        # the same report on a phone (the same browser, as a phone's)
        b.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=1, mobile=True)
        b.goto("about:blank")  # laid out anew, as the phone opens it
        b.wait_for("location.href === 'about:blank'", 10)
        b.goto(out.as_uri())
        b.wait_for(f"location.href === {json.dumps(out.as_uri())} && "
                   "document.readyState === 'complete'", 10)
        page = b.evaluate(
            "({view: innerWidth, width: document.documentElement.scrollWidth,"
            " tables: Array.from(document.querySelectorAll('table')).map(t =>"
            " t.parentElement.getBoundingClientRect().right),"
            " verdict: document.querySelector('h2 + p')"
            ".getBoundingClientRect().right})")
    assert wide[0] <= wide[1], wide
    assert page["view"] == 390 and page["width"] <= 390, page
    assert page["tables"] and max(page["tables"]) <= 390 and page["verdict"] <= 390, page


def test_progress_without_an_id_gives_every_participant_in_a_line(study, capsys):
    """A coach who looks after several people had no view of them all: 'progress'
    needed an ID, and 'sessions' listed every session of everyone, no trend."""
    simulate_sessions("learner", "p02", 1, root=study, pipeline=SHORT, progress=False)
    assert main(["progress", "--root", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["participants"]
    assert [r["participant"] for r in rows] == ["p01", "p02"]
    for r in rows:
        p = to_json(progress(r["participant"], study))
        assert r["verdict"] == p["verdict"] and r["learner"] == p["trend"]["learner"]
        assert r["ci95"] == p["trend"]["ci95"] and r["n_sessions"] == p["n_sessions"]
        assert r["last_session"] == p["sessions"][-1]["started_at"]
    assert rows[1]["status"] == "too early" and rows[1]["slope_per_session"] is None
    lo, hi = rows[0]["ci95"]
    assert rows[0]["status"] == ("learning" if lo > 0 else "not learning" if hi < 0
                                 else "no evidence yet")
    assert main(["progress", "--root", str(study)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["participant", "sessions", "last"]
    first = lines[1].split()
    assert first[:2] == ["p01", "3"] and f"{rows[0]['slope_per_session']:+.2f}" in first
    assert f"{lo:+.2f} to {hi:+.2f}" in lines[1] and lines[1].endswith(rows[0]["status"])
    assert lines[2].split()[:2] == ["p02", "1"] and lines[2].endswith(
        "too early (1 of 3 sessions)")
    # a participant whose one session is running is listed as such, not left out
    paths = reserve_session(study, "p03", "short")  # marked running by this process
    side = json.loads(next(study.glob("sub-p01/ses-01/eeg/*_eeg.json")).read_text())
    del side["summary"], side["feedback"]  # as a running session's sidecar is
    side["programme"].update(participant="p03", session=1)
    paths.sidecar.parent.mkdir(parents=True, exist_ok=True)
    paths.sidecar.write_text(json.dumps(side))
    try:
        assert main(["progress", "--root", str(study)]) == 0
        last = capsys.readouterr().out.splitlines()[3].split()
        assert last[:3] == ["p03", "0", "-"] and last[-3:] == ["session", "1", "running"]
    finally:
        paths.release()
    # a report is one participant's: --out without an ID is one sentence
    assert main(["progress", "--root", str(study), "--out", str(study / "x.html")]) == 1
    assert "give their ID too" in capsys.readouterr().err


def test_two_sessions_tell_nobody_a_non_learner(tmp_path):
    """Too early to tell: 'learner' is null, not false."""
    simulate_sessions("learner", "p03", 2, root=tmp_path, pipeline=SHORT, progress=False)
    p = to_json(progress("p03", tmp_path))
    assert p["trend"]["learner"] is None and p["verdict"].startswith("Too early to tell")


def test_sessions_without_training_blocks_list_and_report_plainly(tmp_path, capsys, recwarn):
    """A baseline-only session has no time in target: 'n/a', no stray warning."""
    pipe = tmp_path / "baseline_only.toml"
    pipe.write_text('name = "rest"\n\n[[feedback.blocks]]\nname = "baseline"\n'
                    'kind = "baseline"\nduration = 3.0\n')
    root = tmp_path / "study"
    simulate_sessions("learner", "p02", 1, root=root, pipeline=pipe, progress=False)
    capsys.readouterr()
    assert main(["sessions", "p02", "--root", str(root)]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert row.split()[-2:] == ["n/a", "0%"], row
    assert main(["progress", "p02", "--root", str(root), "--out", str(tmp_path / "p.html")]) == 0
    assert "Too early to tell" in capsys.readouterr().out
    # no trend, so no interval: said once, not as 'n/a to n/a'
    doc = (tmp_path / "p.html").read_text()
    assert "n/a to n/a" not in doc
    assert "<td>across sessions (training)</td><td>n/a</td><td>n/a</td><td>n/a</td>" in doc
    assert "<title>Progress of p02: 1 session</title>" in doc
    line = compare_line(progress("p02", root), 1)
    assert line == "Session 1 is filed; it had no training block to compare with later sessions."
    assert not [w for w in recwarn if "legend" in str(w.message)]


def test_sessions_whose_every_window_was_gated_are_said_so(tmp_path, capsys):
    """Electrodes off all session: no '+nan', no '0 sessions with training blocks'."""
    pipe = tmp_path / "gated.toml"
    pipe.write_text(SHORT.read_text() + "\n[gates]\nmax_ptp_uv = 0.001\n")
    root = tmp_path / "study"
    assert main(["simulate", "learner", "--participant", "g1", "--pipeline", str(pipe),
                 "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "no clean training window (every one gated)" in out and "nan" not in out
    assert ("Too early to tell whether g1 is learning: 0 of 1 session with training blocks "
            "had clean training windows (it was all gated as artifacts") in out
    from biofeedback.library._progress_html import _figures

    curve = _figures(progress("g1", root))[0][1].axes[0]
    assert curve.get_xlim() == (0.5, 1.5)
    assert any("no clean training window yet" in t.get_text() for t in curve.texts)


def test_compare_line_is_honest(short_study):
    p = progress("p01", short_study)
    first = compare_line(p, 1)
    assert first.startswith("Session 1, your first:")
    third = compare_line(p, 3)
    prev = np.mean([s["regulation"] for s in p["sessions"][:2]])
    better = p["sessions"][2]["regulation"] > prev
    assert ("better than your average" in third) == better
    assert ("short of your average" in third) == (not better)


def test_compare_line_says_a_lowered_measure_as_it_moved(tmp_path):
    """For a measure trained down, a session whose alpha rose was said to be
    'below your baseline' (the sign of the trained way, read as the measure's),
    and a first session of a new measure was 'your first' after three others."""
    simulate_sessions("learner", "p05", 1, root=tmp_path, pipeline=SHORT, progress=False)
    simulate_sessions("learner", "p05", 2, root=tmp_path, pipeline=HERE / "short_alpha.toml",
                      progress=False)
    p = progress("p05", tmp_path)
    with StudyIndex(tmp_path) as idx:
        blocks = idx.blocks("p05")
    for s in p["sessions"][1:]:
        assert s["direction"] == "down" and math.isfinite(s["regulation"])
        line = compare_line(p, s["session"])
        # the measure's own movement, from the blocks' means and the session's baseline
        trained = np.mean([b["target_mean"] for b in blocks
                           if b["session"] == s["session"] and b["kind"] == "training"])
        rose = trained > p["sessions"][s["session"] - 1]["blocks"][0]["target_mean"]
        assert f"baseline SDs {'above' if rose else 'below'} your baseline" in line, line
    assert compare_line(p, 2).startswith("Session 2, your first training alpha_rel "
                                         "(lowered): alpha_rel in training was ")
    # the average of the earlier ones is said as the measure moved too
    prev = -p["sessions"][1]["regulation"]
    assert f"your average of {prev:+.2f} over 1 earlier session" in compare_line(p, 3)


@pytest.mark.slow
def test_simulated_learner_is_called_a_learner_and_non_learner_not(tmp_path, capsys):
    # the figure of the README: 8 sessions each, then progress --json; --seed 1
    # (the scenarios' own) gives these people the sessions it documents
    for name, pid in (("learner", "sim01"), ("non_learner", "sim02")):
        assert main(["simulate", name, "--participant", pid, "--sessions", "8",
                     "--root", str(tmp_path), "--seed", "1"]) == 0
    capsys.readouterr()
    result = {}
    for pid in ("sim01", "sim02"):
        assert main(["progress", pid, "--root", str(tmp_path), "--json"]) == 0
        result[pid] = json.loads(capsys.readouterr().out)
    learner, other = result["sim01"], result["sim02"]
    assert len(learner["sessions"]) == 8 and learner["participant"] == "sim01"
    assert learner["trend"]["learner"] is True and learner["trend"]["ci95"][0] > 0
    assert learner["trend"]["slope_per_session"] > 0
    assert other["trend"]["learner"] is False
    assert other["trend"]["ci95"][0] <= 0 <= other["trend"]["ci95"][1]
    assert "is learning" in learner["verdict"] and "No evidence yet" in other["verdict"]
    assert to_json(progress("sim01", tmp_path))["trend"] == learner["trend"]


def test_a_session_deleted_by_hand_leaves_the_index_with_a_warning(study, capsys, caplog):
    shutil.rmtree(study / "sub-p01" / "ses-02")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert [r["session"] for r in json.loads(capsys.readouterr().out)] == [1, 3]
    assert "sub-p01 session 02 is in the index but its files are gone" in caplog.text
    assert [s["session"] for s in progress("p01", study)["sessions"]] == [1, 3]
    # the next session carries from what is there (session 1), never from a ghost,
    # and takes a number of its own: the deleted sessions' numbers are not reused,
    # so no history mixes two different sessions under one number
    shutil.rmtree(study / "sub-p01" / "ses-03")
    simulate_sessions("learner", "p01", 1, root=study, pipeline=SHORT, progress=False)
    assert [n for _, n, _ in list_session_dirs(study, "p01")] == [1, 4]
    side = json.loads(next(study.glob("sub-p01/ses-04/eeg/*.json")).read_text())
    assert side["programme"]["carried_from"] == 1 and side["programme"]["session"] == 4
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert [r["session"] for r in json.loads(capsys.readouterr().out)] == [1, 4]
    assert main(["index", "--rebuild", "--root", str(study)]) == 0  # the files are the truth
    assert [s["session"] for s in progress("p01", study)["sessions"]] == [1, 4]
    # a session that wrote nothing gives its number back; the highest is kept
    reserve_session(study, "p01", "short").give_back()
    assert reserve_session(study, "p01", "short").session == 5


def test_a_recording_deleted_or_moved_by_hand_is_said_and_put_back(study, capsys, caplog):
    """With its XDF deleted or moved and its sidecar left, a session stayed in the
    index as it was, naming a recording that was gone, and nothing said so; put
    back, it was not noticed either (the other files' dates had not moved)."""
    main(["sessions", "p01", "--root", str(study)])  # indexed as they are
    eeg = study / "sub-p01" / "ses-02" / "eeg"
    xdf = next(eeg.glob("*_eeg.xdf"))
    away = study.parent / xdf.name
    xdf.rename(away)
    capsys.readouterr()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert f"{eeg.parent} has lost its recording {xdf.name} (deleted or moved" in caplog.text
    assert rows[1]["xdf"] == "" and rows[1]["status"] == "complete"  # figures: the sidecar's
    got = progress("p01", study)["sessions"][1]
    assert got["xdf"] == "" and any("has lost its recording" in w for w in got["warnings"])
    # and said under the table each time it is listed, not only the first
    for _ in range(2):
        assert main(["sessions", "p01", "--root", str(study)]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == (
            f"{eeg.parent} has lost its recording {xdf.name} (deleted or moved by hand), so "
            "its figures are indexed from its sidecar; put the recording back to replay the "
            "session or make its report again.")
    away.rename(xdf)  # put back: the row names it again, and the warning goes
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["xdf"] == str(xdf.relative_to(study))
    assert progress("p01", study)["sessions"][1]["warnings"] == []
    # the sidecar deleted instead: the session is what its XDF holds, no more
    next(eeg.glob("*_eeg.json")).unlink()
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["status"] == "no_sidecar"


def test_a_session_report_made_later_is_linked_from_the_progress_report(study, capsys):
    """'biofeedback report' run on a session after it was indexed wrote its HTML
    beside it, but the index, which looks at the sidecar's and XDF's dates, kept
    the session without a report: the progress report linked none."""
    from biofeedback.library._progress_html import write_progress_html

    assert [s["report"] for s in progress("p01", study)["sessions"]] == ["", "", ""]
    xdf = next(study.glob("sub-p01/ses-02/eeg/*_eeg.xdf"))
    assert main(["report", str(xdf)]) == 0
    capsys.readouterr()
    html = xdf.with_suffix(".html")
    got = progress("p01", study)["sessions"]
    assert [s["report"] for s in got] == ["", str(html.relative_to(study)), ""]
    doc = write_progress_html(progress("p01", study), study / "p.html").read_text()
    assert f'href="{html.relative_to(study).as_posix()}"' in doc
    html.unlink()  # deleted again: no link to a file that is gone
    assert [s["report"] for s in progress("p01", study)["sessions"]] == ["", "", ""]


@pytest.mark.parametrize("read", [["index", "--rebuild"], ["sessions", "p01"]])
def test_a_participant_folder_deleted_by_hand_keeps_its_numbers(study, capsys, read):
    """With sub-<ID> deleted, its .last-session went too: once the index had
    forgotten the sessions (a rebuild, or the sync 'sessions' does), the next
    session was numbered 1 again while progress-<ID>.html still named 1 to 3."""
    assert main(["progress", "p01", "--root", str(study)]) == 0
    kept = shutil.copytree(study / "sub-p01" / "ses-02", study / "ses-02")
    shutil.rmtree(study / "sub-p01")
    assert main([*read, "--root", str(study)]) == 0
    capsys.readouterr()
    with StudyIndex(study) as idx:
        assert idx.sessions("p01") == []
    # a session copied back twice under one number is told the number after them
    (study / "sub-p01").mkdir()
    shutil.copytree(kept, study / "sub-p01" / "ses-01")
    kept.rename(study / "sub-p01" / "ses-1")
    assert "rename the other to ses-04 (the next free number)" in unindexed_session_dirs(
        study)[0]
    shutil.rmtree(study / "sub-p01")
    paths = reserve_session(study, "p01", "short")
    assert paths.session == 4 and (study / "progress-p01.html").exists()
    # the participant's folder holds the number again; the root keeps nothing more
    assert (study / "sub-p01" / ".last-session").read_text().strip() == "4"
    assert not list(study.glob(".sub-*"))
    paths.give_back()
    assert reserve_session(study, "p01", "short").session == 4


def test_session_labels_survive_as_their_folders_write_them(study, capsys, caplog):
    """The index kept a session's number alone: ses-002 was listed as session 2,
    and a second folder of one number (ses-1 beside ses-01) silently replaced
    the first in the index."""
    sub = study / "sub-p01"
    (sub / "ses-02").rename(sub / "ses-002")
    shutil.copytree(sub / "ses-03", sub / "ses-1")
    for read in (["sessions", "p01", "--json"], ["index", "--rebuild"]):
        caplog.clear()
        with caplog.at_level("WARNING", logger="biofeedback"):
            assert main([*read, "--root", str(study)]) == 0
        assert (f"{sub / 'ses-1'} and {sub / 'ses-01'} are both session 01 of p01: only "
                "ses-01 is indexed; rename the other to ses-04 (the next free number), then "
                "run 'biofeedback index --rebuild'.") in caplog.messages
    capsys.readouterr()
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["session"], r["label"]) for r in rows] == [(1, "01"), (2, "002"), (3, "03")]
    assert rows[0]["sidecar"].startswith("sub-p01/ses-01/")  # not replaced by ses-1's
    assert main(["sessions", "p01", "--root", str(study)]) == 0
    assert [ln.split()[1] for ln in capsys.readouterr().out.splitlines()[1:4]] == [
        "01", "002", "03"]
    # a folder deleted by hand is named as it was written
    shutil.rmtree(sub / "ses-002")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study)]) == 0
    assert f"its files are gone from {sub / 'ses-002'} (deleted" in caplog.text


def test_a_killed_sessions_mark_naming_a_reused_process_number_is_not_running(study, capsys,
                                                                             caplog):
    """A session killed (SIGKILL, a power cut) leaves its .running file; once its
    process number went to another process (after a restart, say), the session
    was listed as running for good: left out of progress, and said to be running
    by every new session."""
    import socket

    side = next(study.glob("sub-p01/ses-03/eeg/*_eeg.json"))
    data = json.loads(side.read_text())
    del data["summary"], data["feedback"]  # as a session killed mid-way leaves it
    side.write_text(json.dumps(data))
    # the mark a session writes as it starts, left by a process that is gone
    code = ("import sys; from biofeedback.library import reserve_session; "
            "print(reserve_session(sys.argv[1], 'p01', 'short').folder)")
    made = Path(subprocess.run([sys.executable, "-c", code, str(study)], check=True,
                               capture_output=True, text=True).stdout.strip())
    mark = json.loads((made / ".running").read_text())
    shutil.rmtree(made)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # its number now names another process, alive
        assert mark["host"] == socket.gethostname()
        mark["pid"] = other.pid
        (side.parents[1] / ".running").write_text(json.dumps(mark))
        with caplog.at_level("WARNING", logger="biofeedback"):
            assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
            assert [r["status"] for r in json.loads(capsys.readouterr().out)] == [
                "complete", "complete", "interrupted"]
            assert progress("p01", study)["running_sessions"] == []
            reserve_session(study, "p01", "short").give_back()
        assert "running" not in caplog.text
    finally:
        other.kill()
        other.wait()


def test_a_recording_copied_in_that_trained_nothing_is_not_another_measure(study, capsys,
                                                                           tmp_path):
    """An earlier recording converted into the study (no cues: no block, no trained
    measure) was said to have "trained  (raised)", a measure without a name, and
    as the latest session it made the report follow that nameless measure."""
    rec = tmp_path / "earlier.xdf"
    assert main(["simulate", "demo", "--out", str(rec)]) == 0
    eeg = study / "sub-p01" / "ses-04" / "eeg"
    eeg.mkdir(parents=True)
    shutil.copy(rec, eeg / "sub-p01_ses-04_task-rest_eeg.xdf")
    out = tmp_path / "p.html"
    capsys.readouterr()
    assert main(["progress", "p01", "--root", str(study), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "trained  (raised)" not in said, said
    assert "engagement (raised)" in said.splitlines()[0], said  # the verdict, first
    p = to_json(progress("p01", study))
    assert [(s["session"], s["target"]) for s in p["sessions"]][-1] == (4, "")
    assert (p["trend"]["target"], p["trend"]["n_sessions"]) == ("engagement", 3)
    assert p["trend"]["other_measure_sessions"] == [] and p["other_note"] == ""
    doc = out.read_text()
    assert "<td>rest</td><td>-</td>" in doc  # its protocol, and no measure trained


def _labelled(study, source, label, started_at):
    """``ses-<label>``: a copy of session ``source`` as BIDS names a labelled
    session's files, recorded at ``started_at``."""
    sub = study / "sub-p01"
    folder = shutil.copytree(sub / f"ses-{source}", sub / f"ses-{label}")
    for f in (folder / "eeg").iterdir():
        f.rename(f.with_name(f.name.replace(f"_ses-{source}_", f"_ses-{label}_")))
    _dated(next((folder / "eeg").glob("*_eeg.json")), label, started_at)
    return folder


def _dated(side_path, session, started_at):
    side = json.loads(side_path.read_text())
    side["programme"].update(session=session, started_at=started_at)
    side_path.write_text(json.dumps(side))


def test_sessions_labelled_without_a_number_are_indexed_in_their_order(study, capsys,
                                                                       caplog):
    """A session folder labelled as BIDS allows (ses-pre, ses-post) was left out of
    the index with a warning to rename it to a number, and progress named
    sessions by number alone: a study with a pre- and a post-test had neither in
    its history, curves or trend."""
    from biofeedback.library._progress_html import _figures

    for num in (1, 2, 3):
        _dated(next(study.glob(f"sub-p01/ses-0{num}/eeg/*_eeg.json")), num,
               f"2026-03-0{num + 1}T10:00:00+00:00")
    _labelled(study, "01", "pre", "2026-03-01T10:00:00+00:00")  # the day before session 1
    post = _labelled(study, "03", "post", "2026-03-09T10:00:00+00:00")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["index", "--rebuild", "--root", str(study)]) == 0
        assert "5 sessions (5 complete)" in capsys.readouterr().out
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert caplog.messages == []  # nothing to rename, nothing misfiled
    rows = json.loads(capsys.readouterr().out)
    assert [(r["session"], r["label"]) for r in rows] == [
        (None, "pre"), (1, "01"), (2, "02"), (3, "03"), (None, "post")]
    assert main(["sessions", "p01", "--root", str(study)]) == 0
    assert [ln.split()[1] for ln in capsys.readouterr().out.splitlines()[1:6]] == [
        "pre", "01", "02", "03", "post"]
    # a longer label keeps the table's columns in line
    _labelled(study, "02", "followup", "2026-03-10T10:00:00+00:00")
    assert main(["sessions", "p01", "--root", str(study)]) == 0
    lines = capsys.readouterr().out.splitlines()[:7]
    assert lines[6].split()[1] == "followup"
    assert len({ln.index("2026-03-") for ln in lines[1:]} | {lines[0].index("date")}) == 1
    shutil.rmtree(study / "sub-p01" / "ses-followup")
    # progress: every session by its label, the trend over the sessions' order
    p = progress("p01", study)
    assert [(s["label"], s["position"]) for s in p["sessions"]] == [
        ("pre", 1), ("01", 2), ("02", 3), ("03", 4), ("post", 5)]
    assert all(s["blocks"] for s in p["sessions"])
    t = p["trend"]
    assert t["axis"] == "order" and t["n_sessions"] == 5
    reg = [s["regulation"] for s in p["sessions"]]
    assert t["slope_per_session"] == pytest.approx(np.polyfit([1, 2, 3, 4, 5], reg, 1)[0])
    assert json.loads(json.dumps(to_json(p)))["sessions"][0]["session"] is None
    figs = dict(_figures(p))
    for ax in (figs["learning curve"].axes[0], *figs["rates"].axes):
        assert [tick.get_text() for tick in ax.get_xticklabels()] == [
            "pre", "01", "02", "03", "post"]
    out = study / "p.html"
    assert main(["progress", "p01", "--root", str(study), "--out", str(out)]) == 0
    doc = out.read_text()
    assert doc.count("<td>pre</td>") == doc.count("<td>post</td>") == 2  # both tables
    # numbers go on after the numbered sessions; a new session compares with all five
    paths = reserve_session(study, "p01", "short")
    assert paths.session == 4
    paths.give_back()
    capsys.readouterr()
    simulate_sessions("learner", "p01", 1, root=study, pipeline=SHORT, progress=False)
    side = json.loads(next(study.glob("sub-p01/ses-04/eeg/*_eeg.json")).read_text())
    assert side["programme"]["carried_from"] == "post"  # the latest before it
    with StudyIndex(study) as idx:
        rows = idx.sessions("p01")
    assert [r["label"] for r in rows] == ["pre", "01", "02", "03", "post", "04"]
    assert "over 5 earlier sessions" in compare_line({"sessions": rows, "trend": {
        "target": rows[-1]["target"]}}, 4)
    # a labelled folder deleted by hand leaves the index, named as it was written
    shutil.rmtree(post)
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    assert [r["label"] for r in json.loads(capsys.readouterr().out)] == [
        "pre", "01", "02", "03", "04"]
    assert f"sub-p01 session post is in the index but its files are gone from {post} " in (
        caplog.text)
    assert (study / "sub-p01" / ".last-session").read_text().strip() == "4"


@pytest.mark.parametrize("version", [2, 3])
def test_an_index_of_the_previous_schema_is_made_again_keeping_its_numbers(study, capsys,
                                                                          version):
    """An index from before the session labels (2), or before sessions labelled
    without a number (3), is rebuilt from the files when it is opened; the
    numbers only its rows held (a folder deleted by hand in a study without
    .last-session) stay taken."""
    db = study / "biofeedback.sqlite"
    with sqlite3.connect(db) as con:  # as the previous versions wrote it
        if version == 2:  # no label column
            cols = [r[1] for r in con.execute("PRAGMA table_info(sessions)")
                    if r[1] != "label"]
            con.execute(f"CREATE TABLE old AS SELECT {', '.join(cols)} FROM sessions")
            con.execute("DROP TABLE sessions")
            con.execute("ALTER TABLE old RENAME TO sessions")
        con.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    con.close()
    shutil.rmtree(study / "sub-p01" / "ses-03")
    (study / "sub-p01" / ".last-session").unlink()
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["session"], r["label"]) for r in rows] == [(1, "01"), (2, "02")]
    with StudyIndex(study) as idx:
        assert idx.con.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                               ).fetchone()[0] == "4"
    assert reserve_session(study, "p01", "short").session == 4


def test_an_index_rebuilt_for_a_new_format_says_so_once(study, capsys, caplog):
    """The first command after a schema change warned of every partial session,
    other participants' too, as if something were wrong with them."""
    def stopped_early(side_path, participant, session):
        side = json.loads(side_path.read_text())
        side["feedback"]["blocks"] = side["feedback"]["blocks"][:2]
        side["summary"]["stopped_by"] = "SIGTERM"
        side["programme"].update(participant=participant, session=session)
        side_path.write_text(json.dumps(side))

    shutil.copytree(study / "sub-p01" / "ses-02", study / "sub-p02" / "ses-01")
    stopped_early(next(study.glob("sub-p02/ses-01/eeg/*.json")), "p02", 1)
    stopped_early(next(study.glob("sub-p01/ses-03/eeg/*.json")), "p01", 3)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["index", "--rebuild", "--root", str(study)]) == 0
    # an explicit rebuild says what it finds in every session
    assert sum("ended early" in m for m in caplog.messages) == 2
    with sqlite3.connect(study / "biofeedback.sqlite") as con:  # as an older version wrote it
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    caplog.clear()
    capsys.readouterr()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["sessions", "p01", "--root", str(study)]) == 0
    assert caplog.messages == [f"The index {study / 'biofeedback.sqlite'} was rebuilt from "
                               "the session files for this version's format."]
    out = capsys.readouterr().out
    assert "sub-p01 session 03 ended early (SIGTERM)" in out  # said under p01's table
    assert "p02" not in out
    with StudyIndex(study) as idx:  # the rows keep what was found
        (row,) = idx.sessions("p02")
        assert row["status"] == "partial" and "ended early" in row["warnings"][0]


@pytest.mark.parametrize("said, warned", [("03", False), (3, False), ("pre", True)])
def test_a_sidecar_may_name_its_session_by_its_label(study, caplog, said, warned):
    """programme.session as BIDS writes it ("03") was a part of another type: the
    session was said to hold a recording of its own participant, to be moved."""
    side = next(study.rglob("sub-p01_ses-03_*_eeg.json"))
    data = json.loads(side.read_text())
    data["programme"]["session"] = said
    side.write_text(json.dumps(data))
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["index", "--rebuild", "--root", str(study)]) == 0
    wrong = [m for m in caplog.messages if "its sidecar says so" in m
             or "not of a sidecar's shape" in m]
    assert wrong == ([f"{side.parents[1]} holds the recording of sub-p01 session pre (its "
                      "sidecar says so); it is indexed as sub-p01 session 03: move it if that "
                      "is wrong, then run 'biofeedback index --rebuild'."] if warned else [])


def test_an_index_held_locked_by_another_program_is_read_as_it_was(study, caplog):
    """A database browser holding a write lock: reading says so, never waits 90 s."""
    import os
    import time

    with StudyIndex(study) as idx:
        before = idx.sessions("p01")
    holder = sqlite3.connect(study / "biofeedback.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    side = next(study.glob("sub-p01/ses-02/eeg/*.json"))
    os.utime(side, (time.time() + 5, time.time() + 5))  # changed: sync would re-index it
    try:
        t0 = time.perf_counter()
        with caplog.at_level("WARNING", logger="biofeedback"), StudyIndex(study) as idx:
            assert idx.sync(patience=0.2) == 0
            assert idx.sessions("p01") == before
        assert time.perf_counter() - t0 < 5
        assert "is locked by another process" in caplog.text
        assert "shown as it was, without the sessions changed since" in caplog.text
    finally:
        holder.close()  # rolls the held transaction back


def test_ctrl_c_while_waiting_on_a_locked_index_acts_at_once(study, ctrl_c):
    """SQLite waits for another program's lock inside one call, where Python
    acts on no signal: Ctrl-C as a session started (the index read with 3 s
    of patience) ended it only after those 3 s, after 30 s as one was indexed."""
    import os
    import threading
    import time

    holder = sqlite3.connect(study / "biofeedback.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    side = next(study.glob("sub-p01/ses-02/eeg/*.json"))
    os.utime(side, (time.time() + 5, time.time() + 5))  # changed: sync would re-index it
    pressed = []

    def press():
        pressed.append(time.monotonic())
        ctrl_c()

    timer = threading.Timer(0.3, press)
    try:
        with StudyIndex(study, timeout=6.0) as idx:
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                idx.sync(patience=3.0)
            took = time.monotonic() - pressed[0]
            with pytest.raises(KeyboardInterrupt):  # a session being filed waits longer
                threading.Timer(0.3, press).start()
                idx.add_session(side.parents[1], "p01", 2)
            took_filing = time.monotonic() - pressed[1]
    finally:
        timer.cancel()
        holder.close()
    assert took < 1.0
    assert took_filing < 1.0


def test_a_session_stopped_mid_protocol_is_kept_and_marked_partial(study, caplog):
    """SIGTERM in the first training block: its blocks count, its status says so."""
    side_path = next(study.glob("sub-p01/ses-03/eeg/*.json"))
    side = json.loads(side_path.read_text())
    blocks = side["feedback"]["blocks"][:2]  # baseline and training_1 ran, cut short
    blocks[1]["end"] = blocks[1]["start"] + 2.0
    side["feedback"]["blocks"] = blocks
    side["summary"]["stopped_by"] = "SIGTERM"
    side_path.write_text(json.dumps(side))
    with caplog.at_level("WARNING", logger="biofeedback"), StudyIndex(study) as idx:
        idx.rebuild()
        row = idx.sessions("p01")[2]
    assert row["status"] == "partial"
    assert ("sub-p01 session 03 ended early (SIGTERM) in block 'training_1', after 2 of 4 "
            "blocks; what it recorded is kept and counted.") in caplog.text
    assert row["warnings"] and math.isfinite(row["regulation"])
    # sessions that ran their whole protocol stay complete
    with StudyIndex(study) as idx:
        assert [r["status"] for r in idx.sessions("p01")[:2]] == ["complete", "complete"]
    # on the learning curve it is ringed: its value rests on 2 s of training, and
    # was drawn as any other session's, a dip read as a whole bad session
    from biofeedback.library._progress_html import _figures

    curve = _figures(progress("p01", study))[0][1].axes[0]
    ringed = [line for line in curve.get_lines() if line.get_label().startswith("ended early")]
    assert len(ringed) == 1 and list(ringed[0].get_xdata()) == [3.0]
    assert "ended early: fewer training windows" in [t.get_text() for t in
                                                     curve.get_legend().get_texts()]


def test_a_session_copied_into_another_participants_folder_is_said(study, caplog):
    """The folder decides where it is indexed; a sentence says the sidecar disagrees."""
    shutil.copytree(study / "sub-p01" / "ses-02", study / "sub-p09" / "ses-01")
    with caplog.at_level("WARNING", logger="biofeedback"), StudyIndex(study) as idx:
        idx.sync()
        assert [r["session"] for r in idx.sessions("p09")] == [1]
    assert ("holds the recording of sub-p01 session 02 (its sidecar says so); it is indexed "
            "as sub-p09 session 01: move it if that is wrong") in caplog.text


def test_a_killed_session_that_never_indexed_itself_is_found(study):
    # a session folder the index has never seen: its sidecar was written at
    # the start, the process died before the end (no summary, no index row)
    src = next(study.rglob("sub-p01_ses-03_*_eeg.json")).parent
    dst = study / "sub-p01" / "ses-04" / "eeg"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        shutil.copy(f, dst / f.name.replace("ses-03", "ses-04"))
    side = next(dst.glob("*.json"))
    side.write_text(json.dumps({k: v for k, v in json.loads(side.read_text()).items()
                                if k not in ("summary", "feedback")}))
    p = progress("p01", study)
    assert [s["session"] for s in p["sessions"]] == [1, 2, 3, 4]
    assert p["sessions"][3]["status"] == "interrupted"
    assert p["sessions"][3]["regulation"] == pytest.approx(p["sessions"][2]["regulation"],
                                                           abs=1e-5)


@pytest.mark.slow
def test_model_calibration_is_carried_to_the_next_session(tmp_path):
    import dataclasses

    from biofeedback.io import write_recording
    from biofeedback.simulate import read_scenario, simulate
    from biofeedback.simulate._scenario import Segment
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model
    from biofeedback.training._streams import CalibrationPlan

    # a real model needing a per-user baseline, trained on simulated Muse recordings
    base = read_scenario("learner")
    files = []
    for subj in (1, 2):
        for label in ("relaxed", "engaged"):
            scen = dataclasses.replace(base, participant=None, duration=20.0, events=(),
                                       seed=subj * 10 + len(label),
                                       timeline=(Segment(0.0, label, 1.0, 0.0),))
            files.append(write_recording(simulate(scen).to_recording(),
                                         tmp_path / f"s{subj}-{label}-1.xdf"))
    model = tmp_path / "m.bfm"
    plan = CalibrationPlan((("relaxed", 6.0),))  # a guided relaxed block before feedback
    save_model(fit_model(extract_dataset(label_files(files), n_jobs=1), "logreg",
                         calibration=plan), model)
    root = tmp_path / "study"
    simulate_sessions("learner", "m1", 2, root=root, pipeline=HERE / "calib.toml",
                      model=model, progress=False)
    sides = [json.loads(p.read_text()) for p in sorted(root.rglob("*_eeg.json"))]
    first, second = (s["programme"] for s in sides)
    assert first["carried_calibration_from"] is None  # calibrated on its own baseline
    assert second["carried_calibration_from"] == 1  # started from session 1's calibration
    assert second["model_calibration"]["offset"] == first["model_calibration"]["offset"]
    assert sides[1]["model"]["sha256"] == first["model_calibration"]["sha256"]
    assert "p_engaged" in sides[1]["engine"]["estimate_names"]


def test_a_session_still_running_is_left_out_of_progress_and_said(study, tmp_path, capsys):
    """Its measures so far are not a session's: no trend, curve or compare line holds them."""
    import socket

    from biofeedback.library._layout import RUNNING

    before = progress("p01", study)
    src = next(study.rglob("sub-p01_ses-03_*_eeg.json")).parent
    dst = study / "sub-p01" / "ses-04" / "eeg"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        shutil.copy(f, dst / f.name.replace("ses-03", "ses-04"))
    side = next(dst.glob("*.json"))  # as written when the session started
    side.write_text(json.dumps({k: v for k, v in json.loads(side.read_text()).items()
                                if k not in ("summary", "feedback")}))
    (dst.parent / RUNNING).write_text(json.dumps({"pid": os.getpid(),
                                                  "host": socket.gethostname()}))
    capsys.readouterr()
    assert main(["sessions", "p01", "--root", str(study)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # its figures so far were listed (100 % in target over its first windows) above
    # a line saying its figures come when it ends
    assert lines[4].split()[5:] == ["running*", "-", "engagement", "up", "-", "-", "-"]
    assert lines[6] == ("sub-p01 session 04 (running) is still running: its figures come "
                        "when it ends.")
    # ... and in JSON too: null, not its figures so far, beside what names it
    assert main(["sessions", "p01", "--root", str(study), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["session"], r["status"]) for r in rows] == [
        (1, "complete"), (2, "complete"), (3, "complete"), (4, "running")]
    for key in ("duration", "n_samples", "n_windows", "regulation", "time_in_target",
                "artifact_share", "reward_rate", "baseline_mean", "final_thresholds"):
        assert rows[3][key] is None, key
        assert rows[2][key] is not None, key  # a session that ended keeps them
    assert rows[3]["target"] == "engagement" and rows[3]["direction"] == "up"
    assert rows[3]["started_at"] == rows[2]["started_at"]  # copied from session 3
    assert main(["progress", "p01", "--root", str(study), "--out", str(tmp_path / "p.html")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("Session 4 is still running: left out of the sessions, curves and "
                      "trends until it ends.")
    assert out[1] == before["verdict"]
    assert "Session 4 is still running" in (tmp_path / "p.html").read_text()
    assert main(["progress", "p01", "--root", str(study), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["running_sessions"] == [4]
    assert [s["session"] for s in got["sessions"]] == [1, 2, 3]
    assert got["trend"]["slope_per_session"] == pytest.approx(
        before["trend"]["slope_per_session"])
    # once it has ended (here: killed), it counts as what it left
    (dst.parent / RUNNING).unlink()
    p = progress("p01", study)
    assert p["running_sessions"] == [] and p["running_note"] == ""
    assert [s["session"] for s in p["sessions"]] == [1, 2, 3, 4]


def test_a_pipeline_is_looked_up_by_name_as_every_command_looks_it_up(tmp_path, capsys):
    """A name with a folder is a path, never a shipped file: simulate once read
    pipelines/scenarios/demo.toml (a scenario) as its pipeline."""
    from biofeedback.config import load_pipeline
    from biofeedback.errors import PipelineConfigError

    with pytest.raises(PipelineConfigError) as err:
        load_pipeline("scenarios/demo")
    assert str(err.value) == "scenarios/demo: no such file."
    root = tmp_path / "study"
    assert main(["simulate", "learner", "--participant", "p01", "--sessions", "1",
                 "--root", str(root), "--pipeline", "scenarios/demo"]) == 1
    assert capsys.readouterr().err == f"biofeedback: error: {err.value}\n"
    assert not root.exists()


def test_a_live_session_on_a_scripted_headset_is_listed_as_simulated(tmp_path, capsys):
    """live --scenario --participant filed scripted data as a person's real session."""
    scen = tmp_path / "calm.toml"
    scen.write_text('name = "calm"\nboard = "muse_2"\nduration = 60.0\n'
                    '[[timeline]]\nat = 0.0\nstate = "relaxed"\n')
    import time

    root = tmp_path / "study"
    # the scripted session in a process of its own; the headset's starts once the
    # scripted one has its number (01), and runs beside it as session 02
    scripted = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--scenario", str(scen),
         "--participant", "p01", "--root", str(root), "--duration", "3", "--view", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = root / "sub-p01" / "ses-01" / ".running"
    deadline = time.monotonic() + 60
    while not running.exists() and time.monotonic() < deadline and scripted.poll() is None:
        time.sleep(0.05)
    assert running.exists(), scripted.communicate()
    assert main(["live", "--board", "synthetic", "--participant", "p01", "--root", str(root),
                 "--duration", "3", "--view", "none"]) == 0
    out, err = scripted.communicate(timeout=120)
    assert scripted.returncode == 0, (out, err)
    capsys.readouterr()
    assert main(["sessions", "p01", "--root", str(root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["simulated"] for r in rows] == [True, False]
    assert all(type(r["simulated"]) is bool for r in rows)  # JSON booleans, as progress's


def test_a_model_is_read_once_for_all_the_sessions_it_runs(tmp_path, caplog):
    """Each session runs a fresh copy of the model read at the start: what its
    file's reading says (here, a field this version does not read) is said once."""
    import dataclasses
    import zipfile

    from biofeedback.io import write_recording
    from biofeedback.simulate import read_scenario, simulate
    from biofeedback.simulate._scenario import Segment
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    base = read_scenario("learner")
    files = []
    for label in ("relaxed", "engaged"):
        scen = dataclasses.replace(base, participant=None, duration=12.0, events=(),
                                   seed=len(label), timeline=(Segment(0.0, label, 1.0, 0.0),))
        files.append(write_recording(simulate(scen).to_recording(),
                                     tmp_path / f"s1-{label}-1.xdf"))
    made = save_model(fit_model(extract_dataset(label_files(files), n_jobs=1)),
                      tmp_path / "made.bfm")
    model = tmp_path / "m.bfm"  # the same model, with a field from a later version
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(model, "w") as dst:
        for name in src.namelist():
            blob = src.read(name)
            if name == "meta.json":
                blob = json.dumps({**json.loads(blob), "later_field": 1})
            dst.writestr(name, blob)
    with caplog.at_level("WARNING", logger="biofeedback"):
        records = simulate_sessions("learner", "m1", 2, root=tmp_path / "study",
                                    pipeline=SHORT, model=model, progress=False)
    assert [r["session"] for r in records] == [1, 2]
    said = [r.getMessage() for r in caplog.records if "later_field" in r.getMessage()]
    assert said == ["m.bfm holds fields this version does not read (later_field); they "
                    "are ignored: nothing in a model file names where to write or send."]


def test_a_session_xdf_without_sidecar_counts_every_dropped_packet(tmp_path):
    """Losses a packet counter sized by the clock (a counter turn and more) are
    dropped packets too, as `info` counts them; the index counted only the
    others when a session's sidecar was missing."""
    from biofeedback.io import Gap, Recording, read_recording
    from biofeedback.io._xdf_write import write_xdf
    from biofeedback.library._record import _cues_from_xdf

    t = 100.0 + np.arange(2500) / 250.0
    data = 20e-6 * np.random.default_rng(0).standard_normal((4, t.size))
    rec = Recording(data, 250.0, ["TP9", "AF7", "AF8", "TP10"], t, profile="muse_2")
    rec.gaps = [Gap(onset=float(t[500]), duration=1.2, n_missing=300,
                    source="packet_counter+clock"),
                Gap(onset=float(t[1500]), duration=0.1, n_missing=25,
                    source="packet_counter")]
    write_xdf(rec, tmp_path / "s.xdf")
    back = read_recording(tmp_path / "s.xdf")
    assert sorted(g.n_missing for g in back.gaps) == [25, 300]
    assert _cues_from_xdf(tmp_path / "s.xdf")[1]["n_dropped"] == 325


def test_a_session_ended_a_few_windows_into_training_is_left_out_of_the_trend(
        tmp_path, monkeypatch, capsys, ctrl_c):
    """Ctrl-C four windows into training: that session's value, from two
    seconds of training, counted as a whole day's in the trend across sessions.
    progress, sessions, the report and the dashboard now leave it out, alike,
    and say so."""
    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import _simulate

    real_write = _simulate._Events.write
    seen = {"n": 0}

    def write(self, result):  # 16 baseline windows, then 4 of training
        real_write(self, result)
        seen["n"] += 1
        if seen["n"] == 20:
            ctrl_c()

    simulate_sessions("learner", "p01", 2, root=tmp_path, pipeline=SHORT, progress=False)
    monkeypatch.setattr(_simulate._Events, "write", write)
    with pytest.raises(KeyboardInterrupt):
        simulate_sessions("learner", "p01", 1, root=tmp_path, pipeline=SHORT, progress=False)
    monkeypatch.setattr(_simulate._Events, "write", real_write)
    simulate_sessions("learner", "p01", 1, root=tmp_path, pipeline=SHORT, progress=False)

    p = progress("p01", tmp_path)
    assert [s["status"] for s in p["sessions"]] == ["complete", "complete", "partial",
                                                    "complete"]
    whole = [s for s in p["sessions"] if s["status"] == "complete"]
    fit = trend([s["session"] for s in whole], [s["regulation"] for s in whole])
    t = p["trend"]
    assert t["n_sessions"] == 3 and t["short_sessions"] == [3]
    assert t["slope_per_session"] == pytest.approx(fit["slope"])
    assert [s["in_trend"] for s in p["sessions"]] == [True, True, False, True]
    note = p["short_note"]
    assert note == ("Session 03 is left out of the trends across sessions: it holds 4 clean "
                    "training windows (it ended early), fewer than 50% of a whole session's "
                    "24: too little training to weigh as a day's.")
    assert f"{fit['slope']:+.2f} baseline SDs per session" in p["verdict"]
    # the end-of-session line compares with the earlier whole sessions alone
    prev = (whole[0]["regulation"] + whole[1]["regulation"]) / 2
    assert f"your average of {prev:+.2f} over 2 earlier sessions" in compare_line(p, 4)

    out = tmp_path / "p.html"
    assert main(["progress", "p01", "--root", str(tmp_path), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert note in said and said.index(note) < said.index(p["verdict"])
    assert note.replace("'", "&#x27;") in out.read_text()
    assert main(["sessions", "p01", "--root", str(tmp_path)]) == 0
    assert f"sub-p01: {note}" in capsys.readouterr().out
    assert main(["sessions", "p01", "--root", str(tmp_path), "--json"]) == 0
    assert [r["in_trend"] for r in json.loads(capsys.readouterr().out)] == [True, True, False,
                                                                           True]
    assert history_message("p01", tmp_path)["trend"] == f"{note} {p['verdict']}"
    # everyone's line follows the same trend
    assert main(["progress", "--root", str(tmp_path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["participants"]
    assert row["n_trend"] == 3 and row["slope_per_session"] == pytest.approx(fit["slope"])


def test_two_simulated_people_of_one_scenario_differ_and_each_is_the_same_every_run(
        tmp_path, capsys):
    """The simulation's seed ignored the participant: two people simulated from one
    scenario had the same EEG and the same progress. Each is seeded from the
    scenario's seed and their ID now (stable across runs and machines); --seed N
    still gives every ID the same data."""
    import zlib

    from biofeedback.io import read_recording

    def simulated(pid, root, *seed):
        assert main(["simulate", "learner", "--participant", pid, "--root", str(root),
                     "--pipeline", str(SHORT), *seed]) == 0
        side = json.loads(next(root.glob(f"sub-{pid}/ses-01/eeg/*_eeg.json")).read_text())
        rec = read_recording(next(root.glob(f"sub-{pid}/ses-01/eeg/*_eeg.xdf")))
        return side["programme"]["seed"], rec.data

    seed_a, eeg_a = simulated("a", tmp_path / "one")
    seed_b, eeg_b = simulated("b", tmp_path / "one")
    assert seed_a != seed_b and not np.array_equal(eeg_a, eeg_b)
    # documented, so the same on every run and machine: the scenario's seed (1) and
    # the ID's CRC-32, then 1009 times that plus the session's number
    assert seed_a == (1 * 2**32 + zlib.crc32(b"a")) * 1009 + 1
    # --seed N: that seed, whoever the person (as the scenario's own seed was)
    seed_c, eeg_c = simulated("c", tmp_path / "three", "--seed", "7")
    seed_d, eeg_d = simulated("d", tmp_path / "three", "--seed", "7")
    assert seed_c == seed_d == 7 * 1009 + 1 and np.array_equal(eeg_c, eeg_d)
    capsys.readouterr()


def test_recordings_made_elsewhere_make_a_history_over_days_on_their_own_dates(
        tmp_path, capsys):
    """No way existed to bring an earlier recording (another program's, another
    machine's) into a participant's history, nor to try a programme over days
    without waiting days. 'sessions --add FILE' files it on the day the file says
    it was recorded, its figures the engine's; a file that says no day needs
    --date, and one older than the latest session is refused."""
    import dataclasses
    import datetime as dt

    from biofeedback.io import read_recording, write_recording
    from biofeedback.simulate import read_scenario, simulate

    scen = read_scenario("demo")

    def recorded(name, day, seed):  # another program's file: Unix timestamps, or none
        t0 = dt.datetime(2026, 11, day, 9, 30, 0, 500000).astimezone().timestamp() \
            if day else 0.0
        rec = simulate(dataclasses.replace(scen, seed=seed)).to_recording(t0=t0)
        return write_recording(rec, tmp_path / name)

    root = tmp_path / "study"

    def add(path, *more):
        return main(["sessions", "--add", str(path), "--participant", "p1", "--root",
                     str(root), "--pipeline", str(SHORT), *more])

    assert add(recorded("monday.xdf", 2, 1)) == 0
    undated = recorded("tuesday.xdf", None, 2)
    assert read_recording(undated).started is None
    capsys.readouterr()
    assert add(undated) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {undated} does not say when it was recorded (its timestamps "
        "hold no date, nor its header); give --date YYYY-MM-DD (or YYYY-MM-DDTHH:MM) to "
        "file it on the day it was recorded.")
    assert add(undated, "--date", "Tuesday") == 1
    assert "--date 'Tuesday' is not a date: give YYYY-MM-DD" in capsys.readouterr().err
    assert add(undated, "--date", "2026-11-03T10:15") == 0
    assert add(recorded("wednesday.edf", 4, 3)) == 0
    older = recorded("sunday.xdf", 1, 4)
    capsys.readouterr()
    assert add(older) == 1  # sessions are numbered in the order they were recorded
    assert "not after session 03 of p1" in capsys.readouterr().err
    assert sorted(p.name for p in (root / "sub-p1").glob("ses-*")) == ["ses-01", "ses-02",
                                                                     "ses-03"]

    assert main(["progress", "p1", "--root", str(root), "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    days = [dt.datetime.fromisoformat(s["started_at"]) for s in p["sessions"]]
    assert [d.astimezone().strftime("%m-%d %H:%M") for d in days] == [
        "11-02 09:30", "11-03 10:15", "11-04 09:30"]
    assert [s["session"] for s in p["sessions"]] == [1, 2, 3] and days == sorted(days)
    assert all(s["status"] == "complete" and not s["simulated"] for s in p["sessions"])
    # the engine's figures: the filed XDF holds the estimates and cues it computed
    side = json.loads(next(root.glob("sub-p1/ses-02/eeg/*_eeg.json")).read_text())
    assert side["programme"]["added_from"] == "tuesday.xdf"
    assert side["programme"]["date_from"] == "--date"
    assert side["programme"]["carried_from"] == 1  # the protocol carries thresholds
    filed = read_recording(next(root.glob("sub-p1/ses-02/eeg/*_eeg.xdf")))
    assert "biofeedback-Estimates" in filed.streams and "biofeedback-Cues" in filed.streams
    assert all(math.isfinite(s["regulation"]) for s in p["sessions"])
    assert p["trend"]["n_sessions"] == 3
    assert main(["sessions", "p1", "--root", str(root)]) == 0
    dates = [ln.split()[2] for ln in capsys.readouterr().out.splitlines()[1:4]]
    assert dates == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert main(["sessions", "p1", "--root", str(root), "--date", "2026-11-05"]) == 1
    assert "--date goes with --add FILE" in capsys.readouterr().err
    # a session whose date cannot be read (its sidecar edited by hand): one
    # sentence saying what to fix, nothing filed
    side_path = next(root.glob("sub-p1/ses-03/eeg/*_eeg.json"))
    side = json.loads(side_path.read_text())
    side["programme"]["started_at"] = "Wednesday"
    side_path.write_text(json.dumps(side))
    assert add(recorded("thursday.xdf", 5, 5)) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: Session 03 of p1 has no date that can be read ('Wednesday'), "
        f"so {tmp_path / 'thursday.xdf'} cannot be numbered after it; set started_at in "
        f"the programme of its sidecar {side_path} to when it was recorded "
        "(YYYY-MM-DDTHH:MM:SS), then add the file again.")
    assert not (root / "sub-p1" / "ses-04").exists()
