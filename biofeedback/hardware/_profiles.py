"""Board profiles: what a headset is, read from ``hardware/*.toml``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from .._checks import _check_option
from .._data import data_dir
from .._toml import from_dict, load_toml
from .._words import agree, listed
from ..errors import PipelineConfigError

#: BrainFlowInputParams fields, as BrainFlow names them (and the CLI exposes).
#: ``file`` makes the source play that file through BrainFlow's playback board.
INPUT_PARAMS = (
    "serial_port",
    "mac_address",
    "ip_address",
    "ip_port",
    "ip_protocol",
    "serial_number",
    "other_info",
    "file",
    "timeout",
)

#: The highest sampling rate a profile may declare (research amplifiers reach 20-50 kHz).
MAX_SFREQ = 100_000.0

_CONNECTIONS = ("none", "serial", "ble", "wifi", "lsl", "file")


@dataclass(frozen=True)
class Columns:
    """Rows of BrainFlow's board array (and columns of its files), and its packet counter.

    The rows are those of ``BoardShim.get_board_descr`` for the board (a test
    checks them against the installed BrainFlow). The packet counter is
    described as the board's driver writes it, so that dropped packets can be
    counted from it: values cycle through ``packet_counter_first`` ..
    ``packet_counter_first + packet_counter_wrap - 1``, advance by
    ``packet_counter_step`` per packet, and every packet carries
    ``samples_per_packet`` samples that share one value.

    Attributes
    ----------
    rows : int
        Rows of the board array (``num_rows``); 0 when not stated.
    eeg : tuple of int
        EEG rows, in the order of the profile's ``ch_names``.
    packet_counter : int | None
        Row of the packet counter (``package_num_channel``).
    packet_counter_wrap : int
        The counter's cycle length in counter units (256 for OpenBCI's
        serial boards, 65536 for Muse); 0 means the board has no usable
        counter.
    packet_counter_step : int
        Counter increment from one packet to the next (2 on Cyton + Daisy,
        whose driver keeps the even sample number of each pair of packets).
    packet_counter_first : int
        The counter's smallest value in its cycle (1 on the Ganglion, whose
        packets are numbered 1-100 or 101-200).
    samples_per_packet : int
        Samples that share one counter value (12 on Muse, 2 on Ganglion).
    timestamp : int | None
        Row of the host Unix timestamps.
    accel : tuple of int
        Accelerometer rows.
    marker : int | None
        Row of BrainFlow's markers (``insert_marker``).
    """

    rows: int = 0
    eeg: tuple[int, ...] = ()
    packet_counter: int | None = None
    packet_counter_wrap: int = 0
    packet_counter_step: int = 1
    packet_counter_first: int = 0
    samples_per_packet: int = 1
    timestamp: int | None = None
    accel: tuple[int, ...] = ()
    marker: int | None = None


@dataclass(frozen=True)
class BoardProfile:
    """A headset: channels, rate, units, rail and how it connects.

    Parameters
    ----------
    name : str
        Short name used on the command line (``--board NAME``).
    description : str
        One line for ``biofeedback boards``.
    sfreq : float
        Nominal sampling rate in Hz (0 when taken from the stream).
    ch_names : tuple of str
        EEG channel names in 10-20 terms, in acquisition order.
    units : str
        Units the device delivers ("uV"). Data are converted to volts once,
        at the adapter.
    rail_uv : float
        Absolute full-scale value in µV; samples near it are railed.
    connection : str
        "none", "serial", "ble", "wifi", "lsl" or "file".
    brainflow_board : str | None
        Name of the ``brainflow.BoardIds`` member, if BrainFlow drives it.
    connection_params : tuple of str
        ``BrainFlowInputParams`` fields this board needs (``serial_port``...).
    line_freq : float
        Mains frequency for the notch filter (50 or 60 Hz).
    frontal_pair : tuple of str | None
        (left, right) homologous frontal channels for alpha asymmetry.
    lsl_type : str
        LSL stream type published or resolved.
    gates : dict of str to float
        Overrides of the pipeline's ``[gates]`` for a board whose clean signal
        is not EEG-like (BrainFlow's synthetic board is a ladder of sines).
    mains_check : bool
        Whether the signal check judges mains noise (default true); false for
        a board whose clean signal holds power at the mains frequency
        (BrainFlow's synthetic board has a 50 Hz test sine).
    columns : Columns
        Rows of the packet counter, timestamp and accelerometer.
    """

    name: str
    description: str
    sfreq: float
    ch_names: tuple[str, ...]
    units: str = "uV"
    rail_uv: float = 0.0
    connection: str = "none"
    brainflow_board: str | None = None
    connection_params: tuple[str, ...] = ()
    line_freq: float = 50.0
    frontal_pair: tuple[str, str] | None = None
    lsl_type: str = "EEG"
    gates: dict[str, float] = field(default_factory=dict)
    mains_check: bool = True
    columns: Columns = field(default_factory=Columns)
    fname: str | None = field(default=None, compare=False)

    def _validate(self):
        if not 0 <= self.sfreq <= MAX_SFREQ:  # buffers are sized by it (0: the stream's)
            raise ValueError(f"sfreq must be 0 (the stream's own) to {MAX_SFREQ:g} Hz, got "
                             f"{self.sfreq:g}.")
        _check_option("connection", self.connection, _CONNECTIONS)
        _check_option("units", self.units, ("uV", "V", "mV"))
        _check_option("line_freq", self.line_freq, (50.0, 60.0))
        if self.frontal_pair is not None:
            missing = [ch for ch in self.frontal_pair if ch not in self.ch_names]
            if missing:
                raise ValueError(
                    f"frontal_pair names {missing[0]!r}, which is not in ch_names."
                )
        if len(set(self.ch_names)) != len(self.ch_names):
            raise ValueError("ch_names holds a duplicate name.")
        col = self.columns
        if col.eeg and len(col.eeg) != len(self.ch_names):
            raise ValueError(f"[columns] eeg names {len(col.eeg)} rows but ch_names "
                             f"holds {len(self.ch_names)} channels.")
        if col.packet_counter_step < 1 or col.samples_per_packet < 1:
            raise ValueError("[columns] packet_counter_step and samples_per_packet must "
                             "be at least 1.")
        if col.packet_counter_wrap % col.packet_counter_step:
            raise ValueError("[columns] packet_counter_wrap must be a multiple of "
                             "packet_counter_step.")
        from ..config import GatesConfig

        allowed = {f.name for f in fields(GatesConfig)}
        for key in self.gates:
            if key not in allowed:
                raise ValueError(f"[gates] has unknown key {key!r}; allowed keys are "
                                 f"{', '.join(sorted(allowed))}.")

    @property
    def scale_to_volts(self) -> float:
        """Factor that turns the device's units into volts."""
        return {"uV": 1e-6, "mV": 1e-3, "V": 1.0}[self.units]

    @property
    def board_id(self) -> int | None:
        """BrainFlow board id, or None when BrainFlow does not drive it."""
        if self.brainflow_board is None:
            return None
        from brainflow.board_shim import BoardIds

        return BoardIds[self.brainflow_board].value

    def to_dict(self) -> dict:
        """A JSON-ready description (for sidecars and LSL metadata)."""
        from dataclasses import asdict

        out = asdict(self)
        out.pop("fname")
        return out


def read_profile(fname) -> BoardProfile:
    """Read one board profile file.

    Parameters
    ----------
    fname : path-like
        A ``.toml`` board profile.

    Returns
    -------
    profile : BoardProfile
    """
    fname = Path(fname)
    stat = fname.stat() if fname.is_file() else None
    key = (str(fname), stat.st_mtime_ns, stat.st_size) if stat else None
    if key is not None and key in _READ:
        return _READ[key]  # profiles are frozen: one parsed copy per file version
    data = load_toml(fname)
    data["fname"] = str(fname)
    prof = from_dict(BoardProfile, data, str(fname))
    if key is not None:
        _READ[key] = prof
    return prof


_READ: dict = {}  # (path, mtime, size) -> BoardProfile


def profile_names() -> list[str]:
    """The names of the shipped board profiles, sorted, none of them read (each
    file is named after its profile)."""
    return sorted(f.stem for f in data_dir("hardware").glob("*.toml"))


def list_profiles() -> dict[str, BoardProfile]:
    """Return every shipped board profile by name, sorted by name."""
    out = {}
    for fname in sorted(data_dir("hardware").glob("*.toml")):
        prof = read_profile(fname)
        out[prof.name] = prof
    return out


def get_profile(name) -> BoardProfile:
    """Return a board profile by name (or read it from a ``.toml`` path).

    Raises
    ------
    PipelineConfigError
        If no profile has that name.
    """
    if isinstance(name, BoardProfile):
        return name
    from ..config import is_profile_path

    if is_profile_path(name):
        return read_profile(name)
    names = profile_names()
    if name not in names:
        raise PipelineConfigError(
            f"Unknown board {name!r}; known boards are {', '.join(names)} "
            "(see 'biofeedback boards')."
        )
    return read_profile(data_dir("hardware") / f"{name}.toml")


# homologous frontal pairs (left, right) for asymmetry, in order of preference:
# F3/F4 is the classic site (Allen, Coan & Nazarian 2004), AF7/AF8 Muse's
_FRONTAL_PAIRS = (("F3", "F4"), ("AF7", "AF8"), ("F7", "F8"), ("AF3", "AF4"),
                  ("Fp1", "Fp2"), ("F1", "F2"), ("F5", "F6"))


# a clinical system's label around its 10-20 site: 'EEG F3-REF' (TUH, Natus),
# 'EEG F3', 'F3-A1', 'F3-LE' (a reference, not a bipolar derivation)
_SITE = re.compile(r"(?:eeg[ _-]*)?([a-z]+[0-9]*z?)(?:[ _-]*(?:ref|le|ar|avg|av|a1|a2|m1|m2))?",
                   re.I)


def ten_twenty_site(label) -> str:
    """The 10-20 site a channel label names, lower case (``'EEG F3-REF'``:
    ``'f3'``); the label itself, lower case, when it is no such form."""
    label = str(label).strip()
    m = _SITE.fullmatch(label)
    return (m.group(1) if m else label).lower()


def names_by_site(names, want) -> list:
    """``names`` with those that spell one of the 10-20 sites of ``want``
    otherwise (``EEG Fp1``, ``FP1``, ``Fp1-REF`` for ``Fp1``) renamed to it;
    ``names`` as they are unless every name of ``want`` is then found, each
    from one channel alone."""
    missing = [w for w in want if w not in names]
    if not missing:
        return list(names)
    free = [n for n in names if n not in want]
    out = list(names)
    for w in missing:
        site = ten_twenty_site(w)
        same = [n for n in free if ten_twenty_site(n) == site]
        if len(same) != 1 or sum(ten_twenty_site(m) == site for m in want) != 1:
            return list(names)
        out[names.index(same[0])] = w
    return out


def respelt_note(who, old, new) -> str | None:
    """The sentence saying that ``who`` ("The stream 'Muse'", "a.edf names")
    names channels ``old`` that :func:`names_by_site` reads as ``new``; None
    when none is read otherwise."""
    pairs = [(a, b) for a, b in zip(old, new) if a != b]
    if not pairs:
        return None
    return (f"{who} the channels {listed([a for a, _ in pairs], 6)}, read as "
            f"{listed([b for _, b in pairs], 6)}: the same 10-20 sites, spelt differently.")


def frontal_pair_from(labels):
    """The first homologous frontal pair among ``labels`` (as they are spelt, a
    clinical system's ``EEG F3-REF`` too), or None."""
    by_site = {}
    for label in labels:
        by_site.setdefault(label.strip().lower(), label)
    for label in labels:  # a label spelt as the site itself comes first
        by_site.setdefault(ten_twenty_site(label), label)
    for left, right in _FRONTAL_PAIRS:
        if left.lower() in by_site and right.lower() in by_site:
            return by_site[left.lower()], by_site[right.lower()]
    return None


def profile_for_recording(recording, profile=None) -> BoardProfile:
    """The board profile a recording was made with.

    Parameters
    ----------
    recording : Recording
        Read by :func:`biofeedback.io.read_recording`.
    profile : str | BoardProfile | None
        Use this profile instead of the recording's own.

    Returns
    -------
    profile : BoardProfile
        ``profile`` if given, else the sidecar's, else the one the reader
        named, else a generic one; its channels and rate are the recording's,
        and so is its frontal pair when the profile's is not among them (the
        first homologous 10-20 pair the channels name, as on an LSL stream).
    """
    import dataclasses

    side = recording.provenance.get("sidecar") or {}
    if profile is not None:
        prof = get_profile(profile)
    elif "board_profile" in side:
        stored = side["board_profile"]
        if not isinstance(stored, dict):  # the sidecar was edited or damaged
            raise PipelineConfigError(f"sidecar [board_profile] must be a table, got "
                                      f"{stored!r:.60}.")
        known = {f.name for f in dataclasses.fields(BoardProfile)}
        later = sorted(set(stored) - known)
        if later:  # written by a later version: the recording is still read
            recording.warnings.append(
                f"The sidecar's board profile holds {listed(map(repr, later))}, "
                "which this version does not know; "
                f"{agree(len(later), 'it is', 'they are')} ignored.")
        prof = from_dict(BoardProfile, {k: v for k, v in stored.items() if k in known},
                         "sidecar [board_profile]")
    else:
        try:
            prof = get_profile(recording.profile or "lsl")
        except PipelineConfigError:  # a reader's name no profile has
            prof = get_profile("lsl")
    pair = prof.frontal_pair
    if pair is None or any(ch not in recording.ch_names for ch in pair):
        # labelled 10-20 sites give asymmetry, as they do on an LSL stream
        pair = frontal_pair_from(recording.ch_names) or pair
    # the mains where it was recorded, as its file states it (an MNE file's
    # line_freq, a BIDS PowerLineFrequency), over the profile's default
    mains = recording.provenance.get("line_freq")
    mains = float(mains) if mains in (50.0, 60.0) else prof.line_freq
    if (list(prof.ch_names) != list(recording.ch_names) or prof.sfreq != recording.sfreq
            or pair != prof.frontal_pair or mains != prof.line_freq):
        prof = dataclasses.replace(prof, ch_names=tuple(recording.ch_names),
                                   sfreq=float(recording.sfreq), frontal_pair=pair,
                                   line_freq=mains)
    return prof
