"""A session's JSON sidecar as the report and the study index read it: its
shape checked once.

``biofeedback live`` writes the sidecar when the session starts and adds its
``summary`` and ``feedback`` tables when it ends, so a session killed
mid-way, or one recorded by an older version, has fewer parts: a part that
is missing (or ``null``) is absent, and the report says "n/a" or leaves it
out. A part of another type (a sidecar edited by hand, or damaged) is left
out too, and one sentence names the file and every such part; a sidecar
that is not JSON, or holds no JSON object, is left out whole the same way.
A list of tables (the blocks, the gaps) is checked element by element: an
element of another type is left out and named, the others are kept.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["report_sidecar", "sidecar_of_shape"]

_NUMBER, _TEXTS, _TABLE, _BANDS = "a number", "a list of names", "a table", "a table of bands"
_NAME, _TABLES, _LIST = "a name", "a table of tables", "a list"
_LABEL = "a number or a label"  # a session: 3 as live writes it, "03" as BIDS does

#: One block as ``feedback.blocks`` holds it (what the study index reads).
_BLOCK = {"index": _NUMBER, "name": _NAME, "kind": _NAME, "target": _NAME,
          "direction": _NAME, "start": _NUMBER, "end": _NUMBER, "n_windows": _NUMBER,
          "n_gated": _NUMBER, "n_reward": _NUMBER, "n_clean": _NUMBER,
          "reward_rate": _NUMBER, "time_in_target": _NUMBER, "artifact_share": _NUMBER,
          "threshold_start": _NUMBER, "threshold_end": _NUMBER, "target_mean": _NUMBER,
          "target_sd": _NUMBER, "threshold_trace": _LIST}

#: The parts of a sidecar the report and the study index read, and what each
#: must be; a table lists the parts of it that are read (any other part is
#: kept as it is), and ``[table]`` is a list of such tables.
SHAPE = {
    "session_id": _NAME,
    "started_at": _NAME,
    "summary": {"n_dropped": _NUMBER, "n_windows": _NUMBER, "n_gated": _NUMBER,
                "n_samples": _NUMBER, "duration": _NUMBER, "effective_sfreq": _NUMBER,
                "stopped_by": _NAME,
                "latency_ms": {"n": _NUMBER, "p50": _NUMBER, "p99": _NUMBER},
                "gaps": [{"onset": _NUMBER, "duration": _NUMBER}]},
    "source": {"clock_offset": _NUMBER, "clock_offset_s": _NUMBER, "kind": _NAME},
    "pipeline": {"preprocessing": _TABLE, "window": {"length": _NUMBER, "hop": _NUMBER},
                 "gates": _TABLE,
                 "features": {"bands": _BANDS, "names": _TEXTS, "indices": _TEXTS},
                 "feedback": {"reward_rate": _NUMBER, "sinks": _TEXTS, "audio": _TABLE,
                              "osc": _TABLE, "target": _NAME, "direction": _NAME,
                              "threshold_start": _NAME,
                              "blocks": [{"name": _NAME, "duration": _NUMBER}]}},
    "board_profile": {"ch_names": _TEXTS, "name": _NAME, "sfreq": _NUMBER},
    "programme": {"participant": _NAME, "session": _LABEL, "task": _NAME,
                  "started_at": _NAME},
    "model": {"file": _NAME},
    "software": _TABLE,
    "feedback": {"blocks": [_BLOCK], "baseline": _TABLES, "threshold_start": _NAME,
                 "thresholds": [{"target": _NAME, "direction": _NAME, "threshold": _NUMBER,
                                 "scale": _NUMBER, "source": _NAME}],
                 "artifact_share": _NUMBER,
                 "cue_latency_ms": {"p50": _NUMBER, "p99": _NUMBER}},
}


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _fits(value, want) -> bool:
    if want == _NUMBER:
        return _is_number(value)
    if want == _LABEL:
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if want == _NAME:
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    if want == _LIST:
        return isinstance(value, list)
    if want == _TABLES:
        return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
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
        elif isinstance(want, list):  # a list of tables, each checked
            if isinstance(value, list):
                out[key] = _elements(value, want[0], name, wrong)
            else:
                wrong.append(f'"{name}" is {_shown(value)}, not a list of tables')
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


def _elements(values: list, shape: dict, name: str, wrong: list) -> list:
    """The elements of ``values`` that are tables, each checked; the others said."""
    out = []
    for i, value in enumerate(values):
        if isinstance(value, dict):
            out.append(_checked(value, shape, f"{name}[{i}].", wrong))
        else:
            wrong.append(f'"{name}[{i}]" is {_shown(value)}, not a table')
    return out


def sidecar_of_shape(side: dict) -> tuple[dict, list[str]]:
    """The parts of the sidecar ``side`` (a JSON object) of the shape read.

    Returns
    -------
    sidecar : dict
        ``side`` without its parts of another type than :data:`SHAPE` says,
        nor its ``null`` parts (elements of a list of tables are checked one
        by one).
    wrong : list of str
        What each part left out was, as ``'"summary.gaps[2]" is 5, not a
        table'``; empty when every part is of its shape.
    """
    wrong = []
    return _checked(side, SHAPE, "", wrong), wrong


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
        read_sidecar(fname, said)
        if not said:  # JSON its reader takes none from: another program's (BIDS's
            return {}, None  # *_eeg.json beside a dataset's recording), not a session's
        return {}, f"{said[0].rstrip('.')}; {leaves_out}."  # the reader's sentence
    if not isinstance(side, dict):
        return {}, (f"The sidecar {path} holds {_shown(side)}, not a JSON object; "
                    f"{leaves_out}.")
    side, wrong = sidecar_of_shape(side)
    if not wrong:
        return side, None
    return side, (f"The sidecar {path} is not of a sidecar's shape: {'; '.join(wrong)}; "
                  "the report leaves out those parts.")
