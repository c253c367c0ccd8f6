"""Causal streaming filters: chunking never changes the output."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.signal import welch

from biofeedback.config import PreprocessingConfig
from biofeedback.preprocessing import build_preprocessing


def _run_chunked(chain, data, sizes):
    out, i = [], 0
    for n in sizes:
        out.append(chain.process(data[:, i:i + n], np.arange(i, i + n, dtype=float))[0])
        i += n
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("reference", ["none", "average", "mastoids"])
def test_chunk_by_chunk_equals_one_go(rng, reference):
    cfg = replace(PreprocessingConfig(), reference=reference,
                  reference_channels=("TP9", "TP10") if reference == "mastoids" else ())
    names = ["TP9", "AF7", "AF8", "TP10"]
    data = rng.standard_normal((4, 5000)) * 1e-5 + 3e-4
    whole = build_preprocessing(cfg, 256.0, 4, 50.0, ch_names=names)
    ref = whole.process(data, np.arange(5000.0))[0]
    sizes = []
    while sum(sizes) < 5000:
        sizes.append(int(rng.integers(1, 300)))
    sizes[-1] -= sum(sizes) - 5000
    chunked = build_preprocessing(cfg, 256.0, 4, 50.0, ch_names=names)
    got = _run_chunked(chunked, data, sizes)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    # reset restarts the filters: the same input gives the same output again
    chunked.reset()
    np.testing.assert_allclose(_run_chunked(chunked, data, [5000]), ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("line_freq", [50.0, 60.0])
def test_notch_attenuates_the_line_frequency(rng, line_freq):
    sfreq = 250.0
    t = np.arange(int(sfreq * 20)) / sfreq
    data = (rng.standard_normal((2, t.size)) * 5 + 50 * np.sin(2 * np.pi * line_freq * t)) * 1e-6
    chain = build_preprocessing(replace(PreprocessingConfig(), lowpass=0.0), sfreq, 2, line_freq)
    out = chain.process(data, t)[0][:, int(5 * sfreq):]  # after the notch has settled
    f, p_in = welch(data[:, int(5 * sfreq):], sfreq, nperseg=250)
    _, p_out = welch(out, sfreq, nperseg=250)
    k = np.argmin(np.abs(f - line_freq))
    assert np.all(p_out[:, k] < p_in[:, k] * 1e-3)  # > 30 dB down
    j = np.argmin(np.abs(f - 20.0))
    np.testing.assert_allclose(p_out[:, j], p_in[:, j], rtol=0.5)  # passband kept


def test_steady_state_start_does_not_ring_on_a_large_offset(rng):
    sfreq = 250.0
    offset = 0.187  # volts: a Cyton channel near its rail
    data = offset + rng.standard_normal((2, 2500)) * 5e-6
    chain = build_preprocessing(PreprocessingConfig(), sfreq, 2, 50.0)
    out = chain.process(data, np.arange(2500.0))[0]
    # no transient of the size of the offset: the output is EEG-sized from the start
    assert np.abs(out).max() < 100e-6


def test_describe_and_bad_reference():
    cfg = replace(PreprocessingConfig(), reference="mastoids", reference_channels=("TP9", "X"))
    with pytest.raises(ValueError, match="'X' is not among"):
        build_preprocessing(cfg, 256.0, 2, 50.0, ch_names=["TP9", "AF7"])
    with pytest.raises(ValueError, match="needs the channel names"):
        build_preprocessing(cfg, 256.0, 2, 50.0)
    desc = build_preprocessing(PreprocessingConfig(), 256.0, 2, 60.0).describe()
    assert any("band-pass 1-45 Hz" in d for d in desc)
    assert any("notch 60 Hz" in d for d in desc)


def test_mastoid_reference_subtracts_their_mean(rng):
    cfg = replace(PreprocessingConfig(), reference="mastoids", reference_channels=("TP9", "TP10"),
                  highpass=0.0, lowpass=0.0, notch="off")
    data = rng.standard_normal((4, 100))
    out = build_preprocessing(cfg, 256.0, 4, 50.0, ch_names=["TP9", "AF7", "AF8", "TP10"]).process(
        data, np.arange(100.0))[0]
    np.testing.assert_allclose(out, data - (data[0] + data[3]) / 2)


@pytest.mark.parametrize("fs", [128.0, 250.0, 256.0, 1000.0])
def test_filter_design_and_filtering_match_scipy(rng, fs):
    # our design avoids importing scipy.signal (a second of start-up); the
    # numbers must stay scipy's
    from scipy import signal

    from biofeedback._iir import butter_sos, notch_sos, sosfilt_zi
    from biofeedback._kernels import sosfilt
    from biofeedback.spectral import cosine_window

    for order in (1, 2, 3, 4, 5, 8):
        for btype, freq in (("bandpass", [1.0, 40.0]), ("bandpass", [0.5, 45.0]),
                            ("highpass", 0.1), ("highpass", 1.0), ("lowpass", 30.0)):
            ours = butter_sos(order, freq, btype, fs)
            ref = signal.butter(order, freq, btype=btype, fs=fs, output="sos")
            np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(sosfilt_zi(ours), signal.sosfilt_zi(ref),
                                       rtol=1e-10, atol=1e-14)
    for line, q in ((50.0, 30.0), (60.0, 35.0)):
        np.testing.assert_allclose(notch_sos(line, q, fs),
                                   signal.tf2sos(*signal.iirnotch(line, q, fs=fs)),
                                   rtol=1e-12, atol=1e-15)
    for name in ("hann", "hamming"):
        for n in (1, 2, 99, 256):
            np.testing.assert_array_equal(cosine_window(name, n), signal.get_window(name, n))
    sos = butter_sos(4, [1.0, 40.0], "bandpass", fs)
    x = rng.standard_normal((3, 700))
    zi = np.ascontiguousarray(np.broadcast_to(sosfilt_zi(sos), (3, 4, 2)) * x[:, :1, None])
    ref_y, ref_zf = signal.sosfilt(sos, x, zi=np.moveaxis(zi, 0, 1))
    np.testing.assert_array_equal(sosfilt(sos, x, zi), ref_y)
    np.testing.assert_array_equal(zi, np.moveaxis(ref_zf, 0, 1))
    with pytest.raises(ValueError, match="between 0 and fs/2"):
        butter_sos(4, fs, "lowpass", fs)


def test_back_from_the_rail_the_filters_restart_instead_of_ringing(rng):
    """A Cyton electrode that hits the rail: filtered EEG is clean once it is back.

    Without the restart the 1 Hz high-pass rang above 150 µV peak-to-peak for
    about 2 s after a 20 ms rail-size spike, and 3 s after a 1 s rail.
    """
    fs, rail = 250.0, 0.9 * 187500e-6
    x = 5e-6 * rng.standard_normal((2, 3000))
    x[0, 1000:1005] = 187500e-6  # 20 ms at the rail
    x[1, 1000:1250] = -187500e-6  # 1 s at the rail
    ringing = build_preprocessing(PreprocessingConfig(), fs, 2, 50.0)
    chain = build_preprocessing(PreprocessingConfig(), fs, 2, 50.0, restart_above=rail)
    ts = np.arange(3000) / fs
    rang, _ = ringing.process(x.copy(), ts)
    y, _ = chain.process(x.copy(), ts)
    after = [slice(1005 + 25, 1500), slice(1250 + 25, 1750)]  # 0.1 s to 2 s after
    for ch, sl in enumerate(after):
        assert np.ptp(rang[ch, sl]) > 150e-6  # the ringing this removes
        assert np.ptp(y[ch, sl]) < 60e-6  # EEG-sized again
    # per sample: chunks of any size give the same output
    chain.reset()
    parts = [chain.process(x[:, a:a + 7].copy(), ts[a:a + 7])[0] for a in range(0, 3000, 7)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), y)
