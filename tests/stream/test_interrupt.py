"""Ctrl-C as an LSL source opens its inlet leaves no inlet open.

Python raises KeyboardInterrupt between any two bytecodes: the test wraps
the inlet's making with one that makes it, then raises SIGINT (a key
pressed as it returns), on a real outlet on loopback.
"""

import signal
import time

import pytest

from biofeedback.stream import LSLSource
from biofeedback.stream._lsl import LSLSource as _LSLSource
from biofeedback.stream._pylsl import import_pylsl


def _ctrl_c_as_the_inlet_opens(monkeypatch, name):
    """An outlet named ``name``, and Ctrl-C raised as a source's inlet on it opens."""
    pylsl = import_pylsl()
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 4, 250.0, "float32", name))
    real = _LSLSource._make_inlet

    def make_inlet(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(_LSLSource, "_make_inlet", make_inlet)
    return outlet


@pytest.mark.lsl
def test_ctrl_c_as_the_inlet_opens_closes_it(monkeypatch, ctrl_c, uid):
    """A source counted as started once its _open returned: Ctrl-C in it, or
    as it returned, left its inlet subscribed to the sender's outlet."""
    name = f"interrupt-{uid}"
    outlet = _ctrl_c_as_the_inlet_opens(monkeypatch, name)
    source = LSLSource(name, timeout=5.0)
    with pytest.raises(KeyboardInterrupt):
        source.start()
    assert source._inlet is None
    deadline = time.monotonic() + 5.0
    while outlet.have_consumers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not outlet.have_consumers(), "the inlet stayed subscribed after Ctrl-C"


@pytest.mark.lsl
def test_ctrl_c_as_a_session_finds_its_stream_returns_its_summary(monkeypatch, ctrl_c, uid,
                                                                   tmp_path):
    """Session.run returned a summary for Ctrl-C at any point but one: as the
    source started (the stream resolved, the inlet opened), where it raised."""
    from biofeedback.config import load_pipeline
    from biofeedback.session import Session

    name = f"interrupt-run-{uid}"
    outlet = _ctrl_c_as_the_inlet_opens(monkeypatch, name)
    session = Session(LSLSource(name, timeout=5.0), load_pipeline(), [], record=True,
                      recordings_dir=tmp_path, duration=10.0, name=f"run-{uid}")
    summary = session.run()
    assert summary.stopped_by == "interrupt" and summary.recording is None
    assert summary.n_samples == 0
    assert "stopped: before the session began, so nothing was recorded" in summary.notes
    assert session.summary is summary
    assert list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 5.0
    while outlet.have_consumers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not outlet.have_consumers(), "the inlet stayed subscribed after Ctrl-C"


@pytest.mark.lsl
@pytest.mark.parametrize("how", ["ctrl_c", "SIGTERM"])
def test_a_stop_while_a_session_waits_for_its_stream_ends_it_at_once(ctrl_c, uid, how):
    """A headset not switched on yet: liblsl waits for the stream in one call,
    where Python acts on no signal. Ctrl-C was acted on only after
    --lsl-timeout, and SIGTERM (the session's stop) ended the command with
    "no stream found", exit 1, after it."""
    import threading

    from biofeedback.config import load_pipeline
    from biofeedback.session import Session

    session = Session(LSLSource(f"absent-{uid}", timeout=10.0), load_pipeline(), [],
                      record=False, publish=False, duration=10.0)
    stop = ctrl_c if how == "ctrl_c" else (lambda: session.stop("SIGTERM"))
    pressed = []
    timer = threading.Timer(0.5, lambda: (pressed.append(time.monotonic()), stop()))
    timer.start()
    try:
        summary = session.run()
    finally:
        timer.cancel()
    took = time.monotonic() - pressed[0]
    assert summary.stopped_by == ("interrupt" if how == "ctrl_c" else "SIGTERM")
    assert summary.notes == ["stopped: before the session began, so nothing was recorded"]
    assert took < 1.0


@pytest.mark.lsl
@pytest.mark.parametrize("watch", [False, True])
def test_ctrl_c_while_the_check_waits_for_its_stream_ends_it_at_once(ctrl_c, uid, capsys,
                                                                     watch):
    """`check [--watch] --lsl NAME` held Ctrl-C until the stream's wait was over,
    then said the stream was not found (exit 1)."""
    import threading

    from biofeedback.cli import main

    pressed = []
    timer = threading.Timer(0.5, lambda: (pressed.append(time.monotonic()), ctrl_c()))
    timer.start()
    try:
        got = main(["check", "--lsl", f"absent-{uid}", "--lsl-timeout", "10",
                    *(["--watch"] if watch else [])])
    finally:
        timer.cancel()
    assert time.monotonic() - pressed[0] < 1.0
    assert got == 130
    err = capsys.readouterr().err
    assert err.endswith("biofeedback: interrupted\n") and "not found" not in err
    if not watch:
        assert "stopped by Ctrl-C before its verdict; the source is closed." in err
