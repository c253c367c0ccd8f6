"""Real-time EEG motivation-state biofeedback.

``import biofeedback`` stays light: heavy dependencies (numba, BrainFlow, pylsl,
matplotlib) load only when the part that needs them is used.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "BiofeedbackError": "biofeedback.errors",
    "HardwareError": "biofeedback.errors",
    "StreamError": "biofeedback.errors",
    "RecordingFormatError": "biofeedback.errors",
    "PipelineConfigError": "biofeedback.errors",
    "ModelError": "biofeedback.errors",
    "Recording": "biofeedback.io",
    "read_recording": "biofeedback.io",
    "BoardProfile": "biofeedback.hardware",
    "get_profile": "biofeedback.hardware",
    "list_profiles": "biofeedback.hardware",
    "PipelineConfig": "biofeedback.config",
    "load_pipeline": "biofeedback.config",
    "Engine": "biofeedback.engine",
    "WindowResult": "biofeedback.engine",
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
