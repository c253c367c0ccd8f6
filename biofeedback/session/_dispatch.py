"""Sink dispatch with fault isolation: one path for every sink.

A sink that raises is switched off with one warning and named in the
session's summary; the session (and every other sink) goes on. Lossless
sinks are called in order on the caller's thread. The others each run on
their own worker thread that keeps only the newest window and status (a slow
one skips windows instead of delaying the loop) but never drops an event.
"""

from __future__ import annotations

import threading
from collections import deque

from .._logging import logger

__all__ = ["Dispatcher"]


class _LatestWorker:
    """Runs one non-lossless sink on its own thread, always on the newest window."""

    def __init__(self, sink, on_error):
        self.sink = sink
        self.on_error = on_error
        self._events = deque()
        self._latest = {}  # method -> args, for "status" and "write"
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"sink-{sink.name}", daemon=True)
        self._thread.start()

    def submit(self, method, args, keep_all=False):
        with self._cond:
            if keep_all:
                self._events.append((method, args))
            else:
                self._latest[method] = args
            self._cond.notify()

    def _next(self):
        if self._events:
            return self._events.popleft()
        for method in ("status", "write"):
            if method in self._latest:
                return method, self._latest.pop(method)
        return None

    def _run(self):
        while True:
            with self._cond:
                while not self._events and not self._latest and not self._stop:
                    self._cond.wait()
                item = self._next()
                if item is None:  # stopped with nothing left
                    return
            method, args = item
            try:
                getattr(self.sink, method)(*args)
            except Exception as err:  # a sink must never take the session down
                self.on_error(self.sink, err)
                return

    def close(self, timeout=2.0):
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)


class Dispatcher:
    """Hand window results, events and status to sinks; isolate their faults.

    Parameters
    ----------
    sinks : list of Sink
        Objects following :class:`~biofeedback.session.Sink` (every method
        optional).
    what : str
        How warnings name a sink (``"Sink"``, ``"Cue sink"``).
    threads : bool
        Run non-lossless sinks on worker threads. Without, every sink is
        called in order on the caller's thread.

    Attributes
    ----------
    errors : dict
        ``{sink name: "ErrorType: message"}`` of every sink switched off.
    """

    def __init__(self, sinks, what="Sink", threads=True):
        self.sinks = list(sinks)
        self.what = what
        self.threads = threads
        self.errors = {}
        self.opened = []
        self._workers = {}
        self._lock = threading.Lock()

    def failed(self, sink, err) -> None:
        """Switch ``sink`` off after ``err`` (thread-safe, warns once)."""
        with self._lock:
            if sink.name in self.errors:
                return
            self.errors[sink.name] = f"{type(err).__name__}: {err}"
        logger.warning("%s %r failed (%s); the session goes on without it.",
                       self.what, sink.name, err)

    def call(self, sink, method, *args):
        """Call ``sink.method(*args)`` now unless the sink is off; None if it fails."""
        if sink.name in self.errors:
            return None
        fn = getattr(sink, method, None)
        if fn is None:  # a duck-typed sink without this optional method
            return None
        try:
            return fn(*args)
        except Exception as err:
            self.failed(sink, err)
            return None

    def _threaded(self, sink) -> bool:
        # a duck-typed sink that does not say is lossless (on the processing thread)
        return self.threads and not getattr(sink, "lossless", True)

    def open(self, info) -> None:
        """Open every sink; non-lossless ones get their worker thread."""
        for sink in self.sinks:
            if sink.name not in self.errors:
                try:
                    sink.open(info)
                except Exception as err:
                    self.failed(sink, err)
                except BaseException:  # Ctrl-C in its open, or as it returned:
                    self.opened.append(sink)  # closed with the others (its socket, stream)
                    raise
                else:
                    self.opened.append(sink)
            if self._threaded(sink):
                self._workers[sink.name] = _LatestWorker(sink, self.failed)

    def _fan(self, method, args, keep_all):
        for sink in self.opened:  # none before open(), e.g. when the recorder failed
            if not self._threaded(sink):
                self.call(sink, method, *args)
            elif sink.name not in self.errors and sink.name in self._workers:
                # (no worker: its open was interrupted, it is only closed)
                self._workers[sink.name].submit(method, args, keep_all)

    def write(self, result) -> None:
        """One window result, to every lossless sink (in order, now)."""
        for sink in self.opened:
            if not self._threaded(sink):
                self.call(sink, "write", result)

    def latest(self, result) -> None:
        """The newest window result, to every sink on a worker thread."""
        for sink in self.opened:
            if self._threaded(sink) and sink.name not in self.errors \
                    and sink.name in self._workers:
                self._workers[sink.name].submit("write", (result,))

    def event(self, kind, timestamp, text="") -> None:
        """A session event, to every sink (workers queue events, never drop them)."""
        self._fan("event", (kind, timestamp, text), keep_all=True)

    def status(self, stats) -> None:
        """Live statistics, to every sink."""
        self._fan("status", (stats,), keep_all=False)

    def stop_workers(self) -> None:
        """Let the worker threads finish what they hold and end."""
        for worker in self._workers.values():
            worker.close()

    def each_opened(self, method, *args) -> None:
        """Call ``method`` on every sink that opened (finish, close...)."""
        for sink in self.opened:
            self.call(sink, method, *args)

    def collect(self, method) -> list:
        """Results of ``method()`` from every opened sink still on (skips failures)."""
        out = []
        for sink in self.opened:
            got = self.call(sink, method)
            if got:
                out.append(got)
        return out
