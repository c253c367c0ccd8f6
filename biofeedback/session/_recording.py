"""What a session publishes (LSL outlets) and records (LabRecorder + sidecar)."""

from __future__ import annotations

import time
from pathlib import Path

from .._logging import logger

__all__ = ["Outlets", "RecordingControl"]


class Outlets:
    """The session's LSL streams: raw EEG, estimates and markers.

    Stream names are ``<name>-EEG``, ``<name>-Estimates`` and
    ``<name>-Markers``; source ids carry the session id so LabRecorder picks
    exactly this session's streams.

    Attributes
    ----------
    eeg, estimates, markers : pylsl.StreamOutlet
    streams : dict
        ``{key: {"name": ..., "source_id": ...}}`` of every stream to record
        (sinks add their own, e.g. ``Cues``).
    """

    def __init__(self, info, source):
        from ..stream import eeg_outlet, estimates_outlet, marker_outlet

        sid, prefix = info.session_id, info.name
        names = {k: f"{prefix}-{k}" for k in ("EEG", "Estimates", "Markers")}
        ids = {k: f"{prefix}-{sid}-{k.lower()}" for k in names}
        extra = {"session_id": sid, "pipeline": info.config.name,
                 "estimate_names": info.estimate_names}
        self.eeg = eeg_outlet(names["EEG"], ids["EEG"], source.ch_names, source.sfreq,
                              source.profile, extra)
        self.estimates = estimates_outlet(names["Estimates"], ids["Estimates"],
                                          info.estimate_names, extra)
        self.markers = marker_outlet(names["Markers"], ids["Markers"])
        self.streams = {k: {"name": names[k], "source_id": ids[k]} for k in names}

    def add(self, key, name, source_id) -> None:
        """Record another stream with the session's (a sink's own outlet)."""
        self.streams[key] = {"name": name, "source_id": source_id}

    def push_estimates(self, result) -> None:
        """One window's estimates and its gate flag, stamped with ``t_end``."""
        self.estimates.push_sample([*result.estimates.tolist(), float(result.gated)],
                                   result.t_end)


class RecordingControl:
    """LabRecorder on the session's streams, and the recording's JSON sidecar.

    The sidecar is written as soon as the recorder runs, so a session killed
    with SIGKILL still leaves a readable XDF and its sidecar; it is written
    again at the end with the summary.

    Parameters
    ----------
    fname : path-like
        The XDF file.
    predicates : list of str
        LabRecorder predicates of the streams to record.
    content : callable
        ``content() -> dict``: what the sidecar holds (called at each write).
    tails : callable | None
        ``tails()``: what the session's outlets sent last, appended to the file
        where LabRecorder had not written it yet (:meth:`stop`).
    others : list of str
        Predicates of other programs' streams recorded too (``also_record``):
        the session keeps inlets of its own on them for the file's end.
    own : collection of str
        Source ids of the session's own streams (their outlets keep tails).
    headers : callable | None
        ``headers()``: ``{source_id: stream header XML}`` of the session's own
        streams, for those LabRecorder had not written when it was ended
        (:meth:`stop` right after :meth:`start`): the file holds every one.
    """

    def __init__(self, fname, predicates, content, tails=None, others=(), own=(),
                 headers=None):
        self.fname = Path(fname)
        self.predicates = list(predicates)
        self.content = content
        self.tails = tails
        self.headers = headers
        self.others = list(others)
        self.own = set(own)
        self._recorder = None
        self._inlets = None
        self.clocks = {}  # other programs' streams not on the LSL clock (stop())
        self.notes = []

    def start(self) -> None:
        """Start LabRecorder, open inlets on other programs' streams, write the sidecar."""
        from ..recorder import Recorder

        own = [p for p in self.predicates if p not in self.others]
        self._recorder = Recorder(self.fname, own, others=self.others, exclude=self.own)
        try:
            self._recorder.start()
            self._open_rest()
        except BaseException:  # Ctrl-C before the session began: no recorder left behind
            self.abort()
            raise

    def abort(self) -> None:
        """End LabRecorder at once, without footers (the session never began)."""
        if self._recorder is not None:
            self._recorder.abort()
            self._recorder = None

    def _open_rest(self) -> None:
        if self.others:
            from ..stream._lsl import KeptInlets

            self._inlets = KeptInlets(self.others, exclude=self.own)
            try:
                self._inlets.open()
            except Exception as err:  # LabRecorder records them all the same
                logger.debug("No inlets on the other streams: %s", err)
                self._inlets.missing = list(self.others)
        self.write_sidecar()  # written now, so a killed session still has it

    def stop(self, hurry=None) -> None:
        """Stop LabRecorder and close the file, in well under a second.

        No stream needs a wait: what LabRecorder had not written yet is
        appended from the session's outlets' tails (``tails()``) and, for
        other programs' streams, from the session's own inlets on them. A
        stream no inlet could be opened on gets one more of LabRecorder's
        pulls (0.6 s), unless ``hurry`` (a threading.Event) is set.
        """
        if self._recorder is None:
            return
        from .._xdf_chunks import complete_xdf
        from ..stream._peers import clock_note

        try:
            if self._inlets is not None and self._inlets.missing:
                if hurry is not None:
                    hurry.wait(0.6)
                else:
                    time.sleep(0.6)
        finally:  # whatever happens, the recorder does not outlive the session
            clean = self._recorder.stop(grace=0.1 if hurry is not None and hurry.is_set()
                                        else 0.25)
        try:
            tails = dict(self.tails() if self.tails else {})
            if self._inlets is not None:  # drained once LabRecorder has stopped pulling
                tails.update(self._inlets.tails())
                self.clocks = dict(self._inlets.clocks)
                self.notes = [clock_note(name, c) for name, c in self.clocks.items()]
            headers = dict(self.headers() if self.headers else {})
            if self._inlets is not None:  # other programs' streams the file must hold
                headers = {**self._inlets.headers(), **headers}
            report = complete_xdf(self.fname, tails, headers=headers or None)
            logger.debug("Recording closed by %s: %s",
                         "LabRecorder" if clean else "biofeedback", report)
        except Exception as err:  # the file stays readable without footers
            logger.warning("Could not write the recording's footers (%s); it reads "
                           "without them.", err)

    def write_sidecar(self, extra=None) -> Path:
        """Write ``<recording>.json``: :attr:`content` plus ``extra``.

        Once :meth:`stop` found other programs' streams stamped with Unix
        time, ``stream_clocks`` says which and by how much their stamps move
        onto the EEG's clock (``{name: {"source_id", "stamps": "unix",
        "shift"}}``, in seconds; ``"unix_ms"`` for Unix time in milliseconds,
        which the readers read as milliseconds before the shift); the XDF
        keeps the stamps as sent. A stream
        stamped on a device's own clock is named with ``"stamps": "own"`` and
        ``"shift": null``: its times cannot be lined up with the EEG's.
        """
        from ..recorder import write_sidecar

        content = self.content()
        if self.clocks:
            content["stream_clocks"] = self.clocks
        if extra:
            content.update(extra)
        return write_sidecar(self.fname, content)
