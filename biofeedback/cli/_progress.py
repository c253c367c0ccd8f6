"""``biofeedback progress``: a participant's learning curves and whether they learn."""

from __future__ import annotations

from . import participant_argument

HELP = """\
Show a participant's progress over their sessions under a study root; without
an ID, every participant's in one line each (sessions, last session, the
trained measure's slope per session with its 95 % interval, and whether they
learn), for a coach who looks after several people.

The report (one self-contained HTML file: figures embedded, opens offline)
holds the learning curve (the trained measure in every training and transfer
block, relative to each session's own baseline, in baseline SDs), time in
target, reward rate and artifact share per session, the trends across and
within sessions with 95 % intervals, a plain sentence on whether the person
is learning (learner: a significantly positive slope across sessions,
Alkoby et al. 2018), and the integrity of every session.

--json prints one object instead: participant, sessions (one entry each),
trend {metric, slope_per_session, ci95 [lo, hi], p, learner}, transfer_trend,
within_session, verdict, running_sessions (sessions still running: left out
of everything else until they end, and said in a line before the verdict),
other_note (the sessions that trained another measure, also said in a line
before the verdict), short_note (the sessions with too little training to
count in the trends: fewer clean training windows than half a whole
session's, as one ended a few windows into training; listed, drawn and said
in a line, but left out of the slope).

Examples:
  biofeedback progress                                   # everyone under ./recordings
  biofeedback progress demo                              # ./recordings/progress-demo.html
  biofeedback progress demo --root study --out demo.html
  biofeedback progress demo --json | python -m json.tool
  biofeedback simulate learner --participant sim01 --sessions 8 --root study
  biofeedback progress sim01 --root study --json
"""


def add_parser(sub):
    p = sub.add_parser("progress", help="a participant's learning curves and trends "
                                        "(without ID: everyone, one line each)",
                       description=HELP)
    participant_argument(p, "participant ID (letters and digits); without it, every "
                            "participant in one line each")
    p.add_argument("--root", metavar="DIR",
                   help="study root (default: $BIOFEEDBACK_ROOT or ./recordings)")
    p.add_argument("--json", action="store_true", help="print the progress as one JSON object")
    p.add_argument("--out", metavar="FILE.html",
                   help="where to write the report (default: <root>/progress-<ID>.html)")
    p.set_defaults(func=run)


def run(args) -> int:
    from .._json import dumps
    from ..library._layout import existing_study_root
    from ..library._progress import progress, to_json
    from ..library._progress_html import write_progress_html

    root = existing_study_root(args.root)
    if args.participant is None:
        if args.out:
            from ..library._layout import StudyError

            raise StudyError("--out names one participant's report: give their ID too "
                             "(biofeedback progress ID --out FILE.html).")
        return _everyone(root, args.json)
    if args.out:  # a place that takes no file is said now, not after the report is built
        from .._outputs import check_output

        check_output(args.out, overwrite=True)
    p = progress(args.participant, root)
    if args.json:
        print(dumps(to_json(p), indent=2))
        if not args.out:
            return 0
    out = args.out or f"{p['root']}/progress-{p['participant']}.html"
    try:
        path = write_progress_html(p, out)
    except OSError as err:  # a read-only study (an archive, a share): say where to write
        from ..library._layout import StudyError

        raise StudyError(f"Cannot write the report {out} ({err.strerror or err}); give "
                         "--out FILE.html in a folder you can write to.") from None
    if not args.json:
        for note in (p["running_note"], p["other_note"], p["short_note"]):
            if note:
                print(note)
        print(p["verdict"])
        print(f"report: {path}")
    return 0


def _everyone(root, as_json) -> int:
    """Every participant in one line each (``progress`` without an ID)."""
    from .._json import dumps
    from ..library._progress import overview

    rows = overview(root)
    if as_json:
        print(dumps({"root": str(root), "participants": rows}, indent=2))
        return 0
    if not rows:
        print(f"No sessions of any participant under {root}.")
        return 0

    def slope(r):
        s, (lo, hi) = r["slope_per_session"], r["ci95"]
        if s is None:
            return f"{'-':>8}  {'-':<16}"
        return f"{s:>+8.2f}  {f'{lo:+.2f} to {hi:+.2f}':<16}"

    wp = max(11, *(len(r["participant"]) for r in rows))
    wt = max([6, *(len(f"{r['target']} {r['direction']}") for r in rows if r["target"])])
    print(f"{'participant':<{wp}} {'sessions':>8}  {'last session':<16}  {'trains':<{wt}} "
          f"{'SD/session':>10}  {'95 % interval':<16}  learner")
    for r in rows:
        last = (r["last_session"] or "-")[:16].replace("T", " ")
        status = r["status"] + (f" ({r['n_trend']} of 3 sessions)"
                                if r["status"] == "too early" else "")
        if r["running_sessions"]:  # left out of the figures until it ends
            now = "session " + ", ".join(map(str, r["running_sessions"])) + " running"
            status = now if r["status"] == "running" else f"{status}; {now}"
        trains = f"{r['target']} {r['direction']}" if r["target"] else "-"
        print(f"{r['participant']:<{wp}} {r['n_sessions']:>8}  {last:<16}  "
              f"{trains:<{wt}} {slope(r)}  {status}")
    print("Trend of the trained measure in training, relative to each session's baseline, in "
          "its SDs per session; 'biofeedback progress ID' writes one participant's report.")
    return 0
