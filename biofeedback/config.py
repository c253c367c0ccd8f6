"""Pipeline configuration: one frozen dataclass per concern, read from TOML.

A pipeline file (``pipelines/default.toml``) says how a session processes data:
window length and hop, filters, features and indices, artifact gates,
recording and feedback. Unknown keys are errors that name the file and key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ._checks import _check_option
from ._data import data_dir
from ._toml import from_dict, load_toml

__all__ = [
    "WindowConfig",
    "PreprocessingConfig",
    "FeaturesConfig",
    "GatesConfig",
    "RecordingConfig",
    "PipelineConfig",
    "load_pipeline",
    "default_pipeline_path",
]


@dataclass(frozen=True)
class WindowConfig:
    """Sliding windows: ``length`` and ``hop`` in seconds."""

    length: float = 2.0
    hop: float = 0.5

    def _validate(self):
        if self.length <= 0 or self.hop <= 0:
            raise ValueError("length and hop must be positive.")
        if self.hop > self.length:
            raise ValueError(f"hop ({self.hop} s) is longer than length ({self.length} s).")


@dataclass(frozen=True)
class PreprocessingConfig:
    """Causal filters applied sample by sample before windowing.

    ``highpass``/``lowpass`` in Hz (0 turns one off), Butterworth of ``order``
    as second-order sections; ``notch`` is "auto" (the profile's mains
    frequency), "off", or a frequency in Hz; ``reference`` is "none" or
    "average". ``gap_reset`` is the timestamp jump (s) after which filters and
    windows restart rather than bridging a gap.
    """

    highpass: float = 1.0
    lowpass: float = 45.0
    order: int = 4
    notch: str | float = "auto"
    notch_q: float = 30.0
    reference: str = "none"
    gap_reset: float = 0.25

    def _validate(self):
        if isinstance(self.notch, str):
            _check_option("notch", self.notch, ("auto", "off"))
        _check_option("reference", self.reference, ("none", "average"))
        if self.order < 1 or self.order > 8:
            raise ValueError(f"order must be 1 to 8, got {self.order}.")


_DEFAULT_BANDS = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


@dataclass(frozen=True)
class FeaturesConfig:
    """What is computed on each window.

    ``names`` are registered features (the classifier's input vector);
    ``indices`` are registered state indices (the estimates shown and cued);
    ``bands`` maps band names to [low, high) edges in Hz. Welch PSD uses Hann
    segments of ``welch_segment`` seconds with ``welch_overlap`` (fraction).
    """

    names: tuple[str, ...] = ("log_band_power",)
    indices: tuple[str, ...] = ("engagement", "arousal", "alpha_rel", "theta_beta", "faa")
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(_DEFAULT_BANDS))
    welch_segment: float = 1.0
    welch_overlap: float = 0.5

    def _validate(self):
        for name, (lo, hi) in self.bands.items():
            if not 0 <= lo < hi:
                raise ValueError(f"band {name!r} has edges {lo}-{hi} Hz; need 0 <= low < high.")
        if not 0 <= self.welch_overlap < 1:
            raise ValueError("welch_overlap must be in [0, 1).")


@dataclass(frozen=True)
class GatesConfig:
    """Artifact and quality gates (per channel, per window).

    Amplitudes are µV. Defaults: OpenBCI GUI calls a channel near-railed above
    75 % and railed above 90 % of full scale; 100 µV peak-to-peak is a common
    rejection level on Muse (we use it on the filtered signal); a channel whose
    standard deviation is under ``flat_uv`` is flat.
    """

    rail_fraction: float = 0.9
    near_rail_fraction: float = 0.75
    max_ptp_uv: float = 150.0
    flat_uv: float = 0.1
    line_noise_ratio: float = 10.0
    blink_uv: float = 100.0
    muscle_ratio: float = 1.0
    min_clean_fraction: float = 0.5


@dataclass(frozen=True)
class RecordingConfig:
    """Where and whether live sessions are recorded."""

    enabled: bool = True
    dir: str = "recordings"


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline, as read from one TOML file."""

    name: str = "default"
    description: str = ""
    board: str = "synthetic"
    model: str = ""
    window: WindowConfig = field(default_factory=WindowConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    feedback: dict = field(default_factory=dict)
    fname: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        """JSON-ready copy (for sidecars and LSL metadata)."""
        out = dataclasses.asdict(self)
        out["features"]["bands"] = {k: list(v) for k, v in self.features.bands.items()}
        return out

    def replace(self, **changes) -> PipelineConfig:
        """Return a copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)


def default_pipeline_path() -> Path:
    """Path of the shipped default pipeline."""
    return data_dir("pipelines") / "default.toml"


def load_pipeline(fname=None) -> PipelineConfig:
    """Read and validate a pipeline file (the shipped default if None).

    Raises
    ------
    PipelineConfigError
        Naming the file and the field at fault.
    """
    fname = Path(fname) if fname is not None else default_pipeline_path()
    data = load_toml(fname)
    data["fname"] = str(fname)
    return from_dict(PipelineConfig, data, str(fname))
