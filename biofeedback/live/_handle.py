"""A live session that runs in the background: the handle for notebooks."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from .._threads import BackgroundJob
from ..session import Sink

__all__ = ["LiveSession"]


class _Keep(Sink):
    """Keeps the newest window results for the handle (lossless, O(1) a window)."""

    name = "notebook"
    lossless = True

    def __init__(self, maxlen):
        self.results = deque(maxlen=maxlen)
        self.lock = threading.Lock()
        self.first = threading.Event()
        self.n_windows = 0

    def write(self, result):
        with self.lock:
            self.results.append(result)
            self.n_windows += 1
        self.first.set()


class LiveSession(BackgroundJob):
    """A live session running on its own thread, read while it runs.

    Built by :func:`~biofeedback.live.build_session` (so cues, recording and
    report work as from the command line) and run in the background: the
    notebook stays free. Like MNE-LSL's ``StreamLSL``, reads never consume
    and always give the newest data.

    Parameters
    ----------
    source : Source | str | None
        A source or a board profile name (default: the pipeline's board,
        BrainFlow's synthetic board out of the box).
    pipeline : path-like | PipelineConfig | None
        The pipeline (default: the model's, else the shipped default).
    model : path-like | LoadedModel | None
        A trained model: adds class probabilities to the estimates.
    keep : int
        How many of the newest windows :meth:`get_estimates` can return.
    record : bool
        Record with LabRecorder (off by default in a notebook).
    feedback : bool
        Run the pipeline's feedback protocol and its cues (off by default;
        the protocol ends the session when it is over).
    **kwargs
        Anything else :func:`~biofeedback.live.build_session` takes
        (``duration``, ``sinks``, ``recordings_dir``, ``on_end``...).

    Attributes
    ----------
    session : Session | None
        The running (or last) session.
    summary : SessionSummary | None
        Set once the session has ended.

    Examples
    --------
    >>> from biofeedback.live import LiveSession
    >>> with LiveSession("synthetic") as live:  # doctest: +SKIP
    ...     time.sleep(5)
    ...     est = live.get_estimates(last=5)
    ...     data, ts = live.get_data(seconds=2)
    >>> est.to_data_frame()  # doctest: +SKIP
    """

    def __init__(self, source=None, pipeline=None, model=None, *, keep=1000, record=False,
                 feedback=False, **kwargs):
        self._build = dict(source=source, pipeline=pipeline, model=model, record=record,
                           feedback=feedback, **kwargs)
        self.keep = int(keep)
        self.session = None
        self.summary = None
        self._keep = None
        self._thread = None
        self._error = None

    # -- control ---------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> LiveSession:
        """Start the session in the background; return once its first window is out.

        Parameters
        ----------
        timeout : float
            Seconds to wait for the first window (the engine compiles first).

        Returns
        -------
        self : LiveSession

        Raises
        ------
        RuntimeError
            If it is already running, or no window came within ``timeout``.
        Exception
            Whatever stopped the session while it started.
        """
        from ._build import build_session

        if self.running:
            raise RuntimeError("This live session is already running; stop() it first.")
        self._error = None
        self.summary = None
        self._keep = _Keep(self.keep)
        build = dict(self._build)
        build["sinks"] = [self._keep, *build.get("sinks", ())]
        self.session = build_session(**build)
        self._thread = threading.Thread(target=self._run, name="live-session", daemon=True)
        self._thread.start()
        if not self._keep.first.wait(timeout):
            self._raise()
            self.stop()
            raise RuntimeError(f"No window came out within {timeout:g} s.")
        self._raise()
        return self

    def _run(self):
        try:
            self.summary = self.session.run()
        except BaseException as err:  # stored, re-raised to the caller's next call
            self._error = err
        finally:
            self._keep.first.set()  # never leave start() waiting

    def stop(self, timeout: float = 30.0):
        """End the session and wait for it to close; returns its summary.

        Raises
        ------
        Exception
            Whatever stopped the session on its thread.
        """
        if self.session is not None:
            self.session.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self._raise()
        return self.summary

    def report(self):
        """Write the session's HTML report (see :meth:`Session.report`); its path or None."""
        return self.session.report() if self.session is not None else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- state -------------------------------------------------------------------------
    @property
    def n_windows(self) -> int:
        """Windows the engine gave since :meth:`start`."""
        return self._keep.n_windows if self._keep is not None else 0

    def _engine(self):
        if self.session is None or self.session.engine is None:
            raise RuntimeError("The live session has not started; call start() first.")
        return self.session.engine

    @property
    def estimate_names(self) -> list:
        """Names of the estimates, aligned with :meth:`get_estimates` columns."""
        return list(self._engine().estimate_names)

    @property
    def ch_names(self) -> list:
        """EEG channel names (rows of :meth:`get_data`)."""
        return list(self._engine().ch_names)

    @property
    def sfreq(self) -> float:
        """Sampling rate of the EEG in Hz."""
        return float(self._engine().sfreq)

    # -- reads ---------------------------------------------------------------------------
    def get_estimates(self, last=None):
        """The newest window results, oldest first.

        Parameters
        ----------
        last : int | None
            How many of the newest windows (default: all kept, up to ``keep``).

        Returns
        -------
        output : EngineOutput
            ``t_end`` (LSL clock), ``estimates`` (n_windows, n_estimates),
            ``gated``, ``quality``, ``features``; ``to_data_frame()`` and
            ``to_raw()`` turn it into pandas or MNE.
        """
        from ..engine import EngineOutput

        self._raise()
        engine = self._engine()
        with self._keep.lock:
            results = list(self._keep.results)
        if last is not None:
            results = results[-int(last):] if int(last) > 0 else []
        return EngineOutput.from_results(results, engine)

    def get_data(self, seconds=None, picks=None):
        """The newest raw EEG, without consuming it (like ``StreamLSL.get_data``).

        Parameters
        ----------
        seconds : float | None
            How much, in seconds (default: the engine's window length). At
            most what the acquisition ring holds (60 s).
        picks : list of str | None
            Channel names (default: all).

        Returns
        -------
        data : ndarray, shape (n_channels, n_times)
            Unfiltered EEG in volts.
        timestamps : ndarray, shape (n_times,)
            LSL clock seconds.
        """
        self._raise()
        engine = self._engine()
        acq = self.session.acquisition
        if acq is None:
            raise RuntimeError("Raw data is kept only while a real-time source runs.")
        if seconds is None:
            seconds = engine.win_len / engine.sfreq
        n = max(1, int(round(float(seconds) * engine.sfreq)))
        data, ts = acq.ring.latest(n)
        if picks is not None:
            names = list(engine.ch_names)
            missing = [p for p in picks if p not in names]
            if missing:
                raise ValueError(f"Unknown channel {missing[0]!r}; the channels are "
                                 f"{', '.join(names)}.")
            data = data[[names.index(p) for p in picks]]
        return np.ascontiguousarray(data), ts
