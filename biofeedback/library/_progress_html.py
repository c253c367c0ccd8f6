"""A participant's progress as one self-contained HTML page (figures embedded).

Learning curves across sessions (training and transfer blocks against each
session's baseline), the trend with its 95 % interval, the within-session
slope and the learner verdict, from :func:`biofeedback.library.progress`.
"""

from __future__ import annotations

import html
from pathlib import Path

from .._outputs import atomic_output
from .._words import counted
from ._layout import session_ref
from ._progress import _finite, _nan, _t_test, trend, x_of

__all__ = ["write_progress_html"]


def _figures(p):
    import numpy as np

    # Figure objects without pyplot: no GUI backend to pick, a lighter import
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    def subplots(*shape, figsize):
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots(*shape)

    t = p["trend"]
    axis = t.get("axis", "number")
    every = p["sessions"]
    # the curves follow one measure (the trend's); other sessions are named below them
    sessions = [s for s in every if (s["target"], s["direction"]) == (t["target"],
                                                                       t["direction"])]
    x = np.array([x_of(s, axis) for s in sessions], float)
    reg = np.array([_nan(s["regulation"]) for s in sessions])
    trf = np.array([_nan(s["transfer_regulation"]) for s in sessions])
    figs = []
    fig, ax = subplots(figsize=(9, 4.2))
    ax.axhline(0, color="#888", lw=1, ls="--")
    for kind, dx, marker, color in (("training", -0.12, "o", "#9bbf9b"),
                                    ("transfer", 0.12, "^", "#9bb0d6")):
        pts = [(x_of(s, axis) + dx, b["regulation"]) for s in sessions for b in s["blocks"]
               if b["kind"] == kind and _finite(b["regulation"])]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker, ms=4, color=color, ls="none")
    ax.plot(x, reg, "o-", color="#1b7a1b", lw=2, label="training blocks (session mean)")
    # a session stopped before its protocol's end: its value rests on fewer windows,
    # so a dip there is not read as a bad day's whole session
    early = [(xi, yi) for xi, yi, s in zip(x, reg, sessions, strict=True)
             if s.get("status") in ("partial", "interrupted") and np.isfinite(yi)]
    if early:
        ax.plot(*zip(*early, strict=True), "o", ms=12, mfc="none", mec="#c0392b", mew=1.5,
                ls="none", label="ended early: fewer training windows")
    # too little training to weigh as a day's: drawn, but not in the trend
    short = [(xi, yi) for xi, yi, s in zip(x, reg, sessions, strict=True)
             if s.get("in_trend") is False and np.isfinite(yi)]
    if short:
        ax.plot(*zip(*short, strict=True), "x", ms=9, color="#c0392b", mew=1.5, ls="none",
                label="left out of the trend: too little training")
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
    _mark_changes(ax, sessions, axis)
    _frame(ax, x, reg, "no clean training window yet: nothing to draw")
    ax.set_xlabel("session")
    ax.set_ylabel(f"{t['target']} vs baseline (SD)")
    ax.set_title("Learning curve: the trained measure relative to each session's baseline")
    _session_ticks(ax, sessions, axis)
    ax.legend(loc="best", fontsize=8)
    figs.append(("learning curve", fig))

    fig, axes = subplots(1, 3, figsize=(11, 3))
    xe = np.array([x_of(s, axis) for s in every], float)
    for ax, key, label, color in zip(axes, ("time_in_target", "reward_rate", "artifact_share"),
                                     ("time in target", "reward rate", "artifact share"),
                                     ("#1b7a1b", "#a46a28", "#a42828"), strict=True):
        y = np.array([_nan(s[key]) for s in every])
        ax.plot(xe, 100 * y, "o-", color=color)
        f = trend(xe, y)
        if _finite(f["slope"]):
            ax.plot(xe, 100 * (f["intercept"] + f["slope"] * xe), color=color, alpha=0.4)
            ax.set_title(f"{label}: {_signed(100 * f['slope'])} pts/session\n"
                         f"(95 % CI {_signed(100 * f['ci95'][0])} to "
                         f"{_signed(100 * f['ci95'][1])})", fontsize=9)
        else:
            ax.set_title(label, fontsize=9)
        _frame(ax, xe, y, "no value")
        ax.set_xlabel("session")
        ax.set_ylabel("%")
        ax.set_ylim(0, 100)
        _session_ticks(ax, every, axis)
    figs.append(("rates", fig))

    fig, ax = subplots(figsize=(9, 3.4))
    cmap = colormaps["viridis"]
    n = max(len(sessions) - 1, 1)
    for i, s in enumerate(sessions):
        y = [b["regulation"] for b in s["blocks"] if b["kind"] == "training"]
        y = [_nan(v) for v in y]
        if y:
            ax.plot(range(1, len(y) + 1), y, "o-", color=cmap(i / n), alpha=0.8,
                    label=f"session {_name(s, axis)}" if len(sessions) <= 12 else None)
    w = p["within_session"]
    title = "Within sessions: training blocks in order"
    if _finite(w["slope_per_block"]):
        title += (f" (pooled slope {w['slope_per_block']:+.2f} SD/block, 95 % CI "
                  f"{w['ci95'][0]:+.2f} to {w['ci95'][1]:+.2f})")
    ax.set_title(title, fontsize=10)
    ax.axhline(0, color="#888", lw=1, ls="--")
    ys = [_nan(b["regulation"]) for s in sessions for b in s["blocks"]
          if b["kind"] == "training"]
    if not any(_finite(v) for v in ys):
        ax.text(0.5, 0.5, "no clean training window yet: nothing to draw",
                transform=ax.transAxes, ha="center", va="center", color="#777",
                bbox={"facecolor": "white", "edgecolor": "none"})
    longest = max((sum(b["kind"] == "training" for b in s["blocks"]) for s in sessions),
                  default=0)
    if longest:
        ax.set_xlim(0.5, longest + 0.5)
    ax.set_xlabel("training block")
    ax.set_ylabel("vs baseline (SD)")
    _whole_ticks(ax)
    if len(sessions) <= 12 and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, ncol=2, loc="best")
    figs.append(("within sessions", fig))
    return figs


def _whole_ticks(ax) -> None:
    """Sessions and blocks are counted: whole-number ticks, one session included
    (whose axis would otherwise read 0.6, 0.8, 1.0, ...)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _name(s, axis) -> str | int:
    """A session in the tables and legends: its number; with sessions labelled
    without one, every session by its label (``pre``, ``01``), as the axis names it."""
    return s["label"] if axis == "order" else session_ref(s)


def _session_ticks(ax, sessions, axis) -> None:
    """Whole session numbers; on the sessions' order (some labelled without a
    number), a tick per session named as its folder is (``pre``, ``01``)."""
    if axis == "number":
        _whole_ticks(ax)
        return
    from matplotlib.ticker import FixedLocator, MaxNLocator

    if len(sessions) <= 20:
        ax.xaxis.set_major_locator(FixedLocator([x_of(s, axis) for s in sessions]))
        ax.set_xticklabels([s["label"] for s in sessions])
    else:  # too many names to read: every few, still named
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        names = {x_of(s, axis): s["label"] for s in sessions}
        ax.xaxis.set_major_formatter(lambda v, _pos: names.get(float(v), ""))


def _frame(ax, x, y, empty) -> None:
    """Sessions on the x axis even with nothing finite to draw, which is then said."""
    import numpy as np

    if len(x):
        ax.set_xlim(float(np.min(x)) - 0.5, float(np.max(x)) + 0.5)
    if not np.isfinite(np.asarray(y, float)).any():
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center",
                color="#777", bbox={"facecolor": "white", "edgecolor": "none"})


def _threshold_source(s) -> str:
    """Where the session's threshold came from, as its Cues said: not the mode asked for.

    With ``threshold_start = "carry"`` a session on a new headset, or the
    first one, starts from its own baseline.
    """
    sources = {str(t.get("source") or "") for t in s.get("final_thresholds") or []}
    if "carried" in sources:
        return "carried"
    if sources & {"baseline", "training_start"}:
        asked = s.get("threshold_start_mode") == "carry"
        return "baseline (none carried)" if asked else "baseline"
    return "-"


def _signed(v, digits=1) -> str:
    """``+1.2``; a value that rounds to zero is ``+0.0``, never ``-0.0``."""
    v = round(float(v), digits)
    return f"{v + 0.0:+.{digits}f}"


def _headset(s) -> str:
    names = s.get("ch_names") or []
    if not s.get("board") and not names:
        return ""
    rate = f" at {s['sfreq']:g} Hz" if _finite(s.get("sfreq")) else ""
    return f"{s.get('board') or 'unnamed'} ({len(names)} ch{rate})"


def _mark_changes(ax, sessions, axis="number") -> None:
    """A dotted line and a label where the protocol or the headset changes."""
    prev = None
    for s in sessions:
        now = (s.get("task") or "", _headset(s))
        if prev is not None and now != prev:
            what = [v for v, old in zip(now, prev, strict=True) if v != old]
            ax.axvline(x_of(s, axis) - 0.5, color="#999", lw=1, ls=":")
            ax.annotate("\n".join(what), (x_of(s, axis) - 0.45, 0.99), va="top", fontsize=7,
                        xycoords=("data", "axes fraction"), color="#555")
        prev = now


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


def _interval(ci) -> str:
    """``0.28 to 0.82``; ``n/a`` once when there is no interval."""
    if not (_finite(ci[0]) and _finite(ci[1])):
        return "n/a"
    return f"{_fmt(ci[0])} to {_fmt(ci[1])}"


def _report_link(report, root, out) -> str:
    """A link to a session's report (a path under the study root) from the page
    at ``out``: short, so the sessions table fits the page; "" when there is none."""
    import os
    from urllib.parse import quote

    if not report:
        return ""
    target = Path(root) / report
    try:
        href = Path(os.path.relpath(target.absolute(), out.parent.absolute())).as_posix()
    except ValueError:  # another drive (Windows): the whole path
        href = target.absolute().as_uri()
    return (f'<a href="{html.escape(quote(href, safe="/:"))}" '
            f'title="{html.escape(str(report))}">report</a>')


def write_progress_html(p: dict, out) -> Path:
    """Write the self-contained progress report (figures embedded as PNG)."""
    from .._html import page, table

    out = Path(out)
    t = p["trend"]
    axis = t.get("axis", "number")
    figs = _figures(p)
    head = (f"<p><b>{html.escape(p['verdict'])}</b></p>"
            f"<p>{html.escape(p['criterion'])}</p>")
    if p.get("running_note"):
        head += f"<p>{html.escape(p['running_note'])}</p>"
    if p.get("other_note"):
        head += f"<p>{html.escape(p['other_note'])}</p>"
    if p.get("short_note"):
        head += f"<p>{html.escape(p['short_note'])}</p>"
    tt = p["transfer_trend"]
    w = p["within_session"]
    rows = [
        ["across sessions (training)", _fmt(t["slope_per_session"]),
         _interval(t['ci95']), _pval(t["p"]),
         t["n_sessions"]],
        ["across sessions (transfer, no feedback)", _fmt(tt["slope_per_session"]),
         _interval(tt['ci95']), _pval(tt["p"]),
         tt["n_sessions"]],
        ["within sessions (per training block)", _fmt(w["slope_per_block"]),
         _interval(w['ci95']), _pval(w["p"]),
         f"{counted(w['n_blocks'], 'block')} in {counted(w['n_sessions'], 'session')}"],
    ]
    trends = (table(rows, ["trend of the trained measure", "slope (SD)", "95 % interval",
                           "p", "n"])
              + f"<p>Measure: {html.escape(t['metric'])}. Each session's value is the "
              "mean over its training blocks of (block mean - baseline mean) / baseline SD, "
              "signed so that positive is the trained direction; 0 is the session's own "
              "baseline.</p>")
    sess_rows = []
    for s in p["sessions"]:
        link = _report_link(s["report"], p["root"], out)
        sess_rows.append([
            _name(s, axis), (s["started_at"] or "")[:16].replace("T", " "),
            s["status"] + (" (simulated)" if s["simulated"] else ""),
            s.get("task") or "-", f"{s['target']} {s['direction']}" if s["target"] else "-",
            _headset(s) or "-",
            _fmt(s["regulation"]), _fmt(s["transfer_regulation"]),
            _fmt(s["time_in_target"], True), _fmt(s["reward_rate"], True),
            _threshold_source(s), link or "-"])
    integ_rows = []
    for s in p["sessions"]:
        integ_rows.append([
            _name(s, axis), _fmt(s["duration"], digits=1), s["n_samples"],
            _fmt(s["effective_sfreq"]), s["n_dropped"],
            f"{s['n_gaps']} ({_fmt(s['gap_seconds'], digits=1)}\u00a0s)",  # one line
            f"{_fmt(s['latency_p50'], digits=1)} / {_fmt(s['latency_p99'], digits=1)}",
            f"{_fmt(s['cue_latency_p50'], digits=1)} / {_fmt(s['cue_latency_p99'], digits=1)}",
            _fmt(s["artifact_share"], True), "; ".join(s.get("warnings") or []) or "-"])
    sections = [
        ("Is the person learning?", head),
        ("Learning curve", _img(figs[0][1], "learning curve") + trends),
        ("Time in target, reward rate, artifacts", _img(figs[1][1], "rates")),
        ("Within sessions", _img(figs[2][1], "within sessions")),
        ("Sessions", table(sess_rows, ["session", "date", "status", "protocol", "trained",
                                       "headset", "training (SD)",
                                       "transfer (SD)", "time in target", "reward rate",
                                       "threshold start", "report"], raw={11})),
        ("Integrity of every session", table(integ_rows, [
            "session", "duration (s)", "samples", "effective rate (Hz)", "dropped samples",
            "gaps", "estimate latency p50 / p99 (ms)", "cue latency p50 / p99 (ms)",
            "artifact share", "warnings"], text={9})),
    ]
    if p.get("notice"):
        sections.insert(0, ("Index", f"<p>{html.escape(p['notice'])}</p>"))
    n = p["n_sessions"]
    doc = page(f"Progress of {p['participant']}: {counted(n, 'session')}", sections)
    with atomic_output(out) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return out
