"""Ctrl-C as a session opens its sinks leaves none open.

Python raises KeyboardInterrupt between any two bytecodes: the test wraps a
sink's open with one that opens it, then raises SIGINT (a key pressed as it
returns), in a session on BrainFlow's synthetic board.
"""

import signal

from biofeedback.config import load_pipeline
from biofeedback.feedback._config import OscConfig
from biofeedback.feedback._cues import OscCue
from biofeedback.hardware import BrainFlowSource, get_profile
from biofeedback.session import Session


def test_ctrl_c_as_a_sink_opens_closes_it(monkeypatch, ctrl_c):
    """A sink counted as opened only once its open returned: interrupted
    there, it was never closed (the OSC sink's socket stayed open; an audio
    cue's output stream kept playing)."""
    real = OscCue.open

    def open_then_ctrl_c(self, info=None):
        real(self, info)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(OscCue, "open", open_then_ctrl_c)
    osc = OscCue(OscConfig(port=9))
    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), [osc],
                      publish=False, duration=5.0)
    summary = session.run()
    assert summary.stopped_by == "interrupt"
    assert osc._client is None, "the OSC sink's socket was left open"
