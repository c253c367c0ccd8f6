"""Export recordings to a BIDS dataset with mne-bids."""

from __future__ import annotations

import re
import tempfile
import warnings
from collections import Counter
from pathlib import Path

from .._checks import _import_optional
from .._logging import logger
from ._read import read_recording

# subjecta-neutral-1 -> subject "subjecta", task "neutral", session "1": the naming
# of the shared Muse data and of the training file-name pattern
# "{subject}-{label}-{session}", whose label is the task the person was doing.
_FILE_NAME = re.compile(r"(?P<subject>[^-]+)-(?P<task>.+)-(?P<session>[^-]+)")
# sub-P01_ses-03_task-engagement_eeg: a name already in BIDS form (the study layout's)
_BIDS_NAME = re.compile(r"sub-(?P<subject>[A-Za-z0-9]+)(?:_ses-(?P<session>[A-Za-z0-9]+))?"
                        r"(?:_task-(?P<task>[A-Za-z0-9]+))?(?:_.*)?")


_ALNUM = re.compile(r"[A-Za-z0-9]+")


def _label(text):
    """A BIDS label: letters and digits only."""
    return "".join(c for c in str(text) if c.isalnum())


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
        each cleaned to letters and digits as BIDS requires when it comes from
        the file name.

    Raises
    ------
    ValueError
        When ``participant`` or ``task`` is not letters and digits only: a
        label the user chose is refused, never silently changed.

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
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    m = _BIDS_NAME.fullmatch(stem) or _FILE_NAME.fullmatch(stem)
    if m is not None:
        ent = {"subject": m["subject"], "session": m["session"], "task": m["task"] or task}
    else:
        ent = {"subject": stem, "session": None, "task": task}
    if participant is not None:
        ent["subject"] = participant
    out = {}
    for key, value in ent.items():
        if value is None:
            out[key] = None
            continue
        label = _label(value)
        if not label:
            raise ValueError(f"The {key} {value!r} of {name} holds no letter or digit; "
                             "BIDS labels need at least one.")
        out[key] = label
    return out


def _line_freq(rec):
    """The mains frequency of the recording's board, or None when unknown."""
    if rec.profile is None:
        return None
    from ..hardware import get_profile

    try:
        return float(get_profile(rec.profile).line_freq)
    except Exception:  # an unknown profile name: the frequency is not known
        return None


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

    ents = [bids_entities(f, participant=participant, task=task) for f in fnames]
    keys = [(e["subject"], e["session"], e["task"]) for e in ents]
    repeats = Counter(keys)
    seen = Counter()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (fname, ent, key) in enumerate(zip(fnames, ents, keys, strict=True)):
            rec = read_recording(fname)
            seen[key] += 1
            run = seen[key] if repeats[key] > 1 else None
            # our EDF (each channel at its own 16-bit scale), which mne-bids copies
            edf = write_edf(rec, Path(tmp) / f"{i}.edf")
            raw = mne.io.read_raw_edf(edf, preload=False, verbose="error")
            raw.info["line_freq"] = line_freq if line_freq is not None else _line_freq(rec)
            bp = mne_bids.BIDSPath(subject=ent["subject"], session=ent["session"],
                                   task=ent["task"], run=run, datatype="eeg",
                                   root=bids_root)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mne_bids.write_raw_bids(raw, bp, overwrite=overwrite, verbose="error")
            for w in caught:
                logger.info("mne-bids, %s: %s", Path(fname).name, w.message)
            out.append(bp.fpath)
    return out
