"""Window preparation both engine drivers share.

A chunk is split where the clock jumps (each side is filtered on its own),
filtered causally with non-finite samples held, joined to the kept tail of
the previous chunk, and its window ends found on the sample grid; each
window is then gated per channel. :class:`_WindowPreparation` is a mixin of
:class:`~biofeedback.engine.Engine`: it reads and carries the engine's state.
"""

from __future__ import annotations

import numpy as np

from .._checks import _as_data
from .._logging import logger
from .._words import listed


class _WindowPreparation:
    """Segments, causal filtering, window ends, kept tails and gates."""

    def _drive(self, data, timestamps, segment_fn):
        data = _as_data(data, "data", 2)
        timestamps = np.ascontiguousarray(timestamps, dtype=np.float64)
        if data.shape[0] != len(self.ch_names):
            raise ValueError(
                f"data has {data.shape[0]} channels but the engine was built for "
                f"{len(self.ch_names)} ({listed(self.ch_names)})."
            )
        if timestamps.shape != (data.shape[1],):
            raise ValueError(
                f"timestamps must have shape ({data.shape[1]},), got {timestamps.shape}."
            )
        if data.shape[1] == 0:
            return []
        if self._t_first is None:
            self._t_first = float(timestamps[0])
        # split where the clock jumps: each side is filtered on its own
        prev = timestamps[0] if self._last_ts is None else self._last_ts
        steps = np.diff(timestamps, prepend=prev)
        breaks = np.flatnonzero(np.abs(steps) > self.config.preprocessing.gap_reset)
        results = []
        start = 0
        for b in [*breaks.tolist(), data.shape[1]]:
            if b > start:
                results.extend(segment_fn(data[:, start:b], timestamps[start:b]))
            if b < data.shape[1]:
                logger.info("Gap of %.3f s at t=%.3f: restarting filters.", steps[b], timestamps[b])
                self.n_resets += 1
                self.reset()
            start = b
        return results

    def _filter(self, raw, ts):
        """Causal filtering of one segment; non-finite samples hold the last finite value."""
        if not np.isfinite(raw).all():  # hold the last finite value for the filters
            finite = np.isfinite(raw)
            pos = np.where(finite, np.arange(raw.shape[1])[None, :], -1)
            np.maximum.accumulate(pos, axis=1, out=pos)
            held = np.take_along_axis(raw, np.maximum(pos, 0), axis=1)
            held = np.where(pos >= 0, held, self._last_finite[:, None])
            self._last_finite = held[:, -1].copy()
            filt, _ = self.preprocessing.process(held, ts)
        else:
            filt, _ = self.preprocessing.process(raw, ts)
            self._last_finite = raw[:, -1].copy()
        self._last_ts = ts[-1]
        return filt

    def _window_stops(self, n_new):
        """Window ends among ``n_new`` new samples, as positions after the tail."""
        c0 = self._count
        self._count += n_new
        # window ends e (1-based counts) with e >= win_len and (e - win_len) % hop == 0
        first = max(self.win_len, c0 + 1)
        rem = (first - self.win_len) % self.hop
        if rem:
            first += self.hop - rem
        offset = self._raw_tail.shape[1]
        return offset + (np.arange(first, self._count + 1, self.hop) - c0)

    def _keep_tails(self, raw_all, filt_all, ts_all):
        keep = self.win_len - 1
        self._raw_tail = raw_all[:, -keep:]
        self._filt_tail = filt_all[:, -keep:]
        self._ts_tail = ts_all[-keep:]

    def _extend(self, raw, ts):
        """Filter a segment and join it to the kept tails; the window stops in it."""
        filt = self._filter(raw, ts)
        stops = self._window_stops(raw.shape[1])
        raw_all = np.concatenate([self._raw_tail, raw], axis=1)
        filt_all = np.concatenate([self._filt_tail, filt], axis=1)
        ts_all = np.concatenate([self._ts_tail, ts])
        return stops, raw_all, filt_all, ts_all

    def _gate(self, raw, filt, spectrum):
        """Gate windows (one, or a stack): flags, clean channels, gated, safe samples, PSD.

        Non-finite filtered samples (a held stretch) become 0 for features and
        models; the gates have already flagged them. ``spectrum`` is the
        feature set's Welch PSD of the safe samples (``spectrum`` live,
        ``spectra`` batch), computed once here: the gate reads its bins when
        it uses the same Welch estimate (see :meth:`_shared_bins`) and the
        features take it whole.
        """
        filt_safe = np.where(np.isfinite(filt), filt, 0.0)
        psd = spectrum(filt_safe)
        cols = self._gate_bins
        flags = self.gate.assess(raw, filt, None if cols is None else psd[..., cols])
        flags = self.gate.track(flags, self.hop / self.sfreq)
        clean = self.gate.clean_channels(flags)
        gated = self.gate.is_gated(flags)
        return flags, clean, gated, filt_safe, psd

    def _shared_bins(self):
        """The feature PSD's columns the quality gate reads, or None if it needs its own.

        The gate's spectral checks (muscle, and the EEG power line noise is
        compared with) read a Welch PSD of the filtered window with Hann
        1 s segments at 50 % overlap; the default features' PSD is the same
        estimate (the same segments, taper, mean removal, density, and the
        bins the gate needs among its own), so it is computed once. A
        pipeline with other Welch settings (segment, overlap or Hamming
        taper) gives other numbers: the gate then computes its own, as the
        thresholds in ``[gates]`` were set on Hann 1 s segments.
        """
        gate = self.gate.welch_settings(self.win_len)
        feat = self.features.welch_settings
        if gate is None or gate[:3] != feat[:3]:
            return None
        (k0, k1), (f0, f1) = gate[3:], feat[3:]
        if not f0 <= k0 < k1 <= f1:
            return None
        return slice(k0 - f0, k1 - f0)
