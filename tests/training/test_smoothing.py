"""Smoothed class probabilities: the engine's, the validation's, the same numbers.

Also: window-input (Riemann) models run live, the engine hands windows out on
request, and old model files load with the new fields' defaults.
"""

import json
import zipfile

import numpy as np
import pytest

from biofeedback.engine import Engine, ProbabilitySmoother
from biofeedback.hardware import get_profile
from biofeedback.training import (
    cross_validate,
    extract_dataset,
    fit_model,
    load_model,
    save_model,
)
from biofeedback.training._validation import smoothed_proba


class _ToyModel:
    """Two classes; p(b) grows with the first feature. Counts its calls."""

    classes_ = np.array(["a", "b"])
    input = "features"

    def __init__(self, smooth):
        self.smooth = smooth

    def check_compatible(self, ch_names, sfreq, feature_names):
        pass

    def predict_proba(self, X):
        z = np.tanh(X[:, :1] + 12.0)  # log10 V² + 12 is log10 µV², order 1
        return np.hstack([(1 - z) / 2, (1 + z) / 2])


def _run(model, data, ts, chunk=64):
    from biofeedback.config import load_pipeline

    muse = get_profile("muse_2")
    eng = Engine(load_pipeline(), muse.ch_names, muse.sfreq, muse, model=model)
    return eng, eng.run(data, ts, chunk_size=chunk)


def test_engine_smoothing_is_causal_and_restarts_after_a_gap(make_eeg):
    data, ts = make_eeg(duration=20, seed=3)
    data[:, 2560:] *= 4.0  # a change of state halfway
    ts = ts.copy()
    ts[3000:] += 5.0  # then five seconds lost
    eng_raw, raw = _run(_ToyModel(0.0), data, ts)
    eng, out = _run(_ToyModel(4.0), data, ts, chunk=7)
    assert eng.n_resets == eng_raw.n_resets == 1
    p_raw, p = raw.estimates[:, -2:], out.estimates[:, -2:]
    seg = np.searchsorted(np.array([ts[3000]]), out.t_end, side="right")
    np.testing.assert_allclose(p, ProbabilitySmoother(4.0, 0.5).apply(p_raw, seg), rtol=1e-12)
    first_after = np.flatnonzero(seg == 1)[0]
    np.testing.assert_allclose(p[first_after], p_raw[first_after], rtol=1e-12)  # restarted
    assert not np.allclose(p[1:first_after], p_raw[1:first_after])
    # causal: the output at a window never depends on later windows
    _, head = _run(_ToyModel(4.0), data[:, :2600], ts[:2600])
    np.testing.assert_array_equal(head.estimates, out.estimates[: len(head.t_end)])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_smoother_step_response_and_nan_windows():
    sm = ProbabilitySmoother(10.0, 0.5)
    P = np.array([[1.0, 0.0]] + [[0.0, 1.0]] * 20)
    P[5] = np.nan
    out = sm.apply(P)
    assert np.isnan(out[5]).all() and np.isfinite(out[6]).all()
    # 63 % of the step after tau seconds (20 windows of 0.5 s, one of them NaN)
    assert out[-1, 1] == pytest.approx(1 - np.exp(-19 * 0.5 / 10.0))
    np.testing.assert_array_equal(ProbabilitySmoother(0.0, 0.5).apply(P[:5]), P[:5])


@pytest.fixture(scope="module")
def gap_dataset(muse_dir, tmp_path_factory):
    """Subjects a and b, plus a recording of subject d with a 5 s gap in it."""
    from biofeedback.training import label_files

    tmp = tmp_path_factory.mktemp("gap")
    lines = (muse_dir / "subjectd-neutral-1.csv").read_text().splitlines()
    out = [lines[0]]
    for k, ln in enumerate(lines[1:]):
        t, rest = ln.split(",", 1)
        out.append(f"{float(t) + (5.0 if k >= 6000 else 0.0)!r},{rest}")
    (tmp / "subjectd-neutral-1.csv").write_text("\n".join(out) + "\n")
    files = [*label_files(sorted(muse_dir.glob("subject[ab]-*.csv"))),
             *label_files([tmp / "subjectd-neutral-1.csv",
                           muse_dir / "subjectd-relaxed-1.csv",
                           muse_dir / "subjectd-concentrating-1.csv"])]
    return extract_dataset(files, gated="include", n_jobs=1)


@pytest.mark.parametrize("calibration", [None, 20.0])
def test_validation_scores_what_the_engine_gives(gap_dataset, calibration):
    """cross_validate's held-out predictions are the live engine's, window for window."""
    from biofeedback.io import read_recording
    from biofeedback.training._validation import baseline_mask, scored_mask

    ds = gap_dataset
    assert set(ds.segment[ds.subject == "subjectd"].tolist()) == {0, 1}
    res = cross_validate(ds, "logreg", calibration=calibration, score_after=20.0, smooth=10.0)
    assert res.folds[-1]["subject"] == "subjectd"
    model = fit_model(ds.select(ds.subject != "subjectd"), "logreg", calibration=calibration,
                      smooth=10.0)
    d = ds.subject == "subjectd"
    if calibration:
        model.calibrate(ds.X[d & baseline_mask(ds, calibration)])
    pred = []
    for r in np.unique(ds.recording[d]):
        rec = read_recording(ds.files[r].path)
        eng = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"),
                     model=model)
        out = eng.run(rec.data, rec.timestamps, chunk_size=100)
        cols = [eng.estimate_names.index(f"p_{c}") for c in model.classes_]
        rows = d & (ds.recording == r)
        np.testing.assert_allclose(
            smoothed_proba(model.predict_proba, ds, rows, model.smooth,
                           blank_until=calibration),
            out.estimates[ds.wid[rows]][:, cols], rtol=1e-9)
        keep = scored_mask(ds, 20.0)[rows]
        p = out.estimates[ds.wid[rows]][keep][:, cols]
        pred.append(model.classes_[np.argmax(p, axis=1)])
    n = res.folds[-1]["n_windows"]
    np.testing.assert_array_equal(res.y_pred[-n:], np.concatenate(pred))


def test_zscore_calibration_divides_by_the_baseline_std(muse_all):
    model = fit_model(muse_all, "logreg", calibration=20.0, calibration_method="zscore")
    base = muse_all.X[(muse_all.subject == "subjecta") & (muse_all.t <= 20.0)]
    model.calibrate(base)
    z = (muse_all.X[:5] - base.mean(axis=0)) / base.std(axis=0, ddof=1)
    np.testing.assert_allclose(model.predict_proba(muse_all.X[:5]),
                               model.estimator.predict_proba(z), rtol=1e-12)
    assert model.meta["calibration"] == {"method": "zscore", "seconds": 20.0}


def test_old_model_files_load_with_defaults(muse_all, tmp_path):
    fname = save_model(fit_model(muse_all, "logreg"), tmp_path / "new.bfm")
    old = tmp_path / "old.bfm"
    with zipfile.ZipFile(fname) as zf:
        meta = json.loads(zf.read("meta.json"))
        blob = zf.read("estimator.skops")
    for key in ("smooth_s", "input"):
        meta.pop(key)
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.writestr("estimator.skops", blob)
    model = load_model(old)
    assert model.smooth == 0.0 and model.input == "features"
    assert load_model(fname).smooth == 10.0


# -- window-input models live -------------------------------------------------


@pytest.fixture(scope="module")
def riemann_model(muse_dir, tmp_path_factory):
    from biofeedback.training import label_files

    files = label_files(sorted(muse_dir.glob("subject[ab]-*.csv")))
    ds = extract_dataset(files, gated="include", need_windows=True, n_jobs=1)
    model = fit_model(ds, "riemann", smooth=0.0)
    fname = save_model(model, tmp_path_factory.mktemp("r") / "riemann.bfm")
    return load_model(fname), ds


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

    model = fit_model(muse_all, "logreg", calibration=20.0, smooth=0.0)
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
    ref = fit_model(muse_all, "logreg", calibration=20.0, smooth=0.0)
    ref.calibrate(out.features[in_base])
    np.testing.assert_allclose(out.estimates[~in_base][:, cols],
                               ref.predict_proba(out.features[~in_base]), rtol=1e-12)
