"""The feature transformers follow scikit-learn's estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from biofeedback.estimators import (
    CLASSIFIERS,
    BandPowerTransformer,
    FilterBankTangentSpace,
    make_classifier,
)

# scikit-learn's common checks feed 2D tabular arrays (n_samples, n_features).
# These transformers read EEG windows (n_windows, n_channels, n_times) and
# reject 2D input by design, so checks that need a 2D fit cannot apply.
_NEEDS_2D = "the common check feeds 2D tabular data; the estimator reads 3D EEG windows"


def _expected_failed(estimator):
    names = [
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
    ]
    return {n: _NEEDS_2D for n in names}


@parametrize_with_checks(
    [BandPowerTransformer(), FilterBankTangentSpace()],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture
def windows(make_eeg):
    data, _ = make_eeg(n_channels=4, duration=12.0)
    n = 512
    return np.stack([data[:, i : i + n] for i in range(0, data.shape[1] - n + 1, 128)])


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
    with pytest.raises(ValueError, match=r"\(n_windows, n_channels, n_times\)"):
        BandPowerTransformer().fit(np.zeros((4, 512)))


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_registry_builds_fresh_estimators(name):
    a, b = make_classifier(name), make_classifier(name)
    assert a is not b and hasattr(a, "fit")
