"""A session's JSON sidecar as the report reads it: its shape checked once.

``biofeedback live`` writes the sidecar when the session starts and adds its
``summary`` and ``feedback`` tables when it ends, so a session killed
mid-way, or one recorded by an older version, has fewer parts: a part that
is missing (or ``null``) is absent, and the report says "n/a" or leaves it
out. A part of another type (a sidecar edited by hand, or damaged) is left
out too, and one sentence names the file and every such part; a sidecar
that is not JSON, or holds no JSON object, is left out whole the same way.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["report_sidecar"]

_NUMBER, _TEXTS, _TABLE, _BANDS = "a number", "a list of names", "a table", "a table of bands"

#: The parts of a sidecar the report reads, and what each must be; a table
#: lists the parts of it that are read (any other part is kept as it is).
SHAPE = {
    "session_id": "a name",
    "summary": {"n_dropped": _NUMBER, "n_windows": _NUMBER, "n_gated": _NUMBER,
                "latency_ms": {"n": _NUMBER, "p50": _NUMBER, "p99": _NUMBER}},
    "source": {"clock_offset": _NUMBER, "clock_offset_s": _NUMBER, "kind": "a name"},
    "pipeline": {"preprocessing": _TABLE, "window": _TABLE, "gates": _TABLE,
                 "features": {"bands": _BANDS, "names": _TEXTS, "indices": _TEXTS},
                 "feedback": {"reward_rate": _NUMBER, "sinks": _TEXTS, "audio": _TABLE,
                              "osc": _TABLE}},
    "board_profile": {"ch_names": _TEXTS},
    "software": _TABLE,
    "feedback": _TABLE,
}


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _fits(value, want) -> bool:
    if want == _NUMBER:
        return _is_number(value)
    if want == "a name":
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    if want == _TEXTS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if want == _BANDS:
        return isinstance(value, dict) and all(
            isinstance(v, list) and len(v) == 2 and all(_is_number(f) and math.isfinite(f)
                                                         for f in v)
            for v in value.values())
    return isinstance(value, dict)  # _TABLE


def _shown(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _checked(table: dict, shape: dict, where: str, wrong: list) -> dict:
    """``table`` with its parts of another type than ``shape`` says left out
    (each said in ``wrong``), and its ``null`` parts left out silently."""
    out = dict(table)
    for key, want in shape.items():
        if key not in out:
            continue
        value, name = out[key], f"{where}{key}"
        if value is None:
            del out[key]
        elif isinstance(want, dict):
            if isinstance(value, dict):
                out[key] = _checked(value, want, f"{name}.", wrong)
            else:
                wrong.append(f'"{name}" is {_shown(value)}, not a table')
                del out[key]
        elif not _fits(value, want):
            wrong.append(f'"{name}" is {_shown(value)}, not {want}')
            del out[key]
    return out


def report_sidecar(rec, fname) -> tuple[dict, str | None]:
    """The sidecar of the recording ``rec`` (read from ``fname``), of the shape
    the report reads.

    Parameters
    ----------
    rec : Recording
        The recording, as read (its ``provenance["sidecar"]``, if any).
    fname : path-like
        The recording's file; its sidecar is ``<stem>.json`` beside it.

    Returns
    -------
    sidecar : dict
        Every part of the sidecar of the type the report reads; parts
        missing, ``null`` or of another type are absent.
    problem : str | None
        One sentence naming the sidecar and what in it could not be read,
        or None when all of it could (or there is none).
    """
    from ..io._sidecar import read_sidecar

    path = Path(fname).with_suffix(".json")
    side = rec.provenance.get("sidecar")
    leaves_out = "the report leaves out what only the sidecar holds"
    if side is None:
        if not path.is_file():
            return {}, None  # a recording made elsewhere: no sidecar to speak of
        said = []
        read_sidecar(fname, said)  # it failed the reader: the same sentence, with why
        why = said[0].rstrip(".") if said else f"The sidecar {path} cannot be read"
        return {}, f"{why}; {leaves_out}."
    if not isinstance(side, dict):
        return {}, (f"The sidecar {path} holds {_shown(side)}, not a JSON object; "
                    f"{leaves_out}.")
    wrong = []
    side = _checked(side, SHAPE, "", wrong)
    if not wrong:
        return side, None
    return side, (f"The sidecar {path} is not of a sidecar's shape: {'; '.join(wrong)}; "
                  "the report leaves out those parts.")
