"""The model step: class probabilities, per-user calibration, state filter.

Both drivers call it; the batch form calibrates at exactly the window where
the live form does, so the two give the same probabilities.
"""

from __future__ import annotations

import numpy as np

from .._logging import logger


class _ModelStep:
    """The model's probabilities for windows (a mixin of ``Engine``)."""

    def _model_proba(self, feats, filt, t_end, gated=False, filter_state=True):
        """The model's class probabilities for one window, filtered over the past."""
        x = filt if getattr(self.model, "input", "features") == "windows" else feats
        if self._calib_seconds is not None and t_end - self._t_first <= self._calib_seconds:
            # the calibration blocks: no probabilities (as in validation), and
            # their clean windows' features if the model still needs them
            if (not getattr(self.model, "calibrated", False) and not gated
                    and np.all(np.isfinite(feats))):
                self._calib_feats.append(feats.copy())
            return np.full(len(self.model.classes_), np.nan)
        if self._calib_seconds is not None and not getattr(self.model, "calibrated", False):
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
        if np.all(np.isfinite(x)):
            proba = self.model.predict_proba(x[None])[0]
        else:
            proba = np.full(len(self.model.classes_), np.nan)
        if self.state_filter is not None and filter_state:
            proba = self.state_filter.step(proba)
        return proba

    def _model_proba_batch(self, feats, filt, t_end, gated):
        """:meth:`_model_proba` over a stack of windows: one ``predict_proba`` call."""
        windows_in = getattr(self.model, "input", "features") == "windows"
        n_w, n_cls = len(t_end), len(self.model.classes_)
        proba = np.full((n_w, n_cls), np.nan)
        predict = np.ones(n_w, bool)
        if self._calib_seconds is not None:
            in_calib = (t_end - self._t_first) <= self._calib_seconds
            predict = ~in_calib
            first = int(np.argmax(predict)) if predict.any() else n_w
            if not getattr(self.model, "calibrated", False):
                # the calibration windows before the first predicted one, as live
                take = (np.flatnonzero(in_calib[:first]) if first else np.empty(0, int))
                for k in take:
                    if not gated[k] and np.all(np.isfinite(feats[k])):
                        self._calib_feats.append(feats[k].copy())
                if first < n_w:  # calibrate exactly where the live path does
                    self._model_proba(feats[first], filt[first], t_end[first], gated[first],
                                      filter_state=False)
        x = filt if windows_in else feats
        finite = np.isfinite(x.reshape(n_w, -1)).all(axis=1)
        rows = np.flatnonzero(predict & finite)
        if rows.size:
            proba[rows] = self.model.predict_proba(x[rows])
        if self.state_filter is not None:
            proba = self.state_filter.filter(proba, carry=True)
        return proba
