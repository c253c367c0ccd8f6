"""The one in-memory recording type every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import _as_data


@dataclass
class Stream:
    """A non-EEG stream kept beside the EEG (estimates, cues, accelerometer).

    Attributes
    ----------
    name : str
        Stream name.
    type : str
        Stream type ("Estimates", "Markers", "Accelerometer", ...).
    data : ndarray, shape (n_channels, n_times) | list of str
        Numeric samples, or one string per sample for marker streams.
    timestamps : ndarray, shape (n_times,)
        Seconds on the recording's clock.
    ch_names : list of str
        One name per channel (numeric streams).
    sfreq : float
        Nominal rate; 0 for irregular streams.
    """

    name: str
    type: str
    data: object
    timestamps: np.ndarray
    ch_names: list = field(default_factory=list)
    sfreq: float = 0.0
    meta: dict = field(default_factory=dict)


@dataclass
class Gap:
    """A stretch with no data: dropped packets or a lost stream.

    ``onset`` is the timestamp of the last sample before it, ``duration`` the
    missing time in seconds, ``n_missing`` the samples missing (counted from a
    packet counter when there is one, else estimated from the timestamps).
    """

    onset: float
    duration: float
    n_missing: int
    source: str = "timestamps"  # or "packet_counter", "marker"


@dataclass
class Recording:
    """EEG in memory, the same whatever file it came from.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_times)
        EEG in **volts**, float64, C-contiguous (as MNE stores it).
    sfreq : float
        Nominal sampling rate in Hz (declared by the file or the board).
    ch_names : list of str
        Channel names, 10-20 where known.
    timestamps : ndarray, shape (n_times,)
        Per-sample time in seconds on the recording's clock (LSL clock for
        recordings made by this package, Unix time for most other files).
    markers : list of (float, str)
        Event markers as (timestamp, description), sorted by time.
    gaps : list of Gap
        Dropped packets and lost-stream stretches; never interpolated.
    streams : dict of str to Stream
        Other streams recorded beside the EEG, by name.
    source_format : str
        Short name of the reader ("xdf", "muse-csv", "openbci-txt", ...).
    provenance : dict
        File name, reader options, software versions, sidecar contents.
    warnings : list of str
        Every problem found while reading that did not stop the read.
    profile : str | None
        Board profile name, when known.
    """

    data: np.ndarray
    sfreq: float
    ch_names: list
    timestamps: np.ndarray
    markers: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    streams: dict = field(default_factory=dict)
    source_format: str = "unknown"
    provenance: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    profile: str | None = None

    def __post_init__(self):
        self.data = _as_data(self.data, "data", 2)
        self.timestamps = np.ascontiguousarray(self.timestamps, dtype=np.float64)
        self.ch_names = list(self.ch_names)
        if self.data.shape[0] != len(self.ch_names):
            raise ValueError(
                f"data has {self.data.shape[0]} channels but {len(self.ch_names)} "
                "channel names were given."
            )
        if self.timestamps.shape != (self.data.shape[1],):
            raise ValueError(
                f"timestamps must have shape ({self.data.shape[1]},), "
                f"got {self.timestamps.shape}."
            )

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return self.data.shape[1]

    @property
    def duration(self) -> float:
        """Duration in seconds, from the sample count and nominal rate."""
        return self.n_times / self.sfreq if self.sfreq else 0.0

    def copy(self) -> Recording:
        """Return a deep copy."""
        import copy

        return copy.deepcopy(self)

    def crop(self, tmin=None, tmax=None) -> Recording:
        """Keep samples with ``tmin <= timestamp <= tmax`` (in place; returns self).

        Markers, gaps and other streams outside the window are dropped too.
        """
        lo = -np.inf if tmin is None else float(tmin)
        hi = np.inf if tmax is None else float(tmax)
        keep = (self.timestamps >= lo) & (self.timestamps <= hi)
        self.data = np.ascontiguousarray(self.data[:, keep])
        self.timestamps = np.ascontiguousarray(self.timestamps[keep])
        self.markers = [(t, s) for t, s in self.markers if lo <= t <= hi]
        self.gaps = [g for g in self.gaps if lo <= g.onset <= hi]
        for st in self.streams.values():
            k = (st.timestamps >= lo) & (st.timestamps <= hi)
            if isinstance(st.data, np.ndarray):
                st.data = np.ascontiguousarray(np.atleast_2d(st.data)[:, k])
            else:
                st.data = [v for v, ok in zip(st.data, k) if ok]
            st.timestamps = st.timestamps[k]
        return self

    def to_mne(self, *, montage=None):
        """Return an :class:`mne.io.RawArray` (volts, standard montage).

        Markers become annotations, gaps ``BAD_gap`` and railed stretches
        ``BAD_railed`` (from the board profile's rail).
        """
        from ._mne import to_mne

        return to_mne(self, montage=montage)

    @classmethod
    def from_mne(cls, raw) -> Recording:
        """Build a Recording from an :class:`mne.io.Raw` (see :meth:`to_mne`)."""
        from ._mne import from_mne

        return from_mne(raw)

    def __repr__(self) -> str:
        return (
            f"<Recording | {self.source_format}, {len(self.ch_names)} ch, "
            f"{self.sfreq:g} Hz, {self.duration:.1f} s, {len(self.markers)} markers, "
            f"{len(self.gaps)} gaps>"
        )
