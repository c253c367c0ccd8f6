"""LabRecorderCLI started on the session's streams: a stream it missed, what it said last."""

import threading
import time

import pytest

from biofeedback.errors import BiofeedbackError
from biofeedback.recorder import Recorder

pytestmark = pytest.mark.lsl


def test_a_stream_the_recorder_missed_is_looked_for_again(tmp_path, uid):
    """LabRecorderCLI looks once, for one second: a stream that answers after
    that (a busy machine, an outlet opened a moment before) is recorded all the same."""
    import pylsl

    rec = Recorder(tmp_path / "r.xdf", [f"source_id='late-{uid}'"])
    outlets = []

    def open_once_missed():  # the outlet appears only after LabRecorderCLI gave up on it
        end = time.monotonic() + 30
        while time.monotonic() < end and not any("matched no stream" in ln
                                                  for ln in list(rec._lines)):
            time.sleep(0.005)
        outlets.append(pylsl.StreamOutlet(pylsl.StreamInfo(f"late-{uid}", "EEG", 1, 100.0,
                                                           "float32", f"late-{uid}")))

    thread = threading.Thread(target=open_once_missed, daemon=True)
    thread.start()
    try:
        rec.start()
        assert rec.running
    finally:
        rec.stop()
        thread.join()
    assert outlets, "LabRecorderCLI never said it missed the stream"


class _LateReader(Recorder):
    """What LabRecorderCLI prints reaches us late, as on a busy machine."""

    def _reader(self, *args):
        time.sleep(1.5)
        super()._reader(*args)


def test_what_the_recorder_said_before_it_ended_is_read_to_its_end(tmp_path, uid):
    rec = _LateReader(tmp_path / "r.xdf", [], others=[f"type='NoSuch{uid}'"])
    t0 = time.monotonic()
    with pytest.raises(BiofeedbackError, match=rf"No LSL stream matches \"type='NoSuch{uid}'\""):
        rec.start()
    assert time.monotonic() - t0 < 20  # said, not waited out
    assert not rec.running


@pytest.mark.parametrize("predicate, said", [
    ("name=MyMarkers", "'MyMarkers' in 'name=MyMarkers' needs quotes: \"name='MyMarkers'\""),
    ("MyMarkers", "'MyMarkers' is not a predicate; to record the stream of that name write"),
    ("", "the predicate is empty"),
    # liblsl resolves a malformed predicate to no stream: say what is wrong in it
    ("type='Markers' and", "\"type='Markers' and\" ends with 'and', with nothing after it; "
                           "e.g. \"type='Markers' and name='PsychoPy'\""),
    ("name='Bob's'", "a quote in \"name='Bob's'\" is never closed; close each quoted value, "
                     "and write one holding ' in double quotes, as in name=\"O'Brien\""),
    ("starts-with(name, 'Muse'", "a '(' in \"starts-with(name, 'Muse'\" is never closed"),
    ("name='a' type='b'", "'type' follows \"'a'\" in \"name='a' type='b'\" with no operator"),
    ("and type='EEG'", "'and' in \"and type='EEG'\" has nothing before it"),
])
def test_a_predicate_labrecorder_cannot_match_is_said_before_it_starts(tmp_path, predicate,
                                                                      said):
    """From Python as from the command line (also_record=): LabRecorder matched
    no stream with these, and the session said no such stream was sending."""
    with pytest.raises(BiofeedbackError, match="Cannot record another stream: ") as err:
        Recorder(tmp_path / "r.xdf", ["source_id='x'"], others=[predicate])
    assert said in str(err.value)
    assert not (tmp_path / "r.xdf").exists()


def test_predicates_labrecorder_matches_pass():
    from biofeedback.recorder import check_predicate

    # a quoted value may hold '=' and spaces: it was read as 'b\'' needing quotes
    for ok in ("type='Markers'", "name='a' and channel_count=1", " name = 'b' ",
               "starts-with(name, 'Muse')", "name='a=b'", 'name="x y=z" and type=\'EEG\'',
               'name="Bob\'s"', "desc/channels/channel[1]/label='Fz'", "channel_count*2=16",
               "(type='EEG' or type='Markers') and not(name='x')", "channel_count mod 2=0"):
        assert check_predicate(ok) == ok.strip()


def test_ctrl_c_as_the_recorder_starts_leaves_no_recorder_running(tmp_path, monkeypatch,
                                                                   ctrl_c):
    """Ctrl-C arriving once LabRecorderCLI runs but before the recorder held it
    (inside Popen, as the child starts) left it recording on its own, in its
    own session where no terminal signal reaches it; seen after a test that
    pressed Ctrl-C as a participant's session started. (``ctrl_c``: Python's
    Ctrl-C handler, which a runner started with SIGINT ignored lacks.)"""
    import signal
    import subprocess

    started = []
    popen = subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        proc = popen(*args, **kwargs)
        started.append(proc)
        signal.raise_signal(signal.SIGINT)  # the key pressed as the child runs
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_ctrl_c)
    rec = Recorder(tmp_path / "r.xdf", ["source_id='nothing-sends-this'"])
    try:
        with pytest.raises(KeyboardInterrupt):
            rec.start()
        assert len(started) == 1
        assert started[0].poll() is not None, "LabRecorderCLI outlived the interrupted start"
        assert not rec.running
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
