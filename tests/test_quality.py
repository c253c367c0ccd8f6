"""Quality gates: each artifact raises its flag, clean EEG raises none."""

import numpy as np
import pytest

from biofeedback.config import GatesConfig, PreprocessingConfig
from biofeedback.hardware import get_profile
from biofeedback.preprocessing import build_preprocessing
from biofeedback.quality import FLAGS, QualityGate, describe_flags

SF = 256.0


@pytest.fixture
def muse():
    return get_profile("muse_2")


def _clean(rng, n_t=4096, n_ch=4):
    """EEG-like µV: 1/f-ish background plus 10 Hz alpha, in volts (raw, with offset)."""
    t = np.arange(n_t) / SF
    pink = np.cumsum(rng.standard_normal((n_ch, n_t)), axis=1)
    pink -= pink.mean(axis=1, keepdims=True)
    x = pink * 0.8 + rng.standard_normal((n_ch, n_t)) * 1.0 + 10 * np.sin(2 * np.pi * 10 * t)
    return (x + 200.0) * 1e-6


def _windows(raw, profile, line=None):
    chain = build_preprocessing(PreprocessingConfig(), SF, raw.shape[0], profile.line_freq)
    filt = chain.process(raw, np.arange(raw.shape[1]) / SF)[0]
    starts = range(1024, raw.shape[1] - 512 + 1, 128)  # after the filters settle
    return [(raw[:, s:s + 512], filt[:, s:s + 512]) for s in starts]


def _flags(gate, raw, profile):
    return np.array([gate.assess(r, f) for r, f in _windows(raw, profile)])


def test_clean_eeg_raises_no_flag(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    flags = _flags(gate, _clean(rng), muse)
    assert np.all(flags == 0), [describe_flags(f) for f in flags.ravel() if f]
    assert not gate.is_gated(flags[0])
    assert gate.clean_channels(flags[0]).all()


def test_railed_means_the_same_live_and_in_files(rng, muse):
    """One rule: >= 5 % of samples beyond 90 % of full scale, window or file."""
    from biofeedback.io._integrity import channel_problems, railed_spans

    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    rail_v = muse.rail_uv * 1e-6
    raw, filt = _windows(_clean(rng), muse)[0]
    raw = raw.copy()
    n_t = raw.shape[1]
    k = int(np.ceil(0.05 * n_t))
    raw[0, :1] = 0.95 * rail_v  # one sample: a pop, not a railed electrode
    raw[1, : k - 1] = -0.95 * rail_v  # just under 5 %
    raw[2, :k] = 0.91 * rail_v  # 5 %, just beyond 90 %
    raw[3, : 2 * k] = 0.89 * rail_v  # under 90 %: near-railed only
    flags = gate.assess(raw, filt)
    live = [bool(f & FLAGS["railed"]) for f in flags]
    assert live == [False, False, True, False]
    assert flags[3] & FLAGS["near_railed"]
    problems, _ = channel_problems(raw, muse.ch_names, rail_v)
    assert problems["railed"] == [muse.ch_names[2]]  # the file check agrees
    assert railed_spans(raw[2], rail_v, SF) == [(0, k)]
    assert railed_spans(raw[3], rail_v, SF) == []


@pytest.mark.parametrize("rail_v", [None, 1000e-6])
def test_a_files_channel_check_in_one_pass_finds_what_numpy_finds(rng, rail_v, monkeypatch):
    """The one-pass kernel (C-contiguous float64, long recordings) and the NumPy
    rows (any other array) give the same findings and sentences, NaN, inf and
    edges included."""
    from biofeedback.io import _integrity
    from biofeedback.io._integrity import channel_problems

    monkeypatch.setattr(_integrity, "ONE_PASS_MIN_SAMPLES", 0)

    data = rng.normal(0, 20e-6, (9, 3000))
    data[0, 5:40] = np.nan  # some NaN
    data[1] = np.nan  # nothing at all
    data[2, 7] = np.inf
    data[2, 9] = -np.inf
    data[3] = -0.0  # flat at zero
    data[3, 10] = 0.0
    data[4, :150] = 0.95e-3  # 5 %: railed
    data[4, 150] = np.nan
    data[5, :149] = -0.9e-3  # just under 5 % at exactly 90 %
    data[6, :3] = 1.6e-3  # beyond full scale
    data[6, 3] = 1.5e-3  # exactly 1.5x: not beyond
    data[7] = 3e-6  # flat
    data[7, -1] = np.nan
    data[8, 1:] = np.nan  # one sample: not flat
    names = [f"EEG{i}" for i in range(9)]
    one_pass = channel_problems(data, names, rail_v)
    rows = channel_problems(np.asfortranarray(data), names, rail_v)  # the NumPy rows
    assert one_pass == rows
    assert one_pass[0]["flat"] == ["EEG1", "EEG3", "EEG7"]
    if rail_v:
        assert one_pass[0]["railed"] == ["EEG4"]
        assert any("EEG6 (3 samples)" in w for w in one_pass[1])


def test_a_railed_electrode_is_left_out_without_gating_the_window(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    raw = _clean(rng)
    raw[3] = -1000e-6  # TP10 at the Muse's negative full scale, as a lead that came off
    flags = _flags(gate, raw, muse)
    assert np.all(flags[:, 3] & FLAGS["railed"]) and np.all(flags[:, :3] == 0)
    assert not any(gate.is_gated(f) for f in flags)
    assert gate.clean_channels(flags[0]).tolist() == [True, True, True, False]
    # the filtered constant is rounding noise, whose spectrum may well look like
    # muscle (it did on a Cyton's rail): on a railed channel that pauses nothing
    noisy = flags[0].copy()
    noisy[3] |= FLAGS["muscle"] | FLAGS["amplitude"]
    assert not gate.is_gated(noisy)
    # a real artifact on a live channel still does
    noisy[0] |= FLAGS["muscle"]
    assert gate.is_gated(noisy)


def test_railed_near_railed_and_flat(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    raw = _clean(rng)
    raw[0] = 0.95e-3  # railed (Muse full scale 1000 µV)
    raw[1] += 0.78e-3 - 200e-6  # near-railed
    raw[2] = 5e-6  # flat
    flags = gate.assess(*_windows(raw, muse)[0])
    assert flags[0] & FLAGS["railed"] and not flags[0] & FLAGS["near_railed"]
    assert flags[1] & FLAGS["near_railed"] and not flags[1] & FLAGS["railed"]
    assert flags[2] & FLAGS["flat"]
    assert flags[3] == 0
    assert list(gate.clean_channels(flags)) == [False, True, False, True]
    # persistent flags drop channels without gating, until too few are usable
    assert not gate.is_gated(flags)  # 2 of 4 usable = min_clean_fraction 0.5
    assert QualityGate(GatesConfig(min_clean_fraction=0.75), muse, SF,
                       muse.ch_names).is_gated(flags)


def test_blink_is_seen_on_frontal_channels_only(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    assert list(gate.frontal) == [False, True, True, False]
    raw = _clean(rng)
    t = np.arange(raw.shape[1]) / SF
    blink = 150e-6 * np.exp(-0.5 * ((t - 5.0) / 0.08) ** 2)  # 150 µV, ~300 ms
    raw[1:3] += blink
    raw[0] += blink * 0.6  # below the amplitude gate on a temporal channel
    w = [(r, f) for (r, f), s in zip(_windows(raw, muse), range(1024, 4096, 128))
         if s <= 5.0 * SF <= s + 512][0]
    flags = gate.assess(*w)
    assert flags[1] & FLAGS["blink"] and flags[2] & FLAGS["blink"]
    assert not flags[0] & FLAGS["blink"]
    assert gate.is_gated(flags)


def test_muscle_burst_is_flagged(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    raw = _clean(rng)
    from scipy.signal import butter, sosfilt

    emg = sosfilt(butter(4, [20, 120], btype="bandpass", fs=SF, output="sos"),
                  rng.standard_normal(raw.shape[1])) * 40e-6
    raw[3] += emg
    flags = _flags(gate, raw, muse)
    assert np.all(flags[:, 3] & FLAGS["muscle"])
    assert not np.any(flags[:, :3] & FLAGS["muscle"])


def test_line_noise_dominated_channel(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    raw = _clean(rng)
    t = np.arange(raw.shape[1]) / SF
    raw[2] += 60e-6 * np.sin(2 * np.pi * 50.0 * t)
    raw[1] += 3e-6 * np.sin(2 * np.pi * 50.0 * t)  # a normal mains peak: not dominated
    flags = _flags(gate, raw, muse)
    assert np.all(flags[:, 2] & FLAGS["line_noise"])
    assert not np.any(flags[:, [0, 1, 3]] & FLAGS["line_noise"])
    assert not np.any(flags & FLAGS["amplitude"])  # the notch removed it from the filtered


def test_nan_and_amplitude_gate_the_window(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    raw, filt = _windows(_clean(rng), muse)[0]
    raw, filt = raw.copy(), filt.copy()
    raw[0, 5] = np.nan
    filt[3, 100:110] += 300e-6  # a pop
    flags = gate.assess(raw, filt)
    assert flags[0] & FLAGS["nan"] and flags[3] & FLAGS["amplitude"]
    assert gate.is_gated(flags)
    with pytest.raises(ValueError, match="shape"):
        gate.assess(raw[:3], filt[:3])


def test_calibrate_sets_blink_threshold_from_baseline(rng, muse):
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    w = _windows(_clean(rng, n_t=256 * 30), muse)
    thr = gate.calibrate(np.array([r for r, _ in w]), np.array([f for _, f in w]))
    assert set(thr) == {"AF7", "AF8"}
    assert all(40.0 <= v < 100.0 for v in thr.values())
    assert gate.blink_uv[0] == GatesConfig().blink_uv  # temporal channels untouched
    assert gate.describe()["blink_uv"][1] == pytest.approx(thr["AF7"])
    with pytest.raises(ValueError, match="at least 5"):
        gate.calibrate(np.zeros((2, 4, 512)), np.zeros((2, 4, 512)))


def test_muse_recording_false_alarm_rate(muse_dir, muse):
    """Gates on a real Muse recording: most windows of a calm subject pass."""
    data = np.loadtxt(muse_dir / "subjecta-relaxed-1.csv", delimiter=",", skiprows=1,
                      usecols=(1, 2, 3, 4)).T * 1e-6
    gate = QualityGate(GatesConfig(), muse, SF, muse.ch_names)
    flags = _flags(gate, data, muse)
    assert flags.shape[1] == 4
    assert np.mean([gate.is_gated(f) for f in flags]) < 0.5


def test_a_channel_that_never_stops_being_noisy_becomes_bad_but_blinks_do_not():
    from biofeedback.config import load_pipeline
    from biofeedback.hardware import get_profile
    from biofeedback.quality import FLAGS, QualityGate

    prof = get_profile("muse_2")
    gate = QualityGate(load_pipeline().gates, prof, 256.0, prof.ch_names)
    amp, blink, bad = FLAGS["amplitude"], FLAGS["blink"], FLAGS["bad"]
    gated = []
    for i in range(60):  # 30 s at a 0.5 s hop
        flags = np.zeros(4, dtype=np.int64)
        flags[3] = amp  # TP10: a loose electrode, every window
        if i % 6 == 0:
            flags[1] = blink  # AF7: a real blink every 3 s
        flags = gate.track(flags, 0.5)
        gated.append(gate.is_gated(flags))
        if i < 19:
            assert flags[3] == amp  # not judged before 10 s of history
    assert flags[3] == bad and not flags[3] & amp
    assert gate.clean_channels(flags)[3] == False  # noqa: E712 (left out of the indices)
    # from then on only the blinks gate the window
    late = np.array(gated[20:])
    assert late.sum() == sum(1 for i in range(20, 60) if i % 6 == 0)
    # a channel that recovers is good again
    for _ in range(20):
        flags = gate.track(np.zeros(4, dtype=np.int64), 0.5)
    assert flags[3] == 0
    gate.reset_tracking()
    assert gate.track(np.array([0, 0, 0, amp]), 0.5)[3] == amp
