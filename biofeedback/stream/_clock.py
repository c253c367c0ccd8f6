"""One clock for a session: the LSL clock (``pylsl.local_clock``)."""

from __future__ import annotations

import time


def lsl_clock() -> float:
    """Seconds on the LSL clock (imports pylsl on first use)."""
    import pylsl

    return pylsl.local_clock()


class UnixToLSL:
    """Map host Unix timestamps (as BrainFlow stamps samples) onto the LSL clock.

    The offset ``lsl - unix`` is measured as the tightest of a few paired
    readings and refreshed every ``refresh`` seconds, so slow drift between the
    wall clock and the monotonic LSL clock is followed (wall-clock steps, e.g.
    from NTP, show up as a change of offset, never as a jump in our data).
    """

    def __init__(self, refresh: float = 10.0):
        self.refresh = refresh
        self._offset = None
        self._measured_at = -1e18
        self.history: list[tuple[float, float]] = []  # (lsl time, offset)

    def _measure(self) -> float:
        best = None
        for _ in range(5):
            u0 = time.time()
            lsl = lsl_clock()
            u1 = time.time()
            width = u1 - u0
            if best is None or width < best[0]:
                best = (width, lsl - (u0 + u1) / 2.0, lsl)
        self.history.append((best[2], best[1]))
        return best[1]

    @property
    def offset(self) -> float:
        """Current estimate of ``lsl - unix`` in seconds."""
        now = lsl_clock()
        if self._offset is None or now - self._measured_at > self.refresh:
            self._offset = self._measure()
            self._measured_at = now
        return self._offset

    def __call__(self, unix_ts):
        """Convert Unix seconds (scalar or array) to LSL seconds."""
        return unix_ts + self.offset
