"""The feature set: a pipeline's features and indices for one channel layout.

:class:`FeatureSet` turns filtered windows into feature vectors and index
values, one window at a time (the live path, reusing the Welch segments it
shares with the previous window) or a stack at once (the batch kernels).
"""

from __future__ import annotations

import numpy as np

from .._checks import _check_option
from ..spectral import _WINDOWS, _block_plan, _check_finite, _check_segments, _welch_basis
from ._plan import band_ranges, bin_plan, index_channels
from ._registry import FEATURES, INDICES, _Context


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
        self.window_name = config.welch_window
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
        ranges, self.spectral_range = band_ranges(config)
        plan = bin_plan(ranges, self.df, self.n_per_seg, self.sfreq)
        self._k0, self._k1 = plan.k0, plan.k1
        self._starts, self._stops = plan.starts, plan.stops
        self._range = (int(self._starts[-1]), int(self._stops[-1]))
        self._band_col = plan.band_col
        self._band_edges = plan.band_edges
        self.freqs = np.arange(self._k0, self._k1) * self.df
        self._basis, self._scale = _welch_basis(
            self.n_per_seg, self.sfreq, self._k0, self._k1, self.window_name
        )
        self.frontal_idx, self._index_mask = index_channels(config, self.ch_names, profile)
        self.feature_names = []
        chan, item = [], []
        for f in config.names:
            spec = FEATURES[f]
            self.feature_names += spec.columns(self)
            n_items = len(spec.items(self))
            for k in range(1 if spec.pooled else len(self.ch_names)):
                chan += [-1 if spec.pooled else k] * n_items
                item += [f"{f}:{it}" for it in spec.items(self)]
        #: each column's channel (-1: pooled over the clean channels) and item
        #: (family and band, the same on every channel): the layout
        #: :meth:`clean_view` and channel-balanced models read
        self.column_channel = np.array(chan, dtype=np.int64)
        self.column_item = item
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

    def clean_view(self, feats: np.ndarray, clean: np.ndarray) -> np.ndarray:
        """The feature vector(s) as a channel-balanced model sees them.

        Columns of a channel the quality gates leave out of the window
        (``clean`` False) are NaN, so a model reading this view can never use
        a left-out electrode's values; pooled columns are kept.

        Parameters
        ----------
        feats : array, shape (n_features,) or (n_windows, n_features)
        clean : array of bool, shape (n_channels,) or (n_windows, n_channels)
        """
        feats = np.asarray(feats, dtype=np.float64)
        clean = np.asarray(clean, dtype=bool)
        per = self.column_channel >= 0
        keep = np.ones(feats.shape, bool)
        keep[..., per] = clean[..., self.column_channel[per]]
        return np.where(keep, feats, np.nan)

    # -- compute --------------------------------------------------------------
    @property
    def welch_settings(self):
        """``(n_per_seg, step, window, k0, k1)``: the Welch PSD the features read.

        Segments of ``n_per_seg`` samples every ``step``, mean removed,
        ``window`` taper, one-sided density in V²/Hz, bins ``k0..k1-1`` (of
        ``sfreq / n_per_seg`` Hz). :meth:`spectrum` and :meth:`spectra` return it.
        """
        return (self.n_per_seg, self.step, self.window_name, self._k0, self._k1)

    def spectrum(self, x: np.ndarray) -> np.ndarray:
        """Welch PSD (n_channels, n_bins) of one window, the live path's.

        Reuses the periodograms of the segments the window shares with the
        previous one (see ``hop``), so windows must come in order; the
        numbers do not change either way. :meth:`window` takes the result.

        Raises
        ------
        ValueError
            On a wrong channel count, a window shorter than a Welch segment,
            or NaN/inf samples.
        """
        from .. import _kernels

        x, _ = self._check_window(x, np.ones(len(self.ch_names), bool), 2)
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
        return psd

    def spectra(self, X: np.ndarray, *, share_segments: bool = True) -> np.ndarray:
        """Welch PSD (n_windows, n_channels, n_bins) of a stack of windows, the batch path's.

        With ``share_segments``, a window continuing the previous one (its
        first samples equal the previous window's last ones, shifted by whole
        Welch steps) has only its new segments computed. :meth:`batch` takes
        the result.
        """
        from .. import _kernels

        plan = _block_plan(
            self.n_per_seg, self.step, self._k0, self._k1, self.window_name
        )
        # the block kernel checks finiteness in its own pass over the data
        X, _ = self._check_window(X, np.ones(np.shape(X)[:-1], bool), 3,
                                  check_finite=plan is None)
        n_w, n_ch, n_t = X.shape
        if n_w == 0:
            return np.empty((0, n_ch, self._scale.shape[0]))
        n_seg = self._n_seg(n_t)
        if plan is None:
            return _kernels.welch_windows(
                X, n_seg, self.step, self._basis, self._scale, bool(share_segments)
            )
        q, cbasis, ph_re, ph_im, kb0, a0, a1h = plan
        psd, finite = _kernels.welch_windows_blocks(
            X, n_seg, q, self.step, cbasis, ph_re, ph_im, kb0, self._k0, a0, a1h,
            self._scale, bool(share_segments),
        )
        if not finite:
            _check_finite(X, "The window")  # raises, naming the problem
        return psd

    def window(self, x: np.ndarray, clean: np.ndarray, psd=None):
        """Compute features and indices of one window.

        Parameters
        ----------
        x : ndarray, shape (n_channels, n_times)
            Filtered window, volts.
        clean : ndarray of bool, shape (n_channels,)
            Channels the indices may use.
        psd : ndarray, shape (n_channels, n_bins) | None
            This window's :meth:`spectrum`, when the caller has it already
            (the engine shares it with the quality gate); else computed here.

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
        if psd is None:
            psd = self.spectrum(x)
        x, clean = self._check_window(x, clean, 2, check_finite=False)
        psd = self._check_psd(psd, x.shape[:-1])
        F, ind = self._compute(psd[None], x[None], clean[None])
        return F[0], ind[0]

    def batch(self, X: np.ndarray, clean: np.ndarray, *, share_segments: bool = True,
              psd=None):
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
        psd : ndarray, shape (n_windows, n_channels, n_bins) | None
            The windows' :meth:`spectra`, when the caller has them already.

        Returns
        -------
        F : ndarray, shape (n_windows, n_features)
        I : ndarray, shape (n_windows, n_indices)
        """
        if psd is None:
            psd = self.spectra(X, share_segments=share_segments)
        X, clean = self._check_window(X, clean, 3, check_finite=False)
        if X.shape[0] == 0:
            return np.empty((0, len(self.feature_names))), np.empty((0, len(self.index_names)))
        psd = self._check_psd(psd, X.shape[:-1])
        return self._compute(psd, X, clean)

    def _check_psd(self, psd, lead):
        psd = np.asarray(psd, dtype=np.float64)
        if psd.shape != lead + (self._k1 - self._k0,):
            raise ValueError(f"psd must have shape {lead + (self._k1 - self._k0,)}, "
                             f"got {psd.shape}.")
        return psd

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
        from .. import _kernels

        x, _ = self._check_window(x, np.ones(len(self.ch_names), bool), 2)
        return _kernels.welch_rows(x, self._n_seg(x.shape[1]), self.step,
                                   self._basis, self._scale)
