"""The feature and index registries: what each short name computes.

Every feature and index of a pipeline file is an entry here. A feature's
``compute(fs, ctx)`` returns (n_windows, n_channels, n_items); an index's
returns (n_windows,). Both read the intermediate arrays of a batch of windows
from one :class:`_Context`, computed once on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectral import _ZC_EPS

_LOG_FLOOR = 1e-30  # V²; log10 of a zero band power is clamped here (-30)


@dataclass(frozen=True)
class FeatureSpec:
    """A feature family: per-channel items with names ``fmt.format(item, ch)``.

    ``compute(fs, ctx)`` returns (n_windows, n_channels, n_items); ``items(fs)``
    lists the item labels (bands, Hjorth parameters or one empty label).
    ``pooled`` families are one value per item over the clean channels
    (``compute`` returns (n_windows, 1, n_items); ``ch`` is ``"mean"``).
    """

    compute: object
    items: object
    fmt: str
    units: str
    method: str
    pooled: bool = False

    def columns(self, fs) -> list:
        """Names of the family's columns for feature set ``fs``."""
        chans = ["mean"] if self.pooled else fs.ch_names
        return [self.fmt.format(item=item, ch=ch) for ch in chans for item in self.items(fs)]


@dataclass(frozen=True)
class IndexSpec:
    """A state index: ``compute(fs, ctx) -> (n_windows,)`` with its formula."""

    compute: object
    formula: str
    reference: str
    units: str = "ratio (dimensionless)"
    bands: tuple = ()


class _Context:
    """Intermediate arrays of a batch of windows, computed once on demand."""

    def __init__(self, fs, psd, x, clean):
        self.fs = fs
        self.psd = psd  # (n_w, n_ch, n_bins) V²/Hz
        self.x = x  # (n_w, n_ch, n_t) volts
        self.clean = clean  # (n_w, n_ch) bool
        n_w, n_ch, n_bins = psd.shape
        flat = psd.reshape(-1, n_bins)
        from .. import _kernels

        bp = _kernels.band_sums(flat, fs._starts, fs._stops, fs.df)
        self.bp_all = bp.reshape(n_w, n_ch, -1)  # config bands then index bands
        self.bp = self.bp_all[..., : len(fs.band_names)]
        self.total = self.bp_all[..., -1]  # last column: the spectral range
        self._time = None
        self._entropy = None

    @property
    def time(self):
        if self._time is None:
            from .. import _kernels

            n_w, n_ch, n_t = self.x.shape
            tf = _kernels.time_features(self.x.reshape(-1, n_t), _ZC_EPS)
            self._time = tf.reshape(n_w, n_ch, -1)
        return self._time

    @property
    def entropy(self):
        if self._entropy is None:
            from .. import _kernels

            n_w, n_ch, n_bins = self.psd.shape
            s0, s1 = self.fs._range
            se = _kernels.spectral_entropy(self.psd.reshape(-1, n_bins), s0, s1)
            self._entropy = se.reshape(n_w, n_ch)
        return self._entropy

    def band(self, name):
        """Absolute power of band ``name`` (n_w, n_ch), config or index band."""
        return self.bp_all[..., self.fs._band_col[name]]


# -- features -----------------------------------------------------------------


def _log_band_power(fs, ctx):
    return np.log10(np.maximum(ctx.bp, _LOG_FLOOR))


def _mean_log_band_power(fs, ctx):
    """log10 band power averaged over the window's clean channels (NaN: none clean)."""
    lp = _log_band_power(fs, ctx)
    w = ctx.clean[..., None].astype(np.float64)
    n = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(n > 0, (lp * w).sum(axis=1) / n, np.nan)
    return out[:, None, :]


def _rel_band_power(fs, ctx):
    tot = ctx.total[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tot > 0, ctx.bp / tot, np.nan)


def _log_rel_band_power(fs, ctx):
    """log10(band / total over spectral_range), per channel: a channel's gain
    (contact impedance, skull, amplifier) multiplies every band alike and
    cancels."""
    return (np.log10(np.maximum(ctx.bp, _LOG_FLOOR))
            - np.log10(np.maximum(ctx.total, _LOG_FLOOR))[..., None])


def _time_cols(*cols):
    def compute(fs, ctx):
        return ctx.time[..., list(cols)]

    return compute


def _bands(fs):
    return list(fs.band_names)


def _one_item(fs):
    return [""]


FEATURES = {
    "log_band_power": FeatureSpec(
        _log_band_power,
        _bands,
        "logpow_{item}_{ch}",
        "log10(V²) (add 12 for log10(µV²)); zero power clamped to -30",
        "log10 of absolute band power: Welch PSD summed over bins in "
        "[low, high) times the bin width",
    ),
    "mean_log_band_power": FeatureSpec(
        _mean_log_band_power,
        _bands,
        "logpow_{item}_mean",
        "log10(V²) (add 12 for log10(µV²)); NaN when no channel is clean",
        "log10 of absolute band power, averaged over the window's clean channels "
        "(one value per band: a channel left out by the quality gates does not "
        "change the feature vector's layout)",
        pooled=True,
    ),
    "rel_band_power": FeatureSpec(
        _rel_band_power,
        _bands,
        "relpow_{item}_{ch}",
        "fraction (0..1)",
        "absolute band power divided by the power summed over spectral_range",
    ),
    "log_rel_band_power": FeatureSpec(
        _log_rel_band_power,
        _bands,
        "logrel_{item}_{ch}",
        "log10 of a fraction (<= 0 when the bands lie within spectral_range)",
        "log10 of band power minus log10 of the power summed over spectral_range, "
        "within each channel: gain-invariant (a channel's amplitude scale, e.g. "
        "from contact impedance, cancels)",
    ),
    "hjorth": FeatureSpec(
        _time_cols(0, 1, 2),
        lambda fs: ["activity", "mobility", "complexity"],
        "hjorth_{item}_{ch}",
        "activity V²; mobility and complexity dimensionless (per sample)",
        "Hjorth (1970): activity var(x); mobility sqrt(var(x')/var(x)); "
        "complexity mobility(x')/mobility(x); ddof 0, first differences",
    ),
    "line_length": FeatureSpec(
        _time_cols(3),
        _one_item,
        "line_length_{ch}",
        "V per sample",
        "mean absolute first difference (Esteller et al. 2001)",
    ),
    "variance": FeatureSpec(
        _time_cols(4),
        _one_item,
        "variance_{ch}",
        "V²",
        "sample variance, ddof 1",
    ),
    "kurtosis": FeatureSpec(
        _time_cols(5),
        _one_item,
        "kurtosis_{ch}",
        "dimensionless (excess: 0 for a Gaussian)",
        "Fisher's excess kurtosis, biased estimator (scipy.stats.kurtosis)",
    ),
    "zero_crossings": FeatureSpec(
        _time_cols(6),
        _one_item,
        "zero_crossings_{ch}",
        "count per window",
        "sign changes of the filtered signal (|x| < machine epsilon is zero)",
    ),
    "spectral_entropy": FeatureSpec(
        lambda fs, ctx: ctx.entropy[..., None],
        _one_item,
        "spectral_entropy_{ch}",
        "dimensionless, 0..1",
        "Shannon entropy of the Welch PSD normalised to unit sum over "
        "spectral_range, divided by log(n_bins) (Inouye et al. 1991)",
    ),
}


# -- indices ------------------------------------------------------------------


def _chan_mask(fs, ctx, name):
    """Clean channels among those index ``name`` uses: (n_w, n_ch) bool."""
    return ctx.clean & fs._index_mask[name][None, :]


def _ratio_of_sums(fs, ctx, name, num_bands, den_bands):
    """sum_c num / sum_c den over the index's clean channels; NaN if none."""
    m = _chan_mask(fs, ctx, name)
    num = sum(ctx.band(b) for b in num_bands)
    den = sum(ctx.band(b) for b in den_bands)  # "_total" is a column like any band
    num = np.where(m, num, 0.0).sum(axis=1)
    den = np.where(m, den, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((den > 0) & m.any(axis=1), num / den, np.nan)


def _ratio_index(name, num_bands, den_bands, formula, reference, **kwargs):
    """An index that is a ratio of band powers summed over its clean channels.

    ``"_total"`` among ``den_bands`` is the power over ``spectral_range``.
    """
    bands = tuple(b for b in (*num_bands, *den_bands) if b != "_total")
    return IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, name, num_bands, den_bands),
        formula, reference, bands=bands, **kwargs,
    )


def _faa(fs, ctx):
    n_w = ctx.clean.shape[0]
    if fs.frontal_idx is None:
        return np.full(n_w, np.nan)
    left, right = fs.frontal_idx
    alpha = ctx.band("alpha")
    a_l, a_r = alpha[:, left], alpha[:, right]
    ok = ctx.clean[:, left] & ctx.clean[:, right] & (a_l > 0) & (a_r > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.log(a_r) - np.log(a_l), np.nan)


INDICES = {
    "engagement": _ratio_index(
        "engagement", ["beta"], ["alpha", "theta"],
        "beta / (alpha + theta), band powers summed over the clean channels",
        "Pope, Bogart & Bartolome 1995, Biol Psychol 40:187",
    ),
    "arousal": _ratio_index(
        "arousal", ["beta"], ["alpha"],
        "beta / alpha, band powers summed over the clean channels",
        "Pope et al. 1995 (beta/alpha variant); Freeman et al. 1999",
    ),
    "arousal_high_beta": _ratio_index(
        "arousal_high_beta", ["high_beta"], ["alpha"],
        "high_beta / alpha (high_beta from index_bands, default 20-30 Hz)",
        "Pope et al. 1995 (beta/alpha); high-beta split as in neurofeedback practice",
    ),
    "alpha_rel": _ratio_index(
        "alpha_rel", ["alpha"], ["_total"],
        "alpha / total power over spectral_range (relaxation)",
        "Klimesch 1999, Brain Res Rev 29:169",
        units="fraction (0..1)",
    ),
    "theta_beta": _ratio_index(
        "theta_beta", ["theta"], ["beta"],
        "theta / beta (attention; higher = less attentive)",
        "Lubar 1991; Arns et al. 2013, J Atten Disord 17:374",
    ),
    "faa": IndexSpec(
        _faa,
        "ln(alpha right) - ln(alpha left) on the frontal pair (approach motivation)",
        "Allen, Coan & Nazarian 2004, Biol Psychol 67:183; Coan & Allen 2004",
        units="ln ratio (dimensionless); > 0 means more left-frontal activity",
        bands=("alpha",),
    ),
}
