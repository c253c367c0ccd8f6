"""Fast, streaming parser for the numeric text tables EEG tools write.

It stays over 400 lines because the block reader, its split over threads
and its hand-over to ``loadtxt`` share one state (the table, the line count,
the text cells handed back) that is clearer kept in one reader.

Files are read in blocks of bytes into one reused buffer, and each block is
parsed by a numba byte parser (``_parse_kernels``) straight into the output
array, sized from the file's length and its first lines (then packed and
shrunk in place): a 2 GB file never sits in memory as text, and peak memory
is the table plus one block (two on threads).

Why a byte parser of our own, measured on one hour of 8-channel OpenBCI GUI
text (101 MB, ``benchmarks/bench_read.py``, CPU seconds on a shared 2-core
machine): it reads, converts and checks the file in 0.22 to 0.25 s, 55 to 60 %
of the 0.40 s ``pandas.read_csv`` takes to build its table on one thread (0.55
to 0.65 s in earlier rounds on this machine), and writes each column where it
is kept (no table to copy out of).

Threads: a file of at least 8 MB is parsed on as many threads as the process
may use cores (at most 4; ``THREADS`` overrides): each block is cut into parts
of whole lines, the lines of each part are counted, and every part is parsed
at once (the kernel releases the GIL) straight into the table at the row its
lines start at; blank lines only move the rows after them up. The next block
is read, cut and counted on a thread of its own while one is parsed: only
the parse is left on the threads' way (an hour of BrainFlow text: the
calling thread's CPU time, which bounds the wall time on free cores, 25 %
less). The values,
messages and line numbers are those of one thread, bit for bit (tested).
Smaller files (a 60 s recording) stay on the calling thread: no pool.
pandas 3.1's ``read_csv`` also works on more than one thread on the Muse and
BrainFlow files (files of 5 MB and more without ``comment=``, cut into 4 MB
chunks, each tokenised and converted on a pool of up to 6 threads), so on 2
cores its wall time is half its CPU time there.
The kernel converts eight digits per step (``_parse_kernels``: 15 to 20 % less
CPU than the byte loop, whose exit at the varying length of an integer part
is mispredicted about once a number). Measured and left out, as no faster on
this 2-core machine: taking the sign and the fraction from one 16-byte window
by shifts instead of loads (7 % slower), one conversion for the digits on
both sides of the point when they fit a word (no gain on Muse, 27 % slower on
BrainFlow, where values of 10 and more do not fit: a mispredicted branch), a
loop specialised for files without a clock column (no change), reading
through ``mmap`` (the page faults cost what the copy does), and reading each
block's halves on two threads (18 % less wall for the read, 18 % more CPU).
pyarrow's CSV reader (``benchmarks/bench_offline.py`` times it when
installed) gives the same bits on these files, but takes as much CPU as
pandas or more (0.21 / 0.65 / 0.37 s CPU on the Muse, BrainFlow and OpenBCI
hours against our 0.10 / 0.30 / 0.23 s), peaks at 3.2x to 3.9x the EEG array
(builds its own columns, copied into NumPy), cannot read OpenBCI's clock
column as numbers, and costs 0.1 to 0.3 s to import: it is not used.

What the byte parser does not accept (a number of more than 19 significant digits, an
empty field, a wrong column count, bytes that are not ASCII) it hands over,
from that line to the end of the block, to NumPy's ``loadtxt``, which reads
anything Python's ``float`` reads and, when a line is bad, names it and what
is wrong with it: the messages and the values are those of ``loadtxt``.
Both refuse a line whose cell count is not the table's, whichever columns
are kept (``loadtxt``, given the columns to keep, does not count the others:
the reader counts them after it).
"""

from __future__ import annotations

import io
import os
import re

import numpy as np

from .._checks import MAX_CHANNELS
from ..errors import RecordingFormatError

# One block of bytes is read at a time (the slow path holds its text as 4-byte
# characters: small blocks bound that copy).
BLOCK_BYTES = 1024 * 1024
# The longest line read (a row of 1000 channels takes some 25 kB): a longer one
# is no table's row, and buffering it whole (or handing it to loadtxt as text,
# 4 bytes a character) would take gigabytes for a file of one 2 GB line.
MAX_LINE_BYTES = 1024 * 1024
# Lines of spaces (and tabs, unless they delimit) up to their line end: blank
_SPACES = re.compile(r"^[ \t]+(?=\r?$)", re.MULTILINE)
_SPACES_ONLY = re.compile(r"^ +(?=\r?$)", re.MULTILINE)
# The same, for one line of bytes with its line feed taken off
_BLANK = re.compile(rb"[ \t]*\r?")
_BLANK_ONLY_SPACES = re.compile(rb" *\r?")
# A text cell that says nothing (the byte parser's ``_quiet``): spaces around
# nothing, "", or a zero (0, 0.000, .0)
_QUIET_CELL = re.compile(rb' *(?:""|0+\.?0*|\.0+)? *')
# Rows of the array a parse of a block notes text cells in (at least four per
# text column)
CELLS_ROWS = 4096
# Files at least this long are parsed on several threads (the kernel releases
# the GIL); smaller ones on the calling thread alone.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
# Threads for a large file: None for the cores this process may use (at most
# 4), 1 to parse on the calling thread alone.
THREADS = None


def _n_threads(size):
    """Threads to parse ``size`` bytes of lines on."""
    if THREADS is not None:
        return max(1, int(THREADS))
    if size < PARALLEL_MIN_BYTES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


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
        Columns every data line must have.
    first_line : int
        1-based number of the first data line (for messages).
    offset : int
        Byte offset where data lines start (at 0, a UTF-8 byte-order mark is
        skipped).
    delimiter : str
    usecols : sequence of int | None
        The columns to keep, in this order (all when None).
    clock_col : int | None
        A column holding a time of day ``hh:mm:ss.fff``, read as seconds
        since midnight (``h * 3600 + m * 60 + s``).
    decimal_comma : bool
        Numbers are written ``12,5`` (a spreadsheet in a European locale,
        with ``;`` between cells): each comma of a block is made a point
        before it is parsed.
    text_cols : sequence of int
        Columns of text (a marker column), none of ``usecols``: their cells
        are not converted, and each that says something (not spaces around
        nothing, ``""`` or a zero such as ``0`` or ``0.000``) is handed back
        in :attr:`text_cells` as ``(row, column, bytes)``, as the file
        holds it, while the table is read: the file is read once.
    end : int | None
        Byte offset where the table ends (a line start): the lines from there
        on are not read. None reads to the end of the file.
    sparse_cols : sequence of int
        Kept columns that may hold zeros alone (a board's aux columns): their
        +0.0 values are not stored in the table, allocated as zeros, so such
        a column takes no memory (its pages are never written). Put them
        last in ``usecols``: the table is packed without copying them.

    Notes
    -----
    Every data line must have ``n_cols`` cells, whichever columns are kept,
    on the byte parser's path and ``loadtxt``'s alike: a line with fewer or
    more is refused, naming the line (one with more is most often two lines
    run together, its cells shifted into the wrong columns). Only a last line
    that lacks its line feed and has a wrong count is dropped, with a warning
    (a writer stopped mid-line).
    """

    def __init__(self, fname, n_cols, first_line, offset, delimiter=",",
                 usecols=None, clock_col=None, decimal_comma=False, text_cols=(),
                 end=None, sparse_cols=()):
        if decimal_comma and delimiter == ",":
            raise ValueError("decimal_comma needs a delimiter other than ','.")
        self.decimal_comma = decimal_comma
        if clock_col is not None and (usecols is not None or text_cols):
            raise ValueError("clock_col cannot be combined with usecols or text_cols.")
        self.text_cols = list(text_cols)
        if usecols is None and self.text_cols:
            usecols = [j for j in range(n_cols) if j not in self.text_cols]
        if set(self.text_cols) & set(usecols or ()):
            raise ValueError("text_cols cannot be in usecols.")
        if set(sparse_cols) & set(self.text_cols):
            raise ValueError("sparse_cols cannot be text_cols.")
        if n_cols > MAX_CHANNELS:
            raise RecordingFormatError(
                f"the table has {n_cols} columns, more than the {MAX_CHANNELS} a recording "
                "may have; the file is not a recording, or is damaged.", fname, first_line)
        self.fname = fname
        self.n_cols = n_cols
        self.first_line = first_line
        self.offset = offset
        self.end = end
        self.delimiter = delimiter
        self.usecols = None if usecols is None else list(usecols)
        self.clock_col = clock_col
        self.sparse_cols = set(sparse_cols)
        self.warnings = []
        self.n_lines = 0
        self.n_fallback_lines = 0
        # (row, column, bytes) of each text cell that says something, by row
        self.text_cells = []
        self._raw = None  # the bytes as read, when parsing changes them

    @property
    def n_out(self):
        return self.n_cols if self.usecols is None else len(self.usecols)

    def _parse(self, text, line0):
        """Parse a block of whole lines (one string) with NumPy's ``loadtxt``.

        The slow path, for what the byte parser does not accept: it reads any
        number Python reads, and names the first bad line. Blank lines are
        skipped.
        """
        n_cols = self.n_cols
        # a line of spaces is a blank line, as the byte parser counts it
        # (loadtxt skips only empty ones); the line numbers stay
        blank = _SPACES if self.delimiter != "\t" else _SPACES_ONLY
        if blank.search(text):
            text = blank.sub("", text)
            if not text.strip("\r\n"):  # blank lines alone: loadtxt would warn of no data
                return np.empty((0, self.n_out))
        if self.clock_col is not None:  # the clock's ':' become delimiters
            text = text.replace(":", self.delimiter)
            n_cols += 2
        try:
            with np.errstate(all="ignore"):
                arr = np.loadtxt(io.StringIO(text), delimiter=self.delimiter,
                                 dtype=np.float64, ndmin=2, comments=None,
                                 encoding=None, usecols=self.usecols)
        except ValueError:
            arr = None
        n_got = n_cols if self.usecols is None else len(self.usecols)
        if arr is not None and (arr.shape[1] == n_got or arr.shape[0] == 0):
            arr = arr.reshape(-1, n_got)
            if self.usecols is not None:  # loadtxt reads them without counting the rest
                self._check_cell_counts(text, line0)
            if self.clock_col is not None:
                c = self.clock_col
                secs = arr[:, c] * 3600 + arr[:, c + 1] * 60 + arr[:, c + 2]
                arr = np.column_stack([arr[:, :c], secs, arr[:, c + 3:]])
            return arr
        # '\n' alone ends a line, as loadtxt reads it: str.splitlines would
        # also split at form feeds and other separators and miscount the lines
        for k, line in enumerate(text.split("\n")):
            if not line.strip():
                continue
            problem = _describe_bad_line(line, n_cols, self.delimiter, self.usecols)
            if problem is not None:
                if n_cols != self.n_cols:  # report in the file's own terms
                    problem = problem.replace(f"expected {n_cols} columns",
                                              f"expected {self.n_cols} columns")
                raise RecordingFormatError(problem + ".", self.fname, line0 + k)
        raise RecordingFormatError("the table could not be parsed.", self.fname,
                                   line0)  # pragma: no cover

    def _check_cell_counts(self, text, line0):
        """Refuse the first line of ``text`` (its blank lines emptied) whose cell
        count is not ``n_cols``."""
        for k, line in enumerate(text.split("\n")):
            if line.count(self.delimiter) != self.n_cols - 1 and line.strip("\r"):
                problem = _describe_bad_line(line, self.n_cols, self.delimiter,
                                             self.usecols)
                raise RecordingFormatError(problem + ".", self.fname, line0 + k)

    def _note_cells(self, cells, n, src, shift=0):
        """Hand back the ``n`` text cells the byte parser noted in ``cells``, their
        bytes from ``src``, their rows moved by ``shift``; a cell with bytes
        beyond ASCII is checked to be text, as the fallback checks its block."""
        for row, j, a, b in cells[:n].tolist():
            raw = src[a:b].tobytes()
            if not raw.isascii():
                self._decode(raw)
            self.text_cells.append((row + shift, j, raw))

    def _note_text_lines(self, raw, parsed, row):
        """Hand back the text cells of the lines ``raw`` (bytes as the file holds
        them; ``parsed``, when not None, as parsed, commas made points) that the
        slow path read as rows ``row``, ``row + 1``... (its blank lines none)."""
        blank = _BLANK if self.delimiter != "\t" else _BLANK_ONLY_SPACES
        sep = self.delimiter.encode()
        lines = raw.split(b"\n")
        for line, as_parsed in zip(lines, lines if parsed is None else parsed.split(b"\n")):
            if blank.fullmatch(line):
                continue
            cells = line.removesuffix(b"\r").split(sep)
            seen = cells if parsed is None else as_parsed.removesuffix(b"\r").split(sep)
            for j in self.text_cols:
                if not _QUIET_CELL.fullmatch(seen[j]):
                    self.text_cells.append((row, j, cells[j]))
            row += 1

    def read(self):
        """Return the whole table, shape (n_rows, n_cols).

        A transposed view of :meth:`read_columns`: ``table[:, j]`` is a
        contiguous column.
        """
        return self.read_columns().T

    def _decode(self, raw):
        try:
            return decode_text(raw)
        except UnicodeDecodeError as err:
            raise RecordingFormatError(
                f"the file holds bytes that are not text ({err.reason}).",
                self.fname,
            ) from None

    def read_columns(self):
        """Return the whole table column-major, shape (n_cols, n_rows), C-contiguous.

        The output is allocated once, from the file's size and the length of
        the first lines, and filled block by block; rows are then packed in
        place and the allocation shrunk (``realloc``): peak memory is the table
        plus one block of bytes (two on threads), and the file is read once.
        """
        from ._parse_kernels import NO_CELLS, SPARSE, parse_block

        rows = np.full(self.n_cols, -1, dtype=np.int64)
        for k, j in enumerate(range(self.n_cols) if self.usecols is None
                              else self.usecols):
            rows[j] = SPARSE + k if j in self.sparse_cols else k
        rows[self.text_cols] = -2
        clock = np.int64(-1 if self.clock_col is None else self.clock_col)
        delim = np.uint8(ord(self.delimiter))
        size = os.path.getsize(self.fname) if self.end is None else self.end
        n_threads = _n_threads(max(size - self.offset, 0))
        table = _Table(self.n_out, max(size - self.offset, 0), n_threads)
        for flags in table.flags:  # the other columns are stored whatever they hold
            flags[rows[(rows >= 0) & (rows < SPARSE)]] = 1
        line0 = self.first_line

        def parse(buf, end, last, begin=0):
            """Parse ``buf[begin:end]`` (whole lines, ending with a line feed)."""
            nonlocal line0
            src = buf if self._raw is None else self._raw
            while True:
                table.pos, stop, n_lines, n_noted = parse_block(
                    buf, np.int64(begin), np.int64(end), delim, rows, clock, table.out,
                    np.int64(table.pos), cells[0], table.flags[0])
                line0 += n_lines
                if n_noted:
                    self._note_cells(cells[0], n_noted, src)
                if stop < 0:
                    return
                table.clear(table.pos, table.pos + 1)  # the values of the line refused
                if table.pos >= table.out.shape[1]:  # no room left: estimate again
                    table.grow(table.pos + 1)
                    begin = stop
                    continue
                if n_noted > cells[0].shape[0] - len(self.text_cols):  # cells handed back
                    begin = stop
                    continue
                text = self._decode(buf[stop:end].tobytes())
                if last:
                    # No line feed at the end: keep the line if it is whole.
                    text = text[:-1].rstrip("\r")
                    if not text.strip():
                        return
                    n_cells = text.count(self.delimiter) + 1
                    if "\n" not in text and n_cells != self.n_cols:
                        # Cut mid-line: the cells it still has may be the ones
                        # kept, but their values cannot be trusted (a timestamp
                        # cut to its first digits).
                        self.warnings.append(cut_last_line(
                            line0, f"expected {self.n_cols} columns, found {n_cells}"))
                        return
                    row = table.pos
                    try:
                        table.put(self._parse(text, line0))
                    except RecordingFormatError as err:
                        self.warnings.append(cut_last_line(
                            line0, str(err).rsplit(": ", 1)[-1].rstrip(".")))
                        return
                    if self.text_cols:
                        self._note_text_lines(*_as_read(src, buf, stop, end - 1), row)
                    return
                self.n_fallback_lines += text.count("\n")
                row = table.pos
                table.put(self._parse(text, line0))
                if self.text_cols:
                    self._note_text_lines(*_as_read(src, buf, stop, end), row)
                line0 += text.count("\n")
                return

        pool = reader = None
        if n_threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(n_threads - 1, thread_name_prefix="biofeedback-parse")
            if not self.decimal_comma:  # (whose commas are made points as read)
                reader = ThreadPoolExecutor(1, thread_name_prefix="biofeedback-read")
        # each thread's text cells, noted by the byte parser
        cells = [np.empty((max(CELLS_ROWS, 4 * len(self.text_cols)), 4), dtype=np.int64)
                 if self.text_cols else NO_CELLS for _ in range(n_threads)]

        def parse_split(block):
            """Parse a block's whole lines in ``n_threads`` parts at once.

            Each part is written straight into the table, after as many rows
            as the parts before it hold lines (counted as the block was
            read); the first on this thread, the others on the pool's. Blank
            lines make a part shorter than its lines: the rows after it move
            up. From the first line a part stops at (one the fast path does
            not accept), the rest of the block is parsed as :func:`parse`
            does alone: the values, messages and line numbers are those of
            one thread.
            """
            nonlocal line0
            buf, bounds = block.buf, block.bounds
            first = [table.pos]  # the row each part starts at
            for n_lines in block.counts:
                first.append(first[-1] + n_lines)
            if first[-1] > table.out.shape[1]:
                table.grow(first[-1])
            # (the last part, whose lines are not counted, stops where the
            # table ends, if it does: the rest of the block is parsed alone)
            out = table.out
            futures = [pool.submit(parse_block, buf, np.int64(bounds[k]),
                                   np.int64(bounds[k + 1]), delim, rows, clock, out,
                                   np.int64(first[k]), cells[k], table.flags[k])
                       for k in range(1, n_threads)]
            try:
                results = [parse_block(buf, np.int64(0), np.int64(bounds[1]), delim, rows,
                                       clock, out, np.int64(first[0]), cells[0],
                                       table.flags[0])]
            finally:
                results += [f.result() for f in futures]
            written = max(r for r, *_ in results)  # rows up to here hold values
            for k, (r, stop, n_lines, n_noted) in enumerate(results):
                n = r - first[k]
                if first[k] != table.pos:  # blank lines before: move up
                    stored = table.stored  # (the other rows hold zeros alone)
                    out[stored, table.pos: table.pos + n] = out[stored, first[k]: r]
                if n_noted:
                    self._note_cells(cells[k], n_noted,
                                     buf if self._raw is None else self._raw,
                                     table.pos - first[k])
                table.pos += n
                line0 += n_lines
                if stop >= 0:
                    # the rows of the parts after it, and the values of the
                    # lines refused, are parsed again
                    table.clear(table.pos, written + 1)
                    return parse(buf, block.end, False, begin=stop)
            table.clear(table.pos, written)  # the rows blank lines moved up
            return None

        try:
            self._read_blocks(table, parse, parse_split if pool else None, reader,
                              n_threads)
        finally:
            for executor in (pool, reader):
                if executor is not None:
                    executor.shutdown()
        self.n_lines = table.pos
        return table.finish()

    def _read_blocks(self, table, parse, parse_split, reader, n_parts):
        """Read the file block by block, handing each block of whole lines to
        ``parse_split`` (several threads) or ``parse``.

        With a ``reader`` (a thread), the next block is read into a second
        buffer, its lines cut into ``n_parts`` parts and counted (but the
        last part's, which only the rows after the block would need), while
        this one is parsed: nothing but the parse is left between the threads.
        """
        from ._parse_kernels import count_lines

        # text cells are handed back as the file holds them, not as parsed
        keep_raw = self.decimal_comma and bool(self.text_cols)
        with open(self.fname, "rb") as fid:
            if self.offset == 0 and fid.read(3) == b"\xef\xbb\xbf":
                self.offset = 3  # a Windows editor's byte-order mark is not data
            fid.seek(self.offset)
            left = None if self.end is None else max(self.end - self.offset, 0)

            def fill(buf, src, begin, stop, at):
                """The next block in ``buf`` (or a larger buffer): the unfinished
                line ``src[begin:stop]``, at byte ``at`` of the data lines, then
                the bytes read after it, up to the last line feed."""
                nonlocal left
                carry = stop - begin
                if buf.size - 1 <= carry:
                    buf = np.empty(2 * buf.size - 1, dtype=np.uint8)
                if keep_raw:  # (on this thread: src is buf, whose bytes it mirrors)
                    if self._raw is None:
                        self._raw = np.empty_like(buf)
                    self._raw[:carry] = self._raw[begin:stop]
                if carry:
                    buf[:carry] = src[begin:stop]
                total = carry
                while True:
                    if total >= buf.size - 1:  # a line longer than the buffer
                        if total > MAX_LINE_BYTES:
                            refuse_long_line(self.fname, self.offset + at)
                        buf = np.concatenate([buf, np.empty(buf.size, dtype=np.uint8)])
                        if keep_raw:
                            self._raw = np.concatenate([self._raw, np.empty_like(self._raw)])
                    room = buf.size - 1 - total if left is None else \
                        min(buf.size - 1 - total, left)
                    n = fid.readinto(memoryview(buf)[total: total + room]) if room else 0
                    if not n:
                        return _Block(buf, total, at)
                    if left is not None:
                        left -= n
                    if self.decimal_comma:
                        view = buf[total: total + n]
                        if keep_raw:
                            self._raw[total: total + n] = view
                        view[view == 44] = 46  # ',' -> '.'
                    total += n
                    cut = _last_line_feed(buf, total)
                    if cut >= 0:
                        break
                block = _Block(buf, total, at, cut + 1)
                if n_parts > 1:
                    block.bounds = [0]
                    for k in range(1, n_parts):
                        cut = _last_line_feed(buf, block.end * k // n_parts)
                        block.bounds.append(max(cut + 1, block.bounds[-1]))
                    block.bounds.append(block.end)
                    block.counts = [count_lines(buf, np.int64(a), np.int64(b))
                                    for a, b in zip(block.bounds[:-2], block.bounds[1:-1])]
                return block

            size = BLOCK_BYTES * n_parts + 1
            block = fill(np.empty(size, dtype=np.uint8), None, 0, 0, 0)
            spare = np.empty(size, dtype=np.uint8) if reader is not None else None
            while block.end is not None:
                buf, end = block.buf, block.end
                if table.flat is None:
                    table.grow(0, end / buf[:end].tobytes().count(b"\n"))
                ahead = None if reader is None else reader.submit(
                    fill, spare, buf, end, block.total, block.at + end)
                try:
                    if parse_split is not None and table.pos:
                        parse_split(block)
                    else:
                        parse(buf, end, False)
                except BaseException:
                    if ahead is not None:  # the file stays open until it is read
                        ahead.cancel() or ahead.exception()
                    raise
                table.n_read += end
                if ahead is None:
                    block = fill(buf, buf, end, block.total, block.at + end)
                else:
                    spare, block = buf, ahead.result()
        buf, carry = block.buf, block.total
        if carry > MAX_LINE_BYTES:
            refuse_long_line(self.fname, self.offset + table.n_read)
        if carry:
            if table.flat is None:
                table.grow(1, 1.0)
            buf[carry] = 10  # a final line feed, which the file lacks
            parse(buf, carry + 1, True)


class _Block:
    """A block of the file as read: ``buf[:end]`` whole lines (``end`` None at
    the end of the file, when ``buf[:total]`` is the last line, if any, without
    its line feed), starting at byte ``at`` of the data lines; with parts,
    their ``bounds`` and the line ``counts`` of all but the last."""

    def __init__(self, buf, total, at, end=None):
        self.buf, self.total, self.at, self.end = buf, total, at, end
        self.bounds = self.counts = None


class _Table:
    """The output of :meth:`TableReader.read_columns`, grown by estimates.

    It is allocated as zeros (the operating system's zero pages, backed by
    memory only where written) and the parser stores no +0.0 in the sparse
    columns, so one of zeros alone (the aux columns of a board that sent
    none) costs no memory: ``flags`` (one array per thread) mark the
    columns a value was stored in (every other column from the start), the
    others hold zeros alone, and the rows past ``pos`` hold zeros in every
    column (values left there are cleared).
    """

    def __init__(self, n_out, size, n_threads=1):
        self.n_out = n_out
        self.size = size  # bytes of data lines in the file
        self.flat = None
        self.out = np.zeros((n_out, 0))
        self.pos = 0  # rows filled
        self.n_read = 0  # bytes parsed
        self.flags = [np.zeros(n_out, dtype=np.uint8) for _ in range(n_threads)]

    @property
    def stored(self):
        """Whether a value was stored in each column (bool, one per column)."""
        return np.logical_or.reduce(self.flags, axis=0).astype(bool)

    def clear(self, begin, end):
        """Zero rows ``begin:end`` (values past ``pos``) of the stored columns."""
        end = min(end, self.out.shape[1])
        if begin < end:
            self.out[self.stored, begin:end] = 0.0

    def grow(self, need, per_row=None):
        """Room for at least ``need`` rows: the rest of the file at the bytes
        per row so far, plus 2 %."""
        if per_row is None:
            per_row = self.n_read / max(self.pos, 1)
        rest = (self.size - self.n_read) / max(per_row, 1.0)
        n_new = max(need, int(self.pos + rest * 1.02) + 1024)
        flat = np.zeros(self.n_out * n_new)
        out = flat.reshape(self.n_out, n_new)
        for k in np.flatnonzero(self.stored):
            out[k, :self.pos] = self.out[k, :self.pos]
        self.flat, self.out = flat, out

    def put(self, arr):
        k = arr.shape[0]
        if self.pos + k > self.out.shape[1]:
            self.grow(self.pos + k)
        self.out[:, self.pos: self.pos + k] = arr.T
        self.flags[0] |= np.any((arr != 0) | np.signbit(arr), axis=0)
        self.pos += k

    def finish(self):
        """Pack the rows at the start of the allocation and shrink it.

        A column of zeros alone is not copied: only the values of stored
        columns that lie where it goes are cleared, so pages never written
        stay unbacked.
        """
        flat, pos = self.flat, self.pos
        if flat is None:
            return np.empty((self.n_out, 0))
        n_alloc = self.out.shape[1]
        stored = self.stored
        self.flat = self.out = None
        for k in range(1, self.n_out):
            lo, hi = k * pos, (k + 1) * pos
            if stored[k]:
                flat[lo:hi] = flat[k * n_alloc: k * n_alloc + pos]
                continue
            for j in range(lo // n_alloc, k):  # (the rows packed before end under lo)
                a, b = max(lo, j * n_alloc), min(hi, j * n_alloc + pos)
                if stored[j] and a < b:
                    flat[a:b] = 0.0
        flat.resize(self.n_out * pos, refcheck=False)
        return flat.reshape(self.n_out, pos)


def _as_read(src, buf, begin, end):
    """``src[begin:end]``, the bytes as read, and ``buf[begin:end]`` as parsed
    (None when ``src`` is ``buf``)."""
    return src[begin:end].tobytes(), None if src is buf else buf[begin:end].tobytes()


def _last_line_feed(buf, end):
    """Index of the last line feed in ``buf[:end]``, or -1."""
    step = 4096
    hi = end
    while hi > 0:
        lo = max(0, hi - step)
        k = buf[lo:hi].tobytes().rfind(b"\n")
        if k >= 0:
            return lo + k
        hi = lo
        step *= 4
    return -1


def cut_last_line(line, why) -> str:
    """The warning for a last line a stopped writer cut short, which is dropped.

    ``why`` says how it is short ("expected 6 columns, found 3").
    """
    return (f"The last line ({line}) is cut short ({why}); it was dropped (the writer "
            "was probably stopped mid-line).")


def row_block(cols, ks):
    """Rows ``ks`` of ``cols``: a view when they are consecutive, else a copy."""
    if len(ks) and list(ks) == list(range(ks[0], ks[0] + len(ks))):
        return cols[ks[0]: ks[0] + len(ks)]
    return np.ascontiguousarray(cols[list(ks)])


def refuse_cr_line_ends(raw, fname):
    """Refuse a file whose lines end with a carriage return alone.

    ``raw`` is its first line as read up to a line feed: with classic Mac OS
    line ends (Excel for Mac's 'CSV (Macintosh)') it runs on past line ends.
    """
    if not raw.endswith(b"\n") and b"\r" in raw.rstrip(b"\r"):
        raise RecordingFormatError(
            "its lines end with a carriage return alone (classic Mac line ends, as "
            "Excel for Mac's 'CSV (Macintosh)' saves); save it again as 'CSV UTF-8', "
            "or turn them into line feeds (tr '\\r' '\\n' < IN > OUT), and read that.",
            fname)


def refuse_long_line(fname, start):
    """Say which line, starting at byte ``start``, is longer than :data:`MAX_LINE_BYTES`."""
    n = 0
    with open(fname, "rb") as fid:  # the line feeds before it, counted once, on error
        while start > 0:
            block = fid.read(min(start, BLOCK_BYTES))
            if not block:
                break
            n += block.count(b"\n")
            start -= len(block)
    raise _long_line(fname, n + 1)


def _long_line(fname, line):
    return RecordingFormatError(
        f"the line is longer than {MAX_LINE_BYTES // 1024} kB, which no recording's row or "
        "header is; the file is not a recording, or is damaged.", fname, line)


def bounded_lines(fid, fname):
    """The lines of the open text file ``fid``, refusing one longer than
    :data:`MAX_LINE_BYTES` (characters) before it is read whole."""
    n = 0
    while True:
        line = fid.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE_BYTES:
            raise _long_line(fname, n)
        yield line


def decode_text(raw, bom=False):
    """``raw`` bytes as text: UTF-8, else Windows-1252.

    A header or a marker typed on Windows (``µV``, ``Müller``) is often
    saved in its code page, not UTF-8; bytes neither reads raise
    ``UnicodeDecodeError``. With ``bom``, a UTF-8 byte-order mark is dropped.
    """
    try:
        return raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def read_header_lines(fname, max_lines=200, prefix=None):
    """Return the first lines of a text file and the byte offset after them.

    With ``prefix``, read lines while they start with it; else read one line.
    Returns (lines, offset, n_lines).
    """
    lines = []
    offset = 0
    with open(fname, "rb") as fid:
        while len(lines) < max_lines:
            raw = fid.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            refuse_cr_line_ends(raw, fname)
            if len(raw) > MAX_LINE_BYTES:
                refuse_long_line(fname, offset)
            try:
                # a byte-order mark (Windows editors save one) is not content
                line = decode_text(raw, bom=offset == 0)
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
