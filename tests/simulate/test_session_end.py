"""A live session on a scripted headset ends with its scenario."""

from __future__ import annotations

import pytest

from biofeedback.config import load_pipeline
from biofeedback.io import read_recording
from biofeedback.io._integrity import loss_counts
from biofeedback.session import Session
from biofeedback.simulate import ScenarioSource

pytestmark = pytest.mark.lsl


@pytest.mark.parametrize("outage", [False, True])
def test_a_session_ends_with_its_scenario_an_outage_then_counted_to_its_end(
        tmp_path, uid, outage):
    """A scenario shorter than the protocol (80 s) kept the session waiting for
    --give-up after its end, then ended it as a lost source (exit 1); one ending
    in a disconnect counted that wait as its outage. The session ends with the
    scenario, and the outage is the samples the scenario did not send."""
    scen = tmp_path / "short.toml"
    scen.write_text('name = "short"\nboard = "muse_2"\nduration = 4.0\nseed = 3\n'
                    + ("[[faults.disconnects]]\nat = 2.5\nduration = 1.5\n" if outage else ""))
    src = ScenarioSource(scen, realtime=True)
    session = Session(src, load_pipeline(), [], record=True, recordings_dir=tmp_path,
                      give_up=30.0, name=f"end-{uid}")
    summary = session.run()

    sim = src.simulation
    assert summary.stopped_by == "end"  # not "source_lost" after 30 s of nothing
    assert summary.n_samples == int(sim.delivered.sum())
    missed = int((~sim.delivered).sum())
    assert missed == (384 if outage else 0)  # 1.5 s at 256 Hz
    assert summary.losses["outage"] == missed
    assert [g["n"] for g in summary.gaps] == ([missed] if outage else [])
    # the recording's readers count what the summary counts
    rec = read_recording(summary.recording)
    assert rec.n_times == summary.n_samples
    assert loss_counts(rec.gaps)["outage"] == missed
    # the session ends after its outage: session_end is the recording's last marker
    # (it was stamped at the last sample, before the outage's gap_end)
    assert rec.markers[-1][1] == "session_end"
    assert all(t <= rec.markers[-1][0] for t, _ in rec.markers)
