"""Reading a one-hour, 8-channel, 250 Hz OpenBCI GUI text file.

Prints the CPU time of ``biofeedback.io.read_recording`` (parse and every
integrity check) against ``numpy.genfromtxt`` and ``pandas.read_csv(engine="c")``
on the same file, in one process after a warm-up read, and the reader's peak
memory (tracemalloc) against the decoded EEG array and the decoded table.
Targets: at least 5x genfromtxt, at least 3x pandas, peak under 2x the EEG
array. ``bench_offline.py`` gives the same comparison for every text format,
each read in a fresh process, with the peak resident memory.

Run: python benchmarks/bench_read.py [--minutes 60]  (figures to stdout and
benchmarks/results/read.txt)
The file is generated in a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def make_file(fname: Path, minutes: float, sfreq: float = 250.0, seed: int = 0):
    """Write an OpenBCI GUI v4-style raw file of ``minutes`` of 8-channel EEG."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * sfreq)
    block = 250 * 60
    with open(fname, "w") as fid:
        fid.write("%OpenBCI Raw EEG Data\n%\n%Sample Rate = 250.0 Hz\n"
                  "%First Column = SampleIndex\n%Last Column = Timestamp\n"
                  "%Other Columns = EEG data in microvolts followed by Accel Data "
                  "(in G) interleaved with Aux Data\n")
        for start in range(0, n, block):
            idx = np.arange(start, min(start + block, n))
            eeg = rng.normal(0, 3000, (idx.size, 8))
            acc = np.where((idx % 10 == 0)[:, None], rng.normal(0, 0.3, (idx.size, 3)),
                           0.0)
            sec = 10 * 3600 + idx / sfreq
            h, m, s = sec // 3600, (sec % 3600) // 60, sec % 60
            lines = [
                f"{i % 256}, " + ", ".join(f"{v:.2f}" for v in e) + ", "
                + ", ".join(f"{v:.3f}" for v in a)
                + f", {int(hh):02d}:{int(mm):02d}:{ss:06.3f}\n"
                for i, e, a, hh, mm, ss in zip(idx, eeg, acc, h, m, s)
            ]
            fid.writelines(lines)
    return n


def best_of(fun, repeat):
    """Best CPU time (user + system of this process) of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        out = fun()
        times.append(time.process_time() - t0)
        del out
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import pandas as pd
    from _results import save_results

    from biofeedback.io import read_recording

    with tempfile.TemporaryDirectory() as tmp:
        fname = Path(tmp) / "OpenBCI-RAW-bench.txt"
        t0 = time.perf_counter()
        n = make_file(fname, args.minutes)
        size_mb = fname.stat().st_size / 1e6
        lines = [" ".join(["# python benchmarks/bench_read.py",
                           *(sys.argv[1:] if argv is None else argv)]),
                 f"file: {n} samples x 8 ch, {size_mb:.1f} MB "
                 f"(generated in {time.perf_counter() - t0:.1f} s)",
                 "load average before: " + " ".join(f"{v:.2f}" for v in os.getloadavg())
                 + f" on {os.cpu_count()} cores (others' work slows every figure)"]

        read_recording(fname)  # imports and numba's cache, as in any later read
        t_ours = best_of(lambda: read_recording(fname), args.repeat)
        t_pd = best_of(lambda: pd.read_csv(fname, comment="%", header=None,
                                           engine="c"), args.repeat)
        t_np = best_of(lambda: np.genfromtxt(fname, delimiter=",", comments="%"), 1)

        gc.collect()
        tracemalloc.start()
        rec = read_recording(fname)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        eeg_bytes = rec.data.nbytes
        table_bytes = rec.n_times * 13 * 8  # counter, 8 EEG, 3 accel, clock

    lines.append(f"biofeedback.read_recording : {t_ours:7.3f} s CPU")
    lines.append(f"pandas.read_csv (C engine) : {t_pd:7.3f} s CPU   pandas/ours = "
                 f"{t_pd / t_ours:.2f}  (target >= 3)")
    lines.append(f"numpy.genfromtxt           : {t_np:7.3f} s CPU   genfromtxt/ours = "
                 f"{t_np / t_ours:.2f}  (target >= 5)")
    lines.append(f"peak memory                : {peak / 1e6:7.1f} MB  = "
                 f"{peak / eeg_bytes:.2f}x the EEG array ({eeg_bytes / 1e6:.1f} MB), "
                 f"{peak / table_bytes:.2f}x the decoded table ({table_bytes / 1e6:.1f} MB)"
                 "  (target < 2x)")
    lines.append("load average after: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    save_results("read.txt", lines)


if __name__ == "__main__":
    main()
