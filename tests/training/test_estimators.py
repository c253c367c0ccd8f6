"""The feature transformers follow scikit-learn's estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from biofeedback.estimators import (
    CLASSIFIERS,
    BandPowerTransformer,
    ChannelBalancedMean,
    FilterBankTangentSpace,
    make_classifier,
)

# scikit-learn's common checks feed 2-D tabular arrays (n_samples, n_features).
# These transformers read EEG windows (n_windows, n_channels, n_times) and
# refuse 2-D input by design. Only the checks that fail for that reason are
# expected to fail, each with what it feeds; xfail_strict makes a check that
# starts passing an error. test_contract_on_3d_windows checks the same
# contract (fit returns self, clone, pickle, idempotent fit, parameters
# unchanged, n_features_in_, NaN/inf, empty input, order and subset
# invariance, dtypes, read-only memory) on 3-D windows.
_2D = "refused by design: the transformers read 3-D windows (n_windows, n_channels, n_times)"
_EXPECTED_FAILED = {
    "check_dict_unchanged": f"fits on 2-D X to compare __dict__; {_2D}",
    "check_dont_overwrite_parameters": f"fits on 2-D X to look for new public "
                                       f"attributes; {_2D}",
    "check_dtype_object": f"fits on a 2-D object array; {_2D}",
    "check_estimators_dtypes": f"fits on 2-D float32/int32/int64 X; {_2D}",
    "check_estimators_empty_data_messages": f"expects the message for 2-D X without "
                                            f"features, '0 feature(s)'; {_2D}",
    "check_estimators_fit_returns_self": f"fits on 2-D blobs; {_2D}",
    "check_estimators_nan_inf": f"expects a NaN message for 2-D X; {_2D}",
    "check_estimators_overwrite_params": f"fits on 2-D blobs; {_2D}",
    "check_estimators_pickle": f"fits on 2-D blobs before pickling; {_2D}",
    "check_f_contiguous_array_estimator": f"fits on a 2-D Fortran-ordered X; {_2D}",
    "check_fit2d_1feature": f"expects the message for 2-D X with one feature; {_2D}",
    "check_fit2d_1sample": f"expects the message for 2-D X with one sample; {_2D}",
    "check_fit2d_predict1d": f"fits on 2-D X then transforms 1-D rows; {_2D}",
    "check_fit_check_is_fitted": f"fits on 2-D blobs; {_2D}",
    "check_fit_idempotent": f"fits twice on 2-D X; {_2D}",
    "check_fit_score_takes_y": f"fits on 2-D X with y; {_2D}",
    "check_methods_sample_order_invariance": f"transforms permuted rows of 2-D X; "
                                             f"{_2D}",
    "check_methods_subset_invariance": f"transforms row subsets of 2-D X; {_2D}",
    "check_n_features_in": f"fits on 2-D X; {_2D}",
    "check_n_features_in_after_fitting": f"fits on 2-D X then transforms 2-D X "
                                         f"with one feature less; {_2D}",
    "check_pipeline_consistency": f"fits a pipeline on 2-D blobs; {_2D}",
    "check_positive_only_tag_during_fit": f"fits on 2-D iris with negative "
                                          f"values; {_2D}",
    "check_readonly_memmap_input": f"fits on a read-only 2-D memmap; {_2D}",
    "check_transformer_data_not_an_array": f"fits on a 2-D array-like; {_2D}",
    "check_transformer_general": f"fits on 2-D blobs; {_2D}",
    "check_transformer_preserve_dtypes": f"fits on 2-D float32/float64 blobs; {_2D}",
}


def _expected_failed(estimator):
    if isinstance(estimator, ChannelBalancedMean):  # 2-D features: every check applies
        return {}
    return dict(_EXPECTED_FAILED)


@parametrize_with_checks(
    [BandPowerTransformer(), FilterBankTangentSpace(), ChannelBalancedMean()],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture
def windows(make_eeg):
    data, _ = make_eeg(n_channels=4, duration=12.0)
    n = 512
    return np.stack([data[:, i : i + n] for i in range(0, data.shape[1] - n + 1, 128)])


@pytest.mark.parametrize("make", [BandPowerTransformer, FilterBankTangentSpace])
def test_contract_on_3d_windows(make, windows):
    """The estimator contract the 2-D common checks cannot test, on 3-D windows."""
    import pickle

    X = windows.astype(np.float64)
    y = np.arange(len(X)) % 2
    est = make(sfreq=256.0)
    params = {k: (v if not isinstance(v, np.ndarray) else v.copy())
              for k, v in est.get_params().items()}
    assert est.fit(X, y) is est  # fit returns self
    # fit sets only trailing-underscore attributes and leaves the parameters alone
    assert est.get_params() == params
    assert est.n_features_in_ == X.shape[1]
    out = est.transform(X)
    assert out.shape[0] == len(X) and np.isfinite(out).all()
    # clone: same parameters, not fitted, gives the same output once fitted
    fresh = clone(est)
    assert fresh.get_params() == params and not hasattr(fresh, "n_features_in_")
    np.testing.assert_allclose(fresh.fit(X, y).transform(X), out, rtol=1e-10)
    # fitting twice gives the same model
    np.testing.assert_allclose(est.fit(X, y).transform(X), out, rtol=1e-10)
    # pickle round trip (in memory): same output
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).transform(X), out, rtol=1e-12)
    # transform keeps the fitted state and is per window: order and subsets do not matter
    state = {k: v for k, v in vars(est).items() if not k.startswith("_")}
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(est.transform(X[perm]), out[perm], rtol=1e-10)
    np.testing.assert_allclose(est.transform(X[:3]), out[:3], rtol=1e-10)
    assert {k: v for k, v in vars(est).items() if not k.startswith("_")}.keys() == state.keys()
    # float32, Fortran order and read-only memory are read, not refused
    ro = np.asfortranarray(X)
    ro.setflags(write=False)
    np.testing.assert_allclose(est.transform(ro), out, rtol=1e-10)
    assert np.isfinite(est.transform(X.astype(np.float32))).all()
    # bad windows are refused with a message
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        make(sfreq=256.0).fit(bad, y)
    with pytest.raises(ValueError, match="0 sample"):
        make(sfreq=256.0).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="channels"):
        est.transform(X[:, :2])


def test_tangent_space_fit_transform_estimates_the_covariances_once(windows):
    """A pipeline fits its tangent space with fit_transform: the same vectors as
    fit then transform, from one pass of the covariance estimates (5 bands of
    OAS per window, most of a fit's time)."""

    class Counting(FilterBankTangentSpace):
        passes = 0

        def _covariances(self, X):
            type(self).passes += 1
            return super()._covariances(X)

    X = windows.astype(np.float64)
    want = FilterBankTangentSpace(sfreq=256.0).fit(X).transform(X)
    est = Counting(sfreq=256.0)
    np.testing.assert_array_equal(est.fit_transform(X), want)
    assert Counting.passes == 1
    np.testing.assert_array_equal(est.transform(X), want)  # fitted as fit() fits


@pytest.mark.parametrize("shape", [(40, 4, 512), (6, 1, 256), (5, 8, 100), (3, 4, 3)])
def test_tangent_space_oas_is_pyriemanns(shape):
    """The OAS covariances of all windows at once are pyRiemann's (scikit-learn's
    oas, one window at a time), on EEG-sized values with offsets."""
    from pyriemann.estimation import Covariances

    from biofeedback.estimators._riemann import _oas

    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape) * 1e-5 + rng.standard_normal(shape[:2] + (1,)) * 1e-4
    want = Covariances("oas").fit_transform(X)
    np.testing.assert_allclose(_oas(X), want, rtol=1e-12, atol=1e-15 * np.abs(want).max())


def test_tangent_space_designs_its_band_filters_once(windows):
    """A live model transforms one window at a time: the five band filters are
    designed once, not for every window."""
    from biofeedback.estimators import _riemann

    est = FilterBankTangentSpace(sfreq=256.0).fit(windows)
    designed = _riemann._band_design.cache_info().misses
    out = np.vstack([est.transform(w[None]) for w in windows[:5]])
    assert _riemann._band_design.cache_info().misses == designed
    np.testing.assert_allclose(out, est.transform(windows[:5]), rtol=1e-12)


def test_band_power_transformer_matches_the_feature_set(windows):
    from biofeedback.config import FeaturesConfig
    from biofeedback.features import FeatureSet

    ch = ["TP9", "AF7", "AF8", "TP10"]
    tr = BandPowerTransformer(sfreq=256.0, features=("log_band_power", "rel_band_power"),
                              ch_names=ch).fit(windows)
    fs = FeatureSet(FeaturesConfig(names=("log_band_power", "rel_band_power"), indices=()),
                    ch, 256.0)
    want = fs.batch(windows, np.ones(windows.shape[:2], bool))[0]
    np.testing.assert_allclose(tr.transform(windows), want, rtol=1e-12)
    assert list(tr.get_feature_names_out()) == fs.feature_names


def test_transformers_work_in_pipelines_and_grid_search(windows):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline

    y = np.arange(len(windows)) % 2
    X = windows.copy()
    X[y == 1] *= 3.0  # class 1 is louder
    groups = np.arange(len(windows)) % 3
    for step in (BandPowerTransformer(), FilterBankTangentSpace()):
        pipe = make_pipeline(step, LogisticRegression(max_iter=500))
        grid = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=GroupKFold(3))
        grid.fit(X, y, groups=groups)
        assert grid.best_score_ > 0.9
        assert clone(pipe).get_params()["logisticregression__C"] == 1.0


def test_2d_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"\(n_windows, n_channels, n_times\), got an "
                                         r"array with 2 dimensions\.$"):
        BandPowerTransformer().fit(np.zeros((4, 512)))
    with pytest.raises(ValueError, match=r"got an array with 1 dimension\.$"):
        BandPowerTransformer().fit(np.zeros(512))


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_registry_builds_fresh_estimators(name):
    cols = [(c, 0) for c in range(4)] if CLASSIFIERS[name].input == "clean_features" else None
    a, b = (make_classifier(name, sfreq=250.0, columns=cols) for _ in range(2))
    assert a is not b and hasattr(a, "fit")
    if CLASSIFIERS[name].input == "windows":
        assert a.get_params()["filterbanktangentspace__sfreq"] == 250.0


def test_a_pooling_classifier_without_columns_is_refused_not_per_channel():
    """Without the columns' channels, the default 'lda' cannot pool over clean
    channels: built so, it would read every channel apart, as 'lda-channels'."""
    with pytest.raises(ValueError, match=r"^The 'lda' classifier pools .* columns=dataset"):
        make_classifier("lda")


def test_a_window_classifier_without_the_rate_is_refused_not_built_at_256_hz():
    """An OpenBCI Cyton's 250 Hz windows went through filters designed for 256 Hz."""
    with pytest.raises(ValueError, match=r"^The 'riemann' classifier .* sfreq=dataset"):
        make_classifier("riemann")


def test_channel_balanced_mean_ignores_which_channels_are_clean():
    """Channels at different levels: leaving one out does not move the pooled
    value (the level is learnt within windows, not from where it is clean)."""
    rng = np.random.default_rng(1)
    n, levels = 400, np.array([[-11.0, -12.0], [-10.0, -13.0], [-12.5, -11.5]])
    state = rng.normal(0.0, 0.3, (n, 1, 2))  # the same in every channel
    X = (state + levels[None] + rng.normal(0.0, 0.05, (n, 3, 2))).reshape(n, 6)
    cols = [(c, b) for c in range(3) for b in range(2)]
    Xm = X.copy()
    Xm[: n // 2, 2:4] = np.nan  # channel 1 left out of half the windows
    est = ChannelBalancedMean(columns=cols).fit(Xm)
    assert est.n_features_in_ == 6 and est.transform(Xm).shape == (n, 2)
    np.testing.assert_allclose(est.level_.reshape(3, 2) - est.level_.reshape(3, 2).mean(0),
                               levels - levels.mean(0), atol=0.02)
    full, dropped = est.transform(X), est.transform(Xm)
    for b in range(2):  # the shared state, up to a constant
        assert np.corrcoef(full[:, b], state[:, 0, b])[0, 1] > 0.98
    assert abs(np.mean(full[: n // 2] - dropped[: n // 2])) < 0.01
    # a window with no clean channel gives NaN; infinity is refused
    assert np.isnan(est.transform(np.full((1, 6), np.nan))).all()
    with pytest.raises(ValueError, match="infinity"):
        est.transform(np.full((1, 6), np.inf))
    with pytest.raises(ValueError, match="columns"):
        ChannelBalancedMean(columns=cols).fit(X[:, :4])
