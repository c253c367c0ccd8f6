"""The quality gate: flags for every channel of every window, and their tracking."""

from __future__ import annotations

import numpy as np

from ..hardware._profiles import ten_twenty_site
from ..spectral import _band_bins, welch_basis
from ._flags import (
    _LONG_LIVED,
    FLAGS,
    PERSISTENT,
    RAILED_SHARE,
    TRANSIENT,
    describe_flags,
    rail_share,
)

_FRONTAL_PREFIXES = ("fp", "af", "f")


class QualityGate:
    """Assess windows channel by channel.

    Parameters
    ----------
    config : GatesConfig
        Thresholds (µV and ratios).
    profile : BoardProfile
        Gives the rail value, the mains frequency and the frontal pair.
    sfreq : float
        Sampling rate in Hz.
    ch_names : list of str
        Channels, in data order.

    Attributes
    ----------
    frontal : ndarray of bool, shape (n_channels,)
        Channels checked for blinks: the profile's frontal pair and channels
        whose name starts with Fp, AF or F.
    blink_uv : ndarray, shape (n_channels,)
        Per-channel blink threshold (µV); :meth:`calibrate` sets it from a
        personal baseline.

    Notes
    -----
    Spectral checks use a Welch PSD (Hann, 1 s segments, 50 % overlap, or the
    whole window when shorter) from the same kernels as the features (the
    engine passes the features' PSD when its settings are these):
    ``muscle`` is the mean PSD (per Hz) of the filtered window in
    ``muscle_high`` over that in ``muscle_low``;
    ``line_noise`` compares raw power within ±1 Hz of ``profile.line_freq``
    with filtered power in ``eeg_range``.
    """

    def __init__(self, config, profile, sfreq: float, ch_names):
        self.config = config
        self.profile = profile
        self.sfreq = float(sfreq)
        self.ch_names = list(ch_names)
        self.rail_v = float(profile.rail_uv or 0.0) * 1e-6
        self.line_freq = float(profile.line_freq or 50.0)
        pair = tuple(profile.frontal_pair or ())
        self.frontal = np.array(
            [ch in pair or ten_twenty_site(ch).startswith(_FRONTAL_PREFIXES)
             for ch in self.ch_names],
            dtype=bool,
        )
        self.blink_uv = np.full(len(self.ch_names), float(config.blink_uv))
        self._smooth = max(1, int(round(config.blink_smooth * self.sfreq)))
        self._plans = {}
        self._hist = None  # (k, n_channels) recent long-lived artifacts, see track()
        self._n_seen = 0
        self._bad = np.zeros(len(self.ch_names), dtype=bool)

    # -- spectra ----------------------------------------------------------------
    def _plan(self, n_t):
        """Welch settings and bin ranges for windows of ``n_t`` samples."""
        plan = self._plans.get(n_t)
        if plan is not None:
            return plan
        cfg = self.config
        n_per_seg = min(n_t, max(8, int(round(self.sfreq))))
        step = max(1, n_per_seg // 2) if n_per_seg < n_t else n_per_seg
        n_overlap = n_per_seg - step
        n_seg = (n_t - n_overlap) // step
        df = self.sfreq / n_per_seg
        nyq_bin = n_per_seg // 2
        ranges = [cfg.eeg_range, cfg.muscle_high, cfg.muscle_low]
        kr = [_band_bins(lo, hi, df, nyq_bin) for lo, hi in ranges]
        k0 = min(k[0] for k in kr)
        k1 = max(max(k[1] for k in kr), k0 + 1)
        filt_basis = welch_basis(n_per_seg, self.sfreq, k0, k1, "hann")
        sl = [(a - k0, max(b - k0, a - k0)) for a, b in kr]
        line = None
        lk = _band_bins(self.line_freq - 1.0, self.line_freq + 1.0 + 1e-6, df, nyq_bin)
        if self.line_freq + 1.0 < self.sfreq / 2 and lk[1] > lk[0]:
            line = (lk, welch_basis(n_per_seg, self.sfreq, lk[0], lk[1], "hann"))
        plan = dict(n_per_seg=n_per_seg, n_seg=n_seg, step=step, bins=(k0, k1),
                    filt=filt_basis, slices=sl, line=line, df=df)
        self._plans[n_t] = plan
        return plan

    def welch_settings(self, n_t: int):
        """The Welch PSD of the filtered window the spectral checks read.

        Returns ``(n_per_seg, step, window, k0, k1)`` for windows of ``n_t``
        samples: segments of ``n_per_seg`` samples every ``step``, mean
        removed, ``window`` taper, one-sided density, bins ``k0..k1-1``. A
        caller holding that PSD already (the feature set's, when its Welch
        settings are these) passes it to :meth:`assess` instead of having it
        computed twice. None when the window is too short for spectral checks.
        """
        if n_t < 8:
            return None
        plan = self._plan(n_t)
        return (plan["n_per_seg"], plan["step"], "hann", *plan["bins"])

    def _welch(self, x, lead, n_t, bins, basis_scale):
        """Welch PSD (rows, n_bins) of rows ``x`` (rows, n_t): one window or a stack.

        A stack (``lead`` = (n_windows, n_channels)) goes through the batch
        kernels the features' batch path uses, sharing overlapping segments.
        """
        from .. import _kernels
        from ..spectral import _block_plan

        plan = self._plan(n_t)
        basis, scale = basis_scale
        if not (len(lead) == 2 and lead[0] > 1):
            return _kernels.welch_rows(x, plan["n_seg"], plan["step"], basis, scale)
        X = x.reshape(lead + (n_t,))
        bplan = _block_plan(plan["n_per_seg"], plan["step"], *bins, "hann")
        if bplan is None:
            psd = _kernels.welch_windows(X, plan["n_seg"], plan["step"], basis, scale, True)
        else:
            q, cbasis, ph_re, ph_im, kb0, a0, a1h = bplan
            psd, _ = _kernels.welch_windows_blocks(X, plan["n_seg"], q, plan["step"], cbasis,
                                                   ph_re, ph_im, kb0, bins[0], a0, a1h,
                                                   scale, True)
        return psd.reshape(x.shape[0], -1)

    def _metrics(self, raw, filtered, filtered_psd=None):
        """Per-channel metrics (volts, ratios) of windows: dict of arrays.

        ``raw`` and ``filtered`` are one window ``(n_channels, n_times)`` or a
        stack ``(n_windows, n_channels, n_times)``; every metric has their
        shape without the last axis. Each row is computed on its own, so a
        stack gives exactly what its windows give one at a time (to the
        rounding of the batch Welch kernel). ``filtered_psd``: see :meth:`assess`.
        """
        from .. import _kernels

        raw = np.ascontiguousarray(raw, dtype=np.float64)
        filtered = np.ascontiguousarray(filtered, dtype=np.float64)
        if (raw.shape != filtered.shape or raw.ndim not in (2, 3)
                or raw.shape[-2] != len(self.ch_names)):
            raise ValueError(
                f"raw and filtered windows must both have shape ({len(self.ch_names)}, "
                f"n_times); got {raw.shape} and {filtered.shape}."
            )
        lead, n_t = raw.shape[:-1], raw.shape[-1]
        raw = raw.reshape(-1, n_t)
        filtered = filtered.reshape(-1, n_t)
        stats = _kernels.window_stats(raw, filtered, min(self._smooth, n_t))
        out = {
            "finite": stats[:, 4] > 0,
            "peak": stats[:, 0],
            "std": stats[:, 1],
            "ptp": stats[:, 2],
            "blink_ptp": stats[:, 3],
        }
        if n_t >= 8:
            plan = self._plan(n_t)
            all_finite = out["finite"].all()
            k0, k1 = plan["bins"]
            if filtered_psd is not None:
                psd = np.asarray(filtered_psd, dtype=np.float64)
                if psd.shape != lead + (k1 - k0,):
                    raise ValueError(f"filtered_psd must have shape {lead + (k1 - k0,)}, "
                                     f"got {psd.shape}.")
                psd = psd.reshape(-1, k1 - k0)
            else:
                f_safe = (filtered if all_finite
                          else np.where(np.isfinite(filtered), filtered, 0.0))
                psd = self._welch(f_safe, lead, n_t, (k0, k1), plan["filt"])
            (e0, e1), (h0, h1), (l0, l1) = plan["slices"]
            eeg = psd[:, e0:e1].sum(axis=1)
            high = psd[:, h0:h1].mean(axis=1) if h1 > h0 else np.zeros(len(psd))
            low = psd[:, l0:l1].mean(axis=1) if l1 > l0 else np.zeros(len(psd))
            with np.errstate(divide="ignore", invalid="ignore"):
                out["muscle"] = np.where(low > 0, high / low, 0.0)
            if plan["line"] is not None:
                r_safe = raw if all_finite else np.where(np.isfinite(raw), raw, 0.0)
                lbins, lbasis = plan["line"]
                line = self._welch(r_safe, lead, n_t, lbins, lbasis).sum(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    out["line"] = np.where(eeg > 0, line / eeg, 0.0)  # flat: not line
        return {k: v.reshape(lead) for k, v in out.items()}

    # -- public API -------------------------------------------------------------
    def assess(self, raw: np.ndarray, filtered: np.ndarray, filtered_psd=None) -> np.ndarray:
        """Flag each channel of one window (or of a stack of windows).

        Parameters
        ----------
        raw : ndarray, shape (n_channels, n_times) | (n_windows, n_channels, n_times)
            Unfiltered window(s) in volts (rail, flat, line noise, non-finite).
        filtered : ndarray, same shape as ``raw``
            The same window(s) after preprocessing, in volts (amplitude,
            blink, muscle).
        filtered_psd : ndarray, shape raw.shape[:-1] + (n_bins,) | None
            The Welch PSD of ``filtered`` (non-finite samples taken as 0) with
            :meth:`welch_settings`, over its bins ``k0..k1-1``, when the
            caller has it already (the engine passes the feature set's); else
            it is computed here.

        Returns
        -------
        flags : ndarray of int64, shape raw.shape[:-1]
            Bit masks of :data:`FLAGS`.
        """
        cfg = self.config
        m = self._metrics(raw, filtered, filtered_psd)
        flags = np.zeros(m["peak"].shape, dtype=np.int64)
        flags[~m["finite"]] |= FLAGS["nan"]
        # rail_share counts samples with |x| >= fraction * rail (an inf counts):
        # none reaches the lower (near) fraction in all-finite windows whose
        # peaks stay under it, the usual case, so skip its passes over the data
        if self.rail_v > 0 and (not m["finite"].all() or np.any(
                m["peak"] >= cfg.near_rail_fraction * self.rail_v)):
            railed = rail_share(raw, self.rail_v, cfg.rail_fraction) >= RAILED_SHARE
            near = ~railed & (
                rail_share(raw, self.rail_v, cfg.near_rail_fraction) >= RAILED_SHARE)
            flags[railed] |= FLAGS["railed"]
            flags[near] |= FLAGS["near_railed"]
        flags[m["std"] < cfg.flat_uv * 1e-6] |= FLAGS["flat"]
        flags[m["ptp"] > cfg.max_ptp_uv * 1e-6] |= FLAGS["amplitude"]
        flags[self.frontal & (m["blink_ptp"] > self.blink_uv * 1e-6)] |= FLAGS["blink"]
        if "muscle" in m:
            flags[m["muscle"] > cfg.muscle_ratio] |= FLAGS["muscle"]
        if "line" in m:
            flags[m["line"] > cfg.line_noise_ratio] |= FLAGS["line_noise"]
        return flags

    def track(self, flags: np.ndarray, dt: float) -> np.ndarray:
        """Turn artifacts that never stop into a ``bad`` channel.

        Called once per window, in order, with ``dt`` the hop in seconds
        (or once with a stack ``(n_windows, n_channels)`` of windows in order).
        Over the last ``bad_channel_after`` seconds of windows, a channel
        whose amplitude, blink or muscle flags were set in at least 80 % of
        them is a bad electrode: it gets the ``bad`` flag and loses those
        transient flags, so it is left out of the indices instead of gating
        every window. It is good again when the share falls under 50 %
        (hysteresis, so a channel does not flicker between the two).
        Deterministic in the window sequence (replay gives the same);
        :meth:`reset_tracking` restarts it.
        """
        flags = np.array(flags, dtype=np.int64)
        after = float(self.config.bad_channel_after or 0.0)
        if after <= 0:
            return flags
        k = max(2, int(round(after / dt)))
        n_ch = flags.shape[-1]
        hist = self._hist
        if hist is None or hist.shape != (k, n_ch):
            self._hist = hist = np.zeros((k, n_ch), dtype=bool)
            self._n_seen = 0
            self._bad = np.zeros(n_ch, dtype=bool)
        if flags.ndim == 2:  # a stack of windows, in order
            return self._track_stack(flags, k)
        hist[self._n_seen % k] = (flags & _LONG_LIVED) != 0
        self._n_seen += 1
        if self._n_seen >= k:
            share = hist.mean(axis=0)
            self._bad = np.where(self._bad, share >= 0.5, share >= 0.8)
        bad = self._bad
        flags[bad] = (flags[bad] & ~_LONG_LIVED) | FLAGS["bad"]
        return flags

    def _track_stack(self, flags, k):
        """:meth:`track` over windows ``(n_windows, n_channels)`` in order, vectorised.

        The share of the last ``k`` windows comes from a running sum over the
        history and the new windows; the hysteresis is a forward fill of its
        set (share >= 0.8) and clear (share < 0.5) events.
        """
        hist, n0 = self._hist, self._n_seen
        n_w = flags.shape[0]
        if n_w == 0:
            return flags
        long = (flags & _LONG_LIVED) != 0
        prev = hist[:n0] if n0 < k else np.roll(hist, -(n0 % k), axis=0)
        rows = np.concatenate([prev, long])
        csum = np.concatenate([np.zeros((1, rows.shape[1]), np.int64),
                               np.cumsum(rows, axis=0, dtype=np.int64)])
        g = len(prev) + np.arange(n_w) + 1  # rows up to and including each new one
        valid = (n0 + np.arange(n_w) + 1) >= k
        lo = np.maximum(g - k, 0)
        share = (csum[g] - csum[lo]) / k
        event = np.where(share >= 0.8, 1, np.where(share < 0.5, -1, 0))
        event[~valid] = 0
        last = np.where(event != 0, np.arange(n_w)[:, None], -1)
        np.maximum.accumulate(last, axis=0, out=last)
        bad = np.where(last >= 0, np.take_along_axis(event, np.maximum(last, 0), axis=0) > 0,
                       self._bad[None, :])
        take = min(n_w, k)
        hist[(n0 + np.arange(n_w - take, n_w)) % k] = long[n_w - take:]
        self._n_seen = n0 + n_w
        self._bad = bad[-1].copy()
        flags[bad] = (flags[bad] & ~_LONG_LIVED) | FLAGS["bad"]
        return flags

    def reset_tracking(self) -> None:
        """Forget each channel's recent artifact history."""
        self._hist = None

    def is_gated(self, flags: np.ndarray):
        """True when the window must not drive feedback.

        ``flags`` of one window ``(n_channels,)`` gives a bool; of a stack
        ``(n_windows, n_channels)``, a bool array ``(n_windows,)``.
        """
        flags = np.asarray(flags)
        usable = (flags & PERSISTENT) == 0
        # a railed or flat channel carries no signal: its muscle or amplitude
        # measures are those of rounding noise and gate nothing
        silent = (flags & (FLAGS["railed"] | FLAGS["flat"])) != 0
        gated = (usable.mean(axis=-1) < self.config.min_clean_fraction) | np.any(
            (flags & TRANSIENT) * ~silent, axis=-1)
        return bool(gated) if flags.ndim == 1 else gated

    def clean_channels(self, flags: np.ndarray) -> np.ndarray:
        """Boolean mask of channels the indices may use."""
        return (np.asarray(flags) & (PERSISTENT | TRANSIENT)) == 0

    def calibrate(self, raw_windows, filtered_windows, *, k: float = 5.0,
                  floor_uv: float = 40.0) -> dict:
        """Set the blink thresholds from a personal baseline.

        For each frontal channel the threshold becomes ``median + k * 1.4826 *
        MAD`` of the baseline windows' smoothed peak-to-peak (a robust z-score
        of ``k``), but at least ``floor_uv``. Blinks in the baseline do not
        drag it up, since median and MAD ignore a minority of outliers.

        Parameters
        ----------
        raw_windows, filtered_windows : array, shape (n_windows, n_channels, n_times)
            Baseline windows (eyes open, at rest), volts.
        k : float
            Robust z-score above which a deflection is a blink.
        floor_uv : float
            Lowest threshold allowed (µV).

        Returns
        -------
        thresholds : dict
            Channel name -> blink threshold in µV (frontal channels only).
        """
        raw_windows = np.asarray(raw_windows, dtype=np.float64)
        filtered_windows = np.asarray(filtered_windows, dtype=np.float64)
        if raw_windows.ndim != 3 or raw_windows.shape != filtered_windows.shape:
            raise ValueError(
                "raw_windows and filtered_windows must share a shape "
                "(n_windows, n_channels, n_times)."
            )
        if raw_windows.shape[0] < 5:
            raise ValueError(
                f"Calibration needs at least 5 baseline windows, got {raw_windows.shape[0]}."
            )
        ptp = np.array([self._metrics(r, f)["blink_ptp"]
                        for r, f in zip(raw_windows, filtered_windows)]) * 1e6
        med = np.median(ptp, axis=0)
        mad = np.median(np.abs(ptp - med), axis=0)
        thr = np.maximum(med + k * 1.4826 * mad, floor_uv)
        self.blink_uv = np.where(self.frontal, thr, self.blink_uv)
        return {ch: float(t) for ch, t, f in zip(self.ch_names, self.blink_uv, self.frontal) if f}

    def describe(self) -> dict:
        """JSON-ready thresholds and rules, for metadata and sidecars."""
        cfg = self.config
        return {
            "flags": dict(FLAGS),
            "persistent": describe_flags(PERSISTENT),
            "transient": describe_flags(TRANSIENT),
            "rail_uv": self.rail_v * 1e6,
            "rail_fraction": cfg.rail_fraction,
            "near_rail_fraction": cfg.near_rail_fraction,
            "flat_uv": cfg.flat_uv,
            "max_ptp_uv": cfg.max_ptp_uv,
            "line_freq": self.line_freq,
            "line_noise_ratio": cfg.line_noise_ratio,
            "eeg_range": list(cfg.eeg_range),
            "blink_channels": [c for c, f in zip(self.ch_names, self.frontal) if f],
            "blink_uv": [float(v) for v in self.blink_uv],
            "blink_smooth_s": cfg.blink_smooth,
            "muscle_ratio": cfg.muscle_ratio,
            "muscle_high": list(cfg.muscle_high),
            "muscle_low": list(cfg.muscle_low),
            "min_clean_fraction": cfg.min_clean_fraction,
        }
