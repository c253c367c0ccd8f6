"""``biofeedback convert IN OUT``: between XDF, FIF, EDF and BrainFlow's format."""

from __future__ import annotations

import sys

from . import BOARD

HELP = """\
Convert a recording. IN is any format 'biofeedback info' reads; OUT's
extension picks the output format: .xdf (this project's own), .fif, .edf,
.csv (BrainFlow's DataFilter format, with a .json sidecar naming the board).
With --bids-root, IN may be a folder or several files, written into a BIDS
dataset (EDF, via mne-bids; pip install "biofeedback[bids]"). A file named
{subject}-{task}-{session} (subjecta-neutral-1.csv) becomes
sub-subjecta_ses-1_task-neutral; --participant names the subject of every
file instead. PowerLineFrequency is the mains frequency the file states (an MNE
file's line_freq), else the board profile's.

Examples:
  biofeedback convert OpenBCI-RAW-EyesOpen.txt eyes_open.xdf
  biofeedback convert session.xdf session_raw.fif
  biofeedback convert session.xdf session.edf --overwrite
  biofeedback convert ../shared/data/muse-mental-state/ --bids-root bids/
  biofeedback convert recordings/*.xdf --bids-root bids/ --participant P01
"""


def add_parser(sub):
    from ..io._read import READERS, WRITERS

    p = sub.add_parser("convert", help="convert a recording to XDF, FIF, EDF or "
                       "BrainFlow's format, or a folder to BIDS",
                       description=HELP)
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="input file (or files/folder with --bids-root)")
    p.add_argument("output", nargs="?", default=None, metavar="OUT",
                   help="output file")
    p.add_argument("--format", choices=sorted(WRITERS), default=None,
                   help="output format (default: from OUT's extension)")
    p.add_argument("--in-format", choices=sorted(READERS), default=None,
                   help="read IN as this format (default: told from its content)")
    p.add_argument("--profile", default=None, metavar="NAME",
                   help=f"the board profile when the file does not say: {BOARD}")
    p.add_argument("--stream", default=None, metavar="NAME",
                   help="XDF with several EEG streams: the name of the one to convert "
                        "(default: the one with the most samples, said in a warning)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--bids-root", default=None, metavar="DIR",
                   help="write every input into this BIDS dataset instead")
    p.add_argument("--participant", default=None, metavar="ID",
                   help="with --bids-root: the subject of every input, letters and digits "
                   "(default: from each file name)")
    p.add_argument("--task", default="biofeedback",
                   help="with --bids-root: the task of files whose names do not say it, "
                   "letters and digits (default: biofeedback)")
    p.set_defaults(func=run)


def _collect(inputs):
    from pathlib import Path

    out = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file()
                              and p.suffix.lower() in (".xdf", ".csv", ".txt", ".edf",
                                                       ".bdf", ".fif", ".vhdr")))
        else:
            out.append(path)
    return out


def run(args) -> int:

    from ..errors import RecordingFormatError
    from ..io import read_recording, write_recording
    from ..io._read import _WRITE_EXT

    if args.bids_root is not None:
        from ..io._bids import entities_of, export_bids

        if args.stream is not None:
            raise RecordingFormatError(
                "--stream picks the EEG stream of one file converted to one file, not of "
                "a BIDS export: convert that file with --stream first, then export the "
                "result.", None)

        files = _collect(args.inputs + ([args.output] if args.output else []))
        files = [f for f in files if f.with_suffix(".json") != f]
        if not files:
            raise RecordingFormatError("no recording found to export.",
                                       args.inputs[0])
        if args.participant is not None:  # refused as every --participant is
            from ..library._layout import check_participant

            check_participant(args.participant)
        try:  # every label first: one sentence, before anything is written
            entities_of(files, participant=args.participant, task=args.task)
        except ValueError as err:
            raise RecordingFormatError(str(err)) from None
        paths = export_bids(files, args.bids_root, participant=args.participant,
                            task=args.task, overwrite=args.overwrite)
        for p in paths:
            print(f"wrote {p}")
        return 0
    if args.output is None and len(args.inputs) == 2:
        args.output = args.inputs.pop()
    if args.output is None or len(args.inputs) != 1:
        raise RecordingFormatError(
            "convert takes one input and one output file (or --bids-root DIR).",
            None)
    from .._outputs import check_output

    out = check_output(args.output, args.overwrite)
    if args.format is None and out.suffix.lower() not in _WRITE_EXT:
        # said before reading the input (a large file takes a while to read)
        raise RecordingFormatError(
            f"cannot tell the output format from the extension {out.suffix!r}; end the "
            f"name with {', '.join(_WRITE_EXT)}, or pass --format "
            f"{{{','.join(sorted(set(_WRITE_EXT.values())))}}}.", out)
    rec = read_recording(args.inputs[0], format=args.in_format, profile=args.profile,
                         stream=args.stream)
    try:
        write_recording(rec, out, format=args.format, overwrite=args.overwrite)
    except FileExistsError as err:  # the sidecar's name is another recording's
        from .._outputs import OutputExistsError

        raise OutputExistsError(str(err)) from None
    except ValueError as err:
        raise RecordingFormatError(str(err), out) from None
    for w in rec.warnings:
        print(f"warning: {w}", file=sys.stderr)  # stdout holds the result alone
    print(f"wrote {out} ({rec.source_format} -> {args.format or out.suffix.lstrip('.')},"
          f" {len(rec.ch_names)} ch, {rec.n_times} samples)")
    return 0
