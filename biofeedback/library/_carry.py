"""What a participant's next session carries over: thresholds and model calibration.

Both are numbers on the scale of one headset: an engagement threshold set on
a Muse's four channels at 256 Hz means nothing on a Cyton's eight at 250 Hz.
So a session carries them from the participant's latest session recorded
with the same headset (board, channel names and rate) whose estimates were
computed alike (windows, filters, features, model), and the decision is
taken when the session opens, once the source has said what it is (an LSL
stream names its channels only then). When no earlier session used this
headset, one sentence says so and the session's own baseline sets the
thresholds (and calibrates the model) afresh. The previous session's final
thresholds come from the index; a model's per-user calibration from the
sidecar of the latest such session that ran the same model file (same
SHA-256).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .._json import dumps
from .._logging import logger
from ._layout import session_name, session_ref

__all__ = ["carried_thresholds", "thresholds_json", "carry_calibration", "save_calibration",
           "montage", "same_headset", "describe_headset", "CarryOver"]

# profiles that say nothing about the hardware (an LSL stream named no headset)
_GENERIC = ("", "lsl")


def montage(board, ch_names, sfreq) -> dict:
    """The headset a session ran on: ``{"board", "ch_names", "sfreq"}``."""
    try:
        rate = float(sfreq)
    except (TypeError, ValueError):
        rate = math.nan
    return {"board": str(board or ""), "ch_names": [str(c) for c in ch_names or ()],
            "sfreq": rate}


def row_montage(row) -> dict | None:
    """The headset of an index row, or None when the row does not say."""
    names = row.get("ch_names") or []
    if not names:
        return None
    return montage(row.get("board"), names, row.get("sfreq"))


def same_headset(a: dict, b: dict) -> bool:
    """True when two montages are one headset: same channels, rate and board.

    The board is compared only when both name one (an LSL stream may not).
    """
    if sorted(a["ch_names"]) != sorted(b["ch_names"]):
        return False
    ra, rb = a["sfreq"], b["sfreq"]
    if not (math.isfinite(ra) and math.isfinite(rb)) or abs(ra - rb) > 1e-6 * max(ra, rb):
        return False
    boards = (a["board"], b["board"])
    return any(x in _GENERIC for x in boards) or boards[0] == boards[1]


def describe_headset(m: dict) -> str:
    """``muse_2 (TP9, AF7, AF8, TP10 at 256 Hz)``; long lists are counted."""
    names = m["ch_names"]
    chans = ", ".join(names) if len(names) <= 4 else f"{len(names)} channels"
    rate = f"{m['sfreq']:g} Hz" if math.isfinite(m["sfreq"]) else "an unknown rate"
    return f"{m['board'] or 'an unnamed source'} ({chans} at {rate})"


def carried_thresholds(last: dict | None) -> dict | None:
    """``{(target, direction): (threshold, scale)}`` from an index row."""
    if not last:
        return None
    out = {}
    for t in last.get("final_thresholds") or []:
        try:
            thr, scale = float(t["threshold"]), float(t["scale"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(thr) and np.isfinite(scale) and scale > 0:
            out[(t["target"], t["direction"])] = (thr, scale)
    return out or None


def thresholds_json(carried) -> list:
    return [{"target": k[0], "direction": k[1], "threshold": v[0], "scale": v[1]}
            for k, v in (carried or {}).items()]


def carry_calibration(root, participant, model, sha256, rows=None,
                      headset=None) -> int | str | None:
    """Restore the model calibration of the participant's latest session with this model.

    ``rows`` are the participant's index rows (read from the index when
    None); with ``headset`` (a :func:`montage`) only sessions recorded with
    that headset count. Returns the session number it came from (its label
    when it has none), or None (the baseline calibrates).
    """
    if rows is None:
        from ._index import StudyIndex

        with StudyIndex(root) as index:
            rows = index.sessions(participant)
    root = Path(root)
    for row in reversed(rows):
        if not row.get("sidecar"):
            continue
        if headset is not None:
            m = row_montage(row)
            if m is not None and not same_headset(m, headset):
                continue
        try:
            side = json.loads((root / row["sidecar"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        state = (side.get("programme") or {}).get("model_calibration") or {}
        if state.get("sha256") != sha256:
            continue
        try:
            model.restore_calibration(state)
        except Exception as err:  # another layout: calibrate on this baseline
            logger.warning("The calibration saved with session %s does not fit (%s); this "
                           "session calibrates on its own baseline.", session_name(row), err)
            return None
        logger.info("Model calibration carried over from session %s.", session_name(row))
        return session_ref(row)
    return None


class CarryOver:
    """Decide, when a session opens, what it carries from the participant's earlier ones.

    Called by the protocol sink with the session's :class:`SessionInfo`
    (its board, channels and rate), it returns the thresholds to start from
    (``{(target, direction): (threshold, scale)}`` or None), restores the
    model's calibration when it may, and records the decision in
    ``programme`` (the sidecar's ``programme`` entry): ``carried_thresholds``,
    ``carried_from``, ``carried_calibration_from`` and, when something
    could not carry over, ``carry_note``.

    Parameters
    ----------
    root : Path
        The study root.
    participant : str
    rows : list of dict
        The participant's index rows, oldest first.
    programme : dict
        Updated in place.
    thresholds : bool
        The pipeline carries thresholds (``threshold_start = "carry"``).
    model, model_sha256 :
        A model needing a per-user calibration, and its file's hash.
    feedback : FeedbackConfig | None
        The session's protocol: only sessions holding a threshold for one of
        its (target, direction) pairs are carried from (a session that
        trained another measure is passed over).
    pipeline : dict | None
        The session's pipeline (``PipelineConfig.to_dict()``): only sessions
        whose estimates were computed alike (same ``[window]``,
        ``[preprocessing]`` and ``[features]``; for a model's probability,
        the same model file) are carried from.
    """

    def __init__(self, root, participant, rows, programme, *, thresholds=True, model=None,
                 model_sha256=None, feedback=None, pipeline=None):
        self.root, self.participant = Path(root), participant
        # the session's pipeline as its sidecar holds it (JSON types), to compare with
        self.pipeline = json.loads(dumps(pipeline)) if pipeline is not None else None
        self._sides = {}
        self.wanted = None
        if feedback is not None:
            self.wanted = {feedback.block_target(b) for b in feedback.blocks
                           if b.kind in ("training", "transfer")}
        self.rows = list(rows)
        self.programme = programme
        self.thresholds = bool(thresholds)
        self.model, self.model_sha256 = model, model_sha256
        self.note = None

    def __call__(self, info) -> dict | None:
        profile = getattr(info, "profile", None)
        here = montage(getattr(profile, "name", ""), info.ch_names, info.sfreq)
        self.programme["headset"] = here
        carried, from_session = None, None
        if self.thresholds:
            carried, from_session = self._thresholds(here)
        calib_from = None
        if (self.thresholds and self.model is not None
                and getattr(self.model, "needs_calibration", False) and self.model_sha256):
            calib_from = carry_calibration(self.root, self.participant, self.model,
                                           self.model_sha256, rows=self.rows, headset=here)
        self.programme.update(carried_thresholds=thresholds_json(carried),
                              carried_from=from_session,
                              carried_calibration_from=calib_from)
        if self.note:
            self.programme["carry_note"] = self.note
            logger.warning(self.note)
        return carried

    def _thresholds(self, here):
        with_thr = [r for r in self.rows if r.get("final_thresholds") and (
            self.wanted is None or set(carried_thresholds(r) or ()) & self.wanted)]
        if not with_thr:
            return None, None
        last = with_thr[-1]
        last_m = row_montage(last)
        fits = []
        for r in with_thr:
            m = row_montage(r)
            if m is None or same_headset(m, here):
                fits.append(r)
        if not fits:
            self.note = (
                f"Participant {self.participant}'s earlier sessions ran on other headsets, "
                f"the last (session {session_name(last)}) on {describe_headset(last_m)}; "
                f"their thresholds do not fit {describe_headset(here)}, so this session's "
                "baseline sets them afresh.")
            return None, None
        newest = None  # what made the newest fitting session's estimates differ
        for i, row in enumerate(reversed(fits)):
            change = self._estimate_change(row)
            if i == 0:
                newest = change
            if change is not None:
                continue
            if row is not last:
                if last_m is not None and not same_headset(last_m, here):
                    why = (f"ran on {describe_headset(last_m)}; this one runs on "
                           f"{describe_headset(here)}")
                else:
                    why = f"computed its estimates with {newest}"  # last is fits[-1]
                self.note = (
                    f"Participant {self.participant}'s last session ({session_name(last)}) "
                    f"{why}, so the thresholds come from session {session_name(row)}, "
                    "the latest that fits.")
            return carried_thresholds(row), session_ref(row)
        self.note = (
            f"Participant {self.participant}'s earlier sessions on this headset computed "
            f"their estimates otherwise, the last (session {session_name(fits[-1])}) with "
            f"{newest}; their thresholds do not fit this session's estimates, so its "
            "baseline sets them afresh.")
        return None, None

    def _estimate_change(self, row) -> str | None:
        """What in a session's pipeline made its estimates differ from this one's, or None.

        Windows, filters and features define an estimate's scale; a model's
        probabilities also depend on the model file.
        """
        if self.pipeline is None or not row.get("sidecar"):
            return None
        key = row["sidecar"]
        if key not in self._sides:
            try:
                self._sides[key] = json.loads((self.root / key).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._sides[key] = {}
        side = self._sides[key]
        old = side.get("pipeline")
        if not old:
            return None
        for sec in ("window", "preprocessing", "features"):
            o, n = old.get(sec) or {}, self.pipeline.get(sec) or {}
            # a key one side lacks was added by a later version, at its default
            for k in sorted(set(o) & set(n)):
                if o[k] != n[k]:
                    return (f"[{sec}] {k} = {_short(o.get(k))} (this session: "
                            f"{_short(n.get(k))})")
        if self.wanted and any(t.startswith("p_") for t, _ in self.wanted):
            sha = (side.get("model") or {}).get("sha256")
            if sha and sha != self.model_sha256:
                return "another model file (its probabilities are another model's)"
        return None


def _short(v) -> str:
    text = json.dumps(v, separators=(", ", ": ")) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def save_calibration(sidecar, model, sha256) -> None:
    """Add the model's calibration in force to a finished session's sidecar."""
    state = model.calibration_state() if hasattr(model, "calibration_state") else None
    if state is None or not sidecar.exists():
        return
    from ..recorder import write_sidecar

    side = json.loads(sidecar.read_text(encoding="utf-8"))
    side.setdefault("programme", {})["model_calibration"] = {"sha256": sha256, **state}
    write_sidecar(sidecar.with_suffix(".xdf"), side)
