"""A signal as a BrainFlow board connects, or its reading starts, leaves the board released.

Python raises KeyboardInterrupt between any two bytecodes: each test wraps
one call of the board's start with one that makes the call, then raises the
signal (as a key pressed as it returns), on BrainFlow's synthetic board.
"""

import signal

import pytest
from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

from biofeedback.hardware import BrainFlowSource, get_profile
from biofeedback.live import build_session


def _prepared() -> bool:
    """Whether this process holds the synthetic board prepared (BrainFlow keys
    a process's boards by board and parameters, so a fresh shim can ask)."""
    shim = BoardShim(BoardIds.SYNTHETIC_BOARD.value, BrainFlowInputParams())
    return shim.is_prepared()


def _then(real, signum):
    def call(*args, **kwargs):
        out = real(*args, **kwargs)
        signal.raise_signal(signum)  # the signal as the call returns
        return out
    return call


# each call of the start in turn: BrainFlow's own, the rows asked once the
# board streams, and the whole of _open (the signal as it returns)
WINDOWS = [(BoardShim, "prepare_session"), (BoardShim, "start_stream"),
           (BoardShim, "get_eeg_channels"), (BrainFlowSource, "_open")]


@pytest.mark.parametrize(("owner", "name"), WINDOWS, ids=[w[1] for w in WINDOWS])
def test_ctrl_c_as_the_board_starts_releases_it(owner, name, monkeypatch):
    """Ctrl-C raised as prepare_session or start_stream returned, or once the
    source held the board but before it counted as started, left the board
    prepared and streaming: nothing released it, and the next session of the
    same board in this process was refused as 'already open'."""
    monkeypatch.setattr(owner, name, _then(getattr(owner, name), signal.SIGINT))
    source = BrainFlowSource(get_profile("synthetic"))
    with pytest.raises(KeyboardInterrupt):
        source.start()
    assert not _prepared(), "the board stayed prepared after Ctrl-C as it started"
    monkeypatch.undo()
    with BrainFlowSource(get_profile("synthetic")) as again:  # the board is free
        assert again.sfreq == 250


def test_ctrl_c_as_a_session_connects_its_board_releases_it(monkeypatch):
    """The same through a live session: Session.run starts the source inside
    the block that closes it, and Ctrl-C there ends the session as Ctrl-C
    after it does, with a summary (nothing recorded)."""
    monkeypatch.setattr(BoardShim, "prepare_session",
                        _then(BoardShim.prepare_session, signal.SIGINT))
    session = build_session(BrainFlowSource(get_profile("synthetic")), record=False,
                            feedback=False, report=False, duration=5.0)
    summary = session.run()
    assert summary.stopped_by == "interrupt" and summary.recording is None
    assert "stopped: before the session began, so nothing was recorded" in summary.notes
    assert not _prepared()


def test_sigterm_as_a_session_connects_its_board_ends_it_released(monkeypatch):
    """SIGTERM while the session runs asks it to stop: held while the board
    connects, it stops the session once the board is the source's, which
    then releases it as the session ends."""
    monkeypatch.setattr(BoardShim, "prepare_session",
                        _then(BoardShim.prepare_session, signal.SIGTERM))
    session = build_session(BrainFlowSource(get_profile("synthetic")), record=False,
                            feedback=False, report=False, duration=5.0)
    summary = session.run()
    assert summary.stopped_by == "SIGTERM"
    assert not _prepared()


def test_ctrl_c_as_the_acquisition_starts_stops_it_before_the_board(monkeypatch, ctrl_c):
    """The acquisition thread was started before the block that stops and
    joins it: Ctrl-C as it started left it reading the board as the session
    released it (AttributeError in the thread), its samples published to the
    EEG outlet but not counted (0 samples)."""
    import time

    from biofeedback.session import _acquisition

    real = _acquisition.Acquisition.start

    def start(self):
        real(self)
        time.sleep(0.2)  # the thread reads a few chunks
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_acquisition.Acquisition, "start", start)
    session = build_session(BrainFlowSource(get_profile("synthetic")), record=False,
                            feedback=False, report=False, duration=5.0)
    summary = session.run()
    assert summary.stopped_by == "interrupt"
    assert session.acquisition.error is None
    assert not session.acquisition._thread.is_alive()
    assert summary.n_samples > 0
    assert not _prepared()
