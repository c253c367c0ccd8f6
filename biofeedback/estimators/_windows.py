"""What every window transformer checks first, and the default filter bank."""

from __future__ import annotations

import numpy as np

from .._words import counted
from ..config import _DEFAULT_BANDS as _PIPELINE_BANDS

#: The pipeline's default bands, as ``(name, low, high)``.
_DEFAULT_BANDS = tuple((name, lo, hi) for name, (lo, hi) in _PIPELINE_BANDS.items())


def _check_windows(X, n_channels=None):
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):  # scipy.sparse
        raise TypeError("Sparse data was passed, but dense data is required: EEG windows "
                        "are dense arrays (n_windows, n_channels, n_times).")
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError("Complex data not supported: EEG windows are real-valued.")
    if X.ndim != 3:
        raise ValueError(
            "Expected windows shaped (n_windows, n_channels, n_times), got an "
            f"array with {counted(X.ndim, 'dimension')}."
        )
    if X.shape[0] < 1:
        raise ValueError("Found array with 0 sample(s); a minimum of 1 is required.")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"Windows must be numeric, got dtype {X.dtype}.")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity.")
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(
            f"X has {X.shape[1]} channels, but this transformer was fitted on "
            f"{n_channels}."
        )
    return X
