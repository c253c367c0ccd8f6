"""Indices averaged causally over the windows of the last seconds."""

from __future__ import annotations

import numpy as np


class IndexSpan:
    """Causal mean of some indices over the windows of the last seconds.

    A 2 s window's frontal alpha asymmetry is noisy (Allen, Coan & Nazarian
    2004 average many 2 s epochs); the mean over the windows that ended
    within the last ``span`` seconds is steadier. For a log ratio such as
    ``faa = ln a_R - ln a_L`` the mean of the differences is the difference of
    the mean log powers. Only finite values enter: an index is NaN in a window
    where a channel it uses is flagged, so artifacts on its channels never
    enter, while artifacts elsewhere (which gate the window) do not stop it.
    The output is NaN until a finite value has been seen in the span.

    Parameters
    ----------
    spans : dict of int to float
        Column of the index -> seconds (longer than zero).
    step : float
        Seconds between windows.
    """

    def __init__(self, spans, step: float):
        self.cols = np.array(sorted(spans), dtype=np.int64)
        self.n = np.array([max(1, int(round(spans[c] / step))) for c in self.cols])
        self.reset()

    def reset(self) -> None:
        """Forget the past (the engine restarted)."""
        self._hist = [[] for _ in self.cols]

    def step(self, values):
        """Replace the spanned columns of ``values`` (one window) by their means."""
        out = np.array(values, dtype=np.float64, copy=True)
        for j, (c, n) in enumerate(zip(self.cols, self.n, strict=True)):
            h = self._hist[j]
            h.append(out[c])
            del h[:-n]
            vals = np.asarray(h)
            vals = vals[np.isfinite(vals)]
            out[c] = vals.mean() if vals.size else np.nan
        return out

    def steps(self, values):
        """:meth:`step` over a stack of windows ``(n_windows, n_values)``, in order."""
        values = np.asarray(values, dtype=np.float64)
        return np.array([self.step(v) for v in values]).reshape(values.shape)
