"""The batch driver: long blocks at once, windows computed in stacks."""

from __future__ import annotations

import numpy as np

from ._results import WindowResult


class _BatchDriver:
    """:meth:`process_batch` and its stacked step (a mixin of ``Engine``)."""

    def process_batch(self, data, timestamps, *, block: int = 256) -> list[WindowResult]:
        """Feed many samples at once; the same windows :meth:`process` gives.

        The batch driver for offline work (replay, training, evaluation,
        conversion): filters run over the whole block with their state
        carried, all window ends are found at once, and gates, features and
        the model work on stacks of ``block`` windows with the batch kernels
        (Welch segments shared between overlapping windows); the model's
        state filter runs once over the sequence. It carries the same state
        as :meth:`process`, so the two can be mixed on one stream, and the
        output equals feeding the samples chunk by chunk (to floating-point
        rounding: the batch Welch kernel sums in another order).

        Parameters
        ----------
        data, timestamps : array
            As for :meth:`process`: EEG in volts ``(n_channels, n_times)``
            and one increasing timestamp per sample (seconds).
        block : int
            Windows computed together (bounds the memory of the stacks).

        Returns
        -------
        results : list of WindowResult
        """
        self._block = max(1, int(block))
        return self._drive(data, timestamps, self._process_segment_batch)

    def _process_segment_batch(self, raw, ts):
        from numpy.lib.stride_tricks import sliding_window_view

        stops, raw_all, filt_all, ts_all = self._extend(raw, ts)
        results = []
        if stops.size:
            # (n_ch, n_pos, win_len) views; window k starts at stops[k] - win_len
            raw_v = sliding_window_view(raw_all, self.win_len, axis=1)
            filt_v = sliding_window_view(filt_all, self.win_len, axis=1)
            self.features.reset()  # the live path's shared-segment cache is not ours
            for i in range(0, stops.size, self._block):
                starts = stops[i : i + self._block] - self.win_len
                results.extend(self._windows(
                    np.ascontiguousarray(raw_v[:, starts].transpose(1, 0, 2)),
                    np.ascontiguousarray(filt_v[:, starts].transpose(1, 0, 2)),
                    ts_all[starts + self.win_len - 1]))
        self._keep_tails(raw_all, filt_all, ts_all)
        return results

    def _windows(self, raw, filt, t_end) -> list[WindowResult]:
        """The batch twin of :meth:`_window`: a stack of windows, in order."""
        flags, clean, gated, filt_safe, psd = self._gate(raw, filt, self.features.spectra)
        feats, idx = self.features.batch(filt_safe, clean, psd=psd)
        if self.index_span is not None:
            idx = self.index_span.steps(idx)
        if self.model is not None:
            idx = np.concatenate([idx, self._model_proba_batch(feats, filt_safe, t_end, gated,
                                                                   clean)],
                                 axis=1)
        gated = gated | ~np.isfinite(idx).any(axis=1)
        n0 = self.n_windows
        self.n_windows += len(t_end)
        keep = self.keep_windows
        return [WindowResult(n0 + k, float(t_end[k]), idx[k], feats[k], bool(gated[k]),
                             flags[k], filt_safe[k] if keep else None, self.n_resets)
                for k in range(len(t_end))]
