"""EEG whose amplitudes look like the wrong unit (volts for µV, or the reverse)."""

from __future__ import annotations

import numpy as np


def unit_problem(data, sfreq=None):
    """A sentence when EEG amplitudes look like the wrong unit, else None.

    The typical sample-to-sample change (median absolute first difference,
    which a DC offset or a railed channel does not move) of EEG in µV lies
    between about 0.5 and a few hundred µV. Below 0.01 µV the stream almost
    surely sends volts while declaring µV; above 10 000 µV it sends µV (or
    nV) while declaring volts. Every window would then be gated (flat or
    amplitude) without the reason being plain.

    Whole numbers that change by more than 50 from sample to sample are ADC
    counts sent as µV (an int16 or int32 stream of a board's raw values): EEG
    in µV is neither whole nor that steep. An ADC's step is a fraction of a
    µV (0.02 µV on a Cyton), so every window would be gated (amplitude).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Raw EEG as the session holds it, in volts.
    sfreq : float | None
        Unused; kept for symmetry with the gates.

    Returns
    -------
    problem : str | None
    """
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 16:
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(np.diff(x, axis=1))
    # a channel without a finite step (all NaN: a sender's dead electrode) is
    # left out before nanmedian, which warns of it on the user's terminal
    some = np.isfinite(diff).any(axis=1)
    step = np.nanmedian(diff[some], axis=1)
    step = step[np.isfinite(step) & (step > 0)]  # flat and railed channels say nothing
    if step.size == 0:
        return None
    typical = float(np.median(step)) * 1e6  # µV
    if typical < 0.01:
        return (f"amplitudes look like volts, expected µV: the EEG changes by "
                f"{typical:.2g} µV from sample to sample (EEG: about 0.5-500 µV); the "
                "stream probably sends volts while declaring microvolts, so every window "
                "is gated. Fix the stream's unit")
    if typical > 50.0 and _whole_numbers(x * 1e6):
        return (f"values are whole numbers changing by about {typical:.0f} from sample to "
                "sample (EEG in µV: about 0.5-500 µV, not whole): the stream probably sends "
                "its ADC's raw counts, so every window is gated. Send µV (counts times the "
                "board's µV per count, 0.02235 on an OpenBCI Cyton)")
    if typical > 1e4:
        return (f"amplitudes are about {typical / 10:.0e} times too large for EEG in µV "
                f"(a {typical:.3g} µV change from sample to sample; EEG: about 0.5-500 "
                "µV): the stream probably sends µV while declaring volts, so every window "
                "is gated. Fix the stream's unit")
    return None


def _whole_numbers(uv) -> bool:
    """True when every finite value (µV) is a whole number, within float rounding."""
    finite = uv[np.isfinite(uv)]
    if finite.size == 0:
        return False
    return bool(np.all(np.abs(finite - np.round(finite)) <= 1e-6 * np.maximum(1.0, np.abs(finite))))
