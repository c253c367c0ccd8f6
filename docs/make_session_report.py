"""Make docs/img/session_report.png: the report of a real protocol session.

A simulated Muse 2 (``biofeedback.simulate``; relaxed for the baseline, then
half and fully engaged during the two training blocks) is streamed in real
time through a live :class:`~biofeedback.session.Session` with the default
pipeline's protocol shortened to 20 s baseline + 2 x 30 s training, recorded
with LabRecorder; the report is then made from the recording, exactly as
``biofeedback report`` makes it. Takes about 90 s.

Run from the repository root::

    python docs/make_session_report.py
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SCENARIO = """
name = "protocol_demo"
description = "relaxed baseline, then engagement rises over two training blocks"
board = "muse_2"
duration = 86.0
seed = 3

[[timeline]]
at = 0.0
state = "relaxed"
ramp = 1.0

[[timeline]]
at = 24.0
state = "engaged"
level = 0.5
ramp = 8.0

[[timeline]]
at = 54.0
state = "engaged"
ramp = 8.0
"""


def main():
    from biofeedback.config import load_pipeline
    from biofeedback.feedback._protocol_sink import ProtocolSink
    from biofeedback.feedback._report import write_report
    from biofeedback.session import Session
    from biofeedback.simulate import ScenarioSource

    config = load_pipeline()
    fb = config.feedback
    blocks = tuple(replace(b, duration=20.0 if b.kind == "baseline" else 30.0)
                   for b in fb.blocks)
    fb = replace(fb, blocks=blocks)
    config = replace(config, feedback=fb)
    with tempfile.TemporaryDirectory() as tmp:
        scen = Path(tmp) / "protocol_demo.toml"
        scen.write_text(SCENARIO)
        sink = ProtocolSink(fb, [], lsl=True, terminal=False)
        session = Session(ScenarioSource(scen, realtime=True, truth_markers=False), config,
                          [sink], record=True, recordings_dir=tmp, duration=90.0)
        summary = session.run()
        for line in summary.lines()[:-1] + sink.summary_lines():
            print(line)
        png = REPO / "docs" / "img" / "session_report.png"
        html = write_report(summary.recording, Path(tmp) / "report.html", png=png)
        print(f"wrote {png} (report {html.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
