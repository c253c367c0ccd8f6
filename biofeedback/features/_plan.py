"""The Welch plan of a feature set: segments, frequency bins and channels.

Worked out once when a :class:`~biofeedback.features.FeatureSet` is built:
which bins every band (configured bands, bands only indices use, the total
over ``spectral_range``) integrates at the data's resolution, and which
channels every index may use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._logging import logger
from ..spectral import _band_bins
from ._registry import INDICES


def check_features(config, where="the pipeline [features]"):
    """Check a features section (:class:`~biofeedback.config.FeaturesConfig`)
    names registered features and indices, and the bands its indices need,
    before an engine starts.

    Raises
    ------
    PipelineConfigError
        Prefixed by ``where`` (the file, line and section, or a model file),
        or by ``where(key)`` when it is a callable: the line of the key at fault.
    """
    from .._checks import _check_option
    from ..errors import PipelineConfigError
    from ._registry import FEATURES

    key = None
    try:
        key = "names"
        for name in config.names:
            _check_option("names", name, list(FEATURES))
        key = "indices"
        for name in config.indices:
            _check_option("indices", name, list(INDICES))
        key = None
        band_ranges(config)  # an index needing a band neither bands nor index_bands give
    except ValueError as err:
        at = where(key) if callable(where) else where
        raise PipelineConfigError(f"{at}: {err}") from None


def checked_pipeline(config, where=None):
    """``config`` (a :class:`~biofeedback.config.PipelineConfig`) once its
    features section passed :func:`check_features`.

    Every command checks the pipeline it loads here, before any board,
    recording or engine is opened: the base layer that reads pipeline files
    does not know the features registry.
    """
    from .._toml import _where

    fname = config.fname or "the pipeline"
    # the line of the key at fault (the message names it), else the section's
    check_features(config.features, where or (
        lambda key: _where(fname, "features", key, show_key=False)))
    return config


def band_ranges(config):
    """Every frequency range the feature set integrates, in column order.

    The configured bands, then the index bands the configured indices need,
    then ``("_total", spectral_range)``.

    Returns
    -------
    ranges : list of (str, (float, float))
    spectral_range : tuple of float
    """
    ranges = [(name, tuple(edges)) for name, edges in config.bands.items()]
    spectral_range = tuple(config.spectral_range or (
        min(lo for _, (lo, _) in ranges), max(hi for _, (_, hi) in ranges)))
    for name in config.indices:
        for b in INDICES[name].bands:
            if b not in config.bands:
                if b not in config.index_bands:
                    raise ValueError(
                        f"Index {name!r} needs band {b!r}; add it to the "
                        "features' bands or index_bands."
                    )
                if b not in [r[0] for r in ranges]:
                    ranges.append((b, tuple(config.index_bands[b])))
    ranges.append(("_total", spectral_range))
    return ranges, spectral_range


@dataclass(frozen=True)
class BinPlan:
    """The PSD bins k0..k1-1 computed, and each range's columns among them."""

    k0: int
    k1: int
    starts: np.ndarray  # (n_ranges,) int64, relative to k0
    stops: np.ndarray  # (n_ranges,) int64, relative to k0, exclusive
    band_col: dict  # range name -> column
    band_edges: dict  # range name -> (low, high) Hz


def bin_plan(ranges, df, n_per_seg, sfreq) -> BinPlan:
    """Bins in [low, high) of every range at ``df`` Hz resolution.

    Raises
    ------
    ValueError
        A range holds no bin (too narrow for the segment length).
    """
    nyq_bin = n_per_seg // 2
    bins = []
    for name, (lo, hi) in ranges:
        k_lo, k_hi = _band_bins(lo, hi, df, nyq_bin)
        if k_hi <= k_lo:
            raise ValueError(
                f"Band {name!r} ({lo:g}-{hi:g} Hz) holds no frequency bin at "
                f"{df:g} Hz resolution (sfreq {sfreq:g} Hz, "
                f"{n_per_seg}-sample segments)."
            )
        bins.append((k_lo, k_hi))
    k0 = min(b[0] for b in bins)
    k1 = max(b[1] for b in bins)
    return BinPlan(
        k0=k0,
        k1=k1,
        starts=np.array([b[0] - k0 for b in bins], np.int64),
        stops=np.array([b[1] - k0 for b in bins], np.int64),
        band_col={name: i for i, (name, _) in enumerate(ranges)},
        band_edges={name: r for name, r in ranges},
    )


def index_channels(config, ch_names, profile):
    """The frontal pair's columns and each index's channel mask.

    Returns
    -------
    frontal_idx : (int, int) | None
        Columns of the left and right frontal channels, None when the data
        lack them (``faa`` is then NaN).
    masks : dict of str to ndarray of bool, shape (n_channels,)
        The channels each configured index may use.
    """
    chans = dict(config.index_channels)
    frontal_idx = None
    pair = chans.get("faa") or (profile.frontal_pair if profile is not None else None)
    if pair:
        missing = [ch for ch in pair if ch not in ch_names]
        if len(pair) != 2:
            raise ValueError(f"faa needs two channels (left, right), got {list(pair)}.")
        if not missing:
            frontal_idx = tuple(ch_names.index(ch) for ch in pair)
    if "faa" in config.indices and frontal_idx is None:
        if pair:  # say which pair was sought: the channels may well hold another
            logger.warning(
                "The frontal pair %s is not among channels %s: the 'faa' index will be NaN "
                "(set [features.index_channels] faa = [left, right] in the pipeline).",
                ", ".join(pair), ", ".join(ch_names),
            )
        else:
            shown = list(ch_names) if len(ch_names) <= 8 else [*ch_names[:6], "…", ch_names[-1]]
            logger.warning(
                "No frontal pair among channels %s: the 'faa' index will be NaN.",
                ", ".join(shown),
            )
    masks = {}
    for name in config.indices:
        sel = chans.get(name)
        if sel is None or name == "faa":
            mask = np.ones(len(ch_names), bool)
        else:
            unknown = [ch for ch in sel if ch not in ch_names]
            if unknown:
                raise ValueError(
                    f"index_channels[{name!r}] names {unknown[0]!r}, which is not "
                    f"among the channels ({', '.join(ch_names)})."
                )
            mask = np.isin(ch_names, sel)
        masks[name] = mask
    return frontal_idx, masks
