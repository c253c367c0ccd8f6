"""Reading and writing recordings."""

from ._recording import Gap, Recording, Stream

__all__ = ["Gap", "Recording", "Stream"]
