"""A recording replayed as a Source: as fast as possible or in real time."""

from __future__ import annotations

import time

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
        from ..replay import profile_from_recording

        super().__init__(profile_from_recording(recording, profile))
        self.recording = recording
        self.realtime = realtime
        self.speed = float(speed)
        self.chunk = max(1, int(round(chunk_duration * recording.sfreq)))
        self._pos = 0
        self._markers = sorted(recording.markers)
        self._next_marker = 0

    def _open(self):
        self._pos = 0
        self._wall0 = time.monotonic()

    def _read(self, timeout):
        rec = self.recording
        if self._pos >= rec.n_times:
            raise EOFError
        stop = min(self._pos + self.chunk, rec.n_times)
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
            t, text = self._markers[self._next_marker]
            self._emit(SourceEvent("marker", timestamp=float(t), text=str(text)))
            self._next_marker += 1
        self._pos = stop
        return Chunk(data, ts)

    def _close(self):
        pass

    def describe(self) -> dict:
        return {"kind": "recording", "format": self.recording.source_format,
                "file": self.recording.provenance.get("fname", ""),
                "duration_s": float(self.recording.timestamps[-1] - self.recording.timestamps[0])
                if self.recording.n_times else 0.0,
                "realtime": self.realtime, "speed": self.speed}
