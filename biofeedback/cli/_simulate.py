"""``biofeedback simulate``: run a scripted headset scenario."""

from __future__ import annotations

from .._words import counted
from . import PIPELINE, number

HELP = """\
Run a scenario: a simulated headset whose mental state, artifacts and faults
are scripted (see docs/scenarios.md). SCENARIO is a .toml file or the name of
a shipped scenario (demo, relaxed_engaged, approach, artifacts, faults,
bad_contacts; learner and non_learner with --participant).
The same scenario and seed give the same data every time.

--out writes the delivered samples as a recording ('biofeedback replay' and
'info' read it) with the ground truth as markers ("state relaxed ...",
"event blink ...", "fault disconnect ...") and disconnects as gaps. A .csv
(BrainFlow's format, for 'live --playback-file') holds numeric markers only, so
the truth is left out of it (said in a warning): write --truth beside it.
--truth writes the truth as a table, one row per 0.1 s: time (recording
clock), the level (0-1) of each scripted state, and the events active then.
--lsl publishes the scenario in real time as an LSL stream NAME, with the
truth on a marker stream NAME-truth; --out and --truth are then on the
stream's LSL clock (on simulated time from the stream's start if --speed is
not 1). Without --lsl the scenario is computed at once (no waiting) and files
start at time 0.

--participant ID --sessions N runs a training programme in simulated time:
the scenario's [participant] (learner, non_learner) does the pipeline's
protocol N times through the live engine, protocol and cues, and each session
is filed and indexed under the study root exactly as 'biofeedback live
--participant ID' files it (see 'biofeedback progress'). Each person is seeded
from the scenario's seed and their ID (seed * 2**32 + CRC-32 of the ID), so
two people of one scenario differ and each is the same at every run; --seed N
seeds them all alike.

Examples:
  biofeedback simulate demo --out demo.xdf --truth demo_truth.csv
  biofeedback simulate pipelines/scenarios/faults.toml --out faults.xdf
  biofeedback simulate demo --lsl SimEEG            # then: biofeedback live --lsl SimEEG
  biofeedback simulate demo --lsl SimEEG --speed 4  # four times real time
  biofeedback simulate learner --participant sim01 --sessions 8 --root study
  biofeedback simulate non_learner --participant sim02 --sessions 8 --root study
"""


def add_parser(sub):
    p = sub.add_parser("simulate", help="run a scripted synthetic headset scenario",
                       description=HELP)
    p.add_argument("scenario", metavar="SCENARIO",
                   help="a scenario .toml or a shipped name (listed above)")
    p.add_argument("--lsl", metavar="NAME",
                   help="publish as an LSL stream NAME, in real time (default: compute "
                        "the scenario at once, publish nothing)")
    p.add_argument("--out", metavar="FILE",
                   help="write the recording (.xdf, .fif, .edf; .csv: BrainFlow's, "
                   "without the truth markers)")
    p.add_argument("--truth", metavar="FILE.csv", help="write the ground truth table")
    p.add_argument("--seed", type=number(0, integer=True), default=None, metavar="N",
                   help="the random seed, a whole number from 0 (default: the scenario's "
                        "own; with --participant, the scenario's own and the ID, so two "
                        "simulated people differ: N gives every ID the same data)")
    p.add_argument("--speed", type=number(), default=1.0, metavar="X",
                   help="with --lsl: speed factor (default: 1, real time)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out and --truth if they exist")
    prog = p.add_argument_group("a simulated training programme")
    prog.add_argument("--participant", metavar="ID",
                      help="file the sessions for this participant (letters and digits)")
    prog.add_argument("--sessions", type=number(1, integer=True), default=1, metavar="N",
                      help="with --participant: sessions to simulate (default: 1)")
    prog.add_argument("--root", metavar="DIR",
                      help="with --participant: the study root (default: $BIOFEEDBACK_ROOT "
                           "or ./recordings)")
    prog.add_argument("--pipeline", metavar="FILE",
                      help=f"with --participant: the pipeline whose protocol is run, "
                           f"{PIPELINE} (default: the shipped default)")
    prog.add_argument("--report", action="store_true",
                      help="with --participant: also write each session's HTML report "
                           "(as 'biofeedback report' does)")
    p.set_defaults(func=run)


def run(args) -> int:
    import dataclasses
    from pathlib import Path

    from ..errors import BiofeedbackError
    from ..simulate import LSLPublisher, read_scenario, simulate, write_truth

    if args.participant is not None:
        return _programme(args)
    scen = read_scenario(args.scenario)
    if args.seed is not None:
        scen = dataclasses.replace(scen, seed=args.seed)
    from .._outputs import check_output

    for fname in (args.out, args.truth):  # said now, not after minutes in real time
        if fname:
            check_output(fname, args.overwrite)
    if args.out:  # before the scenario runs (in real time with --lsl), not after
        from ..io._read import _WRITE_EXT

        ext = Path(args.out).suffix.lower()
        if ext not in _WRITE_EXT:
            raise BiofeedbackError(
                f"{args.out}: cannot tell the format from the extension {ext!r}; use one "
                f"of {', '.join(_WRITE_EXT)}.")
    sim = simulate(scen)
    t0 = 0.0
    if args.lsl:
        t0 = _publish(LSLPublisher(scen, args.lsl, speed=args.speed), sim)
    print(f"{scen.name}: {scen.board}, {scen.duration:g} s, seed {scen.seed}; "
          f"{counted(int(sim.delivered.sum()), 'sample')} delivered, {sim.n_lost} lost to packet "
          f"loss, {int(sim.disconnected.sum())} during disconnects, "
          f"{counted(len(sim.events), 'scripted event')}")
    if args.out:
        from ..io import write_recording

        rec = sim.to_recording(t0=t0)
        path = write_recording(rec, args.out, overwrite=args.overwrite)
        n_markers, n_gaps = len(rec.markers), len(rec.gaps)
        if _WRITE_EXT[ext] == "brainflow":  # its marker row holds numbers only
            from ..io._brainflow import marker_row_values

            n_markers = len(marker_row_values(rec.markers))
            # gaps show as steps in its timestamps: an outage at the end shows none
            n_gaps = sum(g.onset < rec.timestamps[-1] for g in rec.gaps)
        print(f"recording: {path} ({counted(n_markers, 'truth marker')}, "
              f"{counted(n_gaps, 'gap')})")
    if args.truth:
        path = write_truth(sim.truth_table(0.1, t0=t0), args.truth)
        print(f"truth: {path}")
    return 0


def _publish(pub, sim) -> float:
    """Publish in real time with a progress bar; return the stream's t0."""
    import time

    from .._logging import progress_bar
    from ..stream._pylsl import import_pylsl

    total = sim.scenario.duration
    with pub:
        print(f"publishing {pub.name!r} (source_id {pub.source_id}) and "
              f"{pub.name + '-truth'!r}; Ctrl-C stops")
        with progress_bar(total=round(total), unit="s", desc="simulated") as bar:
            while pub.running:
                time.sleep(0.5)
                done = min(total, (import_pylsl().local_clock() - pub.t0) * pub.speed)
                bar.update(round(done) - bar.n)
        pub.wait()
    return pub.t0


def _programme(args) -> int:
    """``--participant ID --sessions N``: simulated sessions, filed and indexed."""

    from ..errors import BiofeedbackError
    from ..library._progress import compare_line, progress
    from ..library._simulate import simulate_sessions
    from ..simulate import read_scenario

    if args.out or args.truth or args.lsl:
        raise BiofeedbackError("--participant files sessions under --root; it does not take "
                               "--out, --truth or --lsl.")
    scen = read_scenario(args.scenario)
    from ..session._watchdog import interrupt_on_signals

    try:
        # between sessions, SIGTERM and SIGHUP end it as Ctrl-C does (their default
        # action killed the process, a session's folder left behind)
        with interrupt_on_signals():
            records = simulate_sessions(scen, args.participant, args.sessions,
                                        root=args.root, pipeline=args.pipeline,
                                        report=args.report, seed=args.seed)
    except KeyboardInterrupt as err:  # a signal stopped a session: list what was filed
        if getattr(err, "records", None) is None:
            raise
        _list(err.records)
        raise
    _list(records)
    if records:
        p = progress(args.participant, args.root)
        print(compare_line(p))
        print(p["verdict"])
    return 0


def _list(records) -> None:
    """One line per simulated session filed."""
    import math

    for r in records:
        reg, tit = r["regulation"], r["time_in_target"]
        measure = (f"trained measure {reg:+.2f} SD vs baseline" if math.isfinite(reg)
                   else "no clean training window (every one gated)")
        target = f"{100 * tit:.0f}%" if math.isfinite(tit) else "n/a"
        print(f"sub-{r['participant']} ses-{r['session']:02d}: {r['status']}, {measure}, "
              f"time in target {target} -> {r['xdf']}", flush=True)
