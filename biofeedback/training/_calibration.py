"""Per-user calibration, as a live session runs it before feedback.

:class:`CalibrationPlan` lists the protocol's blocks before feedback; the
engine's clean windows ending within them are the baseline
(:func:`calibration_windows`), and features are centred (or z-scored) on its
statistics (:func:`_baseline_stats`), live by
:meth:`~._model.LoadedModel.calibrate` and in validation per subject and
session of the replayed calibration streams (:func:`calibration_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._words import listed, sentence
from ._labels import DatasetError

#: z-scoring divides features by the calibration's SD, so it needs this many
#: window lengths of calibration (10 s with 2 s windows). On the shared Muse
#: data, against the statistics of a whole minute, the median scale is off by
#: a factor of 4.4 with 2 windows, 1.7 at 5 s and 1.3 at 10 s; the centre is
#: 0.58, 0.47 and 0.41 SD off. Centring alone needs one window.
ZSCORE_WINDOWS = 5


#: Why a calibrated model is neither validated nor fitted on recordings labelled
#: over time (completed to a sentence where it is said).
OVER_TIME_NOT_REPLAYED = (
    "the protocol's blocks are replayed from one recording of each state they ask "
    "for, and recordings labelled over time (markers, a manifest's stretches) hold "
    "several states each, so none can stand for a block")


def blocks_before_feedback(feedback) -> list:
    """The protocol's baseline and calibration blocks before its first feedback block."""
    out = []
    for b in feedback.blocks:
        if b.kind not in ("baseline", "calibration"):
            break
        out.append(b)
    return out


@dataclass(frozen=True)
class CalibrationPlan:
    """The blocks a live session runs before feedback, in order.

    Attributes
    ----------
    blocks : tuple of (str | None, float)
        ``(state, seconds)`` per block; ``state`` is the label the block's
        instructions ask for (None: a baseline that names no state).
    method : "center" | "zscore"
    """

    blocks: tuple = ()
    method: str = "center"

    @property
    def seconds(self) -> float:
        """Total duration: the engine calibrates on windows ending within it."""
        return float(sum(d for _, d in self.blocks))

    @property
    def states(self) -> list:
        return [s for s, _ in self.blocks]

    def __bool__(self):
        return bool(self.blocks)

    def describe(self) -> str:
        return listed([f"{d:g} s {s or 'baseline'}" for s, d in self.blocks],
                      sep=" + ") or "none"

    def to_dict(self) -> dict:
        return {"method": self.method, "seconds": self.seconds,
                "blocks": [{"state": s, "seconds": d} for s, d in self.blocks]}

    @classmethod
    def from_dict(cls, d) -> CalibrationPlan | None:
        """The plan a model file stores (:meth:`to_dict`), or None for none.

        Raises
        ------
        ValueError
            ``d`` is not such a plan (a hand-edited or damaged file).
        """
        if not d:
            return None
        if not isinstance(d, dict):
            raise ValueError(f"its calibration {d!r} is not a table")
        blocks = d.get("blocks")
        if blocks is None:  # files from before calibration blocks: one span of seconds
            blocks = [{"state": None, "seconds": d.get("seconds")}]
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise ValueError(f"its calibration blocks {blocks!r} are not a list of tables")
        out = []
        for k, b in enumerate(blocks, 1):
            state, seconds = b.get("state"), b.get("seconds")
            if not (state is None or isinstance(state, str)) or isinstance(seconds, bool) \
                    or not isinstance(seconds, (int, float)) or not np.isfinite(seconds):
                raise ValueError(f"its calibration block {b!r:.80} is not a state name and "
                                 "a number of seconds")
            if seconds <= 0:  # a protocol's blocks last more than 0 s
                raise ValueError(f"its calibration block {k} of {len(blocks)} lasts "
                                 f"{seconds:g} s, but a block's seconds must be above 0")
            out.append((state, float(seconds)))
        method = d.get("method", "center")
        if method not in ("center", "zscore"):
            raise ValueError(f"its calibration method {method!r} is not 'center' or 'zscore'")
        return cls(tuple(out), method)

    @classmethod
    def from_protocol(cls, feedback, method="center") -> CalibrationPlan:
        """The blocks before the first training or transfer block of ``feedback``."""
        blocks = []
        for b in feedback.blocks:
            if b.kind not in ("baseline", "calibration"):
                break
            blocks.append((b.state or None, float(b.duration)))
        return cls(tuple(blocks), method)

    def min_seconds(self, window_length) -> float:
        """The least calibration the method needs: one window, or
        :data:`ZSCORE_WINDOWS` windows to z-score."""
        return float(window_length) * (ZSCORE_WINDOWS if self.method == "zscore" else 1)

    def check(self, window_length, classes=None, *, where="the protocol", names=None):
        """One sentence when the plan cannot calibrate a model.

        ``names`` are the blocks' names, so the sentence can say which one
        to lengthen.
        """
        if not self.blocks:
            raise DatasetError(
                f"{where} has no baseline or calibration block before feedback, so a "
                "calibrated model has nothing to calibrate on; add one, or train "
                "without --calibration.")
        need = self.min_seconds(window_length)
        if self.seconds + 1e-9 < need:
            blocks = f" ({', '.join(repr(n) for n in names)})" if names else ""
            fix = (f"make block {names[-1]!r} at least "
                   f"{self.blocks[-1][1] + need - self.seconds:g} s long"
                   if names and len(names) == len(self.blocks) else "make them longer")
            if self.method == "zscore":
                raise DatasetError(
                    f"The calibration blocks of {where}{blocks} last {self.seconds:g} s, "
                    f"but z-scoring divides by their SD, which needs at least {need:g} s "
                    f"({ZSCORE_WINDOWS} windows of {window_length:g} s); {fix}, or use "
                    "--calibration-method center.")
            raise DatasetError(
                f"The calibration blocks of {where}{blocks} last {self.seconds:g} s, "
                f"shorter than one {window_length:g} s window; {fix}.")
        for k, (state, seconds) in enumerate(self.blocks):
            if state is not None and seconds + 1e-9 < window_length:
                which = (f"block {names[k]!r}" if names and len(names) == len(self.blocks)
                         else f"the {state!r} block")
                raise DatasetError(
                    f"Calibration {which} of {where} lasts {seconds:g} s, shorter than one "
                    f"{window_length:g} s window, so no window holds {state!r} alone; make "
                    f"it at least {window_length:g} s long.")
        if classes is not None:
            unknown = [s for s in self.states if s is not None and s not in classes]
            if unknown:
                raise DatasetError(
                    f"A calibration block of {where} asks for state {unknown[0]!r}, "
                    f"which is not a class ({listed(classes)}); use one of those.")


def _baseline_stats(X, method="center"):
    """(offset, scale) of baseline features ``X`` for ``(x - offset) / scale``.

    NaN entries (a channel the gates left out, for a channel-balanced model)
    are left out of the statistics; a column never finite gets a NaN offset,
    so that channel stays out of that person's windows.
    """
    ok = np.isfinite(X)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = np.where(n > 0, np.where(ok, X, 0.0).sum(axis=0) / n, np.nan)
    if method == "zscore" and len(X) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = np.where(ok, X - offset, 0.0)
            scale = np.sqrt((dev ** 2).sum(axis=0) / (n - 1))
        floor = 1e-12 * np.maximum(np.abs(np.nan_to_num(offset)), 1.0)
        scale = np.where(np.isfinite(scale) & (scale > floor), scale, 1.0)
    else:
        scale = np.ones_like(offset)
    return offset, scale


def calibration_windows(full, seconds):
    """Rows of one recording's windows the engine calibrates on: clean, finite,
    ending within the first ``seconds``."""
    ok = (full["t"] <= seconds) & np.isfinite(full["X"]).all(axis=1)
    if full.get("gated") is not None:
        ok &= ~full["gated"]
    return ok


def calibration_stats(streams, plan, input="features"):
    """Per (subject, session), the centring of their replayed calibration blocks.

    Parameters
    ----------
    streams : Dataset
        From :func:`stream_dataset` with ``plan`` (one stream per subject and
        session, beginning with the calibration blocks).
    plan : CalibrationPlan
    input : str
        What the model reads ("features" or "clean_features").
    """
    from ._dataset import model_inputs

    out = {}
    for r, f in enumerate(streams.full):
        key = (streams.files[r].subject, streams.files[r].session)
        ok = calibration_windows(f, plan.seconds)
        if not ok.any():
            raise DatasetError(
                f"The calibration blocks of subject {key[0]} (session {key[1]}) hold "
                "no clean window; the quality gates flag all of them.")
        out[key] = _baseline_stats(model_inputs(f, input)[ok], plan.method)
    return out


def centred(dataset, X, stats):
    """A copy of ``X`` (one row per window of ``dataset``) with each subject's
    and session's rows centred on their ``stats`` (:func:`calibration_stats`)."""
    X = np.array(X, copy=True)
    for (subject, session), (offset, scale) in stats.items():
        m = (dataset.subject == subject) & (dataset.session == session)
        X[m] = (X[m] - offset) / scale
    return X


def recording_transform(files, stats, prep=None):
    """``transform(r, X)`` for :func:`~._scoring.filtered_proba`: the windows of
    recording ``r`` of ``files`` centred on its subject's and session's
    ``stats``, after ``prep`` (e.g. a model's column selection)."""
    keys = {i: (f.subject, f.session) for i, f in enumerate(files)}

    def transform(r, X):
        offset, scale = stats[keys[int(r)]]
        return ((X if prep is None else prep(X)) - offset) / scale
    return transform


def _check_calibration(spec, plan, window_length, classes=None, files=()):
    if not plan:
        return
    if spec.input not in ("features", "clean_features"):
        raise DatasetError("Calibration centres engine features; it does not apply to "
                           "window-input models such as riemann.")
    if any(f.label is None for f in files):
        raise DatasetError(sentence(OVER_TIME_NOT_REPLAYED))
    plan.check(window_length, classes)
