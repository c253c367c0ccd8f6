"""Dropped samples from a board's packet counter, as its driver writes it."""

from __future__ import annotations

import numpy as np


def missing_samples(counter, columns, previous=None):
    """Count the samples lost before each sample from the packet counter.

    The counter is read as :class:`~biofeedback.hardware.Columns` describes
    it: values cycle through ``packet_counter_wrap`` counter units starting at
    ``packet_counter_first``, advance by ``packet_counter_step`` per packet,
    and ``samples_per_packet`` consecutive samples share one value. A jump of
    ``k`` packets loses ``(k - 1) * samples_per_packet`` samples.

    Parameters
    ----------
    counter : array-like, shape (n_times,)
        The counter row (integers stored as floats are fine).
    columns : Columns
        The board profile's rows and counter description.
    previous : float | None
        The counter of the sample just before ``counter[0]`` (the last one of
        the previous chunk), or None at the start of a stream.

    Returns
    -------
    missing : ndarray of int64, shape (n_times,)
        Samples lost just before each sample (0 almost everywhere; all 0 when
        the board has no usable counter).

    Notes
    -----
    A loss of a whole number of counter cycles (256 samples on a Cyton, about
    1 s) leaves the counter where it was and cannot be seen from it alone.
    Non-finite counter values are skipped.
    """
    c = np.asarray(counter, dtype=np.float64)
    wrap = int(columns.packet_counter_wrap)
    if not wrap or c.size == 0:
        return np.zeros(c.size, dtype=np.int64)
    # (in place, one array at a time: an hour of a Cyton's counter in 5 ms, not 25)
    finite = np.isfinite(c)
    ok = None if finite.all() else np.flatnonzero(finite)
    del finite
    if ok is not None and ok.size == 0:
        return np.zeros(c.size, dtype=np.int64)
    step = int(columns.packet_counter_step)
    first = int(columns.packet_counter_first)
    packet = np.round(c if ok is None else c[ok]).astype(np.int64)
    if first:
        packet -= first
    _mod(packet, wrap)
    if previous is None or not np.isfinite(previous):
        prev0 = packet[0]
    else:
        prev0 = np.mod(int(round(previous)) - first, wrap)
    jump = np.empty_like(packet)  # counter units since the last sample
    jump[0] = packet[0] - prev0
    np.subtract(packet[1:], packet[:-1], out=jump[1:])
    del packet
    _mod(jump, wrap)
    # 0: the same packet (or a repeated one), step: the next packet; either
    # loses none (a jump of 0 to step - 1 counter units is -1 packets lost, or 0)
    if step > 0 and step & (step - 1) == 0:
        np.right_shift(jump, step.bit_length() - 1, out=jump)  # floor division
    else:
        np.floor_divide(jump, step, out=jump)
    jump -= 1
    np.maximum(jump, 0, out=jump)
    if int(columns.samples_per_packet) != 1:
        jump *= int(columns.samples_per_packet)
    if ok is None:
        return jump
    missing = np.zeros(c.size, dtype=np.int64)
    missing[ok] = jump
    return missing


def _mod(x, wrap):
    """``x`` modulo ``wrap`` (floored, as ``np.mod``) in place, for int64 ``x``."""
    if wrap > 0 and wrap & (wrap - 1) == 0:  # two's complement: the low bits
        np.bitwise_and(x, wrap - 1, out=x)
    else:
        np.mod(x, wrap, out=x)
    return x


def counter_values(sample_index, columns):
    """The counter a board's driver writes for samples at these indices.

    Parameters
    ----------
    sample_index : array-like of int, shape (n_times,)
        Index of each sample since the start, counting lost samples too.
    columns : Columns

    Returns
    -------
    counter : ndarray of float64, shape (n_times,)
        Zeros when the board has no counter.
    """
    idx = np.asarray(sample_index, dtype=np.int64)
    if not columns.packet_counter_wrap:
        return np.zeros(idx.size)
    packet = idx // columns.samples_per_packet
    return (columns.packet_counter_first
            + np.mod(packet * columns.packet_counter_step, columns.packet_counter_wrap)
            ).astype(np.float64)


def cycle_samples(columns) -> int:
    """Samples in one full turn of the counter (0 when the board has none)."""
    if not columns.packet_counter_wrap:
        return 0
    return (columns.packet_counter_wrap // columns.packet_counter_step) * columns.samples_per_packet


#: Samples by which host stamps may miss a loss the counter counts (they come
#: in bursts: a serial port read every 16 ms, a Bluetooth packet at a time).
RESTART_SLACK = 5


def on_first(counter, columns):
    """Where a restarted counter may start: its cycle's first value, or 0.

    The first value is compared modulo the counter's wrap, so a Ganglion's
    (``packet_counter_first`` 1, wrap 100) is 1 and 101 alike, whichever
    numbering its driver chose; 0 is where every stream starts (the
    Ganglion's first, uncompressed sample, outside its cycle).

    Parameters
    ----------
    counter : ndarray, shape (n,)
        Counter values (floats; non-finite ones are never a start).
    columns : Columns

    Returns
    -------
    start : ndarray of bool, shape (n,)
    """
    c = np.round(np.asarray(counter, dtype=np.float64))
    start = c == 0
    first, wrap = columns.packet_counter_first, columns.packet_counter_wrap
    with np.errstate(invalid="ignore"):
        top = float(np.max(c, initial=0.0, where=np.isfinite(c)))
        if (top - first) / wrap > 16:  # a counter out of its range: the slow way
            return start | (np.mod(c - first, wrap) == 0)
    for value in np.arange(first, top + 1, wrap):  # a few values: cheaper than np.mod
        if value:
            start |= c == value
    return start


def widen_by_clock(missing, timestamps, sfreq, columns, previous_ts=None, *,
                   counter=None, previous=None):
    """Add whole counter turns that the host clock says a gap also lasted.

    A loss of whole counter turns leaves the counter where it was; where the
    clock shows a jump longer than a turn, the turns it spans are added. The
    clock is coarse (host arrival times), so only whole turns are taken from it.
    On a board of one sample a packet, a counter that repeats its value
    (:func:`missing_samples` counts no loss: a packet sent twice) lost a turn
    less one packet, or whole turns less one, when the clock shows a pause of
    at least half a turn (255 samples lost on a Cyton bring its counter back
    to the same value).
    A counter jump half a turn longer than the clock allows is a restart (the
    device reconnected), not a loss: that gap is sized by the clock. So is a
    jump onto the counter's first value (or 0: see :func:`on_first`) that
    the clock sizes more than :data:`RESTART_SLACK` samples apart
    (BrainFlow's ``stop_stream`` then ``start_stream`` starts the counter
    again at 0): across a restart the counter says nothing.

    Parameters
    ----------
    missing : ndarray of int64, shape (n_times,)
        From :func:`missing_samples`; changed in place and returned.
    timestamps : ndarray, shape (n_times,)
        Seconds, one per sample present.
    sfreq : float
        Nominal rate.
    columns : Columns
    previous_ts : float | None
        Timestamp of the sample before ``timestamps[0]``.
    counter : array-like | None
        The counter row itself, to find the restarts onto its first value
        and the repeated values.
    previous : float | None
        The counter of the sample before ``counter[0]``.

    Returns
    -------
    missing : ndarray of int64, shape (n_times,)
        ``missing``, widened and with the restarts' gaps sized by the clock.
    restarts : ndarray of int64, shape (n_restarts,)
        Indices of the samples after a restart (their gaps sized by the
        clock), in increasing order.
    """
    turn = cycle_samples(columns)
    ts = np.asarray(timestamps, dtype=np.float64)
    if not turn or not sfreq or ts.size == 0:
        return missing, np.zeros(0, dtype=np.int64)
    prev = ts[0] if previous_ts is None else previous_ts
    dt = np.diff(ts, prepend=prev)
    wide = dt > turn / sfreq
    repeat = _repeats(counter, columns, previous)
    if repeat is not None:
        wide |= repeat & (dt * sfreq - 1 >= turn / 2)
    for i in np.flatnonzero(wide):
        estimate = int(round(dt[i] * sfreq)) - 1
        if repeat is not None and repeat[i]:  # a turn less one packet, or none
            missing[i] = max(int(round((estimate + 1) / turn)) * turn - 1, 0)
            continue
        turns = int(round((estimate - missing[i]) / turn))
        if turns > 0:
            missing[i] += turns * turn
    return missing, clock_restarts(missing, ts, sfreq, columns, previous_ts,
                                   counter=counter)


def _repeats(counter, columns, previous=None):
    """Where the counter of a board of one sample a packet repeats the value
    before it (None for other boards, or without a counter)."""
    if counter is None or columns.samples_per_packet != 1:
        return None
    c = np.round(np.asarray(counter, dtype=np.float64))
    before = np.empty_like(c)
    before[0] = np.nan if previous is None else round(previous)
    before[1:] = c[:-1]
    return c == before  # (NaN equals nothing)


def counted_losses(counter, timestamps, sfreq, columns):
    """The samples lost before each sample of a file's whole counter row.

    :func:`missing_samples`, then :func:`widen_by_clock` and
    :func:`quiet_restarts` on the file's clock, read in blocks (no temporary
    as long as the recording), as every reader of a board's counter reads it.

    Parameters
    ----------
    counter : ndarray, shape (n_times,)
    timestamps : ndarray, shape (n_times,)
        The file's clock, seconds.
    sfreq : float
    columns : Columns

    Returns
    -------
    missing : ndarray of int64, shape (n_times,)
        0 at the first sample.
    restarts : set of int
        Indices of the samples after a restart (their gaps sized by the clock).
    widened : set of int
        Indices of the samples after a loss that whole counter turns, which
        only the clock shows, make longer (sized to the clock's precision).
    """
    missing = np.empty(np.shape(counter)[0], dtype=np.int64)
    restarts, widened = set(), set()
    previous = None
    for a in range(0, missing.size, _BLOCK):
        b = min(a + _BLOCK, missing.size)
        part = missing_samples(counter[a:b], columns, previous=previous)
        counted = part.copy()
        missing[a:b], at = widen_by_clock(part, timestamps[a:b], sfreq, columns,
                                          previous_ts=timestamps[a - 1] if a else None,
                                          counter=counter[a:b], previous=previous)
        restarts.update((at + a).tolist())
        widened.update((np.flatnonzero(missing[a:b] > counted) + a).tolist())
        last = last_counter(counter[a:b])
        previous = previous if last is None else last
    if missing.size:
        missing[0] = 0
    restarts.update(quiet_restarts(missing, timestamps, sfreq, columns,
                                   counter=counter).tolist())
    restarts.discard(0)
    return missing, restarts, widened - restarts


def clock_restarts(missing, timestamps, sfreq, columns, previous_ts=None, *,
                   counter=None):
    """Find where the counter restarted, and size those gaps by the clock.

    A counter that restarts (a headset reconnected) reads as a jump of almost
    a turn: 51 min of samples on a Muse. A jump half a turn longer than the
    clock allows is no loss but a restart. So is a jump onto the counter's
    first value (modulo its wrap, or 0: see :func:`on_first`) that the clock
    sizes more than :data:`RESTART_SLACK` samples apart. Only the samples
    after a loss are looked at: both tests ask for one.

    Parameters
    ----------
    missing : ndarray of int64, shape (n_times,)
        Samples lost before each sample, whole turns added
        (:func:`widen_by_clock`); the restarts' are set to the clock's count
        in place.
    timestamps : ndarray, shape (n_times,)
        Seconds, one per sample present.
    sfreq : float
        Nominal rate.
    columns : Columns
    previous_ts : float | None
        Timestamp of the sample before ``timestamps[0]``.
    counter : array-like | None
        The counter row itself, to find the restarts onto its first value.

    Returns
    -------
    restarts : ndarray of int64, shape (n_restarts,)
        Indices of the samples after a restart, in increasing order.

    Notes
    -----
    A loss that ends exactly on the counter's first value (one loss in 256 on
    a Cyton) is a jump onto it, as a restart is; it stays a loss because the
    clock agrees with the counter within :data:`RESTART_SLACK` samples. That
    holds while the stamps across that one step are right within those
    samples: a host that reads the board every 16 ms or sooner (a serial
    dongle). A host that hands samples over in bursts further apart (32 ms,
    Bluetooth connection intervals) can make such a loss a restart, its gap
    sized by the clock and off by up to a burst. A restart whose pause the
    clock sizes within :data:`RESTART_SLACK` samples of the counter's jump
    (whole turns included) is read as that loss: the same size within those
    samples, under the source of a loss. A restart with no jump at all (from
    the counter's last value to its first) is :func:`quiet_restarts`'s.
    """
    turn = cycle_samples(columns)
    at = np.flatnonzero(missing)
    if not turn or not sfreq or at.size == 0:
        return np.zeros(0, dtype=np.int64)
    ts = np.asarray(timestamps, dtype=np.float64)
    before = ts[np.maximum(at - 1, 0)]
    if at[0] == 0:
        before[0] = ts[0] if previous_ts is None else previous_ts
    step = ts[at] - before
    by_clock = np.maximum(np.round(step * sfreq) - 1, 0)
    restarted = missing[at] > np.maximum(step, 0) * sfreq + turn / 2
    if counter is not None:
        first = on_first(np.asarray(counter, dtype=np.float64)[at], columns)
        restarted |= first & (np.abs(by_clock - missing[at]) > RESTART_SLACK)
    missing[at[restarted]] = by_clock[restarted].astype(np.int64)
    return at[restarted]


#: Seconds after a pause in which a host that stalled has handed over the
#: samples it held back, and seconds before it over which the stamps' least
#: delay is taken (see :func:`quiet_restarts`).
CATCH_UP = 1.0
SETTLED = 0.25
_BLOCK = 1 << 16


def quiet_restarts(missing, timestamps, sfreq, columns, *, counter):
    """Find the restarts at which the counter shows no jump; size them by the clock.

    A counter stopped at its last value and started again at its first
    (BrainFlow's ``stop_stream`` at 255, ``start_stream`` at 0) steps as by
    one packet, so :func:`missing_samples` says nothing was lost and
    :func:`clock_restarts` has no jump to test. The clock shows the pause, but
    so does a host that stalled and then handed over the samples it held back,
    with nothing lost. They differ after the pause: held-back samples come in
    a burst and their stamps catch up; a restarted stream's never do. A step
    onto the counter's first value (modulo its wrap, or 0: see
    :func:`on_first`), from a value that is neither, that lost nothing by
    the counter is a restart when the stamps of the :data:`CATCH_UP` seconds
    after it stay more than :data:`RESTART_SLACK` samples later than those of
    the :data:`SETTLED` seconds before it, each side taken at its least delay
    (the host reads samples in bursts: the last of a burst is the least late).

    Parameters
    ----------
    missing : ndarray of int64, shape (n_times,)
        Samples lost before each sample, of the whole row (after
        :func:`widen_by_clock`); a restart's is set to the clock's count in
        place (the step's periods minus one, as :func:`clock_restarts` does).
    timestamps : ndarray, shape (n_times,)
        Seconds, one per sample present.
    sfreq : float
        Nominal rate.
    columns : Columns
    counter : ndarray, shape (n_times,)
        The counter row.

    Returns
    -------
    restarts : ndarray of int64, shape (n_restarts,)
        Indices of the samples after such a restart, in increasing order.

    Notes
    -----
    The stamps are compared with the declared rate: held-back samples catch up
    to within a few samples when the true rate is within 1 % of it. A host
    that stalls longer than :data:`CATCH_UP` without losing a sample, or a
    board that runs some percent slower than declared, can make a stall whose
    held-back samples start at the counter's first value a restart; a restart
    whose pause is no longer than :data:`RESTART_SLACK` samples is not seen.
    The whole row is scanned at once (the windows reach across any block);
    only the steps onto the first value that the clock shows as a pause are
    looked at closely.
    """
    turn = cycle_samples(columns)
    ts = np.asarray(timestamps, dtype=np.float64)
    c = np.asarray(counter, dtype=np.float64)
    if not turn or not sfreq or ts.size < 2:
        return np.zeros(0, dtype=np.int64)
    found = []
    for a in range(1, c.size, _BLOCK):  # a value a turn: a few hundred a block
        at = a + np.flatnonzero(on_first(c[a: a + _BLOCK], columns))
        at = at[(missing[at] == 0) & ~on_first(c[at - 1], columns)]
        at = at[np.round((ts[at] - ts[at - 1]) * sfreq) - 1 > RESTART_SLACK]
        found.extend(at.tolist())
    restarts = [i for i in found if _late_after(i, missing, ts, sfreq) > RESTART_SLACK]
    for i in restarts:
        missing[i] = int(round((ts[i] - ts[i - 1]) * sfreq)) - 1
    return np.asarray(restarts, dtype=np.int64)


def _late_after(i, missing, ts, sfreq):
    """Samples by which the stamps from ``i`` on stay later than those before
    it, each side at its least delay, lost samples counted in between."""
    lo = max(i - max(int(round(SETTLED * sfreq)), 1), 0)
    hi = min(i + max(int(round(CATCH_UP * sfreq)), 1), ts.size)
    # each sample's place in periods (i at 0, i - 1 at -1: no pause assumed)
    place = np.concatenate([[0], np.cumsum(1 + missing[lo + 1: hi])]).astype(np.float64)
    place -= place[i - lo]
    early = ts[lo:hi] - place / sfreq  # the stamp less the time its place takes
    return float(early[i - lo:].min() - early[: i - lo].min()) * sfreq


def last_counter(counter):
    """The last finite value of a counter row, or None."""
    c = np.asarray(counter, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(c))
    return float(c[ok[-1]]) if ok.size else None


def counted_missing(counter, columns):
    """:func:`missing_samples` of a whole counter row, read in blocks: the
    samples lost before each sample by the counter alone, no clock asked."""
    missing = np.empty(np.shape(counter)[0], dtype=np.int64)
    previous = None
    for a in range(0, missing.size, _BLOCK):
        b = min(a + _BLOCK, missing.size)
        missing[a:b] = missing_samples(counter[a:b], columns, previous=previous)
        last = last_counter(counter[a:b])
        previous = previous if last is None else last
    return missing
