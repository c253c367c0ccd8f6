"""Hardware adapters and board profiles."""

from ._profiles import BoardProfile, Columns, get_profile, list_profiles, read_profile

__all__ = ["BoardProfile", "Columns", "get_profile", "list_profiles", "read_profile"]
