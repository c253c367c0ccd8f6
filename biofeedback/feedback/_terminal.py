"""The live terminal view: a gauge per estimate, channel quality, counters."""

from __future__ import annotations

import logging
import math
import sys
import threading

import numpy as np

from ..quality import FLAGS
from ..stream._peers import printable as _safe  # names from files and the network
from ._base import Sink

_RESET, _GREEN, _YELLOW, _RED, _DIM = "\033[0m", "\033[32m", "\033[33m", "\033[31m", "\033[2m"


def _columns(stream) -> int:
    """The width of the terminal ``stream`` draws on, asked of that terminal.

    Not :func:`shutil.get_terminal_size` first: it takes ``COLUMNS`` from the
    environment before the terminal (a value a shell exported goes stale when
    the window is resized) and asks stdout, not ``stream``.
    """
    import os
    import shutil

    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):  # not a file, or not a terminal
        cols = 0
    return cols or shutil.get_terminal_size().columns


def _fit(line: str, columns: int) -> str:
    """``line`` cut to ``columns - 1`` visible characters (colour codes kept).

    A line as wide as the terminal wraps onto a second row, and the in-place
    redraw, which moves the cursor up one row per line, would then creep down
    the screen and leave a stale copy behind on every window.
    """
    room = max(columns - 1, 1)
    if len(line) <= room:  # no more visible characters than characters: it fits
        return line
    out, last, seen, i = [], None, 0, 0  # last: where in ``out`` the last visible one is
    while i < len(line):
        if line[i] == "\033":  # an SGR colour code: no width
            end = line.find("m", i)
            end = len(line) - 1 if end < 0 else end
            out.append(line[i : end + 1])
            i = end + 1
            continue
        if seen == room:
            out[last] = "…"
            return "".join(out) + _RESET
        last = len(out)
        out.append(line[i])
        seen += 1
        i += 1
    return line


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # none, closed, or not a file
        return False


def _channel_mark(flags: int) -> tuple[str, str]:
    """(symbol, colour) for a channel's quality flags."""
    if flags & (FLAGS["railed"] | FLAGS["flat"] | FLAGS["nan"] | FLAGS["bad"]):
        return "✗", _RED
    if flags & (FLAGS["amplitude"] | FLAGS["blink"] | FLAGS["muscle"] | FLAGS["line_noise"]):
        return "~", _YELLOW
    if flags & FLAGS["near_railed"]:
        return "!", _YELLOW
    return "●", _GREEN


class TerminalView(Sink):
    """Redraw a compact dashboard in place (a TTY) or print a line a second.

    Each gauge spans the range the estimate has taken so far in the session,
    so it moves from the first seconds; the number beside it is the value.

    Parameters
    ----------
    stream : file
        Where to draw (stdout by default).
    color : bool | None
        ANSI colours and in-place redraw; None means "if ``stream`` is a TTY".
    width : int
        Gauge width in characters.
    columns : int | None
        Terminal width for the in-place view; None reads it at every redraw
        (lines are cut to fit, so none wraps).
    """

    name = "terminal"

    def __init__(self, stream=None, color=None, width=28, plain_every=1.0, columns=None):
        self.stream = stream or sys.stdout
        self.color = self.stream.isatty() if color is None else color
        self.width = width
        self.columns = columns
        self.plain_every = plain_every
        self._lines = 0
        self._lo = {}
        self._hi = {}
        self._stats = {}
        self._last_plain = -math.inf
        self._events = []
        self._lock = threading.RLock()  # log lines come from other threads too
        self._above = []  # the log handlers that clear the view before they write

    def open(self, info):
        self.info = info
        self.names = list(info.estimate_names)
        self._ch_labels = [_safe(ch) for ch in info.ch_names]  # made safe once, not per window
        if self.color:
            self._log_above()

    def _log_above(self):
        """Log lines go above the view in place, never under it.

        Redrawn, the view moves up as many rows as it drew: a warning logged
        between two redraws ("LSL stream lost", a flat channel) was written
        over by the next one, read for half a second at most, and the view's
        first row was left behind above. Each log handler that writes to
        this terminal now clears the view first, under the view's lock (it
        is drawn from another thread); the next redraw starts under the line.
        """
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if not isinstance(handler, logging.StreamHandler) or not (
                    stream is self.stream or _isatty(stream) and _isatty(self.stream)):
                continue  # (stderr sent to a file: its lines never reach the screen)
            own = handler.__dict__.get("emit")  # (another view's, or none)
            emit = handler.emit

            def above(record, emit=emit):
                with self._lock:
                    self.clear()
                    emit(record)

            handler.emit = above
            self._above.append((handler, own))

    def clear(self) -> None:
        """Take the view in place off the screen; the next redraw starts where it was."""
        with self._lock:
            if self._lines:
                self.stream.write(f"\033[{self._lines}F\033[J")
                self.stream.flush()
                self._lines = 0

    def close(self):
        for handler, own in reversed(self._above):
            if own is None:
                handler.__dict__.pop("emit", None)
            else:
                handler.emit = own
        self._above = []

    def status(self, stats):
        self._stats = dict(stats)

    def event(self, kind, timestamp, text=""):
        self._events = (self._events + [_safe(text or kind)])[-3:]

    def _gauge(self, name, value):
        if not np.isfinite(value):
            return "·" * self.width, "   n/a"
        lo = self._lo[name] = min(self._lo.get(name, value), value)
        hi = self._hi[name] = max(self._hi.get(name, value), value)
        frac = 0.5 if hi - lo < 1e-12 else (value - lo) / (hi - lo)
        n = int(round(frac * self.width))
        return "█" * n + "░" * (self.width - n), f"{value:8.3f}"

    def render(self, result) -> list[str]:
        """The dashboard lines for one window (without colour codes if plain)."""
        c = self.color
        g, y, r, d, x = (_GREEN, _YELLOW, _RED, _DIM, _RESET) if c else ("",) * 5
        st = self._stats
        elapsed = st.get("elapsed", 0.0)
        head = (f"biofeedback · {self.info.profile.name} · {int(elapsed // 60):02d}:"
                f"{int(elapsed % 60):02d} · {self.info.sfreq:g} Hz · windows "
                f"{st.get('windows', result.index + 1)} · dropped {st.get('dropped', 0)}")
        state = f"{r}GATED (artifact: feedback paused){x}" if result.gated else f"{g}clean{x}"
        lines = [head, f"window ends t={result.t_end:.3f}  {state}"]
        for name, value in zip(self.names, result.estimates):
            bar, num = self._gauge(name, float(value))
            lines.append(f"  {name:<12} {bar} {num}")
        marks = []
        for ch, fl in zip(self._ch_labels, result.quality):
            sym, col = _channel_mark(int(fl))
            marks.append(f"{ch} {col if c else ''}{sym}{x if c else ''}")
        per_line = 8
        for i in range(0, len(marks), per_line):
            prefix = "  quality    " if i == 0 else "             "
            lines.append(prefix + "  ".join(marks[i : i + per_line]))
        lines.extend(self._cue_lines(result))
        if self._events:
            lines.append(f"  {d}events: {' | '.join(self._events)}{x}")
        return lines

    def _latest_cue(self):
        sink = self.info.protocol
        if sink is None or not sink.terminal or sink.protocol is None:
            return None, None
        return sink.protocol, sink.protocol.latest

    def _cue_lines(self, result) -> list[str]:
        """The protocol block and the cue gauge (when a protocol runs)."""
        prot, cue = self._latest_cue()
        if cue is None:
            return []
        c = self.color
        g, y, r, d, x = (_GREEN, _YELLOW, _RED, _DIM, _RESET) if c else ("",) * 5
        block = prot.current
        left = prot.time_left(cue.t_end)
        head = f"  block {_safe(cue.block)} ({cue.kind})"
        if left == left:  # not NaN
            head += f" · {left:.0f} s left"
        if block is not None and block.instructions:
            head += f" · {_safe(block.instructions, 200)}"
        arrow = "raise" if cue.direction == "up" else "lower"
        if cue.kind == "transfer":  # cues are computed and recorded, never shown
            gauge = f"  {'cue':<12} {d}transfer: no feedback ({arrow} {cue.target} on your own){x}"
        elif cue.state in ("reward", "no_reward"):
            n = int(round(cue.score * self.width))
            col = g if cue.state == "reward" else y
            bar = "█" * n + "░" * (self.width - n)
            label = "REWARD" if cue.state == "reward" else "below target"
            gauge = f"  {'cue':<12} {col}{bar}{x} {col}{label}{x} ({arrow} {cue.target})"
        elif cue.state == "paused":
            gauge = f"  {'cue':<12} {r}PAUSED (artifact){x}"
        elif cue.state == "calibrating":
            gauge = f"  {'cue':<12} {d}calibrating the threshold...{x}"
        else:
            gauge = f"  {'cue':<12} {d}{cue.state}: no feedback{x}"
        return [head, gauge]

    def write(self, result):
        with self._lock:
            self._write(result)

    def _write(self, result):
        lines = self.render(result)
        if self.color:
            cols = self.columns or _columns(self.stream)
            lines = [_fit(line, cols) for line in lines]
            out = ""
            if self._lines:
                out += f"\033[{self._lines}F"
            out += "".join(f"\033[2K{line}\n" for line in lines)
            # clear leftovers if the view shrank
            extra = self._lines - len(lines)
            if extra > 0:
                out += "\033[2K\n" * extra + f"\033[{extra}F"
            self._lines = len(lines)
            self.stream.write(out)
        else:
            if result.t_end - self._last_plain < self.plain_every:
                return
            self._last_plain = result.t_end
            vals = "  ".join(f"{n}={v:.3f}" for n, v in zip(self.names, result.estimates))
            flag = " GATED" if result.gated else ""
            _, cue = self._latest_cue()
            if cue is not None and cue.kind == "transfer":  # recorded, never shown
                flag += f"  [{_safe(cue.block)}] transfer: no feedback"
            elif cue is not None:
                flag += f"  [{_safe(cue.block)}] cue={cue.state}"
                if cue.score == cue.score:
                    flag += f" score={cue.score:.2f}"
            self.stream.write(f"[{self._stats.get('elapsed', 0):6.1f} s] {vals}{flag}\n")
        self.stream.flush()
