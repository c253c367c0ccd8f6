"""Drops between reads judged over a short horizon, not from one step of the stamps.

Senders that stamp a chunk when they push it (muse-lsl with ``time.time()``,
OpenBCI GUI, scripts) stamp a late push late: its first sample steps forward
by the lateness, and the next chunk, pushed on time, steps back again. A rule
on each step alone counts that lateness as lost samples (189 of them in 15 s
of a lossless muse-lsl stream pushed late a third of the time by about
15 ms). A real loss moves every later stamp for good; lateness does not.

So each sample's stamp is compared with where its index puts it,
``u = t - index / sfreq``. Pushes that are on time give the smallest ``u``
(lateness only ever adds), so the lower envelope of ``u`` over ``horizon``
seconds before a step and over ``horizon`` seconds after it differ by the
samples really missing. A step is judged once the stamps have gone
``horizon`` past it: a drop the step puts at ``n`` samples is confirmed when
at least half of them are missing in that comparison, and reported with the
comparison's count (the step's own count is off by the lateness of the
pushes on either side). A sender stamping each sample exactly gives the same
counts as the step alone, ``horizon`` seconds later.

An outage (the stream silent for a while) is judged the same way, and always
answered: a sender that stamps each sample as it pushes it and pushes a
backlog after a stall shows a step as long as the stall followed by a burst
of samples with nearly one stamp. The burst brings ``u`` back down to where
it was before the step when it holds the samples the step said were
missing; only what it does not bring back was lost. A backlog drained over
longer (packets pushed faster than the rate until they catch up) brings
``u`` down bit by bit: the judgment waits until it stops falling. The same
holds for a silence inside one read (the reader was slow): the stamps before
it are fed first, as a read of their own.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class DropJudge:
    """Confirm or dismiss the drops one step of the timestamps suggests.

    Parameters
    ----------
    sfreq : float
        Nominal rate in Hz.
    horizon : float
        Seconds of stamps looked at on each side of a step. After a step
        between two reads, at least three reads' worth (the median span of
        the last reads): a sender pushing long chunks (half a second of
        samples at a time) sends the chunk that comes back in line after a
        late push only that long after it (two pushes late in a row are
        lateness too).
    """

    def __init__(self, sfreq, horizon=0.25):
        self.sfreq = float(sfreq)
        self.horizon = float(horizon)
        self.reset()

    def reset(self) -> None:
        """Forget the history."""
        self._count = 0
        self._recent = deque()  # (last stamp of a read, smallest u of that read)
        self._pending = []  # dicts: t (stamp before the step), n, until, u_after
        self._moved = -np.inf  # stamp after which u moved for good (a loss, an outage)
        self._spans = deque(maxlen=8)  # seconds of samples in each of the last reads

    def boundary(self, t) -> None:
        """An outage after stamp ``t`` (counted apart): no window before reaches across it."""
        self._moved = max(self._moved, t)

    def candidate(self, t_before, n) -> None:
        """A step after ``t_before`` suggests ``n`` missing samples; judge it later."""
        self._pending.append({"t": t_before, "n": int(n), "until": t_before + self._after(),
                              "u_after": np.inf})

    def _after(self) -> float:
        """Seconds of stamps judged after a step between reads: ``horizon``, or
        three reads' worth when longer."""
        reads = 3.0 * float(np.median(self._spans)) if self._spans else 0.0
        return max(self.horizon, reads)

    def silence(self, t_before, t_after, n, slack) -> None:
        """The stream was silent after stamp ``t_before`` and is back with
        ``t_after``, a step that suggests ``n`` missing samples; judged once the
        stamps have gone ``horizon`` past ``t_after``. Up to ``slack`` samples
        missing (a packet or two pushed late) are none. Call before
        :meth:`feed` of the read that ends the silence (the window before the
        step is taken now: the silence may be longer than the history kept).
        """
        self._pending.append({"t": t_before, "n": int(n), "until": t_after + self.horizon,
                              "u_after": np.inf, "u_before": self._envelope(t_before),
                              "back": t_after, "slack": slack, "u_mark": np.inf,
                              "cap": t_after + max(self.horizon, 2 * (t_after - t_before))})

    def feed(self, ts) -> list:
        """Stamps of one read (after any :meth:`candidate` or :meth:`silence` for
        its first step).

        Returns
        -------
        judged : list of (str, float, int)
            ``("dropped", t, n)``: the stamp before a confirmed drop and its
            sample count; ``("reconnected", t, n)``: the first stamp after a
            :meth:`silence` and the samples missing (0 for a stall).
        """
        n = len(ts)
        u = ts - (self._count + np.arange(n)) / self.sfreq
        self._count += n
        self._spans.append(n / self.sfreq)
        self._recent.append((float(ts[-1]), float(u.min())))
        # kept until the steps after them are judged
        oldest = ts[-1] - 3 * self._after()  # (a median: once a read, not once a pop)
        while self._recent and self._recent[0][0] < oldest:
            self._recent.popleft()
        out, keep = [], []
        for p in self._pending:  # in the order of their steps
            if "back" in p:
                self._follow_backlog(p, ts, u)
            within = (ts > p["t"]) & (ts <= p["until"])
            if within.any():
                p["u_after"] = min(p["u_after"], float(u[within].min()))
            if ts[-1] < p["until"]:
                keep.append(p)
                continue
            out.extend(self._judge(p))
        self._pending = keep
        return out

    def _follow_backlog(self, p, ts, u) -> None:
        """After a silence, wait while ``u`` keeps falling: a backlog drained
        faster than the rate, over longer than ``horizon`` (packets pushed at
        twice the rate after a 1.5 s stall take 1.5 s to catch up), brings its
        samples in bit by bit. Each fall of a period or more moves the judgment
        to ``horizon`` after it; never past ``cap`` (twice the silence after
        it), so a sender a little fast does not keep it waiting for ever.
        """
        for k in np.flatnonzero(ts > p["t"]):
            if ts[k] > p["until"]:
                break
            if u[k] < p["u_mark"] - 1.0 / self.sfreq:
                p["u_mark"] = float(u[k])
                p["until"] = min(max(p["until"], float(ts[k]) + self.horizon), p["cap"])

    def flush(self) -> list:
        """Judge the steps still pending when the stamps end (the stream is closed).

        Their span after the step is cut short: what came after it is compared,
        as :meth:`feed` compares a whole span. Returns what :meth:`feed` returns.
        """
        out = []
        for p in self._pending:
            out.extend(self._judge(p))
        self._pending = []
        return out

    def _envelope(self, t):
        """The lowest ``u`` of the reads up to stamp ``t``: over ``horizon``
        before it, from the last loss confirmed before it on (u moved there)."""
        since = max(t - self.horizon, self._moved)
        return min((v for s, v in self._recent if since < s <= t), default=None)

    def _judge(self, p) -> list:
        u_before = p["u_before"] if "back" in p else self._envelope(p["t"])
        if u_before is None or not np.isfinite(p["u_after"]):
            missing = p["n"]  # nothing to compare with: the step decides
        else:  # a real loss moves u up by n periods for good; lateness does not
            missing = round((p["u_after"] - u_before) * self.sfreq)
        if "back" in p:  # an outage: always answered
            missing = min(max(int(missing), 0), p["n"])
            if missing <= p["slack"]:
                missing = 0
            else:
                self._moved = max(self._moved, p["t"])
            return [("reconnected", p["back"], missing)]
        if missing >= max(p["n"] / 2, 1):
            self._moved = max(self._moved, p["t"])
            return [("dropped", p["t"], int(missing))]
        return []
