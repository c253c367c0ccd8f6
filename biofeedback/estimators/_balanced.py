"""Per-channel features pooled over clean channels, each centred on its level."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


class ChannelBalancedMean(TransformerMixin, BaseEstimator):
    """Per-channel features pooled over a window's clean channels, each channel
    centred on its own level, so which channels are clean does not move the
    pooled value.

    Input is the engine's feature vector as a channel-balanced model sees it
    (:meth:`biofeedback.features.FeatureSet.clean_view`): the columns of a
    channel the quality gates leave out of the window are NaN. For every item
    (e.g. the alpha log band power), the output is the mean over the window's
    clean channels of ``x[c] - level[c]``.

    The channel levels are learnt at :meth:`fit` from the windows themselves,
    as the least-squares fit of ``x[w, c] = s[w] + level[c]`` over the clean
    entries (two-way additive model with missing cells): a channel's level is
    measured against the other channels *within the same windows*, not from
    the windows it happens to be clean in. So when an electrode is left out of
    every window of one state, its level does not carry that state, and
    pooling without it gives the same value, on average, as pooling with it.
    A channel never clean together with another in the training windows is
    centred on its own mean; a channel never clean at all is ignored.

    Parameters
    ----------
    columns : sequence of (int, int) | None
        Per input column, its channel and its item (columns sharing an item
        are pooled; channel -1 is a column already pooled, kept as a channel
        of its own). None: every column is its own item on one channel (the
        output is the input, centred).

    Attributes
    ----------
    n_features_in_ : int
        Input columns.
    level_ : ndarray, shape (n_columns,)
        Each column's channel level (NaN: the channel was never clean).
    items_ : ndarray of int
        The output's items, in order of first appearance.

    Notes
    -----
    A window with no clean channel for an item gives NaN there (the engine
    gates such windows). Everything after this step sees one value per item,
    so no channel's values or absence can reach the classifier except
    through the state-driven part of the pooled mean.
    """

    def __init__(self, columns=None):
        self.columns = columns

    def _layout(self, n):
        if self.columns is None:
            return np.zeros(n, np.int64), np.arange(n)
        cols = np.asarray(self.columns, dtype=np.int64).reshape(-1, 2)
        if len(cols) != n:
            raise ValueError(f"columns describes {len(cols)} columns but X has {n}.")
        return cols[:, 0], cols[:, 1]

    def fit(self, X, y=None):
        """Learn each channel's level per item; returns self."""
        X = _validate_allow_nan(self, X, reset=True)
        chan, item = self._layout(X.shape[1])
        level = np.full(X.shape[1], np.nan)
        for it in np.unique(item):
            cols = np.flatnonzero(item == it)
            level[cols] = _channel_levels(X[:, cols])
        self.level_ = level
        _, first = np.unique(item, return_index=True)
        self.items_ = item[np.sort(first)]
        return self

    def transform(self, X):
        """``(n_windows, n_items)``: centred values averaged over clean channels."""
        check_is_fitted(self, "level_")
        X = _validate_allow_nan(self, X, reset=False)
        _, item = self._layout(X.shape[1])
        Z = X - self.level_
        out = np.empty((X.shape[0], len(self.items_)))
        for j, it in enumerate(self.items_):
            z = Z[:, item == it]
            ok = np.isfinite(z)
            n = ok.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, j] = np.where(n > 0, np.where(ok, z, 0.0).sum(axis=1) / n, np.nan)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _validate_allow_nan(est, X, reset):
    """2-D float64 ``X``, NaN allowed, infinity refused; sets or checks
    ``n_features_in_`` (scikit-learn's own validation)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return est._validate_data(X, force_all_finite="allow-nan", reset=reset,
                                  dtype=np.float64)
    return validate_data(est, X, ensure_all_finite="allow-nan", reset=reset,
                         dtype=np.float64)


def _channel_levels(X):
    """Levels of the columns (channels) of ``X`` (NaN: not clean), see
    :class:`ChannelBalancedMean`: the two-way additive least-squares fit,
    its levels shifted so the pooled output averages zero over ``X``."""
    ok = np.isfinite(X)
    Z = np.where(ok, X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok.any(axis=0), Z.sum(axis=0) / ok.sum(axis=0), np.nan)
    c = ok.astype(np.float64)
    m = c.sum(axis=1)
    w = m >= 2  # windows holding a contrast between channels
    c, Z, m = c[w], Z[w], m[w]
    # normal equations of min sum_w sum_{c clean} (x - s_w - level_c)^2 with
    # s_w eliminated: A level = b, A singular along the all-ones direction
    A = np.diag(c.sum(axis=0)) - (c / m[:, None]).T @ c
    b = (c * (Z - ((Z * c).sum(axis=1) / m)[:, None])).sum(axis=0)
    level = mean.copy()
    linked = np.diag(A) > 0
    if linked.sum() >= 2:
        sub = np.ix_(linked, linked)
        rel = np.linalg.lstsq(A[sub], b[linked], rcond=None)[0]
        # shift so that pooled, centred windows average zero (scale-free)
        ok_l = ok[:, linked]
        n = ok_l.sum(axis=1)
        rows = n > 0
        pooled = (np.where(ok_l, X[:, linked] - rel, 0.0).sum(axis=1)[rows] / n[rows])
        level[linked] = rel + pooled.mean()
    return level
