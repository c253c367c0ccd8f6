"""scikit-learn estimators: EEG windows to features to mental-state classes.

Feature extraction is a scikit-learn transformer, so it works inside
:class:`~sklearn.pipeline.Pipeline` and :class:`~sklearn.model_selection.GridSearchCV`:

- :class:`BandPowerTransformer` turns filtered windows ``(n_windows,
  n_channels, n_times)`` in volts into the features the live engine computes
  (it calls the same :class:`biofeedback.features.FeatureSet`).
- :class:`FilterBankTangentSpace` turns the same windows into Riemannian
  tangent-space vectors of per-band covariance matrices (pyRiemann).

- :class:`ChannelBalancedMean` pools per-channel features over a window's
  clean channels, each centred on its channel's level, so that a classifier
  after it cannot read which electrodes the quality gates left out.

Classifiers are named by short names in :data:`CLASSIFIERS` (``"lda"``, the
default, reads only clean channels through :class:`ChannelBalancedMean`;
``"lda-channels"``, ``"logreg"``, ``"rf"``, ``"hgb"`` read every channel's
features; ``"riemann"`` reads windows); :func:`make_classifier` builds one.
Trained models are saved and loaded without executing code by
:func:`biofeedback.training.save_model` and
:func:`biofeedback.training.load_model` (training builds on this module, never
the other way round).

The module is over 400 lines because it keeps every transformer beside the
registry that builds classifiers from them: one place to import them from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._checks import _check_option, _import_optional

__all__ = [
    "BandPowerTransformer",
    "ChannelBalancedMean",
    "FilterBankTangentSpace",
    "CLASSIFIERS",
    "ClassifierSpec",
    "make_classifier",
]

_DEFAULT_BANDS = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 13.0),
    ("beta", 13.0, 30.0),
    ("gamma", 30.0, 45.0),
)


def _check_windows(X, n_channels=None):
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):  # scipy.sparse
        raise TypeError("Sparse data was passed, but dense data is required: EEG windows "
                        "are dense arrays (n_windows, n_channels, n_times).")
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported: EEG windows are real-valued.")
    if X.ndim != 3:
        raise ValueError(
            "Expected windows shaped (n_windows, n_channels, n_times), got an "
            f"array with {X.ndim} dimension(s)."
        )
    if X.shape[0] < 1:
        raise ValueError("Found array with 0 sample(s); a minimum of 1 is required.")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"Windows must be numeric, got dtype {X.dtype}.")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity.")
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(
            f"X has {X.shape[1]} channels, but this transformer was fitted on "
            f"{n_channels}."
        )
    return X


class BandPowerTransformer(TransformerMixin, BaseEstimator):
    """Features of the live engine, as a scikit-learn transformer.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    features : tuple of str
        Registered feature names (:data:`biofeedback.features.FEATURES`), e.g.
        ``("log_band_power", "rel_band_power")``.
    bands : tuple of (name, low, high) | None
        Band edges in Hz, [low, high); None uses delta 1-4, theta 4-8, alpha
        8-13, beta 13-30 and gamma 30-45 Hz.
    welch_segment : float
        Welch segment length in seconds.
    welch_overlap : float
        Welch overlap as a fraction of a segment.
    welch_window : "hann" | "hamming"
        Welch taper.
    ch_names : tuple of str | None
        Channel names used in the output feature names; None names them
        ``ch0``, ``ch1``...

    Attributes
    ----------
    n_channels_ : int
        Channels seen in :meth:`fit`.
    n_features_in_ : int
        The same number, under scikit-learn's name (``X.shape[1]``).
    feature_names_ : list of str
        Names of the output columns (as the live engine names them).

    Notes
    -----
    Input is filtered EEG windows ``(n_windows, n_channels, n_times)`` in
    volts (what :class:`biofeedback.engine.Engine` feeds its feature set);
    output is ``(n_windows, n_features)``. All channels count as clean.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = make_pipeline(BandPowerTransformer(sfreq=256.0), LogisticRegression())
    >>> clf.fit(windows, y).predict(windows[:3])  # doctest: +SKIP
    """

    def __init__(self, sfreq=256.0, features=("log_band_power",), bands=None,
                 welch_segment=1.0, welch_overlap=0.5, welch_window="hann",
                 ch_names=None):
        self.sfreq = sfreq
        self.features = features
        self.bands = bands
        self.welch_segment = welch_segment
        self.welch_overlap = welch_overlap
        self.welch_window = welch_window
        self.ch_names = ch_names

    def _feature_set(self, n_channels):
        from .config import FeaturesConfig
        from .features import FeatureSet

        bands = _DEFAULT_BANDS if self.bands is None else self.bands
        band_dict = {str(n): (float(lo), float(hi)) for n, lo, hi in bands}
        lo = min(b[0] for b in band_dict.values())
        hi = max(b[1] for b in band_dict.values())
        config = FeaturesConfig(
            names=tuple(self.features), indices=(), bands=band_dict,
            welch_segment=float(self.welch_segment),
            welch_overlap=float(self.welch_overlap), welch_window=self.welch_window,
            spectral_range=(lo, hi), index_bands={},
        )
        config._validate()
        ch_names = (list(self.ch_names) if self.ch_names is not None
                    else [f"ch{i}" for i in range(n_channels)])
        if len(ch_names) != n_channels:
            raise ValueError(
                f"ch_names has {len(ch_names)} names but X has {n_channels} channels."
            )
        return FeatureSet(config, ch_names, float(self.sfreq))

    def fit(self, X, y=None):
        """Check the windows and the settings; returns self."""
        X = _check_windows(X)
        fs = self._feature_set(X.shape[1])
        self.n_channels_ = self.n_features_in_ = X.shape[1]
        self.feature_names_ = list(fs.feature_names)
        self._fs = fs
        return self

    def transform(self, X):
        """Features of every window: ``(n_windows, n_features)``."""
        check_is_fitted(self, "feature_names_")
        X = _check_windows(X, self.n_channels_)
        clean = np.ones(X.shape[:2], bool)
        return self._fs.batch(X, clean)[0]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


def _pyriemann(module, name):
    """``pyriemann.geometry.<module>.<name>`` (0.12+) or its older home in utils."""
    import importlib

    _import_optional("pyriemann", "riemann", "FilterBankTangentSpace")  # names the extra
    try:
        mod = importlib.import_module(f"pyriemann.geometry.{module}")
    except ImportError:  # pyriemann < 0.12
        mod = importlib.import_module(f"pyriemann.utils.{module}")
    return getattr(mod, name)


class FilterBankTangentSpace(TransformerMixin, BaseEstimator):
    """Tangent-space vectors of per-band covariance matrices (pyRiemann).

    Each window is band-pass filtered (zero-phase within the window) in every
    band, its spatial covariance estimated (``estimator``, shrinkage by
    default) and projected onto the tangent space at the Riemannian mean of
    the training covariances of that band (Barachant et al. 2012).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    bands : tuple of (low, high) | None
        Filter bank in Hz; None uses 1-4, 4-8, 8-13, 13-30 and 30-45 Hz.
    estimator : str
        pyRiemann covariance estimator ("oas", "lwf", "scm"...).

    Attributes
    ----------
    reference_ : ndarray, shape (n_bands, n_channels, n_channels)
        Tangent-space reference points.
    n_channels_, n_features_in_ : int
        Channels seen in :meth:`fit` (``X.shape[1]``).

    Notes
    -----
    Reference: Barachant, Bonnet, Congedo & Jutten 2012, IEEE TBME 59:920.
    """

    def __init__(self, sfreq=256.0, bands=None, estimator="oas"):
        self.sfreq = sfreq
        self.bands = bands
        self.estimator = estimator

    def _covariances(self, X):
        from scipy.signal import butter, sosfiltfilt

        estimation = _import_optional("pyriemann.estimation", "riemann",
                                      "FilterBankTangentSpace", "pyriemann")

        bands = self.bands or [(lo, hi) for _, lo, hi in _DEFAULT_BANDS]
        covs = []
        for lo, hi in bands:
            sos = butter(4, [lo, hi], btype="band", fs=float(self.sfreq), output="sos")
            Xf = sosfiltfilt(sos, X, axis=-1)
            covs.append(estimation.Covariances(self.estimator).fit_transform(Xf))
        return np.stack(covs, axis=1)

    def fit(self, X, y=None):
        """Estimate the reference point of each band; returns self."""
        mean_riemann = _pyriemann("mean", "mean_riemann")

        X = _check_windows(X)
        C = self._covariances(X)
        self.n_channels_ = self.n_features_in_ = X.shape[1]
        self.reference_ = np.stack([mean_riemann(C[:, b]) for b in range(C.shape[1])])
        return self

    def transform(self, X):
        """``(n_windows, n_bands * n_channels * (n_channels + 1) / 2)``."""
        tangent_space = _pyriemann("tangentspace", "tangent_space")

        check_is_fitted(self, "reference_")
        X = _check_windows(X, self.n_channels_)
        C = self._covariances(X)
        return np.concatenate(
            [tangent_space(C[:, b], self.reference_[b]) for b in range(C.shape[1])],
            axis=1,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class ChannelBalancedMean(TransformerMixin, BaseEstimator):
    """Per-channel features pooled over a window's clean channels, each channel
    centred on its own level, so which channels are clean does not move the
    pooled value.

    Input is the engine's feature vector as a channel-balanced model sees it
    (:meth:`biofeedback.features.FeatureSet.clean_view`): the columns of a
    channel the quality gates leave out of the window are NaN. For every item
    (e.g. the alpha log band power), the output is the mean over the window's
    clean channels of ``x[c] - level[c]``.

    The channel levels are learnt at :meth:`fit` from the windows themselves,
    as the least-squares fit of ``x[w, c] = s[w] + level[c]`` over the clean
    entries (two-way additive model with missing cells): a channel's level is
    measured against the other channels *within the same windows*, not from
    the windows it happens to be clean in. So when an electrode is left out of
    every window of one state, its level does not carry that state, and
    pooling without it gives the same value, on average, as pooling with it.
    A channel never clean together with another in the training windows is
    centred on its own mean; a channel never clean at all is ignored.

    Parameters
    ----------
    columns : sequence of (int, int) | None
        Per input column, its channel and its item (columns sharing an item
        are pooled; channel -1 is a column already pooled, kept as a channel
        of its own). None: every column is its own item on one channel (the
        output is the input, centred).

    Attributes
    ----------
    n_features_in_ : int
        Input columns.
    level_ : ndarray, shape (n_features_in_,)
        Each column's channel level (NaN: the channel was never clean).
    items_ : ndarray of int
        The output's items, in order of first appearance.

    Notes
    -----
    A window with no clean channel for an item gives NaN there (the engine
    gates such windows). Everything after this step sees one value per item,
    so no channel's values or absence can reach the classifier except
    through the state-driven part of the pooled mean.
    """

    def __init__(self, columns=None):
        self.columns = columns

    def _layout(self, n):
        if self.columns is None:
            return np.zeros(n, np.int64), np.arange(n)
        cols = np.asarray(self.columns, dtype=np.int64).reshape(-1, 2)
        if len(cols) != n:
            raise ValueError(f"columns describes {len(cols)} columns but X has {n}.")
        return cols[:, 0], cols[:, 1]

    def fit(self, X, y=None):
        """Learn each channel's level per item; returns self."""
        X = _validate_allow_nan(self, X, reset=True)
        chan, item = self._layout(X.shape[1])
        level = np.full(X.shape[1], np.nan)
        for it in np.unique(item):
            cols = np.flatnonzero(item == it)
            level[cols] = _channel_levels(X[:, cols])
        self.level_ = level
        _, first = np.unique(item, return_index=True)
        self.items_ = item[np.sort(first)]
        return self

    def transform(self, X):
        """``(n_windows, n_items)``: centred values averaged over clean channels."""
        check_is_fitted(self, "level_")
        X = _validate_allow_nan(self, X, reset=False)
        _, item = self._layout(X.shape[1])
        Z = X - self.level_
        out = np.empty((X.shape[0], len(self.items_)))
        for j, it in enumerate(self.items_):
            z = Z[:, item == it]
            ok = np.isfinite(z)
            n = ok.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, j] = np.where(n > 0, np.where(ok, z, 0.0).sum(axis=1) / n, np.nan)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _validate_allow_nan(est, X, reset):
    """2-D float64 ``X``, NaN allowed, infinity refused; sets or checks
    ``n_features_in_`` (scikit-learn's own validation)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return est._validate_data(X, force_all_finite="allow-nan", reset=reset,
                                  dtype=np.float64)
    return validate_data(est, X, ensure_all_finite="allow-nan", reset=reset,
                         dtype=np.float64)


def _channel_levels(X):
    """Levels of the columns (channels) of ``X`` (NaN: not clean), see
    :class:`ChannelBalancedMean`: the two-way additive least-squares fit,
    its levels shifted so the pooled output averages zero over ``X``."""
    ok = np.isfinite(X)
    Z = np.where(ok, X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok.any(axis=0), Z.sum(axis=0) / ok.sum(axis=0), np.nan)
    c = ok.astype(np.float64)
    m = c.sum(axis=1)
    w = m >= 2  # windows holding a contrast between channels
    c, Z, m = c[w], Z[w], m[w]
    # normal equations of min sum_w sum_{c clean} (x - s_w - level_c)^2 with
    # s_w eliminated: A level = b, A singular along the all-ones direction
    A = np.diag(c.sum(axis=0)) - (c / m[:, None]).T @ c
    b = (c * (Z - ((Z * c).sum(axis=1) / m)[:, None])).sum(axis=0)
    level = mean.copy()
    linked = np.diag(A) > 0
    if linked.sum() >= 2:
        sub = np.ix_(linked, linked)
        rel = np.linalg.lstsq(A[sub], b[linked], rcond=None)[0]
        # shift so that pooled, centred windows average zero (scale-free)
        ok_l = ok[:, linked]
        n = ok_l.sum(axis=1)
        rows = n > 0
        pooled = (np.where(ok_l, X[:, linked] - rel, 0.0).sum(axis=1)[rows] / n[rows])
        level[linked] = rel + pooled.mean()
    return level


@dataclass(frozen=True)
class ClassifierSpec:
    """A registered classifier.

    ``input`` is "features" (the engine's feature vector), "clean_features"
    (the same with the columns of channels the gates leave out of the window
    set to NaN: :meth:`biofeedback.features.FeatureSet.clean_view`) or
    "windows" (filtered windows, for covariance-based models).
    """

    factory: object
    input: str
    description: str


def _logreg(random_state):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _lda_channels(random_state):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))


def _lda(random_state):
    from sklearn.pipeline import Pipeline

    return Pipeline([("channelbalancedmean", ChannelBalancedMean()),
                     *_lda_channels(random_state).steps])


def _rf(random_state):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=200, min_samples_leaf=2,
                                  random_state=random_state)


def _hgb(random_state):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, random_state=random_state)


def _riemann(random_state):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(FilterBankTangentSpace(), StandardScaler(),
                         LogisticRegression(max_iter=2000))


#: Classifiers by short name.
CLASSIFIERS = {
    "logreg": ClassifierSpec(_logreg, "features",
                             "every channel's standardised features, L2 logistic "
                             "regression (C=1)"),
    "lda": ClassifierSpec(_lda, "clean_features",
                          "features of the clean channels, each centred on its channel's "
                          "level and pooled per band; standardised, LDA with Ledoit-Wolf "
                          "shrinkage"),
    "lda-channels": ClassifierSpec(_lda_channels, "features",
                                   "every channel's features, left-out electrodes "
                                   "included; standardised, LDA with Ledoit-Wolf "
                                   "shrinkage"),
    "rf": ClassifierSpec(_rf, "features", "random forest, 200 trees"),
    "hgb": ClassifierSpec(_hgb, "features", "histogram gradient boosting, 200 iterations"),
    "riemann": ClassifierSpec(_riemann, "windows",
                              "filter-bank covariances (OAS), Riemannian tangent space, "
                              "logistic regression"),
}


def make_classifier(name: str, *, sfreq: float = 256.0, random_state: int = 0,
                    columns=None):
    """A fresh, unfitted classifier registered under ``name``.

    Parameters
    ----------
    name : str
        One of :data:`CLASSIFIERS`.
    sfreq : float
        Sampling rate (used by window-input models).
    random_state : int
        Seed of randomised models.
    columns : sequence of (int, int) | None
        Channel and item of every feature column, for "clean_features" models
        (:class:`ChannelBalancedMean`); from
        :attr:`biofeedback.features.FeatureSet.column_channel` and
        ``column_item``.

    Returns
    -------
    estimator : sklearn estimator
    """
    _check_option("model", name, list(CLASSIFIERS))
    est = CLASSIFIERS[name].factory(random_state)
    if CLASSIFIERS[name].input == "windows":
        est.set_params(filterbanktangentspace__sfreq=float(sfreq))
    if CLASSIFIERS[name].input == "clean_features":
        est.set_params(channelbalancedmean__columns=None if columns is None
                       else tuple(tuple(int(v) for v in c) for c in columns))
    return est
