"""What ends a live session besides its data: signals, the wall clock, a lost source.

- :func:`stop_on_signals` turns SIGTERM and SIGHUP (a service manager
  stopping it, a closed terminal) into the path Ctrl-C takes, and keeps a
  second signal during the closing from leaving the recorder behind.
- :func:`finish_ending` lets the command finish what comes after the
  closing (the report, filing, the summary) whatever signal comes then.
- :class:`Watchdog` bounds a session by the wall clock too (``duration``
  counts seconds of data, which stop coming when a stream vanishes) and ends
  it when the source has sent nothing for ``give_up`` seconds.
"""

from __future__ import annotations

import contextlib
import signal
import time

from .._logging import logger
from .._signals import (  # re-exported: the session's stop paths and their users
    SIGNAL_NAMES,
    STOP_SIGNALS,
    handlers_restored,
    hold_signals,
    in_main_thread,
)
from .._stops import DURATION, SOURCE_LOST

__all__ = ["SIGNAL_NAMES", "Watchdog", "stop_on_signals", "hold_signals",
           "interrupt_on_signals", "finish_ending"]



class Watchdog:
    """Wall-clock limits of a live session.

    Parameters
    ----------
    duration : float | None
        The session's ``duration`` (seconds): it also ends once this much
        wall-clock time has passed since the first sample was expected, plus
        ``grace`` (the data's own clock normally ends it first).
    give_up : float | None
        End the session when no sample has arrived for this many seconds
        (None: wait for ever).
    grace : float
        Seconds of wall clock allowed beyond ``duration``.
    """

    def __init__(self, duration=None, give_up=None, grace=2.0):
        self.duration = None if duration is None else float(duration)
        self.give_up = None if give_up is None else float(give_up)
        self.grace = float(grace)
        self.start = None
        self.last_data = None

    def begin(self, now=None) -> None:
        """The session starts waiting for data."""
        self.start = self.last_data = time.monotonic() if now is None else now

    def data(self, now=None) -> None:
        """Samples arrived."""
        self.last_data = time.monotonic() if now is None else now

    def check(self, now=None):
        """``(reason, message)`` when the session must end, else None."""
        if self.start is None:
            return None
        now = time.monotonic() if now is None else now
        if self.give_up is not None and now - self.last_data >= self.give_up:
            return (SOURCE_LOST,
                    f"the source sent no data for {now - self.last_data:.0f} s "
                    f"(give-up timeout {self.give_up:g} s)")
        if self.duration is not None and now - self.start >= self.duration + self.grace:
            return (DURATION,
                    f"{self.duration:g} s of wall-clock time passed with "
                    f"{'too little' if self.last_data > self.start else 'no'} data, "
                    "the session's duration")
        return None


@contextlib.contextmanager
def _over_default_handlers(handler):
    """``handler`` for SIGTERM/SIGHUP where they have their default action.

    Only in the main thread (Python's rule), and never over an application's
    own handlers; the previous handlers come back on exit.
    """
    if not in_main_thread():
        yield
        return
    previous = {}
    for sig in STOP_SIGNALS:
        now = signal.getsignal(sig)
        # interrupt_on_signals' handler is taken over too: a command hands over
        # to its session without a moment of the default action between them
        if now in (signal.SIG_DFL, None) or getattr(now, "_while_starting", False):
            previous[sig] = signal.signal(sig, handler)
    with handlers_restored(previous):
        yield


@contextlib.contextmanager
def stop_on_signals(stop, recording=True):
    """While running, SIGTERM/SIGHUP call ``stop(reason)`` (as Ctrl-C ends it).

    Installed only in the main thread and only over the default handlers, so
    an application's own handlers are left alone. ``recording``: whether the
    session records, or a callable asked when the signal comes (the warning
    says its recording is closed only when one was begun).
    """
    def handler(signum, _frame):
        name = signal.Signals(signum).name
        records = recording() if callable(recording) else recording
        logger.warning("%s received: %s.", name, "ending the session and closing its "
                       "recording" if records else "ending the session")
        stop(name)

    with _over_default_handlers(handler):
        yield


@contextlib.contextmanager
def interrupt_on_signals():
    """While a session starts: SIGTERM/SIGHUP raise KeyboardInterrupt, as Ctrl-C does.

    Before :func:`stop_on_signals` takes over in :meth:`Session.run`, their
    default action ended the process on the spot: a participant's reserved
    session folder stayed behind (the next session became number 02) and a
    board in its signal check was never released. Installed, like it, only
    over the default handlers.
    """
    def handler(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    handler._while_starting = True  # stop_on_signals takes over from it
    with _over_default_handlers(handler):
        yield


class _Ending:
    """What :func:`finish_ending` gives: :meth:`interruptible` marks the one
    part a signal may cut short (the report)."""

    def __init__(self):
        self.came = []  # the names of the signals received
        self._interruptible = False

    @contextlib.contextmanager
    def interruptible(self):
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def _handler(self, signum, _frame):
        name = signal.Signals(signum).name
        self.came.append(name)
        if self._interruptible:
            self._interruptible = False
            raise KeyboardInterrupt(name)
        logger.warning("%s received after the session closed: finishing its summary first.",
                       name)


@contextlib.contextmanager
def finish_ending():
    """After the session closed: Ctrl-C, SIGTERM and SIGHUP let its end finish.

    Once :meth:`Session.run` returns, the session's handlers are gone, and a
    second SIGTERM or SIGHUP (a closed terminal sends SIGHUP twice) ended the
    process by its default action while the report was written or the
    session filed: no summary, no line saying how to write the report, the
    session's ``.running`` mark left behind. Now a signal in
    :meth:`_Ending.interruptible` raises KeyboardInterrupt (the report is
    skipped, as a second Ctrl-C skips it); anywhere else it is said and the
    end goes on. A signal ignored (``nohup``) stays ignored.
    """
    ending = _Ending()
    if not in_main_thread():
        yield ending
        return
    previous = {}
    for sig in (signal.SIGINT, *STOP_SIGNALS):
        if signal.getsignal(sig) != signal.SIG_IGN:
            previous[sig] = signal.signal(sig, ending._handler)
    with handlers_restored(previous):
        yield ending
