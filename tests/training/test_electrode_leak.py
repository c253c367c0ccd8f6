"""The default model cannot score an electrode's contact instead of the state.

Synthetic recordings through the real path (engine, quality gates, dataset,
cross-validation): every class has the same EEG, but in one class AF8 is
flat, so the gates leave it out of every window of that class. A model that
reads every channel scores that electrode (near 1.0); the default model must
stay at chance, and so must any pooling that lets which channels are clean
move the pooled value (channels sit at different levels).
"""

import numpy as np
import pytest

from biofeedback.io import Recording
from biofeedback.training import cross_validate, extract_dataset
from biofeedback.training._labels import LabelledFile

CHANNELS = ["TP9", "AF7", "AF8", "TP10"]
GAIN = np.array([1.0, 0.6, 1.6, 1.2])  # levels differ between channels, as on a head


def _recording(seed, flat_af8, seconds=24.0, sfreq=256.0):
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    t = np.arange(n) / sfreq
    # the same process in every class: 1/f-ish noise plus an alpha rhythm whose
    # amplitude wanders slowly, shared by all channels
    walk = np.cumsum(rng.standard_normal((4, n)), axis=1)
    walk -= walk.mean(axis=1, keepdims=True)
    env = 1.0 + 0.5 * np.sin(2 * np.pi * t / rng.uniform(5, 9) + rng.uniform(0, 6))
    alpha = 15.0 * env * np.sin(2 * np.pi * 10.0 * t + rng.uniform(0, 6, (4, 1)))
    data = (0.05 * walk + 5.0 * rng.standard_normal((4, n)) + alpha) * GAIN[:, None] * 1e-6
    if flat_af8:
        data[2] = 0.0  # electrode off: flat, left out by the gates
    return Recording(data=np.ascontiguousarray(data), sfreq=sfreq, ch_names=list(CHANNELS),
                     timestamps=100.0 + t, source_format="synthetic", profile="muse_2016")


@pytest.fixture(scope="module")
def leaky():
    files = []
    for s in range(4):
        for k, label in enumerate(("calm", "focused")):
            rec = _recording(10 * s + k, flat_af8=label == "focused")
            files.append(LabelledFile(f"s{s}-{label}", f"s{s}", "1", label, recording=rec))
    return extract_dataset(files, n_jobs=1)


def test_an_electrode_off_in_one_class_is_not_learnt(leaky):
    ds = leaky
    assert ds.left_out_by_class()["AF8"] == {"calm": 0.0, "focused": 1.0}
    # no window is gated (the gates select no class's windows by their EEG)
    assert len(ds) > 300 and ds.n_gated_dropped == 0
    assert "lda-channels" in ds.electrode_warning()
    # the default reads only clean channels, balanced for which are clean: chance
    default = cross_validate(ds, "lda")
    assert default.balanced_accuracy < 0.6
    # the same data fool a model reading every channel: the test can fail
    assert cross_validate(ds, "lda-channels").balanced_accuracy > 0.9


def test_pooling_without_channel_levels_would_leak(leaky):
    """Averaging the clean channels' values without centring each on its level
    reads which channels were averaged (the control for the default's centring)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from biofeedback.estimators import make_classifier

    ds = leaky
    train, test = ds.subject != "s0", ds.subject == "s0"
    n_bands = ds.X.shape[1] // len(CHANNELS)
    plain = np.nanmean(ds.Xc.reshape(len(ds), len(CHANNELS), n_bands), axis=1)
    lda = LinearDiscriminantAnalysis().fit(plain[train], ds.y[train])
    assert lda.score(plain[test], ds.y[test]) > 0.9
    balanced = make_classifier("lda", columns=ds.columns).fit(ds.Xc[train], ds.y[train])
    assert balanced.score(ds.Xc[test], ds.y[test]) < 0.65


def test_the_default_model_file_runs_as_one_engine(leaky, tmp_path):
    """Saved and loaded (skops, trusted types only), the default model gives live,
    in replay and in training the same probabilities for the windows where a
    channel was left out."""
    from biofeedback.engine import Engine
    from biofeedback.hardware import get_profile
    from biofeedback.training import fit_model, load_model, save_model

    ds = leaky
    model = load_model(save_model(fit_model(ds, "lda", dwell=0), tmp_path / "m.bfm"))
    assert model.input == "clean_features"
    r = next(i for i, f in enumerate(ds.files) if f.label == "focused")
    rec = ds.files[r].recording
    outs = []
    for batch in (False, True):
        eng = Engine(model.config, rec.ch_names, rec.sfreq, get_profile("muse_2016"),
                     model=load_model(tmp_path / "m.bfm"))
        outs.append(eng.run(rec.data, rec.timestamps, chunk_size=None if batch else 256,
                            batch=batch))
    cols = [eng.estimate_names.index(f"p_{c}") for c in model.classes_]
    live, replay = (o.estimates[:, cols] for o in outs)
    np.testing.assert_allclose(replay, live, rtol=1e-9, atol=1e-12)
    want = model.predict_proba(ds.full[r]["Xc"])
    np.testing.assert_allclose(replay, want, rtol=1e-9, atol=1e-12)
    assert np.isfinite(want).all() and np.isnan(ds.full[r]["Xc"]).any()
    # the displayed features keep the left-out channel's values
    assert np.isfinite(outs[1].features).all()
    # the report names what the classifier reads: one pooled value per band
    from biofeedback.training._report import feature_importances

    names, imp = feature_importances(model, ds)
    assert names == [f"logpow_{b}_clean" for b in ("delta", "theta", "alpha", "beta", "gamma")]
    assert imp.shape == (5,)


def test_a_loaded_model_given_a_dataset_reads_what_its_input_names(leaky, tmp_path):
    """model.predict(ds) reads ds.Xc for the default model, as the engine hands it,
    not ds.X, which holds the values of the channels the gates left out."""
    from biofeedback.training import fit_model, load_model, save_model

    ds = leaky
    model = load_model(save_model(fit_model(ds, "lda", dwell=0), tmp_path / "m.bfm"))
    want = model.predict_proba(ds.Xc)
    np.testing.assert_array_equal(model.predict_proba(ds), want)
    np.testing.assert_array_equal(model.predict(ds), model.predict(ds.Xc))
    assert not np.allclose(model.predict_proba(ds.X), want)
