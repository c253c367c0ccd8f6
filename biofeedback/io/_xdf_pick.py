"""Which stream of an XDF file is the EEG, and names for the others.

Split from the reader: a file may hold several EEG streams (two headsets of
one make under one name, told apart by source id), and streams of one name
must not replace each other.
"""

from __future__ import annotations

from .._words import counted, listed
from ..errors import RecordingFormatError
from ._xdf_write import EEG_NAME


def _first(d, key, default=None):
    """pyxdf's XML dicts wrap every value in a list."""
    if not isinstance(d, dict):
        return default
    v = d.get(key)
    if isinstance(v, list):
        v = v[0] if v else default
    return default if v is None else v


def _free_key(others, name, sinfo):
    """``name``, or ``name (source id)`` when a stream of that name is kept already
    (two apps' 'Markers', two headsets' 'Muse'), or ``name (type)`` when that
    is kept too (muse-lsl names its ACC, GYRO and PPG streams 'Muse' under
    one source id), else ``name (stream N)``: none replaces another."""
    source = _first(sinfo, "source_id", "")
    for key in (name, f"{name} ({source})" if source else None,
                f"{name} ({_first(sinfo, 'type', '')})" if _first(sinfo, "type", "") else None):
        if key is not None and key not in others:
            return key
    key, k = f"{name} (stream {_first(sinfo, 'stream_id', '?')})", 2
    while key in others:  # a file naming every stream alike, ids and all
        key, k = f"{name} (stream {_first(sinfo, 'stream_id', '?')}, {k})", k + 1
    return key


def _choose_eeg(streams, wanted, fname, warnings):
    numeric = [s for s in streams if _first(s["info"], "channel_format") != "string"]
    names = [_first(s["info"], "name", "") for s in streams]
    if wanted is not None:
        found = [s for s in streams if _first(s["info"], "name") == wanted] or \
            [s for s in streams if _first(s["info"], "source_id") == wanted]
        if len(found) > 1:  # two headsets of one make send under one name
            ids = [_first(s["info"], "source_id", "") for s in found]
            todo = (f"pick one by its source id with --stream SOURCE_ID (stream= in "
                    f"Python): {', '.join(map(repr, ids))}" if len(set(ids)) == len(ids) else
                    "their source ids do not tell them apart either; pick one by its "
                    "stream id with pyxdf")
            raise RecordingFormatError(
                f"{len(found)} streams are named {wanted!r}; {todo}.", fname)
        for s in found:
            if _first(s["info"], "channel_format") == "string":
                raise RecordingFormatError(
                    f"stream {wanted!r} holds strings, not EEG.", fname)
            return s
        raise RecordingFormatError(
            f"no stream named {wanted!r}; the file holds {', '.join(map(repr, names))}.",
            fname,
        )
    for s in numeric:
        if _first(s["info"], "name") == EEG_NAME:
            return s
    eeg = [s for s in numeric if str(_first(s["info"], "type", "")).upper() == "EEG"]
    if eeg:
        chosen = max(eeg, key=lambda s: len(s["time_stamps"]))
        if len(eeg) > 1:
            name = _first(chosen["info"], "name", "")
            # a stream of the chosen one's name is picked by its source id
            others = [_first(s["info"], "name", "") if _first(s["info"], "name", "") != name
                      else _first(s["info"], "source_id", "") for s in eeg if s is not chosen]
            warnings.append(
                f"The file holds {len(eeg)} EEG streams; read {name!r} (the one with "
                f"the most samples). To read another, pass --stream NAME (stream=NAME; "
                f"the source id for one named alike): "
                f"{listed(map(repr, others))}."
            )
        return chosen
    if not numeric:  # markers only: no stream could be read as EEG
        as_text = [n for s, n in zip(streams, names)
                   if str(_first(s["info"], "type", "")).upper() == "EEG"]
        if as_text:  # recorded, but sent as text: no numbers to read
            raise RecordingFormatError(
                f"the EEG stream {as_text[0]!r} was sent as strings (channel format "
                "string), not numbers, so it holds no samples to read; have the "
                "streaming app send EEG as numbers (float32 or double64) and record again.",
                fname)
        raise RecordingFormatError(
            f"this XDF file holds no signal, only "
            f"{counted(len(names), 'string (marker) stream')} ({listed(map(repr, names))}); "
            "the EEG stream was not recorded (in "
            "LabRecorder, tick it before pressing Start).",
            fname,
        )
    numeric_names = [_first(s["info"], "name", "") for s in numeric]
    raise RecordingFormatError(
        "no EEG stream (type 'EEG') in this XDF file; its numeric streams are "
        f"{listed(map(repr, numeric_names))} (read one as EEG with --stream NAME, "
        "stream=NAME in Python).",
        fname,
    )
