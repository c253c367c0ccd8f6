"""Features and indices against the reference implementations researchers use."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.signal import welch

from biofeedback.config import FeaturesConfig
from biofeedback.features import (
    FEATURES,
    INDICES,
    FeatureSet,
    FeatureSpec,
    band_powers,
    describe_features,
    time_features,
    welch_psd,
)
from biofeedback.hardware import get_profile

MUSE = ["TP9", "AF7", "AF8", "TP10"]


def _eeg(rng, n_ch=4, n_t=512, sfreq=256.0, alpha=(20, 20, 20, 20)):
    """1/f-ish noise plus a 10 Hz rhythm, volts."""
    t = np.arange(n_t) / sfreq
    walk = np.cumsum(rng.standard_normal((n_ch, n_t)), axis=1)
    x = walk * 0.5 + rng.standard_normal((n_ch, n_t)) * 3
    x += np.array(alpha)[:n_ch, None] * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (n_ch, 1)))
    return np.ascontiguousarray(x * 1e-6)


def _reference(name):
    """Import the reference library ``name`` with its numba functions compiled
    when first called, not at import.

    antropy and mne-features compile every function given a signature as they
    are imported (seconds each, never cached), and the comparisons here call
    none of them; a function that is called runs the same compiled code.
    """
    import importlib
    import sys

    import numba

    if name in sys.modules:
        return sys.modules[name]

    def lazy(jit):
        def deferred(*args, **kwargs):
            if args and not callable(args[0]):  # signatures: compile on the first call
                args = ()
            return jit(*args, **kwargs)
        return deferred

    eager = numba.jit, numba.njit
    numba.jit, numba.njit = lazy(numba.jit), lazy(numba.njit)
    try:
        return importlib.import_module(name)
    finally:
        numba.jit, numba.njit = eager


def _fs(hop=None, n_times=None, ch=MUSE, sfreq=256.0, **cfg):
    return FeatureSet(replace(FeaturesConfig(), **cfg), ch, sfreq, get_profile("muse_2"),
                      hop=hop, n_times=n_times)


@pytest.mark.parametrize("sfreq,nper,nover,window", [
    (256.0, 256, 128, "hann"), (250.0, 250, 125, "hann"), (256.0, 128, 0, "hamming"),
    (250.0, 125, 62, "hamming"), (200.0, 99, 33, "hann"),
])
def test_welch_matches_scipy(rng, sfreq, nper, nover, window):
    x = rng.standard_normal((3, 2, 600)) * 1e-5 + 1e-3  # DC offset: detrend matters
    freqs, psd = welch_psd(x, sfreq, nper, nover, window=window)
    f_ref, ref = welch(x, sfreq, window=window, nperseg=nper, noverlap=nover)
    np.testing.assert_allclose(freqs, f_ref)
    np.testing.assert_allclose(psd, ref, rtol=1e-9, atol=0)


def test_band_powers_sum_bins_times_width(rng):
    x = _eeg(rng)
    freqs, psd = welch(x, 256.0, nperseg=256, noverlap=128)
    bp = band_powers(freqs, psd, [(8, 13), (13, 30)])
    np.testing.assert_allclose(bp[:, 0], psd[:, 8:13].sum(1) * 1.0, rtol=1e-12)
    np.testing.assert_allclose(bp[:, 1], psd[:, 13:30].sum(1) * 1.0, rtol=1e-12)


def test_one_rule_for_band_bins_at_the_edges(rng):
    """band_powers, the features and the gates put an edge bin in the same band.

    At 250 Hz with 175-sample segments bin 21 is 30 Hz, which scipy's freqs
    list as 29.999999999999996: it starts 30-45 Hz and is not in 13-30 Hz.
    """
    from biofeedback.spectral import _band_bins

    df = 250.0 / 175
    assert _band_bins(30.0, 45.0, df, 87) == (21, 32)  # 45 Hz = bin 31.5: 21..31
    assert _band_bins(13.0, 30.0, df, 87) == (10, 21)  # 13 Hz = bin 9.1: 10..20
    assert _band_bins(0.0, 30.0, df, 87, f0=2 * df) == (0, 19)  # freqs from bin 2
    assert _band_bins(100.0, 200.0, df, 87) == (70, 88)  # clipped at Nyquist
    assert _band_bins(1.0, 1.2, df, 87)[1] <= 1  # between two bins: empty
    x = _eeg(rng, n_t=500)
    f_ref, ref = welch(x, 250.0, nperseg=175, noverlap=88)
    assert f_ref[21] < 30.0  # the rounding the rule absorbs
    bands = [(13.0, 30.0), (30.0, 45.0)]
    bp = band_powers(f_ref, ref, bands)
    np.testing.assert_allclose(bp[:, 0], ref[:, 10:21].sum(1) * df, rtol=1e-12)
    np.testing.assert_allclose(bp[:, 1], ref[:, 21:32].sum(1) * df, rtol=1e-12)
    # a PSD cut at 2.5 Hz (freqs from bin 2) gives the same bands
    np.testing.assert_allclose(band_powers(f_ref[2:], ref[:, 2:], bands), bp, rtol=1e-12)
    # the features read the same bins from their own Welch PSD
    fs = _fs(sfreq=250.0, bands={"beta": bands[0], "gamma": bands[1]}, welch_segment=0.7,
             spectral_range=(13.0, 45.0), indices=())
    assert (fs.n_per_seg, fs.step) == (175, 87)
    F, _ = fs.window(x, np.ones(4, bool))
    f_ours, p_ours = welch_psd(x, 250.0, 175, 88)
    np.testing.assert_allclose(10 ** F, band_powers(f_ours, p_ours, bands).ravel(),
                               rtol=1e-9)


def test_log_band_power_matches_scipy_on_muse(muse_dir):
    data = np.loadtxt(muse_dir / "subjecta-relaxed-1.csv", delimiter=",", skiprows=1,
                      usecols=(1, 2, 3, 4), max_rows=3000).T * 1e-6
    X = np.ascontiguousarray(np.stack([data[:, i:i + 512] for i in range(0, 2400, 128)]))
    fs = _fs()
    F, _ = fs.batch(X, np.ones(X.shape[:2], bool))
    f, psd = welch(X, 256.0, nperseg=256, noverlap=128)
    edges = list(FeaturesConfig().bands.values())
    ref = np.stack([psd[..., (f >= lo) & (f < hi)].sum(-1) for lo, hi in edges], -1)
    np.testing.assert_allclose(10 ** F, ref.reshape(len(X), -1), rtol=1e-9)


@pytest.mark.slow
def test_band_powers_match_mne_features_where_definitions_coincide(rng):
    """mne-features: Hamming, sum of PSD bins with both edges included, no Δf.

    With 1 Hz bins (Δf = 1) and half-integer edges the definitions coincide.
    """
    compute_pow_freq_bands = _reference("mne_features.univariate").compute_pow_freq_bands

    bands = {"delta": (0.5, 3.5), "theta": (3.5, 7.5), "alpha": (7.5, 12.5),
             "beta": (12.5, 29.5), "gamma": (29.5, 44.5)}
    x = _eeg(rng)
    fs = _fs(names=("log_band_power", "rel_band_power"), bands=bands, welch_window="hamming",
             spectral_range=(0.0, 1000.0), indices=())
    F, _ = fs.window(x, np.ones(4, bool))
    ref = compute_pow_freq_bands(256.0, x, np.array(list(bands.values())), normalize=False,
                                 psd_params={"welch_n_fft": 256, "welch_n_per_seg": 256,
                                             "welch_n_overlap": 128})
    np.testing.assert_allclose(10 ** F[:20], ref, rtol=1e-9)
    rel = compute_pow_freq_bands(256.0, x, np.array(list(bands.values())), normalize=True,
                                 psd_params={"welch_n_fft": 256, "welch_n_per_seg": 256,
                                             "welch_n_overlap": 128})
    np.testing.assert_allclose(F[20:], rel, rtol=1e-9)


@pytest.mark.slow
def test_time_features_match_references(rng):
    from scipy.stats import kurtosis

    antropy, mnef = _reference("antropy"), _reference("mne_features.univariate")

    x = _eeg(rng, n_t=500)
    x[0, 10] = 0.0  # an exact zero for the zero-crossing count
    tf = time_features(x)
    mob, com = antropy.hjorth_params(x)
    np.testing.assert_allclose(tf["activity"], np.var(x, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(tf["mobility"], mob, rtol=1e-10)
    np.testing.assert_allclose(tf["complexity"], com, rtol=1e-10)
    np.testing.assert_allclose(tf["line_length"], mnef.compute_line_length(x), rtol=1e-12)
    np.testing.assert_allclose(tf["variance"], mnef.compute_variance(x), rtol=1e-12)
    np.testing.assert_allclose(tf["kurtosis"], kurtosis(x, axis=-1), rtol=1e-10)
    np.testing.assert_array_equal(tf["zero_crossings"], mnef.compute_zero_crossings(x))


@pytest.mark.slow
def test_spectral_entropy_matches_antropy(rng):
    antropy = _reference("antropy")

    x = _eeg(rng)
    fs = _fs(names=("spectral_entropy",), indices=(), spectral_range=(0.0, 1000.0))
    F, _ = fs.window(x, np.ones(4, bool))
    ref = antropy.spectral_entropy(x, 256.0, method="welch", nperseg=256, normalize=True)
    np.testing.assert_allclose(F, ref, rtol=1e-9)


def test_log_relative_band_power_ignores_a_channel_gain(rng):
    """log band minus log total within a channel: scaling a channel (contact
    impedance) moves its log band powers and leaves the relative ones."""
    fs = _fs(names=("log_band_power", "log_rel_band_power"), indices=())
    x = _eeg(rng)
    F, _ = fs.window(x, np.ones(4, bool))
    G, _ = fs.window(x * np.array([1.0, 3.0, 0.5, 1.0])[:, None], np.ones(4, bool))
    n = len(fs.feature_names) // 2
    rel = slice(n, None)
    assert fs.feature_names[n] == "logrel_delta_TP9"
    np.testing.assert_allclose(G[rel], F[rel], atol=1e-10)
    assert abs(G[:n] - F[:n]).max() > 0.9  # log10(3²) on AF7
    # the default bands tile the spectral range: 10^logrel sums to one per channel
    np.testing.assert_allclose((10 ** F[rel]).reshape(4, -1).sum(axis=1), 1.0, rtol=1e-9)


def test_all_features_in_batch_equal_window_by_window(rng):
    names = tuple(FEATURES)
    fs = _fs(hop=128, n_times=512, names=names, indices=tuple(INDICES))
    long = _eeg(rng, n_t=512 + 128 * 20)
    X = np.ascontiguousarray(np.stack([long[:, i:i + 512] for i in range(0, 128 * 21, 128)]))
    clean = np.ones(X.shape[:2], bool)
    clean[5, 1] = False
    F, ind = fs.batch(X, clean)
    F2, I2 = fs.batch(X, clean, share_segments=False)
    np.testing.assert_allclose(F2, F, rtol=1e-12)
    np.testing.assert_allclose(I2, ind, rtol=1e-12, atol=1e-14)
    one = [fs.window(x, c) for x, c in zip(X, clean)]
    assert fs.n_reused == len(X) - 1  # the live path reused the shared segments
    np.testing.assert_allclose(np.array([o[0] for o in one]), F, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.array([o[1] for o in one]), ind, rtol=1e-12, atol=1e-14)
    assert F.shape == (len(X), len(fs.feature_names))
    assert ind.shape == (len(X), len(fs.index_names))
    # a window that does not follow the last one, and a reset, recompute in full
    fs.reset()
    f3, _ = fs.window(X[3], clean[3])
    f9, _ = fs.window(X[9], clean[9])
    f10, _ = fs.window(X[10], clean[10])
    assert fs.n_reused == len(X)  # only 9 -> 10 reused
    np.testing.assert_allclose(np.array([f3, f9, f10]), F[[3, 9, 10]], rtol=1e-12)



# Batch Welch through shared blocks (segment = whole Welch steps) and the
# general path: (sfreq, segment, overlap, window, n_times, hop, spectral_range)
_BATCH_CASES = [
    (256.0, 256, 128, "hann", 512, 128, None),  # the Muse default
    (256.0, 256, 128, "hann", 512, 128, (0.0, 1000.0)),  # DC and Nyquist bins
    (256.0, 256, 128, "hamming", 512, 128, (0.0, 1000.0)),
    (256.0, 256, 0, "hann", 512, 256, (0.0, 1000.0)),  # no overlap: one block
    (256.0, 256, 192, "hann", 512, 128, (2.0, 40.0)),  # 75 %: four blocks
    (200.0, 99, 66, "hamming", 300, 33, (0.0, 1000.0)),  # odd segment, 3 blocks
    (256.0, 256, 128, "hann", 500, 100, None),  # hop not a whole step; tail sample
    (250.0, 250, 125, "hann", 500, 125, (44.0, 1000.0)),  # 250 Hz, top bins
    (200.0, 99, 33, "hann", 300, 66, (0.0, 1000.0)),  # step does not divide: general path
]


@pytest.mark.parametrize("sfreq,nper,nover,window,n_t,hop,spec", _BATCH_CASES)
def test_batch_matches_scipy_and_window_by_window(rng, sfreq, nper, nover, window, n_t,
                                                   hop, spec):
    from biofeedback.features import _block_plan

    cfg = dict(names=("log_band_power", "rel_band_power", "spectral_entropy"), indices=(),
               welch_segment=nper / sfreq, welch_overlap=nover / nper, welch_window=window,
               spectral_range=spec)
    fs = _fs(hop=hop, n_times=n_t, sfreq=sfreq, **cfg)
    assert (_block_plan(fs.n_per_seg, fs.step, fs._k0, fs._k1, window) is None) == (
        nper % (nper - nover) != 0)
    n_w = 12
    # a DC offset, so the detrend matters
    long = _eeg(rng, n_ch=4, n_t=n_t + hop * n_w, sfreq=sfreq) + 1e-3
    X = np.ascontiguousarray(np.stack([long[:, i * hop:i * hop + n_t]
                                       for i in range(n_w)]))
    X[7] = _eeg(rng, n_t=n_t, sfreq=sfreq)  # breaks the run: computed in full
    clean = np.ones(X.shape[:2], bool)
    F, _ = fs.batch(X, clean)
    f, psd = welch(X, sfreq, window=window, nperseg=nper, noverlap=nover)
    bands = list(FeaturesConfig().bands.values())
    lo, hi = fs.spectral_range
    tot = psd[..., (f >= lo) & (f < hi)].sum(-1, keepdims=True)
    ref = np.stack([psd[..., (f >= a) & (f < b)].sum(-1) for a, b in bands], -1) * fs.df
    tot = tot * fs.df
    n_bp = 4 * len(bands)
    np.testing.assert_allclose(10 ** F[:, :n_bp], ref.reshape(n_w, -1), rtol=1e-9)
    np.testing.assert_allclose(F[:, n_bp:2 * n_bp], (ref / tot).reshape(n_w, -1), rtol=1e-9)
    F2, _ = fs.batch(X, clean, share_segments=False)
    np.testing.assert_allclose(F2, F, rtol=1e-12)
    one = np.array([fs.window(x, c)[0] for x, c in zip(X, clean)])
    np.testing.assert_allclose(one, F, rtol=1e-12)


def test_batch_matches_scipy_on_muse_with_any_hop(muse_dir):
    data = np.loadtxt(muse_dir / "subjectb-concentrating-1.csv", delimiter=",", skiprows=1,
                      usecols=(1, 2, 3, 4), max_rows=4000).T * 1e-6
    f_edges = list(FeaturesConfig().bands.values())
    for hop in (128, 100, 256, 64):  # whole steps, none, two steps, half a step
        X = np.ascontiguousarray(np.stack([data[:, i:i + 512]
                                           for i in range(0, 3400, hop)]))
        fs = _fs(hop=hop, n_times=512)
        clean = np.ones(X.shape[:2], bool)
        F, _ = fs.batch(X, clean)
        f, psd = welch(X, 256.0, nperseg=256, noverlap=128)
        ref = np.stack([psd[..., (f >= lo) & (f < hi)].sum(-1) for lo, hi in f_edges], -1)
        np.testing.assert_allclose(10 ** F[:, :20], ref.reshape(len(X), -1), rtol=1e-9)
        one = np.array([fs.window(x, c)[0] for x, c in zip(X, clean)])
        np.testing.assert_allclose(one, F, rtol=1e-12, atol=1e-14)


def test_batch_rejects_a_non_finite_sample_anywhere(rng):
    fs = _fs(n_times=512)
    long = _eeg(rng, n_t=512 + 128 * 9)
    X = np.ascontiguousarray(np.stack([long[:, i:i + 512] for i in range(0, 128 * 10, 128)]))
    clean = np.ones(X.shape[:2], bool)
    for w, c, j in [(0, 0, 0), (5, 2, 300), (9, 3, 511), (4, 1, 511)]:
        for bad in (np.nan, np.inf, -np.inf):
            Y = X.copy()
            Y[w, c, j] = bad
            with pytest.raises(ValueError, match="NaN or infinite"):
                fs.batch(Y, clean)


def test_indices_follow_their_formulas(rng):
    x = _eeg(rng, alpha=(5, 10, 30, 5))  # more alpha on AF8 (right) than AF7 (left)
    fs = _fs(indices=tuple(INDICES), names=("log_band_power",))
    clean = np.array([True, True, True, False])
    _, ind = fs.window(x, clean)
    f, psd = welch(x, 256.0, nperseg=256, noverlap=128)

    def bp(lo, hi):
        return psd[:, (f >= lo) & (f < hi)].sum(1)

    t, a, b, hb, tot = bp(4, 8), bp(8, 13), bp(13, 30), bp(20, 30), bp(1, 45)
    c = clean
    expected = {
        "engagement": b[c].sum() / (a[c].sum() + t[c].sum()),
        "arousal": b[c].sum() / a[c].sum(),
        "arousal_high_beta": hb[c].sum() / a[c].sum(),
        "alpha_rel": a[c].sum() / tot[c].sum(),
        "theta_beta": t[c].sum() / b[c].sum(),
        "faa": np.log(a[2]) - np.log(a[1]),
    }
    got = dict(zip(fs.index_names, ind))
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-9, err_msg=name)
    assert got["faa"] > 0
    # a dirty frontal channel: no asymmetry; no clean channel at all: no ratio
    _, ind = fs.window(x, np.array([True, False, True, True]))
    assert np.isnan(dict(zip(fs.index_names, ind))["faa"])
    _, ind = fs.window(x, np.zeros(4, bool))
    assert np.all(np.isnan(ind))


def test_index_channels_restrict_an_index(rng):
    x = _eeg(rng)
    fs = _fs(indices=("engagement",), index_channels={"engagement": ("TP9",)})
    _, ind = fs.window(x, np.ones(4, bool))
    f, psd = welch(x[0], 256.0, nperseg=256, noverlap=128)
    expected = psd[13:30].sum() / (psd[8:13].sum() + psd[4:8].sum())
    np.testing.assert_allclose(ind[0], expected, rtol=1e-9)
    with pytest.raises(ValueError, match="not among the channels"):
        _fs(indices=("engagement",), index_channels={"engagement": ("Cz",)})


def test_zero_power_gives_nan_ratio_not_an_error():
    fs = _fs(indices=("engagement", "faa"))
    F, ind = fs.window(np.zeros((4, 512)), np.ones(4, bool))
    assert np.all(np.isnan(ind))
    assert np.all(F == -30.0)  # log10 of zero power clamped at 1e-30 V²


def test_bad_input_raises_clear_errors(rng):
    fs = _fs()
    x = _eeg(rng)
    bad = x.copy()
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        fs.window(bad, np.ones(4, bool))
    bad[1, 7] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        fs.batch(bad[None], np.ones((1, 4), bool))
    with pytest.raises(ValueError, match="shorter than the Welch segment"):
        fs.window(x[:, :200], np.ones(4, bool))
    with pytest.raises(ValueError, match="4 channels"):
        fs.window(x[:3], np.ones(3, bool))
    with pytest.raises(ValueError, match="clean must have shape"):
        fs.window(x, np.ones(3, bool))
    with pytest.raises(ValueError, match="shorter than the Welch segment"):
        _fs(n_times=100)
    with pytest.raises(ValueError, match="'feature' parameter"):
        _fs(names=("fft_power",))
    with pytest.raises(ValueError, match="no frequency bin"):
        _fs(bands={"alpha": (8.2, 8.6), "beta": (13, 30), "theta": (4, 8)})
    with pytest.raises(ValueError, match="NaN or infinite"):
        welch_psd(bad, 256.0, 256, 128)


def test_registry_adds_a_feature_in_one_place(rng, monkeypatch):
    spec = FeatureSpec(lambda fs, ctx: ctx.x.max(axis=-1)[..., None], lambda fs: [""],
                       "peak_{ch}", "V", "maximum of the window")
    monkeypatch.setitem(FEATURES, "peak", spec)
    fs = _fs(names=("log_band_power", "peak"))
    x = _eeg(rng)
    F, _ = fs.window(x, np.ones(4, bool))
    assert fs.feature_names[-4:] == [f"peak_{ch}" for ch in MUSE]
    np.testing.assert_array_equal(F[-4:], x.max(axis=1))


def test_describe_features_says_what_every_number_is():
    fs = _fs(names=tuple(FEATURES), indices=tuple(INDICES))
    desc = json.loads(json.dumps(describe_features(fs)))
    assert desc["psd"]["method"] == "welch" and desc["psd"]["window"] == "hann"
    assert desc["psd"]["segment_samples"] == 256 and desc["psd"]["overlap_samples"] == 128
    assert desc["bands"]["alpha"]["bins_hz"] == [8.0, 12.0]
    assert "V²" in desc["features"]["log_band_power"]["units"]
    assert "[low, high)" in desc["features"]["log_band_power"]["integration"]
    for name in INDICES:
        assert desc["indices"][name]["reference"] and desc["indices"][name]["formula"]
    assert desc["indices"]["faa"]["channels"] == ["AF7", "AF8"]
    assert sum(len(v["columns"]) for v in desc["features"].values()) == len(fs.feature_names)


def test_default_feature_names_stay_stable():
    fs = _fs()
    assert fs.feature_names[:5] == [f"logpow_{b}_TP9" for b in
                                    ("delta", "theta", "alpha", "beta", "gamma")]
    assert fs.index_names == ["engagement", "arousal", "alpha_rel", "theta_beta", "faa"]


def test_mean_log_band_power_pools_the_clean_channels_only(rng):
    fs = _fs(names=("log_band_power", "mean_log_band_power"))
    assert fs.feature_names[-5:] == [f"logpow_{b}_mean" for b in
                                     ("delta", "theta", "alpha", "beta", "gamma")]
    X = np.stack([_eeg(rng), _eeg(rng), _eeg(rng)])
    clean = np.array([[True] * 4, [True, True, False, True], [False] * 4])
    F, _ = fs.batch(X, clean)
    per = F[:, :20].reshape(3, 4, 5)
    np.testing.assert_allclose(F[0, 20:], per[0].mean(axis=0), rtol=1e-12)
    # a channel the quality gates leave out changes the value, never the layout
    np.testing.assert_allclose(F[1, 20:], per[1, [0, 1, 3]].mean(axis=0), rtol=1e-12)
    assert np.all(np.isnan(F[2, 20:]))  # no clean channel: no value


def test_a_missing_frontal_pair_is_named(caplog):
    """A model of a Muse on Cyton channels: the warning says which pair was sought."""
    from biofeedback.config import load_pipeline
    from biofeedback.features._plan import index_channels

    config = load_pipeline().features
    frontal, _ = index_channels(config, ["F3", "F4", "C3", "C4"], get_profile("muse_2"))
    assert frontal is None
    assert "The frontal pair AF7, AF8 is not among channels F3, F4, C3, C4" in caplog.text


def test_no_frontal_pair_on_a_64_channel_stream_is_said_in_one_short_line(caplog):
    """The warning listed all 64 unlabelled names of a lab amplifier's stream."""
    import logging

    from biofeedback.config import load_pipeline
    from biofeedback.features._plan import index_channels
    from biofeedback.hardware import get_profile

    names = [f"EEG{i + 1:02d}" for i in range(64)]
    with caplog.at_level(logging.WARNING, logger="biofeedback"):
        frontal, _ = index_channels(load_pipeline().features, names, get_profile("lsl"))
    assert frontal is None
    (msg,) = [r.getMessage() for r in caplog.records]
    assert "EEG01" in msg and "EEG64" in msg and "EEG30" not in msg and len(msg) < 150
