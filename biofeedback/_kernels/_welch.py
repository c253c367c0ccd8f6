"""Welch PSD as one matrix product: one window (live), many windows, any length.

Welch without an FFT
--------------------
numba has no FFT, and the bands need only a few dozen frequency bins. Mean
removal ("constant" detrend), the taper and the DFT are all linear in the
segment, so for the bins ``k`` we need they fold into one real matrix
``B`` of shape (n_per_seg, 2 * n_bins)::

    B[n, k]          =  w[n] cos(2 pi k n / N) - mean_j(w[j] cos(2 pi k j / N))
    B[n, n_bins + k] = -w[n] sin(2 pi k n / N) + mean_j(w[j] sin(2 pi k j / N))

and the periodogram of a segment ``s`` is ``scale[k] * ((s @ B)[k]**2 +
(s @ B)[n_bins + k]**2)``: the same numbers ``scipy.signal.welch`` computes
(to rounding), for any segment length (250 samples at 250 Hz needs no
mixed-radix FFT). The product runs as one matrix multiply (BLAS) over all
segments of a batch.

The live path (:func:`welch_update`, and :func:`welch_rows` the quality gates
use) does the product in numpy between two loop kernels: numba compiles a
kernel holding ``np.dot`` in about a second, and the first live session
after installing waits for every kernel it uses.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ROWS_PER_BLOCK = 64  # rows (channel-windows) per matrix product in batch work


@njit(cache=True, nogil=True)
def _segments(x, r0, r1, seg_from, seg_to, step, n_per_seg):
    """Segments ``seg_from..seg_to-1`` of rows ``r0..r1-1`` of ``x``, one per row.

    Returns (n_rows * n_s, n_per_seg): segment ``s`` of row ``r0 + r`` at row
    ``r * n_s + s``, ready for the product with the Welch basis.
    """
    n_rows = r1 - r0
    n_s = seg_to - seg_from
    segs = np.empty((max(n_rows * n_s, 0), n_per_seg))
    for r in range(n_rows):
        for s in range(n_s):
            start = (seg_from + s) * step
            row = r * n_s + s
            for j in range(n_per_seg):
                segs[row, j] = x[r0 + r, start + j]
    return segs


@njit(cache=True, nogil=True)
def _periodograms_mean(prod, scale, per, n_rows, seg_from, psd, r0):
    """Periodograms from the segments' products with the basis, then the mean.

    prod : (n_rows * n_s, 2 * n_bins), as :func:`_segments` orders them;
    per : (>= n_rows, n_seg, n_bins), segments ``seg_from..seg_from + n_s - 1``
    written; psd[r0 + r] = mean over all of per[r]'s segments, oldest first.
    """
    n_bins = scale.shape[0]
    n_seg = per.shape[1]
    n_s = prod.shape[0] // n_rows if n_rows > 0 else 0
    for r in range(n_rows):
        for s in range(n_s):
            row = r * n_s + s
            for k in range(n_bins):
                re = prod[row, k]
                im = prod[row, n_bins + k]
                per[r, seg_from + s, k] = (re * re + im * im) * scale[k]
        for k in range(n_bins):
            acc = 0.0
            for s in range(n_seg):
                acc += per[r, s, k]
            psd[r0 + r, k] = acc / n_seg


def welch_rows(x, n_seg, step, basis, scale):
    """Welch PSD of every row of ``x`` (n_rows, n_times) -> (n_rows, n_bins).

    Works through the rows in blocks so the segment matrix stays in cache.
    The matrix product runs in numpy (BLAS); the kernels around it are plain
    loops, quick to compile.
    """
    n_rows = x.shape[0]
    n_per_seg = basis.shape[0]
    n_bins = scale.shape[0]
    psd = np.empty((n_rows, n_bins))
    blk = _ROWS_PER_BLOCK
    per = np.empty((min(blk, n_rows), n_seg, n_bins))
    for r0 in range(0, n_rows, blk):
        r1 = min(r0 + blk, n_rows)
        segs = _segments(x, r0, r1, 0, n_seg, step, n_per_seg)
        _periodograms_mean(segs @ basis, scale, per, r1 - r0, 0, psd, r0)
    return psd


@njit(cache=True, nogil=True)
def welch_windows(X, n_seg, step, basis, scale, share):
    """Welch PSD of every channel of every window: (n_w, n_ch, n_t) -> (n_w, n_ch, n_bins).

    With ``share``, a window whose first samples equal the previous window's
    last ones exactly (a sliding window shifted by a whole number of Welch
    steps) takes the shared segments' periodograms from it and only the new
    segments are computed: the numbers do not change, the work drops by the
    overlap. Segments are averaged oldest first, as :func:`welch_update` does.
    """
    n_w, n_ch, n_t = X.shape
    n_per_seg = basis.shape[0]
    n_bins = scale.shape[0]
    ref = np.empty((n_w, n_seg), np.int64)
    uniq_w = np.empty(n_w * n_seg, np.int64)
    uniq_s = np.empty(n_w * n_seg, np.int64)
    n_u = 0
    for w in range(n_w):
        shift = 0
        if share and w > 0:
            for sh in range(1, n_seg):
                h = sh * step
                same = True
                for c in range(n_ch):
                    for j in range(n_t - h):
                        if X[w, c, j] != X[w - 1, c, j + h]:
                            same = False
                            break
                    if not same:
                        break
                if same:
                    shift = sh
                    break
        keep = n_seg - shift if shift > 0 else 0
        for s in range(keep):
            ref[w, s] = ref[w - 1, s + shift]
        for s in range(keep, n_seg):
            ref[w, s] = n_u
            uniq_w[n_u] = w
            uniq_s[n_u] = s
            n_u += 1
    per = np.empty((n_u, n_ch, n_bins))
    blk = _ROWS_PER_BLOCK
    segs = np.empty((blk * n_ch, n_per_seg))
    for u0 in range(0, n_u, blk):
        u1 = min(u0 + blk, n_u)
        rows = (u1 - u0) * n_ch
        for u in range(u0, u1):
            start = uniq_s[u] * step
            for c in range(n_ch):
                row = (u - u0) * n_ch + c
                for j in range(n_per_seg):
                    segs[row, j] = X[uniq_w[u], c, start + j]
        prod = np.dot(segs[:rows], basis)
        for u in range(u0, u1):
            for c in range(n_ch):
                row = (u - u0) * n_ch + c
                for k in range(n_bins):
                    re = prod[row, k]
                    im = prod[row, n_bins + k]
                    per[u, c, k] = (re * re + im * im) * scale[k]
    psd = np.empty((n_w, n_ch, n_bins))
    for w in range(n_w):
        for c in range(n_ch):
            for k in range(n_bins):
                acc = 0.0
                for s in range(n_seg):
                    acc += per[ref[w, s], c, k]
                psd[w, c, k] = acc / n_seg
    return psd


@njit(cache=True, nogil=True)
def _slide(x, prev, per, valid, shift, hop):
    """Keep the last window's periodograms that this window shares, if it does.

    When ``valid`` and the first ``n_times - hop`` samples of ``x`` equal the
    last ``n_times - hop`` of ``prev`` exactly, drop the oldest ``shift``
    segments of ``per`` (the rest move to the front) and return True. ``prev``
    becomes ``x`` either way.
    """
    n_ch, n_t = x.shape
    n_seg = per.shape[1]
    n_bins = per.shape[2]
    reuse = valid and 0 < shift < n_seg
    if reuse:
        for c in range(n_ch):
            for j in range(n_t - hop):
                if x[c, j] != prev[c, j + hop]:
                    reuse = False
                    break
            if not reuse:
                break
    if reuse:
        for c in range(n_ch):
            for s in range(n_seg - shift):
                for k in range(n_bins):
                    per[c, s, k] = per[c, s + shift, k]
    for c in range(n_ch):
        for j in range(n_t):
            prev[c, j] = x[c, j]
    return reuse


def welch_update(x, prev, per, valid, shift, hop, step, basis, scale):
    """Welch PSD of one window, reusing the segments it shares with the last.

    x : (n_ch, n_times) this window; prev : (n_ch, n_times) the last window
    (overwritten with ``x``); per : (n_ch, n_seg, n_bins) the last window's
    periodograms (updated in place). When ``valid`` and the first
    ``n_times - hop`` samples of ``x`` equal the last ``n_times - hop`` of
    ``prev`` exactly, the oldest ``shift = hop // step`` segments are dropped
    and only the newest ``shift`` are computed; otherwise all are. Returns
    (psd (n_ch, n_bins), reused: bool).
    """
    n_ch, n_seg = per.shape[0], per.shape[1]
    reuse = _slide(x, prev, per, valid, shift, hop)
    s0 = n_seg - shift if reuse else 0
    segs = _segments(x, 0, n_ch, s0, n_seg, step, basis.shape[0])
    psd = np.empty((n_ch, scale.shape[0]))
    _periodograms_mean(segs @ basis, scale, per, n_ch, s0, psd, 0)
    return psd, reuse
