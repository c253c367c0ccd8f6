"""Reading and writing recordings."""

from ._read import read_recording, write_recording
from ._recording import Gap, Recording, Stream

__all__ = ["Gap", "Recording", "Stream", "read_recording", "write_recording"]
