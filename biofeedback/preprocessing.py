"""Causal streaming preprocessing: filters that carry their state across chunks.

Every step follows one protocol: ``reset()`` and
``process(chunk, timestamps) -> (chunk, timestamps)`` with ``chunk`` shaped
(n_channels, n_times), and a ``description`` for metadata and methods
sections. Filtering a recording chunk by chunk gives the same
samples as filtering it in one go.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SOSFilter", "AverageReference", "LinkedReference", "Chain", "build_preprocessing"]


class SOSFilter:
    """A causal IIR filter in second-order sections, stateful across chunks.

    The state starts in steady state for the first sample (as if the signal had
    always been at that value), so a large DC offset does not ring.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections (``scipy.signal`` layout).
    n_channels : int
        Channels filtered in parallel.
    description : str
        What the filter is, for metadata and methods sections.
    """

    def __init__(self, sos: np.ndarray, n_channels: int, description: str = "IIR filter"):
        from ._iir import sosfilt_zi

        self.description = description
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        if self.sos.ndim != 2 or self.sos.shape[1] != 6 or np.any(self.sos[:, 3] != 1.0):
            raise ValueError("sos must have shape (n_sections, 6) with a0 = 1 in every "
                             f"section; got shape {self.sos.shape}.")
        self.n_channels = n_channels
        self._zi_unit = sosfilt_zi(self.sos)  # (n_sections, 2)
        self.zi = None  # (n_channels, n_sections, 2) once a chunk has been seen

    def reset(self) -> None:
        """Forget the state; the next chunk restarts in steady state."""
        self.zi = None

    def process(self, chunk: np.ndarray, timestamps: np.ndarray, restart=None):
        """Filter ``chunk`` (n_channels, n_times); returns (filtered, timestamps).

        ``restart`` (bool, like ``chunk``), where true, restarts that channel
        in steady state at that sample, as at the first one.
        """
        from ._kernels import sosfilt

        if chunk.shape[1] == 0:
            return chunk, timestamps
        chunk = np.ascontiguousarray(chunk, dtype=np.float64)
        if self.zi is None:
            x0 = chunk[:, 0]
            x0 = np.where(np.isfinite(x0), x0, 0.0)
            self.zi = np.ascontiguousarray(self._zi_unit[None, :, :] * x0[:, None, None])
        if restart is None or not restart.any():
            return sosfilt(self.sos, chunk, self.zi), timestamps
        out = np.empty_like(chunk)
        for i in range(chunk.shape[0]):
            cuts = [0, *np.flatnonzero(restart[i]).tolist(), chunk.shape[1]]
            for a, b in zip(cuts[:-1], cuts[1:]):
                if a == b:
                    continue
                if a > 0 or restart[i, 0]:
                    x0 = chunk[i, a] if np.isfinite(chunk[i, a]) else 0.0
                    self.zi[i] = self._zi_unit * x0
                out[i:i + 1, a:b] = sosfilt(self.sos, np.ascontiguousarray(chunk[i:i + 1, a:b]),
                                            self.zi[i:i + 1])
        return out, timestamps


class AverageReference:
    """Subtract the mean over channels from every channel (stateless)."""

    description = "common average reference"

    def reset(self) -> None:
        """Nothing to reset."""

    def process(self, chunk: np.ndarray, timestamps: np.ndarray):
        """Re-reference ``chunk`` to the common average."""
        return chunk - chunk.mean(axis=0, keepdims=True), timestamps


class LinkedReference:
    """Subtract the mean of some channels (e.g. linked mastoids) from every channel.

    Parameters
    ----------
    picks : list of int
        Reference channels, e.g. TP9 and TP10 on a Muse.
    description : str
        What the reference is, for metadata and methods sections.
    """

    def __init__(self, picks, description: str = "linked reference"):
        self.picks = np.asarray(picks, dtype=np.int64)
        self.description = description

    def reset(self) -> None:
        """Nothing to reset."""

    def process(self, chunk: np.ndarray, timestamps: np.ndarray):
        """Re-reference ``chunk`` to the mean of the reference channels."""
        return chunk - chunk[self.picks].mean(axis=0, keepdims=True), timestamps


class Chain:
    """Steps applied in order; itself a streaming step.

    With ``restart_above`` (volts), a channel whose raw signal reaches that
    level (the amplifier's rail) restarts its filters in steady state at its
    first sample back below it, as at the start of a stream. The filters
    would otherwise ring from the rail's return for seconds after it (a
    rail-size spike on a Cyton kept the amplitude gate shut 2 s longer than
    the window, a 1 s rail 3 s longer). The decision is per sample, so
    chunking does not change it, and replay decides the same way.
    """

    def __init__(self, steps, restart_above=None):
        self.steps = list(steps)
        self.restart_above = float(restart_above) if restart_above else None
        self._held = None  # per channel: the last sample was at the rail

    def reset(self) -> None:
        """Reset every step."""
        self._held = None
        for step in self.steps:
            step.reset()

    def _restarts(self, chunk):
        with np.errstate(invalid="ignore"):
            at = np.abs(chunk) >= self.restart_above
        held = self._held if self._held is not None else np.zeros(chunk.shape[0], bool)
        prev = np.concatenate([held[:, None], at[:, :-1]], axis=1)
        self._held = at[:, -1].copy()
        return prev & ~at

    def process(self, chunk: np.ndarray, timestamps: np.ndarray):
        """Run ``chunk`` through every step."""
        restart = None
        if self.restart_above is not None and chunk.shape[1]:
            restart = self._restarts(chunk)
        for step in self.steps:
            if restart is not None and isinstance(step, SOSFilter):
                chunk, timestamps = step.process(chunk, timestamps, restart)
            else:
                chunk, timestamps = step.process(chunk, timestamps)
        return chunk, timestamps

    def describe(self) -> list[str]:
        """One line per step, for metadata and methods sections."""
        return [s.description for s in self.steps]


def build_preprocessing(
    config, sfreq: float, n_channels: int, line_freq: float = 50.0, ch_names=None,
    restart_above=None,
) -> Chain:
    """Build the causal preprocessing chain a pipeline asks for.

    Parameters
    ----------
    config : PreprocessingConfig
        Filter settings.
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of channels.
    line_freq : float
        Mains frequency used when ``config.notch == "auto"``.
    ch_names : list of str | None
        Channel names; needed for ``reference = "mastoids"``.
    restart_above : float | None
        Volts (the rail): a channel back from this level restarts its filters
        (see :class:`Chain`).

    Returns
    -------
    chain : Chain
    """
    from ._iir import butter_sos, notch_sos

    nyq = sfreq / 2.0
    steps = []
    if config.reference == "average":
        steps.append(AverageReference())
    elif config.reference == "mastoids":
        if ch_names is None or len(ch_names) != n_channels:
            raise ValueError(
                'reference = "mastoids" needs the channel names (ch_names).'
            )
        missing = [ch for ch in config.reference_channels if ch not in ch_names]
        if missing:
            raise ValueError(
                f"Reference channel {missing[0]!r} is not among the channels "
                f"({', '.join(ch_names)})."
            )
        steps.append(LinkedReference(
            [list(ch_names).index(ch) for ch in config.reference_channels],
            "linked reference: mean of " + ", ".join(config.reference_channels)))
    hp, lp = config.highpass, config.lowpass
    if lp and lp >= nyq:
        lp = 0.0  # nothing to cut below Nyquist
    if hp and lp:
        sos = butter_sos(config.order, [hp, lp], "bandpass", sfreq)
        desc = f"causal Butterworth band-pass {hp:g}-{lp:g} Hz, order {config.order}"
    elif hp:
        sos = butter_sos(config.order, hp, "highpass", sfreq)
        desc = f"causal Butterworth high-pass {hp:g} Hz, order {config.order}"
    elif lp:
        sos = butter_sos(config.order, lp, "lowpass", sfreq)
        desc = f"causal Butterworth low-pass {lp:g} Hz, order {config.order}"
    else:
        sos = None
    if sos is not None:
        steps.append(SOSFilter(sos, n_channels, desc))
    notch = line_freq if config.notch == "auto" else config.notch
    if notch != "off" and notch and float(notch) < nyq:
        steps.append(SOSFilter(notch_sos(float(notch), config.notch_q, sfreq), n_channels,
                               f"causal IIR notch {float(notch):g} Hz, Q={config.notch_q:g}"))
    return Chain(steps, restart_above)
