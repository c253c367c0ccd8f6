"""The numba kernels: compiled lazily with an on-disk cache, and correct as plain Python."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

_PURE_PYTHON_CHECK = r"""
import numpy as np
from scipy.signal import welch
from scipy.stats import kurtosis
from biofeedback import _kernels
from biofeedback.features import _welch_basis
import numba

assert numba.config.DISABLE_JIT
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 300)) * 1e-5
basis, scale = _welch_basis(100, 100.0, 0, 51, "hann")
f, ref = welch(X, 100.0, nperseg=100, noverlap=50)
psd = _kernels.welch_windows(X, 5, 50, basis, scale, True)
np.testing.assert_allclose(psd, ref, rtol=1e-9)
rows = _kernels.welch_rows(X.reshape(-1, 300), 5, 50, basis, scale)
np.testing.assert_allclose(rows, ref.reshape(-1, 51), rtol=1e-9)
from biofeedback.features import _block_plan
long = rng.standard_normal((3, 400)) * 1e-5 + 1e-3
W = np.ascontiguousarray(np.stack([long[:, i:i + 300] for i in (0, 50, 100)] + [X[0]]))
q, cb, pr, pi, kb0, a0, a1h = _block_plan(100, 50, 0, 51, "hann")
f, ref_w = welch(W, 100.0, nperseg=100, noverlap=50)
for share in (True, False):
    psd, finite = _kernels.welch_windows_blocks(W, 5, q, 50, cb, pr, pi, kb0, 0, a0, a1h,
                                                scale, share)
    assert finite
    np.testing.assert_allclose(psd, ref_w, rtol=1e-9)
W[2, 1, 7] = np.nan
assert not _kernels.welch_windows_blocks(W, 5, q, 50, cb, pr, pi, kb0, 0, a0, a1h, scale,
                                         True)[1]
x = np.ascontiguousarray(X[0])
prev = np.empty_like(x); per = np.empty((3, 5, 51))
p1, reused = _kernels.welch_update(x, prev, per, False, 1, 50, 50, basis, scale)
assert not reused
np.testing.assert_allclose(p1, ref[0], rtol=1e-9)
bs = _kernels.band_sums(ref.reshape(-1, 51), np.array([8, 13]), np.array([13, 30]), 1.0)
np.testing.assert_allclose(bs[:, 0], ref.reshape(-1, 51)[:, 8:13].sum(1), rtol=1e-12)
tf = _kernels.time_features(X.reshape(-1, 300), 2.2e-16)
np.testing.assert_allclose(tf[:, 4], X.reshape(-1, 300).var(1, ddof=1), rtol=1e-12)
np.testing.assert_allclose(tf[:, 5], kurtosis(X.reshape(-1, 300), axis=1), rtol=1e-10)
se = _kernels.spectral_entropy(ref.reshape(-1, 51), 0, 51)
p = ref.reshape(-1, 51) / ref.reshape(-1, 51).sum(1, keepdims=True)
np.testing.assert_allclose(se, -(p * np.log(p)).sum(1) / np.log(51), rtol=1e-10)
st = _kernels.window_stats(X[0], X[0], 5)
np.testing.assert_allclose(st[:, 2], np.ptp(X[0], axis=1), rtol=1e-12)
print("ok")
"""


def test_kernels_run_as_plain_python_against_references():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", _PURE_PYTHON_CHECK], env=env, cwd=str(REPO),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("ok")


def test_kernels_are_lazy_cached_and_release_the_gil():
    from numba.core.registry import CPUDispatcher

    from biofeedback import _kernels

    mods = (_kernels._welch, _kernels._blocks, _kernels._features, _kernels._quality,
            _kernels._iir)
    kernels = [v for m in mods for v in vars(m).values() if isinstance(v, CPUDispatcher)]
    assert len(kernels) >= 11
    for k in kernels:
        assert type(k._cache).__name__ == "FunctionCache", k.__name__
        assert k.targetoptions.get("nogil") is True, k.__name__
        assert not k.targetoptions.get("fastmath"), k.__name__
    # lazily compiled: no eager signature was declared
    fresh = subprocess.run(
        [sys.executable, "-c", "from biofeedback import _kernels as k;"
         "print(len(k.window_stats.signatures) + len(k._welch._segments.signatures))"],
        env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=str(REPO), capture_output=True,
        text=True, timeout=120,
    )
    assert fresh.stdout.strip() == "0", fresh.stderr[-2000:]


@pytest.mark.parametrize("n_per_seg,step,k0,k1,window", [
    (256, 128, 1, 45, "hann"), (256, 128, 0, 129, "hann"), (256, 64, 3, 20, "hamming"),
    (99, 33, 0, 50, "hann"), (99, 99, 48, 50, "hamming"), (250, 125, 2, 126, "hann"),
])
def test_block_welch_matches_scipy_bin_by_bin(rng, n_per_seg, step, k0, k1, window):
    from scipy.signal import welch

    from biofeedback import _kernels
    from biofeedback.features import _block_plan, _welch_basis

    n_t = 2 * n_per_seg + step
    long = rng.standard_normal((3, n_t + 6 * step)) * 1e-5 + 1e-3
    starts = [0, step, 2 * step, 3 * step, 3 * step + 1, 6 * step]  # one hop off the grid
    X = np.ascontiguousarray(np.stack([long[:, s:s + n_t] for s in starts]))
    n_seg = (n_t - (n_per_seg - step)) // step
    _, scale = _welch_basis(n_per_seg, 100.0, k0, k1, window)
    q, cb, pr, pi, kb0, a0, a1h = _block_plan(n_per_seg, step, k0, k1, window)
    ref = welch(X, 100.0, window=window, nperseg=n_per_seg, noverlap=n_per_seg - step)[1]
    for share in (True, False):
        psd, finite = _kernels.welch_windows_blocks(X, n_seg, q, step, cb, pr, pi, kb0, k0,
                                                    a0, a1h, scale, share)
        assert finite
        np.testing.assert_allclose(psd, ref[..., k0:k1], rtol=1e-9)


def test_block_plan_only_where_segments_are_whole_steps():
    from biofeedback.features import _block_plan

    assert _block_plan(256, 128, 1, 45, "hann") is not None
    assert _block_plan(99, 66, 1, 45, "hann") is None  # 99 is not a multiple of 66
    assert _block_plan(125, 63, 1, 45, "hann") is None


def test_welch_update_reuses_only_exactly_shared_segments(rng):
    from scipy.signal import welch

    from biofeedback import _kernels
    from biofeedback.features import _welch_basis

    basis, scale = _welch_basis(128, 128.0, 0, 65, "hann")
    long = rng.standard_normal((2, 128 * 6))
    prev = np.empty((2, 256))
    per = np.empty((2, 3, 65))
    _kernels.welch_update(np.ascontiguousarray(long[:, :256]), prev, per, False, 1, 64, 64,
                          basis, scale)
    x = np.ascontiguousarray(long[:, 64:320])
    psd, reused = _kernels.welch_update(x, prev, per, True, 1, 64, 64, basis, scale)
    assert reused
    np.testing.assert_allclose(psd, welch(x, 128.0, nperseg=128, noverlap=64)[1], rtol=1e-10)
    y = x.copy()
    y[1, 3] += 1.0  # not a continuation any more
    prev[:] = long[:, :256]
    psd, reused = _kernels.welch_update(y, prev, per, True, 1, 64, 64, basis, scale)
    assert not reused
    np.testing.assert_allclose(psd, welch(y, 128.0, nperseg=128, noverlap=64)[1], rtol=1e-10)
