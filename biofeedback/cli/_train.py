"""``biofeedback train``: labelled recordings to a validated, saved model."""

from __future__ import annotations

import argparse

HELP = """\
Train a mental-state classifier on labelled recordings, validate it with
grouped cross-validation and save it with an HTML report.

Windows and features come from the live engine itself (same filters, windows,
features and quality gates as 'biofeedback live'), so the model sees live what
it saw in training. Gated windows are left out unless --gated include.

Validation holds out whole subjects (--cv loso, the default) or sessions
(--cv loso-session), never random windows: overlapping windows of one
recording on both sides of a split inflate the score. It reports balanced
accuracy against chance, per fold, without calibration and with a per-user
baseline (the first --baseline seconds of each of the held-out user's
recordings centre the features; only later windows are scored), each window
alone and with the class probabilities averaged over the last --smooth
seconds, as the live engine does with the saved model.

Examples:
  biofeedback train ../shared/data/muse-mental-state/*.csv --out muse.bfm
  biofeedback train ../shared/data/muse-mental-state/*.csv --calibration 20 --smooth 10 \\
      --out muse-calibrated.bfm
  biofeedback train recs/ --labels-from filename --pattern "{subject}_{label}_{session}" \\
      --model lda --out model.bfm --report model.html
  biofeedback train recs/*.xdf --labels-from markers --out model.bfm
  biofeedback train --labels-from manifest --manifest labels.csv --out model.bfm
  biofeedback train big/ --scheduler tcp://10.0.0.5:8786 --out cohort.bfm
  biofeedback live --board muse_2 --model muse.bfm
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
                   help="CSV with columns path,label[,subject,session]")
    g.add_argument("--marker-labels", metavar="A,B", default=None,
                   help="with markers: the marker texts that are classes (default: all)")
    g.add_argument("--profile", metavar="NAME",
                   help="board profile when files do not say (see 'biofeedback boards')")
    g.add_argument("--gated", choices=("exclude", "include"), default="exclude",
                   help="leave out windows the quality gates flag (default: cues only ever "
                        "come from clean windows) or keep them")
    x = p.add_argument_group("execution")
    x.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                   help="processes for feature extraction (default: one per core)")
    x.add_argument("--scheduler", metavar="ADDRESS",
                   help="run feature extraction on this Dask scheduler")
    x.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")


def add_parser(sub):
    from ..estimators import CLASSIFIERS
    from ..training._model import DEFAULT_SMOOTH

    p = sub.add_parser("train", help="train and validate a classifier on recordings",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recordings", nargs="*", metavar="RECORDING",
                   help="recording files or folders")
    p.add_argument("--out", required=True, metavar="MODEL", help="model file to write (.bfm)")
    p.add_argument("--model", default="logreg", choices=list(CLASSIFIERS),
                   help="classifier (default: logreg)")
    p.add_argument("--pipeline", metavar="FILE",
                   help="pipeline TOML: windows, filters, features (default: the shipped one)")
    p.add_argument("--cv", choices=("loso", "loso-session", "none"), default="loso",
                   help="grouped cross-validation (default: loso, leave one subject out)")
    p.add_argument("--baseline", type=float, default=20.0, metavar="S",
                   help="seconds at the start of each recording used as the per-user "
                        "baseline in validation (default: 20; 0 turns it off)")
    p.add_argument("--calibration", type=float, default=0.0, metavar="S",
                   help="save a model that needs a per-user baseline of S seconds per "
                        "recording before use (default: 0, none)")
    p.add_argument("--calibration-method", choices=("center", "zscore"), default="center",
                   help="subtract the baseline mean (default), or also divide by its "
                        "standard deviation")
    p.add_argument("--smooth", type=float, default=DEFAULT_SMOOTH, metavar="S",
                   help="time constant in seconds of the causal moving average of class "
                        f"probabilities the engine applies (default: {DEFAULT_SMOOTH:g}; "
                        "0 scores each window alone)")
    p.add_argument("--report", metavar="FILE.html",
                   help="HTML report (default: beside the model, MODEL.html)")
    add_labels_args(p)
    p.set_defaults(func=run)


def load_dataset(args, config, need_windows=False, profile=None, min_classes=2):
    """Label and extract the recordings the arguments name."""
    from ..training import extract_dataset, label_files

    files = label_files(args.recordings, args.labels_from, args.pattern, args.manifest,
                        min_classes=min_classes)
    marker_labels = args.marker_labels.split(",") if args.marker_labels else None
    return extract_dataset(
        files, config, profile=args.profile or profile, gated=args.gated,
        need_windows=need_windows, n_jobs=args.n_jobs, scheduler=args.scheduler,
        progress=not args.quiet, marker_labels=marker_labels, min_classes=min_classes,
    )


def run(args) -> int:
    from pathlib import Path

    from .._logging import logger
    from ..config import load_pipeline
    from ..estimators import CLASSIFIERS
    from ..training import cross_validate, fit_model, random_split_score, save_model
    from ..training._report import format_table, write_report

    config = load_pipeline(args.pipeline)
    spec = CLASSIFIERS[args.model]
    ds = load_dataset(args, config, need_windows=spec.input == "windows")
    results = {}
    random_split = None
    baseline = args.baseline if spec.input == "features" else 0.0
    smooth, method = args.smooth, args.calibration_method
    if args.cv != "none":
        key = ds.subject if args.cv == "loso" else ds.session
        if len(set(key.tolist())) < 2 and args.cv == "loso":
            logger.warning("One subject only: skipping leave-one-subject-out validation.")
        else:
            def cv(**kw):
                return cross_validate(ds, args.model, cv=args.cv, **kw)

            results["all windows"] = cv()
            if baseline:
                results[f"after {baseline:g} s"] = cv(score_after=baseline)
                results[f"calibrated {baseline:g} s"] = cv(
                    calibration=baseline, calibration_method=method)
            if smooth:
                results[f"smoothed {smooth:g} s"] = cv(score_after=baseline or None,
                                                       smooth=smooth)
            if smooth and baseline:
                results["calibrated+smoothed"] = cv(
                    calibration=baseline, calibration_method=method, smooth=smooth)
            random_split = random_split_score(ds, args.model)
    model = fit_model(ds, args.model, calibration=args.calibration or None,
                      calibration_method=method, smooth=smooth)
    metrics = {title: r.to_dict() for title, r in results.items()}
    if random_split is not None:
        metrics["random_split_leaky"] = random_split
    out = save_model(model, args.out, metrics=metrics)
    report = Path(args.report) if args.report else out.with_suffix(".html")
    write_report(report, ds, model, results, random_split=random_split, model_file=out)
    if not args.quiet:
        s = ds.summary()
        print(f"{s['n_windows']} windows from {s['n_recordings']} recordings "
              f"({s['n_gated_dropped']} gated windows left out); classes "
              f"{', '.join(ds.classes)}.")
        if results:
            for line in format_table(results):
                print(line)
            print(f"(shuffled windows would report {random_split:.2f}: a leak, "
                  "not a result)")
        print(f"Report: {report}")
    print(f"Model: {out}")
    return 0
