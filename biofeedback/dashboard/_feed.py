"""What the page shows, as JSON messages: traces, spectra, windows, cues, status.

:class:`DisplayFeed` turns raw chunks into decimated filtered traces (the
session's own causal filters, :func:`biofeedback.preprocessing.build_preprocessing`)
and per-channel spectra (:func:`biofeedback.features.welch_psd`). The other
functions build one message each from the engine's and the protocol's objects.
Times in messages are seconds since the session's start (``t``) and, for the
page's latency figures, wall-clock seconds (``tw``) of the newest sample.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..quality import FLAGS

__all__ = ["DisplayFeed", "quality_classes", "head_positions", "window_message",
           "cue_message", "meta_message", "wall_offset", "history_message"]

#: Quality classes the head map colours, from the engine's per-channel flags.
_CLASS_BITS = [
    ("railed", FLAGS["railed"]),
    ("flat", FLAGS["flat"] | FLAGS["nan"]),
    ("noisy", FLAGS["line_noise"] | FLAGS["muscle"] | FLAGS["bad"]),
    ("artifact", FLAGS["amplitude"] | FLAGS["blink"] | FLAGS["near_railed"]),
]


def quality_classes(flags) -> list[str]:
    """One of "clean", "artifact", "railed", "flat", "noisy" per channel.

    The worst class wins: railed, then flat (or non-finite), then persistent
    noise (mains, muscle, a bad electrode) before transient artifacts.
    """
    out = []
    for f in np.asarray(flags, dtype=np.int64).tolist():
        out.append(next((name for name, bits in _CLASS_BITS if f & bits), "clean"))
    return out


def wall_offset() -> float:
    """Wall-clock seconds minus LSL-clock seconds, now."""
    from ..stream._clock import lsl_clock

    return time.time() - lsl_clock()


_MONTAGE = None


def head_positions(ch_names) -> list:
    """Each channel's place on a top view of the head, ``[x, y]`` in [-1, 1] or None.

    Positions come from MNE's standard 10-05 montage (which holds every 10-20
    name), projected azimuthally so that the vertex is the centre and the
    ring through Fpz, T7, Oz and T8 has radius 0.8. Names the montage does not
    know get None (the page lists them beside the head).
    """
    global _MONTAGE
    if _MONTAGE is None:
        import mne

        # the 10-05 template is "colin27_1005" from MNE 1.13 ("standard_1005" before)
        names = mne.channels.get_builtin_montages()
        mont = mne.channels.make_standard_montage(
            "colin27_1005" if "colin27_1005" in names else "standard_1005")
        pos = mont.get_positions()["ch_pos"]
        _MONTAGE = {k.lower(): np.asarray(v, dtype=float) for k, v in pos.items()}
    out = []
    for ch in ch_names:
        p = _MONTAGE.get(str(ch).lower())
        if p is None:
            out.append(None)
            continue
        # spherical head centred near the origin: polar angle from the vertex
        x, y, z = p - np.array([0.0, -0.017, 0.0])
        r = math.sqrt(x * x + y * y + z * z) or 1.0
        theta = math.acos(max(-1.0, min(1.0, z / r)))
        phi = math.atan2(y, x)
        rad = 0.8 * theta / (math.pi / 2)
        out.append([round(rad * math.cos(phi), 4), round(rad * math.sin(phi), 4)])
    return out


class DisplayFeed:
    """Raw chunks in; trace and spectrum messages out.

    Parameters
    ----------
    ch_names : list of str
    sfreq : float
    profile : BoardProfile
        Mains frequency for the notch.
    preprocessing : PreprocessingConfig
        The session's filters (the page shows what the engine reads).
    display_rate : float
        Target samples per second per channel on the page; the filtered
        signal is decimated by ``round(sfreq / display_rate)`` after the
        low-pass, so nothing aliases.
    spectrum_every : float
        Seconds between spectra.
    spectrum_seconds : float
        Seconds of raw signal per spectrum (Welch, 1 s Hann segments).
    fmax : float
        Highest frequency shown in the spectrum.
    """

    def __init__(self, ch_names, sfreq, profile, preprocessing, display_rate=125.0,
                 spectrum_every=0.5, spectrum_seconds=2.0, fmax=70.0, t0=None):
        from ..preprocessing import build_preprocessing

        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.decim = max(1, int(round(self.sfreq / display_rate)))
        self.display_rate = self.sfreq / self.decim
        self.filters = build_preprocessing(preprocessing, self.sfreq, len(self.ch_names),
                                           profile.line_freq,
                                           ch_names=self.ch_names)
        self.spectrum_every = float(spectrum_every)
        self.n_spec = int(round(spectrum_seconds * self.sfreq))
        self.fmax = min(float(fmax), self.sfreq / 2)
        self._spec_buf = np.zeros((len(self.ch_names), self.n_spec))
        self._spec_fill = 0
        self._last_spec = -math.inf
        self._count = 0  # samples since the start (decimation phase)
        self._last_ts = None
        self.t0 = t0
        self.offset = wall_offset()
        self.n_samples = 0
        self._rate_t = None
        self._rate_n = 0
        self.effective_rate = math.nan

    def push(self, data, ts) -> list[dict]:
        """Feed raw samples (volts); returns the messages to publish."""
        data = np.ascontiguousarray(data, dtype=np.float64)
        ts = np.asarray(ts, dtype=np.float64)
        n = ts.size
        if n == 0:
            return []
        if self.t0 is None:
            self.t0 = float(ts[0])
        if self._rate_t is None:
            self._rate_t = float(ts[0])
        if self._last_ts is not None and ts[0] - self._last_ts > 0.25:
            self.filters.reset()  # a gap: the engine restarts its filters too
        self._last_ts = float(ts[-1])
        held = np.where(np.isfinite(data), data, 0.0)
        filt, _ = self.filters.process(held, ts)
        self.n_samples += n
        self._rate_n += n
        span = ts[-1] - self._rate_t
        if span >= 2.0:
            self.effective_rate = (self._rate_n - 1) / span if self._rate_n > 1 else math.nan
            self._rate_t, self._rate_n = float(ts[-1]), 1
        # decimate on a grid that does not depend on the chunking
        first = (-self._count) % self.decim
        idx = np.arange(first, n, self.decim)
        self._count += n
        out = []
        if idx.size:
            out.append({
                "type": "trace",
                "t": np.round(ts[idx] - self.t0, 4).tolist(),
                "y": np.round(filt[:, idx] * 1e6, 2).tolist(),
                "tw": float(ts[-1] + self.offset),
            })
        self._push_spectrum(held)
        if ts[-1] - self._last_spec >= self.spectrum_every and self._spec_fill >= self.n_spec:
            self._last_spec = float(ts[-1])
            out.append(self.spectrum())
        return out

    def _push_spectrum(self, raw):
        n = raw.shape[1]
        if n >= self.n_spec:
            self._spec_buf[:] = raw[:, -self.n_spec:]
        else:
            self._spec_buf[:, :-n] = self._spec_buf[:, n:]
            self._spec_buf[:, -n:] = raw
        self._spec_fill = min(self.n_spec, self._spec_fill + n)

    def spectrum(self) -> dict:
        """Welch spectrum of the last seconds of raw signal, log10 µV²/Hz."""
        from ..features import welch_psd

        nper = min(self.n_spec, int(round(self.sfreq)))
        freqs, psd = welch_psd(self._spec_buf, self.sfreq, nper, nper // 2, fmin=1.0,
                               fmax=self.fmax + 1e-9)
        logp = np.log10(np.maximum(psd * 1e12, 1e-6))
        return {"type": "spectrum", "f": np.round(freqs, 3).tolist(),
                "p": np.round(logp, 3).tolist()}


def meta_message(*, title, ch_names, sfreq, profile, estimate_names, source=None,
                 session_id="", display_rate=125.0, controls=(), trace_seconds=5.0,
                 mode="live") -> dict:
    """Everything static about the session (the page builds itself from it)."""
    return {
        "type": "meta", "title": title, "session_id": session_id, "mode": mode,
        "ch_names": list(ch_names), "positions": head_positions(ch_names),
        "sfreq": float(sfreq), "display_rate": float(display_rate),
        "profile": profile.name,
        "line_freq": float(profile.line_freq),
        "estimates": list(estimate_names), "source": source or {},
        "controls": list(controls), "trace_seconds": float(trace_seconds),
    }


def window_message(t_end, estimates, gated, quality, *, t0, offset, estimate_names) -> dict:
    """One window: every estimate, the gate and each channel's quality class."""
    est = np.asarray(estimates, dtype=float)
    return {
        "type": "window", "t": float(t_end - t0), "tw": float(t_end + offset),
        "sent": time.time(),
        "est": {n: float(v) for n, v in zip(estimate_names, est, strict=False)},
        "gated": bool(gated),
        "flags": [int(f) for f in np.asarray(quality, dtype=np.int64)] if quality is not None
        else None,
        "q": quality_classes(quality) if quality is not None else None,
    }


def cue_message(*, block, kind, state, target, direction, value, threshold, score,
                instructions="", time_left=math.nan, duration=math.nan, block_index=-1,
                n_blocks=0, thresholds=None) -> dict:
    """The protocol's state: block, instructions, time left, cue and thresholds."""
    return {
        "type": "cue", "block": block, "kind": kind, "state": state, "target": target,
        "direction": direction, "value": float(value), "threshold": float(threshold),
        "score": float(score), "instructions": instructions or "",
        "time_left": float(time_left), "duration": float(duration), "block_index": int(block_index),
        "n_blocks": int(n_blocks), "thresholds": dict(thresholds or {}),
    }


def percentiles(values) -> dict:
    """p50/p99 (ms) of the last latencies in seconds, or {}."""
    if not len(values):
        return {}
    lat = np.asarray(values[-600:], dtype=float) * 1e3
    return {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
            "n": len(values)}


def history_message(participant, root=None, last=8, current=None, *, sync=False,
                    following=None) -> dict:
    """A participant's last sessions from the study index (``type: "history"``).

    Parameters
    ----------
    participant : str
        Participant ID.
    root : path-like | None
        The study root (see :func:`biofeedback.library.study_root`).
    last : int
        How many of the latest sessions to list.
    current : str | None
        The ``session_id`` of the session the page shows, when it is one of
        the participant's: it is not one of their last sessions, so it is
        left out (the index lists it as running from its start).
    sync : bool
        Index first the session folders new or changed since they were
        indexed, as ``biofeedback sessions`` does: a session running in
        another process is listed (as running), one killed since as
        interrupted.
    following : str | None
        The source id of the EEG stream the page shows (``biofeedback
        dashboard`` follows whichever session is on the network): when the
        index names that session as another participant's, ``other`` says so.

    Returns
    -------
    message : dict
        ``sessions`` holds, oldest first: session number and label (``"03"``,
        ``"pre"``: the page shows the label of one without a number), start, task, status,
        target and direction, time in target, reward rate, regulation (training
        relative to the session's baseline) and artifact share. ``empty`` is
        the sentence the page shows when it lists none, and ``command`` the
        command in it (None if none), which the page keeps on one line per word.
        A session still running has no figures yet: its ``note`` ("session 05:
        running now") is what the page shows instead (None for the others).
        ``trend`` is the sentence ``biofeedback progress`` ends with (after the
        one naming the sessions it leaves out for too little training, if any), over all
        the participant's finished sessions, not only the last ones listed:
        the slope of the trained measure per session with its 95 % interval
        and whether they are learning, or, before their third session, that
        it is too early to tell (None when they have no finished session).
        ``other`` is the sentence the page shows when the session it follows is
        another participant's (None otherwise): the history below is not that
        session's person.
    """
    from ..library import StudyError, StudyIndex, check_participant, progress

    pid = check_participant(participant)
    keys = ("session", "label", "started_at", "task", "status", "target", "direction",
            "time_in_target", "reward_rate", "regulation", "artifact_share")
    with StudyIndex(root, read_only=True) as index:  # an archived study is read in memory
        if sync:
            index.sync(patience=3.0)
        rows = [r for r in index.sessions(pid) if not current or r.get("uid") != current]
        other = _followed_elsewhere(index, pid, following) if following else None
        try:  # the running sessions, this one among them, are left out of the trend
            prog = progress(pid, index=index) if rows else None
            # the sessions left out of the trend (too little training) said with it
            trend = (" ".join(t for t in (prog["short_note"], prog["verdict"]) if t)
                     if prog else None)
        except StudyError:  # every session still running
            trend = None
    rows = rows[-int(last):]
    command = None
    if current:
        empty = f"No earlier sessions for {pid}: this is their first."
    else:
        where = f" --root {root}" if root is not None and str(root) else ""
        command = f"biofeedback live --participant {pid}{where}"
        empty = f"No sessions yet for {pid}: run {command} to record one."
    return {"type": "history", "participant": pid, "empty": empty, "command": command,
            "trend": trend, "other": other,
            "sessions": [{**{k: r.get(k) for k in keys}, "note": _running(r)} for r in rows]}


def _followed_elsewhere(index, pid, source_id) -> str | None:
    """The sentence saying that the session of the EEG stream ``source_id`` (a
    session's own: ``<name>-<session id>-eeg``) is another participant's, or
    None (theirs, or a session the index does not hold)."""
    from ..library._layout import session_name

    for r in index.sessions():
        uid = r.get("uid")
        if uid and source_id.endswith(f"-{uid}-eeg") and r.get("participant") != pid:
            who = r.get("participant")
            return (f"This page shows sub-{who}'s session {session_name(r)}, not {pid}'s, "
                    f"though the sessions below are {pid}'s: start the dashboard with "
                    f"--participant {who}, or name {pid}'s session's stream with --lsl "
                    "SOURCE_ID.")
    return None


def _running(row) -> str | None:
    """What the history says of a session still running, else None."""
    if row.get("status") != "running":
        return None
    from ..library._layout import session_name

    return f"session {session_name(row)}: running now"
