"""What a simulated scenario gives: samples, packet counters, truth and faults.

:class:`Simulation` holds everything on the device's sample grid and turns
it into the truth table, the truth markers, the clock offsets LSL would
measure, and a :class:`~biofeedback.io.Recording` of the delivered samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._markers import EVENT, FAULT, GAP_END, GAP_START, STATE
from ._scenario import Scenario

__all__ = ["ScriptedEvent", "Simulation"]


@dataclass
class ScriptedEvent:
    """One event as it happens: kind, onset and duration (s), channels."""

    kind: str
    onset: float
    duration: float
    channels: list
    amplitude_uv: float = 0.0
    freq: float | None = None

    @property
    def marker(self) -> str:
        return (
            f"{EVENT} {self.kind} channels={','.join(self.channels)} "
            f"duration={self.duration:.3f}"
        )


@dataclass
class Simulation:
    """Everything a scenario produces, on the device's sample grid.

    Times are seconds from the start of the session on the host clock (add
    ``t0`` to place them on a session clock). Samples that never reach the
    host (lost packets, disconnects) are kept here with ``delivered`` False.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_samples)
        EEG in volts, every sample the device acquired.
    true_times : ndarray, shape (n_samples,)
        When each sample was acquired (host clock, true rate).
    timestamps : ndarray, shape (n_samples,)
        What the host stamps on each sample: device clock (offset, drift)
        plus per-packet jitter.
    counter : ndarray of int64, shape (n_samples,)
        Packet counter of each sample's packet (wraps at ``counter_wrap``).
    lost : ndarray of bool
        Samples of lost packets (outside disconnects).
    disconnected : ndarray of bool
        Samples acquired while the device was disconnected.
    levels : ndarray, shape (n_states, n_samples)
        Scripted level (0-1) of each state in ``state_names``.
    events : list of ScriptedEvent
        Artifacts, faults ("disconnect", "loss_burst") included.
    """

    scenario: Scenario
    profile: object
    ch_names: list
    sfreq: float
    data: np.ndarray
    true_times: np.ndarray
    timestamps: np.ndarray
    counter: np.ndarray
    packet: np.ndarray
    counter_wrap: int
    lost: np.ndarray
    disconnected: np.ndarray
    state_names: list
    levels: np.ndarray
    events: list = field(default_factory=list)

    @property
    def delivered(self) -> np.ndarray:
        """Samples that reach the host."""
        return ~(self.lost | self.disconnected)

    @property
    def n_lost(self) -> int:
        """Samples lost to packet loss (disconnects excluded)."""
        return int(self.lost.sum())

    # -- the truth ---------------------------------------------------------------
    def level_at(self, times) -> np.ndarray:
        """State levels at host-clock ``times`` (n_states, n_times)."""
        times = np.asarray(times, dtype=float)
        return np.array([np.interp(times, self.true_times, lv) for lv in self.levels])

    def events_at(self, t: float) -> list[str]:
        """Kinds of events active at host-clock time ``t``."""
        return sorted({e.kind for e in self.events if e.onset <= t < e.onset + e.duration})

    def truth_table(self, step: float = 0.1, t0: float = 0.0) -> dict:
        """One row per ``step`` seconds: time, level of each state, events.

        Returns
        -------
        truth : dict
            ``"time"`` (ndarray, host clock + ``t0``), one ndarray per state
            name, and ``"events"`` (list of ";"-joined event kinds).
        """
        times = np.arange(0.0, self.scenario.duration + 1e-9, step)
        out = {"time": times + t0}
        for name, lv in zip(self.state_names, self.level_at(times)):
            out[name] = lv
        out["events"] = [";".join(self.events_at(t)) for t in times]
        return out

    def markers(self, t0: float = 0.0) -> list[tuple[float, str]]:
        """Ground truth as (time, text) markers, sorted by time.

        "state NAME level=L ramp=R" at each timeline change, "event KIND
        channels=... duration=D" at each artifact's onset, "fault disconnect
        duration=D" and "fault loss_burst duration=D" at each outage.
        """
        out = []
        for seg in self.scenario.timeline:
            out.append((seg.at, f"{STATE} {seg.state} level={seg.level:g} ramp={seg.ramp:g}"))
        for ev in self.events:
            if ev.kind in ("disconnect", "loss_burst"):
                out.append((ev.onset, f"{FAULT} {ev.kind} duration={ev.duration:.3f}"))
            else:
                out.append((ev.onset, ev.marker))
        out.sort(key=lambda m: m[0])
        return [(t + t0, s) for t, s in out]

    def clock_offsets(self, interval: float = 5.0, noise_ms: float = 0.1, t0: float = 0.0):
        """What LSL's ``time_correction()`` would measure for this device.

        Host time minus device time, every ``interval`` seconds, with Gaussian
        measurement noise of ``noise_ms``; adding it to a device timestamp
        gives host time.

        Returns
        -------
        host_times, offsets : ndarray
        """
        f = self.scenario.faults
        times = np.arange(0.0, self.scenario.duration, interval)
        rng = np.random.default_rng([self.scenario.seed, 7])
        offsets = -(f.clock_offset + times * f.drift_ppm * 1e-6)
        offsets = offsets + rng.normal(0.0, noise_ms * 1e-3, times.size)
        return times + t0, offsets

    def _clock_provenance(self, t0: float) -> dict:
        """Clock offsets an XDF writer keeps, when the device clock is off."""
        f = self.scenario.faults
        if not (f.drift_ppm or f.clock_offset):
            return {}
        host, offsets = self.clock_offsets(interval=5.0, t0=t0)
        # LSL measures at host times, stamped on the device's clock
        return {"clock_offsets": {"times": (host - offsets).tolist(),
                                  "values": offsets.tolist()}}

    def to_recording(self, t0: float = 0.0):
        """The delivered samples as a :class:`~biofeedback.io.Recording`.

        Ground truth becomes markers; lost packets and disconnects become
        gaps counted from the packet counter (a disconnect still on at the
        end counts to the end, as a live session counts it).
        """
        from ..io import Gap, Recording

        keep = self.delivered
        idx = np.flatnonzero(keep)
        ts = self.timestamps[idx] + t0
        gaps, bounds = [], []
        if idx.size > 1:
            for j in np.flatnonzero(np.diff(idx) > 1):
                a, b = idx[j], idx[j + 1]
                bounds.append((a, b))
                outage = bool(self.disconnected[a + 1 : b].any())
                gaps.append(
                    Gap(
                        onset=float(ts[j]),
                        duration=float(ts[j + 1] - ts[j] - 1.0 / self.sfreq),
                        n_missing=int(b - a - 1),
                        source="marker" if outage else "packet_counter",
                    )
                )
        n_after = keep.size - 1 - idx[-1] if idx.size else 0
        if n_after and self.disconnected[idx[-1] + 1 :].any():
            # an outage still on at the end: counted to the end, as a live session
            # counts a stream still lost when it ends (packets lost at the very end
            # leave no trace in the counter, live or here)
            bounds.append((idx[-1], keep.size))
            gaps.append(Gap(onset=float(ts[-1]), duration=n_after / self.sfreq,
                            n_missing=int(n_after), source="marker"))
        # outages are announced the way a live session announces them, so
        # readers tag the gap as a lost stream, not as dropped packets
        markers = list(self.markers(t0))
        for g, (a, b) in zip(gaps, bounds):
            if g.source == "marker":  # on the host clock, as the truth markers
                markers.append((t0 + self.true_times[a], GAP_START))
                end = (self.true_times[b] if b < keep.size
                       else self.true_times[-1] + 1.0 / self.sfreq)
                markers.append((t0 + end - 1.0 / self.sfreq,
                                f"{GAP_END} duration={g.duration:.3f} n={g.n_missing}"))
        markers.sort(key=lambda m: m[0])
        return Recording(
            data=self.data[:, idx],
            sfreq=self.sfreq,
            ch_names=self.ch_names,
            timestamps=ts,
            markers=markers,
            gaps=gaps,
            source_format="simulated",
            provenance={
                "scenario": self.scenario.name,
                "scenario_file": self.scenario.fname,
                "seed": self.scenario.seed,
                "n_lost": self.n_lost,
                **self._clock_provenance(t0),
            },
            profile=self.profile.name,
        )
