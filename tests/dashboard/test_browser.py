"""The dashboard in a real headless Chromium during a real (simulated) live session.

One session (a Cyton scenario with a railed O2 electrode, a short protocol)
runs for a few seconds with the dashboard; one browser drives the page over the
DevTools protocol. Chromium comes from the system's packages (``.ci/run``
installs it); without it these tests skip and say so.
"""

import threading
import time

import numpy as np
import pytest

from biofeedback.dashboard._cdp import find_chromium

pytestmark = [pytest.mark.slow, pytest.mark.lsl]

if find_chromium() is None:
    pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it",
                allow_module_level=True)

SCENARIO = """
name = "railed_o2"
board = "cyton"
duration = 60.0
seed = 11

[[timeline]]
at = 0.0
state = "relaxed"

[[timeline]]
at = 5.0
state = "engaged"

[[events]]
kind = "railed"
at = 0.0
duration = 60.0
channels = ["O2"]
"""

PIPELINE = """
name = "dashboard-test"
board = "cyton"

# the railed electrode is left out after 2 s instead of 10, so the short
# protocol gets its baseline and its rewards
[gates]
bad_channel_after = 2.0

[feedback]
target = "engagement"
min_baseline = 2.0
dwell = 0.5
sinks = ["lsl"]

[[feedback.blocks]]
name = "baseline"
kind = "baseline"
duration = 5.0
instructions = "Rest, eyes open."

[[feedback.blocks]]
name = "train"
duration = 30.0
instructions = "Raise the gauge."
"""

DURATION = 11.0
# The tests that need the session running come first, in file order; the
# frozen-page test waits for its end; the history tests, which only need the
# page and the server, come after it, so that a slow machine cannot use up the
# session before the mark and frozen-page tests run.


class _Collect:
    """Lossless sink after the protocol: every window and the cue it got."""

    name = "collect"
    lossless = True

    def __init__(self, protocol_sink):
        self.protocol_sink = protocol_sink
        self.results, self.cues, self.events = [], [], []

    def open(self, info):
        pass

    def write(self, r):
        self.results.append(r)
        cue = self.protocol_sink.protocol.latest
        self.cues.append((cue.state, cue.threshold) if cue is not None else None)

    def event(self, kind, timestamp, text=""):
        self.events.append(text)

    def status(self, stats):
        pass

    def finish(self):
        pass

    def close(self):
        pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardServer, DashboardSink
    from biofeedback.dashboard._cdp import HeadlessChromium
    from biofeedback.live import feedback_sinks
    from biofeedback.session import Session
    from biofeedback.simulate import ScenarioSource

    tmp = tmp_path_factory.mktemp("dash")
    (tmp / "scenario.toml").write_text(SCENARIO)
    (tmp / "pipeline.toml").write_text(PIPELINE)
    config = load_pipeline(tmp / "pipeline.toml")
    server = DashboardServer(port=0)
    server.start()
    source = ScenarioSource(tmp / "scenario.toml", realtime=True)
    protocol = feedback_sinks(config)
    collect = _Collect(protocol[0])
    session = Session(source, config, [*protocol, collect, DashboardSink(server)],
                      record=False, duration=DURATION, name=f"bfdash{time.time_ns() % 10**8}",
                      protocol=protocol[0])
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("summary", session.run()),
                              daemon=True)
    browser = HeadlessChromium(1400, 1000)
    browser.start()
    thread.start()
    browser.goto(server.url)
    yield dict(server=server, browser=browser, session=session, collect=collect,
               thread=thread, out=out, source=source, config=config, tmp=tmp)
    session.stop()
    thread.join(20)
    browser.close()
    server.stop()


def test_the_page_loads_and_its_values_move(live):
    b = live["browser"]
    b.wait_for("window.__dash && __dash.windows >= 2 && __dash.traceDraws >= 5", 20)
    first = b.evaluate("({t: __dash.lastWindow.t, est: __dash.est, draws: __dash.traceDraws,"
                       " spectra: __dash.spectra})")
    # a window and its drawings later (about a second; more on a busy machine)
    b.wait_for(f"__dash.lastWindow.t > {first['t']!r} && __dash.traceDraws > {first['draws']}"
               f" && __dash.spectra > {first['spectra']}", 20)
    second = b.evaluate("({t: __dash.lastWindow.t, est: __dash.est, draws: __dash.traceDraws,"
                        " spectra: __dash.spectra})")
    assert second["t"] > first["t"]
    assert second["est"] != first["est"]
    assert second["draws"] > first["draws"] and second["spectra"] > first["spectra"]
    names = live["session"].engine.estimate_names
    assert set(second["est"]) == set(names)
    page = b.evaluate("({canvases: document.querySelectorAll('#traces canvas, #spectrum canvas')"
                      ".length, gauges: document.querySelectorAll('#gauges .gauge').length,"
                      " source: document.getElementById('source').textContent})")
    assert page["canvases"] >= 2 and page["gauges"] == len(names)
    cue = b.evaluate("__dash.cue")
    assert cue["block"] in ("baseline", "train") and 0 <= cue["time_left"] <= cue["duration"]
    assert cue["n_blocks"] == 2 and cue["instructions"]
    assert "cyton" in page["source"] and "250" in page["source"]


def test_the_head_map_marks_the_railed_electrode(live):
    b = live["browser"]
    q = b.wait_for("(() => { const d = document.querySelector('#head g[data-ch=O2] circle');"
                   " return d && d.getAttribute('data-q') === 'railed' &&"
                   " Array.from(document.querySelectorAll('#head g')).map(g => [g.dataset.ch,"
                   " g.querySelector('circle').getAttribute('data-q')]); })()", 20)
    by = dict(q)
    assert by["O2"] == "railed"
    assert sum(v == "railed" for v in by.values()) == 1
    assert by["F3"] != "railed" and by["C3"] != "railed"


def test_requests_without_the_token_are_refused(live):
    b, server = live["browser"], live["server"]
    b.wait_for("window.__dash && __dash.connected", 10)
    codes = b.evaluate(
        "Promise.all(['api/state', 'api/state?token=x', 'static/dashboard.js',"
        " 'api/state?token=' + new URLSearchParams(location.search).get('token')]"
        ".map(u => fetch(u).then(r => r.status)))")
    assert codes == [403, 403, 403, 200]
    b.call("Network.enable")
    # a WebSocket without the token never opens
    opened = b.evaluate("new Promise(res => { const ws = new WebSocket('ws://' + location.host"
                        " + '/ws'); ws.onopen = () => res('open'); ws.onerror = () =>"
                        " res('refused'); })")
    assert opened == "refused"
    assert server.token not in b.evaluate("document.body.innerText")


def test_mark_goes_into_the_session(live):
    b = live["browser"]
    # marks are offered once the session runs (while it starts, only stop is)
    b.wait_for("window.__dash && __dash.connected && __dash.windows >= 1", 20)
    res = b.evaluate("__dashAction('mark', 'dashboard_mark n=7')")
    assert res["ok"], res
    deadline = time.monotonic() + 5
    while "dashboard_mark n=7" not in live["collect"].events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "dashboard_mark n=7" in live["collect"].events
    # the session's warning that the stream is in the wrong unit stays on the page
    live["session"].add_marker("amplitude_warning amplitudes look like volts, expected µV")
    b.wait_for("__dash.warnings.length >= 1", 10)
    shown = b.evaluate("({text: document.getElementById('warning').textContent,"
                       " hidden: document.getElementById('warning').classList"
                       ".contains('hidden')})")
    assert not shown["hidden"]
    assert "amplitudes look like volts, expected µV" in shown["text"]


def test_a_rate_warning_gets_a_banner_line_of_its_own(live):
    """A stream sending at another rate than it declares: the session's rate_warning
    is said in the banner that stays, beside (not over) the amplitude warning."""
    b = live["browser"]
    b.wait_for("window.__dash && __dash.connected", 10)
    note = ("the samples come at 200.00 Hz, 21.9 % below the nominal 256 Hz the filters, "
            "bands and windows assume; check the sender's rate setting")
    live["session"].add_marker(f"rate_warning {note}")
    live["session"].add_marker("amplitude_warning amplitudes look like volts, expected µV")
    b.wait_for("__dash.warnings.some(w => w.startsWith('amplitude_warning')) &&"
               " __dash.warnings.some(w => w.startsWith('rate_warning'))", 10)
    shown = b.evaluate(
        "({hidden: document.getElementById('warning').classList.contains('hidden'),"
        " lines: Array.from(document.querySelectorAll('#warning > div'),"
        " d => [d.dataset.kind, d.textContent])})")
    assert not shown["hidden"]
    lines = dict(shown["lines"])
    assert lines["rate_warning"] == "T" + note[1:] + "."
    assert "amplitudes look like volts, expected µV" in lines["amplitude_warning"]
    # the scenario's railed O2 is said by the session (after 4 s at the rail), and
    # each channel's warning has a line of its own
    flat = "channel Fz is flat (the signal does not change): left out of the indices"
    live["session"].add_marker(f"channel_warning {flat}")
    b.wait_for("Array.from(document.querySelectorAll('#warning > div'), d => d.textContent)"
               ".some(t => t.startsWith('Channel O2 has been at the rail')) &&"
               " __dash.warnings.some(w => w.includes('channel Fz is flat'))", 15)
    shown = b.evaluate("Array.from(document.querySelectorAll('#warning > div'),"
                       " d => [d.dataset.kind, d.textContent])")
    said = [text for kind, text in shown if kind == "channel_warning"]
    assert len(said) == 2 and "C" + flat[1:] + "." in said


def test_a_frozen_page_changes_no_estimate_or_cue(live):
    """Freeze the tab for 3 s (and hold a socket that never reads) mid-session:
    the session's windows and cues equal an offline run of the same samples."""
    from biofeedback.engine import Engine
    from biofeedback.feedback._protocol import Protocol
    from biofeedback.simulate import simulate

    from .test_server import _frozen_page

    b = live["browser"]
    frozen_sock = _frozen_page(live["server"])
    b.freeze(True)
    time.sleep(3.0)
    b.freeze(False)
    n_before = b.evaluate("__dash.windows")
    b.wait_for(f"__dash.windows > {n_before}", 10)  # the page catches up
    live["thread"].join(30)
    frozen_sock.close()
    assert not live["thread"].is_alive()
    summary = live["out"]["summary"]
    assert summary.n_dropped == 0 and not summary.sink_errors

    col = live["collect"]
    sim = simulate(live["tmp"] / "scenario.toml")
    src, config = live["source"], live["config"]
    engine = Engine(config, src.ch_names, src.sfreq, src.profile)
    t0 = col.results[0].t_end - sim.timestamps[engine.win_len - 1]
    offline = engine.run(sim.data, sim.timestamps + t0)
    n = len(col.results)
    assert n >= int((DURATION - 2.0) / config.window.hop)
    live_est = np.array([r.estimates for r in col.results])
    np.testing.assert_allclose(live_est, offline.estimates[:n], rtol=1e-9, atol=1e-12)
    assert [r.gated for r in col.results] == offline.gated[:n].tolist()
    assert np.array_equal(np.array([r.quality for r in col.results]), offline.quality[:n])
    prot = Protocol(config.feedback, engine.estimate_names)
    cues = []
    for k in range(n):
        prot.update(col.results[k].t_end, offline.estimates[k], bool(offline.gated[k]))
        cues.append((prot.latest.state, prot.latest.threshold))
    assert [c[0] for c in col.cues] == [c[0] for c in cues]
    assert "reward" in [c[0] for c in cues]  # training happened, not just baseline
    np.testing.assert_allclose([c[1] for c in col.cues], [c[1] for c in cues], equal_nan=True)


def test_a_participants_last_sessions_are_listed(live):
    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import simulate_sessions

    root = live["tmp"] / "study"
    simulate_sessions("learner", "p7", 1, root=root, progress=False)
    msg = history_message("p7", root)
    assert [s["session"] for s in msg["sessions"]] == [1]
    live["server"].publish(msg)
    b = live["browser"]
    rows = b.wait_for("document.querySelectorAll('#history tbody tr').length && "
                      "Array.from(document.querySelectorAll('#history tbody tr td'))"
                      ".map(td => td.textContent)", 10)
    assert rows[0] == "1" and rows[2] == "engagement ↑" and rows[3].endswith("%")
    assert not b.evaluate("document.getElementById('history-panel').classList"
                          ".contains('hidden')")


def test_a_session_labelled_without_a_number_is_listed_by_its_label(live):
    """A session folder labelled as BIDS allows (ses-pre) was not in the index, so
    the page never listed it; now it is listed in its place, by its label."""
    import json
    import shutil

    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import simulate_sessions

    root = live["tmp"] / "labelled-study"
    simulate_sessions("learner", "p8", 1, root=root, progress=False)
    sub = root / "sub-p8"
    pre = shutil.copytree(sub / "ses-01", sub / "ses-pre")
    side = next((pre / "eeg").glob("*_eeg.json"))
    data = json.loads(side.read_text())
    data["programme"].update(session="pre", started_at="2020-01-01T09:00:00+00:00")
    side.write_text(json.dumps(data))
    msg = history_message("p8", root, sync=True)
    assert [(s["session"], s["label"]) for s in msg["sessions"]] == [(None, "pre"), (1, "01")]
    live["server"].publish(msg)
    rows = live["browser"].wait_for(
        "document.getElementById('history-who').textContent === 'participant p8' && "
        "Array.from(document.querySelectorAll('#history tbody tr'))"
        ".map(tr => tr.firstChild.textContent)", 10)
    assert rows == ["1", "pre"]  # newest first


def test_a_session_that_did_not_end_as_planned_is_marked_so(live):
    """A session killed mid-way was listed as a finished one: its 100 % in target
    over the seconds it ran looked like a best session."""
    import json

    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import simulate_sessions

    root = live["tmp"] / "killed-study"
    simulate_sessions("learner", "p9", 2, root=root, progress=False)
    side = next(root.glob("sub-p9/ses-02/eeg/*_eeg.json"))
    data = json.loads(side.read_text())
    del data["summary"], data["feedback"]  # as a session killed mid-way leaves it
    side.write_text(json.dumps(data))
    msg = history_message("p9", root, sync=True)
    assert [s["status"] for s in msg["sessions"]] == ["complete", "interrupted"]
    live["server"].publish(msg)
    dates = live["browser"].wait_for(
        "document.getElementById('history-who').textContent === 'participant p9' && "
        "Array.from(document.querySelectorAll('#history tbody tr'))"
        ".map(tr => tr.children[1].innerText)", 10)
    assert dates[0].splitlines()[-1] == "interrupted"  # newest first
    assert len(dates[1].splitlines()) == 1 and "complete" not in dates[1]


def test_a_participant_without_sessions_is_told_how_to_record_one(live):
    """The history table was empty, with no text, for a participant with no sessions."""
    from biofeedback.dashboard._feed import history_message

    root = live["tmp"] / "empty-study"
    root.mkdir()
    live["server"].publish(history_message("P01", root))
    b = live["browser"]
    said = b.wait_for("(() => { const rows = document.querySelectorAll('#history tbody tr');"
                      " return rows.length === 1 && rows[0].innerText.includes('P01') &&"
                      " rows[0].innerText; })()", 10)
    assert said == (f"No sessions yet for P01: run biofeedback live --participant P01 --root "
                    f"{root} to record one.")
    # on the page, not only in its text: the sentence spans the table and is seen
    box = b.evaluate("(() => { const r = document.querySelector('#history tbody td')"
                     ".getBoundingClientRect(); return [r.width, r.height]; })()")
    table = b.evaluate("document.getElementById('history').getBoundingClientRect().width")
    assert box[1] > 0 and box[0] >= 0.9 * table


def test_the_trend_over_a_participants_sessions_is_said_with_its_interval(live):
    """The page listed a participant's last sessions, one figure each, and said
    nothing of whether they improve: no trend, no interval, and after one
    session nothing saying a trend needs more."""
    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import progress, simulate_sessions

    root = live["tmp"] / "trend-study"
    simulate_sessions("learner", "p10", 1, root=root, progress=False)
    one = history_message("p10", root)
    simulate_sessions("learner", "p10", 2, root=root, progress=False)
    three = history_message("p10", root)
    b = live["browser"]
    seen = []
    for msg in (one, three):
        live["server"].publish(msg)
        seen.append(b.wait_for(
            f"document.getElementById('history').querySelectorAll('tbody tr').length === "
            f"{len(msg['sessions'])} && document.getElementById('history-who').textContent"
            " === 'participant p10' && document.getElementById('history-trend').innerText", 10))
    assert seen[0] == ("Too early to tell whether p10 is learning: 1 session with training "
                       "blocks, and a trend needs at least 3.")
    assert seen[1] == progress("p10", root)["verdict"]
    assert "95 % interval" in seen[1] and "3 sessions" in seen[1]
    assert not b.evaluate("document.getElementById('history-other').innerText")
    # the figure is named as 'sessions' and the report name it, not "regulation"
    head = b.evaluate("Array.from(document.querySelectorAll('#history th'))"
                      ".map(th => th.textContent)")
    assert head == ["#", "date", "target", "in target", "trained (SD)", "artifacts"]
    # the tab says whose session it is: a coach's tabs all read "... · dashboard"
    assert b.evaluate("document.title").startswith("p10 · ")


def test_a_session_of_another_participant_is_said_above_their_history(live):
    """The page followed another participant's session and listed this one's
    sessions under it without a word."""
    import json

    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import simulate_sessions

    root = live["tmp"] / "two-people"
    simulate_sessions("learner", "p12", 1, root=root, progress=False)
    simulate_sessions("learner", "p13", 1, root=root, progress=False)
    sid = json.loads(next(root.glob("sub-p13/ses-01/eeg/*_eeg.json")).read_text())["session_id"]
    b = live["browser"]
    for following, want in ((f"biofeedback-{sid}-eeg", "This page shows sub-p13's session "
                             "01, not p12's, though the sessions below are p12's: start "
                             "the dashboard with --participant p13,"),
                            ("biofeedback-0123456789ab-eeg", "")):
        msg = history_message("p12", root, following=following)
        live["server"].publish(msg)
        said = b.wait_for(
            f"__dash.history && JSON.stringify(__dash.history.other) === "
            f"{json.dumps(json.dumps(msg['other']))} && "
            "[document.getElementById('history-other').innerText]", 10)
        assert said[0].startswith(want) and bool(said[0]) == bool(want)
        # the tab names p12 only when the session shown is theirs (or unknown)
        assert b.evaluate("document.title").startswith("p12 · ") == (not want)


def test_a_session_running_in_another_process_is_said_to_be_running(live, tmp_path):
    """'dashboard --participant' listed a session running in another process as
    a row with no figures (once the index held it), or not at all; nothing said
    it was running."""
    import subprocess
    import sys

    from biofeedback.dashboard._feed import history_message

    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--scenario", "demo", "--duration",
         "60", "--participant", "P05", "--root", str(tmp_path), "--view", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob("sub-P05/ses-01/eeg/*_eeg.json")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        msg = history_message("P05", tmp_path, sync=True)  # as 'dashboard' reads it
        live["server"].publish(msg)
        said = live["browser"].wait_for(
            "document.getElementById('history-who').textContent === 'participant P05' &&"
            " document.querySelector('#history tbody').innerText", 10)
    finally:
        proc.kill()
        proc.communicate()
    assert [s["status"] for s in msg["sessions"]] == ["running"]
    assert said.strip() == "session 01: running now"


def test_stop_is_offered_while_the_session_starts_and_ends_it():
    """Before the session opens (a headset connecting), the page offers stop alone."""
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardServer, DashboardSink
    from biofeedback.dashboard._cdp import HeadlessChromium
    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.session import Session

    server = DashboardServer(port=0)
    server.start()
    try:
        sink = DashboardSink(server, traces=False)
        with HeadlessChromium(1000, 800) as b:
            b.goto(server.url)
            b.wait_for("window.__dash && __dash.connected", 10)
            buttons = b.wait_for(
                "!document.getElementById('btn-stop').disabled && ['btn-pause', 'btn-mark',"
                " 'btn-stop'].map(id => document.getElementById(id).disabled)", 10)
            assert buttons == [True, True, False]
            assert b.evaluate("__dashAction('stop')")["ok"]
        session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), [sink],
                          record=False, duration=30.0, name=f"bfstop{time.time_ns() % 10**8}")
        t0 = time.monotonic()
        summary = session.run()
        assert summary.stopped_by == "dashboard" and time.monotonic() - t0 < 20
    finally:
        server.stop()


def test_a_participants_first_live_session_is_not_listed_as_an_earlier_one(tmp_path):
    """During a participant's first session the page listed that session itself
    among their last ones (running, no figures), and the index built for it
    warned that the recording being written held no samples."""
    import subprocess
    import sys

    from biofeedback.dashboard._cdp import HeadlessChromium

    proc = subprocess.Popen(
        [sys.executable, "-m", "biofeedback.cli", "live", "--scenario", "demo", "--duration",
         "4", "--participant", "P01", "--root", str(tmp_path), "--view", "none", "--dashboard",
         "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = next((ln.split(" ", 1)[1].strip() for ln in proc.stdout
                    if ln.startswith("dashboard: ")), None)
        assert url, proc.stderr.read()
        with HeadlessChromium(1000, 800) as b:
            b.goto(url)
            said = b.wait_for("!document.getElementById('history-panel').classList"
                              ".contains('hidden') && document.querySelector("
                              "'#history tbody').innerText", 30)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert said.strip() == "No earlier sessions for P01: this is their first."
    assert "filed as sub-P01 session 01" in out
    assert "could not be read" not in err and "holds no samples" not in err, err


def test_the_page_fits_a_phone(live):
    """On a phone (390 px wide) the page kept its two desktop columns: it was 540 px
    wide, the traces and spectrum squeezed to a sliver, and stop was off screen."""
    from biofeedback.dashboard._feed import history_message
    from biofeedback.library import simulate_sessions

    root = live["tmp"] / "phone-study"
    simulate_sessions("learner", "p11", 1, root=root, progress=False)
    live["server"].publish(history_message("p11", root))
    b = live["browser"]  # as a phone's browser, then as it was
    b.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1,
           mobile=True)
    try:
        b.goto("about:blank")  # the page opened anew, as the phone opens it
        b.wait_for("location.href === 'about:blank'", 10)
        b.goto(live["server"].url)
        b.wait_for("window.__dash && __dash.history && "
                   "document.querySelectorAll('#traces canvas').length", 15)
        page = b.evaluate(
            "(() => { const r = (id) => document.getElementById(id).getBoundingClientRect();"
            " return {width: document.documentElement.scrollWidth, view: innerWidth,"
            " stop: r('btn-stop').right, traces: r('traces').width,"
            " spectrum: r('spectrum').width, history: r('history-panel').right}; })()")
    finally:
        b.call("Emulation.setDeviceMetricsOverride", width=b.width, height=b.height,
               deviceScaleFactor=1, mobile=False)
        b.goto(live["server"].url)
    assert page["view"] == 390
    assert page["width"] <= page["view"]  # nothing to scroll sideways
    assert page["stop"] <= page["view"] and page["history"] <= page["view"]
    assert page["traces"] > 300 and page["spectrum"] > 300
