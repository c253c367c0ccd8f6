"""``biofeedback boards``: the board profiles this installation knows."""

from __future__ import annotations

HELP = """\
List the board profiles (hardware/*.toml): name, rate, channels, connection.
Every board BrainFlow drives can also play a BrainFlow file of that board
through BrainFlow's playback board, to rehearse before the headset comes.

Examples:
  biofeedback boards
  biofeedback boards --json
  biofeedback live --board ganglion --playback-file ganglion.csv
"""


def add_parser(sub):
    p = sub.add_parser("boards", help="list supported boards",
                       description=HELP)
    p.add_argument("--json", action="store_true", help="print the profiles as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from .._json import dumps
    from ..hardware import list_profiles

    profiles = list_profiles()
    if args.json:
        print(dumps({n: p.to_dict() for n, p in profiles.items()}, indent=2))
        return 0
    print(f"{'name':<12} {'rate':>7}  {'channels':<34} {'connect':<8} needs")
    for name, p in profiles.items():
        rate = f"{p.sfreq:g} Hz" if p.sfreq else "stream"
        chans = ",".join(p.ch_names) if p.ch_names else "from the stream"
        if len(chans) > 34:
            chans = chans[:31] + "..."
        needs = " or ".join("--" + c.replace("_", "-") for c in p.connection_params)
        if p.connection == "lsl":
            needs = "--lsl NAME"
        print(f"{name:<12} {rate:>7}  {chans:<34} {p.connection:<8} {needs}")
    print("Rehearse without the headset: biofeedback live --board NAME --playback-file F.csv "
          "(a BrainFlow file of that board).")
    return 0
