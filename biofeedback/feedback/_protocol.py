"""A session protocol: baseline and training blocks, cue decisions per window.

:class:`Protocol` is pure (no clock, no I/O): window results in, block
markers and :class:`~biofeedback.feedback._policy.Cue` decisions out. Blocks
are placed by each window's ``t_end`` relative to the first window, so a
replayed recording gives the cues the live session gave. Its runner inside a
session, :class:`~biofeedback.feedback._protocol_sink.ProtocolSink`, lives in
:mod:`._protocol_sink`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._markers import BLOCK_END, BLOCK_START, PROTOCOL_END, THRESHOLD
from .._words import listed
from ..errors import PipelineConfigError
from ._policy import Cue, CuePolicy, Smoother, format_marker

__all__ = ["Protocol", "BlockStats", "check_targets"]


@dataclass
class BlockStats:
    """What happened in one block (for the summary and the report)."""

    index: int
    name: str
    kind: str
    target: str
    direction: str
    start: float = math.nan  # t_end of the block's first window
    end: float = math.nan
    n_windows: int = 0
    n_gated: int = 0
    n_reward: int = 0
    threshold_start: float = math.nan
    threshold_end: float = math.nan
    threshold_source: str = ""  # baseline, training_start (the block's first seconds), carried
    values: list = field(default_factory=list, repr=False)
    thresholds: list = field(default_factory=list, repr=False)  # [t_end, threshold], <= 1/s

    @property
    def n_clean(self) -> int:
        return self.n_windows - self.n_gated

    @property
    def reward_rate(self) -> float:
        """Rewarded fraction of clean windows."""
        return self.n_reward / self.n_clean if self.n_clean else math.nan

    @property
    def time_in_target(self) -> float:
        """Rewarded fraction of all windows (gated time counts as not in target)."""
        return self.n_reward / self.n_windows if self.n_windows else math.nan

    @property
    def artifact_share(self) -> float:
        return self.n_gated / self.n_windows if self.n_windows else math.nan

    def to_dict(self) -> dict:
        vals = np.asarray(self.values, dtype=float)
        vals = vals[np.isfinite(vals)]
        return {
            "index": self.index, "name": self.name, "kind": self.kind,
            "target": self.target, "direction": self.direction,
            "start": self.start, "end": self.end, "n_windows": self.n_windows,
            "n_gated": self.n_gated, "n_reward": self.n_reward,
            "reward_rate": self.reward_rate, "time_in_target": self.time_in_target,
            "artifact_share": self.artifact_share,
            "threshold_start": self.threshold_start, "threshold_end": self.threshold_end,
            "threshold_source": self.threshold_source,
            "target_mean": float(vals.mean()) if vals.size else math.nan,
            "target_sd": float(vals.std(ddof=1)) if vals.size > 1 else math.nan,
            "threshold_trace": [list(p) for p in self.thresholds],
        }


class Protocol:
    """Blocks, personal thresholds and cue decisions, driven by windows only.

    Parameters
    ----------
    config : FeedbackConfig
        The ``[feedback]`` section.
    estimate_names : list of str
        Names aligned with each window's ``estimates``.

    carried : dict | None
        With ``threshold_start = "carry"``: the previous session's final
        thresholds, ``{(target, direction): (threshold, scale)}``; a policy
        found here starts from it instead of this session's baseline.

    Notes
    -----
    Baseline blocks collect the smoothed clean values of every estimate;
    a training block's policy for (target, direction) is calibrated from all
    baseline data collected before it (or carried over from the previous
    session), and kept (still adapting) by later blocks that train the same
    target the same way. A transfer block decides cues the same way but
    nobody sees them, so its threshold does not adapt.
    """

    def __init__(self, config, estimate_names, fname=None, carried=None):
        self.config = config
        self.estimate_names = list(estimate_names)
        self.carried = dict(carried or {})
        check_targets(config, self.estimate_names, fname)
        self.blocks = list(config.blocks)
        ends = np.cumsum([b.duration for b in self.blocks]) if self.blocks else np.zeros(0)
        self._ends = ends
        self.smoother = Smoother(config.smoothing)
        self.policies = {}
        self.stats: list[BlockStats] = []
        self._baseline = [[] for _ in self.estimate_names]
        self._baseline_raw = [[] for _ in self.estimate_names]
        self._calib = []  # in-training calibration values when the baseline was short
        self._calib_time = 0.0
        self._baseline_time = 0.0
        self._t0 = None
        self._last_t = None
        self._block = -1
        self.done = False
        self.latest: Cue | None = None

    # -- schedule -------------------------------------------------------------------
    def block_at(self, rel: float) -> int:
        """Index of the block at ``rel`` seconds after the first window (-1: after)."""
        i = int(np.searchsorted(self._ends, rel, side="right"))
        if i >= len(self.blocks):
            return len(self.blocks) - 1 if self.config.end == "continue" else -1
        return i

    @property
    def current(self):
        return self.blocks[self._block] if 0 <= self._block < len(self.blocks) else None

    def time_left(self, t_end: float) -> float:
        """Seconds left in the current block at ``t_end``."""
        if self._t0 is None or self.current is None:
            return math.nan
        return max(float(self._ends[self._block]) - (t_end - self._t0), 0.0)

    def _policy_for(self, target, direction):
        key = (target, direction)
        if key not in self.policies:
            c = self.config
            self.policies[key] = CuePolicy(direction, c.reward_rate, c.hysteresis, c.dwell,
                                           c.adapt, c.adapt_speed)
        return self.policies[key]

    def _enter(self, i, t):
        events = []
        if 0 <= self._block < len(self.blocks):
            st = self.stats[-1]
            pol = self.policies.get((st.target, st.direction))
            if pol is not None and pol.calibrated:
                st.threshold_end = pol.threshold
            events.append(format_marker(BLOCK_END, index=self._block, name=st.name,
                                        reward_rate=st.reward_rate,
                                        time_in_target=st.time_in_target,
                                        artifact_share=st.artifact_share))
        self._block = i
        if i < 0:
            self.done = True
            events.append(format_marker(PROTOCOL_END))
            return events
        block = self.blocks[i]
        target, direction = self.config.block_target(block)
        self.stats.append(BlockStats(i, block.name, block.kind, target, direction, start=t))
        # a calibration block names its state: training labels the block with it
        state = {"state": block.state} if block.kind == "calibration" else {}
        events.append(format_marker(
            BLOCK_START, index=i, name=block.name, kind=block.kind, target=target,
            direction=direction, duration=block.duration, instructions=block.instructions,
            **state))
        if block.kind in ("training", "transfer"):
            pol = self._policy_for(target, direction)
            carried = self.carried.get((target, direction))
            if (not pol.calibrated and self.config.threshold_start == "carry"
                    and carried is not None):
                pol.threshold, pol.scale = float(carried[0]), float(carried[1])
                pol.source, pol.n_calibration = "carried", 0
                events.append(self._threshold_marker(target, pol))
            if not pol.calibrated:
                j = self.estimate_names.index(target)
                base = self._baseline[j]
                if self._baseline_time >= self.config.min_baseline and len(base) >= 3:
                    pol.calibrate(base, "baseline")
                    events.append(self._threshold_marker(target, pol))
                else:
                    self._calib, self._calib_time = [], 0.0
            self.stats[-1].threshold_start = pol.threshold
            self.stats[-1].threshold_source = pol.source if pol.calibrated else ""
        return events

    @staticmethod
    def _threshold_marker(target, pol):
        return format_marker(THRESHOLD, target=target, direction=pol.direction,
                             threshold=pol.threshold, scale=pol.scale, source=pol.source,
                             n=pol.n_calibration)

    # -- per window -----------------------------------------------------------------
    def update(self, t_end: float, estimates, gated: bool) -> tuple[list[str], Cue | None]:
        """Process one window: ``(markers, cue)``; ``cue`` is None once done."""
        if self.done:
            return [], None
        estimates = np.asarray(estimates, dtype=float)
        if self._t0 is None:
            self._t0 = t_end
        dt = 0.0 if self._last_t is None else min(max(t_end - self._last_t, 0.0), 1.0)
        self._last_t = t_end
        events = []
        i = self.block_at(t_end - self._t0)
        if i != self._block:
            events += self._enter(i, t_end)
            if self.done:
                return events, None
        block = self.blocks[i]
        target, direction = self.config.block_target(block)
        j = self.estimate_names.index(target)
        smooth = self.smoother.update(t_end, estimates, gated)
        value, sval = float(estimates[j]), float(smooth[j])
        st = self.stats[-1]
        st.n_windows += 1
        st.end = t_end
        clean = not gated and math.isfinite(value)
        st.n_gated += int(not clean)
        if clean:
            st.values.append(value)
        threshold, score = math.nan, math.nan
        if block.kind in ("baseline", "calibration"):
            state = "baseline" if clean else "paused"
            if clean:
                self._baseline_time += dt
                for k, v in enumerate(smooth):
                    if math.isfinite(v) and math.isfinite(estimates[k]):
                        self._baseline[k].append(float(v))
                        self._baseline_raw[k].append(float(estimates[k]))
        else:
            pol = self._policy_for(target, direction)
            if not pol.calibrated:
                state = "calibrating" if clean else "paused"
                if clean:
                    self._calib.append(sval)
                    self._calib_time += dt
                    if self._calib_time >= self.config.min_baseline and len(self._calib) >= 3:
                        pol.calibrate(self._calib, "training_start")
                        st.threshold_start = pol.threshold
                        st.threshold_source = pol.source
                        events.append(self._threshold_marker(target, pol))
            else:
                threshold = pol.threshold
                state, score = pol.update(t_end, sval, not clean,
                                          adapt=block.kind == "training")
            st.n_reward += int(state == "reward")
            if pol.calibrated:
                st.threshold_end = pol.threshold
                if not st.thresholds or t_end - st.thresholds[-1][0] >= 1.0:
                    st.thresholds.append((float(t_end), float(pol.threshold)))
        cue = Cue(t_end, block.name, block.kind, state, target, direction, value, sval,
                  threshold, score)
        self.latest = cue
        return events, cue

    def finish(self) -> list[str]:
        """Close the running block (call once at the end of a session)."""
        if self.done or self._block < 0:
            return []
        return self._enter(-1, self._last_t)

    def summary(self) -> dict:
        """JSON-ready account of the protocol (blocks, thresholds, rates)."""
        training = [s for s in self.stats if s.kind == "training"]
        n_win = sum(s.n_windows for s in training)
        n_clean = sum(s.n_clean for s in training)
        n_rew = sum(s.n_reward for s in training)
        baseline = {}
        for name, vals in zip(self.estimate_names, self._baseline_raw, strict=True):
            v = np.asarray(vals, dtype=float)
            baseline[name] = {"mean": float(v.mean()) if v.size else math.nan,
                              "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                              "n": int(v.size)}
        return {
            "blocks": [s.to_dict() for s in self.stats],
            "baseline": baseline,
            "threshold_start": self.config.threshold_start,
            "thresholds": [
                {"target": t, "direction": d, "threshold": p.threshold, "scale": p.scale,
                 "source": p.source, "n_calibration": p.n_calibration}
                for (t, d), p in self.policies.items()
            ],
            "reward_rate": n_rew / n_clean if n_clean else math.nan,
            "time_in_target": n_rew / n_win if n_win else math.nan,
            "artifact_share": (sum(s.n_gated for s in self.stats)
                               / max(sum(s.n_windows for s in self.stats), 1)),
        }


def check_targets(config, estimate_names, fname=None, classes=None) -> None:
    """Raise if a block trains an estimate the session does not compute.

    ``classes``: the model's classes, when a model runs; a ``p_<class>``
    target and a calibration block's ``state`` must then name one of them.
    """
    from .._toml import _line_of, _where

    if classes is not None:
        for i, b in enumerate(config.blocks):
            if b.state and b.state not in classes:
                section = f"feedback.blocks #{i + 1}"
                raise PipelineConfigError(
                    f"{_where(fname or 'pipeline', section, 'state')}: block {b.name!r} "
                    f"asks for state {b.state!r}, which the model does not know; use one of "
                    f"its classes ({listed(classes)}) or leave out 'state'.")

    names = list(estimate_names)
    checks = []
    for i, b in enumerate(config.blocks):
        if b.target:
            checks.append(("feedback.blocks", "target", b.target, i))
        else:
            checks.append(("feedback", "target", config.target, None))
    for section, key, target, i in checks:
        if target in names:
            continue
        where = str(fname) if fname else "pipeline"
        line = _line_of(fname, f"feedback.blocks #{i + 1}" if i is not None else section, key)
        if line:
            where += f", line {line}"
        label = f"[feedback.blocks #{i + 1}] {key}" if i is not None else f"[{section}] {key}"
        hint = ""
        if target.startswith("p_") and classes is not None:
            hint = f" (the model's classes are {listed(classes)})"
        elif target.startswith("p_"):
            hint = " (class probabilities p_<class> need --model)"
        raise PipelineConfigError(
            f"{where} {label}: unknown estimate {target!r}{hint}; this session computes "
            f"{listed(names)}."
        )
