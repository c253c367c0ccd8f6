"""``biofeedback live``: a live session on a board, an LSL stream or a scenario."""

from __future__ import annotations

from . import BOARD, PIPELINE, number


def _predicate(text):
    """An argparse type: an LSL predicate LabRecorder can match (see
    :func:`biofeedback.recorder.check_predicate`)."""
    import argparse

    from ..recorder import check_predicate

    try:
        return check_predicate(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


HELP = """\
Run a live biofeedback session: acquire, filter, estimate, show, cue, record.

With no options it runs the default protocol (a 20 s baseline, two 30 s
training blocks: 80 s) on BrainFlow's synthetic board (no hardware needed).
--duration wins over the protocol's end: the last block goes on until it.
Everything the session sees and says (raw EEG as double64, estimates, markers,
cues) is published as LSL streams and recorded by LabRecorder into one XDF file
under ./recordings/, with a JSON sidecar; the last line printed is its path.
Stop with Ctrl-C (or SIGTERM, SIGHUP): the recording is closed cleanly. A
stream that stops sending ends the session after --give-up seconds.
Exit status: 0 at the session's end, 1 on an error or a lost source, and
128 + the signal's number when one stopped it (Ctrl-C 130, SIGHUP 129,
SIGTERM 143).

Examples:
  biofeedback live                                   # synthetic board, the 80 s protocol
  biofeedback live --duration 600                    # ten minutes (the last block goes on)
  biofeedback live --scenario demo                   # scripted headset with known states
  biofeedback live --board cyton --serial-port /dev/ttyUSB0
  biofeedback live --board muse_2 --mac-address 00:55:DA:B0:00:00
  biofeedback live --board cyton --playback-file cyton.csv   # rehearse before the headset comes
  biofeedback live --lsl Muse --board muse_2         # muse-lsl's stream ('muselsl stream')
  biofeedback live --lsl obci_eeg1 --board cyton     # OpenBCI GUI's LSL widget, its default name
  biofeedback live --lsl ''                          # the one EEG stream on the network
  biofeedback live --lsl Muse --also-record "type='Markers'"   # + PsychoPy markers
  biofeedback live --pipeline my_pipeline.toml --no-record
  biofeedback live --dashboard                       # + the live page in the browser
  biofeedback live --check --board cyton --serial-port /dev/ttyUSB0   # signal check first
  biofeedback live --participant P01 --root study     # filed as study/sub-P01/ses-NN/...
  biofeedback live --participant P01 --pipeline pipelines/programme.toml --model auto
"""


#: What each BrainFlow connection option takes (checked before BrainFlow sees it).
_PARAM_HELP = {
    "serial_port": ("PORT", "the dongle's serial port: /dev/ttyUSB0 (Linux), "
                            "/dev/cu.usbserial-... (macOS), COM3 (Windows)"),
    "mac_address": ("MAC", "the headset's Bluetooth address, 00:55:DA:B0:00:00 (on macOS "
                           "its UUID)"),
    "ip_address": ("IP", "the board's IP address (WiFi shield), e.g. 192.168.4.1"),
    "ip_port": ("PORT", "the port of the board's stream, 1-65535"),
    "ip_protocol": ("{udp,tcp}", "the board's network protocol"),
    "serial_number": ("NAME", "the headset's serial number or BLE name, e.g. Muse-1A2B"),
    "other_info": ("TEXT", "a board-specific option BrainFlow passes on as it is"),
    "timeout": ("S", "seconds BrainFlow waits to find the board (default: BrainFlow's)"),
}


def add_source_args(p, playback=False):
    """The source options (board, LSL, scenario, BrainFlow parameters) of live and check.

    With ``playback``, BrainFlow's ``file`` parameter is offered as ``--playback-file``.
    """
    from ..hardware import INPUT_PARAMS

    src = p.add_argument_group("source (pick one; default: the pipeline's board, synthetic)")
    src.add_argument("--board", metavar="NAME", help=f"the headset's board profile: {BOARD}")
    src.add_argument("--lsl", metavar="NAME",
                     help="read an LSL EEG stream with this name (or source id): muse-lsl "
                          "names its stream Muse, OpenBCI GUI obci_eeg1; '' takes the one EEG "
                          "stream there is, and a name no stream has lists those there are")
    src.add_argument("--lsl-type", metavar="TYPE", default="EEG",
                     help="with --lsl '': resolve by type instead (default: EEG)")
    src.add_argument("--scenario", metavar="FILE",
                     help="a scripted simulated headset: a scenario file or a shipped name (demo)")
    bf = p.add_argument_group("BrainFlow connection (named as BrainFlow names them)")
    for param in INPUT_PARAMS:
        if playback and param == "file":  # BrainFlow's playback board plays it as the --board
            bf.add_argument("--playback-file", "--file", dest=param, metavar="FILE",
                            help="rehearse without the headset: play this BrainFlow file "
                                 "(DataFilter.write_file, 'biofeedback convert') as the --board")
        else:
            metavar, text = _PARAM_HELP[param]
            bf.add_argument("--" + param.replace("_", "-"), dest=param, metavar=metavar,
                            help=text)
    src.add_argument("--lsl-timeout", dest="lsl_timeout", type=number(), default=5.0,
                     metavar="S", help="with --lsl: seconds to wait for the stream (default: 5)")


def add_parser(sub):
    p = sub.add_parser("live", help="run a live session (synthetic board by default)",
                       description=HELP)
    add_source_args(p, playback=True)
    p.add_argument("--pipeline", metavar="FILE",
                   help=f"windows, filters, features, protocol and cues: {PIPELINE} "
                        "(default: the model's, else the shipped default)")
    p.add_argument("--model", metavar="FILE",
                   help="a trained model ('biofeedback train'), or 'auto' with --participant "
                        "(their newest one that fits the headset): adds class probabilities; "
                        "its pipeline is used unless --pipeline is given, but never its "
                        "board: that is --board's, else the default pipeline's (a sentence "
                        "says when the model was trained on another board)")
    p.add_argument("--duration", type=number(), metavar="S",
                   help="stop after S seconds of data, or of wall-clock time if data stop "
                        "coming (default: at the protocol's end; S wins over it)")
    p.add_argument("--give-up", dest="give_up", type=number(), default=60.0, metavar="S",
                   help="end the session (recording closed) when the source sends nothing "
                        "for S seconds (default: 60)")
    p.add_argument("--recordings", metavar="DIR", help="where to record (default: ./recordings)")
    p.add_argument("--no-record", action="store_true",
                   help="do not record (the LSL streams are still published)")
    p.add_argument("--also-record", action="append", default=[], metavar="PREDICATE",
                   type=_predicate,
                   help="record another LSL stream too, e.g. \"type='Markers'\" (repeatable)")
    p.add_argument("--view", choices=("auto", "dashboard", "plain", "none"), default="auto",
                   help="terminal view: in-place dashboard, a line a second, or none "
                        "(default: auto: in place in a terminal, else a line a second)")
    p.add_argument("--check", action="store_true",
                   help="run the signal check first (see 'biofeedback check'); stop if an "
                        "electrode needs fixing")
    p.add_argument("--check-seconds", dest="check_seconds", type=number(2.0), default=4.0,
                   metavar="S",
                   help="seconds of signal the check listens to, at least 2 (default: 4)")
    prog = p.add_argument_group("a participant's training programme (docs/programme.md)")
    prog.add_argument("--participant", metavar="ID",
                      help="file the session as this participant's next one (letters and "
                           "digits), index it, and compare it with their earlier sessions")
    prog.add_argument("--protocol", metavar="NAME",
                      help="with --participant: the task label (default: the pipeline's name)")
    prog.add_argument("--root", metavar="DIR",
                      help="with --participant: the study root (default: $BIOFEEDBACK_ROOT "
                           "or ./recordings); --model auto takes their newest model there")
    from ._dashboard import add_dashboard_args

    add_dashboard_args(p, with_flag=True)
    p.set_defaults(func=run)


def make_source(args, config):
    """Build the Source the arguments ask for."""
    from ..hardware import INPUT_PARAMS
    from ..live import make_source as _make

    params = {k: getattr(args, k) for k in INPUT_PARAMS if getattr(args, k, None) is not None}
    return _make(args.board, lsl=args.lsl, lsl_type=args.lsl_type, scenario=args.scenario,
                 params=params, config=config, lsl_timeout=args.lsl_timeout)


def make_view(mode):
    """The terminal view ``--view`` asks for."""
    from ..live import view_sinks

    return view_sinks(mode)


def load_model_arg(path):
    """Load ``--model`` safely, or None."""
    from ..live._build import _load_model

    return _load_model(path or None)


def _check_programme_args(args) -> None:
    from ..library._layout import StudyError, check_participant

    if args.participant is None:
        if args.root or args.protocol:
            raise StudyError("--root and --protocol file a participant's session: give "
                             "--participant ID too.")
        return
    check_participant(args.participant)
    for flag, value in (("--no-record", args.no_record), ("--recordings", args.recordings)):
        if value:
            raise StudyError(f"--participant files the session's recording under the study "
                             f"root; it cannot be used with {flag}.")


def _known_headset(args, config) -> dict | None:
    """The session's headset when the arguments name it before it starts, else None.

    A board or a scenario says its channels and rate; an LSL stream only
    when it comes, and without --board, --scenario or --pipeline (``config``,
    read once by the caller) the board is the model's own.
    """
    if args.model != "auto" or (args.lsl is not None and not args.board):
        return None
    from ..errors import BiofeedbackError
    from ..library._carry import montage

    try:
        if args.scenario:
            prof = args.scenario.profile  # read by the caller
        elif args.board or config is not None:
            from ..hardware import get_profile

            prof = get_profile(args.board or config.board)
        else:
            return None
    except BiofeedbackError:  # a bad name: the session's own start says it in one sentence
        return None
    return montage(prof.name, prof.ch_names, prof.sfreq)


def _say_other_board(args, choice, model) -> None:
    """One sentence when the model (``--model auto``: the newest, when none
    fits) was trained on another board than the default one the session runs on.

    ``model`` is the loaded model, whose metadata names its board; with
    ``auto`` and no model that fits, ``choice`` (from
    :func:`~biofeedback.library._live.resolve_model`) names the newest one's.
    """
    from pathlib import Path

    from ..library._live import trained_on

    if model is not None:
        model_path, board = model.fname, trained_on(model.meta)
    else:
        model_path, board = choice.trained_on or (None, None)
    if board and board != args.board:
        print(f"{Path(model_path).name} was trained on {board} recordings; no --board, "
              f"--scenario, --lsl or --pipeline names this session's headset, so it runs on "
              f"{args.board}, the default pipeline's board: give --board {board} to use "
              "that headset.")


def run(args) -> int:
    from ..session._watchdog import interrupt_on_signals

    # until the session's own handlers (which take over from these) and again
    # after them: SIGTERM/SIGHUP unwind as Ctrl-C does
    with interrupt_on_signals():
        return _run(args)


def _run(args) -> int:
    import sys

    from .._signals import signals_after
    from .._stops import FAILURES, exit_status
    from ..config import load_pipeline
    from ..library._live import ProgrammeSession, resolve_model
    from ..live import build_session
    from ..live._build import check_cue_packages, check_duration, session_pipeline

    _check_programme_args(args)
    # read once: a pipeline or scenario given as <(...) (a pipe) reads empty the
    # second time, and the model choice, the signal check and the session each need it
    config = load_pipeline(args.pipeline) if args.pipeline else None
    if args.scenario:
        from ..simulate import read_scenario

        args.scenario = read_scenario(args.scenario)
    # a model never picks the headset: the command line or the pipeline does
    default_board = args.model and not (args.board or args.scenario or config is not None
                                        or args.lsl is not None)
    if default_board:
        args.board = load_pipeline(None).board
    choice = resolve_model(args.model, args.participant, args.root,
                           headset=_known_headset(args, config))
    if choice.note:
        print(choice.note)
    # loaded before anything is said of it: a file that cannot load is one sentence
    model, model_meta = load_model_arg(choice.path)
    if default_board:
        _say_other_board(args, choice, model)
    # a model carries the pipeline it was trained with: its features must match
    config = session_pipeline(config, model)
    if config.feedback.enabled:  # before the signal check and the session number
        config.check_baseline()
        check_cue_packages(config, record=not args.no_record and config.recording.enabled)
    if args.check:  # a duration the session refuses is said before seconds of checking
        check_duration(config, args.duration)
    check = pre_check(args, config) if args.check else None
    if check is not None and check.verdict != "go":
        return 2
    sinks, server = [], None
    if args.dashboard:
        from ..dashboard import DashboardServer, DashboardSink
        from ._dashboard import start_dashboard

        server = DashboardServer(host=args.host, port=args.port, title="biofeedback")
    prog, session, ran = None, None, False
    try:
        if server is not None:  # started here: Ctrl-C as it started left it serving
            start_dashboard(args, server=server)
            sinks.append(DashboardSink(server, check=check.to_message() if check else None,
                                       participant=args.participant, root=args.root))
        if args.participant is not None:
            if not config.recording.enabled:
                from ..library._layout import StudyError

                raise StudyError(f"{config.fname or 'The pipeline'} turns recording off "
                                 "([recording] enabled = false); a participant's session "
                                 "must be recorded.")
            # a signal waits until prog is known here: Ctrl-C as the session
            # number was reserved and returned kept it taken. Only the
            # reservation: reading the index may wait seconds on another
            # process's lock, and a signal is acted on at once there
            with signals_after():
                prog = ProgrammeSession.reserved(args.participant, args.root, config,
                                                 args.protocol)
            prog.prepare(model=model, model_sha256=model_meta.get("model", {}).get("sha256"),
                         simulated=args.scenario is not None)
        session = build_session(
            make_source(args, config), config, model, sinks=sinks, view=args.view,
            record=not args.no_record, recordings_dir=args.recordings,
            recording_fname=prog.recording if prog else None,
            carried=prog.carried if prog else None,
            also_record=args.also_record, duration=args.duration, give_up=args.give_up,
            extra_sidecar={**model_meta, **(prog.sidecar if prog else {})},
        )
        session.run()  # its own handlers take over from the starting ones
        ran = True
    except BaseException:
        unfiled = _set_aside(prog, session) if prog is not None else None
        if session is not None and getattr(session.summary, "recording", None):
            # the session ended on an error after it began: its figures and the
            # recording's path (closed, readable) come before the error's sentence
            lines = session.summary_lines()
            for line in lines[:-1] + [unfiled] * bool(unfiled) + lines[-1:]:
                print(line)
        if prog is not None and unfiled is None:
            prog.abandon()  # nothing recorded: the session number is free again
        raise
    finally:
        if server is not None and not ran:
            server.stop()
    from ..session._watchdog import finish_ending

    # the recording is closed; what follows ends as it began, whatever signal
    # comes (a second one skips the report only)
    with finish_ending() as ending:
        if server is not None:
            server.stop()
        if prog is not None and session.summary.recording is None:
            prog.abandon()  # stopped before its recording began: nothing to file
            prog = None
        unfiled = _set_aside(prog, session) if prog is not None else None
        try:
            with ending.interruptible():
                session.report()
        except KeyboardInterrupt:  # just outside the writing: it is skipped all the same
            pass
        lines = session.summary_lines()
        if unfiled is not None:
            lines = lines[:-1] + [unfiled] + lines[-1:]
        elif prog is not None:  # filed, indexed, compared; the recording's path stays last
            lines = lines[:-1] + prog.finish() + lines[-1:]
        for line in lines:
            print(line)
        sys.stdout.flush()
    # a source lost for good, a full disk: failures scripts must see (the
    # recording is kept); a signal: 128 + its number, as for a process it ended
    stopped_by = session.summary.stopped_by
    return 1 if stopped_by in FAILURES else exit_status(stopped_by) or 0


def _set_aside(prog, session) -> str | None:
    """A participant's session that ended before its first sample (stopped
    as the recorder started) is not filed: its recording, which every reader
    refuses, moves out of the study's sessions and its number is free again.
    The line saying so, or None when the session has samples to file."""
    from .._logging import logger

    summary = getattr(session, "summary", None)
    if getattr(summary, "recording", None) is None or summary.n_samples:
        return None
    number = prog.paths.session
    try:
        summary.recording, freed = prog.set_aside()
    except OSError as err:  # it stays where it is, filed as before
        logger.warning("Could not move the recording of no sample out of the study: %s", err)
        return None
    session.recording = summary.recording
    kept = ("its number is free again" if freed else
            f"its folder {prog.paths.folder} holds other files, so the number stays taken")
    return (f"not filed: the session ended before its first sample, so it is not session "
            f"{number:02d} of sub-{prog.paths.participant} ({kept}); its recording is kept "
            "outside the study's sessions")


def pre_check(args, config):
    """``--check``: the signal check on its own connection to the source, before the session."""
    import sys

    from ..check import run_check

    report = run_check(make_source(args, config), config, args.check_seconds,
                       progress=lambda text: print(f"signal check: {text}", file=sys.stderr,
                                                   flush=True))
    for line in report.lines(color=sys.stdout.isatty()):
        print(line)
    if report.verdict != "go":
        names = ", ".join(c.name for c in report.to_fix)
        print(f"biofeedback: the signal check found electrodes to fix ({names}); fix them and "
              "start again, or leave out --check.", file=sys.stderr)
    return report
