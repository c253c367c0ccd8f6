"""Window results as the tables and objects analysis tools read (pandas, MNE)."""

from __future__ import annotations

import numpy as np

__all__ = ["to_data_frame", "to_raw"]


def to_data_frame(output):
    """One row per window: ``t_end``, every estimate by name, ``gated``.

    Parameters
    ----------
    output : EngineOutput
        Windows from replay, a live session's handle or the batch engine.

    Returns
    -------
    df : pandas.DataFrame
        Columns ``t_end`` (s, the window's newest sample, session clock),
        the estimates in :attr:`EngineOutput.estimate_names` order and
        ``gated`` (bool): the columns of ``biofeedback replay --out``.

    Raises
    ------
    MissingDependencyError
        pandas is not installed (``pip install "biofeedback[pandas]"``).

    Examples
    --------
    >>> from biofeedback.replay import replay
    >>> df = replay("recordings/sample_synthetic.xdf").to_data_frame()  # doctest: +SKIP
    >>> df[["t_end", "engagement"]].head()  # doctest: +SKIP
    """
    from ._checks import _import_optional

    pd = _import_optional("pandas", "pandas", "EngineOutput.to_data_frame")
    est = np.asarray(output.estimates, dtype=float).reshape(len(output.t_end), -1)
    columns = {"t_end": np.asarray(output.t_end, dtype=float)}
    for j, name in enumerate(output.estimate_names):
        columns[name] = est[:, j]
    columns["gated"] = np.asarray(output.gated, dtype=bool)
    return pd.DataFrame(columns)


def to_raw(output):
    """The estimates as a continuous :class:`mne.io.Raw`, gated windows annotated.

    Windows end every hop on a sample grid, so the estimates are a signal
    sampled at ``1 / hop`` Hz: one ``misc`` channel per estimate. Time 0 is
    the first window's ``t_end`` (add ``output.t_end[0]`` for the session
    clock). A window missing from the grid (after a gap) is NaN; each gated
    window is a ``BAD_gated`` annotation one hop long, centred on its sample.

    Parameters
    ----------
    output : EngineOutput
        At least two windows.

    Returns
    -------
    raw : mne.io.RawArray

    Raises
    ------
    ValueError
        With fewer than two windows (no hop to sample at).
    """
    import mne

    t = np.asarray(output.t_end, dtype=float)
    if t.size < 2:
        raise ValueError(f"to_raw needs at least two windows, got {t.size}.")
    hop = float(np.median(np.diff(t)))
    sfreq = 1.0 / hop
    idx = np.round((t - t[0]) / hop).astype(np.int64)
    data = np.full((len(output.estimate_names), int(idx[-1]) + 1), np.nan)
    data[:, idx] = np.asarray(output.estimates, dtype=float).reshape(t.size, -1).T
    info = mne.create_info(list(output.estimate_names), sfreq, "misc")
    raw = mne.io.RawArray(data, info, verbose="error")
    gated = np.asarray(output.gated, dtype=bool)
    if gated.any():
        start = np.maximum(idx[gated] * hop - hop / 2, 0.0)
        stop = np.minimum(idx[gated] * hop + hop / 2, raw.times[-1] + hop)
        raw.set_annotations(mne.Annotations(start, stop - start, "BAD_gated"))
    return raw
