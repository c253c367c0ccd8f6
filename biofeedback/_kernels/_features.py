"""Band sums, spectral entropy and time-domain features of many rows at once."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def band_sums(psd, starts, stops, df):
    """Sum psd (n_rows, n_bins) over bins [starts[b], stops[b]) times df."""
    n_rows = psd.shape[0]
    n_b = starts.shape[0]
    out = np.empty((n_rows, n_b))
    for r in range(n_rows):
        for b in range(n_b):
            acc = 0.0
            for k in range(starts[b], stops[b]):
                acc += psd[r, k]
            out[r, b] = acc * df
    return out


@njit(cache=True, nogil=True)
def spectral_entropy(psd, start, stop):
    """Normalised Shannon entropy of psd[:, start:stop] (0..1, 0 log 0 = 0)."""
    n_rows = psd.shape[0]
    n = stop - start
    out = np.empty(n_rows)
    norm = np.log(n)
    for r in range(n_rows):
        tot = 0.0
        for k in range(start, stop):
            tot += psd[r, k]
        if not tot > 0.0:
            out[r] = np.nan
            continue
        acc = 0.0
        for k in range(start, stop):
            p = psd[r, k] / tot
            if p > 0.0:
                acc -= p * np.log(p)
        out[r] = acc / norm
    return out


@njit(cache=True, nogil=True)
def _var(x, start, stop, ddof):
    n = stop - start
    m = 0.0
    for i in range(start, stop):
        m += x[i]
    m /= n
    acc = 0.0
    for i in range(start, stop):
        d = x[i] - m
        acc += d * d
    return acc / (n - ddof)


@njit(cache=True, nogil=True)
def time_features(x, eps):
    """Time-domain features of every row of ``x`` (n_rows, n_times).

    Columns: 0 Hjorth activity (var, ddof 0), 1 mobility, 2 complexity
    (antropy's definitions), 3 line length (mean |diff|), 4 variance (ddof 1),
    5 excess kurtosis (Fisher, biased: scipy.stats.kurtosis), 6 zero crossings
    (mne-features' count, with |x| < eps taken as zero).
    """
    n_rows, n_t = x.shape
    out = np.empty((n_rows, 7))
    dx = np.empty(n_t - 1)
    ddx = np.empty(n_t - 2)
    for r in range(n_rows):
        row = x[r]
        for i in range(n_t - 1):
            dx[i] = row[i + 1] - row[i]
        for i in range(n_t - 2):
            ddx[i] = dx[i + 1] - dx[i]
        # moments of x, two passes
        m = 0.0
        for i in range(n_t):
            m += row[i]
        m /= n_t
        m2 = 0.0
        m4 = 0.0
        for i in range(n_t):
            d = row[i] - m
            d2 = d * d
            m2 += d2
            m4 += d2 * d2
        var0 = m2 / n_t
        vdx = _var(dx, 0, n_t - 1, 0)
        vddx = _var(ddx, 0, n_t - 2, 0)
        mob = np.sqrt(vdx / var0) if var0 > 0 else np.nan
        mob_dx = np.sqrt(vddx / vdx) if vdx > 0 else np.nan
        out[r, 0] = var0
        out[r, 1] = mob
        out[r, 2] = mob_dx / mob
        ll = 0.0
        for i in range(n_t - 1):
            ll += abs(dx[i])
        out[r, 3] = ll / (n_t - 1)
        out[r, 4] = m2 / (n_t - 1)
        out[r, 5] = (m4 / n_t) / (var0 * var0) - 3.0 if var0 > 0 else np.nan
        # zero crossings as mne-features counts them
        count = 0
        prev_s = 0.0
        for i in range(n_t):
            v = row[i]
            s = 0.0 if abs(v) < eps else (1.0 if v > 0 else -1.0)
            if i == 0:
                if s == 0.0:
                    count += 1
            else:
                if s == 0.0 and prev_s != 0.0:
                    count += 1
                if s * prev_s < 0:
                    count += 1
            prev_s = s
        out[r, 6] = count
    return out
