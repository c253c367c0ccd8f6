"""Which clock a sender's stamps are on: Unix time in seconds or milliseconds."""

import time

import numpy as np
import pytest

from biofeedback.stream._peers import UNIX_SPAN, stamp_clock

FIRST, LAST = UNIX_SPAN  # 2000-01-01 and 2100-01-01 in Unix seconds


@pytest.mark.parametrize("per_second, clock", [(1.0, "unix"), (1000.0, "unix_ms")])
def test_unix_stamps_lie_between_2000_and_2100_in_seconds_or_milliseconds(per_second, clock):
    ms = 1e-3  # a millisecond, in seconds
    assert stamp_clock(FIRST * per_second) == clock
    assert stamp_clock((FIRST - ms) * per_second) is None
    assert stamp_clock((LAST - ms) * per_second) == clock
    assert stamp_clock(LAST * per_second) is None
    # every stamp of a file: one outside makes none Unix time
    inside = (1.7e9 + np.arange(100) / 250.0) * per_second
    assert stamp_clock(inside) == clock
    assert stamp_clock(np.append(inside, LAST * per_second)) is None
    assert stamp_clock(np.append(inside, np.nan)) is None


def test_the_lsl_clock_a_device_clock_and_nothing_are_no_unix_time():
    assert stamp_clock(12345.678) is None  # seconds since this machine started
    assert stamp_clock(5e5) is None
    assert stamp_clock(1e11) is None  # between the two spans
    assert stamp_clock(np.empty(0)) is None


@pytest.mark.parametrize("per_second, clock", [(1.0, "unix"), (1000.0, "unix_ms")])
def test_live_stamps_must_also_be_near_now(per_second, clock):
    """A device whose own clock reads a date years off is no Unix time."""
    now = 1.7e9
    assert stamp_clock((now - 599.9) * per_second, now) == clock
    assert stamp_clock((now + 599.9) * per_second, now) == clock
    assert stamp_clock((now - 600.1) * per_second, now) is None
    assert stamp_clock((now + 600.1) * per_second, now) is None
    assert stamp_clock((now - 900.0) * per_second, now, slack=1000.0) == clock
    assert stamp_clock(1.2e9 * per_second, now) is None  # 2008 on a 2023 machine


@pytest.mark.lsl
def test_milliseconds_from_another_machine_lose_the_correction_before_they_are_read():
    """liblsl adds its clock correction (seconds) to stamps in milliseconds:
    read as milliseconds with the correction still in, a sender 100 s apart
    on the LSL clock was put 99.9 s off."""
    from biofeedback.stream._peers import _UnixMsStamps, _UnixStamps

    sent = time.time()
    corr = 100.0
    got = _UnixMsStamps(corr)(np.array([sent * 1000.0 + corr]))
    want = sent + _UnixStamps.offset()
    assert got[0] == pytest.approx(want, abs=0.01)
