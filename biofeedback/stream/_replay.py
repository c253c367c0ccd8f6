"""A recording replayed as a Source: as fast as possible or in real time."""

from __future__ import annotations

import time

from .._markers import GAP_END, GAP_START
from ._source import Chunk, Source, SourceEvent


class RecordingSource(Source):
    """Feed a :class:`~biofeedback.io.Recording` chunk by chunk.

    Timestamps are the recording's own; markers come out as ``marker`` events
    when replay reaches them. With ``realtime=True`` chunks are released at the
    pace of the recording's clock times ``1 / speed`` (a virtual clock mapped
    onto the wall clock); otherwise as fast as the caller reads.

    Parameters
    ----------
    recording : Recording
    profile : BoardProfile | None
        Defaults to the recording's profile, else a generic one.
    realtime : bool
    speed : float
        Playback speed factor when ``realtime``.
    chunk_duration : float
        Seconds of data per chunk.
    """

    def __init__(self, recording, profile=None, realtime=False, speed=1.0, chunk_duration=0.1):
        from ..hardware import profile_for_recording

        super().__init__(profile_for_recording(recording, profile))
        self.recording = recording
        self.realtime = realtime
        self.speed = float(speed)
        self.chunk = max(1, int(round(chunk_duration * recording.sfreq)))
        self._pos = 0
        # the recording's own loss markers are re-announced as loss events below
        self._markers = sorted(m for m in recording.markers
                               if str(m[1]).split(" ", 1)[0] not in (GAP_START, GAP_END))
        self._next_marker = 0
        self._gaps = sorted(recording.gaps, key=lambda g: g.onset)
        self._next_gap = 0

    def _open(self):
        self._pos = 0
        self._wall0 = time.monotonic()

    def _read(self, timeout):
        rec = self.recording
        if self._pos >= rec.n_times:
            raise EOFError
        stop = min(self._pos + self.chunk, rec.n_times)
        if not self.realtime:
            # as fast as possible in long chunks, each ending at the sample that
            # reaches the next marker or loss, so events keep their place among
            # the windows
            stop = self._event_stop(stop)
        ts = rec.timestamps[self._pos : stop]
        if self.realtime:
            due = self._wall0 + (ts[-1] - rec.timestamps[0]) / self.speed
            wait = due - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
        data = rec.data[:, self._pos : stop]
        markers = self._markers
        while self._next_marker < len(markers) and markers[self._next_marker][0] <= ts[-1]:
            t, text = markers[self._next_marker]
            self._emit(SourceEvent("marker", timestamp=float(t), text=str(text)))
            self._next_marker += 1
        # losses the recording holds come out as a live source reports them, once
        # replay reaches them, so a replay counts what the live session counted
        # an outage the recording marks after its last sample (the stream was
        # still lost when the session ended) comes out with the last chunk
        last = stop >= rec.n_times
        while self._next_gap < len(self._gaps) and (
                last or self._gaps[self._next_gap].onset <= ts[-1]):
            g = self._gaps[self._next_gap]
            if g.source == "marker":
                self._emit(SourceEvent("disconnected", timestamp=float(g.onset)))
                self._emit(SourceEvent("reconnected", timestamp=float(g.onset + g.duration),
                                       duration=float(g.duration), n=int(g.n_missing)))
            else:
                self._emit(SourceEvent("dropped", timestamp=float(g.onset), n=int(g.n_missing)))
            self._next_gap += 1
        self._pos = stop
        return Chunk(data, ts)

    def _event_stop(self, stop):
        import numpy as np

        due = []
        if self._next_marker < len(self._markers):
            due.append(self._markers[self._next_marker][0])
        if self._next_gap < len(self._gaps):
            due.append(self._gaps[self._next_gap].onset)
        if not due:
            return stop
        reach = np.flatnonzero(self.recording.timestamps[self._pos : stop] >= min(due))
        return self._pos + int(reach[0]) + 1 if reach.size else stop

    def _close(self):
        pass

    def describe(self) -> dict:
        return {"kind": "recording", "format": self.recording.source_format,
                "file": self.recording.provenance.get("fname", ""),
                "duration_s": float(self.recording.timestamps[-1] - self.recording.timestamps[0])
                if self.recording.n_times else 0.0,
                "realtime": self.realtime, "speed": self.speed}
