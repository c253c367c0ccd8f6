"""The model step: class probabilities, per-user calibration, state filter.

Both drivers call it; the batch form calibrates at exactly the window where
the live form does, so the two give the same probabilities.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .._logging import logger


class EngineModel(Protocol):
    """What the engine reads of a model: every name here is declared by
    :class:`biofeedback.training.LoadedModel`, and a model of one's own must
    declare them too.

    Attributes
    ----------
    classes_ : ndarray of str
        One ``p_<class>`` estimate each.
    input : "features" | "clean_features" | "windows"
        What :meth:`predict_proba` reads: the feature vector, the same with
        NaN in the columns of channels the gates left out, or the filtered
        window ``(1, n_channels, n_times)``.
    dwell : float
        Expected dwell time (s) of a state for the causal state filter
        over the probabilities (0: none).
    evidence : float | None
        That filter's evidence weight (None: ``hop / window``).
    needs_calibration : bool
        True when the model is centred on a per-user baseline, which the
        engine takes from the first ``calibration["seconds"]`` of data and
        hands to :meth:`calibrate`.
    calibration : dict | None
        The calibration the model asks for (``seconds``...).
    calibrated : bool
        True once the baseline is in (or when none is needed).
    """

    classes_: np.ndarray
    input: str
    dwell: float
    evidence: float | None
    needs_calibration: bool
    calibration: dict | None
    calibrated: bool

    def check_compatible(self, ch_names, sfreq, feature_names) -> None:
        """Raise :class:`~biofeedback.errors.ModelError` when the data do not fit."""

    def calibrate(self, features):
        """Take the baseline windows' model inputs ``(n_windows, ...)``."""

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_windows, n_classes)``."""


#: The names an engine reads of its model (:class:`EngineModel`).
_MODEL_NAMES = ("classes_", "input", "dwell", "evidence", "needs_calibration",
                "calibration", "calibrated", "check_compatible", "calibrate",
                "predict_proba")


def _check_model(model) -> None:
    """One sentence when ``model`` lacks a name of :class:`EngineModel`."""
    missing = [n for n in _MODEL_NAMES if not hasattr(model, n)]
    if missing:
        raise TypeError(
            f"The model {type(model).__name__} lacks {', '.join(missing)}, which the "
            "engine reads (see biofeedback.engine.EngineModel)."
        )


def model_usable(x, input) -> np.ndarray:
    """Rows of a model's input it gives probabilities for.

    Feature and window models need every value finite; a channel-balanced
    model ("clean_features", NaN where the gates left a channel out) needs
    one finite value. Training and validation use the same rule.
    """
    x = np.asarray(x)
    finite = np.isfinite(x.reshape(len(x), -1))
    return finite.any(axis=1) if input == "clean_features" else finite.all(axis=1)


class _ModelStep:
    """The model's probabilities for windows (a mixin of ``Engine``)."""

    def _model_input(self, feats, filt, clean):
        """What the model reads: the window, the features, or the features of
        the clean channels only (the displayed features are not changed)."""
        kind = self.model.input
        if kind == "windows":
            return filt
        if kind == "clean_features":
            return self.features.clean_view(feats, clean)
        return feats

    def _model_proba(self, feats, filt, t_end, gated=False, filter_state=True, clean=None):
        """The model's class probabilities for one window, filtered over the past."""
        kind = self.model.input
        x = self._model_input(feats, filt, clean)
        if self._calib_seconds is not None and t_end - self._t_first <= self._calib_seconds:
            # the calibration blocks: no probabilities (as in validation), and
            # their clean windows' features (as the model reads them) if the
            # model still needs them
            if (not self.model.calibrated and not gated
                    and np.all(np.isfinite(feats))):
                self._calib_feats.append(np.array(x if kind != "windows" else feats))
            return np.full(len(self.model.classes_), np.nan)
        if self._calib_seconds is not None and not self.model.calibrated:
            if not self._calib_feats:
                from ..errors import ModelError

                raise ModelError(
                    f"The model calibrates on the first {self._calib_seconds:g} s of the "
                    "session, but the quality gates flagged every window in them; check "
                    "the electrodes and start again."
                )
            self.model.calibrate(np.array(self._calib_feats))
            self.calibrated_at = float(t_end)
            logger.info("Model calibrated on %d baseline windows.", len(self._calib_feats))
        if model_usable(x[None], kind)[0]:
            proba = self.model.predict_proba(x[None])[0]
        else:
            proba = np.full(len(self.model.classes_), np.nan)
        if self.state_filter is not None and filter_state:
            proba = self.state_filter.step(proba)
        return proba

    def _model_proba_batch(self, feats, filt, t_end, gated, clean=None):
        """:meth:`_model_proba` over a stack of windows: one ``predict_proba`` call."""
        kind = self.model.input
        x = self._model_input(feats, filt, clean)
        n_w, n_cls = len(t_end), len(self.model.classes_)
        proba = np.full((n_w, n_cls), np.nan)
        predict = np.ones(n_w, bool)
        if self._calib_seconds is not None:
            in_calib = (t_end - self._t_first) <= self._calib_seconds
            predict = ~in_calib
            first = int(np.argmax(predict)) if predict.any() else n_w
            if not self.model.calibrated:
                # the calibration windows before the first predicted one, as live
                take = (np.flatnonzero(in_calib[:first]) if first else np.empty(0, int))
                for k in take:
                    if not gated[k] and np.all(np.isfinite(feats[k])):
                        self._calib_feats.append(np.array(x[k] if kind != "windows"
                                                          else feats[k]))
                if first < n_w:  # calibrate exactly where the live path does
                    self._model_proba(feats[first], filt[first], t_end[first], gated[first],
                                      filter_state=False,
                                      clean=None if clean is None else clean[first])
        rows = np.flatnonzero(predict & model_usable(x, kind))
        if rows.size:
            proba[rows] = self.model.predict_proba(x[rows])
        if self.state_filter is not None:
            proba = self.state_filter.filter(proba, carry=True)
        return proba
