"""The one in-memory recording type every reader returns, and its MNE form."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .._checks import _as_data
from .._json import dumps
from .._words import agree, counted, listed
from ._types import Gap, Stream

__all__ = ["Gap", "Recording", "Stream", "from_mne", "to_mne"]

_TAG = "biofeedback:"
# Timestamps below this are a session clock (LSL), not Unix time.
_UNIX_MIN = 1e8
# Annotations marking the padding of an EDF file's last data record: MNE's
# exporter writes BAD_ACQ_SKIP; files from biofeedback 0.1.0 hold BAD_edf_padding.
_PADDING = ("BAD_ACQ_SKIP", "BAD_edf_padding")


@dataclass
class Recording:
    """EEG in memory, the same whatever file it came from.

    Attributes
    ----------
    data : ndarray, shape (n_channels, n_times)
        EEG in **volts**, float64, C-contiguous (as MNE stores it).
    sfreq : float
        Nominal sampling rate in Hz (declared by the file or the board).
    ch_names : list of str
        Channel names, 10-20 where known.
    timestamps : ndarray, shape (n_times,)
        Per-sample time in seconds on the recording's clock (LSL clock for
        recordings made by this package, Unix time for most other files).
    markers : list of (float, str)
        Event markers as (timestamp, description), sorted by time.
    gaps : list of Gap
        Dropped packets and lost-stream stretches; never interpolated.
    streams : dict of str to Stream
        Other streams recorded beside the EEG, by name.
    source_format : str
        Short name of the reader ("xdf", "muse-csv", "openbci-txt", ...).
    provenance : dict
        File name, reader options, software versions, sidecar contents.
    warnings : list of str
        Every problem found while reading that did not stop the read.
    profile : str | None
        Board profile name, when known.
    """

    data: np.ndarray
    sfreq: float
    ch_names: list
    timestamps: np.ndarray
    markers: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    streams: dict = field(default_factory=dict)
    source_format: str = "unknown"
    provenance: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    profile: str | None = None

    def __post_init__(self):
        self.data = _as_data(self.data, "data", 2)
        self.timestamps = np.ascontiguousarray(self.timestamps, dtype=np.float64)
        self.ch_names = list(self.ch_names)
        if self.data.shape[0] != len(self.ch_names):
            raise ValueError(
                f"data has {self.data.shape[0]} channels but {len(self.ch_names)} "
                "channel names were given."
            )
        if self.timestamps.shape != (self.data.shape[1],):
            raise ValueError(
                f"timestamps must have shape ({self.data.shape[1]},), "
                f"got {self.timestamps.shape}."
            )

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return self.data.shape[1]

    @property
    def duration(self) -> float:
        """Duration in seconds, from the sample count and nominal rate."""
        return self.n_times / self.sfreq if self.sfreq else 0.0

    @property
    def started(self) -> float | None:
        """When the recording began, in Unix seconds, when it holds a date;
        else None.

        Timestamps hold a date when they are Unix time (muse-lsl, BrainFlow and
        OpenBCI GUI files, an EDF or FIF with a start date): from 10⁹ (2001) to
        the year 2100; the first sample's is the start. The LSL clock (time
        since the computer started), a time of day, seconds from a file's
        start and EDF's stand-in for an unknown date (1 January 1985) are below
        10⁹: then the time a reader found in the file's header
        (``provenance["recorded_at"]``: an XDF file's, as LabRecorder writes
        it) is the start, to the second.
        """
        t0 = float(self.timestamps[0]) if self.n_times else math.nan
        if 1e9 <= t0 < 4.1e9:
            return t0
        when = self.provenance.get("recorded_at")
        return float(when) if isinstance(when, (int, float)) and 1e9 <= when < 4.1e9 \
            else None

    def require_rate(self, doing="be cut into windows"):
        """Raise when the EEG has no regular rate (an irregular stream).

        Parameters
        ----------
        doing : str
            What needs the rate, said in the message ("be cut into windows").

        Raises
        ------
        RecordingFormatError
            Naming the file and the stream, and what to do.
        """
        if np.isfinite(self.sfreq) and self.sfreq > 0:
            return
        from ..errors import RecordingFormatError

        name = self.provenance.get("eeg_stream")
        what = f"its EEG stream {name!r}" if name else "its EEG"
        raise RecordingFormatError(
            f"{what} declares no sampling rate (nominal_srate 0) and its timestamps are "
            f"not evenly spaced, so it cannot {doing}; record it with the sender's "
            "nominal rate set, or pick another stream with --stream NAME.",
            self.provenance.get("fname", "the recording"))

    def require_numbers(self, doing="be cut into windows", then=""):
        """Raise when the EEG holds no number (every sample NaN or inf).

        Parameters
        ----------
        doing : str
            What needs the numbers, said in the message ("be cut into windows").
        then : str
            What to do, said after it ("leave it out"); by default, that the
            file holds no signal.

        Raises
        ------
        RecordingFormatError
            Naming the file.
        """
        from ._integrity import _BLOCK

        for a in range(0, self.n_times, _BLOCK):  # the first finite block ends the scan
            if np.isfinite(self.data[:, a: a + _BLOCK]).any():
                return
        from ..errors import RecordingFormatError

        raise RecordingFormatError(
            f"its EEG holds no number (every sample of every channel is NaN or inf), so "
            f"it cannot {doing}; {then or 'the file holds no signal'}.",
            self.provenance.get("fname", "the recording"))

    def copy(self) -> Recording:
        """Return a deep copy."""
        import copy

        return copy.deepcopy(self)

    def crop(self, tmin=None, tmax=None) -> Recording:
        """Keep samples with ``tmin <= timestamp <= tmax`` (in place; returns self).

        Markers, gaps and other streams outside the window are dropped too.
        """
        lo = -np.inf if tmin is None else float(tmin)
        hi = np.inf if tmax is None else float(tmax)
        keep = (self.timestamps >= lo) & (self.timestamps <= hi)
        self.data = np.ascontiguousarray(self.data[:, keep])
        self.timestamps = np.ascontiguousarray(self.timestamps[keep])
        self.markers = [(t, s) for t, s in self.markers if lo <= t <= hi]
        self.gaps = [g for g in self.gaps if lo <= g.onset <= hi]
        for st in self.streams.values():
            k = (st.timestamps >= lo) & (st.timestamps <= hi)
            if isinstance(st.data, np.ndarray):
                st.data = np.ascontiguousarray(np.atleast_2d(st.data)[:, k])
            else:
                st.data = [v for v, ok in zip(st.data, k) if ok]
            st.timestamps = st.timestamps[k]
        return self

    def to_mne(self, *, montage=None):
        """Return an :class:`mne.io.RawArray` (volts, standard montage).

        Markers become annotations, gaps ``BAD_gap`` and railed stretches
        ``BAD_railed`` (from the board profile's rail).
        """
        return to_mne(self, montage=montage)

    @classmethod
    def from_mne(cls, raw) -> Recording:
        """Build a Recording from an :class:`mne.io.Raw` (see :meth:`to_mne`)."""
        return from_mne(raw)

    def __repr__(self) -> str:
        return (
            f"<Recording | {self.source_format}, {len(self.ch_names)} ch, "
            f"{self.sfreq:g} Hz, {self.duration:.1f} s, {counted(len(self.markers), 'marker')}, "
            f"{counted(len(self.gaps), 'gap')}>"
        )


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


def marked_bad(bads, where="in the file") -> str:
    """The warning for channels a file marks bad (kept, judged like any)."""
    n = len(bads)
    return (f"{counted(n, 'channel is', 'channels are')} marked bad {where} "
            f"({listed(bads)}): kept, and judged by the quality gates window by window "
            f"like any channel (a FIF written from this recording marks "
            f"{agree(n, 'it', 'them')} bad again).")


def kept_bads(value, ch_names) -> list:
    """The channels a file's own list (a sidecar's, an XDF header's) marks bad:
    names of ``ch_names``, in their order; anything else is no such list."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return []
    return [ch for ch in ch_names if ch in value]


def bads_of(rec) -> list:
    """The channels ``rec``'s file marked bad (``provenance["bads"]``) that it
    holds, in the order marked: what a copy written from it marks again."""
    return [ch for ch in rec.provenance.get("bads") or () if ch in rec.ch_names]


def stated_mains(value) -> float | None:
    """A file's mains frequency (MNE's ``info["line_freq"]``, BIDS'
    ``PowerLineFrequency``) when it is one: 50 or 60 Hz, else None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value in (50.0, 60.0) else None


def to_mne(rec, *, montage=None, railed=True):
    """Return ``rec`` as an :class:`mne.io.RawArray`.

    Markers become annotations with their text (and the duration they were
    read with, ``provenance["marker_spans"]``), each gap a ``BAD_gap``
    annotation spanning the discontinuity (the missing time and samples in its
    ``extras``), and stretches where a channel sits at the amplifier's rail
    ``BAD_railed`` annotations on that channel. Channel positions come from
    ``montage`` (default: MNE's 10-05 template; names not in it keep no
    position; "" sets none).
    """
    import mne

    from ._integrity import railed_spans

    info = mne.create_info(list(rec.ch_names), rec.sfreq, ch_types="eeg")
    info["bads"] = bads_of(rec)
    mains = stated_mains(rec.provenance.get("line_freq"))
    if mains:
        info["line_freq"] = mains
    raw = mne.io.RawArray(rec.data, info, verbose="error")
    t0 = float(rec.timestamps[0]) if rec.n_times else 0.0
    if t0 > _UNIX_MIN:
        raw.set_meas_date(datetime.fromtimestamp(t0, tz=timezone.utc))
    elif rec.started is not None:  # the LSL clock, dated by its file's header
        raw.set_meas_date(datetime.fromtimestamp(rec.started, tz=timezone.utc))
    meta = {"t0": t0, "source_format": rec.source_format, "profile": rec.profile}
    with raw.info._unlock():
        raw.info["description"] = _TAG + dumps(meta)
    if montage is None:
        montage = _default_montage()
    if montage:
        mont = mne.channels.make_standard_montage(montage)
        raw.set_montage(mont, on_missing="ignore", match_case=False, verbose="error")
    onsets, durations, descs, chs, extras = [], [], [], [], []
    period = 1.0 / rec.sfreq
    ts = rec.timestamps
    # the spans of markers read with a duration (from_mne) keep it
    spans = {(float(a), str(text)): float(b) - float(a)
             for a, b, text in rec.provenance.get("marker_spans") or ()}
    for t, text in rec.markers:
        k = int(np.searchsorted(ts, t))
        k = min(max(k, 0), max(rec.n_times - 1, 0))
        # place markers on the sample grid of the contiguous Raw
        rel = k * period + (t - ts[k] if 0 <= t - ts[k] < period else 0.0)
        onsets.append(rel)
        durations.append(spans.get((float(t), str(text)), 0.0))
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


#: A numeric character reference, as MNE's FIF writer puts a character
#: Latin-1 lacks ("–" is written "&#8211;"; MNE's reader leaves it so).
_CHAR_REF = re.compile(r"&#(\d{1,7});")


def _char(match):
    """The character a reference names (as it is when it names none)."""
    code = int(match.group(1))
    return chr(code) if code <= 0x10FFFF else match.group(0)


def from_mne(raw, *, source_format="mne", provenance=None, picks="eeg"):
    """Turn an :class:`mne.io.Raw` back into a :class:`Recording`.

    ``BAD_gap`` annotations become :class:`Gap` (with their missing time when the
    annotation carries it), ``BAD_railed`` ones are dropped (they are recomputed
    from the data), every other annotation becomes a marker; one with a
    duration also gives ``(start, stop, text)`` in
    ``provenance["marker_spans"]``, so that labels from markers end with it.
    Channels marked bad (``info["bads"]``) are kept, named in
    ``provenance["bads"]``, and marked bad again by :func:`to_mne`.
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
    # the first sample lies first_time after the start a FIF keeps (a raw file
    # cropped, or recorded after its start was set, begins at first_samp)
    if "t0" in meta:
        t0 = float(meta["t0"]) + raw.first_time
        clock = "the recording's own clock (kept in the file's description)"
    elif raw.info["meas_date"] is not None:
        t0 = raw.info["meas_date"].timestamp() + raw.first_time
        clock = f"Unix seconds from the file's start, {raw.info['meas_date']:%Y-%m-%d %H:%M:%S} UTC"
        if raw.info["meas_date"].year == 1985:  # EDF's date when none was known
            clock += " (EDF's stand-in for an unknown date)"
    else:
        t0 = 0.0
        clock = "seconds from the file's start (the file holds no date)"
    ts = t0 + np.arange(data.shape[1]) / sfreq
    markers, gaps, spans = [], [], []
    annot = raw.annotations
    for a in annot:  # EDF pads its last record: drop the padding
        stop = int(round((float(a["onset"]) - raw.first_time) * sfreq))
        end = stop + int(round(float(a["duration"]) * sfreq))
        if a["description"] in _PADDING and stop > 0 and end >= data.shape[1] > stop:
            data, ts = data[:, :stop], ts[:stop]
    extras = getattr(annot, "extras", None) or [{}] * len(annot)  # MNE >= 1.6 only
    fif = any(str(f or "").lower().endswith((".fif", ".fif.gz"))
              for f in getattr(raw, "filenames", ()))
    for a, ex in zip(annot, extras):
        onset = float(a["onset"]) - raw.first_time
        ex = ex or {}
        text = a["description"]
        if fif:  # MNE writes FIF text as Latin-1, other characters as "&#8211;"
            text = _CHAR_REF.sub(_char, text)
        if text == "BAD_gap" or text.startswith("BAD_gap "):
            # EDF keeps no extras: its gaps carry "n=... missing_s=..." in their text
            fields = dict(kv.split("=", 1) for kv in text.split()[1:] if "=" in kv)
            try:
                ex = {"n_missing": int(fields["n"]), "missing_s": float(fields["missing_s"]),
                      **ex}
            except (KeyError, ValueError):
                pass
            n_missing = int(ex.get("n_missing", 0) or 0)
            gaps.append(Gap(onset=float(ex.get("timestamp", t0 + onset)),
                            duration=float(ex.get("missing_s", 0.0) or 0.0),
                            n_missing=n_missing, source=ex.get("source", "annotation")
                            or "annotation"))
            if n_missing:
                k = int(round(onset * sfreq)) + 1
                ts[k:] += n_missing / sfreq
        elif text.startswith("BAD_railed") or text in _PADDING:
            continue  # railed spans are recomputed from the data
        else:
            t = float(ex.get("timestamp", t0 + onset))
            markers.append((t, text))
            if float(a["duration"]) > 0:  # a stretch (MNE's way to mark a state's span)
                spans.append((t, t + float(a["duration"]), text))
    markers.sort(key=lambda m: m[0])
    prov = {"mne_version": mne.__version__, "clock": clock}
    if "t0" in meta and abs(t0) < _UNIX_MIN and raw.info["meas_date"] is not None:
        # a recording on the LSL clock keeps it; the date says when it was begun
        prov["recorded_at"] = raw.info["meas_date"].timestamp()
    if spans:  # where each marker with a duration ends: labelling stops there
        prov["marker_spans"] = sorted(spans)
    mains = stated_mains(raw.info.get("line_freq"))
    if mains:  # where it was recorded: the notch and the mains gate use it
        prov["line_freq"] = mains
    bads = [ch for ch in raw.info["bads"] if ch in ch_names]
    if bads:  # marked by whoever looked at the data: kept, and written back to FIF
        prov["bads"] = bads
    prov.update(provenance or {})
    rec = Recording(data=data, sfreq=sfreq, ch_names=ch_names, timestamps=ts,
                    markers=markers, gaps=gaps,
                    source_format=meta.get("source_format", source_format)
                    if source_format == "mne" else source_format,
                    provenance=prov, profile=meta.get("profile"))
    return rec
