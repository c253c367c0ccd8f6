"""Honest validation: grouped folds, per-user calibration without leakage.

Windows overlap (2 s windows every 0.5 s) and one recording holds one class,
so any split that puts windows of one recording on both sides scores the
recording's identity, not the mental state. Folds therefore hold out whole
subjects (``"loso"``) or whole sessions (``"loso-session"``).

Calibration protocol (what a live user has before feedback starts): for every
subject, the windows lying entirely within the first ``calibration`` seconds
of each of their recordings form the baseline (all classes pooled, the
analogue of a guided rest-and-task block); features are centred on the
baseline mean. The held-out subject is scored only on windows that start
after the baseline. Training subjects are centred on their own baselines.
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


def baseline_center(dataset, seconds):
    """Features centred per subject on the mean of the subject's baseline windows."""
    X = dataset.X.copy()
    base = baseline_mask(dataset, seconds)
    for s in np.unique(dataset.subject):
        m = dataset.subject == s
        if not (m & base).any():
            raise DatasetError(
                f"Subject {s} has no window inside the first {seconds:g} s of a "
                "recording to calibrate with."
            )
        X[m] -= X[m & base].mean(axis=0)
    return X


def _check_calibration(spec, calibration, dataset):
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

    @property
    def mean_fold_accuracy(self):
        return float(np.nanmean([f["balanced_accuracy"] for f in self.folds]))

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "cv": self.cv,
            "calibration_s": self.calibration,
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
                   score_after=None, random_state=0) -> CVResult:
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
    score_after : float | None
        Score only windows starting after this many seconds of their
        recording (defaults to ``calibration``), so an uncalibrated model can
        be compared on exactly the windows a calibrated one is scored on.
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
    groups, what = _groups(dataset, cv)
    uniq = sorted(set(groups.tolist()))
    if len(uniq) < 2:
        raise DatasetError(
            f"Leave-one-{what}-out needs at least two {what}s; the data hold one "
            f"({uniq[0]})."
        )
    classes = dataset.classes
    X = dataset.windows if spec.input == "windows" else dataset.X
    if calibration:
        X = baseline_center(dataset, calibration)
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
        pred = est.predict(X[test])
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
        n_windows=len(yt), folds=folds, y_true=yt, y_pred=yp,
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
