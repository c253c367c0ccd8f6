"""Muse CSV files: muse-lsl's recorder and the Mind Monitor app."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .._words import agree, counted, listed
from ..errors import RecordingFormatError
from ._integrity import (
    burst_stamps,
    channel_problems,
    channel_problems_aside,
    check_timestamps,
    gap_warning,
    timestamp_gaps,
    timestamp_steps,
    unrounded_stamps,
)
from ._recording import Recording, Stream
from ._text import (
    MAX_LINE_BYTES,
    TableReader,
    bounded_lines,
    cut_last_line,
    decode_text,
    read_header_lines,
    row_block,
)

_MUSE_AUX = ("Right AUX", "Left AUX", "AUX", "AUX_RIGHT", "AUX_LEFT")
#: Names of a muse-lsl CSV's clock column (muse-lsl's own, and re-saved ones')
_CLOCK = ("timestamps", "timestamp")


def _scaled(rows, factor):
    """``rows`` (rows of the table, or a copy of them) times ``factor``, in place."""
    rows *= factor
    return rows


def _profile(profile, default):
    from ..hardware import get_profile

    return get_profile(profile if profile is not None else default)


def _finish(rec_kwargs, prof, warnings, fname, gaps=None, channels_checked=None):
    """Integrity checks common to the Muse readers (``gaps``: found already,
    else from the timestamps; ``channels_checked``: the channels' check begun
    by :func:`~._integrity.channel_problems_aside`, else done here)."""
    data, ts, sfreq, ch_names = (rec_kwargs["data"], rec_kwargs["timestamps"],
                                 rec_kwargs["sfreq"], rec_kwargs["ch_names"])
    unknown = [ch for ch in ch_names if ch not in prof.ch_names]
    if unknown:
        warnings.append(
            f"{counted(len(unknown), 'channel name is', 'channel names are')} not in the "
            f"{prof.name} profile ({listed(unknown)}); kept as "
            f"{agree(len(unknown), 'it is', 'they are')}."
        )
    missing = [ch for ch in prof.ch_names if ch not in ch_names]
    if missing:  # a column dropped by an edit or an export: models need the full layout
        warnings.append(
            f"The file lacks {counted(len(missing), 'channel')} of the {prof.name} profile "
            f"({listed(missing)}) and holds {listed(ch_names) or 'none'}; a model trained on "
            f"the {prof.name}'s channels will not run on it."
        )
    steps = timestamp_steps(ts, sfreq)
    measured, w = check_timestamps(ts, sfreq, steps=steps)
    warnings.extend(w)
    if gaps is None:
        gaps = timestamp_gaps(ts, sfreq, steps=steps)
    del steps
    warnings.extend(gap_warning(gaps))
    problems, w = channel_problems(data, ch_names, prof.rail_uv * 1e-6) \
        if channels_checked is None else channels_checked()
    warnings.extend(w)
    rec_kwargs["provenance"].update(measured_sfreq=measured, channel_problems=problems)
    return Recording(gaps=gaps, warnings=warnings, profile=prof.name, **rec_kwargs)


# muse-lsl records each of the headset's streams to its own CSV; only EEG is EEG
_NOT_EEG = {("X", "Y", "Z"): "accelerometer or gyroscope (-t ACC or GYRO)",
            ("PPG1", "PPG2", "PPG3"): "PPG (-t PPG)",
            # a Muse S Athena's 16 optical channels (muse-lsl 2.5)
            tuple(f"OPT{i}" for i in range(16)): "optics (-t OPTICS)"}


def _refuse_other_streams(columns, fname):
    """A muse-lsl CSV of another stream than EEG (its columns say which)."""
    what = _NOT_EEG.get(tuple(c for c in columns if not c.lower().startswith("marker")))
    if what is not None:
        raise RecordingFormatError(
            f"this muse-lsl CSV holds the headset's {what} stream (columns "
            f"{', '.join(columns)}), not EEG; read the file 'muse-lsl record' wrote "
            "for the EEG stream (its default, -t EEG).", fname, 1)


def read_muse_csv(fname, *, profile=None):
    """Read a muse-lsl CSV (``timestamps,TP9,AF7,AF8,TP10,Right AUX``).

    Timestamps are Unix seconds, samples µV. ``Right AUX`` is not EEG and is
    left out of the data (noted in the provenance). ``Marker*`` columns become
    markers where they are neither empty nor zero, numbers or text (muse-lsl
    writes a marker stream's values as they came).
    """
    fname = Path(fname)
    prof = _profile(profile, "muse_2016")
    lines, offset, _ = read_header_lines(fname)
    if not lines:
        raise RecordingFormatError("the file is empty.", fname)
    delim, decimal_comma = ",", False
    if "," not in lines[0]:
        for other in (";", "\t"):
            if other in lines[0]:
                # a spreadsheet saved in a European locale: ';' between cells,
                # and maybe '12,5' for numbers
                delim = other
                decimal_comma = other == ";" and "," in _first_data_line(fname, offset)
                break
    # R's write.csv and spreadsheets quote the names; a trailing ',' on every
    # line (some exporters) makes an empty last column, which is not read
    header = [h.strip().strip('"').strip() for h in lines[0].split(delim)]
    n_cols = len(header)
    while len(header) > 1 and not header[-1]:
        header.pop()
    if len(header) < n_cols:  # a trailing ',' on the header alone: the lines say
        n_data = _first_data_line(fname, offset).count(delim) + 1
        if len(header) <= n_data < n_cols:
            n_cols = n_data
    # pandas' to_csv writes its row index first, under an empty name
    # ('muse-lsl record_direct' does, and its clock comes last)
    first = 1 if len(header) > 1 and not header[0] and any(
        h.lower() in _CLOCK for h in header[1:]) else 0
    header = header[first:]
    clock = [i for i, h in enumerate(header) if h.lower() in _CLOCK][:1]
    if not clock:
        raise RecordingFormatError(
            f"a muse-lsl CSV starts with a 'timestamps' column, found {header[0]!r}.",
            fname, 1)
    _refuse_other_streams([h for i, h in enumerate(header) if i != clock[0]], fname)
    # muse-lsl writes each marker as it came (PsychoPy's are text): marker
    # columns are read as text, apart from the numbers
    mark = [i for i, h in enumerate(header) if h.lower().startswith("marker")]
    numeric = [i for i in range(len(header)) if i not in mark]
    kwargs = dict(first_line=2, offset=offset, delimiter=delim,
                  usecols=None if n_cols == len(header) and not mark else
                  [first + i for i in numeric], decimal_comma=decimal_comma,
                  text_cols=[first + i for i in mark])
    reader = TableReader(fname, n_cols, **kwargs)
    try:
        cols = reader.read_columns()
        readers = [reader]
    except RecordingFormatError as err:
        # 'muse-lsl record' saves every 5 s, writing the header with the first
        # save: Marker columns a marker stream adds after it are on the lines
        # alone
        appended = None if mark or err.line is None else \
            _marker_columns_appended(fname, offset, err.line, n_cols, delim)
        if appended is None:
            raise
        at, n_marks = appended
        header += [f"Marker{j}" for j in range(n_marks)]
        mark = list(range(len(header) - n_marks, len(header)))
        before = TableReader(fname, n_cols, **dict(kwargs, end=at))
        cols = before.read_columns()
        kwargs.update(first_line=err.line, offset=at,
                      usecols=[first + i for i in numeric],
                      text_cols=[first + i for i in mark])
        after = TableReader(fname, n_cols + n_marks, **kwargs)
        cols = np.concatenate([cols, after.read_columns()], axis=1)
        after.text_cells = [(k + before.n_lines, i, c) for k, i, c in after.text_cells]
        readers = [before, after]
    table = cols.T
    warnings = [w for r in readers for w in r.warnings]
    if table.shape[0] == 0:
        raise RecordingFormatError("the file has a header but no samples.", fname, 2)
    header_num = [header[i] for i in numeric]  # the table's columns
    t_col = header_num.index(header[clock[0]])
    cells = [c for r in readers for c in r.text_cells]
    cols, cells = _drop_repeated_rows(cols, t_col, cells, warnings)
    ts, note = unrounded_stamps(np.ascontiguousarray(cols[t_col]), prof.sfreq)
    warnings.extend([note] if note else [])  # a spreadsheet's whole seconds, rebuilt
    if np.isfinite(ts[0]) and 0 <= ts[0] < 1e9:  # not a Unix time after 2001
        clock = "LSL clock seconds (time since the recording computer started)"
    else:
        clock = "Unix seconds (muse-lsl stamps with time.time())"
    aux = [k for k, h in enumerate(header_num) if h in _MUSE_AUX]
    eeg = [k for k in range(len(header_num)) if k != t_col and k not in aux]
    ch_names = [header_num[k] for k in eeg]
    data = row_block(cols, eeg)  # a view when contiguous: no copy
    # in volts, its channels checked on a thread while the clock is
    channels_checked = channel_problems_aside(data, ch_names, prof.rail_uv * 1e-6,
                                              scale=1e-6)
    markers = []
    for k, i, cell in cells:  # the marker cells not empty or zero
        text = _marker_text(cell, decimal_comma)
        if text is not None:
            markers.append((float(ts[k]), f"{header[i - first]}={text}"))
    markers.sort()
    if mark and not markers:
        # muse-lsl puts a marker on the row nearest its stamp: one on another
        # clock (PsychoPy's LSL clock beside the Muse's time.time()) lands on the
        # first row, which its 5 s saves wrote before the marker came
        warnings.append(
            f"The file's {listed(header[i] for i in mark)} "
            f"{agree(len(mark), 'column holds', 'columns hold')} no marker. muse-lsl "
            "puts each marker on the row nearest its stamp: markers stamped on another "
            "clock than the EEG (the LSL clock beside muse-lsl's time.time()) land on "
            "the first row and are lost; stream with 'muselsl stream --lsltime' to "
            "record them.")
    streams = {}
    if aux:
        streams["aux"] = Stream(
            name="aux", type="AUX", data=_scaled(row_block(cols, aux), 1e-6),
            timestamps=ts, ch_names=[header_num[k] for k in aux], sfreq=prof.sfreq,
            meta={"units": ["volts"] * len(aux)})
    provenance = {
        "fname": str(fname),
        "reader": "muse-csv",
        "clock": clock,
        "units_in_file": "microvolts",
        "header": header,
        "delimiter": delim,
        "decimal": "," if decimal_comma else ".",
        "assumed": [] if delim == "," else [
            f"cells separated by {delim!r}"
            + (", ',' as the decimal mark" if decimal_comma else "")
            + " (a spreadsheet's CSV in a European locale)"],
        "dropped_columns": [header_num[k] for k in aux],
        "dropped_reason": "AUX inputs are not EEG; kept in streams['aux']",
    }
    return _finish(dict(data=data, sfreq=prof.sfreq, ch_names=ch_names, timestamps=ts,
                        markers=markers, streams=streams, source_format="muse-csv",
                        provenance=provenance), prof, warnings, fname,
                   channels_checked=channels_checked)


def _drop_repeated_rows(cols, t_col, cells, warnings):
    """``cols`` without the rows that repeat the row before them exactly (the
    stamp and every value), and the text ``cells`` moved onto the rows left.

    'muse-lsl record' keeps the samples stamped after the last one it saved,
    comparing stamps that carry the inlet's time correction with one that
    does not: when the correction is positive, each save after the first
    writes the sample before its own again. A cell on a dropped row moves to
    the row it repeats (the same stamp), unless that row holds it already.
    """
    ts = cols[t_col]
    rep = np.flatnonzero(ts[1:] == ts[:-1]) + 1  # rows stamped as the row before
    if not rep.size:
        return cols, cells
    rep = rep[np.all(cols[:, rep] == cols[:, rep - 1], axis=0)]
    if not rep.size:
        return cols, cells
    warnings.append(
        f"{counted(rep.size, 'row repeats', 'rows repeat')} the row before exactly (its "
        "timestamp and every value), as 'muse-lsl record' writes the last sample of a "
        f"save again when it appends the next; {agree(rep.size, 'it was', 'they were')} "
        "dropped.")
    dropped = set(rep.tolist())
    held = {(k, i, cell.strip()) for k, i, cell in cells}
    moved = []
    for k, i, cell in cells:
        if k in dropped and (k - 1, i, cell.strip()) in held:
            continue  # the row it repeats holds the same marker
        moved.append((k - int(np.searchsorted(rep, k, side="right")), i, cell))
    return np.ascontiguousarray(np.delete(cols, rep, axis=1)), moved


def _marker_columns_appended(fname, offset, line, n_cols, delim):
    """Where the lines of more cells than the header start, and how many more,
    when they are Marker columns 'muse-lsl record' added after its header.

    Its first save writes the header and the samples so far; each later one
    appends samples with one Marker column per channel of the marker stream
    once a marker came. Returns ``(byte offset of line, n_markers)``, or None
    when line ``line`` (1-based, the first to refuse) is not such a line: one
    cell more per marker channel, fewer than a second row's (two lines run
    together), and only lines of the header's cells before it.
    """
    if line < 3:  # no data line before it
        return None
    at = offset
    with open(fname, "rb") as fid:
        fid.seek(offset)
        for _ in range(line - 2):  # the data lines before it
            raw = fid.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return None
            at += len(raw)
        raw = fid.readline(MAX_LINE_BYTES + 1)
    extra = raw.count(delim.encode()) + 1 - n_cols
    if not 1 <= extra < n_cols - 1:
        return None
    return at, extra


#: How a muse-lsl CSV writes "no marker" (pandas' 0, or the float format's)
_NO_MARKER = frozenset((b"0", b"", b"0.000", b"0.0", b"0,0", b"0,000", b'""'))


def _marker_text(cell, decimal_comma):
    """The marker one cell holds, as text, or None when it holds none.

    A number is written as ``{:g}`` writes it (``1.000`` is ``1``), text as it
    is (without its quotes); empty cells and zeros hold none.
    """
    cell = cell.strip()
    if cell in _NO_MARKER:
        return None
    try:
        text = decode_text(cell)
    except UnicodeDecodeError:
        text = cell.decode("utf-8", "replace")
    text = text.strip('"').strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", ".") if decimal_comma else text)
    except ValueError:
        return text
    return f"{value:g}" if value != 0 and not np.isnan(value) else None


class _Lines:
    """The lines of a text file as read, telling whether the last one read
    lacks its line end (``cut``: a writer stopped mid-line, once all are read)."""

    def __init__(self, lines):
        self._lines = lines
        self.cut = False

    def __iter__(self):
        for line in self._lines:
            self.cut = not line.endswith(("\n", "\r"))
            yield line


def _with_last(rows):
    """``(row, is_last)`` for each row of an iterator (one row of lookahead)."""
    rows = iter(rows)
    try:
        prev = next(rows)
    except StopIteration:
        return
    for row in rows:
        yield prev, False
        prev = row
    yield prev, True


def _first_data_line(fname, offset):
    """The first non-empty line after the header (for its number format)."""
    with open(fname, "rb") as fid:
        fid.seek(offset)
        for raw in fid:
            if raw.strip():
                return raw.decode("utf-8", "replace")
    return ""


def _parse_mm_time(text):
    """Mind Monitor's ``2019-05-07 14:33:12.123`` as Unix seconds (local time)."""
    from datetime import datetime

    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            continue
    return float(text)  # some exports write Unix seconds


def read_mind_monitor(fname, *, profile=None):
    """Read a Mind Monitor CSV (``TimeStamp,Delta_TP9,...,RAW_TP9,...,Elements``).

    EEG comes from the ``RAW_*`` columns (µV); band powers (``Delta_TP9``...,
    Mind Monitor's log10 of the absolute power, unitless), accelerometer,
    gyroscope and HSI columns become :class:`Stream` objects, and the
    ``Elements`` column (``/muse/elements/blink``, markers) becomes markers.
    """
    fname = Path(fname)
    prof = _profile(profile, "muse_2016")
    warnings = []
    try:
        fid = open(fname, encoding="utf-8-sig", newline="")
    except PermissionError:  # read_recording says it, as for every format
        raise
    except OSError as err:
        raise RecordingFormatError(f"cannot open the file ({err.strerror}).",
                                   fname) from None
    with fid:
        first = fid.readline(MAX_LINE_BYTES + 1)
        fid.seek(0)
        # a spreadsheet saved in a European locale: ';' between cells, '12,5'
        delim = ";" if first.count(";") > first.count(",") else ","
        lines = _Lines(bounded_lines(fid, fname))
        rows = csv.reader(lines, delimiter=delim)
        try:
            header = [h.strip() for h in next(rows)]
        except StopIteration:
            raise RecordingFormatError("the file is empty.", fname) from None
        except UnicodeDecodeError:
            raise RecordingFormatError("the file holds bytes that are not text.",
                                       fname, 1) from None
        col = {h: i for i, h in enumerate(header)}
        if "TimeStamp" not in col:
            raise RecordingFormatError("a Mind Monitor CSV has a 'TimeStamp' column.",
                                       fname, 1)
        raw = [h for h in header if h.startswith("RAW_")]
        if not raw:
            raise RecordingFormatError("no RAW_* EEG columns in this Mind Monitor CSV.",
                                       fname, 1)
        numeric = [h for h in header if h not in ("TimeStamp", "Elements")]
        values, stamps, markers = [], [], []
        line = 1
        try:
            for row, last in _with_last(rows):
                line += 1
                if not row or not any(c.strip() for c in row):
                    continue
                if last and lines.cut and len(row) < len(header):
                    # the writer stopped mid-line: its cells cannot be trusted
                    warnings.append(cut_last_line(
                        line, f"expected {len(header)} columns, found {len(row)}"))
                    continue
                if len(row) < len(header) and "Elements" not in col:
                    raise RecordingFormatError(
                        f"expected {len(header)} columns, found {len(row)}.",
                        fname, line)
                row = row + [""] * (len(header) - len(row))
                if delim == ";":
                    row = [c.replace(",", ".") for c in row]
                try:
                    t = _parse_mm_time(row[col["TimeStamp"]])
                except ValueError:
                    raise RecordingFormatError(
                        f"TimeStamp {row[col['TimeStamp']]!r} is not a date and time as "
                        "Mind Monitor writes it (2019-05-07 14:33:12.123); a spreadsheet "
                        "that saved the file again rewrote it in its own format: read the "
                        "file Mind Monitor exported.", fname, line) from None
                if "Elements" in col and row[col["Elements"]].strip():
                    markers.append((t, row[col["Elements"]].strip()))
                    if not row[col[raw[0]]].strip():
                        continue
                vals = []
                for h in numeric:
                    cell = row[col[h]].strip()
                    if not cell:
                        vals.append(np.nan)
                        continue
                    try:
                        vals.append(float(cell))
                    except ValueError:
                        raise RecordingFormatError(
                            f"column {h} holds {cell!r}, which is not a number.",
                            fname, line) from None
                values.append(vals)
                stamps.append(t)
        except UnicodeDecodeError:
            raise RecordingFormatError("the file holds bytes that are not text.",
                                       fname, line + 1) from None
        except csv.Error as err:
            raise RecordingFormatError(f"not valid CSV ({err}).", fname, line) from None
    if not values:
        raise RecordingFormatError("the file has a header but no samples.", fname, 2)
    table = np.asarray(values, dtype=np.float64)
    ts = np.asarray(stamps, dtype=np.float64)
    step = float(np.median(np.diff(ts))) if ts.size > 2 else 0.0
    if step > 0.05:  # fewer than 20 rows a second: not raw EEG at the Muse's 256 Hz
        raise RecordingFormatError(
            f"Mind Monitor wrote one row every {step:.3g} s, so RAW_* hold one value "
            "per row, not the EEG at 256 Hz (its Recording Interval setting): set "
            "Recording Interval to Constant in Mind Monitor and record again.", fname)
    gaps = None
    rebuilt = burst_stamps(ts, prof.sfreq)
    if rebuilt is not None:  # each row stamped as a Bluetooth packet brought it
        ts, gaps = rebuilt
        warnings.append(
            "TimeStamp holds when each row reached the phone, a Bluetooth packet's "
            f"samples at once: the samples' times were rebuilt at {prof.sfreq:g} Hz from "
            "their count, and samples taken as lost where the stamps run ahead of it.")
    idx = {h: i for i, h in enumerate(numeric)}
    ch_names = [h[4:] for h in raw]
    data = np.ascontiguousarray(table[:, [idx[h] for h in raw]].T) * 1e-6
    streams = {}
    groups = {
        "band_powers": [h for h in numeric if h.split("_")[0] in
                        ("Delta", "Theta", "Alpha", "Beta", "Gamma")],
        "accelerometer": [h for h in numeric if h.startswith("Accelerometer")],
        "gyro": [h for h in numeric if h.startswith("Gyro")],
        "hsi": [h for h in numeric if h.startswith("HSI") or h == "HeadBandOn"],
        "aux": [h for h in numeric if h.startswith("AUX")],
    }
    for name, cols in groups.items():
        if cols:
            streams[name] = Stream(
                name=name, type=name, timestamps=ts, ch_names=cols,
                sfreq=0.0, data=np.ascontiguousarray(table[:, [idx[h] for h in cols]].T),
                meta={"units": ["log10(µV²)" if name == "band_powers" else ""]
                      * len(cols)})
    # Mind Monitor writes one row per raw sample at 256 Hz, but its clock is
    # the phone's, stamped per packet: the rate is checked, not assumed.
    provenance = {
        "fname": str(fname),
        "reader": "mind-monitor",
        "clock": "phone local time",
        "units_in_file": "microvolts (RAW_*), log10 power (bands)",
        "header": header,
        "assumed": ["TimeStamp is the phone's local time, read in this computer's "
                    "time zone"]
        + ([] if delim == "," else ["cells separated by ';', ',' as the decimal mark "
                                    "(a spreadsheet's CSV in a European locale)"]),
    }
    markers.sort()
    return _finish(dict(data=data, sfreq=prof.sfreq, ch_names=ch_names, timestamps=ts,
                        markers=markers, streams=streams, source_format="mind-monitor",
                        provenance=provenance), prof, warnings, fname, gaps)
