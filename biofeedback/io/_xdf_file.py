"""An XDF file's chunks, and pyxdf's load of its whole ones.

:func:`scan_chunks` walks the chunk structure without reading samples, so a
file cut by a killed recorder (or corrupt from some byte on) is read up to
its last whole chunk; :func:`load_streams` runs pyxdf on those bytes and
turns its log lines and warnings into our warnings.

XDF layout (https://github.com/sccn/xdf/wiki/Specifications): the magic
``XDF:`` then chunks ``[NumLengthBytes][Length][Tag][Content]``; ``Length``
counts the 2-byte tag and the content.
"""

from __future__ import annotations

import io
import logging
import struct
from pathlib import Path

import numpy as np

from .._xdf_chunks import (
    NUMERIC_FORMATS,
    TAG_NAMES,
    TAG_SAMPLES,
    TAG_STREAM_HEADER,
    ChunkWalk,
    header_fields,
)
from ..errors import RecordingFormatError

# pyxdf load options: clocks synchronised, no dejittering (it moves irregular
# events onto a line, pyxdf#34).
LOAD_OPTIONS = dict(synchronize_clocks=True, dejitter_timestamps=False)

def scan_chunks(fname):
    """Walk the chunk structure without reading samples.

    Returns
    -------
    valid_end : int
        Byte offset just after the last whole chunk.
    size : int
        File size.
    last_tag : str | None
        Why the walk stopped: None if the file ends cleanly, else
        ``"corrupt chunk header"``, ``"chunk header"`` or the kind of the
        chunk that is cut (see :class:`biofeedback._xdf_chunks.ChunkWalk`).
    counts : dict
        Number of chunks of each kind.
    """
    fname = Path(fname)
    size = fname.stat().st_size
    counts = {}
    with open(fname, "rb") as fid:
        if fid.read(4) != b"XDF:":
            raise RecordingFormatError("not an XDF file (no 'XDF:' magic).", fname)
        walk = ChunkWalk(fid, size)
        layouts = {}  # stream id -> (channels, fewest bytes a channel takes in a sample)
        for pos, tag, start, end in walk:
            counts[TAG_NAMES[tag]] = counts.get(TAG_NAMES[tag], 0) + 1
            if tag == TAG_STREAM_HEADER:
                _note_layout(fid, start, end, layouts)
            elif tag == TAG_SAMPLES:
                _check_samples(fid, pos, start, end, layouts, size, fname)
    return walk.end, size, walk.cut, counts


def _note_layout(fid, start, end, layouts):
    """Remember a stream header's channel count and sample format."""
    fid.seek(start)
    content = fid.read(end - start)
    if len(content) < 4:
        return
    fields = header_fields(content[4:])
    try:
        n_ch = int(fields.get("channel_count", ""))
    except ValueError:
        return  # pyxdf says what is wrong with it
    fmt = fields.get("channel_format", "")
    numeric = NUMERIC_FORMATS.get(fmt)
    per = np.dtype(numeric).itemsize if numeric else 2  # a string: >= 2
    layouts[struct.unpack("<I", content[:4])[0]] = (n_ch, per)


def _check_samples(fid, pos, start, end, layouts, size, fname):
    """Refuse a Samples chunk that declares more than its bytes can hold.

    pyxdf allocates what a chunk declares before reading it (the samples
    times the header's channels, and a buffer of one sample), so a few
    bytes declaring 10⁹ samples or channels would exhaust memory or run for
    hours. The file cannot hold a sample larger than itself, nor a chunk
    more samples than its bytes.
    """
    fid.seek(start)
    head = fid.read(13)  # stream id, then the sample count's size byte and value
    if len(head) < 6 or head[4] not in (1, 4, 8):
        return  # pyxdf says it
    layout = layouts.get(struct.unpack("<I", head[:4])[0])
    if layout is None:
        return
    n_ch, per = layout
    n = int.from_bytes(head[5:5 + head[4]], "little")
    if n_ch < 0 or n_ch * per > size or n * (1 + n_ch * per) > end - start:
        raise RecordingFormatError(
            f"the Samples chunk at byte {pos} declares {n} samples of {n_ch} channels in "
            f"{end - start} bytes; the file is damaged or was made to exhaust memory.",
            fname)


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def load_streams(fname, valid_end, size):
    """pyxdf's streams and header from the first ``valid_end`` bytes, and its messages.

    Raises
    ------
    RecordingFormatError
        pyxdf failed on the file (its bare exceptions become one sentence).
    """
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
