"""Raw Muse files to a saved model, timed in a fresh interpreter (numba compile included).

CPU time (user + system of the child process) is the figure to compare on a
shared machine; wall time is given beside it.

Run: python benchmarks/bench_train.py [DATA_DIR]; figures go to stdout and
benchmarks/results/train.txt. Accuracy figures: benchmarks/bench_validity.py.
"""

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "muse-mental-state"


def main():
    from _results import save_results

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for extra, what in ((["--cv", "none"], "train only"),
                            ([], "train + LOSO validation + report")):
            t0 = time.perf_counter()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run(
                [sys.executable, "-m", "biofeedback.cli", "train",
                 *map(str, sorted(DATA.glob("*.csv"))), "--out", f"{tmp}/m.bfm", "--quiet", *extra],
                capture_output=True, text=True, cwd=REPO)
            dt = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            if out.returncode:
                sys.exit(out.stderr)
            lines.append(f"{what:<36} {cpu:6.1f} s CPU {dt:6.1f} s wall  "
                         "(12 Muse recordings, fresh process)")
        # accuracy figures (sustained, per window, switching, calibration):
        # benchmarks/bench_validity.py
    save_results("train.txt", lines)


if __name__ == "__main__":
    from _results import parse_args

    DATA = parse_args(__doc__, data=DATA)
    main()
