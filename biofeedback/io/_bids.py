"""Export recordings to a BIDS dataset with mne-bids."""

from __future__ import annotations

import re
import tempfile
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

from .._checks import _import_optional
from .._logging import logger
from .._words import agree, counted
from ._read import file_stem, read_recording
from ._recording import stated_mains

# subjecta-neutral-1 -> subject "subjecta", task "neutral", session "1": the naming
# of the shared Muse data and of the training file-name pattern
# "{subject}-{label}-{session}", whose label is the task the person was doing.
_FILE_NAME = re.compile(r"(?P<subject>[^-]+)-(?P<task>.+)-(?P<session>[^-]+)")
# sub-P01_ses-03_task-engagement_eeg: a name already in BIDS form (the study layout's)
_BIDS_NAME = re.compile(r"sub-(?P<subject>[A-Za-z0-9]+)(?:_ses-(?P<session>[A-Za-z0-9]+))?"
                        r"(?:_task-(?P<task>[A-Za-z0-9]+))?(?:_.*)?")


_ALNUM = re.compile(r"[A-Za-z0-9]+")


def _label(text, key="label", name=""):
    """A BIDS label: ASCII letters and digits only.

    Accents are taken off (``"Müller"`` -> ``"Muller"``); a letter or digit
    with no ASCII form (``"张"``, ``"ß"``) is refused with one sentence, as BIDS
    labels are ASCII and ``str.isalnum`` alone would keep it.
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text))
                    if not unicodedata.combining(c))
    other = "".join(dict.fromkeys(c for c in plain if c.isalnum() and not c.isascii()))
    if other:
        where = f" of {name}" if name else ""
        raise ValueError(
            f"The {key} {text!r}{where} holds letters BIDS labels forbid ({other!r}): "
            "BIDS labels are ASCII letters and digits; rename the file (or pass "
            "--participant ID for the subject).")
    return "".join(c for c in plain if c.isascii() and c.isalnum())


def _name_match(stem):
    """The match of a file stem named as BIDS or {subject}-{task}-{session}, or None."""
    return _BIDS_NAME.fullmatch(stem) or _FILE_NAME.fullmatch(stem)


def _raw_entities(fname, participant, task):
    """Subject, session and task as the file name (or the user) says them."""
    stem = file_stem(fname)
    m = _name_match(stem)
    if m is not None:
        ent = {"subject": m["subject"], "session": m["session"], "task": m["task"] or task}
    else:
        ent = {"subject": stem, "session": None, "task": task}
    if participant is not None:
        ent["subject"] = participant
    return ent


def entities_of(fnames, *, participant=None, task="biofeedback"):
    """:func:`bids_entities` of every file, refusing two names that clean to one label.

    ``sub_1-rest-1.csv`` and ``sub1-rest-1.csv`` would both be ``sub-sub1``:
    two people filed as one. That is refused with one sentence naming both
    files, before anything is written.

    Raises
    ------
    ValueError
        As :func:`bids_entities`, or when two different names give one label.
    """
    ents = [bids_entities(f, participant=participant, task=task) for f in fnames]
    for key in ("subject", "session", "task"):
        seen = {}
        for f, ent in zip(fnames, ents, strict=True):
            raw = _raw_entities(f, participant, task)[key]
            if ent[key] is None:
                continue
            first = seen.setdefault(ent[key], (raw, f))
            if first[0] != raw:
                raise ValueError(
                    f"The {key}s {first[0]!r} ({Path(first[1]).name}) and {raw!r} "
                    f"({Path(f).name}) both become the BIDS label {ent[key]!r} (ASCII "
                    "letters and digits only); rename one of the files.")
    return ents


def bids_entities(fname, *, participant=None, task="biofeedback"):
    """Say the BIDS subject, session and task of a recording from its file name.

    Parameters
    ----------
    fname : path-like
        The recording. A name like ``{subject}-{task}-{session}.ext``
        (``subjecta-neutral-1.csv``) gives all three, and so does a name
        already in BIDS form (``sub-P01_ses-03_task-engagement_eeg.xdf``, as
        the study layout writes them).
    participant : str | None
        The subject, whatever the file name says: letters and digits only
        (a BIDS label), as mne-bids requires.
    task : str
        The task of a file whose name does not follow the pattern (letters
        and digits only).

    Returns
    -------
    entities : dict
        ``subject``, ``session`` (None when the name holds none) and ``task``,
        each cleaned to ASCII letters and digits as BIDS requires when it
        comes from the file name (accents taken off: ``Müller`` -> ``Muller``).

    Raises
    ------
    ValueError
        When ``participant`` or ``task`` is not letters and digits only: a
        label the user chose is refused, never silently changed; when a
        file name's label holds a letter with no ASCII form (``张``).

    Examples
    --------
    >>> bids_entities("subjecta-neutral-1.csv")
    {'subject': 'subjecta', 'session': '1', 'task': 'neutral'}
    >>> bids_entities("sub-P01_ses-03_task-engagement_eeg.xdf")
    {'subject': 'P01', 'session': '03', 'task': 'engagement'}
    >>> bids_entities("20261123-134035_synthetic.xdf", participant="P01")
    {'subject': 'P01', 'session': None, 'task': 'biofeedback'}
    """
    for key, value, example in (("participant", participant, "P07"),
                                ("task", task, "eyesclosed")):
        if value is not None and not _ALNUM.fullmatch(str(value)):
            raise ValueError(f"The {key} {value!r} is not a BIDS label: use letters and "
                             f"digits only (e.g. {example}).")
    name = Path(fname).name
    ent = _raw_entities(fname, participant, task)
    out = {}
    for key, value in ent.items():
        if value is None:
            out[key] = None
            continue
        label = _label(value, key, name)
        if not label:
            raise ValueError(f"The {key} {value!r} of {name} holds no letter or digit; "
                             "BIDS labels need at least one.")
        out[key] = label
    return out


def _line_freq(rec):
    """The mains frequency the recording's file stated, else its board's, or
    None when unknown."""
    mains = stated_mains(rec.provenance.get("line_freq"))
    if mains:
        return mains
    if rec.profile is None:
        return None
    from ..hardware import get_profile

    try:
        return float(get_profile(rec.profile).line_freq)
    except Exception:  # an unknown profile name: the frequency is not known
        return None


def _runs(keys):
    """Each key's run number, 1, 2, ... in the order given."""
    seen = Counter()
    out = []
    for key in keys:
        seen[key] += 1
        out.append(seen[key])
    return out


def _check_edf(rec, fname):
    """Refuse, in one sentence, a recording EDF (what the export writes) cannot
    hold: a channel label over 16 characters, NaN or inf samples."""
    import numpy as np

    from .._words import listed
    from ..errors import RecordingFormatError

    long = [ch for ch in rec.ch_names if len(ch) > 16]
    if long:
        raise RecordingFormatError(
            f"the channel label {long[0]!r} has {len(long[0])} characters, more than the 16 "
            "of EDF, which a BIDS export writes; rename it (MNE's rename_channels, then "
            "save), and export again: nothing was written to the dataset.", fname)
    holes = [ch for ch, row in zip(rec.ch_names, rec.data) if not np.isfinite(row).all()]
    if holes:
        raise RecordingFormatError(
            f"{agree(len(holes), 'channel', 'channels')} {listed(holes)} "
            f"{agree(len(holes), 'holds', 'hold')} NaN or inf samples, which EDF (what a "
            "BIDS export writes) stores as integers cannot hold; leave the file out of the "
            "export, or cut those samples out first: nothing was written to the dataset.",
            fname)


def export_bids(fnames, bids_root, *, participant=None, task="biofeedback",
                line_freq=None, overwrite=False):
    """Write recordings into a BIDS dataset with mne-bids (EEG as EDF).

    Parameters
    ----------
    fnames : list of path-like
        Recordings in any readable format.
    bids_root : path-like
        Dataset folder (created when missing).
    participant : str | None
        The subject of every file; None takes it from each file name (see
        :func:`bids_entities`).
    task : str
        The task of files whose names do not say it.
    line_freq : float | None
        Power-line frequency in Hz for ``PowerLineFrequency``; None takes the
        board profile's mains frequency (``n/a`` when the board is unknown).
    overwrite : bool
        Replace files already in the dataset.

    Returns
    -------
    paths : list of Path
        The written EEG files, in the order of ``fnames``.

    Notes
    -----
    Subject, session and task come from names like ``subjecta-neutral-1``
    (``sub-subjecta_ses-1_task-neutral``). Several files with the same three
    become runs 1, 2, ... in the order given. The EEG is written by
    :func:`~biofeedback.io.write_recording`'s EDF writer (each channel at its own
    16-bit scale) and copied in by mne-bids. Channel positions are not written:
    a template montage is not a measurement.
    """
    mne_bids = _import_optional("mne_bids", "bids", "BIDS export", "mne-bids")

    import mne

    from ._mne import write_edf

    ents = entities_of(fnames, participant=participant, task=task)
    loose = [] if participant is not None else [
        (f, e) for f, e in zip(fnames, ents, strict=True) if not _name_match(file_stem(f))]
    if loose:
        f, e = loose[0]
        logger.warning(
            "%s not named {subject}-{task}-{session}: %s is filed as subject %r, task "
            "%r, no session; rename %s, or pass --participant ID (and --task).",
            counted(len(loose), "file is", "files are"), Path(f).name, e["subject"],
            e["task"], agree(len(loose), "it", "them"))
    keys = [(e["subject"], e["session"], e["task"]) for e in ents]
    repeats = Counter(keys)
    paths = []
    for ent, key, k in zip(ents, keys, _runs(keys), strict=True):
        paths.append(mne_bids.BIDSPath(subject=ent["subject"], session=ent["session"],
                                       task=ent["task"], run=k if repeats[key] > 1 else None,
                                       datatype="eeg", root=bids_root))
    if not overwrite:  # mne-bids stops at the first file it finds, half-way through
        there = [bp for bp in paths if bp.directory.is_dir() and any(
            p.name.startswith(f"{bp.basename}_") for p in bp.directory.iterdir())]
        if there:
            from .._outputs import OutputExistsError

            raise OutputExistsError(
                f"The BIDS dataset {bids_root} already holds {there[0].basename} "
                f"({len(there)} of this export's {counted(len(paths), 'recording')} "
                f"{agree(len(there), 'is', 'are')} there); pass "
                "--overwrite (overwrite=True) to replace them, or export into another "
                "folder: nothing was written.")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        # every file's EDF first: one that EDF cannot hold (NaN samples, a
        # label over 16 characters) is said before anything enters the dataset
        made = []
        for i, fname in enumerate(fnames):
            rec = read_recording(fname)
            _check_edf(rec, fname)
            # our EDF (each channel at its own 16-bit scale), which mne-bids copies
            edf = write_edf(rec, Path(tmp) / f"{i}.edf")
            made.append((edf, line_freq if line_freq is not None else _line_freq(rec),
                         list(rec.provenance.get("bads", ()))))
            del rec
        for fname, bp, (edf, mains, bads) in zip(fnames, paths, made, strict=True):
            raw = mne.io.read_raw_edf(edf, preload=False, verbose="error")
            raw.info["line_freq"] = mains
            # bad channels go to channels.tsv (status), as mne-bids writes a FIF's
            raw.info["bads"] = [ch for ch in bads if ch in raw.ch_names]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mne_bids.write_raw_bids(raw, bp, overwrite=overwrite, verbose="error")
            for w in caught:
                logger.info("mne-bids, %s: %s", Path(fname).name, w.message)
            out.append(bp.fpath)
    return out
