"""A trained classifier with everything it needs live.

:class:`LoadedModel` is what a live session or an evaluation uses: it checks
the data fit, calibrates per user and gives class probabilities.
:func:`~._fit.fit_model` makes one from a dataset; its file format (written and
read without executing code) is in :mod:`._modelfile`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._logging import logger
from .._words import listed
from ..errors import ModelError
from ..hardware._profiles import MAX_SFREQ, ten_twenty_site

FORMAT = "biofeedback-model"
#: The newest model-file format this release reads (see :mod:`._modelfile`).
FORMAT_VERSION = 2


def _names(meta, key, empty=True) -> list:
    """``meta[key]``, a list of names, or a ModelError saying it is not one."""
    names = meta[key]
    if not (isinstance(names, list) and (empty or names)
            and all(isinstance(n, str) for n in names)):
        raise ModelError(f"its {key} {names!r:.80} are not a list of names: the file "
                         "was edited or damaged; train the model again.")
    return list(names)


def profile_file(profile) -> str | None:
    """The file name of a board profile read from a file, as a model file keeps
    it; None for a shipped profile's name (or no profile).

    A model file names no file to read (one from someone else could point
    anywhere) nor a folder of this computer: training keeps the file's name
    alone, and whoever uses the model passes the file with ``--profile``.
    """
    from ..config import is_profile_path

    return Path(profile).name if profile and is_profile_path(profile) else None


class LoadedModel:
    """A trained classifier with everything needed to use it live.

    Attributes
    ----------
    classes_ : ndarray of str
    feature_names : list of str
        The engine features the model reads, in order.
    ch_names : list of str
    sfreq : float
    config : PipelineConfig
        The pipeline the model was trained with; run live sessions with it.
    input : "features" | "clean_features" | "windows"
        What :meth:`predict_proba` reads: engine feature vectors
        ``(n_windows, n_features)``, the same with NaN in the columns of the
        channels the gates left out of the window
        (:meth:`biofeedback.features.FeatureSet.clean_view`), or filtered
        windows ``(n_windows, n_channels, n_times)`` in volts.
    dwell : float
        Expected dwell time (s) of a state for the causal state filter
        (:class:`biofeedback.statefilter.StateFilter`) that
        :class:`biofeedback.engine.Engine` applies (0: none).
    evidence : float | None
        That filter's evidence weight (None: ``hop / window``).
    needs_calibration : bool
        True when features must be centred on a per-user baseline: call
        :meth:`calibrate` with the calibration blocks' features before
        :meth:`predict_proba` (the engine does it itself).
    plan : CalibrationPlan | None
        The protocol blocks before feedback the model is centred on.
    meta : dict
        Everything in the file's ``meta.json`` (training summary, metrics).
    """

    def __init__(self, estimator, meta):
        from .._toml import from_dict
        from ..config import PipelineConfig, stored_pipeline
        from ._scoring import _check_dwell, _check_evidence

        self.estimator = estimator
        self.meta = meta
        classes = _names(meta, "classes", empty=False)
        fitted = getattr(estimator, "classes_", None)
        if fitted is not None and [str(c) for c in fitted] != classes:
            raise ModelError(
                f"it lists the classes {listed(classes)} but its classifier gives "
                f"{listed(fitted)}: the file was edited or damaged; train "
                "the model again.")
        self.classes_ = np.asarray(classes, dtype=str)
        self.feature_names = _names(meta, "feature_names")
        self.ch_names = _names(meta, "ch_names")
        self.sfreq = float(meta["sfreq"])
        if not (np.isfinite(self.sfreq) and 0 < self.sfreq <= MAX_SFREQ):
            raise ValueError(f"its sampling rate is {self.sfreq:g} Hz")
        self.input = meta.get("input", "features")
        if self.input not in ("features", "clean_features", "windows"):
            raise ValueError(f"unknown input {self.input!r}")
        self.dwell = _check_dwell(meta.get("dwell_s") or 0.0)
        #: the state filter's evidence weight; None: hop / window
        self.evidence = _check_evidence(meta.get("evidence_weight"))
        # a scikit-learn estimator (foreign): only some of them set n_features_in_;
        # a window model's first step reads channels, a feature model's features
        n_in = getattr(estimator, "n_features_in_", None)
        windows = self.input == "windows"
        n_listed = len(self.ch_names) if windows else len(self.feature_names)
        if n_in is not None and n_in != n_listed:
            reads, what = (("columns", "channels (input 'windows')") if windows
                             else ("features", "feature names"))
            raise ModelError(
                f"its classifier reads {n_in} {reads} but the file lists {n_listed} {what}: the "
                "file was edited or damaged; train the model again."
            )
        pipe = stored_pipeline(meta["pipeline"])
        # a model is someone else's data: it brings how to compute, never where
        # to record, write or send (those come from the user's own options)
        self.config, dropped = from_dict(PipelineConfig, pipe, "model file").without_outputs()
        from ..features._plan import check_features

        check_features(self.config.features, "model file [features]")
        self.ignored_outputs = dropped
        if dropped:
            logger.warning(
                "The model's pipeline names outputs or files (%s); they are ignored: "
                "recordings, files and network cues go where your command line or pipeline "
                "says, and the board is the one it names.",
                ", ".join(dropped))
        self.n_times = int(round(self.config.window.length * self.sfreq))
        from ._calibration import CalibrationPlan

        self.calibration = meta.get("calibration")
        self.plan = CalibrationPlan.from_dict(self.calibration)
        if self.calibration:
            self.calibration = dict(self.calibration, seconds=self.plan.seconds)
        self.needs_calibration = bool(self.calibration)
        self.fname = None
        self._cols = None  # live feature columns the model reads
        self._chans = None  # live channel rows a window model reads
        self._offset = None
        self._scale = None

    def _name(self):
        """The model file's name and a space, or nothing for a model not read from a file."""
        return f"{Path(self.fname).name} " if self.fname else ""

    def __repr__(self):
        return (f"<LoadedModel | {self.meta.get('model')}, classes "
                f"{listed(self.classes_)}, {len(self.ch_names)} ch at "
                f"{self.sfreq:g} Hz>")

    def check_compatible(self, ch_names, sfreq, feature_names, data="the data") -> None:
        """Check that live data fit the model; adapt to a channel superset.

        Features are computed channel by channel, so a live layout holding
        every channel the model knows (by name) is used through those columns.
        ``data`` names the data in messages (e.g. "the data of rec.xdf").

        Raises
        ------
        ModelError
            In one sentence, when the rate, the channels or the features differ.
        """
        ch_names, feature_names = list(ch_names), list(feature_names)
        if abs(float(sfreq) - self.sfreq) > 1e-6 * self.sfreq:
            raise ModelError(
                f"The model {self._name()}was trained at {self.sfreq:g} Hz but {data} are "
                f"sampled at {float(sfreq):g} Hz; a model reads data at the rate it was "
                f"trained at: use one trained on recordings at {float(sfreq):g} Hz."
            )
        missing = [ch for ch in self.ch_names if ch not in ch_names]
        if missing:
            # 'fp1', 'EEG Fp1', 'Fp1-REF' for 'Fp1': the site, spelt otherwise
            spelt = {ten_twenty_site(c): c for c in ch_names if c not in self.ch_names}
            other = [f"{spelt[ten_twenty_site(c)]} for {c}" for c in missing
                     if ten_twenty_site(c) in spelt]
            todo = (f"; they hold {listed(other)}: channel names must match exactly, "
                    "so rename those channels" if other else
                    "; use a model trained on recordings with these channels")
            raise ModelError(
                f"The model {self._name()}was trained on channels "
                f"{listed(self.ch_names)} but {data} lack {listed(missing)}{todo}."
            )
        if self.input == "windows":
            self._chans = None
            if ch_names != self.ch_names:
                self._check_reference(ch_names)
                self._chans = np.array([ch_names.index(c) for c in self.ch_names])
            return
        if feature_names == self.feature_names:
            self._cols = None
            return
        self._check_reference(ch_names)
        pos = {name: i for i, name in enumerate(feature_names)}
        absent = [f for f in self.feature_names if f not in pos]
        if absent:
            raise ModelError(
                f"The live pipeline does not compute the model's feature {absent[0]!r}; "
                "run the session with the pipeline stored in the model."
            )
        self._cols = np.array([pos[f] for f in self.feature_names])
        logger.info("Model reads %d of %d live features (channels %s).",
                    len(self._cols), len(feature_names), ", ".join(self.ch_names))

    def _check_reference(self, ch_names):
        if (ch_names != self.ch_names
                and self.config.preprocessing.reference == "average"):
            raise ModelError(
                "The model's common average reference was taken over "
                f"{listed(self.ch_names)}, so it cannot run on a different channel set."
            )

    def _select_windows(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError("X must be 3D (n_windows, n_channels, n_times), got shape "
                             f"{X.shape}.")
        if self._chans is not None:
            X = X[:, self._chans]
        if X.shape[1] != len(self.ch_names):
            raise ValueError(f"X has {X.shape[1]} channels but the model reads "
                             f"{len(self.ch_names)}.")
        if X.shape[2] != self.n_times:
            raise ModelError(
                f"The model reads {self.n_times}-sample windows but got {X.shape[2]}; "
                "run the session with the pipeline stored in the model."
            )
        return X

    def _select(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2D (n_windows, n_features), got shape {X.shape}.")
        if self._cols is not None:
            X = X[:, self._cols]
        if X.shape[1] != len(self.feature_names):
            raise ValueError(
                f"X has {X.shape[1]} features but the model reads "
                f"{len(self.feature_names)}."
            )
        return X

    def check_calibration(self) -> None:
        """Check that the model's own calibration can be computed (any session, any scoring).

        :func:`~._modelfile.load_model` calls it, so every command that loads
        a model file refuses such a one the same way.

        Raises
        ------
        ModelError
            In one sentence naming the file, when it z-scores on fewer than
            :data:`~._calibration.ZSCORE_WINDOWS` windows (files written before
            that minimum was enforced), or centres on less than one window.
        """
        if not self.needs_calibration:
            return
        from ._calibration import ZSCORE_WINDOWS

        need = self.plan
        least = need.min_seconds(self.config.window.length)
        if need.seconds + 1e-9 < least and need.method != "zscore":
            raise ModelError(
                f"The model {self._name()}centres its features on {need.seconds:g} s of "
                f"calibration, shorter than one {self.config.window.length:g} s window, so "
                "no window would calibrate it; train it again with longer calibration "
                "blocks.")
        if need.seconds + 1e-9 < least:  # a file from before the minimum was enforced
            raise ModelError(
                f"The model {self._name()}z-scores its features on {need.seconds:g} s of "
                f"calibration, but z-scoring divides by their SD, which needs at least "
                f"{least:g} s ({ZSCORE_WINDOWS} windows of {self.config.window.length:g} s); "
                "train it again with longer calibration blocks, or with "
                "--calibration-method center.")

    def check_protocol(self, feedback, where="the pipeline's protocol") -> None:
        """Check that a session's protocol gives the calibration this model needs.

        Raises
        ------
        ModelError
            In one sentence, when the blocks before feedback are shorter than
            the model's calibration, or ask for other states.
        """
        if not self.needs_calibration:
            return
        from ._calibration import CalibrationPlan, blocks_before_feedback

        have = CalibrationPlan.from_protocol(feedback)
        need = self.plan
        if have.seconds + 1e-9 < need.seconds:
            names = [b.name for b in blocks_before_feedback(feedback)]
            which = f" ({', '.join(repr(n) for n in names)})" if names else ""
            raise ModelError(
                f"The model calibrates on {need.describe()} ({need.seconds:g} s) before "
                f"feedback, but the blocks before feedback in {where}{which} last "
                f"{have.seconds:g} s; run the session with the pipeline stored in the "
                "model, or lengthen those calibration blocks.")
        named = [s for s in need.states if s is not None]
        if named and have.states[:len(need.states)] != need.states:
            raise ModelError(
                f"The model calibrates on {need.describe()}, but {where} asks for "
                f"{have.describe()} before feedback; run the session with the pipeline "
                "stored in the model, or give it those calibration blocks.")

    @property
    def calibrated(self) -> bool:
        """True once :meth:`calibrate` has run (or when none is needed)."""
        return not self.needs_calibration or self._offset is not None

    def calibrate(self, features) -> LoadedModel:
        """Centre (or z-score) later features on a per-user baseline.

        Parameters
        ----------
        features : array, shape (n_windows, n_features)
            Engine features of the baseline block (e.g. 60 s of rest and task,
            ungated windows only), in the live layout.

        Returns
        -------
        self
        """
        from ..engine import model_usable
        from ._calibration import _baseline_stats

        if self.input == "windows":
            raise ModelError("Only feature models are calibrated.")
        X = self._select(features)
        ok = model_usable(X, self.input)
        if not ok.any():
            raise ModelError("The baseline holds no window with finite features.")
        self._offset, self._scale = _baseline_stats(
            X[ok], self.plan.method if self.plan else "center")
        return self

    def calibration_state(self) -> dict | None:
        """The per-user calibration in force, JSON-ready (None when there is none).

        A participant's next session can start from it
        (:meth:`restore_calibration`) instead of its own baseline.
        """
        if not self.needs_calibration or self._offset is None:
            return None
        def nulled(a):  # NaN (a channel never clean in the baseline) as null
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, float)]

        return {"method": self.plan.method,
                "offset": nulled(self._offset), "scale": nulled(self._scale)}

    def restore_calibration(self, state) -> LoadedModel:
        """Use a calibration saved by :meth:`calibration_state`.

        Raises
        ------
        ModelError
            When it does not fit this model (another feature count or method).
        """
        offset = np.asarray(state.get("offset", ()), dtype=float)  # null: NaN
        scale = np.asarray(state.get("scale", ()), dtype=float)
        # a channel-balanced model leaves a channel never clean in the baseline out
        blank = ~np.isfinite(offset) if self.input == "clean_features" else False
        offset = np.where(blank, np.nan, offset)
        scale = np.where(blank, 1.0, scale)
        method = self.plan.method if self.plan else "center"
        if (not self.needs_calibration or state.get("method", "center") != method
                or offset.shape != (len(self.feature_names),) or scale.shape != offset.shape
                or not (np.all(np.isfinite(offset) | blank) and np.all(scale > 0))):
            raise ModelError("The saved calibration does not fit this model.")
        self._offset, self._scale = offset, scale
        return self

    def predict_proba(self, X):
        """Class probabilities ``(n_windows, n_classes)`` of one batch of windows.

        ``X`` is what the model's :attr:`input` names: a
        :class:`~biofeedback.training.Dataset` (its windows are read as
        ``X.inputs(model.input)``), or an array of engine features
        ``(n_windows, n_features)`` (``Dataset.X``; ``Dataset.Xc``, NaN where
        the gates left a channel out, for a ``"clean_features"`` model such as
        the default: its ``X`` would hand it left-out channels' values), or
        filtered windows ``(n_windows, n_channels, n_times)`` for window
        models. These are the probabilities of each window alone: the engine
        filters them over time (:attr:`dwell`).
        """
        if hasattr(X, "inputs") and hasattr(X, "full"):  # a Dataset
            X = X.inputs(self.input)
        if self.input == "windows":
            return self.estimator.predict_proba(self._select_windows(X))
        X = self._select(X)
        if self.needs_calibration:
            if self._offset is None:
                raise ModelError(
                    "This model needs a per-user baseline: call calibrate() with the "
                    "baseline block's features first."
                )
            X = (X - self._offset) / self._scale
        if self.input == "clean_features":
            # a window whose clean channels were all left out of the baseline
            from ..engine import model_usable

            ok = model_usable(X, self.input)
            if not ok.all():
                out = np.full((len(X), len(self.classes_)), np.nan)
                if ok.any():
                    out[ok] = self.estimator.predict_proba(X[ok])
                return out
        return self.estimator.predict_proba(X)

    def predict(self, X):
        """Most probable class of each window (``X`` as :meth:`predict_proba`)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
