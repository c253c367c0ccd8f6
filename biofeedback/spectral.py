"""Spectral and time-domain building blocks of the features, over the numba kernels.

Public: :func:`welch_psd` (scipy's Welch numbers, without an FFT),
:func:`band_powers`, :func:`time_features` and :func:`welch_basis`, the
detrend-taper-DFT matrix every Welch estimate in the project (features and
quality gates, live and batch) is computed with.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._checks import _check_option

__all__ = ["welch_psd", "band_powers", "time_features", "welch_basis"]

_WINDOWS = ("hann", "hamming")
_ZC_EPS = float(np.finfo(np.float64).eps)


# -- Welch plan ---------------------------------------------------------------


# periodic cosine tapers w[n] = a0 - a1 cos(2 pi n / N): scipy's get_window
_COSINE_WINDOWS = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46)}


def cosine_window(window: str, n: int) -> np.ndarray:
    """Periodic Hann or Hamming taper, the numbers of ``scipy.signal.get_window``.

    Computed as scipy computes it (a symmetric window one sample longer, its
    last sample dropped), so the Welch estimates do not change by a bit,
    without importing scipy.signal (a second of start-up).
    """
    if window not in _COSINE_WINDOWS:
        raise ValueError(f"Unknown taper {window!r}: one of {', '.join(_COSINE_WINDOWS)}.")
    if n <= 1:
        return np.ones(n)
    alpha = _COSINE_WINDOWS[window][0]
    a = np.array([alpha, 1.0 - alpha])
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    for k in range(2):
        w += a[k] * np.cos(k * fac)
    return w[:-1]


@functools.lru_cache(maxsize=64)
def welch_basis(n_per_seg: int, sfreq: float, k0: int, k1: int, window: str):
    """Detrend + taper + real DFT for bins k0..k1-1 as one matrix (see _kernels).

    Returns (basis (n_per_seg, 2 * n_bins), scale (n_bins,)), read-only. The
    scale gives scipy's one-sided density: 1 / (sfreq * sum(w**2)), doubled
    except at DC and (even n_per_seg) Nyquist.
    """
    w = cosine_window(window, n_per_seg)  # periodic, as scipy.signal.welch uses
    n = np.arange(n_per_seg)
    k = np.arange(k0, k1)
    ang = 2.0 * np.pi * ((np.outer(n, k) % n_per_seg) / n_per_seg)
    cos = w[:, None] * np.cos(ang)
    sin = -w[:, None] * np.sin(ang)
    cos -= cos.mean(axis=0)
    sin -= sin.mean(axis=0)
    basis = np.ascontiguousarray(np.hstack([cos, sin]))
    scale = np.full(k1 - k0, 2.0 / (sfreq * np.sum(w**2)))
    scale[k == 0] /= 2.0
    if n_per_seg % 2 == 0:
        scale[k == n_per_seg // 2] /= 2.0
    basis.flags.writeable = False
    scale.flags.writeable = False
    return basis, scale




@functools.lru_cache(maxsize=64)
def _block_plan(n_per_seg: int, step: int, k0: int, k1: int, window: str):
    """Plan of :func:`_kernels.welch_windows_blocks`, or None where it does not apply.

    Applies when a segment is a whole number ``q`` of Welch steps and the
    taper is a periodic two-term cosine window. Returns ``(q, cbasis, ph_re,
    ph_im, kb0, a0, a1 / 2)``: ``cbasis`` (step, 2 * n_kb) holds ``cos`` and
    ``-sin`` of ``2 pi k n / n_per_seg`` for the block's samples ``n < step``
    and bins ``k = kb0 .. min(k1, n_per_seg // 2)`` (one either side of the
    wanted bins, for the taper's 3-tap convolution); ``ph`` (q, n_kb) is
    ``exp(-2 pi i k j / q)``, the shift of block ``j`` within its segment.
    """
    if window not in _COSINE_WINDOWS or n_per_seg % step or n_per_seg < 4:
        return None
    a0, a1 = _COSINE_WINDOWS[window]
    n = np.arange(n_per_seg)
    w = cosine_window(window, n_per_seg)
    if np.max(np.abs(w - (a0 - a1 * np.cos(2.0 * np.pi * n / n_per_seg)))) > 1e-14:
        return None  # not the window we assume: take the general path
    q = n_per_seg // step
    kb0 = max(0, k0 - 1)
    kb1 = min(n_per_seg // 2, k1)  # inclusive
    k = np.arange(kb0, kb1 + 1)
    ang = 2.0 * np.pi * ((np.outer(np.arange(step), k) % n_per_seg) / n_per_seg)
    cbasis = np.ascontiguousarray(np.hstack([np.cos(ang), -np.sin(ang)]))
    ph = 2.0 * np.pi * ((np.outer(np.arange(q), k) % q) / q)
    ph_re = np.ascontiguousarray(np.cos(ph))
    ph_im = np.ascontiguousarray(-np.sin(ph))
    for arr in (cbasis, ph_re, ph_im):
        arr.flags.writeable = False
    return q, cbasis, ph_re, ph_im, kb0, float(a0), float(a1) / 2.0


def _band_bins(lo, hi, df, last_bin, f0=0.0):
    """The bins ``k0..k1-1`` whose frequencies ``f0 + k * df`` lie in [lo, hi) Hz.

    The one rule for which PSD bins belong to a band, used by the features,
    the quality gates and :func:`band_powers`. Bin frequencies are decided
    in bin units, not by comparing computed frequencies: a bin within 1e-9
    of a bin width of an edge is on it, so 21 * (250 / 175) Hz, 30 Hz up
    to rounding (scipy gives 29.999999999999996), starts a 30 Hz band and
    ends one stopping at 30 Hz. ``df`` is the bin width (Hz), ``last_bin``
    the last bin's index (Nyquist for a whole one-sided PSD); the range is
    empty (``k1 <= k0``) when no bin falls in it.
    """
    k0 = max(0, math.ceil((lo - f0) / df - 1e-9))
    k1 = min(last_bin + 1, math.ceil((hi - f0) / df - 1e-9))
    return k0, k1


def _check_finite(x, name):
    if not np.isfinite(x).all():
        raise ValueError(
            f"{name} holds NaN or infinite values; gate or repair the window "
            "before computing features."
        )


def _check_segments(n_times, n_per_seg, n_overlap):
    if n_per_seg < 2:
        raise ValueError(f"n_per_seg must be at least 2, got {n_per_seg}.")
    if not 0 <= n_overlap < n_per_seg:
        raise ValueError(
            f"n_overlap must be in [0, n_per_seg={n_per_seg}), got {n_overlap}."
        )
    if n_times < n_per_seg:
        raise ValueError(
            f"A window of {n_times} samples is shorter than the Welch segment "
            f"({n_per_seg} samples)."
        )


def welch_psd(x, sfreq, n_per_seg, n_overlap, window="hann", fmin=0.0, fmax=np.inf):
    """Welch PSD with a constant detrend per segment and density scaling.

    The same numbers as ``scipy.signal.welch(x, sfreq, window, n_per_seg,
    n_overlap, detrend="constant", scaling="density", average="mean")``,
    computed by the numba kernels (no FFT: a detrend-taper-DFT matrix).

    Parameters
    ----------
    x : array, shape (..., n_times)
        Signal in volts.
    sfreq : float
        Sampling rate in Hz.
    n_per_seg, n_overlap : int
        Segment length and overlap in samples.
    window : "hann" | "hamming"
        Periodic taper (scipy's ``get_window``).
    fmin, fmax : float
        Keep bins with ``fmin <= f <= fmax``.

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
    psd : ndarray, shape (..., n_freqs)
        V²/Hz, one-sided.

    Raises
    ------
    ValueError
        On non-finite samples, or a window shorter than a segment.
    """
    from . import _kernels

    _check_option("window", window, _WINDOWS)
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim < 1:
        raise ValueError("x must have at least one dimension.")
    n_per_seg, n_overlap = int(n_per_seg), int(n_overlap)
    _check_segments(x.shape[-1], n_per_seg, n_overlap)
    _check_finite(x, "x")
    freqs = np.arange(n_per_seg // 2 + 1) * (float(sfreq) / n_per_seg)
    sel = np.flatnonzero((freqs >= fmin) & (freqs <= fmax))
    if sel.size == 0:
        raise ValueError(f"No frequency bin lies in {fmin}-{fmax} Hz.")
    k0, k1 = int(sel[0]), int(sel[-1]) + 1
    basis, scale = welch_basis(n_per_seg, float(sfreq), k0, k1, window)
    step = n_per_seg - n_overlap
    n_seg = (x.shape[-1] - n_overlap) // step
    rows = x.reshape(-1, x.shape[-1])
    psd = _kernels.welch_rows(rows, n_seg, step, basis, scale)
    return freqs[k0:k1], psd.reshape(x.shape[:-1] + (k1 - k0,))


def band_powers(freqs, psd, bands) -> np.ndarray:
    """Absolute band power (V²): PSD summed over bins in [low, high) times Δf.

    A bin belongs to a band as in the features (:func:`_band_bins`): a bin
    whose frequency is an edge up to rounding counts as on that edge.

    Parameters
    ----------
    freqs : array, shape (n_freqs,)
        Evenly spaced bin frequencies (Hz).
    psd : array, shape (..., n_freqs)
        Density in V²/Hz.
    bands : list of (low, high)
        Band edges in Hz.

    Returns
    -------
    bp : ndarray, shape psd.shape[:-1] + (n_bands,)
    """
    from . import _kernels

    freqs = np.asarray(freqs, dtype=np.float64)
    psd = np.ascontiguousarray(psd, dtype=np.float64)
    if psd.shape[-1] != freqs.shape[0] or freqs.shape[0] < 2:
        raise ValueError(
            f"psd has {psd.shape[-1]} bins but freqs has {freqs.shape[0]}."
        )
    _check_finite(psd, "psd")
    df = float(freqs[1] - freqs[0])
    starts, stops = [], []
    for lo, hi in bands:  # the features' rule for a band's bins
        k0, k1 = _band_bins(lo, hi, df, freqs.shape[0] - 1, float(freqs[0]))
        starts.append(k0)
        stops.append(max(k0, k1))
    out = _kernels.band_sums(
        psd.reshape(-1, psd.shape[-1]),
        np.array(starts, np.int64),
        np.array(stops, np.int64),
        df,
    )
    return out.reshape(psd.shape[:-1] + (len(bands),))


_TIME_COLUMNS = (
    "activity",
    "mobility",
    "complexity",
    "line_length",
    "variance",
    "kurtosis",
    "zero_crossings",
)


def time_features(x) -> dict:
    """Time-domain features of every row of ``x`` (..., n_times), volts.

    Returns a dict of arrays shaped ``x.shape[:-1]``: Hjorth ``activity``
    (V², variance with ddof 0), ``mobility`` and ``complexity``
    (dimensionless, per sample; antropy's ``hjorth_params``), ``line_length``
    (mean absolute first difference, V), ``variance`` (ddof 1, V²),
    ``kurtosis`` (excess, biased: ``scipy.stats.kurtosis``) and
    ``zero_crossings`` (count, as mne-features counts them).
    """
    from . import _kernels

    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] < 3:
        raise ValueError("x needs at least 3 samples along its last axis.")
    _check_finite(x, "x")
    out = _kernels.time_features(x.reshape(-1, x.shape[-1]), _ZC_EPS)
    return {
        name: out[:, i].reshape(x.shape[:-1]) for i, name in enumerate(_TIME_COLUMNS)
    }



_welch_basis = welch_basis  # the name the project used before this module existed
