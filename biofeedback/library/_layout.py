"""The study layout: participants and numbered sessions under one root.

A study root holds one folder per participant and one per session, shaped
like BIDS::

    <root>/
      biofeedback.sqlite                      the index (rebuilt from the files)
      sub-<ID>/
        models/                               the participant's models (--model auto)
        ses-<NN>/eeg/
          sub-<ID>_ses-<NN>_task-<protocol>_eeg.xdf    the recording
          sub-<ID>_ses-<NN>_task-<protocol>_eeg.json   its sidecar
          sub-<ID>_ses-<NN>_task-<protocol>_eeg.html   its report

Session numbers are reserved by creating the ``ses-<NN>`` folder, which the
file system does atomically: two sessions started at once for one person get
two numbers, never one. A running session keeps a ``.running`` file in its
folder (removed when it ends), so a second one can say what it found.

A session folder may also carry a label that is not a number (``ses-pre``,
``ses-post``, as BIDS allows): such a session is indexed under its label and
takes its place among the numbered ones by when it was recorded. ``live``
always files numbered sessions; labelled ones are copied in.

Numbers are never used twice: ``sub-<ID>/.last-session`` remembers the
highest number reserved, so a session folder deleted by hand does not free
its number for a later, different session (the index is rebuilt from the
folders, so it cannot be the one to remember). When a participant's whole
folder is deleted by hand, the index keeps the number in ``<root>/.sub-<ID>.last-session``
as it forgets the sessions (the root's ``progress-<ID>.html`` still names
them): the participant's next session takes the number after it, and the file
goes once ``sub-<ID>/.last-session`` holds it again. A study from before that file,
or whose file is stale, still numbers past every session it holds: the next
number is above the folders, the file and the index's rows alike, and the
index raises the file when it drops a session whose folder is gone. Only a
session that wrote nothing (it failed before it began) gives its number back,
as does one stopped before its first sample: its recording, which no reader
accepts, is kept in ``sub-<ID>/unfiled/``, outside the sessions.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from .._json import dumps
from .._logging import logger
from ..errors import BiofeedbackError

__all__ = ["StudyError", "SessionPaths", "study_root", "check_participant", "task_label",
           "reserve_session", "session_paths", "list_session_dirs", "latest_model",
           "ROOT_ENV", "DEFAULT_ROOT", "case_twin", "participant_models", "model_date",
           "labelled_session_dirs", "session_dirs", "session_name", "session_ref"]

#: environment variable naming the study root
ROOT_ENV = "BIOFEEDBACK_ROOT"
#: the study root when neither ``--root`` nor ``BIOFEEDBACK_ROOT`` is given
DEFAULT_ROOT = "recordings"
RUNNING = ".running"
LAST_SESSION = ".last-session"
#: the study index's file under the root (see ``StudyIndex``)
DB_NAME = "biofeedback.sqlite"

_ID = re.compile(r"[A-Za-z0-9]+")
#: longest participant ID and task label: file names (sub-<ID>_ses-NN_task-<task>_eeg.json)
#: stay well under the file systems' 255 bytes
MAX_LABEL = 64
_SES = re.compile(r"ses-(\d+)")
#: a BIDS session folder of any label, numbered or not (``ses-pre``)
_SES_LABEL = re.compile(r"ses-([A-Za-z0-9]+)")


class StudyError(BiofeedbackError):
    """A participant, session or study root that cannot be used."""


@dataclass(frozen=True)
class SessionPaths:
    """Where one session's files go."""

    root: Path
    participant: str
    session: int
    task: str

    @property
    def folder(self) -> Path:
        """``<root>/sub-<ID>/ses-<NN>``."""
        return self.root / f"sub-{self.participant}" / f"ses-{self.session:02d}"

    @property
    def stem(self) -> str:
        return f"sub-{self.participant}_ses-{self.session:02d}_task-{self.task}_eeg"

    @property
    def xdf(self) -> Path:
        return self.folder / "eeg" / f"{self.stem}.xdf"

    @property
    def sidecar(self) -> Path:
        return self.xdf.with_suffix(".json")

    @property
    def report(self) -> Path:
        return self.xdf.with_suffix(".html")

    def release(self) -> None:
        """Say the session has ended (removes its ``.running`` file)."""
        try:
            (self.folder / RUNNING).unlink()
        except FileNotFoundError:
            pass

    def give_back(self) -> None:
        """Free the number of a session that wrote nothing: its folder is
        removed, and the participant's highest number goes back unless a
        later session took one since. A folder holding files is kept."""
        self.release()
        try:
            with contextlib.suppress(FileNotFoundError):  # stopped before it was made
                (self.folder / "eeg").rmdir()
            self.folder.rmdir()
        except OSError:  # it holds files: keep them, the index will say what they hold
            return
        sub = self.folder.parent
        if _last_session(sub, quiet=True) == self.session:
            _set_last_session(sub, self.session - 1)


def study_root(root=None) -> Path:
    """The study root: ``root``, else ``$BIOFEEDBACK_ROOT``, else ``./recordings``."""
    if root is None or str(root) == "":
        root = os.environ.get(ROOT_ENV) or DEFAULT_ROOT
    return Path(root).expanduser()


def existing_study_root(root=None) -> Path:
    """:func:`study_root`, which must be a folder: reading a study never creates one.

    Raises
    ------
    StudyError
        Naming the folder and how to give another.
    """
    path = study_root(root)
    if not path.is_dir():
        raise StudyError(f"{path}: no such folder, so no study to read; give the study root "
                         f"with --root DIR (or set {ROOT_ENV}).")
    return path


def check_participant(pid) -> str:
    """Return ``pid`` if it is letters and digits only (at most 64), else raise.

    Raises
    ------
    StudyError
        One sentence naming the ID and what is allowed, so no ID can make a
        path outside the study root (``/``, ``..``, spaces are refused).
    """
    pid = "" if pid is None else str(pid)
    if not _ID.fullmatch(pid):
        shown = f"Invalid participant ID {pid!r}" if pid else "The participant ID is empty"
        raise StudyError(
            f"{shown}: use ASCII letters and digits only, as "
            "BIDS labels are (no accents, '/', '..', spaces or punctuation), e.g. "
            "--participant P07."
        )
    if len(pid) > MAX_LABEL:
        raise StudyError(
            f"Invalid participant ID {pid[:12]}... ({len(pid)} characters): use at most "
            f"{MAX_LABEL}, as it names the participant's folder and files, e.g. "
            "--participant P07.")
    return pid


def case_twin(root, participant) -> str | None:
    """An existing participant whose ID differs from ``participant`` only in case.

    ``Sub01`` and ``sub01`` are two people to the index but one folder on the
    file systems of Windows and macOS, so a study never holds both.
    """
    root = Path(root)
    if not root.is_dir():
        return None
    want = str(participant).lower()
    for sub in root.glob("sub-*"):
        pid = sub.name[4:]
        if pid != participant and pid.lower() == want and sub.is_dir():
            return pid
    return None


def task_label(name) -> str:
    """A BIDS task label from a protocol or pipeline name (letters and digits)."""
    label = re.sub(r"[^A-Za-z0-9]", "", str(name or ""))[:MAX_LABEL]
    return label or "training"


def _check_writable(root: Path) -> None:
    if root.is_file():
        raise StudyError(
            f"The study root {root} is a file; a study is a folder: pass --root DIR or "
            f"set {ROOT_ENV} to a folder (it is made if missing).")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}"
        try:
            probe.write_text("")
        finally:  # Ctrl-C as it was written left it in the study root
            probe.unlink(missing_ok=True)
    except OSError as err:
        raise StudyError(
            f"The study root {root} is not writable ({err.strerror or err}); pass "
            f"--root DIR or set {ROOT_ENV} to a folder you can write to."
        ) from None


def list_session_dirs(root, participant=None) -> list[tuple[str, int, Path]]:
    """``(participant, session, folder)`` of every numbered session folder, sorted.

    Two folders of one number (``ses-1``, ``ses-01``) are both listed: they
    hold that number. The index reads one of them (see
    :func:`unindexed_session_dirs`)."""
    return session_dirs(root, participant)[0]


def labelled_session_dirs(root, participant=None) -> list[tuple[str, str, Path]]:
    """``(participant, label, folder)`` of every session folder whose label is not
    a number (``ses-pre``), sorted by participant and label."""
    return session_dirs(root, participant)[1]


def session_dirs(root, participant=None) -> tuple[list, list]:
    """:func:`list_session_dirs` and :func:`labelled_session_dirs` from one walk of
    the participant folders (the index wants both at every sync)."""
    numbered, labelled = [], []
    for pid, ses in _participant_entries(root, participant):
        m = _SES.fullmatch(ses.name)
        lab = None if m else _SES_LABEL.fullmatch(ses.name)
        if lab and lab.group(1).isdigit():
            lab = None
        if (m or lab) and ses.is_dir():
            if m:
                numbered.append((pid, int(m.group(1)), ses))
            else:
                labelled.append((pid, lab.group(1), ses))
    numbered.sort(key=lambda r: (r[0], r[1]))
    labelled.sort(key=lambda r: (r[0], r[1]))
    return numbered, labelled


def _participant_entries(root, participant=None):
    """``(participant, path)`` of every entry in the participant folders under
    ``root`` (``participant``'s alone when given) whose ID is valid."""
    root = Path(root)
    subs = [root / f"sub-{participant}"] if participant else sorted(root.glob("sub-*"))
    for sub in subs:
        pid = sub.name[4:]
        if sub.is_dir() and _ID.fullmatch(pid):
            for entry in sub.iterdir():
                yield pid, entry


def session_name(row) -> str:
    """How a session is named to people: its folder's label (``"03"``, ``"pre"``),
    else its number's two digits."""
    label = row.get("label")
    if label:
        return str(label)
    num = row.get("session")
    return f"{int(num):02d}" if num is not None else "?"


def session_ref(row) -> int | str:
    """A session as sentences and sidecars (``carried_from``) name it: its number
    (``3``), or its label when it has none (``"pre"``)."""
    return int(row["session"]) if row.get("session") is not None else session_name(row)


def session_label(folder, session=None) -> str:
    """The label of a session folder as it is written (``"01"``, ``"001"``, ``"1"``);
    ``session``'s two digits when ``folder`` is not a ``ses-<label>`` folder."""
    m = _SES_LABEL.fullmatch(Path(folder).name)
    return m.group(1) if m else f"{int(session):02d}"


def unindexed_session_dirs(root) -> list[str]:
    """Sentences for session folders holding files that the index cannot number
    or read.

    A second folder of one number (``ses-1`` beside ``ses-01``, which would
    replace it under that number) is left out, and said: the folder, why,
    and the number to rename it to. (A label that is not a number,
    ``ses-pre``, is indexed under that label.) A recording copied in under
    another name than a session's (``old.xdf``, ``muse.csv``) is said with
    the name to give it, or the command that converts it.
    """
    root = Path(root)
    out = []
    for sub in sorted(root.glob("sub-*")):
        pid = sub.name[4:]
        if not sub.is_dir() or not _ID.fullmatch(pid):
            continue
        numbered = {}
        for ses in sorted(sub.iterdir()):
            m = _SES.fullmatch(ses.name)
            if not (m and ses.is_dir()):
                continue
            if not any((ses / "eeg").glob("*_eeg.*")) and not any(ses.glob("*_eeg.*")):
                continue  # nothing the index would read
            numbered.setdefault(int(m.group(1)), []).append(ses)
        free = max([*numbered, _last_session(sub, quiet=True), _gone_last(root, pid),
                    _indexed_last(root, pid), 0]) + 1
        for num, folders in sorted(numbered.items()):
            kept = indexed_folder(folders)
            for ses in (f for f in folders if f != kept):
                out.append(f"{ses} and {kept} are both session {num:02d} of {pid}: only "
                           f"{kept.name} is indexed; rename the other to ses-{free:02d} (the next "
                           "free number), then run 'biofeedback index --rebuild'.")
                free += 1
        out += _unread_recordings(sub, pid)
    return out


#: file name endings of recordings a session folder may be given by hand
_RECORDING_EXT = (".xdf", ".csv", ".edf", ".bdf", ".fif", ".vhdr", ".set", ".gdf")


def _unread_recordings(sub: Path, pid: str) -> list[str]:
    """Sentences for recordings copied into a session folder under a name the
    index does not read (it reads ``*_eeg.xdf`` and ``*_eeg.json``), in a
    folder holding nothing it reads: the session would be missing without a
    word."""
    out = []
    for ses in sorted(sub.iterdir()):
        m = _SES_LABEL.fullmatch(ses.name)
        if not (m and ses.is_dir()):
            continue
        where = [ses / "eeg", ses] if (ses / "eeg").is_dir() else [ses]
        files = [f for w in where for f in sorted(w.iterdir()) if f.is_file()]
        if any(f.name.endswith(("_eeg.xdf", "_eeg.json")) for f in files):
            continue  # the index reads the session
        for f in files:
            if not f.name.lower().endswith(_RECORDING_EXT):
                continue
            name = f"sub-{pid}_ses-{m.group(1)}_task-<protocol>_eeg.xdf"
            if f.suffix.lower() == ".xdf":
                how = f"rename it to {name} (a protocol of letters and digits)"
            else:
                how = (f"convert it with 'biofeedback convert {f} {where[0] / name}' (a "
                       "protocol of letters and digits)")
            out.append(f"{f} is not indexed: the index reads a session's XDF recording by "
                       f"its BIDS name; {how}, then run 'biofeedback index --rebuild'.")
    return out


def indexed_folder(folders) -> Path:
    """Of several folders of one session number, the one the index holds: the
    one named as sessions are (``ses-01``), else the first by name."""
    folders = sorted(folders, key=lambda f: f.name)
    return next((f for f in folders
                 if f.name == f"ses-{int(_SES.fullmatch(f.name).group(1)):02d}"), folders[0])


def _process_id(pid: int) -> str | None:
    """Which process ``pid`` is: the boot and the process's start (Linux's
    ``/proc``), so a number reused by another process, or after a restart, is
    told apart; None where the system does not say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22: its start time
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int, host: str, process: str | None = None) -> bool:
    """Whether the process that wrote a ``.running`` file still runs. ``process``
    (:func:`_process_id` as it was written) tells it from another process given
    the same number since (a session killed, the machine restarted)."""
    if host != socket.gethostname():
        return True  # another machine: assume it is still running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _process_id(pid) if process else None
    return now is None or now == process


def running_sessions(root, participant) -> list[tuple[int, dict]]:
    """Sessions of ``participant`` whose process still runs: ``(number, info)``."""
    out = []
    for _, num, folder in list_session_dirs(root, participant):
        lock = folder / RUNNING
        if not lock.exists():
            continue
        try:
            info = json.loads(lock.read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(int(info.get("pid", 0)), str(info.get("host", "")),
                      info.get("process")):
            out.append((num, info))
    return out


def _last_session(sub: Path, quiet: bool = False) -> int:
    """The highest session number ``sub`` (a participant's folder) ever
    reserved, from its ``.last-session`` file; 0 when it has none (or, with
    a warning unless ``quiet``, when it cannot be read)."""
    try:
        return max(int((sub / LAST_SESSION).read_text(encoding="utf-8").strip()), 0)
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as err:  # the folders still number the next session
        if not quiet:
            logger.warning("%s cannot be read (%s); session numbers follow the session "
                           "folders.", sub / LAST_SESSION, err)
        return 0


def _set_last_session(sub: Path, num: int, path: Path | None = None) -> None:
    path = sub / LAST_SESSION if path is None else path
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(f"{int(num)}\n", encoding="utf-8")
        os.replace(tmp, path)  # whole or not at all
    except BaseException:  # a full disk, Ctrl-C: no .tmp left in the participant's folder
        tmp.unlink(missing_ok=True)
        raise


def _gone_file(root: Path, participant: str) -> Path:
    """Where the root keeps the highest number of a participant whose folder is gone."""
    return root / f".sub-{participant}{LAST_SESSION}"


def _gone_last(root: Path, participant: str) -> int:
    """The number :func:`remember_session` kept for a deleted ``sub-<ID>``; 0 if none."""
    try:
        return max(int(_gone_file(root, participant).read_text(encoding="utf-8").strip()), 0)
    except (OSError, ValueError):
        return 0


def remember_session(root, participant, num) -> None:
    """Raise ``sub-<ID>/.last-session`` to ``num`` if it is lower: the index
    calls it before it forgets a session whose folder is gone. When the
    participant's whole folder is gone, the root keeps the number instead
    (``<root>/.sub-<ID>.last-session``). A root that cannot be written keeps
    its files as they are (its index is only read)."""
    if not _ID.fullmatch(str(participant)):  # a row edited by hand names no folder
        return
    root = Path(root)
    sub = root / f"sub-{participant}"
    try:
        if sub.is_dir():
            if _last_session(sub, quiet=True) < int(num):
                _set_last_session(sub, num)
        elif root.is_dir() and _gone_last(root, participant) < int(num):
            _set_last_session(sub, num, _gone_file(root, participant))
    except OSError:
        pass


def _indexed_last(root: Path, participant: str) -> int:
    """The participant's highest session number in the study index; 0 when it
    has none or cannot be read (the folders and ``.last-session`` still count).

    Read as it is, neither synced nor rebuilt: a session whose folder was
    deleted by hand is still there until the index is next read.
    """
    import sqlite3

    db = root / DB_NAME
    if not db.is_file():
        return 0
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            row = con.execute("SELECT max(session) FROM sessions WHERE participant = ?",
                              (participant,)).fetchone()
        finally:
            con.close()
        return max(int(row[0]), 0) if row and row[0] is not None else 0
    except (sqlite3.Error, TypeError, ValueError, OSError):  # rebuilt when next opened
        return 0


def reserve_session(root, participant, task) -> SessionPaths:
    """Reserve the participant's next free session number and make its folder.

    Parameters
    ----------
    root : path-like | None
        The study root (see :func:`study_root`).
    participant : str
        Letters and digits.
    task : str
        The protocol's name (made a BIDS label).

    Returns
    -------
    paths : SessionPaths

    Raises
    ------
    StudyError
        An invalid ID, one that differs only in case from an existing
        participant's, or a root that cannot be written.

    Notes
    -----
    The number is reserved by ``mkdir`` of ``ses-<NN>``, which succeeds for
    exactly one process; a session started at the same time gets the next
    number, and a warning names the session still running. It is above the
    highest number ever reserved (``sub-<ID>/.last-session``, or the root's
    ``.sub-<ID>.last-session`` when that folder was deleted), every session
    folder and every session of the participant in the index: a session
    deleted by hand keeps its number, in a study without that file too.
    """
    from .._signals import signals_after

    root = study_root(root)
    participant = check_participant(participant)
    twin = case_twin(root, participant)
    if twin is not None:
        raise StudyError(
            f"Participant {participant!r} differs only in case from {twin!r}, who already "
            f"has sessions under {root}; use --participant {twin} (the two would share one "
            "folder on Windows and macOS).")
    _check_writable(root)
    sub = root / f"sub-{participant}"
    if sub.exists() and not sub.is_dir():
        raise StudyError(
            f"{sub} is a file where participant {participant}'s session folders go; move it "
            "out of the study root, or pass another --root DIR.")
    busy = running_sessions(root, participant) if sub.is_dir() else []
    sub.mkdir(parents=True, exist_ok=True)
    taken = [num for _, num, _ in list_session_dirs(root, participant)]
    gone = _gone_last(root, participant)  # the folder was deleted by hand, numbers and all
    num = max(*taken, _last_session(sub), gone, _indexed_last(root, participant), 0) + 1
    paths = None
    try:
        # a signal waits until the folder made is one to give back: Ctrl-C as
        # mkdir returned kept the number taken by an empty folder
        with signals_after():
            while True:
                try:
                    (sub / f"ses-{num:02d}").mkdir()
                    break
                except FileExistsError:
                    num += 1
            paths = SessionPaths(root, participant, num, task_label(task))
        if _last_session(sub, quiet=True) < num:  # (a session started at once took more)
            _set_last_session(sub, num)
        (paths.folder / "eeg").mkdir(exist_ok=True)
        (paths.folder / RUNNING).write_text(dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "process": _process_id(os.getpid()),
            "started_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}))
    except BaseException:  # interrupted or refused: the number is free again
        if paths is not None:
            paths.give_back()
        raise
    if gone:  # sub-<ID>/.last-session holds a higher number now
        try:
            _gone_file(root, participant).unlink(missing_ok=True)
        except OSError:  # kept: it only numbers past what the folder already does
            pass
    for other, info in busy:
        logger.warning(
            "Participant %s already has session %02d running (pid %s, started %s); this "
            "one is filed separately as session %02d.", participant, other, info.get("pid"),
            info.get("started_at"), num)
    return paths


def session_paths(root, participant, session, task) -> SessionPaths:
    """The paths of an existing (or planned) session, without reserving it."""
    return SessionPaths(study_root(root), check_participant(participant), int(session),
                        task_label(task))


def model_date(path) -> tuple[float, str]:
    """When a model file was saved: Unix seconds and how that is known.

    The date the file records (``"saved_at"``, or ``"archive"``: see
    :func:`biofeedback.training._modelfile.recorded_date`), which a copy
    (``cp -r``, a zip, git) keeps; its modification time (``"mtime"``) only
    for a file that records none.
    """
    from ..training._modelfile import recorded_date

    said = recorded_date(path)
    if said is not None:
        return said
    return Path(path).stat().st_mtime, "mtime"


def participant_models(root, participant) -> list[Path]:
    """The participant's model files (``sub-<ID>/**/*.bfm``), newest first: by the
    date each file records (:func:`model_date`), then its modification time, then
    its name."""
    sub = study_root(root) / f"sub-{check_participant(participant)}"
    models = [p for p in sub.rglob("*.bfm") if p.is_file()] if sub.is_dir() else []
    return sorted(models, key=lambda p: (model_date(p)[0], p.stat().st_mtime, p.name),
                  reverse=True)


def latest_model(root, participant) -> Path | None:
    """The participant's newest model file (``sub-<ID>/**/*.bfm``), or None."""
    models = participant_models(root, participant)
    return models[0] if models else None
