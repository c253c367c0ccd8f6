"""``biofeedback sessions``: the history of a study, or of one participant."""

from __future__ import annotations

from . import PIPELINE, participant_argument

HELP = """\
List the sessions filed under a study root (from its index), in order:
participant, session (as its folder names it: 01, or pre for ses-pre), date,
protocol, status, duration, the measure trained and which way, how far it
moved that way in training relative to the session's baseline (in its
standard deviations: negative is the other way), time in target and artifact
share. A session stopped before its protocol's end
(Ctrl-C, SIGTERM) is listed as "partial", one killed mid-way as
"interrupted", one whose sidecar is missing as "no_sidecar", one still
running as "running" (its figures "-", null in --json, until it ends); a
line under the table says what each of these means for it. A session with too
little training to count in the trend across sessions (fewer clean training
windows than half a whole session's: one ended a few windows into training)
is said in a line too, as 'progress' leaves it out (in --json, "in_trend" is
false).

--add FILE files a recording made with another program or on another machine
as the participant's next session, on the day it was recorded: its date is
read from the file (Unix timestamps, an XDF header's date, an EDF's or FIF's
start date), and it is run through the engine and the --pipeline's protocol,
as a live session is, so its figures are the engine's. A file that does not
say when it was recorded is refused unless --date gives the day; one recorded
before the participant's latest session is refused too (sessions are numbered
in the order they were recorded: add the earlier ones first).

Examples:
  biofeedback sessions                     # everyone under ./recordings
  biofeedback sessions demo                # one participant
  biofeedback sessions demo --root study --json
  biofeedback sessions --add monday.xdf --participant demo --pipeline programme
  biofeedback sessions --add old.edf --participant demo --date 2026-11-02T10:00
"""


def add_parser(sub):
    p = sub.add_parser("sessions", help="list participants' sessions",
                       description=HELP)
    participant_argument(p, "only this participant")
    p.add_argument("--root", metavar="DIR",
                   help="study root (default: $BIOFEEDBACK_ROOT or ./recordings)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    add = p.add_argument_group("a recording made elsewhere, filed as a session")
    add.add_argument("--add", metavar="FILE",
                     help="file this recording as the participant's next session, dated "
                          "by the recording itself")
    add.add_argument("--date", metavar="YYYY-MM-DD[THH:MM]",
                     help="with --add: when it was recorded (local time unless an offset "
                          "is given); needed when the file does not say, and taken over "
                          "the file's own date when given")
    add.add_argument("--pipeline", metavar="FILE",
                     help=f"with --add: the pipeline whose protocol it is run through, "
                          f"{PIPELINE} (default: the shipped default)")
    add.add_argument("--protocol", metavar="NAME",
                     help="with --add: the task label (default: the pipeline's name)")
    p.set_defaults(func=run)


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _add(args) -> int:
    """``--add FILE``: a recording filed as the participant's next session."""
    from ..errors import BiofeedbackError
    from ..library._add import add_recording
    from ._simulate import _list

    if not args.participant:
        raise BiofeedbackError("--add files a recording as a participant's session: give "
                               "--participant ID.")
    rec = add_recording(args.add, args.participant, root=args.root, pipeline=args.pipeline,
                        protocol=args.protocol, date=args.date)
    if rec is None:
        raise BiofeedbackError(f"{args.add} was filed but could not be indexed; run "
                               "'biofeedback index --rebuild'.")
    _list([rec])
    print(f"recorded {(rec['started_at'] or '')[:16].replace('T', ' ')}")
    return 0


def run(args) -> int:
    from .._json import dumps
    from ..errors import BiofeedbackError

    if args.add:
        return _add(args)
    given = [o for o, v in (("--date", args.date), ("--pipeline", args.pipeline),
                            ("--protocol", args.protocol)) if v is not None]
    if given:
        raise BiofeedbackError(f"{given[0]} goes with --add FILE; 'sessions' alone only "
                               "lists.")
    from ..library._index import StudyIndex
    from ..library._layout import check_participant, existing_study_root, session_name

    pid = check_participant(args.participant) if args.participant else None
    with StudyIndex(existing_study_root(args.root), read_only=True) as index:
        index.sync(patience=3.0)  # sessions killed before they could index themselves
        rows = index.sessions(pid)
        root = index.root
        missing = index.no_sessions(pid) if pid and not rows else None
        counted_in, short = _in_trend(index, rows)
    if args.json:  # true and false, as progress --json says them (SQLite holds 0 and 1)
        print(dumps([{**r, **_no_figures(r), "simulated": bool(r["simulated"]),
                      "in_trend": (r["participant"], session_name(r)) in counted_in}
                     for r in rows], indent=2, default=str))
        return 0
    if not rows:
        print(missing or f"No sessions of any participant under {root}.")
        return 0
    # columns as wide as their longest entry: IDs, labels (ses-followup) and tasks
    # may be up to 64 characters
    wp = max(12, *(len(r["participant"]) for r in rows))
    ws = max(3, *(len(session_name(r)) for r in rows))
    wt = max(10, *(len(r["task"] or "") for r in rows))
    print(f"{'participant':<{wp}} {'ses':>{ws}}  {'date':<16} {'task':<{wt}} {'status':<11} "
          f"{'min':>5} {'trains':<16} {'trained (SD)':>12} {'in target':>9} {'artifacts':>9}")
    for r in rows:
        date = (r["started_at"] or "")[:16].replace("T", " ")
        dur = r["duration"] / 60 if r["duration"] is not None else None
        status = r["status"] + ("*" if r["simulated"] else "")
        label = session_name(r)  # as its folder names it
        figures = [_f(dur, '5.1f'), _f(r['regulation'], '+12.2f'),
                   _pct(r['time_in_target']), _pct(r['artifact_share'])]
        if r["status"] == "running":  # what it recorded so far: no session's figures yet
            figures = ["-"] * 4
        print(f"{r['participant']:<{wp}} {label:>{ws}}  {date:<16} {r['task'] or '':<{wt}} "
              f"{status:<11} {figures[0]:>5} {_trains(r):<16} {figures[1]:>12} "
              f"{figures[2]:>9} {figures[3]:>9}")
    if any(r["simulated"] for r in rows):
        print("* simulated")
    for line in _notes(rows):
        print(line)
    for who, note in short.items():  # as progress says it, before its verdict
        print(f"sub-{who}: {note}")
    return 0


def _in_trend(index, rows) -> tuple[set, dict]:
    """The sessions each participant's trend counts, as ``progress`` decides it:
    ``{(participant, session name)}``, and ``{participant: the sentence naming
    those it leaves out for too little training}``."""
    from ..library._progress import short_note, trend_sessions

    counted_in, notes = set(), {}
    for who in dict.fromkeys(r["participant"] for r in rows):
        finished = [r for r in rows if r["participant"] == who and r["status"] != "running"]
        names, short = trend_sessions(finished, index.blocks(who))
        counted_in |= {(who, n) for n in names}
        if short:
            notes[who] = short_note(short, finished)
    return counted_in, notes


def _no_figures(row) -> dict:
    """For a session still running, its figures as null: what it recorded so far is
    no session's figures yet (its table line shows "-")."""
    from ..library._index import FIGURE_COLS

    return dict.fromkeys(FIGURE_COLS) if row["status"] == "running" else {}


def _trains(row) -> str:
    """The measure a session trained and which way: ``"alpha_rel down"``."""
    if not row["target"]:
        return "-"
    return f"{row['target']} {'down' if row['direction'] == 'down' else 'up'}"


#: what a status other than complete means, said under the table
_STATUS = {
    "interrupted": "was killed before its end, so it has no summary: its blocks are read "
                   "from its recording",
    "no_sidecar": "has no sidecar: what it holds is read from its recording",
    "running": "is still running: its figures come when it ends",
}


def _notes(rows) -> list[str]:
    """A line for each session that did not end as its protocol planned, and for
    each whose recording is gone."""
    from ..library._layout import session_name

    out = []
    for r in rows:
        name = f"sub-{r['participant']} session {session_name(r)}"
        if r["status"] == "partial":  # the index's sentence says where it stopped
            said = next((w for w in r["warnings"] or [] if isinstance(w, str)
                         and w.startswith(name) and "ended early" in w), None)
            out.append(said or f"{name} ended before its protocol's end; what it recorded "
                                "is kept and counted.")
        elif r["status"] in _STATUS:
            out.append(f"{name} ({r['status']}) {_STATUS[r['status']]}.")
        # its recording deleted or moved by hand: said every time, not once
        out += [w for w in r["warnings"] or [] if isinstance(w, str)
                and "has lost its recording" in w]
    return out
