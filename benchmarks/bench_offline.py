"""Offline work at full speed: our readers and replay against pandas and MNE.

Reading: one hour of each text format (OpenBCI GUI text as bench_read.py makes
it, 8 ch at 250 Hz; a muse-lsl CSV, 4 ch at 256 Hz; a BrainFlow file of the
Cyton board, 24 columns at 250 Hz; and two files whose numbers are doubles
printed in full, as the tools print them: an OpenBCI GUI v5 Cyton file and a
muse-lsl CSV saved through pandas), ``biofeedback.io.read_recording`` (parse
and every integrity check) against ``pandas.read_csv`` (C engine, the table
alone), each in a fresh process after a small warm-up read of the same format
(imports and numba's cache done): CPU time of the read, wall time, ours's CPU
time on the calling thread (which bounds its wall time on free cores: on a
loaded machine the wall time says more of the others' work), and peak
memory as the growth of the resident set over the read (the kernel's
high-water mark, restarted before the read), against the EEG array it yields.
Best of ``--repeat``. With pyarrow installed (``pip install '.[bench]'``) a
third line per format times ``pyarrow.csv.read_csv`` on as many threads as
ours, every column we check typed float64, the EEG copied to our (channels,
samples) array, and says whether its EEG bits are ours (one digest of each
array, computed after the timing).

Then, on the OpenBCI hour, every figure is a whole process (interpreter
start, imports, reading, computing), warm cache (one untimed run first), best
of ``--repeat``:

- ``biofeedback replay FILE``: causal filters, 2 s windows every 0.5 s,
  gates, Welch band powers and indices for every window;
- the same work in MNE: ``pandas.read_csv`` of the text, ``RawArray``,
  ``raw.filter`` (1-40 Hz) and ``notch_filter``, 2 s epochs every 0.5 s
  (``make_fixed_length_epochs``), ``psd_array_welch`` (1 s Hann segments, 50 %
  overlap) and band powers;
- ``biofeedback --help`` and the replay of the shipped 30 s sample recording;
- raw Muse files (../shared/data/muse-mental-state) to a saved model
  (``biofeedback train --cv none``).

Run: python benchmarks/bench_offline.py [--minutes 60] [--repeat 3] [--only read|replay]
(``--only`` prints a part and writes nothing)
Figures go to stdout and benchmarks/results/offline.txt, with the machine's
load average (others' work slows every figure).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUSE = REPO.parent / "shared" / "data" / "muse-mental-state"

MNE_SCRIPT = r"""
import sys
import numpy as np
import pandas as pd
import mne
from mne.time_frequency import psd_array_welch

mne.set_log_level("ERROR")
df = pd.read_csv(sys.argv[1], comment="%", header=None, skipinitialspace=True,
                 usecols=range(1, 9), engine="c")
data = df.to_numpy(dtype=np.float64).T * 1e-6
info = mne.create_info([f"EEG{i}" for i in range(1, 9)], 250.0, "eeg")
raw = mne.io.RawArray(data, info)
raw.filter(1.0, 40.0)
raw.notch_filter(50.0)
epochs = mne.make_fixed_length_epochs(raw, duration=2.0, overlap=1.5, preload=True)
x = epochs.get_data()
psd, freqs = psd_array_welch(x, 250.0, fmin=1.0, fmax=40.0, n_fft=250, n_overlap=125,
                             window="hann")
bands = [(4, 8), (8, 13), (13, 30)]
bp = np.stack([psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) for lo, hi in bands], -1)
ratio = bp[..., 2].sum(1) / (bp[..., 1] + bp[..., 0]).sum(1)
print(len(x), "epochs")
"""


READ_SCRIPT = r"""
import hashlib, os, resource, sys, time
which, fmt, fname, small = sys.argv[1:5]
if which == "ours":
    from biofeedback.io import read_recording as read
elif which == "pandas":
    import pandas as pd
    kw = {"openbci": dict(comment="%", header=None), "openbci5": dict(comment="%"),
          "muse": {}, "brainflow": dict(sep="\t", header=None)}[fmt]
    def read(f):
        return pd.read_csv(f, engine="c", **kw)
else:  # pyarrow's multithreaded CSV reader, columns typed, EEG to (channels, samples)
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc
    pa.set_cpu_count(int(sys.argv[5]))
    def read(f):
        with open(f, "rb") as fid:
            lines = [fid.readline() for _ in range(50)]
        skip = sum(1 for ln in lines if ln.startswith(b"%")) + (fmt == "muse")
        sep = "\t" if fmt == "brainflow" else ","
        n_cols = lines[skip].count(sep.encode()) + 1
        names = [f"c{j}" for j in range(n_cols)]
        # every column the reader checks; not OpenBCI's clock (not a number)
        keep = (names[:6] if fmt == "muse" else names[:12] if fmt == "openbci"
                else [names[j] for j in (*range(12), 22, 23)])
        eeg = names[1:5] if fmt == "muse" else names[1:9]
        table = pc.read_csv(f, read_options=pc.ReadOptions(
            use_threads=True, skip_rows=skip, column_names=names),
            parse_options=pc.ParseOptions(delimiter=sep),
            convert_options=pc.ConvertOptions(include_columns=keep, column_types={
                name: pa.float64() for name in keep}))
        out = np.empty((len(eeg), table.num_rows))
        for k, name in enumerate(eeg):
            a = 0
            for chunk in table.column(name).chunks:
                out[k, a: a + len(chunk)] = chunk.to_numpy(zero_copy_only=True)
                a += len(chunk)
        return table, out
read(small)
with open("/proc/self/statm") as fid:
    before = int(fid.read().split()[1]) * resource.getpagesize()
# Restart the kernel's high-water mark of this process's resident set (not
# ru_maxrss: Linux carries the parent's size at fork into a child's).
with open("/proc/self/clear_refs", "w") as fid:
    fid.write("5")
c0, w0, m0 = time.process_time(), time.perf_counter(), time.thread_time()
out = read(fname)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
main = time.thread_time() - m0
with open("/proc/self/status") as fid:
    hwm = next(int(ln.split()[1]) for ln in fid if ln.startswith("VmHWM:")) * 1024
peak = hwm - before
eeg = {"ours": lambda: out.data, "pandas": lambda: None,
       "pyarrow": lambda: out[1] * 1e-6}[which]()  # (both in volts, scaled alike)
print(cpu, wall, peak, 0 if eeg is None else eeg.nbytes, main,
      "-" if eeg is None else hashlib.sha256(eeg.tobytes()).hexdigest())
"""


def make_muse(fname, minutes, sfreq=256.0, seed=0, markers=False):
    """A muse-lsl CSV (``timestamps,TP9,AF7,AF8,TP10,Right AUX``), µV; with
    ``markers``, muse-lsl's ``Marker0`` column too: 0, and a marker every 10 s
    (``1``, or text as a marker stream may send it)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * sfreq)
    with open(fname, "w") as fid:
        fid.write("timestamps,TP9,AF7,AF8,TP10,Right AUX"
                  + (",Marker0\n" if markers else "\n"))
        for start in range(0, n, 60 * 256):
            idx = np.arange(start, min(start + 60 * 256, n))
            block = np.column_stack([1.7e9 + idx / sfreq,
                                     rng.normal(0, 30, (idx.size, 5))])
            if not markers:
                np.savetxt(fid, block, fmt=["%.3f"] + ["%.3f"] * 5, delimiter=",")
                continue
            lines = np.char.mod("%.3f", block)
            cells = np.full(idx.size, "0", dtype=object)
            every = idx % int(10 * sfreq) == 0
            cells[every] = np.where((idx[every] // int(10 * sfreq)) % 2, "stim_on", "1")
            fid.writelines(",".join(row) + f",{m}\n" for row, m in zip(lines, cells))
    return n


def make_muse_pandas(fname, minutes, seed=0):
    """A muse-lsl CSV as ``muselsl record`` saves it, through pandas' ``to_csv``:
    every stamp and sample a double printed in full (``1700000000.0039062``,
    ``-12.698412698412698``, the Muse's 12-bit steps of 1000/1023 µV)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * 256)
    steps = np.round(rng.normal(0, 30, (n, 5)) / (1000 / 1023)) * (1000 / 1023)
    table = pd.DataFrame(steps, columns=["TP9", "AF7", "AF8", "TP10", "Right AUX"])
    table.insert(0, "timestamps", 1.7e9 + np.arange(n) / 256.0)
    table.to_csv(fname, float_format=None, index=False)
    return n


def make_openbci_v5(fname, minutes, seed=0):
    """An OpenBCI GUI v5 Cyton file as the GUI writes it: each sample the
    board's count times its scale, a double Java prints in full
    (``-187.72958374023438``), its Unix stamp in Java's notation
    (``1.7000000001E9``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * 250)
    scale = 4.5 / 24 / (2 ** 23 - 1) * 1e6  # µV per count at gain 24
    head = ("%OpenBCI Raw EXG Data\n%Number of channels = 8\n%Sample Rate = 250 Hz\n"
            "%Board = OpenBCI_GUI$BoardCytonSerial\nSample Index, "
            + ", ".join(f"EXG Channel {i}" for i in range(8))
            + ", Accel Channel 0, Accel Channel 1, Accel Channel 2, Not Used, "
            "Digital Channel 0 (D11), Digital Channel 1 (D12), Digital Channel 2 (D13), "
            "Digital Channel 3 (D17), Not Used, Digital Channel 4 (D18), Analog Channel 0, "
            "Analog Channel 1, Analog Channel 2, Timestamp, Marker Channel, "
            "Timestamp (Formatted)\n")

    def java(t):  # Double.toString of a Unix time: one digit before the point
        digits = repr(t).replace(".", "").rstrip("0")
        return f"{digits[0]}.{digits[1:] or '0'}E9"

    with open(fname, "w") as fid:
        fid.write(head)
        for start in range(0, n, 250 * 60):
            idx = np.arange(start, min(start + 250 * 60, n))
            eeg = (np.round(rng.normal(0, 3000 / scale, (idx.size, 8))) * scale).tolist()
            stamp = (1.7e9 + idx / 250.0).tolist()
            fid.writelines(
                f"{i % 256:.1f}, " + ", ".join(map(repr, e)) + ", 0.0" * 13
                + f", {java(t)}, 0.0, 2023-11-14 22:13:20.000\n"
                for i, e, t in zip(idx.tolist(), eeg, stamp))
    return n


def make_muse_markers(fname, minutes, seed=0):
    """:func:`make_muse` with muse-lsl's ``Marker0`` column."""
    return make_muse(fname, minutes, seed=seed, markers=True)


def make_brainflow(fname, minutes, seed=0):
    """A BrainFlow file of the Cyton board (24 rows), with its sidecar."""
    import numpy as np

    from biofeedback.io import Recording
    from biofeedback.io._brainflow import write_brainflow

    n = int(minutes * 60 * 250)
    rec = Recording(data=np.random.default_rng(seed).normal(0, 20e-6, (8, n)),
                    sfreq=250.0, ch_names=[f"EEG{i}" for i in range(1, 9)],
                    timestamps=1.7e9 + np.arange(n) / 250.0, profile="cyton")
    write_brainflow(rec, fname, overwrite=True)
    return n


def _read_figures(which, fmt, fname, small, repeat, env, threads=1):
    """Best CPU, wall and peak of ``repeat`` reads, each in a fresh process, the
    EEG array's size, a digest of it, and the best CPU of the calling thread
    (which bounds the wall time on free cores: on a loaded machine the wall
    time says more of the others' work than of the read)."""
    best = None
    for _ in range(repeat):
        res = subprocess.run([sys.executable, "-c", READ_SCRIPT, which, fmt, str(fname),
                              str(small), str(threads)], capture_output=True, text=True,
                             cwd=REPO, env=env)
        if res.returncode:
            sys.exit(f"reading {fname} ({which}) failed:\n{res.stderr}")
        *figures, digest = res.stdout.split()
        cpu, wall, peak, eeg, main = map(float, figures)
        best = (cpu, wall, peak, eeg, main) if best is None else (
            min(best[0], cpu), min(best[1], wall), min(best[2], peak), eeg,
            min(best[4], main))
    return (*best[:4], digest, best[4])


def read_lines(tmp, minutes, repeat, env):
    """Ours against pandas on an hour of each text format."""
    sys.path.insert(0, str(Path(__file__).parent))
    import pandas as pd
    from bench_read import make_file

    threads = min(len(os.sched_getaffinity(0)), 4)
    try:
        import pyarrow
    except ImportError:
        pyarrow = None
    lines = [f"reads: ours on up to {threads} threads (files of 8 MB and "
             f"more); pandas {pd.__version__} read_csv (C engine; its CPU above its wall is "
             "work on more threads); best of "
             f"{repeat}, CPU and wall each",
             f"pyarrow {pyarrow.__version__} csv.read_csv on {threads} threads, columns typed "
             "float64 (not OpenBCI's clock, which it cannot read as a number), EEG copied "
             "to (channels, samples)" if pyarrow else
             "pyarrow: not installed, not measured (pip install '.[bench]')"]
    for label, fmt, make, name in [
            ("openbci", "openbci", make_file, "OpenBCI-RAW-read.txt"),
            ("muse", "muse", make_muse, "muse.csv"),
            ("muse+mark", "muse", make_muse_markers, "muse-markers.csv"),
            ("brainflow", "brainflow", make_brainflow, "brainflow.csv"),
            # as the tools print numbers: doubles in full
            ("gui-v5", "openbci5", make_openbci_v5, "OpenBCI-v5.txt"),
            ("muse-lsl", "muse", make_muse_pandas, "muse-pandas.csv")]:
        fname, small = Path(tmp) / name, Path(tmp) / f"small-{name}"
        make(fname, minutes)
        make(small, 0.2)
        ours = _read_figures("ours", fmt, fname, small, repeat, env)
        theirs = _read_figures("pandas", fmt, fname, small, repeat, env)
        arrow = (_read_figures("pyarrow", fmt, fname, small, repeat, env, threads)
                 if pyarrow and fmt != "openbci5" else None)
        size = fname.stat().st_size / 1e6
        lines.append(
            f"read {label:<9} ({size:5.1f} MB)  ours {ours[0]:5.2f} s CPU {ours[1]:5.2f} s "
            f"wall ({ours[5]:4.2f} s CPU on the calling thread), peak "
            f"{ours[2] / 1e6:5.1f} MB = {ours[2] / ours[3]:.2f}x the EEG array "
            f"({ours[3] / 1e6:.1f} MB)  |  pandas.read_csv {theirs[0]:5.2f} s CPU "
            f"{theirs[1]:5.2f} s wall, peak {theirs[2] / 1e6:5.1f} MB  |  "
            f"pandas/ours {theirs[1] / ours[1]:.2f}x wall, {theirs[0] / ours[0]:.2f}x CPU "
            "(targets >= 3x, peak < 2x)")
        if arrow:
            lines.append(
                f"     {label:<9} pyarrow {arrow[0]:5.2f} s CPU {arrow[1]:5.2f} s wall, peak "
                f"{arrow[2] / 1e6:5.1f} MB = {arrow[2] / arrow[3]:.2f}x the EEG array; "
                f"pyarrow/ours {arrow[1] / ours[1]:.2f}x wall, {arrow[0] / ours[0]:.2f}x CPU; "
                f"EEG bits {'identical to' if arrow[4] == ours[4] else 'DIFFERENT from'} "
                "ours")
        fname.unlink()
    return lines


def _cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _time(cmd, repeat, env=None):
    """Best wall and CPU time of ``cmd`` over ``repeat`` runs, after one untimed run.

    On a shared machine the CPU time (user + system of the process) is the
    steadier figure: the wall time grows with the others' load.
    """
    run = dict(capture_output=True, text=True, cwd=REPO, env=env)
    first = subprocess.run(cmd, **run)
    if first.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{first.stderr}")
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        subprocess.run(cmd, check=True, **run)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, _cpu() - c0)
    return Timing(best, best_cpu), first.stdout


class Timing(float):
    """A wall time in seconds that also knows its CPU time."""

    def __new__(cls, wall, cpu):
        obj = super().__new__(cls, wall)
        obj.cpu = cpu
        return obj

    def __str__(self):
        return f"{float(self):6.2f} s wall, {self.cpu:6.2f} s CPU"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["read", "replay"])
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_read import make_file

    env = dict(os.environ, PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "biofeedback.cli"]
    lines = [" ".join(["# python benchmarks/bench_offline.py", *(sys.argv[1:] if argv is None
                                                                  else argv)]),
             f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
             f"on {os.cpu_count()} cores"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "replay":
            lines.extend(read_lines(tmp, args.minutes, args.repeat, env))
        if args.only == "read":
            return _finish(lines, save=False)
        fname = Path(tmp) / "OpenBCI-RAW-bench.txt"
        n = make_file(fname, args.minutes)
        hours = n / 250.0 / 3600.0
        lines.append(f"file: {n} samples x 8 ch ({args.minutes:g} min), "
                     f"{fname.stat().st_size / 1e6:.1f} MB")
        ours, out = _time([*cli, "replay", str(fname)], args.repeat, env)
        lines.append(f"biofeedback replay (whole process)   {ours}   "
                     f"{hours * 3600 / ours:5.0f}x real time ({hours * 3600 / ours.cpu:.0f}x "
                     f"by CPU)  [{out.splitlines()[0].split(' from ')[0]}]")
        script = Path(tmp) / "mne_pipeline.py"
        script.write_text(MNE_SCRIPT)
        theirs, out = _time([sys.executable, str(script), str(fname)], args.repeat, env)
        lines.append(f"MNE pipeline (whole process)         {theirs}   "
                     f"{hours * 3600 / theirs:5.0f}x real time ({hours * 3600 / theirs.cpu:.0f}x "
                     f"by CPU)  [{out.strip()}]")
        lines.append(f"ratio MNE / ours                     {theirs / ours:6.2f}x wall, "
                     f"{theirs.cpu / ours.cpu:.2f}x CPU  (target >= 5x)")
        if args.only == "replay":
            return _finish(lines, save=False)
        sample = REPO / "recordings" / "sample_synthetic.xdf"
        t, _ = _time([*cli, "replay", str(sample)], args.repeat, env)
        lines.append(f"replay of the 30 s sample recording  {t}   (target < 1 s)")
        t, _ = _time([*cli, "--help"], args.repeat, env)
        lines.append(f"biofeedback --help                   {t}   (target < 0.3 s)")
        t, _ = _time([*cli, "boards"], args.repeat, env)
        lines.append(f"biofeedback boards                   {t}   (target < 0.3 s)")
        if MUSE.is_dir():
            files = sorted(map(str, MUSE.glob("*.csv")))
            t, _ = _time([*cli, "train", *files, "--out", f"{tmp}/m.bfm", "--quiet",
                          "--cv", "none"], args.repeat, env)
            lines.append(f"raw Muse files to a saved model      {t}   "
                         f"({len(files)} recordings; target < 1.5 s)")
    return _finish(lines)


def _finish(lines, save=True):
    """Print the figures; a full run also writes them to results/offline.txt."""
    from _results import save_results

    lines.append(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if save:
        save_results("offline.txt", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
