"""Fitting a registered classifier on a whole dataset, into a :class:`~._model.LoadedModel`.

The fit centres each subject's features on the protocol's calibration blocks
when asked, exactly as the engine will centre a live session's.
"""

from __future__ import annotations

import numpy as np

from ._model import FORMAT, FORMAT_VERSION, LoadedModel, profile_file

#: Default expected dwell time (s) of a state, for the state filter, when the
#: protocol has no training block to take it from.
DEFAULT_DWELL = 30.0


def default_dwell(config) -> float:
    """The protocol's training block length (how long a state is held), else 30 s."""
    blocks = [b.duration for b in config.feedback.blocks if b.kind in ("training", "transfer")]
    return float(np.median(blocks)) if blocks else DEFAULT_DWELL


def fit_model(dataset, model="lda", *, calibration=None, dwell=DEFAULT_DWELL,
              evidence=None, switch_every=30.0, random_state=0):
    """Fit a registered classifier on a whole dataset.

    Parameters
    ----------
    dataset : Dataset
        From :func:`extract_dataset`.
    model : str
        A name in :data:`biofeedback.estimators.CLASSIFIERS` (default "lda": only
        the channels the quality gates keep reach it).
    calibration : CalibrationPlan | None
        The protocol's blocks before feedback: each subject's features are
        centred on the windows of those blocks replayed from their recordings
        (:mod:`._calibration`), and the saved model asks the engine to centre
        live features on the same blocks.
    dwell : float
        Expected dwell time in seconds of a state, for the causal state
        filter the engine applies to the class probabilities (0: none).
    evidence : float | None
        The filter's evidence weight (0-1]; None: ``hop / window``.
    switch_every : float | None
        With ``calibration``: the calibration blocks are replayed at the start
        of the streams :func:`~._validation.cross_validate` builds with this
        ``switch_every`` (None: 30 s), so that fitting reuses them; what
        follows the blocks does not change their windows.
    random_state : int

    Returns
    -------
    model : LoadedModel
        Ready to save with :func:`~._modelfile.save_model` (and to use).
    """
    from ..engine import model_usable
    from ..estimators import CLASSIFIERS, make_classifier
    from ._calibration import _check_calibration, calibration_stats, centred
    from ._scoring import _check_dwell, _check_evidence
    from ._streams import stream_dataset

    spec = CLASSIFIERS[model] if model in CLASSIFIERS else None
    est = make_classifier(model, sfreq=dataset.sfreq, random_state=random_state,
                          columns=dataset.columns)
    plan = calibration or None
    _check_calibration(spec, plan, dataset.window_length, dataset.classes, dataset.files)
    dwell = _check_dwell(dwell)
    evidence = _check_evidence(evidence)
    X = dataset.inputs(spec.input)
    if spec.input != "windows" and plan:
        skip = max(d for _, d in plan.blocks)
        streams = stream_dataset(dataset, plan, switch_every or 30.0, skip=max(skip, 20.0))
        stats = calibration_stats(streams, plan, spec.input)
        X = centred(dataset, X, stats)
    from ._warnings import few_windows_said

    ok = model_usable(X, spec.input)
    with few_windows_said():  # Dataset.few_windows_warning says it
        est.fit(X[ok], dataset.y[ok])
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model,
        "description": spec.description,
        "input": spec.input,
        "classes": [str(c) for c in est.classes_],
        "feature_names": list(dataset.feature_names),
        "ch_names": list(dataset.ch_names),
        "sfreq": float(dataset.sfreq),
        "profile": profile_file(dataset.profile) or dataset.profile,
        "pipeline": dataset.config.to_dict(),
        "calibration": plan.to_dict() if plan else None,
        "dwell_s": dwell,
        "evidence_weight": evidence,
        "training": dataset.summary(),
        "metrics": {},
    }
    return LoadedModel(est, meta)
