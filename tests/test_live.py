"""A live session assembled from Python with build_session: cues, recording,
report, hooks and the stop path, as the command line gets them."""

import threading
from pathlib import Path

import pytest

from biofeedback.io import read_recording
from biofeedback.live import build_session

PIPELINE = Path(__file__).parent / "feedback" / "pipeline.toml"
pytestmark = pytest.mark.lsl


@pytest.mark.slow
def test_python_session_cues_records_and_reports_like_the_cli(tmp_path, uid, collect_sink):
    ended = []
    fname = tmp_path / "participant" / "ses-01.xdf"
    session = build_session("synthetic", PIPELINE, sinks=[collect_sink], recording_fname=fname,
                            name=f"py-{uid}", on_end=[lambda s, summ: ended.append(summ)])
    summary = session.run()
    # the protocol (3 x 2.5 s) ended the session; the hook ran once, after
    assert summary.stopped_by == "protocol" and ended == [summary]
    assert summary.recording == fname and fname.exists()
    assert not fname.with_suffix(".html").exists()  # the report is an explicit step
    assert session.report() == fname.with_suffix(".html") and fname.with_suffix(".html").exists()
    lines = session.summary_lines()
    assert lines[-1] == f"recording: {fname}"
    assert lines[-2] == f"report: {fname.with_suffix('.html')}"
    assert any(ln.startswith("block train_up (engagement up): reward rate") for ln in lines)
    rec = read_recording(fname)
    assert f"py-{uid}-Cues" in rec.streams and f"py-{uid}-Estimates" in rec.streams
    side = rec.provenance["sidecar"]
    assert [b["name"] for b in side["feedback"]["blocks"]] == ["baseline", "train_up",
                                                               "train_down"]
    assert side["summary"]["stopped_by"] == "protocol"
    # the extra sink saw every window the session counted
    assert len(collect_sink.results) == summary.n_windows >= 20


def test_stop_from_another_thread_ends_the_session_cleanly(uid):
    import time

    session = build_session("synthetic", record=False, feedback=False, name=f"stop-{uid}")
    done = threading.Event()

    def stop_after_a_second_of_data():  # a fixed delay from the start would race a
        while not done.is_set():        # slow start-up on a loaded machine
            acq = session.acquisition
            if acq is not None and acq.ring.n_written >= 250:
                time.sleep(1.0)
                session.stop()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=stop_after_a_second_of_data, daemon=True)
    thread.start()
    try:
        summary = session.run()
    finally:
        done.set()
        thread.join(5)
    assert summary.stopped_by == "stop"
    assert 0.5 < summary.duration < 10 and summary.n_windows >= 1
    assert session.report() is None  # nothing recorded: no report, no error


def test_live_handle_runs_in_the_background_and_is_read_while_it_runs(uid):
    import time

    import numpy as np

    from biofeedback.live import LiveSession

    live = LiveSession("synthetic", name=f"nb-{uid}", keep=50)
    with pytest.raises(RuntimeError, match="start"):
        live.get_estimates()
    with live:
        assert live.running and live.n_windows >= 1  # start() returned with a window out
        deadline = time.monotonic() + 30  # a second and a half idle; more on a busy machine
        while live.n_windows < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        est = live.get_estimates(last=3)
        assert est.estimates.shape == (3, len(live.estimate_names))
        assert np.all(np.diff(est.t_end) > 0)
        data, ts = live.get_data(seconds=1.0, picks=live.ch_names[:2])
        assert data.shape == (2, 250) and ts.shape == (250,)
        assert ts[-1] >= est.t_end[-1]  # the newest raw samples, not consumed
        again, ts2 = live.get_data(seconds=1.0, picks=live.ch_names[:2])
        assert ts2[-1] >= ts[-1]
        with pytest.raises(ValueError, match="Unknown channel 'Nope'"):
            live.get_data(picks=["Nope"])
        df = live.get_estimates().to_data_frame()
        assert list(df.columns) == ["t_end", *live.estimate_names, "gated"]
    assert not live.running and live.summary.stopped_by == "stop"
    assert live.summary.n_windows == live.n_windows >= len(df)


def test_estimates_as_pandas_and_mne(monkeypatch):
    import numpy as np

    from biofeedback.errors import MissingDependencyError
    from biofeedback.replay import replay

    out = replay(Path(__file__).parents[1] / "recordings" / "sample_synthetic.xdf")
    df = out.to_data_frame()
    assert list(df.columns) == ["t_end", *out.estimate_names, "gated"] and len(df) == len(out.t_end)
    np.testing.assert_array_equal(df[out.estimate_names].to_numpy(), out.estimates)
    raw = out.to_raw()
    assert raw.ch_names == out.estimate_names
    np.testing.assert_allclose(1 / raw.info["sfreq"], np.median(np.diff(out.t_end)))
    np.testing.assert_array_equal(raw.get_data()[:, : len(out.t_end)], out.estimates.T)
    n_bad = sum(a["description"] == "BAD_gated" for a in raw.annotations)
    assert n_bad == int(out.gated.sum())
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"biofeedback\[pandas\]"):
        out.to_data_frame()


@pytest.mark.slow
def test_the_notebook_example_runs_a_live_session_and_plots_it(tmp_path):
    import os
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "docs" / "examples" / "live_notebook.py"
    png = tmp_path / "live.png"
    env = dict(os.environ, BIOFEEDBACK_EXAMPLE_SECONDS="3", BIOFEEDBACK_EXAMPLE_FIGURE=str(png),
               MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "t_end" in out.stdout and "engagement" in out.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_session_that_fails_to_start_raises_its_own_error(tmp_path, uid, collect_sink):
    """A recorder asked for a stream nobody sends: its one sentence, sinks never called."""
    from biofeedback.errors import BiofeedbackError

    session = build_session("synthetic", record=True, feedback=False, recordings_dir=tmp_path,
                            sinks=[collect_sink], name=f"fail-{uid}",
                            also_record=[f"name='nobody-sends-{uid}'"])
    with pytest.raises(BiofeedbackError, match="cannot be recorded"):
        session.run()
    assert collect_sink.results == [] and collect_sink.events == []


def test_an_unknown_feature_name_is_refused_when_the_pipeline_is_loaded(
        tmp_path, monkeypatch, make_eeg, capsys):
    """live, replay and check read the pipeline's features before any board,
    recording folder or engine is opened: one sentence naming the file's line,
    not a traceback from the engine's start."""
    from biofeedback.cli import main
    from biofeedback.config import default_pipeline_path
    from biofeedback.io import Recording, write_recording

    text = default_pipeline_path().read_text()
    assert 'names = ["log_band_power"]' in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('names = ["log_band_power"]',
                                'names = ["log_band_power", "nope"]', 1))
    data, ts = make_eeg(duration=10.0)
    rec = write_recording(Recording(data, 256.0, ["TP9", "AF7", "AF8", "TP10"], ts,
                                    profile="muse_2016"), tmp_path / "rec.xdf")
    # the line of the key at fault, not of its section's header
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1)
                if ln.startswith("names = "))
    monkeypatch.chdir(tmp_path)
    for args in (["live", "--board", "synthetic", "--duration", "2", "--view", "none"],
                 ["replay", str(rec), "--out", str(tmp_path / "est.csv")],
                 ["check", "--board", "synthetic", "--seconds", "2"]):
        assert main([*args, "--pipeline", str(bad)]) == 1, args
        err = capsys.readouterr().err
        assert err.startswith(f"biofeedback: error: {bad}, line {line} [features]: ")
        assert err.count("\n") == 1
        assert "[features]: Invalid value for the 'names' parameter" in err
        assert "but got 'nope' instead." in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "rec.xdf"]


def test_a_duration_shorter_than_one_window_is_refused_before_anything_starts(capsys):
    """It gave no estimate and, counting the start-up's samples, ran over a second."""
    from biofeedback.cli import main
    from biofeedback.config import field_name, load_pipeline

    field = field_name(load_pipeline().fname, "window", "length")
    assert main(["live", "--duration", "0.1", "--no-record", "--view", "none"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"biofeedback: error: The session's duration (0.1 s) is shorter than one window "
        f"({field} = 2 s), so it would end before its first "
        "estimate; make it (--duration) at least 2 s.\n")


def test_a_duration_of_one_window_gives_one_estimate(uid):
    from biofeedback.errors import PipelineConfigError

    with pytest.raises(PipelineConfigError, match=r"duration \(1\.99 s\) is shorter"):
        build_session("synthetic", record=False, duration=1.99, name=f"d-{uid}")
    summary = build_session("synthetic", record=False, feedback=False, duration=2.0,
                            name=f"d-{uid}").run()
    # it stops on the first chunk that reaches 2 s; the samples published while
    # the acquisition stops are processed too (the recording holds them), a
    # few tens of ms, more on a loaded machine
    assert summary.n_windows >= 1 and 2.0 <= summary.duration < 3.0


def test_a_session_of_one_window_counts_its_one_clean_window_in_the_singular(capsys):
    import re

    from biofeedback.cli import main
    from biofeedback.session import SessionSummary

    assert main(["live", "--duration", "2", "--no-record", "--view", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # one window, or two when a loaded machine's stop lets another 0.5 s in:
    # the words follow the count either way
    n = int(re.search(r", (\d+) windows? \(0 gated\)", lines[0]).group(1))
    assert f", {n} window{'s' * (n != 1)} (0 gated), 0 samples dropped" in lines[0]
    clean = next(ln for ln in lines if ln.startswith("block baseline (baseline): "))
    k = int(re.search(r": (\d+) clean windows?, artifacts 0%", clean).group(1))
    assert clean == f"block baseline (baseline): {k} clean window{'s' * (k != 1)}, artifacts 0%"
    assert ", 1 window (0 gated), " in SessionSummary("s", n_windows=1).lines()[0]


def test_the_summary_prints_its_latency_lines_together_and_the_notes_after(tmp_path, capsys):
    """A playback session's note (samples stamped when played) came between the
    estimate and the cue latency."""
    from biofeedback.cli import main

    sample = Path(__file__).resolve().parents[1] / "recordings" / "sample_synthetic.xdf"
    board_file = tmp_path / "s.csv"
    assert main(["convert", str(sample), str(board_file)]) == 0
    capsys.readouterr()
    assert main(["live", "--playback-file", str(board_file), "--duration", "3",
                 "--no-record", "--view", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("session ")
    assert lines[1].startswith("estimate latency: p50 ")
    assert lines[2].startswith("cue latency: p50 ")
    note = next(i for i, line in enumerate(lines) if line.startswith("playback: "))
    assert note > 2
