"""The dashboard's LSL reader: another process's session, any EEG stream, one that vanishes."""

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from biofeedback.dashboard import DashboardServer, LSLFeeder

pytestmark = [pytest.mark.slow, pytest.mark.lsl]

PLAYER = Path(__file__).resolve().parents[1] / "lsl_player.py"


def _latest(server, kind):
    with server._hub.lock:
        text = server._hub.latest.get(kind)
    return json.loads(text) if text else None


def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    return pred()


def test_following_a_session_shows_its_own_estimates_and_cues(uid):
    from biofeedback.config import load_pipeline
    from biofeedback.live import feedback_sinks
    from biofeedback.session import Session
    from biofeedback.simulate import ScenarioSource

    config = load_pipeline()
    name = f"bf-{uid}"
    session = Session(ScenarioSource("demo", realtime=True), config, feedback_sinks(config),
                      record=False, duration=30.0, name=name)
    thread = threading.Thread(target=session.run, daemon=True)
    thread.start()
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        feeder = LSLFeeder(server, f"{name}-EEG", config=config, follow=True, timeout=10)
        feeder.start()
        assert _wait(lambda: len(feeder._inlets) == 3, 10), "Estimates, Cues, Markers"
        meta = _latest(server, "meta")
        assert meta["ch_names"] == ["TP9", "AF7", "AF8", "TP10"] and meta["profile"] == "muse_2"
        win = _wait(lambda: _latest(server, "window"), 10)
        assert set(win["est"]) == set(session.engine.estimate_names)
        cue = _wait(lambda: _latest(server, "cue"), 10)
        assert cue["block"] == "baseline" and cue["state"] in ("baseline", "paused")
        # joined after the block started: its time left is known from the next block on
        assert cue["time_left"] is None or 0 <= cue["time_left"] <= 20
        status = _wait(lambda: (s := _latest(server, "status")) and s["windows"] > 5 and s, 10)
        assert status["effective_rate"] == pytest.approx(256, rel=0.02)
        assert status["cue_latency_ms"]["p50"] < 100
    finally:
        session.stop()
        thread.join(15)
        if feeder is not None:
            feeder.stop()
        server.stop()


SESSION = """
import sys
from biofeedback.config import load_pipeline
from biofeedback.live import feedback_sinks
from biofeedback.session import Session
from biofeedback.simulate import ScenarioSource

config = load_pipeline()
print("ready", flush=True)
Session(ScenarioSource("demo", realtime=True), config, feedback_sinks(config), record=False,
        duration=float(sys.argv[2]), name=sys.argv[1]).run()
"""


def _session_process(name, seconds):
    """A live session in a process of its own, as `biofeedback live` runs one."""
    proc = subprocess.Popen([sys.executable, "-c", SESSION, name, str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_the_next_session_is_followed_after_one_ends(uid):
    """`biofeedback dashboard` left open between two sessions: the first one's end
    is said, and the second one's estimates and cues come in, with no restart.

    The first session ends about a second after it is followed: the follower
    inlets' own reconnecting (liblsl's recover) then held the reading thread in
    a pull for seconds, or for good, and the end was never said."""
    name = f"bf-{uid}"
    procs = [_session_process(name, 3.0)]
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        feeder = LSLFeeder(server, f"{name}-EEG", follow=True, timeout=20)
        feeder.start()
        assert _wait(lambda: len(feeder._inlets) == 3, 10), "Estimates, Cues, Markers"
        procs[0].wait(30)  # the first session ends
        assert _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "lost", 5)
        assert feeder._thread.is_alive() and feeder.error is None
        last_t = _latest(server, "window")["t"]
        procs.append(_session_process(name, 30.0))
        assert _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "ok", 30)
        assert _wait(lambda: (w := _latest(server, "window")) and w["t"] > last_t + 2, 20)
        assert _wait(lambda: len(feeder._inlets) == 3, 10)  # the new session's streams
        assert feeder.error is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        if feeder is not None:
            feeder.stop()
        server.stop()


class _SessionStreams:
    """The LSL streams of a session ``sid`` named ``name``, opened as a session
    opens them (one whose feedback sends no cues over LSL: EEG, Estimates and
    Markers); :meth:`send` sends its EEG and an estimate of ``value``."""

    def __init__(self, name, sid):
        from types import SimpleNamespace

        from biofeedback.config import load_pipeline
        from biofeedback.hardware import get_profile
        from biofeedback.session._recording import Outlets

        self.profile = prof = get_profile("muse_2")
        info = SimpleNamespace(session_id=sid, name=name, config=load_pipeline(),
                               estimate_names=["engagement", "faa"])
        self.outlets = Outlets(info, SimpleNamespace(ch_names=list(prof.ch_names),
                                                     sfreq=prof.sfreq, profile=prof))
        self.eeg_id = self.outlets.streams["EEG"]["source_id"]
        self.stop = threading.Event()
        self._thread = None

    def send(self, value):
        self._thread = threading.Thread(target=self._send, args=(value,), daemon=True)
        self._thread.start()

    def _send(self, value):
        from types import SimpleNamespace

        import numpy as np
        import pylsl

        sfreq, out = self.profile.sfreq, self.outlets
        rng, t0, n, n_est = np.random.default_rng(0), pylsl.local_clock(), 0, 0
        out.markers.push_sample(["session_start"], t0)
        while not self.stop.wait(0.02):
            due = int((pylsl.local_clock() - t0) * sfreq)
            out.eeg.push_chunk(rng.normal(0, 10, (due - n, 4)),
                               (t0 + np.arange(n, due) / sfreq).tolist())
            n = due
            if n // 64 > n_est:  # a window every 0.25 s
                n_est = n // 64
                out.push_estimates(SimpleNamespace(estimates=np.array([value, 0.0]),
                                                   gated=False, t_end=t0 + (n - 1) / sfreq))

    def end(self):
        """The session ends: nothing more is sent, its outlets are gone."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join()
        self.outlets = None


def test_the_next_session_found_before_its_first_sample_replaces_the_last_one(uid):
    """A session's streams can be found while its EEG has not sent yet (its board
    connecting): the dashboard follows its estimates, not the ended session's.
    (The dashboard looks for a session's streams every 2 s while it has not
    all three, as here, where no Cues stream is sent.)"""
    name = f"bf-{uid}"
    sessions = [_SessionStreams(name, "first")]
    sessions[0].send(1.0)
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        feeder = LSLFeeder(server, f"{name}-EEG", follow=True, timeout=10).start()
        assert _wait(lambda: len(feeder._inlets) == 2, 10), "Estimates, Markers"
        assert _wait(lambda: (w := _latest(server, "window")) and w["est"]["engagement"] == 1,
                     10)
        sessions[0].end()
        assert _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "lost", 10)
        sessions.append(_SessionStreams(name, "second"))
        sid = sessions[1].eeg_id
        # its EEG is found again, and the session's streams looked for, before any sample
        assert _wait(lambda: feeder.source.source_id == sid, 10)
        assert _wait(lambda: feeder._inlets_for == sid, 10)
        sessions[1].send(2.0)
        assert _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "ok", 10)
        assert _wait(lambda: _latest(server, "window")["est"]["engagement"] == 2, 10)
        assert feeder._thread.is_alive() and feeder.error is None
    finally:
        for session in sessions:
            session.end()
        if feeder is not None:
            feeder.stop()
        server.stop()


def test_a_foreign_stream_that_vanishes_is_said_and_the_page_goes_on(muse_dir, uid):
    """The stream goes away mid-session: the page says so and keeps being served.
    (Its return is LSLSource's job, tested with the session.)"""
    csv = muse_dir / "subjecta-relaxed-1.csv"
    player = subprocess.Popen([sys.executable, str(PLAYER), str(csv), f"muse-{uid}",
                               f"muse-{uid}", "--pause-at", "2.5", "--pause-for", "30",
                               "--duration", "40"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        assert player.stdout.readline().strip() == "ready"
        feeder = LSLFeeder(server, f"muse-{uid}", follow=True, timeout=10).start()
        # no estimates stream: the local engine computes them
        win = _wait(lambda: _latest(server, "window"), 10)
        assert {"engagement", "faa"} <= set(win["est"]) and len(win["q"]) == 4
        lost = _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "lost" and m, 8)
        assert lost and f"'muse-{uid}' vanished" in lost["text"]
        assert "waiting for it" in lost["text"]
        n = server.stats["published"]
        assert _wait(lambda: server.stats["published"] > n + 2, 5)  # status goes on
        assert feeder._thread.is_alive() and feeder.error is None
        assert asyncio.run(_status(server.url.replace("/?", "/api/state?"))) == 200
    finally:
        player.kill()
        player.wait()
        if feeder is not None:
            feeder.stop()
        server.stop()


async def _status(url):
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            return r.status


def test_a_huge_stream_under_a_sessions_source_id_is_not_followed(uid, caplog):
    """Anyone on the network can publish under a session's source ids: a stream
    declaring more channels than a recording may have is said once and left
    alone, and the session's other streams are still followed."""
    import pylsl

    from biofeedback._checks import MAX_CHANNELS

    name = f"bf-{uid}"
    session = _SessionStreams(name, "real")
    base = session.eeg_id[: -len("-eeg")]
    # the session's own Estimates outlet is replaced by the huge one
    session.outlets.estimates = pylsl.StreamOutlet(pylsl.StreamInfo(
        f"{name}-Estimates", "Estimates", MAX_CHANNELS + 1, 4.0, "float32",
        f"{base}-estimates"))
    session.outlets.push_estimates = lambda result: None
    session.send(1.0)
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        with caplog.at_level("WARNING", logger="biofeedback"):
            feeder = LSLFeeder(server, f"{name}-EEG", follow=True, timeout=10).start()
            assert _wait(lambda: "Markers" in feeder._inlets, 10)
            time.sleep(2.5)  # the streams are looked for again every 2 s
        assert "Estimates" not in feeder._inlets and feeder.error is None
        said = [r.getMessage() for r in caplog.records if "does not follow" in r.getMessage()]
        assert len(said) == 1 and f"declares {MAX_CHANNELS + 1} channels" in said[0], said
        # the page still gets windows: the local engine gives the estimates
        assert _wait(lambda: _latest(server, "window"), 10)
    finally:
        session.end()
        if feeder is not None:
            feeder.stop()
        server.stop()


def test_a_sender_that_stalls_then_sends_every_sample_is_said_as_a_stall(uid):
    """A sender silent for longer than the dashboard waits, then pushing its
    backlog with stamps that go on without a gap, lost nothing: the page said
    'is back' and a gap_end, as after an outage."""
    import numpy as np
    import pylsl

    name = f"stall-{uid}"
    info = pylsl.StreamInfo(name, "EEG", 4, 256.0, "float32", f"{name}-id")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def send():  # stamps k / 256 s after the start, each pushed once its time came
        base, k, stalled = pylsl.local_clock(), 0, False
        while not stop.is_set():
            now = pylsl.local_clock()
            if not stalled and now - base > 3.0:
                stalled = True
                time.sleep(1.8)  # longer than the dashboard's 1 s without data
                continue
            n = int((now - base) * 256) - k
            if n > 0:
                ts = base + (k + np.arange(n)) / 256.0
                outlet.push_chunk(np.full((n, 4), 1e-5).tolist(), ts.tolist())
                k += n
            time.sleep(1 / 32)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        feeder = LSLFeeder(server, name, follow=False, timeout=10).start()
        assert _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "lost", 10)
        back = _wait(lambda: (m := _latest(server, "stream")) and m["state"] == "ok" and m, 10)
        assert back and back["text"] == (f"The LSL stream {name!r} stalled, then sent every "
                                         "sample: nothing was lost.")
        assert feeder.n_dropped == 0
    finally:
        stop.set()
        sender.join(5)
        if feeder is not None:
            feeder.stop()
        server.stop()


def test_stopping_the_dashboard_closes_its_inlets_on_the_session_s_streams(uid):
    """stop() closed the EEG inlet alone: those on the session's Estimates and
    Markers stayed subscribed to its outlets (an embedding program that starts
    and stops the page kept one more inlet per stream each time)."""
    streams = _SessionStreams(f"bf-{uid}", "stops")
    streams.send(1.0)
    server = DashboardServer(port=0)
    server.start()
    feeder = None
    try:
        feeder = LSLFeeder(server, f"bf-{uid}-EEG", follow=True, timeout=10).start()
        assert _wait(lambda: len(feeder._inlets) == 2, 10), "Estimates, Markers"
        outlets = streams.outlets
        assert outlets.eeg.have_consumers() and outlets.estimates.have_consumers()
        assert outlets.markers.have_consumers()
        feeder.stop()
        assert feeder._inlets == {}
        gone = _wait(lambda: not any(o.have_consumers() for o in (
            outlets.eeg, outlets.estimates, outlets.markers)), 5)
        assert gone, "an inlet stayed subscribed after the dashboard stopped"
    finally:
        streams.end()
        if feeder is not None:
            feeder.stop()
        server.stop()
