"""The protocol's runner in a session: a lossless sink that fans cues out.

:class:`ProtocolSink` runs a :class:`~biofeedback.feedback._protocol.Protocol`
inside a session as a lossless sink (on the processing thread, every window):
it publishes block and cue markers on its own LSL stream ``<session
name>-Cues`` (recorded with the session), hands every cue to the cue sinks
(terminal, audio, OSC; none of them may block), and measures cue latency. The
session writes the report (:meth:`biofeedback.session.Session.report`).
"""

from __future__ import annotations

import math

import numpy as np

from .._markers import FEEDBACK_PAUSED, FEEDBACK_RESUMED
from .._stops import PROTOCOL
from .._words import counted
from ._base import Sink
from ._protocol import Protocol

__all__ = ["ProtocolSink"]


class ProtocolSink(Sink):
    """Run a :class:`Protocol` in a session and fan its cues out.

    Parameters
    ----------
    config : FeedbackConfig
        The ``[feedback]`` section.
    cue_sinks : list of CueSink
        Terminal, audio, OSC... They run on the processing thread and must not
        block; one that raises is turned off with a warning (the same fault
        isolation as the session's sinks).
    lsl : bool
        Publish block and cue markers as an LSL string stream.
    terminal : bool
        Let the terminal view show the cue and the block.
    fname : str
        The pipeline file (for error messages).

    Attributes
    ----------
    protocol : Protocol | None
        Created when the session opens; ``protocol.latest`` is the newest cue.
    carried : dict | callable | None
        The previous session's thresholds (``threshold_start = "carry"``);
        set before the session runs. A callable is called with the
        :class:`SessionInfo` when the session opens (its headset known) and
        returns the dict or None.
    markers : list of (float, str)
        Everything emitted, with its emission time.
    cue_latency : list of float
        Live, per cue: seconds from its window's newest sample to the cue.
    paused : bool
        Feedback held (windows count as gated), e.g. by a dashboard's pause.
    """

    name = "protocol"
    lossless = True

    def __init__(self, config, cue_sinks=(), *, lsl=True, terminal=True, fname="",
                 carried=None):
        from ..session._dispatch import Dispatcher

        self.config = config
        self.terminal = terminal
        self.cue_sinks = list(cue_sinks)
        self.lsl = lsl
        self.fname = fname
        self.carried = carried
        self.info = None
        self.realtime = True
        self.protocol = None
        self.paused = False  # set from another thread by a dashboard's pause control
        self.markers = []  # (timestamp, text) of everything emitted
        self._cues = Dispatcher(self.cue_sinks, what="Cue sink", threads=False)
        self._outlet = None
        self.cue_latency = []
        self._live_from = -math.inf
        self._t_now = 0.0

    # -- session hooks --------------------------------------------------------------
    def _resolve_carried(self, info) -> None:
        if callable(self.carried):
            self.carried = self.carried(info)

    def lsl_streams(self, info) -> dict:
        """Open the Cues outlet; the session records it with the other streams."""
        self._resolve_carried(info)  # before the sidecar is first written
        if not self.lsl:
            return {}
        from ..stream import marker_outlet

        name = f"{info.name}-Cues"
        source_id = f"{info.name}-{info.session_id}-cues"
        self._outlet = marker_outlet(name, source_id)
        return {"Cues": (name, source_id)}

    def open(self, info):
        from ..stream._clock import lsl_clock

        self.info = info
        self.realtime = info.realtime
        self._resolve_carried(info)
        # live, markers are stamped when emitted; on a finite source (replay,
        # simulated sessions) on the window's own clock, as it has no other
        self._clock = lsl_clock if self.realtime else (lambda: self._t_now)
        self._t_now = 0.0
        self.protocol = Protocol(self.config, info.estimate_names, self.fname,
                                 carried=self.carried)
        self._live_from = self._clock()
        self._cues.open(info)

    def _emit(self, text):
        now = self._clock()
        if self._outlet is not None:
            self._outlet.push_sample([text], now)
        self.markers.append((now, text))
        return now

    def pause(self, on: bool = True) -> None:
        """Pause feedback (cues say "paused", windows count as gated) or resume it.

        Thread-safe: it only sets a flag the next window reads. The recording
        goes on and gets a ``feedback_paused`` / ``feedback_resumed`` marker.
        Replay does not repeat a manual pause.
        """
        on = bool(on)
        if on != self.paused:
            self.paused = on
            self._emit(FEEDBACK_PAUSED if on else FEEDBACK_RESUMED)

    def write(self, result):
        self._t_now = result.t_end
        gated = result.gated or self.paused
        events, cue = self.protocol.update(result.t_end, result.estimates, gated)
        for text in events:
            self._emit(text)
            for sink in self.cue_sinks:
                self._cues.call(sink, "marker", text, result.t_end)
        if cue is not None:
            if cue.kind != "transfer":  # transfer: recorded, never shown or sounded
                for sink in self.cue_sinks:
                    self._cues.call(sink, "cue", cue)
            now = self._emit(cue.marker())
            if self.realtime and result.t_end >= self._live_from:
                self.cue_latency.append(now - result.t_end)
        if self.protocol.done and self.config.end == "stop":
            self.info.request_stop(PROTOCOL)

    def close(self):
        if self.protocol is not None:
            for text in self.protocol.finish():
                self._emit(text)
        self._cues.each_opened("close")
        if self._outlet is not None:
            del self._outlet
            self._outlet = None

    def sidecar(self) -> dict:
        """The protocol as run, saved in the recording's sidecar as ``feedback``."""
        return {"feedback": self.describe()} if self.protocol is not None else {}

    # -- figures --------------------------------------------------------------------
    def latency_ms(self) -> dict:
        """Cue latency percentiles (ms): emission minus the window's newest sample."""
        if not self.cue_latency:
            return {}
        lat = np.asarray(self.cue_latency) * 1e3
        return {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
                "max": float(lat.max()), "n": int(lat.size)}

    def describe(self) -> dict:
        """JSON-ready record of the protocol as run (sidecar ``feedback``)."""
        out = self.protocol.summary() if self.protocol is not None else {}
        out["cue_latency_ms"] = self.latency_ms()
        out["cue_sinks"] = {s.name: s.describe() for s in self.cue_sinks
                            if hasattr(s, "describe")}
        out["cue_sinks"]["lsl"] = {"stream": "Cues"} if self.lsl else {}
        out["cue_sink_errors"] = dict(self._cues.errors)
        return out

    def latency_lines(self) -> list[str]:
        """The cue latency, for the summary's latency block."""
        lat = self.latency_ms() if self.protocol is not None else None
        if not lat:
            return []
        return [f"cue latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms "
                f"(n={lat['n']})"]

    def summary_lines(self) -> list[str]:
        """Lines for the end-of-session summary (the cue latency is :meth:`latency_lines`)."""
        if self.protocol is None:
            return []
        lines = []
        summ = self.protocol.summary()
        for st in self.protocol.stats:
            if st.kind in ("training", "transfer"):
                hidden = " (transfer, no feedback)" if st.kind == "transfer" else ""
                lines.append(
                    f"block {st.name} ({st.target} {st.direction}){hidden}: reward rate "
                    f"{_pct(st.reward_rate)}, time in target {_pct(st.time_in_target)}, "
                    f"artifacts {_pct(st.artifact_share)}, threshold "
                    f"{st.threshold_start:.4g} -> {st.threshold_end:.4g}"
                    f"{_THRESHOLD_FROM.get(st.threshold_source, '')}")
            else:
                lines.append(f"block {st.name} ({st.kind}): "
                             f"{counted(st.n_clean, 'clean window')}, "
                             f"artifacts {_pct(st.artifact_share)}")
        if any(s.kind == "training" for s in self.protocol.stats):
            lines.append(f"feedback: time in target {_pct(summ['time_in_target'])}, reward "
                         f"rate {_pct(summ['reward_rate'])} (target "
                         f"{_pct(self.config.reward_rate)}), artifact share "
                         f"{_pct(summ['artifact_share'])}")
        for name, err in self._cues.errors.items():
            lines.append(f"cue sink {name!r} failed and was turned off: {err}")
        for got in self._cues.collect("summary_lines"):  # as the session collects its sinks'
            lines.extend(got)
        return lines


# said after a block's thresholds when they did not come from the baseline
_THRESHOLD_FROM = {
    "training_start": " (set from the block's first clean seconds: the baseline had too "
                      "little clean signal)",
    "carried": " (carried from the last session)",
}


def _pct(x) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.0f}%"
