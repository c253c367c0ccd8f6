"""MNE interop: read anything ``mne.io`` reads, convert to and from ``mne.io.Raw``,
write FIF and EDF, export a folder of sessions to BIDS."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import RecordingFormatError
from ._integrity import channel_problems, gap_warning, railed_spans
from ._recording import Gap, Recording

_TAG = "biofeedback:"
# Timestamps below this are a session clock (LSL), not Unix time.
_UNIX_MIN = 1e8


def _rail_v(rec):
    if rec.profile is None:
        return None
    try:
        from ..hardware import get_profile

        return get_profile(rec.profile).rail_uv * 1e-6 or None
    except Exception:  # an unknown profile name: no rail to check
        return None


def _default_montage():
    """The 10-05 template (renamed 'colin27_1005' in MNE 1.13)."""
    import mne

    names = mne.channels.get_builtin_montages()
    return "colin27_1005" if "colin27_1005" in names else "standard_1005"


def to_mne(rec, *, montage=None, railed=True):
    """Return ``rec`` as an :class:`mne.io.RawArray`.

    Markers become annotations with their text, each gap a ``BAD_gap``
    annotation spanning the discontinuity (the missing time and samples in its
    ``extras``), and stretches where a channel sits at the amplifier's rail
    ``BAD_railed`` annotations on that channel. Channel positions come from
    ``montage`` (default: MNE's 10-05 template; names not in it keep no
    position; "" sets none).
    """
    import mne

    info = mne.create_info(list(rec.ch_names), rec.sfreq, ch_types="eeg")
    raw = mne.io.RawArray(rec.data, info, verbose="error")
    t0 = float(rec.timestamps[0]) if rec.n_times else 0.0
    if t0 > _UNIX_MIN:
        raw.set_meas_date(datetime.fromtimestamp(t0, tz=timezone.utc))
    meta = {"t0": t0, "source_format": rec.source_format, "profile": rec.profile}
    with raw.info._unlock():
        raw.info["description"] = _TAG + json.dumps(meta)
    if montage is None:
        montage = _default_montage()
    if montage:
        mont = mne.channels.make_standard_montage(montage)
        raw.set_montage(mont, on_missing="ignore", match_case=False, verbose="error")
    onsets, durations, descs, chs, extras = [], [], [], [], []
    period = 1.0 / rec.sfreq
    ts = rec.timestamps
    for t, text in rec.markers:
        k = int(np.searchsorted(ts, t))
        k = min(max(k, 0), max(rec.n_times - 1, 0))
        # place markers on the sample grid of the contiguous Raw
        rel = k * period + (t - ts[k] if 0 <= t - ts[k] < period else 0.0)
        onsets.append(rel)
        durations.append(0.0)
        descs.append(text)
        chs.append(())
        extras.append({"timestamp": float(t)})
    for g in rec.gaps:
        k = int(np.searchsorted(ts, g.onset, side="right")) - 1
        k = min(max(k, 0), max(rec.n_times - 1, 0))
        onsets.append(k * period)
        durations.append(period)
        descs.append("BAD_gap")
        chs.append(())
        extras.append({"missing_s": float(g.duration), "n_missing": int(g.n_missing),
                       "source": g.source, "timestamp": float(g.onset)})
    rail = _rail_v(rec) if railed else None
    if rail:
        for i, name in enumerate(rec.ch_names):
            spans = railed_spans(rec.data[i], rail, rec.sfreq)
            merged = []
            for a, b in spans:  # merge spans less than 0.1 s apart
                if merged and a - merged[-1][1] < 0.1 * rec.sfreq:
                    merged[-1] = (merged[-1][0], b)
                else:
                    merged.append((a, b))
            for a, b in merged:
                onsets.append(a * period)
                durations.append((b - a) * period)
                descs.append("BAD_railed")
                chs.append((name,))
                extras.append({})
    if onsets:
        annot = mne.Annotations(onsets, durations, descs, orig_time=raw.info[
            "meas_date"], ch_names=chs, extras=extras)
        raw.set_annotations(annot, verbose="error")
    return raw


def from_mne(raw, *, source_format="mne", provenance=None, picks="eeg"):
    """Turn an :class:`mne.io.Raw` back into a :class:`Recording`.

    ``BAD_gap`` annotations become :class:`Gap` (with their missing time when the
    annotation carries it), ``BAD_railed`` ones are dropped (they are recomputed
    from the data), every other annotation becomes a marker.
    """
    import mne

    if picks == "eeg":
        idx = mne.pick_types(raw.info, eeg=True, exclude=[])
        if len(idx) == 0:
            idx = mne.pick_types(raw.info, meg=True, eeg=True, seeg=True, ecog=True,
                                 misc=True, exclude=[])
    else:
        idx = np.arange(len(raw.ch_names))
    if len(idx) == 0:
        raise ValueError("The file holds no EEG channel.")
    data = raw.get_data(picks=idx)
    ch_names = [raw.ch_names[i] for i in idx]
    sfreq = float(raw.info["sfreq"])
    desc = raw.info.get("description") or ""
    meta = {}
    if desc.startswith(_TAG):
        try:
            meta = json.loads(desc[len(_TAG):])
        except ValueError:
            meta = {}
    if "t0" in meta:
        t0 = float(meta["t0"])
    elif raw.info["meas_date"] is not None:
        t0 = raw.info["meas_date"].timestamp()
    else:
        t0 = 0.0
    ts = t0 + np.arange(data.shape[1]) / sfreq
    markers, gaps = [], []
    annot = raw.annotations
    for a in annot:  # our EDF writer pads the last record: drop the padding
        if a["description"] == "BAD_edf_padding":
            stop = int(round((float(a["onset"]) - raw.first_time) * sfreq))
            data, ts = data[:, :stop], ts[:stop]
    extras = getattr(annot, "extras", None) or [{}] * len(annot)
    for a, ex in zip(annot, extras):
        onset = float(a["onset"]) - raw.first_time
        ex = ex or {}
        text = a["description"]
        if text == "BAD_gap":
            n_missing = int(ex.get("n_missing", 0) or 0)
            gaps.append(Gap(onset=float(ex.get("timestamp", t0 + onset)),
                            duration=float(ex.get("missing_s", 0.0) or 0.0),
                            n_missing=n_missing, source=ex.get("source", "annotation")
                            or "annotation"))
            if n_missing:
                k = int(round(onset * sfreq)) + 1
                ts[k:] += n_missing / sfreq
        elif text in ("BAD_railed", "BAD_edf_padding"):
            continue
        else:
            markers.append((float(ex.get("timestamp", t0 + onset)), text))
    markers.sort(key=lambda m: m[0])
    prov = {"mne_version": mne.__version__}
    prov.update(provenance or {})
    rec = Recording(data=data, sfreq=sfreq, ch_names=ch_names, timestamps=ts,
                    markers=markers, gaps=gaps,
                    source_format=meta.get("source_format", source_format)
                    if source_format == "mne" else source_format,
                    provenance=prov, profile=meta.get("profile"))
    return rec


def read_mne(fname, *, profile=None, verbose=None):
    """Read EDF, BDF, FIF, BrainVision and anything ``mne.io.read_raw`` reads."""
    import warnings as _w

    import mne

    fname = Path(fname)
    try:
        with _w.catch_warnings(record=True) as caught:
            _w.simplefilter("always")
            raw = mne.io.read_raw(fname, preload=True, verbose="error")
    except Exception as err:  # MNE's readers raise bare Exceptions on bad input
        raise RecordingFormatError(
            f"MNE could not read it ({type(err).__name__}: {err}).", fname) from None
    if raw.n_times == 0:
        raise RecordingFormatError("the file holds no samples.", fname)
    rec = from_mne(raw, provenance={"fname": str(fname), "reader": "mne.io.read_raw",
                                    "mne_reader": type(raw).__name__})
    rec.source_format = "mne"
    rec.provenance["file_type"] = type(raw).__name__
    if profile is not None:
        rec.profile = profile if isinstance(profile, str) else profile.name
    warnings = [f"MNE: {c.message}" for c in caught]
    warnings.extend(gap_warning(rec.gaps))
    problems, w = channel_problems(rec.data, rec.ch_names, _rail_v(rec))
    warnings.extend(w)
    rec.provenance["channel_problems"] = problems
    rec.warnings.extend(warnings)
    return rec


def write_fif(rec, fname, *, overwrite=False):
    """Write ``rec`` as FIF (``*_raw.fif``; markers and gaps as annotations)."""
    raw = to_mne(rec)
    raw.save(Path(fname), overwrite=overwrite, verbose="error")
    return fname


# --------------------------------------------------------------------------
# EDF+ writer (MNE's exporter needs edfio, not a dependency of ours)
# --------------------------------------------------------------------------
def _field(value, width):
    text = str(value)
    if len(text) > width:
        text = text[:width]
    return text.ljust(width).encode("ascii", "replace")


def write_edf(rec, fname, *, overwrite=False):
    """Write ``rec`` as EDF+C: 16-bit samples in µV plus an annotation channel.

    Markers and gaps (``BAD_gap``) go to the annotation channel. EDF stores whole
    data records of one second: the last record is padded with its last value
    and marked ``BAD_edf_padding``.
    """
    fname = Path(fname)
    sfreq = rec.sfreq
    rec_dur = None
    for dur in (1, 2, 4, 5, 10, 20, 25, 50, 100):
        if abs(sfreq * dur - round(sfreq * dur)) < 1e-9:
            rec_dur = dur
            break
    if rec_dur is None:
        raise ValueError(f"EDF needs a whole number of samples per record; "
                         f"{sfreq:g} Hz does not give one.")
    spr = int(round(sfreq * rec_dur))
    n = rec.n_times
    n_rec = max(math.ceil(n / spr), 1)
    uv = np.nan_to_num(rec.data * 1e6)
    pad = n_rec * spr - n
    if pad:
        last = uv[:, -1:] if n else np.zeros((uv.shape[0], 1))
        uv = np.concatenate([uv, np.repeat(last, pad, axis=1)], axis=1)
    pmin = uv.min(axis=1) if uv.size else np.zeros(uv.shape[0])
    pmax = uv.max(axis=1) if uv.size else np.ones(uv.shape[0])
    same = pmax - pmin < 1e-3
    pmin, pmax = pmin - same, pmax + same
    # whole µV, rounded outward, always fit the 8-character header fields
    pmin = np.floor(pmin)
    pmax = np.ceil(pmax)
    dmin, dmax = -32768, 32767
    scale = (dmax - dmin) / (pmax - pmin)
    dig = np.round((uv - pmin[:, None]) * scale[:, None] + dmin)
    dig = np.clip(dig, dmin, dmax).astype("<i2")
    # annotations (TALs), grouped per record
    t0 = float(rec.timestamps[0]) if n else 0.0
    per_rec = [[] for _ in range(n_rec)]
    period = 1.0 / sfreq
    ts = rec.timestamps
    events = []
    for t, text in rec.markers:
        k = min(max(int(np.searchsorted(ts, t)), 0), max(n - 1, 0))
        events.append((k * period, 0.0, text))
    for g in rec.gaps:
        k = min(max(int(np.searchsorted(ts, g.onset, side="right")) - 1, 0),
                max(n - 1, 0))
        events.append((k * period, period, "BAD_gap"))
    if pad:
        events.append((n * period, pad * period, "BAD_edf_padding"))
    for onset, dur, text in events:
        r = min(int(onset // rec_dur), n_rec - 1)
        text = text.replace("\x14", " ").replace("\x15", " ").replace("\x00", " ")
        tal = f"+{onset:.6f}".rstrip("0").rstrip(".")
        if dur:
            tal += f"\x15{dur:.6f}".rstrip("0").rstrip(".")
        per_rec[r].append((tal + "\x14" + text + "\x14\x00").encode("utf-8"))
    tals = []
    for r in range(n_rec):
        keep = f"+{r * rec_dur}\x14\x14\x00".encode()
        tals.append(keep + b"".join(per_rec[r]))
    annot_bytes = max(len(t) for t in tals)
    annot_spr = max((annot_bytes + 1) // 2, 30)
    ns = len(rec.ch_names) + 1
    start = datetime.fromtimestamp(t0, tz=timezone.utc) if t0 > _UNIX_MIN else \
        datetime(1985, 1, 1, tzinfo=timezone.utc)
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
              "NOV", "DEC"]
    head = b"".join([
        _field("0", 8),
        _field("X X X X", 80),
        _field(f"Startdate {start.day:02d}-{months[start.month - 1]}-{start.year} "
               "X X biofeedback", 80),
        _field(start.strftime("%d.%m.%y"), 8),
        _field(start.strftime("%H.%M.%S"), 8),
        _field(256 * (ns + 1), 8),
        _field("EDF+C", 44),
        _field(n_rec, 8),
        _field(rec_dur, 8),
        _field(ns, 4),
    ])
    labels = list(rec.ch_names) + ["EDF Annotations"]
    cols = [
        [_field(ch, 16) for ch in labels[:-1]]
        + [_field("EDF Annotations", 16)],
        [_field("", 80)] * ns,
        [_field("uV", 8)] * (ns - 1) + [_field("", 8)],
        [_field(int(v), 8) for v in pmin] + [_field("-1", 8)],
        [_field(int(v), 8) for v in pmax] + [_field("1", 8)],
        [_field(dmin, 8)] * ns,
        [_field(dmax, 8)] * ns,
        [_field("", 80)] * ns,
        [_field(spr, 8)] * (ns - 1) + [_field(annot_spr, 8)],
        [_field("", 32)] * ns,
    ]
    with open(fname, "wb") as fid:
        fid.write(head)
        for col in cols:
            fid.write(b"".join(col))
        for r in range(n_rec):
            fid.write(np.ascontiguousarray(dig[:, r * spr:(r + 1) * spr]).tobytes())
            fid.write(tals[r].ljust(annot_spr * 2, b"\x00"))
    return fname


def export_bids(fnames, bids_root, *, subject_from=None, task="biofeedback",
                overwrite=False):
    """Write recordings into a BIDS dataset with mne-bids (EDF files).

    Parameters
    ----------
    fnames : list of path-like
        Recordings in any readable format. Each becomes one run of subject
        ``subject_from(fname)`` (default: the file's stem, cleaned to BIDS
        characters).
    bids_root : path-like
        Dataset folder.

    Returns
    -------
    paths : list of Path
        The written EEG files.
    """
    import tempfile

    import mne
    from mne_bids import BIDSPath, write_raw_bids

    from ._read import read_recording

    out = []
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fname in fnames:
            rec = read_recording(fname)
            stem = Path(fname).stem
            sub = subject_from(fname) if subject_from else stem
            sub = "".join(c for c in sub if c.isalnum()) or "01"
            runs[sub] = runs.get(sub, 0) + 1
            edf = Path(tmp) / f"{sub}_{runs[sub]}.edf"
            write_edf(rec, edf)
            raw = mne.io.read_raw_edf(edf, preload=False, verbose="error")
            raw.info["line_freq"] = 50.0
            bp = BIDSPath(subject=sub, task=task, run=runs[sub], datatype="eeg",
                          root=bids_root)
            write_raw_bids(raw, bp, overwrite=overwrite, verbose=False,
                           allow_preload=False)
            out.append(bp.fpath)
    return out
