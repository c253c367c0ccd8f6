"""Recordings, manifests and models named as other people and other systems name
them: dots inside file names, manifests made on Windows, manifests holding no
row, a model trained with a board profile file of its own."""

import pytest

from biofeedback.cli import main

MUSE = ["TP9", "AF7", "AF8", "TP10"]


def _write(path, make_eeg, hz, seed, duration=12.0):
    from biofeedback.io import Recording, write_recording

    data, ts = make_eeg(duration=duration, alpha_hz=hz, seed=seed)
    return write_recording(Recording(data, 256.0, MUSE, ts, profile="muse_2016"), path)


def test_a_dot_inside_a_file_name_is_part_of_what_the_pattern_reads(tmp_path, make_eeg):
    """'dr.smith-calm-1.xdf' did not fit '{subject}-{label}-{session}': the name
    was cut at its first dot, leaving 'dr'."""
    from biofeedback.training import label_files

    paths = [_write(tmp_path / "dr.smith-calm-1.xdf", make_eeg, 10.0, 0),
             _write(tmp_path / "p2-busy-1.5.xdf", make_eeg, 6.0, 1)]
    files = {f.path: f for f in label_files(paths)}
    smith, p2 = files[str(paths[0])], files[str(paths[1])]
    assert (smith.subject, smith.label, smith.session) == ("dr.smith", "calm", "1")
    assert (p2.subject, p2.label, p2.session) == ("p2", "busy", "1.5")


def test_the_raw_ending_mne_asks_of_fif_names_is_no_part_of_the_label(tmp_path, make_eeg):
    """MNE warns unless a raw FIF file's name ends in '_raw.fif' or '-raw.fif';
    so named, 'p1-calm_raw.fif' was the class 'calm_raw' (and 'p1-calm-1_raw.fif'
    the session '1_raw'), which no other format's recordings could match."""
    import mne

    from biofeedback.training import label_files

    paths = []
    for name in ("p1-calm_raw.fif", "p1-busy-raw.fif", "p2-calm_raw.fif.gz"):
        data, _ = make_eeg(duration=2.0)
        raw = mne.io.RawArray(data, mne.create_info(MUSE, 256.0, "eeg"), verbose="error")
        raw.save(tmp_path / name, verbose="error")
        paths.append(str(tmp_path / name))
    got = [(f.subject, f.label) for f in label_files(paths, pattern="{subject}-{label}")]
    assert got == [("p1", "calm"), ("p1", "busy"), ("p2", "calm")]
    raw.save(tmp_path / "p1-calm-1_raw.fif", verbose="error")
    (f,) = label_files([str(tmp_path / "p1-calm-1_raw.fif")], min_classes=1)
    assert (f.subject, f.label, f.session) == ("p1", "calm", "1")


def test_a_manifest_made_on_windows_finds_its_recordings(tmp_path, make_eeg):
    """Backslashes, CRLF line ends and a byte-order mark, as a spreadsheet on
    Windows saves the manifest: 'recs\\p1.xdf' named no file here."""
    from biofeedback.training import label_files

    (tmp_path / "recs").mkdir()
    a = _write(tmp_path / "recs" / "a.xdf", make_eeg, 10.0, 0)
    b = _write(tmp_path / "recs" / "b.xdf", make_eeg, 6.0, 1)
    manifest = tmp_path / "labels.csv"
    manifest.write_bytes(b"\xef\xbb\xbfpath,label,subject\r\n"
                         b"recs\\a.xdf,calm,p1\r\nrecs\\b.xdf,busy,p2\r\n")
    files = label_files(labels_from="manifest", manifest=manifest)
    assert [(f.path, f.label, f.subject) for f in files] == [
        (str(a), "calm", "p1"), (str(b), "busy", "p2")]


def test_a_manifest_of_a_header_alone_is_named(tmp_path, capsys):
    """It said 'No recordings were given.', naming neither the manifest nor its fault."""
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,subject,start,stop\n")
    out = tmp_path / "m.bfm"
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(out), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The manifest {manifest} lists no recording; give a row "
        "per recording (or stretch) under its header.")
    assert not out.exists()


@pytest.mark.parametrize("cell", ["recs\\nope.xdf", "C:\\recs\\a.xdf"])
def test_a_windows_path_naming_no_file_is_still_said_as_written(cell, tmp_path, make_eeg,
                                                                capsys):
    (tmp_path / "recs").mkdir()
    _write(tmp_path / "recs" / "a.xdf", make_eeg, 10.0, 0)
    manifest = tmp_path / "labels.csv"
    manifest.write_text(f"path,label\n{cell},calm\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"line 2: the recording {tmp_path / cell} does not exist" in err


def test_a_model_trained_with_a_profile_file_names_no_file_to_read(
        tmp_path, make_eeg, monkeypatch, capsys):
    """A model file may bring features and a classifier, never a path: it keeps
    a profile file by its file name, never reads it, and evaluate (from any
    folder) asks for --profile in one sentence naming the model and the file."""
    import json
    import zipfile

    from biofeedback._data import data_dir

    lab = tmp_path / "lab"
    lab.mkdir()
    toml = (data_dir("hardware") / "muse_2016.toml").read_text()
    (lab / "lab.toml").write_text(toml.replace('name = "muse_2016"', 'name = "lab"'))
    recs = [_write(lab / f"p{k}-{state}-1.xdf", make_eeg, hz, 2 * k + j, duration=24.0)
            for k in (1, 2) for j, (state, hz) in enumerate((("calm", 10.0), ("busy", 6.0)))]
    monkeypatch.chdir(lab)
    assert main(["train", *(p.name for p in recs), "--profile", "./lab.toml", "--cv", "none",
                 "--out", "m.bfm", "-q"]) == 0
    with zipfile.ZipFile(lab / "m.bfm") as z:
        assert json.loads(z.read("meta.json"))["profile"] == "lab.toml"  # no folder
    for where in (lab, tmp_path):  # beside the profile file, or anywhere else
        monkeypatch.chdir(where)
        capsys.readouterr()
        assert main(["evaluate", str(lab / "m.bfm"), str(recs[0]), "-q"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"biofeedback: error: The model {lab / 'm.bfm'} was trained on "
                       "recordings read with the board profile file 'lab.toml', and a model "
                       "file names no file to read; pass --profile with that file (or the "
                       "recordings' board)."]
    assert main(["evaluate", str(lab / "m.bfm"), *map(str, recs), "--profile",
                 str(lab / "lab.toml"), "--switch-every", "0", "-q"]) == 0
    assert capsys.readouterr().out.startswith("balanced accuracy ")


def test_a_model_file_or_a_zip_given_as_a_recording_says_what_it_is(tmp_path, make_eeg,
                                                                     capsys):
    """'biofeedback report m.bfm' (for the training report) said 'binary content
    that is not a recording format', as it did for recordings sent zipped."""
    import zipfile

    recs = [_write(tmp_path / f"p1-{s}-1.xdf", make_eeg, hz, j)
            for j, (s, hz) in enumerate((("calm", 10.0), ("busy", 6.0)))]
    model = tmp_path / "m.bfm"
    assert main(["train", *map(str, recs), "--cv", "none", "--out", str(model), "-q"]) == 0
    packed = tmp_path / "recs.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        zf.write(recs[0], recs[0].name)
    capsys.readouterr()
    for argv in (["report", str(model)], ["replay", str(model)], ["info", str(packed)]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err
        if argv[0] == "info":
            assert err == (f"biofeedback: error: {packed}: a zip archive; unzip it and read "
                           "the recordings it holds.")
        else:
            assert err == (f"biofeedback: error: {model}: a model file of 'biofeedback "
                           "train', not a recording: 'biofeedback info' describes it, and "
                           "train wrote its report beside it (m.html unless --report said "
                           "otherwise).")
    assert not (tmp_path / "m.csv").exists()


def test_people_of_one_state_each_say_why_no_fold_trains(tmp_path, make_eeg, capsys):
    """A manifest of one state per person: 'No fold had windows to score.' said
    neither what was wrong nor what to do."""
    recs = [_write(tmp_path / f"{p}.xdf", make_eeg, hz, k, duration=40.0)
            for k, (p, hz) in enumerate((("ann", 10.0), ("ben", 6.0)))]
    manifest = tmp_path / "labels.csv"
    manifest.write_text(f"path,label,subject\n{recs[0]},calm,ann\n{recs[1]},busy,ben\n")
    out = tmp_path / "m.bfm"
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(out), "-q"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "biofeedback: error: No validation fold could be trained: what is left when each "
        "is held out holds one class only (without ann: 'busy'; without ben: 'calm'); "
        "record every state for at least two people (or sessions), or pass --cv none to "
        "train without validation.")
    assert not out.exists()
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(out), "--cv", "none", "-q"]) == 0


@pytest.mark.parametrize("text, said", [
    ("# study labels\npath,label\na.xdf,calm\n",
     "its first line, '# study labels', is read as the header: put the column names there."),
    ("", "it is empty: write the header 'path,label' and a row per recording."),
])
def test_a_manifest_without_its_header_first_says_what_it_read(text, said, tmp_path,
                                                               capsys):
    """A comment above the header said only '(missing: label, path)'."""
    manifest = tmp_path / "labels.csv"
    manifest.write_text(text)
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The manifest {manifest} needs the columns path and label "
        f"(missing: label, path); {said}")


def test_evaluate_takes_the_model_as_live_and_replay_take_it(tmp_path, make_eeg, capsys):
    """'evaluate --model m.bfm recs' (as live and replay spell it) was a usage
    error, and a recording given before the model was called a damaged model."""
    recs = [_write(tmp_path / f"p1-{s}-1.xdf", make_eeg, hz, j, duration=24.0)
            for j, (s, hz) in enumerate((("calm", 10.0), ("busy", 6.0)))]
    model = tmp_path / "m.bfm"
    assert main(["train", *map(str, recs), "--cv", "none", "--out", str(model), "-q"]) == 0
    capsys.readouterr()
    scores = []
    for argv in ([str(model), *map(str, recs)], ["--model", str(model), *map(str, recs)],
                 [*map(str, recs), "--model", str(model)]):
        assert main(["evaluate", *argv, "--switch-every", "0", "-q"]) == 0
        scores.append(capsys.readouterr().out)
    assert scores[0].startswith("balanced accuracy ") and len(set(scores)) == 1
    assert main(["evaluate", str(recs[0]), str(model), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: {recs[0]} is given where the model goes and {model} among "
        f"the recordings; put the model first: biofeedback evaluate {model} RECORDING ...")


def test_recordings_may_come_on_both_sides_of_options(tmp_path, make_eeg, capsys):
    """'evaluate rec1 --model m.bfm rec2' and 'train rec1 --out m.bfm rec2' were
    usage errors ('unrecognized arguments: rec2')."""
    recs = [_write(tmp_path / f"p1-{s}-1.xdf", make_eeg, hz, j, duration=24.0)
            for j, (s, hz) in enumerate((("calm", 10.0), ("busy", 6.0)))]
    model = tmp_path / "m.bfm"
    assert main(["train", str(recs[0]), "--cv", "none", "--out", str(model), str(recs[1]),
                 "-q"]) == 0
    capsys.readouterr()
    scores = []
    for argv in ([str(model), *map(str, recs)],
                 [str(recs[0]), "--model", str(model), str(recs[1])],
                 [str(model), str(recs[0]), "--switch-every", "0", str(recs[1])]):
        assert main(["evaluate", *argv, "--switch-every", "0", "-q"]) == 0
        scores.append(capsys.readouterr().out)
    assert scores[0].startswith("balanced accuracy ") and len(set(scores)) == 1


def test_marker_texts_with_stray_spaces_are_one_state(tmp_path, make_eeg, caplog):
    """A stimulus program's 'rest\\n' and ' rest' made two classes beside 'rest',
    and 'Rest' a third, without a word (file and manifest labels were warned of)."""
    import numpy as np

    from biofeedback.io import Recording, write_recording
    from biofeedback.training import extract_dataset, label_files

    paths = []
    for k, (first, again) in enumerate((("rest\n", " rest"), ("rest", "Rest"))):
        calm, ts = make_eeg(duration=30.0, alpha_hz=10.0, seed=k)
        t0 = float(ts[0])
        marks = [(t0, first), (t0 + 10, "focus "), (t0 + 20, again), (t0 + 25, "  ")]
        paths.append(write_recording(Recording(calm, 256.0, ["TP9", "AF7", "AF8", "TP10"],
                                               ts, profile="muse_2016", markers=marks),
                                     tmp_path / f"p{k}.xdf"))
    ds = extract_dataset(label_files(paths, "markers"), n_jobs=1, gated="include")
    assert ds.classes == ["Rest", "focus", "rest"]
    assert "The labels 'Rest', 'rest' differ only in case or spaces" in caplog.text
    first = ds.recording == 0  # ' rest' and 'rest\n' one class; the blank marker ends it
    assert set(ds.y[first].tolist()) == {"rest", "focus"}
    y0, y1 = ds.y[first], ds.y[~first]
    assert np.sum(y0 == "rest") == np.sum(y1 == "rest") + np.sum(y1 == "Rest")
    assert ds.t[first].max() <= 25.0 + 1e-6  # nothing labelled after the blank marker


def test_a_manifest_and_its_paths_may_start_at_the_home_folder(tmp_path, make_eeg,
                                                               monkeypatch):
    """'~/recs/a.xdf' in a manifest (and --manifest '~/labels.csv' from Python or
    a quoted shell word) was read as a folder named '~'."""
    from biofeedback.training import label_files

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "recs").mkdir()
    a = _write(tmp_path / "recs" / "a.xdf", make_eeg, 10.0, 0)
    b = _write(tmp_path / "recs" / "b.xdf", make_eeg, 6.0, 1)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "labels.csv").write_text("path,label\n~/recs/a.xdf,calm\n~/recs/b.xdf,busy\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    files = label_files(labels_from="manifest", manifest="~/labels.csv")
    assert [(f.path, f.label) for f in files] == [(str(a), "calm"), (str(b), "busy")]


@pytest.mark.parametrize("argv, said", [
    (["{rec}", "--labels-from", "manifest", "--manifest", "{manifest}"],
     "With --labels-from manifest the manifest lists the recordings, so {rec} would not "
     "be read; add it to the manifest, or leave it out."),
    (["{rec}", "--labels-from", "markers", "--manifest", "{manifest}"],
     "--manifest is read only with --labels-from manifest (labels now come from "
     "markers); add --labels-from manifest, or leave out --manifest."),
    (["{rec}", "--marker-labels", "calm,busy"],
     "--marker-labels is read only with --labels-from markers (labels now come from file "
     "names); add --labels-from markers, or leave out --marker-labels."),
])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_label_options_of_another_source_are_refused(command, argv, said, tmp_path,
                                                    make_eeg, capsys):
    """They were left out without a word: a recording given beside a manifest was
    not trained on, a manifest beside --labels-from markers not read."""
    rec = _write(tmp_path / "p1-calm-1.xdf", make_eeg, 10.0, 0)
    manifest = tmp_path / "labels.csv"
    manifest.write_text(f"path,label\n{rec},calm\n")
    model = tmp_path / "m.bfm"
    fill = {"rec": str(rec), "manifest": str(manifest)}
    head = ["train", "--out", str(model)] if command == "train" else ["evaluate", str(model)]
    assert main([*head, *(a.format(**fill) for a in argv), "-q"]) == 1
    assert capsys.readouterr().err.strip() == "biofeedback: error: " + said.format(**fill)
    assert not model.exists()


def test_many_recordings_beside_a_manifest_are_said_as_a_capped_list(tmp_path, capsys):
    """Listed through the one list helper ('... and 3 more'), not cut with '...'."""
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label\na.xdf,calm\n")
    recs = [str(tmp_path / f"r{i}.xdf") for i in range(5)]
    assert main(["train", *recs, "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: With --labels-from manifest the manifest lists the "
        f"recordings, so {recs[0]}, {recs[1]} and 3 more would not be read; add them to "
        "the manifest, or leave them out.")


def test_a_stretch_ending_long_after_its_recording_is_said(tmp_path, make_eeg, caplog):
    """'30,750' for '30,75' labelled the rest of the recording without a word."""
    from biofeedback.training import extract_dataset, label_files

    rec = _write(tmp_path / "a.xdf", make_eeg, 10.0, 0, duration=20.0)
    manifest = tmp_path / "labels.csv"
    manifest.write_text(f"path,label,start,stop\n{rec},calm,0,10\n{rec},busy,10,170\n")
    extract_dataset(label_files(labels_from="manifest", manifest=manifest), n_jobs=1)
    said = [r.getMessage() for r in caplog.records if "stretch" in r.getMessage()]
    assert said == ["The manifest's stretch 10-170 s ('busy') of a.xdf ends 150.0 s after "
                    "the recording (which lasts 20.0 s); only its windows up to the end "
                    "are labelled: check that stop is in seconds from the recording's "
                    "first sample."]


def test_a_manifest_naming_a_column_twice_is_refused(tmp_path, capsys):
    """'path,label,Label': the second label column won without a word."""
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,Label\na.xdf,calm,busy\n")
    assert main(["train", "--labels-from", "manifest", "--manifest", str(manifest),
                 "--out", str(tmp_path / "m.bfm"), "-q"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The manifest {manifest} names the column 'label' twice; "
        "keep one column of each name.")
