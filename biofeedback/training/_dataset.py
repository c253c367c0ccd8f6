"""Labelled recordings in, the live engine's windows and features out.

:func:`~._labels.label_files` says what each recording is; :func:`extract_dataset`
reads and checks every recording, runs the engine over each (the workers of
:mod:`._workers`) and stacks the labelled windows in a :class:`Dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._checks import _check_option
from .._logging import logger
from .._markers import DROPPED, GAP_END, GAP_START, LOSSES_MARKED, TRUTH_KINDS
from .._words import agree, listed
from ..hardware._profiles import names_by_site, respelt_note
from ._labels import (
    DEFAULT_PATTERN,
    END,
    LABEL_SOURCES,
    DatasetError,
    LabelledFile,
    _check_classes,
    _label_windows,
    _session_marks,
    _warn_near_duplicates,
    label_files,
)
from ._warnings import DatasetWarnings
from ._workers import _extract_one, _parallel_map, _probe

__all__ = ["DEFAULT_PATTERN", "LABEL_SOURCES", "Dataset", "DatasetError", "LabelledFile",
           "extract_dataset", "label_files"]


@dataclass
class Dataset(DatasetWarnings):
    """Windows of labelled recordings, as the live engine saw them.

    Attributes
    ----------
    X : ndarray, shape (n_windows, n_features)
        Engine features.
    Xc : ndarray, shape (n_windows, n_features)
        The same as a channel-balanced model reads them: NaN in the columns
        of channels the quality gates leave out of the window
        (:meth:`biofeedback.features.FeatureSet.clean_view`).
    columns : list of (int, int)
        Each feature column's channel (-1: pooled) and item.
    y : ndarray of str, shape (n_windows,)
        Labels.
    subject, session : ndarray of str, shape (n_windows,)
    recording : ndarray of int, shape (n_windows,)
        Index into ``files``.
    t : ndarray, shape (n_windows,)
        End of each window in seconds since the recording's first sample.
    gated : ndarray of bool
        Windows the quality gates would pause feedback on.
    left_out : ndarray of bool, shape (n_windows, n_channels) | None
        Channels the quality gates leave out of the window (railed, flat,
        mains-dominated or bad electrodes) without gating it.
    windows : ndarray, shape (n_windows, n_channels, n_times) | None
        The filtered windows (only when asked for).
    wid : ndarray of int, shape (n_windows,)
        Position of each window among all windows the engine gave for its
        recording (labelled or not, gated or not).
    segment : ndarray of int, shape (n_windows,)
        Engine restarts (timestamp gaps) before the window in its recording.
    full : list of dict
        Per recording, every window the engine gave, in order: ``"X"``,
        ``"Xc"``, ``"segment"`` and (when asked for) ``"windows"``. Validation smooths
        class probabilities over these, as the live engine does, and scores
        the selected rows.
    digests : list of str | None
        Per recording, a digest of its EEG (None: flat throughout), by which
        ``evaluate`` knows a training recording under another name.
    files : list of LabelledFile
        The recordings, in order; a one-state recording (labelled by file name
        or manifest) keeps the data read (``recording``), from which
        validation builds its streams without reading the file again.
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
    left_out: np.ndarray | None = None
    Xc: np.ndarray | None = None
    columns: list = field(default_factory=list)
    digests: list = field(default_factory=list)

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
            left_out=None if self.left_out is None else self.left_out[mask],
            Xc=None if self.Xc is None else self.Xc[mask],
        )

    def inputs(self, kind):
        """What a model with input ``kind`` reads for every window:
        ``X``, ``Xc`` ("clean_features") or ``windows``."""
        return model_inputs(vars(self), kind)

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
            # what evaluate knows a training recording by, under any name
            "eeg_digests": [d for d in self.digests if d],
            "window_length_s": self.window_length,
            "left_out_by_class": self.left_out_by_class(),
        }

    def left_out_by_class(self) -> dict:
        """Per channel and class, the share of windows the gates leave it out of."""
        if self.left_out is None or not len(self):
            return {}
        return {ch: {c: float(self.left_out[self.y == c, k].mean()) for c in self.classes}
                for k, ch in enumerate(self.ch_names)}


def model_inputs(rows, kind):
    """The matrix a model with input ``kind`` reads from ``rows`` (a
    :class:`Dataset`'s fields, or one recording's ``full`` entry)."""
    key = {"windows": "windows", "clean_features": "Xc"}.get(kind, "X")
    return rows[key]


#: What ``simulate --out`` marks: its scenario's truth and the outages it scripted.
_TRUTH_AND_LOSSES = {*TRUTH_KINDS, GAP_START, GAP_END, DROPPED, LOSSES_MARKED}
_PARALLEL_FROM_S = 3 * 3600.0  # seconds of recordings from which extraction uses workers


def _check_stretches(f, t, labels, length, by, duration):
    """Every manifest row's stretch labels a window of its recording, or one sentence.

    A row whose stretch is shorter than a window, or lies past the recording's
    end (minutes written as seconds, a row for another file), would otherwise
    be left out without a word while other rows keep its label alive.
    """
    start = t - length if by == "inside" else t
    for a, b, lab in f.stretches:
        inside = (start >= a - 1e-9) & (t < b)
        if not np.any(labels[inside] == lab):
            what = "whole window" if by == "inside" else "window end"
            raise DatasetError(
                f"The manifest's label {lab!r} covers no whole {length:g} s window in "
                f"{Path(f.path).name} at {a:g}-{b:g} s (the recording lasts "
                f"{duration:.1f} s, and no {what} falls in the stretch); label stretches "
                "of at least one window, in seconds from the recording's first sample.")
        if b > duration + length:  # a typo (750 for 75), minutes, or another file's row
            logger.warning(
                "The manifest's stretch %g-%g s (%r) of %s ends %.1f s after the "
                "recording (which lasts %.1f s); only its windows up to the end are "
                "labelled: check that stop is in seconds from the recording's first "
                "sample.", a, b, lab, Path(f.path).name, b - duration, duration)


def _class_marks(markers, marker_labels):
    """The ``(t, text)`` markers that name a class: not the end mark, and among
    ``marker_labels`` when it is given."""
    return [(t, s) for t, s in markers
            if s != END and (not marker_labels or s in marker_labels)]


def _no_marked_window(files, probes, length):
    """Say why marker-labelled recordings gave no window (markers closer together
    than a window, e.g. a stimulus program's every half second), when they did."""
    for f, p in zip(files, probes):
        times = sorted(t for t, _ in p["markers"])
        if f.label is not None or f.stretches or len(times) < 2:
            continue
        gap = max(b - a for a, b in zip(times, times[1:]))
        texts = len({s for _, s in p["markers"]})
        raise DatasetError(
            f"No {length:g} s window lies wholly between a marker of {Path(f.path).name} "
            f"and the next: its {len(times)} markers ({texts} different texts) are at "
            f"most {gap:.1f} s apart, and every marker ends the stretch before it; "
            "label the states' stretches with a manifest (--labels-from manifest, "
            "columns path,label,start,stop) instead.")


def _is_code(text):
    """Whether a marker's text is a number: a trigger channel's event code."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _warn_codes_cut(name, t_end, length, markers, marker_labels, label_by, labels):
    """Say when numeric trigger codes, not classes, end labelled stretches.

    A code right after a class's marker ends its stretch there (any other
    marker does); the windows its stretch would have labelled without the
    codes are counted and said, with the option that reads through them.
    """
    codes = sorted({markers[i + 1][1] for i in range(len(markers) - 1)
                    if markers[i][1] in marker_labels and markers[i + 1][1] != END
                    and markers[i + 1][1] not in marker_labels
                    and _is_code(markers[i + 1][1])}, key=float)
    if not codes:
        return
    every = {s for _, s in markers if s not in marker_labels and _is_code(s)}
    through = _label_windows(t_end, length, [m for m in markers if m[1] not in every],
                             marker_labels, label_by)
    lost = int(np.count_nonzero(through != None) - np.count_nonzero(labels != None))  # noqa: E711
    if lost > 0:
        logger.warning(
            "%s: the trigger codes %s end the labelled stretches they fall in, leaving "
            "%d %s unlabelled; give --ignore-markers %s to read through them.",
            name, listed(codes, 8), lost, "window" if lost == 1 else "windows",
            ",".join(sorted(every, key=float)))


def extract_dataset(files, config=None, *, profile=None, gated="exclude",
                    need_windows=False, n_jobs=-1, scheduler=None, progress=False,
                    marker_labels=None, min_classes=2, label_by="inside",
                    expect=None, stream=None, ignore_markers=None,
                    ch_names=None) -> Dataset:
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
    ignore_markers : list of str | None
        With marker labels: marker texts that neither label windows nor end a
        stretch (trigger codes such as ``1``, ``2`` inside a labelled state).
    label_by : "inside" | "end"
        With marker labels: label windows lying wholly inside a stretch, or
        every window by the state at its end (streams that switch state).
    expect : callable | None
        ``expect(ch_names, sfreq, path)``, called on every recording
        before extraction; it raises (one sentence) when the recording cannot
        be used, e.g. a model's channels or rate it lacks.
    stream : str | None
        The EEG stream to read from XDF files holding several (default: the
        one with the most samples).
    ch_names : list of str | None
        The channel names to read every recording by (a model's); default:
        the first recording's. A recording that spells the same 10-20 sites
        otherwise (``EEG Fp1``, ``FP1``, ``Fp1-REF`` for ``Fp1``) is read
        under these names, said in a warning.

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
    read = _parallel_map(_probe, [(f.path, profile, f.recording, stream) for f in files],
                         n_jobs=1, scheduler=None, desc="checking", progress=progress)
    recs, probes = [r for r, _ in read], [p for _, p in read]
    del read
    ignored = set(ignore_markers or ())
    for f, p in zip(files, probes):  # a session's own markers label by its blocks
        if f.label is None and not f.stretches:
            if ignored:  # the user's: as if the file did not hold them
                p["markers"] = [m for m in p["markers"] if m[1] not in ignored]
            raw, p["markers"] = p["markers"], _session_marks(p["markers"])
            if raw and not p["markers"]:  # a simulated recording's artifact truth alone?
                kinds = {str(s).split(" ", 1)[0] for _, s in raw}
                truth = kinds & set(TRUTH_KINDS) and not kinds - _TRUTH_AND_LOSSES
                p["own_markers_only"] = "truth" if truth else "session"
    want = list(ch_names) if ch_names is not None else list(probes[0]["ch_names"])
    respelt = {}  # (their names, ours): the files read so
    for i, (f, p) in enumerate(zip(files, probes)):
        names = names_by_site(p["ch_names"], want)
        if names != p["ch_names"]:
            key = tuple((a, b) for a, b in zip(p["ch_names"], names) if a != b)
            respelt.setdefault(key, []).append(Path(f.path).name)
            recs[i] = replace(recs[i], ch_names=names)
            p["ch_names"] = names
    for pairs, named in respelt.items():
        logger.warning("%s", respelt_note(
            f"{listed(named, 3)} {agree(len(named), 'names', 'name')}",
            [a for a, _ in pairs], [b for _, b in pairs]))
    first = probes[0]
    several = ch_names is not None and len({frozenset(p["ch_names"]) for p in probes}) > 1
    for i, (f, p) in enumerate(zip(files, probes)):
        if expect is not None:  # e.g. a model's channels and rate: before the long work
            expect(p["ch_names"], p["sfreq"], str(f.path))
        if (several and p["ch_names"] != list(ch_names)
                and set(ch_names) <= set(p["ch_names"])
                and len(set(p["ch_names"])) == len(p["ch_names"])):
            # a model's channels among more (a cap with Cz besides) beside
            # recordings of other layouts: read those, in its order, so they are
            # scored together (one layout alone runs as live, every channel)
            order = [p["ch_names"].index(c) for c in ch_names]
            recs[i] = replace(recs[i], data=recs[i].data[order], ch_names=list(ch_names))
            p["ch_names"] = list(ch_names)
        if (p["ch_names"] != first["ch_names"]
                and sorted(p["ch_names"]) == sorted(first["ch_names"])
                and len(set(p["ch_names"])) == len(p["ch_names"])):
            # the same channels in another order (files written by other
            # programs): read by name, never by position
            order = [p["ch_names"].index(c) for c in first["ch_names"]]
            recs[i] = replace(recs[i], data=recs[i].data[order],
                              ch_names=list(first["ch_names"]))
            p["ch_names"] = list(first["ch_names"])
        if p["ch_names"] != first["ch_names"]:
            common = [c for c in first["ch_names"] if c in p["ch_names"]]
            extra = [c for c in p["ch_names"] + first["ch_names"] if c not in common]
            raise DatasetError(
                f"{Path(f.path).name} has channels {', '.join(p['ch_names'])} but "
                f"{Path(files[0].path).name} has {', '.join(first['ch_names'])}; "
                "train on recordings with one channel layout"
                + (f" (both hold {listed(common, 16)}: drop {listed(extra, 8)} from the "
                   f"recordings that hold {agree(len(extra), 'it', 'them')}, e.g. with "
                   "MNE's drop_channels, then save)"
                   if common and extra and ch_names is None else "") + "."
            )
        if p["sfreq"] != first["sfreq"]:
            raise DatasetError(
                f"{Path(f.path).name} is sampled at {p['sfreq']:g} Hz but "
                f"{Path(files[0].path).name} at {first['sfreq']:g} Hz; train on "
                "recordings of one rate (a model reads data at the rate it was trained "
                "at), leaving the others out."
            )
        if p["duration"] < config.window.length:
            raise DatasetError(
                f"{Path(f.path).name} lasts {p['duration']:.2f} s, shorter than one "
                f"{config.window.length:g} s window; leave it out, or train with "
                "--pipeline FILE whose [window] length is shorter."
            )
        if not p["profile"]:
            raise DatasetError(
                f"The board of {Path(f.path).name} is unknown; pass --profile NAME "
                "(profile= in Python; 'biofeedback boards' lists them), or --profile lsl "
                "(profile='lsl') for a headset without a profile (channels and rate "
                "from the file, no rail check)."
            )
    digests = _say_copies(files, recs)
    profiles = {p["profile"] for p in probes}
    if len(profiles) > 1:
        example = {}
        for f, p in zip(files, probes):
            example.setdefault(p["profile"], Path(f.path).name)
        raise DatasetError(
            "The recordings come from different boards ("
            + ", ".join(f"{b}: {example[b]}" for b in sorted(profiles))
            + "); train on one board's recordings, or pass --profile NAME (profile= in "
            "Python) when they are one headset the files name differently.")
    if any(f.label is None and not f.stretches for f in files):
        held = sorted({s for p in probes for _, s in p["markers"] if s != END})
        absent = [m for m in marker_labels or () if m not in held]
        if absent and held:
            raise DatasetError(
                f"--marker-labels names {absent[0]!r}, which no recording's markers "
                f"hold (they hold {listed(map(repr, held), 8)}); spell it as the "
                "markers do.")
        labels = {s for p in probes for _, s in _class_marks(p["markers"], marker_labels)}
        _warn_near_duplicates(labels)
        if not labels:
            own, only = next(((f, p["own_markers_only"]) for f, p in zip(files, probes)
                              if p.get("own_markers_only")), (None, None))
            if only == "truth":
                raise DatasetError(
                    f"{Path(own.path).name} holds only its scenario's artifact and fault "
                    "markers ('event ...', 'fault ...'), which label nothing, and no "
                    "'state' marker; give the scenario a [[timeline]] of states, or label "
                    "its stretches with a manifest (--labels-from manifest, columns "
                    "path,label,start,stop).")
            if only == "session":
                raise DatasetError(
                    f"{Path(own.path).name} holds only a session's own markers (cues, "
                    "blocks, thresholds), which label nothing, and no calibration block "
                    "naming a state; run calibration blocks (kind = \"calibration\", "
                    "state = \"...\") or label its stretches with a manifest "
                    "(--labels-from manifest, columns path,label,start,stop).")
            raise DatasetError("No recording holds a marker to label windows with.")
        _check_classes(labels, min_classes)
    # what reading found (a stream chosen among several, gaps, rails) is said, as
    # info and replay say it, once every recording passed the checks above
    for f, p in zip(files, probes):
        for w in p.get("warnings", ()):
            logger.warning("%s: %s", Path(f.path).name, w)
    profile_name = probes[0]["profile"]
    items = [(f.path, config, profile_name, need_windows, rec) for f, rec in zip(files, recs)]
    if scheduler is None and sum(p["duration"] for p in probes) < _PARALLEL_FROM_S:
        # the batch engine does an hour of EEG in about a second: below a few
        # hours, starting worker processes costs more than it saves
        n_jobs = 1
    results = _parallel_map(_extract_one, items, n_jobs, scheduler,
                            "features", progress)
    # validation lays one-state recordings end to end as live streams
    # (:func:`~._streams.stream_dataset`): they keep what was read, never read twice
    files = [replace(f, recording=rec) if f.label is not None else f
             for f, rec in zip(files, recs)]
    del recs, items
    cols = {k: [] for k in ("X", "Xc", "y", "subject", "session", "recording", "t", "gated",
                            "windows", "wid", "segment", "left_out")}
    per_rec, full = [], []
    covered = set()  # the classes a whole window lies in a stretch of
    for i, (f, p, r) in enumerate(zip(files, probes, results)):
        n = len(r["t_end"])
        if f.label is not None:
            labels = np.full(n, f.label, dtype=object)
            covered.add(f.label)
        elif f.stretches:  # a stretch ends where the next begins, or at an end mark
            marks = sorted([(r["t0"] + a, lab) for a, _, lab in f.stretches]
                           + [(r["t0"] + b, END) for _, b, _ in f.stretches],
                           key=lambda m: (m[0], m[1] != END))
            named = {lab for _, _, lab in f.stretches}
            labels = _label_windows(r["t_end"], config.window.length, marks, named,
                                    label_by)
            # scored by window end or not, a stretch holds a whole window of its state
            whole = labels if label_by == "inside" else _label_windows(
                r["t_end"], config.window.length, marks, named)
            _check_stretches(f, r["t_end"] - r["t0"], whole, config.window.length,
                             "inside", p["duration"])
            covered.update(lab for lab in whole if lab is not None)
        else:
            labels = _label_windows(r["t_end"], config.window.length, p["markers"],
                                    marker_labels, label_by)
            whole = labels if label_by == "inside" else _label_windows(
                r["t_end"], config.window.length, p["markers"], marker_labels)
            covered.update(lab for lab in whole if lab is not None)
            if marker_labels:
                _warn_codes_cut(Path(f.path).name, r["t_end"], config.window.length,
                                p["markers"], marker_labels, label_by, labels)
        gated_w = r["gated"]
        if p.get("bad_spans"):  # MNE's BAD_ annotations: left out as gated windows are
            start = r["t_end"] - config.window.length
            gated_w = gated_w.copy()
            for a, b in p["bad_spans"]:
                gated_w |= (r["t_end"] >= a) & (start <= b)
        keep = np.array([lab is not None for lab in labels], bool)
        cols["X"].append(r["features"][keep])
        cols["Xc"].append(r["clean_features"][keep])
        cols["y"].append(labels[keep].astype(str))
        cols["subject"].append(np.full(keep.sum(), f.subject))
        cols["session"].append(np.full(keep.sum(), f.session))
        cols["recording"].append(np.full(keep.sum(), i))
        cols["t"].append(r["t_end"][keep] - r["t0"])
        cols["gated"].append(gated_w[keep])
        cols["left_out"].append(r["left_out"][keep])
        cols["wid"].append(np.flatnonzero(keep))
        cols["segment"].append(r["segment"][keep])
        if need_windows:
            cols["windows"].append(r["windows"][keep])
        full.append({"X": r["features"], "Xc": r["clean_features"],
                     "segment": r["segment"], "gated": gated_w,
                     "t": r["t_end"] - r["t0"],
                     "markers": [(a, lab) for a, _, lab in f.stretches] if f.stretches
                     else [(t - r["t0"], str(s))
                           for t, s in _class_marks(p["markers"], marker_labels)]
                     if f.label is None else [],
                     "windows": r["windows"] if need_windows else None})
        per_rec.append({"file": Path(f.path).name, "subject": f.subject,
                        "session": f.session, "label": f.label, "n_windows": int(n),
                        "n_gated": int(gated_w.sum()), "n_resets": r["n_resets"],
                        "n_stretches": len(f.stretches), "started": p["started"]})
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
        left_out=np.concatenate(cols["left_out"]), Xc=np.concatenate(cols["Xc"]),
        columns=[tuple(c) for c in results[0]["columns"]], digests=digests,
    )
    if len(ds) == 0:
        _no_marked_window(files, probes, config.window.length)
        raise DatasetError("No labelled windows were found.")
    timed = {lab for f in files for _, _, lab in f.stretches}
    if timed or (any(f.label is None for f in files)
                 and (marker_labels or label_by != "inside")):
        marked = timed | {s for p in probes for _, s in p["markers"]
                          if marker_labels and s in marker_labels}
        if label_by != "inside":
            marked |= set(ds.y.tolist())
        # scoring labels windows by their end, so a stretch shorter than a window
        # would label some: a state the labels give less than a window of is refused
        short = sorted(marked - covered)
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
        before = ds
        ds = ds.select(~ds.gated)
        ds.n_gated_dropped = n_gated
        logger.info("Dropped %d of %d windows the quality gates flag.", n_gated,
                    n_gated + len(ds))
        _say_gated_away(before, ds, min_classes)
    _check_classes(ds.y.tolist(), min_classes)
    return ds


def _say_copies(files, recs):
    """Warn of two recordings holding the same EEG (one file copied, or converted,
    under another name): a split could train on one and score the other.

    Returns each recording's EEG digest (hex; None for a flat one), which a
    model's training summary keeps so that ``evaluate`` knows its recordings
    under any name."""
    import hashlib

    seen, digests = {}, []
    for f, rec in zip(files, recs):
        data = np.ascontiguousarray(rec.data)
        if not data.size or (data == data[:, :1]).all():
            digests.append(None)
            continue  # flat throughout (a headset never switched on): the gates say it
        h = hashlib.blake2b(memoryview(data).cast("B"), digest_size=16)
        h.update(repr(data.shape).encode())
        key = h.hexdigest()
        digests.append(key)
        if key in seen:
            a = seen[key]
            whose = (f" (subjects {a.subject} and {f.subject})" if a.subject != f.subject
                     else "")
            logger.warning(
                "%s holds the same EEG as %s%s: its windows count twice, and a split "
                "that trains on one scores the other on its own training data; leave "
                "one of them out.", Path(f.path).name, Path(a.path).name, whose)
        else:
            seen[key] = f
    return digests


def _say_gated_away(before, after, min_classes):
    """Say the recordings or classes the quality gates left no window of:
    refused when too few classes are left, a warning when the model is
    trained without a class."""
    # train and evaluate both say this: the hint names no one command
    hint = ("look at them with 'biofeedback info FILE' (flat, railed or empty channels), "
            "or pass --gated include (gated='include' in Python) to use the gated windows "
            "anyway.")
    if len(after) == 0:
        names = [Path(f.path).name for f in before.files]
        raise DatasetError(f"Every window of {listed(names, 4)} is gated by the quality "
                           f"gates; {hint}")
    lost = sorted(set(before.classes) - set(after.classes))
    if not lost:
        return
    held = sorted({Path(before.files[i].path).name
                   for i in np.unique(before.recording[np.isin(before.y, lost)])})
    k = len(lost)
    said = (f"Every window of {agree(k, 'the class', 'the classes')} "
            f"{listed(map(repr, lost))} ({listed(held, 4)}) is gated by the quality gates")
    if len(after.classes) < min_classes:
        raise DatasetError(f"{said}, so only {after.classes[0]!r} is left and a classifier "
                           f"needs two classes; {hint}")
    # min_classes 1: a model is scored (evaluate), not trained
    without = (f"the model is trained and scored without {agree(k, 'it', 'them')}"
               if min_classes > 1 else f"{agree(k, 'it is', 'they are')} not scored")
    logger.warning("%s, so %s; %s", said, without, hint)
