"""The engine against scripted truth: estimates follow states, gates catch
artifacts, faults are survived. Everything runs on simulated time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from biofeedback.quality import FLAGS
from biofeedback.simulate import ScenarioSource, run_scenario


def _run_engine(scenario, chunk_duration=0.25):
    """Drive the engine from a ScenarioSource as fast as it reads."""
    run = run_scenario(scenario, chunk_duration=chunk_duration)
    return run.source, run.engine, run.output, run.events


def _est(out, name):
    return out.estimates[:, out.estimate_names.index(name)]


def _centre_levels(src, engine, out):
    """Scripted levels at each window's centre (host clock)."""
    half = engine.win_len / src.sfreq / 2.0
    return src.simulation.level_at(out.t_end - src.t0 - half)


def test_engagement_and_alpha_follow_the_script():
    src, engine, out, _ = _run_engine("relaxed_engaged")
    sim = src.simulation
    levels = _centre_levels(src, engine, out)
    engaged = levels[sim.state_names.index("engaged")]
    relaxed = levels[sim.state_names.index("relaxed")]
    clean = ~out.gated
    assert clean.mean() > 0.95  # no artifacts were scripted
    rho_eng = spearmanr(_est(out, "engagement")[clean], engaged[clean])[0]
    rho_alpha = spearmanr(_est(out, "alpha_rel")[clean], relaxed[clean])[0]
    assert rho_eng > 0.8, rho_eng
    assert rho_alpha > 0.8, rho_alpha
    # and the index rises then falls: plateau means in script order
    eng = _est(out, "engagement")
    t = out.t_end - src.t0
    plateaus = [(5, 25), (35, 50), (60, 75), (85, 100)]
    means = [np.nanmean(eng[(t >= a + 2) & (t < b)]) for a, b in plateaus]
    assert means[0] < means[1] < means[2] and means[3] < means[2]


def test_frontal_asymmetry_changes_sign_with_approach():
    src, engine, out, _ = _run_engine("approach")
    sim = src.simulation
    levels = _centre_levels(src, engine, out)
    approach = levels[sim.state_names.index("approach")]
    faa = _est(out, "faa")
    ok = np.isfinite(faa) & ~out.gated
    assert np.median(faa[ok & (approach == 1)]) > 0.3
    assert np.median(faa[ok & (approach == 0)]) < -0.3
    assert spearmanr(faa[ok], approach[ok])[0] > 0.7


def test_gates_catch_injected_artifacts():
    src, engine, out, _ = _run_engine("artifacts")
    sim = src.simulation
    length = engine.win_len / src.sfreq
    t_end = out.t_end - src.t0
    t_start = t_end - length
    transient_hits = []
    channel_hits = []
    near_event = np.zeros(len(t_end), dtype=bool)
    for ev in sim.events:
        on, off = ev.onset, ev.onset + ev.duration
        overlap = np.clip(np.minimum(t_end, off) - np.maximum(t_start, on), 0, None)
        near_event |= (t_end > on - 0.5) & (t_start < off + 0.5)
        if ev.kind == "blink":  # the peak is in the window
            hit = (t_start <= on + ev.duration / 2) & (on + ev.duration / 2 < t_end)
        elif ev.kind == "clench":  # a quarter second of EMG at least
            hit = overlap >= 0.25
        elif ev.kind == "pop":  # the step is in the window
            hit = (t_start <= on) & (on < t_end)
        elif ev.kind == "railed":
            hit = overlap > 0
        elif ev.kind == "flat":  # flat over the whole window
            hit = (t_start >= on) & (t_end <= off)
        else:
            continue
        idx = np.flatnonzero(hit)
        assert idx.size, ev
        if ev.kind in ("blink", "clench", "pop"):
            transient_hits += [out.gated[i] for i in idx]
        else:
            bit = FLAGS[ev.kind]
            chans = [sim.ch_names.index(ch) for ch in ev.channels]
            channel_hits += [bool(np.all(out.quality[i, chans] & bit)) for i in idx]
    recall = np.mean(transient_hits)
    assert len(transient_hits) >= 20 and recall > 0.95, recall
    assert len(channel_hits) >= 10 and np.mean(channel_hits) > 0.95
    clean = ~near_event
    assert clean.sum() > 100
    false_alarms = out.gated[clean].mean()
    assert false_alarms < 0.05, false_alarms


def test_packet_loss_is_counted_exactly_and_outage_reported():
    src, engine, out, events = _run_engine("faults", chunk_duration=0.1)
    sim = src.simulation
    dropped = sum(e.n for e in events if e.kind == "dropped")
    outage = [e for e in events if e.kind in ("disconnected", "reconnected")]
    assert [e.kind for e in outage] == ["disconnected", "reconnected"]
    assert abs(outage[1].duration - 5.0) < 0.01
    n_received = int(sim.delivered.sum())
    assert dropped + outage[1].n == sim.data.shape[1] - n_received
    assert dropped == src.n_dropped > 0
    # the engine restarted at the outage and kept going after it
    assert engine.n_resets >= 1
    assert (out.t_end - src.t0 > 36.0).sum() > 40


@pytest.mark.slow
def test_clock_drift_is_corrected_by_lsl_offsets(tmp_path):
    """30 simulated minutes with a 100 ppm device clock (180 ms of drift).

    The device stamps samples on its own clock; LSL's time_correction values
    (host minus device, every 5 s, 0.1 ms measurement noise) are what an XDF
    file keeps as ClockOffset chunks. pyxdf's clock synchronisation, the one
    ``biofeedback.io`` reads XDF with, must bring every timestamp back within
    5 ms of the true acquisition time.
    """
    from pyxdf.pyxdf import _clock_sync

    (tmp_path / "drift.toml").write_text(
        'name = "drift"\nboard = "muse_2"\nduration = 1800.0\nseed = 11\n'
        "[background]\nalpha_uv = 0.0\ntheta_uv = 0.0\nbeta_uv = 0.0\n"
        "[faults]\npacket_size = 12\njitter_ms = 1.0\ndrift_ppm = 100.0\n"
        "clock_offset = 2.5\nsrate_ppm = 50.0\n"
    )
    src = ScenarioSource(tmp_path / "drift.toml", realtime=False)
    sim = src.simulation
    raw_err = sim.timestamps - sim.true_times
    assert np.abs(raw_err).max() > 2.5  # uncorrected: the device's own clock
    clock_times, clock_values = sim.clock_offsets(interval=5.0, noise_ms=0.1)

    class _Stream:  # the fields pyxdf's synchroniser reads and writes
        def __init__(self):
            self.time_stamps = sim.timestamps.copy()
            # LSL measures offsets at host times, stamped on the remote clock
            self.clock_times = list(clock_times - clock_values)
            self.clock_values = list(clock_values)
            self.clock_segments = []

    streams = {1: _Stream()}
    _clock_sync(streams)
    err = streams[1].time_stamps - sim.true_times
    assert np.abs(err).max() < 5e-3


def test_line_noise_at_mains_drops_the_channel(tmp_path):
    (tmp_path / "ln.toml").write_text(
        'name = "ln"\nboard = "muse_2"\nduration = 30.0\nseed = 8\n'
        '[[events]]\nkind = "line_noise"\nat = 10.0\nduration = 10.0\n'
        'amplitude_uv = 30.0\nchannels = ["TP9", "TP10"]\n'
    )
    src, engine, out, _ = _run_engine(tmp_path / "ln.toml")
    t_end = out.t_end - src.t0
    inside = (t_end >= 12.0) & (t_end <= 20.0)
    outside = (t_end < 10.0) | (t_end > 22.0)
    flagged = (out.quality & FLAGS["line_noise"]) != 0
    assert flagged[inside][:, [0, 3]].all()
    assert not flagged[inside][:, [1, 2]].any()
    assert not flagged[outside].any()
