"""``biofeedback evaluate``: score a saved model on labelled recordings."""

from __future__ import annotations

from .._words import counted
from . import number

HELP = """\
Score a saved model on labelled recordings it has not seen, as a live session
would run it.

The recordings go through the live engine with the pipeline stored in the
model (same filters, windows, features and quality gates), and the class
probabilities through the model's state filter, so the score is the one a
user would see live. Gated windows are left out unless --gated include.

What is scored:
  sustained states  one-state recordings (labels from file names, or a
                    manifest of one row per recording), after the first 20 s
                    of each recording: balanced accuracy, recall per class,
                    accuracy per subject
  switching states  a stream that switches state every --switch-every
                    seconds (default 30), built from those recordings; or
                    recordings labelled over time as they are (--labels-from
                    markers, or a manifest with start,stop columns; every
                    window labelled by the state at its end): balanced
                    accuracy over all windows, accuracy in the first 10 s
                    after each switch, median lag until the output follows

A model calibrated on its protocol's blocks before feedback is calibrated as
live: on one-state recordings, those blocks are replayed from each person's
recordings of the states they ask for; on a recorded session, on its first
seconds. Recordings the model was trained on (by file name, whatever the
format) or its training subjects are said in a warning: their score is not a
new one. --json prints one JSON object instead of the table; -q the balanced
accuracy alone.

Examples:
  biofeedback evaluate muse.bfm new_people/*.csv        # recordings train never saw
  biofeedback evaluate muse.bfm new_people/ --switch-every 20
  biofeedback evaluate new_people/*.csv --model muse.bfm  # --model, as live and replay
  biofeedback evaluate muse.bfm sessions/*.xdf --labels-from markers --json > scores.json
  biofeedback evaluate muse.bfm --labels-from manifest --manifest stretches.csv

A manifest of labelled stretches (stretches.csv), one row per stretch, paths
from the manifest's folder, start and stop in seconds from the first sample:
  path,label,start,stop
  new_people/s07.xdf,relaxed,0,60
  new_people/s07.xdf,focused,60,120
"""


def add_parser(sub):
    from ._train import add_labels_args

    p = sub.add_parser("evaluate", help="score a saved model on labelled recordings",
                       description=HELP)
    p.add_argument("model", metavar="MODEL", nargs="?",
                   help="model file from 'biofeedback train'")
    p.add_argument("recordings", nargs="*", metavar="RECORDING",
                   help="recording files or folders, labelled as --labels-from says "
                        "(default: by file name, see --pattern)")
    p.add_argument("--model", dest="model_file", metavar="FILE",
                   help="the model file, as live and replay take it (instead of MODEL)")
    g = p.add_argument_group("scoring")
    g.add_argument("--switch-every", type=number(0), default=None, metavar="S",
                   help="score streams switching state every S seconds built from "
                        "one-state recordings (default: 30; 0: off; else at least one "
                        "window)")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object (default: a table of the scores)")
    add_labels_args(p)
    p.intermixed = True  # recordings on both sides of options
    p.set_defaults(func=run)


def run(args) -> int:
    from .._json import dumps
    from ..training import evaluate_model, load_model
    from ..training._streams import SCORE_AFTER
    from ._train import check_label_args, load_dataset

    _which_model(args)
    check_label_args(args)  # before the model is read: the arguments come first
    model = load_model(args.model)  # refused here when its calibration cannot be computed
    quiet = args.quiet
    args.quiet = args.quiet or args.json  # no progress bar
    markers = args.labels_from != "filename"  # sessions labelled over time: by window end
    # scoring, unlike training, is fine on recordings of one class
    ds = load_dataset(args, model.config, need_windows=model.input == "windows",
                      profile=_model_profile(model, args), min_classes=1,
                      label_by="end" if markers else "inside", expect=_fits(model),
                      ch_names=model.ch_names)
    out = evaluate_model(model, ds, args.switch_every)
    training = model.meta.get("training") or {}
    out["seen_in_training"] = ds.seen_in_training(training)
    for warning in (ds.seen_in_training_warning(training),
                    ds.unscored_class_warning(out["windows_per_subject_and_class"],
                                              SCORE_AFTER)):
        if warning:
            from .._logging import logger

            logger.warning(warning)
    if args.json:
        print(dumps(out))
        return 0
    score = (f"balanced accuracy {out['balanced_accuracy']:.3f} (chance "
             f"{out['chance']:.2f})"
             + _scored_on(ds)
             + (f" (one class in the data: the recall of {next(iter(out['recall']))!r})"
                if len(out["recall"]) == 1 else ""))
    if quiet:  # -q: the result alone, one line (as train -q prints the model's path)
        print(score)
        return 0
    print(f"{counted(out['n_windows'], 'window')} ({out['n_gated_dropped']} gated left out), "
          f"classes {', '.join(out['classes'])}")
    print(score)
    for c, r in out["recall"].items():
        print(f"  recall {c:<16} {r:.2f}")
    for s, a in out["per_subject"].items():
        n = out["windows_per_subject_and_class"][s]
        print(f"  subject {s:<15} {a:.2f}  ({', '.join(f'{k} {v}' for k, v in n.items())})")
    sw = out["switching"]
    if sw:
        every = f"every {sw['switch_every_s']:g} s" if sw["switch_every_s"] else "as labelled"
        print(f"switching {every}: balanced accuracy {sw['balanced_accuracy']:.3f}, first "
              f"10 s after a switch {sw['first_accuracy']:.3f}, median lag "
              f"{sw['median_lag_s']:.1f} s ({counted(sw['n_switches'], 'switch', 'switches')}, "
              f"{sw['n_not_followed']} not followed)")
    elif args.switch_every and len(out["recall"]) == 1:
        print("switching: not scored (the recordings hold one state, so no stream "
              "switches)")
    return 0


def _which_model(args):
    """``args.model``, from MODEL or --model; a recording given first (the model
    after it) is said as such, not as a damaged model file."""
    from pathlib import Path

    from ..errors import BiofeedbackError

    if args.model_file:
        if args.model:  # 'evaluate --model m.bfm recs/': the first positional is a recording
            args.recordings.insert(0, args.model)
        args.model = args.model_file
    if not args.model:
        raise BiofeedbackError("evaluate needs the model file: biofeedback evaluate "
                               "MODEL.bfm RECORDING ...")
    later = [r for r in args.recordings if Path(r).suffix.lower() == ".bfm"]
    if Path(args.model).suffix.lower() != ".bfm" and later:
        raise BiofeedbackError(
            f"{args.model} is given where the model goes and {later[0]} among the "
            f"recordings; put the model first: biofeedback evaluate {later[0]} "
            "RECORDING ...")


def _model_profile(model, args):
    """The board profile the model was trained with, for its recordings (unless
    --profile names one); one sentence when it is a profile file (a model file
    names no file to read: the user passes it) or a board this version does not
    know."""
    profile = model.meta.get("profile") or None
    if args.profile or not profile:
        return profile
    from ..errors import PipelineConfigError
    from ..hardware import get_profile
    from ..training._model import profile_file

    if profile_file(profile):
        raise PipelineConfigError(
            f"The model {args.model} was trained on recordings read with the board profile "
            f"file {profile!r}, and a model file names no file to read; pass --profile "
            "with that file (or the recordings' board).")
    try:
        get_profile(profile)
    except PipelineConfigError as err:
        raise PipelineConfigError(
            f"The model {args.model} was trained with the board profile {profile!r}, "
            f"which cannot be read here ({str(err).rstrip('.')}); pass --profile NAME "
            "or FILE.toml with the recordings' board.") from None
    return profile


def _scored_on(ds):
    """What the balanced accuracy is over, in words."""
    over = [f.label is None for f in ds.files]
    if all(over):
        return " over all windows"
    return " on sustained states" + (" and labelled stretches" if any(over) else "")


def _fits(model):
    """A recording's channels and rate checked against the model's before extraction
    (a Muse model on a Cyton file is said as such, not as every window gated)."""
    def expect(ch_names, sfreq, name):
        model.check_compatible(ch_names, sfreq, model.feature_names,
                               data=f"the data of {name}")
    return expect

