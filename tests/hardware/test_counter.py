"""Lost samples from a board's packet counter, with the host clock beside it."""

import numpy as np

from biofeedback.hardware import get_profile
from biofeedback.hardware._counter import missing_samples, widen_by_clock

SFREQ = 250.0


def _scan(idx, ts, counter=None, name="cyton"):
    """``widen_by_clock`` over the counter of samples ``idx`` stamped ``ts``."""
    cols = get_profile(name).columns
    if counter is None:
        counter = np.mod(idx, 256).astype(float)
    return widen_by_clock(missing_samples(counter, cols), ts, SFREQ, cols,
                          counter=counter)


def test_widen_by_clock_returns_the_restarts_it_sized_by_the_clock():
    """A loss is the counter's; a restart onto 0 (stop, then start 3 s later)
    is the clock's, and its index comes back with the counts."""
    idx = np.r_[0:300, 310:600]  # 10 samples lost at 300
    counter = np.r_[np.mod(idx, 256), np.arange(400) % 256].astype(float)
    ts = 1.7e9 + np.r_[idx, 600 + 750 + np.arange(400)] / SFREQ
    missing, restarts = _scan(None, ts, counter)
    assert np.flatnonzero(missing).tolist() == [300, 590]
    assert missing[300] == 10 and missing[590] == 750
    assert restarts.dtype == np.int64 and restarts.tolist() == [590]
    # no restart: none comes back
    missing, restarts = _scan(idx, 1.7e9 + idx / SFREQ)
    assert missing.sum() == 10 and restarts.size == 0
