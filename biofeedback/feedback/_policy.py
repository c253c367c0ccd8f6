"""The cue policy: from an estimate to a reward cue that does not flicker.

Everything here is pure: it is driven by window end times (``t_end``, the
timestamp of a window's newest sample) and values, and never reads a clock,
so replaying a recording gives exactly the cues the live session gave.

Steps, per window (see ``docs/feedback.md``):

1. Smoothing. An exponential moving average with time constant ``tau``
   seconds, ``s_k = s_{k-1} + a_k (x_k - s_{k-1})`` with
   ``a_k = 1 - exp(-(t_k - t_{k-1}) / tau)``. Gated or non-finite windows do
   not enter the average.
2. Personal threshold. From the person's own baseline (smoothed, clean
   windows): for a target to raise, the threshold is the ``1 - r`` quantile
   of the baseline, so the person would have been rewarded a fraction ``r``
   of the baseline time; for a target to lower, the ``r`` quantile. The scale
   ``sd`` is the baseline's robust standard deviation (IQR / 1.349).
3. Hysteresis and dwell. With ``z = sign * (s - threshold) / sd`` the cue
   turns on above ``+h/2`` and off below ``-h/2``, and holds a state at
   least ``dwell`` seconds.
4. Gating. A gated window pauses feedback (no reward) and restarts the
   dwell clock; it never counts towards the reward rate or adaptation.
5. Adaptation. After each clean training window the threshold moves by
   ``sign * speed * sd * dt * (reward - r)`` (a Robbins-Monro quantile
   tracker), so the long-run reward rate settles at ``r`` as the person
   improves, the way neurofeedback protocols keep a task neither too easy
   nor too hard.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

import numpy as np

from .._markers import CUE

__all__ = ["Cue", "CuePolicy", "Smoother", "format_marker", "parse_marker"]

#: largest time step (s) one window may contribute to adaptation or dwell
_MAX_STEP = 1.0


def format_marker(kind: str, /, **fields) -> str:
    """``kind key=value ...`` (values shell-quoted when they contain spaces)."""
    parts = [kind]
    for key, value in fields.items():
        if isinstance(value, float):
            value = "nan" if not math.isfinite(value) else f"{value:.6g}"
        parts.append(f"{key}={shlex.quote(str(value))}")
    return " ".join(parts)


def parse_marker(text: str) -> tuple[str, dict]:
    """Inverse of :func:`format_marker`: ``(kind, {key: str})``."""
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    if not parts:
        return "", {}
    fields = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    return parts[0], fields


@dataclass(frozen=True)
class Cue:
    """The feedback decided for one window.

    Attributes
    ----------
    t_end : float
        The window's ``t_end`` (s, session clock).
    block : str
        Name of the protocol block.
    kind : str
        "baseline", "training" or "done".
    state : str
        "baseline" (no feedback), "calibrating", "reward", "no_reward",
        "paused" (artifact) or "done".
    target, direction : str
        The estimate trained and "up" or "down".
    value, smoothed : float
        The estimate as computed and after smoothing.
    threshold : float
        The threshold in force (NaN before calibration).
    score : float
        Feedback intensity in [0, 1] (0.5 at the threshold), NaN when no
        feedback is shown.
    """

    t_end: float
    block: str
    kind: str
    state: str
    target: str
    direction: str
    value: float
    smoothed: float
    threshold: float
    score: float

    @property
    def rewarded(self) -> bool:
        return self.state == "reward"

    def marker(self) -> str:
        """The string marker for this cue (recorded in the Cues stream)."""
        return format_marker(
            CUE, state=self.state, block=self.block, target=self.target,
            direction=self.direction, value=float(self.value),
            smoothed=float(self.smoothed), threshold=float(self.threshold),
            score=float(self.score), t_end=f"{self.t_end:.6f}",
        )


class Smoother:
    """Exponential moving average of a vector with a time constant in seconds.

    Non-finite entries and gated windows are not averaged in; after a pause
    longer than ``5 * tau`` an entry restarts from the next value.
    """

    def __init__(self, tau: float):
        self.tau = float(tau)
        self.value = None
        self._t = None

    def update(self, t: float, x, gated: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.value is None:
            self.value = np.full(x.shape, np.nan)
            self._t = np.full(x.shape, -np.inf)
        if gated:
            return self.value.copy()
        ok = np.isfinite(x)
        dt = t - self._t
        if self.tau > 0:
            alpha = 1.0 - np.exp(-np.clip(dt, 0.0, None) / self.tau)
        else:
            alpha = np.ones_like(x)
        restart = ok & (~np.isfinite(self.value) | (dt > 5 * self.tau))
        alpha = np.where(restart, 1.0, alpha)
        new = np.where(ok, self.value + alpha * (np.where(ok, x, 0.0) - np.nan_to_num(self.value)),
                       self.value)
        new = np.where(restart, x, new)
        self.value = new
        self._t = np.where(ok, t, self._t)
        return self.value.copy()


def robust_scale(values) -> float:
    """IQR / 1.349 (the SD of a normal), falling back to the SD, then 1."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return 1.0
    q1, q3 = np.percentile(values, [25, 75])
    scale = (q3 - q1) / 1.349
    if not scale > 0:
        scale = float(np.std(values))
    if not scale > 0:
        scale = max(abs(float(np.median(values))) * 0.1, 1e-12)
    return float(scale)


class CuePolicy:
    """Threshold, hysteresis, dwell, gating and adaptation for one target.

    Parameters
    ----------
    direction : "up" | "down"
        Reward values above (up) or below (down) the threshold.
    reward_rate : float
        Wanted fraction of clean training time rewarded, in (0, 1).
    hysteresis : float
        Width of the dead band around the threshold, in baseline SDs.
    dwell : float
        Minimum time (s) a cue state is held.
    adapt : bool
        Move the threshold to keep the reward rate near ``reward_rate``.
    adapt_speed : float
        Threshold step per second per unit of reward-rate error, in units of
        the recent spread: the larger of the baseline SD and a running mean
        (time constant ``adapt_window``) of |value - threshold|. When the
        estimate leaves the baseline range the threshold follows it quickly;
        near the target rate the steps shrink (a quantile tracker with an
        adaptive gain).
    adapt_window : float
        Time constant (s) of that running mean.

    Examples
    --------
    >>> policy = CuePolicy("up", 0.65, hysteresis=0.3, dwell=1.0)
    >>> policy.calibrate(baseline_values)
    >>> state, score = policy.update(t_end, smoothed_value, gated)
    """

    def __init__(self, direction="up", reward_rate=0.65, hysteresis=0.3, dwell=1.0,
                 adapt=True, adapt_speed=0.05, adapt_window=10.0):
        self.sign = 1.0 if direction == "up" else -1.0
        self.direction = direction
        self.reward_rate = float(reward_rate)
        self.hysteresis = float(hysteresis)
        self.dwell = float(dwell)
        self.adapt = bool(adapt)
        self.adapt_speed = float(adapt_speed)
        self.adapt_window = float(adapt_window)
        self._spread = 0.0  # running mean of |value - threshold|
        self.threshold = math.nan
        self.scale = math.nan
        self.source = ""
        self.n_calibration = 0
        self._on = False
        self._since = -math.inf
        self._last_t = None

    @property
    def calibrated(self) -> bool:
        return math.isfinite(self.threshold)

    def calibrate(self, values, source: str = "baseline") -> None:
        """Set the threshold and scale from a person's own values."""
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("no finite values to calibrate from.")
        q = 1.0 - self.reward_rate if self.sign > 0 else self.reward_rate
        self.threshold = float(np.percentile(values, 100.0 * q))
        self.scale = robust_scale(values)
        self.source = source
        self.n_calibration = int(values.size)

    def z(self, value: float) -> float:
        """Signed distance from the threshold in baseline SDs (positive = good)."""
        return self.sign * (value - self.threshold) / self.scale

    def update(self, t: float, value: float, gated: bool,
               adapt: bool = True) -> tuple[str, float]:
        """Decide the cue for one window: ``(state, score)``.

        ``state`` is "reward", "no_reward" or "paused"; ``score`` is in
        [0, 1] (0.5 at the threshold, NaN when paused). ``adapt=False``
        holds the threshold still (cues nobody sees must not move it).
        """
        if not self.calibrated:
            raise RuntimeError("calibrate() the policy first.")
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), _MAX_STEP)
        self._last_t = t
        if gated or not math.isfinite(value):
            self._on = False
            self._since = t  # feedback resumes "off" and holds it for a dwell
            return "paused", math.nan
        z = self.z(value)
        half = self.hysteresis / 2
        want = z > -half if self._on else z > half
        if want != self._on and t - self._since >= self.dwell:
            self._on = want
            self._since = t
        if self.adapt and adapt and dt > 0:
            a = 1.0 - math.exp(-dt / self.adapt_window)
            self._spread += a * (abs(value - self.threshold) - self._spread)
            gain = max(self.scale, self._spread)
            error = (1.0 if self._on else 0.0) - self.reward_rate
            self.threshold += self.sign * self.adapt_speed * gain * dt * error
        # the score the gauge and tone show: distance from the threshold in the
        # units the threshold adapts in, so it does not saturate when the
        # estimate leaves a calm baseline's range
        spread = max(self.scale, self._spread)
        score = min(max(0.5 + self.sign * (value - self.threshold) / spread / 4.0, 0.0), 1.0)
        return ("reward" if self._on else "no_reward"), score
