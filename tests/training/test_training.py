"""Datasets, honest validation, safe model files and live use, on the Muse data."""

import io
import json
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biofeedback.errors import BiofeedbackError, ModelError
from biofeedback.training import (
    cross_validate,
    extract_dataset,
    fit_model,
    label_files,
    load_model,
    random_split_score,
    save_model,
)

# -- datasets -----------------------------------------------------------------


def test_labels_come_from_file_names(muse_files):
    assert len(muse_files) == 12
    f = next(f for f in muse_files if f.path.endswith("subjecta-relaxed-1.csv"))
    assert (f.subject, f.label, f.session) == ("subjecta", "relaxed", "1")


def test_a_folder_of_recordings_leaves_out_sidecars_reports_and_models(tmp_path):
    """A folder of BrainFlow files (each with its board sidecar) or of sessions
    (sidecar, report) trains on the recordings alone, not on '{' of a .json."""
    from biofeedback.training import label_files

    for name in ("sa-relaxed-1.csv", "sa-relaxed-1.json", "sb-focused-1.xdf",
                 "sb-focused-1.json", "sb-focused-1.html", "old.bfm", "old.html"):
        (tmp_path / name).write_text("{}")
    files = label_files([tmp_path])
    assert [(f.subject, f.label) for f in files] == [("sa", "relaxed"), ("sb", "focused")]


def test_features_are_the_live_engines(muse_all, muse_dir):
    from biofeedback.engine import Engine
    from biofeedback.hardware import get_profile
    from biofeedback.io import read_recording

    rec = read_recording(muse_dir / "subjectb-neutral-1.csv")
    out = Engine(muse_all.config, rec.ch_names, rec.sfreq, get_profile("muse_2016")).run(
        rec.data, rec.timestamps)
    i = [j for j, f in enumerate(muse_all.files) if f.path.endswith("subjectb-neutral-1.csv")]
    mine = muse_all.select(muse_all.recording == i[0])
    # training uses the engine's batch driver: the live windows, up to rounding
    np.testing.assert_allclose(mine.X, out.features, rtol=1e-12)
    np.testing.assert_array_equal(mine.gated, out.gated)
    assert muse_all.feature_names == out.feature_names


def test_gated_windows_are_excluded_by_default_and_kept_on_request(muse_files, muse_all):
    subset = [f for f in muse_files if f.subject == "subjecta"]
    n_all = int((muse_all.subject == "subjecta").sum())
    kept = extract_dataset(subset, gated="include", n_jobs=1)
    assert len(kept) == n_all and kept.gated.any()
    ds = extract_dataset(subset, n_jobs=1)
    assert ds.n_gated_dropped > 0 and len(ds) + ds.n_gated_dropped == n_all
    assert not ds.gated.any()


def test_windows_for_covariance_models_match_engine_features(muse_files, muse_all):
    from biofeedback.estimators import BandPowerTransformer

    ds = extract_dataset(muse_files[:2], gated="include", need_windows=True, n_jobs=1)
    c = ds.config.features
    tr = BandPowerTransformer(sfreq=ds.sfreq, features=c.names,
                              bands=tuple((k, *v) for k, v in c.bands.items()),
                              ch_names=ds.ch_names).fit(ds.windows)
    np.testing.assert_allclose(tr.transform(ds.windows), ds.X, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_dask_cluster_gives_the_serial_features(muse_files, muse_all):
    distributed = pytest.importorskip("distributed")
    subset = muse_files[:3]
    serial = extract_dataset(subset, gated="include", n_jobs=1)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        dask = extract_dataset(subset, gated="include", scheduler=client)
    np.testing.assert_array_equal(dask.X, serial.X)
    np.testing.assert_array_equal(dask.y, serial.y)


@pytest.mark.parametrize("case, match", [
    ("pattern", "matches none of the"),
    ("single", "Only one class"),
    ("manifest_missing", r"labels\.csv, line 3: the recording .*gone\.csv does not exist; fix "
                         r"its path \(a relative one is read from the manifest's folder\)\."),
    ("short", "shorter than one 2 s window; leave it out, or train with --pipeline FILE"),
    ("channels", "train on recordings with one channel layout"),
    # --gated include trained on its windows of nothing as the label's
    ("nan", r"s1-neutral-1\.csv: its EEG holds no number \(every sample of every channel "
            r"is NaN or inf\), so it cannot be trained on; leave it out\."),
    ("rate", r"s1-neutral-1\.xdf is sampled at 512 Hz but s1-relaxed-1\.csv at 256 Hz; "
             "train on recordings of one rate"),
])
def test_bad_input_fails_before_work(case, match, muse_dir, tmp_path):
    src = muse_dir / "subjecta-relaxed-1.csv"
    lines = src.read_text().splitlines()
    if case == "pattern":
        with pytest.raises(BiofeedbackError, match=match):
            label_files([muse_dir], pattern="{label}_{subject}_{session}")
        return
    if case == "single":
        with pytest.raises(BiofeedbackError, match=match):
            label_files([muse_dir / "subjecta-relaxed-1.csv", muse_dir / "subjectb-relaxed-1.csv"])
        return
    if case == "manifest_missing":  # the missing file first, not the one class left
        manifest = tmp_path / "labels.csv"
        manifest.write_text(f"path,label\n{src},relaxed\ngone.csv,relaxed\n")
        with pytest.raises(BiofeedbackError, match=match):
            label_files(labels_from="manifest", manifest=manifest)
        return
    good = tmp_path / "s1-relaxed-1.csv"
    good.write_text("\n".join(lines[:3000]) + "\n")
    bad = tmp_path / "s1-neutral-1.csv"
    if case == "short":
        bad.write_text("\n".join(lines[:200]) + "\n")
    elif case == "nan":  # a headset that sent nothing: every EEG cell NaN
        eeg = [lines[0].split(",").index(c) for c in ("TP9", "AF7", "AF8", "TP10")]
        bad.write_text("\n".join([lines[0]] + [
            ",".join("nan" if k in eeg else c for k, c in enumerate(ln.split(",")))
            for ln in lines[1:3000]]) + "\n")
    elif case == "rate":
        from biofeedback.io import Recording, write_recording

        x = np.random.default_rng(0).normal(0, 10e-6, (4, 512 * 12))
        bad = write_recording(Recording(x, 512.0, ["TP9", "AF7", "AF8", "TP10"],
                                        np.arange(x.shape[1]) / 512.0, profile="muse_2016"),
                              tmp_path / "s1-neutral-1.xdf")
    else:
        head = lines[0].split(",")
        drop = head.index("TP10")
        bad.write_text("\n".join(",".join(c for k, c in enumerate(ln.split(",")) if k != drop)
                                 for ln in lines[:3000]) + "\n")
    with pytest.raises(BiofeedbackError, match=match):
        extract_dataset(label_files([good, bad]), n_jobs=1,
                        gated="include" if case == "nan" else "exclude")


def test_markers_label_the_windows_between_them(muse_dir):
    from biofeedback.training._dataset import _label_windows

    t_end = np.arange(2.0, 20.0, 0.5)
    labels = _label_windows(t_end, 2.0, [(5.0, "rest"), (10.0, "task"), (15.0, "end")],
                            ["rest", "task"])
    assert labels[t_end == 7.0][0] == "rest"
    assert labels[t_end == 11.0][0] is None  # straddles the change
    assert labels[t_end == 12.0][0] == "task"
    assert labels[t_end == 18.0][0] is None and labels[0] is None


def test_a_sessions_own_markers_neither_label_nor_end_a_stretch():
    """Cues every half second, thresholds, pauses, gaps and dashboard marks cut
    every stretch, so a session's recording labelled no window."""
    from biofeedback.training._labels import _label_windows, _session_marks

    own = [(t, f"cue state=reward block=train value={t}") for t in np.arange(0, 20, 0.5)]
    own += [(6.2, "threshold target=a threshold=0.1"), (7.0, "feedback_paused"),
            (7.5, "feedback_resumed"), (8.0, "gap_start"), (8.1, "gap_end duration=0.1 n=3"),
            (9.0, "dashboard_mark n=1"), (9.5, "clock_jump s=+0.200")]
    marks = _session_marks(sorted(own + [(5.0, "rest"), (10.0, "task"), (15.0, "end")]))
    assert marks == [(5.0, "rest"), (10.0, "task"), (15.0, "end")]
    # another program's bare "cue" is its marker, not a session's cue
    assert _session_marks([(1.0, "cue"), (2.0, "threshold")]) == [(1.0, "cue"),
                                                                  (2.0, "threshold")]
    t_end = np.arange(2.0, 20.0, 0.5)
    labels = _label_windows(t_end, 2.0, marks, ["rest", "task"])
    assert list(labels[(t_end >= 7.0) & (t_end < 10.0)]) == ["rest"] * 6
    assert list(labels[(t_end >= 12.0) & (t_end < 15.0)]) == ["task"] * 6


def test_a_calibration_block_labels_its_stretch_with_its_state():
    from biofeedback.feedback._policy import format_marker
    from biofeedback.training._labels import END, _label_windows, _session_marks

    def start(i, kind, **state):
        return format_marker("block_start", index=i, name=f"b{i}", kind=kind,
                             target="a", direction="up", duration=5.0,
                             instructions="Sit still", **state)

    markers = [(1.0, start(0, "baseline")), (6.0, "block_end index=0"),
               (6.0, start(1, "calibration", state="relaxed")),
               (8.0, "state relaxed level=1"),  # another program's, inside the block
               (11.0, "block_end index=1"),
               (11.0, start(2, "calibration", state="engaged")),  # no block_end after
               (16.0, start(3, "training")), (21.0, "protocol_end"),
               (22.0, start(4, "calibration"))]  # an older recording: no state
    marks = _session_marks(markers)
    assert marks == [(6.0, "relaxed"), (11.0, END), (11.0, "engaged"), (16.0, END)]
    t_end = np.arange(2.0, 30.0, 1.0)
    labels = dict(zip(t_end, _label_windows(t_end, 2.0, marks, None)))
    assert [labels[t] for t in (7.0, 8.0, 10.0, 11.0, 12.0, 13.0, 15.0, 16.0)] == [
        None, "relaxed", "relaxed", None, None, "engaged", "engaged", None]
    assert {labels[t] for t in t_end if t < 8.0 or t > 16.0} == {None}
    # the last block runs to the recording's end
    assert _session_marks([(1.0, start(0, "calibration", state="relaxed"))]) == [
        (1.0, "relaxed")]


def test_a_session_with_no_calibration_block_says_so(tmp_path, make_eeg):
    from biofeedback.io import Recording, write_recording
    from biofeedback.training._labels import DatasetError

    data, ts = make_eeg(duration=20.0)
    marks = [(t, f"cue state=reward value={k}") for k, t in enumerate(ts[::128])]
    marks.insert(0, (ts[0], "block_start index=0 name=train kind=training"))
    rec = Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts, markers=marks,
                    profile="muse_2016")
    path = write_recording(rec, tmp_path / "s1-session-1.xdf")
    with pytest.raises(DatasetError, match="s1-session-1.xdf holds only a session's own "
                                           "markers .* and no calibration block"):
        extract_dataset(label_files([path], "markers"), n_jobs=1)


def test_a_headset_without_a_profile_takes_its_frontal_pair_from_its_labels(
        tmp_path, make_eeg, caplog):
    """Recordings of an LSL stream or an EDF labelled F3, F4, ... get their
    frontal pair from the labels in training, as in live and replay; training
    said there was none ('faa' NaN) on the same files."""
    import logging

    from biofeedback.io import Recording, write_recording

    paths = []
    for k, label in enumerate(["relaxed", "focused"]):
        data, ts = make_eeg(duration=12.0, alpha_hz=10.0 + k, seed=k)
        rec = Recording(data, 256.0, ["F3", "F4", "C3", "C4"], ts)
        paths.append(write_recording(rec, tmp_path / f"s1-{label}-1.xdf"))
    with caplog.at_level(logging.WARNING, logger="biofeedback"):
        ds = extract_dataset(label_files(paths), profile="lsl", n_jobs=1)
    assert set(ds.y) == {"relaxed", "focused"}
    assert not [r.getMessage() for r in caplog.records if "frontal pair" in r.getMessage()]


# -- validation ---------------------------------------------------------------


def test_loso_is_above_chance_and_random_splits_leak(muse_all):
    loso = cross_validate(muse_all, "logreg", cv="loso")
    assert [f["test"] for f in loso.folds] == ["subjecta", "subjectb", "subjectc", "subjectd"]
    assert loso.chance == pytest.approx(1 / 3)
    assert 0.5 < loso.mean_fold_accuracy < 0.9
    # every window after the first 20 s of its recording, as evaluate scores them
    scored = int((muse_all.t - muse_all.window_length >= 20.0).sum())
    assert loso.confusion_matrix.sum() == loso.n_windows == scored
    leaky = random_split_score(muse_all, "logreg")
    assert leaky > loso.mean_fold_accuracy + 0.15


def test_one_fit_per_fold_scores_every_dwell_time_as_separate_runs(muse_all, monkeypatch):
    """train fits each fold once and scores it with and without the state filter;
    the figures equal one cross-validation per dwell time. The streams are built
    from the recordings extraction read: nothing is read twice."""
    import biofeedback.io
    from biofeedback.training._validation import cross_validate_dwells

    assert all(f.recording is not None for f in muse_all.files)

    def no_read(*args, **kwargs):
        raise AssertionError("a recording was read again")

    monkeypatch.setattr(biofeedback.io, "read_recording", no_read)
    both = cross_validate_dwells(muse_all, "lda", (0.0, 30.0), switch_every=30.0)
    for dwell, r in zip((0.0, 30.0), both):
        one = cross_validate(muse_all, "lda", dwell=dwell, switch_every=30.0)
        assert r.to_dict() == one.to_dict()
        np.testing.assert_array_equal(r.y_pred, one.y_pred)
    assert both[0].to_dict() != both[1].to_dict()


def test_calibration_scores_only_windows_after_the_calibration_blocks(muse_all):
    from biofeedback.training._streams import CalibrationPlan

    plan = CalibrationPlan((("relaxed", 20.0),))
    plain = cross_validate(muse_all, "logreg", score_after=20.0)
    cal = cross_validate(muse_all, "logreg", calibration=plan)
    assert plain.n_windows == cal.n_windows
    assert cal.n_windows == int((muse_all.t - 2.0 >= 20.0).sum())
    assert 0.4 < cal.mean_fold_accuracy <= 1.0
    assert cal.counts["subjecta"]["relaxed"] > 0  # clean windows per subject and class


# -- model files --------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(muse_all, tmp_path_factory):
    model = fit_model(muse_all, "logreg")
    return save_model(model, tmp_path_factory.mktemp("m") / "muse.bfm", metrics={"x": 1}), model


def test_round_trip_gives_identical_probabilities(model_file, muse_all):
    fname, model = model_file
    loaded = load_model(fname)
    np.testing.assert_array_equal(loaded.predict_proba(muse_all.X[:50]),
                                  model.predict_proba(muse_all.X[:50]))
    assert list(loaded.classes_) == ["concentrating", "neutral", "relaxed"]
    assert loaded.ch_names == ["TP9", "AF7", "AF8", "TP10"] and loaded.sfreq == 256.0
    assert loaded.config.window == muse_all.config.window
    assert loaded.meta["training"]["n_windows"] == len(muse_all)


@pytest.mark.parametrize("tree", ["rf", "hgb"])
def test_tree_models_round_trip(tree, muse_all, tmp_path):
    ds = muse_all.select(np.arange(len(muse_all)) % 4 == 0)
    model = fit_model(ds, tree)
    loaded = load_model(save_model(model, tmp_path / "t.bfm"))
    np.testing.assert_array_equal(loaded.predict_proba(ds.X), model.predict_proba(ds.X))


def test_wrong_layout_is_one_sentence(model_file):
    model = load_model(model_file[0])
    feats = [f"logpow_{b}_{c}" for c in ("Fp1", "Fp2") for b in "abcde"]
    name = Path(model_file[0]).name
    with pytest.raises(ModelError, match=rf"^The model {name} was trained on channels TP9, "
                                         r"AF7, AF8, TP10 but the data lack TP9, AF7, AF8, "
                                         r"TP10; use a model trained on recordings "
                                         r"with these channels\.$"):
        model.check_compatible(["Fp1", "Fp2"], 256.0, feats)
    with pytest.raises(ModelError, match=rf"^The model {name} was trained at 256 Hz but the "
                                         r"data of r\.csv are sampled at 250 Hz; a model "
                                         r"reads data at the rate it was trained at: use one "
                                         r"trained on recordings at 250 Hz\.$"):
        model.check_compatible(model.ch_names, 250.0, model.feature_names,
                               data="the data of r.csv")


def test_a_channel_superset_is_adapted_by_name(model_file, muse_all):
    model = load_model(model_file[0])
    ch = ["Fpz", *reversed(model.ch_names)]
    bands = ["delta", "theta", "alpha", "beta", "gamma"]
    names = [f"logpow_{b}_{c}" for c in ch for b in bands]
    live = np.zeros((3, len(names)))
    for j, n in enumerate(names):
        if n in model.feature_names:
            live[:, j] = muse_all.X[:3, model.feature_names.index(n)]
    model.check_compatible(ch, 256.0, names)
    np.testing.assert_allclose(model.predict_proba(live),
                               model_file[1].predict_proba(muse_all.X[:3]))


@pytest.mark.parametrize("name", ["lda", "lda-channels"])
def test_default_models_are_stored_as_arrays_without_skops(name, muse_all, tmp_path,
                                                           monkeypatch):
    """The default classifiers are saved as fitted arrays and a manifest of known
    types: neither saving nor loading them imports skops, and a loaded model gives
    the in-memory model's probabilities exactly."""
    monkeypatch.setitem(sys.modules, "skops.io", None)  # importing it would fail
    ds = muse_all.select(np.arange(len(muse_all)) % 4 == 0)
    model = fit_model(ds, name)
    fname = save_model(model, tmp_path / "m.bfm")
    with zipfile.ZipFile(fname) as zf:
        assert sorted(zf.namelist()) == ["estimator.json", "estimator.npz", "meta.json"]
        assert json.loads(zf.read("meta.json"))["format_version"] == 2
    loaded = load_model(fname)
    assert [type(s) for _, s in loaded.estimator.steps] == [
        type(s) for _, s in model.estimator.steps]
    X = ds.inputs(model.input)
    assert np.isnan(X).any() == (name == "lda")  # left-out channels reach lda as NaN
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_lda_files_saved_with_skops_load_with_identical_probabilities(muse_all, tmp_path):
    """Files written before the default models were stored as arrays hold skops and
    name our transformer by its public path, whichever private module defines it
    (so files saved before the package's split load too): they load as they did."""
    import skops.io as sio

    from biofeedback.training._modelfile import TRUSTED_TYPES, _jsonable

    ds = muse_all.select(np.arange(len(muse_all)) % 4 == 0)
    model = fit_model(ds, "lda")
    fname = tmp_path / "old.bfm"
    with zipfile.ZipFile(fname, "w") as zf:
        zf.writestr("meta.json", json.dumps(_jsonable(dict(model.meta, format_version=1))))
        zf.writestr("estimator.skops", sio.dumps(model.estimator))
    with zipfile.ZipFile(fname) as zf:
        types = sio.get_untrusted_types(data=zf.read("estimator.skops"))
    assert types == ["biofeedback.estimators.ChannelBalancedMean"]
    assert set(types) <= set(TRUSTED_TYPES)
    X = ds.inputs(model.input)
    np.testing.assert_array_equal(load_model(fname).predict_proba(X), model.predict_proba(X))


def _rewrite(src, dst, edit):
    """``dst``: the model file ``src`` with its members passed through ``edit``."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    edit(members)
    with zipfile.ZipFile(dst, "w") as zf:
        for n, blob in members.items():
            zf.writestr(n, blob)
    return dst


def test_array_files_refuse_unknown_types_pickles_and_methods(muse_all, tmp_path):
    """An array-stored estimator loads only known types, plain arrays and plain
    attributes; anything else is refused in one sentence."""
    import io

    ds = muse_all.select(np.arange(len(muse_all)) % 8 == 0)
    good = save_model(fit_model(ds, "lda"), tmp_path / "good.bfm")

    def retype(m):
        doc = json.loads(m["estimator.json"])
        doc["estimator"]["steps"][1]["estimator"]["type"] = "os.system"
        m["estimator.json"] = json.dumps(doc).encode()

    with pytest.raises(ModelError, match=r"untrusted type os\.system, which biofeedback "
                                         r"refuses to load\.$"):
        load_model(_rewrite(good, tmp_path / "t.bfm", retype))

    def pickled(m):
        buf = io.BytesIO()
        np.savez(buf, **{"e.2.classes_": np.array([object()], dtype=object)})
        m["estimator.npz"] = buf.getvalue()

    with pytest.raises(ModelError, match=r"^\S+ holds a malformed estimator \(.*\)\.$"):
        load_model(_rewrite(good, tmp_path / "p.bfm", pickled))

    for attr in ("predict_proba", "__class__", "_n_features_out.x"):
        def method(m, attr=attr):
            doc = json.loads(m["estimator.json"])
            doc["estimator"]["steps"][2]["estimator"]["state"][attr] = 1
            m["estimator.json"] = json.dumps(doc).encode()

        with pytest.raises(ModelError, match="malformed estimator"):
            load_model(_rewrite(good, tmp_path / "a.bfm", method))


def _bomb(m):
    m["meta.json"] = m["meta.json"] + b" " * (20 * 2**20)  # inflates past 16 MB


def _huge_shape(m):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(io.BytesIO(m["estimator.npz"])) as zin:
        arrays = {n: zin.read(n) for n in zin.namelist()}
    first = sorted(arrays)[0]
    arrays[first] = buf.getvalue() + bytes(64)  # 7 TB declared in 64 bytes
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for n, blob in arrays.items():
            zout.writestr(n, blob)
    m["estimator.npz"] = out.getvalue()


def _many_arrays(m):
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"pad{i}": np.zeros(2**17) for i in range(3)})  # 3 MB
    m["estimator.npz"] = buf.getvalue()


def _deep(member):
    def edit(m):
        m[member] = b"[" * 100_000 + b"]" * 100_000
    return edit


def _twice(m):
    text = m["meta.json"].decode().rstrip()
    assert text.endswith("}")
    m["meta.json"] = (text[:-1] + ', "sfreq": 1.0}').encode()  # a second, different sfreq


@pytest.mark.parametrize("edit, match", [
    (_bomb, r"is refused unread: meta\.json would inflate to 20 MB, more than the 16 MB "
            r"allowed; the file is damaged or was made to exhaust memory\.$"),
    (_huge_shape, r"is refused unread: \S+\.npy declares an array of shape "
                  r"\(1000000, 1000000\) \(7,629,395 MB\) in \d+ bytes"),
    (_many_arrays, r"is refused unread: its arrays would inflate to 3 MB, more than the "
                   r"1 MB allowed"),
    (_deep("meta.json"), r"is not a biofeedback model file \(JSON nested too deeply"),
    (_deep("estimator.json"), r"holds a malformed estimator \(JSON nested too deeply"),
    (_twice, r"is not a biofeedback model file \(the JSON key 'sfreq' is given twice\)"),
], ids=["zip_bomb", "huge_shape", "arrays_past_limit", "deep_meta", "deep_manifest",
        "duplicate_key"])
def test_model_files_made_to_exhaust_memory_are_refused_unread(
        edit, match, muse_all, tmp_path, monkeypatch):
    """Sizes are checked before anything inflates (a member's declared size, the
    arrays' together, each array's declared shape), and JSON too deep to parse
    or with a key given twice is refused: one ModelError, never a MemoryError, a
    RecursionError or a silently chosen value."""
    from biofeedback.training import _modelfile

    monkeypatch.setattr(_modelfile, "ESTIMATOR_LIMIT", 2**20)
    ds = muse_all.select(np.arange(len(muse_all)) % 8 == 0)
    good = save_model(fit_model(ds, "lda"), tmp_path / "good.bfm")
    load_model(good)  # the untouched file fits the bounds
    with pytest.raises(ModelError, match=match) as err:
        load_model(_rewrite(good, tmp_path / "bad.bfm", edit))
    assert str(err.value).startswith(str(tmp_path / "bad.bfm"))


class _Touch:
    """Unpickled, it creates the file ``path``: a pickle that says when it was loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


@pytest.mark.parametrize("blob, what", [
    ("pickle", "is a pickle, which is never loaded"),
    (b"not an archive at all", "is not an archive of arrays, which is never loaded"),
], ids=["pickle", "other_bytes"])
def test_an_estimator_member_that_is_no_archive_is_named(blob, what, muse_all, tmp_path,
                                                        capsys):
    """A pickle (or other bytes) put in place of estimator.npz: the sentence names the
    member and what to do, and the pickle is never loaded."""
    from biofeedback.cli import main

    marker = tmp_path / "unpickled.txt"
    if blob == "pickle":
        blob = pickle.dumps(_Touch(marker))
    ds = muse_all.select(np.arange(len(muse_all)) % 8 == 0)
    good = save_model(fit_model(ds, "lda"), tmp_path / "good.bfm")
    with zipfile.ZipFile(good) as zf:
        assert "estimator.npz" in zf.namelist()
    bad = tmp_path / "bad.bfm"

    def swap(m):
        m["estimator.npz"] = blob

    _rewrite(good, bad, swap)
    expected = (f"{bad}'s member estimator.npz {what}; the file was altered or damaged: "
                "train the model again, or get the file again.")
    with pytest.raises(ModelError) as err:
        load_model(bad)
    assert str(err.value) == expected
    assert main(["info", str(bad)]) == 1
    assert capsys.readouterr().err == f"biofeedback: error: {expected}\n"
    assert not marker.exists()


def test_member_names_are_only_keys(muse_all, tmp_path, monkeypatch):
    """A model file is never extracted: members named '../x' or '/abs' write nothing."""
    ds = muse_all.select(np.arange(len(muse_all)) % 8 == 0)
    good = save_model(fit_model(ds, "lda"), tmp_path / "sub" / "good.bfm")

    def traverse(m):
        m["../escaped.txt"] = b"x"
        m[str(tmp_path / "absolute.txt")] = b"y"

    monkeypatch.chdir(tmp_path / "sub")
    load_model(_rewrite(good, tmp_path / "sub" / "t.bfm", traverse))
    assert sorted(p.name for p in tmp_path.rglob("*.txt")) == []


def test_tampered_and_pickled_files_are_refused(model_file, tmp_path):
    import skops.io as sio

    pkl = tmp_path / "evil.bfm"
    pkl.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelError, match="not a biofeedback model file"):
        load_model(pkl)

    class Evil:  # an arbitrary class smuggled into the estimator
        pass

    tampered = tmp_path / "tampered.bfm"
    with zipfile.ZipFile(model_file[0]) as zf:
        meta = zf.read("meta.json")
    with zipfile.ZipFile(tampered, "w") as zf:
        zf.writestr("meta.json", meta)
        zf.writestr("estimator.skops", sio.dumps({"x": Evil()}))
    with pytest.raises(ModelError, match="untrusted type"):
        load_model(tampered)
    bad_meta = tmp_path / "meta.bfm"
    with zipfile.ZipFile(bad_meta, "w") as zf:
        zf.writestr("meta.json", json.dumps({"format": "something-else"}))
        zf.writestr("estimator.skops", b"")
    with pytest.raises(ModelError, match="not a biofeedback model file"):
        load_model(bad_meta)


def test_calibrated_model_asks_for_a_baseline(muse_all):
    from biofeedback.training._streams import CalibrationPlan

    model = fit_model(muse_all, "logreg", calibration=CalibrationPlan((("relaxed", 20.0),)))
    assert model.needs_calibration
    with pytest.raises(ModelError, match="needs a per-user baseline"):
        model.predict_proba(muse_all.X[:2])
    base = muse_all.X[(muse_all.subject == "subjecta") & (muse_all.t <= 20.0)]
    p = model.calibrate(base).predict_proba(muse_all.X[:2])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_live_engine_adds_class_probabilities(model_file, muse_dir):
    from biofeedback.engine import Engine
    from biofeedback.hardware import get_profile
    from biofeedback.io import read_recording
    from biofeedback.statefilter import StateFilter

    model = load_model(model_file[0])
    assert model.dwell == 30.0  # the protocol's training block length is stored
    rec = read_recording(muse_dir / "subjectd-relaxed-1.csv")
    engine = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"), model=model)
    out = engine.run(rec.data, rec.timestamps, chunk_size=32)
    cols = [engine.estimate_names.index(f"p_{c}") for c in model.classes_]
    p = out.estimates[:, cols]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    raw = model.predict_proba(out.features)
    want = StateFilter(3, 30.0, 0.5, window=2.0).filter(raw)
    np.testing.assert_allclose(p, want, rtol=1e-10)
    model.dwell = 0.0  # each window alone
    engine = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"), model=model)
    out = engine.run(rec.data, rec.timestamps, chunk_size=32)
    np.testing.assert_allclose(out.estimates[:, cols], raw, rtol=1e-12)


def test_an_electrode_left_out_by_class_is_named(muse_all):
    """On the shared Muse data AF8 is railed or bad in most concentrating windows and
    never in relaxed ones: training says so in one sentence, and the model file keeps
    the shares per channel and class."""
    import dataclasses

    by = muse_all.left_out_by_class()
    assert set(by) == set(muse_all.ch_names)
    assert by["AF8"]["concentrating"] > 0.5 > by["AF8"]["relaxed"]
    warning = muse_all.electrode_warning()
    assert warning.startswith("The quality gates leave AF8 out of ") and warning.count(".") >= 1
    assert "lda-channels" in warning and "default lda reads only the channels kept" in warning
    assert muse_all.summary()["left_out_by_class"] == by
    clean = dataclasses.replace(muse_all, left_out=np.zeros_like(muse_all.left_out))
    assert clean.electrode_warning() is None
    assert muse_all.select(muse_all.y == "relaxed").left_out.shape[0] == np.sum(
        muse_all.y == "relaxed")


def test_the_table_says_what_it_scores_on_marker_labelled_sessions():
    """Not 'sustained states' for sessions whose markers switch state."""
    from types import SimpleNamespace

    from biofeedback.training import LabelledFile
    from biofeedback.training._report import scored_what

    def what(*files):
        return scored_what(SimpleNamespace(files=list(files)))

    assert what(LabelledFile("a-relaxed-1.csv", "a", "1", "relaxed")) == "sustained states"
    assert what(LabelledFile("a-s-1.xdf", "a", "1")) == (
        "the marker-labelled windows of sessions that switch state")
    assert what(LabelledFile("a.csv", "a", "1", stretches=((0.0, 20.0, "relaxed"),))) == (
        "the manifest's labelled stretches")


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbfpath,label\r\n{a},relaxed\r\n{b},neutral\r\n",  # Excel's "CSV UTF-8"
    b"path;label\n{a};relaxed\n{b};neutral\n",                   # ';' as many locales save
    b" Path ,Label\n {a} , relaxed\n{b},neutral \n",              # as typed by hand
])
def test_a_manifest_as_spreadsheets_save_it_is_read(tmp_path, content):
    from biofeedback.training import label_files

    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x")
    manifest = tmp_path / "labels.csv"
    manifest.write_bytes(content.replace(b"{a}", b"a.csv").replace(b"{b}", b"b.csv"))
    files = label_files(labels_from="manifest", manifest=manifest)
    assert [(f.path, f.label) for f in files] == [
        (str(tmp_path / "a.csv"), "relaxed"), (str(tmp_path / "b.csv"), "neutral")]


def test_a_manifest_that_is_not_utf8_is_one_sentence(tmp_path):
    from biofeedback.training import label_files
    from biofeedback.training._labels import DatasetError

    manifest = tmp_path / "labels.csv"
    manifest.write_bytes(b"path,label\na.csv,d\xe9tendu\n")  # saved as Latin-1
    with pytest.raises(DatasetError, match=r"labels\.csv, line 2: byte 0xe9 is not UTF-8 "
                                           r"text; save the manifest as 'CSV UTF-8'"):
        label_files(labels_from="manifest", manifest=manifest)


def _two_edfs_of_an_unknown_headset(folder):
    """``s1-relaxed-1.edf`` and ``s1-focused-1.edf``: 6 s of Fp1 and Fp2 at 250 Hz."""
    from biofeedback.io import Recording, write_recording

    rng = np.random.default_rng(0)
    for label in ("relaxed", "focused"):
        rec = Recording(data=rng.normal(0, 20e-6, (2, 250 * 6)), sfreq=250.0,
                        ch_names=["Fp1", "Fp2"], timestamps=np.arange(250 * 6) / 250.0,
                        source_format="simulated")
        write_recording(rec, folder / f"s1-{label}-1.edf")


def test_recordings_of_a_headset_without_a_profile_say_how_to_train(tmp_path):
    """An EDF of another headset: the sentence offers --profile lsl, and that reads it."""
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._labels import DatasetError

    _two_edfs_of_an_unknown_headset(tmp_path)
    files = label_files([tmp_path])
    with pytest.raises(DatasetError, match=r"The board of s1-focused-1\.edf is unknown; pass "
                                           r"--profile NAME .*or --profile lsl .*for a headset"):
        extract_dataset(files, n_jobs=1)
    ds = extract_dataset(files, profile="lsl", n_jobs=1, gated="include")
    assert ds.classes == ["focused", "relaxed"] and ds.ch_names == ["Fp1", "Fp2"]


def test_an_unknown_board_names_the_keyword_a_python_caller_passes(tmp_path):
    """extract_dataset's caller passes profile=, not --profile: the sentence names both,
    as the readers' sentences do ("--profile NAME (profile= in Python)")."""
    from biofeedback.training import extract_dataset, label_files
    from biofeedback.training._labels import DatasetError

    _two_edfs_of_an_unknown_headset(tmp_path)
    with pytest.raises(DatasetError) as err:
        extract_dataset(label_files([tmp_path]), n_jobs=1)
    msg = str(err.value)
    assert "--profile NAME (profile= in Python;" in msg
    assert "--profile lsl (profile='lsl')" in msg
    assert msg.count(". ") == 0 and msg.endswith(".")


def test_xdf_with_two_eeg_streams_says_which_and_reads_the_one_named(tmp_path, caplog):
    """Which stream training read is said, and --stream (stream=) picks the other."""
    import logging

    from biofeedback.io import Recording, Stream, write_recording
    from biofeedback.training import extract_dataset, label_files

    rng = np.random.default_rng(0)
    ts = 100 + np.arange(250 * 6) / 250.0
    for label in ("relaxed", "focused"):
        other = Stream(name="Other", type="EEG", data=rng.normal(0, 20, (3, ts.size // 2)),
                       timestamps=ts[::2], ch_names=["C3", "Cz", "C4"], sfreq=125.0,
                       meta={"units": ["microvolts"] * 3})
        rec = Recording(data=rng.normal(0, 20e-6, (2, ts.size)), sfreq=250.0,
                        ch_names=["Fp1", "Fp2"], timestamps=ts, streams={"Other": other},
                        source_format="xdf", provenance={"eeg_stream": "Main"})
        write_recording(rec, tmp_path / f"s1-{label}-1.xdf")
    files = label_files([tmp_path])
    with caplog.at_level(logging.WARNING, logger="biofeedback"):
        ds = extract_dataset(files, profile="lsl", n_jobs=1, gated="include")
    assert ds.ch_names == ["Fp1", "Fp2"]
    assert "s1-focused-1.xdf: The file holds 2 EEG streams" in caplog.text
    ds = extract_dataset(files, profile="lsl", n_jobs=1, gated="include", stream="Other")
    assert ds.ch_names == ["C3", "Cz", "C4"] and ds.sfreq == 125.0


def test_labels_that_differ_only_in_case_are_said(tmp_path, caplog):
    import logging

    from biofeedback.training import label_files

    for name in ("a-Relaxed-1.csv", "b-relaxed-1.csv", "a-focused-1.csv"):
        (tmp_path / name).write_text("x")
    with caplog.at_level(logging.WARNING, logger="biofeedback"):
        files = label_files([tmp_path])
    assert sorted({f.label for f in files}) == ["Relaxed", "focused", "relaxed"]
    assert ("The labels 'Relaxed', 'relaxed' differ only in case or spaces, so they are 2 "
            "classes") in caplog.text


def test_file_names_that_do_not_fit_the_pattern_are_counted_and_named(tmp_path):
    """One file name outside the pattern is 'it', two are 'them', and each is named."""
    from biofeedback.training import label_files
    from biofeedback.training._labels import DatasetError

    names = ["s1-relaxed-1.csv", "s1-focused-1.csv", "odd.csv", "odder.csv"]
    for name in names:
        (tmp_path / name).write_text("x")
    pattern = "{subject}-{label}-{session}"
    with pytest.raises(DatasetError) as one:
        label_files([tmp_path / n for n in names[:3]], pattern=pattern)
    assert str(one.value) == ("1 file name does not fit the label pattern "
                              f"{pattern!r} (odd.csv); rename it or pass --pattern.")
    with pytest.raises(DatasetError) as two:
        label_files([tmp_path / n for n in names], pattern=pattern)
    assert str(two.value) == ("2 file names do not fit the label pattern "
                              f"{pattern!r} (odd.csv, odder.csv); rename them or pass "
                              "--pattern.")
