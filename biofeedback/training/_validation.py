"""Honest validation: grouped folds, per-user calibration without leakage.

Windows overlap (2 s windows every 0.5 s) and one recording holds one class,
so any split that puts windows of one recording on both sides scores the
recording's identity, not the mental state. Folds therefore hold out whole
subjects (``"loso"``) or whole sessions (``"loso-session"``).

Calibration protocol (what a live user has before feedback starts): for every
subject, the windows lying entirely within the first ``calibration`` seconds
of each of their recordings form the baseline (all classes pooled, the
analogue of a guided rest-and-task block); features are centred on the
baseline mean (``"center"``) or z-scored with its mean and standard deviation
(``"zscore"``). The held-out subject is scored only on windows that start
after the baseline. Training subjects are calibrated on their own baselines.

Smoothing: held-out windows are scored on the class probabilities the live
engine would give, i.e. averaged causally over the recording's earlier windows
(baseline windows included: they are in the past) with the same
:class:`biofeedback.engine.ProbabilitySmoother`, restarted where the engine
restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import _check_option
from ._dataset import DatasetError

CV_SCHEMES = ("loso", "loso-session", "none")


def baseline_mask(dataset, seconds):
    """Windows entirely inside the first ``seconds`` of their recording."""
    return dataset.t <= seconds


def scored_mask(dataset, seconds):
    """Windows starting after the first ``seconds`` of their recording."""
    return dataset.t - dataset.window_length >= seconds


def _baseline_stats(X, method="center"):
    """(offset, scale) of baseline features ``X`` for ``(x - offset) / scale``."""
    offset = X.mean(axis=0)
    if method == "zscore" and len(X) > 1:
        scale = X.std(axis=0, ddof=1)
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(offset), 1.0), scale, 1.0)
    else:
        scale = np.ones_like(offset)
    return offset, scale


def baseline_stats(dataset, seconds, method="center"):
    """Per subject, the (offset, scale) of the subject's baseline windows."""
    base = baseline_mask(dataset, seconds)
    out = {}
    for s in np.unique(dataset.subject):
        m = (dataset.subject == s) & base
        if not m.any():
            raise DatasetError(
                f"Subject {s} has no window inside the first {seconds:g} s of a "
                "recording to calibrate with."
            )
        out[s] = _baseline_stats(dataset.X[m], method)
    return out


def baseline_center(dataset, seconds, method="center"):
    """Features calibrated per subject on the subject's baseline windows."""
    X = dataset.X.copy()
    for s, (offset, scale) in baseline_stats(dataset, seconds, method).items():
        m = dataset.subject == s
        X[m] = (X[m] - offset) / scale
    return X


def _check_smooth(smooth):
    smooth = 0.0 if smooth is None else float(smooth)
    if not np.isfinite(smooth) or smooth < 0:
        raise ValueError(f"The smoothing time constant must be 0 or more seconds, got "
                         f"{smooth:g}.")
    return smooth


def smoothed_proba(predict_proba, dataset, rows, smooth, *, input="features",
                   transform=None, blank_until=None):
    """Class probabilities of the ``rows`` of ``dataset``, as the live engine gives them.

    Every window of each recording concerned goes through ``predict_proba``
    in order (unlabelled and dropped windows too: live, they are in the past),
    is smoothed by :class:`biofeedback.engine.ProbabilitySmoother` with time
    constant ``smooth`` (restarted at the engine's restarts), and the selected
    rows are returned. A window with non-finite input gives NaN, as live.

    Parameters
    ----------
    predict_proba : callable
        Batch of features (or windows) to ``(n, n_classes)``.
    dataset : Dataset
    rows : array of bool, shape (n_windows,)
    smooth : float
        Seconds; 0 scores each window alone.
    input : "features" | "windows"
    transform : callable | None
        ``transform(recording_index, X)`` applied first (calibration).
    blank_until : float | None
        Windows ending within this many seconds of their recording's start
        give NaN, as a live engine gives while it collects a model's
        calibration baseline (they reach the smoother as NaN).

    Returns
    -------
    proba : ndarray, shape (rows.sum(), n_classes)
    """
    from ..engine import ProbabilitySmoother

    rows = np.flatnonzero(rows)
    if not dataset.full:
        raise DatasetError("This dataset does not hold every window of its recordings; "
                           "build it with extract_dataset.")
    hop = round(dataset.config.window.hop * dataset.sfreq) / dataset.sfreq
    smoother = ProbabilitySmoother(smooth, hop) if smooth else None
    out = None
    for r in np.unique(dataset.recording[rows]):
        f = dataset.full[r]
        X = f["windows"] if input == "windows" else f["X"]
        if X is None:
            raise DatasetError("Window models need the dataset's windows "
                               "(extract_dataset(..., need_windows=True)).")
        if transform is not None:
            X = transform(r, X)
        ok = np.isfinite(X.reshape(len(X), -1)).all(axis=1)
        P0 = predict_proba(X[ok]) if ok.any() else None
        if out is None:
            n_cls = P0.shape[1] if P0 is not None else None
            if n_cls is None:
                continue
            out = np.full((len(rows), n_cls), np.nan)
        P = np.full((len(X), out.shape[1]), np.nan)
        if P0 is not None:
            P[ok] = P0
        if blank_until is not None:
            P[f["t"] <= blank_until] = np.nan
        if smoother is not None:
            P = smoother.apply(P, f["segment"])
        mine = dataset.recording[rows] == r
        out[mine] = P[dataset.wid[rows[mine]]]
    if out is None:
        raise DatasetError("No window with finite input to score.")
    return out


def _argmax_labels(P, classes):
    """Most probable class per row; '' where the probabilities are NaN."""
    classes = np.asarray(classes, dtype=str)
    ok = np.isfinite(P).all(axis=1)
    pred = np.full(len(P), "", dtype=object)
    pred[ok] = classes[np.argmax(P[ok], axis=1)]
    return pred.astype(str)


def _check_calibration(spec, calibration, dataset):
    if calibration is not None and (not np.isfinite(calibration) or calibration < 0):
        raise ValueError(f"The baseline must be 0 or more seconds, got {calibration:g}.")
    if not calibration:
        return
    if spec.input != "features":
        raise DatasetError("Calibration centres engine features; it does not apply to "
                           "window-input models such as riemann.")
    if calibration < dataset.window_length:
        raise DatasetError(
            f"A {calibration:g} s baseline is shorter than one "
            f"{dataset.window_length:g} s window."
        )


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


@dataclass
class CVResult:
    """Grouped cross-validation results.

    ``balanced_accuracy`` is the mean per-class recall over every held-out
    window pooled (chance: ``1 / n_classes``); ``folds`` has one row per
    held-out group with its own balanced accuracy (over the classes it holds).
    """

    model: str
    cv: str
    classes: list
    calibration: float | None
    balanced_accuracy: float
    recall: dict
    confusion_matrix: np.ndarray
    chance: float
    n_windows: int
    folds: list = field(default_factory=list)
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    smooth: float = 0.0
    calibration_method: str = "center"

    @property
    def mean_fold_accuracy(self):
        return float(np.nanmean([f["balanced_accuracy"] for f in self.folds]))

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "cv": self.cv,
            "calibration_s": self.calibration,
            "calibration_method": self.calibration_method if self.calibration else None,
            "smooth_s": self.smooth,
            "classes": list(self.classes),
            "balanced_accuracy": self.balanced_accuracy,
            "mean_fold_balanced_accuracy": self.mean_fold_accuracy,
            "chance": self.chance,
            "recall": self.recall,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "n_windows": self.n_windows,
            "folds": self.folds,
        }


def _groups(dataset, cv):
    if cv == "loso":
        return dataset.subject, "subject"
    return np.char.add(np.char.add(dataset.subject, "/"), dataset.session), "session"


def cross_validate(dataset, model="logreg", *, cv="loso", calibration=None,
                   calibration_method="center", score_after=None, smooth=0.0,
                   random_state=0) -> CVResult:
    """Grouped cross-validation of a registered classifier.

    Parameters
    ----------
    dataset : Dataset
    model : str
        Name in :data:`biofeedback.estimators.CLASSIFIERS`.
    cv : "loso" | "loso-session"
        Hold out one subject, or one session (subject and session), per fold.
    calibration : float | None
        Seconds of per-user baseline (see the module's protocol); None: none.
    calibration_method : "center" | "zscore"
        Subtract the baseline mean, or z-score with its mean and std.
    score_after : float | None
        Score only windows starting after this many seconds of their
        recording (defaults to ``calibration``), so an uncalibrated model can
        be compared on exactly the windows a calibrated one is scored on.
    smooth : float
        Time constant (s) of the causal smoothing of class probabilities the
        engine applies live (see :func:`smoothed_proba`); 0: each window alone.
    random_state : int

    Returns
    -------
    result : CVResult
    """
    from ..estimators import CLASSIFIERS, make_classifier

    _check_option("cv", cv, CV_SCHEMES[:2])
    _check_option("model", model, list(CLASSIFIERS))
    spec = CLASSIFIERS[model]
    _check_calibration(spec, calibration, dataset)
    _check_option("calibration_method", calibration_method, ("center", "zscore"))
    smooth = _check_smooth(smooth)
    groups, what = _groups(dataset, cv)
    uniq = sorted(set(groups.tolist()))
    if len(uniq) < 2:
        raise DatasetError(
            f"Leave-one-{what}-out needs at least two {what}s; the data hold one "
            f"({uniq[0]})."
        )
    classes = dataset.classes
    X = dataset.windows if spec.input == "windows" else dataset.X
    transform = None
    if calibration:
        stats = baseline_stats(dataset, calibration, calibration_method)
        X = baseline_center(dataset, calibration, calibration_method)
        rec_subject = {int(r): s for r, s in zip(dataset.recording, dataset.subject)}

        def transform(r, Xr):
            offset, scale = stats[rec_subject[int(r)]]
            return (Xr - offset) / scale
    after = calibration if score_after is None else score_after
    scored = scored_mask(dataset, after) if after else np.ones(len(dataset), bool)
    y = dataset.y
    folds, all_true, all_pred = [], [], []
    for g in uniq:
        test = (groups == g) & scored
        train = groups != g
        if not test.any():
            continue
        if len(set(y[train].tolist())) < 2:
            continue
        est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state)
        est.fit(X[train], y[train])
        P = smoothed_proba(est.predict_proba, dataset, test, smooth, input=spec.input,
                           transform=transform, blank_until=calibration or None)
        pred = _argmax_labels(P, est.classes_)
        rec = _recalls(y[test], pred, classes)
        folds.append({
            what: g,
            "n_windows": int(test.sum()),
            "balanced_accuracy": float(np.nanmean(rec)),
            "recall": {c: (None if np.isnan(r) else float(r)) for c, r in zip(classes, rec)},
        })
        all_true.append(y[test])
        all_pred.append(pred)
    if not folds:
        raise DatasetError("No fold had windows to score.")
    yt, yp = np.concatenate(all_true), np.concatenate(all_pred)
    rec = _recalls(yt, yp, classes)
    return CVResult(
        model=model, cv=cv, classes=classes, calibration=calibration,
        balanced_accuracy=float(np.nanmean(rec)),
        recall={c: float(r) for c, r in zip(classes, rec)},
        confusion_matrix=confusion(yt, yp, classes), chance=1.0 / len(classes),
        n_windows=len(yt), folds=folds, y_true=yt, y_pred=yp, smooth=smooth,
        calibration_method=calibration_method,
    )


def random_split_score(dataset, model="logreg", *, n_splits=5, random_state=0) -> float:
    """Balanced accuracy of shuffled stratified k-fold over windows.

    For illustration only: overlapping windows of one recording land on both
    sides of the split, so this figure is inflated (it measures recognising a
    recording, not a state).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from ..estimators import CLASSIFIERS, make_classifier

    spec = CLASSIFIERS[model]
    X = dataset.windows if spec.input == "windows" else dataset.X
    est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state)
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    pred = cross_val_predict(est, X, dataset.y, cv=cv)
    return float(np.nanmean(_recalls(dataset.y, pred, dataset.classes)))
