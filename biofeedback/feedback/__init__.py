"""Feedback: cue policy and sinks (terminal, LSL, audio, OSC)."""

from .._lazy import lazy_exports

__all__ = ["SessionInfo", "Sink", "TerminalView"]

# loaded on first use: the pipeline's configuration (._config) is read by
# commands that never open a sink, and must not import the session machinery
_LAZY = {"SessionInfo": "._base", "Sink": "._base", "TerminalView": "._terminal"}

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
