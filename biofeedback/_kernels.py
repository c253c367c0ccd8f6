"""numba kernels behind :mod:`biofeedback.features` and :mod:`biofeedback.quality`.

Private: kernels trust their caller. They take C-contiguous float64 arrays of
the documented shapes; the public wrappers convert, check lengths and raise
``ValueError`` before a kernel runs. Every kernel is compiled lazily on first
use with ``cache=True`` so a second process loads machine code from disk.

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

_ROWS_PER_BLOCK = 64  # rows (channel-windows) per matrix product in batch work
_BLOCK_ROWS = 256  # rows (block-channels) per matrix product in welch_windows_blocks


@njit(cache=True, nogil=True)
def _periodograms_into(x, seg_from, seg_to, step, basis, scale, out, out_from):
    """Periodograms of segments ``seg_from..seg_to-1`` of every row of ``x``.

    x : (n_rows, n_times); basis : (n_per_seg, 2 * n_bins); scale : (n_bins,);
    out : (n_rows, n_seg_out, n_bins), written at segment ``out_from`` onwards.
    """
    n_rows = x.shape[0]
    n_per_seg = basis.shape[0]
    n_bins = scale.shape[0]
    n_s = seg_to - seg_from
    if n_s <= 0 or n_rows == 0:
        return
    segs = np.empty((n_rows * n_s, n_per_seg))
    for r in range(n_rows):
        for s in range(n_s):
            start = (seg_from + s) * step
            segs[r * n_s + s, :] = x[r, start : start + n_per_seg]
    prod = np.dot(segs, basis)
    for r in range(n_rows):
        for s in range(n_s):
            row = r * n_s + s
            for k in range(n_bins):
                re = prod[row, k]
                im = prod[row, n_bins + k]
                out[r, out_from + s, k] = (re * re + im * im) * scale[k]


@njit(cache=True, nogil=True)
def _mean_segments(per, psd):
    """psd[r, k] = mean over segments of per[r, s, k], summed oldest first."""
    n_rows, n_seg, n_bins = per.shape
    for r in range(n_rows):
        for k in range(n_bins):
            acc = 0.0
            for s in range(n_seg):
                acc += per[r, s, k]
            psd[r, k] = acc / n_seg


@njit(cache=True, nogil=True)
def welch_rows(x, n_seg, step, basis, scale):
    """Welch PSD of every row of ``x`` (n_rows, n_times) -> (n_rows, n_bins).

    Works through the rows in blocks so the segment matrix stays in cache.
    """
    n_rows = x.shape[0]
    n_bins = scale.shape[0]
    psd = np.empty((n_rows, n_bins))
    blk = _ROWS_PER_BLOCK
    per = np.empty((blk, n_seg, n_bins))
    for r0 in range(0, n_rows, blk):
        r1 = min(r0 + blk, n_rows)
        p = per[: r1 - r0]
        _periodograms_into(x[r0:r1], 0, n_seg, step, basis, scale, p, 0)
        _mean_segments(p, psd[r0:r1])
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
                segs[(u - u0) * n_ch + c, :] = X[uniq_w[u], c, start : start + n_per_seg]
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
                    rows[n_new * n_ch + c, :] = X[w, c, b * blk : (b + 1) * blk]
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
            Y[r, :] = Y[src + r, :]
        base = n_blocks - n_carry
        w0 = w1
    return psd, finite


@njit(cache=True, nogil=True)
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
    n_ch, n_t = x.shape
    n_seg = per.shape[1]
    n_bins = scale.shape[0]
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
        _periodograms_into(x, n_seg - shift, n_seg, step, basis, scale, per, n_seg - shift)
    else:
        _periodograms_into(x, 0, n_seg, step, basis, scale, per, 0)
    prev[:, :] = x
    psd = np.empty((n_ch, n_bins))
    _mean_segments(per, psd)
    return psd, reuse


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


@njit(cache=True, nogil=True)
def window_stats(raw, filt, smooth):
    """Per-channel statistics the quality gates need, in one pass per row.

    Returns (n_ch, 5): 0 max |raw|, 1 std of raw, 2 peak-to-peak of filtered,
    3 peak-to-peak of filtered after a centred moving average of ``smooth``
    samples (slow deflections: blinks), 4 all finite (1.0) or not (0.0).
    Non-finite samples are skipped.
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
            if np.isfinite(v):
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
            if np.isfinite(v):
                acc += (v - m) * (v - m)
        out[c, 0] = mx
        out[c, 1] = np.sqrt(acc / n) if n > 0 else 0.0
        lo = np.inf
        hi = -np.inf
        for i in range(n_t):
            v = filt[c, i]
            if np.isfinite(v):
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
            run += v if np.isfinite(v) else 0.0
            if i >= smooth:
                w = filt[c, i - smooth]
                run -= w if np.isfinite(w) else 0.0
            if i >= smooth - 1:
                a = run / smooth
                lo = min(lo, a)
                hi = max(hi, a)
        out[c, 3] = hi - lo if hi >= lo else 0.0
        out[c, 4] = finite
    return out
