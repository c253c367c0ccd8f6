"""Fast, streaming parser for the numeric text tables EEG tools write.

Files are read in blocks of lines and each block is parsed by NumPy's C
``loadtxt``; a 2 GB file never sits in memory as text. When a block does not
parse, it is walked line by line to name the first bad line and what is wrong
with it.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import RecordingFormatError

# io.StringIO holds text as 4-byte characters: small blocks bound its copy.
BLOCK_BYTES = 2 * 1024 * 1024


def _describe_bad_line(line, n_cols, delimiter, usecols=None):
    """Return the problem with one line, or None when it parses."""
    text = line.rstrip("\r\n")
    if not text.strip():
        return "the line is empty"
    cells = text.split(delimiter)
    if len(cells) != n_cols:
        if len(cells) == 1 and n_cols > 1:
            for other in (",", "\t", ";", " "):
                if other != delimiter and len(text.split(other)) == n_cols:
                    return (
                        f"the line is separated by {other!r}, not {delimiter!r} "
                        "(wrong delimiter)"
                    )
        return f"expected {n_cols} columns, found {len(cells)}"
    for j, cell in enumerate(cells):
        if usecols is not None and j not in usecols:
            continue
        try:
            float(cell)
        except ValueError:
            shown = cell.strip()
            if len(shown) > 20:
                shown = shown[:20] + "..."
            return f"column {j + 1} holds {shown!r}, which is not a number"
    return None


class TableReader:
    """Read a delimited numeric table in blocks.

    Parameters
    ----------
    fname : path-like
    n_cols : int
        Columns every data line must have (after ``transform``).
    first_line : int
        1-based number of the first data line (for messages).
    offset : int
        Byte offset where data lines start.
    delimiter : str
    transform : callable | None
        ``str -> str`` applied to each block's text before parsing (e.g. turn
        the ``:`` of clock times into delimiters).
    """

    def __init__(self, fname, n_cols, first_line, offset, delimiter=",",
                 transform=None, n_cols_raw=None):
        self.fname = fname
        self.n_cols = n_cols
        self.n_cols_raw = n_cols if n_cols_raw is None else n_cols_raw
        self.first_line = first_line
        self.offset = offset
        self.delimiter = delimiter
        self.transform = transform
        self.warnings = []
        self.n_lines = 0
        self.usecols = None

    def _parse(self, text, line0):
        """Parse a block of whole lines (one string); blank lines are skipped."""
        if self.transform is not None:
            text = self.transform(text)
        try:
            with np.errstate(all="ignore"):
                arr = np.loadtxt(io.StringIO(text), delimiter=self.delimiter,
                                 dtype=np.float64, ndmin=2, comments=None,
                                 encoding=None, usecols=self.usecols)
        except ValueError:
            arr = None
        n_out = self.n_cols if self.usecols is None else len(self.usecols)
        if arr is not None and (arr.shape[1] == n_out or arr.shape[0] == 0):
            return arr.reshape(-1, n_out)
        for k, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            problem = _describe_bad_line(line, self.n_cols, self.delimiter,
                                         self.usecols)
            if problem is not None:
                if self.transform is not None:  # report in the file's own terms
                    problem = problem.replace(
                        f"expected {self.n_cols} columns",
                        f"expected {self.n_cols_raw} columns",
                    )
                raise RecordingFormatError(problem + ".", self.fname, line0 + k)
        raise RecordingFormatError("the table could not be parsed.", self.fname,
                                   line0)  # pragma: no cover

    def read(self):
        """Return the whole table, shape (n_rows, n_cols).

        A transposed view of :meth:`read_columns`: ``table[:, j]`` is a
        contiguous column.
        """
        return self.read_columns().T

    def _count_lines(self):
        n = 0
        last = b"\n"
        with open(self.fname, "rb") as fid:
            fid.seek(self.offset)
            while True:
                buf = fid.read(BLOCK_BYTES)
                if not buf:
                    break
                n += buf.count(b"\n")
                last = buf[-1:]
        return n + (last != b"\n")

    def read_columns(self):
        """Return the whole table column-major, shape (n_cols, n_rows), C-contiguous.

        The output is allocated once from a count of the lines, then filled
        block by block, so peak memory is the table plus one block of text.
        """
        n_out = self.n_cols if self.usecols is None else len(self.usecols)
        n_max = self._count_lines()
        out = np.empty((n_out, n_max))
        pos = 0
        line0 = self.first_line

        def put(arr):
            nonlocal out, pos
            k = arr.shape[0]
            if pos + k > out.shape[1]:  # the file grew while we read it
                grown = np.empty((n_out, pos + k))
                grown[:, :pos] = out[:, :pos]
                out = grown
            out[:, pos: pos + k] = arr.T
            pos += k

        with open(self.fname, encoding="utf-8", errors="strict", newline="") as fid:
            fid.seek(self.offset)
            pending = ""
            while True:
                try:
                    chunk = fid.read(BLOCK_BYTES)
                except UnicodeDecodeError as err:
                    raise RecordingFormatError(
                        f"the file holds bytes that are not text ({err.reason}).",
                        self.fname,
                    ) from None
                if not chunk:
                    break
                text = pending + chunk
                cut = text.rfind("\n")
                if cut < 0:
                    pending = text
                    continue
                pending = text[cut + 1:]
                block = text[: cut + 1]
                put(self._parse(block, line0))
                line0 += block.count("\n")
            if pending.strip():
                # No newline at the end: keep the line if it is whole.
                try:
                    put(self._parse(pending.rstrip("\r"), line0))
                except RecordingFormatError as err:
                    self.warnings.append(
                        f"The last line ({line0}) is cut short "
                        f"({str(err).rsplit(': ', 1)[-1].rstrip('.')}); it was "
                        "dropped (the writer was probably stopped mid-line)."
                    )
        self.n_lines = pos
        if pos < out.shape[1]:  # blank or cut lines: shrink (copies)
            out = np.ascontiguousarray(out[:, :pos])
        return out


def read_header_lines(fname, max_lines=200, prefix=None):
    """Return the first lines of a text file and the byte offset after them.

    With ``prefix``, read lines while they start with it; else read one line.
    Returns (lines, offset, n_lines).
    """
    lines = []
    offset = 0
    with open(fname, "rb") as fid:
        while len(lines) < max_lines:
            raw = fid.readline()
            if not raw:
                break
            try:
                # a byte-order mark (Windows editors save one) is not content
                line = raw.decode("utf-8-sig" if offset == 0 else "utf-8")
            except UnicodeDecodeError:
                raise RecordingFormatError(
                    "the header holds bytes that are not text.", fname,
                    len(lines) + 1) from None
            if prefix is not None and not line.startswith(prefix):
                break
            lines.append(line.rstrip("\r\n"))
            offset += len(raw)
            if prefix is None:
                break
    return lines, offset, len(lines)
