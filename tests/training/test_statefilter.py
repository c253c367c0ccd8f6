"""The causal state filter: live (step) and batch (filter) give the same numbers,
and validation scores exactly what the engine gives, on streams that switch state.

Also: window-input (Riemann) models run live, the engine hands windows out on
request, and old model files load with the new fields' defaults.
"""

import dataclasses
import json
import zipfile

import numpy as np
import pytest

from biofeedback.engine import Engine
from biofeedback.hardware import get_profile
from biofeedback.statefilter import StateFilter
from biofeedback.training import (
    cross_validate,
    evidence_grid,
    extract_dataset,
    fit_model,
    load_model,
    save_model,
    select_evidence,
)
from biofeedback.training._streams import CalibrationPlan, stream_dataset, switching_scores
from biofeedback.training._validation import _argmax_labels


class _ToyModel:
    """Two classes; p(b) grows with the first feature."""

    classes_ = np.array(["a", "b"])
    input = "features"
    needs_calibration = False
    calibration = None
    calibrated = True

    def __init__(self, dwell, evidence=None):
        self.dwell = dwell
        self.evidence = evidence

    def check_compatible(self, ch_names, sfreq, feature_names):
        pass

    def calibrate(self, features):
        return self

    def predict_proba(self, X):
        z = np.tanh(X[:, :1] + 12.0)  # log10 V² + 12 is log10 µV², order 1
        return np.hstack([(1 - z) / 2, (1 + z) / 2])


def _run(model, data, ts, chunk=64):
    from biofeedback.config import load_pipeline

    muse = get_profile("muse_2")
    eng = Engine(load_pipeline(), muse.ch_names, muse.sfreq, muse, model=model)
    return eng, eng.run(data, ts, chunk_size=chunk)


def test_step_and_filter_give_identical_output():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=200)
    P[[10, 11, 50]] = np.nan
    seg = np.repeat([0, 1, 2], [80, 70, 50])
    sf = StateFilter(3, dwell=30.0, step=0.5, window=2.0)
    batch = sf.filter(P, seg)
    live, last = [], None
    for p, g in zip(P, seg, strict=True):
        if g != last:
            sf.reset()
            last = g
        live.append(sf.step(p))
    np.testing.assert_array_equal(batch, np.array(live))
    # fed in blocks, carrying the belief across them (the engine's batch driver)
    sf.reset()
    blocks = [sf.filter(P[i:i + 37], seg[i:i + 37], carry=True) for i in range(0, 200, 37)]
    np.testing.assert_array_equal(np.vstack(blocks), batch)
    assert np.isnan(batch[[10, 11, 50]]).all()
    np.testing.assert_allclose(np.nansum(batch, axis=1)[np.isfinite(batch[:, 0])], 1.0)
    # dwell 0 passes probabilities through
    np.testing.assert_array_equal(StateFilter(3, 0.0, 0.5).filter(P), P)


def test_filter_is_stable_in_a_state_and_follows_a_switch_within_seconds():
    rng = np.random.default_rng(1)
    n = 120  # 60 s of class 0, then 60 s of class 1, confident but noisy windows
    truth = np.repeat([0, 1], n)
    P = np.full((2 * n, 2), 0.1)
    right = rng.random(2 * n) < 0.75
    P[np.arange(2 * n), np.where(right, truth, 1 - truth)] = 0.9
    out = StateFilter(2, dwell=30.0, step=0.5, window=2.0).filter(P)
    pred = out.argmax(axis=1)
    raw = P.argmax(axis=1)
    assert np.mean(raw[20:n] == 0) < 0.8  # each window alone flickers
    assert np.mean(pred[20:n] == 0) > 0.95  # the filter holds the state
    follow = np.flatnonzero(pred[n:] == 1)[0] * 0.5
    assert follow <= 4.0  # and follows the switch within a few seconds
    assert np.mean(pred[n + 20:] == 1) > 0.95


def test_state_filter_rejects_bad_parameters():
    with pytest.raises(ValueError, match="dwell"):
        StateFilter(3, -1.0, 0.5)
    with pytest.raises(ValueError, match="3 probabilities"):
        StateFilter(3, 10.0, 0.5).step([0.5, 0.5])


def test_engine_state_filter_is_causal_and_restarts_after_a_gap(make_eeg):
    data, ts = make_eeg(duration=20, seed=3)
    data[:, 2560:] *= 4.0  # a change of state halfway
    ts = ts.copy()
    ts[3000:] += 5.0  # then five seconds lost
    eng_raw, raw = _run(_ToyModel(0.0), data, ts)
    eng, out = _run(_ToyModel(4.0), data, ts, chunk=7)
    assert eng.n_resets == eng_raw.n_resets == 1
    p_raw, p = raw.estimates[:, -2:], out.estimates[:, -2:]
    seg = np.searchsorted(np.array([ts[3000]]), out.t_end, side="right")
    sf = StateFilter(2, 4.0, 0.5, window=2.0)
    np.testing.assert_allclose(p, sf.filter(p_raw, seg), rtol=1e-12)
    # a model's evidence weight reaches the engine's filter
    _, out6 = _run(_ToyModel(4.0, evidence=0.6), data, ts, chunk=7)
    np.testing.assert_allclose(out6.estimates[:, -2:],
                               StateFilter(2, 4.0, 0.5, gamma=0.6).filter(p_raw, seg),
                               rtol=1e-12)
    assert not np.allclose(p[1:10], p_raw[1:10])
    # causal: the output at a window never depends on later windows
    _, head = _run(_ToyModel(4.0), data[:, :2600], ts[:2600])
    np.testing.assert_array_equal(head.estimates, out.estimates[: len(head.t_end)])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


GUIDED = CalibrationPlan((("relaxed", 10.0), ("neutral", 10.0), ("concentrating", 10.0)))


@pytest.mark.slow
def test_validation_scores_what_the_engine_gives_on_a_switching_stream(muse_all, tmp_path,
                                                                     monkeypatch):
    """cross_validate's switching scores are the live engine's, window for window
    (the class probabilities validation scores are the engine's to 1e-9), with
    the guided calibration blocks replayed first (without calibration the same
    code runs with nothing to blank or centre) and a filter evidence weight
    other than the default."""
    from biofeedback.training import _scoring

    plan = GUIDED
    ds = muse_all
    seen = {}  # per switching stream: the probabilities validation scored
    scored = _scoring.filtered_proba

    def keep(predict_proba, dataset, rows, *args, **kwargs):
        P = scored(predict_proba, dataset, rows, *args, **kwargs)
        (r,) = np.unique(dataset.recording[rows])
        seen[(dataset.files[r].subject, dataset.files[r].path)] = P
        return P

    monkeypatch.setattr(_scoring, "filtered_proba", keep)
    res = cross_validate(ds, "lda", calibration=plan, dwell=20.0, evidence=0.5,
                         switch_every=20.0)
    monkeypatch.undo()
    fold = next(f for f in res.folds if f["test"] == "subjectd")
    streams = stream_dataset(ds, plan, 20.0, skip=20.0)
    save_model(fit_model(ds.select(ds.subject != "subjectd"), "lda", calibration=plan,
                         dwell=20.0, evidence=0.5), tmp_path / "m.bfm")
    from biofeedback.training._streams import switches_from_markers

    calib = plan.seconds if plan else 0.0
    first_correct = first_n = 0
    lags = []
    mine = [i for i, f in enumerate(streams.files) if f.subject == "subjectd"]
    assert len(mine) == 6  # one stream per order of the three states
    for r in mine:
        rec = streams.files[r].recording
        assert rec.n_times > 60 * rec.sfreq and len(rec.markers) >= 5
        m = load_model(tmp_path / "m.bfm")  # a fresh, uncalibrated model per session
        eng = Engine(m.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"), model=m)
        out = eng.run(rec.data, rec.timestamps, chunk_size=97)
        assert eng.n_resets == 0  # the joins lie on one continuous clock
        cols = [eng.estimate_names.index(f"p_{c}") for c in m.classes_]
        if plan:
            assert eng.calibrated_at is not None
            assert np.isnan(out.estimates[out.t_end <= calib][:, cols]).all()
        rows = (streams.recording == r) & (streams.t > calib)
        p = out.estimates[streams.wid[rows]][:, cols]
        np.testing.assert_allclose(seen[("subjectd", streams.files[r].path)], p, rtol=1e-9,
                                   atol=1e-12)
        pred = _argmax_labels(p, m.classes_)
        sc = switching_scores(streams.t[rows], streams.y[rows], pred,
                              switches_from_markers(streams.full[r]["markers"], after=calib))
        first_correct += sc["first_correct"]
        first_n += sc["first_n"]
        lags += [None if not np.isfinite(v) else v for v in sc["lags"]]
    assert first_correct == fold["switching"]["first_correct"]
    assert first_n == fold["switching"]["first_n"] > 0
    assert lags == fold["switching"]["lags"]
    assert res.switching["n_switches"] >= 40


@pytest.mark.slow
def test_evidence_weight_is_chosen_on_the_training_subjects_only(muse_all):
    """Nested cross-validation: each fold's evidence weight is the one an inner
    leave-one-subject-out over its training subjects picks from the declared
    candidates, whatever the held-out person's recordings hold."""
    ds = muse_all
    grid = evidence_grid(ds.config)
    assert grid == (0.25, 0.5, 1.0)  # hop / window, hop / Welch segment, 1
    held = "subjecta"
    train = ds.subject != held
    streams = stream_dataset(ds, None, 30.0, skip=20.0)
    pick = select_evidence(ds, "lda", dwell=30.0, grid=grid, train=train, streams=streams)
    assert pick in grid
    # the held-out person's labels are never read: scrambling them changes nothing
    scrambled = dataclasses.replace(ds, y=np.where(train, ds.y, np.roll(ds.y, 7)))
    assert select_evidence(scrambled, "lda", dwell=30.0, grid=grid, train=train,
                           streams=streams) == pick
    # one training subject: nothing to hold out, the first candidate (hop / window)
    assert select_evidence(ds, "lda", dwell=30.0, grid=grid,
                           train=ds.subject == "subjectb") == 0.25
    with pytest.raises(ValueError, match="switching streams"):
        cross_validate(ds, "lda", dwell=30.0, evidence=grid)
    with pytest.raises(ValueError, match="evidence weight"):
        select_evidence(ds, "lda", dwell=30.0, grid=(0.5, 1.5))


def test_switching_scores_lag_and_first_seconds():
    t = np.arange(1, 41) * 0.5  # windows ending every 0.5 s up to 20 s
    y = np.where(t <= 10.0, "a", "b")
    pred = np.where(t <= 13.0, "a", "b")  # follows 3 s late
    sc = switching_scores(t, y, pred, [(10.0, "b")])
    assert sc["lags"] == [pytest.approx(3.5)]
    assert sc["first_n"] == 20 and sc["first_correct"] == 14
    never = switching_scores(t, y, np.full(40, "a"), [(10.0, "b")])
    assert never["lags"] == [np.inf]


def test_streams_join_without_artifacts(muse_all):
    """The built stream is gated no more than its parts, and never restarts."""
    streams = stream_dataset(muse_all, None, 20.0, skip=20.0)
    for r, f in enumerate(streams.full):
        assert np.all(f["segment"] == 0)
        sub = streams.files[r].subject
        parts = muse_all.gated[(muse_all.subject == sub) & (muse_all.t > 20.0)].mean()
        assert f["gated"].mean() <= parts + 0.1


def test_old_model_files_load_with_defaults(muse_all, tmp_path):
    fname = save_model(fit_model(muse_all, "logreg", dwell=30.0), tmp_path / "new.bfm")
    old = tmp_path / "old.bfm"
    with zipfile.ZipFile(fname) as zf:
        meta = json.loads(zf.read("meta.json"))
        blob = zf.read("estimator.skops")
    for key in ("dwell_s", "input", "evidence_weight"):
        meta.pop(key)
    meta["smooth_s"] = 10.0  # exponential smoothing: no longer applied
    meta["calibration"] = {"method": "center", "seconds": 20.0}  # before calibration blocks
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.writestr("estimator.skops", blob)
    model = load_model(old)
    assert model.dwell == 0.0 and model.input == "features" and model.evidence is None
    assert model.plan.seconds == 20.0 and model.plan.states == [None]
    assert load_model(fname).dwell == 30.0


# -- window-input models live -------------------------------------------------


@pytest.fixture(scope="module")
def riemann_model(muse_dir, tmp_path_factory):
    from biofeedback.training import label_files

    files = label_files(sorted(muse_dir.glob("subject[ab]-*.csv")))
    ds = extract_dataset(files, gated="include", need_windows=True, n_jobs=1)
    model = fit_model(ds, "riemann", dwell=0.0)
    fname = save_model(model, tmp_path_factory.mktemp("r") / "riemann.bfm")
    return load_model(fname), ds


@pytest.mark.slow
def test_engine_hands_out_windows_on_request(riemann_model, muse_dir):
    from biofeedback.io import read_recording

    _, ds = riemann_model
    rec = read_recording(muse_dir / "subjecta-neutral-1.csv")
    prof = get_profile("muse_2016")
    out = Engine(ds.config, rec.ch_names, rec.sfreq, prof, keep_windows=True).run(
        rec.data, rec.timestamps, chunk_size=50)
    assert out.windows.shape == (len(out.t_end), 4, 512)
    r = [i for i, f in enumerate(ds.files) if f.path.endswith("subjecta-neutral-1.csv")][0]
    np.testing.assert_array_equal(ds.windows[ds.recording == r], out.windows)
    plain = Engine(ds.config, rec.ch_names, rec.sfreq, prof).run(rec.data, rec.timestamps)
    assert plain.windows is None


@pytest.mark.slow
def test_switching_streams_of_a_windows_dataset_keep_their_windows(riemann_model):
    """Window models are scored on the switching streams too: the streams carry the
    engine's windows when the dataset they are built from does."""
    _, ds = riemann_model
    one = dataclasses.replace(ds, files=[f for f in ds.files if f.subject == "subjecta"])
    streams = stream_dataset(one, None, 20.0, skip=20.0)
    assert streams.windows is not None and streams.windows.shape[1:] == ds.windows.shape[1:]
    for f in streams.full:
        assert f["windows"].shape[0] == f["X"].shape[0]


@pytest.mark.slow
def test_riemann_model_runs_live_on_filtered_windows(riemann_model, muse_dir):
    from biofeedback.io import read_recording

    model, ds = riemann_model
    assert model.input == "windows"
    rec = read_recording(muse_dir / "subjectc-relaxed-1.csv")
    eng = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"),
                 model=model, keep_windows=True)
    out = eng.run(rec.data, rec.timestamps, chunk_size=64)
    cols = [eng.estimate_names.index(f"p_{c}") for c in model.classes_]
    np.testing.assert_allclose(out.estimates[:, cols], model.predict_proba(out.windows),
                               rtol=1e-9)
    # a live layout with an extra channel is read through the model's channels
    extra = np.vstack([rec.data, rec.data[:1] * 0.5])
    eng2 = Engine(model.config, [*rec.ch_names, "AUX"], rec.sfreq, get_profile("muse_2016"),
                  model=model)
    out2 = eng2.run(extra, rec.timestamps)
    np.testing.assert_allclose(out2.estimates[:, -3:], out.estimates[:, cols], rtol=1e-9)


def test_a_live_engine_calibrates_a_model_from_its_first_seconds(muse_all, muse_dir):
    """A model saved with a baseline period calibrates itself live: NaN probabilities
    during the baseline, then the probabilities of a model calibrated on exactly the
    features of the windows that ended inside it."""
    from biofeedback.io import read_recording

    plan = CalibrationPlan((("neutral", 20.0),))
    model = fit_model(muse_all, "logreg", calibration=plan, dwell=0.0)
    assert model.needs_calibration and not model.calibrated
    rec = read_recording(muse_dir / "subjectb-neutral-1.csv")
    eng = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"), model=model)
    eng.warm_up()
    assert not model.calibrated  # warm-up noise is never a baseline
    out = eng.run(rec.data, rec.timestamps, chunk_size=64)
    cols = [eng.estimate_names.index(f"p_{c}") for c in model.classes_]
    in_base = out.t_end - rec.timestamps[0] <= 20.0
    assert np.isnan(out.estimates[in_base][:, cols]).all()
    assert np.isfinite(out.estimates[~in_base][:, cols]).all() and model.calibrated
    ref = fit_model(muse_all, "logreg", calibration=plan, dwell=0.0)
    ref.calibrate(out.features[in_base & ~out.gated])  # clean windows only
    np.testing.assert_allclose(out.estimates[~in_base][:, cols],
                               ref.predict_proba(out.features[~in_base]), rtol=1e-12)
