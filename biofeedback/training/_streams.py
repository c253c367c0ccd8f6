"""The live protocol, replayed: calibration blocks and streams that switch state.

A live session runs its protocol's blocks before feedback (a rest baseline,
or guided calibration blocks that each ask for one state), and then the
person's state changes whenever it changes. Validation replays exactly that
from labelled one-state recordings:

- :class:`~._calibration.CalibrationPlan` lists the blocks before the first
  training block of a pipeline's protocol, each with the state it asks for and
  its duration; a model calibrated on the plan is centred on the windows the
  engine gives over those blocks (those ending within the plan's first
  ``seconds``).
- :func:`build_stream` lays one subject's recordings end to end on one
  continuous clock: the plan's blocks first (each takes the first seconds of
  that state's recording), then stretches of ``switch_every`` seconds cycling
  through the states. Joins carry no artifact the engine would not see in a
  real change of state: each stretch is shifted by the difference of the local
  means at the join (a constant offset, which the high-pass removes) and the
  two sides are cross-faded linearly over ``crossfade`` seconds; the
  timestamps run on without a gap, so the engine never restarts. A marker
  names the state at the start of every stretch.
- :func:`switching_scores` scores a labelled stream: balanced accuracy over
  all windows, accuracy in the first seconds after each switch and the lag
  until the output follows the new state.
"""

from __future__ import annotations

import numpy as np

from .._words import listed
from ._calibration import CalibrationPlan
from ._labels import DatasetError

__all__ = ["CalibrationPlan", "build_stream", "switching_scores"]

#: One-state recordings are scored on windows starting after this many seconds
#: (as a live session settles), in validation and evaluation alike; streams
#: built from them never use those seconds after their calibration blocks.
SCORE_AFTER = 20.0
#: Seconds after a switch scored separately ("first 10 s").
FIRST_SECONDS = 10.0
#: The output follows a switch once it names the new state for this long.
HOLD_SECONDS = 2.0


def _take(rec, start, seconds):
    i0 = int(round(start * rec.sfreq))
    i1 = min(rec.n_times, i0 + int(round(seconds * rec.sfreq)))
    return rec.data[:, i0:i1]


def _join(pieces, sfreq, crossfade):
    """Concatenate ``pieces`` with offset matching and a linear cross-fade."""
    n_x = int(round(crossfade * sfreq))
    n_m = int(round(sfreq))  # one second each side for the local means
    out = pieces[0].copy()
    starts = [0]
    for p in pieces[1:]:
        p = p + (out[:, -n_m:].mean(axis=1) - p[:, :n_m].mean(axis=1))[:, None]
        n = min(n_x, out.shape[1] - 1, p.shape[1] - 1)
        if n > 0:
            w = (np.arange(1, n + 1) / (n + 1))[None, :]
            blend = out[:, -n:] * (1 - w) + p[:, :n] * w
            starts.append(out.shape[1] - n + n // 2)
            out = np.concatenate([out[:, :-n], blend, p[:, n:]], axis=1)
        else:
            starts.append(out.shape[1])
            out = np.concatenate([out, p], axis=1)
    return out, starts


def without_bad_spans(rec, crossfade=0.5):
    """``rec`` with the data under MNE's ``BAD`` annotations cut out.

    Training leaves out the windows touching such a span; a stream built from
    the recording must not replay its data either. The pieces around each
    span are joined as a stream's stretches are (:func:`_join`: offset
    matched, cross-faded over ``crossfade`` seconds), on a clock that runs on
    without a gap. A ``BAD`` marker without a duration spans nothing and cuts
    nothing. The same recording is returned when nothing is cut.

    Returns
    -------
    recording : Recording
        Without markers (a stream names its own stretches).
    """
    from ..io import Recording
    from ._labels import bad_spans

    markers = [(float(t), str(s)) for t, s in rec.markers]
    bad, _, _ = bad_spans(markers, rec.provenance.get("marker_spans") or ())
    ts = np.asarray(rec.timestamps, dtype=np.float64)
    keep = np.ones(rec.n_times, dtype=bool)
    for a, b in bad:  # [a, b): the samples MNE's reject_by_annotation leaves out
        keep[np.searchsorted(ts, a): np.searchsorted(ts, b)] = False
    if keep.all():
        return rec
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.view(np.int8), [0]])))
    pieces = [rec.data[:, i:j] for i, j in zip(edges[::2], edges[1::2])]
    # (all of it bad: nothing left, which build_stream finds too short)
    data = _join(pieces, rec.sfreq, crossfade)[0] if pieces else rec.data[:, :0]
    return Recording(data=data, sfreq=rec.sfreq, ch_names=list(rec.ch_names),
                     timestamps=ts[0] + np.arange(data.shape[1]) / rec.sfreq,  # no gap
                     source_format=rec.source_format,
                     provenance=dict(rec.provenance, marker_spans=[],
                                     bad_cut_s=float((~keep).sum() / rec.sfreq)),
                     profile=rec.profile)


def build_stream(recordings, plan=None, switch_every=30.0, *, skip=None,
                 crossfade=0.5, min_piece=None, order=None, name="stream"):
    """One subject's one-state recordings laid end to end as a live session.

    Parameters
    ----------
    recordings : dict of str to Recording
        One recording per state (label), of one subject and session.
    plan : CalibrationPlan | None
        Calibration blocks played first, each from the start of its state's
        recording (a block that names no state cannot be replayed).
    switch_every : float
        Seconds per stretch after calibration.
    skip : float | None
        Seconds at the start of every recording never used after calibration
        (default: what calibration took from it), so streams with different
        plans score the same material.
    crossfade : float
        Seconds of linear cross-fade at each join.
    order : list of str | None
        The order the states cycle in after calibration (default: sorted).
    min_piece : float | None
        Shorter leftovers are dropped (default: half of ``switch_every``, at
        most the 10 s scored after a switch).

    Returns
    -------
    recording : Recording
        On a clock starting at 0 s, with a marker naming the state at the
        start of every stretch.
    stretches : list of (float, str)
        Start time (s) and state of each stretch.
    """
    from ..io import Recording

    if not recordings:
        raise DatasetError("No recording to build a stream from.")
    if not switch_every > 0:
        raise DatasetError(f"--switch-every must be positive, got {switch_every:g}.")
    recs = dict(recordings)
    first = next(iter(recs.values()))
    sfreq = first.sfreq
    cursor = dict.fromkeys(recs, 0.0)
    pieces, labels = [], []
    for state, seconds in (plan.blocks if plan else ()):
        if state is None:
            raise DatasetError(
                "A baseline block of the protocol names no state, so validation cannot "
                "replay it from labelled recordings; give the block a state (the label "
                "its instructions ask for).")
        if state not in recs:
            asked = sorted({s for s, _ in plan.blocks if s is not None})
            raise DatasetError(f"The calibration asks for state {state!r}, but {name} "
                               "holds no recording of it; give a recording of each state "
                               f"its blocks replay ({listed(map(repr, asked))}) for every "
                               "person and session, as a live session calibrates on them.")
        pieces.append(_take(recs[state], cursor[state], seconds))
        labels.append(state)
        cursor[state] += seconds
    if skip is not None:
        cursor = {k: max(v, float(skip)) for k, v in cursor.items()}
    if min_piece is None:
        min_piece = min(switch_every / 2, FIRST_SECONDS)
    order = sorted(recs) if order is None else list(order)
    left = {k: recs[k].duration - cursor[k] for k in recs}
    i, prev = 0, labels[-1] if labels else None
    while True:
        cands = [order[(i + j) % len(order)] for j in range(len(order))]
        cands = [k for k in cands if k != prev and left[k] >= min_piece]
        if not cands:
            break
        k = cands[0]
        seconds = min(switch_every, left[k])
        pieces.append(_take(recs[k], cursor[k], seconds))
        labels.append(k)
        cursor[k] += seconds
        left[k] -= seconds
        prev = k
        i = order.index(k) + 1
    if not pieces:
        # nothing after the first seconds: no stream, nor --switch-every 0, scores them
        none_left = bool(skip) and all(r.duration <= float(skip) for r in recs.values())
        # half a switch's length is the shortest piece taken: a shorter
        # --switch-every fits what the recordings hold
        fits = int(2 * max(left.values(), default=0.0))
        raise DatasetError(
            f"The recordings of {name} are too short to build a stream switching state: "
            f"each needs at least {min_piece:g} s"
            + (f" after its first {float(skip):g} s" if skip else "")
            + ("; record longer: no window of theirs is scored, switching or not."
               if none_left else
               f"; record longer, pass --switch-every {fits} or less, or --switch-every 0."
               if 1 <= fits < switch_every else "; record longer, or pass --switch-every 0."))
    data, starts = _join(pieces, sfreq, crossfade)
    times = np.arange(data.shape[1]) / sfreq
    stretches = [(starts[j] / sfreq, labels[j]) for j in range(len(pieces))]
    rec = Recording(data=data, sfreq=sfreq, ch_names=list(first.ch_names), timestamps=times,
                    markers=[(t, s) for t, s in stretches], source_format="stream",
                    provenance={"built_from": name, "switch_every_s": switch_every,
                                "crossfade_s": crossfade, "order": order},
                    profile=first.profile)
    return rec, stretches


def switches_from_markers(markers, after=0.0):
    """(time, new state) at every change of labelled state later than ``after``."""
    out, prev = [], None
    for t, s in markers:
        if prev is not None and s != prev and t > after:
            out.append((float(t), str(s)))
        prev = s
    return out


def switching_scores(t, y_true, y_pred, switches, *, first=FIRST_SECONDS,
                     hold=HOLD_SECONDS):
    """Scores of one labelled stream's windows.

    Parameters
    ----------
    t : array, shape (n_windows,)
        Window ends (s, the stream's clock), increasing.
    y_true, y_pred : array of str, shape (n_windows,)
        State at each window's end, and the output's most probable state
        ('' where it gave none).
    switches : list of (float, str)
        Time and new state of each switch.
    first : float
        Seconds after each switch scored on their own.
    hold : float
        The output follows a switch at the first window from which it names
        the new state for ``hold`` seconds (or to the next switch).

    Returns
    -------
    scores : dict
        ``lags`` (s; inf where the output never followed before the next
        switch), ``first_correct`` and ``first_n`` (windows right in the first
        ``first`` seconds, and their number).
    """
    t = np.asarray(t, float)
    y_true, y_pred = np.asarray(y_true, str), np.asarray(y_pred, str)
    lags, first_correct, first_n = [], 0, 0
    ends = [s for s, _ in switches[1:]] + [np.inf]
    for (ts, state), te in zip(switches, ends):
        m = (t > ts) & (t <= te)
        if not m.any():
            continue
        tt, yp = t[m], y_pred[m]
        f = tt - ts <= first
        first_correct += int(np.sum(yp[f] == y_true[m][f]))
        first_n += int(f.sum())
        lag = np.inf
        ok = yp == state
        for j in np.flatnonzero(ok):
            span = (tt >= tt[j]) & (tt < tt[j] + hold)
            if ok[span].all():
                lag = float(tt[j] - ts)
                break
        lags.append(lag)
    return {"lags": lags, "first_correct": first_correct, "first_n": first_n}


def state_orders(states):
    """Orders to cycle the states in: every rotation of the sorted states and of
    their reverse (all six orders of three states), so every kind of switch is
    scored equally often."""
    fwd = sorted(states)
    out = []
    for seq in (fwd, fwd[::-1]):
        for i in range(len(seq)):
            o = seq[i:] + seq[:i]
            if o not in out:
                out.append(o)
    return out


def stream_dataset(dataset, plan=None, switch_every=30.0, *, skip=None, crossfade=0.5,
                   n_jobs=1):
    """Every subject's (and session's) live streams, through the engine.

    Per subject and session of ``dataset``'s one-state recordings (labelled by
    file name or a manifest's whole-file rows; recordings a manifest labels by
    stretches already switch, and are left out), one stream per order of
    :func:`state_orders` (built from its files by :func:`build_stream`: the
    same calibration blocks first, then the states in that order), run through
    the engine with the dataset's pipeline, board and gating; every window is
    labelled by the state at its end. Cached on ``dataset``.

    Returns
    -------
    streams : Dataset
        Its ``files`` are the streams (``subject``, ``session`` kept);
        ``full[r]["markers"]`` holds each stream's stretches.
    """
    from collections import defaultdict

    from ..io import read_recording
    from ._dataset import LabelledFile, extract_dataset

    key = (plan, float(switch_every), skip, crossfade)
    cache = dataset.__dict__.setdefault("_streams", {})
    if key in cache:
        return cache[key]
    groups = defaultdict(dict)
    if all(f.label is None for f in dataset.files):
        raise DatasetError("Streams are built from one-state recordings labelled by "
                           "file name or manifest, not from marker-labelled ones.")
    for f in dataset.files:
        if f.label is None:
            continue
        rec = f.recording if f.recording is not None else read_recording(f.path)
        rec = without_bad_spans(rec, crossfade)  # data training leaves out, cut out
        if f.label in groups[(f.subject, f.session)]:
            raise DatasetError(f"Subject {f.subject} (session {f.session}) has two "
                               f"recordings of {f.label!r}; streams take one per state.")
        groups[(f.subject, f.session)][f.label] = rec
    files = []
    for (subject, session), recs in sorted(groups.items()):
        for k, order in enumerate(state_orders(recs)):
            name = f"{subject}-stream{k + 1}-{session}"
            rec, _ = build_stream(recs, plan, switch_every, skip=skip, crossfade=crossfade,
                                  order=order, name=f"subject {subject} (session {session})")
            files.append(LabelledFile(name, subject, session, None, recording=rec))
    ds = extract_dataset(files, dataset.config, profile=dataset.profile,
                         gated=dataset.gated_mode, n_jobs=n_jobs, min_classes=1,
                         label_by="end", need_windows=dataset.windows is not None)
    cache[key] = ds
    return ds
