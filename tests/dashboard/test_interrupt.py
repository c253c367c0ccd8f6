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
