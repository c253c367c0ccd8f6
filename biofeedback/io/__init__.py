"""Reading and writing recordings."""

from ._bids import bids_entities, export_bids
from ._read import read_recording, write_recording
from ._recording import Gap, Recording, Stream

__all__ = ["Gap", "Recording", "Stream", "bids_entities", "export_bids", "read_recording",
           "write_recording"]
