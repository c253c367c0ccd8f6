"""What the engine gives: one window's result, and many stacked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class WindowResult:
    """What the engine says about one window.

    Attributes
    ----------
    index : int
        Window number since the engine was created (never reset).
    t_end : float
        Timestamp of the newest sample in the window (session clock).
    estimates : ndarray, shape (n_estimates,)
        Values aligned with :attr:`Engine.estimate_names`. An index that could
        not be computed (e.g. asymmetry with a railed frontal channel) is NaN
        and its reason is in ``quality``.
    features : ndarray, shape (n_features,)
        The feature vector (the classifier's input).
    gated : bool
        True when artifacts make the window unfit to drive feedback.
    quality : ndarray of int64, shape (n_channels,)
        Per-channel flags (see :data:`biofeedback.quality.FLAGS`).
    window : ndarray, shape (n_channels, n_times) | None
        The filtered window in volts (what features and window-input models
        read), when the engine was built with ``keep_windows=True``.
    segment : int
        The engine's restarts before this window (windows of one segment
        share continuous filters).
    """

    index: int
    t_end: float
    estimates: np.ndarray
    features: np.ndarray
    gated: bool
    quality: np.ndarray
    window: np.ndarray | None = None
    segment: int = 0


@dataclass
class EngineOutput:
    """Stacked results of many windows (replay and batch work)."""

    t_end: np.ndarray
    estimates: np.ndarray
    features: np.ndarray
    gated: np.ndarray
    quality: np.ndarray
    estimate_names: list
    feature_names: list
    windows: np.ndarray | None = None  # (n_windows, n_channels, n_times) with keep_windows
    summary: object = None  # the SessionSummary of a replay (losses, gaps)

    @classmethod
    def from_results(cls, results, engine) -> EngineOutput:
        """Stack a list of :class:`WindowResult`."""
        n_est, n_feat = len(engine.estimate_names), len(engine.feature_names)
        n_ch = len(engine.ch_names)
        return cls(
            t_end=np.array([r.t_end for r in results], dtype=float),
            estimates=np.array([r.estimates for r in results]).reshape(-1, n_est),
            features=np.array([r.features for r in results]).reshape(-1, n_feat),
            gated=np.array([r.gated for r in results], dtype=bool),
            quality=np.array([r.quality for r in results], dtype=np.int64).reshape(-1, n_ch),
            estimate_names=list(engine.estimate_names),
            feature_names=list(engine.feature_names),
            windows=(np.array([r.window for r in results]).reshape(-1, n_ch, engine.win_len)
                     if engine.keep_windows else None),
        )

    def to_data_frame(self):
        """One row per window: ``t_end``, every estimate, ``gated`` (pandas).

        The columns of ``biofeedback replay --out``. Needs pandas
        (``pip install "biofeedback[pandas]"``); see
        :func:`biofeedback._tables.to_data_frame`.
        """
        from .._tables import to_data_frame

        return to_data_frame(self)

    def to_raw(self):
        """The estimates as an :class:`mne.io.Raw` (misc channels, one sample a hop).

        Gated windows are ``BAD_gated`` annotations; see
        :func:`biofeedback._tables.to_raw`.
        """
        from .._tables import to_raw

        return to_raw(self)
