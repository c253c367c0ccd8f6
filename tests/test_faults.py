"""Fault injection: what was lost is counted exactly, the same everywhere.

A scripted headset with packet loss, a loss burst, timestamp jitter, clock
drift and a disconnect runs through a live session (real LSL, LabRecorder);
the session's summary, ``info`` on the recording and a replay of it must all
report the losses the simulation knows to be true, to the sample.
"""

import numpy as np
import pytest

from biofeedback.io import read_recording
from biofeedback.io._integrity import loss_counts

FAULTS = """\
name = "faults_test"
board = "cyton"
duration = {duration}
seed = 11

[faults]
packet_size = 1
packet_loss = 0.01
jitter_ms = 1.0
drift_ppm = {drift}

[[faults.loss_bursts]]
at = {burst}
duration = 0.4

[[faults.disconnects]]
at = {disconnect}
duration = 2.0
"""


def _scenario(tmp_path, duration=12.0, burst=3.0, disconnect=6.0, drift=100.0):
    path = tmp_path / "faults.toml"
    path.write_text(FAULTS.format(duration=duration, burst=burst, disconnect=disconnect,
                                  drift=drift))
    return path


def _truth(sim, n_delivered):
    """Samples lost and missed in outages among the first ``n_delivered`` delivered."""
    idx = np.flatnonzero(sim.delivered)[:n_delivered]
    span = slice(idx[0], idx[-1] + 1)
    return {"dropped": int(sim.lost[span].sum()),
            "outage": int(sim.disconnected[span].sum()),
            "total": int((~sim.delivered[span]).sum())}


def test_simulated_file_keeps_exact_losses(tmp_path, capsys):
    """simulate --out: info and replay count what the packet counter knew."""
    from biofeedback.cli import main
    from biofeedback.simulate import read_scenario
    from biofeedback.simulate._generator import simulate

    scen = _scenario(tmp_path, duration=20.0, burst=5.0, disconnect=10.0)
    out = tmp_path / "sim.xdf"
    assert main(["simulate", str(scen), "--out", str(out)]) == 0
    sim = simulate(read_scenario(scen))
    rec = read_recording(out)
    truth = _truth(sim, rec.n_times)
    counts = loss_counts(rec.gaps)
    assert truth["dropped"] > 100 and truth["outage"] == 500  # the faults did happen
    assert {k: counts[k] for k in truth} == truth
    # jitter alone would hide most single-sample losses from the timestamps
    assert rec.provenance["losses_from"] == "markers"
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert f"lost samples: {truth['total']} ({truth['dropped']} dropped" in capsys.readouterr().out
    assert main(["replay", str(out)]) == 0
    assert f"lost samples: {truth['total']} ({truth['dropped']} dropped" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.lsl
def test_live_session_summary_info_and_replay_agree_with_the_truth(tmp_path, uid):
    from biofeedback.config import load_pipeline
    from biofeedback.replay import replay
    from biofeedback.session import Session
    from biofeedback.simulate import ScenarioSource

    # a device clock 3000 ppm fast: 36 ms off the host's in 12 s, unless fitted
    src = ScenarioSource(_scenario(tmp_path, drift=3000.0), realtime=True)
    session = Session(src, load_pipeline(), [], record=True, recordings_dir=tmp_path,
                      duration=10.5, name=f"faults-{uid}")
    summary = session.run()
    rec = read_recording(summary.recording)
    assert rec.n_times == summary.n_samples
    truth = _truth(src.simulation, rec.n_times)
    assert truth["dropped"] > 30 and truth["outage"] == 500
    live = {k: summary.losses[k] for k in truth}
    info = {k: loss_counts(rec.gaps)[k] for k in truth}
    replayed = {k: replay(rec).summary.losses[k] for k in truth}
    assert live == info == replayed == truth
    # the outage is reported as the time data were missing (2 s), not the wait
    (gap,) = summary.gaps
    assert abs(gap["duration"] - 2.0) < 0.01 and gap["n"] == 500

    # the device clock was fitted online: recorded timestamps are host times
    sim = src.simulation
    idx = np.flatnonzero(sim.delivered)[:rec.n_times]
    err = rec.timestamps - (src.t0 + sim.true_times[idx])
    raw = sim.timestamps[idx] - sim.true_times[idx]
    assert np.ptp(raw) > 0.03
    # from the first sample on: the first second waited for the fit to settle
    assert np.abs(err).max() < 5e-3, np.abs(err).max()
    assert 2500 < src.clock.describe()["drift_ppm"] < 3500


def test_device_clock_fit_follows_drift_for_30_minutes():
    """Online fit (LSL-style) of a 100 ppm device clock with jitter and delays."""
    from biofeedback.stream._clock import DeviceClock

    rng = np.random.default_rng(0)
    sfreq, n = 256.0, int(1800 * 256)
    true = np.arange(n) / sfreq
    jitter = np.clip(rng.normal(0, 1e-3, n // 12 + 1), -0.45 / sfreq, 0.45 / sfreq)
    device = 2.5 + true * (1 + 100e-6) + np.repeat(jitter, 12)[:n]
    clock = DeviceClock()
    err = np.full(n, np.nan)
    held = 0  # as a source does: the first samples wait until the fit settles
    for start in range(0, n, 26):  # ~0.1 s chunks, each arriving 0.5 ms + Exp(5 ms) late
        stop = min(start + 26, n)
        clock.observe_chunk(device[start:stop], true[stop - 1] + 5e-4 + rng.exponential(5e-3),
                            sfreq)
        if clock.settled:
            err[held:stop] = clock(device[held:stop]) - true[held:stop]
            held = stop
    assert np.abs(device - true).max() > 2.6  # 2.5 s offset + 180 ms of drift
    assert not np.isnan(err).any()
    assert np.abs(err).max() < 5e-3  # throughout, the first second included
    np.testing.assert_allclose(clock.describe()["drift_ppm"], 100.0, atol=2.0)


@pytest.mark.slow
def test_simulated_30_minutes_of_drift_read_back_within_5_ms(tmp_path):
    """simulate --out writes the device's clock offsets; readers sync on them."""
    from biofeedback.io import write_recording
    from biofeedback.simulate import read_scenario
    from biofeedback.simulate._generator import simulate

    path = tmp_path / "drift.toml"
    path.write_text('name = "drift"\nboard = "muse_2"\nduration = 1800.0\nseed = 11\n'
                    "[faults]\npacket_size = 12\njitter_ms = 1.0\ndrift_ppm = 100.0\n"
                    "packet_loss = 0.01\n")
    sim = simulate(read_scenario(path))
    rec = sim.to_recording(t0=1000.0)
    back = read_recording(write_recording(rec, tmp_path / "drift.xdf"))
    idx = np.flatnonzero(sim.delivered)
    assert np.abs(rec.timestamps - 1000.0 - sim.true_times[idx]).max() > 0.18
    assert np.abs(back.timestamps - 1000.0 - sim.true_times[idx]).max() < 5e-3
    assert loss_counts(back.gaps)["dropped"] == sim.n_lost


def _lost_at_the_end(seconds=12.0, lost=2.0, after=2e-6):
    """A session's recording whose stream was still lost when the session ended:
    the outage the session marked starts at the recording's last sample, its
    marker read back a few microseconds off it (2.4 µs after, in one file)."""
    from biofeedback.io import Gap, Recording

    sfreq = 250.0
    n = int(seconds * sfreq)
    ts = 100.0 + np.arange(n) / sfreq
    data = np.random.default_rng(0).normal(0.0, 10e-6, (8, n))
    gap = Gap(onset=float(ts[-1]) + after, duration=lost, n_missing=int(lost * sfreq),
              source="marker")
    return Recording(data, sfreq, ["F3", "F4", "C3", "C4", "P7", "P8", "O1", "O2"], ts,
                     gaps=[gap], source_format="xdf", profile="cyton")


def test_an_outage_to_the_end_of_a_recording_is_counted_in_replay():
    """`info` counted the outage a session marked at its end; replay left it out
    (it came after the last sample, and replay reached only the gaps before it)."""
    from biofeedback.replay import replay

    rec = _lost_at_the_end()
    assert loss_counts(rec.gaps)["total"] == 500  # what info says
    losses = replay(rec).summary.losses
    assert (losses["total"], losses["outage"], losses["outages"]) == (500, 500, 1)


@pytest.mark.parametrize("after", [2e-6, 0.0, -2e-6])
def test_an_outage_to_the_end_is_no_sign_of_a_fast_sender(after):
    """The samples of an outage still running at the end lie past the stamps'
    span: counted over it, a 250 Hz sender read as 292 Hz, 17 % fast."""
    from biofeedback.config import load_pipeline
    from biofeedback.session import Session
    from biofeedback.stream import RecordingSource

    src = RecordingSource(_lost_at_the_end(after=after), realtime=True, speed=12.0)
    summary = Session(src, load_pipeline(), record=False, publish=False).run()
    assert summary.losses["total"] == 500
    assert summary.losses["after_last_sample"] == 500
    assert not [n for n in summary.notes if "nominal" in n], summary.notes
