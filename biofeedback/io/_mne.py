"""Files MNE reads and writes: anything ``mne.io`` reads, FIF and EDF out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._words import agree, counted, listed
from ..errors import RecordingFormatError
from ._bids_events import (
    bids_bad_channels,
    bids_channel_types,
    bids_line_freq,
    bids_markers,
)
from ._edf_records import apply_record_onsets, edf_headers, equipment, records_cut
from ._integrity import channel_problems, gap_warning
from ._recording import _PADDING, _rail_v, from_mne, marked_bad, stated_mains, to_mne

# Annotations read as gaps, rails or padding, not markers (see from_mne).
_NOT_MARKERS = ("BAD_gap", "BAD_railed", *_PADDING)
# Files that are one part of a recording whose header MNE reads instead.
_PARTS = {".eeg": ("data", ".vhdr"), ".vmrk": ("marker", ".vhdr"), ".fdt": ("data", ".set")}


def _refuse_a_part(fname):
    """A BrainVision or EEGLAB recording's data or marker file, given in place
    of its header: say which file to read instead of what MNE makes of it."""
    part = _PARTS.get(fname.suffix.lower())
    header = fname.with_suffix(part[1]) if part else None
    if header is not None and header.is_file():
        raise RecordingFormatError(
            f"this is the {part[0]} file of a recording whose header is "
            f"{header.name}; read {header.name} instead.", fname)


_VOLTS = {"v", "mv", "uv", "µv", "μv", "nv"}


def _labels_dims(headers):
    """The labels and physical dimensions of an EDF/BDF's signals, stripped."""
    _, ns, sig = headers
    labels = [sig[16 * i: 16 * (i + 1)].decode("latin-1").strip() for i in range(ns)]
    dims = [sig[96 * ns + 8 * i: 96 * ns + 8 * (i + 1)].decode("latin-1").strip()
            for i in range(ns)]
    return labels, dims


#: Share of an EDF/BDF channel's samples at its extreme values from which it
#: is said to be clipped (a signal alive hits its exact extremes a few times).
CLIPPED_SHARE = 0.01


def _clipped(data, ch_names):
    """``{channel: share}`` of the channels whose samples sit at their own
    highest or lowest value in :data:`CLIPPED_SHARE` of the samples or more:
    an EDF/BDF stores values beyond a signal's physical range as its limit.
    Measured on every 4th sample; flat channels are said elsewhere."""
    out = {}
    part = data[:, ::4]
    for ch, row in zip(ch_names, part):
        with np.errstate(invalid="ignore"):
            hi, lo = np.nanmax(row), np.nanmin(row)
        if not (np.isfinite(hi) and np.isfinite(lo)) or hi == lo:
            continue
        share = float(np.mean((row == hi) | (row == lo)))
        if share >= CLIPPED_SHARE:
            out[ch] = share
    return out


def _slower_signals(headers, ch_names, sfreq):
    """``{channel: rate}`` of the EEG channels an EDF/BDF stores at a lower rate
    than ``sfreq``, the file's highest, to which MNE upsamples them."""
    if headers is None:
        return {}
    head, ns, sig = headers
    try:
        seconds = float(head[244:252])
        n_samp = [int(sig[216 * ns + 8 * i: 216 * ns + 8 * (i + 1)]) for i in range(ns)]
    except ValueError:
        return {}
    if seconds <= 0:
        return {}
    labels, _ = _labels_dims(headers)
    rates = dict(zip(labels, (n / seconds for n in n_samp)))
    return {ch: rates[ch] for ch in ch_names if 0 < rates.get(ch, sfreq) < sfreq - 1e-9}


def _not_volts(headers, raw):
    """``{channel: unit}`` of an EDF/BDF's signals whose physical dimension
    names a unit other than a voltage (an OpenBCI GUI BDF+ writes its
    accelerometer, in g, beside the EEG). MNE reads them as EEG in volts.
    ``headers`` are the file's (:func:`~._edf_records.read_headers`), None
    for any other file.

    A blank dimension says nothing, and a file with no voltage channel at
    all keeps every channel: only a mix is told apart.
    """
    if headers is None:
        return {}
    labels, dims = _labels_dims(headers)
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    other = {lab: dim for lab, dim in zip(labels, dims)  # MNE's stim 'Status' stays stim
             if dim and dim.lower() not in _VOLTS and types.get(lab) == "eeg"}
    volts = [lab for lab, dim in zip(labels, dims) if dim.lower() in _VOLTS]
    return other if volts else {}


#: The physical dimensions MNE scales (any other it reads as volts)
_MNE_SCALED = {"\u03bcV": 1e-6, "\u00b5V": 1e-6, "\x83\xcaV": 1e-6, "uV": 1e-6, "mV": 1e-3}


def _rescale_volts(headers, raw, warnings):
    """Scale the EDF/BDF signals whose physical dimension is a voltage MNE does
    not scale (``UV``, ``uv``, ``nV``: it reads them as volts) to volts, in
    place, with a warning naming them."""
    from ..stream._peers import unit_scale

    if headers is None:
        return
    labels, dims = _labels_dims(headers)
    index = {ch: k for k, ch in enumerate(raw.ch_names)}
    fixed = {}
    for lab, dim in zip(labels, dims):
        if lab not in index or dim.lower() not in _VOLTS:
            continue
        scale = unit_scale(dim)  # a voltage: one unit_scale knows
        read_as = _MNE_SCALED.get(dim, 1.0)
        if scale != read_as:
            raw._data[index[lab]] *= scale / read_as
            fixed[lab] = dim
    if fixed:
        n = len(fixed)
        warnings.append(
            f"{counted(n, 'channel gives its', 'channels give their')} physical "
            f"{agree(n, 'dimension', 'dimensions')} in a spelling MNE reads as volts "
            f"({listed(f'{ch} ({d})' for ch, d in fixed.items())}); "
            f"{agree(n, 'it was', 'they were')} scaled as "
            f"{agree(n, 'its unit says', 'their units say')}.")


#: A channel label naming a signal other than EEG, as recording systems write
#: them in EDF and BrainVision files, which hold no channel types: 'EOG ROC',
#: 'VEOG', 'ECG', 'EKG2', 'EMG submental', 'Resp oro-nasal', TUH's 'EEG EKG1-REF'.
#: The words are those MNE's ``infer_types`` reads; no 10-20 name starts with them.
_NAMED_NOT_EEG = re.compile(
    r"(?:EEG[\s_-]+)?([HV]?EOG|ECG|EKG|EMG|RESP|TEMP|SAO2|SPO2|BIO|MISC)(?![A-Z])",
    re.IGNORECASE)


def _named_not_eeg(raw, skip):
    """``{channel: kind}`` of the channels read as EEG whose labels name another
    signal (:data:`_NAMED_NOT_EEG`), leaving out those in ``skip``. A file whose
    every EEG channel is so named keeps them all: only a mix is told apart."""
    from mne.io.constants import FIFF

    eeg = [c["ch_name"] for c in raw.info["chs"]
           if c["kind"] == FIFF.FIFFV_EEG_CH and c["ch_name"] not in skip]
    named = {ch: m.group(1).upper() for ch in eeg
             if (m := _NAMED_NOT_EEG.match(ch)) is not None}
    return named if len(named) < len(eeg) else {}


def _stim_markers(raw, ts):
    """``(timestamp, code)`` of each event on the file's trigger channels (FIF's
    'STI 014', BioSemi's 'Status'), as :func:`mne.find_events` finds them."""
    import mne

    stim = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True, exclude=[])]
    if not stim:
        return []
    # BioSemi's Status holds the triggers in its low 16 bits, the device's state above
    mask = 0xFFFF if type(raw).__name__ == "RawBDF" else None
    events = mne.find_events(raw, stim_channel=stim, shortest_event=1, mask=mask,
                             mask_type="and", verbose="error")
    at = events[:, 0] - raw.first_samp
    keep = (at >= 0) & (at < len(ts))
    return [(float(ts[i]), str(code)) for i, code in zip(at[keep], events[keep, 2])]


def _known_profile(name):
    """``name`` when it names a shipped board profile (one word, as EDF+'s
    equipment field holds it), else None."""
    from ..hardware._profiles import profile_names

    return name if name and name in profile_names() else None


#: The first bytes of an EDF, a BDF and a FIF file, and the extension MNE reads each by
_EDF_MAGIC = ((b"0       ", ".edf"), (b"\xffBIOSEMI", ".bdf"),
              (b"\x00\x00\x00\x64\x00\x00\x00\x1f", ".fif"))


def _refuse_a_misnamed_edf(fname, head=None):
    """Refuse an EDF, BDF or FIF file whose name ends otherwise: MNE picks its
    reader by the extension, and an EDF read as BDF (24-bit samples) gives
    other numbers without a word. ``head``: the file's first bytes, when read."""
    if fname.is_dir():
        return
    if head is None:
        with open(fname, "rb") as fid:
            head = fid.read(8)
    head = head[:8]
    for magic, ext in _EDF_MAGIC:
        if head == magic and fname.suffix.lower() != ext:
            kind = ext[1:].upper()
            raise RecordingFormatError(
                f"holds {kind} data but its name ends in {fname.suffix or 'no extension'}, "
                f"and MNE reads {kind} by its extension; rename it (or a copy) to end in "
                f"{ext} and read that.", fname)


def _span(seconds) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:g} s"


def read_mne(fname, *, profile=None):
    """Read EDF, BDF, FIF, BrainVision and anything ``mne.io.read_raw`` reads."""
    import warnings as _w

    import mne

    fname = Path(fname)
    _refuse_a_part(fname)
    # the EDF/BDF headers, read once for the name, the volts check and the
    # record onsets
    headers, records = edf_headers(fname) if fname.suffix.lower() in (".edf", ".bdf") \
        else (None, None)
    _refuse_a_misnamed_edf(fname, None if headers is None else headers[0])
    try:
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            raw = mne.io.read_raw(fname, preload=True, verbose="error")
    except PermissionError:  # read_recording says it, as for every format
        raise
    except Exception as err:  # MNE's readers raise bare Exceptions on bad input
        raise RecordingFormatError(
            f"MNE could not read it ({type(err).__name__}: {err}); a file cut short or "
            "damaged (a copy cut off, a save that did not finish) reads so: copy it "
            "again from its source.", fname) from None
    if raw.n_times == 0:
        raise RecordingFormatError("the file holds no samples.", fname)
    rescaled = []
    _rescale_volts(headers, raw, rescaled)
    other = _not_volts(headers, raw)
    named = _named_not_eeg(raw, other)
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    # a BIDS dataset's channels.tsv types what EDF and BrainVision cannot
    declared, table = bids_channel_types(fname)
    declared = {ch: t for ch, t in declared.items() if t not in ("EEG", "")
                and types.get(ch) == "eeg" and ch not in other and ch not in named}
    if len(declared) >= sum(t == "eeg" and ch not in other and ch not in named
                            for ch, t in types.items()):
        declared = {}  # none would be left to read as EEG
    typed = _typed_not_eeg(types, {**other, **named, **declared})
    # the named and declared ones MNE read in volts
    units = {**other, **dict.fromkeys([*named, *declared], "V"), **typed}
    if units:
        raw.set_channel_types(dict.fromkeys(units, "misc"), on_unit_change="ignore",
                              verbose="error")
    rec = from_mne(raw, provenance={"fname": str(fname), "reader": "mne.io.read_raw",
                                    "mne_reader": type(raw).__name__})
    rec.warnings.extend(rescaled)
    if units:
        from ._types import Stream

        rec.streams["non_eeg"] = Stream(
            name="non_eeg", type="Misc", data=raw.get_data(picks=list(units)),
            timestamps=rec.timestamps, ch_names=list(units), sfreq=rec.sfreq,
            meta={"units": list(units.values())})
    in_table = f"in {table.name}" if table is not None else ""
    for found, why in ((other, ("not measured in volts",) * 2),
                       (named, ("named as a signal other than EEG",
                                "named as signals other than EEG")),
                       (declared, (f"typed as a signal other than EEG {in_table}",
                                   f"typed as signals other than EEG {in_table}"))):
        if found:
            n = len(found)
            rec.warnings.append(
                f"{counted(n, 'channel is', 'channels are')} {agree(n, *why)} "
                f"({listed(f'{ch} ({u})' for ch, u in found.items())}): "
                f"{agree(n, 'it is', 'they are')} kept as the stream 'non_eeg', not read "
                "as EEG.")
    if records is not None:  # EDF+D/BDF+D: MNE put the records back to back
        apply_record_onsets(rec, *records)
    rec.markers = sorted(rec.markers + _stim_markers(raw, rec.timestamps))
    # a BIDS recording's events may sit beside it alone (as mne-bids writes them)
    rec.markers = sorted(rec.markers + bids_markers(fname, rec, _NOT_MARKERS))
    rec.source_format = "mne"
    rec.provenance["file_type"] = type(raw).__name__
    mains = rec.provenance.get("line_freq") or stated_mains(bids_line_freq(fname))
    if mains:
        rec.provenance["line_freq"] = mains
    if profile is not None:
        rec.profile = profile if isinstance(profile, str) else profile.name
    elif rec.profile is None:  # an EDF written from a recording names its board
        rec.profile = _known_profile(equipment(headers))
    warnings = [f"MNE: {c.message}" for c in caught]
    slower = _slower_signals(headers, rec.ch_names, rec.sfreq)
    if slower:
        shown = listed(f"{ch} ({rate:g} Hz)" for ch, rate in slower.items())
        warnings.append(
            f"{agree(len(slower), 'Channel', 'Channels')} {shown} "
            f"{agree(len(slower), 'is', 'are')} stored at a lower rate than the file's "
            f"{rec.sfreq:g} Hz, to which MNE upsamples {agree(len(slower), 'it', 'them')}: "
            f"nothing above {min(slower.values()) / 2:g} Hz was measured on "
            f"{agree(len(slower), 'it', 'them')}, so band powers beyond that are not EEG "
            "there.")
    clipped = _clipped(rec.data, rec.ch_names) if headers is not None else {}
    if clipped:
        shown = listed(f"{ch} in {share:.0%}" for ch, share in clipped.items())
        warnings.append(
            f"{agree(len(clipped), 'A channel sits', 'Channels sit')} at "
            f"{agree(len(clipped), 'its', 'their')} highest or lowest value in many of "
            f"{agree(len(clipped), 'its', 'their')} samples ({shown}): clipped at the "
            "file's physical range (the recorder's limits), where the values are not "
            "the EEG's.")
    cut = records_cut(fname, headers)
    if cut is not None:
        declared, held, seconds = cut
        warnings.append(
            f"The file is cut short: its header declares {declared} data records of "
            f"{seconds:g} s ({_span(declared * seconds)}) but it holds {held} whole "
            f"{agree(held, 'one', 'ones')} ({_span(held * seconds)}), as when a recorder "
            "stopped or a copy was cut off; what it holds is read. Copy it again from "
            "its source if that is whole.")
    # a BIDS dataset marks them in its channels table (mne-bids writes them there)
    listed_bad, table = bids_bad_channels(fname)
    in_table = [ch for ch in rec.ch_names if ch in listed_bad
                and ch not in rec.provenance.get("bads", ())]
    if in_table:
        rec.provenance["bads"] = [ch for ch in rec.ch_names if ch in in_table
                                  or ch in rec.provenance.get("bads", ())]
    bads = rec.provenance.get("bads")
    if bads:
        where = f"in {table.name}" if in_table else "in the file"
        warnings.append(marked_bad(bads, where))
    warnings.extend(gap_warning(rec.gaps))
    problems, w = channel_problems(rec.data, rec.ch_names, _rail_v(rec))
    warnings.extend(w)
    rec.provenance["channel_problems"] = problems
    rec.warnings.extend(warnings)
    return rec


#: MNE's channel types of the signals a label names (:data:`_NAMED_NOT_EEG`).
_FIF_TYPES = {"EOG": "eog", "HEOG": "eog", "VEOG": "eog", "ECG": "ecg", "EKG": "ecg",
              "EMG": "emg", "RESP": "resp", "TEMP": "temperature", "BIO": "bio"}
#: Channel types a FIF file holds beside EEG that are kept as the stream 'non_eeg'.
_OTHER_TYPES = {"eog", "ecg", "emg", "resp", "temperature", "bio", "misc", "gsr"}


def _typed_not_eeg(types, skip):
    """``{channel: unit}`` of the channels MNE types (``types``: channel to
    type) as signals other than EEG (a FIF's EOG, ECG, EMG...), leaving out
    those in ``skip``. Only beside EEG: a file without EEG is read as
    :func:`~._recording.from_mne` reads it, its other channels in its place."""
    if not any(t == "eeg" and ch not in skip for ch, t in types.items()):
        return {}
    return {ch: "V" if t in ("eog", "ecg", "emg") else "n/a"
            for ch, t in types.items() if t in _OTHER_TYPES and ch not in skip}


def write_fif(rec, fname, *, overwrite=False):
    """Write ``rec`` as FIF (``*_raw.fif``; markers and gaps as annotations).

    The stream ``non_eeg`` (EOG, ECG, EMG..., read beside the EEG of an EDF or
    FIF file) is written too, sample for sample, typed as its labels say
    (``misc`` when they do not), so a FIF copy keeps those channels.
    """
    import mne

    raw = to_mne(rec)
    other = rec.streams.get("non_eeg")
    if other is not None and np.asarray(other.data).shape[1:] == (rec.n_times,):
        kinds = []
        for ch in other.ch_names:
            m = _NAMED_NOT_EEG.match(ch)
            kinds.append(_FIF_TYPES.get(m.group(1).upper(), "misc") if m else "misc")
        extra = mne.io.RawArray(np.asarray(other.data, float), mne.create_info(
            list(other.ch_names), rec.sfreq, kinds), first_samp=raw.first_samp,
            verbose="error")
        with extra.info._unlock():
            extra.info["meas_date"] = raw.info["meas_date"]
        raw.add_channels([extra], force_update_info=True)
    raw.save(Path(fname), overwrite=overwrite, verbose="error")
    return fname


def write_edf(rec, fname, *, overwrite=False):
    """Write ``rec`` as EDF+ with MNE's exporter (edfio).

    Parameters
    ----------
    rec : Recording
        The recording.
    fname : path-like
        Output file (``.edf``).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    fname : path-like
        ``fname``.

    Raises
    ------
    ValueError
        If a channel name is longer than EDF's 16 characters, or the data
        hold NaN or inf (EDF stores integers).

    Notes
    -----
    EDF stores 16-bit integers: each channel is scaled to its own range
    (``physical_range="channelwise"``), so a value is kept to within
    ``(max - min) / 65535`` of that channel. Markers and gaps become EDF+
    annotations, a gap as ``BAD_gap n=<missing samples> missing_s=<seconds>``
    (EDF+ keeps no other field); railed stretches are recomputed on reading. EDF
    stores whole data records: the last one is padded with the last value and
    marked ``BAD_ACQ_SKIP``, which :func:`~biofeedback.io.read_recording` cuts
    off again. EDF's start time holds whole seconds of wall-clock time, so the
    LSL clock of a session's timestamps is not kept (XDF and FIF keep it).
    """
    import mne

    long = [ch for ch in rec.ch_names if len(ch) > 16]
    if long:
        raise ValueError(f"EDF channel labels hold at most 16 characters; {long[0]!r} has "
                         f"{len(long[0])}: rename the channel or write .fif or .xdf.")
    holes = [ch for ch, row in zip(rec.ch_names, rec.data) if not np.isfinite(row).all()]
    if holes:
        raise ValueError(f"EDF stores integers, so it cannot hold the NaN or inf samples of "
                         f"{agree(len(holes), 'channel', 'channels')} {listed(holes)}; "
                         "write .fif, .xdf or .csv, which "
                         "keep them.")
    raw = to_mne(rec, montage="")
    if _known_profile(rec.profile):  # the header's equipment field
        with raw.info._unlock():
            raw.info["device_info"] = {"type": rec.profile}
    # EDF+ annotations hold text only: a gap's missing time goes into its text
    ann = raw.annotations
    extras = getattr(ann, "extras", None) or [{}] * len(ann)
    texts = [f"BAD_gap n={int(ex.get('n_missing') or 0)} "
             f"missing_s={float(ex.get('missing_s') or 0.0):.6f}"
             if text == "BAD_gap" else text for text, ex in zip(ann.description, extras)]
    raw.set_annotations(mne.Annotations(ann.onset, ann.duration, texts, orig_time=ann.orig_time,
                                        ch_names=ann.ch_names), verbose="error")
    mne.export.export_raw(Path(fname), raw, fmt="edf", physical_range="channelwise",
                          overwrite=overwrite, verbose="error")
    return fname
