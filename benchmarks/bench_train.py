"""Raw Muse files to a saved model, timed in a fresh interpreter (numba compile included).

Run: python benchmarks/bench_train.py [DATA_DIR]; figures go to stdout and
benchmarks/results/train.txt.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data" / "muse-mental-state"


def main():
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for extra, what in ((["--cv", "none"], "train only"),
                            ([], "train + LOSO validation + report")):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "biofeedback.cli", "train", *map(str, sorted(DATA.glob("*.csv"))),
                 "--out", f"{tmp}/m.bfm", "--quiet", *extra],
                capture_output=True, text=True, cwd=REPO)
            dt = time.perf_counter() - t0
            if out.returncode:
                sys.exit(out.stderr)
            lines.append(f"{what:<36} {dt:6.1f} s  (12 Muse recordings, fresh process)")
        # accuracy figures
        code = (
            "from biofeedback.training import *\n"
            f"ds = extract_dataset(label_files([{str(DATA)!r}]), gated='include', n_jobs=1)\n"
            "print('random split (leaky)', round(random_split_score(ds), 3))\n"
            "for m in ('logreg', 'lda', 'hgb', 'rf'):\n"
            "    a = cross_validate(ds, m)\n"
            "    b = cross_validate(ds, m, score_after=20.0)\n"
            "    c = cross_validate(ds, m, calibration=20.0)\n"
            "    f = lambda r: f'{r.mean_fold_accuracy:.3f}/{r.balanced_accuracy:.3f}'\n"
            "    print(f'LOSO {m:<7} all {f(a)}  after20 {f(b)}  calibrated20 {f(c)}  (mean over folds/pooled)')\n"
            "dsw = extract_dataset(label_files([" + repr(str(DATA)) + "]), gated='include', need_windows=True, n_jobs=1)\n"
            "r = cross_validate(dsw, 'riemann')\n"
            "print(f'LOSO riemann all {r.mean_fold_accuracy:.3f}/{r.balanced_accuracy:.3f}')\n"
            "dx = ds.select(~ds.gated)\n"
            "a = cross_validate(dx, 'logreg'); c = cross_validate(dx, 'logreg', calibration=20.0)\n"
            "print(f'gated excluded ({ds.gated.sum()} of {len(ds)} dropped): LOSO logreg {a.mean_fold_accuracy:.3f}/{a.balanced_accuracy:.3f}, calibrated20 {c.mean_fold_accuracy:.3f}/{c.balanced_accuracy:.3f}')\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
        if out.returncode:
            sys.exit(out.stderr)
        lines += out.stdout.strip().splitlines()
    text = "\n".join(lines) + "\n"
    print(text, end="")
    (REPO / "benchmarks" / "results" / "train.txt").write_text(text)


if __name__ == "__main__":
    main()
