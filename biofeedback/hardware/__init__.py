"""Hardware adapters and board profiles."""

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


def __getattr__(name):
    # BrainFlowSource pulls in BrainFlow and the stream layer: only when asked
    if name == "BrainFlowSource":
        from ._brainflow import BrainFlowSource

        return BrainFlowSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
