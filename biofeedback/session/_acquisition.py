"""The acquisition thread: a source read into a ring buffer, never waiting."""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["Acquisition"]


class Acquisition:
    """Read a real-time source into a ring buffer on its own thread.

    The thread only reads, publishes the raw chunk (if an outlet is given)
    and writes the ring; the processing loop reads the ring with its own
    cursor, so neither a slow sink nor a slow window makes the source drop
    samples. An exception in the thread is stored and re-raised by
    :meth:`raise_error`, never only logged.

    Parameters
    ----------
    source : Source
        A started source.
    stop : threading.Event
        Set to end the thread (the session's stop event).
    outlet : pylsl.StreamOutlet | None
        Where raw chunks are published, in µV, with their timestamps.
    seconds : float
        Ring buffer length.

    Attributes
    ----------
    ring : RingBuffer
    new_data : threading.Event
        Set after every chunk (and when the thread ends).
    ended : threading.Event
        Set when the source ran out (finite sources).
    error : BaseException | None
        What ended the thread, if anything did.
    """

    def __init__(self, source, stop, outlet=None, seconds=60.0):
        from ..stream import RingBuffer

        self.source = source
        self.stop_event = stop
        self.outlet = outlet
        self.ring = RingBuffer(len(source.ch_names), int(source.sfreq * seconds))
        self.new_data = threading.Event()
        self.ended = threading.Event()
        self.error = None
        self._events = []
        self._events_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="acquisition", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def join(self, timeout=2.0) -> None:
        """Wait for the thread to end (after the stop event was set)."""
        if self._thread.ident is not None:  # (Ctrl-C may come before it started)
            self._thread.join(timeout)

    def pop_events(self) -> list:
        """Source events (gaps, drops, markers) since the last call."""
        with self._events_lock:
            out, self._events = self._events, []
        return out

    def _take_events(self) -> None:
        """Move the source's new events to :meth:`pop_events`."""
        ev = self.source.pop_events()
        if ev:
            with self._events_lock:
                self._events.extend(ev)

    def _run(self):
        src = self.source
        try:
            while not self.stop_event.is_set():
                try:
                    chunk = src.read(0.05)
                except EOFError:
                    self.ended.set()
                    break
                self._take_events()
                if chunk is None or chunk.timestamps.size == 0:
                    continue
                if self.outlet is not None:
                    self.outlet.push_chunk(np.ascontiguousarray(chunk.data.T * 1e6),
                                           chunk.timestamps.tolist())
                self.ring.write(chunk.data, chunk.timestamps)
                self.new_data.set()
            src.flush_events()  # losses still being judged at the last read
            self._take_events()
        except BaseException as err:  # stored, re-raised to the caller
            self.error = err
            self.stop_event.set()
        finally:
            self.new_data.set()
