"""Run a session: a source through the engine to sinks, recorded.

Live (a board or LSL stream) and replay (a recording) run through the same
:class:`Session`. Live, one acquisition thread reads the source into a ring
buffer and publishes the raw samples to LSL; the processing loop reads the
ring with its own cursor, so neither a slow sink nor a slow window can make
the source drop samples. In fast replay there is no thread: the loop reads the
recording as fast as the CPU allows.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._logging import logger
from .feedback._base import Sink

__all__ = ["Session", "SessionSummary", "CsvSink"]


@dataclass
class SessionSummary:
    """What a finished session reports (and saves in its sidecar)."""

    session_id: str
    recording: Path | None = None
    n_samples: int = 0
    n_windows: int = 0
    n_gated: int = 0
    n_dropped: int = 0
    duration: float = 0.0
    effective_sfreq: float = 0.0
    latency_ms: dict = field(default_factory=dict)
    gaps: list = field(default_factory=list)
    sink_errors: dict = field(default_factory=dict)
    stopped_by: str = "end"
    losses: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line (recording path last)."""
        out = [
            f"session {self.session_id}: {self.duration:.1f} s, {self.n_samples} samples "
            f"({self.effective_sfreq:.2f} Hz effective), {self.n_windows} windows "
            f"({self.n_gated} gated), {self.n_dropped} samples dropped",
        ]
        if self.latency_ms.get("n"):
            lat = self.latency_ms
            out.append(
                f"estimate latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (n={lat['n']})"
            )
        if self.losses:
            from .io._integrity import loss_line

            out.append(loss_line(self.losses))
        for gap in self.gaps:
            out.append(f"gap: stream lost at t={gap['onset']:.3f} for {gap['duration']:.2f} s"
                       + (f" ({gap['n']} samples)" if gap.get("n") else ""))
        for name, err in self.sink_errors.items():
            out.append(f"sink {name!r} failed and was turned off: {err}")
        if self.recording is not None:
            out.append(f"recording: {self.recording}")
        return out


class CsvSink(Sink):
    """Write one row per window: ``t_end``, every estimate, ``gated``.

    The header is ``t_end,<estimate names...>,gated`` (stable: other tools
    read it); a JSON sidecar ``<file>.json`` states what each number is.
    Both are written to temporary files beside their place: with
    ``commit_on_close`` they are moved into place when the sink closes,
    otherwise only by :meth:`commit` (the caller knows the run succeeded) and
    :meth:`discard` drops them, leaving any existing file untouched.
    """

    name = "csv"
    lossless = True

    def __init__(self, fname, commit_on_close=True):
        self.fname = Path(fname)
        self.commit_on_close = commit_on_close
        self._pending = []

    def open(self, info):
        import json

        from ._outputs import PendingOutput

        self._pending = [PendingOutput(self.fname), PendingOutput(str(self.fname) + ".json")]
        self._fid = open(self._pending[0].tmp, "w", newline="")
        self._fid.write(",".join(["t_end", *info.estimate_names, "gated"]) + "\n")
        meta = {"columns": ["t_end", *info.estimate_names, "gated"],
                "t_end": "timestamp (s) of the newest sample in the window, recording clock",
                "gated": "1 when artifacts made the window unfit for feedback",
                "window": {"length_s": info.config.window.length, "hop_s": info.config.window.hop},
                "features": _describe_features(info)}
        self._pending[1].tmp.write_text(json.dumps(meta, indent=2, default=str))

    def write(self, r):
        vals = ",".join(repr(float(v)) for v in r.estimates)
        self._fid.write(f"{r.t_end!r},{vals},{int(r.gated)}\n")

    def close(self):
        self._fid.close()
        if self.commit_on_close:
            self.commit()

    def commit(self):
        """Move the CSV and its sidecar into place."""
        for pending in self._pending:
            pending.commit()

    def discard(self):
        """Drop what was written; existing files stay as they were."""
        fid = getattr(self, "_fid", None)
        if fid is not None and not fid.closed:
            fid.close()
        for pending in self._pending:
            pending.discard()


def _describe_features(info) -> dict:
    try:
        from .features import (
            describe_features,  # the feature library says what it computes
        )
    except ImportError:
        return {"indices": list(info.estimate_names)}
    return describe_features(info.engine.features) if hasattr(info, "engine") else {}


class _LatestWorker:
    """Runs one non-lossless sink on its own thread, always on the newest window."""

    def __init__(self, sink, on_error):
        self.sink = sink
        self.on_error = on_error
        self._slot = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"sink-{sink.name}", daemon=True)
        self._thread.start()

    def submit(self, item):
        with self._cond:
            self._slot = item
            self._cond.notify()

    def _run(self):
        while True:
            with self._cond:
                while self._slot is None and not self._stop:
                    self._cond.wait()
                if self._slot is None and self._stop:
                    return
                item, self._slot = self._slot, None
            try:
                method, args = item
                getattr(self.sink, method)(*args)
            except Exception as err:  # a sink must never take the session down
                self.on_error(self.sink, err)
                return

    def close(self, timeout=2.0):
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)


class Session:
    """A source, the engine, sinks, LSL outlets and a recorder, run together.

    Parameters
    ----------
    source : Source
        Where samples come from.
    config : PipelineConfig
        The pipeline.
    sinks : list of Sink
        Terminal view, CSV writer, cue sinks...
    model : object | None
        A loaded model (adds class probabilities to the estimates).
    publish : bool | None
        Publish raw EEG, estimates and markers as LSL streams. Defaults to True
        for real-time sources.
    record : bool
        Record the published streams (and ``also_record``) with LabRecorder.
    recordings_dir : path-like
        Where recordings go.
    also_record : list of str
        Further LabRecorder predicates, e.g. ``"type='Markers'"``.
    duration : float | None
        Stop after this many seconds of data.
    name : str
        Prefix of the LSL stream names.
    extra_sidecar : dict
        Added to the recording's JSON sidecar (e.g. the model hash).
    """

    def __init__(self, source, config, sinks=(), *, model=None, publish=None, record=False,
                 recordings_dir="recordings", also_record=(), duration=None,
                 name="biofeedback", extra_sidecar=None, recording_fname=None):
        self.source = source
        self.config = config
        self.sinks = list(sinks)
        self.model = model
        self.publish = source.realtime if publish is None else publish
        self.record = record and self.publish
        self.recordings_dir = Path(recordings_dir)
        self.recording_fname = recording_fname
        self.also_record = list(also_record)
        self.duration = duration
        self.name = name
        self.extra_sidecar = dict(extra_sidecar or {})
        self.session_id = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._error = None
        self._sink_errors = {}
        self.results = []  # every WindowResult (kept for replay/tests; small)
        self.keep_results = not source.realtime

    # -- control -----------------------------------------------------------------
    def stop(self) -> None:
        """Ask the session to end (thread-safe; Ctrl-C does the same)."""
        self._stop.set()

    # -- helpers -----------------------------------------------------------------
    def _sink_failed(self, sink, err):
        if sink.name not in self._sink_errors:
            self._sink_errors[sink.name] = f"{type(err).__name__}: {err}"
            logger.warning("Sink %r failed (%s); the session goes on without it.", sink.name, err)

    def _call(self, sink, method, *args):
        if sink.name in self._sink_errors:
            return
        fn = getattr(sink, method, None)
        if fn is None:  # a duck-typed sink without this optional method
            return
        try:
            fn(*args)
        except Exception as err:
            self._sink_failed(sink, err)

    def _marker(self, text, timestamp):
        if self._markers_out is not None:
            self._markers_out.push_sample([text], timestamp)
        for sink in self.sinks:
            if sink.lossless:
                self._call(sink, "event", text.split(" ")[0], timestamp, text)
            elif sink.name not in self._sink_errors:
                self._workers[sink.name].submit(("event", (text.split(" ")[0], timestamp, text)))

    def _sidecar(self, extra=None):
        from .recorder import software_versions, write_sidecar

        content = {
            "session_id": self.session_id,
            "board_profile": self.source.profile.to_dict(),
            "source": self.source.describe(),
            "pipeline": self.config.to_dict(),
            "engine": self.engine.describe(),
            "software": software_versions(),
            "streams": self._stream_names,
            **self.extra_sidecar,
        }
        if extra:
            content.update(extra)
        return write_sidecar(self.recording, content)

    # -- the run -------------------------------------------------------------------
    def run(self) -> SessionSummary:
        """Run until the source ends, ``duration`` passes, or :meth:`stop`."""
        from .engine import Engine
        from .feedback import SessionInfo

        summary = SessionSummary(self.session_id)
        self.recording = None
        self._markers_out = None
        self._workers = {}
        recorder = None
        opened = []
        self.source.start()
        try:
            src = self.source
            self.engine = Engine(self.config, src.ch_names, src.sfreq, src.profile, self.model)
            if src.realtime:  # compile before data flow, never during feedback
                logger.info("Engine warm-up took %.2f s", self.engine.warm_up())
            info = SessionInfo(self.session_id, self.engine.estimate_names, src.ch_names,
                               src.sfreq, src.profile, self.config, src.describe(),
                               realtime=src.realtime)
            info.engine = self.engine
            self._stream_names = {}
            if self.publish:
                recorder = self._open_outlets()
            for sink in self.sinks:
                try:
                    sink.open(info)
                    opened.append(sink)
                except Exception as err:
                    self._sink_failed(sink, err)
                if not sink.lossless:
                    self._workers[sink.name] = _LatestWorker(sink, self._sink_failed)
            if src.realtime:
                # A hop's matrix products are tiny: a second BLAS thread only
                # hands work over, and when the other core is busy that handoff
                # costs a scheduler timeslice (p99 hop 19 ms -> 0.6 ms at 1 thread).
                from threadpoolctl import threadpool_limits

                with threadpool_limits(limits=1, user_api="blas"):
                    self._run_live(summary)
            else:
                self._run_fast(summary)
        except KeyboardInterrupt:
            summary.stopped_by = "interrupt"
        finally:
            # Order matters: sinks say their last words while the recorder
            # still runs; outlets are released only after it has stopped (an
            # outlet vanishing under LabRecorder sends it into recovery).
            self._stop.set()
            for worker in self._workers.values():
                worker.close()
            for sink in opened:
                self._call(sink, "finish")
            try:
                self.source.stop()
            except Exception as err:  # pragma: no cover - closing a dead device
                logger.warning("Closing the source failed: %s", err)
            if self._markers_out is not None:
                self._marker("session_end", self._last_ts if self._last_ts is not None else 0.0)
            if recorder is not None:
                # LabRecorder pulls about twice a second: let it take the last chunks
                time.sleep(1.0)
                recorder.stop()
                summary.recording = self.recording
            for sink in opened:
                self._call(sink, "close")
            summary.sink_errors = dict(self._sink_errors)
            summary.n_dropped = self.source.n_dropped
            if self.recording is not None:
                self._sidecar({"summary": _summary_dict(summary)})
        if self._error is not None:
            raise self._error
        return summary

    def _open_outlets(self):
        from .recorder import Recorder, session_filename
        from .stream import eeg_outlet, estimates_outlet, marker_outlet

        src, sid = self.source, self.session_id
        names = {k: f"{self.name}-{k}" for k in ("EEG", "Estimates", "Markers")}
        ids = {k: f"{self.name}-{sid}-{k.lower()}" for k in names}
        extra = {"session_id": sid, "pipeline": self.config.name,
                 "estimate_names": self.engine.estimate_names}
        self._eeg_out = eeg_outlet(names["EEG"], ids["EEG"], src.ch_names, src.sfreq,
                                   src.profile, extra)
        self._est_out = estimates_outlet(names["Estimates"], ids["Estimates"],
                                         self.engine.estimate_names, extra)
        self._markers_out = marker_outlet(names["Markers"], ids["Markers"])
        self._stream_names = {k: {"name": names[k], "source_id": ids[k]} for k in names}
        for sink in self.sinks:  # cue sinks may publish their own streams
            for key, (name, source_id) in getattr(sink, "lsl_streams", lambda s: {})(self).items():
                self._stream_names[key] = {"name": name, "source_id": source_id}
        if not self.record:
            return None
        self.recording = Path(self.recording_fname) if self.recording_fname else session_filename(
            self.recordings_dir, src.profile.name)
        preds = [f"source_id='{v['source_id']}'" for v in self._stream_names.values()]
        recorder = Recorder(self.recording, preds + self.also_record)
        recorder.start()
        self._sidecar()  # written now, so a killed session still has it
        return recorder

    def _handle_results(self, results, now_fn=None):
        for r in results:
            if self.keep_results:
                self.results.append(r)
            if self.publish:
                self._est_out.push_sample([*r.estimates.tolist(), float(r.gated)], r.t_end)
                # windows whose data predate the loop (the start-up backlog) are
                # not live feedback: they do not count towards latency
                if now_fn is not None and r.t_end >= self._live_from:
                    self._latency.append(now_fn() - r.t_end)
            for sink in self.sinks:
                if sink.lossless:
                    self._call(sink, "write", r)
            self._n_windows += 1
            self._n_gated += int(r.gated)
        if results:
            last = results[-1]
            for sink in self.sinks:
                if not sink.lossless and sink.name not in self._sink_errors:
                    self._workers[sink.name].submit(("write", (last,)))

    def _handle_events(self, events):
        for ev in events:
            t = ev.timestamp if np.isfinite(ev.timestamp) else (self._last_ts or 0.0)
            if ev.kind == "disconnected":
                self._gap_open = t
                self._marker("gap_start", t)
            elif ev.kind == "reconnected":
                onset = self._gap_open if self._gap_open is not None else t - ev.duration
                self._gaps.append({"onset": onset, "duration": ev.duration, "n": int(ev.n)})
                self._gap_open = None
                self._marker(f"gap_end duration={ev.duration:.3f} n={ev.n}", t)
            elif ev.kind == "dropped":
                self._n_drops += 1
                self._marker(f"dropped n={ev.n}", t)
            elif ev.kind == "marker":  # a recording's or scenario's own markers
                if self._markers_out is not None:
                    self._markers_out.push_sample([ev.text], t)
                for sink in self.sinks:
                    self._call(sink, "event", "marker", t, ev.text)

    def _status(self, summary):
        stats = {"elapsed": summary.duration, "windows": self._n_windows,
                 "dropped": self.source.n_dropped, "gated": self._n_gated}
        for sink in self.sinks:
            if sink.lossless:
                self._call(sink, "status", stats)
            elif sink.name not in self._sink_errors:
                self._workers[sink.name].submit(("status", (stats,)))

    def _init_counters(self):
        self._n_windows = self._n_gated = 0
        self._latency = []
        self._gaps = []
        self._n_drops = 0
        self._gap_open = None
        self._first_ts = None
        self._last_ts = None
        self._live_from = np.inf

    def _account(self, summary, ts):
        if ts.size == 0:
            return False
        if self._first_ts is None:
            self._first_ts = ts[0]
        self._last_ts = ts[-1]
        summary.n_samples += ts.size
        summary.duration = self._last_ts - self._first_ts
        return self.duration is not None and summary.duration >= self.duration

    def _finish(self, summary):
        summary.n_windows, summary.n_gated = self._n_windows, self._n_gated
        summary.gaps = list(self._gaps)
        dropped = self.source.n_dropped
        outage = sum(g["n"] for g in self._gaps)
        summary.losses = {"dropped": dropped, "drops": self._n_drops, "outage": outage,
                          "outages": len(self._gaps), "total": dropped + outage}
        if summary.duration > 0:
            summary.effective_sfreq = (summary.n_samples - 1) / summary.duration
        if self._latency:
            lat = np.array(self._latency) * 1e3
            summary.latency_ms = {"p50": float(np.percentile(lat, 50)),
                                  "p99": float(np.percentile(lat, 99)), "n": int(lat.size)}

    def _run_fast(self, summary):
        self._init_counters()
        for chunk, events in self.source.iter_chunks():
            if self._stop.is_set():
                break
            self._handle_events(events)
            if chunk is None:
                continue
            done = self._account(summary, chunk.timestamps)
            self._handle_results(self.engine.process(chunk.data, chunk.timestamps))
            if done:
                summary.stopped_by = "duration"
                break
        self._finish(summary)

    def _run_live(self, summary):
        from .stream import RingBuffer
        from .stream._clock import lsl_clock

        self._init_counters()
        src = self.source
        ring = RingBuffer(len(src.ch_names), int(src.sfreq * 60))
        new_data = threading.Event()
        events = []
        events_lock = threading.Lock()
        ended = threading.Event()

        def acquire():
            try:
                while not self._stop.is_set():
                    try:
                        chunk = src.read(0.05)
                    except EOFError:
                        ended.set()
                        break
                    ev = src.pop_events()
                    if ev:
                        with events_lock:
                            events.extend(ev)
                    if chunk is None or chunk.timestamps.size == 0:
                        continue
                    if self.publish:
                        self._eeg_out.push_chunk(np.ascontiguousarray(chunk.data.T * 1e6),
                                                 chunk.timestamps.tolist())
                    ring.write(chunk.data, chunk.timestamps)
                    new_data.set()
            except BaseException as err:  # stored, re-raised to the caller
                self._error = err
                self._stop.set()
            finally:
                new_data.set()

        thread = threading.Thread(target=acquire, name="acquisition", daemon=True)
        self._live_from = lsl_clock()
        self._marker("session_start", self._live_from)
        # every loss the source reports is marked, so the recording keeps the count
        self._marker("losses_marked", self._live_from)
        thread.start()
        cursor = 0
        last_status = 0.0
        try:
            while not self._stop.is_set():
                new_data.wait(0.1)
                new_data.clear()
                with events_lock:
                    pending, events[:] = list(events), []
                self._handle_events(pending)
                data, ts, cursor, lost = ring.read_since(cursor)
                if lost:
                    logger.warning("The processing loop fell %d samples behind.", lost)
                done = self._account(summary, ts)
                if ts.size:
                    self._handle_results(self.engine.process(data, ts), lsl_clock)
                now = time.monotonic()
                if now - last_status > 0.25:
                    self._status(summary)
                    last_status = now
                if done:
                    summary.stopped_by = "duration"
                    break
                if ended.is_set() and ring.n_written == cursor:
                    break
        finally:
            self._stop.set()
            thread.join(2.0)
            with events_lock:
                self._handle_events(list(events))
            # process what was published after the loop stopped: the recording
            # and the engine must have seen the same samples
            data, ts, cursor, lost = ring.read_since(cursor)
            if ts.size and self._error is None:
                self._account(summary, ts)
                self._handle_results(self.engine.process(data, ts))
            self._finish(summary)


def _summary_dict(summary: SessionSummary) -> dict:
    from dataclasses import asdict

    out = asdict(summary)
    out["recording"] = str(summary.recording) if summary.recording else None
    return out
