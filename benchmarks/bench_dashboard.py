"""What the live dashboard costs, and what the page gets, during an 8-channel session.

A scripted Cyton (8 channels at 250 Hz, ``ScenarioSource`` in real time) runs a
live :class:`~biofeedback.session.Session` with the default pipeline and a
short protocol, twice: once with the dashboard served and a headless Chromium
showing it, once without. Measured:

- on the page (in the browser's own clock): trace updates drawn per second,
  and window-to-screen delay = the first animation frame after the window's
  values were drawn minus the wall-clock time of the window's newest sample;
- the server's CPU share: CPU time of the dashboard's threads (web server,
  LSL reader, sink) over wall time, in % of one core, read from
  ``/proc/self/task``;
- live hop p99: the engine's processing time per call that completed a window;
- cue latency and estimate latency (as the session reports them).

The figures are printed and written to ``benchmarks/results/dashboard.txt``.
Run from the repository root, with nothing else heavy running::

    python benchmarks/bench_dashboard.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SCENARIO = """
name = "bench_cyton"
board = "cyton"
duration = 600.0
seed = 2

[[timeline]]
at = 0.0
state = "relaxed"

[[timeline]]
at = 15.0
ramp = 4.0
state = "engaged"

[[timeline]]
at = 35.0
ramp = 4.0
state = "relaxed"
"""

_TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(native_ids) -> float:
    """CPU seconds (user + system) used so far by these threads of this process."""
    total = 0
    for tid in native_ids:
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


class _ThreadCpu:
    """Samples the CPU time of named threads every 0.2 s (threads may end first)."""

    def __init__(self, names):
        self.names = names
        self.first, self.last = {}, {}
        self._stop = threading.Event()
        self._sample()
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self):
        for t in threading.enumerate():
            if t.name in self.names and t.native_id is not None:
                cpu = thread_cpu([t.native_id])
                self.first.setdefault(t.native_id, cpu)
                self.last[t.native_id] = cpu

    def _run(self):
        while not self._stop.wait(0.2):
            self._sample()

    def share(self) -> float:
        """CPU seconds used since the start per wall second."""
        self._sample()
        self._stop.set()
        used = sum(self.last[k] - self.first[k] for k in self.last)
        return used / (time.monotonic() - self.t0)


def process_cpu(pid) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / _TICK


def _children(pid):
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out.append(int(p.name))
                out += _children(int(p.name))
    return out


class _HopTimer:
    """Times Engine.process calls that complete at least one window."""

    def __init__(self):
        from biofeedback.engine import Engine

        self.times = []
        self._orig = Engine.process
        timer = self

        def process(engine, data, ts):
            t0 = time.perf_counter()
            warm = engine.n_windows > 5  # not the warm-up's windows, nor the first few
            out = timer._orig(engine, data, ts)
            if out and warm:
                timer.times.append(time.perf_counter() - t0)
            return out

        Engine.process = process

    def restore(self):
        from biofeedback.engine import Engine

        Engine.process = self._orig


def run(seconds, dashboard, scenario_file, page=True):
    from biofeedback.config import load_pipeline
    from biofeedback.feedback._config import BlockConfig
    from biofeedback.live import build_session
    from biofeedback.simulate import ScenarioSource

    config = load_pipeline()
    blocks = (BlockConfig("baseline", "baseline", 10.0),
              BlockConfig("training_1", "training", 60.0))
    fb = replace(config.feedback, blocks=blocks, end="continue", sinks=("lsl",))
    config = replace(config, feedback=fb)
    sinks = []
    server = browser = None
    if dashboard:
        from biofeedback.dashboard import DashboardServer, DashboardSink
        from biofeedback.dashboard._cdp import HeadlessChromium

        server = DashboardServer(port=0)
        server.start()
        sinks.append(DashboardSink(server))
    session = build_session(ScenarioSource(scenario_file, realtime=True), config, sinks=sinks,
                            view="none", record=False, duration=seconds, report=False,
                            name=f"bench-dash-{os.getpid()}")
    proto = session.protocol
    timer = _HopTimer()
    out = {}
    page_wanted = page

    def go():
        out["summary"] = session.run()

    thread = threading.Thread(target=go, name="bench-session")
    thread.start()
    while session.engine is None or session.engine.n_windows < 6:
        time.sleep(0.05)
    page = {}
    cpu = {}
    try:
        names = ("dashboard", "dashboard-lsl", "sink-dashboard")
        if dashboard and not page_wanted:
            time.sleep(2.0)
            sampler = _ThreadCpu(names)
        if dashboard and page_wanted:
            browser = HeadlessChromium(1400, 1000)
            browser.start()
            browser.goto(server.url)
            browser.wait_for("window.__dash && __dash.windows > 2", 30)
            time.sleep(2.0)  # the page has built itself: measure from here
            sampler = _ThreadCpu(names)
            kids = _children(browser._proc.pid) + [browser._proc.pid]
            b0 = sum(process_cpu(p) for p in kids if Path(f"/proc/{p}").exists())
            w0 = time.monotonic()
            p0 = process_cpu(os.getpid())
            d0 = browser.evaluate("({draws: __dash.traceDraws, nd: __dash.windowDelays.length,"
                                  " nt: __dash.traceDelays.length, t: performance.now()})")
        while thread.is_alive() and not session.stop_event.is_set():
            time.sleep(0.1)
        if dashboard:  # measured up to the session's end, before its threads stop
            cpu["server"] = sampler.share()
        thread.join()
        if dashboard and page_wanted:
            wall = time.monotonic() - w0
            cpu["process"] = (process_cpu(os.getpid()) - p0) / wall
            cpu["browser"] = (sum(process_cpu(p) for p in kids if Path(f"/proc/{p}").exists())
                              - b0) / wall
            d1 = browser.evaluate(
                f"({{draws: __dash.traceDraws, t: performance.now(),"
                f" wd: __dash.windowDelays.slice({d0['nd']}),"
                f" td: __dash.traceDelays.slice({d0['nt']})}})")
            page["fps"] = (d1["draws"] - d0["draws"]) / ((d1["t"] - d0["t"]) / 1e3)
            page["window_delay_ms"] = np.asarray(d1["wd"]) * 1e3
            page["trace_delay_ms"] = np.asarray(d1["td"]) * 1e3
            page["skipped"] = server.stats["skipped"]
    finally:
        timer.restore()
        if browser is not None:
            browser.close()
        if server is not None:
            server.stop()
    hop = np.asarray(timer.times) * 1e3
    return dict(summary=out["summary"], cue=proto.latency_ms(), hop=hop, page=page, cpu=cpu)


def main():
    from _results import save_results

    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp) / "bench_cyton.toml"
        scen.write_text(SCENARIO)
        closed = run(args.seconds, False, scen)
        served = run(args.seconds, True, scen, page=False)
        opened = run(args.seconds, True, scen)

    def pct(a, q):
        return float(np.percentile(a, q)) if len(a) else float("nan")

    pg, cpu = opened["page"], opened["cpu"]
    lines = [
        f"# bench_dashboard: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}",
        f"# live session on a scripted Cyton (8 ch, 250 Hz) for {args.seconds:g} s, default "
        "pipeline (2 s windows, 0.5 s hop), 10 s baseline then training; dashboard served "
        "on 127.0.0.1 and shown in headless Chromium (1400x1000)",
        "# page figures are measured in the browser; server CPU = CPU time of the dashboard's "
        "threads (web server, LSL reader, sink) / wall time",
        f"page updates: {pg['fps']:.1f} per second (trace redraws with new samples; "
        "target 20+)",
        f"window to screen: p50 {pct(pg['window_delay_ms'], 50):.1f} ms, p99 "
        f"{pct(pg['window_delay_ms'], 99):.1f} ms (n={len(pg['window_delay_ms'])}; "
        "target < 100 ms)",
        f"newest sample to screen (traces): p50 {pct(pg['trace_delay_ms'], 50):.1f} ms, p99 "
        f"{pct(pg['trace_delay_ms'], 99):.1f} ms",
        f"server CPU: {100 * cpu['server']:.1f} % of one core (target < 5 %); whole Python "
        f"process {100 * cpu['process']:.1f} %; Chromium {100 * cpu['browser']:.1f} %",
        f"messages a page skipped (drop-oldest queue): {pg['skipped']}",
        f"server CPU with no page open: {100 * served['cpu']['server']:.1f} % of one core",
        "",
        "# closed: no dashboard; served: dashboard running, no page; open: page in Chromium",
        f"{'':28}{'closed':>12}{'served':>12}{'open':>12}",
    ]
    runs = (closed, served, opened)
    for label, key in (("live hop p50 (ms)", 50), ("live hop p99 (ms)", 99)):
        lines.append(f"{label:28}" + "".join(f"{pct(r['hop'], key):12.3f}" for r in runs))
    for label, k in (("cue latency p50 (ms)", "p50"), ("cue latency p99 (ms)", "p99")):
        lines.append(f"{label:28}" + "".join(f"{r['cue'][k]:12.2f}" for r in runs))
    for label, k in (("estimate latency p50 (ms)", "p50"), ("estimate latency p99 (ms)", "p99")):
        lines.append(f"{label:28}" + "".join(f"{r['summary'].latency_ms[k]:12.2f}"
                                             for r in runs))
    lines.append(f"{'windows / dropped samples':28}" + "".join(
        f"{r['summary'].n_windows:>8} / {r['summary'].n_dropped:<1}" for r in runs))
    save_results("dashboard.txt", lines)


if __name__ == "__main__":
    main()
