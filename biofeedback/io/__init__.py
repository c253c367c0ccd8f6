"""Reading and writing recordings."""

import importlib

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


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
