"""BrainFlow boards as a Source."""

from __future__ import annotations

import numpy as np

from .._logging import logger
from ..errors import HardwareError
from ..stream._clock import UnixToLSL
from ..stream._source import Chunk, Source, SourceEvent

#: BrainFlowInputParams fields, as BrainFlow names them (and the CLI exposes).
INPUT_PARAMS = (
    "serial_port",
    "mac_address",
    "ip_address",
    "ip_port",
    "ip_protocol",
    "serial_number",
    "other_info",
    "file",
    "timeout",
)


class BrainFlowSource(Source):
    """Acquire from a BrainFlow board.

    Only this object drains BrainFlow's ring buffer (``get_board_data``);
    EEG rows are selected here and scaled to volts, BrainFlow's Unix
    timestamps are moved onto the LSL clock, and the packet counter is used to
    count dropped samples.

    Parameters
    ----------
    profile : BoardProfile
        A profile with ``brainflow_board`` set.
    params : dict
        ``BrainFlowInputParams`` fields (``serial_port``, ``mac_address``...).
    buffer_size : int
        BrainFlow's ring buffer in samples (BrainFlow's default is 450,000).
    """

    def __init__(self, profile, params: dict | None = None, buffer_size: int = 45000):
        super().__init__(profile)
        if profile.brainflow_board is None:
            raise HardwareError(f"The {profile.name!r} profile is not a BrainFlow board.")
        self.params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        unknown = set(self.params) - set(INPUT_PARAMS)
        if unknown:
            raise HardwareError(f"Unknown BrainFlow connection option {sorted(unknown)[0]!r}.")
        needed = [p for p in profile.connection_params if p in self.params]
        if profile.connection_params and not needed:
            opts = " or ".join("--" + p.replace("_", "-") for p in profile.connection_params)
            raise HardwareError(
                f"The {profile.name} board needs {opts} to connect "
                f"(e.g. --serial-port /dev/ttyUSB0 for an OpenBCI dongle)."
            )
        self.buffer_size = buffer_size
        self._board = None
        self._clock = UnixToLSL()
        self._last_counter = None

    def _open(self):
        from brainflow.board_shim import BoardShim, BrainFlowError, BrainFlowInputParams

        BoardShim.disable_board_logger()
        params = BrainFlowInputParams()
        for key, value in self.params.items():
            is_int = key in ("ip_port", "ip_protocol", "timeout")
            setattr(params, key, int(value) if is_int else value)
        board_id = self.profile.board_id
        self._board = BoardShim(board_id, params)
        try:
            self._board.prepare_session()
            self._board.start_stream(self.buffer_size)
        except BrainFlowError as err:
            self._board = None
            raise HardwareError(
                f"Could not start the {self.profile.description} "
                f"(BrainFlow: {err}). Is it on, charged and connected?",
                exit_code=getattr(err, "exit_code", None),
            ) from None
        self._eeg_rows = BoardShim.get_eeg_channels(board_id)
        self._ts_row = BoardShim.get_timestamp_channel(board_id)
        self._counter_row = BoardShim.get_package_num_channel(board_id)
        self.sfreq = float(BoardShim.get_sampling_rate(board_id))
        if len(self._eeg_rows) != len(self.ch_names):
            raise HardwareError(
                f"The {self.profile.name} profile names {len(self.ch_names)} channels "
                f"but BrainFlow reports {len(self._eeg_rows)}."
            )
        logger.info("BrainFlow board %s started at %g Hz", self.profile.name, self.sfreq)

    def _read(self, timeout: float):
        import time

        from brainflow.board_shim import BrainFlowError

        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self._board.get_board_data()
            except BrainFlowError as err:
                raise HardwareError(f"Reading the board failed (BrainFlow: {err}).",
                                    exit_code=getattr(err, "exit_code", None)) from None
            if raw.shape[1] or time.monotonic() >= deadline:
                break
            time.sleep(min(0.001, max(deadline - time.monotonic(), 0)))  # poll: cues wait on it
        if raw.shape[1] == 0:
            return None
        self._count_drops(raw[self._counter_row])
        data = np.ascontiguousarray(raw[self._eeg_rows]) * self.profile.scale_to_volts
        ts = self._clock(raw[self._ts_row])
        return Chunk(data, ts)

    def _count_drops(self, counter):
        wrap = self.profile.columns.packet_counter_wrap
        if not wrap:
            return
        counter = counter.astype(np.int64)
        prev = counter[0] - 1 if self._last_counter is None else self._last_counter
        steps = np.diff(counter, prepend=prev) % wrap
        missing = int(np.sum(np.maximum(steps - 1, 0)))
        if missing:
            self._emit(SourceEvent("dropped", timestamp=float("nan"), n=missing))
        self._last_counter = int(counter[-1])

    def _close(self):
        if self._board is not None:
            try:
                self._board.stop_stream()
            finally:
                self._board.release_session()
                self._board = None

    def describe(self) -> dict:
        out = super().describe()
        out.update(kind="brainflow", board=self.profile.brainflow_board,
                   params={k: v for k, v in self.params.items() if k != "other_info"})
        return out
