"""Hardware adapters and board profiles."""

from .._lazy import lazy_exports
from ._profiles import (
    INPUT_PARAMS,
    BoardProfile,
    Columns,
    get_profile,
    list_profiles,
    profile_for_recording,
    read_profile,
)

__all__ = ["BrainFlowSource", "INPUT_PARAMS", "BoardProfile", "Columns", "get_profile",
           "list_profiles", "read_profile", "profile_for_recording"]

# BrainFlowSource pulls in BrainFlow and the stream layer: only when asked
__getattr__, __dir__ = lazy_exports(globals(), {"BrainFlowSource": "._brainflow"})
