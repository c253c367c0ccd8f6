"""``biofeedback info FILE``: what a user needs to know before trusting a file."""

from __future__ import annotations

from .._words import counted, fixed
from . import BOARD, number

HELP = """\
Read a recording and print how it was read: format, channels and units,
sampling rate (declared and measured), duration, gaps and dropped packets,
railed or flat channels, markers, other streams and every warning. A model
file from 'biofeedback train' (.bfm) is described too: classes, channels,
rate, pipeline, training data and the validation figures stored in it.
Exits 0 when the file is readable (warnings included), 1 with one sentence
when it is not.

Examples:
  biofeedback info recordings/sample_synthetic.xdf
  biofeedback info OpenBCI-RAW-EyesOpen.txt --profile cyton
  biofeedback info subjecta-relaxed-1.csv --format muse-csv
  biofeedback info muse.bfm
"""


def add_parser(sub):
    from ..io._read import READERS

    p = sub.add_parser("info", help="describe a recording before you use it",
                       description=HELP)
    p.add_argument("file", metavar="FILE",
                   help="recording file (XDF, CSV, OpenBCI txt, FIF, EDF...) or model "
                        "file (.bfm)")
    p.add_argument("--format", choices=sorted(READERS), default=None,
                   help="read FILE as this format (default: told from its content)")
    p.add_argument("--profile", default=None, metavar="NAME",
                   help=f"the board profile when the file does not say: {BOARD}")
    p.add_argument("--stream", default=None, metavar="NAME",
                   help="XDF with several EEG streams: the name of the one to read "
                        "(default: the one with the most samples, said in a warning)")
    p.add_argument("--markers", type=number(0, integer=True), default=10, metavar="N",
                   help="show the first N markers (default: 10)")
    p.set_defaults(func=run)


def _fmt_uv(value):
    """µV with one decimal, or in powers of ten when huge (a corrupt file's 1e300)."""
    return f"{value:.1f}" if abs(value) < 1e7 else f"{value:.3g}"


def _fmt_s(seconds):
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.3f} s"


def describe(rec, n_markers=10) -> str:
    """The text ``biofeedback info`` prints for a recording."""
    import warnings

    import numpy as np

    from ..io._recording import stated_mains

    prov = rec.provenance
    lines = [f"file:        {prov.get('fname', '?')}",
             f"read as:     {rec.source_format}"
             + (f" (profile {rec.profile})" if rec.profile else "")]
    lines.append(f"channels:    {len(rec.ch_names)}: {', '.join(rec.ch_names)}")
    units = prov.get("units_in_file", "")
    lines.append("units:       volts in memory" + (f"; file in {units}" if units else ""))
    for note in prov.get("assumed", ()):  # what the reader took for granted
        lines.append(f"assumed:     {note}")
    measured = prov.get("measured_sfreq") or 0.0
    rate = f"{rec.sfreq:g} Hz declared"
    if measured:
        rate += f", {measured:.3f} Hz measured"
    lines.append(f"rate:        {rate}")
    mains = stated_mains(prov.get("line_freq"))
    if mains:  # else the board profile's, the default
        lines.append(f"mains:       {mains:g} Hz, as the file states it: the notch "
                     "and the mains gate use it")
    span = float(rec.timestamps[-1] - rec.timestamps[0]) if rec.n_times > 1 else 0.0
    lines.append(f"duration:    {_fmt_s(rec.duration)} of samples ({rec.n_times}), "
                 f"{_fmt_s(span)} from first to last timestamp")
    if rec.n_times:
        lines.append(f"time range:  {fixed(rec.timestamps[0])} .. {fixed(rec.timestamps[-1])}"
                     f" ({prov.get('clock', 'recording clock')})")
    if rec.n_times:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # an all-NaN channel: its range is nan, and a warning below says why
            warnings.simplefilter("ignore", RuntimeWarning)
            ptp = np.nanmax(rec.data, axis=1) - np.nanmin(rec.data, axis=1)
        lines.append("range (µV):  " + ", ".join(
            f"{ch} {_fmt_uv(v * 1e6)}" for ch, v in zip(rec.ch_names, ptp)))
    if rec.gaps:
        total = sum(g.duration for g in rec.gaps)
        lost = sum(g.n_missing for g in rec.gaps)
        lines.append(f"gaps:        {len(rec.gaps)}, {counted(lost, 'sample')}, {_fmt_s(total)} "
                     "missing")
        for g in rec.gaps[:20]:
            lines.append(f"  at {fixed(g.onset)}: {counted(g.n_missing, 'sample')}, "
                         f"{_fmt_s(g.duration)} ({g.source})")
        if len(rec.gaps) > 20:
            lines.append(f"  ... {len(rec.gaps) - 20} more")
    else:
        lines.append("gaps:        none")
    from ..io._integrity import loss_counts, loss_line

    how = {"markers": "as the recording marked them",
           "timestamps": "estimated from timestamps"}.get(prov.get("losses_from"), "")
    lines.append(loss_line(loss_counts(rec.gaps)) + (f", {how}" if how else ""))
    problems = prov.get("channel_problems") or {}
    for kind in ("railed", "flat"):
        if problems.get(kind):
            lines.append(f"{kind + ':':<13}{', '.join(problems[kind])}")
    lines.append(f"markers:     {len(rec.markers)}")
    from ..stream._peers import printable

    # a marker with a duration (an annotation's, a BIDS event's) ends where its span does
    lasts = {}
    for a, b, text in prov.get("marker_spans") or ():
        lasts.setdefault((a, text), []).append(b - a)
    for t, text in rec.markers[:n_markers]:
        # a marker is any text its sender chose: a line break or an escape
        # sequence would break the listing or rewrite the terminal
        span = lasts.get((t, text))
        lines.append(f"  {fixed(t)}  {printable(text, 200)}"
                     + (f" (lasts {_fmt_s(span.pop(0))})" if span else ""))
    if len(rec.markers) > n_markers:
        lines.append(f"  ... {len(rec.markers) - n_markers} more")
    if rec.streams:
        lines.append(f"streams:     {len(rec.streams)}")
        for name, st in rec.streams.items():
            n = len(st.timestamps)
            kind = f"{len(st.ch_names)} ch" if st.ch_names else "strings"
            rate = f"{st.sfreq:g} Hz" if st.sfreq else "irregular"
            lines.append(f"  {name} ({st.type}): {kind}, {counted(n, 'sample')}, {rate}")
    if prov.get("truncated"):
        t = prov["truncated"]
        lines.append(f"truncated:   {t['size'] - t['valid_bytes']} bytes cut in a "
                     f"{t['cut_in']} chunk")
    lines.append(f"warnings:    {len(rec.warnings)}")
    for w in rec.warnings:
        lines.append(f"  - {w}")
    return "\n".join(lines)


def run(args) -> int:
    from ..io import read_recording
    from ._model_info import describe_model, is_model_file

    if is_model_file(args.file):  # a model file 'train' wrote: what it holds
        from ..training import load_model

        print(describe_model(load_model(args.file)))
        return 0
    rec = read_recording(args.file, format=args.format, profile=args.profile,
                         stream=args.stream)
    print(describe(rec, args.markers))
    return 0
