"""Cue sinks a pipeline asks for (the feedback section of the pipeline file)."""

from __future__ import annotations


def feedback_sinks(config, args) -> list:
    """Return the cue sinks configured in ``config.feedback`` (none by default)."""
    return []
