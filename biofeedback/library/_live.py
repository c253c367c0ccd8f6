"""What ``biofeedback live --participant ID`` adds to a session.

Before the session: reserve the participant's next session number and folder
(the recording's path), find the previous session's final thresholds when the
pipeline carries them, and name the participant's newest model for
``--model auto``. After it: release the folder, index the session (timed:
it must add under 50 ms to the session's end) and say, in one line, how today
compares with the participant's earlier sessions.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import NamedTuple

from .._logging import logger
from .._words import listed

__all__ = ["ModelChoice", "ProgrammeSession", "resolve_model", "trained_on"]


def _model_meta(path):
    """A model file's ``meta.json`` as a dict, or None if unreadable."""
    import zipfile

    from .._json import loads_untrusted
    from .._safezip import read_member
    from ..training._modelfile import META_LIMIT

    try:
        with zipfile.ZipFile(path) as zf:  # bounded: loading it will say why
            meta = loads_untrusted(read_member(zf, "meta.json", META_LIMIT).decode("utf-8"))
    except Exception:  # not a model file: loading it will say so in one sentence
        return None
    return meta if isinstance(meta, dict) else None


def trained_on(meta) -> str | None:
    """The board a model was trained on, as its metadata (``meta.json``,
    ``LoadedModel.meta``) names it: a profile name, or a profile file's name
    as training keeps it. Anything else (a path, spaces, control
    characters: an edited file from someone else) names no board, so nothing
    prints it as a ``--board`` to give."""
    import re

    profile = (meta or {}).get("profile")
    if isinstance(profile, str) and re.fullmatch(r"[\w.-]{1,64}", profile):
        return profile
    return None


def _model_reads(path):
    """``(ch_names, sfreq, profile)`` of a model file, from its ``meta.json``: what it
    reads and the board it was trained on (or None); None if unreadable."""
    try:
        meta = _model_meta(path)
        return [str(c) for c in meta["ch_names"]], float(meta["sfreq"]), trained_on(meta)
    except Exception:  # not a model file: loading it will say so in one sentence
        return None


class ModelChoice(NamedTuple):
    """What ``--model`` resolves to (see :func:`resolve_model`)."""

    #: the model file to load, or None
    path: str | None
    #: a sentence to print, or None
    note: str | None = None
    #: ``(file, board profile or None)`` of the model ``auto`` read to choose: the
    #: one taken or, when none fits the headset, the newest; None when it read none
    trained_on: tuple | None = None


def _fits(reads, headset) -> bool:
    names, rate, _ = reads
    return (abs(rate - headset["sfreq"]) <= 1e-6 * rate
            and set(names) <= set(headset["ch_names"]))


def resolve_model(model_arg, participant, root, headset=None):
    """``--model auto``: the participant's newest model, or None (with a note).

    Parameters
    ----------
    headset : dict | None
        ``{"board", "ch_names", "sfreq"}`` of the session's source when known
        before it starts (a board or a scenario): the newest model that reads
        those channels at that rate is taken, so a participant who changed
        headset is not handed a model trained on the other one.

    Returns
    -------
    choice : ModelChoice
        ``path``, the model file to load (``model_arg`` itself when it is not
        "auto"); ``note``, a sentence to print when "auto" took a model (naming
        it and when it was saved: the date the file records, see
        :func:`~biofeedback.library._layout.model_date`), found none, or passed
        over newer ones that do not fit the headset; ``trained_on``,
        the board the model it read to choose was trained on, so nothing
        reads its metadata again.
    """
    if model_arg != "auto":
        return ModelChoice(model_arg)
    from ._carry import describe_headset
    from ._layout import StudyError, participant_models, study_root

    if not participant:
        raise StudyError("--model auto picks the participant's newest model: it needs "
                         "--participant ID.")
    models = participant_models(root, participant)
    if not models:
        return ModelChoice(None, f"No model of participant {participant} under "
                                 f"{study_root(root) / ('sub-' + participant)} yet; this "
                                 "session runs without one.")
    if headset is None:
        return ModelChoice(str(models[0]), _picked(models[0], models, participant))
    # newest first, each meta.json read only until one fits
    newest, nr = models[0], _model_reads(models[0])
    for m in models:
        r = nr if m is newest else _model_reads(m)
        if r is None or _fits(r, headset):
            note = _picked(m, models, participant) if m is newest else (
                f"{newest.name}, the newest model of {participant}, reads "
                f"{listed(nr[0])} at {nr[1]:g} Hz, which {describe_headset(headset)} does "
                f"not give; this session uses {m.name} ({_when(m)}), the newest that fits "
                "it.")
            return ModelChoice(str(m), note, (m, r and r[2]))
    reads = f"{listed(nr[0])} at {nr[1]:g} Hz"
    said = (f"None of the {len(models)} models of {participant} fits "
            f"{describe_headset(headset)}: the newest, {newest.name}, reads {reads}"
            if len(models) > 1 else  # as the note above says the newest
            f"{newest.name}, the only model of {participant}, reads {reads}, which "
            f"{describe_headset(headset)} does not give")
    return ModelChoice(None, f"{said}; this session runs without one: train one on "
                             "recordings from this headset.", (newest, nr[2]))


def _when(path) -> str:
    """When a model file was saved, in words: the date it records, else its
    modification time, said as such."""
    from ._layout import model_date

    when, how = model_date(path)
    day = _dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M")
    if how == "mtime":
        return f"modified {day}; the file records no date of its own"
    return f"saved {day}"


def _picked(path, models, participant) -> str:
    """The sentence naming the model ``--model auto`` takes, the newest."""
    of = (f"the only model of {participant}" if len(models) == 1 else
          f"the newest of the {len(models)} models of {participant}")
    return f"--model auto: {path.name} ({_when(path)}), {of}."


class ProgrammeSession:
    """One participant's session in a study: paths before, index and a line after.

    Parameters
    ----------
    participant : str
        Participant ID (letters and digits).
    root : path-like | None
        Study root.
    config : PipelineConfig
        The pipeline the session runs (its name is the default task label).
    protocol : str | None
        Task label (``--protocol``).
    model : LoadedModel | None
        The session's model. With ``threshold_start = "carry"``, a model that
        needs a per-user calibration starts from the one saved with the
        participant's latest session that ran the same model file (same
        SHA-256), instead of this session's baseline.
    model_sha256 : str | None
        The model file's hash (from the sidecar's ``model`` entry).
    simulated : bool
        The session runs on a scripted headset (``live --scenario``): its
        sessions are listed as simulated, as ``simulate --participant``'s are.

    Attributes
    ----------
    paths : SessionPaths
        The reserved session's files (``paths.xdf`` is the recording).
    carried : CarryOver
        Called by the protocol sink when the session opens: the thresholds
        (and model calibration) carried from the participant's latest session
        on the same headset (``threshold_start = "carry"``).
    sidecar : dict
        ``{"programme": {...}}`` to add to the recording's sidecar.
    """

    def __init__(self, participant, root, config, protocol=None, *, model=None,
                 model_sha256=None, simulated=False):
        self._reserve(participant, root, config, protocol)
        try:
            self.prepare(model=model, model_sha256=model_sha256, simulated=simulated)
        except BaseException:  # interrupted, or an unreadable study: the number is free
            self.abandon()
            raise

    @classmethod
    def reserved(cls, participant, root, config, protocol=None) -> ProgrammeSession:
        """The session's number and folder alone; :meth:`prepare` does the rest.

        For a caller that holds signals until it holds the session (so that it
        can give the number back): the reservation is quick, while preparing
        reads the study's index, which another process may keep locked for
        seconds, and a signal held over that was acted on only after it.
        """
        self = cls.__new__(cls)
        self._reserve(participant, root, config, protocol)
        return self

    def _reserve(self, participant, root, config, protocol):
        from .._signals import signals_after
        from ._layout import reserve_session

        self.config = config
        self.paths = None
        try:
            # a signal waits until the folder is this session's to give back
            # (Ctrl-C as reserve_session returned kept the number taken)
            with signals_after():
                self.paths = reserve_session(root, participant, protocol or config.name)
        except BaseException:  # the signal held, acted on: the number is free
            if self.paths is not None:
                self.abandon()
            raise

    def prepare(self, *, model=None, model_sha256=None, simulated=False) -> None:
        """Read what the session carries from the participant's earlier ones
        (the study's index) and make its sidecar entry. On an error or a
        signal, the caller gives the number back (:meth:`abandon`)."""
        self._prepare(self.config, model, model_sha256)
        self.sidecar["programme"]["simulated"] = bool(simulated)

    def _prepare(self, config, model, model_sha256):
        from ._carry import CarryOver
        from ._index import StudyIndex

        self.root = self.paths.root
        self.model, self.model_sha256 = model, model_sha256
        carry = config.feedback.threshold_start == "carry"
        rows = []
        if carry:
            with StudyIndex(self.root) as index:
                index.sync(patience=3.0)  # a session killed or deleted since the last one
                rows = index.sessions(self.paths.participant)
        self.sidecar = {"programme": {
            "participant": self.paths.participant, "session": self.paths.session,
            "task": self.paths.task, "simulated": False,
            "started_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "carried_thresholds": [], "carried_from": None,
            "carried_calibration_from": None}}
        # decided when the session opens and its headset is known
        self.carried = CarryOver(self.root, self.paths.participant, rows,
                                 self.sidecar["programme"], thresholds=carry, model=model,
                                 model_sha256=model_sha256, feedback=config.feedback,
                                 pipeline=config.to_dict())
        self.index_ms = None

    @property
    def recording(self):
        return self.paths.xdf

    def attach(self, sinks) -> None:
        """Hand the carried thresholds to the session's protocol sink."""
        for sink in sinks:
            if hasattr(sink, "carried"):
                sink.carried = self.carried

    def abandon(self) -> None:
        """The session failed before it began: give its number back if nothing was written."""
        self.paths.give_back()

    def set_aside(self) -> tuple[Path, bool]:
        """The session ended before its first sample: take it out of the study.

        Its files (the recording, closed and kept, and its sidecar) move to
        ``sub-<ID>/unfiled/``, which nothing that reads the study looks in
        (the index, the history, the progress and exports read ``ses-<NN>``
        folders): a recording of no sample is not a session, and every reader
        refuses it. The session number is given back, and dropped from the
        index if it was read there while the session ran.

        Returns
        -------
        recording : Path
            The recording's new path.
        freed : bool
            Whether the session number is free again (False when its folder
            holds other files, which are kept there).
        """
        from ._index import StudyIndex
        from ._layout import DB_NAME

        paths = self.paths
        paths.release()
        started = self.sidecar["programme"]["started_at"]
        stamp = "".join(c for c in started[:19] if c.isdigit() or c == "T")
        where = paths.root / f"sub-{paths.participant}" / "unfiled"
        where.mkdir(exist_ok=True)
        stem, n = f"sub-{paths.participant}_task-{paths.task}_{stamp}_eeg", 1
        while any(where.glob(f"{stem}.*")):  # two stopped in one second
            n += 1
            stem = f"sub-{paths.participant}_task-{paths.task}_{stamp}-{n}_eeg"
        for old in sorted(paths.xdf.parent.glob(f"{paths.stem}.*")):
            old.replace(where / f"{stem}{old.suffix}")
        if (paths.root / DB_NAME).is_file():  # the dashboard's history may have read it
            try:
                with StudyIndex(paths.root, timeout=5.0) as index:
                    index.forget(paths.participant, paths.session)
            except Exception as err:  # its files are gone: the next sync drops it
                logger.warning("Could not drop the stopped session from the index: %s", err)
        paths.give_back()
        return where / f"{stem}.xdf", not paths.folder.exists()

    def finish(self) -> list[str]:
        """Index the session and compare it with the earlier ones: summary lines."""
        from ._index import StudyIndex
        from ._progress import compare_line

        self.paths.release()
        t0 = time.perf_counter()
        lines = []
        from ._carry import save_calibration

        save_calibration(self.paths.sidecar, self.model, self.model_sha256)
        try:  # a lock held past 15 s (a program holding the file open) is said, not waited on
            with StudyIndex(self.root, timeout=5.0) as index:
                if index.rebuilt_on_open:  # a new index: this session is in it already
                    rec = next((r for r in index.sessions(self.paths.participant)
                                if r["session"] == self.paths.session), None)
                else:
                    rec = index.add_session(self.paths.folder, self.paths.participant,
                                            self.paths.session)
                self.index_ms = 1e3 * (time.perf_counter() - t0)
                logger.info("Indexed the session in %.1f ms.", self.index_ms)
                if rec is not None:  # the index rows are enough: no statistics needed
                    rows = index.sessions(self.paths.participant)
                    line = compare_line({"sessions": rows, "trend": {"target": rec["target"]}},
                                        self.paths.session)
                    if line:
                        lines.append(line)
            logger.info("Indexing and the comparison added %.1f ms to the session's end.",
                        1e3 * (time.perf_counter() - t0))
        except Exception as err:  # the recording is safe; the index can be rebuilt
            lines.append(f"The session is filed but could not be indexed ({err}); run "
                         f"'biofeedback index --rebuild --root {self.root}'.")
        lines.append(f"filed as sub-{self.paths.participant} session "
                     f"{self.paths.session:02d} under {self.root}")
        return lines

