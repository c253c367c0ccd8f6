"""Signals held over a step that must not be cut: the base of every stop path.

Python raises ``KeyboardInterrupt`` (and the handlers a session installs act)
between any two bytecodes of the main thread, so a resource acquired by a call
that a signal cuts short, after the resource exists but before what releases
it knows of it, outlives the process's end. :func:`signals_after` holds Ctrl-C,
SIGTERM and SIGHUP over such a step and lets the first act after it;
:func:`hold_signals` turns them into an event while a session closes. Any
layer may use them (the board adapter, output files, the study library); the
session's own stop paths are in :mod:`biofeedback.session._watchdog`.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from ._logging import logger

__all__ = ["STOP_SIGNALS", "SIGNAL_NAMES", "in_main_thread", "hold_signals", "signals_after",
           "handlers_restored"]

#: signals that end a session the way Ctrl-C does
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
#: their names, as a session's ``stopped_by`` gives them
SIGNAL_NAMES = frozenset(sig.name for sig in STOP_SIGNALS)


def in_main_thread() -> bool:
    """Whether this is the main thread, the one Python runs signal handlers in."""
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def hold_signals(hurry: threading.Event, said="%s received while closing: closing at once.",
                 came=None):
    """While closing: Ctrl-C, SIGTERM and SIGHUP set ``hurry`` instead of interrupting.

    A second Ctrl-C used to interrupt the closing half-way and leave
    LabRecorderCLI running on its own; now it only makes the closing skip its
    waits, and the recorder is stopped before the process goes. ``said``:
    the warning logged (``%s``: the signal's name), or None; ``came``: a list
    the names of the signals are appended to.
    """
    if not in_main_thread():
        yield
        return
    previous = {}

    def handler(signum, _frame):
        name = signal.Signals(signum).name
        if said:
            logger.warning(said, name)
        if came is not None:
            came.append(name)
        hurry.set()

    for sig in (signal.SIGINT, *STOP_SIGNALS):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover - not settable here
            pass
    with handlers_restored(previous):
        yield


@contextlib.contextmanager
def handlers_restored(previous):
    """Run the block, then put back the handlers ``previous`` maps signals to
    (the ones replaced while it runs)."""
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_after():
    """Ctrl-C, SIGTERM and SIGHUP wait for the block's end, then act as they would have.

    For acquiring a resource and handing it to what releases it: Python
    raises KeyboardInterrupt between any two bytecodes, so one raised as the
    acquiring call returns (once the board is prepared, the folder made, the
    temporary file created) left the resource with nobody to release it. Each
    signal received is sent again once the block is over, once, in the order
    they came (its handler then raises, stops the session or ends the process,
    as it would have; the others are sent even when one's handler raises, so
    a SIGTERM after a Ctrl-C is not lost); in another thread than the main
    one, nothing is held.
    """
    came = []
    try:
        with hold_signals(threading.Event(), said=None, came=came):
            yield
    finally:
        _send_again(list(dict.fromkeys(came)))


def _send_again(names):
    """Raise the signals ``names`` in order, each even when one before raised."""
    if names:
        try:
            signal.raise_signal(getattr(signal, names[0]))
        finally:
            _send_again(names[1:])
