"""What a participant's next session carries over: thresholds and model calibration.

The previous session's final thresholds come from the index; a model's
per-user calibration from the sidecar of the latest session that ran the same
model file (same SHA-256).
"""

from __future__ import annotations

import numpy as np

from .._logging import logger

__all__ = ["carried_thresholds", "thresholds_json", "carry_calibration", "save_calibration"]


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


def carry_calibration(root, participant, model, sha256) -> int | None:
    """Restore the model calibration of the participant's latest session with this model.

    Returns the session number it came from, or None (the baseline calibrates).
    """
    import json

    from ._index import StudyIndex

    with StudyIndex(root) as index:
        rows = index.sessions(participant)
    for row in reversed(rows):
        if not row.get("sidecar"):
            continue
        try:
            side = json.loads((index.root / row["sidecar"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        state = (side.get("programme") or {}).get("model_calibration") or {}
        if state.get("sha256") != sha256:
            continue
        try:
            model.restore_calibration(state)
        except Exception as err:  # another layout: calibrate on this baseline
            logger.warning("The calibration saved with session %s does not fit (%s); this "
                           "session calibrates on its own baseline.", row["session"], err)
            return None
        logger.info("Model calibration carried over from session %s.", row["session"])
        return int(row["session"])
    return None


def save_calibration(sidecar, model, sha256) -> None:
    """Add the model's calibration in force to a finished session's sidecar."""
    import json

    state = model.calibration_state() if hasattr(model, "calibration_state") else None
    if state is None or not sidecar.exists():
        return
    from ..recorder import write_sidecar

    side = json.loads(sidecar.read_text(encoding="utf-8"))
    side.setdefault("programme", {})["model_calibration"] = {"sha256": sha256, **state}
    write_sidecar(sidecar.with_suffix(".xdf"), side)
