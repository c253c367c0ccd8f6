"""What a finished session reports, and the tally that fills it as data flows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._stops import END
from .._words import counted

__all__ = ["SessionSummary", "Tally"]


@dataclass
class SessionSummary:
    """What a finished session reports (and saves in its sidecar).

    ``stopped_by`` says what ended it, a name of :mod:`biofeedback._stops`:
    ``"end"`` (the source ran out), ``"duration"``, ``"protocol"`` (the
    feedback protocol was over), ``"stop"`` (:meth:`Session.stop`),
    ``"interrupt"`` (Ctrl-C), ``"source_lost"``, ``"SIGTERM"``...
    ``notes`` are what the source says the figures rest on (e.g. that a
    playback's timestamps are those of the playback), and why a session
    stopped early (a lost source, its wall-clock duration).
    """

    session_id: str
    recording: Path | None = None
    n_samples: int = 0
    n_windows: int = 0
    n_gated: int = 0
    n_dropped: int = 0
    duration: float = 0.0
    effective_sfreq: float = 0.0
    latency_ms: dict = field(default_factory=dict)
    gaps: list = field(default_factory=list)
    sink_errors: dict = field(default_factory=dict)
    stopped_by: str = END
    losses: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def lines(self, latency=()) -> list[str]:
        """Human-readable summary, one fact a line (recording path last).

        ``latency``: the sinks' latency lines (the cues'), printed after the
        estimates' so the latency block is not split by the notes.
        """
        out = [
            f"session {self.session_id}: {self.duration:.1f} s, "
            f"{counted(self.n_samples, 'sample')} ({self.effective_sfreq:.2f} Hz effective), "
            f"{counted(self.n_windows, 'window')} ({self.n_gated} gated), "
            f"{counted(self.n_dropped, 'sample')} dropped",
        ]
        if self.latency_ms.get("n"):
            lat = self.latency_ms
            out.append(
                f"estimate latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (n={lat['n']})"
            )
        out.extend(latency)
        if self.losses.get("total"):
            from ..stream._source import loss_line

            out.append(loss_line(self.losses))
        out.extend(self.notes)
        for gap in self.gaps:
            out.append(f"gap: stream lost at t={gap['onset']:.3f} for {gap['duration']:.2f} s"
                       + (f" ({counted(gap['n'], 'sample')})" if gap.get("n") else ""))
        for name, err in self.sink_errors.items():
            out.append(f"sink {name!r} failed and was turned off: {err}")
        if self.recording is not None:
            out.append(f"recording: {self.recording}")
        return out

    def to_dict(self) -> dict:
        """JSON-ready copy (the sidecar's ``summary``)."""
        out = asdict(self)
        out["recording"] = str(self.recording) if self.recording else None
        return out


class Tally:
    """Counts samples, windows, gaps and latency while a session runs.

    Parameters
    ----------
    summary : SessionSummary
        Filled in place (samples and duration as data arrive, the rest by
        :meth:`finish`).
    duration : float | None
        Seconds of data after which :meth:`samples` says to stop.
    """

    def __init__(self, summary, duration=None):
        self.summary = summary
        self.duration = duration
        self.n_windows = self.n_gated = 0
        self.latency = []
        self.gaps = []
        self.n_drops = 0  # 'dropped' events the source reported
        self.gap_open = None
        self.gap_closed_at = None  # when an outage still open at the end was closed
        self.first_ts = None
        self.last_ts = None
        self.live_from = np.inf  # windows older than this are start-up backlog

    def samples(self, ts) -> bool:
        """Count a chunk's timestamps; True once ``duration`` is reached."""
        if ts.size == 0:
            return False
        if self.first_ts is None:
            self.first_ts = ts[0]
        self.last_ts = ts[-1]
        self.summary.n_samples += ts.size
        self.summary.duration = self.last_ts - self.first_ts
        return self.duration is not None and self.summary.duration >= self.duration

    def window(self, result, now=None) -> None:
        """Count a window; ``now`` (LSL clock) adds its estimate latency."""
        # windows whose data predate the loop (the start-up backlog) are not
        # live feedback: they do not count towards latency
        if now is not None and result.t_end >= self.live_from:
            self.latency.append(now - result.t_end)
        self.n_windows += 1
        self.n_gated += int(result.gated)

    def finish(self, dropped: int = 0) -> SessionSummary:
        """Write the counts into the summary; ``dropped``: the source's count."""
        s = self.summary
        s.n_windows, s.n_gated = self.n_windows, self.n_gated
        s.gaps = list(self.gaps)
        outage = sum(g["n"] for g in self.gaps)
        if s.duration > 0:
            s.effective_sfreq = (s.n_samples - 1) / s.duration
        # an outage still running when the session ended starts at its last
        # sample (a recording's marker of it, within a few microseconds): its
        # samples lie past the stamps' span, counted by the clock
        near = 0.5 / s.effective_sfreq if s.effective_sfreq > 0 else 0.0
        past = sum(g["n"] for g in self.gaps
                   if self.last_ts is not None and g["onset"] >= self.last_ts - near)
        s.losses = {"dropped": dropped, "drops": self.n_drops, "outage": outage,
                    "outages": len(self.gaps), "total": dropped + outage,
                    "after_last_sample": past}
        if self.latency:
            lat = np.array(self.latency) * 1e3
            s.latency_ms = {"p50": float(np.percentile(lat, 50)),
                            "p99": float(np.percentile(lat, 99)), "n": int(lat.size)}
        return s


def rate_note(summary, nominal: float, min_duration: float = 10.0, tolerance: float = 0.01,
              lost=None, tense="came"):
    """A sentence when the samples came at a rate other than the nominal one, else None.

    The sentence is plain (no "warning:", no capital, no full stop): callers
    add what their place needs.

    The rate counts the samples received and those counted lost over the
    timestamps' span; an outage after the last sample (a stream still lost
    when the session ended) lies outside that span and is left out.
    Filters, bands and windows are designed on the nominal rate, so a sender
    2 % off moves every band edge by 2 %.

    ``lost``: the samples counted lost within the span (default: the
    summary's, once the session ended); ``tense``: the sentence's verb
    ("come" while the session runs).
    """
    if not nominal or summary.duration < min_duration:
        return None
    if lost is None:  # the summary's, once the session ended
        losses = summary.losses or {}
        lost = losses.get("total", 0) - losses.get("after_last_sample", 0)
    rate = (summary.n_samples + lost - 1) / summary.duration
    off = rate / nominal - 1.0
    if abs(off) <= tolerance:
        return None
    return (f"the samples {tense} at {rate:.2f} Hz, {abs(off) * 100:.1f} % "
            f"{'above' if off > 0 else 'below'} the nominal {nominal:g} Hz the filters, "
            "bands and windows assume; check the sender's rate setting")
