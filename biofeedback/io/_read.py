"""One entry point for every format: sniff, dispatch, fail with one sentence."""

from __future__ import annotations

import glob
import importlib
import os
import re
from pathlib import Path

from .._checks import _check_option, _validate_type
from .._logging import logger
from .._words import agree, listed
from ..errors import BiofeedbackError, RecordingFormatError

# format name -> (module, reader function)
READERS = {
    "xdf": ("._xdf", "read_xdf"),
    "muse-csv": ("._muse", "read_muse_csv"),
    "mind-monitor": ("._muse", "read_mind_monitor"),
    "openbci-txt": ("._openbci", "read_openbci_txt"),
    "brainflow": ("._brainflow", "read_brainflow"),
    "mne": ("._mne", "read_mne"),
}

# format name -> (module, writer function)
WRITERS = {
    "xdf": ("._xdf", "write_xdf"),
    "fif": ("._mne", "write_fif"),
    "edf": ("._mne", "write_edf"),
    "brainflow": ("._brainflow", "write_brainflow"),
}

_WRITE_EXT = {
    ".xdf": "xdf",
    ".fif": "fif",
    ".edf": "edf",
    ".csv": "brainflow",
    ".tsv": "brainflow",
}

# Binary formats MNE reads, by magic bytes.
_MNE_MAGIC = (
    (b"\xffBIOSEMI", "bdf"),
    (b"\x00\x00\x00\x64\x00\x00\x00\x1f", "fif"),
    (b"Brain Vision", "brainvision"),
)

_MNE_EXT = {
    ".edf", ".bdf", ".fif", ".vhdr", ".set", ".gdf", ".cnt", ".nxe", ".mff", ".eeg",
    ".egi", ".data", ".cdt", ".mat", ".nedf", ".hdr", ".gz",
}


def file_stem(path) -> str:
    """A recording's file name without its extension (both of a compressed
    '.fif.gz'), as name patterns read it: a dot inside the name stays
    ('dr.smith-relaxed-1.xdf' is 'dr.smith-relaxed-1'); the ending MNE asks
    of a raw FIF file goes with the extension ('alice-relaxed_raw.fif' is
    'alice-relaxed', not the state 'relaxed_raw')."""
    name = Path(path).name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = Path(name).stem
    if name.lower().endswith(".fif"):  # MNE names raw files *_raw.fif or *-raw.fif
        stem = re.sub(r"[-_]raw$", "", stem) or stem
    return stem


def _unreadable(fname):
    """The sentence for a file this user may not read."""
    return RecordingFormatError(
        "cannot be read: this user has no read permission on it; grant it "
        "(chmod u+r, or ask its owner) or read a copy.", fname)


def _read_head(fname, n=65536):
    try:
        with open(fname, "rb") as fid:
            return fid.read(n)
    except PermissionError:
        raise _unreadable(fname) from None


def sniff_format(fname) -> str:
    """Guess a file's format from its first bytes (the extension only breaks ties).

    Raises
    ------
    RecordingFormatError
        If the content matches no known format.
    """
    fname = Path(fname)
    head = _read_head(fname)
    if not head:
        raise RecordingFormatError("the file is empty.", fname)
    if head.startswith(b"XDF:"):
        return "xdf"
    for magic, _ in _MNE_MAGIC:
        if head.startswith(magic):
            return "mne"
    # EDF: an 8-byte version field "0       " then ASCII patient/recording ids.
    if head[:8] == b"0       " and len(head) >= 256 and head[:256].isascii():
        return "mne"
    if fname.name.endswith(".fif.gz"):
        return "mne"
    if head.startswith(b"\x1f\x8b"):  # gzip: only MNE reads its FIF compressed
        inner = fname.name[:-3] if fname.name.endswith(".gz") else "the file it holds"
        raise RecordingFormatError(
            f"gzip-compressed; decompress it first (gunzip -k, or any unzip tool) and "
            f"read {inner}.", fname)
    if head.startswith(b"PK\x03\x04"):  # a zip: a model file, or recordings packed
        if b"meta.json" in head[:64]:  # a model file's first member
            raise RecordingFormatError(
                "a model file of 'biofeedback train', not a recording: 'biofeedback info' "
                f"describes it, and train wrote its report beside it ({fname.stem}.html "
                "unless --report said otherwise).", fname)
        raise RecordingFormatError(
            "a zip archive; unzip it and read the recordings it holds.", fname)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte-order mark
        raise RecordingFormatError(
            "UTF-16 text (as a spreadsheet's 'Unicode text' saves it); text exports are "
            "read as UTF-8: save it as CSV UTF-8 and read that.", fname)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # A multi-byte character cut by the 64 kB window is not binary.
        try:
            text = head[: err.start].decode("utf-8-sig")
            if len(head) - err.start > 4:
                raise UnicodeDecodeError("utf-8", head, err.start, err.end, "")
        except UnicodeDecodeError:
            if fname.suffix.lower() in _MNE_EXT:
                return "mne"
            try:  # text typed on Windows, saved in its code page
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                text = None
            if text is not None and "\x00" not in text:
                return _sniff_text(text, head, fname)
            raise RecordingFormatError(
                "binary content that is not a recording format biofeedback reads "
                "(XDF, EDF/BDF, FIF, BrainVision or one of the CSV/text exports).",
                fname,
            ) from None
    if "\x00" in text:
        raise RecordingFormatError(
            "binary content that is not a recording format biofeedback reads.", fname
        )
    return _sniff_text(text, head, fname)


def _sniff_text(text, head, fname):
    """The format of a text file, from its first characters (``text``, the
    bytes ``head`` decoded)."""
    from ._text import refuse_cr_line_ends

    refuse_cr_line_ends(head[: head.find(b"\n") + 1] or head, fname)  # the first line
    first = text.lstrip().split("\n", 1)[0].strip()
    low = first.lower().replace('"', "")
    if low.startswith((",timestamps,", ",timestamp,")):  # re-saved by pandas, with its index
        low = low[1:]
    cells = [c.strip() for c in low.split(",")]
    if len(cells) > 2 and not cells[0] and "timestamps" in cells and "tp9" in cells:
        return "muse-csv"  # 'muse-lsl record_direct': pandas' index first, the clock last
    if text.startswith("%OpenBCI") or text.startswith("%") and "openbci" in low:
        return "openbci-txt"
    if text.startswith("%"):
        return "openbci-txt"
    if low.startswith("timestamps,") or low.startswith("timestamps;") or \
            low.startswith("timestamps\t"):
        return "muse-csv"
    if low.startswith("timestamp,") and ",tp9," in low.replace(" ", "") and \
            "raw_" not in low:  # a muse-lsl-like CSV naming its clock 'timestamp'
        return "muse-csv"
    if low.startswith("timestamp,") and "raw_" in low:
        return "mind-monitor"
    if "raw_tp9" in low:
        return "mind-monitor"
    if first.startswith("Brain Vision"):
        return "mne"
    cells = first.split("\t")
    if len(cells) > 1:
        try:
            [float(c) for c in cells]
            return "brainflow"
        except ValueError:
            pass
    if fname.suffix.lower() in _MNE_EXT:
        return "mne"
    if fname.suffix.lower() == ".json":  # a recording's sidecar, picked for it
        beside = sorted(p.name for p in fname.parent.glob(f"{glob.escape(fname.stem)}.*")
                        if p.suffix.lower() in (".xdf", ".csv", ".txt", ".tsv"))
        if beside:
            raise RecordingFormatError(
                f"this is the JSON sidecar of {beside[0]}, not a recording; read "
                f"{beside[0]}.", fname)
    shown = first[:40] + ("..." if len(first) > 40 else "")
    err = RecordingFormatError(
        f"the content matches no format biofeedback reads (first line {shown!r}); "
        "to read it as one, pass --format NAME (convert: --in-format; Python: format=).",
        fname, 1,
    )
    err.first_line = shown  # commands without --format say what to do instead
    raise err


def read_recording(fname, format=None, *, profile=None, stream=None):
    """Read any supported recording into a :class:`Recording`.

    Parameters
    ----------
    fname : path-like
        The file.
    format : str | None
        One of "xdf", "muse-csv", "mind-monitor", "openbci-txt", "brainflow" or
        "mne"; None sniffs the format from the file's content.
    profile : str | BoardProfile | None
        Board profile for channel names, rate and rail when the file does not
        say (defaults: muse_2016 for Muse files, cyton for OpenBCI).
    stream : str | None
        XDF only: name of the EEG stream to read.

    Returns
    -------
    recording : Recording
        EEG in volts, with gaps, markers and every warning found.

    Raises
    ------
    RecordingFormatError
        The file is missing, malformed or not a recording; the message names
        the file, the line when there is one, and the problem.
    """
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname).expanduser()  # "~/x.csv", as MNE reads it
    if format is not None:
        _check_option("format", format, READERS)
    if not fname.exists():
        raise RecordingFormatError("no such file.", fname)
    if fname.is_dir():
        if (fname.suffix.lower() in (".mff", ".ds")):
            format = format or "mne"
        else:
            raise RecordingFormatError("this is a folder, not a recording file.",
                                       fname)
    elif not fname.is_file():  # a named pipe or a device would block the reader
        raise RecordingFormatError(
            "not a regular file (a named pipe, socket or device); save the data to a "
            "file and read that.", fname)
    # no open to test the permission: the first real open (the sniff's, else the
    # reader's) says it in the same sentence
    if format is None:
        format = sniff_format(fname)
    logger.info("Reading %s as %s", fname, format)
    mod, func = READERS[format]
    reader = getattr(importlib.import_module(mod, __package__), func)
    kwargs = dict(profile=profile)
    if format == "xdf":
        kwargs["stream"] = stream
    elif stream is not None:
        raise RecordingFormatError(
            f"is read as {format}, which holds one EEG stream; --stream NAME (stream= in "
            "Python) picks a stream of an XDF file only: leave it out.", fname)
    import warnings

    import numpy as np

    try:
        # Library warnings on odd input become the recording's warnings.
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            rec = reader(fname, **kwargs)
        for c in caught:
            if not issubclass(c.category, (DeprecationWarning, ResourceWarning)):
                rec.warnings.append(f"{c.category.__name__}: {c.message}")
    except BiofeedbackError:
        raise
    except MemoryError:
        raise RecordingFormatError("the file does not fit in memory.", fname) from None
    except PermissionError as err:
        if err.filename is not None and Path(err.filename).resolve() != fname.resolve():
            raise RecordingFormatError(  # another file the reader opens
                f"could not be read as {format} ({type(err).__name__}: {err}).", fname
            ) from None
        raise _unreadable(fname) from None
    except (OSError, ValueError, IndexError, KeyError, UnicodeError, EOFError,
            OverflowError, RuntimeError) as err:
        raise RecordingFormatError(
            f"could not be read as {format} ({type(err).__name__}: {err}).", fname
        ) from None
    _unique_names(rec)
    rec.provenance.setdefault("fname", str(fname))
    rec.provenance.setdefault("format_sniffed", format)
    return rec


def _unique_names(rec):
    """Channel names made unique (``Fp1``, ``Fp1-2``), with a warning."""
    from ..stream._peers import unique_labels

    names, renamed = unique_labels(rec.ch_names)
    if renamed:
        rec.ch_names = names
        rec.warnings.append(
            f"Channels with the same name were renamed to tell them apart ("
            f"{listed(renamed)}); name them in the recorder to keep them apart.")


def _check_sidecar_free(recording, fname, format, overwrite):
    """Refuse to write over a ``<stem>.json`` that is another recording's sidecar.

    BrainFlow's format (and an XDF of a recording read with a sidecar) writes
    one beside ``fname``: ``session.csv`` beside a live session's
    ``session.xdf`` replaced that session's sidecar (its pipeline, summary and
    board) without a word. The sidecar may be replaced when it is ``fname``'s
    own (``fname`` is there and ``overwrite``), or, for XDF, when it holds what
    is written again: the sidecar the recording was read with."""
    import json

    own = recording.provenance.get("sidecar")
    if format != "brainflow" and not (format == "xdf" and isinstance(own, dict)):
        return
    side = fname.with_suffix(".json")
    if not side.exists() or (overwrite and fname.exists()):
        return
    if format == "xdf":  # an XDF's sidecar is the one it came with, written again
        try:
            if json.loads(side.read_text(encoding="utf-8-sig")) == own:
                return
        except (OSError, ValueError):
            pass
    others = sorted(p.name for p in side.parent.glob(f"{glob.escape(side.stem)}.*")
                    if p != side and p.suffix.lower() != ".json")
    whose = f" (beside {', '.join(others)}, whose sidecar it is)" if others else ""
    raise FileExistsError(
        f"{side} exists{whose}, and {fname.name} needs that name for its own sidecar; "
        "name the output otherwise (or remove that file if it belongs to nothing).")


def write_recording(recording, fname, format=None, overwrite=False):
    """Write a :class:`Recording` to a file.

    Parameters
    ----------
    recording : Recording
    fname : path-like
        Output file; its extension picks the format unless ``format`` is given:
        ``.xdf`` (the project's own format), ``.fif``, ``.edf``, ``.csv``
        (BrainFlow's ``DataFilter.write_file`` format, with a JSON sidecar
        naming the board).
    format : str | None
        "xdf", "fif", "edf" or "brainflow".
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    fname : Path
    """
    from ._recording import Recording, bads_of

    _validate_type(recording, Recording, "recording")
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname).expanduser()
    if format is None:
        ext = fname.suffix.lower()
        if ext not in _WRITE_EXT:
            raise ValueError(
                f"Cannot tell the format from the extension {ext!r}; use one of "
                f"{', '.join(_WRITE_EXT)} or pass format=."
            )
        format = _WRITE_EXT[ext]
    _check_option("format", format, WRITERS)
    if format != "xdf":  # XDF keeps an irregular stream as it is; the others need a rate
        shown = "BrainFlow CSV" if format == "brainflow" else format.upper()
        recording.require_rate(f"be written as {shown}")
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists; pass overwrite=True to replace it.")
    _check_sidecar_free(recording, fname, format, overwrite)
    bads = bads_of(recording)
    if bads and format == "edf":  # FIF, XDF and BrainFlow's sidecar keep them
        logger.warning(
            "EDF keeps no mark of bad channels: %s, marked bad in the file read, %s not "
            "marked in %s; write .fif or .xdf (or a BIDS dataset, whose channels table "
            "keeps them) to keep the mark.", listed(bads),
            agree(len(bads), "is", "are"), fname.name)
    mod, func = WRITERS[format]
    writer = getattr(importlib.import_module(mod, __package__), func)
    os.makedirs(fname.parent, exist_ok=True) if str(fname.parent) else None
    # written beside its place and moved in only when whole: a failure never
    # leaves a truncated file, nor touches the one it was to replace. The
    # temporary name keeps the file's ending (MNE's naming rules, the format).
    import uuid

    tmp = fname.parent / f".tmp{uuid.uuid4().hex[:8]}-{fname.name}"
    try:
        writer(recording, tmp, overwrite=True)
        # both moved or neither: Ctrl-C between the two moves put the new
        # sidecar beside the file it was to replace
        from .._signals import signals_after

        with signals_after():
            if tmp.with_suffix(".json").exists():  # the writer's sidecar goes along
                os.replace(tmp.with_suffix(".json"), fname.with_suffix(".json"))
            os.replace(tmp, fname)
    except BaseException:
        for part in (tmp, tmp.with_suffix(".json")):
            part.unlink(missing_ok=True)
        raise
    return fname
