"""Feed the dashboard from LSL: the session's EEG, estimates, cues and markers.

:class:`LSLFeeder` runs on its own thread. It reads an EEG stream with the
project's :class:`~biofeedback.stream.LSLSource` (clock-corrected, capped and
drained buffers, ``disconnected``/``reconnected`` events), turns it into trace
and spectrum messages, and, when it follows a session in another process
(``follow=True``), also reads that session's Estimates, Cues and Markers
streams. A plain EEG stream with no estimates (muse-lsl, OpenBCI GUI) gets its
estimates and channel quality from a local :class:`~biofeedback.engine.Engine`
with the same pipeline the session would use. A stream that vanishes is shown
on the page and waited for; the feeder keeps going.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from .._logging import logger
from .._markers import BLOCK_START, CUE, GAP_END, GAP_START
from ..errors import StreamError
from ..stream._lsl import lsl_errors, refuse_too_many_channels
from ..stream._pylsl import import_pylsl
from ._feed import (
    DisplayFeed,
    cue_message,
    meta_message,
    percentiles,
    window_message,
)

__all__ = ["LSLFeeder"]


def _labels(info):
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append(ch.child_value("label"))
        ch = ch.next_sibling("channel")
    return out


def _num(fields, key):
    try:
        return float(fields.get(key, "nan"))
    except ValueError:
        return math.nan


class LSLFeeder:
    """Publish an LSL EEG stream (and its session's streams) to a dashboard.

    Parameters
    ----------
    server : DashboardServer
    name : str | None
        EEG stream name (None: the first stream of type ``stream_type``).
    stream_type : str
    profile : BoardProfile | None
        The headset, when the stream's metadata do not say.
    config : PipelineConfig | None
        Filters for the traces and, with ``follow``, the local engine.
    follow : bool
        Also read the session's Estimates, Cues and Markers streams and run a
        local engine for channel quality (``biofeedback dashboard``). When
        False only traces, spectra and the effective rate are published (the
        session's own sink publishes the rest).
    t0 : float | None
        LSL-clock time that the page's clock counts from (default: the first
        sample).
    timeout : float
        Seconds to wait for the EEG stream at start.
    source_id : str | None
        Resolve the EEG stream by this ``source_id`` instead of its name (a
        session's streams have unique ids; another process may publish a
        stream of the same name).
    rate : float
        Trace updates per second at most: the reader sleeps between reads and
        drains what LSL buffered meanwhile (fewer wake-ups for the session's
        process and the browser; 30 keeps the page smooth).
    """

    def __init__(self, server, name=None, stream_type="EEG", profile=None, config=None,
                 follow=True, t0=None, timeout=5.0, title="biofeedback", rate=30.0,
                 source_id=None):
        self.server = server
        self.name = name
        self.source_id = source_id
        self.stream_type = stream_type
        self.profile = profile
        self.config = config
        self.follow = follow
        self.t0 = t0
        self.timeout = timeout
        self.title = title
        self.period = 1.0 / float(rate)
        self.effective_rate = math.nan
        self.n_dropped = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = None
        self.source = None
        self._quality = None  # the newest window's per-channel quality, once one came
        self._inlets = {}  # on the session's Estimates, Cues and Markers (with follow)

    # -- lifecycle -------------------------------------------------------------------
    def start(self):
        """Open the EEG stream (raises StreamError if absent) and start the thread."""
        from ..config import load_pipeline
        from ..stream import LSLSource

        if self.config is None:
            self.config = load_pipeline()
        cls = LSLSource if self.source_id is None else _make_by_id(self.source_id)
        self.source = cls(self.name, stream_type=self.stream_type, profile=self.profile,
                          timeout=self.timeout, lost_after=1.0)
        self.source.start()
        src = self.source
        self.feed = DisplayFeed(src.ch_names, src.sfreq, src.profile,
                                self.config.preprocessing, t0=self.t0)
        self.engine = None
        if self.follow:
            from ..engine import Engine

            self.engine = Engine(self.config, src.ch_names, src.sfreq, src.profile)
            self._est_names = list(self.engine.estimate_names)
            self._inlets = {}
            self._inlets_for = None  # the EEG source id the inlets belong to
            self._refused = set()  # source ids of streams said once and left alone
            self._block = None
            self._cue_lat = []
            self._n_windows = self._n_gated = 0
            # the session's other streams are opened with its EEG stream: subscribe
            # first, so that the first block_start is not missed
            self._find_streams()
            self._find_at = time.monotonic() + 2.0
            self.engine.warm_up()
            self.server.publish(meta_message(
                title=self.title, ch_names=src.ch_names, sfreq=src.sfreq, profile=src.profile,
                estimate_names=self._est_names, source=src.describe(),
                display_rate=self.feed.display_rate, mode="following an LSL stream"))
        self._thread = threading.Thread(target=self._run, name="dashboard-lsl", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop the thread and close every inlet: the EEG's and, when following a
        session, those on its Estimates, Cues and Markers streams."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3.0)
        self._close_inlets()
        if self.source is not None:
            try:
                self.source.stop()
            except Exception as err:  # pragma: no cover - closing a lost stream
                logger.debug("Closing the dashboard's EEG inlet: %s", err)

    # -- the thread -----------------------------------------------------------------------
    def _run(self):
        last_status = 0.0
        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                next_t = max(next_t + self.period, time.monotonic())
                chunk = self.source.read(0.02)
                for ev in self.source.pop_events():
                    self._on_source_event(ev)
                if chunk is not None and chunk.timestamps.size:
                    if self.t0 is None:
                        self.t0 = float(chunk.timestamps[0])
                        self.feed.t0 = self.t0
                    for msg in self.feed.push(chunk.data, chunk.timestamps):
                        self.server.publish(msg, keep_latest=msg["type"] != "trace")
                    self.effective_rate = self.feed.effective_rate
                    if self.follow:
                        self._engine_windows(chunk)
                if self.follow:
                    self._follow_session()
                    now = time.monotonic()
                    if now - last_status >= 0.5:
                        last_status = now
                        self._publish_status()
                self._stop.wait(max(0.0, next_t - time.monotonic()))
        except Exception as err:  # shown on the page and logged; the process decides
            self.error = err
            logger.warning("The dashboard stopped reading LSL: %s", err)
            self.server.publish({"type": "stream", "state": "lost",
                                 "text": f"The dashboard stopped reading the stream: {err}"})

    def _on_source_event(self, ev):
        name = self.source.stream_name
        if ev.kind == "disconnected":
            self.server.publish({"type": "stream", "state": "lost",
                                 "text": f"The LSL stream {name!r} vanished; waiting for it "
                                         "to come back (the page keeps going)."})
            self._event(ev.timestamp, GAP_START)
        elif ev.kind == "reconnected" and ev.n == 0:
            # silent a while, then every sample with stamps that go on without a
            # gap: the sender stalled, nothing was lost (no outage to count)
            self.server.publish({"type": "stream", "state": "ok",
                                 "text": f"The LSL stream {name!r} stalled, then sent every "
                                         "sample: nothing was lost."})
            self._event(ev.timestamp, "stream stalled, then sent every sample: nothing lost")
        elif ev.kind == "reconnected":
            self.server.publish({"type": "stream", "state": "ok",
                                 "text": f"The LSL stream {name!r} is back."})
            self._event(ev.timestamp, f"{GAP_END} duration={ev.duration:.3f}")
        elif ev.kind == "dropped":
            self.n_dropped += int(ev.n)

    def _event(self, t, text):
        t_rel = None if self.t0 is None or not np.isfinite(t) else float(t - self.t0)
        self.server.publish({"type": "event", "t_rel": t_rel, "text": text}, keep_latest=False)

    # -- following a session in another process ---------------------------------------
    def _engine_windows(self, chunk):
        results = self.engine.process(chunk.data, chunk.timestamps)
        if not results:
            return
        offset = self.feed.offset
        have_est = "Estimates" in self._inlets
        for r in results:
            if have_est:  # the session's own numbers win; quality comes from here
                self._quality = r.quality
                continue
            self._n_windows += 1
            self._n_gated += int(r.gated)
        r = results[-1]
        if not have_est:
            self.server.publish(window_message(r.t_end, r.estimates, r.gated, r.quality,
                                               t0=self.t0, offset=offset,
                                               estimate_names=self._est_names))

    def _follow_session(self):
        if self.source.source_id != self._inlets_for:
            # the EEG is another session's (found again under a new source id,
            # maybe before its first sample): the last one's inlets would wait
            # forever, and a look now would add the new streams beside them
            self._next_session()
        now = time.monotonic()
        if len(self._inlets) < 3 and now >= self._find_at:
            self._find_at = now + 2.0
            self._find_streams()
        for key, inlet in list(self._inlets.items()):
            try:
                if key == "Estimates":
                    data, ts = inlet.pull_chunk(timeout=0.0, max_samples=1024)
                    if ts:
                        self._on_estimates(data, ts)
                else:
                    data, ts = inlet.pull_chunk(timeout=0.0, max_samples=1024)
                    for (text,), t in zip(data, ts, strict=False):
                        self._on_marker(key, text, t)
            except lsl_errors():  # the session ended: look for the next one's
                self._inlets.pop(key, None)

    def _next_session(self):
        """The EEG is back under a new source id: another session. Its estimates,
        cues and markers replace the last one's, whose inlets would wait forever."""
        self._close_inlets()
        self._block = None
        self._find_at = 0.0  # look at once

    def _close_inlets(self):
        """Close the inlets on the session's Estimates, Cues and Markers streams."""
        inlets, self._inlets = self._inlets, {}
        for inlet in inlets.values():
            try:
                inlet.close_stream()
            except Exception as err:  # pragma: no cover - an inlet already broken
                logger.debug("Closing a follower inlet: %s", err)

    def _find_streams(self):
        pylsl = import_pylsl()
        sid = self.source.source_id or ""
        self._inlets_for = self.source.source_id
        if not sid.endswith("-eeg"):
            return  # not one of our sessions: the local engine gives the estimates
        base = sid[: -len("-eeg")]
        for key in ("Estimates", "Cues", "Markers"):
            if key in self._inlets:
                continue
            found = pylsl.resolve_byprop("source_id", f"{base}-{key.lower()}", timeout=0.05)
            if not found:
                continue
            try:  # anyone on the network may publish under that source id
                refuse_too_many_channels(found[0])
            except StreamError as err:
                if found[0].source_id() not in self._refused:
                    self._refused.add(found[0].source_id())
                    logger.warning("The dashboard does not follow it: %s", err)
                continue
            # no recover: a session's streams end with it (the next session's
            # come under new source ids), and liblsl reconnecting to a vanished
            # outlet held the reading thread in a pull for seconds, or for good
            inlet = pylsl.StreamInlet(found[0], max_buflen=10, recover=False,
                                      processing_flags=pylsl.proc_clocksync)
            inlet.open_stream(timeout=2.0)
            if key == "Estimates":
                labels = _labels(inlet.info(timeout=2.0))
                if labels and labels[-1] == "gated":
                    names = labels[:-1]
                    if names != self._est_names:
                        self._est_names = names
                        src = self.source
                        self.server.publish(meta_message(
                            title=self.title, ch_names=src.ch_names, sfreq=src.sfreq,
                            profile=src.profile, estimate_names=names, source=src.describe(),
                            display_rate=self.feed.display_rate,
                            mode="following a session"))
            self._inlets[key] = inlet
            logger.info("Dashboard follows %s-%s.", base, key.lower())

    def _on_estimates(self, data, ts):
        arr = np.asarray(data, dtype=float)
        self._n_windows += len(ts)
        self._n_gated += int(np.sum(arr[:, -1] > 0.5))
        row, t = arr[-1], ts[-1]
        q = self._quality
        self.server.publish(window_message(t, row[:-1], row[-1] > 0.5, q, t0=self.t0,
                                           offset=self.feed.offset,
                                           estimate_names=self._est_names))

    def _on_marker(self, key, text, t):
        from ..feedback._policy import parse_marker

        kind, fields = parse_marker(text)
        if key == "Cues" and kind == CUE:
            t_end = _num(fields, "t_end")
            if np.isfinite(t_end):
                self._cue_lat.append(t - t_end)
            blk = self._block or {}
            left = math.nan
            if blk.get("t") is not None and np.isfinite(t_end):
                left = max(blk.get("duration", math.nan) - (t_end - blk["t"]), 0.0)
            self.server.publish(cue_message(
                block=fields.get("block", ""), kind=blk.get("kind", ""),
                state=fields.get("state", ""), target=fields.get("target", ""),
                direction=fields.get("direction", ""), value=_num(fields, "value"),
                threshold=_num(fields, "threshold"), score=_num(fields, "score"),
                instructions=blk.get("instructions", ""), time_left=left,
                duration=blk.get("duration", math.nan), block_index=blk.get("index", -1)))
            return
        if key == "Cues" and kind == BLOCK_START:
            self._block = {"t": t, "kind": fields.get("kind", ""),
                           "duration": _num(fields, "duration"),
                           "instructions": fields.get("instructions", ""),
                           "index": int(_num(fields, "index")) if "index" in fields else -1}
        self._event(t, text)

    def _publish_status(self):
        elapsed = 0.0
        if self.t0 is not None and self.source._last_ts is not None:
            elapsed = self.source._last_ts - self.t0
        self.server.publish({
            "type": "status", "elapsed": elapsed, "windows": self._n_windows,
            "gated": self._n_gated, "dropped": self.n_dropped,
            "effective_rate": self.effective_rate,
            "cue_latency_ms": percentiles(self._cue_lat),
            "clients": self.server.stats["clients"],
        })


def _make_by_id(source_id):
    """An LSLSource class that resolves one ``source_id`` (same reading, same events)."""
    from ..stream import LSLSource

    class _ById(LSLSource):
        def _resolve(self, timeout):
            pylsl = import_pylsl()
            found = pylsl.resolve_byprop("source_id", source_id, timeout=timeout)
            return found[0] if found else None

    return _ById
