"""Integrity checks shared by every reader: gaps, clocks, railed and flat channels.

Nothing here changes the data: problems become :class:`Gap` entries and warning
sentences, never interpolation. Losses a recording marked itself are read
(and written) by :mod:`._losses`.
"""

from __future__ import annotations

import numpy as np

from .._words import agree, counted, listed
from ..quality import RAIL_FRACTION, RAILED_SHARE, rail_share
from ..stream._source import loss_line  # noqa: F401 (one line everywhere)
from ._losses import (  # noqa: F401 (read with the other checks)
    LOSSES_MARKED,
    gaps_from_loss_markers,
    loss_counts,
    loss_markers,
    marker_gaps,
)
from ._types import Gap

# A timestamp step longer than this many sample periods is a gap.
_GAP_PERIODS = 2.5
# A backwards step or a forward jump longer than this (seconds) is a clock jump.
_CLOCK_JUMP_S = 1.0
# Declared and measured rates may differ by this fraction before we warn.
_RATE_TOLERANCE = 0.01
# Long recordings are scanned in blocks of this many samples (every reader's
# block-wise pass uses it: no temporary as long as the recording).
_BLOCK = 1 << 16


def gap_threshold(dt, sfreq):
    """Step (s) above which samples are missing.

    Regular timestamps (written per sample) show a single dropped sample, so
    1.5 periods; jittery ones (LSL chunks, host clocks) need 2.5 periods.
    """
    period = 1.0 / sfreq
    regular = _regular(dt, period)
    return 1.5 * period if regular else _GAP_PERIODS * period


def _regular(dt, period):
    """Whether the 99.5th percentile of ``|dt - period|`` over the positive
    steps is under 5 % of a period.

    Judged at a high percentile: packetised streams (Muse sends 12 samples a
    packet) jitter only at packet boundaries, which a median hides. The
    steps under the bound are counted in blocks (a long recording's copy of
    its steps would outweigh its EEG); only when that count leaves the
    percentile within a step of the bound is the percentile itself computed.
    """
    bound = 0.05 * period
    n_pos = n_below = 0
    for a in range(0, dt.size, _BLOCK):
        pos = dt[a: a + _BLOCK]
        pos = pos[pos > 0]
        n_pos += pos.size
        n_below += int(np.count_nonzero(np.abs(pos - period) < bound))
    if not n_pos:
        return False
    at = int(0.995 * (n_pos - 1))  # the percentile lies between sorted[at] and [at + 1]
    if n_below > at + 2:  # sorted[at + 1] is under the bound: so is the percentile
        return True
    if n_below < at - 1:  # sorted[at] is not: neither is the percentile
        return False
    dev = dt[dt > 0]  # a copy, turned in place into |dt - period|
    dev -= period
    np.abs(dev, out=dev)
    return bool(np.percentile(dev, 99.5, overwrite_input=True) < bound)


def timestamp_steps(timestamps, sfreq):
    """``(steps, gap threshold)`` of finite timestamps, or None.

    :func:`check_timestamps` and :func:`timestamp_gaps` take it as ``steps=``
    so that a reader checking both computes the steps of a long recording
    once.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if not sfreq or ts.size < 2 or not np.isfinite(ts).all():
        return None
    dt = np.diff(ts)
    return dt, gap_threshold(dt, sfreq)


def unrounded_stamps(timestamps, sfreq, *, lost=None, step=None):
    """Timestamps a spreadsheet cut to whole seconds, rebuilt from the rate.

    Excel shows a number in its General format with 11 characters and saves a
    CSV as it shows it: a Unix time such as ``1700000000.1234`` becomes
    ``1700000000``, held for a second's worth of samples, which the gap check
    reads as a second lost every second. Timestamps that never go back, repeat
    for at least half of the samples and move only in whole steps of a power of
    ten seconds (1 s, 0.1 s, 0.01 s...) longer than a sample period (Excel's
    Number format keeps 2 decimals) are taken for such: when the rate
    explains them (every stamp within one step of the first stamp plus its
    sample count over the rate), they are rebuilt from it, the first sample
    placed mid-way in what the stamps allow.

    Parameters
    ----------
    timestamps : ndarray, shape (n_times,)
    sfreq : float
        The nominal rate.
    lost : callable | None
        Returns the samples lost just before each sample (int, shape
        (n_times,)), as a packet counter counts them: the rebuild then places
        them rather than stopping at them. Called only for stamps cut so.
        None (no counter) rebuilds only stamps that lost nothing.
    step : float | None
        The step (s) the cells' text says they were cut to (a spreadsheet's
        ``1.67879E+12`` ms holds 6 digits: steps of 10,000 s), for stamps that
        may not move at all within the file; their own steps refine it.
        None: the stamps' steps alone tell it.

    Returns
    -------
    timestamps : ndarray, shape (n_times,)
        Rebuilt, or the same array when they were not cut so or the rate
        (and counter) does not explain them.
    warning : str | None
        What was found and done, or None.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    # most files repeat no stamp: said by one pass of bytes, before any steps are made
    if not sfreq or ts.size < 3 or np.count_nonzero(ts[1:] == ts[:-1]) < (ts.size - 1) / 2:
        return timestamps, None
    dt = np.diff(ts)
    pos = dt[dt > 0]
    if not (pos.size or step) or not np.isfinite(ts).all() or (dt < 0).any():
        return timestamps, None
    if pos.size:
        seen = 10.0 ** np.round(np.log10(pos.min()))
        step = seen if step is None else min(float(step), seen)
    tol = max(1e-6 * step, 8 * float(np.spacing(np.abs(ts).max())))
    whole = np.round(pos / step)
    if step <= 1.0 / sfreq or (whole < 1).any() or (np.abs(pos - whole * step) > tol).any():
        return timestamps, None
    counted = lost is not None
    own = np.arange(ts.size, dtype=np.float64)  # each sample's place after the first
    if counted:
        own[1:] += np.cumsum(lost()[1:])
    own /= sfreq
    off = ts - own  # the first sample's time, as each stamp gives it to within a step
    lo, hi = float(off.min()), float(off.max())
    held = f"steps of {step:g} s" if step != 1 else "whole seconds"
    said = (f"The timestamps hold {held} only, each repeated for about "
            f"{np.median(np.diff(np.flatnonzero(dt > 0))) if pos.size > 1 else ts.size:.0f} "
            "samples, as a spreadsheet saves Unix times it shows with fewer decimals")
    rate = f"the {sfreq:g} Hz rate" + (" and the packet counter" if counted else "")
    if hi - lo > step + 2.0 / sfreq:  # samples lost between: the rate cannot rebuild them
        sized = ("the recording is placed on them only to the step" if counted else
                 "the gaps they show are sized only to the step")
        return timestamps, (f"{said}; they do not follow {rate}, so {sized}: export the "
                            "file again from its source, or save its timestamp column as "
                            "a number with 6 decimals.")
    # the first sample lies within half a step of every stamp's own start
    within = (step - (hi - lo)) / 2
    start = (f"; the stamps place the recording only to within ±{within:.0f} s"
             if within > 1.0 else "")
    return (lo + hi) / 2 + own, (f"{said}; they are rebuilt from {rate}" + (
        ", which counts the samples lost" if counted else
        ", so samples lost inside the file cannot be told") + start + ".")


def burst_stamps(timestamps, sfreq, *, window=2.0):
    """Per-sample stamps and gaps for samples stamped as they arrived, a
    Bluetooth packet at a time (Mind Monitor stamps each row so), or None
    when the stamps are not in bursts.

    Within a burst the stamps say nothing of the samples' times, and between
    bursts they step by many periods: read as they are, every burst looks
    like a gap. The samples' count does: ``d_k = (t_k - t_0) * sfreq - k``
    is how far the stamps run ahead of it. A sample arrives after it was
    taken, so the least of ``d`` over ``window`` seconds (the packets that
    came soonest) is the count's offset, and it steps up by the samples lost
    where they were lost: a gap where the least over the window after a
    sample passes the least over the window before it by more than
    :data:`_GAP_PERIODS` samples, as many samples as the largest step of
    that stretch, after the first sample where the step passes half of that
    (before it, the window after still holds samples taken before the loss);
    a window cut short by either end must hold half a window. A stall
    (packets held back, then handed over at once) lifts the least only until
    its samples are in, and loses nothing: a step is a loss when the least,
    from its end until the stall it would be is over (its first sample came
    as many samples late as it held back) and two windows on, stays above
    what it was. A loss inside a stall is placed at the stall's start.
    Stamps are rebuilt as ``t_0 + (k + lost_k + offset_k) / sfreq``, the
    offset the least of ``d`` without the losses (over a stall, the least
    beyond it), smoothed over the window (a phone's clock a little fast or
    slow is followed).

    Returns
    -------
    stamps : ndarray, shape (n_times,)
    gaps : list of Gap
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ts = np.asarray(timestamps, dtype=np.float64)
    if not sfreq or ts.size < 3 or not np.isfinite(ts).all():
        return None
    dt = np.diff(ts)
    # in bursts: a quarter of the steps or more under half a period, none back
    if dt.min() < 0 or np.count_nonzero(dt < 0.5 / sfreq) < 0.25 * dt.size:
        return None
    n = ts.size
    w = max(int(window * sfreq), 2)
    k = np.arange(n, dtype=np.float64)
    d = (ts - ts[0]) * sfreq - k
    # the least over [j - w + 1, j] and over [j + 1, j + w]
    before = minimum_filter1d(d, w, origin=(w - 1) // 2, mode="nearest")
    after = minimum_filter1d(d, w, origin=-(w // 2), mode="nearest")
    # Windows cut short by the ends hold fewer packets, whose least is no lower:
    # before a sample that hides a loss, after it that makes one (the last
    # packets came late). Each must hold half a window: a loss within that of
    # either end is not told.
    m = max(w // 2, 1)
    jump = np.zeros(n)
    jump[m - 1: n - m] = after[m: n - m + 1] - before[m - 1: n - m]
    # a loss after sample j: the step passes the bound from j on (before it, the
    # window after still holds the samples up to j) for about a window
    over = np.concatenate([[False], jump > _GAP_PERIODS, [False]])
    edges = np.flatnonzero(over[1:] != over[:-1]).reshape(-1, 2)
    # Samples lost lift the least for good; a stall (packets held back, then
    # handed over at once) only until its samples are in. Its first sample
    # came latest, by about as many samples as it held back (``rise``): the
    # least from the step's end to that many samples and two windows on is
    # back where it was before.
    held, kept = [], []  # (first, end) of the stalls; (after, size) of the losses
    for a, b in edges.tolist():
        peak = float(jump[a:b].max())
        # where the step passes half its size: a packet before the loss that
        # came late lifts the least after it by less than that
        j = a + int(np.argmax(jump[a:b] > peak / 2))
        rise = max(int(np.ceil(d[a: b + w].max() - before[a])), 0)
        end = min(a + rise + 2 * w, n)
        if a == m - 1 or (end == n and n - a < rise + m):
            held.append((a, end))  # lost before the first quarter window, or the
            continue  # file ends before a stall's samples could be in: not told
        step = float(d[b:end].min()) - float(before[a])
        if step <= _GAP_PERIODS:
            held.append((a, end))
        elif rise - peak <= w / 2:
            kept.append((j, peak))
        else:  # a stall longer than the window rides on it: the step once it is over
            kept.append((j, step))
            held.append((a, end))
    at = np.array([j for j, _ in kept], dtype=np.int64)
    missing = np.rint([size for _, size in kept])
    lost = np.zeros(n)
    lost[at + 1] = missing
    np.cumsum(lost, out=lost)
    base = minimum_filter1d(d - lost, 2 * w + 1, mode="nearest")
    for a, end in held:  # a stall longer than the window: its least is beyond it
        lo = max(a - w, 0)
        base[lo:end] = minimum_filter1d(d[lo:end] - lost[lo:end], 2 * (end - lo) + 1,
                                        mode="nearest")
    offset = uniform_filter1d(base, 2 * w + 1, mode="nearest")
    stamps = ts[0] + (k + lost + offset) / sfreq
    gaps = [Gap(onset=float(stamps[i]), duration=float(stamps[i + 1] - stamps[i])
                - 1.0 / sfreq, n_missing=int(m), source="timestamps")
            for i, m in zip(at.tolist(), missing.tolist())]
    return stamps, gaps


def timestamp_gaps(timestamps, sfreq, *, source="timestamps", steps=None):
    """Find forward jumps in ``timestamps`` longer than a few sample periods.

    Returns
    -------
    gaps : list of Gap
        ``onset`` is the last sample before the jump, ``duration`` the missing
        time (the step minus one period), ``n_missing`` the samples it would hold.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if not sfreq or ts.size < 2:
        return []
    if steps is not None:
        dt, threshold = steps
    else:
        dt = np.diff(ts)
        threshold = gap_threshold(dt, sfreq)
    period = 1.0 / sfreq
    idx = np.flatnonzero(dt > threshold)
    gaps = []
    for i in idx:
        step = float(dt[i])
        n_missing = max(int(round(step * sfreq)) - 1, 1)
        gaps.append(
            Gap(
                onset=float(ts[i]),
                duration=step - period,
                n_missing=n_missing,
                source=source,
            )
        )
    return gaps


def check_timestamps(timestamps, sfreq, *, declared=True, steps=None):
    """Report non-monotonic, duplicated and jumping timestamps and rate mismatch.

    Returns
    -------
    measured : float
        Effective rate over the stretches without gaps (0 if unknown).
    warnings : list of str
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    warnings = []
    if ts.size < 2:
        return 0.0, warnings
    if not np.all(np.isfinite(ts)):
        warnings.append(f"{int(np.sum(~np.isfinite(ts)))} timestamps are NaN or inf.")
        ts = ts[np.isfinite(ts)]
        if ts.size < 2:
            return 0.0, warnings
    dt, threshold = steps if steps is not None else (np.diff(ts), None)
    n_back = int(np.sum(dt < 0))
    n_dup = int(np.sum(dt == 0))
    if n_back:
        worst = float(-dt.min())
        warnings.append(
            f"Timestamps go backwards {n_back} times (largest step back "
            f"{worst:.3f} s)."
        )
    if n_dup:
        warnings.append(f"{n_dup} timestamps repeat the previous one.")
    n_jump = int(np.sum(dt < -_CLOCK_JUMP_S))
    if n_jump:
        warnings.append(f"The clock jumps back by more than {_CLOCK_JUMP_S:g} s "
                        f"{n_jump} times.")
    measured = 0.0
    if sfreq:
        if threshold is None:
            threshold = gap_threshold(dt, sfreq)
        ok = (dt > 0) & (dt <= threshold)
        n_ok = ok.sum()
        if n_ok >= 1:  # (every step ok: the same sum without a copy of the steps)
            measured = float(n_ok / (dt.sum() if n_ok == dt.size else dt[ok].sum()))
        if declared and measured and abs(measured - sfreq) > _RATE_TOLERANCE * sfreq:
            warnings.append(
                f"The measured sampling rate {measured:.3f} Hz differs from the "
                f"declared {sfreq:g} Hz by more than {_RATE_TOLERANCE:.0%}."
            )
    elif dt.size and np.median(dt) > 0:
        measured = float(1.0 / np.median(dt))
    return measured, warnings


def counted_rate(timestamps, gaps, sfreq, *, min_span=1.0,
                 counted="the package counter's samples"):
    """The rate a packet counter gives: samples sent over the stamps' span.

    A host that stamps samples as it reads them (BrainFlow: a serial port
    read every 16 ms, a Bluetooth packet at a time) stamps them in bursts,
    so steps within a burst say nothing of the rate; the samples the counter
    says were sent (those present and those lost) over the whole span do.

    Where the counter restarted (gaps of source ``packet_counter_restart``, sized by
    the stamps) it counts nothing: the restart's step is left out of the span
    and of the samples. A gap after the last sample (a stream still lost
    when a session ended) lies outside the span and is left out too.
    ``counted``: what counted the samples, as the warning says it.

    Returns
    -------
    measured : float
        0 when the span is shorter than ``min_span`` seconds.
    warnings : list of str
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size < 2 or not sfreq:
        return 0.0, []
    restarts = [g for g in gaps if g.source == "packet_counter_restart"]
    span = float(ts[-1] - ts[0]) - sum(g.duration + 1 / sfreq for g in restarts)
    if not np.isfinite(span) or span < min_span:
        return 0.0, []
    last = float(ts[-1]) - 0.5 / sfreq
    sent = ts.size - 1 - len(restarts) + sum(g.n_missing for g in gaps
                                             if g.source != "packet_counter_restart"
                                             and g.onset < last)
    measured = sent / span
    if abs(measured - sfreq) <= _RATE_TOLERANCE * sfreq:
        return measured, []
    return measured, [
        f"The measured sampling rate {measured:.3f} Hz ({counted} "
        f"over the timestamps' span) differs from the declared {sfreq:g} Hz by more "
        f"than {_RATE_TOLERANCE:.0%}."]


def gap_warning(gaps, what="gap", how=""):
    """One sentence summarising ``gaps`` (or an empty list).

    ``what`` names one gap; ``how`` (e.g. "packet counter") how they were found.
    """
    if not gaps:
        return []
    total = sum(g.duration for g in gaps)
    n = sum(g.n_missing for g in gaps)
    return [
        f"{counted(len(gaps), what)}{f' ({how})' if how else ''} ({counted(n, 'sample')}, "
        f"{total:.3f} s missing in total); kept as gaps, not interpolated."
    ]


#: Samples beyond this multiple of the full scale cannot come from the amplifier.
IMPOSSIBLE_FRACTION = 1.5
#: Arrays of at least this many samples are checked by the one-pass kernel; a
#: smaller one (a 30 s recording) by NumPy, sparing the process the 5 to 10 ms
#: of loading the kernel, which saves 2 ms (Muse) to 9 ms (BrainFlow) an hour.
ONE_PASS_MIN_SAMPLES = 1 << 21


def channel_problems_aside(data, ch_names, rail_v=None, scale=None):
    """:func:`channel_problems` of ``data``, first scaled in place by ``scale``,
    started on a thread of its own when ``data`` is long enough for the
    one-pass kernel (which, like NumPy's product, releases the GIL), while
    the reader checks the clock and the counter.

    Returns a function that waits for it and gives ``(problems, warnings)``
    (or raises what it raised); ``data`` is not to be read before.
    """
    def check():
        if scale is not None:
            np.multiply(data, scale, out=data)
        return channel_problems(data, ch_names, rail_v)

    if data.size < ONE_PASS_MIN_SAMPLES:
        found = check()
        return lambda: found
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="biofeedback-check")
    try:
        return pool.submit(check).result
    finally:
        pool.shutdown(wait=False)


def channel_problems(data, ch_names, rail_v=None):
    """Find railed, flat and non-finite channels.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        Volts.
    rail_v : float | None
        Full-scale value in volts.

    Returns
    -------
    problems : dict
        ``{"railed": [...], "flat": [...], "nonfinite": {name: count}}``.
    warnings : list of str
    """
    railed, flat, nonfinite, empty, over = [], [], {}, [], []
    warnings = []
    if data.size == 0:
        return {"railed": railed, "flat": flat, "nonfinite": nonfinite}, warnings
    if (isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype == np.float64
            and data.flags.c_contiguous and data.size >= ONE_PASS_MIN_SAMPLES):
        _channel_problems_one_pass(data, ch_names, rail_v, railed, flat, nonfinite,
                                   empty, over)
    else:
        _channel_problems_numpy(data, ch_names, rail_v, railed, flat, nonfinite,
                                empty, over)
    alike = {}  # channels with the same NaN runs (a headset that sent nothing) share a line
    for name, count in nonfinite.items():
        if name in empty:
            warnings.append(f"Channel {name} holds no number at all ({count} NaN or inf "
                            "samples): it has no signal.")
        else:
            row = data[list(ch_names).index(name)]
            alike.setdefault((count, _nonfinite_runs(row)), []).append(name)
    for (count, (n_runs, longest, start)), names in alike.items():
        who = (f"Channel {names[0]} holds" if len(names) == 1 else
               f"Channels {', '.join(names)} each hold")
        where = (f"in one run, {start} samples into the recording" if n_runs == 1 else
                 f"in {n_runs} runs, the longest {longest} samples, {start} samples into "
                 "the recording")
        warnings.append(f"{who} {count} NaN or inf samples ({where}).")
    if over:
        shown = listed(f"{n} ({counted(k, 'sample')})" for n, k, _ in over)
        warnings.append(
            f"{agree(len(over), 'Channel', 'Channels')} {shown} "
            f"{agree(len(over), 'goes', 'go')} beyond the amplifier's full scale of "
            f"{rail_v * 1e6:.6g} µV (up to {max(p for _, _, p in over) * 1e6:.3g} µV): "
            "corrupt values, or a file in other units than the board's.")
    flat_shown = [name for name in flat if name not in empty]
    if railed:
        warnings.append(
            f"{counted(len(railed), 'railed channel')} ({listed(railed)}): at least "
            f"{RAILED_SHARE:.0%} of samples sit beyond {RAIL_FRACTION:.0%} of the "
            "amplifier's full scale."
        )
    if flat_shown:
        warnings.append(f"{counted(len(flat_shown), 'flat channel')} ({listed(flat_shown)}): "
                        "the signal never changes.")
    tiny = _tiny_span(data, set(flat) | set(empty), ch_names)
    if tiny is not None:
        warnings.append(
            f"Every channel's signal spans at most {tiny * 1e6:.2g} µV, where EEG spans "
            "tens: the file's unit is likely not the one it states (volts sent as "
            "microvolts?), and the quality gates will leave every window out; check the "
            "unit the recording's sender declares.")
    return {"railed": railed, "flat": flat, "nonfinite": nonfinite}, warnings


#: Every channel spanning less than this (volts, peak to peak) is no EEG in the
#: unit the file states: volts sent as microvolts span about 1e-10 V.
TINY_SPAN_V = 0.05e-6


def _tiny_span(data, skip, ch_names):
    """The largest peak-to-peak span (volts) of the channels not in ``skip``,
    when every one of them spans less than :data:`TINY_SPAN_V`, else None.
    Measured on every 16th sample: a unit's mistake is in every sample."""
    rows = [i for i, name in enumerate(ch_names) if name not in skip]
    if not rows or np.ndim(data) != 2 or data.shape[1] < 2:
        return None
    part = np.asarray(data[rows, ::16] if data.shape[1] >= 32 else data[rows], float)
    with np.errstate(invalid="ignore"):
        if not np.isfinite(part).any(axis=1).all():
            return None
        span = np.nanmax(part, axis=1) - np.nanmin(part, axis=1)
    top = float(np.max(span))
    return top if 0 < top < TINY_SPAN_V else None


def _nonfinite_runs(row):
    """``(n_runs, longest, start of the longest)`` of a row's NaN/inf runs."""
    starts, ends = _runs(~np.isfinite(row))
    k = int(np.argmax(ends - starts))
    return len(starts), int(ends[k] - starts[k]), int(starts[k])


def _runs(mask):
    """``(starts, stops)`` of the runs of True in the boolean array ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _channel_problems_one_pass(data, ch_names, rail_v, railed, flat, nonfinite, empty,
                               over):
    """:func:`_channel_problems_numpy` in one pass per row (a numba kernel): the
    same findings, without a row's temporaries (``isfinite``, ``abs``)."""
    from .._kernels._quality import channel_stats

    over_v = IMPOSSIBLE_FRACTION * rail_v if rail_v else np.inf
    rail_at = RAIL_FRACTION * rail_v if rail_v else np.inf
    stats = channel_stats(data, over_v, rail_at)
    n_t = data.shape[1]
    for name, (n_bad, peak, n_over, n_rail, lo, hi) in zip(ch_names, stats):
        n_bad, n_good = int(n_bad), n_t - int(n_bad)
        if n_bad:
            nonfinite[name] = n_bad
        if n_good == 0:
            flat.append(name)
            empty.append(name)
            continue
        if rail_v and float(peak) > over_v:
            over.append((name, int(n_over), float(peak)))
        if rail_v and int(n_rail) / n_good >= RAILED_SHARE:
            railed.append(name)
            continue
        if n_good > 1 and hi - lo == 0:
            flat.append(name)


def _channel_problems_numpy(data, ch_names, rail_v, railed, flat, nonfinite, empty, over):
    """The findings of :func:`channel_problems`, row by row with NumPy."""
    for name, row in zip(ch_names, data):
        bad = ~np.isfinite(row)
        nbad = int(bad.sum())
        if nbad:
            nonfinite[name] = nbad
            good = row[~bad]
        else:
            good = row
        if good.size == 0:
            flat.append(name)
            empty.append(name)
            continue
        if rail_v:
            # an amplifier cannot give more than its full scale: such samples are
            # corrupt, or the file is in other units than the board's
            peak = float(np.max(np.abs(good)))
            if peak > IMPOSSIBLE_FRACTION * rail_v:
                n_over = int(np.count_nonzero(np.abs(good) > IMPOSSIBLE_FRACTION * rail_v))
                over.append((name, n_over, peak))
        if rail_v and rail_share(good, rail_v) >= RAILED_SHARE:
            railed.append(name)
            continue
        if good.size > 1 and np.ptp(good) == 0:
            flat.append(name)


def railed_spans(row, rail_v, sfreq, min_samples=1):
    """Return (start, stop) sample spans where ``row`` sits at the rail.

    At the rail: ``|x| >= RAIL_FRACTION * rail_v``, as in
    :func:`biofeedback.quality.rail_share`.
    """
    with np.errstate(invalid="ignore"):
        at = np.abs(np.asarray(row)) >= RAIL_FRACTION * rail_v
    if not at.any():
        return []
    starts, stops = _runs(at)
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a >= min_samples]
