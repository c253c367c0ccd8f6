"""XDF chunks at the byte level, and closing a recording LabRecorder left open.

LabRecorderCLI writes its footers only once each stream's clock-offset thread
wakes (every 5 s) and keeps small chunks in its output buffer until a large
one pushes them out, so stopping it fast means ending it and finishing the
file here: :func:`complete_xdf` cuts the file after its last whole chunk,
writes the header of each of the session's streams the file lacks (a
session stopped as it started: LabRecorder had them in its buffer), appends
the samples the session published that the file lacks, then a closing
ClockOffset for the session's own streams and a StreamFooter for every
stream (first and last timestamp, sample count, clock offsets), as
LabRecorder writes them.

XDF layout (https://github.com/sccn/xdf/wiki/Specifications): the magic
``XDF:`` then chunks ``[NumLengthBytes][Length][Tag][Content]``; ``Length``
counts the 2-byte tag and the content.
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["NUMERIC_FORMATS", "TAG_NAMES", "ChunkWalk", "chunk", "complete_xdf",
           "file_header", "footer", "header_fields", "varlen"]

TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_FOOTER = 2, 3, 4, 6
TAG_NAMES = {1: "FileHeader", 2: "StreamHeader", 3: "Samples", 4: "ClockOffset",
             5: "Boundary", 6: "StreamFooter"}
_HAS_STREAM_ID = (TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_FOOTER)

#: XDF's numeric channel formats and the little-endian NumPy dtype of each
NUMERIC_FORMATS = {"double64": "<f8", "float32": "<f4", "int64": "<i8", "int32": "<i4",
                   "int16": "<i2", "int8": "<i1"}


def varlen(n: int) -> bytes:
    """XDF's variable-length integer: one size byte (1, 4 or 8), then the value."""
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def chunk(tag: int, content: bytes, stream_id: int | None = None) -> bytes:
    """One chunk: length, tag, the stream id (if any), the content."""
    if stream_id is not None:
        content = struct.pack("<I", stream_id) + content
    body = struct.pack("<H", tag) + content
    return varlen(len(body)) + body


def _read_varlen(buf, pos):
    nb = buf[pos]
    if nb not in (1, 4, 8):
        raise ValueError("bad length")
    return int.from_bytes(buf[pos + 1:pos + 1 + nb], "little"), pos + 1 + nb


@dataclass
class _Stream:
    header: dict
    samples: list = field(default_factory=list)  # (content start, end, n) of Samples chunks
    offsets: list = field(default_factory=list)  # (collection time, offset value)
    footer_at: int | None = None


class ChunkWalk:
    """The whole chunks of an open XDF file, read from its chunk headers only.

    Iterating yields ``(position, tag, content start, end)`` of each whole
    chunk (the content starts after the tag) and stops at the file's end or at
    the first chunk that is cut or corrupt. Then :attr:`end` is the byte just
    after the last whole chunk and :attr:`cut` says why the walk stopped:
    None (the file ends cleanly), ``"corrupt chunk header"``, ``"chunk
    header"`` (cut inside one) or the kind of the chunk that is cut
    (``"Samples"``, ...).

    Parameters
    ----------
    fid : binary file
        Open on the file, past its ``XDF:`` magic or not (the walk seeks).
    size : int
        The file's size in bytes.
    """

    def __init__(self, fid, size: int):
        self.fid = fid
        self.size = int(size)
        self.end = 4
        self.cut = None

    def __iter__(self):
        fid, size = self.fid, self.size
        pos = self.end = 4
        self.cut = None
        fid.seek(pos)
        while pos < size:
            head = fid.read(11)  # size byte, up to 8 length bytes, the tag
            if not head:  # the file shrank under us
                return
            nb = head[0]
            if nb not in (1, 4, 8):
                self.cut = "corrupt chunk header"
                return
            if len(head) < 1 + nb + 2:
                self.cut = "chunk header"
                return
            length = int.from_bytes(head[1:1 + nb], "little")
            tag = struct.unpack("<H", head[1 + nb:3 + nb])[0]
            end = pos + 1 + nb + length
            if tag not in TAG_NAMES or length < 2:
                self.cut = "corrupt chunk header"
                return
            if end > size:
                self.cut = TAG_NAMES[tag]
                return
            yield pos, tag, pos + 3 + nb, end
            pos = self.end = end
            fid.seek(pos)


def header_fields(xml_bytes) -> dict:
    """A stream header's name, source_id, channel_format, channel_count and
    nominal_srate as text ("" where absent); {} when the XML does not parse."""
    try:
        root = ET.fromstring(xml_bytes.decode("utf-8", "replace"))
    except ET.ParseError:
        return {}
    return {k: (root.findtext(k) or "").strip()
            for k in ("name", "source_id", "channel_format", "channel_count",
                      "nominal_srate")}


def _timestamps(content, header):
    """Timestamps of one Samples chunk's content (after the stream id)."""
    n, pos = _read_varlen(content, 0)
    fmt = header.get("channel_format", "double64")
    n_ch = int(header.get("channel_count") or 1)
    srate = float(header.get("nominal_srate") or 0.0)
    numeric = NUMERIC_FORMATS.get(fmt)
    size = np.dtype(numeric).itemsize * n_ch if numeric else None
    out = np.empty(n)
    prev = np.nan
    for i in range(n):
        tsb = content[pos]
        pos += 1
        if tsb == 8:
            prev = struct.unpack_from("<d", content, pos)[0]
            pos += 8
        else:  # deduced: the previous one plus a sample period
            prev = prev + (1.0 / srate if srate > 0 else 0.0)
        out[i] = prev
        if size is not None:
            pos += size
        else:
            for _ in range(n_ch):
                length, pos = _read_varlen(content, pos)
                pos += length
    return out


def _samples(ts, values, header) -> bytes:
    """Samples chunk content (without stream id): every timestamp written."""
    fmt = header.get("channel_format", "double64")
    parts = [varlen(len(ts))]
    numeric = NUMERIC_FORMATS.get(fmt)
    if numeric:
        vals = np.asarray(values, dtype=numeric).reshape(len(ts), -1)
        dtype = np.dtype([("tsb", "u1"), ("ts", "<f8"), ("v", numeric, vals.shape[1:])])
        rec = np.empty(len(ts), dtype=dtype)
        rec["tsb"], rec["ts"], rec["v"] = 8, ts, vals
        parts.append(rec.tobytes())
    else:
        for t, row in zip(ts, values):
            parts.append(b"\x08" + struct.pack("<d", float(t)))
            for v in (row if isinstance(row, (list, tuple)) else [row]):
                raw = str(v).encode("utf-8")
                parts.append(varlen(len(raw)) + raw)
    return b"".join(parts)


def footer(first: float, last: float, count: int, offsets) -> bytes:
    """A StreamFooter's XML: first and last timestamp, sample count, and the
    ``(collection time, offset value)`` pairs of its clock offsets."""
    offs = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>"
                   for t, v in offsets)
    return ('<?xml version="1.0"?><info>'
            f"<first_timestamp>{first!r}</first_timestamp>"
            f"<last_timestamp>{last!r}</last_timestamp>"
            f"<sample_count>{count}</sample_count>"
            f"<clock_offsets>{offs}</clock_offsets></info>").encode()


def file_header(stamped: bool = False, at: float | None = None) -> bytes:
    """The magic and a FileHeader chunk, as LabRecorder starts a file.

    ``stamped`` adds the current UTC time as LabRecorder does, ``at`` that
    time (Unix seconds: the one a recording's own header gave); without
    either the header holds the version alone, so a file written twice from
    the same data is the same bytes.
    """
    when = ""
    if stamped or at is not None:
        import datetime

        now = (datetime.datetime.now(datetime.timezone.utc) if at is None else
               datetime.datetime.fromtimestamp(int(at), datetime.timezone.utc))
        when = f"<datetime>{now.strftime('%Y-%m-%dT%H:%M:%S+0000')}</datetime>"
    return b"XDF:" + chunk(1, ('<?xml version="1.0"?><info><version>1.0</version>'
                               f"{when}</info>").encode())


def complete_xdf(fname, tails=None, headers=None) -> dict:
    """Close an XDF file its recorder did not close (no footers, maybe cut short).

    Parameters
    ----------
    fname : path-like
        The XDF file; changed in place (it only grows after its last whole chunk).
    tails : dict | None
        ``{source_id: (n_pushed, timestamps, values)}`` of the streams the
        session published: how many samples each outlet sent in all and the
        last of them. The samples the file lacks at its end (``n_pushed``
        minus what it holds) are appended when the tail still has them, and
        those streams get a closing clock offset of 0 (same machine, same clock).
        Other programs' streams, received by an inlet of the session's own, are
        keyed ``(name, source_id)`` with ``n_pushed`` None: the samples
        stamped after the file's last one are appended (their clock offsets
        stay LabRecorder's: the sender may be another machine).
    headers : dict | None
        ``{source_id: stream header XML}`` of the streams the file must hold
        (the session's own): one the file lacks gets its header, then its
        samples from ``tails``, and its footer. An empty file gets the
        FileHeader first.

    Returns
    -------
    report : dict
        ``{stream name: {"samples": n, "appended": k}}``.
    """
    fname = Path(fname)
    tails = dict(tails or {})
    headers = dict(headers or {})
    size = fname.stat().st_size
    if size == 0 and headers:  # LabRecorder was ended before it wrote anything
        with open(fname, "wb") as fid:
            fid.write(file_header(stamped=True))
        size = fname.stat().st_size
    streams: dict[int, _Stream] = {}
    ids = set()  # every stream id the file uses
    with open(fname, "rb") as fid:
        if fid.read(4) != b"XDF:":
            raise ValueError(f"{fname} is not an XDF file")
        valid_end = 4
        for pos, tag, start, end in ChunkWalk(fid, size):
            if tag not in _HAS_STREAM_ID:
                valid_end = end
                continue
            fid.seek(start)
            raw = fid.read(4)
            if len(raw) < 4:
                break
            sid = struct.unpack("<I", raw)[0]
            ids.add(sid)
            start += 4
            valid_end = end
            if tag == TAG_STREAM_HEADER:
                fid.seek(start)
                streams[sid] = _Stream(header_fields(fid.read(end - start)))
            elif sid not in streams:
                continue
            elif tag == TAG_SAMPLES:
                fid.seek(start)
                streams[sid].samples.append((start, end, _read_varlen(fid.read(9), 0)[0]))
            elif tag == TAG_CLOCK_OFFSET:
                fid.seek(start)
                streams[sid].offsets.append(struct.unpack("<dd", fid.read(16)))
            elif tag == TAG_FOOTER and streams[sid].footer_at is None:
                streams[sid].footer_at = pos
        # footers are rewritten from the content: cut at the first one
        cut = min([valid_end] + [s.footer_at for s in streams.values()
                                 if s.footer_at is not None])
        stats = {}
        for sid, s in streams.items():
            s.samples = [c for c in s.samples if c[1] <= cut]
            first = last = None
            if s.samples:
                (a0, b0, _), (a1, b1, _) = s.samples[0], s.samples[-1]
                fid.seek(a0)
                first = float(_timestamps(fid.read(b0 - a0), s.header)[0])
                fid.seek(a1)
                last = float(_timestamps(fid.read(b1 - a1), s.header)[-1])
            stats[sid] = [first, last, sum(c[2] for c in s.samples)]
    out, footers = bytearray(), bytearray()  # every footer after every sample
    held = {s.header.get("source_id") for s in streams.values()}
    next_id = max(ids, default=0) + 1
    for key, xml in headers.items():
        if key in held:
            continue
        raw = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
        streams[next_id], stats[next_id] = _Stream(header_fields(raw)), [None, None, 0]
        out += chunk(TAG_STREAM_HEADER, raw, next_id)
        next_id += 1
    report = {}
    for sid, s in streams.items():
        first, last, n_held = stats[sid]
        appended = 0
        key = s.header.get("source_id")
        tail = tails.get(key) if key else None
        foreign = tail is None and (s.header.get("name"), key or "") in tails
        if foreign:
            _, ts, values = tails[(s.header.get("name"), key or "")]
            ts = np.asarray(ts, dtype=float)
            keep = np.ones(len(ts), bool)
            if last is not None:  # a regular stream's last stamp in the file may be
                srate = float(s.header.get("nominal_srate") or 0.0)  # deduced: half a period
                keep = ts > last + (0.5 / srate if srate > 0 else 0.0)
            if keep.any():
                ts = ts[keep]
                values = (values[keep] if isinstance(values, np.ndarray)
                          else [v for v, k in zip(values, keep) if k])
                out += chunk(TAG_SAMPLES, _samples(ts, values, s.header), sid)
                appended = len(ts)
                first = float(ts[0]) if first is None else first
                last = float(ts[-1])
        elif tail is not None:
            n_pushed, ts, values = tail
            ts = np.asarray(ts, dtype=float)
            missing = int(n_pushed) - n_held
            if 0 < missing <= len(ts):
                ts, values = ts[-missing:], values[-missing:]
                if last is not None and ts[0] < last:  # the file's start is what lacks
                    keep = ts > last
                    ts = ts[keep]
                    values = [v for v, k in zip(values, keep) if k]
                if len(ts):
                    out += chunk(TAG_SAMPLES, _samples(ts, values, s.header), sid)
                    appended = len(ts)
                    first = float(ts[0]) if first is None else first
                    last = float(ts[-1])
            if last is not None and not (s.offsets and s.offsets[-1][0] >= last):
                s.offsets.append((last, 0.0))
                out += chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", last, 0.0), sid)
        count = n_held + appended
        footers += chunk(TAG_FOOTER, footer(first if first is not None else 0.0,
                                         last if last is not None else 0.0,
                                         count, s.offsets), sid)
        report[s.header.get("name") or str(sid)] = {"samples": count, "appended": appended}
    with open(fname, "r+b") as fid:
        fid.truncate(cut)
        fid.seek(cut)
        fid.write(bytes(out + footers))
        fid.flush()
        os.fsync(fid.fileno())
    return report
