"""``biofeedback replay``: run a recording through the same engine."""

from __future__ import annotations

import sys

from .._words import counted
from . import BOARD, PIPELINE, number

HELP = """\
Replay a recording through the engine a live session uses, faster than real
time (or at the recording's pace with --realtime), and get the same estimates
the live run gave. For recordings made by 'biofeedback live' the pipeline and
board profile are taken from the recording's sidecar unless you pass others.

--out writes one row per window, pandas-ready: t_end (the window's newest
sample on the recording's clock), every estimate by name, then gated (0/1).
A JSON sidecar FILE.csv.json says what each number is. An existing FILE.csv
is replaced only with --overwrite, and only once the replay has succeeded.

Examples:
  biofeedback replay recordings/sample_synthetic.xdf
  biofeedback replay session.xdf --out estimates.csv
  biofeedback replay session.xdf --realtime --speed 2      # twice real time, with LSL outlets
  biofeedback replay muse.csv --pipeline pipelines/default.toml --out est.csv
"""


def add_parser(sub):
    from ..io._read import READERS

    p = sub.add_parser("replay", help="replay a recording through the engine",
                       description=HELP)
    p.add_argument("file", metavar="FILE", help="recording (XDF, CSV, OpenBCI txt, FIF, EDF...)")
    p.add_argument("--out", metavar="FILE.csv",
                   help="write the estimates here, one row per window (default: only the "
                        "summary is printed)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out if it exists (it is replaced only once the replay "
                        "succeeded)")
    p.add_argument("--realtime", action="store_true",
                   help="pace by the recording's clock and publish the LSL streams a live "
                        "session does (default: as fast as it computes, nothing published)")
    p.add_argument("--speed", type=number(), default=1.0, metavar="X",
                   help="with --realtime: speed factor (default: 1, real time)")
    p.add_argument("--pipeline", metavar="FILE",
                   help=f"windows, filters, features and protocol: {PIPELINE} (default: "
                        "the one the recording's sidecar names, else "
                        "the model's, else the shipped default)")
    p.add_argument("--model", metavar="FILE",
                   help="a trained model ('biofeedback train'): adds class probabilities")
    p.add_argument("--stream", metavar="NAME", default=None,
                   help="XDF with several EEG streams: the name of the one to replay "
                        "(default: the one with the most samples, said in a warning)")
    p.add_argument("--format", choices=sorted(READERS), default=None,
                   help="read FILE as this format (default: told from its content)")
    p.add_argument("--profile", default=None, metavar="NAME",
                   help=f"the board profile when the file does not say: {BOARD}")
    p.add_argument("--view", choices=("auto", "dashboard", "plain", "none"), default="none",
                   help="terminal view while replaying: in-place dashboard, a line a "
                        "second, none, or auto (in place in a terminal, else a line a "
                        "second) (default: none)")
    p.set_defaults(func=run)


def _progress_sinks() -> list:
    """A progress bar over the recording's time, on a terminal's stderr only.

    Elsewhere (a pipe, a log, the tests) no sink at all: nothing is called
    per window for a bar nobody sees.
    """
    from .._logging import progress_bar, progress_shown

    if not progress_shown():
        return []
    from ..feedback._base import Sink  # not at import: --help stays light

    class _Progress(Sink):
        """A progress bar over the recording's time (stderr, terminals only)."""

        name = "progress"
        lossless = True

        def __init__(self):
            self._bar = None

        def open(self, info):
            rec = info.source.get("duration_s", 0.0)
            self._t0 = None
            if rec < 30:
                return  # no bar for a short replay: do not import tqdm for nothing
            self._bar = progress_bar(
                total=round(rec, 1), unit="s", desc="replay", leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s "
                           "of recording [{elapsed}<{remaining}]")

        def write(self, result):
            if self._bar is None:
                return
            if self._t0 is None:
                self._t0 = result.t_end
            self._bar.update(round(result.t_end - self._t0, 1) - self._bar.n)

        def close(self):
            if self._bar is not None:
                self._bar.close()

    return [_Progress()]


def run(args) -> int:
    from ..io import read_recording
    from ..replay import replay
    from ._live import load_model_arg, make_view

    if args.out:  # before any work: never a half-done run over an existing file
        from .._outputs import check_output

        check_output(args.out, args.overwrite)
    model, _ = load_model_arg(args.model)
    # read here, so that what the reader found (a cut file, gaps, railed
    # channels) is said, as 'info' and 'convert' say it
    recording = read_recording(args.file, format=args.format, stream=args.stream,
                               profile=args.profile)
    out = replay(recording, pipeline=args.pipeline, out=args.out, realtime=args.realtime,
                 speed=args.speed, model=model, sinks=[*make_view(args.view), *_progress_sinks()])
    n = len(out.t_end)
    gated = int(out.gated.sum())
    print(f"{counted(n, 'window')} ({gated} gated) from {args.file}")
    if out.summary is not None and out.summary.losses:
        from ..io._integrity import loss_line

        print(loss_line(out.summary.losses))
    if n:
        import numpy as np

        clean = out.estimates[~out.gated]
        # a calibrated model gives no probability before its calibration is over
        calib = model.plan.seconds if model is not None and model.needs_calibration else 0
        for j, name in enumerate(out.estimate_names):
            vals = clean[:, j][np.isfinite(clean[:, j])]
            # an index can be unavailable in every clean window (e.g. asymmetry
            # with a bad frontal electrode): say so instead of printing nan
            why = ("no clean window had it" if not (calib and name.startswith("p_"))
                   else f"no clean window after the model's {calib:g} s of calibration")
            text = f"{vals.mean():.4g}" if vals.size else f"n/a ({why})"
            print(f"  {name:<14} mean over clean windows {text}")
    for warning in recording.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        print(f"estimates: {args.out}")
    return 0
