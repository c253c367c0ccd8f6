"""A scenario as an EEG source the engine and the live session read."""

from __future__ import annotations

import time

import numpy as np

from ..stream._clock import DeviceClock
from ..stream._pylsl import import_pylsl
from ..stream._source import Chunk, Source, SourceEvent
from ._generator import simulate
from ._scenario import read_scenario
from ._simulation import Simulation

__all__ = ["ScenarioSource", "count_missing_packets"]


def count_missing_packets(prev_counter, prev_ts, counter, ts, wrap, samples_per_packet, sfreq):
    """Packets missing between two received packets, from their counters.

    The counter gives the gap modulo ``wrap``; the timestamps pick how many
    wraps passed (the count closest to what the elapsed time implies), so a
    burst longer than one counter cycle is still counted exactly.

    Returns
    -------
    n_missing : int
        Packets lost between the two (0 when consecutive).
    """
    counter = np.asarray(counter, dtype=np.int64)
    step = np.mod(counter - np.asarray(prev_counter, dtype=np.int64), wrap)
    expected = (np.asarray(ts, dtype=float) - prev_ts) * sfreq / samples_per_packet
    n_wraps = np.maximum(0, np.round((expected - step) / wrap)).astype(np.int64)
    gap = step + n_wraps * wrap
    gap = np.where(gap == 0, wrap, gap)  # a full cycle at least
    out = gap - 1
    return int(out) if out.ndim == 0 else out


class ScenarioSource(Source):
    """Samples of a scripted headset, as a board would deliver them.

    Packet loss is found the way a real adapter finds it: from jumps in the
    packet counter (``SourceEvent("dropped", n=samples)``). Disconnects are
    reported as ``"disconnected"`` then ``"reconnected"`` with the outage's
    ``duration`` and the samples missed across it in ``n``.

    Parameters
    ----------
    scenario : Scenario | path-like | str
        The scenario (a file, a shipped name like "demo", or an object).
    realtime : bool
        If True, samples are released as the host clock reaches them and
        timestamps are on the LSL clock (``pylsl.local_clock``). If False,
        :meth:`read` returns chunks as fast as it is called, timestamps start
        at ``t0`` and it raises :class:`EOFError` at the end.
    t0 : float | None
        Session-clock time of the scenario's start (default: the LSL clock
        at :meth:`start` in real time, 0.0 otherwise).
    chunk_duration : float | None
        Seconds per chunk when not in real time (default 0.25).
    truth_markers : bool
        Also emit the ground truth as ``SourceEvent("marker", text=...)``
        ("state relaxed ...", "event blink ...", "fault disconnect ...") once
        the samples of its time have been read.

    Attributes
    ----------
    simulation : Simulation
        The generated data and ground truth (see :func:`simulate`).
    """

    def __init__(self, scenario, *, realtime: bool = True, t0: float | None = None,
                 chunk_duration: float | None = None, truth_markers: bool = True):
        self.scenario = read_scenario(scenario)
        super().__init__(self.scenario.profile)
        self.realtime = bool(realtime)
        self._t0_arg = t0
        self.t0 = 0.0 if t0 is None else float(t0)
        self.chunk_duration = 0.25 if chunk_duration is None else float(chunk_duration)
        self.truth_markers = bool(truth_markers)
        self._sim: Simulation | None = None
        self._cursor = 0
        self.clock = None

    @property
    def simulation(self) -> Simulation:
        if self._sim is None:
            self._sim = simulate(self.scenario)
        return self._sim

    def describe(self) -> dict:
        return {
            "kind": type(self).__name__,
            "profile": self.profile.name,
            "scenario": self.scenario.name,
            "scenario_file": self.scenario.fname,
            "seed": self.scenario.seed,
            **({"device_clock": self.clock.describe()} if self.clock is not None else {}),
        }

    def truth_table(self, step: float = 0.1) -> dict:
        """Ground truth on this source's session clock (see Simulation)."""
        return self.simulation.truth_table(step, t0=self.t0)

    def markers(self) -> list:
        """Ground-truth markers on this source's session clock."""
        return self.simulation.markers(self.t0)

    # -- Source API ----------------------------------------------------------------
    def _open(self) -> None:
        sim = self.simulation
        if self.realtime and self._t0_arg is None:
            pylsl = import_pylsl()
            self.t0 = pylsl.local_clock()
        self._cursor = 0
        self._reading = False
        self._last = None  # (counter, timestamp) of the last delivered sample
        self._outage_start = None  # true time the current disconnect began
        self._n = sim.data.shape[1]
        self._chunk = max(1, int(round(self.chunk_duration * sim.sfreq)))
        self._markers = sim.markers() if self.truth_markers else []
        self._marker_i = 0
        # live, the device's clock is fitted against the host's as data arrive
        self.clock = DeviceClock() if self.realtime else None
        self._held = []  # samples kept back until the clock's fit settles

    def _stamp(self, device_times):
        """Session-clock timestamps of device stamps (``sim.timestamps`` values)."""
        ts = self.t0 + np.asarray(device_times, dtype=float)
        return ts if self.clock is None else self.clock(ts)

    def _close(self) -> None:
        pass

    def _now(self) -> float:
        pylsl = import_pylsl()
        return pylsl.local_clock() - self.t0

    def _read(self, timeout: float) -> Chunk | None:
        sim = self.simulation
        if self.realtime and self._t0_arg is None and not self._reading:
            # the headset starts when it is first read, not when it was opened
            # (a session compiles its engine in between): no start-up backlog
            pylsl = import_pylsl()
            self.t0 = pylsl.local_clock()
        self._reading = True
        if self._cursor >= self._n:
            if self._held:  # the scenario ended while the clock settled
                return self._release(None)
            # live too: a session on a scenario shorter than its protocol waited
            # for --give-up, and one ending in a disconnect counted that wait as
            # its outage; it ends with its scenario, an outage then at its end
            self.ended_at = float(self._stamp(sim.timestamps[-1]))
            raise EOFError("The scenario has ended.")
        if self.realtime:
            deadline = time.monotonic() + max(timeout, 0.0)
            while True:
                now = self._now()
                stop = int(np.searchsorted(sim.true_times, now, side="right"))
                if stop > self._cursor:
                    break
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return None
                nxt = sim.true_times[self._cursor] - now
                time.sleep(max(0.0, min(wait, nxt, 0.02)))
        else:
            stop = min(self._n, self._cursor + self._chunk)
        # a chunk never straddles the start or end of a disconnect
        state = sim.disconnected[self._cursor]
        change = np.flatnonzero(sim.disconnected[self._cursor : stop] != state)
        if change.size:
            stop = self._cursor + int(change[0])
        return self._deliver(self._cursor, stop)

    def _deliver(self, start: int, stop: int) -> Chunk | None:
        sim = self.simulation
        self._cursor = stop
        t_read = sim.true_times[stop - 1] if stop < self._n else np.inf
        while self._marker_i < len(self._markers) and self._markers[self._marker_i][0] <= t_read:
            t, text = self._markers[self._marker_i]
            self._emit(SourceEvent("marker", timestamp=float(self.t0 + t), text=text))
            self._marker_i += 1
        sl = slice(start, stop)
        disc = sim.disconnected[sl]
        if disc.any() and self._outage_start is None:
            first = start + int(np.argmax(disc))
            self._outage_start = sim.true_times[first]
            # the last sample delivered before the outage, on the session clock
            ts = self._stamp(self._last[1] if self._last is not None else sim.timestamps[first])
            self._emit(SourceEvent("disconnected", timestamp=float(ts)))
        keep = np.flatnonzero(sim.delivered[sl]) + start
        if keep.size == 0:
            return None
        if self.clock is not None:
            pylsl = import_pylsl()
            self.clock.observe_chunk(self.t0 + sim.timestamps[keep], pylsl.local_clock(),
                                     sim.sfreq, positions=keep)
        if self._outage_start is not None:
            # the device is back: report the outage and what it cost
            k0 = keep[0]
            duration = float(sim.true_times[k0] - self._outage_start)
            n_missed = self._missing(k0)
            self._emit(SourceEvent("reconnected", timestamp=float(self._stamp(sim.timestamps[k0])),
                                   duration=duration, n=n_missed))
            self._outage_start = None
            self._last = (int(sim.counter[k0]), float(sim.timestamps[k0]))
            keep_rest = keep[1:]
        else:
            keep_rest = keep
        # packet counter jumps within the chunk, at packet boundaries only
        if keep_rest.size:
            c = sim.counter[keep_rest]
            ts = sim.timestamps[keep_rest]
            if self._last is not None:
                prev_c = np.concatenate([[self._last[0]], c[:-1]])
                prev_t = np.concatenate([[self._last[1]], ts[:-1]])
            else:
                prev_c, prev_t = c[:-1], ts[:-1]
                c, ts = c[1:], ts[1:]
            jump = np.flatnonzero(c != prev_c)
            if jump.size:
                n_missing = count_missing_packets(
                    prev_c[jump], prev_t[jump], c[jump], ts[jump], sim.counter_wrap,
                    sim.scenario.faults.packet_size, sim.sfreq,
                )
                for j, n_pk in zip(jump, n_missing):
                    if n_pk:
                        self._emit(SourceEvent(
                            "dropped", timestamp=float(self._stamp(prev_t[j])),
                            n=int(n_pk) * sim.scenario.faults.packet_size,
                        ))
            self._last = (int(sim.counter[keep_rest[-1]]), float(sim.timestamps[keep_rest[-1]]))
        return self._release(keep)

    def _release(self, keep) -> Chunk | None:
        """The samples ``keep`` as a chunk, once the device clock's fit has settled.

        Until then they are held back (the first second), then given in one
        chunk stamped with the settled fit: no sample carries the error of
        the first arrivals' transport delay.
        """
        sim = self.simulation
        if keep is not None:
            self._held.append(keep)
        if not self._held or (self.clock is not None and not self.clock.settled
                              and self._cursor < self._n):
            return None
        keep, self._held = np.concatenate(self._held), []
        return Chunk(
            data=np.ascontiguousarray(sim.data[:, keep]),
            timestamps=self._stamp(sim.timestamps[keep]),
        )

    def _missing(self, k) -> int:
        """Samples missing between the last delivered one and sample ``k``."""
        sim = self.simulation
        if self._last is None:
            return 0
        n_pk = count_missing_packets(
            self._last[0], self._last[1], int(sim.counter[k]), float(sim.timestamps[k]),
            sim.counter_wrap, sim.scenario.faults.packet_size, sim.sfreq,
        )
        return n_pk * sim.scenario.faults.packet_size
