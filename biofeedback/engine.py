"""The engine: chunks and timestamps in, per-window estimates out.

The engine is pure and clock-agnostic: it never reads a clock, starts a thread
or touches a device. Live sessions, replay and batch training drive the same
object, so a replayed recording gives the estimates the live run gave.

Windows sit on a sample grid that starts at the first sample after a (re)start:
a window ends every ``hop`` samples once ``length`` samples are in. How the
samples were chunked never changes the output. A timestamp jump longer than
``preprocessing.gap_reset`` seconds restarts filters and windows, because the
samples on both sides of a gap do not belong to one signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import _as_data
from ._logging import logger

__all__ = ["Engine", "WindowResult", "EngineOutput"]


@dataclass
class WindowResult:
    """What the engine says about one window.

    Attributes
    ----------
    index : int
        Window number since the engine was created (never reset).
    t_end : float
        Timestamp of the newest sample in the window (session clock).
    estimates : ndarray, shape (n_estimates,)
        Values aligned with :attr:`Engine.estimate_names`. An index that could
        not be computed (e.g. asymmetry with a railed frontal channel) is NaN
        and its reason is in ``quality``.
    features : ndarray, shape (n_features,)
        The feature vector (the classifier's input).
    gated : bool
        True when artifacts make the window unfit to drive feedback.
    quality : ndarray of int64, shape (n_channels,)
        Per-channel flags (see :data:`biofeedback.quality.FLAGS`).
    window : ndarray, shape (n_channels, n_times) | None
        The filtered window in volts (what features and window-input models
        read), when the engine was built with ``keep_windows=True``.
    segment : int
        The engine's restarts before this window (windows of one segment
        share continuous filters).
    """

    index: int
    t_end: float
    estimates: np.ndarray
    features: np.ndarray
    gated: bool
    quality: np.ndarray
    window: np.ndarray | None = None
    segment: int = 0


@dataclass
class EngineOutput:
    """Stacked results of many windows (replay and batch work)."""

    t_end: np.ndarray
    estimates: np.ndarray
    features: np.ndarray
    gated: np.ndarray
    quality: np.ndarray
    estimate_names: list
    feature_names: list
    windows: np.ndarray | None = None  # (n_windows, n_channels, n_times) with keep_windows
    summary: object = None  # the SessionSummary of a replay (losses, gaps)

    @classmethod
    def from_results(cls, results, engine) -> EngineOutput:
        """Stack a list of :class:`WindowResult`."""
        n_est, n_feat = len(engine.estimate_names), len(engine.feature_names)
        n_ch = len(engine.ch_names)
        return cls(
            t_end=np.array([r.t_end for r in results], dtype=float),
            estimates=np.array([r.estimates for r in results]).reshape(-1, n_est),
            features=np.array([r.features for r in results]).reshape(-1, n_feat),
            gated=np.array([r.gated for r in results], dtype=bool),
            quality=np.array([r.quality for r in results], dtype=np.int64).reshape(-1, n_ch),
            estimate_names=list(engine.estimate_names),
            feature_names=list(engine.feature_names),
            windows=(np.array([r.window for r in results]).reshape(-1, n_ch, engine.win_len)
                     if engine.keep_windows else None),
        )

    def to_data_frame(self):
        """One row per window: ``t_end``, every estimate, ``gated`` (pandas).

        The columns of ``biofeedback replay --out``. Needs pandas
        (``pip install "biofeedback[pandas]"``); see
        :func:`biofeedback._tables.to_data_frame`.
        """
        from ._tables import to_data_frame

        return to_data_frame(self)

    def to_raw(self):
        """The estimates as an :class:`mne.io.Raw` (misc channels, one sample a hop).

        Gated windows are ``BAD_gated`` annotations; see
        :func:`biofeedback._tables.to_raw`.
        """
        from ._tables import to_raw

        return to_raw(self)


class IndexSpan:
    """Causal mean of some indices over the windows of the last seconds.

    A 2 s window's frontal alpha asymmetry is noisy (Allen, Coan & Nazarian
    2004 average many 2 s epochs); the mean over the windows that ended
    within the last ``span`` seconds is steadier. For a log ratio such as
    ``faa = ln a_R - ln a_L`` the mean of the differences is the difference of
    the mean log powers. Only finite values enter: an index is NaN in a window
    where a channel it uses is flagged, so artifacts on its channels never
    enter, while artifacts elsewhere (which gate the window) do not stop it.
    The output is NaN until a finite value has been seen in the span.

    Parameters
    ----------
    spans : dict of int to float
        Column of the index -> seconds (longer than zero).
    step : float
        Seconds between windows.
    """

    def __init__(self, spans, step: float):
        self.cols = np.array(sorted(spans), dtype=np.int64)
        self.n = np.array([max(1, int(round(spans[c] / step))) for c in self.cols])
        self.reset()

    def reset(self) -> None:
        """Forget the past (the engine restarted)."""
        self._hist = [[] for _ in self.cols]

    def step(self, values):
        """Replace the spanned columns of ``values`` (one window) by their means."""
        out = np.array(values, dtype=np.float64, copy=True)
        for j, (c, n) in enumerate(zip(self.cols, self.n, strict=True)):
            h = self._hist[j]
            h.append(out[c])
            del h[:-n]
            vals = np.asarray(h)
            vals = vals[np.isfinite(vals)]
            out[c] = vals.mean() if vals.size else np.nan
        return out

    def steps(self, values):
        """:meth:`step` over a stack of windows ``(n_windows, n_values)``, in order."""
        values = np.asarray(values, dtype=np.float64)
        return np.array([self.step(v) for v in values]).reshape(values.shape)


class Engine:
    """Causal preprocessing, sliding windows, gates, features, indices, model.

    Parameters
    ----------
    config : PipelineConfig
        The pipeline.
    ch_names : list of str
        Channels in data order.
    sfreq : float
        Sampling rate in Hz.
    profile : BoardProfile
        The board (rail value, frontal pair, mains frequency).
    model : object | None
        A loaded classifier with ``classes_``, ``feature_names`` and
        ``predict_proba`` (see :mod:`biofeedback.estimators`); adds one
        ``p_<class>`` estimate per class. Its ``input`` ("features", the
        default, or "windows") says whether it reads the feature vector or the
        filtered window ``(1, n_channels, n_times)``; its ``dwell`` (seconds,
        default 0: none) sets the causal state filter over its probabilities
        (:class:`biofeedback.statefilter.StateFilter`, restarted with the
        engine).
    keep_windows : bool
        Give each :class:`WindowResult` its filtered window (batch work).

    Examples
    --------
    >>> engine = Engine(load_pipeline(), profile.ch_names, 250.0, profile)
    >>> for result in engine.process(chunk, timestamps):
    ...     print(result.t_end, dict(zip(engine.estimate_names, result.estimates)))
    """

    def __init__(self, config, ch_names, sfreq: float, profile, model=None,
                 keep_windows: bool = False):
        from .config import check_rate
        from .features import FeatureSet
        from .preprocessing import build_preprocessing
        from .quality import QualityGate

        check_rate(config, sfreq)  # one sentence naming the field, before any filter
        self.config = config
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.profile = profile
        n_ch = len(self.ch_names)
        self.win_len = int(round(config.window.length * self.sfreq))
        self.hop = int(round(config.window.hop * self.sfreq))
        self.preprocessing = build_preprocessing(
            config.preprocessing, self.sfreq, n_ch, profile.line_freq, ch_names=self.ch_names
        )
        self.features = FeatureSet(config.features, self.ch_names, self.sfreq, profile,
                                   hop=self.hop, n_times=self.win_len)
        gates = config.gates
        if profile.gates:  # board-specific overrides (hardware/*.toml)
            import dataclasses

            gates = dataclasses.replace(gates, **profile.gates)
        self.gate = QualityGate(gates, profile, self.sfreq, self.ch_names)
        self.model = model
        self.keep_windows = bool(keep_windows)
        self.state_filter = None
        # A model calibrated on a per-user baseline takes it, as evaluation did,
        # from the windows ending within its first ``seconds`` of data; until
        # then its probabilities are NaN (no cue can come from them).
        self._calib_seconds = None
        if model is not None and getattr(model, "needs_calibration", False):
            self._calib_seconds = float((model.calibration or {}).get("seconds", 20.0))
        if model is not None:
            model.check_compatible(self.ch_names, self.sfreq, self.features.feature_names)
            dwell = float(getattr(model, "dwell", 0.0) or 0.0)
            if dwell > 0:
                from .statefilter import StateFilter

                self.state_filter = StateFilter(len(model.classes_), dwell,
                                                self.hop / self.sfreq,
                                                window=self.win_len / self.sfreq)
        spans = dict(config.features.index_span or {})
        spans = {self.features.index_names.index(k): float(v) for k, v in spans.items()
                 if k in self.features.index_names and v > 0}
        self.index_span = IndexSpan(spans, self.hop / self.sfreq) if spans else None
        self.estimate_names = list(self.features.index_names)
        if model is not None:
            self.estimate_names += [f"p_{c}" for c in model.classes_]
        self.feature_names = list(self.features.feature_names)
        self.n_windows = 0
        self.n_resets = 0
        self._restart_calibration()
        self.reset()

    def _restart_calibration(self) -> None:
        self._t_first = None  # first sample the engine saw (not reset by gaps)
        self._calib_feats = []
        self.calibrated_at = None  # t_end of the window that completed calibration

    def reset(self) -> None:
        """Restart filters and windows (the next sample starts a new grid)."""
        self.preprocessing.reset()
        self.features.reset()
        self.gate.reset_tracking()
        n_ch = len(self.ch_names)
        self._raw_tail = np.empty((n_ch, 0))
        self._filt_tail = np.empty((n_ch, 0))
        self._ts_tail = np.empty(0)
        self._count = 0  # samples since the last restart
        self._last_ts = None
        self._last_finite = np.zeros(n_ch)
        if self.state_filter is not None:
            self.state_filter.reset()
        if getattr(self, "index_span", None) is not None:
            self.index_span.reset()

    def process(self, data, timestamps) -> list[WindowResult]:
        """Feed samples; return the windows they complete, oldest first.

        The live driver: one window at a time, a few per chunk.

        Parameters
        ----------
        data : array, shape (n_channels, n_times)
            EEG in volts.
        timestamps : array, shape (n_times,)
            One timestamp per sample (seconds), increasing.

        Returns
        -------
        results : list of WindowResult
        """
        return self._drive(data, timestamps, self._process_segment)

    def process_batch(self, data, timestamps, *, block: int = 256) -> list[WindowResult]:
        """Feed many samples at once; the same windows :meth:`process` gives.

        The batch driver for offline work (replay, training, evaluation,
        conversion): filters run over the whole block with their state
        carried, all window ends are found at once, and gates, features and
        the model work on stacks of ``block`` windows with the batch kernels
        (Welch segments shared between overlapping windows); the model's
        state filter runs once over the sequence. It carries the same state
        as :meth:`process`, so the two can be mixed on one stream, and the
        output equals feeding the samples chunk by chunk (to floating-point
        rounding: the batch Welch kernel sums in another order).

        Parameters
        ----------
        data : array, shape (n_channels, n_times)
            EEG in volts.
        timestamps : array, shape (n_times,)
            One timestamp per sample (seconds), increasing.
        block : int
            Windows computed together (bounds the memory of the stacks).

        Returns
        -------
        results : list of WindowResult
        """
        self._block = max(1, int(block))
        return self._drive(data, timestamps, self._process_segment_batch)

    def _drive(self, data, timestamps, segment_fn):
        data = _as_data(data, "data", 2)
        timestamps = np.ascontiguousarray(timestamps, dtype=np.float64)
        if data.shape[0] != len(self.ch_names):
            raise ValueError(
                f"data has {data.shape[0]} channels but the engine was built for "
                f"{len(self.ch_names)} ({', '.join(self.ch_names)})."
            )
        if timestamps.shape != (data.shape[1],):
            raise ValueError(
                f"timestamps must have shape ({data.shape[1]},), got {timestamps.shape}."
            )
        if data.shape[1] == 0:
            return []
        if self._t_first is None:
            self._t_first = float(timestamps[0])
        # split where the clock jumps: each side is filtered on its own
        prev = timestamps[0] if self._last_ts is None else self._last_ts
        steps = np.diff(timestamps, prepend=prev)
        breaks = np.flatnonzero(np.abs(steps) > self.config.preprocessing.gap_reset)
        results = []
        start = 0
        for b in [*breaks.tolist(), data.shape[1]]:
            if b > start:
                results.extend(segment_fn(data[:, start:b], timestamps[start:b]))
            if b < data.shape[1]:
                logger.info("Gap of %.3f s at t=%.3f: restarting filters.", steps[b], timestamps[b])
                self.n_resets += 1
                self.reset()
            start = b
        return results

    def _filter(self, raw, ts):
        """Causal filtering of one segment; non-finite samples hold the last finite value."""
        if not np.isfinite(raw).all():  # hold the last finite value for the filters
            finite = np.isfinite(raw)
            pos = np.where(finite, np.arange(raw.shape[1])[None, :], -1)
            np.maximum.accumulate(pos, axis=1, out=pos)
            held = np.take_along_axis(raw, np.maximum(pos, 0), axis=1)
            held = np.where(pos >= 0, held, self._last_finite[:, None])
            self._last_finite = held[:, -1].copy()
            filt, _ = self.preprocessing.process(held, ts)
        else:
            filt, _ = self.preprocessing.process(raw, ts)
            self._last_finite = raw[:, -1].copy()
        self._last_ts = ts[-1]
        return filt

    def _window_stops(self, n_new):
        """Window ends among ``n_new`` new samples, as positions after the tail."""
        c0 = self._count
        self._count += n_new
        # window ends e (1-based counts) with e >= win_len and (e - win_len) % hop == 0
        first = max(self.win_len, c0 + 1)
        rem = (first - self.win_len) % self.hop
        if rem:
            first += self.hop - rem
        offset = self._raw_tail.shape[1]
        return offset + (np.arange(first, self._count + 1, self.hop) - c0)

    def _keep_tails(self, raw_all, filt_all, ts_all):
        keep = self.win_len - 1
        self._raw_tail = raw_all[:, -keep:]
        self._filt_tail = filt_all[:, -keep:]
        self._ts_tail = ts_all[-keep:]

    def _extend(self, raw, ts):
        """Filter a segment and join it to the kept tails; the window stops in it."""
        filt = self._filter(raw, ts)
        stops = self._window_stops(raw.shape[1])
        raw_all = np.concatenate([self._raw_tail, raw], axis=1)
        filt_all = np.concatenate([self._filt_tail, filt], axis=1)
        ts_all = np.concatenate([self._ts_tail, ts])
        return stops, raw_all, filt_all, ts_all

    def _process_segment(self, raw, ts):
        stops, raw_all, filt_all, ts_all = self._extend(raw, ts)
        results = []
        for stop in stops.tolist():
            sl = slice(stop - self.win_len, stop)
            results.append(self._window(raw_all[:, sl], filt_all[:, sl], ts_all[stop - 1]))
        self._keep_tails(raw_all, filt_all, ts_all)
        return results

    def _process_segment_batch(self, raw, ts):
        from numpy.lib.stride_tricks import sliding_window_view

        stops, raw_all, filt_all, ts_all = self._extend(raw, ts)
        results = []
        if stops.size:
            # (n_ch, n_pos, win_len) views; window k starts at stops[k] - win_len
            raw_v = sliding_window_view(raw_all, self.win_len, axis=1)
            filt_v = sliding_window_view(filt_all, self.win_len, axis=1)
            self.features.reset()  # the live path's shared-segment cache is not ours
            for i in range(0, stops.size, self._block):
                starts = stops[i : i + self._block] - self.win_len
                results.extend(self._windows(
                    np.ascontiguousarray(raw_v[:, starts].transpose(1, 0, 2)),
                    np.ascontiguousarray(filt_v[:, starts].transpose(1, 0, 2)),
                    ts_all[starts + self.win_len - 1]))
        self._keep_tails(raw_all, filt_all, ts_all)
        return results

    def _windows(self, raw, filt, t_end) -> list[WindowResult]:
        """The batch twin of :meth:`_window`: a stack of windows, in order."""
        flags = self.gate.track(self.gate.assess(raw, filt), self.hop / self.sfreq)
        clean = self.gate.clean_channels(flags)
        gated = self.gate.is_gated(flags)
        filt_safe = np.where(np.isfinite(filt), filt, 0.0)
        feats, idx = self.features.batch(filt_safe, clean)
        if self.index_span is not None:
            idx = self.index_span.steps(idx)
        if self.model is not None:
            idx = np.concatenate([idx, self._model_proba_batch(feats, filt_safe, t_end, gated)],
                                 axis=1)
        gated = gated | ~np.isfinite(idx).any(axis=1)
        n0 = self.n_windows
        self.n_windows += len(t_end)
        keep = self.keep_windows
        return [WindowResult(n0 + k, float(t_end[k]), idx[k], feats[k], bool(gated[k]),
                             flags[k], filt_safe[k] if keep else None, self.n_resets)
                for k in range(len(t_end))]

    def _window(self, raw, filt, t_end) -> WindowResult:
        flags = self.gate.track(self.gate.assess(raw, filt), self.hop / self.sfreq)
        clean = self.gate.clean_channels(flags)
        gated = self.gate.is_gated(flags)
        filt_safe = np.where(np.isfinite(filt), filt, 0.0)
        filt_safe = np.ascontiguousarray(filt_safe)
        feats, idx = self.features.window(filt_safe, clean)
        if self.index_span is not None:
            idx = self.index_span.step(idx)
        if self.model is not None:
            idx = np.concatenate([idx, self._model_proba(feats, filt_safe, t_end, gated)])
        if not np.any(np.isfinite(idx)):
            gated = True
        result = WindowResult(self.n_windows, float(t_end), idx, feats, bool(gated), flags,
                              filt_safe.copy() if self.keep_windows else None, self.n_resets)
        self.n_windows += 1
        return result

    def _model_proba(self, feats, filt, t_end, gated=False, filter_state=True):
        """The model's class probabilities for one window, filtered over the past."""
        x = filt if getattr(self.model, "input", "features") == "windows" else feats
        if self._calib_seconds is not None and t_end - self._t_first <= self._calib_seconds:
            # the calibration blocks: no probabilities (as in validation), and
            # their clean windows' features if the model still needs them
            if (not getattr(self.model, "calibrated", False) and not gated
                    and np.all(np.isfinite(feats))):
                self._calib_feats.append(feats.copy())
            return np.full(len(self.model.classes_), np.nan)
        if self._calib_seconds is not None and not getattr(self.model, "calibrated", False):
            if not self._calib_feats:
                from .errors import ModelError

                raise ModelError(
                    f"The model calibrates on the first {self._calib_seconds:g} s of the "
                    "session, but the quality gates flagged every window in them; check "
                    "the electrodes and start again."
                )
            self.model.calibrate(np.array(self._calib_feats))
            self.calibrated_at = float(t_end)
            logger.info("Model calibrated on %d baseline windows.", len(self._calib_feats))
        if np.all(np.isfinite(x)):
            proba = self.model.predict_proba(x[None])[0]
        else:
            proba = np.full(len(self.model.classes_), np.nan)
        if self.state_filter is not None and filter_state:
            proba = self.state_filter.step(proba)
        return proba

    def _model_proba_batch(self, feats, filt, t_end, gated):
        """:meth:`_model_proba` over a stack of windows: one ``predict_proba`` call."""
        windows_in = getattr(self.model, "input", "features") == "windows"
        n_w, n_cls = len(t_end), len(self.model.classes_)
        proba = np.full((n_w, n_cls), np.nan)
        predict = np.ones(n_w, bool)
        if self._calib_seconds is not None:
            in_calib = (t_end - self._t_first) <= self._calib_seconds
            predict = ~in_calib
            first = int(np.argmax(predict)) if predict.any() else n_w
            if not getattr(self.model, "calibrated", False):
                # the calibration windows before the first predicted one, as live
                take = (np.flatnonzero(in_calib[:first]) if first else np.empty(0, int))
                for k in take:
                    if not gated[k] and np.all(np.isfinite(feats[k])):
                        self._calib_feats.append(feats[k].copy())
                if first < n_w:  # calibrate exactly where the live path does
                    self._model_proba(feats[first], filt[first], t_end[first], gated[first],
                                      filter_state=False)
        x = filt if windows_in else feats
        finite = np.isfinite(x.reshape(n_w, -1)).all(axis=1)
        rows = np.flatnonzero(predict & finite)
        if rows.size:
            proba[rows] = self.model.predict_proba(x[rows])
        if self.state_filter is not None:
            proba = self.state_filter.filter(proba, carry=True)
        return proba

    def warm_up(self, batch: bool = False) -> float:
        """Compile and touch every kernel on noise, then restart; returns seconds.

        Live sessions call this before the first sample arrives so that
        just-in-time compilation never delays feedback. With ``batch`` the
        batch driver's kernels are compiled too (``biofeedback warmup``).
        Compiled kernels are cached on disk, so this is slow only once per
        installation.
        """
        import time

        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        n = self.win_len + self.hop
        noise = rng.standard_normal((len(self.ch_names), n)) * 10e-6
        self.process(noise, np.arange(n) / self.sfreq)
        if batch:
            self.reset()
            self.process_batch(noise, np.arange(n) / self.sfreq)
        self.reset()
        self._restart_calibration()
        self.n_windows = 0
        self.n_resets = 0
        return time.perf_counter() - t0

    def run(self, data, timestamps, chunk_size: int | None = None, *,
            batch: bool = False) -> EngineOutput:
        """Process a whole array and stack the results.

        By default through the live driver (:meth:`process`), optionally chunk
        by chunk; with ``batch=True`` through :meth:`process_batch`, which
        gives the same windows much faster.
        """
        data = _as_data(data, "data", 2)
        n = data.shape[1]
        step = n if not chunk_size else int(chunk_size)
        feed = self.process_batch if batch else self.process
        results = []
        for i in range(0, n, max(step, 1)):
            results.extend(feed(data[:, i : i + step], timestamps[i : i + step]))
        return EngineOutput.from_results(results, self)

    def describe(self) -> dict:
        """JSON-ready description of what the engine computes."""
        return {
            "window_samples": self.win_len,
            "hop_samples": self.hop,
            "preprocessing": self.preprocessing.describe(),
            "estimate_names": self.estimate_names,
            "feature_names": self.feature_names,
        }
