"""The quality flags, and the one rule for "railed"."""

from __future__ import annotations

import numpy as np

FLAGS = {
    "nan": 1,
    "railed": 2,
    "near_railed": 4,
    "flat": 8,
    "amplitude": 16,
    "line_noise": 32,
    "blink": 64,
    "muscle": 128,
    "bad": 256,
}
#: Flags that drop a channel from the indices but do not gate the window.
PERSISTENT = FLAGS["railed"] | FLAGS["flat"] | FLAGS["line_noise"] | FLAGS["bad"]
#: Flags that gate the window.
TRANSIENT = FLAGS["nan"] | FLAGS["amplitude"] | FLAGS["blink"] | FLAGS["muscle"]

#: Artifacts that, when they never stop, mark a bad electrode rather than an event.
_LONG_LIVED = FLAGS["amplitude"] | FLAGS["blink"] | FLAGS["muscle"]

#: A sample is at the rail when ``|x| >= RAIL_FRACTION * full scale`` (the
#: default of ``[gates] rail_fraction``; OpenBCI GUI's 90 %).
RAIL_FRACTION = 0.9
#: A channel is railed over a window or a whole file when at least this share
#: of its samples is at the rail (near-railed: the same share beyond
#: ``near_rail_fraction``). The live gate and the file checks both use it.
RAILED_SHARE = 0.05


def rail_share(data, rail_v: float, fraction: float = RAIL_FRACTION) -> np.ndarray:
    """Share of each channel's samples at the rail.

    The one definition of "railed" (the live gate, ``biofeedback info``, the
    readers' warnings and the ``BAD_railed`` annotations use it): a sample is
    at the rail when ``|x| >= fraction * rail_v``; a channel is railed when
    at least :data:`RAILED_SHARE` of its samples are.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times) or (n_times,)
        Unfiltered signal in volts. Non-finite samples count as not at the rail.
    rail_v : float
        The amplifier's full scale in volts (the profile's ``rail_uv`` x 1e-6).
    fraction : float
        Fraction of full scale from which a sample is at the rail.

    Returns
    -------
    share : ndarray, shape (n_channels,) (or a float for one channel)
        From 0 to 1; 0 for an empty span.
    """
    data = np.asarray(data, dtype=np.float64)
    n = data.shape[-1]
    if n == 0 or not rail_v:
        return np.zeros(data.shape[:-1]) if data.ndim > 1 else 0.0
    with np.errstate(invalid="ignore"):
        at = np.abs(data) >= fraction * rail_v
    return np.count_nonzero(at, axis=-1) / n


def describe_flags(flags: int) -> list[str]:
    """Names of the flags set in ``flags``."""
    return [name for name, bit in FLAGS.items() if int(flags) & bit]
