"""Features and state indices computed on each window.

A :class:`FeatureSet` turns a filtered window (n_channels, n_times), in volts,
into a feature vector (the classifier's input) and a vector of state indices
(the estimates people see). Features and indices are looked up by short name in
the registries :data:`FEATURES` and :data:`INDICES`, so a pipeline file names
them and the live engine, replay and batch training compute them with the same
code. :func:`describe_features` states what every number is (method, window,
bands, integration, units) for stream metadata and file sidecars.

Adding a feature: write ``compute(fs, ctx) -> array (n_windows, n_channels,
n_items)``, register ``FEATURES["name"] = FeatureSpec(...)``; it is then usable
live, in replay and in training. See ``docs/features.md`` for every formula.

The package's modules, one job each: ``_registry`` (the specs, the
registries and what each name computes), ``_plan`` (the Welch plan: bins of
every band and the channels of every index), ``_set`` (:class:`FeatureSet`,
window by window and in batches) and ``_describe`` (:func:`describe_features`).
"""

# the spectral building blocks live in biofeedback.spectral; these names stay importable here
from ..spectral import (  # noqa: F401
    _WINDOWS,
    _ZC_EPS,
    _block_plan,
    _check_finite,
    _check_segments,
    _welch_basis,
    band_powers,
    time_features,
    welch_psd,
)
from ._describe import describe_features
from ._registry import FEATURES, INDICES, FeatureSpec, IndexSpec
from ._set import FeatureSet

__all__ = [
    "FeatureSet",
    "FeatureSpec",
    "IndexSpec",
    "FEATURES",
    "INDICES",
    "welch_psd",
    "band_powers",
    "time_features",
    "describe_features",
]
