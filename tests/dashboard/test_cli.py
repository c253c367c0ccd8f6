"""``live --dashboard``, ``biofeedback dashboard`` and the pause control, end to end."""

import asyncio
import json
import subprocess
import sys
import time

import pytest

from biofeedback.errors import BiofeedbackError


async def _fetch(url):
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            return r.status, await r.text()


def fetch(url):
    return asyncio.run(_fetch(url))


def _printed_url(proc):
    """The URL on the process's 'dashboard: URL' line (None if it never comes)."""
    for line in proc.stdout:
        if line.startswith("dashboard: "):
            return line.split(" ", 1)[1].strip()
    return None


@pytest.mark.slow
@pytest.mark.lsl
def test_live_dashboard_prints_a_tokened_url_and_serves_the_session():
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--scenario", "demo", "--duration",
         "4", "--no-record", "--view", "none", "--dashboard", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _printed_url(proc)
        assert url and url.startswith("http://127.0.0.1:") and "?token=" in url
        base, token = url.split("/?token=")
        deadline = time.monotonic() + 20
        state = {}
        while "window" not in state and time.monotonic() < deadline:
            status, body = fetch(f"{base}/api/state?token={token}")
            assert status == 200
            state = json.loads(body)
            time.sleep(0.2)
        assert state["meta"]["profile"] == "muse_2"
        assert set(state["window"]["est"]) >= {"engagement", "faa"}
        assert fetch(f"{base}/api/state")[0] == 403
        assert fetch(f"{base}/?token={token[:-1]}")[0] == 403
        rest = proc.stdout.read()
        assert proc.wait(30) == 0
        assert "session " in rest
    finally:
        proc.kill()


def test_dashboard_command_names_a_missing_stream_and_serves_no_page():
    proc = subprocess.run(
        [sys.executable, "-m", "biofeedback.cli", "dashboard", "--lsl", "no-such-stream-7d1e",
         "--lsl-timeout", "0.2", "--no-browser", "--port", "0"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == ""  # no URL of a page that would show nothing
    (line,) = proc.stderr.splitlines()
    assert line.startswith("biofeedback: error: No LSL stream named 'no-such-stream-7d1e'")


@pytest.mark.lsl
def test_dashboard_for_a_participant_without_sessions_says_so_and_shows_the_stream(
        tmp_path, uid):
    """The page still follows the stream, so a warning in one line, not an error."""
    from biofeedback.library import study_root

    name = f"bf-{uid}"
    sim = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "simulate", "demo",
                            "--lsl", name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "biofeedback.cli", "dashboard", "--lsl", name, "--board",
             "muse_2", "--participant", "nobody", "--root", str(tmp_path), "--no-browser",
             "--port", "0", "--duration", "1", "--lsl-timeout", "20"],
            capture_output=True, text=True, timeout=120)
    finally:
        sim.kill()
        sim.wait()
    root = study_root(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"WARNING biofeedback: No sessions of participant 'nobody' under {root}, which holds "
        f"none yet: 'biofeedback live --participant nobody --root {root}' records one. The "
        "dashboard shows the stream without a session history."]
    assert f"following the LSL stream {name!r}" in proc.stdout


def test_a_missing_aiohttp_is_one_sentence(monkeypatch):
    from biofeedback.dashboard._server import require_aiohttp

    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.setitem(sys.modules, "aiohttp.web", None)
    with pytest.raises(BiofeedbackError, match=r'The dashboard needs aiohttp, which is not '
                       r'installed: pip install "biofeedback\[dashboard\]"'):
        require_aiohttp()


def test_pause_turns_cues_to_paused_and_is_marked(collect_sink):
    """The pause control: windows count as gated, markers say when, resume restores."""
    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine
    from biofeedback.feedback import SessionInfo
    from biofeedback.live import feedback_sinks
    from biofeedback.simulate import simulate

    config = load_pipeline()
    sim = simulate("demo")
    prof = sim.profile
    n = int(40 * prof.sfreq)
    runs = []
    for pause_at in (None, 50):
        sink = feedback_sinks(config)[0]
        engine = Engine(config, sim.ch_names, prof.sfreq, prof)
        info = SessionInfo("x", engine.estimate_names, sim.ch_names, prof.sfreq, prof, config,
                           realtime=False)
        sink.open(info)
        results = engine.run(sim.data[:, :n], sim.timestamps[:n])
        states = []
        for k, t in enumerate(results.t_end):
            if k == pause_at:
                sink.pause(True)
            if pause_at is not None and k == pause_at + 10:
                sink.pause(False)
            r = type("R", (), dict(t_end=t, estimates=results.estimates[k],
                                   gated=bool(results.gated[k])))
            sink.write(r)
            states.append(sink.protocol.latest.state)
        runs.append((states, [m[1] for m in sink.markers]))
    (ref, _), (states, texts) = runs
    assert len(states) == len(ref) > 70
    assert states[:50] == ref[:50]
    assert set(states[50:60]) == {"paused"} and set(ref[50:60]) != {"paused"}
    assert {"reward", "no_reward"} & set(states[60:])
    assert texts.count("feedback_paused") == 1 and texts.count("feedback_resumed") == 1
    assert texts.index("feedback_paused") < texts.index("feedback_resumed")


def test_the_cue_is_published_once_per_cue_not_per_window():
    """A window the protocol has not reached yet brings the page no new cue message."""
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardServer, DashboardSink
    from biofeedback.engine import Engine
    from biofeedback.feedback import SessionInfo
    from biofeedback.live import feedback_sinks
    from biofeedback.simulate import simulate

    config = load_pipeline()
    sim = simulate("demo")
    prof = sim.profile
    n = int(15 * prof.sfreq)
    protocol = feedback_sinks(config)[0]
    engine = Engine(config, sim.ch_names, prof.sfreq, prof)
    info = SessionInfo("x", engine.estimate_names, sim.ch_names, prof.sfreq, prof, config,
                       realtime=False, protocol=protocol)
    server = DashboardServer(port=0)  # not started: messages wait in its queue
    dash = DashboardSink(server, traces=False, controls=False)
    protocol.open(info)
    dash.open(info)
    results = engine.run(sim.data[:, :n], sim.timestamps[:n])
    for k, t in enumerate(results.t_end):
        r = type("R", (), dict(t_end=t, estimates=results.estimates[k],
                               gated=bool(results.gated[k]), quality=None))
        dash.write(r)  # the dashboard's thread ran ahead of the protocol's
        protocol.write(r)
        dash.write(r)
    kinds = [json.loads(text)["type"] for _, text in server._hub.messages]
    n_windows = len(results.t_end)
    assert n_windows > 20 and kinds.count("window") == 2 * n_windows
    assert kinds.count("cue") == n_windows  # one per cue the protocol made
    cue = json.loads(server._hub.latest["cue"])
    assert cue["value"] == pytest.approx(protocol.protocol.latest.value)


async def _post(url):
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.post(url, json={}) as r:
            return r.status, await r.text()


@pytest.mark.lsl
def test_stop_pressed_while_the_headset_connects_ends_the_session_unrecorded(tmp_path, uid):
    """The page offers stop at once; pressed while the source connects, nothing is recorded."""
    import pylsl

    name = f"late-muse-{uid}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--lsl", name, "--board", "muse_2",
         "--lsl-timeout", "30", "--duration", "60", "--view", "none",
         "--recordings", str(tmp_path), "--dashboard", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _printed_url(proc)
        base, token = url.split("/?token=")
        # the URL is printed when the server starts; stop is offered once the
        # session's dashboard sink is made, a moment later on a busy machine
        end = time.monotonic() + 20
        while True:
            state = json.loads(fetch(f"{base}/api/state?token={token}")[1])
            if "controls" in state or time.monotonic() > end:
                break
            time.sleep(0.05)
        assert "window" not in state and state["controls"]["controls"] == ["stop"]
        # a token one character off (never the token itself: it may end in "x")
        wrong = token[:-1] + ("y" if token.endswith("x") else "x")
        assert asyncio.run(_post(f"{base}/api/action/stop?token={wrong}"))[0] == 403
        # the session waits for its stream (a headset connecting): stop now
        status, reply = asyncio.run(_post(f"{base}/api/action/stop?token={token}"))
        assert status == 200 and json.loads(reply)["ok"], reply
        info = pylsl.StreamInfo(name, "EEG", 4, 256.0, "float32", name)
        chans = info.desc().append_child("channels")
        for label in ("TP9", "AF7", "AF8", "TP10"):
            chans.append_child("channel").append_child_value("label", label)
        outlet = pylsl.StreamOutlet(info)  # noqa: F841 - the headset, connected now
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 < 30  # not the 60 s asked for
    assert "Traceback" not in err
    assert "stopped: before the session began, so nothing was recorded" in out
    assert "recording: " not in out
    assert list(tmp_path.iterdir()) == []  # no empty XDF, no sidecar


@pytest.mark.lsl
@pytest.mark.slow
def test_stop_pressed_while_the_recorder_starts_closes_the_recording(tmp_path):
    """Pressed once the session has looked (the recorder starting): it ends at its start."""
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardServer, DashboardSink
    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.io import read_recording
    from biofeedback.io._xdf import scan_chunks
    from biofeedback.session import Session

    server = DashboardServer(port=0)
    server.start()
    try:
        sink = DashboardSink(server, traces=False)

        class PressWhenRecording(BrainFlowSource):  # stop pressed after the session looked
            def describe(self):
                if list(tmp_path.glob("*.xdf")) and sink.stop_requested is None:
                    base = f"http://127.0.0.1:{server.port}/api/action/stop"
                    assert asyncio.run(_post(f"{base}?token={server.token}"))[0] == 200
                return super().describe()

        session = Session(PressWhenRecording(get_profile("synthetic")), load_pipeline(),
                          [sink], record=True, recordings_dir=tmp_path, duration=60.0,
                          report_writer=lambda rec: pytest.fail("no report of no sample"))
        t0 = time.monotonic()
        summary = session.run()
    finally:
        server.stop()
    assert summary.stopped_by == "dashboard" and time.monotonic() - t0 < 30
    assert session.report() is None
    assert session.report_skipped.startswith("report: not written (the session ended")
    xdf = summary.recording
    side = json.loads(xdf.with_suffix(".json").read_text())
    assert side["summary"]["stopped_by"] == "dashboard"
    valid_end, size, cut, counts = scan_chunks(xdf)  # closed: whole chunks, footers
    assert (valid_end, cut) == (size, None)
    assert counts["StreamFooter"] == counts["StreamHeader"] >= 1
    with pytest.raises(BiofeedbackError, match="holds no samples"):
        read_recording(xdf)


def test_dashboard_sends_a_participants_history_again_when_it_changes(tmp_path, caplog):
    """'dashboard --participant' sent the history once, at its start: a session
    running in another process stayed "running now" after it ended, and a
    session recorded since was never listed.

    'dashboard --participant P02' followed the session on the network, which
    was P01's, and listed P02's sessions under it without a word: a coach saw
    one person's signals over another's history. A new stream followed is
    looked at at once, and another participant's session said once."""
    from biofeedback.cli._dashboard import _History
    from biofeedback.dashboard import DashboardServer
    from biofeedback.library import simulate_sessions

    simulate_sessions("learner", "p7", 1, root=tmp_path, progress=False)
    server = DashboardServer(port=0)  # what it queues for pages, not started
    history = _History(server, "p7", tmp_path, every=10.0)

    def sent():
        return [s["session"] for s in json.loads(server._hub.latest["history"])["sessions"]]

    assert history.refresh(0.0) and sent() == [1]
    assert not history.refresh(5.0)  # not due yet
    assert not history.refresh(10.0)  # due, but nothing changed: nothing sent
    simulate_sessions("learner", "p7", 1, root=tmp_path, progress=False)
    assert not history.refresh(15.0)
    assert history.refresh(20.0) and sent() == [1, 2]

    (p8,) = simulate_sessions("learner", "p8", 1, root=tmp_path, progress=False)
    said = ("This page shows sub-p8's session 01, not p7's, though the sessions below are "
            "p7's: start the dashboard with --participant p8, or name p7's session's stream "
            "with --lsl SOURCE_ID.")
    with caplog.at_level("WARNING", logger="biofeedback"):
        # not due, but another stream: looked at at once
        assert history.refresh(21.0, f"biofeedback-{p8['uid']}-eeg")
        assert json.loads(server._hub.latest["history"])["other"] == said
        assert not history.refresh(31.0, f"biofeedback-{p8['uid']}-eeg")  # said once
        assert history.refresh(32.0, "biofeedback-EEG")  # a stream of no session of p8's
        assert json.loads(server._hub.latest["history"])["other"] is None
    assert [r.getMessage() for r in caplog.records] == [said]
