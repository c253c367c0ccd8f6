"""What LSL streams of other programs bring: units, channel types, stamp clocks.

Peers publish EEG in many ways (muse-lsl, BlueMuse, OpenBCI GUI, BrainFlow's
streamer, lab scripts): channel labels or none, units or none, auxiliary
inputs typed as EEG, stamps on the LSL clock, in Unix time or on a device's
own clock. :class:`~biofeedback.stream.LSLSource` reads them through these.
"""

from __future__ import annotations

# a channel's declared unit (lower case) -> volts per unit; the micro sign
# (U+00B5) and the Greek mu (U+03BC) both occur
UNIT_SCALE = {
    "microvolts": 1e-6, "microvolt": 1e-6, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6,
    "millivolts": 1e-3, "millivolt": 1e-3, "mv": 1e-3,
    "volts": 1.0, "volt": 1.0, "v": 1.0,
    "nanovolts": 1e-9, "nanovolt": 1e-9, "nv": 1e-9,
}


def unit_scale(unit) -> float | None:
    """Volts per unit of a channel's declared ``unit``, or None when unknown.

    A name (``microvolts``, ``uV``, ``mV``...) or, as MNE-LSL writes it (its
    player publishes a Raw's volts so), the power of ten of the unit in volts:
    ``0`` is volts, ``-6`` microvolts.
    """
    unit = str(unit).strip().lower()
    if unit in UNIT_SCALE:
        return UNIT_SCALE[unit]
    try:
        power = int(unit)
    except ValueError:
        return None
    return 10.0 ** power if -12 <= power <= 3 else None


def regular_rate(ts):
    """The rate of stamps that are evenly spaced, else None.

    Some senders declare EEG irregular (nominal rate 0) yet stamp it evenly:
    when the middle 90 % of the steps are within 10 % of their median, the
    mean of the steps within 10 % of the median gives the rate (the jitter of
    host stamps averages out; a gap is left out). A rate within 0.2 % of a
    whole number of Hz is that number (a 250 Hz device whose stamps measure
    250.06 Hz is a 250 Hz device, and a model trained at 250 Hz reads it);
    others are rounded to 0.01 Hz.
    """
    import numpy as np

    dt = np.diff(np.asarray(ts, dtype=np.float64))
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if dt.size < 2:
        return None
    med = float(np.median(dt))
    lo, hi = np.percentile(dt, [5, 95])
    if not (med > 0 and lo > 0.9 * med and hi < 1.1 * med):
        return None
    rate = 1.0 / float(np.mean(dt[np.abs(dt - med) <= 0.1 * med]))
    whole = float(np.round(rate))
    if whole > 0 and abs(rate - whole) <= 0.002 * whole:
        return whole
    return float(np.round(rate, 2))


def chunk_stamps(ts):
    """``(rate, samples per chunk)`` of stamps that come one per chunk, else None.

    An irregular stream (nominal rate 0) whose sender pushes chunks without
    stamps carries the push time on every sample of a chunk (liblsl has no
    rate to deduce the others from): most steps are 0. The rate is the slope
    of the samples sent against the chunks' stamps (least squares over every
    chunk, so one late push moves it little), a whole number of Hz within
    1 %; the chunk size is the median one. None when most samples do not
    share their stamp, or fewer than 4 chunks came.
    """
    import numpy as np

    ts = np.asarray(ts, dtype=np.float64)
    if ts.size < 2 or np.mean(np.diff(ts) == 0) < 0.5:
        return None
    starts = np.flatnonzero(np.r_[True, np.diff(ts) != 0])
    sizes = np.diff(np.r_[starts, ts.size])
    if starts.size < 4:
        return None
    sent = np.cumsum(sizes)  # samples sent by each chunk's push
    rate = float(np.polyfit(ts[starts], sent, 1)[0])
    if not np.isfinite(rate) or rate <= 0:
        return None
    whole = float(np.round(rate))
    rate = whole if whole > 0 and abs(rate - whole) <= 0.01 * whole else float(np.round(rate, 2))
    return rate, int(np.median(sizes))


def unique_labels(names):
    """``names`` made unique (``Fp1``, ``Fp1-2``) and what was renamed.

    A stream or file may name two channels alike (an amplifier's default
    labels, a copied column); the engine, MNE and models find channels by
    name, so the second would shadow the first. Returns
    ``(names, ["Fp1 -> Fp1-2", ...])``.
    """
    seen, renamed = {}, []
    names = list(names)
    taken = set(names)
    for i, name in enumerate(names):
        if name not in seen:
            seen[name] = 1
            continue
        k = seen[name]
        while f"{name}-{k + 1}" in taken:
            k += 1
        seen[name] = k + 1
        names[i] = f"{name}-{k + 1}"
        taken.add(names[i])
        renamed.append(f"{name} -> {names[i]}")
    return names, renamed


def channel_metadata(info):
    """``(labels, units, types)`` of the channels the stream's metadata list.

    A channel's label is its ``label`` (the XDF conventions), else its
    ``name``: lab scripts and some apps write ``<name>`` instead.
    """
    labels, units, types = [], [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label") or ch.child_value("name"))
        units.append(ch.child_value("unit"))
        types.append(ch.child_value("type"))
        ch = ch.next_sibling("channel")
    return labels, units, types


# inputs that ride along on EEG streams but are not EEG: muse-lsl's "Right AUX"
# (declared type EEG), and channels whose declared type says what they are
_AUX_LABELS = frozenset({"right aux", "left aux", "aux", "aux_right", "aux_left", "aux1",
                         "aux2", "aux3"})
_NOT_EEG_TYPES = frozenset({"aux", "acc", "accel", "accelerometer", "gyro", "gyroscope",
                            "misc", "marker", "markers", "trigger", "stim", "ppg", "resp",
                            "temp", "battery", "counter", "timestamp"})


# types of whole streams that hold no EEG samples: what a sender computed from
# the EEG (OpenBCI GUI's networking widget publishes FFT, band-power and focus
# streams beside the time series), or another sensor's (muse-lsl's PPG, ACC,
# GYRO); read as EEG, their values would give estimates, and cues, of nothing
_NOT_EEG_STREAMS = frozenset({
    "fft", "psd", "spectrum", "bandpower", "bandpowers", "band power", "band_power",
    "avgbandpower", "focus", "pulse", "ppg", "acc", "accel", "accelerometer", "gyro",
    "gyroscope", "magnetometer", "battery"})


def not_eeg_type(stream_type) -> bool:
    """Whether a stream's declared type says it holds no EEG samples."""
    return str(stream_type).strip().lower() in _NOT_EEG_STREAMS


def _eeg_channels(labels, types, n):
    """Indices of the ``n`` channels that are EEG (all when the stream lists none)."""
    if len(labels) != n:
        return list(range(n))
    types = types if len(types) == n else [""] * n
    keep = [i for i in range(n) if labels[i].strip().lower() not in _AUX_LABELS
            and types[i].strip().lower() not in _NOT_EEG_TYPES]
    return keep or list(range(n))


# a first chunk stamped further than this from its arrival is on another clock
# (liblsl's clock synchronisation has put the LSL clock of any machine onto
# ours; the LSL clock counts from the machine's start, so a device clock that
# also counts from its start can be minutes from it on a machine just booted)
_FAR = 60.0

# ... and Unix time when it is this near it (a sender's wall clock may be set
# minutes off)
_FAR_UNIX = 600.0

# stamps this far ahead of their arrival, or back from the last ones, jumped
_JUMP = 0.5

# Unix stamps of a stream's first chunk this far behind their arrival come from
# a machine whose wall clock is set off this one's (the newest sample of a
# chunk arrives within a fraction of a second; a stall of the sender just as
# the stream is opened must not pass for a clock)
_LATE_UNIX = 2.0


class _UnixStamps:
    """Unix-time stamps (muse-lsl's ``time.time()``, muse-lsl#196) onto the LSL clock.

    ``correction`` is what liblsl's clock synchronisation added (it assumed the
    stamps were on the sender's LSL clock); it is taken off again, and the
    offset ``lsl - unix`` of this machine added, measured about once a second
    (three paired readings), so a step of the wall clock moves the stamps for
    a second at most.
    """

    name = "unix"

    def __init__(self, correction):
        from ._clock import UnixToLSL

        self.correction = correction
        self.clock = UnixToLSL(refresh=1.0, n_readings=3)

    @staticmethod
    def offset() -> float:
        """``lsl - unix`` now: the tightest of three paired readings."""
        from ._clock import paired_offset

        return paired_offset(3)[0]

    def __call__(self, ts):
        return self.clock(ts - self.correction)


class _UnixMsStamps(_UnixStamps):
    """Unix time in milliseconds (JavaScript's ``Date.now()``) onto the LSL clock.

    liblsl added its correction (seconds) to the milliseconds: it is taken off
    before they are read as milliseconds.
    """

    name = "unix_ms"

    def __call__(self, ts):
        return self.clock((ts - self.correction) / 1000.0)


# Unix time of 2000-01-01 and of 2100-01-01 (UTC), in seconds: stamps read as
# Unix time lie between them, in seconds or in milliseconds. The two spans are
# a thousand-fold apart and never overlap, and the LSL clock (seconds since
# the machine started) lies far below both.
UNIX_SPAN = (946_684_800.0, 4_102_444_800.0)


def stamp_clock(ts, unix_now=None, slack=_FAR_UNIX):
    """``"unix"`` when stamps are Unix time, ``"unix_ms"`` when Unix time in
    milliseconds, else None (the LSL clock, a device's own clock, NaN).

    Parameters
    ----------
    ts : float | array-like
        One stamp or several, as sent (any time correction taken off).
    unix_now : float | None
        Unix time now (``time.time()``), for live stamps; None for a file's.
    slack : float
        Seconds the stamps may be from ``unix_now`` (a sender's wall clock may
        be set minutes off, and stamps of samples sent a while ago are older).

    Returns
    -------
    clock : "unix" | "unix_ms" | None

    Notes
    -----
    Every stamp, read in seconds (or milliseconds), must lie in
    :data:`UNIX_SPAN`, from 2000-01-01 (included) to 2100-01-01 (excluded);
    with ``unix_now``, it must also be less than ``slack`` seconds from it,
    so a device whose own clock counts from a date years off is not taken
    for Unix time. A machine whose wall clock reads before 2000 has no Unix
    stamps: its senders' stamps are taken for a clock of their own.
    """
    import numpy as np

    ts = np.asarray(ts, dtype=np.float64)
    if not ts.size:
        return None
    lo, hi = float(ts.min()), float(ts.max())  # NaN fails every comparison below
    for clock, per_second in (("unix", 1.0), ("unix_ms", 1000.0)):
        first, last = lo / per_second, hi / per_second
        if UNIX_SPAN[0] <= first and last < UNIX_SPAN[1] and (
                unix_now is None or (unix_now - slack < first and last < unix_now + slack)):
            return clock
    return None


def unix_clock_note(name, ms=False) -> str:
    """The note of a stream recorded beside the EEG whose stamps are Unix time
    (in milliseconds when ``ms``)."""
    how = ("Unix time in milliseconds (as JavaScript's Date.now() gives)" if ms
           else "Unix time (time.time(), as muse-lsl does)")
    return (f"the stream {printable(name)!r} recorded beside the EEG stamps samples with "
            f"{how}, not the LSL clock: the XDF keeps "
            "its stamps as sent, and the sidecar's stream_clocks gives the shift that "
            "puts them on the EEG's clock (biofeedback's readers apply it)")


def own_clock_note(name) -> str:
    """The note of a stream recorded beside the EEG whose stamps are on a clock of
    its own (a device's): neither the LSL clock nor Unix time."""
    return (f"the stream {printable(name)!r} recorded beside the EEG stamps samples on a "
            "clock of its own (neither the LSL clock nor Unix time): the XDF keeps its "
            "stamps as sent, and its times cannot be lined up with the EEG's")


def clock_note(name, clock) -> str:
    """The note of a ``stream_clocks`` entry ``clock``
    (``{"stamps": "unix" | "unix_ms" | "own"}``)."""
    stamps = clock.get("stamps") if isinstance(clock, dict) else None
    return own_clock_note(name) if stamps == "own" else \
        unix_clock_note(name, ms=stamps == "unix_ms")


class _OffsetStamps:
    """Stamps on a clock of their own (a device's): moved by their first arrival."""

    name = "offset"

    def __init__(self, offset):
        self.offset = offset

    def __call__(self, ts):
        return ts + self.offset


class _MovedStamps:
    """Stamps read by ``inner`` (Unix time), then moved by ``shift`` seconds:
    a sender whose wall clock is set off this machine's."""

    def __init__(self, inner, shift):
        self.inner = inner
        self.shift = float(shift)
        self.name = inner.name

    def __call__(self, ts):
        return self.inner(ts) + self.shift


def printable(text, limit: int | None = 64) -> str:
    """``text`` safe to print: control characters (escape sequences) as "?", cut
    to ``limit`` characters (None: not cut).

    Labels and names arrive from any program on the network; printed as they
    are, an escape sequence in one could rewrite the terminal.
    """
    out = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return out if limit is None or len(out) <= limit else out[: limit - 1] + "…"
