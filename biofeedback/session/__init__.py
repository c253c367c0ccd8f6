"""Run a session: a source through the engine to sinks, published and recorded.

Live (a board or LSL stream) and replay (a recording) run through the same
:class:`Session`. It is made of small parts, one job each:

- :class:`~biofeedback.session._acquisition.Acquisition`: live, one thread
  reads the source into a ring buffer and publishes the raw samples to LSL;
  the processing loop reads the ring with its own cursor, so neither a slow
  sink nor a slow window can make the source drop samples. In fast replay
  there is no thread: the loop reads the recording as fast as the CPU allows.
- :class:`~biofeedback.session._dispatch.Dispatcher`: hands windows, events
  and status to the :class:`Sink` objects and switches off one that raises.
- :class:`~biofeedback.session._recording.Outlets` and
  :class:`~biofeedback.session._recording.RecordingControl`: the session's
  LSL streams, LabRecorder and the recording's JSON sidecar.
- :class:`SessionSummary`: what the session reports at the end.

:func:`biofeedback.live.build_session` assembles a whole live session
(source, view, protocol and cues, recording, report) from Python as the
command line does.
"""

from ._csv import CsvSink
from ._session import Session
from ._sink import SessionInfo, Sink
from ._summary import SessionSummary

__all__ = ["Session", "SessionSummary", "SessionInfo", "Sink", "CsvSink"]
