"""Indices averaged over a causal span (frontal asymmetry over 8 s by default)."""

import dataclasses

import numpy as np
import pytest

from biofeedback.config import load_pipeline
from biofeedback.engine import Engine, IndexSpan
from biofeedback.hardware import get_profile


def _engine(span):
    cfg = load_pipeline()
    cfg = dataclasses.replace(cfg, features=dataclasses.replace(cfg.features,
                                                                index_span=span))
    muse = get_profile("muse_2")
    return Engine(cfg, muse.ch_names, muse.sfreq, muse)


def test_faa_is_the_causal_mean_over_its_span(make_eeg):
    data, ts = make_eeg(duration=30, seed=5)
    data[1] *= np.linspace(1.0, 3.0, data.shape[1])  # asymmetry that drifts
    ts = ts.copy()
    ts[5000:] += 3.0  # a gap restarts the span too
    single = _engine({}).run(data, ts)
    eng = _engine({"faa": 4.0})
    spanned = eng.run(data, ts, chunk_size=33)
    j = single.estimate_names.index("faa")
    f1, f8 = single.estimates[:, j], spanned.estimates[:, j]
    seg = (spanned.t_end >= ts[5000]).astype(int)
    want = np.full_like(f1, np.nan)
    for k in range(len(f1)):
        lo = k - 7  # 4 s of 0.5 s hops: this window and the 7 before, same segment
        idx = [i for i in range(max(lo, 0), k + 1) if seg[i] == seg[k]]
        vals = f1[idx]
        vals = vals[np.isfinite(vals)]
        want[k] = vals.mean() if vals.size else np.nan
    np.testing.assert_allclose(f8, want, rtol=1e-12)
    # the batch driver gives the same (it steps the same span, window by window)
    batch = _engine({"faa": 4.0}).run(data, ts, batch=True)
    np.testing.assert_allclose(batch.estimates, spanned.estimates, rtol=1e-9, equal_nan=True)
    assert np.nanstd(np.diff(f8)) < np.nanstd(np.diff(f1))
    # the other indices are each window's own
    k = single.estimate_names.index("engagement")
    np.testing.assert_array_equal(single.estimates[:, k], spanned.estimates[:, k])


def test_index_span_averages_finite_values_only():
    sp = IndexSpan({0: 1.0}, 0.5)  # two windows
    assert np.isnan(sp.step([np.nan, 1.0])[0])  # nothing finite yet
    assert sp.step([2.0, 1.0])[0] == 2.0
    assert sp.step([np.nan, 1.0])[0] == 2.0  # a flagged channel: NaN never enters
    assert sp.step([4.0, 1.0])[0] == pytest.approx(4.0)  # the NaN and this one
    assert sp.step([6.0, 7.0]).tolist() == [5.0, 7.0]
    sp.reset()
    assert sp.step([1.0, 0.0])[0] == 1.0


def test_a_negative_span_is_refused(tmp_path):
    from biofeedback.errors import PipelineConfigError

    p = tmp_path / "p.toml"
    p.write_text("[features.index_span]\nfaa = -1.0\n")
    with pytest.raises(PipelineConfigError, match="index_span.faa must be 0 or more"):
        load_pipeline(p)
