"""Cue sinks: audio (tone, WAV) and OSC. One interface, none may block.

A cue sink receives, on the processing thread, every
:class:`~biofeedback.feedback._policy.Cue` (``cue``) and every protocol marker
(``marker``); it must return in microseconds: OSC sends UDP datagrams on a
non-blocking socket, the audio sink only records the cue (a player thread, if
any, reads the newest one; the WAV is rendered at the end).
"""

from __future__ import annotations

import math
import socket
import threading
from pathlib import Path

import numpy as np

from .._checks import _import_optional
from .._logging import logger
from .._markers import BLOCK_START
from ..errors import MissingDependencyError
from ..session._sink import Sink
from ._policy import parse_marker

__all__ = ["CueSink", "AudioCue", "OscCue", "render_tone"]


class CueSink(Sink):
    """A sink that turns cues into something a person perceives.

    A cue sink is a :class:`~biofeedback.session.Sink` (same ``open``,
    ``close``, ``summary_lines``, same fault isolation: one that raises is
    switched off and named, feedback goes on) driven by the protocol sink
    rather than the session: it gets every cue and protocol marker on the
    processing thread and must never block.
    """

    name = "cue"
    lossless = True

    def cue(self, cue) -> None:
        """Show one :class:`~biofeedback.feedback._policy.Cue` (must not block)."""

    def marker(self, text: str, t_end: float) -> None:
        """A protocol marker (block start/end, threshold set)."""

    def describe(self) -> dict:
        """JSON-ready settings and counts (the sidecar's ``feedback.cue_sinks``)."""
        return {}


# -- audio ----------------------------------------------------------------------------

def cue_tone(cue, config) -> tuple[float, float]:
    """(frequency Hz, amplitude 0-1) of the tone for a cue.

    Pitch follows the score on a log scale from ``low_hz`` (score 0) to
    ``high_hz`` (score 1); the tone is loud while rewarded, soft otherwise and
    silent when there is no feedback (baseline, calibrating, paused).
    """
    score = cue.score if math.isfinite(cue.score) else 0.5
    freq = config.low_hz * (config.high_hz / config.low_hz) ** score
    if cue.state == "reward":
        amp = config.volume * config.reward_volume
    elif cue.state == "no_reward":
        amp = config.volume * config.no_reward_volume
    else:
        amp = 0.0
    return float(freq), float(amp)


def render_tone(times, freqs, amps, sfreq=22050, ramp=0.01) -> np.ndarray:
    """Synthesize the cue tone: each cue's pitch and loudness until the next.

    Parameters
    ----------
    times : array, shape (n_cues,)
        Cue times (s); the tone starts at ``times[0]``.
    freqs, amps : array, shape (n_cues,)
        Frequency (Hz) and amplitude (0-1) of each cue.
    sfreq : int
        Audio sampling rate (Hz).
    ramp : float
        Amplitude changes are smoothed over this many seconds (no clicks).

    Returns
    -------
    audio : ndarray, shape (n_samples,)
        Float samples in [-1, 1]; phase-continuous across pitch changes.
    """
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return np.zeros(0)
    steps = np.diff(times)
    last = float(np.median(steps)) if steps.size else 0.5
    edges = np.concatenate([times - times[0], [times[-1] - times[0] + last]])
    idx = np.round(edges * sfreq).astype(int)
    n = int(idx[-1])
    f = np.zeros(n)
    a = np.zeros(n)
    hold = max(3 * last, 1.0)  # a long hole in the cues is silence
    for i in range(times.size):
        stop = min(idx[i + 1], idx[i] + int(hold * sfreq))
        f[idx[i] : idx[i + 1]] = freqs[i]
        a[idx[i] : stop] = amps[i]
    k = max(int(ramp * sfreq), 1)
    a = np.convolve(a, np.ones(k) / k, mode="same")
    phase = 2 * np.pi * np.cumsum(f) / sfreq
    return np.clip(a * np.sin(phase), -1.0, 1.0)


def write_wav(fname, audio, sfreq) -> Path:
    """16-bit mono WAV with the standard library's ``wave``."""
    import wave

    from .._outputs import atomic_output

    fname = Path(fname)
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
    with atomic_output(fname) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sfreq))
        w.writeframes(pcm.tobytes())
    return fname


class AudioCue(CueSink):
    """A tone whose pitch follows the score; rendered to WAV, played if possible.

    Parameters
    ----------
    config : AudioConfig
        ``[feedback.audio]``.

    Notes
    -----
    Live playback needs ``sounddevice`` (``pip install "biofeedback[audio]"``);
    without it, or without a sound card, the sink logs one warning naming the
    extra and keeps recording the cues for the WAV file.
    """

    name = "audio"

    def __init__(self, config):
        self.config = config
        self._times, self._freqs, self._amps = [], [], []
        self._current = (config.low_hz, 0.0)
        self._stream = None
        self.wav_path = None
        self.live_error = None

    def open(self, info):
        wav = self.config.wav
        rec = info.recording
        if wav == "auto":
            self.wav_path = (Path(rec).with_suffix(".cues.wav") if rec is not None else None)
            if self.wav_path is None:
                logger.warning('[feedback.audio] wav = "auto" needs a recording; no WAV '
                               "is written.")
        elif wav:
            self.wav_path = Path(wav)
        if self.config.live and info.realtime:
            self._start_live()

    def _start_live(self):
        try:
            sd = _import_optional("sounddevice", "audio", "live audio playback")
        except MissingDependencyError as err:
            self.live_error = str(err).rstrip(".")
        else:
            try:
                self._phase = 0.0
                sr = self.config.sfreq

                def callback(out, frames, _time, _status):
                    f, a = self._current
                    ph = self._phase + 2 * np.pi * f * np.arange(1, frames + 1) / sr
                    out[:, 0] = a * np.sin(ph)
                    self._phase = float(ph[-1] % (2 * np.pi))

                self._stream = sd.OutputStream(samplerate=sr, channels=1, callback=callback)
                self._stream.start()
            except Exception as err:  # no device, busy device, no PortAudio
                self._stream = None
                self.live_error = f"No audio output ({err})"
        if self.live_error:
            where = f"; the cues still go to {self.wav_path}" if self.wav_path else ""
            logger.warning("Audio cues are not played. %s%s.", self.live_error, where)

    def cue(self, cue):
        freq, amp = cue_tone(cue, self.config)
        self._current = (freq, amp)
        self._times.append(cue.t_end)
        self._freqs.append(freq)
        self._amps.append(amp)

    def render(self) -> np.ndarray:
        """The whole session's cue tone (float samples)."""
        return render_tone(self._times, self._freqs, self._amps, self.config.sfreq)

    def close(self):
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # pragma: no cover - device vanished
                pass
        if self.wav_path is not None and self._times:
            write_wav(self.wav_path, self.render(), self.config.sfreq)

    def describe(self):
        return {"mapping": "pitch log-scaled from low_hz (score 0) to high_hz (score 1); "
                "loud while rewarded, soft otherwise, silent without feedback",
                "low_hz": self.config.low_hz, "high_hz": self.config.high_hz,
                "wav": str(self.wav_path) if self.wav_path else None,
                "live": self._stream is not None, "live_error": self.live_error}

    def summary_lines(self):
        if self.wav_path is not None and self._times:
            return [f"audio cues: {self.wav_path}"]
        return []


# -- OSC --------------------------------------------------------------------------------

class OscCue(CueSink):
    """Send every cue and block as OSC messages over UDP (never waits).

    Messages (``prefix`` defaults to ``/biofeedback``): ``/score`` float in
    [0, 1] (-1 without feedback), ``/cue`` state string, ``/value`` the
    smoothed estimate, ``/threshold``; at block changes ``/block`` with name,
    kind, target and direction, and ``/marker`` with each protocol marker.

    Parameters
    ----------
    config : OscConfig
        ``[feedback.osc]``: host (default 127.0.0.1) and port.
    """

    name = "osc"

    def __init__(self, config):
        self.config = config
        self.n_sent = 0
        self.n_failed = 0
        self._client = None
        self._lock = threading.Lock()

    def open(self, info=None):
        udp = _import_optional("pythonosc.udp_client", "osc", "the OSC cue sink", "python-osc")

        # resolve once here: a name lookup per message could block the loop
        try:
            addr = socket.getaddrinfo(self.config.host, self.config.port,
                                      type=socket.SOCK_DGRAM)[0][4][0]
        except OSError as err:
            raise OSError(f"OSC host {self.config.host!r} cannot be resolved ({err})") from None
        self._client = udp.SimpleUDPClient(addr, self.config.port)

    def _send(self, path, value):
        try:
            self._client.send_message(self.config.prefix + path, value)
            self.n_sent += 1
        except OSError:  # full buffer, ICMP refusal: drop, never wait
            self.n_failed += 1

    def cue(self, cue):
        score = cue.score if math.isfinite(cue.score) else -1.0
        self._send("/score", float(score))
        self._send("/cue", cue.state)
        self._send("/value", float(cue.smoothed) if math.isfinite(cue.smoothed) else 0.0)
        self._send("/threshold", float(cue.threshold) if math.isfinite(cue.threshold) else 0.0)

    def marker(self, text, t_end):
        kind, fields = parse_marker(text)
        if kind == BLOCK_START:
            self._send("/block", [fields.get("name", ""), fields.get("kind", ""),
                                  fields.get("target", ""), fields.get("direction", "")])
        self._send("/marker", text)

    def close(self):
        if self._client is not None:
            try:
                self._client._sock.close()
            except Exception:  # pragma: no cover
                pass
            self._client = None

    def describe(self):
        return {"host": self.config.host, "port": self.config.port,
                "prefix": self.config.prefix, "sent": self.n_sent, "failed": self.n_failed}

    def summary_lines(self):
        line = (f"osc: {self.n_sent} messages to {self.config.host}:{self.config.port}")
        if self.n_failed:
            line += f" ({self.n_failed} could not be sent)"
        return [line]
