"""The small records a Recording holds: other streams and gaps.

They live apart from :class:`~biofeedback.io.Recording` so that the integrity
checks, which make gaps, sit below the Recording and its MNE conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    # or "packet_counter", "packet_counter_restart", "marker", "edf_records"
    source: str = "timestamps"
