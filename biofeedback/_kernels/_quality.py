"""Per-channel statistics of the quality gates, one pass per row."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def window_stats(raw, filt, smooth):
    """Per-channel statistics the quality gates need, in one pass per row.

    Returns (n_ch, 5): 0 max |raw|, 1 std of raw, 2 peak-to-peak of filtered,
    3 peak-to-peak of filtered after a centred moving average of ``smooth``
    samples (slow deflections: blinks), 4 all finite (1.0) or not (0.0).
    Non-finite samples are skipped. (``v - v == 0.0`` is ``isfinite(v)`` for
    a float: NaN for NaN and inf; numba compiles it in a third of the time.)
    """
    n_ch, n_t = raw.shape
    out = np.empty((n_ch, 5))
    for c in range(n_ch):
        finite = 1.0
        mx = 0.0
        s = 0.0
        n = 0
        for i in range(n_t):
            v = raw[c, i]
            if v - v == 0.0:
                if abs(v) > mx:
                    mx = abs(v)
                s += v
                n += 1
            else:
                finite = 0.0
        m = s / n if n > 0 else 0.0
        acc = 0.0
        for i in range(n_t):
            v = raw[c, i]
            if v - v == 0.0:
                acc += (v - m) * (v - m)
        out[c, 0] = mx
        out[c, 1] = np.sqrt(acc / n) if n > 0 else 0.0
        lo = np.inf
        hi = -np.inf
        for i in range(n_t):
            v = filt[c, i]
            if v - v == 0.0:
                lo = min(lo, v)
                hi = max(hi, v)
            else:
                finite = 0.0
        out[c, 2] = hi - lo if hi >= lo else 0.0
        # moving average via running sum (non-finite counted as 0)
        lo = np.inf
        hi = -np.inf
        run = 0.0
        for i in range(n_t):
            v = filt[c, i]
            run += v if v - v == 0.0 else 0.0
            if i >= smooth:
                w = filt[c, i - smooth]
                run -= w if w - w == 0.0 else 0.0
            if i >= smooth - 1:
                a = run / smooth
                lo = min(lo, a)
                hi = max(hi, a)
        out[c, 3] = hi - lo if hi >= lo else 0.0
        out[c, 4] = finite
    return out


@njit(cache=True, nogil=True)
def channel_stats(data, over, rail):
    """Per-channel statistics of a whole recording's integrity check, one pass per row.

    Returns (n_ch, 6), over each row's finite samples: 0 non-finite samples,
    1 max |x| (0 when none), 2 samples with |x| > ``over``, 3 samples with
    |x| >= ``rail``, 4 min, 5 max (inf and -inf when none). Comparisons and
    counts only: the same values NumPy's ``isfinite``, ``max``, ``abs``,
    ``count_nonzero`` and ``ptp`` give.
    """
    n_ch, n_t = data.shape
    out = np.empty((n_ch, 6))
    for c in range(n_ch):
        n_bad = 0
        peak = 0.0
        n_over = 0
        n_rail = 0
        lo = np.inf
        hi = -np.inf
        for i in range(n_t):
            v = data[c, i]
            if v - v == 0.0:
                a = abs(v)
                peak = max(peak, a)
                n_over += a > over
                n_rail += a >= rail
                lo = min(lo, v)
                hi = max(hi, v)
            else:
                n_bad += 1
        out[c, 0] = n_bad
        out[c, 1] = peak
        out[c, 2] = n_over
        out[c, 3] = n_rail
        out[c, 4] = lo
        out[c, 5] = hi
    return out
