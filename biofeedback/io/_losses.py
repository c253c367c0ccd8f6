"""Losses recorded as markers: written by a session, read back exactly.

A live session marks every sample it lost ("dropped n=K" for lost packets,
"gap_start"/"gap_end ... n=K" for a lost stream) after a
:data:`LOSSES_MARKED` marker, so readers count losses as the session counted
them (from the packet counter), not from timestamps.
"""

from __future__ import annotations

from .._markers import DROPPED, GAP_END, GAP_START, LOSSES_MARKED
from .._words import counted
from ._types import Gap

# LOSSES_MARKED says that every loss of the recording is marked: "dropped n=K"
# for lost packets, "gap_start"/"gap_end ... n=K" for a lost stream. A live
# session writes it first; readers then count losses from the markers, exactly
# as the session counted them (from the packet counter), not from timestamps.


def _marker_fields(text):
    out = {}
    for part in text.split()[1:]:
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out


def loss_markers(gaps, sfreq, markers=()):
    """Markers that record ``gaps`` exactly (see :data:`LOSSES_MARKED`).

    Outages already announced by ``gap_end`` markers in ``markers`` are not
    repeated.

    Returns
    -------
    markers : list of (float, str)
        Sorted by time, :data:`LOSSES_MARKED` excluded.
    """
    announced = any(str(text).startswith(GAP_END) for _, text in markers)
    out = []
    for g in gaps:
        if g.source == "marker":
            if not announced:
                out.append((g.onset, GAP_START))
                out.append((g.onset + g.duration,
                            f"{GAP_END} duration={g.duration:.6f} n={g.n_missing}"))
        else:
            out.append((g.onset, f"{DROPPED} n={g.n_missing} duration={g.duration:.6f} "
                                 f"source={g.source}"))
    return sorted(out, key=lambda m: m[0])


def _number(fields, key, kind, bad=None):
    """``fields[key]`` as ``kind`` (None when absent); a value that is not a
    finite number >= 0 is None too, and its key goes into ``bad``."""
    if key not in fields:
        return None
    try:
        value = kind(fields[key])
    except ValueError:
        value = None
    if value is None or not (0 <= value < float("inf")):
        if bad is not None:
            bad.append(key)
        return None
    return value


def _malformed(warnings, word, t, fields, bad, stream, outcome):
    if warnings is not None and bad:
        values = ", ".join(f"{k}={fields[k]!r}" for k in bad)
        warnings.append(f"The {word} marker at {t:.3f} s for the EEG stream {stream!r} has "
                        f"{values}, which is not a valid number; {outcome}.")


def marker_gaps(markers, sfreq, *, warnings=None, stream="EEG"):
    """Lost-stream outages that "gap_start"/"gap_end" markers announce.

    A ``gap_end`` marker's ``n=`` is the number of samples the session found
    missing when the stream came back; it is the count, and ``duration=``
    (written to the millisecond) only stands in for it in markers that lack
    it (``round(duration * sfreq)``). Without a ``gap_start`` the outage
    ends at the ``gap_end`` marker and lasts its ``duration``. A ``duration=``
    or ``n=`` that is not a number counts as absent and is said in
    ``warnings`` (a list, naming ``stream``, the EEG stream), never silently.
    A ``gap_end`` with ``n=0`` closes a stall (the stream went silent, then
    sent every sample): no outage.

    Returns
    -------
    gaps : list of Gap
        In marker order, ``source="marker"``.
    """
    gaps, start = [], None
    for t, text in markers:
        word = text.split(" ", 1)[0]
        if word == GAP_START:
            start = float(t)
        elif word == GAP_END:
            fields, bad = _marker_fields(text), []
            dur = _number(fields, "duration", float, bad)
            n = _number(fields, "n", int, bad)
            onset = start if start is not None else float(t) - (dur or 0.0)
            if dur is None:
                dur = float(t) - onset
            if n is None:
                n = int(round(dur * sfreq)) if sfreq else 0
            _malformed(warnings, word, float(t), fields, bad, stream,
                       f"the outage is read as {dur:.3f} s and {counted(n, 'sample')}")
            if n > 0:  # n=0: the stream stalled and then sent every sample
                gaps.append(Gap(onset=onset, duration=dur, n_missing=n, source="marker"))
            start = None
    return gaps


def gaps_from_loss_markers(markers, sfreq, *, warnings=None, stream="EEG"):
    """Losses a recording marked itself, and its other markers.

    Returns
    -------
    gaps : list of Gap | None
        None when the markers do not hold :data:`LOSSES_MARKED` (losses must
        then be found from timestamps or a packet counter).
    markers : list of (float, str)
        The markers without the bookkeeping ones ("dropped", "losses_marked");
        "gap_start"/"gap_end" stay (they tell people where the stream was lost).

    A marker whose count or duration is not a number is said in ``warnings``
    (see :func:`marker_gaps`).
    """
    if not any(text == LOSSES_MARKED for _, text in markers):
        return None, list(markers)
    gaps, rest = [], []
    for t, text in markers:
        word = text.split(" ", 1)[0]
        if word == LOSSES_MARKED:
            continue
        if word == DROPPED:
            fields, bad = _marker_fields(text), []
            n = _number(fields, "n", int, bad)
            dur = _number(fields, "duration", float, bad)
            if bad:
                _malformed(warnings, word, float(t), fields, bad, stream,
                           "that loss is not counted")
                continue
            n = n or 0
            if dur is None:
                dur = n / sfreq if sfreq else 0.0
            if n > 0:
                gaps.append(Gap(onset=float(t), duration=dur, n_missing=n,
                                source=fields.get("source", "packet_counter")))
            continue
        rest.append((t, text))
    gaps.extend(marker_gaps(rest, sfreq, warnings=warnings, stream=stream))
    return sorted(gaps, key=lambda g: g.onset), rest


_OUTAGES = ("marker", "packet_counter_restart")


def loss_counts(gaps) -> dict:
    """Samples lost to dropped packets and to outages (lost streams, and a
    board's stream restarted: the pause its packet counter cannot count).

    Returns
    -------
    counts : dict
        ``dropped`` (samples) in ``drops`` (events), ``outage`` (samples) in
        ``outages`` (events) and their sum ``total``.
    """
    outages = [g for g in gaps if g.source in _OUTAGES]
    drops = [g for g in gaps if g.source not in _OUTAGES]
    dropped = sum(int(g.n_missing) for g in drops)
    outage = sum(int(g.n_missing) for g in outages)
    return {"dropped": dropped, "drops": len(drops), "outage": outage,
            "outages": len(outages), "total": dropped + outage}
