"""``biofeedback evaluate``: score a saved model on labelled recordings."""

from __future__ import annotations

import argparse

HELP = """\
Score a saved model on labelled recordings it has not seen.

The recordings go through the live engine with the pipeline stored in the
model. A model trained with a per-user baseline is calibrated on the first
seconds of each subject's recordings, and only later windows are scored.
Class probabilities are smoothed over time as the live engine smooths them
(the model's time constant). --json prints one JSON object
(balanced_accuracy, n_windows, classes, confusion_matrix, recall, chance,
per-subject scores, smooth_s).

Examples:
  biofeedback evaluate muse.bfm ../shared/data/muse-mental-state/*.csv
  biofeedback evaluate muse.bfm new_sessions/ --json > scores.json
"""


def add_parser(sub):
    from ._train import add_labels_args

    p = sub.add_parser("evaluate", help="score a saved model on labelled recordings",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="model file from 'biofeedback train'")
    p.add_argument("recordings", nargs="*", metavar="RECORDING",
                   help="recording files or folders")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_labels_args(p)
    p.set_defaults(func=run)


def evaluate(model, ds) -> dict:
    """Scores of ``model`` on dataset ``ds`` (JSON-ready)."""
    import numpy as np

    from ..training._validation import (
        _argmax_labels,
        _recalls,
        baseline_mask,
        confusion,
        scored_mask,
        smoothed_proba,
    )

    model.check_compatible(ds.ch_names, ds.sfreq, ds.feature_names)
    keep = np.ones(len(ds), bool)
    if model.needs_calibration:
        seconds = model.calibration["seconds"]
        base, keep = baseline_mask(ds, seconds), scored_mask(ds, seconds)
    pred = np.full(len(ds), "", dtype=object)
    for s in np.unique(ds.subject):
        m = ds.subject == s
        if model.needs_calibration:
            model.calibrate(ds.X[m & base])
        P = smoothed_proba(model.predict_proba, ds, m, model.smooth, input=model.input,
                           blank_until=model.calibration["seconds"]
                           if model.needs_calibration else None)
        pred[m] = _argmax_labels(P, model.classes_)
    y, pred = ds.y[keep], pred[keep].astype(str)
    classes = sorted(set(model.classes_.tolist()) | set(y.tolist()))
    data_classes = [c for c in classes if c in set(y.tolist())]
    rec = _recalls(y, pred, data_classes)
    per_subject = {}
    for s in np.unique(ds.subject[keep]):
        m = ds.subject[keep] == s
        per_subject[str(s)] = float(np.nanmean(_recalls(y[m], pred[m], data_classes)))
    return {
        "model": model.meta.get("model"),
        "balanced_accuracy": float(np.nanmean(rec)),
        # a model guessing among its classes, whatever classes the data hold
        "chance": 1.0 / len(model.classes_),
        "n_windows": int(keep.sum()),
        "n_gated_dropped": int(ds.n_gated_dropped),
        "classes": classes,
        "confusion_matrix": confusion(y, pred, classes).tolist(),
        "recall": {c: float(r) for c, r in zip(data_classes, rec)},
        "per_subject": per_subject,
        "calibration": model.calibration,
        "smooth_s": model.smooth,
    }


def run(args) -> int:
    import json

    from ..estimators import load_model
    from ._train import load_dataset

    model = load_model(args.model)
    args.quiet = args.quiet or args.json
    # scoring, unlike training, is fine on recordings of one class
    ds = load_dataset(args, model.config, need_windows=model.input == "windows",
                      profile=model.meta.get("profile") or None, min_classes=1)
    out = evaluate(model, ds)
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{out['n_windows']} windows ({out['n_gated_dropped']} gated left out), "
          f"classes {', '.join(out['classes'])}")
    print(f"balanced accuracy {out['balanced_accuracy']:.3f} (chance {out['chance']:.2f})")
    for c, r in out["recall"].items():
        print(f"  recall {c:<16} {r:.2f}")
    for s, a in out["per_subject"].items():
        print(f"  subject {s:<15} {a:.2f}")
    return 0
