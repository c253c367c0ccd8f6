"""Cue sinks on real parts: a python-osc server on loopback, WAV files, config errors."""

import socket
import threading
import time
import wave

import numpy as np
import pytest

from biofeedback.config import load_pipeline
from biofeedback.errors import PipelineConfigError
from biofeedback.feedback._config import AudioConfig, OscConfig
from biofeedback.feedback._cues import AudioCue, OscCue, render_tone, write_wav
from biofeedback.feedback._policy import Cue
from biofeedback.session import SessionInfo


def _info(realtime):
    """What a session hands its sinks (no recording)."""
    return SessionInfo("test", [], [], 256.0, None, None, realtime=realtime)


def _cue(t, state="reward", score=0.7):
    return Cue(t, "train", "training", state, "engagement", "up", 1.0, 1.1, 0.9, score)


def test_osc_reaches_a_real_server():
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    got = []
    disp = Dispatcher()
    disp.map("/biofeedback/*", lambda addr, *args: got.append((addr, args)))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), disp)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        sink = OscCue(OscConfig(port=server.server_address[1]))
        sink.open()
        sink.marker("block_start index=1 name=train kind=training target=engagement "
                    "direction=up", 0.0)
        sink.cue(_cue(1.0))
        sink.cue(_cue(1.5, "paused", float("nan")))
        deadline = time.monotonic() + 5
        while len(got) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        sink.close()
    finally:
        server.shutdown()
        server.server_close()
    msgs = {}
    for addr, args in got:
        msgs.setdefault(addr, []).append(args)
    assert msgs["/biofeedback/block"] == [("train", "training", "engagement", "up")]
    assert msgs["/biofeedback/score"][0][0] == pytest.approx(0.7)
    assert msgs["/biofeedback/score"][1] == (-1.0,)  # no feedback while paused
    assert [a[0] for a in msgs["/biofeedback/cue"]] == ["reward", "paused"]
    assert msgs["/biofeedback/threshold"][0][0] == pytest.approx(0.9)


def test_osc_to_a_port_nobody_answers_never_stalls():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port surely closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = OscCue(OscConfig(port=port))
    sink.open()
    for i in range(2000):  # ICMP refusals come back; sends neither raise nor wait
        sink.cue(_cue(i * 0.25))
    sink.close()
    assert sink.n_sent + sink.n_failed == 8000


def test_osc_host_that_cannot_be_resolved_fails_at_open():
    sink = OscCue(OscConfig(host="no-such-host.invalid"))
    with pytest.raises(OSError, match="cannot be resolved"):
        sink.open()


def _dominant(x, sfreq):
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / sfreq)[np.argmax(spec)]


def test_wav_pitch_follows_the_score(tmp_path):
    cfg = AudioConfig(wav=str(tmp_path / "cues.wav"), live=False)
    sink = AudioCue(cfg)

    sink.open(_info(realtime=False))
    for i in range(8):  # 2 s at score 0.2, then 2 s at score 0.8
        sink.cue(_cue(i * 0.5, score=0.2 if i < 4 else 0.8))
    sink.close()
    with wave.open(str(tmp_path / "cues.wav")) as w:
        assert w.getframerate() == cfg.sfreq and w.getnchannels() == 1
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767
    assert audio.size == 4 * cfg.sfreq
    sr = cfg.sfreq
    low, high = _dominant(audio[: 2 * sr], sr), _dominant(audio[2 * sr :], sr)
    assert low == pytest.approx(220 * 4**0.2, abs=2)
    assert high == pytest.approx(220 * 4**0.8, abs=2)


def test_tone_is_loud_when_rewarded_and_silent_without_feedback():
    times = np.arange(6) * 0.5
    audio = render_tone(times, [440] * 6, [1.0, 1.0, 0.25, 0.25, 0.0, 0.0], 8000)
    seg = audio.reshape(3, -1)
    rms = np.sqrt((seg[:, 800:-800] ** 2).mean(axis=1))
    assert rms[0] > 3 * rms[1] > 0 and rms[2] == 0


def test_live_audio_without_a_device_degrades_to_a_warning(tmp_path, caplog):
    sink = AudioCue(AudioConfig(wav=str(tmp_path / "a.wav"), live=True))

    with caplog.at_level("WARNING", logger="biofeedback"):
        sink.open(_info(realtime=True))
    if sink._stream is not None:  # pragma: no cover - a machine with a sound card
        sink.close()
        pytest.skip("this machine can play audio")
    assert "not played" in caplog.text and "a.wav" in caplog.text
    sink.cue(_cue(0.0))
    sink.cue(_cue(0.5))
    sink.close()
    assert (tmp_path / "a.wav").exists()


def test_write_wav_clips(tmp_path):
    path = write_wav(tmp_path / "x.wav", np.array([2.0, -2.0, 0.0]), 8000)
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(3), "<i2")
    assert pcm.tolist() == [32767, -32767, 0]


_BLOCKS = """
[feedback]
target = "engagement"

[[feedback.blocks]]
name = "rest"
kind = "baseline"
duration = 10.0

[[feedback.blocks]]
name = "train"
duration = 20.0
{extra}
"""


def _pipeline(tmp_path, extra):
    path = tmp_path / "p.toml"
    path.write_text(_BLOCKS.format(extra=extra))
    return path


@pytest.mark.parametrize("extra, match", [
    ("duraton = 5.0", r"line 13 \[feedback.blocks #2\]: unknown key 'duraton'"),
    ("instructions = 3", r"line 13 \[feedback.blocks #2\] instructions must be a string"),
    ('kind = "trainig"', r"\[feedback.blocks #2\]: .*'kind' parameter.*'trainig'"),
    ('direction = "sideways"', r"\[feedback.blocks #2\]: .*'direction' parameter"),
])
def test_protocol_typos_name_the_file_and_field(tmp_path, extra, match):
    path = _pipeline(tmp_path, extra)
    with pytest.raises(PipelineConfigError, match=match) as err:
        load_pipeline(path)
    assert str(path) in str(err.value)


def test_unknown_target_names_line_and_field(tmp_path):
    from biofeedback.live import feedback_sinks

    path = _pipeline(tmp_path, 'target = "engagment"')
    config = load_pipeline(path)
    with pytest.raises(PipelineConfigError, match=r"line 13 \[feedback.blocks #2\] "
                                                  r"target: unknown estimate 'engagment'"):
        feedback_sinks(config)
    path = _pipeline(tmp_path, 'target = "p_concentrating"')
    with pytest.raises(PipelineConfigError, match="need --model"):
        feedback_sinks(load_pipeline(path))

    # with a model, class probabilities are targets
    (sink,) = feedback_sinks(load_pipeline(path), has_model=True, terminal=False)
    assert sink.terminal is False


def test_default_pipeline_runs_a_baseline_and_two_training_blocks():
    fb = load_pipeline().feedback
    assert [b.kind for b in fb.blocks] == ["baseline", "training", "training"]
    assert fb.osc.host == "127.0.0.1" and fb.end == "stop"
    assert sum(b.duration for b in fb.blocks) <= 120


def test_plain_view_shows_no_cue_in_a_transfer_block():
    """A transfer block's cues are recorded, never shown: outside a terminal too."""
    import io
    from types import SimpleNamespace

    from biofeedback.feedback._terminal import TerminalView

    lines = {}
    for kind in ("training", "transfer"):
        cue = SimpleNamespace(kind=kind, block=kind, state="reward", score=0.9, t_end=1.0)
        cue.direction, cue.target = "up", "engagement"
        running = SimpleNamespace(latest=cue, current=None, time_left=lambda t: 10.0)
        protocol = SimpleNamespace(terminal=True, protocol=running)
        out = io.StringIO()
        view = TerminalView(stream=out, color=False)
        view.open(SimpleNamespace(estimate_names=["engagement"], ch_names=["Fz"],
                                  sfreq=250.0, profile=SimpleNamespace(name="synthetic"),
                                  protocol=protocol))
        view.write(SimpleNamespace(index=0, t_end=1.0, estimates=np.array([1.0]),
                                   gated=False, quality=np.zeros(1, dtype=np.int64)))
        lines[kind] = out.getvalue()
    assert "[training] cue=reward score=0.90" in lines["training"]
    assert lines["transfer"].rstrip().endswith("[transfer] transfer: no feedback")
    assert "reward" not in lines["transfer"] and "score" not in lines["transfer"]


def _screen(text):
    """The rows a terminal shows after ``text``: a newline, ``ESC[nF`` (n rows
    up, to the first column), ``ESC[2K`` (clear the row), ``ESC[J`` (clear to
    the end of the screen); colours are dropped."""
    import re

    rows, at = [""], 0
    for part in re.split(r"(\x1b\[[0-9;]*[A-Za-z]|\n)", text):
        if part == "\n":
            at += 1
            rows += [""] * (at + 1 - len(rows))
        elif part.startswith("\x1b["):
            code, arg = part[-1], part[2:-1]
            if code == "F":
                at = max(0, at - int(arg or 1))
            elif code == "K":
                rows[at] = ""
            elif code == "J":
                del rows[at + 1:]
                rows[at] = ""
        elif part:
            rows[at] += part
    return [row for row in rows if row]


def test_a_warning_logged_under_the_in_place_view_stays_above_it(caplog):
    """The view in place moves up as many rows as it drew, then draws again: a
    warning logged between two redraws ("LSL stream lost", a flat channel)
    was written over at once, and the view's first row was left behind."""
    import io
    import logging
    from types import SimpleNamespace

    from biofeedback.feedback._terminal import TerminalView

    out = io.StringIO()
    handler = logging.StreamHandler(out)  # the terminal's stderr: the view's rows too
    logging.getLogger().addHandler(handler)
    log = logging.getLogger("biofeedback")
    try:
        view = TerminalView(stream=out, color=True, columns=120)
        view.open(SimpleNamespace(estimate_names=["engagement"], ch_names=["Fz"],
                                  sfreq=250.0, profile=SimpleNamespace(name="synthetic"),
                                  protocol=None))

        def window(i):
            view.write(SimpleNamespace(index=i, t_end=float(i), estimates=np.array([i + 1.0]),
                                       gated=False, quality=np.zeros(1, dtype=np.int64)))

        window(0)
        with caplog.at_level("WARNING", logger="biofeedback"):
            log.warning("LSL stream X lost; waiting for it to return.")
            window(1)
            window(2)
            log.warning("LSL stream X is back after 2.00 s.")
            window(3)
        view.close()
        log.warning("The session stops.")  # the view is gone: nothing cleared
    finally:
        logging.getLogger().removeHandler(handler)
    rows = _screen(out.getvalue())
    assert rows[:2] == ["LSL stream X lost; waiting for it to return.",
                        "LSL stream X is back after 2.00 s."]
    assert sum(r.startswith("biofeedback · synthetic") for r in rows) == 1, rows
    assert rows[2] == "biofeedback · synthetic · 00:00 · 250 Hz · windows 4 · dropped 0"
    assert rows[3] == "window ends t=3.000  clean"
    assert rows[-1] == "The session stops."
    # drawn from the dispatcher's thread while the session's thread logs: a log
    # line written between the view's clearing and its next frame was drawn over
    import threading

    out.seek(0)
    out.truncate()
    logging.getLogger().addHandler(handler)
    try:
        view.open(view.info)
        drawer = threading.Thread(target=lambda: [window(i) for i in range(300)])
        drawer.start()
        for k in range(30):
            log.warning("warning %d", k)
        drawer.join()
        view.close()
    finally:
        logging.getLogger().removeHandler(handler)
    rows = _screen(out.getvalue())
    assert [r for r in rows if r.startswith("warning ")] == [f"warning {k}" for k in range(30)]
    assert sum(r.startswith("biofeedback · synthetic") for r in rows) <= 1, rows
    # stderr sent to a file (2> log.txt): its lines never reach the screen, and
    # the view is not cleared for them
    out.seek(0)
    out.truncate()
    to_file = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(to_file)
    try:
        view.open(view.info)
        window(0)
        log.warning("into the file")
        window(1)
        view.close()
    finally:
        logging.getLogger().removeHandler(to_file)
    assert "\x1b[J" not in out.getvalue()
    assert to_file.stream.getvalue() == "into the file\n"


@pytest.mark.slow
@pytest.mark.lsl
def test_the_in_place_view_never_wraps_in_an_80_column_terminal():
    """`biofeedback live` in a real 80x24 terminal (a pty): no line reaches the
    last column, so the redraw (one row up per line) stays in place. The
    default protocol's block line is 88 characters. The width is the
    terminal's, whatever a shell exported as COLUMNS before the window was
    narrowed."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import subprocess
    import sys
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "live", "--duration", "3",
                             "--no-record"], stdin=child_fd, stdout=child_fd, stderr=child_fd,
                            start_new_session=True, env=dict(os.environ, COLUMNS="200"))
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(60) == 0
    os.close(main_fd)
    screen = b"".join(chunks).decode("utf-8", "replace")
    frames = screen.split("\x1b[2Kbiofeedback · ")  # the view's head line, once a window
    assert len(frames) > 3, screen
    view = "".join(frames[1:-1])
    rows = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", view).replace("\r", "").split("\n")
    assert any(row.startswith("  block baseline") for row in rows)
    assert max(len(row) for row in rows) < 80, max(rows, key=len)
