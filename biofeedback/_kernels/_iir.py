"""The causal filter in second-order sections (direct form II transposed)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def sosfilt(sos, x, zi):
    """Filter every row of ``x`` (n_rows, n_times) through the sections; returns y.

    sos : (n_sections, 6), each ``b0 b1 b2 1 a1 a2``; zi : (n_rows,
    n_sections, 2), the state, carried in place from one call to the next.
    The recurrence and its order of operations are scipy.signal.sosfilt's,
    so the numbers are the same.
    """
    n_rows, n_t = x.shape
    n_sec = sos.shape[0]
    y = np.empty((n_rows, n_t))
    for i in range(n_rows):
        for n in range(n_t):
            x_cur = x[i, n]
            for s in range(n_sec):
                x_new = sos[s, 0] * x_cur + zi[i, s, 0]
                zi[i, s, 0] = sos[s, 1] * x_cur - sos[s, 4] * x_new + zi[i, s, 1]
                zi[i, s, 1] = sos[s, 2] * x_cur - sos[s, 5] * x_new
                x_cur = x_new
            y[i, n] = x_cur
    return y
