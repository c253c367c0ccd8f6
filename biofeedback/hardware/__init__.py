"""Hardware adapters and board profiles."""

from ._brainflow import INPUT_PARAMS, BrainFlowSource
from ._profiles import (
    BoardProfile,
    Columns,
    get_profile,
    list_profiles,
    profile_for_recording,
    read_profile,
)

__all__ = ["BrainFlowSource", "INPUT_PARAMS", "BoardProfile", "Columns", "get_profile",
           "list_profiles", "read_profile", "profile_for_recording"]
