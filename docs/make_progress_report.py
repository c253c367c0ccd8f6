"""Make docs/img/progress_report.png: the progress report of a simulated learner.

The shipped ``learner`` scenario does 8 sessions of the shipped programme
pipeline (baseline, two training blocks, a transfer block, thresholds carried
over) through the live engine and protocol in simulated time, filed and
indexed under a temporary study root; ``biofeedback progress`` writes the
report, which headless Chromium renders to a PNG. Takes about 15 s.

Run from the repository root::

    python docs/make_progress_report.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main():
    from biofeedback.library import progress, simulate_sessions, write_progress_html

    out = REPO / "docs" / "img" / "progress_report.png"
    with tempfile.TemporaryDirectory() as tmp:
        simulate_sessions("learner", "sim01", 8, root=tmp, pipeline="programme",
                          seed=1)
        html = write_progress_html(progress("sim01", tmp), Path(tmp) / "progress.html")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--screenshot={out}", "--window-size=1150,1600",
                        html.as_uri()], check=True, capture_output=True)
    print(out)


if __name__ == "__main__":
    main()
