"""What a researcher meets on the way from recordings to a model: bad input,
hand-edited files, unreachable clusters. Each is one sentence and a non-zero
exit, without a traceback, and leaves nothing half-written."""

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main

MUSE = ["TP9", "AF7", "AF8", "TP10"]


def _two_people(folder, make_eeg, duration):
    """Two people, two states (alpha at 10 or 6 Hz), ``duration`` s each, as XDF files."""
    from biofeedback.io import Recording, write_recording

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
            data, ts = make_eeg(duration=duration, alpha_hz=hz, seed=10 * k + j)
            rec = Recording(data, 256.0, MUSE, ts, profile="muse_2016")
            paths.append(write_recording(rec, folder / f"{subject}-{label}-1.xdf"))
    return paths


@pytest.fixture(scope="module")
def _recs_once(tmp_path_factory, make_eeg):
    folder = tmp_path_factory.mktemp("faults") / "recs"
    folder.mkdir()
    return _two_people(folder, make_eeg, 30.0)


@pytest.fixture
def recs(_recs_once, tmp_path):
    """Two people, two states, 30 s each: the test's own copy in ``tmp_path/recs``
    (written once per module; tests rename and add files)."""
    import shutil

    shutil.copytree(_recs_once[0].parent, tmp_path / "recs")
    return [tmp_path / "recs" / p.name for p in _recs_once]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "bogus://nowhere"])
def test_an_unreachable_dask_scheduler_is_one_sentence_before_any_work(
        address, recs, tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    address = address.format(port=_free_port())
    out = tmp_path / "m.bfm"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["train", *map(str, recs), "--out", str(out), "--scheduler", address,
                     "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"Cannot reach the Dask scheduler at '{address}'" in err
    assert "leave out --scheduler" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("address, why", [
    ("tcp://127.0.0.1:{port}", "nothing listens on port {port} of 127.0.0.1"),
    ("tcp://no-such-host.invalid:8786", "the host 'no-such-host.invalid' has no address"),
])
def test_a_refused_port_or_an_unknown_host_is_said_at_once(address, why, tmp_path,
                                                           capsys):
    """Said at once, not after Dask's 30 s of retries."""
    import time

    pytest.importorskip("distributed")
    port = _free_port()
    address, why = address.format(port=port), why.format(port=port)
    out = tmp_path / "m.bfm"
    start = time.monotonic()
    code = main(["train", str(tmp_path), "--out", str(out), "--scheduler", address, "-q"])
    # Dask alone retried for 30 s; a loaded machine (or a slow resolver) may take seconds
    assert time.monotonic() - start < 25.0
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: Cannot reach the Dask scheduler at {address!r} ({why}); "
        "check that it runs and its address (tcp://HOST:PORT), or leave out "
        "--scheduler to extract features on this computer.")
    assert not out.exists()


@pytest.fixture(scope="module")
def _model_once(_recs_once):
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    ds = extract_dataset(label_files(_recs_once), n_jobs=1)
    return save_model(fit_model(ds, "lda", dwell=30.0), _recs_once[0].parent.parent / "m.bfm")


@pytest.fixture
def model_file(_model_once, recs, tmp_path):
    """An LDA model of ``recs`` at ``tmp_path/m.bfm`` (trained once per module)."""
    import shutil

    return Path(shutil.copy(_model_once, tmp_path / "m.bfm"))


def _edited(model_file, tmp_path, edit):
    """A copy of ``model_file`` whose meta.json went through ``edit(meta)``."""
    import json
    import zipfile

    with zipfile.ZipFile(model_file) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(parts["meta.json"])
    edit(meta)
    parts["meta.json"] = json.dumps(meta).encode()
    out = tmp_path / "edited.bfm"
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, blob)
    return out


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update(format_version="3"), r"format_version as '3', not a whole number"),
    (lambda m: m.update(format_version=None), "format_version as None, not a whole number"),
    (lambda m: m.update(classes=["calm", "x"]),
     "lists the classes calm, x but its classifier gives busy, calm"),
    (lambda m: m.update(classes="calm"), "its classes 'calm' are not a list of names"),
    (lambda m: m.update(input="windows"), r"reads 20 columns but the file lists 4 channels"),
    (lambda m: m.update(evidence_weight=5), "evidence weight must be above 0 and at most 1"),
    (lambda m: m.update(sfreq=-1), "its sampling rate is -1 Hz"),
    (lambda m: m.update(sfreq=1e308), "its sampling rate is 1e[+]308 Hz"),
    (lambda m: m.update(ch_names=[["AF7"]]), r"its ch_names \[\['AF7'\]\] are not a list of names"),
    (lambda m: m.update(feature_names={"a": 1}), "its feature_names .* are not a list of names"),
    (lambda m: m.update(calibration=-3), "its calibration -3 is not a table"),
    (lambda m: m.update(calibration={"blocks": [{"seconds": "ten"}]}),
     "its calibration block .* is not a state name and a number of seconds"),
    (lambda m: m.update(calibration={"blocks": [{"state": None, "seconds": 0},
                                                {"state": None, "seconds": 20}]}),
     "its calibration block 1 of 2 lasts 0 s, but a block's seconds must be above 0"),
    (lambda m: m.update(calibration={"blocks": [{"state": None, "seconds": -5}]}),
     "its calibration block 1 of 1 lasts -5 s, but a block's seconds must be above 0"),
    (lambda m: m.update(ch_names=[f"c{i}" for i in range(5000)]),
     "lists 5000 channels in its ch_names, more than the 4096 a recording may have"),
    (lambda m: (m.update(input="windows", sfreq=100_000.0,
                         ch_names=[f"c{i}" for i in range(20)]),
                m["pipeline"]["window"].update(length=10.0)),
     r"reads windows of 10 s \(its pipeline's window length\) at 100000 Hz \(its sfreq\) "
     "over 20 channels, 20000000 values each, more than the 16777216 a window model"),
    (lambda m: m["pipeline"]["features"].update(names=["nope"]),
     r"model file \[features\]: Invalid value for the 'names' parameter"),
])
def test_a_hand_edited_model_file_is_one_sentence(edit, match, model_file, tmp_path, capsys):
    from biofeedback.errors import ModelError
    from biofeedback.training import load_model

    bad = _edited(model_file, tmp_path, edit)
    with pytest.raises(ModelError, match=match):
        load_model(bad)
    assert main(["evaluate", str(bad), *map(str, model_file.parent.glob("recs/*"))]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biofeedback: error: ")
    assert "edited.bfm" in lines[0] and "train the model again" in lines[0]


@pytest.mark.parametrize("version, by", [("0.9.0", "biofeedback 0.9.0"),
                                         (None, "a newer version of biofeedback")])
def test_a_model_file_with_a_newer_pipeline_field_says_to_upgrade(version, by, model_file,
                                                                 tmp_path, capsys):
    """A pipeline key this version does not know is what a newer version's
    file holds: it was said to be damaged metadata, to be trained again."""
    from biofeedback import __version__

    def newer(meta):
        meta["pipeline"]["features"]["peak_alpha"] = True
        meta.pop("biofeedback_version", None)
        if version:
            meta["biofeedback_version"] = version

    bad = _edited(model_file, tmp_path, newer)
    assert main(["evaluate", str(bad), *map(str, model_file.parent.glob("recs/*"))]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"biofeedback: error: {bad} holds the pipeline field 'features.peak_alpha', which "
        f"biofeedback {__version__} does not know: the file was written by {by} or was "
        "edited; upgrade biofeedback to use it, or train the model again with this "
        "version."]


def test_a_model_file_names_the_version_that_wrote_it(model_file):
    import zipfile

    from biofeedback import __version__

    with zipfile.ZipFile(model_file) as zf:
        assert json.loads(zf.read("meta.json"))["biofeedback_version"] == __version__


@pytest.mark.parametrize("rows, match", [
    (["{a},calm", "{b}"], r"line 3: the label is empty"),
    (["{a},calm", "{b}, "], r"line 3: the label is empty"),
    (["{a},calm", ",busy"], r"line 3: the path is empty"),
    (["{a},calm", "{b},busy", "{a},busy"],
     r"line 4: p1-calm-1\.xdf is listed again \(first on line 2\)"),
    (["{a},calm,0,20", "{a},busy,15,30"],
     r"lines 2 and 3: the stretches 0-20 s \('calm'\) and 15-30 s \('busy'\) of "
     r"p1-calm-1\.xdf overlap"),
    (["{a},busy,15,30", "{a},calm,0,20"], r"lines 2 and 3: the stretches 0-20 s"),
    (["{a},calm", "{a},busy,0,20"], r"line 3: p1-calm-1\.xdf is listed again"),
    (["{a},calm", "x" * 300 + ",busy"], r"line 3: the recording \S+x{300} does not exist"),
    (["{a},calm", '"x\ny",busy'], r"line 3: the recording '\S+x\\ny' does not exist"),
    (["{a},calm", '{b},"' + "y" * 200_000 + '"'],
     r"line 3: not a readable CSV row \(field larger than field limit"),
])
def test_a_manifest_row_that_cannot_label_is_one_sentence(rows, match, recs, tmp_path,
                                                          capsys):
    """A row without a label (it made a traceback, or a class named ''), a
    recording listed twice, or stretches that overlap (the later one's windows
    were silently cut short) stop before any recording is read."""
    manifest = tmp_path / "labels.csv"
    header = "path,label,start,stop" if any(r.count(",") == 3 for r in rows) else "path,label"
    a, b = (str(p) for p in recs[:2])
    manifest.write_text("\n".join([header, *(r.format(a=a, b=b) for r in rows)]) + "\n")
    out = tmp_path / "m.bfm"
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(out), "-q"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"biofeedback: error: {manifest}")
    assert __import__("re").search(match, lines[0])
    assert not out.exists()


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_pattern_field_of_an_unknown_name_is_one_sentence(command, recs, model_file,
                                                            capsys):
    """'{subj}' matched any text and named no one: training went on with every
    file its own subject, which only a later warning hinted at."""
    pattern = "{subj}-{label}-{session}"
    out = recs[0].with_name("x.bfm")
    argv = ([command, *map(str, recs), "--out", str(out)] if command == "train"
            else [command, str(model_file), *map(str, recs)])
    assert main([*argv, "--pattern", pattern, "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The label pattern {pattern!r} has the unknown field {{subj}}; "
        "the fields are {subject}, {label} and {session}, and {} matches any text.")
    assert not out.exists()


@pytest.mark.parametrize("pattern, field", [("{1}-{label}-{session}", "1"),
                                            ("{subject}-{label}-{2x}", "2x")])
def test_a_pattern_field_that_is_no_name_is_one_sentence(pattern, field, recs, capsys):
    """Said as a field of an unknown name is (it was 'a field is a name that
    starts with a letter, like {subject}', as if any such name would do)."""
    assert main(["train", *map(str, recs), "--pattern", pattern, "--out",
                 str(recs[0].with_name("m.bfm")), "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: The label pattern {pattern!r} has the unknown field "
        f"{{{field}}}; the fields are {{subject}}, {{label}} and {{session}}, and {{}} "
        "matches any text.\n")


def test_stretches_that_meet_label_every_window_of_both(recs, tmp_path):
    """Unsorted rows whose stretches only meet are fine, and label what they say."""
    from biofeedback.training import extract_dataset, label_files

    manifest = tmp_path / "labels.csv"
    a = recs[0]
    manifest.write_text(f"path,label,start,stop\n{a},busy,15,30\n{a},calm,0,15\n")
    ds = extract_dataset(label_files(labels_from="manifest", manifest=manifest),
                         gated="include", n_jobs=1)
    assert set(ds.y[ds.t <= 15.0]) == {"calm"} and set(ds.y[ds.t - 2.0 >= 15.0]) == {"busy"}


def test_people_spelt_two_ways_and_of_one_class_each_are_said(recs, tmp_path, capsys,
                                                               caplog):
    """'P1' and 'p1' are two people to a split, each holding one state: the
    held-out 'person' is scored on one class and no stream switches, which
    train says instead of printing switching figures of nan."""
    manifest = tmp_path / "labels.csv"
    a_calm, a_busy, b_calm, b_busy = (str(p) for p in recs)
    manifest.write_text(f"path,label,subject\n{a_calm},calm,P1\n{a_busy},busy,p1\n"
                        f"{b_calm},calm,P2\n{b_busy},busy,p2\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm")]) == 0
    said = caplog.text
    assert "The subjects 'P1', 'p1' differ only in case or spaces" in said
    assert "The subjects 'P2', 'p2' differ only in case or spaces" in said
    assert ("4 of 4 subjects hold windows of one class only: P1 ('calm'), P2 ('calm'), "
            "p1 ('busy'), p2 ('busy')") in said
    out = capsys.readouterr().out
    assert "nan" not in out and "first 10 s" not in out
    assert "no validation stream switches state" in out
    page = (tmp_path / "m.html").read_text()
    assert "4 of 4 subjects hold windows of one class only" in page


def test_the_report_shows_the_windows_each_fold_and_subject_rests_on(recs, tmp_path):
    """The page gives per fold the scored and trained windows per class, and
    per subject and class the windows scored, as train prints them."""
    import re

    from biofeedback.training import load_model

    out = tmp_path / "m.bfm"
    assert main(["train", *map(str, recs), "--out", str(out), "-q"]) == 0
    metrics = load_model(out).meta["metrics"]["window alone"]
    page = (tmp_path / "m.html").read_text()
    section = page[page.index("Windows per fold, subject and class"):]
    cells = re.findall(r"<td>([^<]*)</td>", section)
    for fold in metrics["folds"]:
        i = cells.index(fold["test"])
        scored = fold["test_windows_per_class"]
        trained = fold["train_windows_per_class"]
        assert cells[i + 1:i + 5] == [str(scored["busy"]), str(scored["calm"]),
                                      str(trained["busy"]), str(trained["calm"])]
    for subject, row in metrics["windows_per_subject_and_class"].items():
        i = cells.index(subject, cells.index(subject) + 1)  # the second table
        assert cells[i + 1:i + 4] == [str(row["busy"]), str(row["calm"]),
                                      str(row["busy"] + row["calm"])]


@pytest.mark.parametrize("out, match", [
    ("folder", "is a folder; name a file to write"),
    ("model.html", "The report would be written over the model"),
])
def test_an_output_that_cannot_be_written_is_said_before_training(out, match, recs,
                                                                  tmp_path, capsys):
    """--out naming a folder trained everything, then failed on a temporary
    file's name and left that file behind; --out m.html had the report
    written over the model."""
    (tmp_path / "folder").mkdir()
    before = sorted(tmp_path.iterdir())
    assert main(["train", *map(str, recs), "--out", str(tmp_path / out), "-q"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and ".part" not in lines[0]
    assert sorted(tmp_path.iterdir()) == before
    assert not list((tmp_path / "folder").iterdir())


def test_a_move_into_place_that_fails_leaves_no_temporary_file(tmp_path):
    from biofeedback._outputs import atomic_output

    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError), atomic_output(tmp_path / "taken") as tmp:
        tmp.write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


@pytest.mark.parametrize("metadata", [(), ("README", "participants.tsv", "CHANGES")])
def test_a_bids_root_given_as_the_folder_says_its_subfolders_are_not_searched(
        metadata, recs, tmp_path, capsys):
    """A BIDS dataset's root holds its subjects' folders; 'No recordings were
    given' was all train said. Its own files (the README and participants.tsv
    mne-bids writes, as 'convert --bids-root' does) are no recordings: read as
    such, they made the label pattern 'match none of the 2 file names
    (README, participants.tsv)'."""
    root = tmp_path / "bids"
    for k, rec in enumerate(recs):
        eeg = root / f"sub-0{k}" / "ses-1" / "eeg"
        eeg.mkdir(parents=True)
        rec.rename(eeg / rec.name)
    (root / "dataset_description.json").write_text("{}")
    for name in metadata:
        (root / name).write_text("participant_id\nsub-00\n")
    assert main(["train", str(root), "--out", str(tmp_path / "m.bfm")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"biofeedback: error: The folder {root} holds no recording, only the "
                   "folders sub-00, sub-01, sub-02 ..., which are not searched; pass the "
                   f"recordings themselves, e.g. {root}/*/*/eeg/*.edf for a BIDS folder.")


def test_train_help_says_what_each_split_holds_out(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("loso: each person in turn, trained on everyone else",
                   "loso-session: each session of each person",
                   "new-day: each person's last session, trained on their earlier ones",
                   "new-person-new-day: each person's last session, trained on the other "
                   "people only", "none: no validation",
                   "used from 3 h of recordings on",
                   "with start,stop columns (seconds from its first sample)"):
        assert phrase in text


def test_info_describes_a_model_file(model_file, capsys):
    """'info' on a model file said it was not a recording format."""
    assert main(["info", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "classes:     2: busy, calm" in out
    assert "channels:    4: TP9, AF7, AF8, TP10 (profile muse_2016)" in out
    assert "rate:        256 Hz" in out and "state filter: dwell 30 s" in out
    assert "trained on:  " in out and "2 subjects" in out
    # every file is session 1 of its person: one label, not '1 sessions'
    assert "2 subjects, session 1; " in out


def test_info_describes_summary_fields_of_the_wrong_type_as_unknown(model_file, tmp_path,
                                                                    capsys):
    """The training summary and metrics are only shown: an edited one is shown as unknown."""

    def edit(meta):
        meta["training"].update(subjects=7, windows_per_class=3)
        meta["metrics"] = {"loso": {"cv": "loso", "balanced_accuracy": "high",
                                    "switching": [1]}}

    assert main(["info", str(_edited(model_file, tmp_path, edit))]) == 0
    out = capsys.readouterr().out
    assert "? subjects" in out and "  loso             -" in out
    assert main(["info", str(_edited(model_file, tmp_path, lambda m: m.update(metrics=[1])))]) == 0
    assert "validation:  none stored" in capsys.readouterr().out


def test_info_on_a_damaged_model_file_is_one_sentence(model_file, capsys):
    cut = model_file.with_name("cut.bfm")
    cut.write_bytes(model_file.read_bytes()[:200])
    assert main(["info", str(cut)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"biofeedback: error: {cut} is not a biofeedback model file")


def test_fields_smuggled_into_a_model_file_are_said_and_ignored(model_file, tmp_path,
                                                                caplog):
    from biofeedback.training import load_model

    bad = _edited(model_file, tmp_path, lambda m: m.update(
        path="/etc/passwd", host="10.0.0.1", sink="osc"))
    model = load_model(bad)
    assert ("edited.bfm holds fields this version does not read (host, path, sink); "
            "they are ignored") in caplog.text
    assert model.config == load_model(model_file).config
    caplog.clear()
    load_model(model_file)
    assert "does not read" not in caplog.text


def test_switch_every_shorter_than_a_window_is_refused(model_file, capsys):
    recs = sorted(map(str, model_file.parent.glob("recs/*")))
    assert main(["evaluate", str(model_file), *recs, "--switch-every", "0.5"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: --switch-every 0.5 is shorter than one 2 s window, so no "
        "window would hold one state; give at least 2 s, or 0 to score no switching "
        "streams.")


def test_switch_every_longer_than_the_recordings_leave_is_said(model_file, capsys, caplog):
    """Stretches are cut to what a recording leaves after its first 20 s, so
    'switching every 100 s' over 30 s recordings switched every 10 s."""
    recs = sorted(map(str, model_file.parent.glob("recs/*")))
    assert main(["evaluate", str(model_file), *recs, "--switch-every", "100"]) == 0
    assert ("--switch-every 100 s is longer than any recording leaves after its first "
            "20 s (at most 10.0 s), so each stretch is a whole remainder and the streams "
            "switch about every 10 s; give at most 10 s.") in caplog.text
    caplog.clear()
    assert main(["evaluate", str(model_file), *recs, "--switch-every", "8"]) == 0
    assert "--switch-every" not in caplog.text


def test_the_printed_tables_keep_long_names_apart(recs, tmp_path, capsys):
    """Fold and subject names over 11 characters ran into the first figure
    ('subjecta/day10          0.56'), and long labels into each other."""
    manifest = tmp_path / "labels.csv"
    rows = [f"{p},{'calm and collected' if 'calm' in p.name else 'busy'},"
            f"participant-{p.name[:2]}" for p in recs]
    manifest.write_text("path,label,subject\n" + "\n".join(rows) + "\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm")]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [ln for ln in lines if ln.startswith(("test ", "participant-", "pooled",
                                                 "windows"))]
    scores, counts = table[:5], table[5:]  # head, 2 folds, pooled, windows; head, 2
    assert len(counts) == 3 and counts[0].startswith("windows  ")
    assert len({len(ln) for ln in scores}) == 1  # the columns line up
    assert len({len(ln) for ln in counts}) == 1
    assert all(ln.split()[0].startswith("participant-") for ln in scores[1:3] + counts[1:])
    assert counts[0].split() == ["windows", "busy", "calm", "and", "collected"]
    assert "  calm and collected" in counts[0]


def test_a_manifest_of_stretches_is_not_called_markers(recs, tmp_path, capsys):
    manifest = tmp_path / "labels.csv"
    rows = [f"{p},{'calm' if 'calm' in p.name else 'busy'},{a},{b}"
            for p in recs for a, b in ((0, 14), (15, 30))]
    manifest.write_text("path,label,start,stop\n" + "\n".join(rows) + "\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm")]) == 0
    out = capsys.readouterr().out
    assert ("calibration not validated: the protocol's blocks are replayed from one "
            "recording of each state they ask for, and recordings labelled over time "
            "(markers, a manifest's stretches) hold several states each, so none can stand "
            "for a block\n") in out
    page = (tmp_path / "m.html").read_text()
    assert page.count("<td>(2 stretches)</td>") == 4 and "(markers)" not in page
    # asked for, calibration is refused with the same reason, and no model is written
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--calibration", "protocol", "--out", str(tmp_path / "cal.bfm")]) == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: --calibration protocol: the protocol's blocks are replayed "
        "from one recording of each state they ask for, and recordings labelled over time "
        "(markers, a manifest's stretches) hold several states each, so none can stand for "
        "a block.\n")
    assert not (tmp_path / "cal.bfm").exists()


def test_the_report_table_gives_the_switching_figures(recs, tmp_path):
    """Switching figures were only in the preformatted text, whose long line ran
    off the page; the validation table has them per result."""
    import re

    from biofeedback.training import load_model

    out = tmp_path / "m.bfm"
    assert main(["train", *map(str, recs), "--out", str(out), "--switch-every", "5",
                 "-q"]) == 0
    page = (tmp_path / "m.html").read_text()
    assert "<th>switching: balanced accuracy</th>" in page and "pre-wrap" in page
    assert "<th>sustained states: balanced accuracy (pooled)</th>" in page
    for title, m in load_model(out).meta["metrics"].items():
        if not isinstance(m, dict):
            continue
        sw = m["switching"]
        row = re.search(rf"<tr><td>{title}</td>(.*?)</tr>", page).group(1)
        cells = re.findall(r"<td>([^<]*)</td>", row)
        assert cells[-4:] == [f"{sw['balanced_accuracy']:.3f}", f"{sw['first_accuracy']:.3f}",
                              f"{sw['median_lag_s']:.1f}",
                              f"{sw['n_switches']} ({sw['n_not_followed']} not followed)"]


def test_a_marker_label_no_recording_holds_is_named(tmp_path, make_eeg, capsys):
    """'--marker-labels relaxed,Neutral' over markers 'neutral' said only that
    one class was left."""
    from biofeedback.io import Recording, write_recording

    paths = []
    for k in range(2):
        data, ts = make_eeg(duration=40.0, seed=k)
        marks = [(ts[0], "relaxed"), (ts[0] + 20.0, "neutral")]
        rec = Recording(data, 256.0, MUSE, ts, markers=marks, profile="muse_2016")
        paths.append(str(write_recording(rec, tmp_path / f"s{k}-session-1.xdf")))
    assert main(["train", *paths, "--labels-from", "markers", "--marker-labels",
                 "relaxed,Neutral", "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: --marker-labels names 'Neutral', which no recording's "
        "markers hold (they hold 'neutral', 'relaxed'); spell it as the markers do.")


def test_a_new_day_split_says_whom_it_leaves_unscored(tmp_path, make_eeg, caplog, capsys):
    """People with one session are trained on but never held out by --cv
    new-day; the pooled figure was printed as if it covered everyone."""
    from biofeedback.io import Recording, write_recording

    paths = []
    for k, (subject, days) in enumerate((("p1", 2), ("p2", 2), ("p3", 1))):
        for day in range(1, days + 1):
            for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
                data, ts = make_eeg(duration=25.0, alpha_hz=hz, seed=100 * k + 10 * day + j)
                rec = Recording(data, 256.0, MUSE, ts, profile="muse_2016")
                paths.append(str(write_recording(
                    rec, tmp_path / f"{subject}-{label}-day{day}.xdf")))
    assert main(["train", *paths, "--cv", "new-day", "--switch-every", "0",
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 0
    assert ("--cv new-day scores 2 of 3 subjects: p3 has one session, so is only "
            "trained on, never scored.") in caplog.text


def test_evaluate_says_when_it_scores_the_training_data(model_file, tmp_path, capsys,
                                                        caplog):
    """Scoring a model on its own training recordings (or a copy converted to
    another format) printed a near-perfect score without a word."""
    import json
    import shutil

    recs = sorted(model_file.parent.glob("recs/*"))
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in recs:  # the same data under another extension
        shutil.copy(p, copy / (p.stem + ".XDF"))
    assert main(["evaluate", str(model_file), str(copy), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seen_in_training"]["files"] == sorted(p.stem + ".XDF" for p in recs)
    assert ("4 of the 4 recordings scored were in the model's training data "
            "(p1-busy-1.XDF, p1-calm-1.XDF, p2-busy-1.XDF and 1 more); their score is not that "
            "of new data") in caplog.text


def test_evaluate_help_never_teaches_scoring_the_training_data(capsys):
    """Its first examples scored muse.bfm on the Muse recordings train's own
    example had trained it on."""
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    examples = text[text.index("Examples:"):text.index("positional arguments")]
    assert "muse-mental-state" not in examples and "new_people/" in examples
    assert "else at least one window" in " ".join(text.split())


@pytest.mark.parametrize("toml, match", [
    ('[features]\nnames = ["no_such_feature"]\n',
     r"bad\.toml, line 2 \[features\]: Invalid value for the 'names' parameter\. "
     r"Allowed values are 'log_band_power'.*but got 'no_such_feature' instead\."),
    ('[features]\nindices = ["engagement"]\nbands = {delta = [1.0, 4.0]}\n',
     r"bad\.toml, line 1 \[features\]: Index 'engagement' needs band 'beta'"),
])
def test_a_pipeline_naming_no_registered_feature_is_one_sentence_on_load(
        toml, match, recs, tmp_path, capsys):
    """It passed the loader and raised a ValueError traceback when the engine
    started, after every recording had been read."""
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    assert main(["train", *map(str, recs), "--pipeline", str(bad),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and __import__("re").search(match, lines[0])


def test_recordings_that_name_no_subject_are_said(recs, tmp_path, caplog):
    """A manifest without a subject column, over names the pattern does not
    read, made each file its own 'person': two sessions of one person then sat
    on both sides of a leave-one-subject-out split without a word."""
    from biofeedback.training import label_files

    manifest = tmp_path / "labels.csv"
    renamed = []
    for k, p in enumerate(recs):
        renamed.append(p.rename(p.with_name(f"rec{k}.xdf")))
    manifest.write_text("path,label\n" + "".join(
        f"{p},{'calm' if k % 2 else 'busy'}\n" for k, p in enumerate(renamed)))
    files = label_files(labels_from="manifest", manifest=manifest)
    assert [f.subject for f in files] == ["rec0", "rec1", "rec2", "rec3"]
    assert ("4 recordings name no subject (rec0.xdf, rec1.xdf, rec2.xdf and 1 more): neither a "
            "subject column nor the pattern '{subject}-{label}-{session}' gives one, so "
            "each file is its own subject") in caplog.text
    caplog.clear()
    manifest.write_text("path,label,subject\n" + "".join(
        f"{p},{'calm' if k % 2 else 'busy'},s{k // 2}\n" for k, p in enumerate(renamed)))
    label_files(labels_from="manifest", manifest=manifest)
    assert "name no subject" not in caplog.text


def test_one_recording_the_pattern_does_not_fit_is_said(tmp_path, make_eeg, caplog):
    """One person's session named with a '-' where the others have '_' became a
    subject of its own without a word (a warning needed two such files), and
    leave-one-subject-out scored that person as new on their other session's
    training; a pattern ending in a FIF's _raw fitted no name, and the warning
    said to give a pattern with {subject}, which it had."""
    from biofeedback.training import label_files

    names = ["p01_ses1_raw.fif", "p01-ses2_raw.fif", "p02_ses1_raw.fif", "p02_ses2_raw.fif"]
    paths = [_mne_states(tmp_path / n, make_eeg, SITES, k, "_raw.fif")
             for k, n in enumerate(names)]
    files = label_files(paths, "markers", pattern="{subject}_ses{session}")
    assert [f.subject for f in files] == ["p01", "p01-ses2", "p02", "p02"]
    assert ("p01-ses2_raw.fif does not fit the pattern '{subject}_ses{session}', which 3 "
            "other recordings fit (read as p01-ses2: without the extension, and a FIF's "
            "_raw ending), so it is a subject of its own, and leave-one-subject-out may "
            "score a person on data of theirs it trained on; rename it, or give a "
            "subject column.") in caplog.text
    caplog.clear()
    label_files(paths[2:], "markers", pattern="{subject}_ses{session}_raw")
    assert ("2 recordings name no subject (p02_ses1_raw.fif, p02_ses2_raw.fif): their "
            "names as read (p02_ses1, p02_ses2: without the extension, and a FIF's _raw "
            "ending) do not fit the pattern '{subject}_ses{session}_raw', so each file is "
            "its own subject") in caplog.text


def _calm_busy(path, seconds, seed, alpha):
    """A FIF as MNE writes it: 'calm' (10 Hz) then 'busy' (6 Hz), half each, as
    annotations with their durations; ``alpha`` scales how clearly they differ."""
    import mne

    rng = np.random.default_rng(seed)
    n = int(256 * seconds)
    t = np.arange(n) / 256.0
    x = rng.normal(0, 5e-6, (4, n))
    hz = np.where(t < seconds / 2, 10.0, 6.0)
    x += alpha * 15e-6 * np.sin(2 * np.pi * hz * t)
    raw = mne.io.RawArray(x, mne.create_info(["Fp1", "Fp2", "O1", "O2"], 256.0, "eeg"),
                          verbose="error")
    raw.set_annotations(mne.Annotations([0.0, seconds / 2], [seconds / 2] * 2,
                                        ["calm", "busy"]))
    raw.save(path, verbose="error")
    return str(path)


def test_a_pooled_figure_one_long_recording_makes_is_said(tmp_path, caplog, capsys):
    """One person recorded ten times as long as three others held most of the
    windows scored: the pooled balanced accuracy was theirs, far above the
    others', and nothing said so."""
    import re

    short = [_calm_busy(tmp_path / f"s{k}_raw.fif", 60.0, k + 1, 0.04) for k in range(3)]
    long = _calm_busy(tmp_path / "long_raw.fif", 600.0, 0, 1.0)
    args = ["--labels-from", "markers", "--profile", "lsl", "--switch-every", "0",
            "--out", str(tmp_path / "m.bfm")]
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", long, *short, *args]) == 0
    out = capsys.readouterr().out
    pooled = float(re.search(r"^pooled +([0-9.]+)", out, re.M).group(1))
    table = out.split("\npooled", 1)[0]  # the rows per held-out group, above it
    rows = [float(v) for v in re.findall(r"^(?:long|s[0-2]) +([0-9.]+)", table, re.M)]
    assert len(rows) == 4
    said = re.search(r"long holds (\d+)% of the windows scored, so the pooled balanced "
                     r"accuracy \(([0-9.]+)\) is mostly theirs \(long: ([0-9.]+)\); the "
                     r"mean over the 4 held-out groups is ([0-9.]+)\. Read the rows per "
                     r"group, or record about as long of each\.", caplog.text)
    assert said, caplog.text
    assert int(said.group(1)) > 70 and float(said.group(2)) == pytest.approx(pooled, abs=0.01)
    assert float(said.group(4)) == pytest.approx(sum(rows) / 4, abs=0.02)
    assert float(said.group(4)) < pooled - 0.05
    caplog.clear()
    # as long of each: nothing to say
    even = _calm_busy(tmp_path / "even_raw.fif", 60.0, 0, 1.0)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", even, *short, *args]) == 0
    assert "of the windows scored" not in caplog.text


def test_switch_every_with_sessions_labelled_over_time_is_said(tmp_path, make_eeg,
                                                               caplog):
    """--switch-every builds streams from one-state recordings; with marker
    labels the sessions are scored as they switch, and the option given was
    dropped without a word."""
    paths = [str(_mne_states(tmp_path / f"p{k}_raw.fif", make_eeg, SITES, 10 * k,
                             "_raw.fif")) for k in range(2)]
    args = ["--labels-from", "markers", "--profile", "lsl", "-q"]
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *paths, *args, "--out", str(tmp_path / "m.bfm")]) == 0
        assert "is not used" not in caplog.text
        assert main(["train", *paths, *args, "--switch-every", "20",
                     "--out", str(tmp_path / "m.bfm")]) == 0
    assert ("--switch-every 20 is not used: recordings labelled over time (--labels-from "
            "markers) are scored as they switch, not as streams built from one-state "
            "recordings.") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", str(tmp_path / "m.bfm"), *paths, *args,
                     "--switch-every", "20"]) == 0
    assert "--switch-every 20 is not used" in caplog.text


def test_a_training_fif_converted_is_known_as_seen(tmp_path, make_eeg, caplog):
    """A model's training FIF ('p1_raw.fif') converted to EDF ('p1.edf') and
    scored was not known as training data: names were compared with the
    FIF's '_raw' ending, which patterns drop, and EDF's 16 bits change the
    digest."""
    paths = [str(_mne_states(tmp_path / f"p{k}_raw.fif", make_eeg, SITES, 10 * k,
                             "_raw.fif")) for k in range(2)]
    model = str(tmp_path / "m.bfm")
    args = ["--labels-from", "markers", "--profile", "lsl", "--switch-every", "0", "-q"]
    assert main(["train", *paths, *args, "--out", model]) == 0
    edf = tmp_path / "p0.edf"
    assert main(["convert", paths[0], str(edf)]) == 0
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", model, str(edf), *args]) == 0
    assert ("1 of the 1 recordings scored were in the model's training data (p0.edf); "
            "their score is not that of new data") in caplog.text


def test_recordings_of_several_layouts_holding_the_models_channels_are_scored(
        tmp_path, make_eeg, capsys):
    """A model's channels on two caps, one with Cz besides: each scored alone,
    but together refused as 'train on recordings with one channel layout'."""
    import json

    paths = [str(_mne_states(tmp_path / f"p{k}_raw.fif", make_eeg, SITES, 10 * k,
                             "_raw.fif")) for k in range(2)]
    model = str(tmp_path / "m.bfm")
    args = ["--labels-from", "markers", "--profile", "lsl", "--switch-every", "0"]
    assert main(["train", *paths, *args, "--out", model, "-q"]) == 0
    exact = str(_mne_states(tmp_path / "p8_raw.fif", make_eeg, SITES, 80, "_raw.fif"))
    more = str(_mne_states(tmp_path / "p9_raw.fif", make_eeg, [*SITES, "Cz"], 90,
                           "_raw.fif"))
    capsys.readouterr()
    alone = {}
    for path in (exact, more):
        assert main(["evaluate", model, path, *args, "--json"]) == 0
        alone.update(json.loads(capsys.readouterr().out)["per_subject"])
    assert main(["evaluate", model, more, exact, *args, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)["per_subject"]
    assert both == pytest.approx(alone) and set(both) == {"p8", "p9"}


def test_two_channel_layouts_in_training_say_what_is_common(tmp_path, make_eeg, capsys):
    """Recordings of six channels beside one of seven (Cz besides) stopped with
    both layouts listed and nothing saying how to train on them."""
    ours = str(_mne_states(tmp_path / "p0_raw.fif", make_eeg, SITES, 0, "_raw.fif"))
    more = str(_mne_states(tmp_path / "p1_raw.fif", make_eeg, [*SITES, "Cz"], 10,
                           "_raw.fif"))
    assert main(["train", ours, more, "--labels-from", "markers", "--profile", "lsl",
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: p1_raw.fif has channels Fp1, Fp2, F3, F4, O1, O2, Cz but "
        "p0_raw.fif has Fp1, Fp2, F3, F4, O1, O2; train on recordings with one channel "
        "layout (both hold Fp1, Fp2, F3, F4, O1, O2: drop Cz from the recordings that hold "
        "it, e.g. with MNE's drop_channels, then save).")
    assert not (tmp_path / "m.bfm").exists()


def test_a_manifest_row_naming_a_folder_names_its_line(recs, tmp_path, capsys):
    """A manifest row whose path is a folder was refused as 'recs: this is a
    folder, not a recording file', naming neither the manifest nor its line."""
    manifest = tmp_path / "labels.csv"
    manifest.write_text(f"path,label\nrecs,calm\n{recs[1]},busy\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {manifest}, line 2: {tmp_path / 'recs'} is a folder; a row "
        "labels one recording file: give each of its recordings a row of its own.")


def test_evaluate_refuses_labels_the_model_has_no_class_for(model_file, tmp_path, capsys):
    """Recordings labelled 'rest' scored 0.000 against a calm/busy model, as if
    the model had failed, instead of saying the labels do not match."""
    import shutil

    for p in sorted(model_file.parent.glob("recs/*")):
        shutil.copy(p, tmp_path / p.name.replace("calm", "rest"))
    recs = sorted(str(p) for p in tmp_path.glob("p*-*.xdf"))
    assert main(["evaluate", str(model_file), *recs, "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: The recordings' labels 'rest' are not classes of the model "
        "m.bfm (busy, calm), so its output could never match them; label the recordings "
        "with the model's classes, or leave those windows out (--marker-labels, or the "
        "manifest's rows).")


def test_a_manifest_with_decimal_commas_as_spreadsheets_save_it_is_read(recs, tmp_path):
    """';' between cells comes with '12,5' for numbers; start and stop were
    refused as not seconds."""
    from biofeedback.training import label_files

    manifest = tmp_path / "labels.csv"
    a = recs[0]
    manifest.write_text(f"path;label;start;stop\n{a};calm;0;12,5\n{a};busy;12,5;30\n",
                        encoding="utf-8-sig")
    (f,) = label_files(labels_from="manifest", manifest=manifest)
    assert f.stretches == ((0.0, 12.5, "calm"), (12.5, 30.0, "busy"))


def test_a_recording_given_twice_is_read_once(recs, tmp_path, caplog):
    """'train recs/ recs/p1-calm-1.xdf' took p1-calm-1 twice: its windows
    counted double, and the streams refused two recordings of one state."""
    from biofeedback.training import label_files

    folder = recs[0].parent
    files = label_files([folder, recs[0], folder / ".." / folder.name / recs[1].name])
    assert sorted(f.path for f in files) == sorted(str(p) for p in recs)
    assert "p1-calm-1.xdf, p1-busy-1.xdf were given more than once" in caplog.text


def test_a_dask_scheduler_without_workers_is_one_sentence(recs, tmp_path, capsys,
                                                          monkeypatch):
    """joblib waited 10 s, then raised its TimeoutError traceback."""
    distributed = pytest.importorskip("distributed")
    from biofeedback.training import _workers

    monkeypatch.setattr(_workers, "WORKER_WAIT_S", 1.0)
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        code = main(["train", *map(str, recs), "--out", str(tmp_path / "m.bfm"),
                     "--scheduler", address, "-q"])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The Dask scheduler at '{address}' has no worker (none "
        f"joined within 1 s); start one ('dask worker {address}'), or leave out "
        "--scheduler to extract features on this computer.")


def test_markers_closer_than_a_window_say_why_no_window_is_labelled(tmp_path, make_eeg,
                                                                   capsys):
    """A stimulus program's markers every half second left 'No labelled windows
    were found.' as the whole story."""
    from biofeedback.io import Recording, write_recording

    data, ts = make_eeg(duration=20.0)
    marks = [(t, f"stimulus value={k}") for k, t in enumerate(ts[::128])]  # every 0.5 s
    rec = Recording(data, 256.0, MUSE, ts, markers=marks, profile="muse_2016")
    path = write_recording(rec, tmp_path / "s1-session-1.xdf")
    assert main(["train", str(path), "--labels-from", "markers",
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: No 2 s window lies wholly between a marker of "
        "s1-session-1.xdf and the next: its 40 markers (40 different texts) are at most "
        "0.5 s apart, and every marker ends the stretch before it; label the states' "
        "stretches with a manifest (--labels-from manifest, columns "
        "path,label,start,stop) instead.")


def test_the_electrode_warning_names_every_model_that_reads_every_channel():
    """riemann's covariances read a left-out electrode too; the warning left it out."""
    import numpy as np

    from biofeedback.training import Dataset

    n = 8
    y = np.array(["a"] * 4 + ["b"] * 4)
    left_out = np.zeros((n, 2), bool)
    left_out[:4, 1] = True  # AF8 out of every 'a' window, of no 'b' window
    ds = Dataset(X=np.zeros((n, 1)), y=y, subject=np.full(n, "s"), session=np.full(n, "1"),
                 recording=np.zeros(n, int), t=np.arange(n, dtype=float),
                 gated=np.zeros(n, bool), feature_names=["f"], ch_names=["AF7", "AF8"],
                 sfreq=256.0, window_length=2.0, files=[], left_out=left_out)
    assert "(lda-channels, logreg, rf, hgb, riemann) can learn" in ds.electrode_warning()


def test_info_says_a_window_model_reads_windows(recs, tmp_path, capsys):
    pytest.importorskip("pyriemann")
    from biofeedback.training import extract_dataset, fit_model, label_files, save_model

    ds = extract_dataset(label_files(recs), need_windows=True, n_jobs=1)
    out = save_model(fit_model(ds, "riemann", dwell=30.0), tmp_path / "w.bfm")
    assert main(["info", str(out)]) == 0
    assert "reads:       filtered windows, 4 channels x 512 samples" in capsys.readouterr().out


def test_recordings_of_two_boards_name_a_file_of_each_and_what_to_do(tmp_path, make_eeg,
                                                                     capsys):
    from biofeedback.io import Recording, write_recording

    paths = []
    for k, (label, board) in enumerate((("calm", "muse_2016"), ("busy", "muse_2"))):
        data, ts = make_eeg(duration=25.0, seed=k)
        rec = Recording(data, 256.0, MUSE, ts, profile=board)
        paths.append(str(write_recording(rec, tmp_path / f"p1-{label}-1.xdf")))
    assert main(["train", *paths, "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        "biofeedback: error: The recordings come from different boards (muse_2: "
        "p1-busy-1.xdf, muse_2016: p1-calm-1.xdf); train on one board's recordings, or "
        "pass --profile NAME (profile= in Python) when they are one headset the files "
        "name differently.")


def test_channels_spelt_in_another_case_are_named(model_file, tmp_path, make_eeg, capsys,
                                                  caplog):
    """Data naming 'tp9' where the model reads 'TP9' were said only to lack TP9;
    evaluate, replay and the engine, as live runs it, read them by their site,
    with a warning."""
    from biofeedback.io import Recording, write_recording

    data, ts = make_eeg(duration=25.0)
    rec = Recording(data, 256.0, ["tp9", "AF7", "AF8", "TP10"], ts, profile="muse_2016")
    path = write_recording(rec, tmp_path / "p9-calm-1.xdf")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", str(model_file), str(path), "--switch-every", "0",
                     "-q"]) == 0
    assert ("p9-calm-1.xdf names the channels tp9, read as TP9: the same 10-20 sites, "
            "spelt differently.") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["replay", str(path), "--model", str(model_file)]) == 0
    assert ("The recording names the channels tp9, read as TP9: the same 10-20 sites, "
            "spelt differently.") in caplog.text
    from biofeedback.engine import Engine
    from biofeedback.hardware import get_profile
    from biofeedback.training import load_model

    model = load_model(model_file)
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        engine = Engine(model.config, rec.ch_names, 256.0, get_profile("muse_2016"),
                        model=model)
    assert ("The data name the channels tp9, read as TP9: the same 10-20 sites, spelt "
            "differently.") in caplog.text
    assert engine.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    # as live runs it, window by window: the model's figures, as replay gives them
    out = Engine(model.config, ["TP9", "AF7", "AF8", "TP10"], 256.0,
                 get_profile("muse_2016"), model=model)
    a = [r.estimates for r in engine.process(rec.data, rec.timestamps)]
    b = [r.estimates for r in out.process(rec.data, rec.timestamps)]
    assert len(a) == len(b) > 10
    np.testing.assert_array_equal(np.array(a), np.array(b))
    # two channels of one site are never guessed between: refused as before
    from biofeedback.errors import ModelError

    with pytest.raises(ModelError, match=r"lack TP9; they hold"):
        Engine(model.config, ["tp9", "AF7", "AF8", "TP10", "TP9-REF"], 256.0,
               get_profile("muse_2016"), model=model)


SITES = ["Fp1", "Fp2", "F3", "F4", "O1", "O2"]


def _mne_states(fname, make_eeg, names, seed, ext):
    """A recording as MNE writes it: alpha 'calm' for 20 s, then 'busy' for 20 s,
    each an annotation with its duration; EDF through MNE's exporter."""
    import mne

    calm, _ = make_eeg(n_channels=len(names), sfreq=250.0, duration=20.0, seed=seed)
    busy, _ = make_eeg(n_channels=len(names), sfreq=250.0, duration=20.0, alpha_hz=6.0,
                       seed=seed + 1)
    raw = mne.io.RawArray(np.hstack([calm, busy]), mne.create_info(names, 250.0, "eeg"),
                          verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 20.0], [20.0, 20.0], ["calm", "busy"]))
    if ext == ".edf":
        mne.export.export_raw(fname, raw, verbose="error")
    else:
        raw.save(fname, verbose="error")
    return fname


@pytest.mark.parametrize("spelt, ext", [
    (["EEG " + c for c in SITES], ".edf"),
    (["EEG " + c + "-REF" for c in SITES], ".edf"),
    ([c.upper() for c in SITES], ".edf"),
    ([c.lower() for c in SITES[::-1]], "_raw.fif"),
])
def test_channels_named_by_another_system_are_read_by_their_sites(
        spelt, ext, tmp_path, make_eeg, caplog, capsys):
    """One person's recordings from a clinical EDF ('EEG Fp1', 'EEG Fp1-REF',
    'FP1') beside another's FIF ('Fp1') were refused as another channel layout,
    and a model trained on 'Fp1' refused them in evaluate; they are read by
    their 10-20 sites, the same windows and features as under our names."""
    from biofeedback.training import extract_dataset, label_files

    ours_of = {c.lower(): c for c in SITES}
    as_ours = [ours_of[c.lower().removeprefix("eeg ").removesuffix("-ref")] for c in spelt]
    ours = _mne_states(tmp_path / "p1_raw.fif", make_eeg, SITES, 0, "_raw.fif")
    theirs = _mne_states(tmp_path / f"p2{ext}", make_eeg, spelt, 10, ext)
    (tmp_path / "ours").mkdir()
    same = _mne_states(tmp_path / "ours" / f"p2{ext}", make_eeg, as_ours, 10, ext)
    with caplog.at_level("WARNING", logger="biofeedback"):
        ds = extract_dataset(label_files([ours, theirs], "markers"), profile="lsl",
                             n_jobs=1, gated="include")
    pairs = [(a, b) for a, b in zip(spelt, as_ours) if a != b]
    assert (f"p2{ext} names the channels {', '.join(a for a, _ in pairs)}, read as "
            f"{', '.join(b for _, b in pairs)}: the same 10-20 sites, spelt "
            "differently.") in caplog.text
    ref = extract_dataset(label_files([ours, same], "markers"), profile="lsl", n_jobs=1,
                          gated="include")
    assert ds.ch_names == ref.ch_names == SITES
    np.testing.assert_array_equal(ds.X, ref.X)
    np.testing.assert_array_equal(ds.y, ref.y)
    # a model of our names scores their file as it scores ours
    model = tmp_path / "m.bfm"
    assert main(["train", str(ours), str(same), "--labels-from", "markers", "--profile",
                 "lsl", "--out", str(model), "--switch-every", "0", "-q"]) == 0
    capsys.readouterr()
    scores = []
    for path in (same, theirs):
        assert main(["evaluate", str(model), str(path), "--labels-from", "markers",
                     "--profile", "lsl", "--switch-every", "0", "-q"]) == 0
        scores.append(capsys.readouterr().out)
    assert scores[0].startswith("balanced accuracy ") and scores[1] == scores[0]


def test_two_channels_of_one_site_are_not_guessed_between(tmp_path, make_eeg):
    """'F3-A1' and 'F3-A2' both name F3: neither is read as it."""
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._labels import DatasetError

    ours = _mne_states(tmp_path / "p1_raw.fif", make_eeg, ["F3", "F4"], 0, "_raw.fif")
    theirs = _mne_states(tmp_path / "p2_raw.fif", make_eeg, ["F3-A1", "F3-A2"], 10,
                         "_raw.fif")
    with pytest.raises(DatasetError, match=r"^p2_raw\.fif has channels F3-A1, F3-A2 but "
                                           r"p1_raw\.fif has F3, F4; train on recordings "
                                           r"with one channel layout\.$"):
        extract_dataset(label_files([ours, theirs], "markers"), profile="lsl", n_jobs=1)


def test_bids_file_names_give_their_subject_and_session(tmp_path):
    """Sessions filed by `live --participant` are BIDS names; the default pattern
    read 'sub' as the subject of every one of them."""
    from biofeedback.training import label_files

    names = ["sub-s1_ses-01_task-training_eeg.xdf", "sub-s1_ses-02_task-training_eeg.xdf",
             "sub-s2_ses-01_task-training_eeg.xdf", "subjecta-relaxed-1.csv"]
    for n in names:
        (tmp_path / n).write_bytes(b"")
    files = label_files([tmp_path / n for n in names[:3]], labels_from="markers")
    assert [(f.subject, f.session) for f in files] == [("s1", "01"), ("s1", "02"), ("s2", "01")]
    files = label_files([tmp_path / n for n in names])  # labels from names: the task
    assert [(f.subject, f.session, f.label) for f in files] == [
        ("s1", "01", "training"), ("s1", "02", "training"), ("s2", "01", "training"),
        ("subjecta", "1", "relaxed")]
    # a pattern of the user's own is taken as written
    files = label_files([tmp_path / names[0]], labels_from="markers", pattern="{subject}_{}")
    assert files[0].subject == "sub-s1"


def test_a_model_that_cannot_calibrate_is_refused_by_every_command_that_loads_it(
        model_file, tmp_path, capsys):
    """A file z-scoring on too little calibration (written before the minimum was
    enforced) is refused where it is loaded, with one sentence, whatever the
    command: describing it, or a live session without feedback, used it before."""
    from biofeedback.errors import ModelError
    from biofeedback.live import build_session
    from biofeedback.training import load_model

    old = _edited(model_file, tmp_path, lambda m: m.update(calibration={
        "method": "zscore", "blocks": [{"state": None, "seconds": 2.5}]}))
    sentence = ("The model edited.bfm z-scores its features on 2.5 s of calibration, but "
                "z-scoring divides by their SD, which needs at least 10 s (5 windows of "
                "2 s); train it again with longer calibration blocks, or with "
                "--calibration-method center.")
    with pytest.raises(ModelError) as err:
        load_model(old)
    assert str(err.value) == sentence
    with pytest.raises(ModelError, match="z-scores its features on 2.5 s"):
        build_session("synthetic", model=old, feedback=False, record=False, view="none")
    assert main(["info", str(old)]) == 1
    assert capsys.readouterr().err == f"biofeedback: error: {sentence}\n"


def test_info_prints_a_model_files_text_without_control_characters(
        model_file, tmp_path, capsys):
    """A model file is anyone's text: its description, board and training
    summary reached the terminal as written, escape sequences included."""
    def edit(m):
        m.update(description="calm\x1b]0;owned\x07 or\nbusy", profile="muse_2\x1b[2J")
        m["training"]["windows_per_class"] = {"calm\x1b[31m": 3}

    assert main(["info", str(_edited(model_file, tmp_path, edit))]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert ": calm?]0;owned? or?busy\n" in out and "(profile muse_2?[2J)" in out
    assert "calm?[31m 3" in out


def test_a_model_centred_on_less_than_a_window_says_so_not_that_it_z_scores(
        model_file, tmp_path, capsys):
    old = _edited(model_file, tmp_path, lambda m: m.update(calibration={
        "method": "center", "blocks": [{"state": None, "seconds": 1.5}]}))
    assert main(["info", str(old)]) == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: The model edited.bfm centres its features on 1.5 s of "
        "calibration, shorter than one 2 s window, so no window would calibrate it; "
        "train it again with longer calibration blocks.\n")


def test_a_model_file_claiming_100000_classes_lists_ten_in_its_sentence(
        model_file, tmp_path, capsys):
    many = _edited(model_file, tmp_path, lambda m: m.update(
        classes=[f"c{i}" for i in range(100_000)]))
    assert main(["info", str(many)]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {many}: it lists the classes c0, c1, c2, c3, c4, c5, c6, "
        "c7, c8, c9 and 99990 more but its classifier gives busy, calm: the file was "
        "edited or damaged; train the model again.\n")


def test_a_model_calibrating_on_many_blocks_describes_ten(model_file, tmp_path, capsys):
    many = _edited(model_file, tmp_path, lambda m: m.update(calibration={
        "blocks": [{"state": None, "seconds": 1}] * 5000}))
    assert main(["info", str(many)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines()
                if x.startswith("calibration:"))
    assert line == ("calibration: " + " + ".join(["1 s baseline"] * 10)
                    + " and 4990 more (5000 s, center)")


def test_train_and_evaluate_score_a_held_out_person_alike_without_switching(
        recs, tmp_path, capsys):
    """With --switch-every 0, train's leave-one-subject-out fold of p1 and
    evaluate of the model trained on p2 alone score the same windows (after
    each recording's first 20 s) and give the same figure: train scored from
    0 s then, evaluate from 20 s."""
    import json

    from biofeedback.training import load_model

    common = ["--switch-every", "0", "--n-jobs", "1", "-q"]
    both, alone = tmp_path / "both.bfm", tmp_path / "p2.bfm"
    assert main(["train", *map(str, recs), "--out", str(both), *common]) == 0
    p1 = [str(p) for p in recs if p.name.startswith("p1-")]
    p2 = [str(p) for p in recs if p.name.startswith("p2-")]
    assert main(["train", *p2, "--out", str(alone), "--cv", "none", *common]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(alone), *p1, "--switch-every", "0", "--json",
                 "--n-jobs", "1"]) == 0
    scored = json.loads(capsys.readouterr().out)
    metrics = load_model(both).meta["metrics"]
    fold = next(f for f in metrics["filter 30 s"]["folds"] if f["test"] == "p1")
    # two 30 s recordings: only windows ending 22-30 s, at most 17 each
    assert 0 < fold["n_windows"] == scored["n_windows"] <= 2 * 17
    assert fold["balanced_accuracy"] == pytest.approx(scored["balanced_accuracy"])
    assert fold["recall"] == pytest.approx(scored["recall"])


def test_recordings_too_short_to_score_are_one_sentence_in_train(tmp_path, make_eeg,
                                                                 capsys):
    """train scores sustained states after 20 s, as evaluate does, and says so
    as evaluate does when no recording is longer (not 'No fold had windows')."""
    paths = [str(p) for p in _two_people(tmp_path, make_eeg, 8.0)]  # too short to score
    out = tmp_path / "m.bfm"
    assert main(["train", *paths, "--switch-every", "0", "--out", str(out)]) == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: No recording is longer than 20 s plus a window: one-state "
        "recordings are scored after their first 20 s, as a live session settles; score "
        "longer recordings.\n")
    assert not out.exists()
    assert main(["train", *paths, "--cv", "none", "--out", str(out), "-q"]) == 0


def test_a_class_of_one_window_is_one_project_sentence_not_sklearn_warnings(
        recs, tmp_path, capsys, caplog):
    """scikit-learn warned 'Only one sample available' (twice, with its source
    lines) when a fold trained on one window of a class; the project says it once,
    naming the class and the fold, and training goes on."""
    p1_calm, p1_busy, p2_calm, p2_busy = (str(p) for p in sorted(
        recs, key=lambda p: (p.name.split("-")[0], p.name.split("-")[1] != "calm")))
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,subject,start,stop\n"
                        f"{p1_calm},calm,p1,0,30\n{p1_busy},busy,p1,0,2.5\n"
                        f"{p2_calm},calm,p2,0,30\n{p2_busy},busy,p2,0,30\n")
    out = tmp_path / "m.bfm"
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(out), "--n-jobs", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert "UserWarning" not in err and "sklearn" not in err
    said = [r.getMessage() for r in caplog.records if "to train on" in r.getMessage()]
    assert said == ["The class 'busy' has only 1 window to train on (with p2 held out), "
                    "too few for a classifier to estimate that state; label longer "
                    "stretches of it (at least 5 windows)."]


def test_no_switching_advice_in_negative_seconds_for_recordings_shorter_than_20_s(
        tmp_path, make_eeg, caplog):
    """--switch-every was said to be longer than recordings 'leave after their
    first 20 s (at most -12.0 s)', with 'give at most -12 s' as the fix."""
    paths = [str(p) for p in _two_people(tmp_path, make_eeg, 8.0)]  # too short to score
    assert main(["train", *paths, "--cv", "none", "--out", str(tmp_path / "m.bfm"),
                 "-q"]) == 0
    assert "--switch-every" not in caplog.text


def test_a_manifest_mixing_whole_files_and_stretches_scores_switching_streams(
        recs, tmp_path, make_eeg, capsys):
    """Whole-file rows of a manifest build streams switching state even when
    other rows label a recording by stretches: train built none (it turned
    --switch-every off for the whole manifest), and evaluate scored the whole
    files from 0 s, as if they switched state."""
    import json

    import numpy as np

    from biofeedback.io import Recording, write_recording
    from biofeedback.training import load_model

    calm, _ = make_eeg(duration=30.0, alpha_hz=10.0, seed=7)
    busy, _ = make_eeg(duration=30.0, alpha_hz=6.0, seed=8)
    data = np.concatenate([calm, busy], axis=1)
    session = write_recording(Recording(data, 256.0, MUSE, 1000 + np.arange(data.shape[1])
                                        / 256.0, profile="muse_2016"),
                              tmp_path / "p3-session-1.xdf")
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,subject,start,stop\n"
                        + "".join(f"{p},{p.name.split('-')[1]},{p.name.split('-')[0]},,\n"
                                  for p in recs)
                        + f"{session},calm,p3,0,30\n{session},busy,p3,30,60\n")
    out = tmp_path / "m.bfm"
    args = ["--labels-from", "manifest", "--manifest", str(manifest), "--n-jobs", "1"]
    assert main(["train", *args, "--switch-every", "10", "--out", str(out), "-q"]) == 0
    switching = load_model(out).meta["metrics"]["window alone"]["switching"]
    assert switching is not None and switching["n_switches"] >= 4
    capsys.readouterr()
    assert main(["evaluate", str(out), *args, "--switch-every", "10", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    # streams of p1's and p2's files switch every 10 s; p3's session once, as labelled
    assert scored["switching"]["switch_every_s"] == 10.0
    assert scored["switching"]["n_switches"] > 1 + 2
    # the whole files after their first 20 s (at most 17 windows each), p3 throughout
    counts = scored["windows_per_subject_and_class"]
    assert sum(counts["p1"].values()) <= 2 * 17 and sum(counts["p3"].values()) > 100


@pytest.mark.parametrize("key, edit", [
    ("e.1.mean_", lambda a: a[:2]),  # truncated
    ("e.2.intercept_", lambda a: a * float("nan")),
    ("e.2.intercept_", lambda a: a.astype(str)),
    ("e.0.items_", lambda a: a[0]),  # a scalar for an array
])
def test_a_model_file_with_damaged_arrays_is_refused_on_load(key, edit, model_file, tmp_path,
                                                             capsys):
    import io
    import zipfile

    import numpy as np

    from biofeedback.errors import ModelError
    from biofeedback.training import load_model

    with zipfile.ZipFile(model_file) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(parts["estimator.npz"])) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = edit(arrays[key])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    parts["estimator.npz"] = buf.getvalue()
    bad = tmp_path / "edited.bfm"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, blob)
    with pytest.raises(ModelError, match="edited.bfm holds a malformed estimator"):
        load_model(bad)
    assert main(["evaluate", str(bad), *map(str, model_file.parent.glob("recs/*"))]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "train the model again" in lines[0]


def test_recordings_shorter_than_20_s_are_not_sent_to_switch_every_0(
        tmp_path, make_eeg, capsys):
    """8 s recordings: the switching-stream sentence said 'or pass
    --switch-every 0', which only led to 'No recording is longer than 20 s'."""
    paths = [str(p) for p in _two_people(tmp_path, make_eeg, 8.0)]  # too short to score
    assert main(["train", *paths, "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "too short to build a stream switching state" in err
    assert "--switch-every 0" not in err and "record longer" in err


def test_recordings_too_short_for_the_switch_length_are_told_one_that_fits(
        tmp_path, make_eeg, capsys):
    """28 s recordings leave 8 s after the first 20 s, under the 10 s a 30 s
    switch takes; the sentence said only 'record longer, or pass
    --switch-every 0', though a shorter switch builds the stream."""
    paths = [str(p) for p in _two_people(tmp_path, make_eeg, 28.0)]
    assert main(["train", *paths, "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "too short to build a stream switching state" in err
    assert "pass --switch-every 16 or less, or --switch-every 0" in err
    assert main(["train", *paths, "--out", str(tmp_path / "m.bfm"), "-q",
                 "--switch-every", "16"]) == 0

def test_a_closing_end_marker_neither_trains_nor_fails_evaluation(tmp_path, make_eeg,
                                                                  capsys):
    """A stimulus program's 'end' half a second before the recording's end:
    train left it out (no whole window fits after it), but evaluate labels
    windows by their end, so 'end' became a label and the recording was refused."""
    import numpy as np

    from biofeedback.io import Recording, write_recording

    paths = []
    for k in (1, 2):
        calm, ts = make_eeg(duration=60.0, alpha_hz=10.0, seed=k)
        busy, _ = make_eeg(duration=60.0, alpha_hz=6.0, seed=10 + k)
        data = np.concatenate([calm[:, :30 * 256], busy[:, 30 * 256:]], axis=1)
        marks = [(ts[0], "calm"), (ts[0] + 30.0, "busy"), (ts[-1] - 0.5, "end")]
        rec = Recording(data, 256.0, MUSE, ts, markers=marks, profile="muse_2016")
        paths.append(write_recording(rec, tmp_path / f"p{k}-session-1.xdf"))
    model = tmp_path / "m.bfm"
    assert main(["train", *map(str, paths), "--labels-from", "markers", "--cv", "none",
                 "--out", str(model), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), *map(str, paths), "--labels-from", "markers",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classes"] == ["busy", "calm"] and set(out["recall"]) == {"busy", "calm"}
    assert out["switching"]["n_switches"] == 2  # calm to busy in each, not to 'end'


def _retyped(model_file, tmp_path):
    """A copy of ``model_file`` whose estimator names a type outside the trusted list."""
    import zipfile

    with zipfile.ZipFile(model_file) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(parts["estimator.json"])
    doc["estimator"]["steps"][1]["estimator"]["type"] = "os.system"
    parts["estimator.json"] = json.dumps(doc).encode()
    out = tmp_path / "unsafe.bfm"
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, blob)
    return out


@pytest.mark.parametrize("fault, said", [
    ("cut", "is not a biofeedback model file"),
    ("newer", "was written by a newer biofeedback (model format 99); upgrade to read it."),
    ("unsafe", "holds the untrusted type os.system, which biofeedback refuses to load."),
])
def test_live_with_a_model_that_cannot_load_is_one_sentence(fault, said, model_file,
                                                            tmp_path, capsys):
    """``live --model FILE`` on the default board: a file that cannot load says so
    in one sentence naming it, and nothing else (no word of the board it names
    before the session refuses it)."""
    if fault == "cut":
        bad = model_file.with_name("cut.bfm")
        bad.write_bytes(model_file.read_bytes()[:200])
    elif fault == "newer":
        bad = _edited(model_file, tmp_path, lambda m: m.update(format_version=99))
    else:
        bad = _retyped(model_file, tmp_path)
    assert main(["live", "--model", str(bad), "--no-record", "--view", "none",
                 "--duration", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"biofeedback: error: {bad} {said}"), err


def test_live_with_a_model_of_another_board_says_which(model_file, capsys):
    """A model given by path is loaded once; the board its metadata names is
    said when the session runs on the default board instead."""
    code = main(["live", "--model", str(model_file), "--no-record", "--view", "none",
                 "--duration", "1"])
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == (
        "m.bfm was trained on muse_2016 recordings; no --board, --scenario, --lsl or "
        "--pipeline names this session's headset, so it runs on synthetic, the default "
        "pipeline's board: give --board muse_2016 to use that headset.")
    assert code == 1 and len(err.splitlines()) == 1, err


def test_a_class_too_short_to_be_scored_is_said(tmp_path, make_eeg, caplog):
    """A class recorded for a few seconds (shorter than the first 20 s that
    validation leaves unscored) was trained on and never scored: train printed
    1.00 over 'three classes, chance 0.33' without a word that one was left out."""
    from biofeedback.io import Recording, write_recording

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, (label, hz, seconds) in enumerate((("calm", 10.0, 25.0), ("busy", 6.0, 25.0),
                                                  ("drowsy", 4.0, 5.0))):
            data, ts = make_eeg(duration=seconds, alpha_hz=hz, seed=10 * k + j)
            rec = Recording(data, 256.0, MUSE, ts, profile="muse_2016")
            paths.append(str(write_recording(rec, tmp_path / f"{subject}-{label}-1.xdf")))
    model = tmp_path / "m.bfm"
    said = ("No window of the class 'drowsy' was scored, so the figures leave it out: its "
            "recordings last at most 5.0 s, and a one-state recording is scored from 20 s "
            "on; record at least 22 s of each state.")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *paths, "--switch-every", "0", "--out", str(model), "-q"]) == 0
    assert said in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", str(model), *paths[:3], "--switch-every", "0", "-q"]) == 0
    assert said in caplog.text


def test_a_class_the_gates_leave_no_window_of_is_named(tmp_path, make_eeg, caplog, capsys):
    """Every recording of one state with its electrodes flat: train said 'Only one
    class ('calm') among the labels', when 'busy' was among them and gated away;
    with three states the model was trained without one, and said nothing."""
    from biofeedback.io import Recording, write_recording

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0), ("drowsy", 4.0))):
            data, ts = make_eeg(duration=25.0, alpha_hz=hz, seed=10 * k + j)
            if label == "busy":
                data[:] = 0.0  # a headset never switched on
            rec = Recording(data, 256.0, MUSE, ts, profile="muse_2016")
            paths.append(str(write_recording(rec, tmp_path / f"{subject}-{label}-1.xdf")))
    said = ("Every window of the class 'busy' (p1-busy-1.xdf, p2-busy-1.xdf) is gated by "
            "the quality gates")
    hint = ("look at them with 'biofeedback info FILE' (flat, railed or empty channels), or "
            "pass --gated include (gated='include' in Python) to use the gated windows "
            "anyway.")
    model = str(tmp_path / "m.bfm")
    assert main(["train", *[p for p in paths if "drowsy" not in p], "--cv", "none",
                 "--out", model, "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {said}, so only 'calm' is left and a classifier needs two "
        f"classes; {hint}\n")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *paths, "--cv", "none", "--out", model, "-q"]) == 0
    assert f"{said}, so the model is trained and scored without it; {hint}" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", model, *paths[:3], "--switch-every", "0", "-q"]) == 0
    assert ("Every window of the class 'busy' (p1-busy-1.xdf) is gated by the quality "
            f"gates, so it is not scored; {hint}") in caplog.text


def test_an_annotation_with_a_duration_labels_its_span_alone(tmp_path, make_eeg):
    """MNE marks a state's span with an annotation's duration ('relaxed' for
    10 s from 0 s, 'busy' for 10 s from 20 s): each labelled every window up
    to the next annotation, the 10 s between them and the end included."""
    import mne

    from biofeedback.training import extract_dataset, label_files

    data, _ = make_eeg(duration=40.0)
    raw = mne.io.RawArray(data, mne.create_info(MUSE, 256.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 20.0, 35.0], [10.0, 10.0, 0.0],
                                        ["relaxed", "busy", "tap"]))
    fname = tmp_path / "p1-spans-1_raw.fif"
    raw.save(fname, verbose="error")
    ds = extract_dataset(label_files([fname], "markers"), profile="muse_2016", n_jobs=1,
                         gated="include")
    # window ends (the newest sample's time), of 2 s windows every 0.5 s
    spans = {c: (round(float(ds.t[ds.y == c].min()), 1), round(float(ds.t[ds.y == c].max()), 1))
             for c in ds.classes}
    assert spans == {"relaxed": (2.5, 10.0), "busy": (22.5, 30.0), "tap": (37.5, 40.0)}
    # converted to FIF or EDF, the spans keep their durations
    from biofeedback.io import read_recording, write_recording

    rec = read_recording(fname)
    for ext in ("_raw.fif", ".edf"):
        back = read_recording(write_recording(rec, tmp_path / f"copy{ext}"))
        t0 = back.timestamps[0]
        assert [(round(a - t0, 3), round(b - t0, 3), s)
                for a, b, s in back.provenance["marker_spans"]] == [
            (0.0, 10.0, "relaxed"), (20.0, 30.0, "busy")]


def test_annotation_spans_survive_convert_to_xdf(tmp_path, make_eeg):
    """``convert`` of an MNE file to XDF kept each annotation's onset alone: a
    state's 10 s span then labelled every window up to the next annotation
    (the rest between states, and a 'BAD_muscle' span's windows went back in)."""
    import mne

    from biofeedback.io import read_recording
    from biofeedback.training import extract_dataset, label_files

    data, _ = make_eeg(duration=40.0)
    raw = mne.io.RawArray(data, mne.create_info(MUSE, 256.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 14.0, 20.0, 35.0], [10.0, 4.0, 10.0, 0.0],
                                        ["relaxed", "BAD_muscle", "busy", "tap"]))
    fif = tmp_path / "p1-spans-1_raw.fif"
    raw.save(fif, verbose="error")
    xdf = tmp_path / "p1-spans-1.xdf"
    assert main(["convert", str(fif), str(xdf)]) == 0

    def labelled(path):
        ds = extract_dataset(label_files([path], "markers"), profile="muse_2016",
                             n_jobs=1, gated="include")
        return {c: sorted(np.round(ds.t[ds.y == c] - ds.t.min(), 1).tolist())
                for c in ds.classes}

    assert labelled(xdf) == labelled(fif)
    assert read_recording(xdf).provenance["marker_spans"] == \
        read_recording(fif).provenance["marker_spans"]
    # and from the XDF on to EDF, as from the FIF
    edf = tmp_path / "p1-spans-1.edf"
    assert main(["convert", str(xdf), str(edf)]) == 0
    t0 = read_recording(edf).timestamps[0]
    assert [(round(a - t0, 3), round(b - t0, 3), s) for a, b, s in
            read_recording(edf).provenance["marker_spans"]] == [
        (0.0, 10.0, "relaxed"), (14.0, 18.0, "BAD_muscle"), (20.0, 30.0, "busy")]


def test_switching_streams_leave_out_the_data_under_mne_bad_annotations(tmp_path, make_eeg):
    """Validation streams of file-labelled recordings were stitched from the raw
    data, a 'BAD_muscle' span (whose windows training leaves out) and all; it
    is cut out, the pieces joined as stretches are, with no step at the join."""
    import mne
    import numpy as np

    from biofeedback.io import read_recording
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._streams import stream_dataset, without_bad_spans

    paths = []
    for k, (state, alpha) in enumerate((("calm", 10.0), ("busy", 6.0))):
        data, _ = make_eeg(duration=60.0, alpha_hz=alpha, seed=k)
        raw = mne.io.RawArray(data, mne.create_info(MUSE, 256.0, "eeg"), verbose="error")
        if state == "calm":  # a muscle burst, marked as MNE's annotate_muscle_zscore does
            raw._data[:, 30 * 256: 40 * 256] += 2e-3
            raw.set_annotations(mne.Annotations([30.0], [10.0], ["BAD_muscle"]))
        paths.append(tmp_path / f"p1-{state}-1_raw.fif")
        raw.save(paths[-1], verbose="error")
    rec = read_recording(paths[0])
    cut = without_bad_spans(rec, 0.5)
    assert cut.n_times == rec.n_times - 10 * 256 - 128  # the span, and the cross-fade's overlap
    assert np.abs(cut.data).max() < 5e-4
    step = np.abs(np.diff(cut.data, axis=1))
    assert step[:, 30 * 256 - 200: 30 * 256 + 100].max() <= 1.5 * step.max(axis=1).min()
    assert np.allclose(np.diff(cut.timestamps), 1 / 256)  # the clock runs on
    ds = extract_dataset(label_files(paths, "filename"), profile="muse_2016", n_jobs=1)
    streams = stream_dataset(ds, None, 10.0, skip=5.0)
    assert streams.files
    for f in streams.files:
        assert np.abs(f.recording.data).max() < 5e-4, f.path


def _fif_with_triggers(fname, make_eeg):
    """A FIF file (MNE's writer): 'relaxed' at 0 s and 'busy' at 30 s as
    annotations, and trigger codes 1 at 5 s and 2 at 35 s on 'STI 014'."""
    import mne
    import numpy as np

    data, _ = make_eeg(duration=60.0)
    stim = np.zeros((1, data.shape[1]))
    stim[0, [5 * 256, 35 * 256]] = [1, 2]
    info = mne.create_info(MUSE + ["STI 014"], 256.0, ["eeg"] * 4 + ["stim"])
    raw = mne.io.RawArray(np.vstack([data, stim]), info, verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 30.0], [0.0, 0.0], ["relaxed", "busy"]))
    raw.save(fname, verbose="error")
    return fname


def test_trigger_codes_that_cut_labelled_stretches_are_said(tmp_path, make_eeg, caplog,
                                                              capsys):
    """A FIF file's trigger channel codes end the labelled stretch they fall
    in, as any marker does: two files trained on 64 windows instead of 464,
    without a word. It is said, with the option that reads through them."""
    import logging

    from biofeedback.training import extract_dataset, label_files

    fname = _fif_with_triggers(tmp_path / "p1-trig-1_raw.fif", make_eeg)
    files = label_files([fname], "markers")
    with caplog.at_level(logging.WARNING, logger="biofeedback"):
        cut = extract_dataset(files, profile="muse_2016", n_jobs=1, gated="include",
                              marker_labels=["relaxed", "busy"])
    said = [r.getMessage() for r in caplog.records if "trigger codes" in r.getMessage()]
    whole = extract_dataset(files, profile="muse_2016", n_jobs=1, gated="include",
                            marker_labels=["relaxed", "busy"], ignore_markers=["1", "2"])
    assert len(whole) > 5 * len(cut)
    assert said == [
        f"p1-trig-1_raw.fif: the trigger codes 1, 2 end the labelled stretches they fall "
        f"in, leaving {len(whole) - len(cut)} windows unlabelled; give --ignore-markers "
        "1,2 to read through them."]
    caplog.clear()
    out = tmp_path / "m.bfm"
    assert main(["train", str(fname), "--labels-from", "markers", "--marker-labels",
                 "relaxed,busy", "--ignore-markers", "1,2", "--cv", "none", "--gated",
                 "include", "--profile", "muse_2016", "--out", str(out)]) == 0
    assert "trigger codes" not in capsys.readouterr().err
    assert not [r for r in caplog.records if "trigger codes" in r.getMessage()]
    assert main(["train", str(fname), "--ignore-markers", "1",
                 "--out", str(tmp_path / "m2.bfm")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "biofeedback: error: --ignore-markers is read only with --labels-from markers "
        "(labels now come from file names); add --labels-from markers, or leave out "
        "--ignore-markers.")


def test_mne_bad_annotations_leave_their_windows_out_and_are_no_state(tmp_path, make_eeg):
    """A recording cleaned in MNE marks bad stretches 'BAD_muscle' (MNE leaves
    out data under any annotation starting with 'bad'): labels from markers made
    'BAD_muscle' a state, cut the state it fell in, and kept its windows."""
    import mne

    from biofeedback.training import extract_dataset, label_files

    data, _ = make_eeg(duration=40.0)
    raw = mne.io.RawArray(data, mne.create_info(MUSE, 256.0, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([0.0, 6.0, 20.0, 30.0], [20.0, 3.0, 20.0, 0.0],
                                        ["relaxed", "BAD_muscle", "busy", "bad blink"]))
    fname = tmp_path / "p1-clean-1_raw.fif"
    raw.save(fname, verbose="error")
    ds = extract_dataset(label_files([fname], "markers"), profile="muse_2016", n_jobs=1)
    assert ds.classes == ["busy", "relaxed"]
    t = ds.t.round(3)  # the windows' ends: a 2 s window touches a span from its start on
    assert not ((t >= 6.0) & (t - 2.0 <= 9.0)).any() and not ((t >= 30) & (t <= 32)).any()
    relaxed, busy = t[ds.y == "relaxed"], t[ds.y == "busy"]
    # the state holds on past the bad stretch, to the next marker
    assert relaxed.min() < 6.0 and 11.0 < relaxed[relaxed > 6.0].min() < 12.0
    assert round(relaxed.max(), 1) == 20.0 and round(busy.min(), 1) == 22.5


def test_folds_of_two_people_are_not_said_to_choose_their_evidence_weight(recs, tmp_path,
                                                                          capsys):
    """Leave one of two people out trains each fold on one person: the nested
    choice of the weight, which holds a training person out, cannot run."""
    assert main(["train", *map(str, recs), "--out", str(tmp_path / "m.bfm"),
                 "--switch-every", "4"]) == 0
    out = capsys.readouterr().out
    assert "each fold chose" not in out
    assert "no fold could choose: each trained on one subject" in out
    from biofeedback.training import load_model

    folds = load_model(tmp_path / "m.bfm").meta["metrics"]["filter 30 s"]["folds"]
    assert [f["evidence_chosen"] for f in folds] == [False, False]


def test_recordings_holding_the_channels_in_another_order_are_read_by_name(tmp_path,
                                                                           make_eeg):
    """EDF files another program wrote with the same channels in another order
    are trained on by channel name: each channel's features land in its column."""
    import numpy as np

    from biofeedback.io import Recording, write_recording
    from biofeedback.training import extract_dataset, label_files

    datasets = []
    for folder, order in (("asis", [0, 1, 2, 3]), ("other", [2, 3, 0, 1])):
        (tmp_path / folder).mkdir()
        for label, hz in (("calm", 10.0), ("busy", 6.0)):
            for k, subject in enumerate(("p1", "p2")):
                data, ts = make_eeg(duration=12.0, alpha_hz=hz, seed=len(label) + 10 * k)
                data[1] *= 2.0  # AF7 louder than the rest: a column swap would show
                idx = order if subject == "p2" else [0, 1, 2, 3]  # AF8, TP10, TP9, AF7
                rec = Recording(data[idx], 256.0, [MUSE[c] for c in idx], ts,
                                profile="muse_2016")
                write_recording(rec, tmp_path / folder / f"{subject}-{label}-1.edf")
        datasets.append(extract_dataset(label_files([tmp_path / folder]),
                                        profile="muse_2016", n_jobs=1, gated="include"))
    asis, other = datasets
    assert other.ch_names == MUSE and len(other) > 40
    np.testing.assert_allclose(other.X, asis.X, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(other.subject, asis.subject)


def test_the_same_eeg_under_two_names_is_said(recs, caplog):
    """A recording copied in as another person's: holding one out and training
    on the other scores a model on its own training data (a random forest went
    from 0.61 to 0.96 for that person on simulated recordings)."""
    import shutil

    copy = recs[0].with_name("p3-calm-1.xdf")
    shutil.copy(recs[0], copy)
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *map(str, recs), str(copy), "--cv", "none", "--out",
                     str(recs[0].with_name("m.bfm")), "-q"]) == 0
    said = [r.getMessage() for r in caplog.records if "same EEG" in r.getMessage()]
    assert said == [
        f"p3-calm-1.xdf holds the same EEG as {recs[0].name} (subjects p1 and p3): its "
        "windows count twice, and a split that trains on one scores the other on its "
        "own training data; leave one of them out."]


def test_classes_recorded_for_unequal_times_are_said(tmp_path, make_eeg, caplog):
    """One state recorded four times as long as the other: the classifier takes
    the windows' shares for how often each state occurs, which train says."""
    from biofeedback.io import Recording, write_recording

    for subject in ("p1", "p2"):
        for label, hz, seconds in (("calm", 10.0, 48.0), ("busy", 6.0, 12.0)):
            data, ts = make_eeg(duration=seconds, alpha_hz=hz, seed=len(subject + label))
            write_recording(Recording(data, 256.0, MUSE, ts, profile="muse_2016"),
                            tmp_path / f"{subject}-{label}-1.xdf")
    assert main(["train", str(tmp_path), "--cv", "none", "--switch-every", "0", "--out",
                 str(tmp_path / "m.bfm"), "-q"]) == 0
    said = [r.getMessage() for r in caplog.records if "unbalanced" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("The classes hold unbalanced numbers of windows ('calm' ")
    assert "leans toward 'calm'" in said[0]
    caplog.clear()
    for p in tmp_path.glob("*-calm-1.xdf"):  # as long as the other: nothing to say
        data, ts = make_eeg(duration=12.0, alpha_hz=10.0, seed=3)
        write_recording(Recording(data, 256.0, MUSE, ts, profile="muse_2016"), p,
                        overwrite=True)
    assert main(["train", str(tmp_path), "--cv", "none", "--switch-every", "0", "--out",
                 str(tmp_path / "m.bfm"), "-q"]) == 0
    assert not [r for r in caplog.records if "unbalanced" in r.getMessage()]


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_shell_pattern_that_matched_nothing_is_said_as_such(command, recs, model_file,
                                                              capsys):
    """bash passes 'bids/*/*.edf' as written when it matches no file: that was
    said as a name the label pattern does not match."""
    missing = recs[0].parent / "*" / "*.edf"
    out = recs[0].with_name("x.bfm")
    argv = ([command, str(missing), "--out", str(out)] if command == "train"
            else [command, str(model_file), str(missing)])
    assert main([*argv, "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {missing}: no such file or folder; the shell passes a "
        "pattern that matches no file as it is written, so check the folders it names.\n")
    argv = [str(recs[0]) + "x" if a == str(missing) else a for a in argv]
    assert main([*argv, "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {recs[0]}x: no such file or folder.\n")
    assert not out.exists()


def test_a_person_who_cannot_be_held_out_is_said(recs, tmp_path, caplog, capsys):
    """p1 recorded one state only: holding p2 out leaves one class to train on,
    and p2 was left out of the table without a word."""
    recs[1].unlink()  # p1-busy-1.xdf
    kept = [str(p) for p in recs if p.exists()]
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *kept, "--switch-every", "0", "--out",
                     str(tmp_path / "m.bfm")]) == 0
    assert ("Held out, p2 (the rest holds only 'calm') could not be scored: a classifier "
            "needs two classes to train on, so it is missing from the figures; record "
            "every state for at least two people (or sessions).") in caplog.text
    table = capsys.readouterr().out
    assert "\np1 " in table and "\np2 " not in table


def test_a_bids_eeg_folder_given_as_a_folder_trains_on_its_recordings(tmp_path, make_eeg,
                                                                      capsys):
    """mne-bids writes channels and events tables beside each recording: given
    the eeg/ folders, train read sub-..._channels.tsv as a recording and stopped
    (asking for a --format that train does not take)."""
    from biofeedback.io import Recording, write_recording

    folders = []
    for k, subject in enumerate(("01", "02")):
        eeg = tmp_path / f"sub-{subject}" / "ses-01" / "eeg"
        eeg.mkdir(parents=True)
        folders.append(str(eeg))
        for j, (task, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
            stem = f"sub-{subject}_ses-01_task-{task}"
            data, ts = make_eeg(duration=30.0, alpha_hz=hz, seed=10 * k + j)
            write_recording(Recording(data, 256.0, MUSE, ts, profile="muse_2016"),
                            eeg / f"{stem}_eeg.edf")
            (eeg / f"{stem}_channels.tsv").write_text(
                "name\ttype\tunits\tlow_cutoff\thigh_cutoff\tstatus\n"
                + "".join(f"{c}\tEEG\tV\t0.0\t128.0\tgood\n" for c in MUSE))
            (eeg / f"{stem}_events.tsv").write_text("onset\tduration\ttrial_type\n")
        (tmp_path / f"sub-{subject}" / "ses-01" / f"sub-{subject}_ses-01_scans.tsv"
         ).write_text("filename\tacq_time\n")
    assert main(["train", *folders, "--out", str(tmp_path / "m.bfm"), "--switch-every",
                 "0"]) == 0
    out = capsys.readouterr().out
    assert " windows from 4 recordings " in out.splitlines()[0]
    assert "\n01 " in out and "\n02 " in out
    # a BrainVision or EEGLAB recording is its header; its data and marker
    # files beside it are no recordings of their own
    from biofeedback.training import label_files

    bv = tmp_path / "bv"
    bv.mkdir()
    for name in ("p1-calm-1.vhdr", "p1-calm-1.eeg", "p1-calm-1.vmrk", "p1-busy-1.set",
                 "p1-busy-1.fdt", "p1-odd-1.eeg"):
        (bv / name).write_bytes(b"")
    assert [Path(f.path).name for f in label_files([bv])] == [
        "p1-busy-1.set", "p1-calm-1.vhdr", "p1-odd-1.eeg"]


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_file_of_no_known_format_is_not_told_to_take_a_format_option(command, recs,
                                                                       model_file, capsys):
    """train and evaluate take no --format, which their sentence asked for."""
    odd = recs[0].with_name("p3-calm-1.csv")
    odd.write_text("a,b,c\n1,2,3\n")
    argv = ([command, *map(str, recs), str(odd), "--out", str(odd.with_suffix(".bfm"))]
            if command == "train" else [command, str(model_file), str(odd)])
    assert main([*argv, "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {odd}, line 1: the content matches no format biofeedback "
        "reads (first line 'a,b,c'); leave it out of the recordings given, or convert it "
        "first with 'biofeedback convert FILE OUT.fif --in-format NAME'.\n")


@pytest.mark.parametrize("field, cells", [("session", ("1", "2")), ("subject", ("p1", "p9"))])
def test_stretches_of_one_recording_given_two_sessions_are_one_sentence(field, cells, recs,
                                                                        tmp_path, capsys):
    """The second row's session (or subject) was dropped without a word: a
    recording is one person's one session, whatever its rows say."""
    manifest = tmp_path / "labels.csv"
    a = str(recs[0])
    rows = [f"{a},calm,{cells[0]},0,10", f"{a},busy,{cells[1]},10,20",
            f"{recs[2]},calm,p2,0,30"]
    manifest.write_text("\n".join([f"path,label,{field},start,stop", *rows]) + "\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err == (
        f"biofeedback: error: {manifest}, lines 2 and 3: stretches of {recs[0].name} give "
        f"the {field}s {cells[0]!r} and {cells[1]!r}, but a recording is one person's one "
        f"session; give its rows one {field}.\n")
    # a blank cell on a later row follows the first
    manifest.write_text("\n".join([f"path,label,{field},start,stop", rows[0],
                                   f"{a},busy,,10,20", rows[2]]) + "\n")
    from biofeedback.training import label_files

    files = label_files(labels_from="manifest", manifest=manifest, min_classes=1)
    assert getattr(files[0], field) == cells[0]


def test_evaluate_knows_a_training_recording_under_another_name(model_file, tmp_path,
                                                                capsys, caplog):
    """A training recording renamed as another person's (p1 -> p7) was scored as
    new data: neither its name nor its subject was the model's."""
    import json
    import shutil

    recs = sorted(model_file.parent.glob("recs/p1-*"))
    for p in recs:
        shutil.copy(p, tmp_path / p.name.replace("p1-", "p7-"))
    assert main(["evaluate", str(model_file), *map(str, sorted(tmp_path.glob("p7-*"))),
                 "--json"]) == 0
    seen = json.loads(capsys.readouterr().out)["seen_in_training"]
    assert seen == {"files": ["p7-busy-1.xdf", "p7-calm-1.xdf"], "subjects": []}
    assert "2 of the 2 recordings scored were in the model's training data" in caplog.text
