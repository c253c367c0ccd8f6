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
DATA = (Path(sys.argv[1]) if len(sys.argv) > 1
        else REPO.parent / "shared" / "data" / "muse-mental-state")


def main():
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for extra, what in ((["--cv", "none"], "train only"),
                            ([], "train + LOSO validation + report")):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "biofeedback.cli", "train",
                 *map(str, sorted(DATA.glob("*.csv"))), "--out", f"{tmp}/m.bfm", "--quiet", *extra],
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
            "f = lambda r: f'{r.mean_fold_accuracy:.3f}/{r.balanced_accuracy:.3f}'\n"
            "folds = lambda r: ' '.join(f\"{x['subject'][-1]} {x['balanced_accuracy']:.2f}\" "
            "for x in r.folds)\n"
            "print('LOSO balanced accuracy, mean over folds/pooled; "
            "smoothing time constant 10 s')\n"
            "for m in ('logreg', 'lda', 'hgb', 'rf'):\n"
            "    a = cross_validate(ds, m)\n"
            "    b = cross_validate(ds, m, score_after=20.0)\n"
            "    c = cross_validate(ds, m, calibration=20.0)\n"
            "    d = cross_validate(ds, m, score_after=20.0, smooth=10.0)\n"
            "    e = cross_validate(ds, m, calibration=20.0, smooth=10.0)\n"
            "    print(f'LOSO {m:<7} all {f(a)}  after20 {f(b)}  calibrated20 {f(c)}  "
            "smoothed {f(d)}  calibrated+smoothed {f(e)}')\n"
            "    if m == 'logreg':\n"
            "        for t, r in (('after20', b), ('calibrated20', c), ('smoothed', d), "
            "('calibrated+smoothed', e)):\n"
            "            print(f'  per fold {t:<20} {folds(r)}')\n"
            "for sm in (5.0, 20.0):\n"
            "    r = cross_validate(ds, 'logreg', calibration=20.0, smooth=sm)\n"
            "    print(f'logreg calibrated+smoothed {sm:g} s (not the default) {f(r)}  "
            "{folds(r)}')\n"
            "z = cross_validate(ds, 'logreg', calibration=20.0, calibration_method='zscore')\n"
            "zs = cross_validate(ds, 'logreg', calibration=20.0, calibration_method='zscore', "
            "smooth=10.0)\n"
            "print(f'logreg z-scored baseline: {f(z)}, smoothed {f(zs)}  {folds(zs)}')\n"
            "dsw = extract_dataset(label_files([" + repr(str(DATA)) + "]), gated='include', "
            "need_windows=True, n_jobs=1)\n"
            "r = cross_validate(dsw, 'riemann'); rs = cross_validate(dsw, 'riemann', smooth=10.0)\n"
            "print(f'LOSO riemann all {f(r)}  smoothed {f(rs)}')\n"
            "dx = ds.select(~ds.gated)\n"
            "a = cross_validate(dx, 'logreg'); c = cross_validate(dx, 'logreg', calibration=20.0)\n"
            "e = cross_validate(dx, 'logreg', calibration=20.0, smooth=10.0)\n"
            "print(f'gated excluded ({ds.gated.sum()} of {len(ds)} dropped): LOSO logreg {f(a)}, "
            "calibrated20 {f(c)}, calibrated+smoothed {f(e)}')\n"
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
