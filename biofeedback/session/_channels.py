"""Channels that stop giving EEG, said while a live session runs.

The quality gate flags every channel of every window, and the terminal's
dashboard view marks a flagged channel with ``✗``; but the plain view (a
line a second), a log and the summary said nothing. A flat electrode was left
out of every index for a whole session, and a stream sending NaN had its
windows gated, without a word. Each problem is now said once per channel,
in the terminal, as a ``channel_warning`` marker (recorded, given to every
sink) and in the summary and sidecar's notes with how many windows it took.
"""

from __future__ import annotations

from .._words import agree, listed
from ..quality import FLAGS

#: the problems said, in the order a channel with several is named by
_ORDER = ("nan", "railed", "flat", "bad")
#: seconds of windows a channel stays at the rail before it is said: a
#: movement rails an electrode for a moment, which flags every window holding
#: it, a window's length (2 s by default). A flat channel is one over a whole
#: window, a bad one over several (the gate's ``bad_channel_after``), and
#: NaN is never EEG: those are said at once
RAILED_AFTER = 4.0


def _note(problem: str, names: list[str]) -> str:
    """The clause that says ``problem`` of the channels ``names``."""
    chs = f"{agree(len(names), 'channel', 'channels')} {listed(names)}"
    if problem == "nan":
        return (f"the EEG holds NaN or inf samples on {chs}: windows holding them are "
                "gated (feedback pauses), and a channel that keeps sending them is left out "
                "of the indices; check what sends the EEG")
    if problem == "flat":
        return (f"{chs} {agree(len(names), 'is', 'are')} flat (the signal does not change): "
                "left out of the indices; check the electrode and its cable")
    if problem == "railed":
        return (f"{chs} {agree(len(names), 'has', 'have')} been at the rail for "
                f"{RAILED_AFTER:g} s: left out of the indices; check the electrode's contact")
    return (f"{chs} {agree(len(names), 'shows', 'show')} artifacts without a pause (a bad "
            "electrode): left out of the indices; check the electrode's contact")


class ChannelWatch:
    """Which channels have stopped giving EEG, from each window's quality flags.

    Parameters
    ----------
    ch_names : list of str
        The engine's channels, in the order of a window's ``quality``.
    """

    def __init__(self, ch_names):
        self.ch_names = list(ch_names)
        self.n_windows = 0
        self._since = {}  # channel -> (its problem, the t_end of its first window)
        self._said = {}  # problem -> [(channel, its note)] in the order said
        self._counts = {}  # (problem, channel) -> windows

    def window(self, result) -> list[str]:
        """Take one window's flags; the notes (clauses) to say now, if any."""
        self.n_windows += 1
        if not self._since and not result.quality.any():  # every channel clean, as before
            return []
        new = {}
        for k, flags in enumerate(result.quality):
            problem = next((p for p in _ORDER if int(flags) & FLAGS[p]), None)
            if problem is None:
                self._since.pop(k, None)
                continue
            self._counts[problem, k] = self._counts.get((problem, k), 0) + 1
            since = self._since.get(k)
            if since is None or since[0] != problem:
                self._since[k] = since = (problem, float(result.t_end))
            if any(ch == k for ch, _ in self._said.get(problem, ())):
                continue
            if problem != "railed" or result.t_end - since[1] >= RAILED_AFTER - 1e-9:
                new.setdefault(problem, []).append(k)
        notes = []
        for problem, chans in new.items():
            note = _note(problem, [self.ch_names[k] for k in chans])
            self._said.setdefault(problem, []).extend((k, note) for k in chans)
            notes.append(note)
        return notes

    def notes(self) -> list[str]:
        """The summary's lines: each note said, with the windows each channel took."""
        out = []
        for problem, said in self._said.items():
            for note in dict.fromkeys(n for _, n in said):
                counts = [(self.ch_names[k], self._counts[problem, k])
                          for k, n in said if n == note]
                if len({c for _, c in counts}) == 1:  # (a stream's NaN: every channel alike)
                    each = " each" if len(counts) > 1 else ""
                    took = f"{counts[0][1]} of {self.n_windows} windows{each}"
                else:
                    took = (f"windows: {listed(f'{ch} {c}' for ch, c in counts)} of "
                            f"{self.n_windows}")
                out.append(f"warning: {note} ({took})")
        return out
