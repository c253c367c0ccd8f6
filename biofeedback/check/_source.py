"""The check on a device: read a started source, measure impedance, judge."""

from __future__ import annotations

import threading
import time

import numpy as np

from ..errors import BiofeedbackError
from ._report import CheckReport
from ._signal import check_signal, leadoff_impedance


def _collect(source, seconds, deadline_extra=5.0, stop=None):
    """Read ``seconds`` of samples from a started source: (data, timestamps),
    or None when ``stop`` (an Event) was set first."""
    chunks, stamps = [], []
    n_want = int(round(seconds * source.sfreq))
    have = 0
    end = time.monotonic() + seconds + deadline_extra

    def until():
        return time.monotonic() > end or (stop is not None and stop.is_set())

    for chunk, _ in source.iter_chunks(0.05, until=until):
        if chunk is None or chunk.timestamps.size == 0:
            continue
        chunks.append(chunk.data)
        stamps.append(chunk.timestamps)
        have += chunk.timestamps.size
        if have >= n_want:
            break
    if stop is not None and stop.is_set():
        return None
    from ..errors import StreamError

    if not chunks:
        raise StreamError(f"No samples arrived from {source.describe().get('kind', 'the source')} "
                          f"within {seconds + deadline_extra:g} s.")
    if have < n_want:  # the stream stopped (or was lost) mid-check
        desc = source.describe()
        what = (f"the LSL stream {desc.get('name')!r}" if desc.get("kind") == "lsl"
                else desc.get("kind", "the source"))
        raise StreamError(
            f"Only {have / source.sfreq:.1f} s of the {seconds:g} s the check listens for came "
            f"from {what} before it stopped sending; make sure it streams, then check again.")
    return np.concatenate(chunks, axis=1)[:, :n_want], np.concatenate(stamps)[:n_want]


def run_check(source, config=None, seconds=4.0, limits=None, impedance=False,
              progress=None) -> CheckReport:
    """Start ``source``, read ``seconds`` of EEG, judge it, stop the source.

    Parameters
    ----------
    source : Source
        A board, LSL stream or scenario (not started).
    config : PipelineConfig | None
        Gates and filters (default pipeline when None).
    seconds : float
        How long to listen.
    limits : CheckLimits | None
    impedance : bool
        Also measure impedance where the board can (Cyton, Ganglion; needs the
        hardware).
    progress : callable | None
        Called with a line of text as the check goes.

    Returns
    -------
    report : CheckReport

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C, SIGTERM or SIGHUP (in the main thread) while it ran: it ends
        at the next read, releases the source and says so, then raises.
    """
    from .._signals import hold_signals
    from ..config import load_pipeline

    config = config or load_pipeline()
    say = progress or (lambda text: None)
    stop, came = SourceStop(source), []
    # Ctrl-C, SIGTERM and SIGHUP end the check between two reads, never inside
    # one: raised in BrainFlow's ctypes call, KeyboardInterrupt came out as
    # ctypes.ArgumentError (a traceback, exit 1) and the board was not released
    with hold_signals(stop, said=None, came=came):
        try:
            source.start()
        except BiofeedbackError:  # a stream's wait, given up: the signal says why
            if not stop.is_set():
                raise
        else:
            try:
                say(f"listening for {seconds:g} s...")
                got = _collect(source, seconds, stop=stop)
                z = {}
                if impedance and got is not None:
                    z = measure_impedance(source, say=say, stop=stop)
            finally:
                source.stop()
        if stop.is_set():
            who = "Ctrl-C" if came[0] == "SIGINT" else came[0]
            what = "the board is released" if source.describe().get("kind") == "brainflow" \
                else "the source is closed"
            say(f"stopped by {who} before its verdict; {what}.")
    if stop.is_set():
        raise KeyboardInterrupt(came[0])
    data = got[0]
    return check_signal(data, source.sfreq, source.ch_names, source.profile, config.gates,
                        config.preprocessing, limits, impedance_kohm=z)


class SourceStop(threading.Event):
    """A check's stop: set (by a signal, the page's stop button), it also gives up
    the source's wait to start. An LSL stream not there yet was waited for the
    whole --lsl-timeout after Ctrl-C, then said not found (exit 1)."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def set(self):
        super().set()
        self.source.cancel_start()


def measure_impedance(source, seconds=2.0, settle=0.5, say=None, stop=None) -> dict:
    """Impedance per channel (kΩ) on a running OpenBCI board; {} elsewhere.

    Cyton (and Daisy): for each channel in turn, ``config_board("z{ch}01Z")``
    switches on the N-side lead-off current (the input the Cyton's default
    montage uses with SRB2), ``seconds`` of that channel are read and
    :func:`leadoff_impedance` gives the impedance; ``z{ch}00Z`` switches it off.
    Ganglion: ``config_board("z")`` enters impedance mode, the resistance rows
    BrainFlow names (``BoardShim.get_resistance_channels``) are read for
    ``seconds`` and their median is kept (the value the firmware reports,
    which OpenBCI GUI shows as kΩ); ``"Z"`` leaves the mode.

    Needs the hardware: BrainFlow's synthetic board ignores these commands.
    """
    say = say or (lambda text: None)
    # any source may come here; only a BrainFlow one has a board to send commands to
    board = getattr(source, "_board", None)
    prof = getattr(source, "profile", None)
    bf_name = str((prof.brainflow_board if prof is not None else "") or "").upper()
    if board is None or not bf_name:
        return {}
    out = {}
    if bf_name.startswith("CYTON"):
        channels = "12345678QWERTYUI"  # the Cyton's channel keys, Daisy's after 8
        for i, name in enumerate(source.ch_names):
            if stop is not None and stop.is_set():  # Ctrl-C: the check ends
                break
            key = channels[i]
            say(f"impedance of {name}...")
            board.config_board(f"z{key}01Z")
            try:
                time.sleep(settle)
                source.read(0.0)  # drop what came while it settled
                got = _collect(source, seconds, stop=stop)
                if got is not None:
                    out[name] = leadoff_impedance(got[0][i], source.sfreq) / 1e3
            finally:
                board.config_board(f"z{key}00Z")
    elif bf_name.startswith("GANGLION"):
        from brainflow.board_shim import BoardShim

        rows = BoardShim.get_resistance_channels(board.get_board_id())
        board.config_board("z")
        try:
            time.sleep(seconds)
            raw = board.get_board_data()
        finally:
            board.config_board("Z")
        for name, row in zip(source.ch_names, rows, strict=False):
            vals = raw[row][np.isfinite(raw[row])]
            if vals.size:
                out[name] = float(np.median(vals))
    return out
