"""IIR filter design in second-order sections, without importing scipy.signal.

``scipy.signal`` costs about a second to import (it imports scipy.stats,
scipy.interpolate and more, and rewrites hundreds of docstrings), which was
most of a short replay's run time. The filters the pipelines use need only
a few lines of numpy: Butterworth low-, high- and band-pass and the IIR
notch, as second-order sections, and the sections' steady-state initial
conditions. These follow scipy's algorithms step by step (analog prototype,
frequency transform, bilinear transform, "nearest" pole-zero pairing), and
``tests/test_preprocessing.py`` checks them against scipy to rounding.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["butter_sos", "notch_sos", "sosfilt_zi"]


def butter_sos(order: int, freq, btype: str, fs: float) -> np.ndarray:
    """Digital Butterworth filter as sections, as ``scipy.signal.butter(..., output="sos")``.

    Parameters
    ----------
    order : int
        Filter order (a band-pass has twice as many poles).
    freq : float | (float, float)
        Cut-off(s) in Hz; two for ``btype="bandpass"``.
    btype : {"lowpass", "highpass", "bandpass"}
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    sos : ndarray, shape (n_sections, 6)
    """
    order = int(order)
    if order < 1:
        raise ValueError(f"The filter order must be a positive integer, not {order}.")
    wn = 2.0 * np.atleast_1d(np.asarray(freq, dtype=np.float64)) / float(fs)
    if np.any(wn <= 0) or np.any(wn >= 1):
        raise ValueError(f"Cut-off frequencies must lie between 0 and fs/2 ({fs / 2:g} Hz); "
                         f"got {freq}.")
    # analog prototype: poles on the left half of the unit circle
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    p = -np.exp(1j * np.pi * m / (2 * order))
    z = np.array([], dtype=np.float64)
    k = 1.0
    warped = 4.0 * np.tan(np.pi * wn / 2.0)  # pre-warp for the bilinear transform at fs=2
    degree = len(p) - len(z)
    if btype == "lowpass":
        wo = float(warped[0])
        z, p, k = wo * z, wo * p, k * wo**degree
    elif btype == "highpass":
        wo = float(warped[0])
        k = k * np.real(np.prod(-z) / np.prod(-p))
        z = np.concatenate((wo / z, np.zeros(degree)))
        p = wo / p
    elif btype == "bandpass":
        if wn.shape != (2,) or not wn[0] < wn[1]:
            raise ValueError(f"A band-pass needs two increasing cut-offs; got {freq}.")
        bw = float(warped[1] - warped[0])
        wo = float(np.sqrt(warped[0] * warped[1]))
        z_lp = (z * bw / 2).astype(np.complex128)
        p_lp = (p * bw / 2).astype(np.complex128)
        z = np.concatenate((z_lp + np.sqrt(z_lp**2 - wo**2), z_lp - np.sqrt(z_lp**2 - wo**2),
                            np.zeros(degree)))
        p = np.concatenate((p_lp + np.sqrt(p_lp**2 - wo**2), p_lp - np.sqrt(p_lp**2 - wo**2)))
        k = k * bw**degree
    else:
        raise ValueError(f"Unknown filter type {btype!r}: lowpass, highpass or bandpass.")
    # bilinear transform at fs = 2
    degree = len(p) - len(z)
    z_z = np.concatenate(((4.0 + z) / (4.0 - z), -np.ones(degree)))
    p_z = (4.0 + p) / (4.0 - p)
    k_z = k * np.real(np.prod(4.0 - z) / np.prod(4.0 - p))
    return _zpk2sos(z_z, p_z, k_z)


def notch_sos(freq: float, q: float, fs: float) -> np.ndarray:
    """Second-order IIR notch as one section, as ``tf2sos(*iirnotch(freq, q, fs=fs))``."""
    w0 = 2.0 * float(freq) / float(fs)
    if not 0.0 < w0 < 1.0:
        raise ValueError(f"The notch frequency must lie between 0 and fs/2 ({fs / 2:g} Hz); "
                         f"got {freq}.")
    bw = w0 / float(q) * math.pi
    w0 *= math.pi
    gain = 1.0 / (1.0 + math.tan(bw / 2.0))
    b = gain * np.array([1.0, -2.0 * math.cos(w0), 1.0])
    a = np.array([1.0, -2.0 * gain * math.cos(w0), 2.0 * gain - 1.0])
    # as tf2sos: through zeros, poles and gain
    k = b[0]
    return _zpk2sos(np.roots(b / k), np.roots(a), k)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Steady-state state of each section for a unit step, as ``scipy.signal.sosfilt_zi``.

    Returns (n_sections, 2); times the first sample, the filter starts as if
    the signal had always been at that value.
    """
    sos = np.asarray(sos, dtype=np.float64)
    zi = np.empty((sos.shape[0], 2))
    scale = 1.0
    for s in range(sos.shape[0]):
        b, a = sos[s, :3], sos[s, 3:]
        if a[0] != 1.0:
            b, a = b / a[0], a / a[0]
        # (I - A^T) zi = b[1:] - a[1:] b[0], with A the companion matrix of a
        i_minus_a = np.array([[1.0 + a[1], -1.0], [a[2], 1.0]])
        zi[s] = scale * np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


# -- zeros, poles and gain to sections: scipy's "nearest" pairing (digital) -------


def _cplxreal(z):
    """Complex values with positive imaginary part (one of each pair), and the reals."""
    z = np.atleast_1d(z)
    if z.size == 0:
        return z, z
    tol = 100 * np.finfo((1.0 * z).dtype).eps
    z = z[np.lexsort((abs(z.imag), z.real))]
    real = abs(z.imag) <= tol * abs(z)
    zr = z[real].real
    if len(zr) == len(z):
        return np.array([]), zr
    z = z[~real]
    zp, zn = z[z.imag > 0], z[z.imag < 0]
    if len(zp) != len(zn) or np.any(abs(zp - zn.conj()) > tol * abs(zn)):
        raise ValueError("A complex zero or pole has no matching conjugate.")
    return (zp + zn.conj()) / 2, zr


def _nearest(fro, to, which):
    order = np.argsort(np.abs(fro - to))
    if which == "any":
        return order[0]
    mask = np.isreal(fro[order])
    if which == "complex":
        mask = ~mask
    return order[np.nonzero(mask)[0][0]]


def _section(z, p):
    sos = np.zeros(6)
    b = np.poly(z) if len(z) else np.ones(1)
    a = np.poly(p)
    sos[3 - len(b):3] = np.real(b)
    sos[6 - len(a):6] = np.real(a)
    return sos


def _zpk2sos(z, p, k):
    z, p = np.asarray(z), np.asarray(p)
    p = np.concatenate((p, np.zeros(max(len(z) - len(p), 0))))
    z = np.concatenate((z, np.zeros(max(len(p) - len(z), 0))))
    n_sections = (max(len(p), len(z)) + 1) // 2
    if len(p) % 2 == 1:
        p = np.concatenate((p, [0.0]))
        z = np.concatenate((z, [0.0]))
    z = np.concatenate(_cplxreal(z))
    p = np.concatenate(_cplxreal(p))
    k = float(np.real(k))

    def worst(p):  # closest to the unit circle
        return np.argmin(np.abs(1 - np.abs(p)))

    sos = np.zeros((n_sections, 6))
    for si in range(n_sections - 1, -1, -1):  # the worst poles go last
        i = worst(p)
        p1 = p[i]
        p = np.delete(p, i)
        if np.isreal(p1) and np.isreal(p).sum() == 0:  # the last real pole
            j = _nearest(z, p1, "real")
            sos[si] = _section([z[j], 0], [p1, 0])
            z = np.delete(z, j)
        elif (len(p) + 1 == len(z) and not np.isreal(p1) and np.isreal(p).sum() == 1
              and np.isreal(z).sum() == 1):
            j = _nearest(z, p1, "complex")
            sos[si] = _section([z[j], z[j].conj()], [p1, p1.conj()])
            z = np.delete(z, j)
        else:
            if np.isreal(p1):
                reals = np.flatnonzero(np.isreal(p))
                i2 = reals[worst(p[reals])]
                p2 = p[i2]
                p = np.delete(p, i2)
            else:
                p2 = p1.conj()
            if len(z) == 0:
                sos[si] = _section([], [p1, p2])
                continue
            j = _nearest(z, p1, "any")
            z1 = z[j]
            z = np.delete(z, j)
            if not np.isreal(z1):
                sos[si] = _section([z1, z1.conj()], [p1, p2])
            elif len(z):
                j = _nearest(z, p1, "real")
                sos[si] = _section([z1, z[j]], [p1, p2])
                z = np.delete(z, j)
            else:
                sos[si] = _section([z1], [p1, p2])
    sos[0, :3] *= k
    return sos
