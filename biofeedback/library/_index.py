"""The study index: an SQLite database of participants, sessions and blocks.

The files stay the truth: the database only indexes them, and
:meth:`StudyIndex.rebuild` re-creates it from the session folders at any
time. It lives at ``<root>/biofeedback.sqlite`` in WAL mode, so readers
never block the session that writes, and every write is one ``BEGIN
IMMEDIATE`` transaction with a busy timeout, so two processes writing at once
take turns instead of corrupting it. A file that is not a database, or one
written by a newer version (``meta.schema_version``), is moved aside and
rebuilt from the files, with a sentence saying so.

It stays over 400 lines because opening, writing, syncing and reading are
one object guarding one file: the fallbacks (a corrupt, newer, locked or
read-only index) only make sense next to the writes they protect.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sqlite3
import time
from pathlib import Path

from .._json import dumps
from .._logging import logger
from .._words import listed
from ._layout import (
    DB_NAME,
    StudyError,
    _check_writable,
    indexed_folder,
    remember_session,
    session_dirs,
    session_label,
    study_root,
    unindexed_session_dirs,
)
from ._record import read_session_folder

__all__ = ["StudyIndex", "SCHEMA_VERSION", "DB_NAME"]

#: bump when the tables change; an older file is rebuilt, a newer one moved aside
#: 2: the headset (board, ch_names, sfreq) of each session; 3: its folder's label as
#: written ("01", "001"), beside its number; 4: sessions labelled without a number
#: (ses-pre), whose number is NULL
SCHEMA_VERSION = 4

_SESSION_COLS = {
    "participant": "TEXT NOT NULL", "session": "INTEGER", "label": "TEXT NOT NULL",
    "task": "TEXT",
    "uid": "TEXT", "started_at": "TEXT", "status": "TEXT", "simulated": "INTEGER",
    "duration": "REAL", "n_samples": "INTEGER", "n_windows": "INTEGER", "n_gated": "INTEGER",
    "n_dropped": "INTEGER", "effective_sfreq": "REAL", "latency_p50": "REAL",
    "latency_p99": "REAL", "cue_latency_p50": "REAL", "cue_latency_p99": "REAL",
    "n_gaps": "INTEGER", "gap_seconds": "REAL", "target": "TEXT", "direction": "TEXT",
    "baseline_mean": "REAL", "baseline_sd": "REAL", "regulation": "REAL",
    "transfer_regulation": "REAL", "reward_rate": "REAL", "time_in_target": "REAL",
    "artifact_share": "REAL", "threshold_start_mode": "TEXT", "final_thresholds": "TEXT",
    "model": "TEXT", "xdf": "TEXT", "sidecar": "TEXT", "report": "TEXT", "mtime": "REAL",
    "warnings": "TEXT", "board": "TEXT", "ch_names": "TEXT", "sfreq": "REAL",
}
_BLOCK_COLS = {
    "idx": "INTEGER", "name": "TEXT", "kind": "TEXT", "target": "TEXT", "direction": "TEXT",
    "start": "REAL", "end": "REAL", "n_windows": "INTEGER", "n_gated": "INTEGER",
    "n_reward": "INTEGER", "reward_rate": "REAL", "time_in_target": "REAL",
    "artifact_share": "REAL", "threshold_start": "REAL", "threshold_end": "REAL",
    "target_mean": "REAL", "target_sd": "REAL", "regulation": "REAL",
}
_JSON_COLS = ("final_thresholds", "warnings", "ch_names")
#: the columns a session's recording measures (its figures), as opposed to what
#: names or describes it; a session still running has none yet: its row holds
#: what it recorded so far, which ``sessions`` gives as null ("-" in its table)
FIGURE_COLS = (
    "duration", "n_samples", "n_windows", "n_gated", "n_dropped", "effective_sfreq",
    "latency_p50", "latency_p99", "cue_latency_p50", "cue_latency_p99", "n_gaps",
    "gap_seconds", "baseline_mean", "baseline_sd", "regulation", "transfer_regulation",
    "reward_rate", "time_in_target", "artifact_share", "final_thresholds",
)
#: study roots whose index was read into memory (they cannot be written), said once
_SAID_IN_MEMORY: set[str] = set()
#: how long one wait for another process's lock lasts (ms): signals are acted on between
_LOCK_SLICE_MS = 100


def _locked(err: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(err) or "busy" in str(err)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS participants (id TEXT PRIMARY KEY, first_session TEXT,
    last_session TEXT);
CREATE TABLE IF NOT EXISTS sessions (id INTEGER PRIMARY KEY,
    {", ".join(f'"{k}" {v}' for k, v in _SESSION_COLS.items())},
    UNIQUE (participant, session), UNIQUE (participant, label));
CREATE TABLE IF NOT EXISTS blocks (session_id INTEGER NOT NULL
    REFERENCES sessions(id) ON DELETE CASCADE,
    {", ".join(f'"{k}" {v}' for k, v in _BLOCK_COLS.items())},
    PRIMARY KEY (session_id, idx));
CREATE TABLE IF NOT EXISTS thresholds (session_id INTEGER NOT NULL
    REFERENCES sessions(id) ON DELETE CASCADE, block_idx INTEGER, t REAL, threshold REAL);
CREATE INDEX IF NOT EXISTS thresholds_session ON thresholds (session_id);
"""


def _quoted(cols) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def _num(x):
    """SQLite stores NaN as NULL; keep numbers, None for the rest."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, (int, float)):
        return None if isinstance(x, float) and not math.isfinite(x) else x
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _typed(row: dict, cols: dict) -> dict:
    """``row`` with each column's value of its declared type (None otherwise).

    SQLite keeps what was written, whatever the column's type: a file edited
    by hand may hold text where a number goes.
    """
    for c, kind in cols.items():
        v = row.get(c)
        if v is None:
            continue
        if kind.startswith("REAL"):
            row[c] = _num(v)
        elif kind.startswith("INTEGER"):
            v = _num(v)
            row[c] = int(v) if v is not None and float(v).is_integer() else None
        elif not isinstance(v, str):
            row[c] = str(v)
    return row


class StudyIndex:
    """The SQLite index of a study root.

    Parameters
    ----------
    root : path-like | None
        The study root (default: ``$BIOFEEDBACK_ROOT`` or ``./recordings``).
    timeout : float
        Seconds a writer waits for another one to finish.
    read_only : bool
        The caller only reads (``sessions``, ``progress``): a root that
        cannot be written (a read-only disk, an archive) is indexed in
        memory from its files, with a warning, instead of refused.

    Attributes
    ----------
    notice : str | None
        A sentence when opening had to rebuild the index (corrupt or newer file).

    Examples
    --------
    >>> with StudyIndex("recordings") as idx:
    ...     idx.sessions("demo")
    """

    def __init__(self, root=None, *, timeout: float = 30.0, read_only: bool = False):
        self.root = study_root(root)
        self.path = self.root / DB_NAME
        self.timeout = float(timeout)
        self._wait = self.timeout  # for a write lock another process holds (sync's patience)
        self.read_only = bool(read_only)
        self.notice = None
        self.rebuilt_on_open = False  # open() indexed every session folder
        self._said = set()  # the folders left out, said once
        self._con = None

    # -- opening -------------------------------------------------------------------
    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        con.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL sync never corrupts the file; a power cut may lose the last
        # rows, which the files (the truth) give back on the next sync or rebuild
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("PRAGMA foreign_keys = ON")
        return con

    def open(self) -> StudyIndex:
        """Open (creating it if needed); a bad or newer file is rebuilt from the files."""
        if self._con is not None:
            return self
        if not self.root.is_dir():
            _check_writable(self.root)  # creates it, or says why it cannot
        fresh = not self.path.exists()
        try:
            con = self._connect()
            version = self._version(con)
        except sqlite3.OperationalError as err:  # cannot open or write: not the file's fault
            if self.read_only and self.root.is_dir():
                return self._open_in_memory(err)
            raise StudyError(
                f"The index {self.path} cannot be opened ({err}); check that the study root "
                "is writable, or pass --root DIR.") from None
        except (sqlite3.DatabaseError, UnicodeDecodeError) as err:  # (a damaged schema's text)
            self._set_aside(f"it is not a readable database ({err})")
            con, version, fresh = self._connect(), None, True
        if version is not None and version > SCHEMA_VERSION:
            con.close()
            self._set_aside(f"it was written by a newer version (schema {version}, this "
                            f"one reads {SCHEMA_VERSION})")
            con, version, fresh = self._connect(), None, True
        self._con = con
        if version is None or version < SCHEMA_VERSION:
            # an older file, or one whose meta table went: made again, its numbers kept
            if version is not None or not fresh:
                self._remember_numbers()
            self._create(drop=version is not None or not fresh)
            if not fresh or self.notice or version is not None or \
                    _session_folders(self.root):  # (the last: sessions but no index yet)
                upgrade = version is not None and 0 < version < SCHEMA_VERSION
                # an upgrade changes no file: what their sessions hold was said when
                # they were indexed, and is not said again for every participant
                self.rebuild(say_sessions=not upgrade)
                self.rebuilt_on_open = True
                if upgrade:
                    logger.warning("The index %s was rebuilt from the session files for "
                                   "this version's format.", self.path)
        return self

    def _open_in_memory(self, err) -> StudyIndex:
        """A study on a read-only disk: its index, read into memory, and synced there."""
        mem = sqlite3.connect(":memory:", isolation_level=None)
        version = None
        if self.path.exists():
            try:  # immutable: no lock, no -shm file; sync() adds what a -wal held
                src = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True)
                try:
                    src.backup(mem)
                finally:
                    src.close()
                version = self._version(mem)
            except sqlite3.DatabaseError:
                mem.close()
                mem = sqlite3.connect(":memory:", isolation_level=None)
        mem.row_factory = sqlite3.Row
        mem.execute("PRAGMA foreign_keys = ON")
        self._con = mem
        # said once per study in a process: a dashboard reads it again every few seconds
        say = logger.warning if str(self.root) not in _SAID_IN_MEMORY else logger.info
        _SAID_IN_MEMORY.add(str(self.root))
        say("The study root %s cannot be written (%s); its index is read into memory from "
            "its files, and nothing is written there.", self.root, err)
        if version != SCHEMA_VERSION:
            self._create(drop=version is not None)
            # an older format: its sessions were said when they were indexed
            self.rebuild(say_sessions=not (version is not None and 0 < version < SCHEMA_VERSION))
        return self

    @staticmethod
    def _version(con) -> int | None:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # raises when not a DB
        has = con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has:
            return None
        row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if not row:
            return None
        try:
            version = int(row[0])
        except (TypeError, ValueError):
            raise sqlite3.DatabaseError(f"its schema_version {row[0]!r} is not a number") from None
        if version == SCHEMA_VERSION and not StudyIndex._tables_fit(con):
            return 0  # tables dropped or altered by hand: made again, as an older file's
        return version

    @staticmethod
    def _tables_fit(con) -> bool:
        """Whether the tables hold the columns this version reads and writes."""
        for table, cols in (("sessions", ["id", *_SESSION_COLS]),
                            ("blocks", ["session_id", *_BLOCK_COLS]),
                            ("participants", ["id", "first_session", "last_session"]),
                            ("thresholds", ["session_id", "block_idx", "t", "threshold"])):
            have = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
            if have != cols:
                return False
        return True

    def _set_aside(self, why: str) -> None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.{stamp}.bad")
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                p.replace(Path(str(aside) + suffix))
        self.notice = (f"The index {self.path} could not be used ({why}); it was moved to "
                       f"{aside.name} and rebuilt from the session files.")
        logger.warning(self.notice)

    def _create(self, drop: bool = False) -> None:
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            if drop:
                for table in ("thresholds", "blocks", "sessions", "participants", "meta"):
                    con.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            self.open()
        return self._con

    # -- writing -------------------------------------------------------------------
    def _write(self, con, rec: dict) -> int:
        cols = list(_SESSION_COLS)
        vals = []
        for c in cols:
            v = rec.get(c)
            if c in _JSON_COLS:
                vals.append(dumps(v or [], default=str))
            elif _SESSION_COLS[c].startswith(("REAL", "INTEGER")):
                vals.append(_num(v))
            else:
                vals.append(None if v is None else str(v))
        self._drop_rows(con, rec["participant"], _key(rec))
        cur = con.execute(
            f"INSERT INTO sessions ({_quoted(cols)}) VALUES "
            f"({', '.join('?' * len(cols))})", vals)
        sid = cur.lastrowid
        bcols = list(_BLOCK_COLS)
        rows, thr = [], []
        for i, b in enumerate(rec.get("blocks") or []):
            b = {**b, "idx": _num(b.get("index", i))}
            rows.append([sid] + [(_num(b.get(c)) if _BLOCK_COLS[c] != "TEXT"
                                  else str(b.get(c, ""))) for c in bcols])
            trace = b.get("threshold_trace")
            trace = trace if isinstance(trace, list) else []
            thr += [(sid, b["idx"], _num(p[0]), _num(p[1])) for p in trace
                    if isinstance(p, (list, tuple)) and len(p) == 2]  # (t, threshold)
        con.executemany(
            f"INSERT OR REPLACE INTO blocks (session_id, {_quoted(bcols)}) "
            f"VALUES ({', '.join('?' * (len(bcols) + 1))})", rows)
        con.executemany("INSERT INTO thresholds VALUES (?, ?, ?, ?)", thr)
        con.execute(
            "INSERT INTO participants VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "first_session = min(coalesce(first_session, excluded.first_session), "
            "excluded.first_session), last_session = max(coalesce(last_session, ''), "
            "excluded.last_session)", (rec["participant"], rec.get("started_at"),
                                       rec.get("started_at")))
        return sid

    def _transaction(self, fn, attempts: int = 3):
        con = self.con
        for attempt in range(attempts):
            try:
                self._begin(con)
                break
            except sqlite3.OperationalError as err:  # locked past the busy timeout
                if attempt == attempts - 1:
                    raise StudyError(
                        f"The index {self.path} stayed locked by another process for "
                        f"{attempts * self.timeout:g} s ({err}); close the program holding "
                        "it open and try again.") from None
                time.sleep(0.5)
        try:
            out = fn(con)
            con.execute("COMMIT")
            return out
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _begin(self, con) -> None:
        """``BEGIN IMMEDIATE``, waiting up to ``self._wait`` s for another
        process's lock a tenth of a second at a time: SQLite waits inside one
        call, and Python acts on a signal only once it returns, so Ctrl-C
        as a session started on a study another program kept locked ended
        the command only after the whole wait (3 s)."""
        deadline = time.monotonic() + self._wait
        con.execute(f"PRAGMA busy_timeout = {_LOCK_SLICE_MS}")
        try:
            while True:
                try:
                    con.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if not _locked(err) or time.monotonic() >= deadline:
                        raise
        finally:
            con.execute(f"PRAGMA busy_timeout = {int(self._wait * 1000)}")

    @staticmethod
    def _drop_rows(con, participant, key) -> None:
        """Delete a session's row: ``key`` is its number, or a label that is not one."""
        col = "label" if isinstance(key, str) else "session"
        con.execute(f"DELETE FROM sessions WHERE participant=? AND {col}=?", (participant, key))

    def forget(self, participant: str, session: int) -> None:
        """Drop a session that never was one (it ended before its first sample
        and its files were moved out of the study): unlike a session whose
        folder is gone, its number is not remembered, so the next session
        takes it."""
        self._transaction(lambda con: self._drop(con, [(participant, int(session))]))

    def add_session(self, folder, participant: str, session: int | None,
                    attempts: int = 3) -> dict | None:
        """Index one session folder (again); returns its record or None.

        ``session`` is None for a folder labelled without a number (``ses-pre``)."""
        rec = read_session_folder(folder, participant, session, self.root)
        if rec is None:
            return None
        self._transaction(lambda con: self._write(con, rec), attempts=attempts)
        return rec

    def rebuild(self, progress=None, *, say_sessions: bool = True) -> int:
        """Re-create every row from the session folders; returns the sessions indexed.

        ``progress`` is called with ``(done, total)`` after each folder.
        ``say_sessions=False`` keeps each session's warnings (a partial
        session, a sidecar left out) in its row without logging them.
        """
        folders = _session_folders(self.root)
        records = []
        for i, (pid, num, folder) in enumerate(folders):
            rec = read_session_folder(folder, pid, num, self.root, say=say_sessions)
            if rec is not None:
                records.append(rec)
            if progress is not None:
                progress(i + 1, len(folders))

        self._remember_numbers()
        self._say_unindexed()

        def write_all(con):
            con.execute("DELETE FROM thresholds")
            con.execute("DELETE FROM blocks")
            con.execute("DELETE FROM sessions")
            con.execute("DELETE FROM participants")
            for rec in records:
                self._write(con, rec)

        self._transaction(write_all)
        return len(records)

    def _say_unindexed(self) -> None:
        """Warn of the session folders the index leaves out, once per opening."""
        for sentence in unindexed_session_dirs(self.root):
            if sentence not in self._said:
                self._said.add(sentence)
                logger.warning(sentence)

    def _remember_numbers(self) -> None:
        """Keep every participant's highest indexed number in the study's files
        (``sub-<ID>/.last-session``): numbers stay taken once the index forgets them."""
        try:
            rows = self.con.execute(
                "SELECT participant, max(session) FROM sessions GROUP BY participant").fetchall()
        except sqlite3.Error:  # an older file of another shape: the folders still count
            return
        for pid, num in rows:
            if pid is not None and _num(num) is not None:
                remember_session(self.root, str(pid), int(_num(num)))

    def sync(self, patience: float | None = None) -> int:
        """Index session folders that are new or changed since they were indexed.

        A session killed before it could index itself is picked up here (as
        "interrupted"), as are folders copied in by hand; a session whose
        files were deleted or moved away is dropped, with a warning. Returns
        the number of sessions (re)indexed or dropped.

        ``patience`` (seconds): when given, an index that another process
        keeps locked for longer is left as it is, with a warning, instead of
        an error after the full timeout: reading a study never waits minutes
        for a program that holds the file open.
        """
        if patience is None:
            return self._sync()
        con = self.con
        self._wait = float(patience)
        con.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
        try:
            return self._sync(attempts=1)
        except StudyError:
            logger.warning(
                "The index %s is locked by another process (a session being filed, or a "
                "program holding it open); it is shown as it was, without the sessions "
                "changed since. Close that program, or run again in a moment.", self.path)
            return 0
        finally:
            self._wait = self.timeout
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    def _sync(self, attempts: int = 3) -> int:
        known = {(r[0], r[4] if r[1] is None else r[1]): (_num(r[2]) or 0.0, r[3], r[4], r[5],
                                                         r[6], r[7])
                 for r in self.con.execute(
            "SELECT participant, session, mtime, status, label, sidecar, xdf, report "
            "FROM sessions")}
        n = 0
        present = set()
        self._say_unindexed()
        for pid, num, folder in _session_folders(self.root):
            key = num if num is not None else session_label(folder)
            eeg = folder / "eeg" if (folder / "eeg").is_dir() else folder
            files = list(eeg.glob("*_eeg.json")) + list(eeg.glob("*_eeg.xdf"))
            if files:
                present.add((pid, key))
            mtime = max((p.stat().st_mtime for p in files), default=0.0)
            old = known.get((pid, key))
            if not files or (old is not None and old[0] >= mtime and old[1] != "running"
                             and old[2] == session_label(folder, num)
                             and not self._files_moved(old[3], old[4], old[5], files)):
                continue
            if self.add_session(folder, pid, num, attempts=attempts) is not None:
                n += 1
        gone = sorted(set(known) - present)
        if gone:  # deleted or moved by hand: the files are the truth
            for pid, num in gone:  # the number stays taken once the index forgets it
                if not isinstance(num, str):
                    remember_session(self.root, pid, num)
            self._transaction(lambda con: self._drop(con, gone), attempts=attempts)
            for pid, num in gone:
                label = known[(pid, num)][2] or (f"{num:02d}" if isinstance(num, int)
                                                 else str(num))  # a row edited by hand
                logger.warning(
                    "sub-%s session %s is in the index but its files are gone from %s "
                    "(deleted or moved); it was dropped from the index.", pid, label,
                    self.root / f"sub-{pid}" / f"ses-{label}")
            n += len(gone)
        return n

    def _files_moved(self, sidecar, xdf, report, files) -> bool:
        """Whether a session's sidecar, recording or report went or came since
        it was indexed: a file deleted or moved by hand, or a report made
        later ('biofeedback report'), leaves the others' dates as they were,
        so they alone do not tell."""
        kinds = {".json": sidecar, ".xdf": xdf}
        for suffix, had in kinds.items():
            has = any(f.suffix == suffix for f in files)
            if has != bool(had) or (had and not (self.root / str(had)).exists()):
                return True
        ref = sidecar or xdf  # the report beside it, as the record names it
        if ref and isinstance(ref, str):
            has = (self.root / ref).with_suffix(".html").exists()
            if has != bool(report):
                return True
        return False

    @staticmethod
    def _drop(con, keys) -> None:
        for pid, key in keys:
            StudyIndex._drop_rows(con, pid, key)
        con.execute("DELETE FROM participants WHERE id NOT IN "
                    "(SELECT DISTINCT participant FROM sessions)")

    # -- reading -------------------------------------------------------------------
    def participants(self) -> list[str]:
        return [str(r[0]) for r in self.con.execute("SELECT id FROM participants ORDER BY id")
                if r[0] is not None]

    def no_sessions(self, participant: str) -> str:
        """The sentence for ``participant`` having no session here, naming who has."""
        from ._layout import case_twin

        twin = case_twin(self.root, participant)
        people = [p for p in self.participants() if p != participant]
        if twin:
            hint = f"; did you mean {twin!r}?"
        elif people:
            hint = f"; it holds sessions of {listed(people)}."
        else:
            hint = (f", which holds none yet: 'biofeedback live --participant {participant} "
                    f"--root {self.root}' records one.")
        return f"No sessions of participant {participant!r} under {self.root}{hint}"

    def sessions(self, participant: str | None = None) -> list[dict]:
        """Session rows (dicts), oldest first, of one participant or all.

        Numbered sessions follow their numbers; a session labelled without a
        number (``ses-pre``) comes before the first numbered one recorded
        after it (see :func:`in_order`)."""
        q = "SELECT * FROM sessions"
        args = ()
        if participant:
            q += " WHERE participant = ?"
            args = (participant,)
        out = []
        for row in self.con.execute(q + " ORDER BY participant, session", args):
            d = _typed(dict(row), _SESSION_COLS)
            for c in _JSON_COLS:
                try:
                    d[c] = json.loads(d[c]) if d[c] else []
                except ValueError:
                    d[c] = []
            out.append(d)
        return in_order(out)

    def blocks(self, participant: str) -> list[dict]:
        """Block rows of a participant's sessions, with their session's number and label."""
        rows = self.con.execute(
            "SELECT s.session AS session, s.label AS label, b.* FROM blocks b JOIN sessions s "
            "ON b.session_id = s.id WHERE s.participant = ? ORDER BY s.session, b.idx",
            (participant,))
        return [_typed(dict(r), {"session": "INTEGER", "label": "TEXT", **_BLOCK_COLS})
                for r in rows]

    def last_session(self, participant: str) -> dict | None:
        """The participant's latest indexed session with thresholds, or None."""
        rows = [s for s in self.sessions(participant) if s["final_thresholds"]]
        return rows[-1] if rows else None


def _key(row):
    """A session's key in its participant's index: its number, else its label."""
    return row["session"] if row.get("session") is not None else str(row.get("label"))


def _when(row) -> float:
    """When a session was recorded, in Unix seconds (inf when its row has no date)."""
    try:
        return _dt.datetime.fromisoformat(str(row.get("started_at") or "")).timestamp()
    except (TypeError, ValueError, OverflowError):
        return math.inf


def in_order(rows) -> list[dict]:
    """Index rows in the order of the sessions: by participant, numbered sessions
    by number, and each session labelled without a number (``ses-pre``,
    ``ses-post``) before the first numbered session recorded after it (by
    their ``started_at``; labelled ones among themselves by time, then label)."""
    out = []
    by_pid: dict[str, list] = {}
    for r in rows:
        by_pid.setdefault(r.get("participant"), []).append(r)
    for pid in sorted(by_pid, key=str):
        mine = by_pid[pid]
        numbered = sorted((r for r in mine if r.get("session") is not None),
                          key=lambda r: r["session"])
        labelled = sorted((r for r in mine if r.get("session") is None),
                          key=lambda r: (_when(r), str(r.get("label"))))
        for r in numbered:
            while labelled and _when(labelled[0]) < _when(r):
                out.append(labelled.pop(0))
            out.append(r)
        out.extend(labelled)
    return out


def _session_folders(root) -> list[tuple[str, int | None, Path]]:
    """Every session folder the index holds: ``(participant, number, folder)``,
    the number None for a folder labelled without one (``ses-pre``)."""
    numbered, labelled = session_dirs(root)
    return _numbered_once(numbered) + [(pid, None, folder) for pid, _, folder in labelled]


def _numbered_once(folders) -> list[tuple[str, int, Path]]:
    """``list_session_dirs`` with one folder per number: the one the index holds
    (:func:`~._layout.indexed_folder`); the others are said by
    :func:`~._layout.unindexed_session_dirs`."""
    by_num: dict[tuple[str, int], list] = {}
    for pid, num, folder in folders:
        by_num.setdefault((pid, num), []).append(folder)
    return [(pid, num, indexed_folder(fs) if len(fs) > 1 else fs[0])
            for (pid, num), fs in by_num.items()]
