"""The live driver: a few samples at a time, one window at a time."""

from __future__ import annotations

import numpy as np

from ._results import WindowResult


class _LiveDriver:
    """:meth:`process` and its per-window step (a mixin of ``Engine``)."""

    def process(self, data, timestamps) -> list[WindowResult]:
        """Feed samples; return the windows they complete, oldest first.

        The live driver: one window at a time, a few per chunk.

        Parameters
        ----------
        data : array, shape (n_channels, n_times)
            EEG in volts.
        timestamps : array, shape (n_times,)
            One timestamp per sample (seconds), increasing.

        Returns
        -------
        results : list of WindowResult
        """
        return self._drive(data, timestamps, self._process_segment)

    def _process_segment(self, raw, ts):
        stops, raw_all, filt_all, ts_all = self._extend(raw, ts)
        results = []
        for stop in stops.tolist():
            sl = slice(stop - self.win_len, stop)
            results.append(self._window(raw_all[:, sl], filt_all[:, sl], ts_all[stop - 1]))
        self._keep_tails(raw_all, filt_all, ts_all)
        return results

    def _window(self, raw, filt, t_end) -> WindowResult:
        # filt_safe: a new C array; psd: its Welch PSD, for the gate and the features
        flags, clean, gated, filt_safe, psd = self._gate(raw, filt, self.features.spectrum)
        feats, idx = self.features.window(filt_safe, clean, psd)
        if self.index_span is not None:
            idx = self.index_span.step(idx)
        if self.model is not None:
            idx = np.concatenate([idx, self._model_proba(feats, filt_safe, t_end, gated,
                                                                clean=clean)])
        if not np.any(np.isfinite(idx)):
            gated = True
        result = WindowResult(self.n_windows, float(t_end), idx, feats, bool(gated), flags,
                              filt_safe.copy() if self.keep_windows else None, self.n_resets)
        self.n_windows += 1
        return result
