"""Offline work at full speed: our replay against what a user would do with MNE.

On one hour of 8-channel 250 Hz OpenBCI GUI text (made as bench_read.py
makes it), every figure is a whole process (interpreter start, imports,
reading, computing), warm cache (one untimed run first), best of ``--repeat``:

- ``biofeedback replay FILE``: causal filters, 2 s windows every 0.5 s,
  gates, Welch band powers and indices for every window;
- the same work in MNE: ``pandas.read_csv`` of the text, ``RawArray``,
  ``raw.filter`` (1-40 Hz) and ``notch_filter``, 2 s epochs every 0.5 s
  (``make_fixed_length_epochs``), ``psd_array_welch`` (1 s Hann segments, 50 %
  overlap) and band powers;
- ``biofeedback --help`` and the replay of the shipped 30 s sample recording;
- raw Muse files (../shared/data/muse-mental-state) to a saved model
  (``biofeedback train --cv none``).

Run: python benchmarks/bench_offline.py [--minutes 60] [--repeat 3]
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
    from _results import save_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_read import make_file

    env = dict(os.environ, PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "biofeedback.cli"]
    lines = [f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
             f"on {os.cpu_count()} cores"]
    with tempfile.TemporaryDirectory() as tmp:
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
    lines.append(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    save_results("offline.txt", lines)


if __name__ == "__main__":
    main()
