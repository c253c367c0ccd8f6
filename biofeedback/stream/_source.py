"""The one interface every EEG source implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from .._logging import logger


@dataclass
class Chunk:
    """Samples as a source delivers them.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_times)
        EEG in volts, float64.
    timestamps : ndarray, shape (n_times,)
        One timestamp per sample, seconds on the session clock (the LSL clock
        live; the recording's own clock in replay).
    """

    data: np.ndarray
    timestamps: np.ndarray


@dataclass
class SourceEvent:
    """Something the source noticed that is not a sample.

    ``kind`` is one of "dropped" (packets lost, ``n`` samples), "disconnected",
    "reconnected" (``duration`` seconds, ``n`` samples missing; ``n`` 0 when
    the source was only silent and then sent every sample) or "marker" (a marker
    found in a replayed recording, ``text``).
    """

    kind: str
    timestamp: float
    n: int = 0
    duration: float = 0.0
    text: str = ""
    extra: dict = field(default_factory=dict)


class Source(ABC):
    """Base class of EEG sources: boards, LSL inlets, recordings, simulators.

    Subclasses implement :meth:`_open`, :meth:`_read` and :meth:`_close`;
    callers use :meth:`start`, :meth:`read`, :meth:`stop` or a ``with`` block.
    :meth:`read` is called from one thread only (the acquisition thread live,
    the caller's thread in replay).

    Attributes
    ----------
    ch_names : list of str
    sfreq : float
        Nominal sampling rate in Hz.
    profile : BoardProfile
        What the source is (channels, rail, frontal pair, line frequency).
    realtime : bool
        True when samples arrive at the pace of the clock (boards, LSL,
        real-time replay); False when :meth:`read` returns as fast as it can.
    n_dropped : int
        Samples known lost so far (from packet counters or timestamp gaps).
    notes : list of str
        Facts about this acquisition that a session summary repeats (e.g.
        that timing figures describe a playback); empty for most sources.
    ended_at : float | None
        Once :meth:`read` raised :class:`EOFError`: the time of the source's
        last sample, sent or not (a scenario ending in a disconnect), when the
        source knows it; else None. An outage still open at the end runs to it.
    """

    realtime = True
    #: Set by :meth:`cancel_start`: a source waiting to start gives up.
    start_cancelled = False

    def __init__(self, profile):
        self.profile = profile
        self.ch_names = list(profile.ch_names)
        self.sfreq = float(profile.sfreq)
        self.n_dropped = 0
        self.notes: list[str] = []
        self.ended_at: float | None = None
        self._events: list[SourceEvent] = []
        self._events_lock = threading.Lock()
        self._started = False

    # -- what subclasses implement -------------------------------------------
    @abstractmethod
    def _open(self) -> None:
        """Connect; may update ch_names/sfreq from the device or stream."""

    @abstractmethod
    def _read(self, timeout: float) -> Chunk | None:
        """Return the next chunk, or None when nothing came within ``timeout``.

        Raise :class:`EOFError` when a finite source is exhausted.
        """

    @abstractmethod
    def _close(self) -> None:
        """Disconnect and free resources."""

    def describe(self) -> dict:
        """JSON-ready description for sidecars and stream metadata."""
        return {"kind": type(self).__name__, "profile": self.profile.name}

    # -- public API ------------------------------------------------------------
    def start(self) -> Source:
        """Open the source."""
        if not self._started:
            # started first: Ctrl-C as _open returns (or inside it, once it
            # holds a board or an inlet) still finds something to close
            self._started = True
            try:
                self._open()
            except BaseException:
                self.stop()
                raise
            logger.info("Started %s", self.describe())
        return self

    def cancel_start(self) -> None:
        """Ask a source that waits to start (an LSL stream not there yet) to
        give up: its session was stopped (SIGTERM, SIGHUP, the page's stop).
        A flag set, so a signal handler may call it; a source that never
        waits ignores it."""
        self.start_cancelled = True

    def stop(self) -> None:
        """Close the source; safe to call twice."""
        if self._started:
            self._started = False
            self._close()

    def flush_events(self) -> None:
        """After the last read: turn what is still being judged into events.

        A source that judges losses over a span after them (LSL drops) emits
        those of the span still open; most sources have nothing pending.
        """
        return None

    def read(self, timeout: float = 0.1) -> Chunk | None:
        """Return the next chunk (see :meth:`_read`)."""
        return self._read(timeout)

    def iter_chunks(self, timeout: float = 0.0, until=None):
        """Yield ``(chunk, events)`` until the source ends (or ``until()`` is true).

        With ``timeout`` 0, for finite sources read as fast as possible
        (replay, simulations, tests). ``chunk`` is None when a read brought
        only events. Events are those noticed since the last read. ``until``,
        a callable, is asked before every read (a stop event's ``is_set``, a
        deadline). The source must be started.
        """
        while until is None or not until():
            try:
                chunk = self.read(timeout)
            except EOFError:
                return
            events = self.pop_events()
            if chunk is not None or events:
                yield chunk, events

    def pop_events(self) -> list[SourceEvent]:
        """Return and clear the events noticed since the last call."""
        with self._events_lock:
            events, self._events = self._events, []
        return events

    def _emit(self, event: SourceEvent) -> None:
        if event.kind == "dropped":
            self.n_dropped += event.n
        with self._events_lock:
            self._events.append(event)
        logger.info("Source event: %s", event)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def loss_line(counts) -> str:
    """One line of lost-sample counts, the same in ``info``, replay and live.

    ``counts`` holds ``total``, ``dropped`` (in ``drops`` gaps the source
    reported) and ``outage`` (in ``outages`` outages), as
    :func:`biofeedback.io._integrity.loss_counts` and a session's summary give.
    """
    from .._words import counted

    return (f"lost samples: {counts['total']} ({counts['dropped']} dropped in "
            f"{counted(counts['drops'], 'gap')}, {counts['outage']} in "
            f"{counted(counts['outages'], 'outage')})")
