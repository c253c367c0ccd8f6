"""BrainFlow boards as a Source: a headset, or a file played through BrainFlow as one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._logging import logger
from .._words import sentence
from ..errors import HardwareError
from ..stream._clock import UnixToLSL
from ..stream._source import Chunk, Source, SourceEvent
from ._counter import cycle_samples, last_counter, missing_samples
from ._profiles import INPUT_PARAMS  # re-exported

#: BrainFlow's IpProtocolTypes by name, as --ip-protocol also takes them
_IP_PROTOCOLS = {"none": 0, "udp": 1, "tcp": 2}
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}")
# macOS names BLE devices by a UUID instead of their MAC address
_UUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
#: A step of BrainFlow's stamps longer than this (s) in which the packet
#: counter lost nothing is a late delivery, not a gap (see _late_stamps).
_STALL = 0.1
#: How fast late stamps rejoin the host's: at most this many sample periods a sample.
_CATCH_UP = 1.5


def _option(key):
    return "--" + key.replace("_", "-")


def check_input_params(profile, params: dict) -> dict:
    """Check BrainFlow connection options before BrainFlow sees them.

    BrainFlow takes any text for a MAC or IP address and an int for a port; a
    typo shows up as a bare ``ValueError`` or a board that "could not start".
    Each option is checked here and refused in one sentence naming it.

    Parameters
    ----------
    profile : BoardProfile
    params : dict
        ``BrainFlowInputParams`` fields; empty values already left out.

    Returns
    -------
    params : dict
        The same, ``ip_port``, ``ip_protocol`` and ``timeout`` as int.

    Raises
    ------
    HardwareError
        An option with a value BrainFlow cannot use, or connection options
        given to a board that takes none (the synthetic board: ``--board`` was
        probably forgotten).
    """
    import ipaddress
    import sys

    out = dict(params)
    unknown = set(out) - set(INPUT_PARAMS)
    if unknown:
        raise HardwareError(f"Unknown BrainFlow connection option {sorted(unknown)[0]!r}.")
    given = [k for k in INPUT_PARAMS if k in out and k != "file"]
    if profile.connection == "none" and given and not out.get("file"):
        raise HardwareError(
            f"The {profile.name} board takes no connection option, but {_option(given[0])} "
            f"was given; name the board it is for with --board (e.g. --board cyton).")
    for key, lo, hi, what in (("ip_port", 1, 65535, "a port number from 1 to 65535"),
                              ("timeout", 0, 3600, "whole seconds from 0 to 3600")):
        if key in out:
            value = str(out[key]).strip()
            if not value.isdigit() or not lo <= int(value) <= hi:
                raise HardwareError(f"{_option(key)} must be {what}, got {out[key]!r}.")
            out[key] = int(value)
    if "ip_protocol" in out:
        value = str(out["ip_protocol"]).strip().lower()
        value = _IP_PROTOCOLS.get(value, value)
        if str(value) not in ("0", "1", "2"):
            raise HardwareError(f"--ip-protocol must be udp, tcp or none (or 1, 2, 0), "
                                f"got {out['ip_protocol']!r}.")
        out["ip_protocol"] = int(value)
    if "ip_address" in out:
        try:
            ipaddress.ip_address(str(out["ip_address"]).strip())
        except ValueError:
            raise HardwareError(
                f"--ip-address must be an IP address such as 192.168.4.1, got "
                f"{out['ip_address']!r}.") from None
    if "mac_address" in out:
        mac = str(out["mac_address"]).strip()
        if not (_MAC.fullmatch(mac) or _UUID.fullmatch(mac)):
            raise HardwareError(
                f"--mac-address must be six hex pairs such as 00:55:DA:B0:00:00 (or the "
                f"device UUID macOS shows), got {out['mac_address']!r}.")
    port = str(out.get("serial_port", ""))
    if port.startswith("/") and sys.platform != "win32" and not Path(port).exists():
        raise HardwareError(
            f"The serial port {port} does not exist; plug in the dongle, or find its "
            "name (ls /dev/ttyUSB* /dev/ttyACM* /dev/cu.*) and pass it with --serial-port.")
    return out


# an example value of each connection option, for the sentence asking for one
_EXAMPLES = {"serial_port": "/dev/ttyUSB0", "mac_address": "00:55:DA:B0:00:00",
             "ip_address": "192.168.4.1", "serial_number": "Muse-1A2B",
             "ip_port": "6789"}  # (a free local port, which OpenBCI's WiFi Shield sends to)


class BrainFlowSource(Source):
    """Acquire from a BrainFlow board, or play a file through BrainFlow as that board.

    Only this object drains BrainFlow's ring buffer (``get_board_data``);
    EEG rows are selected here and scaled to volts, BrainFlow's Unix
    timestamps are moved onto the LSL clock, and the packet counter is used to
    count dropped samples.

    With ``params["file"]`` set, the samples come from BrainFlow's playback
    board (``BoardIds.PLAYBACK_FILE_BOARD`` with ``master_board`` set to the
    profile's board): a file in BrainFlow's own format goes through the same
    driver path, rows, scaling and ``get_board_data`` loop as the headset, and
    the source ends when the whole file has been played.

    Parameters
    ----------
    profile : BoardProfile
        A profile with ``brainflow_board`` set.
    params : dict
        ``BrainFlowInputParams`` fields (``serial_port``, ``mac_address``,
        ``file``...).
    buffer_size : int
        BrainFlow's ring buffer in samples (BrainFlow's default is 450,000).

    Attributes
    ----------
    playback : str | None
        The file played through BrainFlow's playback board, if any.
    notes : list of str
        Facts about this acquisition that a session summary repeats (that
        timing figures describe a playback).

    Raises
    ------
    HardwareError
        The profile is not a BrainFlow board, a connection parameter is
        missing or unknown, or the playback file is missing or has another
        board's layout.

    Notes
    -----
    BrainFlow's playback board paces samples by the file's timestamps and
    stamps each one with the time it is played, not the time it was recorded
    (brainflow#763); older versions also ran slower than real time
    (brainflow#673). Rows, units, the packet counter and the drops it shows
    are the board's; the timing figures of such a session (effective rate,
    latency, clock) describe the playback.
    """

    def __init__(self, profile, params: dict | None = None, buffer_size: int = 45000):
        super().__init__(profile)
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        if profile.brainflow_board is None:
            if params.get("file"):
                raise HardwareError(
                    f"The {profile.name!r} profile is not a BrainFlow board, so BrainFlow "
                    "cannot play a file as it: name the board that wrote the file "
                    "(e.g. --board cyton).")
            raise HardwareError(f"The {profile.name!r} profile is not a BrainFlow board.")
        self.params = params = check_input_params(profile, params)
        self.playback = str(self.params["file"]) if self.params.get("file") else None
        if self.playback:
            self._n_playback = check_playback_file(self.playback, profile)
        else:
            needed = [p for p in profile.connection_params if p in self.params]
            if profile.connection_params and not needed:
                opts = " or ".join("--" + p.replace("_", "-") for p in profile.connection_params)
                first = profile.connection_params[0]
                example = f"--{first.replace('_', '-')} {_EXAMPLES.get(first, '')}".rstrip()
                raise HardwareError(
                    f"The {profile.name} board needs {opts} to connect "
                    f"(e.g. {example}, or "
                    f"--playback-file F.csv to rehearse with a recording)."
                )
        self.buffer_size = buffer_size
        self._board = None
        self._clock = UnixToLSL()
        self._last_counter = None
        self._n_read = 0
        self._last_ts = None  # the last stamp handed on
        self._late = False  # stamps being moved back in line after a stall

    def _open(self):
        from brainflow.board_shim import (
            BoardIds,
            BoardShim,
            BrainFlowError,
            BrainFlowExitCodes,
            BrainFlowInputParams,
        )

        from .._signals import signals_after

        BoardShim.disable_board_logger()
        params = BrainFlowInputParams()
        for key, value in self.params.items():  # ints already (check_input_params)
            setattr(params, key, value)
        board_id = self.profile.board_id
        shim_id = board_id
        if self.playback:
            params.master_board = board_id
            shim_id = BoardIds.PLAYBACK_FILE_BOARD.value
        board = BoardShim(shim_id, params)
        prepared = False
        # A signal waits until the board is the source's to release (it cannot
        # cut BrainFlow's calls short anyway): Ctrl-C raised as prepare_session
        # returned left the board prepared and streaming, with nobody to release it.
        with signals_after():
            try:
                board.prepare_session()
                prepared = True
                if self.playback:  # the defaults of this BrainFlow, stated
                    board.config_board("loopback_false")
                    board.config_board("new_timestamps")
                board.start_stream(self.buffer_size)
            except BrainFlowError as err:
                # BrainFlow keys a process's boards by board and parameters: the
                # session of a board refused as already created is another
                # source's, which releasing (here, or in the shim's destructor,
                # which asks is_prepared()) would end
                if prepared:
                    try:
                        board.release_session()
                    except BrainFlowError:
                        pass
                _disown(board)
                if err.exit_code == BrainFlowExitCodes.ANOTHER_BOARD_IS_CREATED_ERROR.value:
                    raise HardwareError(
                        f"The {self.profile.name!r} board is already open in another session "
                        "of this process (same board, same connection); stop that session first.",
                        exit_code=err.exit_code) from None
                if self.playback:
                    what = f"BrainFlow's playback board with {self.playback}"
                    hint = f"Is it a BrainFlow file of a {self.profile.name}?"
                else:
                    what = f"the {self.profile.description}"
                    hint = "Is it on, charged and connected?"
                raise HardwareError(f"Could not start {what} (BrainFlow: {err}). {hint}",
                                    exit_code=err.exit_code) from None
            self._board = board  # from here, a signal ends it in Source.start
        self._eeg_rows = BoardShim.get_eeg_channels(board_id)
        self._ts_row = BoardShim.get_timestamp_channel(board_id)
        self._counter_row = BoardShim.get_package_num_channel(board_id)
        self.sfreq = float(BoardShim.get_sampling_rate(board_id))
        if len(self._eeg_rows) != len(self.ch_names):
            self._close()
            raise HardwareError(
                f"The {self.profile.name} profile names {len(self.ch_names)} channels "
                f"but BrainFlow reports {len(self._eeg_rows)}."
            )
        if self.profile.columns.eeg and tuple(self._eeg_rows) != self.profile.columns.eeg:
            logger.warning("BrainFlow %s puts the %s's EEG in rows %s, its profile says %s; "
                           "BrainFlow's rows are read.", _brainflow_version(),
                           self.profile.name, list(self._eeg_rows),
                           list(self.profile.columns.eeg))
        if self.playback:
            note = (f"playback: {self.playback} played by BrainFlow's playback board as a "
                    f"{self.profile.name}; samples are stamped when played (brainflow#763), "
                    "so timing figures describe the playback, not the recording")
            self.notes.append(note)
            logger.warning("%s", sentence(note))
        logger.info("BrainFlow board %s started at %g Hz", self.profile.name, self.sfreq)

    def _read(self, timeout: float):
        import time

        from brainflow.board_shim import BrainFlowError

        if self.playback and self._n_read >= self._n_playback:
            raise EOFError  # the playback board idles at the end of its file
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self._board.get_board_data()
            except BrainFlowError as err:
                raise HardwareError(f"Reading the board failed (BrainFlow: {err}).",
                                    exit_code=err.exit_code) from None
            if raw.shape[1] or time.monotonic() >= deadline:
                break
            time.sleep(min(0.001, max(deadline - time.monotonic(), 0)))  # poll: cues wait on it
        if raw.shape[1] == 0:
            return None
        self._n_read += raw.shape[1]
        data = np.ascontiguousarray(raw[self._eeg_rows]) * self.profile.scale_to_volts
        ts = self._clock(raw[self._ts_row])
        missing = missing_samples(raw[self._counter_row], self.profile.columns,
                                  self._last_counter)
        ts = self._late_stamps(ts, missing)
        self._count_drops(raw[self._counter_row], missing, ts)
        return Chunk(data, ts)

    def _late_stamps(self, ts, missing):
        """Stamps of samples delivered late, put back in line when nothing was lost.

        BrainFlow stamps each sample when its driver hands it over (its
        playback board: when it plays it), so a stall of the driver's thread,
        of the Bluetooth stack or of this machine shows as a step of the
        stamps over the stall, then the backlog, stamped nearly at once. The
        engine restarts its filters and windows at a step longer than
        ``gap_reset``, as at a loss. Where the packet counter says no sample
        was lost, a step longer than :data:`_STALL` seconds but shorter than
        half a turn of the counter (a loss of whole turns would leave it
        where it was) is a late delivery: that sample follows on one period
        after the one before, and the next ones advance at most
        :data:`_CATCH_UP` periods (their counted losses included) until they
        are back on the host's stamps.
        """
        n = ts.size
        if n == 0:
            return ts
        turn = cycle_samples(self.profile.columns) / self.sfreq
        prev = self._last_ts
        if not self._late:
            steps = np.diff(ts, prepend=ts[0] if prev is None else prev)
            if not turn or not np.any((steps > _STALL) & (missing == 0)):
                self._last_ts = float(ts[-1])
                return ts
        out = ts.copy()
        for i in range(n):
            period = (1 + int(missing[i])) / self.sfreq
            if self._late:
                limit = prev + _CATCH_UP * period
                if out[i] > limit:
                    out[i] = limit
                else:
                    self._late = False
            elif (prev is not None and missing[i] == 0
                  and _STALL < out[i] - prev < turn / 2):
                logger.info("BrainFlow's stamps step %.3f s at t=%.3f with no packet lost: "
                            "samples delivered late, stamps moved back in line.",
                            out[i] - prev, prev)
                out[i] = prev + period
                self._late = True
            prev = float(out[i])
        self._last_ts = prev
        return out

    def _count_drops(self, counter, missing, timestamps):
        for k in np.flatnonzero(missing):  # one event per gap, stamped after it
            self._emit(SourceEvent("dropped", timestamp=float(timestamps[k]),
                                   n=int(missing[k])))
        last = last_counter(counter)
        if last is not None:
            self._last_counter = last

    def _close(self):
        if self._board is not None:
            board, self._board = self._board, None
            try:
                board.stop_stream()
            finally:
                try:
                    board.release_session()
                finally:
                    _disown(board)

    def describe(self) -> dict:
        out = super().describe()
        out.update(kind="brainflow", board=self.profile.brainflow_board,
                   params={k: v for k, v in self.params.items() if k != "other_info"})
        if self.playback:
            out.update(board="PLAYBACK_FILE_BOARD", master_board=self.profile.brainflow_board,
                       playback_file=self.playback)
        return out


def _disown(board) -> None:
    """Keep a released (or never prepared) shim's destructor off later sessions.

    BrainFlow keys a process's boards by board id and parameters, and a
    shim's ``__del__`` releases the board of its key if one is prepared. A
    shim that outlives its session (held by a traceback until the garbage
    collector comes) would then end whichever session later opened the same
    board with the same parameters.
    """
    board.is_prepared = lambda: False


def _brainflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("brainflow")
    except PackageNotFoundError:  # pragma: no cover - BrainFlow built from source
        return "(unknown version)"


#: BrainFlow's playback board reads a line at most this long, newline included.
_MAX_LINE = 8192


def check_playback_file(fname, profile) -> int:
    """Check that BrainFlow's playback board can play ``fname`` as ``profile``.

    BrainFlow skips, with only a log line, every line whose value count is
    not the board's row count, so a file of another board would play as
    silence: the layout is checked here, line by line, before the board starts.

    Parameters
    ----------
    fname : path-like
        A file in BrainFlow's format (``DataFilter.write_file``: one sample a
        line, every row of the board array, tab-separated).
    profile : BoardProfile
        The board the file is played as.

    Returns
    -------
    n_samples : int
        Samples the file holds.

    Raises
    ------
    HardwareError
        The file is missing or empty, or a line does not hold the board's rows.
    """
    from brainflow.board_shim import BoardShim

    path = Path(fname)
    if not path.is_file():
        raise HardwareError(
            f"The playback file {path} does not exist: give a file written by BrainFlow "
            "(DataFilter.write_file) or by 'biofeedback convert IN OUT.csv'.")
    n_rows = BoardShim.get_num_rows(profile.board_id)
    n = 0
    with open(path, "rb") as fid:
        for lineno, line in enumerate(fid, 1):
            if not line.strip():
                continue
            if len(line) >= _MAX_LINE:  # BrainFlow reads lines with fgets into 8 kB
                raise HardwareError(f"{path}, line {lineno}: {len(line)} characters, longer "
                                    f"than BrainFlow's playback board reads ({_MAX_LINE - 1}).")
            head = line.lstrip(b"\xef\xbb\xbf \t")[:1]
            if n == 0 and head and not (head.isdigit() or head in b"+-.nNiI"):
                # a header line: an OpenBCI GUI or Muse export, not BrainFlow's rows
                text = line.decode("utf-8", "replace").strip()[:40]
                raise HardwareError(
                    f"{path} is not a BrainFlow file: its first line is a header "
                    f"({text!r}), which BrainFlow's playback board cannot read; write one "
                    f"with 'biofeedback convert {path.name} OUT.csv --profile "
                    f"{profile.name}' and play OUT.csv.")
            # count as BrainFlow splits: on tabs, or on commas when the line has no
            # tab; a separator just before the newline adds no value
            sep = b"\t" if b"\t" in line else b","
            found = line.count(sep) + 1 - line.endswith(sep + b"\n")
            if found != n_rows:
                raise HardwareError(
                    f"{path}, line {lineno}: {found} values, but BrainFlow's {profile.name} "
                    f"layout has {n_rows} rows ({_boards_with_rows(found)}).")
            n += 1
    if n == 0:
        raise HardwareError(f"The playback file {path} holds no samples.")
    return n


def _boards_with_rows(n_rows) -> str:
    """Which profiles a file of ``n_rows`` values a line could come from, as advice."""
    from brainflow.board_shim import BoardShim

    from ._profiles import list_profiles

    fits = [p.name for p in list_profiles().values()
            if p.board_id is not None and BoardShim.get_num_rows(p.board_id) == n_rows]
    if fits:
        return f"it fits {' or '.join(fits)}: pass that --board"
    return "it is no BrainFlow file of a known board"
