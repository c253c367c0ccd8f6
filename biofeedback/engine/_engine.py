"""The engine object: its parts, its state, and what it computes."""

from __future__ import annotations

import numpy as np

from .._checks import _as_data
from ._batch import _BatchDriver
from ._live import _LiveDriver
from ._model import _check_model, _ModelStep
from ._prepare import _WindowPreparation
from ._results import EngineOutput
from ._span import IndexSpan


class Engine(_LiveDriver, _BatchDriver, _ModelStep, _WindowPreparation):
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
    model : EngineModel | None
        A loaded classifier (:class:`biofeedback.training.LoadedModel`, or
        any object declaring what :class:`EngineModel` lists); adds one
        ``p_<class>`` estimate per class. Its ``input`` says whether it reads
        the feature vector or the filtered window ``(1, n_channels,
        n_times)``; its ``dwell`` (seconds, 0: none) sets the causal state
        filter over its probabilities
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
        from ..config import check_rate
        from ..features import FeatureSet
        from ..preprocessing import build_preprocessing
        from ..quality import QualityGate

        check_rate(config, sfreq)  # one sentence naming the field, before any filter
        self.config = config
        self.ch_names = list(ch_names)
        if model is not None:  # 'fp1', 'EEG Fp1' for a model's 'Fp1': read as the model names it
            from .._logging import logger
            from ..hardware._profiles import names_by_site, respelt_note

            names = names_by_site(self.ch_names, list(getattr(model, "ch_names", [])))
            note = respelt_note("The data name", self.ch_names, names)
            if note is not None:
                logger.warning("%s", note)
                self.ch_names = names
        self.sfreq = float(sfreq)
        self.profile = profile
        n_ch = len(self.ch_names)
        self.win_len = int(round(config.window.length * self.sfreq))
        self.hop = int(round(config.window.hop * self.sfreq))
        gates = config.gates
        if profile.gates:  # board-specific overrides (hardware/*.toml)
            import dataclasses

            gates = dataclasses.replace(gates, **profile.gates)
        # back from the rail, filters restart instead of ringing (preprocessing.Chain)
        rail = (profile.rail_uv or 0.0) * 1e-6 * gates.rail_fraction
        self.preprocessing = build_preprocessing(
            config.preprocessing, self.sfreq, n_ch, profile.line_freq, ch_names=self.ch_names,
            restart_above=rail or None,
        )
        self.features = FeatureSet(config.features, self.ch_names, self.sfreq, profile,
                                   hop=self.hop, n_times=self.win_len)
        self.gate = QualityGate(gates, profile, self.sfreq, self.ch_names)
        self._gate_bins = self._shared_bins()  # the gate reads the features' Welch PSD
        self.model = model
        self.keep_windows = bool(keep_windows)
        self.state_filter = None
        # A model calibrated on a per-user baseline takes it, as evaluation did,
        # from the windows ending within its first ``seconds`` of data; until
        # then its probabilities are NaN (no cue can come from them).
        self._calib_seconds = None
        if model is not None:
            _check_model(model)
        if model is not None and model.needs_calibration:
            self._calib_seconds = float((model.calibration or {}).get("seconds", 20.0))
        if model is not None:
            model.check_compatible(self.ch_names, self.sfreq, self.features.feature_names)
            dwell = float(model.dwell or 0.0)
            if dwell > 0:
                from ..statefilter import StateFilter

                self.state_filter = StateFilter(len(model.classes_), dwell,
                                                self.hop / self.sfreq,
                                                window=self.win_len / self.sfreq,
                                                gamma=model.evidence)
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
        if self.index_span is not None:
            self.index_span.reset()

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
