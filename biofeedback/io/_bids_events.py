"""Markers and channel types from the tables beside a recording in a BIDS dataset.

BIDS keeps a recording's events in a table beside it, and mne-bids writes
the events it is given (``write_raw_bids(..., events=...)``) there alone, not
into the EDF, BDF or BrainVision file: read by itself, such a recording holds
no marker. :func:`bids_markers` reads the table the way mne-bids'
``read_raw_bids`` does (``onset`` in seconds from the first sample, the text
from ``trial_type``, else ``value``), a row's ``duration`` as an annotation's.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from .._words import counted
from ..errors import RecordingFormatError

# sub-01_ses-1_task-rest_run-1_eeg.edf -> sub-01_ses-1_task-rest_run-1_events.tsv
_RECORDING = re.compile(r"(sub-[^_/]+_.*)_(?:eeg|ieeg|meg)\.[^.]+$")
#: What a BIDS table writes for a missing value.
_NA = ("", "n/a")


def events_tsv(fname) -> Path | None:
    """The BIDS events table of the recording ``fname``, when there is one beside it."""
    return bids_table(fname, "events")


def bids_table(fname, kind) -> Path | None:
    """The BIDS table ``kind`` ('events', 'channels') of the recording ``fname``,
    when there is one beside it."""
    fname = Path(fname)
    m = _RECORDING.fullmatch(fname.name)
    if m is None:
        return None
    tsv = fname.with_name(f"{m.group(1)}_{kind}.tsv")
    return tsv if tsv.is_file() else None


def bids_line_freq(fname):
    """The ``PowerLineFrequency`` of the ``*_eeg.json`` beside a BIDS
    recording (mne-bids writes the EDF without it), or None."""
    import json

    fname = Path(fname)
    m = _RECORDING.fullmatch(fname.name)
    side = fname.with_name(f"{m.group(1)}_eeg.json") if m else None
    if side is None or not side.is_file():
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return meta.get("PowerLineFrequency") if isinstance(meta, dict) else None


def bids_bad_channels(fname) -> tuple[list, Path | None]:
    """The channels the ``*_channels.tsv`` beside a BIDS recording marks
    ``bad`` in its ``status`` column (mne-bids writes a FIF's ``info["bads"]``
    there, never into the EDF), and the table; ``([], None)`` without one."""
    tsv = bids_table(fname, "channels")
    if tsv is None:
        return [], None
    try:
        with open(tsv, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError):
        return [], None
    head = [h.strip() for h in rows[0]] if rows else []
    if "name" not in head or "status" not in head:
        return [], tsv
    at, status = head.index("name"), head.index("status")
    return [row[at].strip() for row in rows[1:] if len(row) > max(at, status)
            and row[status].strip().lower() == "bad"], tsv


def bids_channel_types(fname) -> tuple[dict, Path | None]:
    """``{channel: TYPE}`` of the ``*_channels.tsv`` beside a BIDS recording
    (its ``name`` and ``type`` columns; BIDS spells types in capitals: 'EEG',
    'EOG', 'ECG'...) and the table, or ``({}, None)`` when there is none or it
    lacks those columns."""
    tsv = bids_table(fname, "channels")
    if tsv is None:
        return {}, None
    try:
        with open(tsv, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError):
        return {}, None
    head = [h.strip() for h in rows[0]] if rows else []
    if "name" not in head or "type" not in head:
        return {}, None
    at, kind = head.index("name"), head.index("type")
    return ({row[at].strip(): row[kind].strip().upper() for row in rows[1:]
             if len(row) > max(at, kind) and row[at].strip()}, tsv)


def read_events_tsv(path) -> list[tuple[float, float, str]]:
    """``(onset, duration, text)`` of each row of a BIDS events table, onset in
    seconds from the recording's first sample (a duration left ``n/a`` or not
    a number is 0).

    Raises
    ------
    RecordingFormatError
        Naming the table and line, when a row's onset is not a number or it
        has neither an ``onset`` column nor a ``trial_type`` or ``value`` one.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if not rows:
        return []
    head = [h.strip() for h in rows[0]]
    text_cols = [head.index(c) for c in ("trial_type", "value") if c in head]
    if "onset" not in head or not text_cols:
        raise RecordingFormatError(
            "a BIDS events table needs an 'onset' column and a 'trial_type' or 'value' "
            f"one, but its columns are {', '.join(map(repr, head))}; fix its header "
            "line.", path, 1)
    at = head.index("onset")
    lasts = head.index("duration") if "duration" in head else None
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + [""] * (len(head) - len(row))
        text = next((cells[i] for i in text_cols if cells[i] not in _NA), None)
        if text is None or cells[at] in _NA:
            continue  # a row naming nothing, or no time: no marker
        try:
            onset = float(cells[at])
        except ValueError:
            onset = math.nan
        if not math.isfinite(onset):
            raise RecordingFormatError(
                f"the onset {cells[at]!r} is not a number of seconds; fix the row or "
                "leave it out.", path, line)
        try:
            duration = float(cells[lasts]) if lasts is not None else 0.0
        except ValueError:
            duration = 0.0
        out.append((onset, duration if math.isfinite(duration) and duration > 0 else 0.0,
                    text))
    return out


def bids_markers(fname, rec, skip=()) -> list[tuple[float, str]]:
    """The markers of the events table beside ``fname`` that ``rec`` (read from
    it) does not hold already, stamped on its clock. Texts starting with one
    of ``skip`` (gaps, rails, padding: not markers when read from the file)
    are left out."""
    tsv = events_tsv(fname)
    if tsv is None or not rec.n_times:
        return []
    t0, half = float(rec.timestamps[0]), 0.5 / rec.sfreq
    held = {}
    for t, text in rec.markers:
        held.setdefault(text, []).append(t)
    out, spans = [], []
    for onset, duration, text in read_events_tsv(tsv):
        t = t0 + onset
        if text.startswith(tuple(skip)) or any(abs(t - u) <= half for u in held.get(text, ())):
            continue
        out.append((t, text))
        if duration:  # labels from markers end with it, as an annotation's
            spans.append((t, t + duration, text))
    if spans:
        rec.provenance["marker_spans"] = sorted(
            [*rec.provenance.get("marker_spans", ()), *spans])
    if out:
        rec.provenance["events_tsv"] = str(tsv)
        rec.provenance.setdefault("assumed", []).append(
            f"{counted(len(out), 'marker comes', 'markers come')} from {tsv.name} beside "
            "the file (its BIDS events), which the file itself does not hold")
    return out
