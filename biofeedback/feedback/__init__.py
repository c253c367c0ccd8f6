"""Feedback: cue policy and sinks (terminal, LSL, audio, OSC)."""

import importlib

__all__ = ["SessionInfo", "Sink", "TerminalView"]

# loaded on first use: the pipeline's configuration (._config) is read by
# commands that never open a sink, and must not import the session machinery
_LAZY = {"SessionInfo": "._base", "Sink": "._base", "TerminalView": "._terminal"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
