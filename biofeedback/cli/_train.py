"""``biofeedback train``: labelled recordings to a validated, saved model."""

from __future__ import annotations

from .._words import agree, counted, listed
from . import BOARD, PIPELINE, jobs, number

HELP = """\
Train a mental-state classifier on labelled recordings, validate it as a live
session would run it, and save it with an HTML report.

Windows and features come from the live engine itself (same filters, windows,
features and quality gates as 'biofeedback live'), so the model sees live what
it saw in training. Gated windows are left out unless --gated include.

The default classifier (lda) reads only the channels the quality gates keep
in each window, each centred on its own level and pooled per band, so it
cannot learn which electrode had poor contact; --classifier lda-channels (and
logreg, rf, hgb) read every channel, left-out ones included, and are for
comparison.

Validation holds out whole people (--cv loso, the default), sessions, or days
(--cv new-day: a returning user on a new day; --cv new-person-new-day), never
random windows: overlapping windows of one recording on both sides of a split
inflate the score. Each held-out person is scored as a live session runs:
calibration only on the pipeline protocol's blocks before feedback (replayed
from the person's recordings of the states those blocks ask for), class
probabilities through the engine's causal state filter (--dwell), on
sustained states and on a stream that switches state every --switch-every
seconds (balanced accuracy, accuracy in the first 10 s after a switch, median
lag until the output follows).

Examples:
  biofeedback train ../shared/data/muse-mental-state/*.csv --out muse.bfm
  biofeedback train ../shared/data/muse-mental-state/*.csv --classifier lda-channels \\
      --switch-every 20 --out muse-channels.bfm
  biofeedback train recs/*.csv --pipeline guided.toml --calibration protocol --out cal.bfm
  biofeedback train recs/ --pattern "{subject}_{label}_{session}" --cv new-day --out m.bfm
  biofeedback train recs/*.xdf --labels-from markers --out model.bfm
  biofeedback train --labels-from manifest --manifest labels.csv --out model.bfm
  biofeedback train big/ --scheduler tcp://10.0.0.5:8786 --out cohort.bfm
  biofeedback live --board muse_2 --model muse.bfm

A guided calibration protocol (guided.toml) holds, before its training blocks:
  [[feedback.blocks]]
  name = "calm"
  kind = "calibration"
  state = "relaxed"          # a class of the model
  duration = 20.0
  instructions = "Relax."
"""


def add_labels_args(p):
    """Arguments naming where labels come from (shared with evaluate)."""
    g = p.add_argument_group("labels")
    g.add_argument("--labels-from", choices=("filename", "markers", "manifest"),
                   default="filename", help="where labels come from (default: filename)")
    g.add_argument("--pattern", default="{subject}-{label}-{session}",
                   help="file-name pattern without extension "
                        "(default: {subject}-{label}-{session})")
    g.add_argument("--manifest", metavar="CSV",
                   help="with --labels-from manifest: CSV with columns path,label "
                        "[,subject,session]: one row per recording, or with start,stop "
                        "columns (seconds from its first sample) one per labelled stretch")
    g.add_argument("--marker-labels", metavar="A,B", default=None,
                   help="with --labels-from markers: the marker texts that are classes "
                        "(default: all)")
    g.add_argument("--ignore-markers", metavar="A,B", default=None,
                   help="with --labels-from markers: marker texts that neither label "
                        "windows nor end a stretch (e.g. trigger codes 1,2)")
    g.add_argument("--profile", metavar="NAME",
                   help=f"the board profile when the files do not say: {BOARD}")
    g.add_argument("--stream", metavar="NAME",
                   help="XDF files with several EEG streams: the name of the one to read "
                        "(default: the one with the most samples, said in a warning)")
    g.add_argument("--gated", choices=("exclude", "include"), default="exclude",
                   help="leave out windows the quality gates flag (default: cues only ever "
                        "come from clean windows) or keep them")
    x = p.add_argument_group("execution")
    x.add_argument("--n-jobs", type=jobs, default=-1, metavar="N",
                   help="processes for feature extraction (default: -1, one per core); "
                        "used from 3 h of recordings on: below that one process is faster "
                        "than starting workers")
    x.add_argument("--scheduler", metavar="ADDRESS",
                   help="run feature extraction on the Dask scheduler at ADDRESS "
                        "(tcp://HOST:PORT; needs biofeedback[dask]), reached before any "
                        "recording is read")
    x.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar, table or notes: only the result's one line "
                        "(train: the model's path; evaluate: the balanced accuracy)")


#: --switch-every when not given: seconds between the switches of the streams
#: built from one-state recordings.
SWITCH_EVERY = 30.0
#: The names of :data:`biofeedback.estimators.CLASSIFIERS`, spelled out so that
#: ``--help`` need not import scikit-learn (a test keeps the two equal).
CLASSIFIER_NAMES = ("logreg", "lda", "lda-channels", "rf", "hgb", "riemann")


def add_parser(sub):
    p = sub.add_parser("train", help="train and validate a classifier on recordings",
                       description=HELP)
    p.add_argument("recordings", nargs="*", metavar="RECORDING",
                   help="recording files or folders, labelled as --labels-from says "
                        "(default: by file name, see --pattern)")
    p.add_argument("--out", required=True, metavar="MODEL",
                   help="model file to write (.bfm); an existing one is replaced, as "
                        "reports are, once training succeeded")
    p.add_argument("--classifier", "--model", dest="model", default="lda",
                   choices=CLASSIFIER_NAMES, metavar="NAME",
                   help="the classifier: lda (the default: it reads only the channels the "
                        "quality gates keep), lda-channels (every channel), logreg, rf, hgb "
                        "or riemann (--model is its older name; elsewhere --model is a "
                        "model file)")
    p.add_argument("--pipeline", metavar="FILE",
                   help=f"windows, filters, features and protocol: {PIPELINE} (default: "
                        "the shipped default)")
    p.add_argument("--cv", choices=("loso", "loso-session", "new-day", "new-person-new-day",
                                    "none"), default="loso",
                   help="what validation holds out, never random windows (default: loso). "
                        "loso: each person in turn, trained on everyone else (a new "
                        "person); loso-session: each session of each person, trained on "
                        "every other session; new-day: each person's last session, trained "
                        "on their earlier ones and everyone else's (a returning user); "
                        "new-person-new-day: each person's last session, trained on the "
                        "other people only; none: no validation, the model alone")
    p.add_argument("--calibration", choices=("none", "protocol"), default="none",
                   help="save a model centred on the protocol's blocks before feedback "
                        "(default: none)")
    p.add_argument("--calibration-method", choices=("center", "zscore"), default="center",
                   help="subtract the calibration mean (default), or also divide by its "
                        "standard deviation")
    p.add_argument("--dwell", type=number(0), default=None, metavar="S",
                   help="expected seconds a state lasts, for the engine's state filter "
                        "(default: the protocol's training block length; 0: each window "
                        "alone)")
    p.add_argument("--evidence-weight", type=_evidence_weight, default="auto", metavar="G",
                   help="how much one window's probabilities count in the state filter, "
                        "above 0 and at most 1; larger follows a switch sooner and holds a "
                        "state less (default: auto, chosen among hop / window, hop / Welch "
                        "segment and 1 (0.25, 0.5, 1) by leave-one-subject-out on the "
                        "switching streams, nested inside each validation fold; hop / "
                        "window with --cv none or when it cannot be chosen)")
    p.add_argument("--switch-every", type=number(0), default=None, metavar="S",
                   help="also score streams switching state every S seconds, built from "
                        "the one-state recordings (default: 30; 0: off; else at least "
                        "one window)")
    p.add_argument("--report", metavar="FILE.html",
                   help="HTML report (default: beside the model, MODEL.html)")
    add_labels_args(p)
    p.intermixed = True  # recordings on both sides of options
    p.set_defaults(func=run)


def _evidence_weight(text):
    """``auto`` or a number above 0 and at most 1."""
    return "auto" if text == "auto" else number(maximum=1)(text)


def check_label_args(args):
    """Options one label source reads given with another are refused: they were
    left out without a word (recordings beside a manifest were not trained on)."""
    from ..training._labels import DatasetError

    source = {"filename": "file names"}.get(args.labels_from, args.labels_from)
    if args.labels_from == "manifest" and args.recordings:
        them = agree(len(args.recordings), "it", "them")
        raise DatasetError(
            f"With --labels-from manifest the manifest lists the recordings, so "
            f"{listed(args.recordings, 2)} "
            f"would not be read; add {them} to the manifest, or leave {them} out.")
    if args.manifest and args.labels_from != "manifest":
        raise DatasetError(
            f"--manifest is read only with --labels-from manifest (labels now come from "
            f"{source}); add --labels-from manifest, or leave out --manifest.")
    for opt in ("marker_labels", "ignore_markers"):
        if getattr(args, opt) and args.labels_from != "markers":
            flag = "--" + opt.replace("_", "-")
            raise DatasetError(
                f"{flag} is read only with --labels-from markers (labels now come "
                f"from {source}); add --labels-from markers, or leave out {flag}.")


def load_dataset(args, config, need_windows=False, profile=None, min_classes=2,
                 label_by="inside", expect=None, ch_names=None):
    """Label and extract the recordings the arguments name."""
    import contextlib

    from ..training import extract_dataset, label_files
    from ..training._workers import connect_scheduler

    check_label_args(args)
    given = getattr(args, "switch_every", None)  # None: not given, the default
    if hasattr(args, "switch_every") and given is None:
        args.switch_every = SWITCH_EVERY
    switch = getattr(args, "switch_every", 0) or 0
    if switch and switch < config.window.length:
        from ..training._labels import DatasetError

        raise DatasetError(
            f"--switch-every {switch:g} is shorter than one {config.window.length:g} s "
            "window, so no window would hold one state; give at least "
            f"{config.window.length:g} s, or 0 to score no switching streams.")
    with contextlib.ExitStack() as stack:
        # the scheduler is reached first: an address that answers nothing is said
        # before the recordings are read, not after
        scheduler = (stack.enter_context(connect_scheduler(args.scheduler))
                     if args.scheduler else None)
        files = label_files(args.recordings, args.labels_from, args.pattern,
                            args.manifest, min_classes=min_classes)
        marker_labels, ignore_markers = (
            [m.strip() for m in opt.split(",") if m.strip()] if opt else None
            for opt in (args.marker_labels, args.ignore_markers))
        ds = extract_dataset(
            files, config, profile=args.profile or profile, gated=args.gated,
            need_windows=need_windows, n_jobs=args.n_jobs, scheduler=scheduler,
            progress=not args.quiet, marker_labels=marker_labels,
            min_classes=min_classes, label_by=label_by, expect=expect, stream=args.stream,
            ignore_markers=ignore_markers, ch_names=ch_names,
        )
    from ..training._streams import SCORE_AFTER

    warning = ds.long_switch_warning(switch, SCORE_AFTER)
    if given and all(f.label is None for f in ds.files):
        # sessions labelled over time are scored as they switch
        how = ("a manifest's stretches" if args.labels_from == "manifest"
               else "--labels-from markers")
        warning = (f"--switch-every {given:g} is not used: recordings labelled over time "
                   f"({how}) are scored as they switch, not as streams built from "
                   "one-state recordings.")
    if warning:
        from .._logging import logger

        logger.warning(warning)
    return ds


def protocol_plan(config, method, ds, spec, required):
    """The protocol's calibration plan, or None with the reason it cannot be replayed."""
    from ..training._calibration import CalibrationPlan
    from ..training._labels import DatasetError

    plan = CalibrationPlan.from_protocol(config.feedback, method)
    why = None
    if spec.input == "windows":
        why = "window-input models are not calibrated"
    elif any(f.label is None for f in ds.files):
        from ..training._calibration import OVER_TIME_NOT_REPLAYED

        why = OVER_TIME_NOT_REPLAYED
    elif not plan:
        why = "the protocol has no block before feedback"
    elif None in plan.states:
        why = ("the protocol's baseline block names no state, so it cannot be replayed "
               "from labelled recordings (give it state = \"<class>\")")
    if why is None:
        try:
            from ..training._calibration import blocks_before_feedback

            plan.check(ds.window_length, ds.classes, where="the pipeline's protocol",
                       names=[b.name for b in blocks_before_feedback(config.feedback)])
        except DatasetError as err:
            why = str(err)
    if why and required:
        raise DatasetError(f"--calibration protocol: {why[0].lower()}{why[1:].rstrip('.')}.")
    return (None, why) if why else (plan, None)


def run(args) -> int:
    from pathlib import Path

    from .._logging import logger
    from .._outputs import OutputExistsError, check_output
    from ..config import load_pipeline
    from ..estimators import CLASSIFIERS
    from ..training import (
        evidence_grid,
        fit_model,
        random_split_score,
        save_model,
        select_evidence,
    )
    from ..training._fit import default_dwell
    from ..training._report import format_counts, format_table, scored_what, write_report
    from ..training._validation import cross_validate_dwells
    from ..training._warnings import pooled_share_warning

    # the outputs are checked before the long work, not when they are written
    out_path = check_output(args.out, overwrite=True)
    report = check_output(args.report or out_path.with_suffix(".html"), overwrite=True)
    if report.resolve() == out_path.resolve():
        raise OutputExistsError(f"The report would be written over the model {out_path}; "
                                "name the model MODEL.bfm, or the report with --report.")
    from ..features._plan import checked_pipeline

    config = checked_pipeline(load_pipeline(args.pipeline))
    spec = CLASSIFIERS[args.model]
    if args.calibration == "protocol":  # what the pipeline alone decides: before the long work
        from ..training._calibration import CalibrationPlan, blocks_before_feedback
        from ..training._labels import DatasetError

        try:
            CalibrationPlan.from_protocol(config.feedback, args.calibration_method).check(
                config.window.length,
                where=Path(config.fname).name if config.fname else "the pipeline's protocol",
                names=[b.name for b in blocks_before_feedback(config.feedback)])
        except DatasetError as err:
            text = str(err)
            raise DatasetError(f"--calibration protocol: {text[0].lower()}{text[1:]}") from None
    ds = load_dataset(args, config, need_windows=spec.input == "windows")
    for warning in (ds.electrode_warning(), ds.unbalanced_warning(), ds.one_class_warning(),
                    ds.unscored_days_warning(args.cv), ds.session_dates_warning(args.cv),
                    ds.same_day_warning(args.cv)):
        if warning:
            logger.warning(warning)
    dwell = default_dwell(config) if args.dwell is None else args.dwell
    plan, why = protocol_plan(config, args.calibration_method, ds, spec,
                              required=args.calibration == "protocol")
    switch = args.switch_every or None
    if switch and all(f.label is None for f in ds.files):
        switch = None  # recordings labelled over time are scored as they switch
    evidence, grid = args.evidence_weight, None
    if evidence == "auto":
        evidence = None  # hop / window unless it can be chosen below
        # chosen by holding people out, so only when validating
        if args.cv != "none" and dwell and switch and len(set(ds.subject.tolist())) >= 2:
            grid = evidence_grid(config)
    results = {}
    random_split = None
    if args.cv != "none":
        key = ds.subject if args.cv == "loso" else ds.session
        if len(set(key.tolist())) < 2 and args.cv == "loso":
            logger.warning("One subject only: skipping leave-one-subject-out validation.")
        else:
            def cv(calibration=None):
                # each fold is fitted once, scored with and without the filter
                return cross_validate_dwells(ds, args.model, (0.0, dwell) if dwell else (0.0,),
                                             cv=args.cv, switch_every=switch,
                                             evidence=grid or evidence,
                                             calibration=calibration)

            results.update(zip(("window alone", f"filter {dwell:g} s"), cv()))
            if plan is not None:
                results.update(zip(("calibrated", "calibrated+filter"), cv(plan)))
            random_split = random_split_score(ds, args.model)
    model_plan = plan if args.calibration == "protocol" else None
    if grid:
        evidence = select_evidence(ds, args.model, dwell=dwell, grid=grid, plan=model_plan,
                                   switch_every=switch)
    model = fit_model(ds, args.model, calibration=model_plan, dwell=dwell, evidence=evidence,
                      switch_every=switch)
    from ..training._streams import SCORE_AFTER

    first = next(iter(results.values()), None)
    for warning in (ds.few_windows_warning(first.folds if first else ()),
                    ds.unscored_class_warning(first.counts, SCORE_AFTER) if first else None,
                    pooled_share_warning(first) if first else None):
        if warning:
            logger.warning(warning)
    metrics = {title: r.to_dict() for title, r in results.items()}
    if random_split is not None:
        metrics["random_split_leaky"] = random_split
    out = save_model(model, args.out, metrics=metrics)
    write_report(report, ds, model, results, random_split=random_split, model_file=out)
    if not args.quiet:
        s = ds.summary()
        print(f"{counted(s['n_windows'], 'window')} from {counted(s['n_recordings'], 'recording')} "
              f"({s['n_gated_dropped']} gated windows left out); classes "
              f"{', '.join(ds.classes)}.")
        if results:
            for line in format_table(results, scored_what(ds)):
                print(line)
            for line in format_counts(next(iter(results.values()))):
                print(line)
            if plan is not None:
                print(f"calibration: the protocol's blocks before feedback, {plan.describe()}")
            elif why:
                print(f"calibration not validated: {why}")
            print(f"(shuffled windows would report {random_split:.2f}: a leak, "
                  "not a result)")
        if grid and not any(r.switching for r in results.values()):
            print(f"state filter: evidence weight {evidence:g}: no validation stream "
                  "switches state, so the weight could not be chosen on them")
        elif grid:
            print(f"state filter: evidence weight {evidence:g}, chosen among "
                  f"{', '.join(f'{g:g}' for g in grid)} by leave-one-subject-out on "
                  f"switching streams ({_folds_chose(results, grid)})")
        print(f"report: {report}")
    print(f"model: {out}")
    return 0


def _folds_chose(results, grid):
    """How validation's folds came by their evidence weight, in words."""
    # the filtered runs' folds (uncalibrated and calibrated: the same folds)
    folds = next((r.folds for r in results.values()
                  if any("evidence_chosen" in f for f in r.folds)), [])
    fixed = [f for f in folds if not f["evidence_chosen"]]
    if not fixed:
        return "in validation, each fold chose on its own training subjects"
    if len(fixed) == len(folds):
        return (f"in validation, no fold could choose: each trained on one subject, "
                f"and a choice holds one out, so each used {grid[0]:g}")
    return (f"in validation, each fold chose on its own training subjects, but "
            f"{len(fixed)} of {len(folds)} folds trained on one subject and used "
            f"{grid[0]:g}")
