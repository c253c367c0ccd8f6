"""The live engine's features as a scikit-learn transformer."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._windows import _DEFAULT_BANDS, _check_windows


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
        from ..config import FeaturesConfig
        from ..features import FeatureSet

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
