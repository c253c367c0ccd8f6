"""Per-channel, per-window signal quality and artifact gates.

Each channel of each window gets a bit mask of flags. Persistent problems
(railed, flat, line noise) drop the channel from the indices; transient
artifacts (amplitude, blink, muscle, non-finite samples) gate the whole
window so that feedback pauses instead of rewarding noise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLAGS", "QualityGate", "describe_flags"]

FLAGS = {
    "nan": 1,
    "railed": 2,
    "near_railed": 4,
    "flat": 8,
    "amplitude": 16,
    "line_noise": 32,
    "blink": 64,
    "muscle": 128,
}
#: Flags that drop a channel from the indices but do not gate the window.
PERSISTENT = FLAGS["railed"] | FLAGS["flat"] | FLAGS["line_noise"]
#: Flags that gate the window.
TRANSIENT = FLAGS["nan"] | FLAGS["amplitude"] | FLAGS["blink"] | FLAGS["muscle"]


def describe_flags(flags: int) -> list[str]:
    """Names of the flags set in ``flags``."""
    return [name for name, bit in FLAGS.items() if flags & bit]


class QualityGate:
    """Assess windows channel by channel.

    Parameters
    ----------
    config : GatesConfig
        Thresholds (µV and fractions).
    profile : BoardProfile
        Gives the rail value and the frontal channels.
    sfreq : float
        Sampling rate in Hz.
    ch_names : list of str
        Channels, in data order.
    """

    def __init__(self, config, profile, sfreq: float, ch_names):
        self.config = config
        self.profile = profile
        self.sfreq = float(sfreq)
        self.ch_names = list(ch_names)
        self.rail_v = float(profile.rail_uv) * 1e-6

    def assess(self, raw: np.ndarray, filtered: np.ndarray) -> np.ndarray:
        """Flag each channel of one window.

        Parameters
        ----------
        raw : ndarray, shape (n_channels, n_times)
            Unfiltered window in volts (for rail, flat and non-finite checks).
        filtered : ndarray, shape (n_channels, n_times)
            The same window after preprocessing, in volts.

        Returns
        -------
        flags : ndarray of int64, shape (n_channels,)
            Bit masks of :data:`FLAGS`.
        """
        cfg = self.config
        flags = np.zeros(raw.shape[0], dtype=np.int64)
        finite = np.isfinite(raw).all(axis=1) & np.isfinite(filtered).all(axis=1)
        flags[~finite] |= FLAGS["nan"]
        raw_f = np.where(np.isfinite(raw), raw, 0.0)
        filt_f = np.where(np.isfinite(filtered), filtered, 0.0)
        if self.rail_v > 0:
            peak = np.abs(raw_f).max(axis=1)
            flags[peak >= cfg.rail_fraction * self.rail_v] |= FLAGS["railed"]
            near = (peak >= cfg.near_rail_fraction * self.rail_v) & (peak < cfg.rail_fraction * self.rail_v)
            flags[near] |= FLAGS["near_railed"]
        flags[raw_f.std(axis=1) < cfg.flat_uv * 1e-6] |= FLAGS["flat"]
        ptp = np.ptp(filt_f, axis=1)
        flags[ptp > cfg.max_ptp_uv * 1e-6] |= FLAGS["amplitude"]
        return flags

    def is_gated(self, flags: np.ndarray) -> bool:
        """True when the window must not drive feedback."""
        usable = (flags & PERSISTENT) == 0
        if usable.mean() < self.config.min_clean_fraction:
            return True
        return bool(np.any(flags & TRANSIENT))

    def clean_channels(self, flags: np.ndarray) -> np.ndarray:
        """Boolean mask of channels the indices may use."""
        return (flags & (PERSISTENT | TRANSIENT)) == 0
