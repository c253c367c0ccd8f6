"""The check's figures and verdicts, from arrays of raw EEG (no device).

:func:`check_signal` judges each electrode from a few seconds of samples;
:func:`leadoff_impedance` turns a channel's lead-off signal into ohms.
"""

from __future__ import annotations

import math

import numpy as np

from ..quality import FLAGS, rail_share
from ._report import ChannelCheck, CheckLimits, CheckReport

#: The Cyton's AC lead-off frequency (Hz): OpenBCI documents "31.2 Hz", 250 Hz / 8.
LEADOFF_HZ = 31.25
#: ADS1299 lead-off drive current the Cyton firmware selects (6 nA, ±20 %).
LEADOFF_AMPS = 6e-9
#: The Cyton's series resistor on every input (OpenBCI GUI subtracts it).
SERIES_OHMS = 2200.0


def leadoff_impedance(x, sfreq, freq=LEADOFF_HZ, drive_amps=LEADOFF_AMPS,
                      series_ohms=SERIES_OHMS) -> float:
    """Electrode impedance (ohms) from the lead-off signal in one channel.

    Parameters
    ----------
    x : array, shape (n_times,)
        The channel while its lead-off current is on, volts.
    sfreq : float
        Sampling rate (Hz).
    freq : float
        Lead-off frequency (31.25 Hz on the Cyton at 250 Hz).
    drive_amps : float
        Lead-off current amplitude (A).
    series_ohms : float
        Resistance in series on the board, subtracted.

    Returns
    -------
    impedance : float
        Ohms (``nan`` when the signal is not finite or too short).

    Notes
    -----
    The amplitude ``A`` of the sinusoid at ``freq`` is found by least squares
    (sine, cosine, offset and linear drift), which ignores the EEG and mains
    around it better than a band-pass and a standard deviation. Then
    ``Z = A / I - R_series``, as OpenBCI GUI computes it from
    ``sqrt(2) * std`` (the same ``A`` for a pure sinusoid). The ADS1299's
    current source is accurate to about ±20 % (OpenBCI_GUI#1211), and the
    figure means little on active electrodes.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < int(2 * sfreq / freq) or not np.all(np.isfinite(x)):
        return math.nan
    t = np.arange(n) / float(sfreq)
    w = 2 * np.pi * freq * t
    basis = np.column_stack([np.sin(w), np.cos(w), np.ones(n), t - t.mean()])
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    amp = float(math.hypot(coef[0], coef[1]))
    return amp / drive_amps - series_ohms


def check_signal(data, sfreq, ch_names, profile, gates=None, preprocessing=None,
                 limits=None, impedance_kohm=None) -> CheckReport:
    """Judge each electrode from a few seconds of raw EEG.

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        Raw EEG in volts (at least 2 s).
    sfreq : float
        Sampling rate (Hz).
    ch_names : list of str
    profile : BoardProfile
        Rail, mains frequency, and whether mains noise is judged.
    gates : GatesConfig | None
        The pipeline's gates (default: the default pipeline's).
    preprocessing : PreprocessingConfig | None
        Filters for the RMS figure (default: the default pipeline's).
    limits : CheckLimits | None
    impedance_kohm : dict | None
        Channel name -> measured impedance (kΩ), when the board measured it.

    Returns
    -------
    report : CheckReport
    """
    from ..config import load_pipeline
    from ..features import welch_psd
    from ..preprocessing import build_preprocessing
    from ..quality import QualityGate

    data = np.ascontiguousarray(data, dtype=np.float64)
    n_ch, n_t = data.shape
    sfreq = float(sfreq)
    if n_ch != len(ch_names):
        raise ValueError(f"data has {n_ch} channels but {len(ch_names)} names were given.")
    if n_t < 2 * sfreq:
        raise ValueError(f"A signal check needs at least 2 s of data, got {n_t / sfreq:.2f} s.")
    if gates is None or preprocessing is None:
        cfg = load_pipeline()
        gates = gates or cfg.gates
        preprocessing = preprocessing or cfg.preprocessing
    if profile.gates:  # board-specific overrides, as the engine applies them
        import dataclasses

        gates = dataclasses.replace(gates, **profile.gates)
    limits = limits or CheckLimits()
    impedance_kohm = impedance_kohm or {}
    line_freq = float(profile.line_freq or 50.0)
    held = np.where(np.isfinite(data), data, 0.0)
    chain = build_preprocessing(preprocessing, sfreq, n_ch, line_freq, ch_names=list(ch_names))
    filt, _ = chain.process(held, np.arange(n_t) / sfreq)
    settle = min(int(sfreq), n_t // 3)  # the filters' first second is their own transient
    gate = QualityGate(gates, profile, sfreq, list(ch_names))
    flags = gate.assess(data[:, settle:], filt[:, settle:])
    rail_v = gate.rail_v
    t = np.arange(n_t) / sfreq
    nper = int(round(sfreq))
    freqs, psd = welch_psd(held, sfreq, nper, nper // 2, fmin=max(0.0, line_freq - 1.0),
                           fmax=line_freq + 1.0 + 1e-9) if line_freq + 1 < sfreq / 2 else (
        np.zeros(0), np.zeros((n_ch, 0)))
    df = sfreq / nper
    out = []
    for i, name in enumerate(ch_names):
        x = data[i]
        finite = np.isfinite(x)
        c = ChannelCheck(str(name), flags=int(flags[i]))
        # a stream with no value for a sample sends NaN: that is no railed
        # electrode (an all-NaN channel read as railed 100 % of the time)
        c.nan_pct = 100.0 * float(np.count_nonzero(~finite)) / max(x.size, 1)
        if rail_v > 0 and finite.any():
            c.railed_pct = 100.0 * float(rail_share(x[finite], rail_v, gates.rail_fraction))
        xf = x[finite]
        c.std_uv = float(np.std(xf) * 1e6) if xf.size else 0.0
        c.flat = bool(flags[i] & (FLAGS["flat"] | FLAGS["nan"])) or c.std_uv < gates.flat_uv
        c.rms_uv = float(np.sqrt(np.mean(filt[i, settle:] ** 2)) * 1e6)
        if psd.shape[1]:
            c.line_uv = float(np.sqrt(psd[i].sum() * df) * 1e6)
        eeg_pow = np.mean(filt[i, settle:] ** 2)
        c.line_ratio = float((c.line_uv * 1e-6) ** 2 / eeg_pow) if eeg_pow > 0 else math.nan
        if xf.size > 2:
            c.drift_uv_s = float(abs(np.polyfit(t[finite], xf, 1)[0]) * 1e6)
        z = impedance_kohm.get(str(name))
        c.impedance_kohm = None if z is None or not np.isfinite(z) else float(z)
        _judge(c, limits, line_freq, rail_v > 0, profile.mains_check)
        out.append(c)
    # a board whose profile turns the mains check off (the synthetic one's 50 Hz
    # test sine) is not said to have low mains noise
    return CheckReport(out, n_t / sfreq, sfreq, line_freq, profile.name,
                       mains_judged=profile.mains_check)


def _judge(c, limits, line_freq, has_rail, mains=True):
    fl = c.flags
    problems, advice = [], []
    if c.nan_pct > 0:
        share = f"{c.nan_pct:.0f}%" if c.nan_pct >= 1 else "under 1%"
        problems.append("nan")
        advice.append(f"NaN or inf in {share} of its samples: the streaming app had no value "
                      "for them; check the app and the headset's link, then the electrode")
    elif (has_rail and c.railed_pct >= limits.railed_pct) or fl & FLAGS["railed"]:
        problems.append("railed")
        advice.append(f"railed {c.railed_pct:.0f}% of the time: the electrode is off or its "
                      "lead is unplugged; check it and the reference and bias clips")
    elif c.flat:
        problems.append("flat")
        advice.append("flat: no signal; check that the lead is plugged in and the channel is on")
    else:
        if mains and fl & FLAGS["line_noise"]:
            problems.append("mains")
            advice.append(f"mains {line_freq:g} Hz at {c.line_uv:.1f} µV: poor contact picks up "
                          "the mains; re-seat the electrode (gel, part the hair) and keep "
                          "cables away from power leads")
        if c.rms_uv > limits.max_rms_uv or fl & FLAGS["amplitude"]:
            problems.append("noisy")
            advice.append(f"noisy ({c.rms_uv:.0f} µV RMS): press the electrode on and keep still")
        elif fl & FLAGS["muscle"]:
            problems.append("muscle")
            advice.append("muscle noise: relax the jaw and forehead")
        if fl & FLAGS["near_railed"]:
            problems.append("near_railed")
            advice.append("close to the rail: re-seat the electrode or check the reference")
        if np.isfinite(c.drift_uv_s) and c.drift_uv_s > limits.max_drift_uv_s:
            problems.append("drift")
            advice.append(f"drifting {c.drift_uv_s:.0f} µV/s: the electrode is settling or "
                          "moving; wait a moment or re-seat it")
    if c.impedance_kohm is not None and c.impedance_kohm > limits.max_impedance_kohm:
        problems.append("impedance")
        advice.append(f"impedance {c.impedance_kohm:.0f} kΩ (over "
                      f"{limits.max_impedance_kohm:g}): add gel or re-seat the electrode")
    c.problems = problems
    c.verdict = "fix" if problems else "go"
    c.advice = "; ".join(advice)
