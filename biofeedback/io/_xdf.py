"""XDF, the project's own recording format: read with pyxdf.

A live session records the streams "biofeedback-EEG" (µV), "biofeedback-Estimates"
(irregular), "biofeedback-Markers" and "biofeedback-Cues" (strings, irregular)
with LabRecorder, plus a JSON sidecar ``<stem>.json``. The writer of the same
layout, :func:`write_xdf`, lives in :mod:`biofeedback.io._xdf_write` (and is
imported here too).

The file's chunk structure and pyxdf's load of it (damaged files read up to
their last whole chunk) are in :mod:`biofeedback.io._xdf_file`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._logging import logger
from .._words import agree, counted, listed
from ..errors import RecordingFormatError
from ..stream._peers import _eeg_channels, printable, regular_rate, stamp_clock, unit_scale
from ._integrity import (
    channel_problems,
    check_timestamps,
    counted_rate,
    gap_warning,
    gaps_from_loss_markers,
    marker_gaps,
    timestamp_gaps,
    timestamp_steps,
)
from ._recording import Gap, Recording, Stream, kept_bads, marked_bad, stated_mains
from ._sidecar import read_sidecar
from ._xdf_file import LOAD_OPTIONS, load_streams, scan_chunks  # noqa: F401 (scan_chunks)
from ._xdf_pick import _choose_eeg, _first, _free_key
from ._xdf_write import (  # noqa: F401 (one place to import)
    EEG_NAME,
    MARKERS_NAME,
    numeric_markers,
    write_xdf,
)

#: How stamps on either side of a clock mismatch are said (Unix time or not).
_CLOCKS = {True: "Unix time (time.time(), as muse-lsl stamps by default)",
           False: "the LSL clock (or a clock of its own)"}


def _channel_meta(info):
    desc = _first(info, "desc")
    chans = _first(desc, "channels") if isinstance(desc, dict) else None
    out = []
    if isinstance(chans, dict):
        for ch in chans.get("channel", []) or []:
            out.append({
                # <name> where a lab script wrote it instead (as live sessions read it)
                "label": _first(ch, "label", "") or _first(ch, "name", ""),
                "unit": _first(ch, "unit", ""),
                "type": _first(ch, "type", ""),
            })
    return out


#: muse-lsl's EEG stream of a Muse 2016, 2 or S (its lsl_outlet): these channels
#: at 256 Hz. A Muse S Athena's has no Right AUX and another scale.
_MUSE_LSL_EEG = ["TP9", "AF7", "AF8", "TP10", "Right AUX"]


def _is_muse_lsl(info):
    """Whether the EEG stream is muse-lsl's of a Muse 2016, 2 or S: named or
    made by 'Muse', its channels and rate muse-lsl's."""
    desc = _first(info, "desc")
    maker = _first(desc, "manufacturer", "") if isinstance(desc, dict) else ""
    try:
        rate = float(_first(info, "nominal_srate", 0.0))
    except (TypeError, ValueError):
        return False
    return ("Muse" in (maker, _first(info, "name", "")) and rate == 256.0
            and [m["label"] for m in _channel_meta(info)] == _MUSE_LSL_EEG)


def _bf_meta(info):
    desc = _first(info, "desc")
    bf = _first(desc, "biofeedback") if isinstance(desc, dict) else None
    if not isinstance(bf, dict):
        return {}
    return {k: _first(bf, k) for k in bf}


def _bads(text, ch_names):
    """The channels the EEG stream's header marks bad (a converted MNE file's)."""
    import json

    try:
        return kept_bads(json.loads(text), ch_names) if text else []
    except ValueError:
        return []


def _marker_spans(text, markers, warnings):
    """The spans ``(start, stop, text)`` the EEG stream's header keeps for the
    markers written with a duration (an MNE file's annotations, converted):
    those of markers the file holds. A list the writer did not write (edited,
    damaged) is ignored with a warning: its markers then last to the next one."""
    import json
    import math

    if not text:
        return []

    def number(v):
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    try:
        spans = json.loads(text)
    except ValueError:
        spans = None
    if not (isinstance(spans, list) and all(
            isinstance(sp, list) and len(sp) == 3 and number(sp[0]) and number(sp[1])
            and isinstance(sp[2], str) for sp in spans)):
        warnings.append("The EEG stream's header holds marker spans that cannot be "
                        "read; they are ignored, so each marker lasts until the next.")
        return []
    held = {(float(t), str(s)) for t, s in markers}
    return sorted((float(a), float(b), s) for a, b, s in spans
                  if (a, s) in held and b >= a)


def _rate_of_irregular(ts, name, fname, warnings):
    """The rate of an EEG stream declared irregular (nominal rate 0).

    Some senders declare EEG irregular; when its timestamps are regular
    anyway (the middle 90 % of steps within 10 % of their median), their
    median step gives the rate. Otherwise it stays 0 (readable, not windowable).
    """
    rate = regular_rate(ts)
    if rate is not None:
        warnings.append(
            f"The EEG stream {name!r} declares no rate (irregular, nominal_srate "
            f"0); its timestamps are regular, so it is read at their rate, "
            f"{rate:g} Hz."
        )
        return rate
    warnings.append(
        f"The stream {name!r} is irregular (nominal_srate 0) and its timestamps are "
        "not evenly spaced: it can be inspected but not windowed (replay needs EEG at "
        "a fixed rate; pass --stream NAME to read another stream)."
    )
    return 0.0


def _merge_gaps(ts_gaps, marker_gaps, period):
    """Keep timestamp gaps (exact counts); tag those a marker also announced."""
    out = []
    used = set()
    for g in ts_gaps:
        for j, m in enumerate(marker_gaps):
            if j in used:
                continue
            lo, hi = m.onset - 1.0, m.onset + m.duration + 1.0
            if lo <= g.onset <= hi:
                used.add(j)
                g = Gap(g.onset, g.duration, g.n_missing, source="marker")
                break
        out.append(g)
    out.extend(m for j, m in enumerate(marker_gaps) if j not in used)
    return sorted(out, key=lambda g: g.onset)


_SEGMENTS = re.compile(r"Stream (\d+): Segments and clock-segments differ")


def _pyxdf_messages(logged, streams):
    """pyxdf's log lines, said in the user's terms where we know what they mean."""
    out, unsynced = [], []
    by_id = {str(_first(s["info"], "stream_id", "")): s for s in streams}
    for msg in logged:
        m = _SEGMENTS.fullmatch(str(msg).strip())
        s = by_id.get(m.group(1)) if m is not None else None
        if s is not None and len(s.get("clock_times", [])) == 0:
            unsynced.append(repr(_first(s["info"], "name", "")))
        else:
            out.append(f"pyxdf: {msg}")
    if unsynced:
        n = len(unsynced)
        out.insert(0, f"{counted(n, 'stream holds', 'streams hold')} no clock offsets "
                      f"({listed(unsynced)}; the recorder did not write them), so "
                      f"{agree(n, 'its', 'their')} timestamps are taken as recorded, not "
                      "synchronised with the file's other streams.")
    return out


def _clock_shifts(sidecar) -> dict:
    """``{(name, source_id): seconds}``: the sidecar's shifts of streams stamped in Unix time.

    A live session records other programs' streams as they are stamped; one
    stamped with Unix time (muse-lsl) is named in the sidecar's
    ``stream_clocks`` with the shift that puts its stamps on the EEG's clock.
    """
    clocks = sidecar.get("stream_clocks") if isinstance(sidecar, dict) else None
    out = {}
    for name, c in (clocks or {}).items() if isinstance(clocks, dict) else ():
        try:
            shift = float(c["shift"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(shift):
            out[(str(name), str(c.get("source_id", "")))] = shift
    return out


def _own_streams(sidecar) -> dict:
    """``{"EEG": source_id, "Markers": ...}`` of a live session's own streams.

    Its sidecar lists them; another session's streams of the same names may be
    in the file too (``--also-record "type='EEG'"`` records every EEG stream on
    the network).
    """
    listed = sidecar.get("streams") if isinstance(sidecar, dict) else None
    if not isinstance(listed, dict):
        return {}
    return {k: v["source_id"] for k, v in listed.items()
            if isinstance(v, dict) and isinstance(v.get("source_id"), str)}


def _file_datetime(header) -> float | None:
    """When the file was begun, in Unix seconds, from the ``datetime`` its
    FileHeader holds (LabRecorder's ``2024-03-05T10:00:00+0100``), or None."""
    from datetime import datetime

    info = header.get("info") if isinstance(header, dict) else None
    text = (info or {}).get("datetime") if isinstance(info, dict) else None
    text = text[0] if isinstance(text, list) and text else text
    try:
        return datetime.fromisoformat(str(text).strip()).timestamp() if text else None
    except (ValueError, OverflowError, OSError):
        return None


def _own_clocks(sidecar) -> set:
    """``{(name, source_id)}`` of the streams the sidecar says are stamped on a
    clock of their own (``"stamps": "own"``): not to be lined up with the EEG."""
    clocks = sidecar.get("stream_clocks") if isinstance(sidecar, dict) else None
    return {(str(name), str(c.get("source_id", "")))
            for name, c in (clocks.items() if isinstance(clocks, dict) else ())
            if isinstance(c, dict) and c.get("stamps") == "own"}


def read_xdf(fname, *, profile=None, stream=None):
    """Read an XDF file (LabRecorder or :func:`write_xdf`).

    See :func:`biofeedback.io.read_recording` for the parameters.
    """
    fname = Path(fname)
    warnings = []
    valid_end, size, cut, counts = scan_chunks(fname)
    if cut == "corrupt chunk header":
        warnings.append(
            f"The file is corrupt from byte {valid_end} of {size} (not a chunk "
            f"header); read the whole chunks before it, {size - valid_end} bytes cut."
        )
    elif cut is not None:
        warnings.append(
            f"The file ends inside a {cut} chunk at byte {valid_end} of {size} "
            f"(the recorder was probably killed); read up to the last whole chunk, "
            f"{size - valid_end} bytes cut."
        )
    streams, header, logged = load_streams(fname, valid_end, size)
    warnings.extend(_pyxdf_messages(logged, streams))
    if not streams:
        raise RecordingFormatError(
            "this XDF file holds no streams"
            + (f" ({warnings[0]})" if cut is not None else "") + ".", fname)
    sidecar = read_sidecar(fname, warnings)
    ours = _own_streams(sidecar)
    if stream in (None, EEG_NAME) and \
            ours.get("EEG") in {_first(s["info"], "source_id") for s in streams}:
        # another session's biofeedback-EEG recorded beside (--also-record) is not it
        stream = ours["EEG"]
    eeg = _choose_eeg(streams, stream, fname, warnings)
    info = eeg["info"]
    eeg_name = _first(info, "name", "")
    n_ch = int(_first(info, "channel_count", 0))
    sfreq = float(_first(info, "nominal_srate", 0.0))
    chans = _channel_meta(info)
    if len(chans) == n_ch:
        ch_names = [c["label"] or f"ch{i + 1}" for i, c in enumerate(chans)]
    else:
        ch_names = [f"ch{i + 1}" for i in range(n_ch)]
    values = np.asarray(eeg["time_series"], dtype=np.float64).reshape(-1, n_ch)
    units = [(c["unit"] or "").strip() for c in chans] if len(chans) == n_ch else [""] * n_ch
    # inputs riding along on the EEG stream (muse-lsl's 'Right AUX', declared
    # EEG; channels typed AUX, accelerometer...) are not EEG, as live
    keep = _eeg_channels([c["label"] for c in chans], [c["type"] for c in chans], n_ch)
    aux = [i for i in range(n_ch) if i not in keep]
    aux_stream = None
    if aux:
        aux_scales = np.array([unit_scale(units[i]) or 1.0 for i in aux])
        aux_stream = Stream(
            name="aux", type="AUX", data=np.ascontiguousarray(values[:, aux].T
                                                             * aux_scales[:, None]),
            timestamps=None, ch_names=[ch_names[i] for i in aux], sfreq=sfreq,
            meta={"units": ["volts" if unit_scale(units[i]) else units[i] for i in aux]})
        values = values[:, keep]
        ch_names = [ch_names[i] for i in keep]
        units = [units[i] for i in keep]
        n_ch = len(keep)
    scales = np.empty(n_ch)
    missing_unit = []
    unknown_unit = set()
    for i in range(n_ch):
        unit = units[i]
        if not unit:
            missing_unit.append(ch_names[i])
            scales[i] = 1e-6
        elif unit_scale(unit) is not None:
            scales[i] = unit_scale(unit)
        else:
            unknown_unit.add(unit)
            scales[i] = 1e-6
    if missing_unit:
        warnings.append(
            f"{counted(len(missing_unit), 'channel')} of stream {eeg_name!r} "
            f"{agree(len(missing_unit), 'declares', 'declare')} no unit "
            f"({listed(missing_unit)}); assumed microvolts."
        )
    if unknown_unit:
        warnings.append(
            f"Unknown channel {agree(len(unknown_unit), 'unit', 'units')} "
            f"{listed(sorted(unknown_unit))}; assumed microvolts."
        )
    data = np.ascontiguousarray(values.T * scales[:, None])
    ts = np.ascontiguousarray(eeg["time_stamps"], dtype=np.float64)
    if ts.size == 0:
        summary = sidecar.get("summary") if isinstance(sidecar, dict) else None
        why = ""
        if isinstance(summary, dict) and summary.get("n_samples") == 0:
            # a live session that ended before its source sent a sample
            why = ("; the session that recorded it ended before its source sent any: "
                   "start it again once the source is sending")
        raise RecordingFormatError(
            f"the EEG stream {eeg_name!r} holds no samples"
            + (f" ({warnings[0]})" if cut is not None else "") + why + ".", fname)
    if stamp_clock(ts) == "unix_ms":
        # a sender stamping with Date.now() (JavaScript, game engines), recorded as sent
        ts = ts / 1000.0
        warnings.append(
            f"The EEG stream {eeg_name!r} is stamped with Unix time in milliseconds "
            "(as JavaScript's Date.now() gives), not seconds; its stamps were read as "
            "milliseconds.")
    wild = ~(np.abs(ts) < 1e11)  # beyond the year 5000 in Unix seconds, or NaN
    if wild.any():
        # samples that do not match their header (channel count, format) are
        # read as other bytes: timestamps come out as any number at all
        raise RecordingFormatError(
            f"the EEG stream {eeg_name!r} holds timestamps that are no clock's (such as "
            f"{ts[wild][0]:.3g} s): the file is damaged, or its samples do not match its "
            f"stream header ({counted(n_ch, 'channel')} of {_first(info, 'channel_format', '?')}); "
            "write it again from its source.", fname)

    shifts = _clock_shifts(sidecar)
    own = _own_clocks(sidecar)
    markers = []
    eeg_unix = stamp_clock(ts) == "unix"
    others = {}
    if aux_stream is not None:
        aux_stream.timestamps = ts
        others["aux"] = aux_stream
    # the recording's own losses are marked in its own marker stream: a gap_start
    # another program sent (an also-recorded stream) is its marker, not a loss
    own_markers = None
    moved = {}
    # the session's own streams first: theirs are the plain names in rec.streams
    own_ids = set(ours.values())
    for s in sorted(streams, key=lambda s: _first(s["info"], "source_id") not in own_ids):
        if s is eeg:
            continue
        sinfo = s["info"]
        name = _first(sinfo, "name", f"stream{_first(sinfo, 'stream_id')}")
        stype = _first(sinfo, "type", "") or ""
        s_ts = np.ascontiguousarray(s["time_stamps"], dtype=np.float64)
        if stamp_clock(s_ts) == "unix_ms":  # Date.now() too, as the EEG may be
            s_ts = s_ts / 1000.0
        key = (name, _first(sinfo, "source_id", ""))
        shift = shifts.get(key)
        if shift is not None and s_ts.size:  # Unix-time stamps, onto the EEG's clock
            s_ts = s_ts + shift
            moved[name] = shift
        if key in own:
            warnings.append(
                f"The stream {printable(name)!r} is stamped on a clock of its own (the "
                "sidecar's stream_clocks): its times cannot be lined up with the EEG's.")
        elif shift is None and s_ts.size and (stamp_clock(s_ts) == "unix") != eeg_unix:
            # muse-lsl stamps with time.time() unless told --lsltime; LabRecorder
            # records the stamps as sent, and nothing in the file gives the shift
            warnings.append(
                f"The stream {printable(name)!r} is stamped with "
                f"{_CLOCKS[not eeg_unix]} and the EEG stream {printable(eeg_name)!r} with "
                f"{_CLOCKS[eeg_unix]}: its {counted(s_ts.size, 'sample')} cannot be lined "
                "up with the EEG's, and the file does not say by how much they are apart; "
                "record with every sender on the LSL clock (muse-lsl: 'muselsl stream "
                "--lsltime').")
        meta = _channel_meta(sinfo)
        if _first(sinfo, "channel_format") == "string":
            texts = ["|".join(v) if len(v) > 1 else (v[0] if v else "")
                     for v in s["time_series"]]
            if name == MARKERS_NAME and ours.get("Markers") in (
                    None, _first(sinfo, "source_id")):
                own_markers = (own_markers or []) + list(zip(s_ts.tolist(), texts))
            else:
                markers.extend(zip(s_ts.tolist(), texts))
            others[_free_key(others, name, sinfo)] = Stream(
                name=name, type=stype or "Markers", data=texts, timestamps=s_ts,
                ch_names=[m["label"] for m in meta][:1], sfreq=0.0,
                meta={"format": "string"})
        else:
            nch = int(_first(sinfo, "channel_count", 0))
            arr = np.asarray(s["time_series"], dtype=np.float64).reshape(-1, nch)
            labels = ([m["label"] for m in meta] if len(meta) == nch
                      else [f"ch{i + 1}" for i in range(nch)])
            markers.extend(numeric_markers(  # codes sent as numbers
                stype, s_ts, arr, float(_first(sinfo, "nominal_srate", 0.0))))
            others[_free_key(others, name, sinfo)] = Stream(
                name=name, type=stype, data=np.ascontiguousarray(arr.T),
                timestamps=s_ts, ch_names=labels,
                sfreq=float(_first(sinfo, "nominal_srate", 0.0)),
                meta={"units": [m["unit"] for m in meta] if len(meta) == nch
                      else [""] * nch,
                      "format": _first(sinfo, "channel_format")},
            )
    if own_markers is None:  # no stream of ours: losses may be marked in any
        own_markers, markers = markers, []
    own_markers.sort(key=lambda m: m[0])

    if sfreq <= 0:
        sfreq = _rate_of_irregular(ts, eeg_name, fname, warnings)
    steps = timestamp_steps(ts, sfreq)  # the steps and their threshold, once
    marked, own_markers = gaps_from_loss_markers(own_markers, sfreq, warnings=warnings,
                                                 stream=eeg_name)
    measured, ts_warn = check_timestamps(ts, sfreq, steps=steps, declared=marked is None)
    warnings.extend(ts_warn)
    if marked is not None:  # the recording counted its own losses: trust that count
        gaps = marked
        # and its rate: a sender (OpenBCI GUI, BrainFlow) that stamps samples as
        # it pushes them stamps them in bursts, whose steps say nothing of the
        # rate (the steps within bursts alone read 11 kHz for 250 Hz)
        measured, rate_warn = counted_rate(
            ts, marked, sfreq, counted="the samples and the losses the session counted")
        warnings.extend(rate_warn)
    else:
        gaps = _merge_gaps(timestamp_gaps(ts, sfreq, steps=steps),
                           marker_gaps(own_markers, sfreq, warnings=warnings,
                                       stream=eeg_name),
                           1.0 / sfreq if sfreq else 0.0)
    markers = sorted(own_markers + markers, key=lambda m: m[0])
    warnings.extend(gap_warning(gaps))
    del steps

    bf = _bf_meta(info)
    prof = profile
    if prof is None and isinstance(sidecar, dict):
        # a live session's sidecar names the profile under "board_profile"
        prof = (sidecar.get("profile") or sidecar.get("board_profile")
                or sidecar.get("board"))
        if isinstance(prof, dict):
            prof = prof.get("name")
    if prof is None:
        prof = bf.get("profile")
    if prof is None and _is_muse_lsl(info):
        prof = "muse_2016"  # as muse-lsl's CSV files are read
    import pyxdf

    rail = None
    if prof:
        try:
            from ..hardware import get_profile

            rail = get_profile(prof).rail_uv * 1e-6 or None
        except Exception:  # a profile name this installation does not know
            warnings.append(f"Unknown board profile {prof!r}; railed channels not "
                            "checked.")
    problems, w = channel_problems(data, ch_names, rail)
    warnings.extend(w)
    provenance = {
        "channel_problems": problems,
        "fname": str(fname),
        "reader": "pyxdf",
        "pyxdf_version": getattr(pyxdf, "__version__", "unknown"),  # not every release has one
        "load_options": dict(LOAD_OPTIONS),
        "eeg_stream": eeg_name,
        "streams": [_first(s["info"], "name") for s in streams],
        "file_header": header,
        "chunks": counts,
        "measured_sfreq": measured,
        "losses_from": "markers" if marked is not None else "timestamps",
    }
    if aux_stream is not None:
        provenance["dropped_columns"] = aux_stream.ch_names
        provenance["dropped_reason"] = "AUX inputs are not EEG; kept in streams['aux']"
    when = _file_datetime(header)
    if when is not None:  # the clock is LSL's: the file's header dates the recording
        provenance["recorded_at"] = when
    if bf.get("source_format"):
        provenance["converted_from"] = bf["source_format"]
    bads = _bads(bf.get("bads"), ch_names)
    if bads:  # marked by whoever looked at the data it was converted from
        provenance["bads"] = bads
        warnings.append(marked_bad(bads))
    mains = stated_mains(bf.get("line_freq"))
    if mains:  # the mains its source stated (a converted MNE file's)
        provenance["line_freq"] = mains
    spans = _marker_spans(bf.get("marker_spans"), markers, warnings)
    if spans:  # where each marker with a duration ends: labelling stops there
        provenance["marker_spans"] = spans
    if sidecar is not None:
        provenance["sidecar"] = sidecar
    if moved:
        provenance["moved_stamps"] = moved
    if cut is not None:
        provenance["truncated"] = {"cut_in": cut, "valid_bytes": valid_end,
                                   "size": size}
    for w in warnings:
        logger.info("%s: %s", fname.name, w)
    return Recording(
        data=data, sfreq=sfreq, ch_names=ch_names, timestamps=ts, markers=markers,
        gaps=gaps, streams=others, source_format="xdf", provenance=provenance,
        warnings=warnings, profile=str(prof) if prof else None,
    )
