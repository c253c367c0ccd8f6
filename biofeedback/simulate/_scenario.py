"""Scenario files: what a simulated headset does, read from TOML.

A scenario names a board profile to imitate, a seed, a timeline of mental
states, a list of events (artifacts) and a set of faults (packet loss, clock
drift, disconnects). See ``docs/scenarios.md`` for the format and the signal
model, and ``pipelines/scenarios/demo.toml`` for an example.

It stays over 400 lines because it is one declaration: the scenario file's
schema, section by section (states, events, faults, the simulated
participant), each with the docstring that documents its keys and the checks
that validate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .._checks import _check_fields
from .._data import data_dir
from .._toml import _where, from_dict, load_toml
from ..errors import PipelineConfigError

__all__ = [
    "STATES",
    "EVENT_KINDS",
    "Background",
    "Segment",
    "Event",
    "Outage",
    "Faults",
    "Participant",
    "Scenario",
    "read_scenario",
    "list_scenarios",
]

#: Scripted states and what each does to the spectrum, at level 1.
#: Multipliers of the *amplitude* of each rhythm, by region ("posterior" =
#: temporal/parietal/occipital channels, "frontal", "left_frontal",
#: "right_frontal"). Power scales with the square. Levels in between
#: interpolate on a log scale: gain = mult ** level.
STATES = {
    # eyes-closed-like relaxation: posterior alpha up strongly, frontal alpha
    # up less, beta slightly down (Klimesch 1999; Barry et al. 2007).
    "relaxed": {
        "alpha": {"posterior": 3.0, "frontal": 1.8},
        "beta": {"posterior": 0.8, "frontal": 0.8},
    },
    # task engagement: beta up, alpha and theta down, so that
    # beta / (alpha + theta) rises (Pope et al. 1995).
    "engaged": {
        "alpha": {"posterior": 0.45, "frontal": 0.5},
        "theta": {"posterior": 0.7, "frontal": 0.7},
        "beta": {"posterior": 2.2, "frontal": 2.2},
    },
    # approach motivation: relatively more left-frontal activity, i.e. less
    # left-frontal alpha than right, so ln(right) - ln(left) alpha > 0
    # (Coan & Allen 2004).
    "approach": {
        "alpha": {"left_frontal": 0.55, "right_frontal": 1.5},
    },
    # withdrawal motivation: the mirror image (ln(right) - ln(left) alpha < 0).
    "withdrawal": {
        "alpha": {"left_frontal": 1.5, "right_frontal": 0.55},
    },
    # drowsiness: theta up, beta down (a source of theta/beta changes).
    "drowsy": {
        "theta": {"posterior": 2.0, "frontal": 2.0},
        "beta": {"posterior": 0.7, "frontal": 0.7},
    },
}

#: Event kinds and their default amplitude (µV), duration (s) and channels.
EVENT_KINDS = {
    "blink": (150.0, 0.3, "frontal"),
    "clench": (40.0, 1.0, "temporal"),
    "line_noise": (30.0, 10.0, "all"),
    "pop": (300.0, 1.0, "first"),
    "railed": (0.0, 5.0, "first"),
    "flat": (0.0, 5.0, "first"),
}


@dataclass(frozen=True)
class Background:
    """The resting signal every state modulates.

    ``exponent`` is beta in a 1/f^beta power spectrum; ``amplitude_uv`` the
    RMS of that background (1-45 Hz); ``noise_uv`` the RMS of white sensor
    noise; ``alpha_hz``/``theta_hz``/``beta_hz`` the peak frequencies and
    ``*_uv`` the RMS of each rhythm at level 0 of every state (neutral).
    """

    exponent: float = 1.0
    amplitude_uv: float = 8.0
    noise_uv: float = 1.0
    alpha_hz: float = 10.0
    alpha_uv: float = 5.0
    theta_hz: float = 6.0
    theta_uv: float = 3.0
    beta_hz: float = 20.0
    beta_uv: float = 2.0
    dc_uv: float = 0.0

    def _validate(self):
        if not 0 <= self.exponent <= 3:
            raise ValueError(f"exponent must be within 0-3, got {self.exponent}.")
        _check_fields(self, ("amplitude_uv", "noise_uv", "alpha_uv", "theta_uv", "beta_uv"),
                      lambda v: v >= 0, ">= 0")
        _check_fields(self, ("alpha_hz", "theta_hz", "beta_hz"), lambda v: v > 0, "> 0")


@dataclass(frozen=True)
class Segment:
    """From ``at`` seconds, ramp over ``ramp`` seconds to ``state`` at ``level``.

    Every other state ramps to 0 at the same time; "neutral" sets all to 0.
    """

    at: float
    state: str
    level: float = 1.0
    ramp: float = 2.0

    def _validate(self):
        if self.state != "neutral" and self.state not in STATES:
            raise ValueError(
                f"unknown state {self.state!r}; known states are "
                f"{', '.join(['neutral', *STATES])}."
            )
        if not 0 <= self.level <= 1:
            raise ValueError(f"level must be within 0-1, got {self.level}.")
        if self.at < 0 or self.ramp < 0:
            raise ValueError("at and ramp must be >= 0.")


@dataclass(frozen=True)
class Event:
    """An artifact: ``kind`` at ``at`` seconds for ``duration`` seconds.

    ``every``/``count`` repeat it (``count`` times, ``every`` seconds apart).
    ``channels`` defaults to the kind's usual place (blinks: frontal; clench:
    temporal; others: all or the first channel). ``amplitude_uv`` and
    ``duration`` default per kind; ``freq`` is the line frequency (defaults to
    the board's mains).
    """

    kind: str
    at: float
    duration: float | None = None
    amplitude_uv: float | None = None
    channels: tuple[str, ...] | None = None
    freq: float | None = None
    every: float = 0.0
    count: int = 1

    def _validate(self):
        if self.kind not in EVENT_KINDS:
            raise ValueError(
                f"unknown event kind {self.kind!r}; known kinds are "
                f"{', '.join(EVENT_KINDS)}."
            )
        if self.at < 0:
            raise ValueError(f"at must be >= 0, got {self.at}.")
        if self.duration is not None and self.duration <= 0:
            raise ValueError(f"duration must be > 0, got {self.duration}.")
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}.")
        if self.count > 1 and self.every <= 0:
            raise ValueError("count > 1 needs every > 0 (seconds between repeats).")

    @property
    def default_duration(self) -> float:
        return EVENT_KINDS[self.kind][1] if self.duration is None else self.duration


@dataclass(frozen=True)
class Outage:
    """A stretch with no data: ``at`` seconds, lasting ``duration`` seconds."""

    at: float
    duration: float

    def _validate(self):
        if self.at < 0 or self.duration <= 0:
            raise ValueError("at must be >= 0 and duration > 0.")


@dataclass(frozen=True)
class Faults:
    """What goes wrong between the headset and the host.

    Parameters
    ----------
    packet_size : int
        Samples per packet (Muse: 12, Cyton: 1). Loss happens per packet.
    counter_wrap : int
        Modulus of the packet counter (0: the board profile's, or 65536 when
        the profile has none).
    packet_loss : float
        Probability that a packet is lost, independently (0-0.5).
    loss_bursts : list of Outage
        Stretches where every packet is lost (the counter shows the gap).
    jitter_ms : float
        Standard deviation of the timestamp jitter (host stamping), ms; per
        packet, clipped to under half a sample period so timestamps keep
        increasing.
    drift_ppm : float
        Device clock rate error relative to the host clock, parts per million.
    clock_offset : float
        Device clock minus host clock at the start, seconds.
    srate_ppm : float
        True sampling rate minus nominal, parts per million of nominal.
    disconnects : list of Outage
        The device is gone: nothing arrives, the source reports it.
    """

    packet_size: int = 1
    counter_wrap: int = 0
    packet_loss: float = 0.0
    loss_bursts: tuple[Outage, ...] = ()
    jitter_ms: float = 0.0
    drift_ppm: float = 0.0
    clock_offset: float = 0.0
    srate_ppm: float = 0.0
    disconnects: tuple[Outage, ...] = ()

    def _validate(self):
        if self.packet_size < 1:
            raise ValueError(f"packet_size must be >= 1, got {self.packet_size}.")
        if self.counter_wrap < 0:
            raise ValueError(f"counter_wrap must be >= 0, got {self.counter_wrap}.")
        if not 0 <= self.packet_loss <= 0.5:
            raise ValueError(f"packet_loss must be within 0-0.5, got {self.packet_loss}.")
        if self.jitter_ms < 0:
            raise ValueError(f"jitter_ms must be >= 0, got {self.jitter_ms}.")
        if abs(self.drift_ppm) > 1e4 or abs(self.srate_ppm) > 1e4:
            raise ValueError("drift_ppm and srate_ppm must be within +/-10000.")


@dataclass(frozen=True)
class Participant:
    """A person in a training programme: how well they control a state.

    ``biofeedback simulate SCENARIO --participant ID --sessions N`` runs the
    pipeline's protocol N times. In session ``k`` (1, 2, ...) the person
    rests at ``rest`` in baseline blocks and, in the ``j``-th of ``J``
    training blocks, brings ``state`` to::

        level = start + per_session * (k - 1) + within * j / (J - 1) + e_k

    clipped to [0, ``ceiling``], with ``e_k`` normal with SD ``noise``
    (drawn from the scenario's seed, once per session). Transfer blocks
    (no feedback) reach ``transfer`` times that level. A learner has
    ``per_session > 0``; a non-learner ``per_session = 0``. The scenario's
    own ``timeline`` is replaced by this one; its events and faults stay.
    """

    state: str = "engaged"
    rest: float = 0.0
    start: float = 0.1
    per_session: float = 0.0
    within: float = 0.0
    transfer: float = 0.8
    ceiling: float = 1.0
    noise: float = 0.0
    ramp: float = 3.0

    def _validate(self):
        if self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}; known states are "
                             f"{', '.join(STATES)}.")
        _check_fields(self, ("rest", "start", "ceiling", "transfer"), lambda v: 0 <= v <= 1,
                      "within 0-1")
        if self.noise < 0 or self.ramp < 0:
            raise ValueError("noise and ramp must be >= 0.")

    def level(self, session: int, position: float, seed: int) -> float:
        """Level reached in session ``session`` (1-based) at ``position`` (0-1) of it."""
        import numpy as np

        e = np.random.default_rng([seed, 11, session]).normal(0.0, self.noise) \
            if self.noise else 0.0
        lv = self.start + self.per_session * (session - 1) + self.within * position + e
        return float(min(max(lv, 0.0), self.ceiling))


@dataclass(frozen=True)
class Scenario:
    """A scripted headset session.

    Parameters
    ----------
    name : str
        Short name.
    board : str
        Board profile to imitate (``biofeedback boards``): channels, rate,
        rail, mains frequency.
    duration : float
        Length in seconds (of the host clock).
    seed : int
        Same scenario and seed, same data, every time.
    timeline : list of Segment
        State changes, sorted by ``at``.
    events : list of Event
        Artifacts.
    faults : Faults
        Transport faults.
    background : Background
        Resting spectrum.
    participant : Participant | None
        A person being trained over sessions (``[participant]``).
    """

    name: str
    board: str
    duration: float
    seed: int = 0
    description: str = ""
    timeline: tuple[Segment, ...] = ()
    events: tuple[Event, ...] = ()
    faults: Faults = field(default_factory=Faults)
    background: Background = field(default_factory=Background)
    participant: Participant | None = None
    fname: str = field(default="", compare=False)

    def _validate(self):
        if self.duration <= 0:
            raise ValueError(f"duration must be > 0, got {self.duration}.")
        if self.duration > 6 * 3600:
            raise ValueError(f"duration must be at most 6 h, got {self.duration} s.")
        ats = [s.at for s in self.timeline]
        if ats != sorted(ats):
            raise ValueError("timeline segments must be sorted by 'at'.")
        for i, ev in enumerate(self.events):
            if ev.at >= self.duration:
                raise ValueError(
                    f"events #{i + 1} ({ev.kind}) starts at {ev.at} s, after the end "
                    f"({self.duration} s)."
                )

    @property
    def states(self) -> list[str]:
        """States the timeline uses, in first-use order (not "neutral")."""
        out = []
        for seg in self.timeline:
            if seg.state != "neutral" and seg.state not in out:
                out.append(seg.state)
        return out

    @property
    def profile(self):
        """The imitated :class:`~biofeedback.hardware.BoardProfile`."""
        from ..hardware import get_profile

        return get_profile(self.board)


def list_scenarios() -> dict[str, Path]:
    """Shipped scenarios by name (``pipelines/scenarios/*.toml``)."""
    return {p.stem: p for p in sorted((data_dir("pipelines") / "scenarios").glob("*.toml"))}


def read_scenario(fname) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    fname : path-like | str
        A ``.toml`` file, or the name of a shipped scenario ("demo").

    Returns
    -------
    scenario : Scenario

    Raises
    ------
    PipelineConfigError
        Naming the file and the field at fault.
    """
    if isinstance(fname, Scenario):
        return fname
    path = Path(fname)
    if not path.suffix and not path.exists():
        shipped = list_scenarios()
        if str(fname) not in shipped:
            raise PipelineConfigError(
                f"Unknown scenario {str(fname)!r}; shipped scenarios are "
                f"{', '.join(shipped)} (or give a .toml path)."
            )
        path = shipped[str(fname)]
    data = load_toml(path)
    where = str(path)
    for key in ("timeline", "events"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise PipelineConfigError(
                f"{where} {key} must be an array of tables ([[{key}]]), got {value!r}."
            )
    data.setdefault("name", path.stem)
    data["fname"] = where
    scen = from_dict(Scenario, data, where)  # arrays of tables say which entry
    try:
        scen._validate()
    except ValueError as err:
        raise PipelineConfigError(f"{where}: {err}") from None
    # the board must exist and events must name its channels
    try:
        profile = scen.profile
    except PipelineConfigError as err:
        raise PipelineConfigError(f"{where} board: {err}") from None
    if not profile.sfreq or not profile.ch_names:
        raise PipelineConfigError(
            f"{where} board: {scen.board!r} has no fixed channels and rate; "
            "pick a headset profile (muse_2, cyton, ...)."
        )
    for i, ev in enumerate(scen.events):
        for ch in ev.channels or ():
            if ch not in profile.ch_names:
                raise PipelineConfigError(
                    f"{_where(path, f'events #{i + 1}', 'channels')}: "
                    f"{ch!r} is not a channel of "
                    f"{profile.name} ({', '.join(profile.ch_names)})."
                )
    return scen
