"""The byte-level parser kernel behind :class:`~biofeedback.io._text.TableReader`.

One numba function, compiled once (``cache=True``: the first read after an
install compiles it in about a second, later processes load it from the
cache) and for one signature only: the caller passes arrays of fixed dtypes.

It accepts only what it can convert exactly as Python's ``float`` does: plain
decimals (``-12.345``, ``1e-3``) whose digits fit 2**53 and whose power of ten
is at most 22 (Clinger's fast path: one correctly rounded multiplication or
division of two exact numbers, so the result is the correctly rounded value,
bit for bit the one ``float()`` gives), ``nan`` and ``inf``, spaces or tabs
around a number, and LF or CRLF line ends. The caller guarantees the block ends with a line feed,
so the scanning loops stop there without bounds checks. Anything else (a longer mantissa,
an empty field, a wrong column count, a non-ASCII byte) stops it at the start
of that line; the caller parses the rest of the block with NumPy's
``loadtxt``, which either reads it or names what is wrong.
"""

from __future__ import annotations

import numba
import numpy as np

_POW10 = np.array([10.0 ** k for k in range(23)])
# Indexing with an unsigned integer spares the negative-index check of every
# byte read (about 20 % of the parse time).
_u = np.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _skip_space(buf, pos, delim):
    c = buf[_u(pos)]
    while c == 32 or (c == 9 and delim != 9):
        pos += 1
        c = buf[_u(pos)]
    return pos


@numba.njit(cache=True, nogil=True)
def _word(buf, pos, word):
    """Length of ``word`` (lower-case ASCII) at ``pos``, case-insensitive; else 0."""
    for k in range(len(word)):
        c = buf[_u(pos + k)]  # stops at the block's final line feed at the latest
        if c >= 65 and c <= 90:
            c += 32
        if c != word[k]:
            return 0
    return len(word)


@numba.njit(cache=True, nogil=True)
def _special(buf, pos, neg, delim):
    """``nan``, ``inf`` or ``infinity`` at ``pos``: (value, position, ok)."""
    sign = -1.0 if neg else 1.0
    if _word(buf, pos, b"nan"):
        return np.copysign(np.nan, sign), _skip_space(buf, pos + 3, delim), True
    k = _word(buf, pos, b"infinity")
    if k == 0:
        k = _word(buf, pos, b"inf")
    if k:
        return sign * np.inf, _skip_space(buf, pos + k, delim), True
    return 0.0, pos, False


@numba.njit(cache=True, nogil=True, inline="always")
def _number(buf, pos, delim, pow10):
    """Parse one number at ``pos``: (value, position after it and its spaces, ok)."""
    pos = _skip_space(buf, pos, delim)
    c = buf[_u(pos)]
    neg = False
    if c == 45 or c == 43:  # '-' '+'
        neg = c == 45
        pos += 1
        c = buf[_u(pos)]
    mant = np.uint64(0)
    n_dig = 0
    while c >= 48 and c <= 57:
        mant = mant * np.uint64(10) + np.uint64(c - 48)
        n_dig += 1
        pos += 1
        c = buf[_u(pos)]
    n_frac = 0
    if c == 46:  # '.'
        pos += 1
        c = buf[_u(pos)]
        while c >= 48 and c <= 57:
            mant = mant * np.uint64(10) + np.uint64(c - 48)
            n_frac += 1
            pos += 1
            c = buf[_u(pos)]
    n_dig += n_frac
    if n_dig == 0:
        return _special(buf, pos, neg, delim)
    # 19 digits cannot overflow 64 bits; the fast path needs mant <= 2**53
    if n_dig > 19 or mant > np.uint64(9007199254740992):
        return 0.0, pos, False
    exp = -n_frac
    if c == 101 or c == 69:  # 'e' 'E'
        pos += 1
        c = buf[_u(pos)]
        eneg = False
        if c == 45 or c == 43:
            eneg = c == 45
            pos += 1
            c = buf[_u(pos)]
        e = 0
        n_exp = 0
        while c >= 48 and c <= 57:
            if e < 10000:
                e = e * 10 + (c - 48)
            n_exp += 1
            pos += 1
            c = buf[_u(pos)]
        if n_exp == 0:
            return 0.0, pos, False
        exp += -e if eneg else e
    value = float(mant)
    if exp > 0:
        if exp > 22:
            return 0.0, pos, False
        value = value * pow10[exp]
    elif exp < 0:
        if exp < -22:
            return 0.0, pos, False
        value = value / pow10[-exp]
    if neg:
        value = -value
    return value, _skip_space(buf, pos, delim), True


@numba.njit(cache=True, nogil=True)
def parse_block(buf, begin, end, delim, rows, clock_col, out, row0):
    """Parse the lines of ``buf[begin:end]`` into ``out[:, row0:]``.

    ``buf[end - 1]`` must be a line feed. ``rows[j]`` is the output row of
    column ``j``, or -1 to skip it; column ``clock_col`` (none when -1) holds a
    time of day ``hh:mm:ss.fff``, stored as seconds since midnight. Empty
    lines are skipped.

    Returns (next free row of ``out``, byte offset of the line it stopped at
    or -1 when it parsed everything, line feeds passed). It stops at the first
    line it does not accept, and at the first line for which ``out`` has no
    room.
    """
    n_cols = rows.size
    n_max = out.shape[1]
    pow10 = _POW10
    pos = begin
    r = row0
    n_lines = 0
    while pos < end:
        start = pos
        c = buf[_u(pos)]
        if c == 13 and buf[_u(pos + 1)] == 10:
            pos += 1
            c = 10
        if c == 10:
            pos += 1
            n_lines += 1
            continue
        if r >= n_max:
            return r, start, n_lines
        for j in range(n_cols):
            dest = rows[j]
            if dest >= 0 or j == clock_col:
                # one number, or the three of a clock: one call site keeps the
                # compile time short (the number parser is inlined)
                n_part = 3 if j == clock_col else 1
                v = 0.0
                for part in range(n_part):
                    x, pos, ok = _number(buf, pos, delim, pow10)
                    if not ok:
                        return r, start, n_lines
                    if part < n_part - 1:
                        if buf[_u(pos)] != 58:  # ':'
                            return r, start, n_lines
                        pos += 1
                    if n_part == 1:
                        v = x
                    elif part == 0:
                        v = x * 3600
                    elif part == 1:
                        v = v + x * 60
                    else:
                        v = v + x
                if dest >= 0:
                    out[dest, r] = v
            else:  # a column nobody reads: skip to its end
                c = buf[_u(pos)]
                while c != delim and c != 10 and c != 13:
                    if c > 127:  # the fallback checks that it is UTF-8
                        return r, start, n_lines
                    pos += 1
                    c = buf[_u(pos)]
            if j < n_cols - 1:
                if buf[_u(pos)] != delim:
                    return r, start, n_lines
                pos += 1
        c = buf[_u(pos)]
        if c == 13 and buf[_u(pos + 1)] == 10:
            pos += 1
            c = 10
        if c != 10:
            return r, start, n_lines
        pos += 1
        n_lines += 1
        r += 1
    return r, -1, n_lines


@numba.njit(cache=True, nogil=True)
def count_lines(buf, begin, end):
    """Line feeds in ``buf[begin:end]``."""
    n = 0
    for i in range(begin, end):
        n += buf[_u(i)] == 10
    return n


def warm_up():
    """Compile the parser (or load it from the cache) for the types the reader passes."""
    buf = np.frombuffer(b"1\n", dtype=np.uint8).copy()
    parse_block(buf, np.int64(0), np.int64(buf.size), np.uint8(44),
                np.zeros(1, dtype=np.int64), np.int64(-1), np.empty((1, 1)), np.int64(0))
    count_lines(buf, np.int64(0), np.int64(buf.size))
