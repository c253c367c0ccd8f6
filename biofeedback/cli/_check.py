"""``biofeedback check``: is every electrode in contact, is the mains noise low?"""

from __future__ import annotations

import sys

from . import PIPELINE, number

HELP = """\
Check the signal before a session: per electrode, the share of samples at the
rail, a flat line, mains noise at the board's mains frequency, the RMS of the
filtered signal and the drift, then a verdict: go, or what to fix.

On a Cyton or Ganglion, --impedance also measures the electrode impedance
(the Cyton's 31.2 Hz lead-off current, one channel at a time; the Ganglion's
impedance mode). It needs the hardware; BrainFlow's synthetic board has none.

Exit status: 0 when every electrode is good to go, 2 when one needs fixing,
1 on an error.

--json prints the check as one JSON object (with --watch, one a line per
check) and the table goes to stderr; --out FILE writes it to a file, replaced
after every check. (The older '--json FILE' still writes FILE, and says so.)

Examples:
  biofeedback check                                   # synthetic board
  biofeedback check --board cyton --serial-port /dev/ttyUSB0 --impedance
  biofeedback check --lsl Muse --board muse_2          # muse-lsl's stream
  biofeedback check --lsl obci_eeg1 --board cyton      # OpenBCI GUI's LSL widget
  biofeedback check --board cyton --serial-port /dev/ttyUSB0 --dashboard --watch
  biofeedback check --scenario artifacts --seconds 6 --out check.json
  biofeedback check --board cyton --serial-port /dev/ttyUSB0 --json | jq .verdict
  biofeedback check --board cyton --playback-file cyton.csv   # a BrainFlow file, as the board
"""


def add_parser(sub):
    from ._dashboard import add_dashboard_args
    from ._live import add_source_args

    p = sub.add_parser("check", help="signal check: contact and noise per electrode",
                       description=HELP)
    add_source_args(p, playback=True)
    p.add_argument("--pipeline", metavar="FILE",
                   help=f"quality gates and filters: {PIPELINE} (default: the shipped "
                        "default)")
    p.add_argument("--seconds", type=number(2.0), default=4.0, metavar="S",
                   help="seconds of signal per check, at least 2 (default: 4)")
    p.add_argument("--impedance", action="store_true",
                   help="measure impedance too (Cyton, Ganglion; needs the hardware)")
    p.add_argument("--watch", action="store_true",
                   help="check again and again (every --seconds) until Ctrl-C")
    p.add_argument("--json", nargs="?", const=True, default=None, metavar="FILE",
                   help="print the check as one JSON object (the table goes to stderr); "
                        "the older --json FILE writes FILE, as --out FILE does")
    p.add_argument("--out", metavar="FILE",
                   help="write the (last) check as JSON to FILE (made again in place)")
    add_dashboard_args(p, with_flag=True)
    p.set_defaults(func=run)


def print_report(report, stream=None):
    stream = stream or sys.stdout
    for line in report.lines(color=stream.isatty()):
        print(line, file=stream)
    stream.flush()


def _write_json(report, fname):
    from .._json import dump
    from .._outputs import atomic_output

    with atomic_output(fname) as tmp, open(tmp, "w") as fid:
        dump(report.to_dict(), fid, indent=2)


def _outputs(args):
    """``--json`` prints, ``--out FILE`` writes; ``--json FILE`` (the older form,
    when the check wrote its JSON there) writes FILE and says what to use now."""
    if isinstance(args.json, str):
        if args.out is not None:
            from ..errors import BiofeedbackError

            raise BiofeedbackError(
                f"--json {args.json} and --out {args.out} both name a file; --json alone "
                "prints the check, --out FILE writes it: pass one of them.")
        print(f"note: '--json {args.json}' writes {args.json} as before; --out "
              f"{args.json} is its name now (--json alone prints the JSON).",
              file=sys.stderr)
        args.out, args.json = args.json, None
    if args.out:  # made again in place; a place it cannot go is said before the check
        from .._outputs import check_output

        check_output(args.out, overwrite=True)


def _emit(report, args, indent=2):
    """The table (on stderr when stdout carries JSON), the JSON, the file."""
    from .._json import dumps

    print_report(report, sys.stderr if args.json else None)
    if args.json:
        print(dumps(report.to_dict(), indent=indent), flush=True)
    if args.out:
        _write_json(report, args.out)


def run(args) -> int:
    from ..session._watchdog import interrupt_on_signals

    with interrupt_on_signals():  # SIGTERM/SIGHUP end it as Ctrl-C does: the board released
        return _run(args)


def _run(args) -> int:
    from ..check import run_check
    from ..config import load_pipeline
    from ..features._plan import checked_pipeline
    from ._live import make_source

    _outputs(args)
    config = checked_pipeline(load_pipeline(args.pipeline))
    source = make_source(args, config)
    if not (args.dashboard or args.watch):
        report = run_check(source, config, args.seconds, impedance=args.impedance,
                           progress=lambda text: print(text, file=sys.stderr, flush=True))
        _emit(report, args)
        return 0 if report.verdict == "go" else 2
    return watch(args, config, source)


def watch(args, config, source) -> int:
    """Check every ``--seconds`` on a running source; show it in the terminal and the page."""

    import numpy as np

    from .._signals import hold_signals
    from ..check import check_signal, measure_impedance
    from ..check._source import SourceStop
    from ..dashboard._feed import DisplayFeed, meta_message
    from ..errors import BiofeedbackError
    from ._dashboard import start_dashboard

    server = None
    if args.dashboard:
        from ..dashboard import DashboardServer

        server = DashboardServer(host=args.host, port=args.port, title="signal check")
    stop, came = SourceStop(source), []
    report = None
    try:
        if server is not None:  # started here: Ctrl-C as it started left it serving
            start_dashboard(args, server=server)
        # Ctrl-C, SIGTERM and SIGHUP end the watch at the next read, never inside
        # one (raised in BrainFlow's ctypes call, it came out as ctypes.ArgumentError)
        with hold_signals(stop, said=None, came=came):
            try:
                source.start()
            except BiofeedbackError:  # a stream's wait, given up: nothing was checked
                if not stop.is_set():
                    raise
                raise KeyboardInterrupt(*came[:1]) from None
            try:
                n_ch, sfreq = len(source.ch_names), source.sfreq
                n_want = int(round(args.seconds * sfreq))
                say = (lambda text: print(text, file=sys.stderr)) if args.json else print
                impedance = measure_impedance(source, say=say, stop=stop) if args.impedance else {}
                feed = None
                if server is not None:
                    server.add_action("stop", lambda text: stop.set())
                    feed = DisplayFeed(source.ch_names, sfreq, source.profile, config.preprocessing)
                    server.publish(meta_message(
                        title="signal check", ch_names=source.ch_names, sfreq=sfreq,
                        profile=source.profile, estimate_names=[], source=source.describe(),
                        display_rate=feed.display_rate, controls=["stop"], mode="signal check"))
                buf = np.zeros((n_ch, 0))
                fresh = 0
                for chunk, _ in source.iter_chunks(0.05, until=stop.is_set):
                    if chunk is None or chunk.timestamps.size == 0:
                        continue
                    if feed is not None:
                        for msg in feed.push(chunk.data, chunk.timestamps):
                            server.publish(msg, keep_latest=msg["type"] != "trace")
                    buf = np.concatenate([buf, chunk.data], axis=1)[:, -n_want:]
                    fresh += chunk.timestamps.size
                    if fresh >= n_want and buf.shape[1] >= n_want:
                        fresh = 0
                        report = check_signal(buf, sfreq, source.ch_names, source.profile,
                                              config.gates, config.preprocessing,
                                              impedance_kohm=impedance)
                        if server is not None:
                            server.publish(report.to_message())
                        _emit(report, args, indent=None)  # JSON lines: one check a line
                        if not args.watch and server is None:
                            break
            finally:
                source.stop()
    finally:
        if server is not None:
            server.publish({"type": "end", "text": "The signal check has stopped."})
            server.stop()
    return 0 if report is not None and report.verdict == "go" else 2
