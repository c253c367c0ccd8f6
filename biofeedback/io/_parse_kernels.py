"""The byte-level parser kernel behind :class:`~biofeedback.io._text.TableReader`.

One numba function, compiled once (``cache=True``: the first read after an
install compiles it in about two seconds, later processes load it from the
cache) and for one signature only: the caller passes arrays of fixed dtypes.

It accepts only what it can convert exactly as Python's ``float`` does: plain
decimals (``-12.345``, ``1e-3``) of at most 19 significant digits and a power
of ten from -64 to 64, ``nan`` and ``inf``, spaces or tabs around a number,
and LF or CRLF line ends. Digits that fit 2**53 with a power of ten of at
most 22 take Clinger's fast path (one correctly rounded multiplication or
division of two exact numbers, so the result is the correctly rounded
value); the others (a double printed in full, as OpenBCI GUI v5 and pandas'
``to_csv`` write them: ``-187.72958374023438``, ``1733222559.8390126``) take
the Eisel-Lemire method (:func:`_eisel_lemire`). Either way the bits are
those ``float()`` gives. Before that method such files went to ``loadtxt``
line by line, eight times slower (a pandas-written muse-lsl CSV: 0.50 s CPU
for 10 minutes, 0.06 s with it). The caller guarantees the block
ends with a line feed, so the scanning loops stop there without bounds checks.
Anything else (more digits, an empty field, a wrong column count, a
non-ASCII byte) stops it at the start of that line; the caller parses the rest
of the block with NumPy's ``loadtxt``, which either reads it or names what is
wrong.

Digits are converted eight at a time (one 8-byte load, the digit run found
with bit masks and a trailing-zero count, the value by three multiplications)
rather than byte by byte: the byte loop's exit at the varying length of an
integer part (``3.772``, ``-16.070``) is a branch the processor mispredicts on
about every number. Cells nobody reads are skipped eight bytes at a time;
so are the cells of text columns (a muse-lsl CSV's markers), of which the
few that are not empty or zero are noted by row and byte span for the caller
to decode: the file is read once, and a marker column costs its read almost
nothing.
Measured on the benchmark's Muse and BrainFlow hours (one thread, CPU): 1.78
and 1.04 ns a byte before, 1.39 and 0.92 after.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

#: ``cells`` for a table without text columns
NO_CELLS = np.empty((0, 4), dtype=np.int64)
#: Added to a column's output row in ``rows`` to store its +0.0 values not
#: (:func:`parse_block`)
SPARSE = 2 ** 40
_POW10 = np.array([10.0 ** k for k in range(23)])
# Indexing with an unsigned integer spares the negative-index check of every
# byte read (about 20 % of the parse time).
_u = np.uint64

# Powers of ten the Eisel-Lemire conversion takes (a 19-digit mantissa times
# 10**q then lies between 1e-64 and 2e83: never subnormal, never infinite).
_Q_MIN, _Q_MAX = -64, 64


def _powers_of_five(q_min, q_max):
    """5**q for q in [q_min, q_max] as 128 bits with the top bit set, as the
    Eisel-Lemire method needs them: truncated for q >= 0, 2**b // 5**-q + 1
    (then truncated) for q < 0. (high words, low words)."""
    hi, lo = [], []
    for q in range(q_min, q_max + 1):
        if q < 0:
            p5 = 5 ** -q
            z = (p5 - 1).bit_length()  # the smallest z with 2**z >= 5**-q
            c = (1 << (z + 127 if q >= -27 else 2 * z + 128)) // p5 + 1
            c >>= max(c.bit_length() - 128, 0)
        else:
            c = 5 ** q
            n = c.bit_length()
            c = c << (128 - n) if n < 128 else c >> (n - 128)
        hi.append(c >> 64)
        lo.append(c & (2 ** 64 - 1))
    return np.array(hi, dtype=np.uint64), np.array(lo, dtype=np.uint64)


_P5_HI, _P5_LO = _powers_of_five(_Q_MIN, _Q_MAX)
_M32 = np.uint64(0xFFFFFFFF)
_MAX_SAFE = np.uint64(2 ** 53)


@numba.njit(cache=True, nogil=True, inline="always")
def _mul128(a, b):
    """The 128-bit product of two 64-bit words: (high word, low word)."""
    a0, a1 = a & _M32, a >> _u(32)
    b0, b1 = b & _M32, b >> _u(32)
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> _u(32)) + (p01 & _M32) + (p10 & _M32)
    hi = a1 * b1 + (p01 >> _u(32)) + (p10 >> _u(32)) + (mid >> _u(32))
    return hi, (mid << _u(32)) | (p00 & _M32)


@numba.njit(cache=True, nogil=True)
def _eisel_lemire(w, q):
    """``w * 10**q`` correctly rounded, for the numbers Clinger's fast path
    cannot convert: more than 2**53 in the digits (a Java ``double`` printed
    in full, ``-187.72958374023438``) or a power of ten beyond 22.

    The Eisel-Lemire method (Lemire, "Number parsing at a gigabyte per
    second", 2021) as fast_float writes it: the digits, shifted to the top of
    a word, times a 128-bit power of five give the 54 leading bits of the
    value; a second word of the power is needed only when the first product's
    low bits are all ones, and with a second word the bits are exact for any
    mantissa of at most 19 digits (Mushtak and Lemire, "Fast number parsing
    without fallback", 2023). Returns (value, ok); ``q`` outside
    [``_Q_MIN``, ``_Q_MAX``] is not ok (the caller hands the line over).
    """
    if w == _u(0):
        return 0.0, True
    if q < _Q_MIN or q > _Q_MAX:
        return 0.0, False
    lz = np.int64(leading_zeros(w))
    w = w << _u(lz)
    i = q - _Q_MIN
    hi, lo = _mul128(w, _P5_HI[i])
    if (hi & _u(0x1FF)) == _u(0x1FF):  # the 55 bits kept may be off by the low word
        hi2, _ = _mul128(w, _P5_LO[i])
        lo = lo + hi2
        if hi2 > lo:
            hi += _u(1)
    upper = np.int64(hi >> _u(63))
    shift = _u(upper + 9)
    m = hi >> shift  # 54 bits: the 53 kept and one to round with
    p2 = ((217706 * q) >> 16) + 63 + upper - lz + 1023  # biased exponent
    if lo <= _u(1) and q >= -4 and q <= 23 and (m & _u(3)) == _u(1):
        if (m << shift) == hi:  # exactly halfway: to the even neighbour
            m = m & _u(0xFFFFFFFFFFFFFFFE)
    m = (m + (m & _u(1))) >> _u(1)
    if m >= _u(2 ** 53):  # rounded up to the next power of two
        m = _u(2 ** 52)
        p2 += 1
    return math.ldexp(float(m), p2 - 1075), True


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
    n_sig = 0  # digits from the first that is not zero on
    while c >= 48 and c <= 57:
        mant = mant * np.uint64(10) + np.uint64(c - 48)
        n_dig += 1
        n_sig += mant != _u(0)
        pos += 1
        c = buf[_u(pos)]
    n_frac = 0
    if c == 46:  # '.'
        pos += 1
        c = buf[_u(pos)]
        while c >= 48 and c <= 57:
            mant = mant * np.uint64(10) + np.uint64(c - 48)
            n_frac += 1
            n_sig += mant != _u(0)
            pos += 1
            c = buf[_u(pos)]
    n_dig += n_frac
    if n_dig == 0:
        return _special(buf, pos, neg, delim)
    if n_sig > 19:  # 19 digits cannot overflow 64 bits
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
    if mant <= _MAX_SAFE and exp >= -22 and exp <= 22:  # Clinger's fast path
        value = float(mant)
        if exp > 0:
            value = value * pow10[exp]
        elif exp < 0:
            value = value / pow10[-exp]
    else:
        value, ok = _eisel_lemire(mant, exp)
        if not ok:
            return 0.0, pos, False
    if neg:
        value = -value
    return value, _skip_space(buf, pos, delim), True


_F0 = np.uint64(0xF0F0F0F0F0F0F0F0)
_0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_X30 = np.uint64(0x3030303030303030)
_X06 = np.uint64(0x0606060606060606)
_X01 = np.uint64(0x0101010101010101)
_X80 = np.uint64(0x8080808080808080)
_POW10_INT = np.array([10 ** k for k in range(20)], dtype=np.uint64)


@numba.njit(cache=True, nogil=True, inline="always")
def _load8(buf, pos):
    """The eight bytes at ``pos`` as one little-endian word (one load once compiled)."""
    p = _u(pos)
    return (_u(buf[p]) | (_u(buf[p + _u(1)]) << _u(8)) | (_u(buf[p + _u(2)]) << _u(16))
            | (_u(buf[p + _u(3)]) << _u(24)) | (_u(buf[p + _u(4)]) << _u(32))
            | (_u(buf[p + _u(5)]) << _u(40)) | (_u(buf[p + _u(6)]) << _u(48))
            | (_u(buf[p + _u(7)]) << _u(56)))


@numba.njit(cache=True, nogil=True, inline="always")
def _digit_run(w):
    """How many of the word's first bytes are ASCII digits (0 to 8)."""
    # a byte is a digit when it and it + 6 both have 3 as high nibble; a carry
    # out of a byte (only from one >= 0xFA, never from a digit) reaches only
    # bytes after the first that is not a digit
    z = ((w & _F0) ^ _X30) | (((w + _X06) & _F0) ^ _X30)
    if z == 0:
        return 8
    return np.int64(trailing_zeros(z) >> _u(3))


@numba.njit(cache=True, nogil=True, inline="always")
def _digits_value(w, n):
    """The number the word's first ``n`` (0 to 8) digit bytes write."""
    s = _u(64 - 8 * n)  # the digits to the top bytes, zeros (leading) below
    v = ((w << (s >> _u(1))) << (s - (s >> _u(1)))) & _0F
    v = (v * _u(2561)) >> _u(8)
    v = ((v & _u(0x00FF00FF00FF00FF)) * _u(6553601)) >> _u(16)
    return ((v & _u(0x0000FFFF0000FFFF)) * _u(42949672960001)) >> _u(32)


@numba.njit(cache=True, nogil=True)
def _number_general(buf, pos, delim, pow10):
    """:func:`_number`, compiled once for the rare numbers :func:`parse_block`'s
    own conversion hands over (not inlined at its call sites)."""
    return _number(buf, pos, delim, pow10)


@numba.njit(cache=True, nogil=True)
def _quiet(buf, begin, end):
    """Whether ``buf[begin:end]`` is a cell that says nothing: spaces around
    nothing, ``""``, or a zero (``0``, ``0.000``, ``.0``).

    Every such cell is one :func:`~biofeedback.io._muse._marker_text` reads as
    no marker; the few others are handed to it.
    """
    while begin < end and buf[_u(begin)] == 32:
        begin += 1
    while end > begin and buf[_u(end - 1)] == 32:
        end -= 1
    if end - begin == 2 and buf[_u(begin)] == 34 and buf[_u(begin + 1)] == 34:
        return True
    n_zero = 0
    n_point = 0
    for i in range(begin, end):
        c = buf[_u(i)]
        if c == 48:
            n_zero += 1
        elif c == 46:
            n_point += 1
        else:
            return False
    return n_point <= 1 and (n_zero > 0 or n_point == 0)


@numba.njit(cache=True, nogil=True)
def parse_block(buf, begin, end, delim, rows, clock_col, out, row0, cells, stored):
    """Parse the lines of ``buf[begin:end]`` into ``out[:, row0:]``.

    ``buf[end - 1]`` must be a line feed. ``rows[j]`` is the output row of
    column ``j``, -1 to skip it, or -2 for a text column: its cells are
    skipped too, but each that is not empty or zero (:func:`_quiet`) is noted
    in ``cells`` as ``(row, column, start, end)``, its bytes ``buf[start:end]``
    (bytes beyond ASCII included: the caller decodes them; in a skipped
    column they stop the parser, for the fallback to check them).
    Column ``clock_col`` (none when -1) holds a time of day ``hh:mm:ss.fff``,
    stored as seconds since midnight. Empty lines are skipped.

    ``rows[j]`` of ``SPARSE + k`` writes column ``j`` to row ``k`` too, but
    not its +0.0 values (``out`` holds zeros where it is not yet filled):
    a column of zeros alone (the aux columns of a board that sent none)
    leaves the pages of its row untouched, never backed by memory.
    ``stored[k]`` is set when a value is stored in such a row ``k``.

    Returns (next free row of ``out``, byte offset of the line it stopped at
    or -1 when it parsed everything, line feeds passed, cells noted). It stops
    at the first line it does not accept (noting none of its cells), at the
    first line for which ``out`` has no room, and at the first line for which
    ``cells`` might have none (fewer free rows than text columns).
    """
    n_cols = rows.size
    n_max = out.shape[1]
    pow10 = _POW10
    pow10i = _POW10_INT
    n_buf = buf.size
    delims = _X01 * _u(delim)
    pos = begin
    r = row0
    n_lines = 0
    n_text = 0  # text columns
    for j in range(n_cols):
        n_text += rows[j] == -2
    n_cell = 0  # cells noted
    n_cell_max = cells.shape[0] - n_text
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
        if r >= n_max or n_cell > n_cell_max:
            return r, start, n_lines, n_cell
        n_cell0 = n_cell  # the cells of the lines before this one
        for j in range(n_cols):
            dest = rows[j]
            if dest >= 0 or j == clock_col:
                # one number, or the three of a clock: one call site keeps the
                # compile time short (the number parser is inlined)
                n_part = 3 if j == clock_col else 1
                v = 0.0
                for part in range(n_part):
                    # A plain decimal of at most 15 integer and 15 fraction
                    # digits (19 in all), eight digits per step without a
                    # branch on each digit (whose exits, at the varying lengths
                    # of integer parts, the processor cannot predict). Anything
                    # else (an exponent, more digits, no digits, the buffer's
                    # last bytes) goes to _number. The mantissa and the power
                    # of ten are those _number finds: the value is the same
                    # bits. Written out here, not in a function: an inlined
                    # function that takes the buffer would count a reference
                    # to it (an atomic add, shared by the threads) per number.
                    p = pos
                    c = buf[_u(p)]
                    while c == 32 or (c == 9 and delim != 9):
                        p += 1
                        c = buf[_u(p)]
                    neg = c == 45
                    if c == 45 or c == 43:
                        p += 1
                    slow = p + 33 > n_buf
                    ok = True
                    x = 0.0
                    if not slow:
                        w = _load8(buf, p)
                        n1 = _digit_run(w)
                        if n1 == 8:  # a long integer part (a Unix time): eight more
                            w2 = _load8(buf, p + 8)
                            n1b = _digit_run(w2)
                            ip = _digits_value(w, 8) * pow10i[n1b] + _digits_value(w2, n1b)
                            n1 += n1b
                        else:
                            ip = _digits_value(w, n1)
                        q = p + n1
                        n2 = 0
                        frac = _u(0)
                        if buf[_u(q)] == 46:  # '.'
                            w3 = _load8(buf, q + 1)
                            n2 = _digit_run(w3)
                            frac = _digits_value(w3, n2)
                            if n2 == 8:  # a long fraction (a double printed in full)
                                w4 = _load8(buf, q + 9)
                                n2b = _digit_run(w4)
                                frac = frac * pow10i[n2b] + _digits_value(w4, n2b)
                                n2 += n2b
                            q += 1 + n2
                        c = buf[_u(q)]
                        slow = (n1 >= 16 or n2 == 16 or n1 + n2 == 0 or n1 + n2 > 19
                                or c == 101 or c == 69)
                        if not slow:
                            mant = ip * pow10i[n2] + frac
                            if mant <= _MAX_SAFE:  # Clinger's fast path
                                x = float(mant)
                                if n2:
                                    x = x / pow10[n2]
                            else:
                                x, ok = _eisel_lemire(mant, -n2)
                                if not ok:
                                    return r, start, n_lines, n_cell0
                            if neg:
                                x = -x
                            pos = q
                            c = buf[_u(pos)]
                            while c == 32 or (c == 9 and delim != 9):
                                pos += 1
                                c = buf[_u(pos)]
                    if slow:
                        x, pos, ok = _number_general(buf, pos, delim, pow10)
                    if not ok:
                        return r, start, n_lines, n_cell0
                    if part < n_part - 1:
                        if buf[_u(pos)] != 58:  # ':'
                            return r, start, n_lines, n_cell0
                        pos += 1
                    if n_part == 1:
                        v = x
                    elif part == 0:
                        v = x * 3600
                    elif part == 1:
                        v = v + x * 60
                    else:
                        v = v + x
                if dest >= SPARSE:
                    # +0.0 is there already (-0.0 is not +0.0's bits)
                    if v != 0.0 or math.copysign(1.0, v) < 0.0:
                        out[dest - SPARSE, r] = v
                        stored[dest - SPARSE] = 1
                elif dest >= 0:
                    out[dest, r] = v
            else:  # a column nobody reads: skip to its end, eight bytes at a time
                # (bytes equal to the delimiter, LF or CR, and bytes >= 128:
                # the first flagged byte is exact, false flags come only after
                # a true one)
                cell = pos
                while True:
                    while pos + 8 <= n_buf:
                        w = _load8(buf, pos)
                        x1 = w ^ delims
                        x2 = w ^ _u(0x0A0A0A0A0A0A0A0A)
                        x3 = w ^ _u(0x0D0D0D0D0D0D0D0D)
                        m = (((x1 - _X01) & ~x1) | ((x2 - _X01) & ~x2)
                             | ((x3 - _X01) & ~x3) | w) & _X80
                        if m != 0:
                            pos += np.int64(trailing_zeros(m) >> _u(3))
                            break
                        pos += 8
                    c = buf[_u(pos)]
                    while c != delim and c != 10 and c != 13 and c <= 127:
                        pos += 1
                        c = buf[_u(pos)]
                    if c <= 127:
                        break
                    if dest != -2:  # the fallback checks that it is text
                        return r, start, n_lines, n_cell0
                    # a text cell's letter beyond ASCII ("Blöck 2"): part of
                    # the cell, whose bytes the caller decodes (a line feed
                    # ends the block, so the scan stops before its end)
                    pos += 1
                if dest == -2 and not _quiet(buf, cell, pos):
                    cells[n_cell, 0] = r
                    cells[n_cell, 1] = j
                    cells[n_cell, 2] = cell
                    cells[n_cell, 3] = pos
                    n_cell += 1
            if j < n_cols - 1:
                if buf[_u(pos)] != delim:
                    return r, start, n_lines, n_cell0
                pos += 1
        c = buf[_u(pos)]
        if c == 13 and buf[_u(pos + 1)] == 10:
            pos += 1
            c = 10
        if c != 10:
            return r, start, n_lines, n_cell0
        pos += 1
        n_lines += 1
        r += 1
    return r, -1, n_lines, n_cell


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
                np.zeros(1, dtype=np.int64), np.int64(-1), np.zeros((1, 1)), np.int64(0),
                NO_CELLS, np.zeros(1, dtype=np.uint8))
    count_lines(buf, np.int64(0), np.int64(buf.size))
