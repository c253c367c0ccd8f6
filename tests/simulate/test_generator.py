"""The scripted headset itself: scenario files, signal model, faults, truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from biofeedback.errors import PipelineConfigError
from biofeedback.simulate import (
    ScenarioSource,
    channel_regions,
    count_missing_packets,
    list_scenarios,
    read_scenario,
    simulate,
    write_truth,
)


def _write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = 'name = "t"\nboard = "muse_2"\nduration = 20.0\nseed = 5\n'


def _band_power(x, sfreq, lo, hi):
    f, p = welch(x, sfreq, nperseg=int(2 * sfreq))
    sel = (f >= lo) & (f < hi)
    return p[..., sel].sum(axis=-1)


# -- scenario files ----------------------------------------------------------------
def test_shipped_scenarios_load():
    names = list_scenarios()
    assert {"demo", "relaxed_engaged", "approach", "artifacts", "faults"} <= set(names)
    for name in names:
        scen = read_scenario(name)
        assert scen.duration > 0
    demo = read_scenario("demo")
    assert demo.board == "muse_2"
    assert demo.states == ["relaxed", "engaged", "approach"]
    assert len(demo.faults.disconnects) == 1


@pytest.mark.parametrize(
    "extra, match",
    [
        ("colour = 3\n", "unknown key 'colour'"),
        ('[[timeline]]\nat = 0.0\nstate = "sleepy"\n',
         r"line 5 \[timeline #1\]: unknown state 'sleepy'"),
        ('[[events]]\nkind = "sneeze"\nat = 1.0\n',
         r"line 5 \[events #1\]: unknown event kind 'sneeze'"),
        ('[[events]]\nkind = "blink"\nat = 1.0\nchannels = ["Cz"]\n',
         r"line 8 \[events #1\] channels: 'Cz'"),
        ('[[events]]\nkind = "blink"\nat = 50.0\n', "after the end"),
        ("[faults]\npacket_loss = 0.9\n", r"faults.*packet_loss must be within"),
        ('[faults]\njitter_ms = "a"\n', "jitter_ms must be a number"),
        ('[[timeline]]\nat = 5.0\nstate = "relaxed"\n[[timeline]]\nat = 1.0\nstate = "engaged"\n',
         r"timeline segments must be sorted"),
    ],
)
def test_scenario_errors_name_file_and_field(tmp_path, extra, match):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(PipelineConfigError, match=match) as err:
        read_scenario(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text, match", [
    ("", "'board' and 'duration' are missing; add them."),
    ('board = "muse_2"\n', "'duration' is missing; add it."),
])
def test_a_scenario_without_its_required_keys_names_them(tmp_path, text, match):
    """An empty or half-written file names the keys to add, not Python's
    constructor signature."""
    path = _write(tmp_path, text)
    with pytest.raises(PipelineConfigError) as err:
        read_scenario(path)
    assert str(err.value) == f"{path}: {match}"


def test_scenario_errors_board_and_name(tmp_path):
    path = _write(tmp_path, BASE.replace("muse_2", "nope"))
    with pytest.raises(PipelineConfigError, match=r"board: Unknown board 'nope'"):
        read_scenario(path)
    path = _write(tmp_path, BASE.replace("muse_2", "lsl"))
    with pytest.raises(PipelineConfigError, match="no fixed channels"):
        read_scenario(path)
    with pytest.raises(PipelineConfigError, match="Unknown scenario 'nope'"):
        read_scenario("nope")
    with pytest.raises(PipelineConfigError, match="not valid TOML"):
        read_scenario(_write(tmp_path, "name = [\n"))


# -- signal model ------------------------------------------------------------------
def test_regions():
    reg = channel_regions(["TP9", "AF7", "AF8", "TP10", "Fp1", "F3", "Fz", "O2", "P8"])
    assert reg["AF7"] >= {"frontal", "left_frontal", "eye"}
    assert reg["AF8"] >= {"frontal", "right_frontal", "eye"}
    assert reg["TP9"] >= {"posterior", "temporal"}
    assert "eye" not in reg["F3"] and "left_frontal" in reg["F3"]
    assert "left_frontal" not in reg["Fz"] and "right_frontal" not in reg["Fz"]
    assert reg["O2"] == {"posterior"}
    assert "temporal" in reg["P8"]


def test_deterministic(tmp_path):
    a, b = simulate("demo"), simulate("demo")
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.lost, b.lost)
    assert a.data.dtype == np.float64 and a.data.flags.c_contiguous
    text = open(read_scenario("demo").fname).read().replace("seed = 42", "seed = 43")
    other = simulate(_write(tmp_path, text))
    assert not np.allclose(other.data, a.data)


def test_faults_do_not_change_the_signal(tmp_path):
    clean = simulate(_write(tmp_path, BASE, "a.toml"))
    faults = "[faults]\npacket_loss = 0.1\njitter_ms = 2.0\n"
    lossy = simulate(_write(tmp_path, BASE + faults, "b.toml"))
    np.testing.assert_array_equal(clean.data, lossy.data)
    assert lossy.n_lost > 0 and clean.n_lost == 0


def test_background_is_one_over_f(tmp_path):
    sim = simulate(_write(tmp_path, BASE.replace("20.0", "60.0") + "[background]\n"
                          "alpha_uv = 0.0\ntheta_uv = 0.0\nbeta_uv = 0.0\nnoise_uv = 0.0\n"))
    f, p = welch(sim.data, sim.sfreq, nperseg=512)
    sel = (f >= 2) & (f <= 40)
    slope = np.polyfit(np.log(f[sel]), np.log(p[:, sel].mean(axis=0)), 1)[0]
    assert -1.3 < slope < -0.7  # exponent 1 by default
    # amplitude in µV as asked (8 µV RMS), in volts in the array
    assert 5e-6 < sim.data.std() < 10e-6


def test_relaxed_raises_posterior_alpha_engaged_lowers_it(tmp_path):
    text = BASE.replace("20.0", "60.0") + (
        '[[timeline]]\nat = 0.0\nstate = "relaxed"\nramp = 0.0\n'
        '[[timeline]]\nat = 30.0\nstate = "engaged"\nramp = 0.0\n'
    )
    sim = simulate(_write(tmp_path, text))
    fs = sim.sfreq
    n = int(30 * fs)
    relaxed, engaged = sim.data[:, :n], sim.data[:, n:]
    tp = [sim.ch_names.index("TP9"), sim.ch_names.index("TP10")]
    a_rel = _band_power(relaxed, fs, 8, 13)
    a_eng = _band_power(engaged, fs, 8, 13)
    b_rel = _band_power(relaxed, fs, 13, 30)
    b_eng = _band_power(engaged, fs, 13, 30)
    assert np.all(a_rel[tp] > 4 * a_eng[tp])
    assert np.all(b_eng > 1.5 * b_rel)
    # relaxation shows more posteriorly than frontally
    fr = [sim.ch_names.index("AF7"), sim.ch_names.index("AF8")]
    assert (a_rel[tp] / a_eng[tp]).min() > (a_rel[fr] / a_eng[fr]).max()


def test_approach_lowers_left_frontal_alpha(tmp_path):
    text = BASE.replace("20.0", "40.0") + '[[timeline]]\nat = 0.0\nstate = "approach"\nramp = 0.0\n'
    sim = simulate(_write(tmp_path, text))
    alpha = _band_power(sim.data, sim.sfreq, 8, 13)
    left, right = alpha[sim.ch_names.index("AF7")], alpha[sim.ch_names.index("AF8")]
    assert np.log(right) - np.log(left) > 0.5


def test_ramps_and_levels(tmp_path):
    text = BASE + (
        '[[timeline]]\nat = 0.0\nstate = "relaxed"\nramp = 0.0\n'
        '[[timeline]]\nat = 10.0\nstate = "engaged"\nlevel = 0.5\nramp = 4.0\n'
    )
    sim = simulate(_write(tmp_path, text))
    lv = sim.level_at([5.0, 10.0, 12.0, 14.0, 19.0])
    rel, eng = sim.state_names.index("relaxed"), sim.state_names.index("engaged")
    np.testing.assert_allclose(lv[rel], [1, 1, 0.5, 0, 0], atol=1e-3)
    np.testing.assert_allclose(lv[eng], [0, 0, 0.25, 0.5, 0.5], atol=1e-3)


# -- events ------------------------------------------------------------------------
def test_blink_on_frontal_channels_only(tmp_path):
    sim_clean = simulate(_write(tmp_path, BASE, "a.toml"))
    sim = simulate(_write(tmp_path, BASE + '[[events]]\nkind = "blink"\nat = 5.0\n', "b.toml"))
    diff = (sim.data - sim_clean.data) * 1e6
    peak = np.abs(diff).max(axis=1)
    for ch, p in zip(sim.ch_names, peak):
        if ch in ("AF7", "AF8"):
            assert 140 < p <= 150
        else:
            assert p == 0
    k = np.flatnonzero(diff[1])
    assert 0.25 < (k[-1] - k[0]) / sim.sfreq < 0.35 and abs(k[0] / sim.sfreq - 5.0) < 0.01


def test_clench_is_broadband_emg_on_temporal_channels(tmp_path):
    sim_clean = simulate(_write(tmp_path, BASE, "a.toml"))
    clench = '[[events]]\nkind = "clench"\nat = 5.0\nduration = 4.0\n'
    sim = simulate(_write(tmp_path, BASE + clench, "b.toml"))
    diff = sim.data - sim_clean.data
    tp = [0, 3]
    assert np.all(np.abs(diff[[1, 2]]) == 0)
    hi = _band_power(diff[tp], sim.sfreq, 20, 100)
    lo = _band_power(diff[tp], sim.sfreq, 1, 15)
    assert np.all(hi > 50 * lo)


def test_pop_rail_flat_line(tmp_path):
    text = BASE + (
        '[[events]]\nkind = "pop"\nat = 2.0\nchannels = ["AF7"]\namplitude_uv = 300.0\n'
        '[[events]]\nkind = "railed"\nat = 5.0\nduration = 2.0\nchannels = ["TP10"]\n'
        '[[events]]\nkind = "flat"\nat = 9.0\nduration = 2.0\nchannels = ["TP9"]\n'
        '[[events]]\nkind = "line_noise"\nat = 12.0\nduration = 6.0\namplitude_uv = 40.0\n'
    )
    sim = simulate(_write(tmp_path, text))
    fs = sim.sfreq
    uv = sim.data * 1e6
    k = int(np.ceil(2.0 * fs))
    assert uv[1, k] - uv[1, k - 1] > 250  # the step
    assert uv[1, k + int(0.5 * fs)] - uv[1, k - 1] < 150  # decays (tau 0.2 s)
    rail = uv[3, int(5.2 * fs) : int(6.8 * fs)]
    np.testing.assert_array_equal(rail, -1000.0)  # the Muse 2 full scale
    np.testing.assert_array_equal(uv[0, int(9.2 * fs) : int(10.8 * fs)], 0.0)
    f, p = welch(sim.data[:, int(12 * fs) : int(18 * fs)], fs, nperseg=int(fs))
    assert np.all(np.argmax(p[:, f > 30], axis=1) == np.argmin(np.abs(f[f > 30] - 50.0)))
    kinds = [e.kind for e in sim.events]
    assert kinds == ["pop", "railed", "flat", "line_noise"]


# -- faults ------------------------------------------------------------------------
def test_counter_gaps_match_the_loss(tmp_path):
    text = BASE.replace("muse_2", "cyton") + (
        "[faults]\npacket_loss = 0.05\n[[faults.loss_bursts]]\nat = 8.0\nduration = 2.0\n"
    )
    sim = simulate(_write(tmp_path, text))
    assert sim.counter_wrap == 256  # the Cyton's counter
    keep = sim.delivered
    c, ts = sim.counter[keep], sim.timestamps[keep]
    missing = count_missing_packets(c[:-1], ts[:-1], c[1:], ts[1:], 256, 1, sim.sfreq)
    # the burst (500 packets) is longer than one counter cycle, still exact
    assert missing.sum() == sim.n_lost
    assert missing.max() >= 500


def test_timestamps_drift_jitter_and_rate(tmp_path):
    text = BASE.replace("20.0", "100.0") + (
        "[faults]\npacket_size = 12\njitter_ms = 2.0\ndrift_ppm = 100.0\nsrate_ppm = 500.0\n"
    )
    sim = simulate(_write(tmp_path, text))
    assert sim.data.shape[1] == int(np.floor(100 * 256 * (1 + 500e-6)))
    err = sim.timestamps - sim.true_times
    # drift: 100 ppm over 100 s is 10 ms, jitter is per packet and clipped
    np.testing.assert_allclose(np.polyfit(sim.true_times, err, 1)[0], 100e-6, rtol=0.05)
    assert np.all(np.diff(sim.timestamps) > 0)
    per_packet = err[::12] - sim.true_times[::12] * 100e-6
    assert 1e-3 < per_packet.std() < 2.5e-3
    # LSL-style offsets undo the drift
    th, off = sim.clock_offsets(interval=5.0)
    np.testing.assert_allclose(off, -th * 100e-6, atol=1e-3)


def test_truth_table_and_markers(tmp_path):
    sim = simulate("demo")
    truth = sim.truth_table()
    assert np.allclose(np.diff(truth["time"]), 0.1)
    assert set(truth) == {"time", "relaxed", "engaged", "approach", "events"}
    i = int(round(12.1 / 0.1))
    assert truth["events"][i] == "blink"
    assert "disconnect" in truth["events"][int(76 / 0.1)]
    assert truth["relaxed"][int(20 / 0.1)] == 1.0 and truth["engaged"][int(45 / 0.1)] == 1.0
    path = write_truth(truth, tmp_path / "truth.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "time,relaxed,engaged,approach,events"
    assert len(lines) == len(truth["time"]) + 1
    assert lines[122].startswith("12.100,") and lines[122].endswith(",blink")
    # a table that fails half-way leaves the file that was there, and no part file
    del truth["events"][500:]
    with pytest.raises(IndexError):
        write_truth(truth, path)
    assert path.read_text().splitlines() == lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truth.csv"]
    markers = sim.markers(t0=100.0)
    texts = [m[1] for m in markers]
    assert texts[0] == "state relaxed level=1 ramp=2"
    assert "fault disconnect duration=3.000" in texts
    assert any(t.startswith("event clench channels=TP9,TP10") for t in texts)
    assert markers[0][0] == 100.0


# -- the source ------------------------------------------------------------------------
def test_source_counts_loss_from_counter_and_reports_disconnect():
    src = ScenarioSource("faults", realtime=False, t0=50.0)
    sim = src.simulation
    chunks, events = [], []
    with src:
        for chunk, ev in src.iter_chunks():
            events += ev
            if chunk is not None:
                chunks.append(chunk)
    data = np.concatenate([c.data for c in chunks], axis=1)
    ts = np.concatenate([c.timestamps for c in chunks])
    np.testing.assert_array_equal(data, sim.data[:, sim.delivered])
    np.testing.assert_array_equal(ts, 50.0 + sim.timestamps[sim.delivered])
    dropped = [e for e in events if e.kind == "dropped"]
    assert src.n_dropped == sum(e.n for e in dropped)
    kinds = [e.kind for e in events if e.kind not in ("dropped", "marker")]
    assert kinds == ["disconnected", "reconnected"]
    # the truth comes along as markers, in time order, on the session clock
    marks = [(e.timestamp, e.text) for e in events if e.kind == "marker"]
    assert marks == sim.markers(t0=50.0)
    rec = [e for e in events if e.kind == "reconnected"][0]
    assert abs(rec.duration - 5.0) < 0.01
    # every sample that did not arrive is accounted for, exactly
    n_missing = sim.data.shape[1] - data.shape[1]
    assert src.n_dropped + rec.n == n_missing
    assert src.n_dropped == sim.n_lost - _lost_next_to_outage(sim)


def _lost_next_to_outage(sim):
    """Lost samples adjacent to the outage, counted in the outage's own n."""
    idx = np.flatnonzero(sim.disconnected)
    n = 0
    k = idx[0] - 1
    while sim.lost[k]:
        n, k = n + 1, k - 1
    k = idx[-1] + 1
    while sim.lost[k]:
        n, k = n + 1, k + 1
    return n


def test_source_chunking_and_profile():
    src = ScenarioSource("relaxed_engaged", realtime=False, chunk_duration=0.1)
    assert src.profile.name == "muse_2" and src.sfreq == 256.0
    assert src.ch_names == ["TP9", "AF7", "AF8", "TP10"]
    with src:
        chunk = src.read()
    assert chunk.data.shape == (4, 26)
    assert chunk.timestamps[0] == 0.0
    assert src.describe()["scenario"] == "relaxed_engaged"


def test_plot_truth_draws_levels_and_estimates():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biofeedback.simulate import plot_truth

    sim = simulate("demo")
    truth = sim.truth_table()
    t = np.arange(2.0, 120.0, 0.5)
    est = {"engagement": (t, np.interp(t, truth["time"], truth["engaged"]))}
    fig = plot_truth(truth, est)
    try:
        assert len(fig.axes) == 3 + 1  # one panel per state, one twin axis
        labels = [ln.get_label() for ax in fig.axes for ln in ax.get_lines()]
        assert "scripted engaged level" in labels and "estimate: engagement" in labels
    finally:
        plt.close(fig)


@pytest.mark.lsl
def test_source_in_real_time_paces_samples_on_the_lsl_clock(tmp_path):
    import pylsl

    path = _write(tmp_path, BASE.replace("20.0", "1.5"))
    src = ScenarioSource(path, realtime=True)
    got = []
    with src:
        start = pylsl.local_clock()
        assert abs(src.t0 - start) < 0.5
        while pylsl.local_clock() - start < 10:
            try:
                chunk = src.read(timeout=0.1)
            except EOFError:  # at the scenario's end, as a finite source ends
                break
            if chunk is not None:
                got.append((pylsl.local_clock(), chunk.timestamps))
    ts = np.concatenate([g[1] for g in got])
    assert ts.size == src.simulation.data.shape[1]
    assert src.ended_at == ts[-1]  # its last sample, sent here
    # no sample is handed out before its time comes
    for now, stamps in got:
        assert stamps[-1] <= now + 1e-3
    assert len(got) > 5  # delivered progressively, not at once
