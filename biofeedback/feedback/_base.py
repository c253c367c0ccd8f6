"""What every sink receives, and the interface it implements."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SessionInfo:
    """Facts about a session that sinks need when they open.

    Attributes
    ----------
    session_id : str
    estimate_names : list of str
    ch_names : list of str
    sfreq : float
    profile : BoardProfile
    config : PipelineConfig
    source : dict
        The source's ``describe()``.
    t0 : float
        Session start on the session clock.
    realtime : bool
        False in fast replay (sinks that pace themselves must not sleep).
    """

    session_id: str
    estimate_names: list
    ch_names: list
    sfreq: float
    profile: object
    config: object
    source: dict = field(default_factory=dict)
    t0: float = 0.0
    realtime: bool = True


class Sink:
    """Receives window results and session events.

    ``lossless`` sinks (LSL outlets, file writers) get every window in order,
    on the processing thread, and must be fast. Other sinks (terminal, audio,
    OSC) run on their own thread and only ever get the latest window: a slow
    one skips windows instead of delaying the loop.
    """

    name = "sink"
    lossless = False

    def open(self, info: SessionInfo) -> None:
        """Prepare for a session."""

    def write(self, result) -> None:
        """Handle one :class:`~biofeedback.engine.WindowResult`."""

    def event(self, kind: str, timestamp: float, text: str = "") -> None:
        """Handle a session event (gap, reconnect, block start...)."""

    def status(self, stats: dict) -> None:
        """Receive live statistics (elapsed, dropped samples, windows...)."""

    def finish(self) -> None:
        """Say the last words (final markers) while the session still records."""

    def close(self) -> None:
        """Release resources (outlets, files); called after recording stopped."""
