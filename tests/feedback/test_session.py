"""A whole protocol on BrainFlow's synthetic board: live, recorded, replayed, reported."""

from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.config import load_pipeline
from biofeedback.feedback._policy import parse_marker
from biofeedback.feedback._protocol import Protocol
from biofeedback.io import read_recording
from biofeedback.replay import replay

PIPELINE = Path(__file__).with_name("pipeline.toml")
pytestmark = [pytest.mark.lsl, pytest.mark.slow]


def test_protocol_session_records_cues_replays_them_and_reports(tmp_path, capsys):
    code = main(["live", "--pipeline", str(PIPELINE), "--recordings", str(tmp_path),
                 "--view", "plain"])
    out = capsys.readouterr().out
    assert code == 0
    (xdf,) = tmp_path.glob("*.xdf")
    lines = out.splitlines()
    assert lines[-1] == f"recording: {xdf}"
    # the protocol (3 x 2.5 s) ended the session (end = "stop", no --duration)
    latency = [ln for ln in lines if ln.startswith("cue latency: p50 ")]
    assert len(latency) == 1 and latency[0].endswith(")") and "(n=" in latency[0]
    assert any(ln.startswith("block train_up (engagement up): reward rate") for ln in lines)
    assert any(ln.startswith("feedback: time in target") for ln in lines)
    assert "[train_up] cue=" in out  # the terminal view showed the cue
    rec = read_recording(xdf)
    cues = rec.streams["biofeedback-Cues"]
    assert cues.sfreq == 0  # irregular: pyxdf keeps the emission times
    parsed = [parse_marker(t) for t in cues.data]
    kinds = [k for k, _ in parsed]
    starts = [f["name"] for k, f in parsed if k == "block_start"]
    assert starts == ["baseline", "train_up", "train_down"]
    assert kinds[-1] == "protocol_end" and "threshold" in kinds
    cue_rows = [f for k, f in parsed if k == "cue"]
    assert {c["block"] for c in cue_rows} == {"baseline", "train_up", "train_down"}
    assert {c["state"] for c in cue_rows} & {"reward", "no_reward"}
    # each cue was emitted after its window's newest sample
    t_end = np.array([float(c["t_end"]) for c in cue_rows])
    emitted = np.array([t for (k, _), t in zip(parsed, cues.timestamps) if k == "cue"])
    assert np.all(emitted >= t_end)
    # the sidecar keeps the protocol as run
    side = rec.provenance["sidecar"]
    assert side["pipeline"]["feedback"]["blocks"][1]["name"] == "train_up"
    fb = side["feedback"]
    assert [b["name"] for b in fb["blocks"]] == ["baseline", "train_up", "train_down"]
    assert fb["cue_latency_ms"]["n"] > 0
    # replaying the recording gives the cues the person got
    config = load_pipeline(PIPELINE)
    est = replay(xdf)
    prot = Protocol(config.feedback, est.estimate_names)
    replayed = []
    for t, e, g in zip(est.t_end, est.estimates, est.gated):
        _, cue = prot.update(t, e, g)
        if cue is not None:
            replayed.append(cue)
    # pyxdf applies LabRecorder's clock offsets (a few µs): match within 1 ms
    live_t = np.array([float(c["t_end"]) for c in cue_rows])
    pairs = [(c, cue_rows[int(np.argmin(np.abs(live_t - c.t_end)))]) for c in replayed
             if np.min(np.abs(live_t - c.t_end)) < 1e-3]
    assert len(pairs) >= len(cue_rows) - 1
    for c, ref in pairs:
        assert (c.state, c.block) == (ref["state"], ref["block"])
        assert np.isclose(c.threshold, float(ref["threshold"]), rtol=1e-4, equal_nan=True)
    # the audio cues were written beside the recording
    assert xdf.with_suffix(".cues.wav").stat().st_size > 1000
    # the live session wrote the report; 'report' rebuilds it from the recording
    assert xdf.with_suffix(".html").exists()
    html_out, png = tmp_path / "again.html", tmp_path / "fig.png"
    assert main(["report", str(xdf), "--out", str(html_out), "--png", str(png)]) == 0
    html = html_out.read_text()
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for text in ("CRED-nf", "4b Reinforcement schedule", "4e Hardware and software",
                 "cue latency", "dropped samples", "effective sampling rate",
                 "train_down", "clock offset"):
        assert text in html
    assert "The estimates fed back: alpha_rel, engagement." in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_methods_of_a_scripted_session_say_its_headset_was_simulated(tmp_path):
    """A session on a scenario was reported as run on a Muse 2 'over BLE'."""
    scen = tmp_path / "calm.toml"
    scen.write_text('name = "calm"\nboard = "muse_2"\nduration = 60.0\nseed = 3\n'
                    '[[timeline]]\nat = 0.0\nstate = "relaxed"\n')
    rec_dir = tmp_path / "recs"
    assert main(["live", "--scenario", str(scen), "--duration", "3", "--view", "none",
                 "--recordings", str(rec_dir)]) == 0
    import html

    text = html.unescape(next(rec_dir.glob("*.html")).read_text())
    assert "simulated by the scenario 'calm' (seed 3; biofeedback simulate)" in text
