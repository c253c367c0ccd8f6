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
from pathlib import Path

from .._xdf_chunks import TAG_NAMES, ChunkWalk
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
        for _, tag, _, _ in walk:
            counts[TAG_NAMES[tag]] = counts.get(TAG_NAMES[tag], 0) + 1
    return walk.end, size, walk.cut, counts


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
