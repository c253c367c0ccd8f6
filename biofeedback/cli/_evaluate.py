"""``biofeedback evaluate``: score a saved model on labelled recordings."""

from __future__ import annotations

import argparse

HELP = """\
Score a saved model on labelled recordings it has not seen, as a live session
would run it.

The recordings go through the live engine with the pipeline stored in the
model, and the class probabilities through the model's state filter. A model
calibrated on its protocol's blocks before feedback is calibrated the same
way: on one-state recordings (labels from file names or a manifest) those
blocks are replayed from each person's recordings of the states they ask for
and sustained states are scored after the first 20 s of each recording;
on marker-labelled recordings (a whole session) on the recording's first
seconds, as live. Streams switching state are scored too: built from
one-state recordings with --switch-every S, or recordings labelled over time
as they are (markers, or a manifest with start,stop columns; every window
labelled by the state at its end): balanced
accuracy over all windows, accuracy in the first 10 s after each switch,
median lag until the output follows. --json prints one JSON object.

Examples:
  biofeedback evaluate muse.bfm ../shared/data/muse-mental-state/*.csv
  biofeedback evaluate muse.bfm ../shared/data/muse-mental-state/*.csv --switch-every 20
  biofeedback evaluate muse.bfm sessions/*.xdf --labels-from markers --json > scores.json
  biofeedback evaluate muse.bfm --labels-from manifest --manifest stretches.csv
      (stretches.csv: path,label,start,stop with one row per labelled stretch)
"""


def add_parser(sub):
    from ._train import add_labels_args

    p = sub.add_parser("evaluate", help="score a saved model on labelled recordings",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL", help="model file from 'biofeedback train'")
    p.add_argument("recordings", nargs="*", metavar="RECORDING",
                   help="recording files or folders")
    p.add_argument("--switch-every", type=float, default=30.0, metavar="S",
                   help="score streams switching state every S seconds built from "
                        "one-state recordings (default: 30; 0: off)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_labels_args(p)
    p.set_defaults(func=run)


def _predictor(model):
    if model.input == "windows":
        return model.predict_proba
    return lambda X: model.estimator.predict_proba(model._select(X))


def evaluate(model, ds, switch_every=30.0) -> dict:
    """Scores of ``model`` on dataset ``ds`` (JSON-ready)."""
    import numpy as np

    from ..training._calibration import _baseline_stats, calibration_stats, calibration_windows
    from ..training._labels import DatasetError
    from ..training._scoring import (
        _argmax_labels,
        _new_acc,
        _recalls,
        _score_streams,
        _switching_summary,
        confusion,
        filtered_proba,
        scored_mask,
    )
    from ..training._streams import stream_dataset, switches_from_markers, switching_scores

    model.check_compatible(ds.ch_names, ds.sfreq, ds.feature_names)
    plan = model.plan if model.needs_calibration else None
    # with calibration, centre the model's columns and call the bare estimator
    predict = model.estimator.predict_proba if plan else model.predict_proba
    prep = model._select
    markers = any(f.label is None for f in ds.files)
    data_classes = sorted(set(ds.y.tolist()))
    sw, switching = _new_acc(), None
    if markers:  # whole sessions: calibrated on their first seconds, as live
        calib = plan.seconds if plan else 0.0
        keep = ds.t > calib
        pred = np.full(len(ds), "", dtype=object)
        for r, f in enumerate(ds.full):
            rows = ds.recording == r
            if not rows.any():
                continue
            transform = None
            if plan:
                ok = calibration_windows(f, calib)
                if not ok.any():
                    raise DatasetError(f"{ds.files[r].path} holds no clean window in its "
                                       f"first {calib:g} s to calibrate the model on.")
                offset, scale = _baseline_stats(prep(f["X"][ok]), plan.method)

                def transform(_, X, offset=offset, scale=scale):
                    return (prep(X) - offset) / scale
            P = filtered_proba(predict, ds, rows, model.dwell, input=model.input,
                               transform=transform, blank_until=calib or None)
            pred_r = _argmax_labels(P, model.classes_)
            pred[rows] = pred_r
            sel = keep[rows]
            sc = switching_scores(ds.t[rows][sel], ds.y[rows][sel], pred_r[sel],
                                  switches_from_markers(f["markers"], after=calib))
            for k in ("first_correct", "first_n"):
                sw[k] += sc[k]
            sw["lags"] += sc["lags"]
            sw["y_true"].append(ds.y[rows][sel])
            sw["y_pred"].append(pred_r[sel])
        if sw["lags"]:
            switching = _switching_summary(sw, data_classes, 0.0)
            switching["switch_every_s"] = None
    else:  # one-state recordings: the protocol replayed from them
        skip = 20.0
        keep = scored_mask(ds, skip)
        stats = None
        transform = None
        if plan:
            stats = calibration_stats(stream_dataset(ds, plan, switch_every or 30.0,
                                                     skip=skip), plan)
            rec_key = {i: (f.subject, f.session) for i, f in enumerate(ds.files)}

            def transform(r, X):
                offset, scale = stats[rec_key[int(r)]]
                return (prep(X) - offset) / scale
        P = filtered_proba(predict, ds, np.ones(len(ds), bool), model.dwell,
                           input=model.input, transform=transform, blank_until=skip)
        pred = _argmax_labels(P, model.classes_)
        if switch_every:
            streams = stream_dataset(ds, plan, switch_every, skip=skip)
            keys = set(zip(ds.subject.tolist(), ds.session.tolist()))
            _score_streams(predict, model.classes_, streams, keys, plan, stats, model.dwell,
                           sw, input=model.input, prep=prep)
            switching = _switching_summary(sw, data_classes, switch_every)
    y, pred = ds.y[keep], np.asarray(pred[keep]).astype(str)
    all_classes = sorted(set(model.classes_.tolist()) | set(y.tolist()))
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
        "classes": all_classes,
        "confusion_matrix": confusion(y, pred, all_classes).tolist(),
        "recall": {c: float(r) for c, r in zip(data_classes, rec)},
        "per_subject": per_subject,
        "windows_per_subject_and_class": {
            str(s): {c: int(np.sum((ds.subject[keep] == s) & (y == c))) for c in data_classes}
            for s in np.unique(ds.subject[keep])},
        "calibration": model.calibration,
        "dwell_s": model.dwell,
        "switching": switching,
    }


def run(args) -> int:
    import json

    from ..training import load_model
    from ._train import load_dataset

    model = load_model(args.model)
    args.quiet = args.quiet or args.json
    markers = args.labels_from != "filename"  # sessions labelled over time: by window end
    # scoring, unlike training, is fine on recordings of one class
    ds = load_dataset(args, model.config, need_windows=model.input == "windows",
                      profile=model.meta.get("profile") or None, min_classes=1,
                      label_by="end" if markers else "inside")
    out = evaluate(model, ds, args.switch_every)
    if args.json:
        print(json.dumps(_json_safe(out)))
        return 0
    print(f"{out['n_windows']} windows ({out['n_gated_dropped']} gated left out), "
          f"classes {', '.join(out['classes'])}")
    print(f"balanced accuracy {out['balanced_accuracy']:.3f} (chance {out['chance']:.2f})"
          + (" over all windows" if any(f.label is None for f in ds.files)
             else " on sustained states"))
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
              f"{sw['median_lag_s']:.1f} s ({sw['n_switches']} switches, "
              f"{sw['n_not_followed']} not followed)")
    return 0


def _json_safe(obj):
    import math

    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
