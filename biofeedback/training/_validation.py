"""Honest validation: the live protocol, replayed, on grouped folds.

Windows overlap (2 s windows every 0.5 s) and one recording holds one class,
so any split that puts windows of one recording on both sides scores the
recording's identity, not the mental state. Folds therefore hold out whole
people or days:

- ``"loso"``: a new person (every session of one subject held out);
- ``"loso-session"``: one session of one subject held out;
- ``"new-day"``: a returning user on a new day (train on the person's earlier
  sessions and everyone else's, test on their last session);
- ``"new-person-new-day"``: a new person on a new day (train on the other
  subjects, test on the person's last session; needs two sessions of them,
  so it scores exactly the days ``"new-day"`` scores).

Calibration is what a live session does before feedback
(:class:`~biofeedback.training._streams.CalibrationPlan`, read from the
pipeline's protocol): every subject's (and session's) calibration blocks are
replayed from their recordings as one stream, the engine's clean windows
ending within the blocks are the baseline, and features are centred on their
mean, in training (each training subject on their own blocks) and at test
time, exactly as the live engine centres them.

Scored outputs are what the engine gives: each recording's windows go in
order through the fold's model and the same
:class:`~biofeedback.statefilter.StateFilter` (``filter``, the batch twin of
the engine's ``step``), restarted where the engine restarted; windows the
engine spends calibrating give NaN there, as live. Two test sets per fold:
the held-out one-state recordings (sustained states, scored after their
first ``score_after`` seconds) and, with ``switch_every``, the held-out
person's stream that switches state every ``switch_every`` seconds
(:func:`~biofeedback.training._streams.build_stream`).

The module is over 400 lines because the folds, their scoring and the
nested choice of the evidence weight share one fold loop; splitting them
would spread one procedure over several files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import _check_option
from .._words import listed
from ._calibration import (
    _check_calibration,
    calibration_stats,
    centred,
    recording_transform,
)
from ._labels import DatasetError, _session_order
from ._scoring import (
    _add_scores,
    _argmax_labels,
    _check_dwell,
    _check_evidence,
    _new_acc,
    _recalls,
    _score_streams,
    _switching_summary,
    confusion,
    filtered_proba,
    sustained_mask,
    unscored_seconds,
)
from ._streams import SCORE_AFTER, switches_from_markers, switching_scores
from ._warnings import few_windows_said

CV_SCHEMES = ("loso", "loso-session", "new-day", "new-person-new-day", "none")


@dataclass
class CVResult:
    """Grouped cross-validation results.

    ``balanced_accuracy`` is the mean per-class recall over every held-out
    window of the sustained-state recordings pooled (chance:
    ``1 / n_classes``); ``folds`` has one row per held-out group with its own
    balanced accuracy, per-class recall and counts of scored (clean) windows.
    ``switching`` (with ``switch_every``) scores the held-out streams that
    switch state: ``balanced_accuracy`` over all their windows after
    calibration, ``first_accuracy`` over the windows ending in the first 10 s
    after each switch, and ``median_lag`` (s) until the output names the new
    state for 2 s (inf when it never did before the next switch).
    """

    model: str
    cv: str
    classes: list
    calibration: object
    balanced_accuracy: float
    recall: dict
    confusion_matrix: np.ndarray
    chance: float
    n_windows: int
    folds: list = field(default_factory=list)
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    dwell: float = 0.0
    switching: dict | None = None
    evidence: float | None = None
    counts: dict = field(default_factory=dict)

    @property
    def mean_fold_accuracy(self):
        return float(np.nanmean([f["balanced_accuracy"] for f in self.folds]))

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "cv": self.cv,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "dwell_s": self.dwell,
            "evidence_weight": self.evidence,
            "classes": list(self.classes),
            "balanced_accuracy": self.balanced_accuracy,
            "mean_fold_balanced_accuracy": self.mean_fold_accuracy,
            "chance": self.chance,
            "recall": self.recall,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "n_windows": self.n_windows,
            "windows_per_subject_and_class": self.counts,
            "folds": self.folds,
            "switching": self.switching,
        }


def _folds(dataset, cv):
    """(name, test mask, train mask) per fold of scheme ``cv``."""
    subj, sess = dataset.subject, dataset.session
    if cv == "loso":
        for g in sorted(set(subj.tolist())):
            yield g, subj == g, subj != g
        return
    if cv == "loso-session":
        for s, e in sorted({(a, b) for a, b in zip(subj.tolist(), sess.tolist())}):
            test = (subj == s) & (sess == e)
            yield f"{s}/{e}", test, ~test
        return
    order = _session_order(dataset)
    for s in sorted(set(subj.tolist())):
        mine = order[s]
        if len(mine) < 2:
            continue
        last = mine[-1]
        test = (subj == s) & (sess == last)
        train = (subj != s) if cv == "new-person-new-day" else ~((subj == s) & ~np.isin(
            sess, mine[:-1]))
        yield f"{s}/{last}", test, train


def _check_folds(dataset, cv):
    subj = sorted(set(dataset.subject.tolist()))
    if cv in ("new-day", "new-person-new-day"):
        order = _session_order(dataset)
        if not any(len(v) >= 2 for v in order.values()):
            raise DatasetError(
                "New-day splits need a subject with two or more sessions, but every "
                "subject here has one; only --cv loso (a new person) can be scored on "
                "these data.")
        if cv == "new-person-new-day" and len(subj) < 2:
            raise DatasetError("A new person on a new day needs at least two subjects.")
        return
    what = "subject" if cv == "loso" else "session"
    groups = subj if cv == "loso" else sorted(
        set(zip(dataset.subject.tolist(), dataset.session.tolist())))
    if len(groups) < 2:
        raise DatasetError(
            f"Leave-one-{what}-out needs at least two {what}s; the data hold one.")


def _counts(y, subject, classes):
    return {str(s): {c: int(np.sum((subject == s) & (y == c))) for c in classes}
            for s in sorted(set(subject.tolist()))}


def cross_validate(dataset, model="lda", *, cv="loso", calibration=None, dwell=0.0,
                   evidence=None, switch_every=None, score_after=None,
                   random_state=0) -> CVResult:
    """Grouped cross-validation of a registered classifier, as a live session runs it.

    Parameters
    ----------
    dataset : Dataset
        One-state recordings (labels from file names or a manifest); with
        marker labels, calibration and switching streams are not available.
    model : str
        Name in :data:`biofeedback.estimators.CLASSIFIERS` (default "lda").
    cv : "loso" | "loso-session" | "new-day" | "new-person-new-day"
        The split (see the module).
    calibration : CalibrationPlan | None
        The protocol's blocks before feedback; features are centred on their
        windows (train and test). None: no calibration.
    dwell : float
        Expected dwell time (s) of the causal state filter the engine applies
        (:class:`biofeedback.statefilter.StateFilter`); 0: each window alone.
    evidence : float | None | sequence of float
        The filter's evidence weight (``gamma``, 0-1]: how much one window's
        probabilities count; None takes ``hop / window``, each sample counted
        once. Larger follows a switch sooner and holds a steady state less.
        A sequence of candidate weights is chosen among per fold by nested
        cross-validation (:func:`select_evidence`: leave one of the fold's
        *training* subjects out at a time, on their switching streams), so
        the held-out person never informs the choice; needs
        ``switch_every``. Each fold records its choice (``evidence_weight``).
    switch_every : float | None
        Also score the held-out person's stream switching state every this
        many seconds (:func:`~biofeedback.training._streams.build_stream`).
    score_after : float | None
        Sustained states are scored on windows starting after this many
        seconds of their recording (default: :func:`~._scoring.unscored_seconds`,
        20 s of one-state recordings, as :func:`evaluate_model` scores them).
    random_state : int

    Returns
    -------
    result : CVResult
    """
    return cross_validate_dwells(dataset, model, (dwell,), cv=cv, calibration=calibration,
                                 evidence=evidence, switch_every=switch_every,
                                 score_after=score_after, random_state=random_state)[0]


def cross_validate_dwells(dataset, model="lda", dwells=(0.0,), *, cv="loso",
                          calibration=None, evidence=None, switch_every=None,
                          score_after=None, random_state=0) -> list:
    """:func:`cross_validate` with several state-filter dwell times at once.

    Each fold's classifier is fitted once and scored with every dwell time
    (the filter acts on its probabilities only): the results equal one
    :func:`cross_validate` call per dwell time, at the cost of one fit.

    Returns
    -------
    results : list of CVResult
        One per dwell time, in order.
    """
    from ..engine import model_usable
    from ..estimators import CLASSIFIERS, make_classifier
    from ._streams import stream_dataset

    _check_option("cv", cv, CV_SCHEMES[:-1])
    _check_option("model", model, list(CLASSIFIERS))
    spec = CLASSIFIERS[model]
    classes = dataset.classes
    plan = calibration or None
    _check_calibration(spec, plan, dataset.window_length, classes, dataset.files)
    runs = []  # per dwell time: its evidence weight (or grid) and what it scores
    for dwell in dwells:
        dwell, grid, ev = _check_dwell(dwell), None, evidence
        if np.ndim(ev):
            grid = tuple(_check_evidence(g) for g in ev)
            if not grid or not switch_every:
                raise ValueError("Choosing the evidence weight by nested cross-validation "
                                 "needs candidate weights and switching streams "
                                 "(switch_every).")
            ev = grid
            if not dwell:  # each window alone: no filter, nothing to choose
                grid = ev = None
        else:
            ev = _check_evidence(ev)
        runs.append({"dwell": dwell, "grid": grid, "evidence": ev, "folds": [],
                     "true": [], "pred": [], "sw": _new_acc()})
    _check_folds(dataset, cv)
    # per recording: the first seconds left unscored (and blank, as live)
    seconds = (unscored_seconds(dataset, plan) if score_after is None
               else np.full(len(dataset.files), float(score_after)))
    settle = SCORE_AFTER if score_after is None else float(score_after)
    skip = max(settle, max((d for _, d in plan.blocks), default=0.0) if plan else 0.0)
    X = dataset.inputs(spec.input)
    transform = stats = None
    if plan:
        stats = calibration_stats(stream_dataset(dataset, plan, switch_every or 30.0,
                                                 skip=skip), plan, spec.input)
        X = centred(dataset, X, stats)
        transform = recording_transform(dataset.files, stats)
    streams = None
    if switch_every:
        streams = stream_dataset(dataset, plan, switch_every, skip=skip)
    scored = sustained_mask(dataset, seconds)
    y = dataset.y
    tested = np.zeros(len(dataset), bool)
    one_class = []  # folds whose training side holds one class: (held out, that class)
    for name, test_all, train in _folds(dataset, cv):
        test = test_all & scored
        if not test.any():
            continue
        trained = sorted(set(y[train].tolist()))
        if len(trained) < 2:
            one_class.append((name, trained))
            continue
        est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state,
                              columns=dataset.columns)
        fit = train & model_usable(X, spec.input)
        with few_windows_said():  # Dataset.few_windows_warning says it
            est.fit(X[fit], y[fit])
        for run in runs:
            _score_fold(run, est, name, dataset, model, test, test_all, train, X, plan,
                        stats, streams, transform, seconds, switch_every, spec.input,
                        random_state)
        tested |= test
    if not runs[0]["folds"] and one_class:
        shown = listed([f"without {n}: {', '.join(map(repr, c)) or 'none'}"
                        for n, c in one_class], 4, "; ")
        raise DatasetError(
            "No validation fold could be trained: what is left when each is held out "
            f"holds one class only ({shown}); record every state for at least two people (or "
            "sessions), or pass --cv none to train without validation.")
    if not runs[0]["folds"]:
        raise DatasetError("No fold had windows to score.")
    if one_class:
        from .._logging import logger

        shown = listed([f"{n} (the rest holds only {', '.join(map(repr, c))})"
                        for n, c in one_class], 4, "; ")
        logger.warning("Held out, %s could not be scored: a classifier needs two classes "
                       "to train on, so %s missing from the figures; record every state "
                       "for at least two people (or sessions).", shown,
                       "it is" if len(one_class) == 1 else "they are")
    counts = _counts(y[tested], dataset.subject[tested], classes)
    out = []
    for run in runs:
        yt, yp = np.concatenate(run["true"]), np.concatenate(run["pred"])
        rec = _recalls(yt, yp, classes)
        switching = None
        if streams is not None:
            switching = _switching_summary(run["sw"], classes, switch_every)
        elif run["sw"]["lags"]:  # sessions labelled over time, scored as they switch
            switching = _switching_summary(run["sw"], classes, 0.0)
            switching["switch_every_s"] = None
        out.append(CVResult(
            model=model, cv=cv, classes=classes, calibration=plan,
            balanced_accuracy=float(np.nanmean(rec)),
            recall={c: float(r) for c, r in zip(classes, rec)},
            confusion_matrix=confusion(yt, yp, classes), chance=1.0 / len(classes),
            n_windows=len(yt), folds=run["folds"], y_true=yt, y_pred=yp,
            dwell=run["dwell"], evidence=run["evidence"], switching=switching,
            counts=counts,
        ))
    return out


def _score_fold(run, est, name, dataset, model, test, test_all, train, X, plan, stats,
                streams, transform, seconds, switch_every, input, random_state):
    """Score one fold's fitted ``est`` with one dwell time; add it to ``run``."""
    y, classes = dataset.y, dataset.classes
    dwell, grid, ev = run["dwell"], run["grid"], run["evidence"]
    if grid is not None:
        ev = select_evidence(dataset, model, dwell=dwell, grid=grid, train=train, X=X,
                             plan=plan, stats=stats, streams=streams,
                             switch_every=switch_every, random_state=random_state)
    P = filtered_proba(est.predict_proba, dataset, test, dwell, input=input,
                       evidence=ev, transform=transform, blank_until=seconds)
    pred = _argmax_labels(P, est.classes_)
    rec = _recalls(y[test], pred, classes)
    fold = {
        "test": name,
        "n_windows": int(test.sum()),
        "balanced_accuracy": float(np.nanmean(rec)),
        "recall": {c: (None if np.isnan(r) else float(r)) for c, r in zip(classes, rec)},
        "test_windows_per_class": {c: int(np.sum(y[test] == c)) for c in classes},
        "train_windows_per_class": {c: int(np.sum(y[train] == c)) for c in classes},
    }
    if grid is not None:
        fold["evidence_weight"] = ev
        # select_evidence holds out one training subject at a time: with one
        # there is nothing to hold out, and the weight is the grid's first
        fold["evidence_chosen"] = len(set(dataset.subject[train].tolist())) >= 2
    _score_over_time(run["sw"], dataset, test, pred, seconds)
    if streams is not None:
        keys = set(zip(dataset.subject[test_all].tolist(),
                       dataset.session[test_all].tolist()))
        fold["switching"] = _score_streams(est.predict_proba, est.classes_, streams, keys,
                                           plan, stats, dwell, run["sw"], input=input,
                                           evidence=ev)
    run["folds"].append(fold)
    run["true"].append(y[test])
    run["pred"].append(pred)


def _score_over_time(acc, dataset, test, pred, seconds) -> None:
    """Add the switches of the held-out recordings labelled over time (markers,
    a manifest's stretches) to ``acc``, as :func:`evaluate_model` scores them:
    from the end of their first ``seconds`` (their calibration), the windows
    ``test`` scores, labelled by the state at their end."""
    rec, t_test, y_test = dataset.recording[test], dataset.t[test], dataset.y[test]
    for r in np.unique(rec):
        if dataset.files[r].label is not None:  # one state: its streams score it
            continue
        m = rec == r
        t, y_true, y_pred = t_test[m], y_test[m], pred[m]
        switches = switches_from_markers(dataset.full[r]["markers"], after=seconds[r])
        _add_scores(acc, switching_scores(t, y_true, y_pred, switches), y_true, y_pred)


def evidence_grid(config) -> tuple:
    """The candidate evidence weights: how much new evidence one window brings.

    Three readings of the overlap, from the pipeline's window grid: each
    sample counted once (``hop / window``, the filter's default), each Welch
    segment counted once (``hop / welch_segment``), each window counted as
    independent (1). 0.25, 0.5 and 1 with the shipped pipeline (2 s windows
    every 0.5 s, 1 s Welch segments).
    """
    hop, win = float(config.window.hop), float(config.window.length)
    seg = float(config.features.welch_segment)
    return tuple(sorted({min(1.0, hop / win), min(1.0, hop / seg), 1.0}))


def select_evidence(dataset, model="lda", *, dwell, grid=None, train=None, X=None,
                    plan=None, stats=None, streams=None, switch_every=30.0,
                    random_state=0) -> float:
    """The evidence weight among ``grid`` that leave-one-subject-out over the
    ``train`` windows' subjects scores best on switching streams.

    For each of those subjects in turn, the model is fitted on the others and
    that subject's switching streams go through it and the state filter with
    each candidate weight; the weight with the highest balanced accuracy over
    all those windows wins (ties: the smaller weight, the steadier output).
    Only the ``train`` subjects are read, so an outer fold that calls this on
    its training side stays honest (nested cross-validation), and ``train``
    calls it on every subject to choose the saved model's weight.

    Parameters
    ----------
    dataset : Dataset
        One-state recordings (labels from file names or a manifest).
    model : str
    dwell : float
        The state filter's expected dwell time (s), above 0.
    grid : sequence of float | None
        Candidate weights, each in (0, 1]; None: :func:`evidence_grid`.
    train : array of bool | None
        The windows whose subjects may be read (None: all).
    X : ndarray | None
        The model's inputs for every window (centred when calibrating);
        None: computed here.
    plan, stats :
        The calibration plan and its statistics (None: no calibration;
        ``stats`` None with a plan: computed here).
    streams : Dataset | None
        Switching streams of ``dataset`` (None: built here).
    switch_every : float
        Seconds between switches when ``streams`` is built here.
    random_state : int

    Returns
    -------
    evidence : float
        The first candidate when fewer than two subjects can be read.
    """
    from ..engine import model_usable
    from ..estimators import CLASSIFIERS, make_classifier
    from ._streams import stream_dataset

    spec = CLASSIFIERS[model]
    grid = tuple(_check_evidence(g) for g in (evidence_grid(dataset.config)
                                                if grid is None else grid))
    train = np.ones(len(dataset), bool) if train is None else np.asarray(train, bool)
    subjects = sorted(set(dataset.subject[train].tolist()))
    if len(subjects) < 2 or len(grid) == 1:
        return float(grid[0])
    skip = max(20.0, max((d for _, d in plan.blocks), default=0.0) if plan else 0.0)
    if streams is None:
        streams = stream_dataset(dataset, plan, switch_every, skip=skip)
    if X is None:
        X = dataset.inputs(spec.input)
        if plan:
            if stats is None:
                stats = calibration_stats(streams, plan, spec.input)
            X = centred(dataset, X, stats)
    y = dataset.y
    accs = {g: _new_acc() for g in grid}
    for s in subjects:
        fit = train & (dataset.subject != s) & model_usable(X, spec.input)
        if len(set(y[fit].tolist())) < 2:
            continue
        est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state,
                              columns=dataset.columns)
        with few_windows_said():
            est.fit(X[fit], y[fit])
        mine = train & (dataset.subject == s)
        keys = set(zip(dataset.subject[mine].tolist(), dataset.session[mine].tolist()))
        predict = _Memo(est.predict_proba)  # one classifier pass per stream, not per weight
        for g in grid:
            _score_streams(predict, est.classes_, streams, keys, plan, stats,
                           dwell, accs[g], input=spec.input, evidence=g)
    scores = []
    for g in grid:
        summary = _switching_summary(accs[g], dataset.classes, switch_every)
        scores.append(-np.inf if summary is None else summary["balanced_accuracy"])
    best = max(scores)
    return float(min(g for g, v in zip(grid, scores) if v >= best - 1e-12))


class _Memo:
    """``predict_proba`` remembering its answer for inputs it has seen (by
    content), so that one stream scored with several filter weights goes
    through the classifier once."""

    def __init__(self, predict_proba):
        self.predict_proba = predict_proba
        self._seen = {}

    def __call__(self, X):
        X = np.ascontiguousarray(X)
        key = (X.shape, X.dtype.str, hash(X.tobytes()))
        hit = self._seen.get(key)
        if hit is None or not np.array_equal(hit[0], X, equal_nan=True):
            hit = self._seen[key] = (X.copy(), self.predict_proba(X))
        return hit[1]


def random_split_score(dataset, model="lda", *, n_splits=5, random_state=0) -> float:
    """Balanced accuracy of shuffled stratified k-fold over windows.

    For illustration only: overlapping windows of one recording land on both
    sides of the split, so this figure is inflated (it measures recognising a
    recording, not a state).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from ..engine import model_usable
    from ..estimators import CLASSIFIERS, make_classifier

    spec = CLASSIFIERS[model]
    X = dataset.inputs(spec.input)
    ok = model_usable(X, spec.input)
    est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state,
                          columns=dataset.columns)
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    with few_windows_said():
        pred = cross_val_predict(est, X[ok], dataset.y[ok], cv=cv)
    return float(np.nanmean(_recalls(dataset.y[ok], pred, dataset.classes)))
