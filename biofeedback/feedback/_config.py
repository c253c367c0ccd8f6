"""The ``[feedback]`` section of a pipeline: protocol, cue policy and cue sinks.

One frozen dataclass per concern, read by :func:`biofeedback.config.load_pipeline`
(unknown keys are errors naming the file and key). ``docs/feedback.md`` explains
every field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._checks import _check_fields, _check_option

__all__ = ["BlockConfig", "OscConfig", "AudioConfig", "FeedbackConfig", "CUE_SINKS",
           "BLOCK_KINDS", "THRESHOLD_STARTS"]

#: cue sinks a pipeline may name in ``[feedback] sinks``
CUE_SINKS = ("terminal", "lsl", "audio", "osc")

#: protocol block kinds (``[[feedback.blocks]] kind``)
BLOCK_KINDS = ("baseline", "calibration", "training", "transfer")

#: where a session's first threshold comes from (``[feedback] threshold_start``)
THRESHOLD_STARTS = ("baseline", "carry")


@dataclass(frozen=True)
class BlockConfig:
    """One block of a session protocol (``[[feedback.blocks]]``).

    ``kind`` is "baseline" (no feedback; the person's own distribution of
    every estimate is collected, and thresholds are set from it),
    "calibration" (a baseline that guides the person into one ``state``, a
    class of the model: a calibrated model is centred on the windows of the
    blocks before feedback, and validation replays them from recordings of
    that state),
    "training" (cues on ``target`` in ``direction``; both default to the
    ``[feedback]`` values) or "transfer" (as training, but the cues are only
    computed and recorded, never shown or sounded, and the threshold holds
    still: does the regulation last without feedback?). ``duration`` is in
    seconds; ``instructions`` are announced when the block starts (terminal
    and markers).
    """

    name: str = ""
    kind: str = "training"
    duration: float = 30.0
    target: str = ""
    direction: str = ""
    instructions: str = ""
    state: str = ""

    def _validate(self):
        if not self.name:
            raise ValueError("every block needs a name.")
        _check_option("kind", self.kind, BLOCK_KINDS)
        if self.kind == "calibration" and not self.state:
            raise ValueError(f"calibration block {self.name!r} needs the state it asks for "
                             "(state = \"relaxed\", a class of the model).")
        if self.direction:
            _check_option("direction", self.direction, ("up", "down"))
        if not self.duration > 0:
            raise ValueError(f"block {self.name!r}: duration must be positive, got "
                             f"{self.duration}.")


@dataclass(frozen=True)
class OscConfig:
    """Where OSC cue messages go (UDP, never waits for an answer).

    Messages: ``<prefix>/score`` (0-1), ``<prefix>/cue`` (state string),
    ``<prefix>/value``, ``<prefix>/threshold`` and ``<prefix>/block``.
    """

    host: str = "127.0.0.1"
    port: int = 9000
    prefix: str = "/biofeedback"

    def _validate(self):
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}.")
        if not self.prefix.startswith("/"):
            raise ValueError(f"prefix must start with '/', got {self.prefix!r}.")


@dataclass(frozen=True)
class AudioConfig:
    """A tone whose pitch follows the score, louder while rewarded.

    ``wav``: "" (no file), "auto" (``<recording>.cues.wav`` beside the
    recording) or a path. ``live``: also play through a sound card when an
    audio output library is installed (otherwise a warning, never a crash).
    """

    wav: str = ""
    live: bool = True
    low_hz: float = 220.0
    high_hz: float = 880.0
    volume: float = 0.3
    reward_volume: float = 1.0
    no_reward_volume: float = 0.25
    sfreq: int = 22050

    def _validate(self):
        if not 0 < self.low_hz < self.high_hz < self.sfreq / 2:
            raise ValueError("need 0 < low_hz < high_hz < sfreq / 2.")
        if not 0 <= self.volume <= 1:
            raise ValueError(f"volume must be in [0, 1], got {self.volume}.")


@dataclass(frozen=True)
class FeedbackConfig:
    """Cue policy, protocol and cue sinks (the ``[feedback]`` section).

    Thresholds come from the person's own baseline: for ``direction = "up"``
    the threshold starts at the baseline percentile ``100 * (1 -
    reward_rate)``, so the person would have been rewarded ``reward_rate`` of
    the baseline time; during training it moves by ``adapt_speed`` times the
    recent spread (the larger of the baseline SD and a 10 s running mean of
    |value - threshold|) per second per unit of reward-rate error, so the
    reward rate stays near ``reward_rate`` (time constant about
    1 / (adapt_speed * 0.35) s, 14 s at the default 0.2). The estimate is smoothed with an
    exponential moving average of time constant ``smoothing`` seconds; the cue
    switches on ``hysteresis``/2 standard deviations above the threshold and
    off that far below, and holds each state at least ``dwell`` seconds.
    Artifact-gated windows pause feedback. ``min_baseline`` is the clean
    baseline time (s) needed; with less, the first ``min_baseline`` seconds of
    training calibrate the threshold (no cues). ``end`` says what happens
    after the last block: "stop" the session, or "continue" the last block.
    ``threshold_start`` is "baseline" (each session's threshold comes from its
    own baseline) or "carry" (a participant's session starts from the final
    threshold and scale of their latest session on the same headset with
    estimates computed alike, when there is one; the baseline block is still
    recorded, as the reference of the session).
    """

    target: str = "engagement"
    direction: str = "up"
    reward_rate: float = 0.65
    smoothing: float = 1.0
    hysteresis: float = 0.3
    dwell: float = 1.0
    adapt: bool = True
    adapt_speed: float = 0.2
    min_baseline: float = 5.0
    end: str = "stop"
    threshold_start: str = "baseline"
    sinks: tuple[str, ...] = ("terminal", "lsl")
    blocks: tuple[BlockConfig, ...] = ()
    osc: OscConfig = field(default_factory=OscConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)

    def _validate(self):
        _check_option("direction", self.direction, ("up", "down"))
        _check_option("end", self.end, ("stop", "continue"))
        _check_option("threshold_start", self.threshold_start, THRESHOLD_STARTS)
        for name in self.sinks:
            _check_option("sinks", name, CUE_SINKS)
        if not 0 < self.reward_rate < 1:
            raise ValueError(f"reward_rate must be between 0 and 1, got {self.reward_rate}.")
        _check_fields(self, ("smoothing", "hysteresis", "dwell", "adapt_speed", "min_baseline"),
                      lambda v: v >= 0, ">= 0")
        names = [b.name for b in self.blocks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"block names must be unique; {dup[0]!r} is used twice.")

    @property
    def enabled(self) -> bool:
        """True when the pipeline describes a protocol (at least one block)."""
        return bool(self.blocks)

    def block_target(self, block: BlockConfig) -> tuple[str, str]:
        """(target, direction) a block trains, with the section's defaults."""
        return block.target or self.target, block.direction or self.direction
