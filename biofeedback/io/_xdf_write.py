"""XDF writer in pure Python: the layout a live session's LabRecorder writes.

:func:`write_xdf` writes a :class:`~biofeedback.io.Recording` as the streams a
live session records ("biofeedback-EEG" in µV, "biofeedback-Estimates",
"biofeedback-Markers", "biofeedback-Cues"), so simulated and converted
recordings need no LabRecorder. The reader is :mod:`biofeedback.io._xdf`.

XDF layout (https://github.com/sccn/xdf/wiki/Specifications): the magic
``XDF:`` then chunks ``[NumLengthBytes][Length][Tag][Content]``; ``Length``
counts the 2-byte tag and the content.
"""

from __future__ import annotations

import struct
import uuid
from html import escape as _escape
from pathlib import Path

import numpy as np

from .._json import dumps
from .._xdf_chunks import chunk as _chunk
from .._xdf_chunks import file_header, footer
from .._xdf_chunks import varlen as _varlen
from ._losses import LOSSES_MARKED, loss_markers
from ._recording import Recording, bads_of, stated_mains

EEG_NAME = "biofeedback-EEG"
MARKERS_NAME = "biofeedback-Markers"

_BOUNDARY_UUID = bytes.fromhex("43A5464CC7CB4A43E36CB5BEE8EDDAD8")[::-1]


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def escape(text: str) -> str:
    """XML character data: &, < and > escaped (xml.sax.saxutils costs 30 ms to import)."""
    return _escape(text, quote=False)


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


#: Types of a numeric stream that sends event codes, as LSL senders name them
#: (PsychoPy's, OpenViBE's, a trigger box's): with one channel and no regular
#: rate, its samples are markers. A stream typed Markers is one whatever its shape.
MARKER_TYPES = frozenset({"marker", "markers", "event", "events", "trigger", "triggers"})


def is_marker_stream(stream_type, sfreq, n_channels):
    """Whether a numeric stream holds event codes (markers), by its type, rate
    and channel count."""
    kind = str(stream_type).strip().lower()
    return kind == "markers" or (kind in MARKER_TYPES and not sfreq and n_channels == 1)


def code_text(v):
    """An event code as text: a whole number as one (``100000000``, not
    ``1e+08``), a float32's value as it was sent (``0.1``), else in full."""
    v = float(v)
    if v.is_integer() and abs(v) < 2 ** 63:
        return str(int(v))
    f32 = np.float32(v)
    return str(f32) if float(f32) == v else repr(v)


def numeric_markers(stream_type, ts, values, sfreq=0.0):
    """``(timestamp, text)`` of a numeric stream of event codes
    (:func:`is_marker_stream`), one per sample, its channels joined by '|';
    [] for any other stream. ``values`` is ``(n_times, n_channels)``."""
    values = np.asarray(values)
    n_channels = values.shape[1] if values.ndim == 2 else 1
    if not is_marker_stream(stream_type, sfreq, n_channels):
        return []
    return [(float(t), "|".join(code_text(v) for v in np.atleast_1d(row)))
            for t, row in zip(ts, values)]


def _streams_to_write(rec: Recording):
    """List (name, type, ch_names, units, ch_types, sfreq, fmt, ts, values, extra)."""
    out = []
    prof = f"<profile>{escape(rec.profile)}</profile>" if rec.profile else ""
    extra = (
        f"<biofeedback>{prof}<source_format>{escape(rec.source_format)}"
        f"</source_format>{_mains_xml(rec)}{_bads_xml(rec)}{_spans_xml(rec)}</biofeedback>"
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
            in_streams.update((_stamp_key(t), s)
                              for t, s in numeric_markers(st.type, st.timestamps, data.T,
                                                             st.sfreq))
        else:
            texts = [str(t) for t in st.data]
            in_streams.update(zip(map(_stamp_key, st.timestamps), texts))
            out.append((st.name, st.type or "Markers", [st.ch_names[0] if st.ch_names
                        else "marker"], [""], [""], 0.0, "string",
                        st.timestamps, texts, ""))
    rest = [
        (t, s) for t, s in rec.markers if (_stamp_key(t), s) not in in_streams
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


def _mains_xml(rec) -> str:
    """The mains frequency the recording's file stated (an MNE file's
    ``line_freq``), kept for the notch and the mains gate, or nothing."""
    mains = stated_mains(rec.provenance.get("line_freq"))
    return f"<line_freq>{mains!r}</line_freq>" if mains else ""


def _bads_xml(rec) -> str:
    """The channels the recording's file marked bad (an MNE file's
    ``info["bads"]``), as JSON in one element, or nothing."""
    bads = bads_of(rec)
    return f"<bads>{escape(dumps(bads))}</bads>" if bads else ""


def _spans_xml(rec) -> str:
    """The spans of the markers read with a duration (an MNE file's annotations,
    ``provenance["marker_spans"]``) as JSON ``[[start, stop, text], ...]`` in
    one element, or nothing: a marker stream holds instants, and without its
    end a state's marker would label the time up to the next marker."""
    spans = [[float(a), float(b), str(text)]
             for a, b, text in rec.provenance.get("marker_spans") or ()]
    return f"<marker_spans>{escape(dumps(spans))}</marker_spans>" if spans else ""


def _stamp_key(t):
    """A marker's stamp as compared between ``rec.markers`` and a stream's
    samples: one rounding for both (numpy's and Python's round() part at
    some halves, and a marker then went to the file twice)."""
    return round(float(t), 9)


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
    # the date a recording on the LSL clock was begun (its own file's header):
    # the timestamps give none, and sessions are ordered by it
    when = recording.provenance.get("recorded_at")
    with open(fname, "wb") as fid:
        fid.write(file_header(at=when if when is not None and recording.started == when
                              else None))
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
            # a second offset at the first one's time (a stream of one sample)
            # makes pyxdf's fit singular, and it warns on every read
            if len(ts) and not (sid == 1 and eeg_clock is not None) and \
                    float(ts[-1]) != clocks[sid][-1][0]:
                clocks[sid].append((float(ts[-1]), 0.0))
                fid.write(_chunk(4, struct.pack("<dd", float(ts[-1]), 0.0), sid))
            first, last = (float(ts[0]), float(ts[-1])) if len(ts) else (0.0, 0.0)
            fid.write(_chunk(6, footer(first, last, len(ts), clocks[sid]), sid))
    sidecar = recording.provenance.get("sidecar")
    if isinstance(sidecar, dict):
        # the streams were written with their stamps moved already; one on a
        # clock of its own was not moved, and stays named
        own = {k: v for k, v in (sidecar.get("stream_clocks") or {}).items()
               if isinstance(v, dict) and v.get("stamps") == "own"} \
            if isinstance(sidecar.get("stream_clocks"), dict) else {}
        sidecar = {k: v for k, v in sidecar.items() if k != "stream_clocks"}
        if own:
            sidecar["stream_clocks"] = own
        side = fname.with_suffix(".json")
        side.write_text(dumps(sidecar, indent=2, default=str), encoding="utf-8")
    return fname
