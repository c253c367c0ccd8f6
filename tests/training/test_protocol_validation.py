"""Validation replays the live protocol: calibration blocks, new-day splits, and
one sentence for every protocol or label set that cannot give what a model needs."""

import dataclasses

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.config import default_pipeline_path
from biofeedback.training import cross_validate
from biofeedback.training._dataset import DatasetError

DEFAULT = default_pipeline_path()


def _pipeline(tmp_path, blocks):
    """The default pipeline with ``blocks`` (TOML) before its training blocks."""
    text = DEFAULT.read_text()
    head, rest = text.split("\n[[feedback.blocks]]\n", 1)
    rest = rest.split("\n[[feedback.blocks]]\n", 1)[1]  # drop the rest baseline
    p = tmp_path / "guided.toml"
    p.write_text(head + "\n" + blocks + "\n[[feedback.blocks]]\n" + rest)
    return p


GUIDED = "".join(
    f'[[feedback.blocks]]\nname = "{s}"\nkind = "calibration"\nstate = "{s}"\n'
    f'duration = {d}\ninstructions = "Be {s}."\n\n'
    for s, d in (("relaxed", 10.0), ("neutral", 10.0), ("concentrating", 10.0)))


@pytest.fixture(scope="module")
def two_days(muse_all):
    """The shared data as if each recording's second half were another day."""
    session = np.where(muse_all.t > 30.0, "2", "1")
    return dataclasses.replace(muse_all, session=session)


def test_new_day_splits_train_on_what_each_user_has(two_days):
    ds = two_days
    back = cross_validate(ds, "lda", cv="new-day")
    new = cross_validate(ds, "lda", cv="new-person-new-day")
    assert [f["test"] for f in back.folds] == [f"subject{s}/2" for s in "abcd"]
    for f_back, f_new, s in zip(back.folds, new.folds, "abcd", strict=True):
        mine = ds.subject == f"subject{s}"
        day2 = mine & (ds.session == "2")
        assert f_back["n_windows"] == f_new["n_windows"] == day2.sum()
        for c in ds.classes:  # a returning user: their first day is in training
            assert f_back["train_windows_per_class"][c] == np.sum((ds.y == c) & ~day2)
            assert f_new["train_windows_per_class"][c] == np.sum((ds.y == c) & ~mine)
            assert f_back["test_windows_per_class"][c] == np.sum((ds.y == c) & day2)
    assert set(back.counts) == {f"subject{s}" for s in "abcd"}
    assert sum(sum(r.values()) for r in back.counts.values()) == back.n_windows


def test_the_last_day_is_the_last_in_number_order_inside_names_too(muse_all):
    """day2 before day10 (a string sort held out day2 as the last day)."""
    from biofeedback.training._validation import _folds

    ds = dataclasses.replace(muse_all, session=np.where(muse_all.t > 30.0, "day10", "day2"))
    assert [name for name, _, _ in _folds(ds, "new-day")] == [
        f"subject{s}/day10" for s in "abcd"]
    ds = dataclasses.replace(muse_all, session=np.where(muse_all.t > 30.0, "ses-10", "ses-9"))
    assert {name.split("/")[1] for name, _, _ in _folds(ds, "new-person-new-day")} == {
        "ses-10"}


def test_the_last_day_is_the_last_recorded_when_the_recordings_hold_dates(tmp_path, make_eeg):
    """Sessions named 'pre' and 'post' (a study's words, not numbers) were held
    out in the order of their names: 'pre', recorded a day before 'post', was
    scored as the returning user's new day."""
    import mne

    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._validation import _folds

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for day, session in enumerate(("pre", "post")):
            for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
                data, _ = make_eeg(duration=12.0, alpha_hz=hz, seed=100 * k + 10 * day + j)
                raw = mne.io.RawArray(data, mne.create_info(["TP9", "AF7", "AF8", "TP10"],
                                                            256.0, "eeg"), verbose="error")
                raw.set_meas_date(1_700_000_000 + 86_400 * day + 600 * j)
                path = tmp_path / f"sub-{subject}_ses-{session}_task-{label}_eeg.fif"
                raw.save(path, verbose="error")
                paths.append(str(path))
    ds = extract_dataset(label_files(paths), profile="muse_2016", n_jobs=1)
    assert [name for name, _, _ in _folds(ds, "new-day")] == ["p1/post", "p2/post"]
    assert ds.session_dates_warning("new-day") == (
        "--cv new-day takes each person's sessions in the order their recordings' dates "
        "give, which is not the order of their names for p1, p2 (p1: pre on 2023-11-14 "
        "22:13 UTC, then post on 2023-11-15 22:13 UTC): the last of them is held out.")
    assert ds.session_dates_warning("loso") is None


def test_xdf_sessions_on_the_lsl_clock_are_dated_by_the_file_header(tmp_path, make_eeg):
    """An XDF file's stamps are LSL-clock seconds, no date; LabRecorder dates the
    file in its header ('<datetime>2024-03-05T10:00:00+0100</datetime>'), which
    orders 'pre' before 'post' as the EDF's start date does."""
    from biofeedback._xdf_chunks import chunk, file_header
    from biofeedback.io import Recording, write_recording
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._validation import _folds

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for day, session in ((5, "pre"), (6, "post")):
            for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
                data, ts = make_eeg(duration=12.0, alpha_hz=hz, seed=100 * k + 10 * day + j)
                path = tmp_path / f"sub-{subject}_ses-{session}_task-{label}_eeg.xdf"
                write_recording(Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                                          profile="muse_2016"), path)
                stamp = f"2024-03-0{day}T10:{10 * j:02d}:00+0100"
                path.write_bytes(b"XDF:" + chunk(1, (
                    '<?xml version="1.0"?><info><version>1.0</version>'
                    f"<datetime>{stamp}</datetime></info>").encode())
                    + path.read_bytes()[len(file_header()):])
                paths.append(str(path))
    ds = extract_dataset(label_files(paths), n_jobs=1)
    assert [name for name, _, _ in _folds(ds, "new-day")] == ["p1/post", "p2/post"]


def test_dated_lsl_clock_sessions_keep_their_dates_when_converted(tmp_path, make_eeg):
    """A LabRecorder file's date (its header: the stamps are LSL-clock seconds)
    was lost by 'convert': the FIF held no date and the EDF 1 January 1985, so
    a person's sessions named 'a' (later) and 'b' (earlier) were taken in the
    order of their names, and the earlier one held out as the new day."""
    from biofeedback.io import Recording, write_recording
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._validation import _folds

    xdfs = []
    for k, subject in enumerate(("p1", "p2")):
        for day, session in ((6, "a"), (5, "b")):
            for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
                data, ts = make_eeg(duration=12.0, alpha_hz=hz, seed=100 * k + 10 * day + j)
                rec = Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                                profile="muse_2016",
                                provenance={"recorded_at": 1_709_629_200.0
                                            + 86_400 * day + 600 * j})
                xdfs.append(write_recording(
                    rec, tmp_path / f"sub-{subject}_ses-{session}_task-{label}_eeg.xdf"))
    for ext in ("xdf", "fif", "edf"):
        paths = []
        for x in xdfs:
            out = x if ext == "xdf" else x.with_name(f"{x.stem}.{ext}")
            if ext != "xdf":
                assert main(["convert", str(x), str(out)]) == 0
            paths.append(str(out))
        ds = extract_dataset(label_files(paths), n_jobs=1)
        assert [name for name, _, _ in _folds(ds, "new-day")] == ["p1/a", "p2/a"], ext


@pytest.mark.lsl
def test_a_labrecorder_files_date_survives_convert(tmp_path, uid):
    """The date LabRecorder writes in its header is the one the FIF and EDF
    copies of its recording hold (to the second, as EDF keeps it)."""
    import time

    import pylsl

    from biofeedback.io import read_recording
    from biofeedback.recorder import Recorder

    info = pylsl.StreamInfo(f"amp-{uid}", "EEG", 2, 250.0, "float32", f"amp-{uid}")
    chans = info.desc().append_child("channels")
    for name in ("Fp1", "Fp2"):
        ch = chans.append_child("channel")
        ch.append_child_value("label", name)
        ch.append_child_value("unit", "microvolts")
    outlet = pylsl.StreamOutlet(info)
    rec = Recorder(tmp_path / "lab.xdf", [f"source_id='amp-{uid}'"])
    rec.start()

    def held():  # the samples LabRecorder has written so far (it writes every 0.5 s)
        try:
            return read_recording(tmp_path / "lab.xdf").n_times
        except Exception:  # none yet
            return 0

    try:
        t0 = pylsl.local_clock()
        x = np.random.default_rng(0).normal(0, 10, (1000, 2))
        for k in range(0, 1000, 25):  # 4 s of samples, stamped as sent at 250 Hz
            outlet.push_chunk(x[k:k + 25].tolist(), t0 + (k + 24) / 250.0)
            time.sleep(0.01)
        end = time.monotonic() + 20
        while held() < 1000 and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        rec.stop()  # killed before its footers, as a session ends it: the date is in its header
    lab = read_recording(tmp_path / "lab.xdf")
    assert lab.timestamps[0] < 1e9 and lab.started is not None  # LSL clock, dated
    for name in ("lab_raw.fif", "lab.edf", "lab2.xdf"):
        assert main(["convert", str(tmp_path / "lab.xdf"), str(tmp_path / name)]) == 0
        assert read_recording(tmp_path / name).started == lab.started, name


@pytest.mark.parametrize("hours, said", [(5.0, True), (72.0, False)])
def test_a_new_day_that_is_the_same_day_is_said(tmp_path, make_eeg, caplog, hours, said):
    """FIF sessions dated 5 h apart were held out as 'a returning user on a
    new day' without a word: a later session of one day scores what a new day
    does not."""
    import mne

    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, session in enumerate(("1", "2")):
            calm, _ = make_eeg(duration=20.0, seed=10 * k + j)
            busy, _ = make_eeg(duration=20.0, alpha_hz=6.0, seed=10 * k + j + 5)
            raw = mne.io.RawArray(np.hstack([calm, busy]), mne.create_info(
                ["TP9", "AF7", "AF8", "TP10"], 256.0, "eeg"), verbose="error")
            raw.set_meas_date(1_700_000_000 + 3600 * hours * j)
            raw.set_annotations(mne.Annotations([0.0, 20.0], [20.0, 20.0], ["calm", "busy"]))
            path = tmp_path / f"{subject}_{session}_raw.fif"
            raw.save(path, verbose="error")
            paths.append(str(path))
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["train", *paths, "--labels-from", "markers", "--pattern",
                     "{subject}_{session}", "--profile", "muse_2016", "--cv", "new-day",
                     "--switch-every", "0", "--out", str(tmp_path / "m.bfm"), "-q"]) == 0
    sentence = ("--cv new-day holds out sessions begun within 12 h of the person's session "
                "before (p1: 2 began 5.0 h after 1; p2: 2 began 5.0 h after 1): their score "
                "is a later session's of the same day, not a returning user's on a new day.")
    assert (sentence in caplog.text) is said
    assert ("new-day holds out" in caplog.text) is said


def test_new_day_splits_need_two_sessions(muse_all):
    with pytest.raises(DatasetError, match="only --cv loso .a new person. can be scored"):
        cross_validate(muse_all, "lda", cv="new-day")


@pytest.mark.slow
def test_guided_calibration_trains_validates_and_guards_live(muse_dir, tmp_path, capsys):
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    pipe = _pipeline(tmp_path, GUIDED)
    model = tmp_path / "guided.bfm"
    assert main(["train", *files, "--pipeline", str(pipe), "--calibration", "protocol",
                 "--switch-every", "0", "--out", str(model), "--n-jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "calibrated+filter" in out
    assert "calibration: the protocol's blocks before feedback, 10 s relaxed + 10 s neutral" in out
    from biofeedback.training import load_model

    m = load_model(model)
    assert m.plan.states == ["relaxed", "neutral", "concentrating"] and m.plan.seconds == 30.0
    # a session whose protocol cannot give that calibration never starts
    code = main(["live", "--model", str(model), "--pipeline", str(DEFAULT), "--duration", "1",
                 "--view", "none", "--no-record"])
    assert code == 1
    err = capsys.readouterr().err
    assert "The model calibrates on 10 s relaxed + 10 s neutral + 10 s concentrating" in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("blocks", "message"), [
    ("", "the protocol's baseline block names no state"),
    ('[[feedback.blocks]]\nname = "c"\nkind = "calibration"\nstate = "relaxed"\n'
     'duration = 1.0\n\n', "last 1 s, shorter than one 2 s window"),
    ('[[feedback.blocks]]\nname = "c"\nkind = "calibration"\nstate = "sleepy"\n'
     'duration = 20.0\n\n', "asks for state 'sleepy', which is not a class"),
])
def test_a_protocol_that_cannot_calibrate_is_one_sentence(muse_dir, tmp_path, capsys,
                                                          blocks, message):
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    pipe = DEFAULT if not blocks else _pipeline(tmp_path, blocks)
    code = main(["train", *files, "--pipeline", str(pipe), "--calibration", "protocol",
                 "--cv", "none", "--out", str(tmp_path / "m.bfm"), "-q", "--n-jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "m.bfm").exists()


def test_a_guided_block_shorter_than_a_window_is_named():
    """10 s relaxed, 1 s neutral, 10 s concentrating: 21 s in all, but no neutral window."""
    from biofeedback.training._calibration import CalibrationPlan

    plan = CalibrationPlan((("relaxed", 10.0), ("neutral", 1.0), ("concentrating", 10.0)))
    with pytest.raises(DatasetError, match=r"^Calibration block 'n' of guided.toml lasts 1 s, "
                                           r"shorter than one 2 s window, so no window holds "
                                           r"'neutral' alone; make it at least 2 s long\.$"):
        plan.check(2.0, where="guided.toml", names=["r", "n", "c"])
    CalibrationPlan((("relaxed", 10.0), ("neutral", 2.0))).check(2.0)


@pytest.mark.parametrize(("seconds", "method", "sentence"), [
    (1.0, "center", "guided.toml ('c') last 1 s, shorter than one 2 s window; make block "
                    "'c' at least 2 s long.\n"),
    # two windows' SD put the scale 4.4 times off on the Muse data: ten seconds at least
    (2.5, "zscore", "guided.toml ('c') last 2.5 s, but z-scoring divides by their SD, "
                    "which needs at least 10 s (5 windows of 2 s); make block 'c' at least "
                    "10 s long, or use --calibration-method center.\n"),
])
def test_a_too_short_calibration_block_stops_before_any_recording_is_read(
        tmp_path, capsys, seconds, method, sentence):
    """What the pipeline alone decides is said before minutes of feature extraction."""
    pipe = _pipeline(tmp_path, '[[feedback.blocks]]\nname = "c"\nkind = "calibration"\n'
                               f'state = "relaxed"\nduration = {seconds}\n\n')
    empty = tmp_path / "s-relaxed-1.csv"
    empty.write_text("")  # reading it would fail: it is never read
    code = main(["train", str(empty), "--pipeline", str(pipe), "--calibration", "protocol",
                 "--calibration-method", method, "--out", str(tmp_path / "m.bfm"), "-q"])
    assert code == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: --calibration protocol: the calibration blocks of " + sentence)


def _marker_labels(muse_dir, tmp_path):
    from biofeedback.io import read_recording, write_recording

    rec = read_recording(muse_dir / "subjecta-neutral-1.csv")
    t0 = rec.timestamps[0]
    rec.markers = [(t0 + 1.0, "rest"), (t0 + 30.0, "task"), (t0 + 31.0, "end")]
    fname = tmp_path / "subjecta-session-1.fif"
    write_recording(rec, fname)
    return [str(fname), "--labels-from", "markers", "--marker-labels", "rest,task"]


def _manifest_labels(muse_dir, tmp_path):
    rec = muse_dir / "subjecta-relaxed-1.csv"
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,start,stop\n"
                        f"{rec},relaxed,0,20\n{rec},neutral,20.1,20.4\n")
    return ["--labels-from", "manifest", "--manifest", str(manifest)]


@pytest.mark.parametrize(("labels", "message"), [
    (_marker_labels, "The marker label 'task' covers no whole 2 s window"),
    (_manifest_labels, "The manifest's label 'neutral' covers no whole 2 s window"),
])
def test_labels_covering_less_than_a_window_are_one_sentence(muse_dir, tmp_path, capsys,
                                                             labels, message):
    code = main(["train", *labels(muse_dir, tmp_path), "--cv", "none",
                 "--out", str(tmp_path / "m.bfm"), "-q", "--n-jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "m.bfm").exists()


@pytest.fixture(scope="module")
def model_ab(muse_dir, tmp_path_factory):
    """A model of subjects a and b, trained without validation."""
    model = tmp_path_factory.mktemp("model") / "m.bfm"
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    assert main(["train", *files, "--cv", "none", "--out", str(model), "-q",
                 "--n-jobs", "1"]) == 0
    return model


def _short_markers(muse_dir, tmp_path):
    from biofeedback.io import read_recording, write_recording

    rec = read_recording(muse_dir / "subjecta-relaxed-1.csv")
    t0 = rec.timestamps[0]
    rec.markers = [(t0 + 1.0, "relaxed"), (t0 + 30.0, "neutral"), (t0 + 31.0, "end")]
    fname = tmp_path / "subjecta-session-1.fif"
    write_recording(rec, fname)
    return [str(fname), "--labels-from", "markers"]


def _short_manifest(muse_dir, tmp_path):
    rec = muse_dir / "subjecta-relaxed-1.csv"
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,start,stop\n"
                        f"{rec},relaxed,0,30\n{rec},neutral,30,31\n")
    return ["--labels-from", "manifest", "--manifest", str(manifest)]


@pytest.mark.parametrize(("labels", "message"), [
    (_short_markers, "The marker label 'neutral' covers no whole 2 s window"),
    (_short_manifest, "The manifest's label 'neutral' covers no whole 2 s window in "
                      "subjecta-relaxed-1.csv at 30-31 s"),
])
def test_evaluate_refuses_labels_covering_less_than_a_window(muse_dir, tmp_path, capsys,
                                                             model_ab, labels, message):
    """Scoring labels windows by their end, so a 1 s stretch would label two windows
    whose samples are mostly of the state before: refused as train refuses it."""
    capsys.readouterr()
    code = main(["evaluate", str(model_ab), *labels(muse_dir, tmp_path), "--n-jobs", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_refuses_a_session_shorter_than_the_models_calibration(
        muse_all, muse_dir, tmp_path, capsys):
    """A recording labelled over time is calibrated on its first seconds, as live: one
    that ends within them leaves nothing to score, said in one sentence."""
    from biofeedback.io import read_recording, write_recording
    from biofeedback.training import fit_model, save_model
    from biofeedback.training._calibration import CalibrationPlan

    plan = CalibrationPlan((("relaxed", 10.0), ("neutral", 10.0), ("concentrating", 10.0)))
    model = save_model(fit_model(muse_all, "lda", calibration=plan), tmp_path / "cal.bfm")
    rec = read_recording(muse_dir / "subjecta-relaxed-1.csv")
    n = int(25 * rec.sfreq)
    short = type(rec)(rec.data[:, :n], rec.sfreq, rec.ch_names, rec.timestamps[:n],
                      profile=rec.profile)
    t0 = short.timestamps[0]
    short.markers = [(t0, "relaxed"), (t0 + 12.0, "neutral")]
    fname = write_recording(short, tmp_path / "subjecta-session-1.xdf")
    capsys.readouterr()
    assert main(["evaluate", str(model), str(fname), "--labels-from", "markers",
                 "--n-jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert err == ("biofeedback: error: No clean labelled window of subjecta-session-1.xdf "
                   "ends after the model's 30 s of calibration, which a recording labelled "
                   "over time spends calibrating as a live session does; score recordings "
                   "that run on past their first 30 s, or use a model calibrated on less.\n")
    # replay gives the recording's indices, and says why it gave no probability
    assert main(["replay", str(fname), "--model", str(model), "--view", "none"]) == 0
    out = capsys.readouterr().out
    assert ("p_relaxed      mean over clean windows n/a (no clean window after the "
            "model's 30 s of calibration)") in out
    assert "engagement     mean over clean windows n/a" not in out


@pytest.mark.parametrize("marks, said", [
    ([(0, "relaxed"), (40, "concentrating")],
     "but the 10 s 'neutral' holds 'relaxed' and the 10 s 'concentrating' holds "
     "'relaxed'; it is calibrated on them all the same"),
    ([(0, "relaxed"), (10, "neutral"), (20, "concentrating"), (40, "relaxed")], None),
])
def test_evaluate_says_when_a_sessions_first_seconds_are_not_the_models_calibration(
        muse_all, muse_dir, tmp_path, caplog, marks, said):
    """A session labelled over time is calibrated on its first seconds, as live;
    one recorded with another protocol (40 s of 'relaxed' first) calibrated a
    model that centres on three states without a word."""
    from biofeedback.io import read_recording, write_recording
    from biofeedback.training import fit_model, save_model
    from biofeedback.training._calibration import CalibrationPlan

    plan = CalibrationPlan((("relaxed", 10.0), ("neutral", 10.0), ("concentrating", 10.0)))
    model = save_model(fit_model(muse_all, "lda", calibration=plan), tmp_path / "cal.bfm")
    rec = read_recording(muse_dir / "subjecta-relaxed-1.csv")
    t0 = rec.timestamps[0]
    rec.markers = [(t0 + t, label) for t, label in marks]
    fname = write_recording(rec, tmp_path / "subjecta-session-1.xdf")
    with caplog.at_level("WARNING", logger="biofeedback"):
        assert main(["evaluate", str(model), str(fname), "--labels-from", "markers",
                     "--n-jobs", "1", "-q"]) == 0
    warned = [r.getMessage() for r in caplog.records if "calibrate the model" in
              r.getMessage()]
    if said is None:
        assert not warned
    else:
        assert len(warned) == 1 and said in warned[0], warned
        assert warned[0].startswith(f"{fname}: its first 30 s calibrate the model as the "
                                    "blocks of its protocol (10 s relaxed + 10 s neutral + "
                                    "10 s concentrating) would")

def test_a_manifest_of_labelled_stretches_is_scored_as_a_switching_session(
        muse_dir, tmp_path, capsys):
    """Rows with start and stop label stretches of one recording; evaluate scores the
    switches between them (windows labelled by the state at their end)."""
    import json

    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    model = tmp_path / "m.bfm"
    assert main(["train", *files, "--cv", "none", "--out", str(model), "-q",
                 "--n-jobs", "1"]) == 0
    rec = muse_dir / "subjecta-relaxed-1.csv"
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label,subject,start,stop\n"
                        f"{rec},relaxed,a,0,20\n{rec},neutral,a,20,40\n"
                        f"{rec},relaxed,a,40,59\n")
    capsys.readouterr()
    assert main(["evaluate", str(model), "--labels-from", "manifest", "--manifest",
                 str(manifest), "--json", "--n-jobs", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["switching"]["n_switches"] == 2
    n = res["windows_per_subject_and_class"]["a"]
    assert n["relaxed"] > n["neutral"] > 30  # every window, by the state at its end
    manifest.write_text("path,label,start,stop\n"
                        f"{rec},relaxed,0,20\n{rec},neutral,20.1,20.4\n")
    assert main(["evaluate", str(model), "--labels-from", "manifest", "--manifest",
                 str(manifest), "--n-jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "The manifest's label 'neutral' covers no whole 2 s window" in err
    # one row of a label that other rows cover is not left out without a word either
    manifest.write_text("path,label,start,stop\n"
                        f"{rec},relaxed,0,20\n{rec},neutral,20,40\n{rec},relaxed,900,960\n")
    assert main(["evaluate", str(model), "--labels-from", "manifest", "--manifest",
                 str(manifest), "--n-jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("biofeedback: error: The manifest's label 'relaxed' covers no "
                          "whole 2 s window in subjecta-relaxed-1.csv at 900-960 s (the "
                          "recording lasts 59.4 s") and err.count("\n") == 1


def test_a_model_file_z_scoring_on_too_little_calibration_is_refused_before_a_session():
    """A file written before the minimum was enforced: one sentence, never a 2-window SD."""
    from biofeedback.config import load_pipeline
    from biofeedback.errors import ModelError
    from biofeedback.training._model import LoadedModel

    config = load_pipeline(DEFAULT)
    meta = {"classes": ["a", "b"], "feature_names": ["f"], "ch_names": ["TP9"],
            "sfreq": 256.0, "pipeline": config.to_dict(),
            "calibration": {"method": "zscore", "blocks": [{"state": None, "seconds": 2.5}]}}
    model = LoadedModel(None, meta)
    with pytest.raises(ModelError, match=r"z-scores its features on 2.5 s of calibration, but "
                                         r"z-scoring .* needs at least 10 s \(5 windows of "
                                         r"2 s\); train it again"):
        model.check_calibration()
    meta["calibration"]["method"] = "center"  # centring on those 2.5 s is allowed
    LoadedModel(None, meta).check_calibration()


@pytest.fixture(scope="module")
def plain_model(muse_dir, tmp_path_factory):
    """A model of the shared Muse data (classes concentrating, neutral, relaxed)."""
    model = tmp_path_factory.mktemp("plain") / "plain.bfm"
    files = [str(p) for p in sorted(muse_dir.glob("subject[ab]-*.csv"))]
    assert main(["train", *files, "--out", str(model), "--n-jobs", "1", "-q"]) == 0
    return model


MUSE_PROTOCOL = """name = "states"
board = "muse_2"
[feedback]
target = "{target}"
[[feedback.blocks]]
name = "calm"
kind = "calibration"
{state}duration = 10.0
[[feedback.blocks]]
name = "train"
duration = 10.0
"""


@pytest.mark.parametrize(("target", "state", "line", "message"), [
    ("p_relaxed", 'state = "sleepy"\n', 8, "[feedback.blocks #1] state: block 'calm' asks for "
     "state 'sleepy', which the model does not know; use one of its classes (concentrating, "
     "neutral, relaxed)"),
    ("p_sleepy", 'state = "relaxed"\n', 4, "[feedback] target: unknown estimate 'p_sleepy' "
     "(the model's classes are concentrating, neutral, relaxed)"),
])
def test_a_protocol_naming_a_class_the_model_lacks_is_refused_before_the_session(
        plain_model, tmp_path, capsys, target, state, line, message):
    pipe = tmp_path / "states.toml"
    pipe.write_text(MUSE_PROTOCOL.format(target=target, state=state))
    capsys.readouterr()
    code = main(["live", "--model", str(plain_model), "--pipeline", str(pipe), "--scenario",
                 "demo", "--duration", "5", "--view", "none", "--no-record"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"biofeedback: error: {pipe}, line {line} {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_says_what_a_calibrated_model_needs_of_each_person(tmp_path, make_eeg,
                                                                     capsys):
    """Scoring a calibrated model on one state's recording stopped with 'The
    calibration asks for state 'calm', but subject p1 (session 1) holds no
    recording of it.', not saying what to give instead."""
    from biofeedback.io import Recording, write_recording

    blocks = "".join(
        f'[[feedback.blocks]]\nname = "{s}"\nkind = "calibration"\nstate = "{s}"\n'
        f'duration = 5.0\ninstructions = "Be {s}."\n\n' for s in ("calm", "busy"))
    paths = []
    for k, subject in enumerate(("p1", "p2")):
        for j, (label, hz) in enumerate((("calm", 10.0), ("busy", 6.0))):
            data, ts = make_eeg(duration=25.0, alpha_hz=hz, seed=10 * k + j)
            rec = Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                            profile="muse_2016")
            paths.append(str(write_recording(rec, tmp_path / f"{subject}-{label}-1.xdf")))
    model = str(tmp_path / "m.bfm")
    assert main(["train", *paths, "--pipeline", str(_pipeline(tmp_path, blocks)),
                 "--calibration", "protocol", "--cv", "none", "--out", model, "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", model, paths[1], "-q"]) == 1
    assert capsys.readouterr().err == (
        "biofeedback: error: The calibration asks for state 'calm', but subject p1 "
        "(session 1) holds no recording of it; give a recording of each state its blocks "
        "replay ('busy', 'calm') for every person and session, as a live session "
        "calibrates on them.\n")
