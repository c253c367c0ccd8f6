"""OpenBCI GUI raw text exports (``OpenBCI-RAW-*.txt``).

Two layouts exist. The classic one (GUI v1-v4)::

    %OpenBCI Raw EEG Data
    %Sample Rate = 250.0 Hz
    0, -6976.11, ..., 0.006, -0.010, 0.498, 14:57:32.796

holds a packet counter, the EEG channels in µV, three accelerometer columns in
g and a time of day. GUI v5 adds a line of column names (``Sample Index, EXG
Channel 0, ..., Timestamp, ...``) with Unix timestamps.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import RecordingFormatError
from ..stream._peers import stamp_clock
from ._brainflow import marker_row
from ._integrity import (
    _BLOCK,
    channel_problems_aside,
    check_timestamps,
    gap_warning,
    unrounded_stamps,
)
from ._recording import Recording, Stream
from ._text import TableReader, decode_text, read_header_lines
from ._types import Gap

_RATE = re.compile(r"sample\s*rate\s*=\s*([0-9.]+)", re.I)
_NCH = re.compile(r"number of channels\s*=\s*([0-9]+)", re.I)
_BOARD = re.compile(r"^\s*%?\s*board\s*=\s*(\S+)", re.I | re.M)
#: Boards of ``%Board = OpenBCI_GUI$Board...`` read as a Cyton (with or without
#: its Daisy by the channel count) without a word: the GUI's synthetic board
#: writes a Cyton's layout.
_CYTON_LIKE = ("cyton", "synthetic")
#: Boards of the header read with their own profile: a Ganglion (BLE, native or
#: WiFi) numbers its packets 101-200 or 1-100, two samples each, and read as a
#: Cyton's 0-255 counter every turn would look like a loss of a hundred packets.
_HEADER_PROFILES = {"ganglion": "ganglion"}


def read_openbci_txt(fname, *, profile=None, ch_names=None):
    """Read an OpenBCI GUI raw text file.

    Channel names come from ``ch_names``, else from the board ``profile``
    ("cyton" by default, "cyton_daisy" for 16 channels): the file does not say
    which electrode each channel is.

    Per-sample timestamps are rebuilt from the packet counter (one sample per
    step, dropped packets counted exactly, whole counter turns resolved with the
    file's coarse clock, the pause of a counter that started again at 0 sized by
    that clock); the file's own clock is kept in ``streams["wall_clock"]``.
    """

    fname = Path(fname)
    header, offset, n_head = read_header_lines(fname, max_lines=500, prefix="%")
    if not header and offset == 0:
        with open(fname, "rb") as fid:
            if not fid.read(1):
                raise RecordingFormatError("the file is empty.", fname)
        raise RecordingFormatError("an OpenBCI GUI file starts with '%' header lines.",
                                   fname, 1)
    text_head = "\n".join(header)
    m = _RATE.search(text_head)
    if m is None:
        raise RecordingFormatError(
            "the header gives no sample rate ('%Sample Rate = 250 Hz' missing).",
            fname, 1)
    sfreq = float(m.group(1))
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise RecordingFormatError(f"the header's sample rate {sfreq:g} Hz is not "
                                   "positive.", fname, 1)
    # GUI v5: a line of column names after the % header.
    names_line, names_offset, _ = read_header_lines_at(fname, offset)
    if names_line is None:
        raise RecordingFormatError("the file has a header but no samples.", fname,
                                   n_head + 1)
    first_cells = [c.strip() for c in names_line.split(",")]
    warnings = []
    has_names = not all(_is_number(c) or ":" in c for c in first_cells)
    if has_names:
        return _read_v5(fname, first_cells, names_offset, n_head, sfreq, header,
                        profile, ch_names)
    n_raw = len(first_cells)
    # GUI v3-v4 end each line with the time of day and then the host's Unix
    # time in milliseconds (``14:57:32.796, 1553612252796``); earlier ones
    # with the time of day alone. Re-saved by Excel, they read ``57:32.8,
    # 1.55361E+12``: the Unix time, cut to 6 digits, is still the clock.
    unix_ms = (n_raw > 2 and ":" in first_cells[-2] and _is_unix_ms(first_cells[-1]))
    n_time = 2 if unix_ms else 1
    m = _NCH.search(text_head)
    if m is not None:
        n_eeg = int(m.group(1))
        n_aux = n_raw - 1 - n_eeg - n_time
        if n_aux < 0:
            raise RecordingFormatError(
                f"the header declares {m.group(1)} channels but the first line holds "
                f"{n_raw} columns (expected {n_eeg + 5}).", fname, n_head + 1)
    else:
        n_aux = 3
        n_eeg = n_raw - 1 - n_aux - n_time
    if n_eeg < 1:
        raise RecordingFormatError(
            f"expected a counter, EEG, 3 accelerometer columns and a time; found "
            f"{n_raw} columns.", fname, n_head + 1)
    if unix_ms:  # the time of day (which Excel rewrites as mm:ss.0) is not read
        reader = TableReader(fname, n_raw, first_line=n_head + 1, offset=offset,
                             usecols=[j for j in range(n_raw) if j != n_raw - 2])
        table = _table(reader, warnings, fname, n_head)
        unix = table[:, -1]
        unix /= 1000.0  # in place: the column is nobody else's
        times, clock = unix, "Unix seconds (the file's last column, ms)"
        unix_kw = {"unix_ts": unix, "unix_step": _cut_step(first_cells[-1], 1e-3)}
    else:
        time_cell = first_cells[n_raw - n_time]
        clock_cols = time_cell.count(":") + 1
        if clock_cols not in (1, 3):
            raise RecordingFormatError(f"the last column {time_cell!r} is not a time of "
                                       "day.", fname, n_head + 1)
        clock_at = n_raw - n_time
        reader = TableReader(fname, n_raw, first_line=n_head + 1, offset=offset,
                             clock_col=clock_at if clock_cols == 3 else None)
        table = _table(reader, warnings, fname, n_head)
        times = table[:, -1]  # a contiguous row of the table, which nothing else reads
        if clock_cols == 3:  # read as seconds since midnight
            back = np.flatnonzero(np.diff(times) < -43200)  # midnight
            for i in back:
                times[i + 1:] += 86400.0
            clock = "time of day in seconds (the file holds no date)"
        else:
            clock = "file's last column"
        unix_kw = {}
    counter = table[:, 0]
    eeg = table[:, 1: 1 + n_eeg]
    aux = table[:, 1 + n_eeg: 1 + n_eeg + n_aux]
    reads = _aux_reads(first_cells[1 + n_eeg: 1 + n_eeg + n_aux], aux)
    prof, names = _names(profile, ch_names, n_eeg, warnings, fname, text_head, sfreq)
    rec = _assemble(fname, sfreq, names, prof, counter, times, eeg,
                    aux if reads is None and n_aux == 3 else None, warnings,
                    header, clock, "openbci-txt", **unix_kw)
    return _keep_reads(rec, reads, aux)


#: What a Cyton's aux columns hold, in the classic layout, when its stop byte
#: said raw aux data (0xC1): GUI v3-v4 write the board's pin reads as whole
#: numbers, by board mode and connection (OpenBCI_GUI's ``writeAuxValues``),
#: under the same header line ('Accel Data (in G)'). The accelerometer they
#: write with three decimals (``%.3f``).
_READS = {
    3: ("analog", "Analog", ["A5", "A6", "A7"]),  # analog mode, serial dongle
    2: ("analog", "Analog", ["A5", "A6"]),  # analog mode over WiFi
    5: ("digital", "Digital", ["D11", "D12", "D13", "D17", "D18"]),  # digital, serial
}


def _aux_reads(cells, aux):
    """``(key, type, ch_names)`` of the classic layout's aux columns when they
    hold the board's pin reads (analog or digital mode), None when they hold
    the accelerometer in g (or there are none).

    The GUI writes the accelerometer with three decimals and pin reads as whole
    numbers, so the first line's cells tell; a file a spreadsheet saved again
    (``0.000`` became ``0``) is told by its values: an accelerometer in g has
    fractions somewhere, a pin's read never."""
    if aux.shape[1] == 0 or any("." in c or "e" in c.lower() for c in cells):
        return None
    finite = aux[np.isfinite(aux)]
    if finite.size == 0 or np.any(finite != np.round(finite)):
        return None
    n = aux.shape[1]
    if n == 3 and np.all((finite == 0) | (finite == 1)) and np.any(finite == 1):
        return ("digital", "Digital", ["D11", "D12", "D17"])  # digital mode over WiFi
    return _READS.get(n, ("aux", "Aux", [f"AUX{i + 1}" for i in range(n)]))


def _add_pin_stream(rec, key, kind, names, data, note):
    """Keep a board's pin reads ``data`` (channels, times) as ``rec.streams[key]``,
    on the EEG's timestamps, and say so in the provenance's units."""
    rec.streams[key] = Stream(
        name=key, type=kind, data=data, timestamps=rec.timestamps, ch_names=names,
        sfreq=rec.sfreq, meta={"units": [""] * len(names), "note": note})
    rec.provenance["units_in_file"] = f"microvolts (EEG), raw {kind.lower()} reads"


def _keep_reads(rec, reads, aux):
    """Keep the pin reads ``_aux_reads`` found as their own stream, said in a
    warning: the header calls the columns accelerometer data in g."""
    if reads is None:
        return rec
    key, kind, names = reads
    _add_pin_stream(rec, key, kind, names, np.ascontiguousarray(aux.T),
                    "the board's pin reads as the GUI wrote them (raw numbers)")
    what = (f"the board's {kind.lower()} reads of pins {', '.join(names)} ({kind.lower()} "
            "mode)" if key != "aux" else "the board's raw aux values")
    rec.warnings.append(
        f"The {len(names)} columns after the EEG hold whole numbers, {what}, not the "
        "accelerometer in g the header names; they are kept as "
        f"streams[{key!r}].")
    return rec


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _table(reader, warnings, fname, n_head):
    table = reader.read()
    warnings.extend(reader.warnings)
    if table.shape[0] == 0:
        raise RecordingFormatError("the file has a header but no samples.", fname,
                                   n_head + 1)
    return table


#: A number as a spreadsheet shows it in scientific notation: ``1.60512E+12``.
_E_NOTATION = re.compile(r"[0-9](?:\.([0-9]*))?[eE]\+?([0-9]+)")


def _is_unix_ms(cell):
    """Whether a cell is a Unix time in whole milliseconds (as the GUI writes it,
    or as Excel re-saves it, ``1.60512E+12``;
    :func:`~biofeedback.stream._peers.stamp_clock` gives the years)."""
    cell = cell.strip()
    return ((cell.isdigit() or _E_NOTATION.fullmatch(cell) is not None)
            and stamp_clock(float(cell)) == "unix_ms")


def _cut_step(cell, unit=1.0):
    """The step a number in scientific notation was cut to (``1.60512E+12``:
    10**7), times ``unit``, else None."""
    m = _E_NOTATION.fullmatch(cell.strip())
    return None if m is None else unit * 10.0 ** (int(m.group(2)) - len(m.group(1) or ""))


def read_header_lines_at(fname, offset):
    with open(fname, "rb") as fid:
        fid.seek(offset)
        raw = fid.readline()
        while raw and not raw.strip():
            offset += len(raw)
            raw = fid.readline()
    if not raw:
        return None, offset, 0
    try:
        line = decode_text(raw).rstrip("\r\n")
    except UnicodeDecodeError:
        raise RecordingFormatError("the file holds bytes that are not text.",
                                   fname) from None
    return line, offset + len(raw), 1


def _check_header_board(text_head, n_eeg, warnings, fname):
    """Warn when the header's ``%Board =`` line names a board other than a Cyton.

    Returns the profile of a board read with its own (a Ganglion), else None.
    Any other board is still read as a Cyton: the warning says so and how to
    choose another profile.
    """
    m = _BOARD.search(text_head)
    if m is None:
        return None
    board = m.group(1).rsplit("$", 1)[-1]
    for key, name in _HEADER_PROFILES.items():
        if key in board.lower():
            return name
    if any(key in board.lower() for key in _CYTON_LIKE):
        return None
    cyton = "cyton_daisy" if n_eeg == 16 else "cyton"
    warnings.append(
        f"{fname}: the header names the board {board!r}, which this reader does not "
        f"know; it is read with the {cyton!r} profile (choose another with --profile "
        "NAME, or profile= in Python).")
    return None


def _names(profile, ch_names, n_eeg, warnings, fname, text_head="", sfreq=None):
    from ..hardware import get_profile

    if profile is None:
        profile = _check_header_board(text_head, n_eeg, warnings, fname)
    if profile is None and n_eeg == 4 and sfreq == 200.0 and not _BOARD.search(text_head):
        # GUI v4 writes no board: 4 channels at 200 Hz are a Ganglion's (a Cyton
        # has 8 at 250 Hz), whose packet ids are not a Cyton's counter
        profile = "ganglion"
        warnings.append(
            f"{fname}: the header names no board; 4 channels at 200 Hz are read as a "
            "Ganglion's (choose another with --profile NAME, or profile= in Python).")
    if profile is None:
        profile = "cyton_daisy" if n_eeg == 16 else "cyton"
    prof = get_profile(profile)
    if ch_names is not None:
        names = list(ch_names)
        if len(names) != n_eeg:
            raise ValueError(f"ch_names has {len(names)} names but the file holds "
                             f"{n_eeg} EEG channels.")
    elif len(prof.ch_names) == n_eeg:
        names = list(prof.ch_names)
    else:
        names = [f"EEG{i + 1}" for i in range(n_eeg)]
        warnings.append(
            f"The file holds {n_eeg} EEG channels but the {prof.name} profile names "
            f"{len(prof.ch_names)}; channels are named EEG1..EEG{n_eeg}."
        )
    return prof, names


def _rebuilt_timestamps(t0, missing, sfreq):
    """``t0 + (arange(n) + cumsum(missing)) / sfreq``, in blocks, written over
    ``missing`` (int64, the same size), which it consumes: no n-long
    temporaries."""
    n = missing.size
    ts = missing.view(np.float64)  # each block is read before it is written
    carry = 0
    for a in range(0, n, _BLOCK):
        b = min(a + _BLOCK, n)
        idx = np.cumsum(missing[a:b])
        idx += carry
        carry = int(idx[-1])
        idx += np.arange(a, b)
        ts[a:b] = t0 + idx / sfreq
    return ts


def _counter_steps(counter, wrap, within):
    """``np.mod(np.diff(counter), wrap)``; for a counter ``within`` 0..wrap (its
    steps from -wrap to wrap) by adding ``wrap`` to the steps below 0, which
    is what ``np.mod`` does to them, without its division (0.6 ms for an
    hour at 250 Hz, not 10)."""
    d = np.diff(counter)
    if within:
        np.add(d, wrap, out=d, where=d < 0)
    else:
        np.mod(d, wrap, out=d)
    return d


def _median_is(x, value):
    """Whether ``np.median(x) == value``, without the sorted copy of ``x``
    ``np.median`` makes (15 ms for an hour at 250 Hz): the middle values are
    found by counting the values below, at and above ``value``; a NaN makes
    the median NaN."""
    n = x.size
    below = int(np.count_nonzero(x < value))
    equal = int(np.count_nonzero(x == value))
    if not n or below + equal + int(np.count_nonzero(x > value)) < n:
        return False

    def ranked(k):  # the k-th smallest value, when it may be a middle one equal to value
        if k < below:
            return x[x < value].max() if k == below - 1 else None
        if k < below + equal:
            return value
        return x[x > value].min() if k == below + equal else None

    lo, hi = ranked((n - 1) // 2), ranked(n // 2)
    if lo is None or hi is None:  # both middle values on one side of value
        return False
    return bool((lo if n % 2 else np.mean(np.array([lo, hi]))) == value)


def _assemble(fname, sfreq, names, prof, counter, wall, eeg, accel, warnings, header,
              clock, fmt, unix_ts=None, unix_step=None):
    # the EEG in volts and its channels checked on a thread while the clock is
    data = np.ascontiguousarray(eeg.T)  # no copy when eeg is a column slice
    channels_checked = channel_problems_aside(data, names, prof.rail_uv * 1e-6, scale=1e-6)
    cols = prof.columns
    wrap = cols.packet_counter_wrap or 256
    # a board whose driver numbers packets its own way (a Ganglion: 101-200, two
    # samples each) is read as its profile says, as BrainFlow files are
    own = bool(cols.packet_counter_wrap) and (cols.samples_per_packet > 1
                                              or cols.packet_counter_first > 0)
    # (a Ganglion's ids 101-200 and 1-100 are one turn of its counter, modulo 100)
    top = np.inf if own else wrap
    stamps = wall if unix_ts is None else unix_ts  # the file's clock, as seconds
    usable = not (np.any(~np.isfinite(counter)) or np.any(counter < 0)
                  or np.any(counter >= top))
    # Cyton+Daisy sends two samples per packet: the counter steps by 2.
    step = 1
    if not own and counter.size > 2:
        d = _counter_steps(counter, wrap, usable)
        step = 2 if _median_is(d, 2.0) else 1
        del d
    counting = cols if own else replace(cols, packet_counter_wrap=wrap,
                                        packet_counter_step=step,
                                        packet_counter_first=0, samples_per_packet=1)
    timed = wall  # the clock the rate is measured on
    if unix_ts is not None:  # a spreadsheet's whole seconds, rebuilt with the samples
        # the counter alone says were lost, before its restarts are judged on them
        from ..hardware._counter import counted_missing

        unix_ts, note = unrounded_stamps(unix_ts, sfreq, lost=(
            lambda: counted_missing(counter, counting)) if usable else None,
            step=unix_step)
        warnings.extend([note] if note else [])
        if unix_ts is not stamps:
            stamps = timed = unix_ts
    if not usable:
        warnings.append(f"The packet counter leaves 0..{wrap - 1}; dropped packets "
                        "cannot be counted from it.")
        missing = np.zeros(counter.size, dtype=np.int64)
        gaps = []
        idx = np.arange(counter.size, dtype=np.float64)
    else:  # as a BrainFlow file's counter is read, on the file's clock
        from ..hardware._counter import counted_losses

        missing, restarts, widened = counted_losses(counter, stamps, sfreq, counting)
        # (the gaps' onsets are set below, from the rebuilt timestamps)
        gaps = [Gap(onset=0.0, duration=float(missing[i]) / sfreq,
                    n_missing=int(missing[i]),
                    source="packet_counter_restart" if i in restarts else
                    "packet_counter+clock" if i in widened else "packet_counter")
                for i in np.flatnonzero(missing)]
        idx = None
    t0 = float(unix_ts[0]) if unix_ts is not None else float(wall[0])
    dropped = np.flatnonzero(missing)  # samples after a gap
    restarted = [g for g in gaps if g.source == "packet_counter_restart"]
    lost = [g for g in gaps if g.source != "packet_counter_restart"]
    n_dropped = sum(g.n_missing for g in lost)  # a restart's pause lost nothing
    if idx is None:
        ts = _rebuilt_timestamps(t0, missing, sfreq)  # over missing's memory
    else:
        ts = t0 + idx / sfreq
    del missing
    for g, i in zip(gaps, dropped):
        g.onset = float(ts[i - 1])
    warnings.extend(gap_warning(lost, "dropped-packet gap", "packet counter"))
    warnings.extend(gap_warning(restarted, "packet counter restart",
                                "its pause sized by the file's clock"))
    # The file's clock: jumps back and a rate that disagrees with the header.
    finite = np.isfinite(timed)
    wall_ok = timed if finite.all() else timed[finite]
    n_back = sum(int(np.count_nonzero(np.diff(wall_ok[a: a + _BLOCK + 1]) < -1.0))
                 for a in range(0, max(wall_ok.size - 1, 0), _BLOCK))
    del finite, wall_ok
    if n_back:
        warnings.append(f"The file's clock jumps back by more than 1 s "
                        f"{n_back} times.")
    # Rate over the stretches between dropped packets longer than 2 s, so the
    # estimate does not lean on gap sizes guessed from the same clock.
    bounds = [0, *dropped.tolist(), counter.size]
    n_int, span = 0, 0.0
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b - a > 2 * sfreq and np.isfinite(timed[a]) and np.isfinite(timed[b - 1]):
            n_int += b - 1 - a
            span += float(timed[b - 1] - timed[a])
    del bounds
    measured = n_int / span if span > 1.0 else 0.0
    if measured and abs(measured - sfreq) > 0.01 * sfreq:
        warnings.append(
            f"The measured sampling rate {measured:.3f} Hz (over the file's clock) "
            f"differs from the header's {sfreq:g} Hz by more than 1%."
        )
    if unix_ts is not None:
        _, w = check_timestamps(unix_ts, sfreq, declared=False)
        warnings.extend(w)
    problems, w = channels_checked()
    warnings.extend(w)
    streams = {
        "wall_clock": Stream(name="wall_clock", type="Clock",
                             data=np.ascontiguousarray(wall[None, :]), timestamps=ts,
                             ch_names=["wall_clock"], sfreq=sfreq,
                             meta={"units": ["s"], "clock": clock}),
        "packet_counter": Stream(name="packet_counter", type="Counter",
                                 data=np.ascontiguousarray(counter[None, :]),
                                 timestamps=ts, ch_names=["packet_counter"],
                                 sfreq=sfreq, meta={"wrap": wrap}),
    }
    if accel is not None and accel.size:
        streams["accelerometer"] = Stream(
            name="accelerometer", type="Accelerometer",
            data=np.ascontiguousarray(accel.T), timestamps=ts,
            ch_names=["X", "Y", "Z"][: accel.shape[1]], sfreq=sfreq,
            meta={"units": ["g"] * accel.shape[1],
                  "note": "the Cyton updates accel at 25 Hz; zeros in between"})
    provenance = {
        "fname": str(fname),
        "reader": fmt,
        "header": header,
        "clock": clock,
        "timestamps": "rebuilt from the packet counter at the header's rate",
        "units_in_file": "microvolts (EEG), g (accelerometer)",
        "measured_sfreq": measured,
        "channel_problems": problems,
        "n_dropped_samples": n_dropped,
    }
    return Recording(data=data, sfreq=sfreq, ch_names=names, timestamps=ts, gaps=gaps,
                     streams=streams, source_format=fmt, provenance=provenance,
                     warnings=warnings, profile=prof.name)


def _read_v5(fname, cols, offset, n_head, sfreq, header, profile, ch_names):
    warnings = []
    lower = [c.lower() for c in cols]
    exg = [i for i, c in enumerate(lower) if c.startswith("exg channel")]
    acc = [i for i, c in enumerate(lower) if c.startswith("accel channel")]
    ts_col = [i for i, c in enumerate(lower) if c == "timestamp"]
    mark = [i for i, c in enumerate(lower) if c == "marker channel"][:1]
    # (v6's Digital Channel columns are the bytes of the analog ones: not read)
    ana = [i for i, c in enumerate(lower) if c.startswith("analog channel")]
    if not exg or not ts_col or lower[0] != "sample index":
        raise RecordingFormatError(
            "the column names are not OpenBCI GUI's ('Sample Index', 'EXG Channel "
            "0', ..., 'Timestamp').", fname, n_head + 1)
    # the columns that may hold zeros alone last: the table does not copy them
    keep = [0, *exg, ts_col[0], *acc, *ana, *mark]
    reader = TableReader(fname, len(cols), first_line=n_head + 2, offset=offset,
                         usecols=keep, sparse_cols=[*acc, *ana, *mark])
    table = reader.read()
    warnings.extend(reader.warnings)
    if table.shape[0] == 0:
        raise RecordingFormatError("the file has a header but no samples.", fname,
                                   n_head + 2)
    prof, names = _names(profile, ch_names, len(exg), warnings, fname,
                         "\n".join(header), sfreq)
    unix = table[:, keep.index(ts_col[0])]
    n = len(exg)  # EEG, accelerometer and analog columns are table slices: views
    at = n + 2  # after the index, the EEG and the timestamps
    accel = table[:, at: at + len(acc)]
    pins = _v5_pin_reads(table[:, at + len(acc): at + len(acc) + len(ana)])
    if pins is not None and not np.any(accel):  # the accelerometer was off: no g
        accel = None
    rec = _assemble(fname, sfreq, names, prof, table[:, 0], unix, table[:, 1: 1 + n],
                    accel, warnings, header, "Unix seconds", "openbci-txt", unix_ts=unix)
    if pins is not None:
        _add_pin_stream(rec, *pins, "the board's pin reads (raw numbers)")
    if mark:  # the GUI's Marker widget and its marker inputs (UDP, LSL, keys)
        rec.markers = marker_row(table[:, keep.index(mark[0])], rec.timestamps)
    return rec


def _v5_pin_reads(ana):
    """``(key, type, ch_names, data)`` of a GUI v5-v6 Cyton file's pin reads, or
    None when the board sent its accelerometer.

    BrainFlow fills the ``Analog Channel`` columns only from packets of raw aux
    data (stop byte 0xC1), from its six aux bytes as three 16-bit numbers, and
    the GUI v6's ``Digital Channel`` columns from the same bytes one by one, in
    every mode. In analog mode the numbers are the reads of A5-A7 (0-1023); in
    digital mode each byte is a pin, 0 or 1 (D11 and D12, D13 and D17, D18):
    the numbers are then 0, 1, 256 or 257 only.
    """
    if ana.shape[1] == 0 or not np.any(ana):
        return None
    digital = np.all(np.isin(ana, (0.0, 1.0, 256.0, 257.0)))
    if not digital:
        return ("analog", "Analog", [f"A{5 + i}" for i in range(ana.shape[1])],
                np.ascontiguousarray(ana.T))
    bytes_ = [ana[:, 0] // 256, ana[:, 0] % 256]  # as the GUI v6 splits them
    if ana.shape[1] > 1:
        bytes_ += [ana[:, 1] // 256, ana[:, 1] % 256]
    if ana.shape[1] > 2:
        bytes_.append(ana[:, 2])
    names = ["D11", "D12", "D13", "D17", "D18"][: len(bytes_)]
    return "digital", "Digital", names, np.ascontiguousarray(np.array(bytes_))
