"""Scoring as the live engine scores.

Each recording's windows go in order through a model and the engine's state
filter (:func:`filtered_proba`); the figures (per-class recall, confusion,
the switching streams' accuracy and lag) are made from what comes out.
Cross-validation (:mod:`._validation`) and :func:`evaluate_model` (a saved
model on new recordings, ``biofeedback evaluate``) share it.
"""

from __future__ import annotations

import numpy as np

from .._words import listed
from ._calibration import (
    _baseline_stats,
    calibration_stats,
    calibration_windows,
    recording_transform,
)
from ._labels import DatasetError
from ._streams import (
    FIRST_SECONDS,
    SCORE_AFTER,
    stream_dataset,
    switches_from_markers,
    switching_scores,
)


def scored_mask(dataset, seconds):
    """Windows starting after the first ``seconds`` of their recording."""
    return dataset.t - dataset.window_length >= seconds


def unscored_seconds(dataset, plan=None) -> np.ndarray:
    """Per recording of ``dataset.files``, the seconds at its start that scoring
    leaves out, in validation and evaluation alike.

    One-state recordings: :data:`~._streams.SCORE_AFTER` (as a live session
    settles; no scored window then holds calibration material, and every
    variant, switching streams or not, scores the same windows). Recordings
    labelled over time (markers, a manifest's stretches): the calibration
    ``plan``'s blocks, which a live session spends calibrating (0 without).
    A manifest may hold both kinds.
    """
    over = plan.seconds if plan else 0.0
    return np.array([over if f.label is None else SCORE_AFTER for f in dataset.files],
                    dtype=float)


def sustained_mask(dataset, seconds):
    """The windows scoring reads: of one-state recordings those starting after
    their recording's ``seconds`` (a number, or one per recording), of
    recordings labelled over time those ending after them; one sentence when
    none is left."""
    per = np.broadcast_to(np.asarray(seconds, float), (len(dataset.files),))
    over = np.array([f.label is None for f in dataset.files], bool)
    rec = dataset.recording
    keep = np.where(over[rec], dataset.t > per[rec], scored_mask(dataset, per[rec]))
    one = per[~over]
    if not keep.any() and one.size and one.max() > 0:
        skip = float(one.max())
        raise DatasetError(
            f"No recording is longer than {skip:g} s plus a window: one-state "
            f"recordings are scored after their first {skip:g} s, as a live session "
            "settles; score longer recordings.")
    if not keep.any() and over.any() and per[over].max() > 0:
        from pathlib import Path

        calib = float(per[over].max())
        names = [Path(f.path).name for f, o in zip(dataset.files, over) if o]
        raise DatasetError(
            f"No clean labelled window of {listed(names, 3)} ends after the model's "
            f"{calib:g} s of calibration, which a recording labelled over time spends "
            "calibrating as a live session does; score recordings that run on past "
            f"their first {calib:g} s, or use a model calibrated on less.")
    return keep


def _check_dwell(dwell):
    dwell = 0.0 if dwell is None else float(dwell)
    if not np.isfinite(dwell) or dwell < 0:
        raise ValueError(f"The dwell time must be 0 or more seconds, got {dwell:g}.")
    return dwell


def _check_evidence(evidence):
    if evidence is None:
        return None
    evidence = float(evidence)
    if not (np.isfinite(evidence) and 0 < evidence <= 1):
        raise ValueError(f"The evidence weight must be above 0 and at most 1, got {evidence:g}.")
    return evidence


def filtered_proba(predict_proba, dataset, rows, dwell, *, input="features", evidence=None,
                   transform=None, blank_until=None):
    """Class probabilities of the ``rows`` of ``dataset``, as the live engine gives them.

    Every window of each recording concerned goes through ``predict_proba``
    in order (unlabelled and dropped windows too: live, they are in the past)
    and through :meth:`biofeedback.statefilter.StateFilter.filter` with the
    expected dwell time ``dwell`` (restarted at the engine's restarts); the
    selected rows are returned. A window with non-finite input gives NaN, as
    live.

    Parameters
    ----------
    predict_proba : callable
        Batch of features (or windows) to ``(n, n_classes)``.
    dataset : Dataset
    rows : array of bool, shape (n_windows,)
    dwell : float
        Seconds; 0 scores each window alone.
    input : "features" | "clean_features" | "windows"
    evidence : float | None
        The state filter's evidence weight (``gamma``); None: ``hop / window``.
    transform : callable | None
        ``transform(recording_index, X)`` applied first (calibration).
    blank_until : float | array | None
        Windows ending within this many seconds of their recording's start
        (a number, or one per recording of ``dataset.files``) give NaN, as a
        live engine gives while it collects a model's calibration or settles
        (the state filter sees them as NaN).

    Returns
    -------
    proba : ndarray, shape (rows.sum(), n_classes)
    """
    from ..engine import model_usable
    from ..statefilter import StateFilter
    from ._dataset import model_inputs

    rows = np.flatnonzero(rows)
    if not dataset.full:
        raise DatasetError("This dataset does not hold every window of its recordings; "
                           "build it with extract_dataset.")
    hop = round(dataset.config.window.hop * dataset.sfreq) / dataset.sfreq
    out = None
    for r in np.unique(dataset.recording[rows]):
        f = dataset.full[r]
        X = model_inputs(f, input)
        if X is None:
            raise DatasetError("Window models need the dataset's windows "
                               "(extract_dataset(..., need_windows=True)).")
        if transform is not None:
            X = transform(r, X)
        ok = model_usable(X, input)
        P0 = predict_proba(X[ok]) if ok.any() else None
        if out is None:
            n_cls = P0.shape[1] if P0 is not None else None
            if n_cls is None:
                continue
            out = np.full((len(rows), n_cls), np.nan)
        P = np.full((len(X), out.shape[1]), np.nan)
        if P0 is not None:
            P[ok] = P0
        blank = blank_until[r] if np.ndim(blank_until) else blank_until
        if blank:
            P[f["t"] <= blank] = np.nan
        if dwell:
            sf = StateFilter(out.shape[1], dwell, hop, window=dataset.window_length,
                             gamma=evidence)
            P = sf.filter(P, f["segment"])
        mine = dataset.recording[rows] == r
        out[mine] = P[dataset.wid[rows[mine]]]
    if out is None:
        raise DatasetError("No window with finite input to score.")
    return out


def _say_unguided(ds, r, plan) -> None:
    """Warn when recording ``r``'s first seconds, which calibrate the model as a
    live session's blocks would, do not hold the states those blocks ask for
    (a session recorded with another protocol: 60 s of one state calibrating
    a model that centres on three)."""
    from .._logging import logger

    rows = ds.recording == r
    t, y = ds.t[rows], ds.y[rows]
    start, wrong = 0.0, []
    for state, seconds in plan.blocks:
        held = y[(t > start + ds.window_length) & (t <= start + seconds)]
        if state is not None and (not held.size or np.mean(held == state) < 0.5):
            found = sorted(set(held.tolist()))
            wrong.append(f"the {seconds:g} s {state!r} holds "
                         + (listed(map(repr, found)) if found else "no labelled window"))
        start += seconds
    if wrong:
        logger.warning(
            "%s: its first %g s calibrate the model as the blocks of its protocol "
            "(%s) would, but %s; it is calibrated on them all the same, as a live "
            "session would be: score sessions recorded with the model's protocol.",
            ds.files[r].path, plan.seconds, plan.describe(), listed(wrong, sep=" and "))


def _argmax_labels(P, classes):
    """Most probable class per row; '' where the probabilities are NaN."""
    classes = np.asarray(classes, dtype=str)
    ok = np.isfinite(P).all(axis=1)
    pred = np.full(len(P), "", dtype=object)
    pred[ok] = classes[np.argmax(P[ok], axis=1)]
    return pred.astype(str)


def _recalls(y_true, y_pred, classes):
    """Per-class recall; NaN for classes absent from ``y_true``."""
    out = np.full(len(classes), np.nan)
    for i, c in enumerate(classes):
        m = y_true == c
        if m.any():
            out[i] = np.mean(y_pred[m] == c)
    return out


def confusion(y_true, y_pred, classes):
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(classes))


def _score_streams(predict_proba, classes_, streams, keys, plan, stats, dwell, acc, *,
                   input="features", prep=None, evidence=None):
    """Score the streams of the (subject, session) pairs ``keys``; add to ``acc``.

    ``prep`` (e.g. a model's column selection) is applied to the features
    before the centring of ``stats``.
    """
    calib = plan.seconds if plan else 0.0
    transform = recording_transform(streams.files, stats, prep) if plan else None
    out = {"lags": [], "first_correct": 0, "first_n": 0}
    for r, f in enumerate(streams.files):
        if (f.subject, f.session) not in keys:
            continue
        rows = (streams.recording == r) & (streams.t > calib)
        if not rows.any():
            continue
        P = filtered_proba(predict_proba, streams, rows, dwell, input=input, evidence=evidence,
                           transform=transform, blank_until=calib or None)
        pred = _argmax_labels(P, classes_)
        switches = switches_from_markers(streams.full[r]["markers"], after=calib)
        sc = switching_scores(streams.t[rows], streams.y[rows], pred, switches)
        _add_scores(out, sc)
        _add_scores(acc, sc, streams.y[rows], pred)
    out["lags"] = [None if not np.isfinite(v) else v for v in out["lags"]]
    return out


def _add_scores(acc, scores, y_true=None, y_pred=None):
    """Add one stream's :func:`switching_scores` (and its windows) to ``acc``."""
    for k in ("first_correct", "first_n"):
        acc[k] += scores[k]
    acc["lags"] += scores["lags"]
    if y_true is not None:
        acc["y_true"].append(y_true)
        acc["y_pred"].append(y_pred)


def _new_acc():
    return {"lags": [], "first_correct": 0, "first_n": 0, "y_true": [], "y_pred": []}


def _switching_summary(acc, classes, switch_every):
    # streams that never switch (every person holds one state) score no switch
    if not acc["y_true"] or not acc["lags"]:
        return None
    yt, yp = np.concatenate(acc["y_true"]), np.concatenate(acc["y_pred"])
    lags = np.asarray(acc["lags"], float)
    return {
        "switch_every_s": float(switch_every),
        "balanced_accuracy": float(np.nanmean(_recalls(yt, yp, classes))),
        "first_seconds": FIRST_SECONDS,
        "first_accuracy": (acc["first_correct"] / acc["first_n"]) if acc["first_n"]
        else float("nan"),
        "median_lag_s": float(np.median(lags)) if len(lags) else float("nan"),
        "max_lag_s": float(np.max(lags)) if len(lags) else float("nan"),
        "n_switches": len(lags),
        "n_not_followed": int(np.sum(~np.isfinite(lags))),
        "n_windows": len(yt),
    }


def evaluate_model(model, ds, switch_every=30.0) -> dict:
    """Score a trained model on labelled recordings, as a live session runs it.

    The windows go through the model and its state filter in order; a model
    calibrated on its protocol's blocks before feedback is calibrated the same
    way. One-state recordings (labels from file names or a manifest) are
    scored after their first 20 s, with the protocol's blocks replayed from
    each person's recordings and, with ``switch_every``, streams switching
    state built from them; recordings labelled over time (markers, timed
    manifest) are scored as they are, calibrated on their own first seconds.

    Parameters
    ----------
    model : LoadedModel
        From :func:`load_model`.
    ds : Dataset
        From :func:`extract_dataset` with the model's pipeline (and
        ``need_windows=True`` for window models).
    switch_every : float
        Seconds between switches of the streams built from one-state
        recordings (0: none).

    Returns
    -------
    scores : dict
        JSON-ready: balanced accuracy, chance, recall per class, confusion
        matrix, per-subject accuracy and counts, and the switching figures.
    """
    paths = sorted({str(f.path) for f in ds.files})
    data = (f"the data of {paths[0]}" if len(paths) == 1
            else f"the data of {len(paths)} recordings ({paths[0]}, ...)")
    model.check_compatible(ds.ch_names, ds.sfreq, ds.feature_names, data=data)
    plan = model.plan if model.needs_calibration else None
    # with calibration, centre the model's columns and call the bare estimator
    predict = model.estimator.predict_proba if plan else model.predict_proba
    from ._dataset import model_inputs

    prep = model._select
    over = np.array([f.label is None for f in ds.files], bool)  # labelled over time
    data_classes = sorted(set(ds.y.tolist()))
    known = set(model.classes_.tolist())
    unknown = [c for c in data_classes if c not in known]
    if unknown:  # such windows could only ever be scored wrong
        raise DatasetError(
            f"The recordings' labels {listed(map(repr, unknown))} are not classes of "
            f"the model {model._name()}({listed(model.classes_)}), so its output could "
            "never match them; label the recordings with the model's classes, or leave "
            "those windows out (--marker-labels, or the manifest's rows).")
    sw, switching, every = _new_acc(), None, None
    skips = unscored_seconds(ds, plan)
    keep = sustained_mask(ds, skips)
    pred = np.full(len(ds), "", dtype=object)
    # recordings labelled over time (whole sessions): calibrated on their first
    # seconds, as live, and scored as they switch
    for r in np.flatnonzero(over):
        f, calib = ds.full[r], float(skips[r])
        rows = ds.recording == r
        if not rows.any():
            continue
        transform = None
        if plan:
            ok = calibration_windows(f, calib)
            if not ok.any():
                raise DatasetError(f"{ds.files[r].path} holds no clean window in its "
                                   f"first {calib:g} s to calibrate the model on.")
            _say_unguided(ds, r, plan)
            offset, scale = _baseline_stats(prep(model_inputs(f, model.input)[ok]),
                                            plan.method)

            def transform(_, X, offset=offset, scale=scale):
                return (prep(X) - offset) / scale
        P = filtered_proba(predict, ds, rows, model.dwell, input=model.input,
                           evidence=model.evidence, transform=transform,
                           blank_until=calib or None)
        pred_r = _argmax_labels(P, model.classes_)
        pred[rows] = pred_r
        sel = keep[rows]
        sc = switching_scores(ds.t[rows][sel], ds.y[rows][sel], pred_r[sel],
                              switches_from_markers(f["markers"], after=calib))
        _add_scores(sw, sc, ds.y[rows][sel], pred_r[sel])
    one = ~over[ds.recording]
    if one.any():  # one-state recordings: the protocol replayed from them
        stats = None
        transform = None
        if plan:
            stats = calibration_stats(stream_dataset(ds, plan, switch_every or 30.0,
                                                     skip=SCORE_AFTER), plan, model.input)
            transform = recording_transform(ds.files, stats, prep)
        P = filtered_proba(predict, ds, one, model.dwell, input=model.input,
                           evidence=model.evidence, transform=transform,
                           blank_until=SCORE_AFTER)
        pred[one] = _argmax_labels(P, model.classes_)
        if switch_every:  # and streams switching state built from them
            streams = stream_dataset(ds, plan, switch_every, skip=SCORE_AFTER)
            keys = set(zip(ds.subject[one].tolist(), ds.session[one].tolist()))
            lags = len(sw["lags"])
            _score_streams(predict, model.classes_, streams, keys, plan, stats, model.dwell,
                           sw, input=model.input, prep=prep, evidence=model.evidence)
            # recordings of one state make streams that never switch: nothing to score
            every = float(switch_every) if len(sw["lags"]) > lags else None
    if sw["lags"]:
        switching = _switching_summary(sw, data_classes, every or 0.0)
        switching["switch_every_s"] = every
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
        "evidence_weight": model.evidence,
        "switching": switching,
    }
