"""Batch Welch through shared step-long blocks.

Batches of sliding windows whose Welch segment is a whole number of steps
(256-sample segments at 128-sample steps) go through
:func:`welch_windows_blocks`: each step-long block's DFT is computed once, on
the raw samples, and segment spectra are sums of neighbouring blocks' spectra;
the mean removal zeroes bin 0 and the periodic Hann or Hamming taper is a
3-tap convolution in frequency. Half the multiply-adds per block, and each
block once however many segments and windows hold it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_BLOCK_ROWS = 256  # rows (block-channels) per matrix product


@njit(cache=True, nogil=True)
def welch_windows_blocks(
    X, n_seg, q, blk, cbasis, ph_re, ph_im, kb0, k0, a0, a1h, scale, share
):
    """:func:`welch_windows` when a segment is ``q`` whole Welch steps (blocks).

    Each ``blk``-sample block's DFT on the segment's ``N = q * blk`` grid is
    computed once, on the raw samples, for bins ``kb0 .. kb0 + n_kb - 1``
    (matrix products over many blocks at a time). A segment's spectrum is the
    sum of its blocks' spectra times ``ph[j] = exp(-2 pi i k j / q)``; mean
    removal sets its bin 0 to zero; the periodic cosine taper
    ``w[n] = a0 - 2 a1h cos(2 pi n / N)`` is the 3-tap convolution
    ``a0 X[k] - a1h (X[k-1] + X[k+1])`` (``X[-1]`` and ``X[N/2 + 1]`` by
    conjugate symmetry). Half the multiply-adds of the segment basis of
    :func:`welch_windows` per block, and each block once.

    With ``share``, a window continuing the previous one by whole blocks
    (bitwise equal samples) takes the shared blocks' spectra and segments'
    periodograms from it. A window's blocks are always the last ``nb``
    blocks computed and its segments the last ``n_seg`` periodograms, so
    both live in small rolling buffers.

    The finiteness of every sample is checked in the same pass over the data
    (non-finite samples only make NaN, never an out-of-bounds access); the
    caller raises when the returned flag is False.

    X : (n_w, n_ch, n_t); cbasis : (blk, 2 * n_kb) [cos | -sin];
    ph_re, ph_im : (q, n_kb); scale : (n_bins,) for bins k0 .. k0 + n_bins - 1.
    Returns (psd (n_w, n_ch, n_bins), all samples finite).
    """
    n_w, n_ch, n_t = X.shape
    n_kb = cbasis.shape[1] // 2
    n_bins = scale.shape[0]
    N = q * blk
    nyq = N // 2
    nb = n_seg + q - 1  # blocks the segments cover
    cap = max(nb, _BLOCK_ROWS // n_ch)  # new blocks per matrix product
    rows = np.empty((cap * n_ch, blk))
    Y = np.empty(((nb - 1 + cap) * n_ch, 2 * n_kb))  # carried blocks, then new ones
    per = np.empty((n_seg, n_ch, n_bins))  # rolling: segment id % n_seg
    psd = np.empty((n_w, n_ch, n_bins))
    xr = np.empty(n_kb + 2)
    xi = np.empty(n_kb + 2)
    k1 = k0 + n_bins
    shifts = np.empty(n_w, np.int64)
    slots = np.empty(n_seg, np.int64)
    finite = True
    n_blocks = 0  # blocks computed so far (ids 0 .. n_blocks - 1)
    n_segs = 0
    base = 0  # id of the block in Y's first row
    n_carry = 0  # blocks carried over at the top of Y
    w0 = 0
    while w0 < n_w:
        # pass 1: sharing, finiteness, new blocks' samples
        n_new = 0
        w1 = w0
        while w1 < n_w and n_new + nb <= cap:
            w = w1
            shift = 0
            if share and w > 0:
                for sh in range(1, nb):
                    same = True
                    for c in range(n_ch):
                        a = X[w, c]
                        p = X[w - 1, c]
                        diff = False
                        for j in range((nb - sh) * blk):
                            diff |= a[j] != p[sh * blk + j]
                        if diff:
                            same = False
                            break
                    if same:
                        shift = sh
                        break
            bad = False
            for c in range(n_ch):
                a = X[w, c]
                for j in range(n_t):
                    bad |= not (a[j] - a[j] == 0.0)  # NaN for NaN and inf
            finite = finite and not bad
            shifts[w] = shift
            keep = nb - shift if shift > 0 else 0
            for b in range(keep, nb):
                for c in range(n_ch):
                    row = n_new * n_ch + c
                    for j in range(blk):
                        rows[row, j] = X[w, c, b * blk + j]
                n_new += 1
            w1 += 1
        r0 = n_carry * n_ch
        np.dot(rows[: n_new * n_ch], cbasis, Y[r0 : r0 + n_new * n_ch])
        # pass 2: periodograms of the new segments, then the windows' means
        for w in range(w0, w1):
            shift = shifts[w]
            keep = nb - shift if shift > 0 else 0
            n_blocks += nb - keep
            keep_s = n_seg - shift if 0 < shift < n_seg else 0
            first_b = n_blocks - nb - base  # Y block slot of the window's block 0
            for s in range(keep_s, n_seg):
                slot = n_segs % n_seg
                n_segs += 1
                for c in range(n_ch):
                    # xr, xi [1 + kk]: bin kb0 + kk; [0], [n_kb + 1]: the bins beyond
                    r0 = (first_b + s) * n_ch + c
                    if q == 1:
                        for kk in range(n_kb):
                            xr[1 + kk] = Y[r0, kk]
                            xi[1 + kk] = Y[r0, n_kb + kk]
                    elif q == 2:  # exp(-i pi k) = (-1)**k
                        r1 = r0 + n_ch
                        for kk in range(n_kb):
                            sg = ph_re[1, kk]
                            xr[1 + kk] = Y[r0, kk] + sg * Y[r1, kk]
                            xi[1 + kk] = Y[r0, n_kb + kk] + sg * Y[r1, n_kb + kk]
                    else:
                        for kk in range(n_kb):
                            xr[1 + kk] = 0.0
                            xi[1 + kk] = 0.0
                        for j in range(q):
                            row = r0 + j * n_ch
                            for kk in range(n_kb):
                                yr = Y[row, kk]
                                yi = Y[row, n_kb + kk]
                                pr = ph_re[j, kk]
                                pi = ph_im[j, kk]
                                xr[1 + kk] += pr * yr - pi * yi
                                xi[1 + kk] += pr * yi + pi * yr
                    if kb0 == 0:  # constant detrend: the segment's mean is gone
                        xr[1] = 0.0
                        xi[1] = 0.0
                    if k0 == 0:  # X[-1] = conj(X[1])
                        xr[0] = xr[2]
                        xi[0] = -xi[2]
                    if kb0 + n_kb - 1 < k1:  # X[nyq + 1] = conj(X[N - nyq - 1])
                        xr[n_kb + 1] = xr[1 + N - nyq - 1 - kb0]
                        xi[n_kb + 1] = -xi[1 + N - nyq - 1 - kb0]
                    out = per[slot, c]
                    lo = k0 - kb0  # xr[lo + i] is bin k0 + i - 1
                    rl, rm, rh = xr[lo:], xr[lo + 1 :], xr[lo + 2 :]
                    il, im, ih = xi[lo:], xi[lo + 1 :], xi[lo + 2 :]
                    for i in range(n_bins):
                        dr = a0 * rm[i] - a1h * (rl[i] + rh[i])
                        di = a0 * im[i] - a1h * (il[i] + ih[i])
                        out[i] = (dr * dr + di * di) * scale[i]
            for s in range(n_seg):  # the window's segments, oldest first
                slots[s] = (n_segs - n_seg + s) % n_seg
            for c in range(n_ch):
                out = psd[w, c]
                p0 = per[slots[0], c]
                for i in range(n_bins):
                    out[i] = p0[i]
                for s in range(1, n_seg):
                    ps = per[slots[s], c]
                    for i in range(n_bins):
                        out[i] += ps[i]
                for i in range(n_bins):
                    out[i] /= n_seg
        # carry the last nb - 1 blocks to the top of Y for the next windows
        n_carry = min(nb - 1, n_blocks)
        src = (n_blocks - n_carry - base) * n_ch
        for r in range(n_carry * n_ch):
            for j in range(2 * n_kb):
                Y[r, j] = Y[src + r, j]
        base = n_blocks - n_carry
        w0 = w1
    return psd, finite
