"""Labelled recordings in, the live engine's windows and features out."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._checks import _check_option, _import_optional
from .._logging import logger
from ..errors import BiofeedbackError

DEFAULT_PATTERN = "{subject}-{label}-{session}"
LABEL_SOURCES = ("filename", "markers", "manifest")


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


def _stem(path):
    name = Path(path).name
    return name.split(".", 1)[0] if not name.startswith(".") else name


def label_files(paths=(), labels_from="filename", pattern=DEFAULT_PATTERN,
                manifest=None, *, min_classes=2) -> list[LabelledFile]:
    """Say the subject, session and label of every recording.

    Parameters
    ----------
    paths : list of path-like
        Recordings (files, or folders whose files are all taken).
    labels_from : "filename" | "markers" | "manifest"
        Where the labels come from: the file name read with ``pattern``; the
        recording's markers (each marker labels the windows up to the next
        one); or the CSV ``manifest``.
    pattern : str
        File-name pattern (without extension) with ``{subject}``, ``{label}``
        and ``{session}`` fields, e.g. ``"{subject}-{label}-{session}"``. With
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
        if manifest is None:
            raise DatasetError("--labels-from manifest needs --manifest FILE.")
        manifest = Path(manifest)
        if not manifest.is_file():
            raise DatasetError(f"The manifest {manifest} does not exist.")
        with open(manifest, newline="", encoding="utf-8") as fid:
            reader = csv.DictReader(fid)
            missing = {"path", "label"} - set(reader.fieldnames or ())
            if missing:
                raise DatasetError(
                    f"The manifest {manifest} needs the columns path and label "
                    f"(missing: {', '.join(sorted(missing))})."
                )
            timed = {"start", "stop"} <= set(reader.fieldnames or ())
            stretches = {}
            for line, row in enumerate(reader, start=2):
                p = Path(row["path"])
                p = p if p.is_absolute() else manifest.parent / p
                if timed and (row.get("start") or "").strip():
                    try:
                        a, b = float(row["start"]), float(row["stop"])
                    except (TypeError, ValueError):
                        a = b = float("nan")
                    if not 0 <= a < b:
                        raise DatasetError(
                            f"{manifest}, line {line}: start and stop must be seconds with "
                            f"0 <= start < stop, got {row.get('start')!r}, {row.get('stop')!r}.")
                    if str(p) not in stretches:
                        stretches[str(p)] = []
                        rows.append((str(p), None, row.get("subject") or None,
                                     row.get("session") or None))
                    stretches[str(p)].append((a, b, row["label"].strip()))
                    continue
                rows.append((str(p), row["label"].strip(), row.get("subject") or None,
                             row.get("session") or None))
    else:
        for p in paths:
            p = Path(p)
            if p.is_dir():
                rows += [(str(f), None, None, None) for f in sorted(p.iterdir())
                         if f.is_file() and not f.name.startswith(".")]
            else:
                rows.append((str(p), None, None, None))
    if not rows:
        raise DatasetError("No recordings were given.")
    files, unmatched = [], []
    for path, label, subject, session in rows:
        m = regex.fullmatch(_stem(path))
        groups = m.groupdict() if m else {}
        if labels_from == "filename":
            if m is None or not groups.get("label"):
                unmatched.append(Path(path).name)
                continue
            label = groups["label"]
        subject = subject or groups.get("subject") or _stem(path)
        session = session or groups.get("session") or "1"
        timed = tuple(sorted(stretches.get(path, ()))) if labels_from == "manifest" else ()
        files.append(LabelledFile(path, subject, session, label, stretches=timed))
    if labels_from == "filename" and not files:
        shown = ", ".join(unmatched[:3]) + (" ..." if len(unmatched) > 3 else "")
        raise DatasetError(
            f"The label pattern {pattern!r} matches none of the {len(unmatched)} "
            f"file names ({shown})."
        )
    if unmatched:
        raise DatasetError(
            f"{len(unmatched)} file name(s) do not fit the label pattern {pattern!r}, "
            f"e.g. {unmatched[0]}; rename them or pass --pattern."
        )
    if labels_from != "markers":
        _check_classes([f.label for f in files if f.label is not None]
                       + [lab for f in files for _, _, lab in f.stretches], min_classes)
    return files


def _check_classes(labels, min_classes=2):
    """Training needs two classes; scoring a model (``min_classes=1``) needs one."""
    classes = sorted(set(labels))
    if len(classes) < min_classes:
        raise DatasetError(
            f"Only one class ({classes[0]!r}) among the labels: a classifier needs "
            "at least two." if classes else "No labelled windows were found."
        )
    return classes


@dataclass
class Dataset:
    """Windows of labelled recordings, as the live engine saw them.

    Attributes
    ----------
    X : ndarray, shape (n_windows, n_features)
        Engine features.
    y : ndarray of str, shape (n_windows,)
        Labels.
    subject, session : ndarray of str, shape (n_windows,)
    recording : ndarray of int, shape (n_windows,)
        Index into ``files``.
    t : ndarray, shape (n_windows,)
        End of each window in seconds since the recording's first sample.
    gated : ndarray of bool
        Windows the quality gates would pause feedback on.
    windows : ndarray, shape (n_windows, n_channels, n_times) | None
        The filtered windows (only when asked for).
    wid : ndarray of int, shape (n_windows,)
        Position of each window among all windows the engine gave for its
        recording (labelled or not, gated or not).
    segment : ndarray of int, shape (n_windows,)
        Engine restarts (timestamp gaps) before the window in its recording.
    full : list of dict
        Per recording, every window the engine gave, in order: ``"X"``,
        ``"segment"`` and (when asked for) ``"windows"``. Validation smooths
        class probabilities over these, as the live engine does, and scores
        the selected rows.
    """

    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    session: np.ndarray
    recording: np.ndarray
    t: np.ndarray
    gated: np.ndarray
    feature_names: list
    ch_names: list
    sfreq: float
    window_length: float
    files: list
    config: object = None
    profile: str = ""
    windows: np.ndarray | None = None
    n_gated_dropped: int = 0
    recordings: list = field(default_factory=list)
    wid: np.ndarray | None = None
    segment: np.ndarray | None = None
    full: list = field(default_factory=list)
    gated_mode: str = "exclude"

    @property
    def classes(self):
        return sorted(set(self.y.tolist()))

    def __len__(self):
        return len(self.y)

    def select(self, mask) -> Dataset:
        """The windows where ``mask`` is True."""
        mask = np.asarray(mask)
        return replace(
            self, X=self.X[mask], y=self.y[mask], subject=self.subject[mask],
            session=self.session[mask], recording=self.recording[mask], t=self.t[mask],
            gated=self.gated[mask],
            windows=None if self.windows is None else self.windows[mask],
            wid=None if self.wid is None else self.wid[mask],
            segment=None if self.segment is None else self.segment[mask],
        )

    def summary(self) -> dict:
        """JSON-ready description (stored in model files and reports)."""
        counts = {c: int(np.sum(self.y == c)) for c in self.classes}
        return {
            "n_windows": len(self),
            "n_recordings": len(self.files),
            "n_gated_dropped": int(self.n_gated_dropped),
            "n_gated_kept": int(self.gated.sum()),
            "windows_per_class": counts,
            "subjects": sorted(set(self.subject.tolist())),
            "sessions": sorted(set(self.session.tolist())),
            "files": [Path(f.path).name for f in self.files],
            "window_length_s": self.window_length,
        }


_PARALLEL_FROM_S = 3 * 3600.0  # seconds of recordings from which extraction uses workers


def _probe(path, profile, rec=None):
    from ..io import read_recording

    rec = read_recording(path) if rec is None else rec
    return rec, {
        "ch_names": list(rec.ch_names),
        "sfreq": float(rec.sfreq),
        "duration": float(rec.n_times / rec.sfreq) if rec.sfreq else 0.0,
        "profile": profile or rec.profile,
        "markers": [(float(t), str(s)) for t, s in rec.markers],
    }


def _extract_one(path, config, profile_name, need_windows, rec=None):
    """Read one recording and run the live engine over it (a worker's job)."""
    from ..engine import Engine, EngineOutput
    from ..hardware import get_profile
    from ..io import read_recording

    rec = read_recording(path) if rec is None else rec
    engine = Engine(config, rec.ch_names, rec.sfreq, get_profile(profile_name),
                    keep_windows=need_windows)
    # the batch driver: the live engine's windows, computed as stacks
    results = engine.process_batch(rec.data, rec.timestamps)
    out = EngineOutput.from_results(results, engine)
    return {
        "features": out.features,
        "gated": out.gated,
        "t_end": out.t_end,
        "segment": np.array([r.segment for r in results], dtype=np.int64),
        "windows": out.windows,
        "t0": float(rec.timestamps[0]) if rec.n_times else 0.0,
        "feature_names": out.feature_names,
        "n_resets": engine.n_resets,
    }


def _parallel_map(func, items, n_jobs, scheduler, desc, progress):
    """Map ``func`` over ``items`` with joblib processes or a Dask cluster."""
    import contextlib

    from joblib import Parallel, delayed, parallel_config

    with contextlib.ExitStack() as stack:
        if scheduler:
            distributed = _import_optional("distributed", "dask", "a Dask scheduler",
                                           "dask[distributed]")
            if isinstance(scheduler, str):
                stack.enter_context(distributed.Client(scheduler))  # the default client from here
            stack.enter_context(parallel_config(backend="dask"))
            n_jobs = -1
        elif n_jobs in (None, 1) or len(items) < 2:
            return [func(*it) for it in _progress(items, desc, progress, len(items))]
        else:
            stack.enter_context(parallel_config(backend="loky"))
        gen = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(func)(*it) for it in items)
        return list(_progress(gen, desc, progress, len(items)))


def _progress(iterable, desc, enabled, total):
    if not enabled:
        return iterable
    import sys

    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit="file", file=sys.stderr,
                disable=not sys.stderr.isatty())


def _label_windows(t_end, length, markers, marker_labels, by="inside"):
    """Label of each window from the markers (None outside labelled stretches).

    ``by="inside"``: windows lying wholly in a stretch; ``"end"``: every window
    takes the state at its newest sample (what a live user is in then).
    """
    labels = np.full(len(t_end), None, dtype=object)
    if not markers:
        return labels
    times = np.array([m[0] for m in markers] + [np.inf])
    for i, (t, s) in enumerate(markers):
        if marker_labels and s not in marker_labels:
            continue
        start = t_end if by == "end" else t_end - length
        inside = (start >= t) & (t_end < times[i + 1])
        labels[inside] = s
    return labels


def extract_dataset(files, config=None, *, profile=None, gated="exclude",
                    need_windows=False, n_jobs=-1, scheduler=None, progress=False,
                    marker_labels=None, min_classes=2, label_by="inside") -> Dataset:
    """Run the live engine over labelled recordings and stack the windows.

    Every recording is read and checked first (channels, rate, length, labels),
    so bad input fails before the long work starts; then each goes through
    :meth:`biofeedback.engine.Engine.run` (the live code path) in parallel.

    Parameters
    ----------
    files : list of LabelledFile
        From :func:`label_files`.
    config : PipelineConfig | None
        The pipeline (windows, filters, features); None loads the default.
    profile : str | None
        Board profile name; None takes the one each reader reports.
    gated : "exclude" | "include"
        Drop the windows the quality gates would pause feedback on (the
        default: cues only ever come from clean windows; counted in
        ``n_gated_dropped``), or keep them.
    need_windows : bool
        Keep the filtered windows too (covariance-based models).
    n_jobs : int | None
        joblib processes (-1: one per core; 1 or None: serial).
    scheduler : str | distributed.Client | None
        Address of a Dask scheduler: run on that cluster instead.
    progress : bool
        Show a progress bar on stderr (when it is a terminal).
    marker_labels : list of str | None
        With marker labels: the marker texts that are classes (others end a
        labelled stretch); None takes every marker text.
    label_by : "inside" | "end"
        With marker labels: label windows lying wholly inside a stretch, or
        every window by the state at its end (streams that switch state).

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    DatasetError
        Mismatched channel sets or rates, a recording too short for a window,
        fewer than two classes.
    """
    from ..config import load_pipeline

    _check_option("gated", gated, ("exclude", "include"))
    config = load_pipeline() if config is None else config
    if not files:
        raise DatasetError("No recordings were given.")
    # every file is read once, here: bad input fails before the long work
    # starts, and the extraction below reuses what was read
    read = _parallel_map(_probe, [(f.path, profile, f.recording) for f in files], n_jobs=1,
                         scheduler=None, desc="checking", progress=progress)
    recs, probes = [r for r, _ in read], [p for _, p in read]
    del read
    first = probes[0]
    for f, p in zip(files, probes):
        if p["ch_names"] != first["ch_names"]:
            raise DatasetError(
                f"{Path(f.path).name} has channels {', '.join(p['ch_names'])} but "
                f"{Path(files[0].path).name} has {', '.join(first['ch_names'])}; "
                "train on recordings with one channel layout."
            )
        if p["sfreq"] != first["sfreq"]:
            raise DatasetError(
                f"{Path(f.path).name} is sampled at {p['sfreq']:g} Hz but "
                f"{Path(files[0].path).name} at {first['sfreq']:g} Hz."
            )
        if p["duration"] < config.window.length:
            raise DatasetError(
                f"{Path(f.path).name} lasts {p['duration']:.2f} s, shorter than one "
                f"{config.window.length:g} s window."
            )
        if not p["profile"]:
            raise DatasetError(
                f"The board of {Path(f.path).name} is unknown; pass --profile NAME "
                "(see 'biofeedback boards')."
            )
    profiles = {p["profile"] for p in probes}
    if len(profiles) > 1:
        raise DatasetError(
            f"The recordings come from different boards ({', '.join(sorted(profiles))})."
        )
    if any(f.label is None and not f.stretches for f in files):
        labels = {s for p in probes for _, s in p["markers"]
                  if not marker_labels or s in marker_labels}
        if not labels:
            raise DatasetError("No recording holds a marker to label windows with.")
        _check_classes(labels, min_classes)
    profile_name = probes[0]["profile"]
    items = [(f.path, config, profile_name, need_windows, rec) for f, rec in zip(files, recs)]
    if scheduler is None and sum(p["duration"] for p in probes) < _PARALLEL_FROM_S:
        # the batch engine does an hour of EEG in about a second: below a few
        # hours, starting worker processes costs more than it saves
        n_jobs = 1
    results = _parallel_map(_extract_one, items, n_jobs, scheduler,
                            "features", progress)
    del recs, items
    cols = {k: [] for k in ("X", "y", "subject", "session", "recording", "t", "gated",
                            "windows", "wid", "segment")}
    per_rec, full = [], []
    for i, (f, p, r) in enumerate(zip(files, probes, results)):
        n = len(r["t_end"])
        if f.label is not None:
            labels = np.full(n, f.label, dtype=object)
        elif f.stretches:  # a stretch ends where the next begins, or at an end mark
            end = "\x00end"
            marks = sorted([(r["t0"] + a, lab) for a, _, lab in f.stretches]
                           + [(r["t0"] + b, end) for _, b, _ in f.stretches],
                           key=lambda m: (m[0], m[1] != end))
            labels = _label_windows(r["t_end"], config.window.length, marks,
                                    {lab for _, _, lab in f.stretches}, label_by)
        else:
            labels = _label_windows(r["t_end"], config.window.length, p["markers"],
                                    marker_labels, label_by)
        keep = np.array([lab is not None for lab in labels], bool)
        cols["X"].append(r["features"][keep])
        cols["y"].append(labels[keep].astype(str))
        cols["subject"].append(np.full(keep.sum(), f.subject))
        cols["session"].append(np.full(keep.sum(), f.session))
        cols["recording"].append(np.full(keep.sum(), i))
        cols["t"].append(r["t_end"][keep] - r["t0"])
        cols["gated"].append(r["gated"][keep])
        cols["wid"].append(np.flatnonzero(keep))
        cols["segment"].append(r["segment"][keep])
        if need_windows:
            cols["windows"].append(r["windows"][keep])
        full.append({"X": r["features"], "segment": r["segment"], "gated": r["gated"],
                     "t": r["t_end"] - r["t0"],
                     "markers": [(a, lab) for a, _, lab in f.stretches] if f.stretches
                     else [(t - r["t0"], str(s)) for t, s in p["markers"]
                           if not marker_labels or s in marker_labels]
                     if f.label is None else [],
                     "windows": r["windows"] if need_windows else None})
        per_rec.append({"file": Path(f.path).name, "subject": f.subject,
                        "session": f.session, "label": f.label, "n_windows": int(n),
                        "n_gated": int(r["gated"].sum()), "n_resets": r["n_resets"]})
    ds = Dataset(
        X=np.concatenate(cols["X"]), y=np.concatenate(cols["y"]),
        subject=np.concatenate(cols["subject"]).astype(str),
        session=np.concatenate(cols["session"]).astype(str),
        recording=np.concatenate(cols["recording"]), t=np.concatenate(cols["t"]),
        gated=np.concatenate(cols["gated"]), feature_names=results[0]["feature_names"],
        ch_names=first["ch_names"], sfreq=first["sfreq"],
        window_length=config.window.length, files=list(files), config=config,
        profile=profile_name,
        windows=np.concatenate(cols["windows"]) if need_windows else None,
        recordings=per_rec, wid=np.concatenate(cols["wid"]),
        segment=np.concatenate(cols["segment"]), full=full, gated_mode=gated,
    )
    if len(ds) == 0:
        raise DatasetError("No labelled windows were found.")
    timed = {lab for f in files for _, _, lab in f.stretches}
    if timed or (marker_labels and any(f.label is None for f in files)):
        marked = timed | {s for p in probes for _, s in p["markers"]
                          if marker_labels and s in marker_labels}
        short = sorted(marked - set(ds.y.tolist()))
        if short and timed:
            raise DatasetError(
                f"The manifest's label {short[0]!r} covers no whole "
                f"{config.window.length:g} s window; label stretches of at least one "
                "window.")
        if short:
            raise DatasetError(
                f"The marker label {short[0]!r} covers no whole "
                f"{config.window.length:g} s window in any recording; label stretches "
                "of at least one window, or leave the label out with --marker-labels.")
    if gated == "exclude":
        n_gated = int(ds.gated.sum())
        ds = ds.select(~ds.gated)
        ds.n_gated_dropped = n_gated
        logger.info("Dropped %d of %d windows the quality gates flag.", n_gated,
                    n_gated + len(ds))
        if len(ds) == 0:
            raise DatasetError("Every window is gated by the quality gates; pass "
                               "--gated include to train on them anyway.")
    _check_classes(ds.y.tolist(), min_classes)
    return ds
