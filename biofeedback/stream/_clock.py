"""One clock for a session: the LSL clock (``pylsl.local_clock``)."""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from ._pylsl import import_pylsl


def lsl_clock() -> float:
    """Seconds on the LSL clock (imports pylsl on first use)."""
    pylsl = import_pylsl()
    return pylsl.local_clock()


def paired_offset(n: int = 5) -> tuple[float, float]:
    """``(lsl - unix, lsl)`` now: the tightest of ``n`` paired clock readings.

    Each reading puts the LSL clock between two Unix ones; the pair read
    closest together gives the offset, and the LSL time it was read at.
    """
    best = None
    for _ in range(n):
        u0 = time.time()
        lsl = lsl_clock()
        u1 = time.time()
        width = u1 - u0
        if best is None or width < best[0]:
            best = (width, lsl - (u0 + u1) / 2.0, lsl)
    return best[1], best[2]


class UnixToLSL:
    """Map host Unix timestamps (as BrainFlow stamps samples) onto the LSL clock.

    The offset ``lsl - unix`` is measured as the tightest of a few paired
    readings and refreshed every ``refresh`` seconds, so slow drift between the
    wall clock and the monotonic LSL clock is followed (wall-clock steps, e.g.
    from NTP, show up as a change of offset, never as a jump in our data).

    Parameters
    ----------
    refresh : float
        Seconds between measurements of the offset.
    n_readings : int
        Paired readings per measurement (the tightest is kept).
    keep : int
        Measurements :attr:`history` keeps, the newest: a session of hours
        measures thousands of times.

    Attributes
    ----------
    history : deque of (float, float)
        ``(lsl time, offset)`` of the last ``keep`` measurements.
    """

    def __init__(self, refresh: float = 10.0, n_readings: int = 5, keep: int = 100):
        self.refresh = refresh
        self.n_readings = int(n_readings)
        self._offset = None
        self._measured_at = -1e18
        self.history: deque[tuple[float, float]] = deque(maxlen=int(keep))

    def _measure(self) -> float:
        offset, lsl = paired_offset(self.n_readings)
        self.history.append((lsl, offset))
        return offset

    @property
    def offset(self) -> float:
        """Current estimate of ``lsl - unix`` in seconds."""
        now = lsl_clock()
        if self._offset is None or now - self._measured_at > self.refresh:
            self._offset = self._measure()
            self._measured_at = now
        return self._offset

    def __call__(self, unix_ts):
        """Convert Unix seconds (scalar or array) to LSL seconds."""
        return unix_ts + self.offset


class DeviceClock:
    """Map a device's own timestamps onto the host (LSL) clock, fitted online.

    A device that stamps samples with its own clock drifts against the host
    (100 ppm is 180 ms in 30 minutes). As LSL's clock synchronisation does,
    the offset ``host - device`` is measured as data arrive and a straight
    line ``offset = a + b * device_time`` is fitted through the measurements,
    so both the offset and the drift are followed. Each chunk gives one
    measurement: its arrival time minus the device time of its newest sample.
    Transport delays only make that larger, so the smallest measurement of
    every ``interval`` seconds is kept (the lower envelope) and the line is
    fitted by least squares through those, over the last ``span`` seconds.

    Parameters
    ----------
    interval : float
        Seconds of device time per kept measurement.
    span : float
        Seconds of device time the fit looks back over.
    n_recent : int
        Samples :meth:`observe_chunk` averages to place a chunk's newest one.
    settle : float
        Seconds of device time after which the fit counts as :attr:`settled`.
        The first chunk's offset is as late as its transport delay (5 ms and
        more); a source holds its first samples back until then and stamps
        them with the settled fit, so they are as right as the rest.

    Attributes
    ----------
    points : list of (float, float)
        Kept (device time, offset) pairs, what a recording's clock offsets hold.
    """

    def __init__(self, interval: float = 1.0, span: float = 600.0, n_recent: int = 64,
                 settle: float = 1.0):
        self.interval = float(interval)
        self.settle = float(settle)
        self._newest = None  # device time of the newest measurement
        self.span = float(span)
        self.n_recent = int(n_recent)
        self._recent = None  # (positions, device times) of the last samples
        self._next_pos = 0
        self.points: list[tuple[float, float]] = []
        self._best = None  # (device time, offset) of the current interval
        self._bin = None
        self._coef = None  # (a, b) of offset = a + b * (device - t_ref)
        self._t_ref = None

    def observe(self, device_time: float, host_time: float) -> None:
        """One measurement: a sample stamped ``device_time`` arrived at ``host_time``."""
        offset = float(host_time) - float(device_time)
        if self._t_ref is None:
            self._t_ref = float(device_time)
        self._newest = float(device_time)
        k = int((device_time - self._t_ref) // self.interval)
        if self._bin is not None and k != self._bin and self._best is not None:
            self.points.append(self._best)
            self._best = None
            cut = self.points[-1][0] - self.span
            while self.points and self.points[0][0] < cut:
                self.points.pop(0)
            self._fit()
        self._bin = k
        if self._best is None or offset < self._best[1]:
            self._best = (float(device_time), offset)
        if self._coef is None or len(self.points) < 2:
            # until a line can be fitted: the best offset seen so far
            cands = [p[1] for p in self.points] + [self._best[1]]
            self._coef = (min(cands), 0.0)

    def observe_chunk(self, device_times, host_time: float, sfreq: float,
                      positions=None) -> None:
        """One measurement from a chunk that arrived at ``host_time``.

        The newest sample's device time is estimated from the last
        ``n_recent`` samples (each stamp plus its distance to the newest at the
        nominal rate, averaged), so per-sample stamping jitter averages out
        instead of biasing the lower envelope (a minimum over jittery stamps
        picks the most jittered one).

        Parameters
        ----------
        device_times : array, shape (n_times,)
            The chunk's device timestamps.
        host_time : float
            When the chunk arrived, on the host clock.
        sfreq : float
            Nominal rate.
        positions : array of int | None
            Sample numbers of the chunk's samples (from a packet counter: lost
            samples leave holes); default: following the previous chunk.
        """
        dev = np.asarray(device_times, dtype=float)
        if dev.size == 0:
            return
        if positions is None:
            start = self._next_pos
            positions = np.arange(start, start + dev.size)
        pos = np.asarray(positions, dtype=np.int64)
        self._next_pos = int(pos[-1]) + 1
        if self._recent is not None and pos[0] - self._recent[0][-1] > sfreq:
            self._recent = None  # after an outage, start afresh
        if self._recent is not None:
            pos = np.concatenate([self._recent[0], pos])[-self.n_recent:]
            dev = np.concatenate([self._recent[1], dev])[-self.n_recent:]
        else:
            pos, dev = pos[-self.n_recent:], dev[-self.n_recent:]
        self._recent = (pos, dev)
        newest = float(np.mean(dev + (pos[-1] - pos) / float(sfreq)))
        self.observe(newest, host_time)

    @property
    def settled(self) -> bool:
        """True once measurements span :attr:`settle` seconds of device time."""
        return self._newest is not None and self._newest - self._t_ref >= self.settle

    def _fit(self) -> None:
        if len(self.points) < 2:
            return
        t = np.array([p[0] for p in self.points]) - self._t_ref
        y = np.array([p[1] for p in self.points])
        if np.ptp(t) < 0.5 * self.interval:  # too short a baseline for a slope
            self._coef = (float(np.min(y)), 0.0)
            return
        b, a = np.polyfit(t, y, 1)
        self._coef = (float(a), float(b))

    def offset(self, device_time):
        """Fitted ``host - device`` at ``device_time`` (scalar or array)."""
        if self._coef is None:
            return np.zeros_like(np.asarray(device_time, dtype=float))
        a, b = self._coef
        return a + b * (np.asarray(device_time, dtype=float) - self._t_ref)

    def __call__(self, device_time):
        """Device timestamps (scalar or array) on the host clock."""
        return np.asarray(device_time, dtype=float) + self.offset(device_time)

    def describe(self) -> dict:
        """The fit, for sidecars: offset (s), drift (ppm), measurements kept."""
        a, b = self._coef if self._coef is not None else (0.0, 0.0)
        return {"method": "least squares over per-second minimum offsets",
                "offset_s": a, "drift_ppm": -b * 1e6, "t_ref": self._t_ref,
                "n_points": len(self.points)}
