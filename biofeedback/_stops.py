"""What can end a session, by name, and in words.

A session's summary says what ended it (``SessionSummary.stopped_by``, kept
in the sidecar). The code that ends a session names its reason from here,
and whatever reads a sidecar says it in the words here, so the two cannot
drift apart.
"""

from __future__ import annotations

import signal

#: The source ran out (a recording replayed to its end).
END = "end"
#: ``duration`` seconds of data, or of wall-clock time when data stopped coming.
DURATION = "duration"
#: The feedback protocol was over (``end = "stop"``).
PROTOCOL = "protocol"
#: :meth:`Session.stop` without a reason of its own.
STOP = "stop"
#: The dashboard's stop button.
DASHBOARD = "dashboard"
#: Ctrl-C.
INTERRUPT = "interrupt"
#: The source sent nothing for ``give_up`` seconds.
SOURCE_LOST = "source_lost"
#: Too little space left for the recording.
DISK_FULL = "disk_full"
#: SIGTERM and SIGHUP end a session under their own names.
SIGTERM, SIGHUP = "SIGTERM", "SIGHUP"

#: Ends a script must see as failures (the recording is kept).
FAILURES = (SOURCE_LOST, DISK_FULL)

_WORDS = {
    END: "its source ended",
    DURATION: "--duration was reached",
    PROTOCOL: "its protocol was over",
    STOP: "it was stopped",
    DASHBOARD: "it was stopped from the dashboard",
    INTERRUPT: "Ctrl-C",
    SOURCE_LOST: "the source was lost",
    DISK_FULL: "the disk was full",
    SIGTERM: "SIGTERM",
    SIGHUP: "SIGHUP",
}


def in_words(reason) -> str:
    """What ended a session, in words (a reason named elsewhere, as it is)."""
    return _WORDS.get(reason, str(reason))


def exit_status(reason) -> int | None:
    """The exit status of a command ended by a signal: 128 + its number, as a
    shell reports a process it ended (Ctrl-C 130, SIGHUP 129, SIGTERM 143).

    ``reason`` is a session's ``stopped_by`` (``"interrupt"`` for Ctrl-C) or
    a signal's name; None when it names no signal.
    """
    name = "SIGINT" if reason == INTERRUPT else reason
    sig = getattr(signal, name, None) if name in ("SIGINT", SIGTERM, SIGHUP) else None
    return None if sig is None else 128 + int(sig)
