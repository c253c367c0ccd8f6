"""The signal check before a session: is every electrode in contact, is mains low?

:func:`check_signal` reads a few seconds of raw EEG and gives, per channel,
the figures a person fixing a cap needs (railed share, flatness, mains
amplitude, RMS of the filtered signal, drift) and a verdict: ``go`` or
``fix`` with what to do. The flags come from the engine's own
:class:`~biofeedback.quality.QualityGate` run over the whole span, so the
check and the session judge a channel by the same rules.

On OpenBCI boards the impedance can be measured too (:func:`measure_impedance`,
which needs the hardware): the Cyton's ADS1299 drives a 6 nA lead-off current
at 31.25 Hz into one channel at a time and the impedance follows from the
amplitude at that frequency (:func:`leadoff_impedance`); the Ganglion reports
resistance values itself in its impedance mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .quality import FLAGS, RAILED_SHARE, rail_share

__all__ = ["CheckLimits", "ChannelCheck", "CheckReport", "check_signal", "run_check",
           "leadoff_impedance", "measure_impedance", "LEADOFF_HZ", "LEADOFF_AMPS"]

#: The Cyton's AC lead-off frequency (Hz): OpenBCI documents "31.2 Hz", 250 Hz / 8.
LEADOFF_HZ = 31.25
#: ADS1299 lead-off drive current the Cyton firmware selects (6 nA, ±20 %).
LEADOFF_AMPS = 6e-9
#: The Cyton's series resistor on every input (OpenBCI GUI subtracts it).
SERIES_OHMS = 2200.0


@dataclass(frozen=True)
class CheckLimits:
    """Where a channel stops being usable (µV unless said otherwise).

    Attributes
    ----------
    railed_pct : float
        Share of samples (%) at the rail (``rail_fraction`` of full scale)
        from which the electrode is off: the live gate's and the file checks'
        :data:`~biofeedback.quality.RAILED_SHARE`.
    max_rms_uv : float
        RMS of the filtered (1-45 Hz) signal above which it is noise, not EEG.
    max_drift_uv_s : float
        Slope of the raw signal (linear fit) above which the electrode is
        still settling or moving.
    max_impedance_kohm : float
        Highest impedance accepted when it is measured (wet electrodes;
        active or dry electrodes need a higher limit).
    """

    railed_pct: float = 100.0 * RAILED_SHARE
    max_rms_uv: float = 100.0
    max_drift_uv_s: float = 150.0
    max_impedance_kohm: float = 50.0


@dataclass
class ChannelCheck:
    """One electrode's figures and verdict."""

    name: str
    verdict: str = "go"
    problems: list = field(default_factory=list)
    advice: str = ""
    railed_pct: float = 0.0
    flat: bool = False
    std_uv: float = math.nan
    rms_uv: float = math.nan
    line_uv: float = math.nan
    line_ratio: float = math.nan
    drift_uv_s: float = math.nan
    impedance_kohm: float | None = None
    flags: int = 0


@dataclass
class CheckReport:
    """A signal check: every channel's figures and the overall verdict."""

    channels: list
    seconds: float
    sfreq: float
    line_freq: float
    profile: str = ""

    @property
    def verdict(self) -> str:
        """``"go"`` when every channel may be used, else ``"fix"``."""
        return "go" if all(c.verdict == "go" for c in self.channels) else "fix"

    @property
    def to_fix(self) -> list:
        return [c for c in self.channels if c.verdict != "go"]

    def lines(self, color: bool = False) -> list[str]:
        """The terminal table, one line per electrode, then the verdict."""
        g, r, x = ("\033[32m", "\033[31m", "\033[0m") if color else ("", "", "")
        has_z = any(c.impedance_kohm is not None for c in self.channels)
        head = (f"signal check · {self.profile} · {self.seconds:.1f} s at {self.sfreq:g} Hz · "
                f"mains {self.line_freq:g} Hz")
        cols = f"  {'ch':<6}{'':6}{'RMS µV':>8}{'mains µV':>10}{'railed':>8}{'drift µV/s':>12}"
        if has_z:
            cols += f"{'impedance':>11}"
        out = [head, cols]
        for c in self.channels:
            mark = f"{g}go {x}  " if c.verdict == "go" else f"{r}FIX{x}  "
            row = (f"  {c.name:<6}{mark}{_f(c.rms_uv, 8, 1)}{_f(c.line_uv, 10, 1)}"
                   f"{_f(c.railed_pct, 7, 0)}%{_f(c.drift_uv_s, 12, 1)}")
            if has_z:
                z = c.impedance_kohm
                row += f"{'n/a':>11}" if z is None else f"{z:>8.0f} kΩ"
            if c.verdict != "go":
                row += f"  {c.advice}"
            out.append(row)
        if self.verdict == "go":
            out.append(f"{g}GO{x}: every electrode is in contact and mains noise is low.")
        else:
            names = ", ".join(c.name for c in self.to_fix)
            out.append(f"{r}FIX{x}: {names} (see above), then check again.")
        return out

    def to_dict(self) -> dict:
        out = {"verdict": self.verdict, "seconds": self.seconds, "sfreq": self.sfreq,
               "line_freq": self.line_freq, "profile": self.profile,
               "channels": [asdict(c) for c in self.channels]}
        return out

    def to_message(self) -> dict:
        """The dashboard's ``check`` message (head map colours included)."""
        msg = self.to_dict()
        msg["type"] = "check"
        msg["q"] = [_HEAD_CLASS.get(c.problems[0], "noisy") if c.problems else "clean"
                    for c in self.channels]
        return msg


#: How the head map colours a channel, from the check's first problem.
_HEAD_CLASS = {"railed": "railed", "flat": "flat", "near_railed": "artifact", "drift": "artifact"}


def _f(v, width, digits):
    return f"{'n/a':>{width}}" if v is None or not np.isfinite(v) else f"{v:>{width}.{digits}f}"


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
        Rail and mains frequency.
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
    from .config import load_pipeline
    from .features import welch_psd
    from .preprocessing import build_preprocessing
    from .quality import QualityGate

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
        if rail_v > 0:
            c.railed_pct = (100.0 * float(rail_share(x[finite], rail_v, gates.rail_fraction))
                            if finite.any() else 100.0)
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
        _judge(c, limits, line_freq, rail_v > 0)
        out.append(c)
    return CheckReport(out, n_t / sfreq, sfreq, line_freq, profile.name)


def _judge(c, limits, line_freq, has_rail):
    fl = c.flags
    problems, advice = [], []
    if (has_rail and c.railed_pct >= limits.railed_pct) or fl & FLAGS["railed"]:
        problems.append("railed")
        advice.append(f"railed {c.railed_pct:.0f}% of the time: the electrode is off or its "
                      "lead is unplugged; check it and the reference and bias clips")
    elif c.flat:
        problems.append("flat")
        advice.append("flat: no signal; check that the lead is plugged in and the channel is on")
    else:
        if fl & FLAGS["line_noise"]:
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


def _collect(source, seconds, deadline_extra=5.0):
    """Read ``seconds`` of samples from a started source: (data, timestamps)."""
    chunks, stamps = [], []
    n_want = int(round(seconds * source.sfreq))
    have = 0
    end = time.monotonic() + seconds + deadline_extra
    for chunk, _ in source.iter_chunks(0.05, until=lambda: time.monotonic() > end):
        if chunk is None or chunk.timestamps.size == 0:
            continue
        chunks.append(chunk.data)
        stamps.append(chunk.timestamps)
        have += chunk.timestamps.size
        if have >= n_want:
            break
    if not chunks:
        from .errors import StreamError

        raise StreamError(f"No samples arrived from {source.describe().get('kind', 'the source')} "
                          f"within {seconds + deadline_extra:g} s.")
    return np.concatenate(chunks, axis=1)[:, :n_want], np.concatenate(stamps)[:n_want]


def run_check(source, config=None, seconds=4.0, limits=None, impedance=False,
              progress=None) -> CheckReport:
    """Start ``source``, read ``seconds`` of EEG, judge it, stop the source.

    Parameters
    ----------
    source : Source
        A board, LSL stream or scenario (not started).
    config : PipelineConfig | None
        Gates and filters (default pipeline when None).
    seconds : float
        How long to listen.
    limits : CheckLimits | None
    impedance : bool
        Also measure impedance where the board can (Cyton, Ganglion; needs the
        hardware).
    progress : callable | None
        Called with a line of text as the check goes.

    Returns
    -------
    report : CheckReport
    """
    from .config import load_pipeline

    config = config or load_pipeline()
    say = progress or (lambda text: None)
    source.start()
    try:
        say(f"listening for {seconds:g} s...")
        data, _ = _collect(source, seconds)
        z = {}
        if impedance:
            z = measure_impedance(source, say=say)
    finally:
        source.stop()
    return check_signal(data, source.sfreq, source.ch_names, source.profile, config.gates,
                        config.preprocessing, limits, impedance_kohm=z)


def measure_impedance(source, seconds=2.0, settle=0.5, say=None) -> dict:
    """Impedance per channel (kΩ) on a running OpenBCI board; {} elsewhere.

    Cyton (and Daisy): for each channel in turn, ``config_board("z{ch}01Z")``
    switches on the N-side lead-off current (the input the Cyton's default
    montage uses with SRB2), ``seconds`` of that channel are read and
    :func:`leadoff_impedance` gives the impedance; ``z{ch}00Z`` switches it off.
    Ganglion: ``config_board("z")`` enters impedance mode, the resistance rows
    BrainFlow names (``BoardShim.get_resistance_channels``) are read for
    ``seconds`` and their median is kept (the value the firmware reports,
    which OpenBCI GUI shows as kΩ); ``"Z"`` leaves the mode.

    Needs the hardware: BrainFlow's synthetic board ignores these commands.
    """
    say = say or (lambda text: None)
    board = getattr(source, "_board", None)
    prof = getattr(source, "profile", None)
    bf_name = str((prof.brainflow_board if prof is not None else "") or "").upper()
    if board is None or not bf_name:
        return {}
    out = {}
    if bf_name.startswith("CYTON"):
        channels = "12345678QWERTYUI"  # the Cyton's channel keys, Daisy's after 8
        for i, name in enumerate(source.ch_names):
            key = channels[i]
            say(f"impedance of {name}...")
            board.config_board(f"z{key}01Z")
            try:
                time.sleep(settle)
                source.read(0.0)  # drop what came while it settled
                data, _ = _collect(source, seconds)
                out[name] = leadoff_impedance(data[i], source.sfreq) / 1e3
            finally:
                board.config_board(f"z{key}00Z")
    elif bf_name.startswith("GANGLION"):
        from brainflow.board_shim import BoardShim

        rows = BoardShim.get_resistance_channels(board.get_board_id())
        board.config_board("z")
        try:
            time.sleep(seconds)
            raw = board.get_board_data()
        finally:
            board.config_board("Z")
        for name, row in zip(source.ch_names, rows, strict=False):
            vals = raw[row][np.isfinite(raw[row])]
            if vals.size:
                out[name] = float(np.median(vals))
    return out
