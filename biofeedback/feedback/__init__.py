"""Feedback: cue policy and sinks (terminal, LSL, audio, OSC)."""

from ._base import SessionInfo, Sink
from ._terminal import TerminalView

__all__ = ["SessionInfo", "Sink", "TerminalView"]
