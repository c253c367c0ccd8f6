"""Reading and writing recordings."""

from .._lazy import lazy_exports

__all__ = ["Gap", "Recording", "Stream", "bids_entities", "export_bids", "read_recording",
           "write_recording"]

# loaded on first use, so that the command line's --help (which lists the
# format names of ._read) does not import numpy and the readers
_LAZY = {
    "Gap": "._recording",
    "Recording": "._recording",
    "Stream": "._recording",
    "bids_entities": "._bids",
    "export_bids": "._bids",
    "read_recording": "._read",
    "write_recording": "._read",
}

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
