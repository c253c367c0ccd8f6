"""BrainFlow's own file format (``DataFilter.write_file``; its playback board's input).

One line per sample, tab-separated, every row of the board array (package
counter, EEG in µV, accelerometer, timestamp in Unix seconds, marker...). The
file does not say which board wrote it: the board id comes from a JSON sidecar
``<stem>.json`` (``{"board_id": 0}`` or ``{"profile": "cyton"}``), else from
``profile=``, else from a board profile whose BrainFlow row count matches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._json import dumps
from .._logging import logger
from ..errors import PipelineConfigError, RecordingFormatError
from ._integrity import (
    channel_problems_aside,
    check_timestamps,
    counted_rate,
    gap_threshold,
    gap_warning,
    timestamp_gaps,
    timestamp_steps,
    unrounded_stamps,
)
from ._recording import Recording, Stream, bads_of, kept_bads, marked_bad, stated_mains
from ._sidecar import no_accel, no_board, read_sidecar
from ._text import TableReader, read_header_lines, row_block
from ._types import Gap


def _board_layout(board_id):
    """Rows of BrainFlow's board array, from its board description."""
    from brainflow.board_shim import BoardShim
    from brainflow.exit_codes import BrainFlowError

    try:
        d = BoardShim.get_board_descr(board_id)
    except BrainFlowError:
        raise ValueError(f"BrainFlow knows no board with id {board_id}.") from None
    names = d.get("eeg_names", "")
    return {
        "n_rows": int(d["num_rows"]),
        "sfreq": float(d["sampling_rate"]),
        "eeg": list(d.get("eeg_channels", [])),
        "accel": list(d.get("accel_channels", [])),
        "package": d.get("package_num_channel"),
        "timestamp": d.get("timestamp_channel"),
        "marker": d.get("marker_channel"),
        "names": names.split(",") if names else [],
    }


def _counter_gaps(counter, ts, sfreq, columns):
    """Gaps from the package counter, read as the board's driver writes it
    (:func:`~biofeedback.hardware._counter.counted_losses`).

    Where the counter restarted (a file appended across ``stop_stream`` and
    ``start_stream``) the timestamps size the gap, of source
    ``packet_counter_restart``, lasting the step minus one period; so where it
    restarted with no jump (stopped at its last value, started at its first:
    :func:`~biofeedback.hardware._counter.quiet_restarts`). A loss longer than
    a counter turn, which the timestamps alone show, is of source
    ``packet_counter+clock``.
    """
    from ..hardware._counter import counted_losses

    missing, restarts, widened = counted_losses(counter, ts, sfreq, columns)
    return [Gap(onset=float(ts[i - 1]), n_missing=int(missing[i]),
                duration=float(ts[i] - ts[i - 1]) - 1 / sfreq if i in restarts
                else float(missing[i]) / sfreq,
                source="packet_counter_restart" if i in restarts else
                "packet_counter+clock" if i in widened else "packet_counter")
            for i in np.flatnonzero(missing) if i > 0]


_HINT = "correct it (see 'biofeedback boards'), or name the board with --profile."


def _sidecar_board_id(value, fname):
    """The sidecar's ``board_id``, checked: an integer BrainFlow knows."""
    from brainflow.board_shim import BoardShim
    from brainflow.exit_codes import BrainFlowError

    side = fname.with_suffix(".json").name
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordingFormatError(
            f'its sidecar {side} gives "board_id": {json.dumps(value)}, not a BrainFlow '
            f"board id (an integer); {_HINT}", fname)
    try:
        BoardShim.get_board_descr(value)
    except BrainFlowError:
        raise RecordingFormatError(
            f'its sidecar {side} gives "board_id": {value}, a board BrainFlow does not '
            f"know; {_HINT}", fname) from None
    return value


def _profiles_by_board(guessed=False):
    """``{board_id: profile}`` of the BrainFlow boards; with ``guessed``, only
    those a file's row count may be guessed to be: not a board over OpenBCI's
    WiFi Shield, whose rows are its serial twin's, so that only its rate tells
    them apart, and losses and a host's stalls lower that."""
    from ..hardware import list_profiles

    return {p.board_id: p for p in list_profiles().values()
            if p.brainflow_board and not (guessed and p.connection == "wifi")}


def _profile_of_board(board_id):
    """The profile of BrainFlow board ``board_id``, or of the board it is another
    connection to (BrainFlow's Ganglion native, a Muse over a BLED112 dongle):
    one whose rows, rate and channels are the same and whose name begins its
    name ('Muse2BLED' is a 'Muse2'). None when no profile is."""
    from brainflow.board_shim import BoardShim

    by_board = _profiles_by_board()
    if board_id in by_board:
        return by_board[board_id]
    try:
        descr = dict(BoardShim.get_board_descr(board_id))
    except Exception:  # a board BrainFlow describes not: no profile
        return None
    name = str(descr.pop("name", ""))
    alike = []
    for bid, prof in by_board.items():
        other = dict(BoardShim.get_board_descr(bid))
        other_name = str(other.pop("name", ""))
        if other == descr and name.startswith(other_name):
            alike.append((len(other_name), prof))
    return max(alike, key=lambda a: a[0])[1] if alike else None


def _rate(t, sfreq):
    """Samples a second of the timestamps ``t``; ``sfreq`` when they span no time."""
    span = float(t[-1] - t[0])
    return (t.size - 1) / span if span > 0 else sfreq


def _too_fast(ts, prof):
    """Why the lone board of a file's row count did not write it, or "": its
    timestamps ``ts`` run much faster than it can sample (a Cyton's 24 rows
    written at a Cyton WiFi's 1000 Hz). Slower is what losses and a host's
    stalls look like, so it is no reason."""
    if ts.size < 3 or prof.columns.timestamp is None:
        return ""
    rate = _rate(ts, prof.sfreq)
    if rate > 1.5 * prof.sfreq:  # (a board over the WiFi Shield, of the same rows?)
        twins = [p.name for p in _profiles_by_board().values()
                 if p.columns.rows == prof.columns.rows and p.name != prof.name
                 and abs(rate - p.sfreq) <= 0.15 * p.sfreq]
        twin = f" ({twins[0]}'s rate)" if twins else ""
        return f", but its timestamps run at about {rate:.0f} Hz{twin}, not {prof.sfreq:g}"
    return ""


def _guess_board(fname, candidates, how, n_lines=2000):
    """The boards of ``candidates`` (two or more profiles with the file's row
    count) that the file's first lines fit: the rate of the timestamp row,
    then the step of the package counter. Boards alike in every way the
    reader uses (a Muse 2 and a Muse S) are one: the first is kept and the
    others named.

    Only the candidates' timestamp and counter columns of the first
    ``n_lines`` lines are converted.
    """
    used = sorted({r for p in candidates
                   for r in (p.columns.timestamp, p.columns.packet_counter) if r is not None})
    try:
        with open(fname, encoding="utf-8-sig") as fid:
            head = np.loadtxt(fid, delimiter="\t", max_rows=n_lines, ndmin=2,
                              usecols=used)
    except ValueError:
        return candidates, how
    if head.shape[0] < 3:
        return candidates, how
    col = {r: head[:, k] for k, r in enumerate(used)}
    fits = []
    for p in candidates:
        c = p.columns
        rate = _rate(col[c.timestamp], p.sfreq) if c.timestamp is not None else p.sfreq
        if abs(rate - p.sfreq) > 0.15 * p.sfreq:
            continue
        if c.packet_counter is not None and c.samples_per_packet == 1:
            step = np.mod(np.diff(col[c.packet_counter]), c.packet_counter_wrap)
            if np.median(step) != c.packet_counter_step:
                continue
        fits.append(p)
    if fits and len(fits) < len(candidates):
        how += f" and the rate of its timestamps ({fits[0].sfreq:g} Hz)"
    alike = [p for p in fits if (p.ch_names, p.sfreq, p.columns)
             == (fits[0].ch_names, fits[0].sfreq, fits[0].columns)]
    if len(fits) > 1 and len(alike) == len(fits):
        how += (f"; {' and '.join(p.name for p in fits[1:])} "
                f"{'has' if len(fits) == 2 else 'have'} the same layout")
        fits = fits[:1]
    return fits, how


#: BrainFlow's presets of other data than EEG, and what their rows hold
_OTHER_PRESETS = (("AUXILIARY_PRESET", "auxiliary preset (accelerometer, gyroscope)"),
                  ("ANCILLARY_PRESET", "ancillary preset (PPG)"))


def _other_preset(n_cols, board_ids):
    """``(board id, what)`` of the first board among ``board_ids`` whose auxiliary
    or ancillary preset has ``n_cols`` rows (a Muse's accelerometer, gyroscope
    or PPG file), else None."""
    from brainflow.board_shim import BoardShim, BrainFlowPresets

    for bid in board_ids:
        has = set(BoardShim.get_board_presets(bid))  # (asking for others logs errors)
        for preset, what in _OTHER_PRESETS:
            preset = getattr(BrainFlowPresets, preset)
            if preset in has and BoardShim.get_num_rows(bid, preset) == n_cols:
                return bid, what
    return None


def _refuse_other_preset(fname, n_cols, board_ids):
    """Refuse a file of a board's other preset than EEG, saying so."""
    found = _other_preset(n_cols, board_ids)
    if found is not None:
        from brainflow.board_shim import BoardIds

        raise RecordingFormatError(
            f"its {n_cols} columns are the rows of {BoardIds(found[0]).name}'s "
            f"{found[1]}, not EEG; read the file written from get_board_data() with "
            "the default preset.", fname, 1)


def _cannot_tell(fname, n_cols, detail):
    """The sentence for a BrainFlow file whose board no guess settles."""
    return RecordingFormatError(
        f"cannot tell which board wrote this BrainFlow file ({n_cols} columns{detail}): "
        f'put {{"board_id": N}} in {fname.with_suffix(".json").name} or pass '
        "--profile NAME (profile= in Python).", fname)


def marker_row(col, ts):
    """``(timestamp, text)`` of each sample where BrainFlow's marker row
    (``insert_marker``; the OpenBCI GUI's 'Marker Channel') is not zero."""
    nz = np.flatnonzero((col != 0) & ~np.isnan(col))  # nan_to_num(col) != 0
    return [(float(ts[k]), f"{col[k]:g}") for k in nz]


def _accel_rows(recording, n_rows):
    """The recording's accelerometer as ``(n_rows, n_times)`` in g, or None
    when it has none that fits the board's rows sample for sample."""
    st = recording.streams.get("accelerometer")
    if st is None or isinstance(st.data, list):
        return None
    data = np.asarray(st.data, dtype=float)
    n = recording.n_times
    if data.ndim != 2 or data.shape[0] != n_rows or data.shape[1] != n:
        return None
    ts = np.asarray(st.timestamps, dtype=float)
    if ts.shape != (n,) or not np.allclose(ts, recording.timestamps, rtol=0, atol=1e-6):
        return None  # another rate or clock: not the EEG's samples
    return data


def read_brainflow(fname, *, profile=None):
    """Read a file written by BrainFlow's ``DataFilter.write_file``."""
    from ..hardware import get_profile

    fname = Path(fname)
    warnings = []
    lines, _, _ = read_header_lines(fname)
    if not lines:
        raise RecordingFormatError("the file is empty.", fname)
    n_cols = len(lines[0].split("\t"))
    sidecar = read_sidecar(fname)  # it names the board: unreadable is an error
    prof = None
    board_id = None
    lone = None  # the one board of the file's row count, guessed
    if profile is not None:
        prof = get_profile(profile)
        board_id = prof.board_id
    elif isinstance(sidecar, dict) and "board_id" in sidecar:
        board_id = _sidecar_board_id(sidecar["board_id"], fname)
        # "profile": null: the board's rows hold a recording no BrainFlow board made
        prof = None if no_board(sidecar) else _profile_of_board(board_id)
    elif isinstance(sidecar, dict) and "profile" in sidecar:
        try:
            prof = get_profile(sidecar["profile"])
        except PipelineConfigError:
            from ..hardware import list_profiles

            raise RecordingFormatError(
                f'its sidecar {fname.with_suffix(".json").name} gives "profile": '
                f"{json.dumps(sidecar['profile'])}, not a board profile (known: "
                f"{', '.join(list_profiles())}); {_HINT}", fname) from None
        board_id = prof.board_id
    else:
        from brainflow.board_shim import BoardShim

        matches = [p for bid, p in _profiles_by_board(guessed=True).items()
                   if BoardShim.get_num_rows(bid) == n_cols]
        how = f"the {n_cols} columns"
        if len(matches) == 1:  # its rate is checked on the timestamps the read gives
            lone = matches[0]
        elif matches:  # the column count alone does not decide
            matches, how = _guess_board(fname, matches, how)
        if not matches:
            _refuse_other_preset(fname, n_cols, list(_profiles_by_board()))
        if len(matches) != 1:
            raise _cannot_tell(fname, n_cols, "; the file fits " + " and ".join(
                p.name for p in matches) if matches else "")
        prof = matches[0]
        board_id = prof.board_id
        warnings.append(f"No sidecar names the board; guessed {prof.name} from {how} "
                        "(name it with --profile, or a sidecar).")
    if board_id is None:
        raise RecordingFormatError("the board profile has no BrainFlow board id.",
                                   fname)
    try:
        lay = _board_layout(board_id)
    except ValueError as err:
        raise RecordingFormatError(str(err), fname) from None
    if n_cols != lay["n_rows"]:
        _refuse_other_preset(fname, n_cols, [board_id])
        raise RecordingFormatError(
            f"expected {lay['n_rows']} columns for BrainFlow board {board_id}, found "
            f"{n_cols}.", fname, 1)
    sfreq = lay["sfreq"]
    if isinstance(sidecar, dict) and sidecar.get("sfreq"):
        sfreq = float(sidecar["sfreq"])
    if isinstance(sidecar, dict) and sidecar.get("ch_names"):
        names = list(sidecar["ch_names"])
    elif prof is not None and len(prof.ch_names) == len(lay["eeg"]):
        names = list(prof.ch_names)
    elif len(lay["names"]) == len(lay["eeg"]):
        names = list(lay["names"])
    else:
        names = [f"EEG{i + 1}" for i in range(len(lay["eeg"]))]
    if len(names) > len(lay["eeg"]):
        raise RecordingFormatError(
            f"the sidecar names {len(names)} channels but board {board_id} has "
            f"{len(lay['eeg'])} EEG rows.", fname)
    eeg_rows = lay["eeg"][: len(names)]  # a sidecar may use only the first rows
    # Only the rows kept or checked are read (the EEG rows one contiguous
    # block): a Cyton file has 24, of which 14 are used. The accelerometer
    # and marker rows, which may hold zeros alone, come last: such a row
    # takes no memory.
    aux = [r for r in (*lay["accel"], lay["marker"]) if r is not None]
    keep = list(dict.fromkeys(r for r in (lay["package"], *eeg_rows, lay["timestamp"], *aux)
                              if r is not None))
    at = {r: k for k, r in enumerate(keep)}
    reader = TableReader(fname, n_cols, first_line=1, offset=0, delimiter="\t",
                         usecols=keep, sparse_cols=[r for r in aux if r not in eeg_rows])
    cols = reader.read_columns()
    warnings.extend(reader.warnings)
    if cols.shape[1] == 0:
        raise RecordingFormatError("the file holds no samples.", fname, 1)

    def rows_of(board_rows):
        return row_block(cols, [at[r] for r in board_rows])

    ts = cols[at[lay["timestamp"]]] if lay["timestamp"] is not None \
        else np.arange(cols.shape[1]) / sfreq
    refused = _too_fast(ts, lone) if lone is not None else ""
    if refused:
        raise _cannot_tell(fname, n_cols, refused)
    data = rows_of(eeg_rows)
    # in volts (in place: the table's EEG rows are nobody else's), its channels
    # checked on a thread while the clock and the counter are
    rail = prof.rail_uv * 1e-6 if prof is not None else None
    channels_checked = channel_problems_aside(data, names, rail, scale=1e-6)
    gaps = counter = None
    if lay["package"] is not None and prof is not None and prof.columns.packet_counter_wrap:
        counter = cols[at[lay["package"]]]
        if not (np.all(np.isfinite(counter)) and counter.min() >= 0):
            counter = None
    if lay["timestamp"] is not None:  # a spreadsheet's whole seconds, rebuilt
        # with the samples the counter alone says were lost, before the
        # counter's restarts and turns are judged on the stamps
        from ..hardware._counter import counted_missing

        ts, note = unrounded_stamps(ts, sfreq, lost=None if counter is None else
                                    lambda: counted_missing(counter, prof.columns))
        warnings.extend([note] if note else [])
    if counter is not None:
        gaps = _counter_gaps(counter, ts, sfreq, prof.columns)
    # (after the counter scan, so that its array and the steps' never coexist)
    steps = timestamp_steps(ts, sfreq)
    # with a counter, the rate is judged over the span: host stamps come in bursts
    _, w = check_timestamps(ts, sfreq, steps=steps, declared=gaps is None)
    warnings.extend(w)
    if gaps is not None:
        warnings.extend(counted_rate(ts, gaps, sfreq)[1])
        # The counter is exact; BrainFlow stamps samples on the host as they
        # arrive, so a late batch looks like a gap in the timestamps alone.
        restarted = [g for g in gaps if g.source == "packet_counter_restart"]
        warnings.extend(gap_warning([g for g in gaps if g.source != "packet_counter_restart"],
                                    "dropped-packet gap", "package counter"))
        warnings.extend(gap_warning(restarted, "package counter restart",
                                    "its pause sized by the timestamps"))
        late = timestamp_gaps(ts, sfreq, steps=steps)
        if late and not gaps:
            warnings.append(
                f"The timestamps pause {len(late)} times (up to "
                f"{max(g.duration for g in late):.3f} s) where the package counter "
                "shows no loss: samples stamped late on the host, not lost; the "
                "counter is trusted.")
    else:
        gaps = timestamp_gaps(ts, sfreq, steps=steps)
        warnings.extend(gap_warning(gaps))
    del steps
    markers = []
    if lay["marker"] is not None:
        markers = marker_row(cols[at[lay["marker"]]], ts)
    streams = {}
    if lay["accel"] and not no_board(sidecar) and not no_accel(sidecar):
        streams["accelerometer"] = Stream(
            name="accelerometer", type="Accelerometer",
            data=rows_of(lay["accel"]), timestamps=ts,
            ch_names=["X", "Y", "Z"][: len(lay["accel"])], sfreq=sfreq,
            meta={"units": ["g"] * len(lay["accel"])})
    problems, w = channels_checked()
    warnings.extend(w)
    clock = "Unix seconds (BrainFlow host time)"
    if isinstance(sidecar, dict) and isinstance(sidecar.get("clock"), str):
        from ..stream._peers import printable

        clock = printable(sidecar["clock"], 160)  # as written beside the file
    provenance = {"fname": str(fname), "reader": "brainflow", "board_id": board_id,
                  "clock": clock,
                  "units_in_file": "microvolts", "channel_problems": problems}
    if sidecar is not None:
        provenance["sidecar"] = sidecar
        mains = stated_mains(sidecar.get("line_freq")) if isinstance(sidecar, dict) else None
        if mains:
            provenance["line_freq"] = mains  # its source's mains
        bads = kept_bads(sidecar.get("bads"), names) if isinstance(sidecar, dict) else []
        if bads:
            provenance["bads"] = bads
            warnings.append(marked_bad(bads))
    return Recording(data=data, sfreq=sfreq, ch_names=names, timestamps=ts,
                     markers=markers, gaps=gaps, streams=streams,
                     source_format="brainflow", provenance=provenance,
                     warnings=warnings, profile=prof.name if prof else None)


def marker_row_values(markers):
    """``(timestamp, value)`` of the markers BrainFlow's marker row can hold:
    those whose text is a number."""
    kept = []
    for t, text in markers:
        try:
            kept.append((t, float(text)))
        except ValueError:
            continue
    return kept


def write_brainflow(recording, fname, *, overwrite=False):
    """Write ``recording`` in BrainFlow's format, with a sidecar naming the board.

    The board comes from the recording's profile; a recording whose profile
    BrainFlow does not drive is written with the synthetic board's layout when
    it has at most 16 channels, and its sidecar says that no board made it
    (``"profile": null``, with the ``source_format`` it was read from): it is
    read back with no profile, and no playback takes it for the synthetic
    board. Numeric markers go to the marker row. The recording's
    accelerometer (``streams["accelerometer"]``, sample for sample with the
    EEG) goes to the board's accelerometer rows; without one, the sidecar says
    ``"accelerometer": false`` and the rows read back as no stream.
    """
    from brainflow.data_filter import DataFilter

    from ..hardware import get_profile
    from ..hardware._counter import counter_values

    fname = Path(fname)
    prof = get_profile(recording.profile) if recording.profile else None
    board = prof is not None and prof.board_id is not None
    if not board:  # the synthetic board's rows, and a sidecar saying no board made it
        prof = get_profile("synthetic")
    lay = _board_layout(prof.board_id)
    n_ch = len(recording.ch_names)
    if n_ch > len(lay["eeg"]):
        raise ValueError(
            f"The recording has {n_ch} channels but BrainFlow board "
            f"{prof.brainflow_board} holds {len(lay['eeg'])}; write .xdf, .fif or .edf, "
            "which hold any number."
        )
    n = recording.n_times
    arr = np.zeros((lay["n_rows"], n))
    arr[lay["eeg"][:n_ch]] = recording.data * 1e6
    # the recording's own accelerometer, or a sidecar saying the rows are empty:
    # zeros read back as an accelerometer would be data nobody measured
    accel = _accel_rows(recording, len(lay["accel"])) if board and lay["accel"] else None
    if accel is not None:
        arr[lay["accel"]] = accel
    if lay["timestamp"] is not None:
        arr[lay["timestamp"]] = recording.timestamps
    if lay["package"] is not None:
        idx = np.arange(n)
        if recording.sfreq and n:
            # one count a sample, skipping the samples of each gap the recording
            # holds (its reader's, from a counter, markers or timestamps), else of
            # each gap a reader would find in the timestamps (over 1.5 periods,
            # 2.5 on jittery LSL or host clocks): jitter alone loses no packet
            dt = np.diff(recording.timestamps)
            steps = np.ones_like(dt)
            if recording.gaps:
                at = np.searchsorted(recording.timestamps,
                                     [g.onset for g in recording.gaps])
                for k, gap in zip(at, recording.gaps):
                    if k < n - 1:
                        steps[k] += gap.n_missing
            else:
                fin = np.flatnonzero(np.isfinite(dt))
                if fin.size:
                    big = fin[dt[fin] > gap_threshold(dt[fin], recording.sfreq)]
                    steps[big] = np.maximum(np.round(dt[big] * recording.sfreq), 1)
            idx = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
        arr[lay["package"]] = counter_values(idx, prof.columns)  # as the board numbers them
        kept = recording.streams.get("packet_counter")
        if kept is not None and recording.profile == prof.name and \
                np.shape(kept.data)[-1] == n and np.all(np.isfinite(kept.data)):
            # the board's own counter, read from the file: renumbering it from the
            # timestamps would move a loss that splits a packet (a Ganglion's two
            # samples) by a sample
            arr[lay["package"]] = np.asarray(kept.data, dtype=float).reshape(-1)
    kept = marker_row_values(recording.markers) if lay["marker"] is not None and n else []
    for t, value in kept:
        k = min(int(np.searchsorted(recording.timestamps, t)), n - 1)
        arr[lay["marker"], k] = value
    if len(kept) < len(recording.markers):  # said, not lost in silence
        logger.warning(
            "%d of the recording's %d markers are not written to BrainFlow's format: "
            "its marker row holds numbers only; write .xdf, .fif or .edf to keep them.",
            len(recording.markers) - len(kept), len(recording.markers))
    DataFilter.write_file(np.ascontiguousarray(arr), str(fname), "w")
    sidecar = {"board_id": prof.board_id, "board": prof.brainflow_board,
               "profile": prof.name if board else None}
    if not board:
        sidecar["source_format"] = recording.source_format
    elif lay["accel"]:
        sidecar["accelerometer"] = accel is not None
    # the timestamp row holds the recording's own clock, not always BrainFlow's Unix time
    clock = recording.provenance.get("clock") or (
        f"the timestamps of the {recording.source_format or 'recording'} it was written from")
    sidecar |= {"sfreq": recording.sfreq, "ch_names": list(recording.ch_names),
                "units": "microvolts", "clock": clock, "written_by": "biofeedback"}
    bads = bads_of(recording)
    if bads:  # marked by whoever looked at the data it came from
        sidecar["bads"] = bads
    mains = stated_mains(recording.provenance.get("line_freq"))
    if mains:  # the file it came from said
        sidecar["line_freq"] = mains
    fname.with_suffix(".json").write_text(dumps(sidecar, indent=2),
                                          encoding="utf-8")
    return fname
