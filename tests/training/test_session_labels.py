"""Training and scoring on the project's own session recordings, labelled by
their guided calibration blocks."""

import json

import numpy as np
import pytest

from biofeedback.cli import main
from biofeedback.feedback._policy import parse_marker
from biofeedback.io import read_recording
from biofeedback.library._simulate import simulate_sessions
from biofeedback.training import extract_dataset, label_files

#: Two guided calibration blocks, then feedback: what the session's recording holds.
PROTOCOL = """name = "guided"

[[feedback.blocks]]
name = "calm"
kind = "calibration"
state = "relaxed"
duration = 8.0

[[feedback.blocks]]
name = "focus"
kind = "calibration"
state = "engaged"
duration = 8.0

[[feedback.blocks]]
name = "training"
duration = 5.0
"""
PATTERN = "sub-{subject}_ses-{session}_{}"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """One session each of three simulated people, run through the live engine,
    protocol and cues, and filed as 'biofeedback live --participant' files it."""
    tmp = tmp_path_factory.mktemp("guided")
    (tmp / "guided.toml").write_text(PROTOCOL)
    for pid in ("a1", "b2", "c3"):
        simulate_sessions("learner", pid, 1, root=tmp / "study",
                          pipeline=tmp / "guided.toml", progress=False)
    return sorted((tmp / "study").rglob("*_eeg.xdf"))


def _blocks(path):
    """(start, end, state) of the recording's calibration blocks, in seconds
    from its first sample, read from its markers."""
    rec = read_recording(path)
    t0 = float(rec.timestamps[0])
    out, start = [], None
    for t, text in sorted(rec.markers):
        kind, fields = parse_marker(text)
        if kind in ("block_end", "block_start") and start is not None:
            out.append((start[0], t - t0, start[1]))
            start = None
        if kind == "block_start" and fields.get("kind") == "calibration":
            start = (t - t0, fields["state"])
    texts = [s for _, s in rec.markers]
    return out, texts


def test_calibration_blocks_of_sessions_label_their_windows(sessions):
    assert len(sessions) == 3
    ds = extract_dataset(label_files(sessions, "markers", pattern=PATTERN),
                         marker_labels=["relaxed", "engaged"], gated="include", n_jobs=1)
    assert sorted(set(ds.subject)) == ["a1", "b2", "c3"]
    length = ds.window_length
    for r, path in enumerate(sessions):
        blocks, texts = _blocks(path)
        assert [s for _, _, s in blocks] == ["relaxed", "engaged"]
        # a cue every half second (and the scenario's truth) inside each block
        assert sum(1 for s in texts if s.startswith("cue ")) > 30
        t_all = ds.full[r]["t"]
        expected = np.full(len(t_all), None, dtype=object)
        for a, b, state in blocks:
            expected[(t_all - length >= a - 1e-9) & (t_all < b)] = state
        mine = ds.recording == r
        got = dict(zip(np.round(ds.t[mine], 6), ds.y[mine]))
        want = {round(t, 6): s for t, s in zip(t_all, expected) if s is not None}
        # every window wholly inside a block carries its state, no other window does
        assert got == want
        for a, b, state in blocks:  # the cues did not cut the block into pieces
            assert sum(s == state for s in got.values()) >= (b - a - length) / 0.5


def test_train_and_evaluate_from_session_markers(sessions, tmp_path, capsys):
    model = tmp_path / "m.bfm"
    args = ["--labels-from", "markers", "--marker-labels", "relaxed,engaged",
            "--pattern", PATTERN]
    assert main(["train", *map(str, sessions), *args, "--out", str(model), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(sessions[0]), *args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classes"] == ["engaged", "relaxed"]
    # by the state at each window's end: the 16 windows ending in each 8 s block
    assert out["n_windows"] + out["n_gated_dropped"] == 32
    assert out["switching"]["n_switches"] == 1  # relaxed, then engaged


def test_a_simulated_recording_is_labelled_by_its_scenarios_states(tmp_path, capsys):
    """The scenario's truth markers ("state relaxed level=1 ramp=2", "event blink
    ...") made classes of their whole texts; the states are the classes, and
    artifacts' and outages' truth labels nothing."""
    from biofeedback.cli import main
    from biofeedback.training import load_model

    rec, model = tmp_path / "demo.xdf", tmp_path / "demo.bfm"
    assert main(["simulate", "demo", "--out", str(rec)]) == 0
    assert main(["train", str(rec), "--labels-from", "markers", "--cv", "none",
                 "--out", str(model), "--n-jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "classes approach, engaged, relaxed." in out
    assert load_model(model).classes_.tolist() == ["approach", "engaged", "relaxed"]


def test_a_simulated_sessions_truth_makes_no_class(sessions):
    """Without --marker-labels, the scenario's truth recorded in a simulated
    session ("state engaged level=0.35 ...", "event blink ...") made classes of
    its texts; the calibration blocks alone label it, as a live session."""
    ds = extract_dataset(label_files(sessions, "markers", pattern=PATTERN),
                         gated="include", n_jobs=1)
    assert any(s.startswith("state ") for p in sessions for _, s in read_recording(p).markers)
    assert ds.classes == ["engaged", "relaxed"]


@pytest.mark.parametrize("source, said", [
    ("artifacts", "holds only its scenario's artifact and fault markers ('event ...', "
                  "'fault ...'), which label nothing, and no 'state' marker; give the "
                  "scenario a [[timeline]] of states"),
    ("faults", "holds only its scenario's artifact and fault markers"),
    ("session", "holds only a session's own markers (cues, blocks, thresholds), which "
                "label nothing, and no calibration block naming a state"),
])
def test_recordings_whose_markers_label_nothing_say_which_markers_they_hold(
        source, said, tmp_path, make_eeg, capsys):
    """A simulated recording of artifacts alone was said to hold 'a session's own
    markers (cues, blocks, thresholds)' and sent to write calibration blocks."""
    from biofeedback.io import Recording, write_recording

    rec = tmp_path / f"{source}.xdf"
    if source == "session":
        data, ts = make_eeg(duration=12.0)
        t0 = float(ts[0])
        write_recording(Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                                  profile="muse_2016", markers=[
                                      (t0, "session_start"),
                                      (t0 + 1, "block_start name=rest kind=baseline "
                                               "duration=5"),
                                      (t0 + 6, "cue value=1.2 score=0.5")]), rec)
    else:
        assert main(["simulate", source, "--out", str(rec)]) == 0
    capsys.readouterr()
    out = tmp_path / "m.bfm"
    assert main(["train", str(rec), str(rec), "--labels-from", "markers", "--out", str(out),
                 "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"biofeedback: error: {rec.name} {said}")
    assert not out.exists()
