"""What a signal check says: limits, per-electrode figures, the report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..quality import RAILED_SHARE


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
    nan_pct: float = 0.0
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
    mains_judged: bool = True  # False where the board's profile turns the mains check off

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
            out.append(f"{g}GO{x}: every electrode is in contact and mains noise is low."
                       if self.mains_judged else
                       f"{g}GO{x}: every electrode is in contact (mains noise is not judged "
                       f"on {self.profile or 'this board'}: its profile turns that check off).")
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
_HEAD_CLASS = {"nan": "flat", "railed": "railed", "flat": "flat", "near_railed": "artifact",
               "drift": "artifact"}


def _f(v, width, digits):
    return f"{'n/a':>{width}}" if v is None or not np.isfinite(v) else f"{v:>{width}.{digits}f}"
