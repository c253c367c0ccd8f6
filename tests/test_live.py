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
    # the protocol (4 + 4 + 4 s) ended the session; the hook ran once, after
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
    session = build_session("synthetic", record=False, feedback=False, name=f"stop-{uid}")
    timer = threading.Timer(2.5, session.stop)
    timer.start()
    try:
        summary = session.run()
    finally:
        timer.cancel()
    assert summary.stopped_by == "stop"
    assert 0.5 < summary.duration < 10 and summary.n_windows >= 1
    assert session.report() is None  # nothing recorded: no report, no error
