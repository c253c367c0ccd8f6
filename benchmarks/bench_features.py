"""Feature speed against the peers, on the same windows, in one run.

Windows: the Muse session-1 recordings in ``../shared/data/muse-mental-state``
(4 channels at 256 Hz), 2 s windows (512 samples) every 0.5 s. Every contender
runs single-threaded (BLAS and numba limited to one thread) and gets the same
windows. Printed: windows/s per contender, our ratios, the live engine's
per-hop latency on an 8-channel 250 Hz board, and numba compile cost (first
run with an empty cache vs a warm start, in fresh processes). The numbers
are also written to ``benchmarks/results/features.txt``.

Run from the repository root::

    python benchmarks/bench_features.py
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("BIOFEEDBACK_SHARED_DATA", REPO.parent / "shared" / "data"))
SFREQ, WIN, HOP, NPER, NOVER = 256.0, 512, 128, 256, 128
BANDS = [(1.0, 4.0), (4.0, 8.0), (8.0, 13.0), (13.0, 30.0), (30.0, 45.0)]
LINES = []


def out(line=""):
    print(line, flush=True)
    LINES.append(line)


def load_windows():
    """(n_windows, 4, 512) volts and the recording each window comes from."""
    files = sorted((DATA / "muse-mental-state").glob("*-1.csv"))
    if not files:
        sys.exit(f"No Muse session-1 recordings in {DATA / 'muse-mental-state'}.")
    X, rec = [], []
    for i, f in enumerate(files):
        d = np.loadtxt(f, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4)).T * 1e-6
        for s in range(0, d.shape[1] - WIN + 1, HOP):
            X.append(d[:, s:s + WIN])
            rec.append(i)
    return np.ascontiguousarray(np.array(X)), np.array(rec), len(files)


def rate(fn, n, repeat=3):
    """Best windows/s of ``repeat`` runs of ``fn`` (which handles ``n`` windows)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main():
    from _results import save_results
    from scipy.signal import welch

    from biofeedback.config import FeaturesConfig, load_pipeline
    from biofeedback.features import FEATURES, INDICES, FeatureSet
    from biofeedback.hardware import get_profile

    X, rec, n_files = load_windows()
    n_w = len(X)
    clean = np.ones(X.shape[:2], bool)
    muse = get_profile("muse_2016")
    ch = list(muse.ch_names)
    out(f"# bench_features: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, single-threaded")
    out(f"# windows: {n_w} from {n_files} Muse session-1 recordings, 4 ch x 512 samples "
        "(2 s at 256 Hz), hop 0.5 s; Welch Hann 256/128, bands 1-4-8-13-30-45 Hz")

    # -- band powers: peers ------------------------------------------------------
    def scipy_batch():
        f, p = welch(X, SFREQ, window="hann", nperseg=NPER, noverlap=NOVER, axis=-1)
        return np.stack([p[..., (f >= lo) & (f < hi)].sum(-1) for lo, hi in BANDS], -1)

    def scipy_each():
        for x in X:
            f, p = welch(x, SFREQ, window="hann", nperseg=NPER, noverlap=NOVER)
            np.stack([p[:, (f >= lo) & (f < hi)].sum(-1) for lo, hi in BANDS], -1)

    from mne_features.univariate import compute_pow_freq_bands

    edges = np.array(BANDS)
    psd_params = {"welch_n_fft": NPER, "welch_n_per_seg": NPER, "welch_n_overlap": NOVER}

    def mnef_each():
        for x in X:
            compute_pow_freq_bands(SFREQ, x, edges, normalize=False, psd_params=psd_params)

    from brainflow.data_filter import DataFilter

    def brainflow_each():
        for x in X:
            DataFilter.get_avg_band_powers(np.ascontiguousarray(x), [0, 1, 2, 3],
                                           int(SFREQ), False)

    # -- band powers: ours ---------------------------------------------------------
    cfg_bp = replace(FeaturesConfig(), names=("log_band_power",), indices=())
    fs_batch = FeatureSet(cfg_bp, ch, SFREQ, muse, n_times=WIN)
    fs_stateless = FeatureSet(cfg_bp, ch, SFREQ, muse, n_times=WIN)
    fs_live = FeatureSet(cfg_bp, ch, SFREQ, muse, hop=HOP, n_times=WIN)

    def ours_batch():
        fs_batch.batch(X, clean)

    def ours_batch_noshare():
        fs_batch.batch(X, clean, share_segments=False)

    def ours_each_stateless():
        for x, c in zip(X, clean):
            fs_stateless.window(x, c)

    def ours_live(fs=fs_live):
        fs.reset()
        last = -1
        for x, c, r in zip(X, clean, rec):
            if r != last:
                fs.reset()
                last = r
            fs.window(x, c)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in (ours_batch, ours_batch_noshare, ours_each_stateless, ours_live):
            fn()  # warm-up: compile or load the cached kernels
        scipy_each_rate = rate(scipy_each, n_w)
        r = {
            "scipy welch, batched": rate(scipy_batch, n_w),
            "scipy welch, one window at a time": scipy_each_rate,
            "mne-features pow_freq_bands, per window": rate(mnef_each, n_w, 1),
            "BrainFlow get_avg_band_powers, per window": rate(brainflow_each, n_w, 1),
            "ours, batch (overlapping segments once)": rate(ours_batch, n_w),
            "ours, batch (every segment recomputed)": rate(ours_batch_noshare, n_w),
            "ours, one window at a time (stateless)": rate(ours_each_stateless, n_w),
            "ours, one window at a time (live path)": rate(ours_live, n_w),
        }
    out()
    out("## Band powers (5 bands x 4 channels), windows/s")
    for k, v in r.items():
        out(f"{k:48s} {v:12,.0f}")
    ratio_batch = r["ours, batch (overlapping segments once)"] / r["scipy welch, batched"]
    ratio_noshare = r["ours, batch (every segment recomputed)"] / r["scipy welch, batched"]
    ratio_live = r["ours, one window at a time (live path)"] / scipy_each_rate
    ratio_stateless = r["ours, one window at a time (stateless)"] / scipy_each_rate
    out(f"ratio batch / scipy batched:                  {ratio_batch:6.1f}x")
    out(f"ratio batch, no segment sharing / scipy:      {ratio_noshare:6.1f}x")
    out(f"ratio live path / scipy per window:           {ratio_live:6.1f}x")
    out(f"ratio stateless window / scipy per window:    {ratio_stateless:6.1f}x")

    # -- full feature set ----------------------------------------------------------
    import mne_features.univariate as mf

    cfg_all = replace(FeaturesConfig(), names=tuple(FEATURES), indices=tuple(INDICES))
    fs_all = FeatureSet(cfg_all, ch, SFREQ, muse, hop=HOP, n_times=WIN)
    fs_all_batch = FeatureSet(cfg_all, ch, SFREQ, muse, n_times=WIN)

    def mnef_full():
        for x in X:
            bp = mf.compute_pow_freq_bands(SFREQ, x, edges, normalize=False,
                                           psd_params=psd_params).reshape(4, 5)
            np.log10(bp)
            mf.compute_pow_freq_bands(SFREQ, x, edges, normalize=True, psd_params=psd_params)
            np.var(x, axis=-1)
            mf.compute_hjorth_mobility(x)
            mf.compute_hjorth_complexity(x)
            mf.compute_spect_entropy(SFREQ, x, psd_params=psd_params)
            mf.compute_line_length(x)
            mf.compute_variance(x)
            mf.compute_kurtosis(x)
            mf.compute_zero_crossings(x)
            d, t, a, b, g = bp.T
            b.sum() / (a.sum() + t.sum()), b.sum() / a.sum(), a.sum() / bp.sum()
            t.sum() / b.sum(), np.log(a[2]) - np.log(a[1])
            high = mf.compute_pow_freq_bands(SFREQ, x, np.array([[20.0, 30.0]]),
                                             normalize=False, psd_params=psd_params)
            high.sum() / a.sum()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_live(fs_all)
        fs_all_batch.batch(X[:4], clean[:4])
        rf = {
            "mne-features, same set, per window": rate(mnef_full, n_w, 1),
            "ours, full set, live path": rate(lambda: ours_live(fs_all), n_w),
            "ours, full set, batch": rate(lambda: fs_all_batch.batch(X, clean), n_w),
        }
    out()
    out(f"## Full feature set ({len(fs_all.feature_names)} features + "
        f"{len(fs_all.index_names)} indices per window), windows/s")
    for k, v in rf.items():
        out(f"{k:48s} {v:12,.0f}")
    ratio_full = rf["ours, full set, live path"] / rf["mne-features, same set, per window"]
    out(f"ratio full set live / mne-features:           {ratio_full:6.1f}x")

    # -- live engine budget ------------------------------------------------------
    from biofeedback.engine import Engine

    cyton = get_profile("cyton")
    rng = np.random.default_rng(0)
    fs_c, hop_c = cyton.sfreq, int(round(0.5 * cyton.sfreq))
    n = int(fs_c * 120)
    data = (np.cumsum(rng.standard_normal((8, n)), axis=1) * 0.5
            + rng.standard_normal((8, n)) * 5
            + 20 * np.sin(2 * np.pi * 10 * np.arange(n) / fs_c)) * 1e-6
    ts = 1000.0 + np.arange(n) / fs_c
    lat = {}
    for label, cfg_f in (("default pipeline", None), ("full feature set", cfg_all)):
        pipe = load_pipeline()
        if cfg_f is not None:
            pipe = pipe.replace(features=cfg_f)
        eng = Engine(pipe, cyton.ch_names, fs_c, cyton)
        times = []
        for i in range(0, n - hop_c + 1, hop_c):
            t0 = time.perf_counter()
            res = eng.process(data[:, i:i + hop_c], ts[i:i + hop_c])
            dt = time.perf_counter() - t0
            if res and i > 40 * hop_c:  # after warm-up
                times.append(dt)
        lat[label] = np.array(times) * 1e3
    out()
    out("## Live engine, one 0.5 s hop of an 8-channel 250 Hz board (2 s windows): "
        "filters + gates + features + indices, ms")
    for label, t in lat.items():
        out(f"{label:20s} p50 {np.percentile(t, 50):.3f}  p99 {np.percentile(t, 99):.3f}  "
            f"max {t.max():.3f}  (n={len(t)})")

    # -- compile cost --------------------------------------------------------------
    probe = (
        "import time, numpy as np; t0 = time.perf_counter();"
        "from dataclasses import replace;"
        "from biofeedback.config import load_pipeline;"
        "from biofeedback.engine import Engine;"
        "from biofeedback.features import FEATURES, INDICES;"
        "from biofeedback.hardware import get_profile;"
        "p = get_profile('muse_2016'); c = load_pipeline();"
        "c = c.replace(features=replace(c.features, names=tuple(FEATURES), "
        "indices=tuple(INDICES)));"
        "e = Engine(c, p.ch_names, p.sfreq, p);"
        "x = np.random.default_rng(0).standard_normal((4, 2048)) * 1e-5;"
        "e.process(x, np.arange(2048) / 256.0);"
        "e.features.batch(np.stack([x[:, :512]] * 2), np.ones((2, 4), bool));"
        "print(time.perf_counter() - t0)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(REPO))
        runs = []
        for _ in range(2):
            res = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                 text=True, check=True, cwd=str(REPO))
            runs.append(float(res.stdout.strip().splitlines()[-1]))
    out()
    out("## numba compile cost (fresh process: import, build engine, first windows), s")
    out(f"first run (empty cache)  {runs[0]:.2f}")
    out(f"warm start (cached)      {runs[1]:.2f}")

    p99 = np.percentile(lat["full feature set"], 99)
    out()
    out(f"SUMMARY: band powers batch {ratio_batch:.1f}x scipy batched "
        f"({ratio_noshare:.1f}x without segment sharing), live window "
        f"{ratio_live:.1f}x scipy per window, full set {ratio_full:.1f}x mne-features, "
        f"live hop p99 {p99:.3f} ms (8 ch, 250 Hz, full set), compile {runs[0]:.1f} s "
        f"first run / {runs[1]:.1f} s warm")
    save_results("features.txt", LINES, echo=False)


if __name__ == "__main__":
    from _results import parse_args

    parse_args(__doc__)
    main()
