"""BIDS export through mne-bids: entities from file names, mains from the board."""

import json

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.hardware import get_profile
from biofeedback.io import bids_entities, export_bids, read_recording, write_recording
from biofeedback.io._bids import entities_of

mne_bids = pytest.importorskip("mne_bids")


@pytest.mark.parametrize(("fname", "kwargs", "expected"), [
    ("subjecta-neutral-1.csv", {}, ("subjecta", "1", "neutral")),
    ("dir/subject_b-relaxed-02.fif.gz", {}, ("subjectb", "02", "relaxed")),
    ("subjecta-neutral-1.csv", {"participant": "P07"}, ("P07", "1", "neutral")),
    # a session's own file name is not the pattern: the participant is the subject
    ("20261123-134035_synthetic.xdf", {"participant": "P01"},
     ("P01", None, "biofeedback")),
    # the study layout's names are already BIDS
    ("sub-P01_ses-03_task-engagement_eeg.xdf", {}, ("P01", "03", "engagement")),
    ("sub-P01_ses-03_eeg.xdf", {"task": "nf"}, ("P01", "03", "nf")),
    ("session.xdf", {}, ("session", None, "biofeedback")),
    ("session.xdf", {"task": "nf"}, ("session", None, "nf")),
    # BIDS labels are ASCII: accents come off, as isalnum alone would keep them
    ("Müller-ruhig_é-2.csv", {}, ("Muller", "2", "ruhige")),
    # a dot inside the name is part of it (the name was cut at its first dot)
    ("dr.smith-relaxed-1.xdf", {}, ("drsmith", "1", "relaxed")),
])
def test_bids_entities_from_the_file_name(fname, kwargs, expected):
    ent = bids_entities(fname, **kwargs)
    assert (ent["subject"], ent["session"], ent["task"]) == expected


def test_bids_entities_refuse_an_empty_label():
    with pytest.raises(ValueError, match="subject '__' of __-x-1.csv"):
        bids_entities("__-x-1.csv")


@pytest.mark.parametrize("fname", ["张三-relaxed-1.csv", "subjecta-straße-1.csv"])
def test_a_letter_with_no_ascii_form_is_refused(fname):
    with pytest.raises(ValueError, match=f"of {fname} holds letters BIDS labels forbid"):
        bids_entities(fname)


def test_two_names_that_clean_to_one_label_are_refused(tmp_path, capsys):
    """sübject and subject would be filed as one person: refused before writing."""
    with pytest.raises(ValueError, match="'sub_a' .*sub_a-x-1.csv.* and 'suba' .*"
                                         "both become the BIDS label 'suba'"):
        entities_of(["sub_a-x-1.csv", "suba-x-1.csv"])
    assert [e["subject"] for e in entities_of(["a-x-1.csv", "a-y-1.csv"])] == ["a", "a"]
    files = []
    for stem in ("sübject-rest-1", "subject-rest-1"):
        files.append(tmp_path / f"{stem}.csv")
        files[-1].write_text("timestamps,TP9,AF7,AF8,TP10\n1.0,1,2,3,4\n1.004,1,2,3,4\n",
                             encoding="utf-8")
    code = main(["convert", *map(str, files), "--bids-root", str(tmp_path / "bids")])
    err = capsys.readouterr().err
    assert code == 1 and "both become the BIDS label 'subject'" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "bids").exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"participant": "P-07"}, "The participant 'P-07' is not a BIDS label: use letters and "
                              "digits only"),
    ({"participant": "a b"}, "The participant 'a b' is not a BIDS label"),
    ({"participant": ""}, "The participant '' is not a BIDS label"),
    ({"task": "eyes closed"}, "The task 'eyes closed' is not a BIDS label"),
])
def test_a_label_the_user_chose_is_refused_not_changed(kwargs, message):
    """As mne-bids refuses it: 'a b' silently becoming sub-ab would file under another name."""
    with pytest.raises(ValueError, match=message):
        bids_entities("subjecta-neutral-1.csv", **kwargs)


def _sidecar(path):
    return json.loads(path.with_name(path.name.replace("_eeg.edf", "_eeg.json")).read_text())


def test_bids_of_the_shared_muse_files(shared_io, tmp_path, capsys):
    folder = shared_io / "muse-mental-state"
    files = [folder / "subjecta-neutral-1.csv", folder / "subjectb-relaxed-1.csv"]
    root = tmp_path / "bids"
    assert main(["convert", *map(str, files), "--bids-root", str(root)]) == 0
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*_eeg.edf"))
    assert written == ["sub-subjecta/ses-1/eeg/sub-subjecta_ses-1_task-neutral_eeg.edf",
                       "sub-subjectb/ses-1/eeg/sub-subjectb_ses-1_task-relaxed_eeg.edf"]
    assert "wrote" in capsys.readouterr().out
    rec = read_recording(files[0])
    sidecar = _sidecar(root / written[0])
    assert sidecar["PowerLineFrequency"] == get_profile(rec.profile).line_freq
    assert sidecar["TaskName"] == "neutral"
    bp = mne_bids.BIDSPath(subject="subjecta", session="1", task="neutral",
                           datatype="eeg", root=root)
    raw = mne_bids.read_raw_bids(bp, verbose="error")
    # EDF pads the last one-second record; the padding is marked BAD_ACQ_SKIP
    skip = next(a for a in raw.annotations if a["description"] == "BAD_ACQ_SKIP")
    assert skip["onset"] == pytest.approx(rec.n_times / rec.sfreq)
    assert raw.n_times == rec.n_times + round(skip["duration"] * rec.sfreq)
    step = np.ptp(rec.data, axis=1) / 65535  # EDF: 16 bits over each channel's range
    back = read_recording(root / written[0])  # cuts the padding off again
    assert back.n_times == rec.n_times
    for data in (raw.get_data()[:, :rec.n_times], back.data):
        assert np.all(np.abs(data - rec.data) <= step[:, None])
    participants = (root / "participants.tsv").read_text().split()
    assert "sub-subjecta" in participants and "sub-subjectb" in participants


def test_bids_of_made_files_runs_participant_and_line_freq(make_recording, tmp_path):
    rec = make_recording(n_times=750)
    rec.profile = "muse_2"
    a = write_recording(rec, tmp_path / "a.xdf")
    b = write_recording(rec, tmp_path / "b.xdf")
    unknown = rec.copy()
    unknown.profile = None
    c = write_recording(unknown, tmp_path / "c.xdf")
    root = tmp_path / "bids"
    paths = export_bids([a, b, c], root, participant="P01")
    names = [p.name for p in paths]
    # one subject, one task, no session: the files become runs in the order given
    assert names == [f"sub-P01_task-biofeedback_run-{i}_eeg.edf" for i in (1, 2, 3)]
    assert _sidecar(paths[0])["PowerLineFrequency"] == get_profile("muse_2").line_freq
    assert _sidecar(paths[2])["PowerLineFrequency"] == "n/a"  # the board is unknown
    events = (paths[0].parent / "sub-P01_task-biofeedback_run-1_events.tsv").read_text()
    assert "session_start" in events and "block_start baseline_eyes_open" in events
    (out,) = export_bids([a], tmp_path / "bids60", line_freq=60.0, task="nf")
    assert out.name == "sub-a_task-nf_eeg.edf"
    assert _sidecar(out)["PowerLineFrequency"] == 60.0


def test_a_bids_dataset_of_our_export_trains_without_naming_the_board(tmp_path, make_eeg,
                                                                       capsys):
    """EDF kept no board, so training on the dataset 'convert --bids-root' wrote
    stopped at 'The board of sub-..._eeg.edf is unknown; pass --profile'."""
    from biofeedback.io import Recording

    src = tmp_path / "src"
    src.mkdir()
    for k, person in enumerate(("ann", "ben")):
        for j, (state, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
            data, ts = make_eeg(duration=12.0, alpha_hz=hz, seed=2 * k + j)
            rec = Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                            profile="muse_2")
            write_recording(rec, src / f"{person}-{state}-1.xdf")
    root = tmp_path / "bids"
    assert main(["convert", str(src), "--bids-root", str(root)]) == 0
    edfs = sorted(root.glob("sub-*/ses-1/eeg/*_eeg.edf"))
    assert len(edfs) == 4 and all(read_recording(p).profile == "muse_2" for p in edfs)
    capsys.readouterr()
    out = tmp_path / "m.bfm"
    assert main(["train", *map(str, edfs), "--cv", "none", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out.strip() == f"model: {out}"


def test_names_that_are_not_the_pattern_are_said(make_recording, tmp_path, caplog):
    """'alice_relaxed_1.xdf' became subject 'alicerelaxed1', task 'biofeedback'
    without a word: its state was lost from the dataset."""
    rec = make_recording(n_times=750)
    names = ["alice_relaxed_1.xdf", "bob_busy_1.xdf", "carol-calm-1.xdf"]
    files = [write_recording(rec, tmp_path / n) for n in names]
    export_bids(files, tmp_path / "bids")
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said == ["2 files are not named {subject}-{task}-{session}: alice_relaxed_1.xdf "
                    "is filed as subject 'alicerelaxed1', task 'biofeedback', no session; "
                    "rename them, or pass --participant ID (and --task)."]
    caplog.clear()
    export_bids(files[:1], tmp_path / "bids2", participant="P01", task="calm")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_markers_from_the_events_tsv_mne_bids_writes_beside_a_recording(tmp_path, make_eeg,
                                                                         capsys):
    """mne-bids writes the events given to it into *_events.tsv alone, not into
    the EDF: read by itself the recording held no marker, so a BIDS dataset
    labelled that way could not be trained on with --labels-from markers."""
    import mne

    data, _ = make_eeg(duration=12.0)
    raw = mne.io.RawArray(data, mne.create_info(["TP9", "AF7", "AF8", "TP10"], 256.0, "eeg"),
                          verbose="error")
    raw.info["line_freq"] = 50
    # an annotation the EDF holds too, and two events only events.tsv holds
    raw.set_annotations(mne.Annotations([1.0], [0.0], ["start"]))
    path = mne_bids.BIDSPath(subject="01", task="states", datatype="eeg", root=tmp_path)
    mne_bids.write_raw_bids(raw, path, format="EDF", allow_preload=True,
                            events=np.array([[0, 0, 1], [1536, 0, 2]]),
                            event_id={"relaxed": 1, "focused": 2, "start": 3}, verbose="error")
    edf = tmp_path / "sub-01" / "eeg" / "sub-01_task-states_eeg.edf"
    rec = read_recording(edf)
    t0 = rec.timestamps[0]
    assert [(round(t - t0, 3), s) for t, s in rec.markers] == [
        (0.0, "relaxed"), (1.0, "start"), (6.0, "focused")]
    assert rec.provenance["assumed"] == [
        "2 markers come from sub-01_task-states_events.tsv beside the file (its BIDS "
        "events), which the file itself does not hold"]
    assert rec.warnings == []
    # a row's duration bounds its span, as an annotation's does
    tsv = edf.with_name("sub-01_task-states_events.tsv")
    tsv.write_text(tsv.read_text().replace("0.0\t0.0\trelaxed", "0.0\t4.5\trelaxed"))
    rec = read_recording(edf)
    assert [(round(a - t0, 3), round(b - t0, 3), s)
            for a, b, s in rec.provenance["marker_spans"]] == [(0.0, 4.5, "relaxed")]
    assert main(["info", str(edf)]) == 0  # and info says how long it lasts
    listed = capsys.readouterr().out.split("markers:     3\n", 1)[1].splitlines()[:3]
    assert [ln.split("  ", 2)[2] for ln in listed] == [
        "relaxed (lasts 4.500 s)", "start", "focused"]
    # a row whose onset is no number is one sentence naming the table and line
    tsv.write_text(tsv.read_text().replace("6.0\t", "six\t"))
    with pytest.raises(Exception, match=r"_events.tsv, line 4: the onset 'six' is not a "
                                        r"number of seconds"):
        read_recording(edf)


def test_channel_types_from_the_channels_tsv_beside_a_recording(tmp_path, make_eeg):
    """EDF holds no channel types and 'LOC' and 'ROC' (eye electrodes by the
    canthi) name no type either: the EOG channels of an mne-bids dataset were
    read as EEG, though its channels.tsv types them."""
    import mne

    data, _ = make_eeg(n_channels=6, duration=4.0)
    raw = mne.io.RawArray(data, mne.create_info(["Fz", "Cz", "Pz", "Oz", "LOC", "ROC"],
                                                256.0, ["eeg"] * 4 + ["eog"] * 2),
                          verbose="error")
    raw.info["line_freq"] = 50
    path = mne_bids.BIDSPath(subject="01", task="rest", datatype="eeg", root=tmp_path)
    mne_bids.write_raw_bids(raw, path, format="EDF", allow_preload=True, verbose="error")
    edf = tmp_path / "sub-01" / "eeg" / "sub-01_task-rest_eeg.edf"
    rec = read_recording(edf)
    assert rec.ch_names == ["Fz", "Cz", "Pz", "Oz"]
    assert rec.streams["non_eeg"].ch_names == ["LOC", "ROC"]
    assert ("2 channels are typed as signals other than EEG in sub-01_task-rest_channels.tsv "
            "(LOC (EOG), ROC (EOG)): they are kept as the stream 'non_eeg', not read as EEG."
            ) in rec.warnings


def test_bad_channels_travel_through_a_bids_dataset(tmp_path, make_eeg):
    """mne-bids writes a FIF's bad channels into *_channels.tsv (status 'bad'),
    never into the EDF: read from the dataset they were good again, and
    'convert --bids-root' of a FIF with bad channels wrote them as good."""
    import mne

    data, _ = make_eeg(n_channels=4, duration=12.0)
    raw = mne.io.RawArray(data, mne.create_info(["Fp1", "Fp2", "O1", "O2"], 256.0, "eeg"),
                          verbose="error")
    raw.info["line_freq"] = 50
    raw.info["bads"] = ["O2"]
    bp = mne_bids.BIDSPath(subject="01", task="rest", datatype="eeg", root=tmp_path / "a")
    mne_bids.write_raw_bids(raw, bp, format="EDF", allow_preload=True, verbose="error")
    rec = read_recording(next((tmp_path / "a").rglob("*_eeg.edf")))
    assert rec.provenance["bads"] == ["O2"]
    assert ("1 channel is marked bad in sub-01_task-rest_channels.tsv (O2): kept, and "
            "judged by the quality gates window by window like any channel (a FIF written "
            "from this recording marks it bad again).") in rec.warnings
    fif = write_recording(rec, tmp_path / "back_raw.fif")
    assert mne.io.read_raw_fif(fif, verbose="error").info["bads"] == ["O2"]
    # our own export of the FIF keeps them too
    assert main(["convert", str(fif), "--bids-root", str(tmp_path / "b"),
                 "--participant", "P1"]) == 0
    table = next((tmp_path / "b").rglob("*_channels.tsv")).read_text().splitlines()
    at = table[0].split("\t").index("status")
    status = {row.split("\t")[0]: row.split("\t")[at] for row in table[1:]}
    assert status == {"Fp1": "good", "Fp2": "good", "O1": "good", "O2": "bad"}
    assert read_recording(next((tmp_path / "b").rglob("*_eeg.edf"))).provenance["bads"] == \
        ["O2"]


def _fif(path, names, nan=False):
    import mne

    x = np.random.default_rng(0).normal(0, 10e-6, (len(names), 256 * 10))
    if nan:
        x[0, 500:900] = np.nan
    raw = mne.io.RawArray(x, mne.create_info(names, 256.0, "eeg"), verbose="error")
    raw.save(path, verbose="error")
    return str(path)


@pytest.mark.parametrize("bad, said", [
    ({"nan": True}, "channel Fz holds NaN or inf samples, which EDF (what a BIDS export "
                    "writes) stores as integers cannot hold; leave the file out of the "
                    "export, or cut those samples out first: nothing was written to the "
                    "dataset."),
    ({"names": ["EEG Fz-Referential", "Cz"]},
     "the channel label 'EEG Fz-Referential' has 18 characters, more than the 16 of EDF, "
     "which a BIDS export writes; rename it (MNE's rename_channels, then save), and "
     "export again: nothing was written to the dataset."),
])
def test_a_recording_edf_cannot_hold_stops_the_export_before_any_is_written(
        tmp_path, capsys, bad, said):
    """A file with NaN samples or a label over EDF's 16 characters ended the
    export with a traceback, after the files before it were in the dataset."""
    good = _fif(tmp_path / "a-rest-1_raw.fif", ["Fz", "Cz"])
    other = _fif(tmp_path / "b-rest-1_raw.fif", bad.get("names", ["Fz", "Cz"]),
                 bad.get("nan", False))
    assert main(["convert", good, other, "--bids-root", str(tmp_path / "bids")]) == 1
    assert capsys.readouterr().err.strip() == f"biofeedback: error: {other}: {said}"
    assert not (tmp_path / "bids").exists()


def test_an_export_over_one_already_there_is_one_sentence(tmp_path, capsys):
    """mne-bids refuses a file of the dataset already there with a traceback,
    after writing the sidecars before it; the export says so before writing."""
    a = _fif(tmp_path / "a-rest-1_raw.fif", ["Fz", "Cz"])
    b = _fif(tmp_path / "b-rest-1_raw.fif", ["Fz", "Cz"])
    root = tmp_path / "bids"
    assert main(["convert", a, "--bids-root", str(root)]) == 0
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["convert", b, a, "--bids-root", str(root)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: The BIDS dataset {root} already holds sub-a_ses-1_task-rest "
        "(1 of this export's 2 recordings is there); pass --overwrite (overwrite=True) to "
        "replace them, or export into another folder: nothing was written.")
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before
    assert main(["convert", b, a, "--bids-root", str(root), "--overwrite"]) == 0
