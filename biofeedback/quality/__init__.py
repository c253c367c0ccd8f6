"""Per-channel, per-window signal quality and artifact gates.

Each channel of each window gets a bit mask of flags. Persistent problems
(railed, flat, line noise) drop the channel from the indices; transient
artifacts (amplitude, blink, muscle, non-finite samples) gate the whole
window so that feedback pauses instead of rewarding noise. A gated window is
marked, never silently averaged in. Thresholds and where they come from are
in :class:`biofeedback.config.GatesConfig` and ``docs/features.md``.

The package's modules: ``_flags`` (the flags and the one rule for "railed"),
``_gate`` (:class:`QualityGate`) and ``_units`` (:func:`unit_problem`).
"""

from ._flags import (
    FLAGS,
    PERSISTENT,
    RAIL_FRACTION,
    RAILED_SHARE,
    TRANSIENT,
    describe_flags,
    rail_share,
)
from ._gate import QualityGate
from ._units import unit_problem  # noqa: F401 (importable here, as before)

__all__ = ["FLAGS", "PERSISTENT", "TRANSIENT", "QualityGate", "describe_flags",
           "RAILED_SHARE", "RAIL_FRACTION", "rail_share"]
