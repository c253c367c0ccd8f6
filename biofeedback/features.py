"""Features and state indices computed on each window.

A :class:`FeatureSet` turns a filtered window (n_channels, n_times) into a
feature vector (the classifier's input) and a vector of state indices (the
estimates people see). Features and indices are looked up by name in
registries, so a pipeline file names them and the live engine, replay and
batch training all compute them the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FeatureSet", "FEATURES", "INDICES", "welch_psd", "band_powers"]


def welch_psd(x: np.ndarray, sfreq: float, n_per_seg: int, n_overlap: int):
    """Welch PSD with a Hann window, density scaling, mean over segments.

    Parameters
    ----------
    x : ndarray, shape (..., n_times)
        Signal in volts.
    sfreq : float
        Sampling rate in Hz.
    n_per_seg, n_overlap : int
        Segment length and overlap in samples.

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
    psd : ndarray, shape (..., n_freqs)
        V²/Hz, one-sided.
    """
    from scipy.signal import welch

    return welch(x, fs=sfreq, window="hann", nperseg=n_per_seg, noverlap=n_overlap,
                 detrend="constant", scaling="density", average="mean", axis=-1)


def band_powers(freqs, psd, bands) -> np.ndarray:
    """Absolute band power (V²): PSD summed over bins in [low, high) times df.

    Returns an array shaped ``psd.shape[:-1] + (n_bands,)``.
    """
    df = freqs[1] - freqs[0]
    out = np.empty(psd.shape[:-1] + (len(bands),))
    for i, (lo, hi) in enumerate(bands):
        sel = (freqs >= lo) & (freqs < hi)
        out[..., i] = psd[..., sel].sum(axis=-1) * df
    return out


# -- registries ---------------------------------------------------------------
# A feature: f(ctx, bp) -> (names, values) with bp the (n_channels, n_bands)
# absolute band powers. An index: f(ctx, bp, clean) -> float.

def _log_band_power(ctx, bp):
    names = [f"logpow_{b}_{ch}" for ch in ctx.ch_names for b in ctx.band_names]
    return names, np.log10(np.maximum(bp, 1e-30)).ravel()


def _rel_band_power(ctx, bp):
    names = [f"relpow_{b}_{ch}" for ch in ctx.ch_names for b in ctx.band_names]
    tot = bp.sum(axis=1, keepdims=True)
    return names, (bp / np.where(tot > 0, tot, np.nan)).ravel()


FEATURES = {"log_band_power": _log_band_power, "rel_band_power": _rel_band_power}


def _mean_ratio(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    r = r[np.isfinite(r)]
    return float(r.mean()) if r.size else np.nan


def _engagement(ctx, bp, clean):
    b = bp[clean]
    return _mean_ratio(b[:, ctx.band("beta")], b[:, ctx.band("alpha")] + b[:, ctx.band("theta")])


def _arousal(ctx, bp, clean):
    b = bp[clean]
    return _mean_ratio(b[:, ctx.band("beta")], b[:, ctx.band("alpha")])


def _alpha_rel(ctx, bp, clean):
    b = bp[clean]
    return _mean_ratio(b[:, ctx.band("alpha")], b.sum(axis=1))


def _theta_beta(ctx, bp, clean):
    b = bp[clean]
    return _mean_ratio(b[:, ctx.band("theta")], b[:, ctx.band("beta")])


def _faa(ctx, bp, clean):
    if ctx.frontal_idx is None:
        return np.nan
    left, right = ctx.frontal_idx
    if not (clean[left] and clean[right]):
        return np.nan
    a = ctx.band("alpha")
    with np.errstate(divide="ignore"):
        return float(np.log(bp[right, a]) - np.log(bp[left, a]))


INDICES = {
    "engagement": _engagement,
    "arousal": _arousal,
    "alpha_rel": _alpha_rel,
    "theta_beta": _theta_beta,
    "faa": _faa,
}


class FeatureSet:
    """Features and indices of one pipeline for one channel layout.

    Parameters
    ----------
    config : FeaturesConfig
        Which features, indices and bands.
    ch_names : list of str
        Channels in data order.
    sfreq : float
        Sampling rate in Hz.
    profile : BoardProfile | None
        Supplies the frontal pair for asymmetry.

    Attributes
    ----------
    feature_names : list of str
        Names of the feature vector's entries.
    index_names : list of str
        Names of the indices, in output order.
    """

    def __init__(self, config, ch_names, sfreq: float, profile=None):
        self.config = config
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.band_names = list(config.bands)
        self.bands = [config.bands[b] for b in self.band_names]
        self.n_per_seg = int(round(config.welch_segment * sfreq))
        self.n_overlap = int(round(config.welch_overlap * self.n_per_seg))
        pair = getattr(profile, "frontal_pair", None)
        self.frontal_idx = None
        if pair and all(ch in self.ch_names for ch in pair):
            self.frontal_idx = tuple(self.ch_names.index(ch) for ch in pair)
        for name in config.names:
            if name not in FEATURES:
                raise ValueError(f"Unknown feature {name!r}; known: {', '.join(FEATURES)}.")
        for name in config.indices:
            if name not in INDICES:
                raise ValueError(f"Unknown index {name!r}; known: {', '.join(INDICES)}.")
        dummy = np.ones((len(self.ch_names), len(self.bands)))
        self.feature_names = [n for f in config.names for n in FEATURES[f](self, dummy)[0]]
        self.index_names = list(config.indices)

    def band(self, name: str) -> int:
        """Column of band ``name``."""
        return self.band_names.index(name)

    def reset(self) -> None:
        """Forget any state kept between windows."""

    def window(self, x: np.ndarray, clean: np.ndarray):
        """Compute features and indices of one window.

        Parameters
        ----------
        x : ndarray, shape (n_channels, n_times)
            Filtered window, volts.
        clean : ndarray of bool, shape (n_channels,)
            Channels the indices may use.

        Returns
        -------
        features : ndarray, shape (n_features,)
        indices : ndarray, shape (n_indices,)
        """
        freqs, psd = welch_psd(x, self.sfreq, self.n_per_seg, self.n_overlap)
        bp = band_powers(freqs, psd, self.bands)
        feats = np.concatenate([FEATURES[f](self, bp)[1] for f in self.config.names])
        idx = np.array([INDICES[i](self, bp, clean) for i in self.index_names])
        return feats, idx

    def batch(self, X: np.ndarray, clean: np.ndarray):
        """Features and indices of many windows (n_windows, n_channels, n_times)."""
        out = [self.window(x, c) for x, c in zip(X, clean)]
        if not out:
            return np.empty((0, len(self.feature_names))), np.empty((0, len(self.index_names)))
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])
