"""What each recording is: its subject, session and label.

Labels come from the file name (read with a pattern), from a CSV manifest
(whole files, or timed stretches of them) or from the recording's markers;
:func:`_label_windows` labels the engine's windows from markers or stretches.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

import numpy as np

from .._checks import _check_option
from .._markers import (
    BLOCK_END,
    BLOCK_START,
    CLOCK_JUMP,
    CUE,
    DROPPED,
    GAP_END,
    PROTOCOL_END,
    SESSION_END,
    SESSION_KINDS,
    STATE,
    THRESHOLD,
    TRUTH_KINDS,
)
from .._words import agree, counted, listed
from ..errors import BiofeedbackError
from ..io._read import file_stem

DEFAULT_PATTERN = "{subject}-{label}-{session}"
#: The fields a file-name pattern reads (``{}`` matches any text and reads none).
PATTERN_FIELDS = ("subject", "label", "session")

# BIDS file names (sessions filed by ``live --participant``, BIDS exports):
# read by their entities when the pattern is the default one
_BIDS_NAME = re.compile(
    r"sub-(?P<subject>[A-Za-z0-9]+)(?:_ses-(?P<session>[A-Za-z0-9]+))?"
    r"(?:_task-(?P<label>[A-Za-z0-9]+))?(?:_[a-z]+-[A-Za-z0-9]+)*_[A-Za-z0-9]+")
LABEL_SOURCES = ("filename", "markers", "manifest")
#: A BIDS folder's tables beside each recording (channels, events...), never a
#: recording: ``sub-01_task-rest_channels.tsv``, ``participants.tsv``.
_BIDS_TABLE = re.compile(r"(.*_(channels|events|electrodes|scans|sessions)|participants)"
                         r"\.tsv", re.IGNORECASE)
#: Files that are one part of a recording read through its header beside them.
_PART_OF = {".eeg": ".vhdr", ".vmrk": ".vhdr", ".fdt": ".set"}
#: Files a folder of recordings also holds that are not recordings: sidecars
#: (BrainFlow's board, a session's), reports, models, figures, the study index.
NOT_RECORDINGS = (".json", ".html", ".bfm", ".png", ".svg", ".sqlite", ".md", ".log")


class DatasetError(BiofeedbackError):
    """Labelled recordings that cannot make a training set."""


@dataclass(frozen=True)
class LabelledFile:
    """One recording and what it is.

    ``label`` is None when labels come from the recording's markers.
    """

    path: str
    subject: str
    session: str
    label: str | None = None
    #: an in-memory Recording (e.g. a stream built for validation); ``path`` names it
    recording: object = field(default=None, compare=False, repr=False)
    #: labelled stretches ``(start, stop, label)`` in seconds from the recording's
    #: first sample (a manifest with start and stop columns); ``label`` is then None
    stretches: tuple = ()


def _pattern_regex(pattern):
    names = re.findall(r"{(\w*)}", pattern)
    # '{subj}' matched anything and named no one; '{1}' is no name at all
    unknown = [n for n in names if n and n not in PATTERN_FIELDS]
    if unknown:
        raise DatasetError(
            f"The label pattern {pattern!r} has the unknown field {{{unknown[0]}}}; the "
            "fields are {subject}, {label} and {session}, and {} matches any text."
        )
    if "label" not in names and "subject" not in names:
        raise DatasetError(
            f"The label pattern {pattern!r} names neither {{label}} nor {{subject}}; "
            "write it like '{subject}-{label}-{session}'."
        )
    out, pos = "", 0
    for m in re.finditer(r"{(\w*)}", pattern):
        out += re.escape(pattern[pos:m.start()])
        name = m.group(1)
        out += f"(?P<{name}>.+?)" if name and name not in out else ".+?"
        pos = m.end()
    out += re.escape(pattern[pos:])
    return re.compile(out)


def _companion(f):
    """A folder's file that travels with its recordings without being one: a
    BIDS table, a BrainVision or EEGLAB recording's data or marker file."""
    header = _PART_OF.get(f.suffix.lower())
    return bool(_BIDS_TABLE.fullmatch(f.name)
                or (header and (f.with_suffix(header).is_file()
                                or f.with_suffix(header.upper()).is_file())))


def label_files(paths=(), labels_from="filename", pattern=DEFAULT_PATTERN,
                manifest=None, *, min_classes=2) -> list[LabelledFile]:
    """Say the subject, session and label of every recording.

    Parameters
    ----------
    paths : list of path-like
        Recordings (files, or folders whose files are all taken, but for
        sidecars, reports and models: ``NOT_RECORDINGS``).
    labels_from : "filename" | "markers" | "manifest"
        Where the labels come from: the file name read with ``pattern``; the
        recording's markers (each marker labels the windows up to the next
        one); or the CSV ``manifest``.
    pattern : str
        File-name pattern (without extension) with ``{subject}``, ``{label}``
        and ``{session}`` fields, e.g. ``"{subject}-{label}-{session}"``. With
        the default, BIDS names (``sub-01_ses-02_task-rest_eeg``) give their
        subject, session and task (the label, when labels come from names). With
        markers or a manifest it still names subject and session when it
        matches; otherwise the file name is the subject and the session is 1.
    manifest : path-like | None
        CSV with a header and columns ``path`` and ``label`` (and optionally
        ``subject`` and ``session``); relative paths are read from the
        manifest's folder.

    Returns
    -------
    files : list of LabelledFile

    Raises
    ------
    DatasetError
        When the pattern matches no file, or a file does not fit it.
    """
    _check_option("labels_from", labels_from, LABEL_SOURCES)
    regex = _pattern_regex(pattern)
    rows, stretches = [], {}
    if labels_from == "manifest":
        rows, stretches = _manifest_rows(manifest)
    else:
        empty = []  # folders given that hold no recording (only folders, say)
        for p in paths:
            p = Path(p)
            if p.is_dir():
                # a BIDS dataset's root holds its own files (README, participants.tsv),
                # never a recording: those sit in its subjects' folders
                bids_root = (p / "dataset_description.json").is_file()
                found = [(str(f), None, None, None) for f in sorted(p.iterdir())
                         if f.is_file() and not f.name.startswith(".")
                         and f.suffix.lower() not in NOT_RECORDINGS and not bids_root
                         and not _companion(f)]
                rows += found
                if not found:
                    empty.append(p)
            elif not p.exists():
                # said before its name is read against the pattern: a shell
                # pattern that matched nothing arrives as written (bids/*/*.edf)
                raise DatasetError(
                    f"{p}: no such file or folder"
                    + ("; the shell passes a pattern that matches no file as it is "
                       "written, so check the folders it names" if any(
                           c in str(p) for c in "*?[") else "") + ".")
            else:
                rows.append((str(p), None, None, None))
        rows = _once(rows)
        if not rows and empty:
            inside = sorted(d.name for d in empty[0].iterdir() if d.is_dir())
            if not inside:
                raise DatasetError(f"The folder {empty[0]} holds no recording; pass "
                                   "recording files, or a folder that holds them.")
            raise DatasetError(
                f"The folder {empty[0]} holds no recording, only the folders "
                f"{', '.join(inside[:3])}{' ...' if len(inside) > 3 else ''}, which are "
                "not searched; pass the recordings themselves, e.g. "
                f"{empty[0] / '*' / '*' / 'eeg' / '*.edf'} for a BIDS folder.")
    if not rows:
        raise DatasetError("No recordings were given.")
    files, unmatched, named_by_file = [], [], []
    for path, label, subject, session in rows:
        m = regex.fullmatch(file_stem(path))
        if pattern == DEFAULT_PATTERN:  # sub-01_ses-02_task-rest_eeg is not '{subject}-...'
            m = _BIDS_NAME.fullmatch(file_stem(path)) or m
        groups = {k: v for k, v in m.groupdict().items() if v} if m else {}
        if labels_from == "filename":
            if m is None or not groups.get("label"):
                unmatched.append(Path(path).name)
                continue
            label = groups["label"]
        if not (subject or groups.get("subject")):
            named_by_file.append(Path(path).name)
        subject = subject or groups.get("subject") or file_stem(path)
        session = session or groups.get("session") or "1"
        timed = tuple(sorted((a, b, lab) for a, b, lab, _ in stretches.get(path, ())))
        files.append(LabelledFile(path, subject, session, label, stretches=timed))
    if labels_from == "filename" and not files:
        raise DatasetError(
            f"The label pattern {pattern!r} matches none of the {len(unmatched)} "
            f"file names ({listed(unmatched, 3)})."
        )
    if unmatched:
        raise DatasetError(
            f"{counted(len(unmatched), 'file name does', 'file names do')} not fit the "
            f"label pattern {pattern!r} ({listed(unmatched, 3)}); rename "
            f"{agree(len(unmatched), 'it', 'them')} or pass --pattern."
        )
    _warn_near_duplicates([f.subject for f in files], "subjects")
    fitted = len(files) - len(named_by_file)  # files the pattern gave a subject
    if named_by_file and (len(named_by_file) > 1 or fitted):
        from .._logging import logger

        names = listed([file_stem(n) for n in named_by_file], 3)
        if fitted:
            # one person's file named otherwise is a person of its own: scored
            # as new while their other recordings were trained on
            k = len(named_by_file)
            logger.warning(
                "%s %s not fit the pattern %r, which %s (read as %s: without the "
                "extension, and a FIF's _raw ending), so %s a subject of its own, and "
                "leave-one-subject-out may score a person on data of theirs it trained "
                "on; rename %s, or give a subject column.",
                listed(named_by_file, 3), agree(k, "does", "do"), pattern,
                counted(fitted, "other recording fits", "other recordings fit"), names,
                agree(k, "it is", "each is"), agree(k, "it", "them"))
        elif "{subject}" in pattern and pattern != DEFAULT_PATTERN:
            logger.warning(
                "%d recordings name no subject (%s): their names as read (%s: without "
                "the extension, and a FIF's _raw ending) do not fit the pattern %r, so "
                "each file is its own subject and leave-one-subject-out holds out files, "
                "not people; write the --pattern for the names as read, or give a "
                "subject column.", len(named_by_file), listed(named_by_file, 3), names,
                pattern)
        else:
            logger.warning(
                "%d recordings name no subject (%s): neither a subject column nor the "
                "pattern %r gives one, so each file is its own subject and "
                "leave-one-subject-out holds out files, not people; give a subject "
                "column or a --pattern with {subject}.", len(named_by_file),
                listed(named_by_file, 3), pattern)
    if labels_from != "markers":
        labels = ([f.label for f in files if f.label is not None]
                  + [lab for f in files for _, _, lab in f.stretches])
        _warn_near_duplicates(labels)
        _check_classes(labels, min_classes)
    return files


def _once(rows):
    """``rows`` with each recording once (a file named and in a folder named,
    or under two spellings of its path), the repeats said in a warning."""
    seen, out, again = set(), [], []
    for row in rows:
        key = Path(row[0]).resolve()
        if key in seen:
            again.append(Path(row[0]).name)
            continue
        seen.add(key)
        out.append(row)
    if again:
        from .._logging import logger

        logger.warning("%s %s given more than once; each recording is read once.",
                       listed(again, 3), agree(len(again), "was", "were"))
    return out


def _cell(row, key):
    """A manifest cell, stripped ('' when the column or the cell is missing)."""
    return (row.get(key) or "").strip()


def _seconds(cell, delimiter):
    """A start or stop cell in seconds; '12,5' too where ',' is no cell separator
    (spreadsheets of locales writing decimal commas separate cells with ';')."""
    cell = cell.strip()
    return float(cell.replace(",", ".") if delimiter != "," else cell)


def _not_csv(manifest, line, err) -> DatasetError:
    return DatasetError(f"{manifest}, line {line}: not a readable CSV row ({err}); save "
                        "the manifest as CSV.")


def _csv_rows(manifest, reader):
    """The rows of ``reader``; the csv module's own errors (a cell over its
    size limit) as one sentence naming the row's line."""
    line = 2
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise _not_csv(manifest, line, err) from None
        yield row
        line += 1


def _exists(path) -> bool:
    """Whether ``path`` exists; False for a name no file can have (a NUL byte,
    a name too long for the file system), as for one that is not there."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _manifest_path(cell, folder):
    """A manifest's path cell as a path, a relative one from the manifest's
    ``folder``; 'recs\\p1.xdf', as a manifest made on Windows names it, is read
    as 'recs/p1.xdf' where no file has the backslashed name."""
    p = Path(cell).expanduser()  # '~/recs/p1.xdf', as people write a home folder
    p = p if p.is_absolute() else folder / p
    if "\\" in cell and os.sep == "/" and not _exists(p):
        q = Path(PureWindowsPath(cell).as_posix())
        if not PureWindowsPath(cell).drive:  # 'C:\\...' is no path here
            q = q if q.is_absolute() else folder / q
            if _exists(q):
                return q
    return p


def _manifest_rows(manifest):
    """``(rows, stretches)`` of a CSV manifest: one ``(path, label, subject,
    session)`` per recording, and per recording labelled over time its
    ``(start, stop, label, line)`` stretches. A row naming no label, a recording
    listed twice, or stretches of one recording that overlap stop with one
    sentence naming the manifest's lines."""
    if manifest is None:
        raise DatasetError("--labels-from manifest needs --manifest FILE.")
    manifest = Path(manifest).expanduser()
    if not manifest.is_file():
        raise DatasetError(f"The manifest {manifest} does not exist.")
    # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark; ';' or a
    # tab separates cells in the CSV of spreadsheets in many locales
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        line = err.object[:err.start].count(b"\n") + 1
        raise DatasetError(
            f"{manifest}, line {line}: byte "
            f"{err.object[err.start]:#x} is not UTF-8 text; save the manifest as "
            "'CSV UTF-8'.") from None
    # per recording: the line it was first listed on, and its stretches (None:
    # labelled whole)
    rows, seen = [], {}
    with io.StringIO(text, newline="") as fid:
        first = fid.readline()
        fid.seek(0)
        delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
        reader = csv.DictReader(fid, delimiter=delimiter)
        try:
            names = reader.fieldnames
        except csv.Error as err:
            raise _not_csv(manifest, 1, err) from None
        if names:  # 'Path', ' label ': the names as meant
            reader.fieldnames = [n.strip().lower() for n in names]
            twice = sorted({n for n in reader.fieldnames
                            if n and reader.fieldnames.count(n) > 1})
            if twice:  # the csv module keeps the last such cell, without a word
                raise DatasetError(
                    f"The manifest {manifest} names the column {twice[0]!r} twice; keep "
                    "one column of each name.")
        missing = {"path", "label"} - set(reader.fieldnames or ())
        if missing:
            head = first.strip()
            raise DatasetError(
                f"The manifest {manifest} needs the columns path and label "
                f"(missing: {', '.join(sorted(missing))})"
                + (f"; its first line, {head[:60]!r}, is read as the header: "
                   "put the column names there" if head else
                   "; it is empty: write the header 'path,label' and a row per recording")
                + ".")
        timed = {"start", "stop"} <= set(reader.fieldnames or ())
        for line, row in enumerate(_csv_rows(manifest, reader), start=2):
            where = f"{manifest}, line {line}"
            if not _cell(row, "path"):
                raise DatasetError(f"{where}: the path is empty; give every row the "
                                   "recording it labels.")
            p = _manifest_path(_cell(row, "path"), manifest.parent)
            if not _exists(p):  # before counting classes: the first thing to fix
                shown = p if str(p).isprintable() else repr(str(p))  # a line break in a cell
                raise DatasetError(
                    f"{where}: the recording {shown} does not exist; fix "
                    "its path (a relative one is read from the manifest's folder).")
            if p.is_dir():  # a row labels one recording, not a folder's
                raise DatasetError(
                    f"{where}: {p} is a folder; a row labels one recording file: give "
                    "each of its recordings a row of its own.")
            label = _cell(row, "label")
            if not label:
                raise DatasetError(f"{where}: the label is empty; give every row the "
                                   "state it labels.")
            stretch = timed and _cell(row, "start")
            if str(p) in seen and (not stretch or seen[str(p)][1] is None):
                raise DatasetError(
                    f"{where}: {p.name} is listed again (first on line "
                    f"{seen[str(p)][0]}); label a recording once, or with start and stop "
                    "columns by its stretches.")
            subject, session = _cell(row, "subject") or None, _cell(row, "session") or None
            if stretch:
                try:
                    a, b = (_seconds(row["start"], delimiter),
                            _seconds(row["stop"], delimiter))
                except (TypeError, ValueError, AttributeError):
                    a = b = float("nan")
                if not 0 <= a < b:
                    raise DatasetError(
                        f"{where}: start and stop must be seconds with "
                        f"0 <= start < stop, got {row.get('start')!r}, {row.get('stop')!r}.")
                if str(p) not in seen:
                    seen[str(p)] = (line, [])
                    rows.append((str(p), None, subject, session))
                else:  # one recording is one person's one session
                    n0 = seen[str(p)][0]
                    _, _, s0, e0 = next(r for r in rows if r[0] == str(p))
                    for field, was, now in (("subject", s0, subject),
                                            ("session", e0, session)):
                        if now and was != now:  # a blank cell follows the first row
                            raise DatasetError(
                                f"{manifest}, lines {n0} and {line}: stretches of "
                                f"{p.name} give the {field}s {was or ''!r} and "
                                f"{now!r}, but a recording is one person's one "
                                f"session; give its rows one {field}.")
                seen[str(p)][1].append((a, b, label, line))
                continue
            seen[str(p)] = (line, None)
            rows.append((str(p), label, subject, session))
    if not rows:
        raise DatasetError(f"The manifest {manifest} lists no recording; give a row "
                           "per recording (or stretch) under its header.")
    stretches = {path: marks for path, (_, marks) in seen.items() if marks is not None}
    for path, marks in stretches.items():
        marks = sorted(marks)
        for (a0, b0, l0, n0), (a1, b1, l1, n1) in zip(marks, marks[1:]):
            if a1 < b0:
                raise DatasetError(
                    f"{manifest}, lines {min(n0, n1)} and {max(n0, n1)}: the stretches "
                    f"{a0:g}-{b0:g} s ({l0!r}) and {a1:g}-{b1:g} s ({l1!r}) of "
                    f"{Path(path).name} overlap, so a window there would have two "
                    "states; make them meet or leave a gap.")
    return rows, stretches


def _session_key(x):
    """Sort key of a session name: numbers as numbers, also inside names, so that
    day2 comes before day10 and ses-9 before ses-10 (a plain string sort would
    hold out day2 as the last day)."""
    if x.replace(".", "", 1).isdigit():
        return (0, float(x), x)
    parts = re.split(r"(\d+)", x)
    return (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts if p), x)


def _session_dates(dataset):
    """When each ``(subject, session)`` began, in Unix seconds: its first window's
    end on the recordings' clock, for sessions whose recordings all hold a date
    (:attr:`Recording.started <biofeedback.io.Recording.started>`)."""
    recs = dataset.recordings or []
    if dataset.recording is None or len(recs) != len(dataset.files) or not len(dataset):
        return {}
    started = np.array([math.nan if r.get("started") is None else r["started"]
                        for r in recs], dtype=float)
    when = started[dataset.recording] + dataset.t
    out = {}
    for key in set(zip(dataset.subject.tolist(), dataset.session.tolist())):
        w = when[(dataset.subject == key[0]) & (dataset.session == key[1])]
        if np.isfinite(w).all():
            out[key] = float(w.min())
    return out


def _session_order(dataset, dates=None):
    """Each subject's sessions, earliest first: by the dates their recordings
    hold when every one of the subject's sessions has one (names say nothing
    of time: 'pre' sorts after 'post'), else by name, numerically where names
    are or hold numbers."""
    dates = _session_dates(dataset) if dates is None else dates
    out = {}
    for s in set(dataset.subject.tolist()):
        names = sorted(set(dataset.session[dataset.subject == s].tolist()), key=_session_key)
        when = [dates.get((s, n)) for n in names]
        if None not in when:  # a stable sort: sessions of one date keep the names' order
            names = [n for _, n in sorted(zip(when, names), key=lambda p: p[0])]
        out[s] = names
    return out


#: What two spellings of one name make, and what to do, by what they name.
_NEAR_DUPLICATES = {
    "labels": "so they are %d classes; if they are one state, spell them alike.",
    "subjects": ("so validation takes them for %d people and can train on one while "
                 "testing the other; if they are one person, spell them alike."),
}


def _warn_near_duplicates(names, what="labels"):
    """Say when two labels (or subjects) differ only in case or spaces ('Relaxed',
    'relaxed '): they make two classes, each held by only some of the
    recordings (or two people, whom a split can put on both of its sides)."""
    from .._logging import logger

    groups = {}
    for name in sorted(set(names)):
        groups.setdefault(name.strip().casefold(), []).append(name)
    for spellings in groups.values():
        if len(spellings) > 1:
            logger.warning(
                f"The {what} %s differ only in case or spaces, {_NEAR_DUPLICATES[what]}",
                ", ".join(map(repr, spellings)), len(spellings))


def _check_classes(labels, min_classes=2):
    """Training needs two classes; scoring a model (``min_classes=1``) needs one."""
    classes = sorted(set(labels))
    if len(classes) < min_classes:
        raise DatasetError(
            f"Only one class ({classes[0]!r}) among the labels: a classifier needs "
            "at least two." if classes else "No labelled windows were found."
        )
    return classes


#: The mark that ends a stretch and labels nothing (a block's end, a manifest's stop).
END = "\x00end"
#: Kinds (first word) of the markers the project writes about a session itself
#: (:data:`~biofeedback._markers.SESSION_KINDS`: cues, thresholds, blocks,
#: pauses, losses, clock jumps, the dashboard's marks) and a simulated
#: session's artifact and outage truth. They neither label windows nor end a
#: stretch; a calibration block's ``block_start`` labels its block with its
#: ``state``, and in a recording without a protocol a scenario's ``state``
#: truth marker labels the time from it with its state (:func:`_session_marks`).
TELEMETRY = (*SESSION_KINDS, *TRUTH_KINDS)
#: Kinds the project always writes with ``key=value`` fields: without one, such
#: a text ("cue", "state relaxed") is another program's marker.
_WITH_FIELDS = (CUE, THRESHOLD, BLOCK_START, BLOCK_END, GAP_END, DROPPED, CLOCK_JUMP,
                *TRUTH_KINDS)
#: Kinds that end a session block's stretch.
_BLOCK_ENDS = (BLOCK_START, BLOCK_END, PROTOCOL_END, SESSION_END)


def _is_telemetry(text):
    """``(own, kind, fields)``: whether ``text`` is one of the project's own
    markers, and its kind and fields (:func:`~..feedback._policy.parse_marker`)."""
    from ..feedback._policy import parse_marker

    if str(text).split(" ", 1)[0] not in TELEMETRY:
        return False, "", {}
    kind, fields = parse_marker(str(text))
    return kind not in _WITH_FIELDS or bool(fields), kind, fields


def _session_marks(markers):
    """A recording's markers as labelling marks ``(t, text)``.

    The project's own markers (:data:`TELEMETRY`) are left out; a calibration
    block with a ``state`` becomes ``(start, state)`` and ``(end, END)``, its end
    the block's ``block_end`` (or the next block, or the recording's end). In a
    recording without protocol blocks (``biofeedback simulate --out``), a
    scenario's truth ``state NAME level=...`` becomes ``(t, NAME)``; with
    them, the blocks label it, as they label a live session's.
    Other programs' markers stay, each ending the stretch before it, but for
    those inside a calibration block: the block's state holds to its end.
    """
    plain, blocks, ends, truth, protocol = [], [], [], [], False
    for t, text in markers:
        own, kind, fields = _is_telemetry(text)
        if not own:  # ' rest' and 'rest\n' are one state; a blank marker ends a stretch
            plain.append((t, str(text).strip() or END))
            continue
        if kind in _BLOCK_ENDS:
            ends.append(t)
        protocol |= kind == BLOCK_START
        if kind == STATE and fields.get("level"):  # a scenario's truth: its state
            truth.append((t, str(text).split()[1]))
        if kind == BLOCK_START and fields.get("kind") == "calibration" \
                and fields.get("state"):
            blocks.append((t, fields["state"]))
    if not protocol:
        plain += truth
    ends = np.sort(np.asarray(ends, float))
    marks = []
    for a, state in blocks:
        later = ends[ends > a]
        b = float(later[0]) if len(later) else np.inf
        plain = [(t, s) for t, s in plain if not a <= t < b]
        marks += [(a, state)] + ([(b, END)] if np.isfinite(b) else [])
    # an end and a start at one time: the end first, so the start begins a stretch
    return sorted(marks + plain, key=lambda m: (m[0], m[1] != END))


def bad_spans(markers, spans):
    """Split MNE's ``BAD`` annotations (``BAD_muscle``, ``bad blink``: any text
    starting with 'bad', as ``reject_by_annotation`` takes them) from the
    markers: they mark data to leave out, not a state.

    Returns
    -------
    bad : list of (float, float)
        ``(start, stop)`` of each (stop = start for one without a duration).
    markers, spans : list
        The others.
    """
    def is_bad(text):
        return str(text)[:3].lower() == "bad"

    lasting = {(a, s): b for a, b, s in spans if is_bad(s)}
    bad = [(t, lasting.get((t, s), t)) for t, s in markers if is_bad(s)]
    if not bad:
        return [], markers, spans
    return (bad, [m for m in markers if not is_bad(m[1])],
            [sp for sp in spans if not is_bad(sp[2])])


def with_span_ends(markers, spans):
    """``markers`` with an :data:`END` mark where each marker with a duration
    ends (``spans``: ``(start, stop, text)``, an MNE file's annotations), so
    that it labels its span, not the time up to the next marker; a marker
    starting within the span ends it there already. In time order, an end
    before a marker of its time."""
    starts = np.sort(np.array([t for t, _ in markers], float))
    ends = []
    for a, b, _ in spans:
        k = int(np.searchsorted(starts, a, side="right"))  # the first marker after it
        if k == len(starts) or starts[k] >= b:
            ends.append((float(b), END))
    if not ends:
        return markers
    return sorted(markers + ends, key=lambda m: (m[0], m[1] != END))


def _label_windows(t_end, length, markers, marker_labels, by="inside"):
    """Label of each window from the markers (None outside labelled stretches).

    ``by="inside"``: windows lying wholly in a stretch; ``"end"``: every window
    takes the state at its newest sample (what a live user is in then).
    An :data:`END` mark ends a stretch and labels nothing. The last stretch,
    which runs to the recording's end, labels nothing by either rule when no
    whole window fits in it (a closing ``end`` marker a second before the end
    is no state, in training or scoring).
    """
    labels = np.full(len(t_end), None, dtype=object)
    if not markers:
        return labels
    times = np.array([m[0] for m in markers] + [np.inf])
    for i, (t, s) in enumerate(markers):
        if s == END or (marker_labels and s not in marker_labels):
            continue
        whole = (t_end - length >= t) & (t_end < times[i + 1])
        if np.isinf(times[i + 1]) and not whole.any():
            continue
        labels[whole if by == "inside" else (t_end >= t) & (t_end < times[i + 1])] = s
    return labels
