"""The ``biofeedback`` command line.

One entry point with subcommands; each lives in its own module
``biofeedback/cli/_<name>.py`` defining ``add_parser(subparsers)`` and
``run(args) -> int``. Domain errors become one sentence and exit 1; only
``--verbose`` shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# modules providing subcommands, in the order --help lists them
_COMMANDS = ("_live", "_replay", "_simulate", "_boards", "_info", "_convert", "_train", "_evaluate",
             "_report", "_sessions", "_progress", "_index", "_check", "_dashboard", "_warmup")

_EPILOG = """\
Examples:
  biofeedback live                              # synthetic board, no hardware
  biofeedback live --board cyton --serial-port /dev/ttyUSB0
  biofeedback live --lsl Muse --board muse_2 --duration 300   # muse-lsl's stream
  biofeedback live --scenario demo              # scripted headset with known states
  biofeedback replay recordings/sample_synthetic.xdf --out estimates.csv
  biofeedback info recordings/sample_synthetic.xdf
  biofeedback train ../shared/data/muse-mental-state/*.csv --out muse.bfm
  biofeedback evaluate muse.bfm new_people/*.csv       # score it on people it never saw
  biofeedback live --board muse_2 --model muse.bfm     # ...and use it live
  biofeedback simulate demo --out demo.xdf             # a scripted headset, to a file
  biofeedback boards
  biofeedback check --board cyton --serial-port /dev/ttyUSB0   # electrodes before a session
  biofeedback live --dashboard                  # the live page in the browser

Run 'biofeedback COMMAND --help' for a command's options and examples.
"""


#: How a board profile is named wherever an option takes one (``get_profile`` reads both).
BOARD = "a name from 'biofeedback boards' or a profile .toml"
#: How a pipeline is named wherever an option takes one (``load_pipeline`` reads both; a
#: test keeps the shipped names in step with pipelines/).
PIPELINE = "a pipeline .toml or the name of a shipped one, default or programme"


def number(minimum: float | None = None, maximum: float | None = None, *,
           integer: bool = False):
    """An argparse type: a finite number above 0, or at least ``minimum`` when set.

    ``maximum`` bounds it from above, ``integer`` asks for a whole number. A bad
    value is a usage error naming the option, as argparse reports any other,
    instead of a traceback or a session that never ends. Every numeric option
    of the command line takes its range from here.
    """
    import math

    kind = "a whole number" if integer else "a number"
    need = "above 0" if minimum is None else f"at least {minimum:g}"
    if maximum is not None:
        need += f" and at most {maximum:g}"

    def parse(text):
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if (not math.isfinite(value) or (minimum is None and value <= 0)
                or (minimum is not None and value < minimum)
                or (maximum is not None and value > maximum)):
            raise argparse.ArgumentTypeError(f"must be {kind} {need}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def jobs(text):
    """An argparse type for ``--n-jobs``: a whole number other than 0, as joblib takes."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "must be a whole number other than 0 (-1: one process per core), got 0")
    return value


class _OneParticipant(argparse.Action):
    """Store the participant ID, given as the positional or as ``--participant``,
    and refuse two different ones."""

    def __call__(self, parser, namespace, value, option_string=None):
        before = getattr(namespace, self.dest, None)
        if before is not None and value != before:
            parser.error(f"the participant is given twice ({before} and {value}); give one ID")
        setattr(namespace, self.dest, value)


def participant_argument(p, help: str, required: bool = False) -> None:
    """Add the participant ID to the subcommand ``p``: ``ID`` or ``--participant ID``.

    ``live``, ``simulate`` and ``dashboard`` take ``--participant ID``; the
    commands reading a study take the ID as their argument, and the option
    too, so either spelling works everywhere. ``args.participant`` is the ID,
    or None when neither is given (a usage error when ``required``).
    """
    p.set_defaults(participant=None)
    p.add_argument("participant", metavar="ID", nargs="?", default=argparse.SUPPRESS,
                   action=_OneParticipant, help=help)
    p.add_argument("--participant", dest="participant", metavar="ID",
                   default=argparse.SUPPRESS, action=_OneParticipant,
                   help="the same as ID (as 'live' and 'simulate' take it)")
    if required:
        p.checks.append(lambda parser, args: args.participant is None and parser.error(
            "the following arguments are required: ID (or --participant ID)"))


class _Parser(argparse.ArgumentParser):
    """The command's parser and its subcommands' (argparse makes them of this class).

    Descriptions and examples keep their line breaks. A subcommand's
    ``checks`` are called with its parser and the parsed arguments once they
    are parsed (for what argparse cannot say itself, e.g. one of two
    spellings is required); with ``intermixed``, its positionals may come on
    both sides of options (``evaluate rec1 --model m.bfm rec2``), as
    argparse's intermixed parsing reads them. :class:`_Commands` does both.
    """

    def __init__(self, *args, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)
        self.checks = []
        self.intermixed = False


class _Commands(argparse._SubParsersAction):
    """The subcommands: each parses the arguments after its name (intermixed
    when it says so), then runs its checks, once."""

    def __call__(self, parser, namespace, values, option_string=None):
        command = self.choices.get(values[0])  # None: argparse says it is no command
        if command is None or not command.intermixed:
            super().__call__(parser, namespace, values, option_string)
        else:
            setattr(namespace, self.dest, values[0])
            parsed, extras = command.parse_known_intermixed_args(values[1:])
            vars(namespace).update(vars(parsed))
            if extras:  # in argparse's words, as for any other command
                parser.error("unrecognized arguments: " + " ".join(extras))
        for check in command.checks:
            check(command, namespace)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    from .. import __version__

    parser = _Parser(
        prog="biofeedback",
        description="Real-time EEG biofeedback: acquire, estimate arousal, engagement "
        "and approach motivation, give cues, record, replay and train.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"biofeedback {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress and show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", action=_Commands)
    for mod_name in _COMMANDS:
        importlib.import_module(f"{__name__}.{mod_name}").add_parser(sub)
    for command in set(sub.choices.values()):  # 'biofeedback replay FILE -v' too
        command.add_argument("-v", "--verbose", action="store_true",
                             default=argparse.SUPPRESS,
                             help="log progress and show tracebacks on errors")
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured in tests)
        pass


def run() -> None:
    """The ``biofeedback`` command: :func:`main`, then exit with its code."""
    import gc

    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C while the command loads, before it runs
        if "-v" in sys.argv or "--verbose" in sys.argv:
            raise
        print("biofeedback: interrupted", file=sys.stderr)
        code = 130
    # The interpreter's last collection walks every object numba, scipy and
    # matplotlib made (1-2 s of CPU after a live session); frozen, they are
    # freed by the process's end instead.
    gc.freeze()
    sys.exit(code)


def main(argv=None) -> int:
    """Run the command line; returns the exit code."""
    from .._logging import quiet_liblsl
    from .._threads import one_blas_thread_by_default
    from ..errors import BiofeedbackError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # liblsl's INFO lines only with --verbose, and never over the user's own LSL
    # config; decided before any command imports pylsl
    quiet_liblsl(verbose=args.verbose)
    # before numpy loads BLAS; why one thread: biofeedback._threads
    one_blas_thread_by_default()
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # the reader went away (`biofeedback info FILE | head`): not an error of
        # ours; stop writing, quietly, as command-line tools do
        _silence_stdout()
        return 141  # what a shell reports for a writer stopped by SIGPIPE
    except BiofeedbackError as err:
        if args.verbose:
            raise
        print(f"biofeedback: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        from .._stops import exit_status

        print("biofeedback: interrupted", file=sys.stderr)
        # SIGTERM and SIGHUP unwind as Ctrl-C does, and end with their own status
        return exit_status(err.args[0] if err.args else "SIGINT") or 130
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        if args.verbose:
            raise
        print(f"biofeedback: error: {err.strerror}: {err.filename}", file=sys.stderr)
        return 1
    except OSError as err:  # a full or read-only disk, a file where a folder goes
        import errno

        full = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
        if args.verbose or err.errno not in full | {errno.EROFS, errno.ENOTDIR, errno.EEXIST}:
            raise
        where = f": {err.filename}" if err.filename else ""
        todo = "free some space or write elsewhere" if err.errno in full else "write elsewhere"
        print(f"biofeedback: error: {err.strerror}{where}; {todo}.",
              file=sys.stderr)
        return 1
