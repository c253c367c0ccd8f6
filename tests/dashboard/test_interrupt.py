"""Ctrl-C as the dashboard starts leaves no server behind.

Python raises KeyboardInterrupt between any two bytecodes: the test wraps
``DashboardServer.start`` with one that starts the server, then raises
SIGINT (a key pressed as it returns).
"""

import signal
import threading

import pytest

from biofeedback.cli import main
from biofeedback.dashboard import DashboardServer


@pytest.mark.parametrize("argv", [
    ["live", "--no-record", "--view", "none", "--duration", "3"],
    ["check", "--watch"],
], ids=["live", "check-watch"])
def test_ctrl_c_as_the_dashboard_starts_stops_it(argv, monkeypatch, capsys, ctrl_c):
    """The server started before the block that stops it: Ctrl-C as it
    returned left it serving (its port taken, its thread running) after the
    command ended, in the process that ran it."""
    servers = []
    real = DashboardServer.start

    def start(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        servers.append(self)
        signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(DashboardServer, "start", start)
    assert main([*argv, "--dashboard", "--no-browser", "--port", "0"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert len(servers) == 1
    assert servers[0]._loop is None, "the dashboard still serves after Ctrl-C"
    assert not [t for t in threading.enumerate() if t.name == "dashboard"]


def test_ctrl_c_as_the_dashboard_starts_its_traces_stops_them(monkeypatch, ctrl_c):
    """The dashboard sink reads the session's EEG stream for its traces: Ctrl-C
    as that reader started left its thread reading after the session, with
    nothing to stop it."""
    from biofeedback.config import load_pipeline
    from biofeedback.dashboard import DashboardSink
    from biofeedback.dashboard._lsl import LSLFeeder
    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.session import Session

    real = LSLFeeder.start

    def start(self):
        out = real(self)
        signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(LSLFeeder, "start", start)
    server = DashboardServer(port=0)
    server.start()
    try:
        session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(),
                          [DashboardSink(server)], publish=True, duration=5.0)
        assert session.run().stopped_by == "interrupt"
    finally:
        server.stop()
    readers = [t for t in threading.enumerate() if t.name == "dashboard-lsl"]
    for t in readers:
        t.join(3.0)
    assert not [t for t in readers if t.is_alive()], "the traces' reader outlived the session"
