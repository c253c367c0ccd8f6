"""``biofeedback index``: (re)build a study's index from its session files."""

from __future__ import annotations

from .._words import counted

HELP = """\
Show what a study's index holds, or rebuild it from the session files.

The index (<root>/biofeedback.sqlite) lists participants, sessions, blocks,
thresholds and integrity figures; the session files (XDF and sidecars) stay
the truth. --rebuild re-creates it from the files: after copying sessions in
by hand, after a crash, or to check it. A session killed mid-way is indexed
from what its sidecar and XDF hold; a session folder missing its sidecar is
indexed from its XDF, with a warning. A corrupt index, or one written by a
newer version, is moved aside and rebuilt whenever it is opened.

Examples:
  biofeedback index --rebuild
  biofeedback index --rebuild --root study
  biofeedback index --root study            # what the index holds
"""


def add_parser(sub):
    p = sub.add_parser("index", help="rebuild a study's session index from the files",
                       description=HELP)
    p.add_argument("--root", metavar="DIR",
                   help="study root (default: $BIOFEEDBACK_ROOT or ./recordings)")
    p.add_argument("--rebuild", action="store_true",
                   help="re-create the index from the session files (default: only say "
                        "what it holds)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..library._index import StudyIndex
    from ..library._layout import existing_study_root

    with StudyIndex(existing_study_root(args.root), read_only=not args.rebuild) as index:
        if args.rebuild:
            from .._logging import progress_bar

            with progress_bar(unit="session", desc="indexing", leave=False) as bar:
                def step(done, total):
                    bar.total = total
                    bar.update(done - bar.n)

                n = index.rebuild(progress=step)
            print(f"indexed {counted(n, 'session')} under {index.root} into {index.path}")
        rows = index.sessions()
        people = sorted({r["participant"] for r in rows})
        status = {}
        for r in rows:
            status[r["status"]] = status.get(r["status"], 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in sorted(status.items()))
        print(f"{index.path}: {counted(len(people), 'participant')}, "
              f"{counted(len(rows), 'session')}" + (f" ({parts})" if parts else ""))
    return 0
