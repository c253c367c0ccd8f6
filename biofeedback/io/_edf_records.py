"""EDF+D and BDF+D: data records that are not back to back.

MNE reads a discontinuous EDF+ file as if its records followed one another
(the onset each record's annotation signal gives is not used), so a pause in
the recording (the OpenBCI GUI writes BDF+D after its stream was stopped and
started again) vanished, and every sample after it was stamped too early.
"""

from __future__ import annotations

import numpy as np

from ._types import Gap


def read_headers(fid):
    """``(head, ns, sig)`` of the EDF/BDF file open at its start as ``fid``: the
    256-byte header, the signal count it gives and the signals' headers (256
    bytes each), or None when the count is not a number of signals."""
    head = fid.read(256)
    try:
        ns = int(head[252:256])
    except ValueError:
        return None
    if ns < 0:  # read(-256) would read the whole file
        return None
    return head, ns, fid.read(256 * ns)


def edf_headers(fname):
    """``(headers, records)`` of the EDF/BDF file ``fname``, read in one open:
    what :func:`read_headers` gives and what :func:`record_onsets` gives."""
    with open(fname, "rb") as fid:
        headers = read_headers(fid)
        return headers, record_onsets(fid, headers)


def records_cut(fname, headers):
    """``(declared, held, record_seconds)`` when the EDF/BDF file ``fname`` holds
    fewer whole data records than its header declares (a recorder stopped, a
    copy cut off: MNE reads what is there without a word), else None."""
    import os

    if headers is None:
        return None
    head, ns, sig = headers
    try:
        n_head = int(head[184:192])
        n_rec, seconds = int(head[236:244]), float(head[244:252])
        n_samp = [int(sig[216 * ns + 8 * i: 216 * ns + 8 * (i + 1)]) for i in range(ns)]
    except ValueError:
        return None
    size = sum(n_samp) * (3 if head[:1] == b"\xff" else 2)  # BDF: 24-bit samples
    if n_rec <= 0 or size <= 0:  # -1: still being recorded, the size says how many
        return None
    held = max(os.path.getsize(fname) - n_head, 0) // size
    return (n_rec, held, seconds) if held < n_rec else None


def equipment(headers):
    """The equipment an EDF+/BDF+ header names (the fourth field after
    'Startdate' in its recording identification), or None: where
    :func:`~biofeedback.io.write_recording` keeps the board profile's name."""
    if headers is None:
        return None
    fields = headers[0][88:168].decode("ascii", "replace").split()
    if len(fields) < 5 or fields[0] != "Startdate" or fields[4] == "X":
        return None
    return fields[4]


def record_onsets(fid, headers):
    """``(onsets, record_seconds)`` of a discontinuous EDF+/BDF+ file's data
    records (seconds from its start), or None for any other file.

    ``fid`` is the file open for reading, ``headers`` what
    :func:`read_headers` read from it.
    """
    if headers is None or headers[0][192:197] not in (b"EDF+D", b"BDF+D"):
        return None
    head, ns, sig = headers
    try:
        n_head = int(head[184:192])
        n_rec, seconds = int(head[236:244]), float(head[244:252])
    except ValueError:
        return None
    labels = [sig[16 * i: 16 * (i + 1)].strip() for i in range(ns)]
    n_samp = [int(sig[216 * ns + 8 * i: 216 * ns + 8 * (i + 1)]) for i in range(ns)]
    ann = [i for i, lab in enumerate(labels) if lab in (b"EDF Annotations",
                                                         b"BDF Annotations")]
    if not ann or seconds <= 0:
        return None
    width = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples
    size = sum(n_samp) * width
    at, length = sum(n_samp[: ann[0]]) * width, n_samp[ann[0]] * width
    fid.seek(0, 2)
    held = fid.tell() - n_head
    if n_rec < 0:  # -1 while recording: count the records the file holds
        n_rec = held // size
    if n_rec == 0:
        return np.empty(0), seconds
    span = (n_rec - 1) * size + at + length  # up to the last record's annotations
    if length == 0 or held < span:  # no annotation bytes, or cut off
        return None
    # every record's annotation bytes in one strided read of the file's pages
    # (not one seek and read per record: 3,600 of them for an hour)
    pages = np.memmap(fid, dtype=np.uint8, mode="r", offset=n_head, shape=(span,))
    rows = np.lib.stride_tricks.as_strided(pages[at:], shape=(n_rec, length),
                                           strides=(size, 1), writeable=False)
    tals = np.ascontiguousarray(rows).view(f"S{length}").ravel()
    del rows, pages
    onsets = np.empty(n_rec)
    for r, tal in enumerate(tals.tolist()):
        try:  # each record's first TAL: '+<onset>\x14\x14'
            onsets[r] = float(tal[: tal.index(b"\x14")])
        except ValueError:
            return None
    return onsets, seconds


def apply_record_onsets(rec, onsets, seconds):
    """Stamp each record's samples at its onset and add a gap at each pause.

    Onsets that make records overlap are no clock (the OpenBCI GUI writes
    whole elapsed seconds): then the records stay back to back, as MNE reads
    them, and a warning says so.
    """
    steps = np.diff(onsets)
    if np.any(steps < seconds - 0.5 / rec.sfreq):
        k = int(np.argmax(steps < seconds - 0.5 / rec.sfreq))
        rec.warnings.append(
            f"The file is marked discontinuous (EDF+D), but its data records' onsets "
            f"overlap (record {k + 2} starts {steps[k]:g} s after the one before, which "
            f"lasts {seconds:g} s), so they tell no pauses: read back to back.")
        return
    per = int(round(seconds * rec.sfreq))
    shift = np.repeat(onsets - onsets[0] - np.arange(onsets.size) * seconds, per)
    n = min(rec.n_times, shift.size)
    rec.timestamps[:n] += shift[:n]
    pauses = np.flatnonzero(steps > seconds + 0.5 / rec.sfreq) + 1
    for r in pauses:
        if r * per >= rec.n_times:
            break
        lost = float(onsets[r] - onsets[r - 1] - seconds)
        rec.gaps.append(Gap(onset=float(rec.timestamps[r * per - 1]), duration=lost,
                            n_missing=int(round(lost * rec.sfreq)), source="edf_records"))
    rec.gaps.sort(key=lambda g: g.onset)
