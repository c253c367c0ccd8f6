"""Features and state indices computed on each window.

A :class:`FeatureSet` turns a filtered window (n_channels, n_times), in volts,
into a feature vector (the classifier's input) and a vector of state indices
(the estimates people see). Features and indices are looked up by short name in
the registries :data:`FEATURES` and :data:`INDICES`, so a pipeline file names
them and the live engine, replay and batch training compute them with the same
code. :func:`describe_features` states what every number is (method, window,
bands, integration, units) for stream metadata and file sidecars.

Adding a feature: write ``compute(fs, ctx) -> array (n_windows, n_channels,
n_items)``, register ``FEATURES["name"] = FeatureSpec(...)``; it is then usable
live, in replay and in training. See ``docs/features.md`` for every formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import _check_option
from ._logging import logger

# the spectral building blocks live in .spectral; these names stay importable here
from .spectral import (  # noqa: F401
    _WINDOWS,
    _ZC_EPS,
    _block_plan,
    _check_finite,
    _check_segments,
    _welch_basis,
    band_powers,
    time_features,
    welch_psd,
)

__all__ = [
    "FeatureSet",
    "FeatureSpec",
    "IndexSpec",
    "FEATURES",
    "INDICES",
    "welch_psd",
    "band_powers",
    "time_features",
    "describe_features",
]

_LOG_FLOOR = 1e-30  # V²; log10 of a zero band power is clamped here (-30)


# -- registries ---------------------------------------------------------------


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
        from . import _kernels

        bp = _kernels.band_sums(flat, fs._starts, fs._stops, fs.df)
        self.bp_all = bp.reshape(n_w, n_ch, -1)  # config bands then index bands
        self.bp = self.bp_all[..., : len(fs.band_names)]
        self.total = self.bp_all[..., -1]  # last column: the spectral range
        self._time = None
        self._entropy = None

    @property
    def time(self):
        if self._time is None:
            from . import _kernels

            n_w, n_ch, n_t = self.x.shape
            tf = _kernels.time_features(self.x.reshape(-1, n_t), _ZC_EPS)
            self._time = tf.reshape(n_w, n_ch, -1)
        return self._time

    @property
    def entropy(self):
        if self._entropy is None:
            from . import _kernels

            n_w, n_ch, n_bins = self.psd.shape
            s0, s1 = self.fs._range
            se = _kernels.spectral_entropy(self.psd.reshape(-1, n_bins), s0, s1)
            self._entropy = se.reshape(n_w, n_ch)
        return self._entropy

    def band(self, name):
        """Absolute power of band ``name`` (n_w, n_ch), config or index band."""
        return self.bp_all[..., self.fs._band_col[name]]


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


def _time_cols(*cols):
    def compute(fs, ctx):
        return ctx.time[..., list(cols)]

    return compute


def _bands(fs):
    return list(fs.band_names)


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
        lambda fs: [""],
        "line_length_{ch}",
        "V per sample",
        "mean absolute first difference (Esteller et al. 2001)",
    ),
    "variance": FeatureSpec(
        _time_cols(4),
        lambda fs: [""],
        "variance_{ch}",
        "V²",
        "sample variance, ddof 1",
    ),
    "kurtosis": FeatureSpec(
        _time_cols(5),
        lambda fs: [""],
        "kurtosis_{ch}",
        "dimensionless (excess: 0 for a Gaussian)",
        "Fisher's excess kurtosis, biased estimator (scipy.stats.kurtosis)",
    ),
    "zero_crossings": FeatureSpec(
        _time_cols(6),
        lambda fs: [""],
        "zero_crossings_{ch}",
        "count per window",
        "sign changes of the filtered signal (|x| < machine epsilon is zero)",
    ),
    "spectral_entropy": FeatureSpec(
        lambda fs, ctx: ctx.entropy[..., None],
        lambda fs: [""],
        "spectral_entropy_{ch}",
        "dimensionless, 0..1",
        "Shannon entropy of the Welch PSD normalised to unit sum over "
        "spectral_range, divided by log(n_bins) (Inouye et al. 1991)",
    ),
}


def _chan_mask(fs, ctx, name):
    """Clean channels among those index ``name`` uses: (n_w, n_ch) bool."""
    return ctx.clean & fs._index_mask[name][None, :]


def _ratio_of_sums(fs, ctx, name, num_bands, den_bands):
    """sum_c num / sum_c den over the index's clean channels; NaN if none."""
    m = _chan_mask(fs, ctx, name)
    num = sum(ctx.band(b) for b in num_bands)
    den = sum(ctx.band(b) if b != "_total" else ctx.total for b in den_bands)
    num = np.where(m, num, 0.0).sum(axis=1)
    den = np.where(m, den, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((den > 0) & m.any(axis=1), num / den, np.nan)


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
    "engagement": IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, "engagement", ["beta"], ["alpha", "theta"]),
        "beta / (alpha + theta), band powers summed over the clean channels",
        "Pope, Bogart & Bartolome 1995, Biol Psychol 40:187",
        bands=("beta", "alpha", "theta"),
    ),
    "arousal": IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, "arousal", ["beta"], ["alpha"]),
        "beta / alpha, band powers summed over the clean channels",
        "Pope et al. 1995 (beta/alpha variant); Freeman et al. 1999",
        bands=("beta", "alpha"),
    ),
    "arousal_high_beta": IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, "arousal_high_beta", ["high_beta"], ["alpha"]),
        "high_beta / alpha (high_beta from index_bands, default 20-30 Hz)",
        "Pope et al. 1995 (beta/alpha); high-beta split as in neurofeedback practice",
        bands=("high_beta", "alpha"),
    ),
    "alpha_rel": IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, "alpha_rel", ["alpha"], ["_total"]),
        "alpha / total power over spectral_range (relaxation)",
        "Klimesch 1999, Brain Res Rev 29:169",
        units="fraction (0..1)",
        bands=("alpha",),
    ),
    "theta_beta": IndexSpec(
        lambda fs, ctx: _ratio_of_sums(fs, ctx, "theta_beta", ["theta"], ["beta"]),
        "theta / beta (attention; higher = less attentive)",
        "Lubar 1991; Arns et al. 2013, J Atten Disord 17:374",
        bands=("theta", "beta"),
    ),
    "faa": IndexSpec(
        _faa,
        "ln(alpha right) - ln(alpha left) on the frontal pair (approach motivation)",
        "Allen, Coan & Nazarian 2004, Biol Psychol 67:183; Coan & Allen 2004",
        units="ln ratio (dimensionless); > 0 means more left-frontal activity",
        bands=("alpha",),
    ),
}


# -- the feature set ----------------------------------------------------------


class FeatureSet:
    """Features and indices of one pipeline for one channel layout.

    Parameters
    ----------
    config : FeaturesConfig
        Which features, indices, bands and Welch settings.
    ch_names : list of str
        Channels in data order.
    sfreq : float
        Sampling rate in Hz.
    profile : BoardProfile | None
        Supplies the frontal pair for asymmetry.
    hop : int | None
        Samples between consecutive windows. When it is a multiple of the Welch
        step, :meth:`window` reuses the periodograms of the segments it shares
        with the previous window (checked sample by sample, so any other window
        falls back to a full computation and the result never changes).
    n_times : int | None
        Window length in samples, checked against the Welch segment up front.

    Attributes
    ----------
    feature_names : list of str
        Names of the feature vector's entries.
    index_names : list of str
        Names of the indices, in output order.
    """

    def __init__(self, config, ch_names, sfreq: float, profile=None, *, hop=None, n_times=None):
        self.config = config
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        if not self.ch_names:
            raise ValueError("ch_names is empty.")
        if len(set(self.ch_names)) != len(self.ch_names):
            raise ValueError("ch_names holds a duplicate name.")
        for name in config.names:
            _check_option("feature", name, list(FEATURES))
        for name in config.indices:
            _check_option("index", name, list(INDICES))
        self.window_name = getattr(config, "welch_window", "hann")
        _check_option("welch_window", self.window_name, _WINDOWS)
        self.band_names = list(config.bands)
        self.bands = [tuple(config.bands[b]) for b in self.band_names]
        self.n_per_seg = int(round(config.welch_segment * self.sfreq))
        self.n_overlap = int(round(config.welch_overlap * self.n_per_seg))
        _check_segments(self.n_per_seg if n_times is None else int(n_times),
                        self.n_per_seg, self.n_overlap)
        self.step = self.n_per_seg - self.n_overlap
        self.df = self.sfreq / self.n_per_seg
        self.n_times = None if n_times is None else int(n_times)
        self.hop = None if hop is None else int(hop)
        # every frequency range we integrate: config bands, index bands, total
        index_bands = dict(getattr(config, "index_bands", {}) or {})
        self.spectral_range = tuple(getattr(config, "spectral_range", None) or (
            min(lo for lo, _ in self.bands), max(hi for _, hi in self.bands)))
        ranges = list(zip(self.band_names, self.bands))
        for name in config.indices:
            for b in INDICES[name].bands:
                if b not in config.bands:
                    if b not in index_bands:
                        raise ValueError(
                            f"Index {name!r} needs band {b!r}; add it to the "
                            "features' bands or index_bands."
                        )
                    if b not in [r[0] for r in ranges]:
                        ranges.append((b, tuple(index_bands[b])))
        ranges.append(("_total", self.spectral_range))
        nyq_bin = self.n_per_seg // 2
        bins = []
        for name, (lo, hi) in ranges:
            k_lo = max(0, math.ceil(lo / self.df - 1e-9))
            k_hi = min(nyq_bin + 1, math.ceil(hi / self.df - 1e-9))
            if k_hi <= k_lo:
                raise ValueError(
                    f"Band {name!r} ({lo:g}-{hi:g} Hz) holds no frequency bin at "
                    f"{self.df:g} Hz resolution (sfreq {self.sfreq:g} Hz, "
                    f"{self.n_per_seg}-sample segments)."
                )
            bins.append((k_lo, k_hi))
        self._k0 = min(b[0] for b in bins)
        self._k1 = max(b[1] for b in bins)
        self._starts = np.array([b[0] - self._k0 for b in bins], np.int64)
        self._stops = np.array([b[1] - self._k0 for b in bins], np.int64)
        self._range = (int(self._starts[-1]), int(self._stops[-1]))
        self._band_col = {name: i for i, (name, _) in enumerate(ranges)}
        self._band_edges = {name: r for name, r in ranges}
        self.freqs = np.arange(self._k0, self._k1) * self.df
        self._basis, self._scale = _welch_basis(
            self.n_per_seg, self.sfreq, self._k0, self._k1, self.window_name
        )
        # channels per index
        self.frontal_idx = None
        chans = dict(getattr(config, "index_channels", {}) or {})
        pair = chans.get("faa") or getattr(profile, "frontal_pair", None)
        if pair:
            missing = [ch for ch in pair if ch not in self.ch_names]
            if len(pair) != 2:
                raise ValueError(f"faa needs two channels (left, right), got {list(pair)}.")
            if not missing:
                self.frontal_idx = tuple(self.ch_names.index(ch) for ch in pair)
        if "faa" in config.indices and self.frontal_idx is None:
            logger.warning(
                "No frontal pair among channels %s: the 'faa' index will be NaN.",
                ", ".join(self.ch_names),
            )
        self._index_mask = {}
        for name in config.indices:
            sel = chans.get(name)
            if sel is None or name == "faa":
                mask = np.ones(len(self.ch_names), bool)
            else:
                unknown = [ch for ch in sel if ch not in self.ch_names]
                if unknown:
                    raise ValueError(
                        f"index_channels[{name!r}] names {unknown[0]!r}, which is not "
                        f"among the channels ({', '.join(self.ch_names)})."
                    )
                mask = np.isin(self.ch_names, sel)
            self._index_mask[name] = mask
        self.feature_names = []
        for f in config.names:
            self.feature_names += FEATURES[f].columns(self)
        self.index_names = list(config.indices)
        self.n_reused = 0  # windows that reused the previous window's segments
        self.reset()

    # -- state ----------------------------------------------------------------
    def reset(self) -> None:
        """Forget the previous window: the next one is computed in full."""
        self._prev = None
        self._per = None

    def band(self, name: str) -> int:
        """Column of band ``name`` among the configured bands."""
        return self.band_names.index(name)

    # -- checks ---------------------------------------------------------------
    def _check_window(self, x, clean, ndim, check_finite=True):
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != ndim or x.shape[-2] != len(self.ch_names):
            want = "(n_channels, n_times)" if ndim == 2 else "(n_windows, n_channels, n_times)"
            raise ValueError(
                f"Expected data shaped {want} with {len(self.ch_names)} channels "
                f"({', '.join(self.ch_names)}), got shape {x.shape}."
            )
        _check_segments(x.shape[-1], self.n_per_seg, self.n_overlap)
        if self.n_times is not None and x.shape[-1] != self.n_times:
            raise ValueError(
                f"Expected windows of {self.n_times} samples, got {x.shape[-1]}."
            )
        if check_finite:
            _check_finite(x, "The window")
        clean = np.asarray(clean)
        if clean.shape != x.shape[:-1]:
            raise ValueError(
                f"clean must have shape {x.shape[:-1]}, got {clean.shape}."
            )
        return x, clean.astype(bool, copy=False)

    def _n_seg(self, n_t):
        return (n_t - self.n_overlap) // self.step

    # -- compute --------------------------------------------------------------
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

        Raises
        ------
        ValueError
            On a wrong channel count, a window shorter than a Welch segment,
            or NaN/inf samples.
        """
        from . import _kernels

        x, clean = self._check_window(x, clean, 2)
        n_ch, n_t = x.shape
        n_seg = self._n_seg(n_t)
        valid = self._prev is not None and self._prev.shape == x.shape
        if not valid:
            self._prev = np.empty_like(x)
            self._per = np.empty((n_ch, n_seg, self._scale.shape[0]))
        shift = 0
        if self.hop is not None and self.hop % self.step == 0:
            shift = self.hop // self.step
        psd, reused = _kernels.welch_update(
            x, self._prev, self._per, valid, shift, self.hop or 0, self.step,
            self._basis, self._scale,
        )
        self.n_reused += int(reused)
        F, ind = self._compute(psd[None], x[None], clean[None])
        return F[0], ind[0]

    def batch(self, X: np.ndarray, clean: np.ndarray, *, share_segments: bool = True):
        """Features and indices of many windows.

        Parameters
        ----------
        X : ndarray, shape (n_windows, n_channels, n_times)
            Filtered windows, volts.
        clean : ndarray of bool, shape (n_windows, n_channels)
        share_segments : bool
            When a window continues the previous one (its first samples equal
            the previous window's last ones, shifted by whole Welch steps),
            compute only its new segments. Results are the same either way.

        Returns
        -------
        F : ndarray, shape (n_windows, n_features)
        I : ndarray, shape (n_windows, n_indices)
        """
        from . import _kernels

        plan = _block_plan(
            self.n_per_seg, self.step, self._k0, self._k1, self.window_name
        )
        # the block kernel checks finiteness in its own pass over the data
        X, clean = self._check_window(X, clean, 3, check_finite=plan is None)
        n_w, n_ch, n_t = X.shape
        if n_w == 0:
            return np.empty((0, len(self.feature_names))), np.empty((0, len(self.index_names)))
        n_seg = self._n_seg(n_t)
        if plan is None:
            psd = _kernels.welch_windows(
                X, n_seg, self.step, self._basis, self._scale, bool(share_segments)
            )
        else:
            q, cbasis, ph_re, ph_im, kb0, a0, a1h = plan
            psd, finite = _kernels.welch_windows_blocks(
                X, n_seg, q, self.step, cbasis, ph_re, ph_im, kb0, self._k0, a0, a1h,
                self._scale, bool(share_segments),
            )
            if not finite:
                _check_finite(X, "The window")  # raises, naming the problem
        return self._compute(psd, X, clean)

    def _compute(self, psd, X, clean):
        ctx = _Context(self, psd, X, clean)
        n_w = psd.shape[0]
        feats = [FEATURES[f].compute(self, ctx).reshape(n_w, -1) for f in self.config.names]
        F = np.concatenate(feats, axis=1) if feats else np.empty((n_w, 0))
        ind = np.empty((n_w, len(self.index_names)))
        for j, name in enumerate(self.index_names):
            ind[:, j] = INDICES[name].compute(self, ctx)
        return F, ind

    def psd(self, x):
        """Welch PSD (n_channels, n_bins) of one window over :attr:`freqs`."""
        from . import _kernels

        x, _ = self._check_window(x, np.ones(len(self.ch_names), bool), 2)
        return _kernels.welch_rows(x, self._n_seg(x.shape[1]), self.step,
                                   self._basis, self._scale)


def describe_features(feature_set: FeatureSet) -> dict:
    """JSON-ready statement of what every feature and index is.

    Covers the PSD method, window, segment and overlap, band edges, how bins
    are integrated and the units of every feature and index: what the LSL
    stream's metadata and replay sidecars carry.
    """
    fs = feature_set
    psd = {
        "method": "welch",
        "window": fs.window_name,
        "segment_s": fs.n_per_seg / fs.sfreq,
        "segment_samples": fs.n_per_seg,
        "overlap_samples": fs.n_overlap,
        "detrend": "constant (mean removed per segment)",
        "scaling": "one-sided power spectral density, V²/Hz",
        "average": "mean over segments",
        "resolution_hz": fs.df,
        "input": "causally filtered window, volts",
    }
    bands = {}
    for name, (lo, hi) in fs._band_edges.items():
        col = fs._band_col[name]
        k0 = int(fs._starts[col]) + fs._k0
        k1 = int(fs._stops[col]) + fs._k0
        bands["total" if name == "_total" else name] = {
            "low_hz": float(lo),
            "high_hz": float(hi),
            "edges": "[low, high)",
            "bins_hz": [k0 * fs.df, (k1 - 1) * fs.df],
            "n_bins": k1 - k0,
        }
    integration = "sum over bins in [low, high) of PSD times bin width (V²)"
    features = {}
    for f in fs.config.names:
        spec = FEATURES[f]
        features[f] = {
            "method": spec.method,
            "units": spec.units,
            "integration": integration if "band" in f else None,
            "columns": spec.columns(fs),
        }
    indices = {}
    for name in fs.index_names:
        spec = INDICES[name]
        if name == "faa":
            chans = [fs.ch_names[i] for i in fs.frontal_idx] if fs.frontal_idx else []
        else:
            chans = [ch for ch, m in zip(fs.ch_names, fs._index_mask[name]) if m]
        indices[name] = {
            "formula": spec.formula,
            "reference": spec.reference,
            "units": spec.units,
            "bands": list(spec.bands),
            "channels": chans,
            "channel_rule": "clean channels only (quality gates); NaN when none",
        }
    return {
        "window_samples": fs.n_times,
        "sfreq": fs.sfreq,
        "psd": psd,
        "bands": bands,
        "spectral_range_hz": list(fs.spectral_range),
        "features": features,
        "indices": indices,
    }
