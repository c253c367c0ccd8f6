"""A causal state filter over a classifier's per-window class probabilities.

A mental state lasts tens of seconds and then changes; a 2 s window's class
probabilities are noisy. :class:`StateFilter` is the forward pass of a hidden
Markov model whose hidden state is the person's state: it stays put from one
window to the next with probability ``1 - q`` and moves to each other state
with ``q / (n_classes - 1)``, where ``q = 1 - exp(-step / dwell)`` follows
from the expected dwell time (a state's mean duration, e.g. the protocol's
block length). Each window's probabilities are its evidence:

    prior_k = A.T @ post_(k-1)
    post_k  ∝ prior_k * p_k ** gamma

with ``gamma = step / window`` by default: overlapping windows share their
samples, so each sample's evidence is counted once, not ``window / step``
times. Steady stretches give a stable output; after a change of state the
posterior crosses over once the new evidence outweighs the switch's prior
cost, ``log((1 - q) (n_classes - 1) / q)``, which takes a few seconds instead of
a fixed time constant's many (Rabiner 1989, Proc IEEE 77:257; the causal
standard for BCI state estimates).

The filter is the same code live (:meth:`StateFilter.step`, one window at a
time, in :class:`biofeedback.engine.Engine`) and in batch work
(:meth:`StateFilter.filter`, a recording at a time, in validation and batch
drivers): ``filter`` is ``step`` applied row by row, so both give identical
numbers.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["StateFilter"]


class StateFilter:
    """Causal HMM forward filter of class probabilities.

    Parameters
    ----------
    n_classes : int
        Number of states (the classifier's classes).
    dwell : float
        Expected time in seconds a state lasts; 0 passes probabilities
        through unchanged (each window alone).
    step : float
        Seconds between windows (the engine's hop).
    gamma : float | None
        Exponent on each window's probabilities (evidence weight); None takes
        ``step / window``.
    window : float
        Window length in seconds (for the default ``gamma``).
    floor : float
        Probabilities are clipped to at least this before weighting, so one
        window cannot veto a state outright.

    Notes
    -----
    A window whose probabilities are not finite (a gated or calibration
    window, or non-finite input) gives NaN; the filter's belief still moves
    one step forward in time (``prior = A.T @ post``), so a long pause lets
    it relax towards all states equally likely. :meth:`reset` forgets
    everything (the engine restarted after a gap).

    Examples
    --------
    >>> sf = StateFilter(3, dwell=30.0, step=0.5, window=2.0)
    >>> p = sf.step([0.2, 0.5, 0.3])          # live: one window
    >>> P = sf.filter(np.full((10, 3), 1 / 3))  # batch: a recording (restarts first)
    """

    def __init__(self, n_classes: int, dwell: float, step: float, *, gamma=None,
                 window: float = 2.0, floor: float = 1e-3):
        self.n_classes = int(n_classes)
        self.dwell = float(dwell)
        self.step_s = float(step)
        if self.n_classes < 1:
            raise ValueError(f"n_classes must be 1 or more, got {n_classes}.")
        if not math.isfinite(self.dwell) or self.dwell < 0:
            raise ValueError(f"The dwell time must be 0 or more seconds, got {dwell}.")
        if not self.step_s > 0:
            raise ValueError(f"The step must be positive, got {step}.")
        self.gamma = float(min(1.0, self.step_s / float(window)) if gamma is None else gamma)
        self.floor = float(floor)
        k = self.n_classes
        self.switch = 0.0 if self.dwell <= 0 else float(-np.expm1(-self.step_s / self.dwell))
        if k > 1:
            self.transition = np.full((k, k), self.switch / (k - 1))
            np.fill_diagonal(self.transition, 1.0 - self.switch)
        else:
            self.transition = np.ones((1, 1))
        self.reset()

    @property
    def passthrough(self) -> bool:
        """True when the filter returns each window's probabilities unchanged."""
        return self.dwell <= 0

    def reset(self) -> None:
        """Forget the past: the next window starts from all states equally likely."""
        self._post = None

    def step(self, proba) -> np.ndarray:
        """Filtered probabilities after one more window.

        Parameters
        ----------
        proba : array, shape (n_classes,)
            The classifier's probabilities for this window (NaN: no evidence).

        Returns
        -------
        post : ndarray, shape (n_classes,)
            The filtered probabilities (NaN where ``proba`` is not finite).
        """
        p = np.asarray(proba, dtype=np.float64)
        if p.shape != (self.n_classes,):
            raise ValueError(f"Expected {self.n_classes} probabilities, got shape {p.shape}.")
        if self.passthrough:
            return p.copy()
        if not np.all(np.isfinite(p)):
            if self._post is not None:
                self._post = self._post @ self.transition
            return np.full(self.n_classes, np.nan)
        like = np.clip(p, self.floor, 1.0) ** self.gamma
        prior = (np.full(self.n_classes, 1.0 / self.n_classes) if self._post is None
                 else self._post @ self.transition)
        post = prior * like
        post /= post.sum()
        self._post = post
        return post.copy()

    def filter(self, proba, segment=None, *, carry=False) -> np.ndarray:
        """Filter a sequence of windows, restarting where ``segment`` changes.

        The batch twin of :meth:`step`: it resets, feeds the rows in order
        and resets again, so it gives exactly what an engine gives over the
        same windows (``segment`` numbers the engine's restarts).

        Parameters
        ----------
        proba : array, shape (n_windows, n_classes)
        segment : array of int, shape (n_windows,) | None
        carry : bool
            Continue from the current belief and keep the last one, instead
            of resetting before and after (the engine's batch driver, which
            feeds a stream in blocks).

        Returns
        -------
        post : ndarray, shape (n_windows, n_classes)
        """
        P = np.asarray(proba, dtype=np.float64)
        if P.ndim != 2 or P.shape[1] != self.n_classes:
            raise ValueError(f"Expected probabilities shaped (n_windows, {self.n_classes}), "
                             f"got {P.shape}.")
        if not carry:
            self.reset()
        if self.passthrough:
            return P.copy()
        # step's arithmetic, row by row, with the elementwise part done for
        # all rows at once (the same operations on the same numbers)
        out = np.full_like(P, np.nan)
        finite = np.isfinite(P).all(axis=1)
        like = np.clip(P, self.floor, 1.0) ** self.gamma
        A = self.transition
        uniform = np.full(self.n_classes, 1.0 / self.n_classes)
        post = self._post
        last = None if segment is None or not carry or not len(P) else segment[0]
        for k in range(len(P)):
            if segment is not None and segment[k] != last:
                post = None
                last = segment[k]
            if not finite[k]:
                if post is not None:
                    post = post @ A
                continue
            post = (uniform if post is None else post @ A) * like[k]
            post /= post.sum()
            out[k] = post
        self._post = post if carry else None
        return out

    def describe(self) -> dict:
        """JSON-ready parameters (for sidecars and model reports)."""
        return {"method": "hmm_forward", "dwell_s": self.dwell, "step_s": self.step_s,
                "switch_per_step": self.switch, "gamma": self.gamma, "floor": self.floor}
