"""``biofeedback report``: the session report of a recording, as one HTML file."""

from __future__ import annotations

HELP = """\
Write the report of a recorded session: estimate timeline with blocks, cues and
thresholds, spectrogram, reward rate and artifacts per block, integrity figures
(dropped samples, effective rate, clock offset, cue latency) and a methods
section following the CRED-nf checklist. The HTML is one self-contained file
(figures embedded) that opens offline in any browser.

Examples:
  biofeedback report recordings/20250101-120000_synthetic.xdf
  biofeedback report session.xdf --out session.html --png timeline.png
"""


def add_parser(sub):
    p = sub.add_parser("report", help="write the HTML report of a recorded session",
                       description=HELP)
    p.add_argument("recording", metavar="RECORDING", help="an XDF file made by 'live'")
    p.add_argument("--out", metavar="FILE.html",
                   help="where to write the report (default: RECORDING with .html; in a "
                        "BIDS dataset (a "
                        "dataset_description.json in a folder above it) at its place "
                        "under the dataset's derivatives/biofeedback/)")
    p.add_argument("--png", metavar="FILE.png", help="also save the main figure as PNG")
    p.set_defaults(func=run)


def run(args) -> int:
    from .._outputs import check_output
    from ..feedback._report import report_path, write_report

    # made again in place, but said at once when it cannot be (a folder, no room)
    out = args.out or report_path(args.recording)
    for fname in (out, args.png):
        if fname is not None:
            check_output(fname, overwrite=True)
    path = write_report(args.recording, out, args.png)
    print(f"report: {path}")
    return 0
