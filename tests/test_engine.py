"""The engine: chunk invariance, window grid, gaps, bad input."""

import numpy as np
import pytest

from biofeedback.config import load_pipeline
from biofeedback.engine import Engine
from biofeedback.hardware import get_profile


@pytest.fixture
def muse():
    return get_profile("muse_2")


def _engine(profile, **window):
    cfg = load_pipeline()
    if window:
        from dataclasses import replace

        cfg = cfg.replace(window=replace(cfg.window, **window))
    return Engine(cfg, profile.ch_names, profile.sfreq, profile)


@pytest.mark.parametrize("chunk", [1, 7, 32, 500])
def test_chunking_never_changes_the_output(muse, make_eeg, chunk):
    data, ts = make_eeg(duration=12, offset_uv=800)
    whole = _engine(muse).run(data, ts)
    chunked = _engine(muse).run(data, ts, chunk_size=chunk)
    assert len(whole.t_end) == len(chunked.t_end) > 0
    np.testing.assert_array_equal(whole.t_end, chunked.t_end)
    np.testing.assert_allclose(chunked.estimates, whole.estimates, rtol=1e-10, atol=0)
    np.testing.assert_allclose(chunked.features, whole.features, rtol=1e-10, atol=0)


def test_windows_sit_on_the_sample_grid(muse, make_eeg):
    data, ts = make_eeg(duration=10)
    out = _engine(muse, length=2.0, hop=0.5).run(data, ts)
    win, hop = 512, 128
    expected_ends = ts[np.arange(win - 1, data.shape[1], hop)]
    np.testing.assert_array_equal(out.t_end, expected_ends)


def test_alpha_shows_in_relative_alpha(muse, make_eeg):
    strong = _engine(muse).run(*make_eeg(alpha_uv=30, seed=1))
    weak = _engine(muse).run(*make_eeg(alpha_uv=2, seed=1))
    i = strong.estimate_names.index("alpha_rel")
    assert np.median(strong.estimates[:, i]) > 2 * np.median(weak.estimates[:, i])


def test_gap_restarts_filters_and_windows(muse, make_eeg):
    data, ts = make_eeg(duration=8)
    ts = ts.copy()
    ts[1000:] += 5.0  # five seconds lost
    eng = _engine(muse)
    out = eng.run(data, ts, chunk_size=64)
    assert eng.n_resets == 1
    # no window spans the gap: every window's first sample is after it or its end before it
    starts = out.t_end - (512 - 1) / 256
    spans = (starts < ts[999] + 1e-9) & (out.t_end > ts[999] + 1e-9)
    assert not spans.any()
    # after the gap the grid restarts: first window ends 511 samples after the gap
    after = out.t_end[out.t_end > ts[999]]
    assert after[0] == ts[1000 + 511]


def test_nan_samples_gate_the_window_without_poisoning_filters(muse, make_eeg):
    data, ts = make_eeg(duration=10)
    data[1, 1200:1210] = np.nan
    out = _engine(muse).run(data, ts)
    has_nan = (out.t_end >= ts[1200]) & (out.t_end - 511 / 256 <= ts[1209])
    assert out.gated[has_nan].all()
    late = out.t_end > ts[1209] + 3.0
    assert np.isfinite(out.estimates[late]).all()
    assert not out.gated[late].any()


@pytest.mark.parametrize("driver", ["process", "process_batch"])
def test_wrong_channel_count_is_a_clear_error(muse, driver):
    feed = getattr(_engine(muse), driver)
    with pytest.raises(ValueError, match="3 channels but the engine was built for 4"):
        feed(np.zeros((3, 10)), np.arange(10.0))
    with pytest.raises(ValueError, match="timestamps must have shape"):
        feed(np.zeros((4, 10)), np.arange(9.0))


def test_window_too_short_for_the_rate(muse):
    with pytest.raises(ValueError, match=r"length: a 0\.001 s window holds less than 2 "
                                         r"samples at 256 Hz; make it at least "):
        _engine(muse, length=0.001, hop=0.001)


def test_warm_up_leaves_no_trace(muse, make_eeg):
    data, ts = make_eeg(duration=6)
    cold = _engine(muse).run(data, ts)
    eng = _engine(muse)
    eng.warm_up()
    warm = eng.run(data, ts)
    assert eng.n_windows == len(warm.t_end)
    np.testing.assert_array_equal(warm.estimates, cold.estimates)


class _CalibratedToy:
    """Two classes from the first feature, relative to a per-user baseline."""

    classes_ = np.array(["a", "b"])
    input = "features"
    needs_calibration = True
    calibration = {"seconds": 6.0}
    evidence = None

    def __init__(self, dwell):
        self.dwell = dwell
        self.calibrated = False
        self.n_calibrated = 0

    def check_compatible(self, ch_names, sfreq, feature_names):
        pass

    def calibrate(self, feats):
        self.base = feats[:, 0].mean()
        self.n_calibrated = len(feats)
        self.calibrated = True
        return self

    def predict_proba(self, X):
        z = np.tanh(X[:, :1] - self.base)
        return np.hstack([(1 - z) / 2, (1 + z) / 2])


def test_a_model_lacking_the_engine_interface_is_named(muse):
    class Bare:  # predict_proba alone: no input, dwell, calibration...
        classes_ = np.array(["a", "b"])

        def predict_proba(self, X):
            return np.full((len(X), 2), 0.5)

    with pytest.raises(TypeError, match=r"^The model Bare lacks input, dwell, evidence, "
                                        r"needs_calibration, calibration, calibrated, "
                                        r"check_compatible, calibrate, which the engine "
                                        r"reads \(see biofeedback.engine.EngineModel\)\.$"):
        Engine(load_pipeline(), muse.ch_names, muse.sfreq, muse, model=Bare())


def _awkward_recording(make_eeg):
    """Gaps, a clock that jumps back, NaN runs, a dead stretch and an artifact."""
    data, ts = make_eeg(duration=40, offset_uv=800, seed=3)
    ts = ts.copy()
    ts[2600:] += 4.0  # a lost stretch: restart
    ts[6000:] -= 9.0  # the clock jumps back: restart
    data[1, 1200:1210] = np.nan  # a short NaN run
    data[:, 3000:3300] = np.nan  # every channel out for a second
    data[0, 7000:9000] *= 40  # an electrode gone bad for a while
    data[2, 9500:9600] = np.inf
    return data, ts


@pytest.mark.parametrize("chunk, block", [(None, 256), (3001, 7)])
def test_batch_driver_gives_the_live_windows(muse, make_eeg, chunk, block):
    data, ts = _awkward_recording(make_eeg)
    cfg = load_pipeline()
    live_model, batch_model = _CalibratedToy(dwell=10.0), _CalibratedToy(dwell=10.0)
    live = Engine(cfg, muse.ch_names, muse.sfreq, muse, model=live_model)
    out_live = live.run(data, ts, chunk_size=25)
    eng = Engine(cfg, muse.ch_names, muse.sfreq, muse, model=batch_model)
    step = chunk or data.shape[1]
    results = []
    for i in range(0, data.shape[1], step):
        results += eng.process_batch(data[:, i : i + step], ts[i : i + step], block=block)
    from biofeedback.engine import EngineOutput

    out = EngineOutput.from_results(results, eng)
    assert live.n_resets == eng.n_resets == 2
    assert (out.quality & 256).any() and out.gated.any() and not out.gated.all()
    assert batch_model.n_calibrated == live_model.n_calibrated > 0
    assert eng.calibrated_at == live.calibrated_at
    np.testing.assert_array_equal(out.t_end, out_live.t_end)
    np.testing.assert_array_equal(out.quality, out_live.quality)
    np.testing.assert_array_equal(out.gated, out_live.gated)
    np.testing.assert_allclose(out.features, out_live.features, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(out.estimates, out_live.estimates, rtol=1e-9, atol=1e-12,
                               equal_nan=True)
    assert np.isfinite(out.estimates[:, -1]).any()  # the model spoke after calibrating
    # a stream can switch drivers at any sample: the state they carry is the same
    mixed = Engine(cfg, muse.ch_names, muse.sfreq, muse)
    half = data.shape[1] // 2
    res = mixed.process_batch(data[:, :half], ts[:half]) + mixed.process(data[:, half:], ts[half:])
    plain = Engine(cfg, muse.ch_names, muse.sfreq, muse).run(data, ts)
    np.testing.assert_allclose(np.array([r.estimates for r in res]), plain.estimates,
                               rtol=1e-9, atol=1e-12, equal_nan=True)


def test_gate_and_features_share_one_welch_psd_per_window(muse, make_eeg):
    """The gate reads its bins of the features' PSD: the same numbers as its own."""
    from dataclasses import replace

    eng = _engine(muse)
    cols = eng._gate_bins
    assert cols is not None
    data, ts = make_eeg(duration=6, seed=3)
    data[1, 700:720] = np.nan  # the PSD is that of the held window, NaN as 0
    filt, _ = eng.preprocessing.process(np.nan_to_num(data), ts)
    filt[1, 700:720] = np.nan
    starts = range(0, data.shape[1] - eng.win_len + 1, eng.hop)
    raw = np.stack([data[:, s:s + eng.win_len] for s in starts])
    flt = np.stack([filt[:, s:s + eng.win_len] for s in starts])
    safe = np.where(np.isfinite(flt), flt, 0.0)
    for r, f, x in zip(raw, flt, safe):  # live: bit for bit
        own = eng.gate._metrics(r, f)
        shared = eng.gate._metrics(r, f, eng.features.spectrum(x)[:, cols])
        for k in own:
            np.testing.assert_array_equal(shared[k], own[k])
    own = eng.gate._metrics(raw, flt)  # batch: to the batch kernel's rounding
    shared = eng.gate._metrics(raw, flt, eng.features.spectra(safe)[..., cols])
    for k in own:
        np.testing.assert_allclose(shared[k], own[k], rtol=1e-12, atol=0)
    # a Hamming taper is another estimate than the gate's: it keeps its own
    cfg = load_pipeline()
    cfg = cfg.replace(features=replace(cfg.features, welch_window="hamming"))
    assert Engine(cfg, muse.ch_names, muse.sfreq, muse)._gate_bins is None


def test_live_kernels_are_what_the_default_live_engine_compiles():
    """live_kernels_cached() looks at every kernel a first live session compiles."""
    import subprocess
    import sys

    # each kernel's first call in a process goes through _compile_for_args
    # (it loads the cache there, or compiles), as bench_startup.py counts them
    code = ("from numba.core.dispatcher import Dispatcher\n"
            "first, called = Dispatcher._compile_for_args, set()\n"
            "def probe(self, *a, **k):\n"
            "    called.add(self)\n"
            "    return first(self, *a, **k)\n"
            "Dispatcher._compile_for_args = probe\n"
            "from biofeedback import _kernels\n"
            "from biofeedback.config import load_pipeline\n"
            "from biofeedback.engine import Engine\n"
            "from biofeedback.hardware import get_profile\n"
            "p = get_profile('synthetic')\n"
            "Engine(load_pipeline(), p.ch_names, p.sfreq, p).warm_up()\n"
            "name = lambda f: f'{f.py_func.__module__}.{f.__name__}'\n"
            "print(sorted(map(name, called)) == sorted(map(name, _kernels.live_kernels())))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stdout


@pytest.mark.slow
def test_warmup_command_compiles_the_live_and_batch_kernels():
    import subprocess
    import sys

    code = ("from biofeedback.cli import main\n"
            "assert main(['warmup', '--quiet']) == 0\n"
            "from biofeedback import _kernels as k\n"
            "print([f.__name__ for f in (k._welch._slide, k._welch._segments, "
            "k.welch_windows_blocks, k.welch_windows, k.window_stats, k.time_features, "
            "k.sosfilt) if not f.signatures])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_first_run_is_detected_and_compiled_while_the_source_connects(muse, tmp_path, caplog):
    import os
    import subprocess
    import sys

    from biofeedback import _kernels
    from biofeedback.session import _precompile

    _engine(muse).warm_up()
    assert _kernels.live_kernels_cached()
    fresh = subprocess.run(
        [sys.executable, "-c", "from biofeedback import _kernels as k;"
         "print(k.live_kernels_cached())"],
        env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)), capture_output=True, text=True,
        check=True)
    assert fresh.stdout.strip() == "False"  # a new installation: compile while connecting
    # a profile the pipeline does not fit falls back to the synthetic board, quietly
    from types import SimpleNamespace

    bad = SimpleNamespace(name="odd", ch_names=["X"], sfreq=250.0)
    with caplog.at_level("WARNING", logger="biofeedback"):
        _precompile.Precompile(load_pipeline(), bad).wait()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_warmup_command_warns_of_nothing():
    # a first-run warning about the synthetic board's frontal pair would send
    # a new user hunting for a fault that is not there
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "biofeedback.cli", "warmup"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith("Compiling the signal-processing kernels"), out.stderr
    assert lines[-1].startswith("Ready in ") and len(lines) == 2, out.stderr
