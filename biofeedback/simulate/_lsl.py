"""Publish a scenario as a real LSL stream, with a ground-truth marker stream."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np

from .._logging import logger
from .._threads import BackgroundJob
from ..stream._pylsl import import_pylsl
from ._generator import simulate
from ._scenario import read_scenario
from ._simulation import Simulation

__all__ = ["LSLPublisher"]


class LSLPublisher(BackgroundJob):
    """Push a scenario into an LSL outlet at the pace of the clock.

    The EEG stream carries the delivered samples in µV (lost packets and
    disconnects are simply not pushed), each stamped with its simulated host
    timestamp on the LSL clock (``pylsl.local_clock`` at start + the
    scenario's time, so jitter and drift show). A second, irregular string
    stream ``<name>-truth`` (type "Markers") carries the ground truth:
    "state relaxed ...", "event blink ...", "fault disconnect ...".

    Parameters
    ----------
    scenario : Scenario | path-like | str
        What to publish.
    name : str
        LSL stream name.
    source_id : str | None
        LSL source id (default: name + a random suffix). Inlets recover a
        lost stream by it, so a disconnect that re-creates the outlet keeps it.
    drop_outlet : bool
        If True, a disconnect destroys the outlet and re-creates it after the
        outage (as BLE bridges do); if False the outlet just goes silent.
    counter_channel : bool
        Add a last channel "Counter" (type "MISC") with the packet counter.
    speed : float
        Playback speed (1 = real time).
    chunk_duration : float
        Seconds of data per push.
    wait_for_consumers : float
        Seconds to wait, after :meth:`start`, for an inlet on both streams
        before the scenario's clock starts (0: start at once).

    Examples
    --------
    >>> with LSLPublisher("demo", "sim-eeg") as pub:
    ...     pub.wait()
    """

    def __init__(self, scenario, name: str, *, source_id: str | None = None,
                 drop_outlet: bool = True, counter_channel: bool = False,
                 speed: float = 1.0, chunk_duration: float = 0.05,
                 wait_for_consumers: float = 0.0):
        self.scenario = read_scenario(scenario)
        self.name = str(name)
        self.source_id = source_id or f"{self.name}-{uuid.uuid4().hex[:8]}"
        self.drop_outlet = bool(drop_outlet)
        self.counter_channel = bool(counter_channel)
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}.")
        self.speed = float(speed)
        self.chunk_duration = float(chunk_duration)
        self.wait_for_consumers = float(wait_for_consumers)
        self._ready = threading.Event()
        self._sim: Simulation | None = None
        self._thread = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.t0: float | None = None
        self.n_pushed = 0
        self.outlet = None
        self.marker_outlet = None

    @property
    def simulation(self) -> Simulation:
        if self._sim is None:
            self._sim = simulate(self.scenario)
        return self._sim

    def _make_info(self):
        pylsl = import_pylsl()
        sim = self.simulation
        n_ch = len(sim.ch_names) + (1 if self.counter_channel else 0)
        info = pylsl.StreamInfo(self.name, sim.profile.lsl_type, n_ch, sim.sfreq,
                                pylsl.cf_double64, self.source_id)
        chans = info.desc().append_child("channels")
        for ch in sim.ch_names:
            c = chans.append_child("channel")
            c.append_child_value("label", ch)
            c.append_child_value("unit", "microvolts")
            c.append_child_value("type", "EEG")
        if self.counter_channel:
            c = chans.append_child("channel")
            c.append_child_value("label", "Counter")
            c.append_child_value("type", "MISC")
        desc = info.desc()
        desc.append_child_value("manufacturer", "biofeedback simulator")
        desc.append_child_value("profile", sim.profile.name)
        desc.append_child_value("scenario", self.scenario.name)
        desc.append_child_value("seed", str(self.scenario.seed))
        return info

    def _open_outlet(self):
        pylsl = import_pylsl()
        self.outlet = pylsl.StreamOutlet(self._make_info(), chunk_size=0, max_buffered=60)

    def start(self) -> LSLPublisher:
        """Create the outlets and start pushing in a background thread."""
        pylsl = import_pylsl()
        _ = self.simulation  # generate before the clock starts
        self._open_outlet()
        minfo = pylsl.StreamInfo(f"{self.name}-truth", "Markers", 1, pylsl.IRREGULAR_RATE,
                                 pylsl.cf_string, f"{self.source_id}-truth")
        self.marker_outlet = pylsl.StreamOutlet(minfo)
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="lsl-publisher", daemon=True)
        self._thread.start()
        if not self.wait_for_consumers:
            self._ready.wait()
        return self

    def _start_clock(self):
        pylsl = import_pylsl()
        deadline = time.monotonic() + self.wait_for_consumers
        while time.monotonic() < deadline and not self._stop.is_set():
            if self.outlet.have_consumers() and self.marker_outlet.have_consumers():
                break
            time.sleep(0.01)
        self.t0 = pylsl.local_clock()
        self._ready.set()

    def _run(self):
        try:
            self._start_clock()
            self._push_loop()
        except BaseException as err:  # re-raised to the caller by wait/stop
            self._error = err
            logger.error("LSL publisher failed: %s", err)

    def _push_loop(self):
        pylsl = import_pylsl()
        sim = self.simulation
        keep = sim.delivered
        markers = sim.markers()
        m_i = 0
        n = sim.data.shape[1]
        step = max(1, int(round(self.chunk_duration * sim.sfreq)))
        cursor = 0
        outage = False
        while cursor < n and not self._stop.is_set():
            sim_now = (pylsl.local_clock() - self.t0) * self.speed
            stop = int(np.searchsorted(sim.true_times, sim_now, side="right"))
            stop = min(stop, cursor + 50 * step)
            while m_i < len(markers) and markers[m_i][0] <= sim_now:
                t, text = markers[m_i]
                self.marker_outlet.push_sample([text], self.t0 + t / self.speed)
                m_i += 1
            if stop <= cursor:
                time.sleep(min(self.chunk_duration / self.speed, 0.02))
                continue
            sl = slice(cursor, stop)
            disc = sim.disconnected[sl]
            if self.drop_outlet and disc.any() and not outage:
                outage = True
                self.outlet = None  # the device is gone: inlets lose the stream
                first = cursor + int(np.argmax(disc))
                logger.info("Simulated disconnect at %.2f s", sim.true_times[first])
            idx = np.flatnonzero(keep[sl]) + cursor
            if idx.size and outage:
                outage = False
                self._open_outlet()
                logger.info("Simulated reconnect at %.2f s", sim.true_times[idx[0]])
            if idx.size and self.outlet is not None:
                x = sim.data[:, idx].T * 1e6
                if self.counter_channel:
                    x = np.column_stack([x, sim.counter[idx]])
                ts = self.t0 + sim.timestamps[idx] / self.speed
                self.outlet.push_chunk(np.ascontiguousarray(x), ts.tolist())
                self.n_pushed += idx.size
            cursor = stop
        for t, text in markers[m_i:]:
            if self._stop.is_set():
                break
            self.marker_outlet.push_sample([text], self.t0 + t / self.speed)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the scenario has been published; True if it finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        self._raise()
        return not self.running

    def stop(self) -> None:
        """Stop pushing and destroy the outlets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.outlet = None
        self.marker_outlet = None
        self._raise()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
