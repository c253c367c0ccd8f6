"""``biofeedback dashboard``: the live page for another process's session or any LSL stream."""

from __future__ import annotations

from . import BOARD, PIPELINE, number

HELP = """\
Show the live dashboard (traces, spectra, estimates, cues, electrodes) for a
session running in another process, or for any LSL EEG stream.

It reads the LSL streams a session publishes (EEG, Estimates, Cues, Markers).
A stream that is not one of ours (muse-lsl, OpenBCI GUI...) gets its
estimates and channel quality from the same engine and pipeline a session
would use. The page is served on 127.0.0.1 with a random token in its URL;
requests without the token are refused. Stop with Ctrl-C.

Examples:
  biofeedback dashboard                          # the session's stream, biofeedback-EEG
  biofeedback dashboard --lsl Muse --board muse_2     # muse-lsl's stream
  biofeedback dashboard --lsl '' --lsl-type EEG  # the first EEG stream on the network
  biofeedback dashboard --port 9000 --no-browser
  biofeedback dashboard --participant sim01 --root study   # + their last sessions
"""


def add_dashboard_args(p, with_flag=False):
    """--host, --port, --no-browser (and --dashboard for commands where it is optional)."""
    g = p.add_argument_group("dashboard (needs the 'dashboard' extra: pip install "
                             "'biofeedback[dashboard]')")
    if with_flag:
        g.add_argument("--dashboard", action="store_true",
                       help="serve the live dashboard in the browser")
    g.add_argument("--host", default="127.0.0.1",
                   help="address the dashboard listens on (default: 127.0.0.1, this machine "
                        "only)")
    g.add_argument("--port", type=number(0, 65535, integer=True), default=8765,
                   help="port to try first (default: 8765; a free one if it is taken; "
                        "0: any free port)")
    g.add_argument("--no-browser", dest="no_browser", action="store_true",
                   help="print the URL without opening a browser")


def start_dashboard(args, title="biofeedback", server=None):
    """Start a DashboardServer (``server``, or a new one), print its URL, open the
    browser unless told not to."""
    from ..dashboard import DashboardServer
    from ..dashboard._server import _loopback

    if server is None:
        server = DashboardServer(host=args.host, port=args.port, title=title)
    url = server.start()
    if server.port_note:
        print(server.port_note, flush=True)
    print(f"dashboard: {url}", flush=True)
    if not _loopback(args.host):
        print(f"dashboard: listening on {args.host}, not only this machine: anyone who can "
              "reach it and has the URL (its token) can watch and stop the session, over "
              "plain HTTP", flush=True)
    if not args.no_browser:  # every parser that starts one has add_dashboard_args
        import threading
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    return server


def add_parser(sub):
    p = sub.add_parser("dashboard", help="the live page for another session or an LSL stream",
                       description=HELP)
    p.add_argument("--lsl", metavar="NAME", default="biofeedback-EEG",
                   help="the EEG stream's name (default: biofeedback-EEG; '' resolves by type)")
    p.add_argument("--lsl-type", dest="lsl_type", metavar="TYPE", default="EEG",
                   help="with --lsl '': the stream type (default: EEG)")
    p.add_argument("--board", metavar="NAME",
                   help=f"the headset's board profile when the stream's metadata do not "
                        f"say: {BOARD}")
    p.add_argument("--pipeline", metavar="FILE",
                   help=f"filters and, for foreign streams, the estimates: {PIPELINE} "
                        "(default: the shipped default)")
    p.add_argument("--lsl-timeout", dest="lsl_timeout", type=number(), default=5.0, metavar="S",
                   help="seconds to wait for the stream (default: 5)")
    p.add_argument("--duration", type=number(), metavar="S",
                   help="stop after S seconds (default: run until Ctrl-C)")
    p.add_argument("--participant", metavar="ID",
                   help="also show this participant's last sessions (from the study index)")
    p.add_argument("--root", metavar="DIR",
                   help="with --participant: the study root (default: $BIOFEEDBACK_ROOT or "
                        "./recordings)")
    add_dashboard_args(p)
    p.set_defaults(func=run)


def _say_if_no_sessions(participant, root):
    """Warn, in one line, when the study holds no session of ``participant``: the
    page still follows the stream, without a history."""
    from .._logging import logger
    from ..library._index import StudyIndex

    with StudyIndex(root, read_only=True) as index:
        if not index.sessions(participant):
            logger.warning("%s The dashboard shows the stream without a session history.",
                           index.no_sessions(participant))


class _History:
    """A participant's session history on the page, sent again when it changes:
    a session running in another process ends (its row gets its figures) or
    another starts. The study is looked at every ``every`` seconds."""

    def __init__(self, server, participant, root, every=10.0):
        self.server, self.participant, self.root = server, participant, root
        self.every = every
        self._sent, self._due = None, float("-inf")
        self._following = None

    def refresh(self, now, following=None) -> bool:
        """Send the history if ``now`` is due and it changed; whether it was sent.

        ``following`` is the source id of the EEG stream the page shows: when
        it changes (another session), the history is looked at again at once,
        and a session that is another participant's is said."""
        from .._logging import logger
        from ..dashboard._feed import history_message

        if now < self._due and following == self._following:
            return False
        self._due = now + self.every
        self._following = following
        message = history_message(self.participant, self.root, sync=True,
                                  following=following)
        if message == self._sent:
            return False
        if message["other"] and message["other"] != (self._sent or {}).get("other"):
            logger.warning("%s", message["other"])
        self.server.publish(message)
        self._sent = message
        return True


def run(args) -> int:
    import threading
    import time

    from ..config import load_pipeline
    from ..dashboard import DashboardServer, LSLFeeder
    from ..features._plan import checked_pipeline
    from ..hardware import get_profile

    config = checked_pipeline(load_pipeline(args.pipeline))
    profile = get_profile(args.board) if args.board else None
    if args.participant:  # shown, never created: a typo in --root is said at once
        from ..library._layout import check_participant, existing_study_root

        check_participant(args.participant)
        args.root = existing_study_root(args.root)
        _say_if_no_sessions(args.participant, args.root)
    # the server's page takes messages before it serves: the stream is looked for
    # first, so a missing one is said alone, with no URL to a page that shows nothing
    server = DashboardServer(host=args.host, port=args.port, title=args.lsl or args.lsl_type)
    stop = threading.Event()
    server.add_action("stop", lambda text: stop.set())
    feeder = LSLFeeder(server, args.lsl or None, stream_type=args.lsl_type, profile=profile,
                       config=config, follow=True, timeout=args.lsl_timeout,
                       title=args.lsl or args.lsl_type)
    try:
        # a session running in another process is listed, as running, until it ends
        history = _History(server, args.participant, args.root) if args.participant else None
        if history is not None:
            history.refresh(time.monotonic())
        feeder.start()
        start_dashboard(args, server=server)
        name = feeder.source.stream_name
        print(f"following the LSL stream {name!r}; Ctrl-C to stop", flush=True)
        end = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set() and (end is None or time.monotonic() < end):
            stop.wait(0.2)
            if history is not None:
                history.refresh(time.monotonic(), feeder.source.source_id)
    finally:
        feeder.stop()
        server.publish({"type": "end", "text": "The dashboard has stopped."})
        time.sleep(0.2)
        server.stop()
    return 0
