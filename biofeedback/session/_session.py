"""The session: a source through the engine to sinks, published and recorded.

Its parts live in their own modules (acquisition, dispatch, outlets and
recording, summary); this one only runs them in their order, live and in
fast replay. It stays over 400 lines because that order is one job read
top to bottom: its code is about 370 lines, the rest the docstrings users
and sink writers read (about 120 lines) and comments on why the order is
what it is.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import _stops as stops
from .._logging import logger
from .._markers import (
    AMPLITUDE_WARNING,
    CHANNEL_WARNING,
    DROPPED,
    GAP_END,
    GAP_START,
    LOSSES_MARKED,
    RATE_WARNING,
    SESSION_END,
    SESSION_START,
)
from .._threads import one_blas_thread
from .._words import counted, sentence
from ..errors import BiofeedbackError, ModelError
from ._channels import ChannelWatch
from ._dispatch import Dispatcher
from ._sink import SessionInfo
from ._summary import SessionSummary, Tally, rate_note
from ._watchdog import SIGNAL_NAMES, Watchdog, hold_signals, stop_on_signals

__all__ = ["Session"]


#: Seconds of stamps after which a live session checks the samples' rate (as the
#: summary does at the end, the shortest span it judges)
_RATE_AFTER = 10.0

#: Seconds of a live session without a first sample after which it says so.
_FIRST_SAMPLE_AFTER = 3.0

#: The note of a session stopped before its data began to flow.
_NOTHING_RECORDED = "stopped: before the session began, so nothing was recorded"


class _StoppedBeforeStart(Exception):
    """:meth:`Session.stop` was called while the session started (a page's stop button)."""


class Session:
    """A source, the engine, sinks, LSL outlets and a recorder, run together.

    Most users build one with :func:`biofeedback.live.build_session`, which
    also sets up the feedback protocol, its cues and the report.

    Parameters
    ----------
    source : Source
        Where samples come from.
    config : PipelineConfig
        The pipeline.
    sinks : list of Sink
        Terminal view, CSV writer, protocol, dashboards... (see
        :class:`~biofeedback.session.Sink`).
    model : object | None
        A loaded model (adds class probabilities to the estimates).
    publish : bool | None
        Publish raw EEG, estimates and markers as LSL streams. Defaults to True
        for real-time sources.
    record : bool
        Record the published streams (and ``also_record``) with LabRecorder.
        Ignored (False) when the session does not publish.
    recordings_dir : path-like
        Where recordings go (``<dir>/<YYYYmmdd-HHMMSS>_<board>.xdf``).
    also_record : list of str
        Further LabRecorder predicates, e.g. ``"type='Markers'"``.
    duration : float | None
        Stop after this many seconds of data.
    name : str
        Prefix of the LSL stream names.
    extra_sidecar : dict | None
        Added to the recording's JSON sidecar (e.g. the model hash).
    recording_fname : path-like | None
        The recording's exact path (overrides ``recordings_dir``).
    keep_results : bool | None
        Keep every window's result in :attr:`results`. Defaults to True for
        finite sources (replay), False live (a long session would grow).
    protocol : Sink | None
        The sink (among ``sinks``) that runs the feedback protocol; views
        find it in :attr:`SessionInfo.protocol`.
    on_end : list of callable
        ``hook(session, summary)``, called in order at the end of
        :meth:`run`, once the recording and its sidecar are closed. A hook
        that raises is logged and the others still run.
    report_writer : callable | None
        ``report_writer(recording) -> Path``; what :meth:`report` runs.
    give_up : float | None
        Live: end the session (recording closed) when the source has sent no
        data for this many seconds. None waits for ever.

    Notes
    -----
    A live session ends at its ``duration`` of data, or when that much
    wall-clock time has passed (plus 2 s) if data stopped coming; SIGTERM
    and SIGHUP end it as Ctrl-C does (sinks finish, the recorder takes the
    last chunks, the sidecar gets the summary), and a second signal while it
    closes only hurries the closing, the recorder included. After SIGTERM or
    SIGHUP, :meth:`report` writes no report (the process is expected to end
    at once); :meth:`summary_lines` says how to write it.

    Attributes
    ----------
    session_id : str
    engine : Engine | None
        Built by :meth:`run`.
    recording : Path | None
        The XDF file, once recording started.
    results : list of WindowResult
        Every window (with ``keep_results``).
    summary : SessionSummary | None
        Set when :meth:`run` returns.
    stop_event : threading.Event
        Set to end the session (what :meth:`stop` does).
    acquisition : Acquisition | None
        Live, the acquisition thread and its ring buffer of raw samples
        (``acquisition.ring.latest(n)`` reads without consuming); None in
        fast replay and before :meth:`run`.
    """

    def __init__(self, source, config, sinks=(), *, model=None, publish=None, record=False,
                 recordings_dir="recordings", also_record=(), duration=None,
                 name="biofeedback", extra_sidecar=None, recording_fname=None,
                 keep_results=None, protocol=None, on_end=(), report_writer=None,
                 give_up=None):
        self.source = source
        self.config = config
        self.sinks = list(sinks)
        self.model = model
        self.publish = source.realtime if publish is None else bool(publish)
        self.record = bool(record) and self.publish
        self.recordings_dir = Path(recordings_dir)
        self.recording_fname = recording_fname
        self.also_record = list(also_record)
        self.duration = duration
        self.name = name
        self.extra_sidecar = dict(extra_sidecar or {})
        self.keep_results = (not source.realtime) if keep_results is None else bool(keep_results)
        self.protocol = protocol
        self.on_end = list(on_end)
        self.report_writer = report_writer
        self.give_up = give_up
        self.session_id = uuid.uuid4().hex[:12]
        self.stop_event = threading.Event()
        self.engine = None
        self.acquisition = None
        self.recording = None
        self.results = []
        self.summary = None
        self.report_path = None
        self.report_skipped = None  # the line saying how to write a report left unwritten
        self._reported = False
        self._error = None
        self._stopped_by = None
        self._pending_markers = deque()
        self._outlets = None
        self._dispatch = None
        self._hurry = threading.Event()  # a second signal while closing: no more waiting
        from ..recorder import MIN_FREE

        self.min_free = MIN_FREE  # bytes free below which a recording session stops
        self._units_checked = False  # amplitudes checked for a wrong unit (first 2 s)
        self._units_buf = []
        # the samples' rate is checked over each stretch of _RATE_AFTER s of stamps:
        # (its duration, samples and losses where it began), and whether it was said
        self._rate_from = (0.0, 0, 0)
        self._rate_said = False
        self._channels = None  # the channels' problems said (a ChannelWatch, live)
        self._said_give_up = False  # how long a lost source is waited for, said once
        self._said_no_sample = False  # a source silent from the start, said once

    # -- control -----------------------------------------------------------------
    def stop(self, reason: str = stops.STOP) -> None:
        """Ask the session to end (thread-safe; a signal handler may call it).

        The session ends at its next loop turn, exactly as at the end of its
        duration: sinks finish, the recorder takes the last chunks, the
        sidecar gets its summary, whose ``stopped_by`` is ``reason``.
        """
        if not self.stop_event.is_set() and self._stopped_by is None:
            self._stopped_by = reason
        self.stop_event.set()
        cancel = getattr(self.source, "cancel_start", None)  # (a duck-typed source may lack it)
        if cancel is not None:
            cancel()  # a stream still awaited is given up

    def _stopped_while_starting(self) -> bool:
        """True once stopped, or once a sink asked to (``stop_requested``: a page's stop).

        A sink can be asked before the session opens it; the session looks
        before it starts recording.
        """
        for sink in self.sinks:
            reason = getattr(sink, "stop_requested", None)
            if reason:
                self.stop(str(reason))
        return self.stop_event.is_set()

    def add_marker(self, text: str, timestamp: float | None = None) -> None:
        """Put ``text`` into the Markers stream and the sinks' events (thread-safe).

        ``timestamp`` is on the LSL clock (default: now). The marker is
        handled by the processing loop at its next turn.
        """
        if timestamp is None:
            from ..stream._clock import lsl_clock

            timestamp = lsl_clock()
        self._pending_markers.append((str(text), float(timestamp)))

    def _drain_markers(self):
        while self._pending_markers:
            text, t = self._pending_markers.popleft()
            self._marker(text, t)

    def sink(self, name):
        """The sink called ``name`` (None if there is none)."""
        return next((s for s in self.sinks if s.name == name), None)

    # -- end of session ------------------------------------------------------------
    def report(self):
        """Write the session report beside the recording; its path, or None.

        Call after :meth:`run`. Needs a recording and a ``report_writer``
        (:func:`~biofeedback.live.build_session` sets the feedback report).
        Writes once; a failure is logged (the session itself succeeded).
        A session ended by SIGTERM or SIGHUP is not reported: whoever sent it
        (a service manager, a closed terminal) expects the process to go now,
        and the report takes seconds (matplotlib, the whole recording read
        back); :meth:`summary_lines` says how to write it later. A Ctrl-C
        while it is written skips it the same way (and so do SIGTERM and
        SIGHUP where the command line handles them, raising
        KeyboardInterrupt with their name).
        """
        if self._reported:
            return self.report_path
        self._reported = True
        rec = self.recording
        if self.report_writer is None or rec is None or not Path(rec).exists():
            return None
        stopped_by = self.summary.stopped_by if self.summary is not None else None
        if self.summary is not None and self.summary.n_samples == 0:
            self.report_skipped = "report: not written (the session ended before any sample)"
            return None
        if stopped_by in SIGNAL_NAMES:
            self.report_skipped = (f"report: not written ({stopped_by} asks for a prompt "
                                   f"exit); write it with: biofeedback report {rec}")
            return None
        try:
            self.report_path = self.report_writer(rec)
        except KeyboardInterrupt as err:  # a second signal: the session is saved, the report waits
            who = err.args[0] if err.args and err.args[0] in SIGNAL_NAMES else "Ctrl-C"
            self.report_skipped = (f"report: not written ({who} while it was written); "
                                   f"write it with: biofeedback report {rec}")
        except Exception as err:  # the session succeeded; the report is extra
            logger.warning("Could not write the session report: %s", err)
        return self.report_path

    def summary_lines(self) -> list[str]:
        """The end-of-session summary: the session's, the sinks', the report's.

        The recording's path stays the last line.
        """
        if self.summary is None:
            return []
        latency = []
        if self._dispatch is not None:
            for got in self._dispatch.collect("latency_lines"):
                latency.extend(got)
        lines = self.summary.lines(latency)
        extra = []
        if self._dispatch is not None:
            for got in self._dispatch.collect("summary_lines"):
                extra.extend(got)
        if self.report_path is not None:
            extra.append(f"report: {self.report_path}")
        elif self.report_skipped is not None:
            extra.append(self.report_skipped)
        if self.summary.recording is not None:
            return lines[:-1] + extra + lines[-1:]
        return lines + extra

    # -- the run -------------------------------------------------------------------
    def _sidecar_content(self) -> dict:
        from ..recorder import software_versions

        content = {
            "session_id": self.session_id,
            "board_profile": self.source.profile.to_dict(),
            "source": self.source.describe(),
            "pipeline": self.config.to_dict(),
            "engine": self.engine.describe(),
            "software": software_versions(),
            "streams": dict(self._outlets.streams) if self._outlets is not None else {},
            **self.extra_sidecar,
        }
        if self._dispatch is not None:
            for got in self._dispatch.collect("sidecar"):
                content.update(got)
        return content

    def _open_outlets(self, info):
        from ..recorder import session_filename
        from ..stream._lsl import outlet_headers, outlet_tails
        from ._recording import Outlets, RecordingControl

        self._outlets = Outlets(info, self.source)
        for sink in self.sinks:  # sinks may publish their own streams (cues)
            # a sink need not subclass Sink (the dispatcher takes duck-typed ones)
            fn = getattr(sink, "lsl_streams", None)
            for key, (name, source_id) in (fn(info) if fn is not None else {}).items():
                self._outlets.add(key, name, source_id)
        info.streams = dict(self._outlets.streams)
        if not self.record:
            return None
        self.recording = (Path(self.recording_fname) if self.recording_fname
                          else session_filename(self.recordings_dir, self.source.profile.name))
        # a reserved name is still empty; a named one is ours only if it is new
        ours = not self.recording_fname or not self.recording.exists()
        ids = [v["source_id"] for v in self._outlets.streams.values()]
        preds = [f"source_id='{i}'" for i in ids]
        recorder = RecordingControl(self.recording, preds + self.also_record,
                                    self._sidecar_content,
                                    tails=lambda: outlet_tails(ids),
                                    others=self.also_record, own=ids,
                                    headers=lambda: outlet_headers(ids))
        try:
            recorder.start()
            info.recording = self.recording
            # from here the session's end closes it; a signal before (Ctrl-C
            # as it started) ends it below, so no recorder outlives the session
            self._recorder = recorder
        except BaseException:  # nothing was published yet: leave no file behind
            recorder.abort()
            if ours:
                for path in (self.recording, self.recording.with_suffix(".json")):
                    with contextlib.suppress(OSError):
                        path.unlink()
            raise

    def run(self) -> SessionSummary:
        """Run until the source ends, ``duration`` passes, or :meth:`stop`.

        Returns
        -------
        summary : SessionSummary
            Also kept in :attr:`summary`.

        Raises
        ------
        Exception
            Whatever stopped the acquisition thread (after the session closed).
        """
        summary = SessionSummary(self.session_id)
        self.recording = None
        self._outlets = None
        self._dispatch = Dispatcher(self.sinks)
        tally = Tally(summary, self.duration)
        # a recording is named once its recorder starts: before, there is none to close
        with stop_on_signals(self.stop, recording=lambda: self.recording is not None):
            return self._run(summary, tally)

    def _run(self, summary, tally):
        from ..engine import Engine

        self._recorder = None  # once it records (see _open_outlets)
        precompile = None
        if self.source.realtime:  # first run after installing: compile while connecting
            from .._kernels import live_kernels_cached
            from ._precompile import Precompile

            if not live_kernels_cached():
                precompile = Precompile(self.config, self.source.profile)
        if self.record:  # one sentence before anything starts, never a traceback mid-way
            from ..recorder import check_recordings_dir

            folder = (Path(self.recording_fname).parent if self.recording_fname
                      else self.recordings_dir)
            prof = self.source.profile
            check_recordings_dir(folder, len(prof.ch_names) or 8, prof.sfreq or 250.0,
                                 max(float(self.duration or 0.0), 600.0))
        try:
            # inside: Ctrl-C as the device connects or the stream is found ends
            # the session as Ctrl-C after it does (a summary, nothing recorded)
            try:
                self.source.start()
            except BiofeedbackError:
                if self._stopped_while_starting():  # (a stream's wait, given up)
                    raise _StoppedBeforeStart from None
                raise
            src = self.source
            if self._stopped_while_starting():  # while the device connected
                raise _StoppedBeforeStart
            try:
                self.engine = Engine(self.config, src.ch_names, src.sfreq, src.profile,
                                     self.model)
            except ModelError as err:  # say whose data the model does not fit
                raise ModelError(f"{_source_name(src)}: {err}") from None
            if src.realtime:  # compile before data flow, never during feedback
                if precompile is not None:
                    precompile.wait()
                logger.info("Engine warm-up took %.2f s", self.engine.warm_up())
            if self._stopped_while_starting():  # nothing to record
                raise _StoppedBeforeStart
            info = SessionInfo(self.session_id, self.engine.estimate_names, src.ch_names,
                               src.sfreq, src.profile, self.config, src.describe(),
                               realtime=src.realtime, name=self.name, engine=self.engine,
                               protocol=self.protocol, request_stop=self.stop,
                               add_marker=self.add_marker)
            if self.publish:
                self._open_outlets(info)
            self._dispatch.open(info)
            # one BLAS thread for the small matrix products (why: biofeedback._threads)
            with one_blas_thread():
                if src.realtime:
                    self._run_live(tally)
                else:
                    self._run_fast(tally)
        except KeyboardInterrupt:
            summary.stopped_by = stops.INTERRUPT
            if self._recorder is None and not np.isfinite(tally.live_from):  # while starting
                summary.notes.append(_NOTHING_RECORDED)
        except _StoppedBeforeStart:
            summary.notes.append(_NOTHING_RECORDED)
        finally:
            if summary.stopped_by == stops.END and self._stopped_by is not None:
                summary.stopped_by = self._stopped_by
            with hold_signals(self._hurry):
                self._close(summary, tally, self._recorder)
            self.summary = summary  # also when an error ends the session
        if self._error is not None:
            raise self._error
        self._run_hooks(summary)
        return summary

    def _close(self, summary, tally, recorder):
        # Order matters: sinks say their last words while the recorder
        # still runs; outlets are released only after it has stopped (an
        # outlet vanishing under LabRecorder sends it into recovery).
        self.stop_event.set()
        self._drain_markers()
        self._dispatch.stop_workers()
        self._dispatch.each_opened("finish")
        try:
            self.source.stop()
        except Exception as err:  # pragma: no cover - closing a dead device
            logger.warning("Closing the source failed: %s", err)
        if self._outlets is not None:
            last = tally.last_ts if tally.last_ts is not None else 0.0
            if tally.gap_closed_at is not None:  # lost to the end: the outage ends first
                last = max(last, tally.gap_closed_at)
            self._marker(SESSION_END, last)
        if recorder is not None:
            # the summary reaches the sidecar before LabRecorder is stopped, so
            # even a SIGKILL while it closes leaves it
            summary.recording = self.recording
            summary.n_dropped = self.source.n_dropped
            summary.sink_errors = dict(self._dispatch.errors)
            _write_sidecar(recorder, summary)
            recorder.stop(self._hurry)
        self._dispatch.each_opened("close")
        summary.sink_errors = dict(self._dispatch.errors)
        summary.n_dropped = self.source.n_dropped
        note = rate_note(summary, self.source.sfreq) if self.source.realtime else None
        if note is not None and (line := f"warning: {note}") not in summary.notes:
            logger.warning("%s", sentence(note))
            summary.notes.append(line)
        if recorder is not None:
            summary.notes.extend(n for n in recorder.notes if n not in summary.notes)
        source_notes = list(self.source.notes)
        summary.notes = source_notes + [n for n in summary.notes if n not in source_notes]
        if recorder is not None:
            _write_sidecar(recorder, summary)

    def _run_hooks(self, summary):
        for hook in self.on_end:
            try:
                hook(self, summary)
            except Exception as err:  # the session is over and saved: log, go on
                logger.warning("End-of-session hook %s failed: %s",  # any callable:
                               getattr(hook, "__name__", hook), err)  # a partial has no name

    # -- per chunk -----------------------------------------------------------------
    def _marker(self, text, timestamp, show=True):
        """Record a marker; ``show``: also pass it to the sinks (views, dashboard)."""
        if self._outlets is not None:
            self._outlets.markers.push_sample([text], timestamp)
        if show:
            self._dispatch.event(text.split(" ")[0], timestamp, text)

    def _handle_results(self, results, tally, now_fn=None):
        for r in results:
            if self.keep_results:
                self.results.append(r)
            if self._outlets is not None:
                self._outlets.push_estimates(r)
                tally.window(r, now_fn() if now_fn is not None else None)
            else:
                tally.window(r)
            self._dispatch.write(r)
        if results:
            self._dispatch.latest(results[-1])

    def _handle_events(self, events, tally):
        for ev in events:
            t = ev.timestamp if np.isfinite(ev.timestamp) else (tally.last_ts or 0.0)
            if ev.kind == "disconnected":
                tally.gap_open = t
                self._marker(GAP_START, t)
                self._say_give_up()
            elif ev.kind == "reconnected":
                onset = tally.gap_open if tally.gap_open is not None else t - ev.duration
                if ev.n > 0:  # n=0: silent a while, then every sample came; no gap
                    tally.gaps.append({"onset": onset, "duration": ev.duration,
                                       "n": int(ev.n)})
                tally.gap_open = None
                self._marker(f"{GAP_END} duration={ev.duration:.3f} n={ev.n}", t)
            elif ev.kind == "dropped":
                tally.n_drops += 1
                self._marker(f"{DROPPED} n={ev.n}", t)
            elif ev.kind == "marker":  # a recording's or scenario's own markers
                if self._outlets is not None:
                    self._outlets.markers.push_sample([ev.text], t)
                self._dispatch.event("marker", t, ev.text)

    def _say_no_sample_yet(self):
        """Once: the source, found or connected, has sent no sample yet.

        A stream found but silent (muse-lsl connected to a headset that does
        not stream yet) left the terminal blank until --give-up (60 s), then
        ended the session with "the source sent no data"."""
        if self._said_no_sample:
            return
        self._said_no_sample = True
        name = _source_name(self.source)
        wait = (f"; the session ends if none comes within {self.give_up:g} s (--give-up)"
                if self.give_up is not None else "; the session waits for it")
        logger.warning("%s has sent no sample in its first %g s%s.",
                       name[:1].upper() + name[1:], _FIRST_SAMPLE_AFTER, wait)

    def _say_give_up(self):
        """Once, as the source is first lost: how long the session waits for it.

        "Lost; waiting for it to return" said neither for how long nor what
        then: a user whose headset dropped out could not tell whether the
        session would wait for ever."""
        if self.give_up is None or self._said_give_up or not self.source.realtime:
            return
        self._said_give_up = True
        closed = ", its recording closed" if self._recorder is not None else ""
        logger.warning("If it sends nothing for %g s (--give-up), the session ends%s.",
                       self.give_up, closed)

    def _check_units(self, data, tally):
        """Once, on the first 2 s of data: say when amplitudes look like the wrong unit."""
        if self._units_checked:
            return
        self._units_buf.append(data)
        have = sum(d.shape[1] for d in self._units_buf)
        if have < 2.0 * self.source.sfreq:
            return
        from ..quality import unit_problem

        self._units_checked = True
        problem = unit_problem(np.concatenate(self._units_buf, axis=1))
        self._units_buf = []
        if problem is not None:
            logger.warning("The EEG's %s.", problem)
            tally.summary.notes.append(f"warning: {problem}.")
            self._marker(f"{AMPLITUDE_WARNING} {problem}", tally.last_ts or 0.0)

    def _check_rate(self, tally):
        """After each :data:`_RATE_AFTER` s of stamps: say when the samples of
        that stretch came at a rate other than the nominal one.

        The summary said so at the end alone: a sender declaring 256 Hz that
        sends 200 Hz (its rate set wrong) had every band read 28 % too high
        for the whole session without a word until then. The first stretch
        alone was looked at once, so a sender whose rate changed later (a
        headset's preset changed, a sender restarted at another rate) was
        read off its rate, and said, averaged down, only at the end. A rate
        said stays said until a stretch is back at the nominal rate.
        """
        summary = tally.summary
        start_duration, start_n, start_lost = self._rate_from
        if summary.duration - start_duration < _RATE_AFTER or \
                tally.gap_open is not None:  # (an outage's samples are counted once it ends)
            return
        lost = sum(g["n"] for g in tally.gaps) + self.source.n_dropped
        self._rate_from = (summary.duration, summary.n_samples, lost)
        # the stretch's samples after its first (the last one of the stretch before)
        stretch = SimpleNamespace(duration=summary.duration - start_duration,
                                  n_samples=summary.n_samples - start_n + bool(start_n))
        note = rate_note(stretch, self.source.sfreq, min_duration=_RATE_AFTER,
                         lost=lost - start_lost, tense="come")
        if note is None or self._rate_said:
            self._rate_said = note is not None
            return
        self._rate_said = True
        logger.warning("%s", sentence(note))
        self._marker(f"{RATE_WARNING} {note}", tally.last_ts or 0.0)

    def _check_channels(self, results):
        """Say, once a channel, one that stopped giving EEG (NaN, flat, at the
        rail, a bad electrode): the terminal's dashboard view marked it, but
        the plain view, a log and the summary said nothing."""
        if self._channels is None:
            self._channels = ChannelWatch(self.engine.ch_names)
        for r in results:
            for note in self._channels.window(r):
                logger.warning("%s", sentence(note))
                self._marker(f"{CHANNEL_WARNING} {note}", float(r.t_end))

    def _status(self, tally):
        self._dispatch.status({"elapsed": tally.summary.duration, "windows": tally.n_windows,
                               "dropped": self.source.n_dropped, "gated": tally.n_gated})

    def _run_fast(self, tally):
        for chunk, events in self.source.iter_chunks():
            if self.stop_event.is_set():
                break
            self._drain_markers()
            self._handle_events(events, tally)
            if chunk is None:
                continue
            done = tally.samples(chunk.timestamps)
            # no clock to keep up with: the engine's batch driver, same windows
            self._handle_results(self.engine.process_batch(chunk.data, chunk.timestamps), tally)
            if done:
                tally.summary.stopped_by = stops.DURATION
                break
        tally.finish(self.source.n_dropped)

    def _run_live(self, tally):
        from ..stream._clock import lsl_clock
        from ._acquisition import Acquisition

        acq = self.acquisition = Acquisition(
            self.source, self.stop_event,
            self._outlets.eeg if self._outlets is not None else None)
        tally.live_from = lsl_clock()
        self._marker(SESSION_START, tally.live_from)
        # every loss the source reports is marked, so the recording keeps the count
        # (bookkeeping for the file's readers: no view shows it)
        self._marker(LOSSES_MARKED, tally.live_from, show=False)
        watchdog = Watchdog(self.duration, self.give_up)
        cursor = 0
        last_status = last_disk = 0.0
        begun = time.monotonic()
        try:
            # started inside: Ctrl-C as it returned left the thread reading the
            # source as the session closed it, its samples published, not counted
            acq.start()
            watchdog.begin()
            while not self.stop_event.is_set():
                acq.new_data.wait(0.1)
                acq.new_data.clear()
                self._drain_markers()
                self._handle_events(acq.pop_events(), tally)
                data, ts, cursor, lost = acq.ring.read_since(cursor)
                if lost:
                    logger.warning("The processing loop fell %d samples behind.", lost)
                done = tally.samples(ts)
                if tally.first_ts is None and time.monotonic() - begun > _FIRST_SAMPLE_AFTER:
                    self._say_no_sample_yet()
                if ts.size:
                    watchdog.data()
                    self._check_units(data, tally)
                    self._check_rate(tally)
                    results = self.engine.process(data, ts)
                    self._handle_results(results, tally, lsl_clock)
                    self._check_channels(results)
                ended = watchdog.check()
                if ended is not None:
                    tally.summary.stopped_by = ended[0]
                    tally.summary.notes.append(f"stopped: {ended[1]}")
                    logger.warning("The session stops: %s.", ended[1])
                    break
                now = time.monotonic()
                if self.recording is not None and now - last_disk > 2.0:
                    last_disk = now
                    ended = self._disk_full()
                    if ended is not None:
                        tally.summary.stopped_by = stops.DISK_FULL
                        tally.summary.notes.append(f"stopped: {ended}")
                        logger.warning("The session stops: %s.", ended)
                        break
                if now - last_status > 0.25:
                    self._status(tally)
                    last_status = now
                if done:
                    tally.summary.stopped_by = stops.DURATION
                    break
                if acq.ended.is_set() and acq.ring.n_written == cursor:
                    if self.duration is not None:  # it ended before the time asked for
                        tally.summary.notes.append(
                            "stopped: the source has no more data (a file played to its end, "
                            "a scenario's end), before --duration")
                    break
        finally:
            self.stop_event.set()
            acq.join(2.0)
            self._error = acq.error
            self._handle_events(acq.pop_events(), tally)
            # process what was published after the loop stopped: the recording
            # and the engine must have seen the same samples
            data, ts, cursor, lost = acq.ring.read_since(cursor)
            if ts.size and self._error is None:
                tally.samples(ts)
                results = self.engine.process(data, ts)
                self._handle_results(results, tally)
                self._check_channels(results)
            # a source that ended knows when (its end may lie in an outage)
            end = self.source.ended_at if acq.ended.is_set() else None
            self._close_open_gap(tally, lsl_clock() if end is None else end)
            tally.finish(self.source.n_dropped)
            if self._channels is not None:
                tally.summary.notes.extend(self._channels.notes())

    def _close_open_gap(self, tally, now):
        """A stream still lost at the end: its outage runs to the end, counted and marked.

        The ``gap_end`` marker is the one a returning stream gets, so the
        recording's readers count the same samples the summary does.
        """
        if tally.gap_open is None or not self.source.sfreq:
            return
        from ..stream import SourceEvent

        n = int(round((now - tally.gap_open) * self.source.sfreq))
        if n <= 0:
            return
        self._handle_events([SourceEvent("reconnected", timestamp=float(now),
                                         duration=n / self.source.sfreq, n=n)], tally)
        tally.gap_closed_at = float(now)
        seconds = n / self.source.sfreq
        tally.summary.notes.append(
            f"the stream was still lost when the session ended: its last {seconds:.2f} s "
            f"({counted(n, 'sample')}) are counted as an outage")


    def _disk_full(self):
        """What to say when the recording's disk is nearly full, else None."""
        import shutil

        try:
            free = shutil.disk_usage(Path(self.recording).parent).free
        except OSError:  # pragma: no cover - the folder vanished: LabRecorder will say
            return None
        if free >= self.min_free:
            return None
        return (f"the disk holding {Path(self.recording).parent} is nearly full "
                f"({free >> 10} kB free): the session stopped and closed its recording")


def _write_sidecar(recorder, summary):
    """The sidecar's summary; a full disk is said, and the closing goes on."""
    try:
        recorder.write_sidecar({"summary": summary.to_dict()})
    except OSError as err:
        note = f"the sidecar's summary could not be written ({err.strerror or err})"
        logger.error("%s", sentence(note))
        if note not in summary.notes:
            summary.notes.append(note)


def _source_name(src) -> str:
    """The source's data in a few words: a recording's file, a stream's name, a board."""
    desc = src.describe()
    if desc.get("kind") == "recording" and desc.get("file"):
        return str(desc["file"])
    if desc.get("kind") == "lsl":
        return f"LSL stream {desc.get('name')!r}"
    return f"{src.profile.name} board"
