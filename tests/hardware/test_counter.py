"""Lost samples from a board's packet counter, with the host clock beside it."""

import numpy as np
import pytest

from biofeedback.hardware import get_profile
from biofeedback.hardware._counter import missing_samples, quiet_restarts, widen_by_clock

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


def _host_stamps(true, read_every, t0=1.7e9):
    """The host's time of the serial read that brought each sample."""
    return t0 + np.ceil((true - t0) / read_every) * read_every if read_every else true


@pytest.mark.parametrize("read_every", [0.0, 0.008])
@pytest.mark.parametrize("n_lost", [3, 100, 300, 700])
def test_a_loss_ending_on_the_counters_first_value_is_a_loss(n_lost, read_every):
    """A loss that ends exactly at counter 0 (one loss in 256) is a jump onto
    the first value, as a restart is; the clock agrees with the counter within
    RESTART_SLACK samples, so it stays the counter's loss."""
    end = 1000
    start = (-(end + n_lost)) % 256  # the first sample after the loss reads 0
    idx = start + np.r_[0:end, end + n_lost: 3000 + n_lost]
    missing, restarts = _scan(idx, _host_stamps(1.7e9 + idx / SFREQ, read_every))
    assert idx[end] % 256 == 0
    assert np.flatnonzero(missing).tolist() == [end] and missing[end] == n_lost
    assert restarts.size == 0


def _restart_after_the_last_value(pause, read_every=0.016):
    """Samples stopped at counter 255 and started again at 0 ``pause`` s later."""
    idx = np.arange(3000)
    true = 1.7e9 + idx / SFREQ
    true[1024:] += pause  # sample 1023 reads 255
    counter = np.mod(idx, 256).astype(float)
    ts = _host_stamps(true, read_every)
    cols = get_profile("cyton").columns
    missing, restarts = widen_by_clock(missing_samples(counter, cols), ts, SFREQ, cols,
                                       counter=counter)
    return missing, restarts, ts, counter, cols


def test_a_restart_right_after_the_last_value_is_found_by_the_clock():
    """255 -> 0 steps as one packet: the counter says nothing was lost, and
    only the clock shows the 0.4 s pause, which it still shows a second later."""
    missing, restarts, ts, counter, cols = _restart_after_the_last_value(0.4)
    assert missing.sum() == 0 and restarts.size == 0  # the counter alone
    found = quiet_restarts(missing, ts, SFREQ, cols, counter=counter)
    assert found.tolist() == [1024]
    assert abs(missing[1024] - 100) <= 4 and missing.sum() == missing[1024]


def test_a_late_batch_onto_the_first_value_is_no_restart():
    """A host that stalled 0.5 s hands over what it held back at once: the
    stamps pause where the counter reads 0, as at a restart, then catch up.
    Nothing was lost and nothing is made up."""
    idx = np.arange(3000)
    ts = _host_stamps(1.7e9 + idx / SFREQ, 0.016)
    held = (idx >= 1024) & (idx < 1024 + 125)
    ts[held] = ts[1024 + 125]  # read with the first sample after the stall
    counter = np.mod(idx, 256).astype(float)
    cols = get_profile("cyton").columns
    missing, restarts = widen_by_clock(missing_samples(counter, cols), ts, SFREQ, cols,
                                       counter=counter)
    assert quiet_restarts(missing, ts, SFREQ, cols, counter=counter).size == 0
    assert missing.sum() == 0 and restarts.size == 0


@pytest.mark.parametrize("n_lost, late", [(255, 0.0), (511, 0.0), (0, 0.04), (0, 0.0)])
def test_a_repeated_counter_value_is_a_turn_less_one_or_a_packet_sent_twice(n_lost, late):
    """255 samples lost bring a Cyton's counter back to its value: read as the
    same packet, they were no loss (or, past 256, one sample too many); a
    packet sent twice repeats the value too. The clock tells them apart."""
    idx = np.r_[0:1000, 1000 + n_lost: 3000]
    counter = np.mod(idx, 256).astype(float)
    ts = 1.7e9 + idx / SFREQ
    if not n_lost:  # sample 999's packet again, ``late`` s after it
        idx, counter, ts = (np.insert(a, 1000, v) for a, v in
                            ((idx, 999), (counter, counter[999]), (ts, ts[999] + late)))
    missing, restarts = _scan(None, ts, counter)
    assert missing.sum() == missing[1000] == n_lost and restarts.size == 0


def _missing_by_the_formula(counter, columns, previous=None):
    """:func:`missing_samples` written as its docstring says, one array per step."""
    c = np.asarray(counter, dtype=np.float64)
    missing = np.zeros(c.size, dtype=np.int64)
    wrap = int(columns.packet_counter_wrap)
    ok = np.flatnonzero(np.isfinite(c))
    if not wrap or ok.size == 0:
        return missing
    first, step = int(columns.packet_counter_first), int(columns.packet_counter_step)
    packet = np.mod(np.round(c[ok]).astype(np.int64) - first, wrap)
    prev0 = packet[0] if previous is None or not np.isfinite(previous) else \
        np.mod(int(round(previous)) - first, wrap)
    jump = np.mod(np.diff(packet, prepend=prev0), wrap)
    lost = np.where(jump == 0, 0, jump // step - 1)
    missing[ok] = np.maximum(lost, 0) * int(columns.samples_per_packet)
    return missing


def test_missing_samples_is_its_formula_for_any_counter():
    """The counter is read in place, with the low bits for a wrap (or step)
    that is a power of two: the same samples lost as the plain formula, for
    every board's numbering, NaN, inf, halves and values out of range."""
    from dataclasses import replace

    rng = np.random.default_rng(0)
    base = get_profile("cyton").columns
    pool = np.array([0, 1, 2, 2.5, 3.5, -1, 255, 256, 257, 100, 101, np.nan, np.inf,
                     -np.inf, 1e30, 7.5, 1e19])
    with np.errstate(all="ignore"):
        for _ in range(3000):
            columns = replace(base, packet_counter_wrap=int(rng.choice([256, 100, 3, 1, -4, 0])),
                              packet_counter_step=int(rng.choice([1, 2, 3, 4, 0])),
                              packet_counter_first=int(rng.choice([0, 1, 101])),
                              samples_per_packet=int(rng.choice([1, 2, 3])))
            n = int(rng.integers(0, 12))
            c = rng.choice(pool, n) + rng.integers(0, 300, n) * (rng.random() < 0.5)
            previous = rng.choice([None, 3.0, np.nan, 255.0, 2.5])
            got = missing_samples(c, columns, previous)
            assert got.dtype == np.int64
            assert np.array_equal(got, _missing_by_the_formula(c, columns, previous))
