"""What every feature and index of a feature set is, as JSON-ready data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._registry import FEATURES, INDICES

if TYPE_CHECKING:
    from ._set import FeatureSet


def describe_features(feature_set: FeatureSet) -> dict:
    """JSON-ready statement of what every feature and index is.

    Covers the PSD method, window, segment and overlap, band edges, how bins
    are integrated and the units of every feature and index: what the LSL
    stream's metadata and replay sidecars carry.
    """
    fs = feature_set
    psd = {
        "method": "welch",
        "window": fs.window_name,
        "segment_s": fs.n_per_seg / fs.sfreq,
        "segment_samples": fs.n_per_seg,
        "overlap_samples": fs.n_overlap,
        "detrend": "constant (mean removed per segment)",
        "scaling": "one-sided power spectral density, V²/Hz",
        "average": "mean over segments",
        "resolution_hz": fs.df,
        "input": "causally filtered window, volts",
    }
    bands = {}
    for name, (lo, hi) in fs._band_edges.items():
        col = fs._band_col[name]
        k0 = int(fs._starts[col]) + fs._k0
        k1 = int(fs._stops[col]) + fs._k0
        bands["total" if name == "_total" else name] = {
            "low_hz": float(lo),
            "high_hz": float(hi),
            "edges": "[low, high)",
            "bins_hz": [k0 * fs.df, (k1 - 1) * fs.df],
            "n_bins": k1 - k0,
        }
    integration = "sum over bins in [low, high) of PSD times bin width (V²)"
    features = {}
    for f in fs.config.names:
        spec = FEATURES[f]
        features[f] = {
            "method": spec.method,
            "units": spec.units,
            "integration": integration if "band" in f else None,
            "columns": spec.columns(fs),
        }
    indices = {}
    for name in fs.index_names:
        spec = INDICES[name]
        if name == "faa":
            chans = [fs.ch_names[i] for i in fs.frontal_idx] if fs.frontal_idx else []
        else:
            chans = [ch for ch, m in zip(fs.ch_names, fs._index_mask[name]) if m]
        indices[name] = {
            "formula": spec.formula,
            "reference": spec.reference,
            "units": spec.units,
            "bands": list(spec.bands),
            "channels": chans,
            "channel_rule": "clean channels only (quality gates); NaN when none",
        }
    return {
        "window_samples": fs.n_times,
        "sfreq": fs.sfreq,
        "psd": psd,
        "bands": bands,
        "spectral_range_hz": list(fs.spectral_range),
        "features": features,
        "indices": indices,
    }
