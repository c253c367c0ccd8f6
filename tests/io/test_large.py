"""A multi-hundred-MB file streams: peak memory stays near the decoded array."""

import io
import subprocess
import sys

import numpy as np
import pytest

# Peak memory of one read_recording in a fresh process, after a small warm-up
# read has done the imports: the growth of the resident set on Linux (the
# kernel's high-water mark, restarted before the read, at no cost to it),
# tracemalloc elsewhere (which slows the read about threefold).
_PEAK = r"""
import os, resource, sys, tracemalloc
from biofeedback.io import read_recording
read_recording(sys.argv[2])
if os.path.exists("/proc/self/clear_refs"):
    with open("/proc/self/statm") as fid:
        before = int(fid.read().split()[1]) * resource.getpagesize()
    # restart the high-water mark (ru_maxrss would carry pytest's size: Linux
    # starts a child's at its parent's)
    with open("/proc/self/clear_refs", "w") as fid:
        fid.write("5")
    rec = read_recording(sys.argv[1])
    with open("/proc/self/status") as fid:
        hwm = next(int(ln.split()[1]) for ln in fid if ln.startswith("VmHWM:"))
    peak = hwm * 1024 - before
else:
    tracemalloc.start()
    rec = read_recording(sys.argv[1])
    peak = tracemalloc.get_traced_memory()[1]
print(rec.n_times, rec.data.nbytes, peak)
"""


def _digits(values, width):
    """ASCII digits of non-negative integers, ``width`` of them each, as uint8 rows."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + ord("0")).astype(np.uint8)


def _write_big_csv(fname, n_block=200_000, n_rep=25):
    """~250 MB of Muse CSV text, as ``np.savetxt`` writes it, in a second or two.

    The value columns repeat every block, so they are formatted once; the
    timestamps (``%.4f`` of an exact binary fraction) are formatted from
    integer ticks, which ``np.rint`` rounds half to even as printf does, as
    digits of fixed width (ten before the point) laid into each block's bytes.
    """
    rng = np.random.default_rng(0)
    buf = io.StringIO()
    np.savetxt(buf, rng.normal(0, 30, (n_block, 5)), fmt="%.3f", delimiter=",")
    rows = np.frombuffer(buf.getvalue().encode("ascii"), dtype=np.uint8)  # "\n" ends each
    ends = np.flatnonzero(rows == ord("\n"))
    # each line: 15 bytes of stamp and a comma, then its row and newline
    stamp_at = np.repeat(np.r_[0, ends[:-1] + 1] + 16 * np.arange(n_block), 16)
    stamp_at += np.tile(np.arange(16), n_block)
    is_row = np.ones(rows.size + 16 * n_block, dtype=bool)
    is_row[stamp_at] = False
    text = np.empty(is_row.size, dtype=np.uint8)
    text[is_row] = rows
    with open(fname, "wb") as fid:
        fid.write(b"timestamps,TP9,AF7,AF8,TP10,Right AUX\n")
        for rep in range(n_rep):
            t = 1.7e9 + (rep * n_block + np.arange(n_block)) / 256.0
            ticks = np.rint(t * 1e4).astype(np.int64)
            seconds, frac = np.divmod(ticks, 10000)
            assert seconds.min() >= 10**9 and seconds.max() < 10**10  # ten digits
            stamp = np.hstack([_digits(seconds, 10), np.full((n_block, 1), ord(".")),
                               _digits(frac, 4), np.full((n_block, 1), ord(","))])
            text[~is_row] = stamp.ravel()
            fid.write(text.tobytes())


def test_the_fast_writer_writes_what_savetxt_writes(tmp_path):
    fast, ref = tmp_path / "fast.csv", tmp_path / "ref.csv"
    _write_big_csv(fast, n_block=4096, n_rep=3)
    rng = np.random.default_rng(0)
    vals = rng.normal(0, 30, (4096, 5))
    with open(ref, "w") as fid:
        fid.write("timestamps,TP9,AF7,AF8,TP10,Right AUX\n")
        for rep in range(3):
            t = 1.7e9 + (rep * 4096 + np.arange(4096)) / 256.0
            np.savetxt(fid, np.column_stack([t, vals]), fmt=["%.4f"] + ["%.3f"] * 5,
                       delimiter=",")
    assert fast.read_bytes() == ref.read_bytes()


@pytest.mark.slow
def test_large_muse_csv_streams(tmp_path):
    n_block = 200_000
    fname = tmp_path / "big.csv"
    _write_big_csv(fname, n_block=n_block, n_rep=25)
    size = fname.stat().st_size
    assert size > 200e6
    small = tmp_path / "small.csv"
    _write_big_csv(small, n_block=2000, n_rep=1)
    out = subprocess.run([sys.executable, "-c", _PEAK, str(fname), str(small)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    n_times, nbytes, peak = map(int, out.stdout.split())
    assert n_times == 25 * n_block
    # The text is never held whole: peak stays near 2x the EEG array (the
    # table of timestamps, EEG and AUX, plus the timestamp steps checked) and
    # well under the file size x2.
    assert peak < 2.5 * nbytes, (peak / 1e6, nbytes / 1e6)
    assert peak < 2 * size


def _write_gui_v5(fname, minutes):
    """An OpenBCI GUI v5 Cyton file whose accelerometer, analog and marker
    columns hold zeros alone (a board that sent none of them), its EEG
    doubles printed in full, as the GUI writes them."""
    rng = np.random.default_rng(1)
    n = int(minutes * 60 * 250)
    scale = 4.5 / 24 / (2 ** 23 - 1) * 1e6
    eeg = [", ".join(map(repr, row)) for row in
           (np.round(rng.normal(0, 3000 / scale, (4096, 8))) * scale).tolist()]
    stamps = [f"{t:.3f}" for t in (1.7e9 + np.arange(n) / 250.0).tolist()]
    zeros = ", 0.0" * 13
    with open(fname, "w") as fid:
        fid.write("%OpenBCI Raw EXG Data\n%Number of channels = 8\n%Sample Rate = 250 Hz\n"
                  "%Board = OpenBCI_GUI$BoardCytonSerial\nSample Index, "
                  + ", ".join(f"EXG Channel {i}" for i in range(8))
                  + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Not Used, "
                  + ", ".join(f"Digital Channel {i}" for i in range(4)) + ", Not Used, "
                  "Digital Channel 4, Analog Channel 0, Analog Channel 1, Analog Channel 2, "
                  "Timestamp, Marker Channel, Timestamp (Formatted)\n")
        for a in range(0, n, 60_000):
            fid.writelines(f"{i % 256}.0, {eeg[i % 4096]}{zeros}, {stamps[i]}, 0.0, "
                           "2023-11-14 22:13:20.000\n" for i in range(a, min(a + 60_000, n)))


@pytest.mark.slow
def test_gui_v5_columns_of_zeros_take_no_memory(tmp_path):
    """A GUI v5 file keeps 17 of its columns (EEG, counter, clock, and the
    accelerometer, analog and marker columns, read to tell what the board
    sent): those that hold zeros alone are never backed by memory, and the
    read peaks under twice the EEG array (2.5x when they were)."""
    fname, small = tmp_path / "OpenBCI-RAW-v5.txt", tmp_path / "small.txt"
    _write_gui_v5(fname, 30)
    _write_gui_v5(small, 0.2)
    out = subprocess.run([sys.executable, "-c", _PEAK, str(fname), str(small)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    n_times, nbytes, peak = map(int, out.stdout.split())
    assert n_times == 30 * 60 * 250
    assert peak < 2 * nbytes, (peak / 1e6, nbytes / 1e6)
