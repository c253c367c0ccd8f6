"""Pipeline configuration: one frozen dataclass per concern, read from TOML.

A pipeline file (``pipelines/default.toml``) says how a session processes data:
window length and hop, filters, features and indices, artifact gates,
recording and feedback. Unknown keys are errors that name the file and key.

It stays over 400 lines because it is one declaration: every section of the
pipeline file with the docstring that documents its keys and the checks that
validate them (against the file, and against the data's rate in
:func:`check_rate`); the ``[feedback]`` section lives in
:mod:`biofeedback.feedback._config`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from ._checks import _check_fields, _check_option
from ._data import data_dir
from ._toml import _where, from_dict, load_toml
from .errors import PipelineConfigError, StreamError
from .feedback._config import FeedbackConfig

__all__ = [
    "WindowConfig",
    "PreprocessingConfig",
    "FeaturesConfig",
    "GatesConfig",
    "RecordingConfig",
    "PipelineConfig",
    "load_pipeline",
    "default_pipeline_path",
    "check_rate",
    "field_name",
]


#: The longest window, and the longest span a bad electrode is judged over, in
#: seconds: buffers are sized by them (10¹² s would need petabytes).
MAX_WINDOW = 600.0
MAX_BAD_CHANNEL_AFTER = 3600.0


@dataclass(frozen=True)
class WindowConfig:
    """Sliding windows: ``length`` and ``hop`` in seconds."""

    length: float = 2.0
    hop: float = 0.5

    def _validate(self):
        if self.length <= 0 or self.hop <= 0:
            raise ValueError("length and hop must be positive.")
        if self.length > MAX_WINDOW:  # buffers and the warm-up are sized by it
            raise ValueError(f"length ({self.length:g} s) is longer than the "
                             f"{MAX_WINDOW:g} s a window may last.")
        if self.hop > self.length:
            raise ValueError(f"hop ({self.hop} s) is longer than length ({self.length} s).")


@dataclass(frozen=True)
class PreprocessingConfig:
    """Causal filters applied sample by sample before windowing.

    ``highpass``/``lowpass`` in Hz (0 turns one off), Butterworth of ``order``
    as second-order sections; the high-pass is also the DC removal (its state
    starts in steady state on the first sample, so an offset does not ring).
    ``notch`` is "auto" (the profile's mains frequency), "off", or a frequency
    in Hz, with quality factor ``notch_q``. ``reference`` is "none",
    "average" (common average) or "mastoids" (subtract the mean of
    ``reference_channels``, e.g. ["TP9", "TP10"] on a Muse). ``gap_reset`` is
    the timestamp jump (s) after which filters and windows restart rather
    than bridging a gap.
    """

    highpass: float = 1.0
    lowpass: float = 45.0
    order: int = 4
    notch: str | float = "auto"
    notch_q: float = 30.0
    reference: str = "none"
    reference_channels: tuple[str, ...] = ()
    gap_reset: float = 0.25

    def _validate(self):
        if isinstance(self.notch, str):
            _check_option("notch", self.notch, ("auto", "off"))
        elif self.notch <= 0:
            raise ValueError(f"notch must be positive, got {self.notch}.")
        _check_option("reference", self.reference, ("none", "average", "mastoids"))
        if self.reference == "mastoids" and not self.reference_channels:
            raise ValueError(
                'reference = "mastoids" needs reference_channels, e.g. ["TP9", "TP10"].'
            )
        if self.order < 1 or self.order > 8:
            raise ValueError(f"order must be 1 to 8, got {self.order}.")
        if self.highpass < 0 or self.lowpass < 0:
            raise ValueError("highpass and lowpass must be >= 0 (0 turns one off).")
        if self.highpass and self.lowpass and self.highpass >= self.lowpass:
            raise ValueError(
                f"highpass ({self.highpass} Hz) must be below lowpass ({self.lowpass} Hz)."
            )
        if self.notch_q <= 0:
            raise ValueError(f"notch_q must be positive, got {self.notch_q}.")
        if self.gap_reset <= 0:
            raise ValueError(f"gap_reset must be positive, got {self.gap_reset}.")


_DEFAULT_BANDS = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


@dataclass(frozen=True)
class FeaturesConfig:
    """What is computed on each window (see ``docs/features.md``).

    ``names`` are registered features (the classifier's input vector);
    ``indices`` are registered state indices (the estimates shown and cued);
    ``bands`` maps band names to [low, high) edges in Hz. The Welch PSD uses
    ``welch_window`` ("hann" or "hamming") segments of ``welch_segment``
    seconds overlapping by ``welch_overlap`` (fraction), mean removed per
    segment, one-sided density in V²/Hz; a band's power is the PSD summed over
    the bins in [low, high) times the bin width (V²). ``spectral_range`` is
    the [low, high) range of total power (relative powers, ``alpha_rel``) and
    spectral entropy (None: from the lowest to the highest band edge).
    ``index_bands`` adds bands only indices use (e.g. ``high_beta``).
    ``index_channels`` maps an index name to the channels it may use
    (default: all clean channels; ``faa`` takes [left, right] and defaults to
    the board profile's frontal pair). ``index_span`` maps an index name to
    seconds over which the engine averages it causally: the mean of its
    finite values (its channels clean) in the windows ending within the last
    this-many seconds (for ``faa``, the mean of ln alpha right minus the mean
    of ln alpha left over those epochs, as Allen et al. 2004 average many 2 s
    epochs; default 8 s); indices not named are each window's own.
    """

    names: tuple[str, ...] = ("log_band_power",)
    indices: tuple[str, ...] = ("engagement", "arousal", "alpha_rel", "theta_beta", "faa")
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(_DEFAULT_BANDS))
    welch_segment: float = 1.0
    welch_overlap: float = 0.5
    welch_window: str = "hann"
    spectral_range: tuple[float, float] | None = (1.0, 45.0)
    index_bands: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"high_beta": (20.0, 30.0)}
    )
    index_channels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    index_span: dict[str, float] = field(default_factory=lambda: {"faa": 8.0})

    def _validate(self):
        for name, span in self.index_span.items():
            if not (isinstance(span, (int, float)) and math.isfinite(span) and span >= 0):
                raise ValueError(f"index_span.{name} must be 0 or more seconds, got {span!r}.")
        if not self.bands:
            raise ValueError("bands is empty.")
        for name, (lo, hi) in {**self.bands, **self.index_bands}.items():
            if not 0 <= lo < hi:
                raise ValueError(f"band {name!r} has edges {lo}-{hi} Hz; need 0 <= low < high.")
        lo, hi = self.spectral_range or (0.0, math.inf)
        if not 0 <= lo < hi:
            raise ValueError(f"spectral_range {lo}-{hi} Hz; need 0 <= low < high.")
        if not 0 <= self.welch_overlap < 1:
            raise ValueError("welch_overlap must be in [0, 1).")
        if self.welch_segment <= 0:
            raise ValueError("welch_segment must be positive.")
        _check_option("welch_window", self.welch_window, ("hann", "hamming"))
        if "faa" in self.index_channels and len(self.index_channels["faa"]) != 2:
            raise ValueError("index_channels.faa must name two channels: [left, right].")


@dataclass(frozen=True)
class GatesConfig:
    """Artifact and quality gates (per channel, per window; ``docs/features.md``).

    Amplitudes are µV. ``rail_fraction``/``near_rail_fraction``: OpenBCI GUI
    calls a channel railed above 90 % and near-railed above 75 % of full scale
    (the profile's ``rail_uv``), checked on the raw window. ``flat_uv``: raw
    standard deviation below it is a flat (disconnected or saturated) channel.
    ``max_ptp_uv``: filtered peak-to-peak above it gates the window (100 µV is
    a common rejection level on Muse; 150 µV on the 1-45 Hz filtered signal
    keeps clean Muse windows). ``line_noise_ratio``: raw power within ±1 Hz of
    the mains frequency over filtered power in ``eeg_range``; above it the
    channel is line-noise dominated (poor contact). ``blink_uv``: peak-to-peak
    of the filtered signal smoothed over ``blink_smooth`` s, on frontal
    channels (Fp*, AF*, F* and the frontal pair); better set per person with
    ``QualityGate.calibrate``. ``muscle_ratio``: mean PSD (per Hz) in ``muscle_high`` over
    mean PSD in ``muscle_low`` of the filtered signal. EEG falls as 1/f (about
    0.1-0.4), white noise is flat (1.0) and muscle (EMG) rises towards 50-150 Hz,
    so a spectrum that rises by half (1.5) is called muscle.
    ``min_clean_fraction``: fewer usable channels than this gates the window.
    ``bad_channel_after``: a channel whose amplitude, blink or muscle flags
    were set in at least 80 % of the windows of the last this-many seconds is a
    bad electrode, not an artifact: it is flagged ``bad`` and left out of the
    indices like a railed channel, and the window is gated by it no more
    (blinks and clenches last well under 10 s; 0 turns this off). It is good
    again when that share falls under 50 %.
    """

    rail_fraction: float = 0.9
    near_rail_fraction: float = 0.75
    max_ptp_uv: float = 150.0
    flat_uv: float = 0.1
    line_noise_ratio: float = 1.0
    eeg_range: tuple[float, float] = (1.0, 45.0)
    blink_uv: float = 100.0
    blink_smooth: float = 0.1
    muscle_ratio: float = 1.5
    muscle_high: tuple[float, float] = (20.0, 45.0)
    muscle_low: tuple[float, float] = (4.0, 20.0)
    min_clean_fraction: float = 0.5
    bad_channel_after: float = 10.0

    def _validate(self):
        if self.flat_uv < 0:
            raise ValueError(f"flat_uv must be >= 0, got {self.flat_uv}.")
        if not 0 <= self.bad_channel_after <= MAX_BAD_CHANNEL_AFTER:
            raise ValueError(f"bad_channel_after must be 0 (off) to {MAX_BAD_CHANNEL_AFTER:g} "
                             f"seconds, got {self.bad_channel_after:g}.")
        if not 0 < self.near_rail_fraction <= self.rail_fraction <= 1:
            raise ValueError("need 0 < near_rail_fraction <= rail_fraction <= 1.")
        _check_fields(self, ("max_ptp_uv", "line_noise_ratio", "blink_uv", "blink_smooth",
                             "muscle_ratio"), lambda v: v > 0, "positive")
        for name in ("eeg_range", "muscle_high", "muscle_low"):
            lo, hi = getattr(self, name)
            if not 0 <= lo < hi:
                raise ValueError(f"{name} {lo}-{hi} Hz; need 0 <= low < high.")
        if not 0 <= self.min_clean_fraction <= 1:
            raise ValueError("min_clean_fraction must be in [0, 1].")


@dataclass(frozen=True)
class RecordingConfig:
    """Where and whether live sessions are recorded."""

    enabled: bool = True
    dir: str = "recordings"


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline, as read from one TOML file."""

    name: str = "default"
    description: str = ""
    board: str = "synthetic"
    model: str = ""
    window: WindowConfig = field(default_factory=WindowConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    fname: str = field(default="", compare=False)

    def _validate(self):
        seg, length = self.features.welch_segment, self.window.length
        if seg > length:
            raise PipelineConfigError(
                f"{field_name(self.fname, 'features', 'welch_segment')}: a Welch segment of "
                f"{seg:g} s is longer than the {length:g} s window ([window] length); "
                "shorten the segment or lengthen the window."
            )

    def check_baseline(self):
        """Blocks before feedback must give the threshold its ``min_baseline``.

        A protocol with no baseline block calibrates on the first seconds of
        training (documented); one whose baseline is shorter than
        ``min_baseline`` would do the same while its baseline, too short for
        a threshold, also became the reference of the session's trained
        measure (its SD from a handful of windows). Checked before a live or
        simulated session, not on load, so recordings made with such a
        pipeline still replay.

        Raises
        ------
        PipelineConfigError
            Naming the blocks, the one to lengthen and by how much.
        """
        fb = self.feedback
        before = []
        for b in fb.blocks:
            if b.kind not in ("baseline", "calibration"):
                break
            before.append(b)
        total = sum(b.duration for b in before)
        fed = any(b.kind in ("training", "transfer") for b in fb.blocks)  # needs a threshold
        if before and fed and total + 1e-9 < fb.min_baseline:
            last = before[-1]
            raise PipelineConfigError(
                f"{field_name(self.fname, 'feedback', 'min_baseline')}: the blocks before "
                f"feedback ({', '.join(repr(b.name) for b in before)}) last {total:g} s, "
                f"less than the {fb.min_baseline:g} s of baseline the threshold is set on; "
                f"make block {last.name!r} at least "
                f"{last.duration + fb.min_baseline - total:g} s long, or lower min_baseline."
            )

    def to_dict(self) -> dict:
        """JSON-ready copy (for sidecars and LSL metadata)."""
        out = dataclasses.asdict(self)
        out["features"]["bands"] = {k: list(v) for k, v in self.features.bands.items()}
        return out

    def without_outputs(self) -> tuple[PipelineConfig, list[str]]:
        """This pipeline with every output and network destination at its default.

        A pipeline that arrives inside someone else's file (a model, a
        recording's sidecar) may say how to compute (windows, filters,
        features, gates, the protocol's blocks), never where to write or send
        nor a file to read: ``[recording]``, the cue ``sinks``,
        ``[feedback.osc]``, ``[feedback.audio] wav`` and a ``board`` given as
        a profile file's path are reset to the defaults, so outputs, network
        sinks and files come from the user's own command line or pipeline only.

        Returns
        -------
        config : PipelineConfig
        dropped : list of str
            The fields that differed from the defaults (``[section] key``).
        """
        from .feedback._config import AudioConfig, FeedbackConfig, OscConfig

        fb_default = FeedbackConfig()
        dropped = []
        board = self.board
        if is_profile_path(board):
            dropped.append("board")  # a profile file's path: the user's --board names one
            board = PipelineConfig.board
        rec = RecordingConfig()
        for key in ("enabled", "dir"):
            if getattr(self.recording, key) != getattr(rec, key):
                dropped.append(f"[recording] {key}")
        if self.feedback.sinks != fb_default.sinks:
            dropped.append("[feedback] sinks")
        if self.feedback.osc != OscConfig():
            dropped.append("[feedback.osc]")
        if self.feedback.audio.wav != AudioConfig().wav:
            dropped.append("[feedback.audio] wav")
        feedback = dataclasses.replace(
            self.feedback, sinks=fb_default.sinks, osc=OscConfig(),
            audio=dataclasses.replace(self.feedback.audio, wav=AudioConfig().wav))
        return dataclasses.replace(self, board=board, recording=rec, feedback=feedback), dropped

    def replace(self, **changes) -> PipelineConfig:
        """Return a copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)


def stored_pipeline(d: dict) -> dict:
    """A pipeline stored by an earlier version (sidecar, model file), as it ran then.

    Keys added since default to what the engine did before they existed, not to
    today's defaults, so a recording replays to the estimates its live run gave:
    ``features.index_span`` (indices averaged over a span) was {} before.
    """
    d = dict(d)
    d.pop("fname", None)
    feats = d.get("features")
    if isinstance(feats, dict) and "index_span" not in feats:
        d["features"] = {**feats, "index_span": {}}
    return d


def is_profile_path(board) -> bool:
    """Whether ``board`` names a profile file (``*.toml``, or a path with a
    folder) rather than a shipped profile
    (:func:`~biofeedback.hardware.get_profile` reads such a file)."""
    board = str(board)
    return board.endswith(".toml") or "/" in board or "\\" in board


def default_pipeline_path() -> Path:
    """Path of the shipped default pipeline."""
    return data_dir("pipelines") / "default.toml"


def load_pipeline(fname=None) -> PipelineConfig:
    """Read and validate a pipeline file (the shipped default if None).

    A bare name that is no file, such as ``"programme"``, names a shipped
    pipeline (``biofeedback simulate --pipeline`` takes them too).

    Raises
    ------
    PipelineConfigError
        Naming the file and the field at fault.
    """
    fname = Path(fname) if fname is not None else default_pipeline_path()
    if not fname.suffix and fname.parent == Path(".") and not fname.exists():
        shipped = data_dir("pipelines") / f"{fname.name}.toml"
        if not shipped.is_file():  # a typo of a shipped name: say which there are
            names = ", ".join(sorted(p.stem for p in data_dir("pipelines").glob("*.toml")))
            raise PipelineConfigError(f"{fname}: no such file, and no shipped pipeline has "
                                      f"that name ({names}; or give a .toml path).")
        fname = shipped
    data = load_toml(fname)
    data["fname"] = str(fname)
    return from_dict(PipelineConfig, data, str(fname))


def field_name(fname, section, key) -> str:
    """Where a pipeline field is, as messages name it.

    ``file, line N [section] key`` for a pipeline read from ``fname``, or
    ``pipeline [section] key`` for one built without a file (``fname`` empty).

    Examples
    --------
    >>> field_name("", "window", "length")
    'pipeline [window] length'
    """
    if not fname:
        return f"pipeline [{section}] {key}"
    return _where(fname, section, key)


def check_rate(config: PipelineConfig, sfreq) -> None:
    """Check a pipeline's frequencies and lengths against a sampling rate.

    Run when a pipeline meets its data (the engine does it): a low-pass,
    notch or band at or above the Nyquist frequency, a band, spectral range
    or gate range whose high edge reaches above it, or a window too short
    for its Welch segment, is refused rather than silently changed.

    Parameters
    ----------
    config : PipelineConfig
        The pipeline.
    sfreq : float
        The data's sampling rate in Hz.

    Raises
    ------
    StreamError
        The rate is not a positive finite number (an irregular stream).
    PipelineConfigError
        Naming the file, line and field that do not fit the rate.
    """
    import math

    if not (isinstance(sfreq, (int, float)) and math.isfinite(sfreq) and sfreq > 0):
        raise StreamError(
            f"The EEG has no regular sampling rate (nominal rate {sfreq!r} Hz); "
            "biofeedback windows regular streams only."
        )
    sfreq = float(sfreq)
    nyq = sfreq / 2.0
    fname = config.fname

    def refuse(section, key, what, fix):
        raise PipelineConfigError(
            f"{field_name(fname, section, key)}: {what} is at or above the Nyquist frequency "
            f"({nyq:g} Hz for data at {sfreq:g} Hz); {fix}."
        )

    pre = config.preprocessing
    if pre.lowpass and pre.lowpass >= nyq:
        refuse("preprocessing", "lowpass", f"a {pre.lowpass:g} Hz low-pass",
               f"lower it below {nyq:g} Hz, or set 0 to turn the low-pass off")
    if pre.highpass and pre.highpass >= nyq:
        refuse("preprocessing", "highpass", f"a {pre.highpass:g} Hz high-pass",
               f"lower it below {nyq:g} Hz")
    if not isinstance(pre.notch, str) and pre.notch >= nyq:
        refuse("preprocessing", "notch", f"a {pre.notch:g} Hz notch",
               'use "auto" (the board\'s mains frequency) or "off"')
    def above(section, key, what, lo, hi):
        if hi > nyq:  # the PSD ends at Nyquist: the top would go unsaid
            raise PipelineConfigError(
                f"{field_name(fname, section, key)}: {what} ({lo:g}-{hi:g} Hz) "
                f"reaches above the Nyquist frequency ({nyq:g} Hz for data at "
                f"{sfreq:g} Hz); lower its high edge to {nyq:g} Hz or less."
            )

    feats = config.features
    for section, table in (("features.bands", feats.bands),
                           ("features.index_bands", feats.index_bands)):
        for name, (lo, hi) in table.items():
            if lo >= nyq:
                refuse(section, name, f"band {name!r} ({lo:g} Hz and up)",
                       f"keep bands below {nyq:g} Hz")
            above(section, name, f"band {name!r}", lo, hi)
    if feats.spectral_range:
        lo, hi = feats.spectral_range
        if lo >= nyq:
            refuse("features", "spectral_range", f"a spectral range from {lo:g} Hz",
                   f"keep it below {nyq:g} Hz")
        above("features", "spectral_range", "the spectral range", lo, hi)
    gates = config.gates
    for key in ("eeg_range", "muscle_low", "muscle_high"):
        lo, hi = getattr(gates, key)
        if lo >= nyq:
            refuse("gates", key, f"a range from {lo:g} Hz", f"keep it below {nyq:g} Hz")
        above("gates", key, f"the range {key}", lo, hi)
    win = int(round(config.window.length * sfreq))
    hop = int(round(config.window.hop * sfreq))
    if win < 2 or hop < 1:
        key, what, least = (("length", f"a {config.window.length:g} s window", 2) if win < 2
                            else ("hop", f"a {config.window.hop:g} s hop", 1))
        raise PipelineConfigError(
            f"{field_name(fname, 'window', key)}: {what} holds less than {least} "
            f"{'sample' if least == 1 else 'samples'} at {sfreq:g} Hz; make it at least "
            f"{least / sfreq:g} s."
        )
    seg = int(round(feats.welch_segment * sfreq))
    if seg < 2 or seg > win:
        raise PipelineConfigError(
            f"{field_name(fname, 'features', 'welch_segment')}: a Welch segment of "
            f"{seg} samples does not fit a window of {win} samples at {sfreq:g} Hz."
        )
    if int(round(feats.welch_overlap * seg)) >= seg:
        raise PipelineConfigError(
            f"{field_name(fname, 'features', 'welch_overlap')}: an overlap of "
            f"{feats.welch_overlap!r} leaves no step between Welch segments of {seg} "
            f"samples at {sfreq:g} Hz; lower it."
        )
