"""The dashboard as a session sink: windows, cues, status and events to the page.

:class:`DashboardSink` is not lossless: the session runs it on its own thread
and hands it only the newest window, so the page can never delay the engine.
Traces and spectra come from the session's own raw-EEG LSL stream, read by an
:class:`~biofeedback.dashboard._lsl.LSLFeeder` on another thread. The controls
(pause, mark, stop) are registered as token-guarded server actions.
"""

from __future__ import annotations

import math
import time

from .._logging import logger
from .._markers import DASHBOARD_MARK
from .._stops import DASHBOARD
from ..feedback._base import Sink
from ._feed import cue_message, meta_message, percentiles, wall_offset, window_message

__all__ = ["DashboardSink"]


class DashboardSink(Sink):
    """Show a running session on a :class:`DashboardServer`'s page.

    Parameters
    ----------
    server : DashboardServer
        A started server (the caller prints its URL before the session runs).
    traces : bool
        Read the session's raw EEG stream for traces and spectra.
    controls : bool
        Offer pause, mark and stop on the page.
    check : dict | None
        A signal check's message (:meth:`biofeedback.check.CheckReport.to_message`)
        to show beside the session.
    participant : str | None
        Show this participant's last sessions from the study index.
    root : path-like | None
        The study root (default: ``$BIOFEEDBACK_ROOT`` or ``./recordings``).

    Notes
    -----
    Pause sets the feedback protocol's pause (cues say "paused", windows count
    as gated, the recording goes on and gets ``feedback_paused`` /
    ``feedback_resumed`` markers); mark writes ``dashboard_mark n=K`` into the
    Markers stream; stop ends the session as Ctrl-C does. Stop is offered from
    the moment the sink is made: pressed while the session starts (a device
    connecting, the kernels compiling), it sets :attr:`stop_requested`, which
    the session reads before it starts recording, so nothing is recorded;
    pressed while the recorder starts, it ends the session as soon as it opens
    its sinks (the recording is closed as at any end).
    """

    name = "dashboard"
    lossless = False

    def __init__(self, server, *, traces=True, controls=True, check=None, participant=None,
                 root=None):
        self.server = server
        self.participant = participant
        self.root = root
        self.traces = traces
        self.controls = controls
        self.check = check
        self.info = None
        self._feeder = None
        self._n_markers = 0
        self._last_status = 0.0
        self._last_cue = self._last_block = None
        #: "dashboard" once stop was pressed; a starting session looks at it
        self.stop_requested = None
        if controls:  # stop is offered while the session starts (a device connecting)
            server.add_action("stop", self._stop)
            server.publish({"type": "controls", "controls": ["stop"]})

    # -- session hooks -----------------------------------------------------------------
    def open(self, info):
        from ..stream._clock import lsl_clock

        self.info = info
        if self.stop_requested:  # pressed while the recorder started: end it now
            info.request_stop(DASHBOARD)
        self.t0 = lsl_clock()
        self.offset = wall_offset()
        self.names = list(info.estimate_names)
        self._protocol = info.protocol
        controls = []
        if self.controls:
            controls = ["mark", "stop"]
            self.server.add_action("mark", self._mark)
            if self._protocol is not None and hasattr(self._protocol, "pause"):
                controls.insert(0, "pause")
                self.server.add_action("pause", lambda text: self._pause(True))
                self.server.add_action("resume", lambda text: self._pause(False))
        self.server.publish(meta_message(
            title=info.name, ch_names=info.ch_names,
            sfreq=info.sfreq, profile=info.profile, estimate_names=self.names,
            source=info.source, session_id=info.session_id, controls=controls,
            mode="live" if info.realtime else "replay"))
        if self.check is not None:
            self.server.publish(self.check)
        self._publish_history()
        eeg = info.streams.get("EEG")
        if self.traces and eeg is not None:
            from ._lsl import LSLFeeder

            # held before it starts: Ctrl-C as it started left its thread
            # reading the session's EEG after the session, with nothing to stop it
            self._feeder = LSLFeeder(self.server, eeg["name"], profile=info.profile,
                                     config=info.config, follow=False, t0=self.t0,
                                     timeout=5.0, source_id=eeg["source_id"])
            try:
                self._feeder.start()
            except Exception as err:  # no traces, the rest of the page still works
                logger.warning("The dashboard cannot show traces: %s", err)
                self.close()

    def _publish_history(self):
        if not self.participant:
            return
        from ._feed import history_message

        try:
            current = self.info.session_id if self.info is not None else None
            self.server.publish(history_message(self.participant, self.root,
                                                current=current))
        except Exception as err:  # the history is extra: say why and go on
            logger.warning("The dashboard cannot list %s's sessions: %s", self.participant, err)

    def write(self, result):
        self.server.publish(window_message(result.t_end, result.estimates, result.gated,
                                           result.quality, t0=self.t0, offset=self.offset,
                                           estimate_names=self.names))
        self._publish_protocol()

    def _publish_protocol(self):
        sink = self._protocol
        # info.protocol may be any sink (or None): what a ProtocolSink shows, if it is one
        prot = getattr(sink, "protocol", None)
        if prot is None:
            return
        markers = getattr(sink, "markers", [])
        while self._n_markers < len(markers):  # block starts, thresholds...
            t, text = markers[self._n_markers]
            self._n_markers += 1
            if not text.startswith("cue "):
                self.server.publish({"type": "event", "t_rel": t - self.t0, "text": text},
                                    keep_latest=False)
        cue = prot.latest
        # the message is the cue, its block and the thresholds; the protocol
        # changes them only when it makes a new cue or ends its last block, so a
        # window it has not reached yet brings nothing new
        if cue is None or (cue is self._last_cue and prot._block == self._last_block):
            return
        self._last_cue, self._last_block = cue, prot._block
        block = prot.current
        thresholds = {t: p.threshold for (t, _), p in list(prot.policies.items())
                      if p.calibrated}
        self.server.publish(cue_message(
            block=cue.block, kind=cue.kind, state=cue.state, target=cue.target,
            direction=cue.direction, value=cue.value, threshold=cue.threshold,
            score=cue.score, instructions=block.instructions if block is not None else "",
            time_left=prot.time_left(cue.t_end),
            duration=block.duration if block is not None else math.nan,
            block_index=prot._block,
            n_blocks=len(prot.blocks), thresholds=thresholds))

    def status(self, stats):
        now = time.monotonic()
        if now - self._last_status < 0.5:
            return
        self._last_status = now
        msg = {"type": "status", **{k: v for k, v in stats.items()
                                    if isinstance(v, (int, float, str, bool))}}
        feeder = self._feeder
        msg["effective_rate"] = feeder.effective_rate if feeder is not None else math.nan
        lat = getattr(self._protocol, "cue_latency", None)  # any sink, see above
        msg["cue_latency_ms"] = percentiles(lat) if lat else {}
        msg["paused"] = bool(getattr(self._protocol, "paused", False))
        msg["clients"] = self.server.stats["clients"]
        self.server.publish(msg)

    def event(self, kind, timestamp, text=""):
        t_rel = timestamp - self.t0 if math.isfinite(timestamp) else None
        self.server.publish({"type": "event", "t_rel": t_rel, "text": text or kind},
                            keep_latest=False)

    def finish(self):
        self._publish_history()  # this session, once the index has it, appears next time
        self.server.publish({"type": "end", "text": "The session has ended; the page "
                                                    "keeps its last state."})

    def close(self):
        if self._feeder is not None:
            self._feeder.stop()
            self._feeder = None

    # -- controls (called on the server's thread) ----------------------------------------
    def _stop(self, text=""):
        self.stop_requested = DASHBOARD  # before reading info: open() reads the other way
        info = self.info
        if info is None:  # the session is still starting: it looks at stop_requested
            return "stopping as the session starts"
        info.request_stop(DASHBOARD)
        return "stopping"

    def _mark(self, text=""):
        from ..stream._clock import lsl_clock

        text = text.strip() or DASHBOARD_MARK
        self.info.add_marker(text if text.startswith(DASHBOARD_MARK) else
                             f"{DASHBOARD_MARK} {text}", lsl_clock())
        return text

    def _pause(self, on):
        self._protocol.pause(on)
        return "paused" if on else "resumed"
