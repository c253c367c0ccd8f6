"""Make docs/img/dashboard.png and docs/img/signal_check.png in headless Chromium.

The dashboard: a live session on a scripted Cyton (8 channels, a noisy P7
electrode picking up mains, a blink), 26 s in, during the first training
block. The signal check: ``biofeedback check --dashboard`` on a scripted Cyton
with a railed, a flat and a mains-noisy electrode.

    python docs/make_dashboard_screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
IMG = REPO / "docs" / "img"

SESSION = """
name = "screenshot"
board = "cyton"
duration = 120.0
seed = 4

[[timeline]]
at = 0.0
state = "relaxed"

[[timeline]]
at = 12.0
ramp = 4.0
state = "engaged"

[[events]]
kind = "line_noise"
at = 0.0
duration = 120.0
amplitude_uv = 60.0
channels = ["P7"]

[[events]]
kind = "blink"
at = 24.0
amplitude_uv = 300.0
"""


def dashboard(tmp):
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardServer, DashboardSink
    from biofeedback.dashboard._cdp import HeadlessChromium
    from biofeedback.feedback._config import BlockConfig
    from biofeedback.live import build_session
    from biofeedback.simulate import ScenarioSource

    (tmp / "session.toml").write_text(SESSION)
    config = load_pipeline()
    blocks = (BlockConfig("baseline", "baseline", 15.0, instructions="Rest with your eyes "
                          "open, looking at one point."),
              BlockConfig("training_1", "training", 30.0,
                          instructions="Keep the gauge green: focus on the task."))
    fb = replace(config.feedback, blocks=blocks, sinks=("lsl",))
    config = replace(config, feedback=fb)
    server = DashboardServer(port=0)
    server.start()
    session = build_session(ScenarioSource(tmp / "session.toml", realtime=True), config,
                            sinks=[DashboardSink(server)], view="none", record=False,
                            report=False, duration=60)
    thread = threading.Thread(target=session.run, daemon=True)
    thread.start()
    with HeadlessChromium(1400, 1000) as b:
        b.goto(server.url)
        b.wait_for("window.__dash && __dash.status && __dash.status.elapsed > 28.4", 60)
        b.screenshot(IMG / "dashboard.png")
    session.stop()
    thread.join(20)
    server.stop()


def check():
    from biofeedback.dashboard._cdp import HeadlessChromium

    proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "check", "--scenario",
                             "bad_contacts", "--dashboard", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        url = next(ln.split(" ", 1)[1].strip() for ln in proc.stdout
                   if ln.startswith("dashboard: "))
        with HeadlessChromium(1400, 900) as b:
            b.goto(url)
            b.wait_for("window.__dash && __dash.check && __dash.spectra > 4", 30)
            time.sleep(1.0)
            b.screenshot(IMG / "signal_check.png")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        dashboard(Path(d))
    check()
    print(IMG / "dashboard.png", IMG / "signal_check.png")
