"""What every sink receives, and the one interface every sink implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._stops import STOP

__all__ = ["SessionInfo", "Sink"]


def _no_stop(reason: str = STOP) -> None:
    """The default ``request_stop``: a session that cannot be stopped early."""


def _no_marker(text: str, timestamp: float | None = None) -> None:
    """The default ``add_marker``: a session without a Markers stream."""


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
    name : str
        Prefix of the session's LSL stream names (``<name>-EEG``...).
    engine : Engine | None
        The engine the session runs (what it computes: ``engine.describe()``).
    recording : Path | None
        The XDF file being recorded, known before any sink opens (None when
        the session does not record).
    protocol : Sink | None
        The sink running the feedback protocol, if any: views show its
        ``protocol.latest`` cue.
    streams : dict
        The LSL streams the session publishes and records,
        ``{key: {"name": ..., "source_id": ...}}`` (``"EEG"``,
        ``"Estimates"``, ``"Markers"``, ``"Cues"``); empty when it does not
        publish.
    request_stop : callable
        ``request_stop(reason="stop")``: ask the session to end (e.g. the
        protocol is over, a stop button); thread-safe.
    add_marker : callable
        ``add_marker(text, timestamp=None)``: put a marker into the session's
        Markers stream and events (``timestamp`` on the LSL clock, default
        now); thread-safe, handled on the processing thread.
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
    name: str = "biofeedback"
    engine: object | None = None
    recording: Path | None = None
    protocol: object | None = None
    streams: dict = field(default_factory=dict)
    request_stop: Callable[..., None] = _no_stop
    add_marker: Callable[..., None] = _no_marker


class Sink:
    """Receives window results and session events.

    ``lossless`` sinks (LSL outlets, file writers, the protocol) get every
    window in order, on the processing thread, and must be fast. Other sinks
    (terminal, dashboards) run on their own thread and only ever get the
    latest window: a slow one skips windows instead of delaying the loop.

    A sink that raises is switched off, named in the session summary and the
    session goes on. Every method is optional; the defaults do nothing.

    The session calls, in order: :meth:`lsl_streams` (publishing sessions
    only), :meth:`open`, then :meth:`write` / :meth:`event` / :meth:`status`
    while data flows, :meth:`finish` while the recorder still runs,
    :meth:`close` after it stopped, :meth:`sidecar`, :meth:`latency_lines`
    and :meth:`summary_lines` at the end.
    """

    name = "sink"
    lossless = False

    def lsl_streams(self, info: SessionInfo) -> dict:
        """Open this sink's own LSL outlets; ``{key: (name, source_id)}`` to record."""
        return {}

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

    def sidecar(self) -> dict:
        """Entries this sink adds to the recording's JSON sidecar (after close)."""
        return {}

    def latency_lines(self) -> list[str]:
        """Latency lines for the summary, printed with the session's own (after close)."""
        return []

    def summary_lines(self) -> list[str]:
        """Lines for the end-of-session summary (after close)."""
        return []
