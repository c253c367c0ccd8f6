"""Progress over a training programme: learning curves, trends, the learner criterion.

The regulated measure of a session is the mean, over its training blocks, of
the trained estimate relative to the session's own baseline, in baseline
standard deviations (see :mod:`biofeedback.library._record`). Across
sessions, its least-squares slope against the session number, with a 95 %
interval from Student's t on n - 2 degrees of freedom, says whether the
person is learning: a *learner* has a significantly positive slope (the
interval lies above zero), the criterion of Alkoby et al. 2018
(Neuroscience 378:155), who found 30-50 % of people to be non-learners.
Within sessions, the slope of the same measure against the training block's
position, each session centred on its own mean (a fixed effect per session),
says whether the person improves over a session.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

__all__ = ["progress", "trend", "write_progress_html", "compare_line", "LEARNER_CRITERION"]

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


_SESSION_KEYS = ("session", "started_at", "status", "task", "simulated", "target",
                 "direction", "regulation", "transfer_regulation", "reward_rate",
                 "time_in_target", "artifact_share", "duration", "n_samples", "n_windows",
                 "n_gated", "n_dropped", "effective_sfreq", "latency_p50", "latency_p99",
                 "cue_latency_p50", "cue_latency_p99", "n_gaps", "gap_seconds",
                 "threshold_start_mode", "model", "xdf", "sidecar", "report", "warnings")
_BLOCK_KEYS = ("idx", "name", "kind", "target", "direction", "regulation", "reward_rate",
               "time_in_target", "artifact_share", "threshold_start", "threshold_end",
               "target_mean", "n_windows", "n_gated")


def _clean(x):
    """JSON-ready: NaN becomes None."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _nan(x) -> float:
    return float(x) if _finite(x) else math.nan


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
        ``learner``), ``transfer_trend``, ``within_session``, ``verdict`` (a
        sentence), ``criterion``; NaN as None, ready for ``json.dumps``.

    Raises
    ------
    StudyError
        When the participant has no indexed session.
    """
    from ._index import StudyIndex
    from ._layout import StudyError, check_participant

    participant = check_participant(participant)
    own = index is None
    index = StudyIndex(root).open() if own else index
    try:
        if own:
            index.sync()  # sessions killed before they could index themselves
        sessions = index.sessions(participant)
        blocks = index.blocks(participant)
        notice = index.notice
        root_path = index.root
    finally:
        if own:
            index.close()
    if not sessions:
        raise StudyError(f"No sessions of participant {participant!r} under {root_path}; "
                         "run 'biofeedback sessions' to see who is there.")
    by_session = {}
    for b in blocks:
        by_session.setdefault(b["session"], []).append(b)
    # the trained measure: the latest session's target and direction
    target, direction = sessions[-1]["target"], sessions[-1]["direction"]
    out_sessions = []
    within = {}
    for s in sessions:
        d = {k: s.get(k) for k in _SESSION_KEYS}
        d["simulated"] = bool(d["simulated"])
        d["blocks"] = [{k: b.get(k) for k in _BLOCK_KEYS} for b in by_session.get(
            s["session"], [])]
        out_sessions.append(d)
        if s["target"] == target and s["direction"] == direction:
            within[s["session"]] = [_nan(b.get("regulation")) for b in d["blocks"]
                                    if b["kind"] == "training"]
    same = [s for s in out_sessions if s["target"] == target and s["direction"] == direction]
    x = [s["session"] for s in same]
    fit = trend(x, [_nan(s["regulation"]) for s in same])
    tfit = trend(x, [_nan(s["transfer_regulation"]) for s in same])
    learner = bool(fit["n"] >= 3 and _finite(fit["ci95"][0]) and fit["ci95"][0] > 0)
    metric = f"{target} {direction} in training blocks, baseline SDs from the session baseline"
    result = {
        "participant": participant,
        "root": str(root_path),
        "n_sessions": len(out_sessions),
        "sessions": out_sessions,
        "trend": {"metric": metric, "target": target, "direction": direction,
                  "slope_per_session": fit["slope"], "ci95": fit["ci95"], "p": fit["p"],
                  "n_sessions": fit["n"], "intercept": fit["intercept"], "learner": learner},
        "transfer_trend": {"metric": f"{target} {direction} in transfer blocks (no feedback)",
                           "slope_per_session": tfit["slope"], "ci95": tfit["ci95"],
                           "p": tfit["p"], "n_sessions": tfit["n"]},
        "within_session": _within(within),
        "criterion": LEARNER_CRITERION,
        "notice": notice,
    }
    result["verdict"] = verdict(result)
    result["_fit"] = fit
    return result


def verdict(p: dict) -> str:
    """One plain sentence: is the person learning?"""
    t = p["trend"]
    who, n = p["participant"], t["n_sessions"]
    what = f"{t['target']} ({'raised' if t['direction'] == 'up' else 'lowered'})"
    if n < 3:
        return (f"Too early to tell whether {who} is learning: {n} session(s) with "
                f"training blocks, and a trend needs at least 3.")
    lo, hi = t["ci95"]
    slope = t["slope_per_session"]
    ci = f"95 % interval {lo:+.2f} to {hi:+.2f}, p = {t['p']:.2g}, {n} sessions"
    if t["learner"]:
        return (f"{who} is learning: {what} in training blocks, relative to each "
                f"session's baseline, grew by {slope:+.2f} baseline SDs per session ({ci}).")
    if hi < 0:
        return (f"{who} is not learning: {what} in training blocks fell by {slope:+.2f} "
                f"baseline SDs per session ({ci}).")
    return (f"No evidence yet that {who} is learning: the slope of {what} in training "
            f"blocks is {slope:+.2f} baseline SDs per session ({ci}); the interval "
            "includes zero.")


def compare_line(p: dict, session: int | None = None) -> str:
    """One encouraging but honest line: today's session against the earlier ones."""
    sessions = [s for s in p["sessions"] if s["target"] == p["trend"]["target"]]
    if not sessions:
        return ""
    today = next((s for s in sessions if s["session"] == session), sessions[-1])
    before = [s for s in sessions if s["session"] < today["session"]
              and _finite(s["regulation"])]
    reg = today["regulation"]
    target = today["target"]
    num = today["session"]
    if not _finite(reg):
        return (f"Session {num} is filed; it had no clean training windows to compare with "
                "your earlier sessions.")
    word = "above" if reg >= 0 else "below"
    now = f"{abs(reg):.2f} baseline SDs {word} your baseline"
    if not before:
        return (f"Session {num}, your first: {target} in training was {now}. That is the "
                "mark the next sessions will be compared with.")
    prev = sum(s["regulation"] for s in before) / len(before)
    k = len(before)
    prev_txt = f"your average of {prev:+.2f} over {k} earlier session{'s' * (k > 1)}"
    if reg > prev:
        return (f"Session {num}: {target} in training was {now}, better than {prev_txt}. "
                "Well done: keep going.")
    return (f"Session {num}: {target} in training was {now}, short of {prev_txt}. Ups and "
            "downs between days are normal; the trend over sessions is what counts.")


def to_json(p: dict) -> dict:
    """The JSON object of ``biofeedback progress --json``."""
    return _clean({k: v for k, v in p.items() if not k.startswith("_")})


# -- the HTML report ------------------------------------------------------------
def _figures(p):
    import numpy as np

    # Figure objects without pyplot: no GUI backend to pick, a lighter import
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    def subplots(*shape, figsize):
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots(*shape)

    sessions = p["sessions"]
    t = p["trend"]
    x = np.array([s["session"] for s in sessions], float)
    reg = np.array([_nan(s["regulation"]) for s in sessions])
    trf = np.array([_nan(s["transfer_regulation"]) for s in sessions])
    figs = []
    fig, ax = subplots(figsize=(9, 4.2))
    ax.axhline(0, color="#888", lw=1, ls="--")
    for kind, dx, marker, color in (("training", -0.12, "o", "#9bbf9b"),
                                    ("transfer", 0.12, "^", "#9bb0d6")):
        pts = [(s["session"] + dx, b["regulation"]) for s in sessions for b in s["blocks"]
               if b["kind"] == kind and _finite(b["regulation"])]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker, ms=4, color=color, ls="none")
    ax.plot(x, reg, "o-", color="#1b7a1b", lw=2, label="training blocks (session mean)")
    if np.isfinite(trf).any():
        ax.plot(x, trf, "^--", color="#2857a4", lw=1.5, label="transfer blocks (no feedback)")
    fit = p.get("_fit") or {}
    if _finite(fit.get("slope")):
        xx = np.linspace(x.min(), x.max(), 50)
        yy = fit["intercept"] + fit["slope"] * xx
        tcrit = _t_test(fit["slope"], fit["se"], fit["df"])[0]
        band = tcrit * fit["resid_sd"] * np.sqrt(1 / fit["n"] + (xx - fit["x_mean"]) ** 2
                                                 / fit["sxx"])
        ax.fill_between(xx, yy - band, yy + band, color="#1b7a1b", alpha=0.15,
                        label="trend, 95 % interval")
        ax.plot(xx, yy, color="#1b7a1b", lw=1, alpha=0.8)
    ax.set_xlabel("session")
    ax.set_ylabel(f"{t['target']} vs baseline (SD)")
    ax.set_title("Learning curve: the trained measure relative to each session's baseline")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", fontsize=8)
    figs.append(("learning curve", fig))

    fig, axes = subplots(1, 3, figsize=(11, 3))
    for ax, key, label, color in zip(axes, ("time_in_target", "reward_rate", "artifact_share"),
                                     ("time in target", "reward rate", "artifact share"),
                                     ("#1b7a1b", "#a46a28", "#a42828"), strict=True):
        y = np.array([_nan(s[key]) for s in sessions])
        ax.plot(x, 100 * y, "o-", color=color)
        f = trend(x, y)
        if _finite(f["slope"]):
            ax.plot(x, 100 * (f["intercept"] + f["slope"] * x), color=color, alpha=0.4)
            ax.set_title(f"{label}: {100 * f['slope']:+.1f} pts/session\n"
                         f"(95 % CI {100 * f['ci95'][0]:+.1f} to {100 * f['ci95'][1]:+.1f})",
                         fontsize=9)
        else:
            ax.set_title(label, fontsize=9)
        ax.set_xlabel("session")
        ax.set_ylabel("%")
        ax.set_ylim(0, 100)
        ax.xaxis.get_major_locator().set_params(integer=True)
    figs.append(("rates", fig))

    fig, ax = subplots(figsize=(9, 3.4))
    cmap = colormaps["viridis"]
    n = max(len(sessions) - 1, 1)
    for i, s in enumerate(sessions):
        y = [b["regulation"] for b in s["blocks"] if b["kind"] == "training"]
        y = [_nan(v) for v in y]
        if y:
            ax.plot(range(1, len(y) + 1), y, "o-", color=cmap(i / n), alpha=0.8,
                    label=f"session {s['session']}" if len(sessions) <= 12 else None)
    w = p["within_session"]
    title = "Within sessions: training blocks in order"
    if _finite(w["slope_per_block"]):
        title += (f" (pooled slope {w['slope_per_block']:+.2f} SD/block, 95 % CI "
                  f"{w['ci95'][0]:+.2f} to {w['ci95'][1]:+.2f})")
    ax.set_title(title, fontsize=10)
    ax.axhline(0, color="#888", lw=1, ls="--")
    ax.set_xlabel("training block")
    ax.set_ylabel("vs baseline (SD)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if len(sessions) <= 12:
        ax.legend(fontsize=7, ncol=2, loc="best")
    figs.append(("within sessions", fig))
    return figs


def _img(fig, alt) -> str:
    """An ``<img>`` holding ``fig`` as an embedded PNG (laid out once, drawn once)."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _pval(p) -> str:
    if not _finite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _fmt(x, pct=False, digits=2):
    if not _finite(x):
        return "n/a"
    return f"{100 * x:.0f}%" if pct else f"{x:.{digits}f}"


def write_progress_html(p: dict, out) -> Path:
    """Write the self-contained progress report (figures embedded as PNG)."""
    from .._html import page, table

    out = Path(out)
    t = p["trend"]
    figs = _figures(p)
    head = (f"<p><b>{html.escape(p['verdict'])}</b></p>"
            f"<p>{html.escape(p['criterion'])}</p>")
    tt = p["transfer_trend"]
    w = p["within_session"]
    rows = [
        ["across sessions (training)", _fmt(t["slope_per_session"]),
         f"{_fmt(t['ci95'][0])} to {_fmt(t['ci95'][1])}", _pval(t["p"]),
         t["n_sessions"]],
        ["across sessions (transfer, no feedback)", _fmt(tt["slope_per_session"]),
         f"{_fmt(tt['ci95'][0])} to {_fmt(tt['ci95'][1])}", _pval(tt["p"]),
         tt["n_sessions"]],
        ["within sessions (per training block)", _fmt(w["slope_per_block"]),
         f"{_fmt(w['ci95'][0])} to {_fmt(w['ci95'][1])}", _pval(w["p"]),
         f"{w['n_blocks']} blocks in {w['n_sessions']} sessions"],
    ]
    trends = (table(rows, ["trend of the trained measure", "slope (SD)", "95 % interval",
                           "p", "n"])
              + f"<p>Measure: {html.escape(t['metric'])}. Each session's value is the "
              "mean over its training blocks of (block mean - baseline mean) / baseline SD, "
              "signed so that positive is the trained direction; 0 is the session's own "
              "baseline.</p>")
    sess_rows = []
    for s in p["sessions"]:
        link = html.escape(s["report"] or "")
        sess_rows.append([
            s["session"], (s["started_at"] or "")[:16].replace("T", " "),
            s["status"] + (" (simulated)" if s["simulated"] else ""),
            _fmt(s["regulation"]), _fmt(s["transfer_regulation"]),
            _fmt(s["time_in_target"], True), _fmt(s["reward_rate"], True),
            s["threshold_start_mode"] or "baseline", link or "-"])
    integ_rows = []
    for s in p["sessions"]:
        integ_rows.append([
            s["session"], _fmt(s["duration"], digits=1), s["n_samples"],
            _fmt(s["effective_sfreq"]), s["n_dropped"],
            f"{s['n_gaps']} ({_fmt(s['gap_seconds'], digits=1)} s)",
            f"{_fmt(s['latency_p50'], digits=1)} / {_fmt(s['latency_p99'], digits=1)}",
            f"{_fmt(s['cue_latency_p50'], digits=1)} / {_fmt(s['cue_latency_p99'], digits=1)}",
            _fmt(s["artifact_share"], True), "; ".join(s.get("warnings") or []) or "-"])
    sections = [
        ("Is the person learning?", head),
        ("Learning curve", _img(figs[0][1], "learning curve") + trends),
        ("Time in target, reward rate, artifacts", _img(figs[1][1], "rates")),
        ("Within sessions", _img(figs[2][1], "within sessions")),
        ("Sessions", table(sess_rows, ["session", "date", "status", "training (SD)",
                                       "transfer (SD)", "time in target", "reward rate",
                                       "threshold start", "report"])),
        ("Integrity of every session", table(integ_rows, [
            "session", "duration (s)", "samples", "effective rate (Hz)", "dropped samples",
            "gaps", "estimate latency p50 / p99 (ms)", "cue latency p50 / p99 (ms)",
            "artifact share", "warnings"])),
    ]
    if p.get("notice"):
        sections.insert(0, ("Index", f"<p>{html.escape(p['notice'])}</p>"))
    doc = page(f"Progress of {p['participant']}: {p['n_sessions']} sessions", sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(out)
    return out
