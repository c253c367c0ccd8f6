"""The sink interface feedback sinks implement (defined by the session layer)."""

from __future__ import annotations

from ..session._sink import SessionInfo, Sink

__all__ = ["SessionInfo", "Sink"]
