"""XDF, the project's own recording format: read with pyxdf, written in pure Python.

A live session records the streams "biofeedback-EEG" (µV), "biofeedback-Estimates"
(irregular), "biofeedback-Markers" and "biofeedback-Cues" (strings, irregular)
with LabRecorder, plus a JSON sidecar ``<stem>.json``. :func:`write_xdf` writes
the same layout so simulated and converted recordings need no LabRecorder.

XDF layout (https://github.com/sccn/xdf/wiki/Specifications): the magic
``XDF:`` then chunks ``[NumLengthBytes][Length][Tag][Content]``; ``Length``
counts the 2-byte tag and the content.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from .._logging import logger
from ..errors import RecordingFormatError
from ._integrity import (
    LOSSES_MARKED,
    channel_problems,
    check_timestamps,
    gap_warning,
    gaps_from_loss_markers,
    loss_markers,
    read_sidecar,
    timestamp_gaps,
)
from ._recording import Gap, Recording, Stream

EEG_NAME = "biofeedback-EEG"
MARKERS_NAME = "biofeedback-Markers"

# pyxdf load options: clocks synchronised, no dejittering (it moves irregular
# events onto a line, pyxdf#34).
LOAD_OPTIONS = dict(synchronize_clocks=True, dejitter_timestamps=False)

_UNIT_SCALE = {
    "microvolts": 1e-6,
    "microvolt": 1e-6,
    "uv": 1e-6,
    "µv": 1e-6,
    "μv": 1e-6,
    "millivolts": 1e-3,
    "millivolt": 1e-3,
    "mv": 1e-3,
    "volts": 1.0,
    "volt": 1.0,
    "v": 1.0,
    "nanovolts": 1e-9,
    "nanovolt": 1e-9,
    "nv": 1e-9,
}

_TAGS = {1: "FileHeader", 2: "StreamHeader", 3: "Samples", 4: "ClockOffset",
         5: "Boundary", 6: "StreamFooter"}

_BOUNDARY_UUID = bytes.fromhex("43A5464CC7CB4A43E36CB5BEE8EDDAD8")[::-1]


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def _varlen(n: int) -> bytes:
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes, stream_id: int | None = None) -> bytes:
    if stream_id is not None:
        content = struct.pack("<I", stream_id) + content
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


def _stream_xml(name, type_, ch_names, units, ch_types, sfreq, fmt, extra=""):
    channels = "".join(
        f"<channel><label>{escape(str(ch))}</label>"
        + (f"<unit>{escape(u)}</unit>" if u else "")
        + (f"<type>{escape(t)}</type>" if t else "")
        + "</channel>"
        for ch, u, t in zip(ch_names, units, ch_types)
    )
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{escape(name)}</name><type>{escape(type_)}</type>"
        f"<channel_count>{len(ch_names)}</channel_count>"
        f"<nominal_srate>{float(sfreq)!r}</nominal_srate>"
        f"<channel_format>{fmt}</channel_format>"
        f"<source_id>{escape(name)}</source_id><version>1.1</version>"
        f"<created_at>0</created_at><uid>{uuid.uuid4()}</uid>"
        "<session_id>default</session_id><hostname>localhost</hostname>"
        f"<desc><channels>{channels}</channels>{extra}</desc></info>"
    ).encode()


def _numeric_samples(ts, values, block):
    """Yield Samples chunk contents for float64 ``values`` (n_times, n_ch)."""
    n_ch = values.shape[1]
    dtype = np.dtype([("tsb", "u1"), ("ts", "<f8"), ("v", "<f8", (n_ch,))])
    for start in range(0, len(ts), block):
        stop = min(start + block, len(ts))
        rec = np.empty(stop - start, dtype=dtype)
        rec["tsb"] = 8
        rec["ts"] = ts[start:stop]
        rec["v"] = values[start:stop]
        yield _varlen(stop - start) + rec.tobytes()


def _string_samples(ts, values, block):
    for start in range(0, len(ts), block):
        stop = min(start + block, len(ts))
        parts = [_varlen(stop - start)]
        for t, v in zip(ts[start:stop], values[start:stop]):
            raw = str(v).encode("utf-8")
            parts.append(b"\x08" + struct.pack("<d", float(t)) + _varlen(len(raw)) + raw)
        yield b"".join(parts)


def _footer(ts, clock):
    first = float(ts[0]) if len(ts) else 0.0
    last = float(ts[-1]) if len(ts) else 0.0
    offsets = "".join(
        f"<offset><time>{t!r}</time><value>{v!r}</value></offset>" for t, v in clock
    )
    return (
        '<?xml version="1.0"?><info>'
        f"<first_timestamp>{first!r}</first_timestamp>"
        f"<last_timestamp>{last!r}</last_timestamp>"
        f"<sample_count>{len(ts)}</sample_count>"
        f"<clock_offsets>{offsets}</clock_offsets></info>"
    ).encode()


def _streams_to_write(rec: Recording):
    """List (name, type, ch_names, units, ch_types, sfreq, fmt, ts, values, extra)."""
    out = []
    prof = f"<profile>{escape(rec.profile)}</profile>" if rec.profile else ""
    extra = (
        f"<biofeedback>{prof}<source_format>{escape(rec.source_format)}"
        "</source_format></biofeedback>"
    )
    eeg_name = rec.provenance.get("eeg_stream", EEG_NAME) if rec.source_format == "xdf" \
        else EEG_NAME
    out.append((
        eeg_name, "EEG", rec.ch_names, ["microvolts"] * len(rec.ch_names),
        ["EEG"] * len(rec.ch_names), rec.sfreq, "double64", rec.timestamps,
        rec.data.T * 1e6, extra,
    ))
    in_streams = set()
    for st in rec.streams.values():
        if isinstance(st.data, np.ndarray):
            data = np.atleast_2d(np.asarray(st.data, dtype=np.float64))
            ch = list(st.ch_names) or [f"ch{i + 1}" for i in range(data.shape[0])]
            units = list(st.meta.get("units", [""] * len(ch)))
            out.append((st.name, st.type, ch, units, [""] * len(ch), st.sfreq,
                        "double64", st.timestamps, data.T, ""))
        else:
            texts = [str(t) for t in st.data]
            in_streams.update(zip(np.round(st.timestamps, 9).tolist(), texts))
            out.append((st.name, st.type or "Markers", [st.ch_names[0] if st.ch_names
                        else "marker"], [""], [""], 0.0, "string",
                        st.timestamps, texts, ""))
    rest = [
        (t, s) for t, s in rec.markers if (round(float(t), 9), s) not in in_streams
    ]
    counted = any(g.source.startswith("packet_counter") for g in rec.gaps)
    if counted and not any(s == LOSSES_MARKED for _, s in list(rec.markers) + sorted(in_streams)):
        # losses counted from a packet counter are written as markers, so readers
        # count what the writer knew, not what jittery timestamps suggest
        t_first = float(rec.timestamps[0]) if rec.n_times else 0.0
        losses = loss_markers(rec.gaps, rec.sfreq, rec.markers)
        line = _offset_line(rec)
        if line is not None:  # gaps are on the device clock, markers on the host's
            losses = [(t + line[0] + line[1] * t, text) for t, text in losses]
        rest = sorted(rest + [(t_first, LOSSES_MARKED)] + losses, key=lambda m: m[0])
    if rest:
        names = [o[0] for o in out]
        if MARKERS_NAME in names:  # merge into the existing marker stream
            i = names.index(MARKERS_NAME)
            o = out[i]
            pairs = sorted(list(zip(np.asarray(o[7]).tolist(), o[8])) + rest)
            out[i] = o[:7] + (np.array([p[0] for p in pairs]),
                              [p[1] for p in pairs], o[9])
        else:
            out.append((MARKERS_NAME, "Markers", ["marker"], [""], [""], 0.0,
                        "string", np.array([t for t, _ in rest]),
                        [s for _, s in rest], ""))
    return out


def _clock_offsets(rec):
    """(times, values) of the EEG stream's clock offsets, or None (all zero)."""
    clock = rec.provenance.get("clock_offsets") if rec.source_format != "xdf" else None
    if not isinstance(clock, dict):
        return None
    times = np.asarray(clock.get("times", []), dtype=float)
    values = np.asarray(clock.get("values", []), dtype=float)
    if times.size == 0 or times.shape != values.shape:
        return None
    return times, values


def _offset_line(rec):
    """(a, b) of the straight line pyxdf fits to the clock offsets, or None."""
    clock = _clock_offsets(rec)
    if clock is None:
        return None
    times, values = clock
    if times.size < 2:
        return float(values[0]), 0.0
    b, a = np.polyfit(times, values, 1)
    return float(a), float(b)


def write_xdf(recording: Recording, fname, *, overwrite=False, block=None):
    """Write ``recording`` as XDF, in the layout a live session records.

    Parameters
    ----------
    recording : Recording
        EEG in volts; written as µV with ``unit`` "microvolts".
    fname : path-like
        Output ``.xdf`` file.
    overwrite : bool
        Replace an existing file.
    block : int | None
        Samples per Samples chunk (default: one second of EEG, at least 32).

    Notes
    -----
    Marker streams and every :class:`Stream` of the recording are written as
    their own streams; markers not in any string stream go to
    "biofeedback-Markers". A JSON sidecar is written beside the file only when
    ``recording.provenance["sidecar"]`` holds one.
    """
    fname = Path(fname)
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists; pass overwrite=True to replace it.")
    if block is None:
        block = max(int(recording.sfreq or 0), 32)
    streams = _streams_to_write(recording)
    with open(fname, "wb") as fid:
        fid.write(b"XDF:")
        fid.write(_chunk(1, b'<?xml version="1.0"?><info><version>1.0</version>'
                            b"</info>"))
        for sid, s in enumerate(streams, start=1):
            name, type_, ch, units, types, sfreq, fmt, ts, values, extra = s
            fid.write(_chunk(2, _stream_xml(name, type_, ch, units, types, sfreq,
                                            fmt, extra), sid))
        clocks = {}
        eeg_clock = _clock_offsets(recording)  # a device clock's measured offsets
        for sid, s in enumerate(streams, start=1):
            ts = np.asarray(s[7], dtype=np.float64)
            if sid == 1 and eeg_clock is not None:
                clocks[sid] = list(zip(eeg_clock[0].tolist(), eeg_clock[1].tolist()))
            else:
                clocks[sid] = [(float(ts[0]), 0.0)] if len(ts) else []
            for t, value in clocks[sid]:
                fid.write(_chunk(4, struct.pack("<dd", t, value), sid))
        for sid, s in enumerate(streams, start=1):
            ts = np.asarray(s[7], dtype=np.float64)
            gen = (_string_samples(ts, s[8], block) if s[6] == "string"
                   else _numeric_samples(ts, np.asarray(s[8], dtype=np.float64),
                                         block))
            for content in gen:
                fid.write(_chunk(3, content, sid))
        fid.write(_chunk(5, _BOUNDARY_UUID))
        for sid, s in enumerate(streams, start=1):
            ts = np.asarray(s[7], dtype=np.float64)
            if len(ts) and not (sid == 1 and eeg_clock is not None):
                clocks[sid].append((float(ts[-1]), 0.0))
                fid.write(_chunk(4, struct.pack("<dd", float(ts[-1]), 0.0), sid))
            fid.write(_chunk(6, _footer(ts, clocks[sid]), sid))
    sidecar = recording.provenance.get("sidecar")
    if isinstance(sidecar, dict):
        side = fname.with_suffix(".json")
        side.write_text(json.dumps(sidecar, indent=2, default=str), encoding="utf-8")
    return fname


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
def scan_chunks(fname):
    """Walk the chunk structure without reading samples.

    Returns
    -------
    valid_end : int
        Byte offset just after the last whole chunk.
    size : int
        File size.
    last_tag : str | None
        Kind of the chunk that is cut (None if the file ends cleanly).
    counts : dict
        Number of chunks of each kind.
    """
    fname = Path(fname)
    size = fname.stat().st_size
    counts = {}
    with open(fname, "rb") as fid:
        if fid.read(4) != b"XDF:":
            raise RecordingFormatError("not an XDF file (no 'XDF:' magic).", fname)
        pos = 4
        while pos < size:
            head = fid.read(1)
            if not head:
                break
            nb = head[0]
            if nb not in (1, 4, 8):
                return pos, size, "corrupt chunk header", counts
            raw = fid.read(nb)
            if len(raw) < nb:
                return pos, size, "chunk header", counts
            length = int.from_bytes(raw, "little")
            tag_raw = fid.read(2)
            if len(tag_raw) < 2:
                return pos, size, "chunk header", counts
            tag = struct.unpack("<H", tag_raw)[0]
            end = pos + 1 + nb + length
            if tag not in _TAGS or length < 2:
                return pos, size, "corrupt chunk header", counts
            if end > size:
                return pos, size, _TAGS[tag], counts
            counts[_TAGS[tag]] = counts.get(_TAGS[tag], 0) + 1
            fid.seek(end)
            pos = end
    return pos, size, None, counts


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _load(fname, valid_end, size):
    import pyxdf

    pylog = logging.getLogger("pyxdf.pyxdf")
    cap = _LogCapture()
    pylog.addHandler(cap)
    old_level, old_prop = pylog.level, pylog.propagate
    pylog.setLevel(logging.WARNING)
    pylog.propagate = False  # its tracebacks become our warnings, not output
    import warnings as _w

    try:
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            streams, header = _load_inner(pyxdf, fname, valid_end, size)
        cap.messages.extend(str(c.message) for c in caught)
    except RecordingFormatError:
        raise
    except Exception as err:  # pyxdf raises bare Exceptions on corrupt input
        raise RecordingFormatError(
            f"pyxdf could not read this XDF file ({type(err).__name__}: {err}).",
            fname,
        ) from None
    finally:
        pylog.removeHandler(cap)
        pylog.setLevel(old_level)
        pylog.propagate = old_prop
    return streams, header, cap.messages


def _load_inner(pyxdf, fname, valid_end, size):
    if valid_end < size:
        with open(fname, "rb") as fid:
            src = io.BufferedReader(io.BytesIO(fid.read(valid_end)))
        streams, header = pyxdf.load_xdf(src, **LOAD_OPTIONS)
    else:
        streams, header = pyxdf.load_xdf(str(fname), **LOAD_OPTIONS)
    return streams, header


def _first(d, key, default=None):
    """pyxdf's XML dicts wrap every value in a list."""
    if not isinstance(d, dict):
        return default
    v = d.get(key)
    if isinstance(v, list):
        v = v[0] if v else default
    return default if v is None else v


def _channel_meta(info):
    desc = _first(info, "desc")
    chans = _first(desc, "channels") if isinstance(desc, dict) else None
    out = []
    if isinstance(chans, dict):
        for ch in chans.get("channel", []) or []:
            out.append({
                "label": _first(ch, "label", ""),
                "unit": _first(ch, "unit", ""),
                "type": _first(ch, "type", ""),
            })
    return out


def _bf_meta(info):
    desc = _first(info, "desc")
    bf = _first(desc, "biofeedback") if isinstance(desc, dict) else None
    if not isinstance(bf, dict):
        return {}
    return {k: _first(bf, k) for k in bf}


def _choose_eeg(streams, wanted, fname, warnings):
    numeric = [s for s in streams if _first(s["info"], "channel_format") != "string"]
    names = [_first(s["info"], "name", "") for s in streams]
    if wanted is not None:
        for s in streams:
            if _first(s["info"], "name") == wanted:
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
            others = [_first(s["info"], "name", "") for s in eeg if s is not chosen]
            warnings.append(
                f"The file holds {len(eeg)} EEG streams; read {name!r} (the one with "
                f"the most samples). To read another, pass --stream NAME (stream=NAME): "
                f"{', '.join(map(repr, others))}."
            )
        return chosen
    raise RecordingFormatError(
        "no EEG stream (type 'EEG') in this XDF file; streams are "
        f"{', '.join(map(repr, names)) or 'none'} (pass stream=NAME to choose one).",
        fname,
    )


def _rate_of_irregular(ts, name, fname, warnings):
    """The rate of an EEG stream declared irregular (nominal rate 0).

    Some senders declare EEG irregular; when its timestamps are regular
    anyway (the middle 90 % of steps within 10 % of their median), their
    median step gives the rate. Otherwise it stays 0 (readable, not windowable).
    """
    dt = np.diff(ts)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if dt.size >= 2:
        med = float(np.median(dt))
        lo, hi = np.percentile(dt, [5, 95])
        if med > 0 and lo > 0.9 * med and hi < 1.1 * med:
            rate = float(np.round(1.0 / med, 2))
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


def _marker_gaps(markers, sfreq):
    """Pair "gap_start"/"gap_end" markers into Gaps."""
    gaps = []
    start = None
    for t, text in markers:
        word = text.split(" ", 1)[0]
        if word == "gap_start":
            start = t
        elif word == "gap_end":
            dur = None
            for part in text.split()[1:]:
                if part.startswith("duration="):
                    try:
                        dur = float(part.split("=", 1)[1])
                    except ValueError:
                        dur = None
            onset = start if start is not None else (t - dur if dur else t)
            if dur is None:
                dur = t - onset
            gaps.append(Gap(onset=float(onset), duration=float(dur),
                            n_missing=int(round(dur * sfreq)) if sfreq else 0,
                            source="marker"))
            start = None
    return gaps


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
    streams, header, logged = _load(fname, valid_end, size)
    for msg in logged:
        warnings.append(f"pyxdf: {msg}")
    if not streams:
        raise RecordingFormatError("this XDF file holds no streams.", fname)
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
    scales = np.empty(n_ch)
    missing_unit = []
    unknown_unit = set()
    for i in range(n_ch):
        unit = chans[i]["unit"] if len(chans) == n_ch else ""
        unit = (unit or "").strip()
        if not unit:
            missing_unit.append(ch_names[i])
            scales[i] = 1e-6
        elif unit.lower() in _UNIT_SCALE:
            scales[i] = _UNIT_SCALE[unit.lower()]
        else:
            unknown_unit.add(unit)
            scales[i] = 1e-6
    if missing_unit:
        warnings.append(
            f"{len(missing_unit)} channel(s) of stream {eeg_name!r} declare no unit; "
            "assumed microvolts."
        )
    if unknown_unit:
        warnings.append(
            f"Unknown channel unit(s) {', '.join(sorted(unknown_unit))}; assumed "
            "microvolts."
        )
    data = np.ascontiguousarray(values.T * scales[:, None])
    ts = np.ascontiguousarray(eeg["time_stamps"], dtype=np.float64)
    if ts.size == 0:
        raise RecordingFormatError(
            f"the EEG stream {eeg_name!r} holds no samples"
            + (f" ({warnings[0]})" if cut is not None else "") + ".", fname)

    markers = []
    others = {}
    for s in streams:
        if s is eeg:
            continue
        sinfo = s["info"]
        name = _first(sinfo, "name", f"stream{_first(sinfo, 'stream_id')}")
        stype = _first(sinfo, "type", "") or ""
        s_ts = np.ascontiguousarray(s["time_stamps"], dtype=np.float64)
        meta = _channel_meta(sinfo)
        if _first(sinfo, "channel_format") == "string":
            texts = ["|".join(v) if len(v) > 1 else (v[0] if v else "")
                     for v in s["time_series"]]
            markers.extend(zip(s_ts.tolist(), texts))
            others[name] = Stream(name=name, type=stype or "Markers", data=texts,
                                  timestamps=s_ts,
                                  ch_names=[m["label"] for m in meta][:1],
                                  sfreq=0.0, meta={"format": "string"})
        else:
            nch = int(_first(sinfo, "channel_count", 0))
            arr = np.asarray(s["time_series"], dtype=np.float64).reshape(-1, nch)
            labels = ([m["label"] for m in meta] if len(meta) == nch
                      else [f"ch{i + 1}" for i in range(nch)])
            others[name] = Stream(
                name=name, type=stype, data=np.ascontiguousarray(arr.T),
                timestamps=s_ts, ch_names=labels,
                sfreq=float(_first(sinfo, "nominal_srate", 0.0)),
                meta={"units": [m["unit"] for m in meta] if len(meta) == nch
                      else [""] * nch,
                      "format": _first(sinfo, "channel_format")},
            )
    markers.sort(key=lambda m: m[0])

    if sfreq <= 0:
        sfreq = _rate_of_irregular(ts, eeg_name, fname, warnings)
    measured, ts_warn = check_timestamps(ts, sfreq)
    warnings.extend(ts_warn)
    marked, markers = gaps_from_loss_markers(markers, sfreq)
    if marked is not None:  # the recording counted its own losses: trust that count
        gaps = marked
    else:
        gaps = _merge_gaps(timestamp_gaps(ts, sfreq), _marker_gaps(markers, sfreq),
                           1.0 / sfreq if sfreq else 0.0)
    warnings.extend(gap_warning(gaps))

    sidecar = read_sidecar(fname, warnings)
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
        "pyxdf_version": getattr(pyxdf, "__version__", "unknown"),
        "load_options": dict(LOAD_OPTIONS),
        "eeg_stream": eeg_name,
        "streams": [_first(s["info"], "name") for s in streams],
        "file_header": header,
        "chunks": counts,
        "measured_sfreq": measured,
        "losses_from": "markers" if marked is not None else "timestamps",
    }
    if bf.get("source_format"):
        provenance["converted_from"] = bf["source_format"]
    if sidecar is not None:
        provenance["sidecar"] = sidecar
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
