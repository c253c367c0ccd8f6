"""Riemannian tangent space of filter-bank covariances (pyRiemann, optional)."""

from __future__ import annotations

import functools

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._checks import _import_optional
from ._windows import _DEFAULT_BANDS, _check_windows


def _pyriemann(module, name):
    """``pyriemann.geometry.<module>.<name>`` (0.12+) or its older home in utils."""
    import importlib

    _import_optional("pyriemann", "riemann", "FilterBankTangentSpace")  # names the extra
    try:
        mod = importlib.import_module(f"pyriemann.geometry.{module}")
    except ImportError:  # pyriemann < 0.12
        mod = importlib.import_module(f"pyriemann.utils.{module}")
    return getattr(mod, name)


def _band_sos(lo, hi, sfreq):
    """The 4th-order Butterworth band-pass of a band (a copy: scipy's filters
    want it writable). A live model transforms one window at a time, and
    designing five filters for each took longer than filtering it."""
    return _band_design(lo, hi, sfreq).copy()


@functools.lru_cache(maxsize=64)
def _band_design(lo, hi, sfreq):
    from scipy.signal import butter

    return butter(4, [lo, hi], btype="band", fs=sfreq, output="sos")


def _oas(X):
    """OAS covariance of every window ``(n_windows, n_channels, n_times)`` at once.

    scikit-learn's ``oas`` (what pyRiemann's ``Covariances("oas")`` calls for
    each window): the sample covariance (mean removed, divided by
    ``n_times``) shrunk towards ``mu * I``, ``mu`` its mean variance, by
    ``min((alpha + mu**2) / ((n_times + 1) * (alpha - mu**2 / n_channels)), 1)``
    with ``alpha`` the mean of its squared entries. One window at a time
    through scikit-learn's input checks took most of a riemann fit.
    """
    n_channels, n_times = X.shape[-2:]
    Xc = X - X.mean(axis=-1, keepdims=True)
    emp = np.matmul(Xc, np.swapaxes(Xc, -1, -2)) / n_times
    alpha = np.mean(emp ** 2, axis=(-2, -1))
    mu = np.trace(emp, axis1=-2, axis2=-1) / n_channels
    mu_squared = mu ** 2
    num = alpha + mu_squared
    den = (n_times + 1) * (alpha - mu_squared / n_channels)
    zero = den == 0
    shrinkage = np.where(zero, 1.0, np.minimum(num / np.where(zero, 1.0, den), 1.0))
    out = (1.0 - shrinkage)[..., None, None] * emp
    diag = np.arange(n_channels)
    out[..., diag, diag] += (shrinkage * mu)[..., None]
    return out


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
        from scipy.signal import sosfiltfilt

        estimation = _import_optional("pyriemann.estimation", "riemann",
                                      "FilterBankTangentSpace", "pyriemann")

        bands = self.bands or [(lo, hi) for _, lo, hi in _DEFAULT_BANDS]
        covs = []
        for lo, hi in bands:
            sos = _band_sos(float(lo), float(hi), float(self.sfreq))
            Xf = sosfiltfilt(sos, X, axis=-1)
            if self.estimator == "oas":
                covs.append(_oas(Xf))
            else:
                covs.append(estimation.Covariances(self.estimator).fit_transform(Xf))
        return np.stack(covs, axis=1)

    def _fit_covariances(self, C, n_channels):
        mean_riemann = _pyriemann("mean", "mean_riemann")

        self.n_channels_ = self.n_features_in_ = n_channels
        self.reference_ = np.stack([mean_riemann(C[:, b]) for b in range(C.shape[1])])

    def _tangent(self, C):
        tangent_space = _pyriemann("tangentspace", "tangent_space")

        return np.concatenate(
            [tangent_space(C[:, b], self.reference_[b]) for b in range(C.shape[1])],
            axis=1,
        )

    def fit(self, X, y=None):
        """Estimate the reference point of each band; returns self."""
        X = _check_windows(X)
        self._fit_covariances(self._covariances(X), X.shape[1])
        return self

    def transform(self, X):
        """``(n_windows, n_bands * n_channels * (n_channels + 1) / 2)``."""
        check_is_fitted(self, "reference_")
        X = _check_windows(X, self.n_channels_)
        return self._tangent(self._covariances(X))

    def fit_transform(self, X, y=None):
        """:meth:`fit`, then :meth:`transform` of the same windows, with the
        covariances estimated once (they are most of the time a fit takes)."""
        X = _check_windows(X)
        C = self._covariances(X)
        self._fit_covariances(C, X.shape[1])
        return self._tangent(C)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
