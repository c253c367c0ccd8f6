"""Progress over a training programme: learning curves, trends, the learner criterion.

The regulated measure of a session is the mean, over its training blocks, of
the trained estimate relative to the session's own baseline, in baseline
standard deviations (see :mod:`biofeedback.library._record`). Across
sessions, its least-squares slope against the session number (against the
sessions' order, 1, 2, 3, ..., when some are labelled without a number,
``ses-pre``), with a 95 %
interval from Student's t on n - 2 degrees of freedom, says whether the
person is learning: a *learner* has a significantly positive slope (the
interval lies above zero), the criterion of Alkoby et al. 2018
(Neuroscience 378:155), who found 30-50 % of people to be non-learners.
Within sessions, the slope of the same measure against the training block's
position, each session centred on its own mean (a fixed effect per session),
says whether the person improves over a session.

The HTML report of these figures is written by :mod:`._progress_html`.
"""

from __future__ import annotations

import math

from .._json import finite
from .._words import counted, listed
from ._layout import session_name, session_ref

__all__ = ["progress", "overview", "trend", "compare_line", "to_json", "LEARNER_CRITERION",
           "short_of_training", "trend_sessions", "short_note", "MIN_TRAINING_SHARE"]

#: A session enters the trends across sessions when its trained measure rests on at
#: least this share of a whole session's clean training windows (the median of the
#: participant's sessions of that measure that ran to their end): a session ended
#: a few windows into training is listed and drawn, but its value is not one day's.
MIN_TRAINING_SHARE = 0.5

LEARNER_CRITERION = (
    "Learner: a significantly positive slope (95 % interval above zero) of the trained "
    "measure across sessions, measured in training blocks relative to each session's "
    "baseline (Alkoby et al. 2018, Neuroscience 378:155).")


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _t_test(slope, se, df) -> tuple[float, float]:
    """Student's t: the 97.5 % quantile and the two-sided p of ``slope / se``."""
    from scipy.special import stdtr, stdtrit  # lighter to import than scipy.stats

    tcrit = float(stdtrit(df, 0.975))
    if se > 0:
        p = float(2 * stdtr(df, -abs(slope) / se))
    else:
        p = 0.0 if slope != 0 else 1.0
    return tcrit, p


def trend(x, y) -> dict:
    """Least-squares slope of ``y`` on ``x`` with its 95 % interval.

    Returns
    -------
    fit : dict
        ``slope``, ``intercept``, ``ci95`` ([lo, hi]), ``p`` (two-sided),
        ``n``; NaN where fewer than 3 finite points exist.
    """
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    nan = {"slope": math.nan, "intercept": math.nan, "ci95": [math.nan, math.nan],
           "p": math.nan, "n": n}
    if n < 3 or np.ptp(x) == 0:
        return nan
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    df = n - 2
    se = math.sqrt(float((resid**2).sum()) / df / sxx)
    tcrit, p = _t_test(slope, se, df)
    return {"slope": slope, "intercept": intercept,
            "ci95": [slope - tcrit * se, slope + tcrit * se], "p": p, "n": n,
            "se": se, "df": df, "x_mean": float(xm), "sxx": sxx,
            "resid_sd": math.sqrt(float((resid**2).sum()) / df)}


def _within(blocks_by_session) -> dict:
    """Slope over training-block position within sessions (session fixed effects)."""
    import numpy as np

    xs, ys, groups = [], [], 0
    for rows in blocks_by_session.values():
        vals = [(i, r) for i, r in enumerate(rows) if _finite(r)]
        if len(vals) < 2:
            continue
        groups += 1
        x = np.array([v[0] for v in vals], float)
        y = np.array([v[1] for v in vals], float)
        xs.append(x - x.mean())
        ys.append(y - y.mean())
    out = {"slope_per_block": math.nan, "ci95": [math.nan, math.nan], "p": math.nan,
           "n_blocks": int(sum(len(x) for x in xs)), "n_sessions": groups}
    if not xs:
        return out
    x, y = np.concatenate(xs), np.concatenate(ys)
    df = x.size - groups - 1
    sxx = float((x**2).sum())
    if df < 1 or sxx == 0:
        return out
    slope = float((x * y).sum() / sxx)
    se = math.sqrt(float(((y - slope * x) ** 2).sum()) / df / sxx)
    tcrit, p = _t_test(slope, se, df)
    out.update(slope_per_block=slope, ci95=[slope - tcrit * se, slope + tcrit * se], p=p)
    return out


_SESSION_KEYS = ("session", "label", "started_at", "status", "task", "simulated", "target",
                 "direction", "regulation", "transfer_regulation", "reward_rate",
                 "time_in_target", "artifact_share", "duration", "n_samples", "n_windows",
                 "n_gated", "n_dropped", "effective_sfreq", "latency_p50", "latency_p99",
                 "cue_latency_p50", "cue_latency_p99", "n_gaps", "gap_seconds",
                 "threshold_start_mode", "model", "xdf", "sidecar", "report", "warnings",
                 "board", "sfreq", "ch_names", "final_thresholds")
_BLOCK_KEYS = ("idx", "name", "kind", "target", "direction", "regulation", "reward_rate",
               "time_in_target", "artifact_share", "threshold_start", "threshold_end",
               "target_mean", "n_windows", "n_gated")


def _nan(x) -> float:
    return float(x) if _finite(x) else math.nan


def clean_training_windows(blocks) -> int:
    """The clean (ungated) windows of a session's training blocks."""
    n = 0
    for b in blocks:
        if b.get("kind") == "training":
            w, g = _nan(b.get("n_windows")), _nan(b.get("n_gated"))
            n += int(w if math.isfinite(w) else 0) - int(g if math.isfinite(g) else 0)
    return max(n, 0)


def short_of_training(sessions, blocks) -> dict:
    """The sessions the trends across sessions leave out: too little training.

    A session's value enters the trends when it rests on at least
    :data:`MIN_TRAINING_SHARE` of a whole session's clean training windows: the
    median over the participant's sessions of the trend's measure that ran to
    their end (``complete``), or over all of them when none did. A session
    ended a few windows into training (Ctrl-C) stays listed and drawn, but a
    value from seconds of training does not weigh as a whole day's.
    ``progress``, ``sessions`` and the dashboard all decide by this.

    Parameters
    ----------
    sessions : list of dict
        One participant's finished sessions (index rows), in order.
    blocks : list of dict
        Their blocks (index rows, each with its session's ``label``/``session``).

    Returns
    -------
    short : dict
        ``{session name: (clean training windows, a whole session's)}``, in the
        sessions' order.
    """
    import statistics

    by = {}
    for b in blocks:
        by.setdefault(session_name(b), []).append(b)
    trained = [s for s in sessions if s.get("target")]
    if not trained:
        return {}
    target, direction = trained[-1]["target"], trained[-1]["direction"]
    same = [s for s in trained if (s["target"], s["direction"]) == (target, direction)
            and _finite(s.get("regulation"))]
    clean = {session_name(s): clean_training_windows(by.get(session_name(s), []))
             for s in same}
    whole = [clean[session_name(s)] for s in same if s.get("status") == "complete"
             and clean[session_name(s)] > 0] or [n for n in clean.values() if n > 0]
    if not whole:
        return {}
    ref = statistics.median(whole)
    return {name: (n, ref) for name, n in clean.items() if n < MIN_TRAINING_SHARE * ref}


def trend_sessions(sessions, blocks) -> tuple[set, dict]:
    """Which of a participant's finished sessions the trend across sessions counts.

    Returns
    -------
    counted : set of str
        The names (labels) of the sessions of the trend's measure (the latest
        session's) with a value and enough training (see :func:`short_of_training`).
    short : dict
        :func:`short_of_training`'s answer: those left out for too little training.
    """
    short = short_of_training(sessions, blocks)
    trained = [s for s in sessions if s.get("target")]
    if not trained:
        return set(), short
    measure = (trained[-1]["target"], trained[-1]["direction"])
    return ({session_name(s) for s in trained if (s["target"], s["direction"]) == measure
             and _finite(s.get("regulation")) and session_name(s) not in short}, short)


def short_note(short: dict, sessions) -> str:
    """The sentence naming the sessions the trends leave out ("" if none)."""
    if not short:
        return ""
    status = {session_name(s): s.get("status") for s in sessions}
    parts = []
    for name, (n, _) in short.items():
        why = " (it ended early)" if status.get(name) in ("partial", "interrupted") else ""
        who = "it" if len(short) == 1 else f"session {name}"
        parts.append(f"{who} holds {counted(n, 'clean training window')}{why}")
    ref = next(iter(short.values()))[1]
    one = len(short) == 1
    return (f"{'Session' if one else 'Sessions'} {listed(list(short))} "
            f"{'is' if one else 'are'} left out of the trends across sessions: "
            f"{listed(parts, sep='; ')}, fewer than {MIN_TRAINING_SHARE:.0%} of a whole "
            f"session's {ref:g}: too little training to weigh as a day's.")


def x_of(s, axis: str) -> float:
    """Where a session sits on the sessions' axis: its number, or its position."""
    return float(s["session"] if axis == "number" else s["position"])


def progress(participant, root=None, *, index=None) -> dict:
    """A participant's progress: sessions, blocks, trends and the verdict.

    Parameters
    ----------
    participant : str
        The participant ID.
    root : path-like | None
        Study root (default ``$BIOFEEDBACK_ROOT`` or ``./recordings``).
    index : StudyIndex | None
        An open index (else one is opened on ``root``).

    Returns
    -------
    progress : dict
        ``participant``, ``sessions`` (one dict each, with its ``blocks``),
        ``trend`` (``metric``, ``slope_per_session``, ``ci95``, ``p``,
        ``learner``, ``axis``: ``"number"``, or ``"order"`` when a session is
        labelled without a number, each session then at its ``position``),
        ``transfer_trend``, ``within_session``, ``verdict`` (a
        sentence), ``criterion``, ``running_sessions`` (the numbers of sessions
        still running, left out of everything else) and ``running_note`` (a
        sentence saying so, or ""), ``other_note`` (a sentence naming the
        sessions that trained another measure, or ""); NaN as None, ready for
        ``json.dumps``.

    Raises
    ------
    StudyError
        When the participant has no indexed session.
    """
    from ._index import StudyIndex
    from ._layout import StudyError, check_participant

    participant = check_participant(participant)
    own = index is None
    index = StudyIndex(root, read_only=True).open() if own else index
    try:
        if own:
            index.sync(patience=3.0)  # sessions killed before they could index themselves
        sessions = index.sessions(participant)
        blocks = index.blocks(participant)
        notice = index.notice
        root_path = index.root
        missing = None if sessions else index.no_sessions(participant)
    finally:
        if own:
            index.close()
    running = [session_ref(s) for s in sessions if s.get("status") == "running"]
    sessions = [s for s in sessions if s.get("status") != "running"]
    if not sessions and running:
        raise StudyError(f"Participant {participant!r} has no finished session yet (session "
                         f"{running[0]} is still running); run progress again once it has "
                         "ended.")
    if not sessions:
        raise StudyError(missing)
    by_session = {}
    for b in blocks:
        by_session.setdefault(session_name(b), []).append(b)
    # the sessions' axis: their numbers, or their order when one has a label alone
    axis = "number" if all(s.get("session") is not None for s in sessions) else "order"
    # the trained measure: the latest session's target and direction
    # (of the latest that trained one: a recording copied in without cues trained none)
    trained = [s for s in sessions if s["target"]] or sessions
    target, direction = trained[-1]["target"], trained[-1]["direction"]
    out_sessions = []
    within = {}
    for position, s in enumerate(sessions, 1):
        d = {k: s.get(k) for k in _SESSION_KEYS}
        d["label"] = session_name(s)
        d["position"] = position
        d["simulated"] = bool(d["simulated"])
        d["blocks"] = [{k: b.get(k) for k in _BLOCK_KEYS} for b in by_session.get(
            d["label"], [])]
        out_sessions.append(d)
        if s["target"] == target and s["direction"] == direction:
            within[d["label"]] = [_nan(b.get("regulation")) for b in d["blocks"]
                                    if b["kind"] == "training"]
    same = [s for s in out_sessions if s["target"] == target and s["direction"] == direction]
    other = [session_ref(s) for s in out_sessions if s["target"]
             and (s["target"], s["direction"]) != (target, direction)]
    counts, short = trend_sessions(sessions, blocks)
    for s in out_sessions:
        s["in_trend"] = s["label"] in counts
    counted_in = [s for s in same if s["label"] not in short]  # with or without a value
    x = [x_of(s, axis) for s in counted_in]
    fit = trend(x, [_nan(s["regulation"]) for s in counted_in])
    tfit = trend(x, [_nan(s["transfer_regulation"]) for s in counted_in])
    # None: too few sessions to tell (a person is not a non-learner after two sessions)
    learner = (bool(_finite(fit["ci95"][0]) and fit["ci95"][0] > 0) if fit["n"] >= 3
               else None)
    metric = f"{target} {direction} in training blocks, baseline SDs from the session baseline"
    result = {
        "participant": participant,
        "root": str(root_path),
        "n_sessions": len(out_sessions),
        "sessions": out_sessions,
        "trend": {"metric": metric, "target": target, "direction": direction,
                  "slope_per_session": fit["slope"], "ci95": fit["ci95"], "p": fit["p"],
                  "n_sessions": fit["n"], "intercept": fit["intercept"], "learner": learner,
                  "axis": axis,
                  "other_measure_sessions": other,
                  "short_sessions": [session_ref(s) for s in same if s["label"] in short],
                  "min_training_share": MIN_TRAINING_SHARE,
                  "n_with_training": sum(any(b["kind"] == "training" for b in s["blocks"])
                                         for s in same)},
        "transfer_trend": {"metric": f"{target} {direction} in transfer blocks (no feedback)",
                           "slope_per_session": tfit["slope"], "ci95": tfit["ci95"],
                           "p": tfit["p"], "n_sessions": tfit["n"]},
        "within_session": _within(within),
        "criterion": LEARNER_CRITERION,
        "notice": notice,
        "running_sessions": running,
        "running_note": _running_note(running),
        "other_note": _other_note(out_sessions, other, target, direction),
        "short_note": short_note(short, sessions),
    }
    result["verdict"] = verdict(result)
    result["_fit"] = fit
    return result


def overview(root=None) -> list[dict]:
    """Every participant of a study in one row each: a coach's view of who learns.

    Parameters
    ----------
    root : path-like | None
        Study root (default ``$BIOFEEDBACK_ROOT`` or ``./recordings``).

    Returns
    -------
    rows : list of dict
        One per participant with a finished session, by ID: ``participant``,
        ``n_sessions``, ``last_session`` (the latest session's ``started_at``),
        ``target``, ``direction``, ``slope_per_session``, ``ci95``, ``p``,
        ``n_trend`` (the sessions the trend runs over), ``learner`` (True,
        False, or None before 3 sessions), ``status`` (``"learning"``, ``"not
        learning"``, ``"no evidence yet"``, ``"too early"``, or ``"running"``
        for one whose only session is still running), ``verdict`` (the
        sentence ``progress ID`` ends with) and ``running_sessions``; NaN as None.
    """
    from ._index import StudyIndex
    from ._layout import StudyError

    out = []
    with StudyIndex(root, read_only=True) as index:
        index.sync(patience=3.0)  # sessions killed before they could index themselves
        people = sorted({str(r["participant"]) for r in index.sessions()})
        for pid in people:
            try:
                p = progress(pid, index=index)
            except StudyError as err:  # every session of theirs still running
                running = [session_ref(r) for r in index.sessions(pid)
                           if r.get("status") == "running"]
                if running:
                    out.append({"participant": pid, "n_sessions": 0, "last_session": None,
                                "target": None, "direction": None, "slope_per_session": None,
                                "ci95": [None, None], "p": None, "n_trend": 0,
                                "learner": None, "status": "running", "verdict": str(err),
                                "running_sessions": running})
                continue
            t = p["trend"]
            status = trend_status(t)
            out.append(finite({
                "participant": pid, "n_sessions": p["n_sessions"],
                "last_session": p["sessions"][-1]["started_at"],
                "target": t["target"], "direction": t["direction"],
                "slope_per_session": t["slope_per_session"], "ci95": t["ci95"], "p": t["p"],
                "n_trend": t["n_sessions"], "learner": t["learner"], "status": status,
                "verdict": p["verdict"], "running_sessions": p["running_sessions"]}))
    return out


def _other_note(sessions, other, target, direction) -> str:
    """Which sessions trained another measure, left out of the trend ("" if none)."""
    if not other:
        return ""
    trained = sorted({(s["target"], s["direction"]) for s in sessions
                      if session_ref(s) in other})
    what = ", ".join(_trained(g, d) for g, d in trained)
    return (f"Session{'s' * (len(other) > 1)} {listed(other)} trained {what}: "
            f"not on the curves or in the trends, which follow {_trained(target, direction)}, "
            "the measure of the latest session.")


def _running_note(running) -> str:
    """What is left out because it has not ended ("" when nothing is)."""
    if not running:
        return ""
    nums = ", ".join(map(str, running))
    one = len(running) == 1
    return (f"Session{'' if one else 's'} {nums} {'is' if one else 'are'} still running: "
            "left out of the sessions, curves and trends until "
            f"{'it ends' if one else 'they end'}.")


def trend_status(t: dict) -> str:
    """What a trend says: ``"too early"`` (under 3 sessions), ``"learning"``,
    ``"not learning"`` (the whole interval below zero) or ``"no evidence yet"``."""
    if t["learner"] is None:
        return "too early"
    if t["learner"]:
        return "learning"
    hi = t["ci95"][1]
    return "not learning" if _finite(hi) and hi < 0 else "no evidence yet"


def verdict(p: dict) -> str:
    """One plain sentence: is the person learning?"""
    t = p["trend"]
    who, n = p["participant"], t["n_sessions"]
    what = _trained(t["target"], t["direction"])
    status = trend_status(t)
    if status == "too early":
        # sessions with too little training are said in their own sentence
        fed = t.get("n_with_training", n) - len(t.get("short_sessions") or [])
        if fed > n:  # sessions whose training windows were all gated (artifacts, contact)
            one = fed - n == 1
            rest = (("it was" if one else "they were") if n == 0 else
                    ("the other was" if one else "the others were"))
            return (f"Too early to tell whether {who} is learning: {n} of "
                    f"{counted(fed, 'session')} with training blocks had clean training "
                    f"windows ({rest} all gated as artifacts: check the electrodes' "
                    "contact), and a trend needs at least 3.")
        return (f"Too early to tell whether {who} is learning: {counted(n, 'session')} with "
                f"training blocks, and a trend needs at least 3.")
    lo, hi = t["ci95"]
    slope = t["slope_per_session"]
    ci = f"95 % interval {lo:+.2f} to {hi:+.2f}, p = {t['p']:.2g}, {n} sessions"
    if status == "learning":
        return (f"{who} is learning: {what} in training blocks, relative to each "
                f"session's baseline, grew by {slope:+.2f} baseline SDs per session ({ci}).")
    if status == "not learning":
        return (f"{who} is not learning: {what} in training blocks fell by {slope:+.2f} "
                f"baseline SDs per session ({ci}).")
    return (f"No evidence yet that {who} is learning: the slope of {what} in training "
            f"blocks is {slope:+.2f} baseline SDs per session ({ci}); the interval "
            "includes zero.")


def _trained(target, direction) -> str:
    """``"alpha_rel (lowered)"``: a measure and the way it is trained."""
    return f"{target} ({'lowered' if direction == 'down' else 'raised'})"


def compare_line(p: dict, session: int | None = None) -> str:
    """One encouraging but honest line: today's session against the earlier ones
    that trained the same measure the same way.

    The figures are said as the measure moved (above or below the baseline,
    whichever way it is trained); better and worse are said the trained way.
    """
    sessions = [s for s in p["sessions"] if s["target"] == p["trend"]["target"]]
    if not sessions:
        return ""
    today = next((s for s in sessions if s["session"] == session), sessions[-1])
    target, num = today["target"], session_ref(today)
    down = today.get("direction") == "down"
    order = [id(s) for s in p["sessions"]]  # the sessions' order, labelled ones included
    earlier = order[:order.index(id(today))]
    sessions = [s for s in sessions if (s.get("direction") == "down") == down]
    # not those with too little training to weigh as a day's (the trend leaves them out)
    short = set(p["trend"].get("short_sessions") or [])
    before = [s for s in sessions if id(s) in earlier and _finite(s["regulation"])
              and session_ref(s) not in short]
    reg = today["regulation"]
    if not _finite(reg):
        with_what = "your earlier sessions" if before else "later sessions"
        if _finite(today.get("time_in_target")):  # training windows, every one gated
            why = "it had no clean training windows"
        elif today.get("status") in ("partial", "interrupted"):
            why = "it ended before its training began, so it has nothing"
        else:  # a protocol without training (a baseline alone)
            why = "it had no training block"
        return f"Session {num} is filed; {why} to compare with {with_what}."
    sign = -1.0 if down else 1.0  # regulation is signed the trained way
    word = "above" if sign * reg >= 0 else "below"
    now = f"{abs(reg):.2f} baseline SDs {word} your baseline"
    if not before:
        others = bool(earlier)
        first = (f"your first training {_trained(target, today.get('direction'))}"
                 if others else "your first")
        return (f"Session {num}, {first}: {target} in training was {now}. That is the "
                "mark the next sessions will be compared with.")
    prev = sum(s["regulation"] for s in before) / len(before)
    k = len(before)
    prev_txt = (f"your average of {sign * prev:+.2f} over {k} earlier "
                f"session{'s' * (k > 1)}")
    if reg > prev:
        return (f"Session {num}: {target} in training was {now}, better than {prev_txt}. "
                "Well done: keep going.")
    return (f"Session {num}: {target} in training was {now}, short of {prev_txt}. Ups and "
            "downs between days are normal; the trend over sessions is what counts.")


def to_json(p: dict) -> dict:
    """The JSON object of ``biofeedback progress --json``."""
    return finite({k: v for k, v in p.items() if not k.startswith("_")})
