"""The byte parser of numeric text tables reads what NumPy's loadtxt reads, bit for bit.

The byte parser takes the plain decimals of EEG exports; anything else (long
mantissas, big exponents, bad cells) goes to ``loadtxt`` from that line on,
so values and error messages are loadtxt's wherever in the file they occur.
Small blocks make every file cross many block boundaries.
"""

import io

import numpy as np
import pytest

from biofeedback.errors import RecordingFormatError
from biofeedback.io import _text
from biofeedback.io._text import TableReader


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(_text, "BLOCK_BYTES", 256)


CELLS = ["1", "-0.00", "12.345", "1e5", "1E-3", ".5", "5.", "+7", "nan", "-nan", "NaN",
         "inf", "-Infinity", " 3.25 ", "\t4", "-0", "1533059192.499", "-102698.17",
         "0.000000001", "1e-22", "2.5E+3", "9007199254740992",
         # beyond Clinger's fast path: the Eisel-Lemire conversion
         "9007199254740993", "1e23", "-187.72958374023438", "0.000000000000000000012345",
         # beyond the byte parser: loadtxt reads them
         "12345678901234567890", "1e-300", "0.1e400", "123456.78901234567890123"]


def _reference(text, n_cols):
    with np.errstate(all="ignore"):
        return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, comments=None,
                          dtype=np.float64).reshape(-1, n_cols)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_values_are_loadtxts_bit_for_bit(tmp_path, small_blocks, newline):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(400):
        cells = rng.choice(CELLS, 5)
        if i % 7:  # most lines hold only what the byte parser takes
            cells = [f"{v:.{i % 4}f}" for v in rng.normal(0, 3000, 5)]
        lines.append(", ".join(cells))
        if i % 50 == 0:
            lines.append("")  # blank lines are skipped
    text = newline.join(lines) + newline
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    reader = TableReader(path, 5, first_line=1, offset=0)
    table = reader.read()
    ref = _reference(text, 5)
    assert table.shape == ref.shape
    assert table.tobytes() == ref.tobytes()
    assert 0 < reader.n_fallback_lines < len(lines)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_line_of_spaces_is_a_blank_line(tmp_path, small_blocks, newline):
    """A line holding only spaces (an editor's, a logger's) was refused as 'the
    table could not be parsed', naming no line; an empty line was skipped."""
    rows = [[i, -i / 4, 1e23 if i == 3 else i * 2.5] for i in range(60)]
    lines = [", ".join(f"{v:g}" for v in r) for r in rows]  # 1e+23: loadtxt's from there
    for at in (40, 20, 5):  # before and after the hand-over to loadtxt
        lines.insert(at, "   ")
    path = tmp_path / "t.csv"
    path.write_bytes((newline.join(lines) + newline).encode())
    np.testing.assert_array_equal(TableReader(path, 3, first_line=1, offset=0).read(),
                                  np.array(rows, dtype=float))


@pytest.mark.parametrize("tail", ["   \n", "\t\r\n \n"])
def test_blank_lines_alone_at_a_block_end_warn_of_nothing(tmp_path, tail):
    """Lines of spaces after the last row (an editor's) went to loadtxt alone,
    whose 'input contained no data' (naming a StringIO object) became one of
    the recording's warnings."""
    from biofeedback.io import read_recording

    rows = "".join(f"{1.7e9 + i / 256:.6f},{i % 3},{i % 4},{i % 5},{i % 6},0\n"
                   for i in range(600))
    path = tmp_path / "m.csv"
    path.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + rows + tail)
    rec = read_recording(path)
    assert rec.n_times == 600
    assert rec.warnings == []


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_every_digit_count_is_loadtxts_bit_for_bit(tmp_path, small_blocks, delimiter):
    """Integer parts of 0 to 20 digits and fractions of 0 to 10, across the
    eight-byte words the parser converts at once, with signs, spaces, skipped
    columns of any width and the last bytes of a block: loadtxt's bits (in
    small blocks, each of which the byte parser starts afresh)."""
    rng = np.random.default_rng(5)
    lines = []
    for n_int in range(21):
        for n_frac in range(11):
            for _ in range(6):
                cells = []
                for _ in range(4):
                    whole = "".join(rng.choice(list("0123456789"), n_int))
                    frac = "".join(rng.choice(list("0123456789"), n_frac))
                    cell = rng.choice(["", "-", "+"]) + whole + ("." + frac if n_frac or
                                                                 rng.random() < 0.3 else "")
                    if not whole and not frac:
                        cell = rng.choice(["0", "-0.", ".0"])
                    if rng.random() < 0.1:
                        cell = f" {cell}  "
                    cells.append(cell)
                cells.insert(2, "x" * int(rng.integers(0, 20)))  # a column not read
                lines.append(delimiter.join(cells))
    rng.shuffle(lines)
    text = "\n".join(lines) + "\n"
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode())
    reader = TableReader(path, 5, first_line=1, offset=0, delimiter=delimiter,
                         usecols=[0, 1, 3, 4])
    table = reader.read()
    with np.errstate(all="ignore"):
        ref = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, comments=None,
                         usecols=[0, 1, 3, 4])
    assert table.shape == ref.shape
    assert table.tobytes() == ref.tobytes()
    assert reader.n_fallback_lines < len(lines) * 3 // 4  # the byte parser read many


def _halfway_cells(rng, n):
    """Decimals of at most 19 digits exactly halfway between two doubles (and
    their neighbours one unit off): an odd 54-bit integer times a power of two,
    written with a power of ten from -3 to 22, where such ties exist."""
    cells = []
    while len(cells) < n:
        q = int(rng.integers(-3, 23))
        if q >= 0:
            if 5 ** q >= 2 ** 53:
                continue
            r = int(rng.integers(2 ** 53 // 5 ** q, 2 ** 54 // 5 ** q)) | 1
            if (5 ** q * r).bit_length() != 54:
                continue
            w = r * 2 ** int(rng.integers(0, 3))  # w * 10**q = 5**q * r * 2**k
        else:
            m = int(rng.integers(2 ** 53, 2 ** 54)) | 1
            w = m * 5 ** -q * 2 ** int(rng.integers(0, -q + 1))  # m * 2**-k, k <= -q
        for d in (-1, 0, 1):
            if len(str(w + d)) <= 19:
                cells.append(f"{w + d}e{q}")
    return cells


def test_doubles_printed_in_full_stay_on_the_byte_parser(tmp_path, small_blocks):
    """Doubles printed with all their digits (OpenBCI GUI v5 writes each float
    sample so, ``-187.72958374023438``; so do ``repr`` and ``%.17g``), more
    digits than 2**53 holds, powers of ten beyond 22 and decimals exactly
    halfway between two doubles: ``float()``'s bits, and not a line handed
    to loadtxt (which reads such a file 20 times slower)."""
    rng = np.random.default_rng(7)
    vals = rng.normal(0, 200, 2000).astype(np.float32).astype(float)  # as the GUI holds them
    big, small = (vals * 1e40).tolist(), (vals * 1e-40).tolist()
    vals = vals.tolist()
    cells = ([repr(v) for v in vals] + [f"{v:.17g}" for v in vals]
             + [f"{v:.16e}" for v in big] + [f"{v:.16e}" for v in small]
             + _halfway_cells(rng, 4000) + ["0.000000000000000000012345678901234567"])
    cells += [f"{v:.2f}" for v in vals[: -len(cells) % 5]]
    cells = rng.permutation(cells).reshape(-1, 5)
    text = "\n".join(", ".join(row) for row in cells) + "\n"
    path = tmp_path / "gui_v5.csv"
    path.write_bytes(text.encode())
    reader = TableReader(path, 5, first_line=1, offset=0)
    table = reader.read()
    ref = np.array([[float(c) for c in row] for row in cells])
    assert table.shape == ref.shape
    assert table.tobytes() == ref.tobytes()
    assert reader.n_fallback_lines == 0


def test_clock_column_and_usecols(tmp_path, small_blocks):
    lines = [f"{i}, {i * 0.5:.2f}, skip me:{i}, 23:59:{59 + i * 0.004:06.3f}"
             for i in range(300)]
    path = tmp_path / "c.txt"
    # a clock column: h * 3600 + m * 60 + s, exactly as computed from the parts
    clean = "\n".join(ln.replace(", skip me:", ", ") for ln in lines) + "\n"
    path.write_text(clean)
    table = TableReader(path, 4, first_line=1, offset=0, clock_col=3).read()
    parts = _reference(clean.replace(":", ","), 6)
    secs = parts[:, 3] * 3600 + parts[:, 4] * 60 + parts[:, 5]
    assert table[:, 3].tobytes() == secs.tobytes()
    assert table[:, :3].tobytes() == np.ascontiguousarray(parts[:, :3]).tobytes()
    # skipped columns may hold anything but the delimiter
    path.write_text("\n".join(lines) + "\n")
    table = TableReader(path, 4, first_line=1, offset=0, usecols=[1, 0]).read()
    assert np.array_equal(table[:, 1], np.arange(300))
    assert np.array_equal(table[:, 0], np.arange(300) * 0.5)


def test_a_bad_line_deep_in_the_file_is_named(tmp_path, small_blocks):
    lines = [f"{i}, {i}.25" for i in range(500)]
    lines[437] = "437, 4x7"
    path = tmp_path / "b.csv"
    path.write_text("%head\n" + "\n".join(lines) + "\n")
    reader = TableReader(path, 2, first_line=2, offset=len("%head\n"))
    with pytest.raises(RecordingFormatError, match=r"line 439.*column 2 holds '4x7'"):
        reader.read()


def test_a_form_feed_in_a_cell_does_not_shift_the_line_named(tmp_path, small_blocks):
    # loadtxt reads '3\x0c' as 3: only '\n' ends a line
    lines = [f"{i}, {i}.25" for i in range(20)]
    lines[3] += "\x0c"
    lines[12] = "12, 1x2"
    path = tmp_path / "f.csv"
    path.write_bytes(("%head\n" + "\n".join(lines) + "\n").encode())
    reader = TableReader(path, 2, first_line=2, offset=len("%head\n"))
    with pytest.raises(RecordingFormatError, match=r"line 14.*column 2 holds '1x2'"):
        reader.read()


def test_lines_longer_than_the_first_ones_and_a_cut_last_line(tmp_path, small_blocks):
    # the first lines are short: the first size estimate is too small
    lines = [f"{i},{i}" for i in range(50)] + [f"{i}.123456,{-i}.654321"
                                               for i in range(50, 600)]
    path = tmp_path / "g.csv"
    path.write_text("\n".join(lines) + "\n" + "600.1,")
    reader = TableReader(path, 2, first_line=1, offset=0)
    table = reader.read()
    assert table.shape == (600, 2)
    assert table.T.flags.c_contiguous  # one contiguous row per column
    assert np.array_equal(table, _reference("\n".join(lines) + "\n", 2))
    assert "The last line (601) is cut short" in reader.warnings[0]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_line_longer_than_a_block_on_threads(tmp_path, monkeypatch, threads):
    """A line longer than a block (read on while the block before is parsed,
    when there are threads) is read whole, or refused past the longest line
    naming it, on any number of threads; a bad line further on is named."""
    monkeypatch.setattr(_text, "BLOCK_BYTES", 256)
    monkeypatch.setattr(_text, "THREADS", threads)
    lines = [f"{i}.25,{-i}.5" for i in range(3000)]
    lines[1700] = "1." + "1" * 5000 + ",2"  # 5 kB: the slow path reads it
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    table = TableReader(path, 2, first_line=1, offset=0).read()
    assert table.tobytes() == _reference("\n".join(lines) + "\n", 2).tobytes()
    monkeypatch.setattr(_text, "MAX_LINE_BYTES", 1500)
    with pytest.raises(RecordingFormatError, match="line 1701: the line is longer than 1 kB"):
        TableReader(path, 2, first_line=1, offset=0).read()
    monkeypatch.setattr(_text, "MAX_LINE_BYTES", 8192)
    lines[2900] = "1,2,3"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingFormatError, match="line 2901: expected 2 columns, found 3"):
        TableReader(path, 2, first_line=1, offset=0).read()


@pytest.mark.parametrize("threads", [2, 3])
def test_lines_shorter_than_the_first_ones_on_threads(tmp_path, monkeypatch, threads):
    """The table is sized from the first lines: shorter ones after them fill it
    before the file ends, in the middle of a block's last part (whose lines
    are not counted ahead); it grows, and the values are loadtxt's."""
    monkeypatch.setattr(_text, "BLOCK_BYTES", 512)
    monkeypatch.setattr(_text, "THREADS", threads)
    lines = [f"{i}.123456789012,{-i}.987654321098" for i in range(60)]
    lines += [f"{i % 10},{i % 7}" for i in range(60, 9000)]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "short.csv"
    path.write_text(text)
    reader = TableReader(path, 2, first_line=1, offset=0)
    table = reader.read()
    assert table.tobytes() == _reference(text, 2).tobytes()
    assert reader.n_lines == 9000


def test_bytes_that_are_not_text(tmp_path, small_blocks):
    path = tmp_path / "x.csv"
    # 0x81 is text in neither UTF-8 nor Windows-1252
    path.write_bytes(b"1,2\n" * 100 + b"3,\x81\n" + b"1,2\n" * 10)
    with pytest.raises(RecordingFormatError, match="bytes that are not text"):
        TableReader(path, 2, first_line=1, offset=0).read()
    # a Windows-1252 character is text: the cell is named, with its line
    path.write_bytes(b"1,2\n" * 100 + b"3,\xb5V\n" + b"1,2\n" * 10)
    with pytest.raises(RecordingFormatError, match="line 101: column 2 holds 'µV'"):
        TableReader(path, 2, first_line=1, offset=0).read()


def test_brainflow_counter_scan_in_blocks_is_the_whole_scan():
    from biofeedback.hardware import get_profile
    from biofeedback.hardware._counter import missing_samples, widen_by_clock
    from biofeedback.io._brainflow import _counter_gaps

    cols = get_profile("cyton").columns
    rng = np.random.default_rng(0)
    n = 200_000  # several blocks
    idx = np.cumsum(1 + (rng.random(n) < 0.001) * rng.integers(1, 600, n))
    counter = np.mod(idx, 256).astype(float)
    counter[70_000:70_100] = np.nan  # a NaN run across nothing in particular
    counter[131_072] = np.nan  # at a block's first sample
    ts = 1.7e9 + idx / 250.0
    # (with the counter: a loss of 255, which brings it back to its value, is found)
    whole, _ = widen_by_clock(missing_samples(counter, cols), ts, 250.0, cols,
                              counter=counter)
    gaps = _counter_gaps(counter, ts, 250.0, cols)
    assert len(gaps) > 100
    assert [(g.onset, g.n_missing) for g in gaps] == [
        (float(ts[i - 1]), int(whole[i])) for i in np.flatnonzero(whole) if i > 0]


def test_threads_give_the_single_thread_arrays(tmp_path, monkeypatch):
    """Parts of a block parsed at once on threads: the same bits, lines and messages."""
    from biofeedback.io import read_recording

    rng = np.random.default_rng(3)
    lines = ["%OpenBCI Raw EEG Data", "%Number of channels = 8",
             "%Sample Rate = 250 Hz", "%Board = OpenBCI_GUI$BoardCytonSerial",
             "Sample Index, EXG Channel 0, EXG Channel 1, EXG Channel 2, EXG Channel 3, "
             "EXG Channel 4, EXG Channel 5, EXG Channel 6, EXG Channel 7, Accel Channel 0, "
             "Accel Channel 1, Accel Channel 2, Other, Other, Other, Other, Other, Other, "
             "Other, Analog Channel 0, Analog Channel 1, Analog Channel 2, Timestamp, "
             "Other, Timestamp (Formatted)"]
    t = 1.7e9
    for i in range(3000):
        if i % 400 == 399:
            t += 0.2  # a gap of 50 samples, counter jumping with it
        t += 0.004
        eeg = [f"{v:.2f}" for v in rng.normal(0, 30, 8)]
        cells = [str(i % 256), *eeg, "0.0", "0.0", "0.0", *["0"] * 7, "0", "0", "0",
                 f"{t:.3f}", "0", "2023-11-14 22:13:20.000"]
        lines.append(", ".join(cells))
        if i % 97 == 0:
            lines.append("")
        if i == 2500:
            lines.append(", ".join(c if k != 3 else "12345678901234567890"
                                   for k, c in enumerate(cells)))  # the slow path
    path = tmp_path / "OpenBCI-RAW-threads.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    monkeypatch.setattr(_text, "BLOCK_BYTES", 2048)
    got = {}
    for threads in (1, 2, 3):
        monkeypatch.setattr(_text, "THREADS", threads)
        rec = read_recording(path)
        got[threads] = (rec.data.tobytes(), rec.timestamps.tobytes(), rec.data.shape)
    assert got[1][2][1] > 3000
    assert got[2] == got[1] and got[3] == got[1]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_columns_of_zeros_read_as_zeros_whatever_was_parsed_before(tmp_path, monkeypatch,
                                                                     threads):
    """The parser stores no +0.0 in sparse columns (the table starts as
    zeros): a zero after a value in the same row, a row moved up past blank lines, the rows a thread
    parsed before a line the byte parser refuses, and the row a refused line
    (or a last line cut short) left half parsed all read back as zeros, bit
    for bit (-0.0 kept)."""
    monkeypatch.setattr(_text, "BLOCK_BYTES", 613)
    monkeypatch.setattr(_text, "THREADS", threads)
    rng = np.random.default_rng(8)
    lines = []
    for i in range(4000):
        cells = [f"{v:.2f}" if rng.random() < 0.5 else "0" for v in rng.normal(0, 9, 3)]
        cells += ["0", "-0.0" if i % 13 == 0 else "0.0", f"{i}"]  # zeros alone in column 3
        if i % 211 == 5:  # the slow path from here to the block's end
            cells[rng.choice([0, 1, 2, 5])] = "1.2345678901234567890123"
        if i % 307 == 11:  # refused mid-line, after values stored in its row
            cells[4] = "12345678901234567890"
        lines.append(",".join(cells))
        if rng.random() < 0.05:
            lines += [""] * int(rng.integers(1, 4))
    text = "\n".join(lines) + "\n"
    path = tmp_path / "zeros.csv"
    path.write_text(text + "7.5,8.5,9.5")  # a last line cut short, dropped
    # every column, or some in another order, zeros alone in some sparse columns
    for keep, sparse in ((None, [1, 3, 4]), ([5, 3, 0, 4, 1], [3, 0, 4, 1])):
        reader = TableReader(path, 6, first_line=1, offset=0, usecols=keep,
                             sparse_cols=sparse)
        ref = _reference(text, 6)[:, slice(None) if keep is None else keep]
        table = reader.read()
        assert np.ascontiguousarray(table).tobytes() == np.ascontiguousarray(ref).tobytes()
        assert 0 < reader.n_fallback_lines < 4000
        assert len(reader.warnings) == 1 and "cut short" in reader.warnings[0]


# cells that say nothing (left out) and cells that say something (handed back)
QUIET = ["0", "", "0.000", " 0 ", '""', ".0", "00"]
SAID = ["1", "stim on", "0.5", ".", "-0.1", '"go"', " 7", "Müde"]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("sep,decimal_comma,end", [(",", False, "\n"), (",", False, "\r\n"),
                                                   (";", True, "\n"), ("\t", False, "\n")])
def test_text_columns_are_handed_back_as_the_table_is_read(tmp_path, monkeypatch, threads,
                                                           sep, decimal_comma, end):
    """The cells of text columns that say something come back with their rows, as
    the file holds them, from the byte parser and the slow path alike (a number
    it hands over, a non-ASCII cell), across blocks, threads and blank lines."""
    monkeypatch.setattr(_text, "BLOCK_BYTES", 997)
    monkeypatch.setattr(_text, "THREADS", threads)
    rng = np.random.default_rng(5)
    said = SAID + (["a,b", "1,5"] if decimal_comma else [])
    lines, values, expected = [], [], []
    for i in range(3000):
        row = [i / 256, *rng.normal(0, 30, 2)]
        texts = [said[i // 97 % len(said)] if i % 97 == 0 else QUIET[i % len(QUIET)],
                 said[i // 89 % len(said)] if i % 89 == 5 else QUIET[i // 3 % len(QUIET)]]
        expected += [(i, j, t.encode()) for j, t in zip((1, 4), texts) if t not in QUIET]
        cells = [f"{row[0]:.6f}", texts[0], f"{row[1]:.3f}", f"{row[2]:.3f}", texts[1]]
        if i % 400 == 7:  # more digits than the byte parser takes: the slow path
            cells[2] = f"{row[1]:.20f}"
        if decimal_comma:
            cells = [c.replace(".", ",") if k in (0, 2, 3) else c
                     for k, c in enumerate(cells)]
        values.append([float(c.replace(",", ".")) for c in np.array(cells)[[0, 2, 3]]])
        lines.append(sep.join(cells))
        if i % 500 == 3:
            lines += ["", "  "]
    path = tmp_path / "t.csv"
    path.write_bytes((end.join(lines) + end).encode())
    reader = TableReader(path, 5, first_line=1, offset=0, delimiter=sep,
                         decimal_comma=decimal_comma, text_cols=[1, 4])
    table = reader.read()
    np.testing.assert_array_equal(table, np.array(values))
    assert reader.n_fallback_lines > 0
    assert sorted(reader.text_cells) == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_text_cells_beyond_ascii_stay_on_the_byte_parser(tmp_path, monkeypatch, threads):
    """A marker such as "Blöck 2" sent the rest of its block to loadtxt: a 1 h
    muse-lsl CSV with six took six times as long as one with ASCII markers.
    Its bytes are part of its cell, handed back as the file holds them (UTF-8
    or Windows-1252), and still checked to be text."""
    monkeypatch.setattr(_text, "BLOCK_BYTES", 997)
    monkeypatch.setattr(_text, "THREADS", threads)
    said = ['"Blöck 2"'.encode(), "Müde".encode("cp1252"), "→ go".encode()]
    rng = np.random.default_rng(6)
    lines, values, expected = [], [], []
    for i in range(3000):
        row = [i / 256, *rng.normal(0, 30, 2)]
        cell = said[i // 250 % len(said)] if i % 250 == 7 else b"0"
        if cell != b"0":
            expected.append((i, 3, cell))
        values.append([float(f"{v:.6f}") for v in row])
        lines.append(b",".join([f"{v:.6f}".encode() for v in row] + [cell]))
    path = tmp_path / "t.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    reader = TableReader(path, 4, first_line=1, offset=0, text_cols=[3])
    np.testing.assert_array_equal(reader.read(), np.array(values))
    assert reader.n_fallback_lines == 0
    assert sorted(reader.text_cells) == expected
    # 0x81 is text in neither UTF-8 nor Windows-1252
    lines[1500] = lines[1500].rsplit(b",", 1)[0] + b",Bl\x81ck"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(RecordingFormatError, match="bytes that are not text"):
        TableReader(path, 4, first_line=1, offset=0, text_cols=[3]).read()


@pytest.mark.parametrize("path", ["byte parser", "loadtxt"])
@pytest.mark.parametrize("keep", [{}, {"usecols": [0, 2, 3]}, {"text_cols": [1, 4]}])
@pytest.mark.parametrize("bad,found", [(",0,1.5,-2,0,9", 6), (",0,1.5,-2", 4), (",0", 2)])
def test_a_line_with_a_wrong_cell_count_is_refused_on_either_path(tmp_path, path, keep,
                                                                  bad, found):
    """A line with a cell more (two lines run together) or less (one cut short,
    the cells missing read or not) is refused, naming the file and the line,
    whichever columns are kept and whichever path reads it: the same file, its
    first number written with more digits than the byte parser takes (loadtxt
    reads the whole block from there), gives the same sentence."""
    lines = [f"{i / 256:.6f},0,{i % 7}.25,{-i},0" for i in range(200)]
    lines[120] = "0.5" + bad
    if path == "loadtxt":
        lines[0] = "0.12345678901234567890,0,0.25,0,0"  # 20 significant digits
    fname = tmp_path / "cells.csv"
    fname.write_text("\n".join(lines) + "\n")
    reader = TableReader(fname, 5, first_line=1, offset=0, **keep)
    with pytest.raises(RecordingFormatError) as err:
        reader.read()
    assert str(err.value) == f"{fname}, line 121: expected 5 columns, found {found}."
    assert (reader.n_fallback_lines == 200) == (path == "loadtxt")
    if path == "loadtxt":  # the same file, its lines right: loadtxt read them all
        lines[120] = "0.5,0,2.25,-120,0"
        fname.write_text("\n".join(lines) + "\n")
        reader = TableReader(fname, 5, first_line=1, offset=0, **keep)
        assert reader.read().shape == (200, 5 - len(keep.get("text_cols", [])) - 2 *
                                       ("usecols" in keep))
        assert reader.n_fallback_lines == 200
