"""One session folder read into the figures the index and progress use.

The files are the truth. A finished session's sidecar holds everything
(blocks, rates, thresholds, the baseline of every estimate, integrity). A
session killed mid-way has a sidecar written at its start but no summary:
its blocks are rebuilt from the Cues stream of its XDF (every cue carries its
block, state, value and threshold). A folder whose sidecar is missing is read
from the XDF alone, with a warning.

The trained metric of a block is expressed relative to the session's own
baseline, in baseline standard deviations, signed so that positive is the
trained direction::

    regulation = sign * (mean(block) - mean(baseline)) / sd(baseline)

with ``sign`` +1 for "up" and -1 for "down"; means and SD over clean windows
of the raw (unsmoothed) estimate.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path

from .._logging import logger
from .._markers import BLOCK_START, CUE, THRESHOLD
from .._stops import END, in_words
from ._layout import session_label

__all__ = ["read_session_folder", "blocks_from_cues"]

_FED = ("training", "transfer")  # blocks whose cues are decided (shown or not)


def _f(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def _regulation(mean, base, direction) -> float:
    if base is None:
        return math.nan
    bm, bsd = _f(base.get("mean")), _f(base.get("sd"))
    if not (math.isfinite(bm) and math.isfinite(bsd) and bsd > 0):
        return math.nan
    sign = -1.0 if direction == "down" else 1.0
    return sign * (_f(mean) - bm) / bsd


def blocks_from_cues(texts) -> tuple[list[dict], dict, list[dict]]:
    """Blocks, baseline and thresholds from a session's Cues markers.

    Parameters
    ----------
    texts : iterable of str
        The Cues stream's markers in order (``block_start ...``, ``cue ...``,
        ``threshold ...``, ``block_end ...``).

    Returns
    -------
    blocks : list of dict
        As the sidecar's ``feedback.blocks``.
    baseline : dict
        ``{target: {"mean", "sd", "n"}}`` from the baseline blocks' cues.
    thresholds : list of dict
        ``{"target", "direction", "threshold", "scale", "source"}``, the last
        one per target and direction.
    """
    import numpy as np

    from ..feedback._policy import parse_marker

    blocks, by_name, thresholds = [], {}, {}
    for text in texts:
        kind, f = parse_marker(str(text))
        if kind == BLOCK_START:
            b = {"index": int(_f(f.get("index", len(blocks))) if f.get("index") else len(blocks)),
                 "name": f.get("name", ""), "kind": f.get("kind", ""),
                 "target": f.get("target", ""), "direction": f.get("direction", ""),
                 "_rows": []}
            blocks.append(b)
            by_name[b["name"]] = b
        elif kind == CUE:
            b = by_name.get(f.get("block", ""))
            if b is not None:
                b["_rows"].append((f.get("state", ""), _f(f.get("value")),
                                   _f(f.get("threshold")), _f(f.get("t_end"))))
        elif kind == THRESHOLD:
            thresholds[(f.get("target", ""), f.get("direction", ""))] = {
                "target": f.get("target", ""), "direction": f.get("direction", ""),
                "threshold": _f(f.get("threshold")), "scale": _f(f.get("scale")),
                "source": f.get("source", "")}
    base_vals: dict[str, list] = {}
    for b in blocks:
        rows = b.pop("_rows")
        n = len(rows)
        clean = [r for r in rows if r[0] not in ("paused",) and math.isfinite(r[1])]
        rew = sum(r[0] == "reward" for r in rows)
        thr = [r[2] for r in rows if math.isfinite(r[2])]
        vals = np.array([r[1] for r in clean])
        b.update(
            start=rows[0][3] if rows else math.nan, end=rows[-1][3] if rows else math.nan,
            n_windows=n, n_gated=n - len(clean), n_reward=rew,
            reward_rate=rew / len(clean) if clean and b["kind"] in _FED else math.nan,
            time_in_target=rew / n if n and b["kind"] in _FED else math.nan,
            artifact_share=(n - len(clean)) / n if n else math.nan,
            threshold_start=thr[0] if thr else math.nan,
            threshold_end=thr[-1] if thr else math.nan,
            target_mean=float(vals.mean()) if vals.size else math.nan,
            target_sd=float(vals.std(ddof=1)) if vals.size > 1 else math.nan)
        if b["kind"] in ("baseline", "calibration"):  # both are the session's reference
            base_vals.setdefault(b["target"], []).extend(vals.tolist())
    baseline = {}
    for target, vals in base_vals.items():
        v = np.asarray(vals)
        baseline[target] = {"mean": float(v.mean()) if v.size else math.nan,
                            "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                            "n": int(v.size)}
    return blocks, baseline, list(thresholds.values())


def _cues_from_xdf(xdf: Path) -> tuple[list[str], dict]:
    """The Cues stream's texts and integrity figures of an XDF file."""
    from ..io import read_recording
    from ..io._losses import loss_counts

    rec = read_recording(xdf)
    texts = []
    for name, st in rec.streams.items():
        if name.endswith("-Cues"):
            texts = [str(t) for t in st.data]
    n = rec.data.shape[1]
    dur = float(rec.timestamps[-1] - rec.timestamps[0]) if n > 1 else 0.0
    integ = {"n_samples": n, "duration": dur,
             "effective_sfreq": (n - 1) / dur if dur > 0 else math.nan,
             "n_dropped": loss_counts(rec.gaps)["dropped"],
             "gaps": [{"onset": g.onset, "duration": g.duration} for g in rec.gaps
                      if g.source == "marker"],
             "ch_names": list(rec.ch_names), "sfreq": rec.sfreq,
             "started": rec.started}  # the recording's own date (its header's), or None
    return texts, integ


def read_session_folder(folder, participant: str, session: int | None, root,
                        say: bool = True) -> dict | None:
    """Read a ``ses-<NN>`` folder into an index record (None if it holds nothing).

    ``session`` is None for a folder labelled without a number (``ses-pre``):
    the record's ``session`` is None and its ``label`` names it.

    The sidecar's shape is checked once, as the report checks it (see
    :func:`~biofeedback.feedback._sidecar.sidecar_of_shape`): a part of
    another type (a table given as a number, a block that is not a table) is
    left out and named in one warning, a part missing or ``null`` is absent,
    and the rest is indexed. A sidecar that is not JSON, or holds no JSON
    object, is left out whole, with a warning: the XDF alone is indexed.

    The warnings are logged unless ``say`` is False; the record keeps them.

    Returns
    -------
    record : dict
        Session fields, ``"blocks"`` (list of dict) and ``"warnings"``.
    """
    from ..feedback._sidecar import sidecar_of_shape

    folder, root = Path(folder), Path(root)
    eeg = folder / "eeg"
    where = eeg if eeg.is_dir() else folder
    sidecars = sorted(p for p in where.glob("*_eeg.json"))
    xdfs = sorted(p for p in where.glob("*_eeg.xdf"))
    warnings = []
    side, side_path, n_ran = {}, None, None
    if sidecars:
        side_path = sidecars[-1]
        try:
            side = json.loads(side_path.read_text(encoding="utf-8"))
            if not isinstance(side, dict):
                raise ValueError("it holds no JSON object")
        except (OSError, ValueError) as err:
            warnings.append(f"{side_path} could not be read ({err}); indexed what its XDF holds.")
            side = {}
        ran = (side.get("feedback") or {}).get("blocks") if isinstance(side.get("feedback"),
                                                                        dict) else None
        n_ran = len(ran) if isinstance(ran, list) else None  # the blocks run, all of them
        side, wrong = sidecar_of_shape(side)
        if wrong:
            warnings.append(f"{side_path} is not of a sidecar's shape: {'; '.join(wrong)}; "
                            "the index leaves out those parts.")
    xdf = xdfs[-1] if xdfs else (side_path.with_suffix(".xdf") if side_path else None)
    if xdf is not None and not xdf.exists():
        xdf = None
    if not side and xdf is None:
        if not (folder / ".running").exists():
            warnings.append(f"{folder} holds no recording and no sidecar; it was skipped.")
        for w in (warnings if say else []):
            logger.warning(w)
        return None
    if side_path is None:
        warnings.append(f"{folder} has no sidecar; indexed what its XDF holds.")
    elif xdf is None and not (folder / ".running").exists():
        # the recording deleted or moved by hand (one still starting has none yet)
        warnings.append(f"{folder} has lost its recording {side_path.with_suffix('.xdf').name}"
                        " (deleted or moved by hand), so its figures are indexed from its "
                        "sidecar; put the recording back to replay the session or make its "
                        "report again.")
    prog = side.get("programme") or {}
    said = str(prog.get("participant") or "")
    label = session_label(folder, session)
    ses = prog.get("session")  # a number (as live writes it) or a BIDS label ("03")
    n_ses = _f(ses) if not isinstance(ses, str) or ses.isdigit() else math.nan
    same = ses is None or str(ses) == label or (session is not None and n_ses == int(session))
    if said and (said != participant or not same):
        # copied or renamed by hand: the folder decides, the sentence says what to check
        shown = f"{int(n_ses):02d}" if math.isfinite(n_ses) else str(ses)[:20]
        warnings.append(
            f"{folder} holds the recording of sub-{said} session {shown} (its sidecar says "
            f"so); it is indexed as sub-{participant} session {label}: move it if that is "
            "wrong, then run 'biofeedback index --rebuild'." if ses is not None else
            f"{folder} holds a recording of sub-{said} (its sidecar says so); it is "
            f"indexed as sub-{participant}: move it if that is wrong.")
    fb = side.get("feedback") or {}
    summ = side.get("summary") or {}
    status = "complete" if summ and fb else ("interrupted" if side else "no_sidecar")
    if status == "complete":
        early = _ended_early(side, fb, summ, n_ran)
        if early:
            status = "partial"
            name = f"{int(session):02d}" if session is not None else label
            warnings.append(f"sub-{participant} session {name} {early}")
    if status != "complete" and status != "partial" and _still_running(folder):
        status = "running"
    integ = {}
    if not fb and xdf is not None:  # killed mid-way, or no sidecar: the XDF holds the cues
        try:
            texts, integ = _cues_from_xdf(xdf)
            blocks, baseline, thresholds = blocks_from_cues(texts)
            fb = {"blocks": blocks, "baseline": baseline, "thresholds": thresholds}
        except Exception as err:  # a file cut mid-chunk may not read at all
            if status != "running":  # one still being written has nothing wrong with it
                warnings.append(f"{xdf} could not be read ({err}); indexed the sidecar "
                                "alone.")
    blocks = list(fb.get("blocks") or [])
    baseline = fb.get("baseline") or {}
    pipe_fb = (side.get("pipeline") or {}).get("feedback") or {}
    training = [b for b in blocks if b.get("kind") == "training"]
    transfer = [b for b in blocks if b.get("kind") == "transfer"]
    trained = training or transfer
    target = trained[0].get("target") if trained else pipe_fb.get("target", "")
    direction = trained[0].get("direction") if trained else pipe_fb.get("direction", "up")
    for b in blocks:
        b["regulation"] = (_regulation(b.get("target_mean"), baseline.get(b.get("target")),
                                       b.get("direction"))
                           if b.get("kind") in ("training", "transfer") else math.nan)

    def mean_of(rows, key):
        vals = [_f(r.get(key)) for r in rows]
        vals = [v for v in vals if math.isfinite(v)]
        return sum(vals) / len(vals) if vals else math.nan

    def pooled(rows, num, den):
        n = sum(int(_f(r.get(num)) or 0) for r in rows if math.isfinite(_f(r.get(num))))
        d = sum(int(_f(r.get(den)) or 0) for r in rows if math.isfinite(_f(r.get(den))))
        return n / d if d else math.nan

    n_win = sum(int(_f(b.get("n_windows")) or 0) for b in blocks)
    n_gat = sum(int(_f(b.get("n_gated")) or 0) for b in blocks)
    lat = summ.get("latency_ms") or {}
    cue_lat = fb.get("cue_latency_ms") or {}
    gaps = summ.get("gaps", integ.get("gaps", [])) or []
    base = baseline.get(target) or {}
    started = prog.get("started_at") or side.get("started_at")
    started = started if isinstance(started, str) else None  # a date, as text
    ref = side_path or xdf
    prof = side.get("board_profile") or {}
    if not started and math.isfinite(_f(integ.get("started"))):
        # no sidecar: the XDF's own date, not its file's, which a copy resets
        started = _dt.datetime.fromtimestamp(integ["started"]).astimezone().isoformat(
            timespec="seconds")
    if not started and ref is not None:
        started = _dt.datetime.fromtimestamp(ref.stat().st_mtime).astimezone().isoformat(
            timespec="seconds")
    for b in training:  # clean windows in training: the denominator of the reward rate
        b.setdefault("n_clean", int(_f(b.get("n_windows")) or 0) - int(_f(b.get("n_gated")) or 0))

    def rel(p):
        try:
            return str(Path(p).resolve().relative_to(root.resolve()))
        except (ValueError, OSError):
            return str(p)

    record = {
        "participant": participant, "session": None if session is None else int(session),
        "label": label,
        "task": prog.get("task") or _task_from(ref) or "",
        "uid": side.get("session_id", ""), "started_at": started or "",
        "status": status, "simulated": bool(prog.get("simulated", False)),
        "duration": _f(summ.get("duration", integ.get("duration"))),
        "n_samples": int(_f(summ.get("n_samples", integ.get("n_samples", 0))) or 0),
        "n_windows": int(_f(summ.get("n_windows", n_win)) or 0),
        "n_gated": int(_f(summ.get("n_gated", n_gat)) or 0),
        "n_dropped": int(_f(summ.get("n_dropped", integ.get("n_dropped", 0))) or 0),
        "effective_sfreq": _f(summ.get("effective_sfreq", integ.get("effective_sfreq"))),
        "latency_p50": _f(lat.get("p50")), "latency_p99": _f(lat.get("p99")),
        "cue_latency_p50": _f(cue_lat.get("p50")), "cue_latency_p99": _f(cue_lat.get("p99")),
        "n_gaps": len(gaps), "gap_seconds": float(sum(_f(g.get("duration")) for g in gaps)),
        "target": target or "", "direction": direction or "up",
        "baseline_mean": _f(base.get("mean")), "baseline_sd": _f(base.get("sd")),
        "regulation": mean_of(training, "regulation"),
        "transfer_regulation": mean_of(transfer, "regulation"),
        "reward_rate": pooled(training, "n_reward", "n_clean"),
        "time_in_target": pooled(training, "n_reward", "n_windows"),
        "artifact_share": n_gat / n_win if n_win else _f(fb.get("artifact_share")),
        "threshold_start_mode": fb.get("threshold_start") or pipe_fb.get("threshold_start",
                                                                           "baseline"),
        "final_thresholds": [
            {k: t.get(k) for k in ("target", "direction", "threshold", "scale", "source")}
            for t in fb.get("thresholds") or []],
        "model": (side.get("model") or {}).get("file", ""),
        "xdf": rel(xdf) if xdf is not None else "",
        "sidecar": rel(side_path) if side_path is not None else "",
        "report": rel(ref.with_suffix(".html")) if ref is not None
        and ref.with_suffix(".html").exists() else "",
        "mtime": max((p.stat().st_mtime for p in (side_path, xdf) if p is not None),
                     default=0.0),
        "board": prof.get("name", ""),
        "ch_names": list(prof.get("ch_names") or integ.get("ch_names") or []),
        "sfreq": _f(prof.get("sfreq", integ.get("sfreq"))),
        "blocks": blocks,
        "warnings": warnings,
    }
    for w in (warnings if say else []):
        logger.warning(w)
    return record


def _ended_early(side, fb, summ, n_ran=None) -> str | None:
    """A sentence when a finished session stopped before its protocol's end, else None.

    Its blocks are kept and counted; the sentence says where it stopped.
    ``n_ran`` is how many blocks the sidecar lists, those left out for their
    shape included (a block left out was run all the same).
    """
    planned = ((side.get("pipeline") or {}).get("feedback") or {}).get("blocks") or []
    ran = fb.get("blocks") or []
    if not planned:
        return None
    n_ran = max(len(ran), n_ran or 0)
    win = (side.get("pipeline") or {}).get("window") or {}
    # a session as long as its protocol ends one window short (the protocol starts
    # at the first window): that is a whole session
    slack = _f(win.get("length", 2.0)) + 2 * _f(win.get("hop", 0.5))
    slack = slack if math.isfinite(slack) else 3.0
    why = summ.get("stopped_by") or END
    last = ran[-1] if ran and len(ran) == n_ran else None  # None: left out, or none run
    short = False
    if last is not None and len(ran) == len(planned):
        ran_for = _f(last.get("end")) - _f(last.get("start"))
        want = _f(planned[-1].get("duration"))
        short = (math.isfinite(ran_for) and math.isfinite(want)
                 and ran_for < want - slack)
    if n_ran >= len(planned) and not short:
        return None
    where = (f" in block {last.get('name')!r}" if last is not None else
             " before its first block" if not n_ran else "")
    return (f"ended early ({in_words(why)}){where}, after {n_ran} of {len(planned)} blocks; "
            "what it recorded is kept and counted.")


def _still_running(folder: Path) -> bool:
    from ._layout import RUNNING, _pid_alive

    try:
        info = json.loads((folder / RUNNING).read_text())
    except (OSError, ValueError):
        return False
    return _pid_alive(int(info.get("pid", 0)), str(info.get("host", "")), info.get("process"))


def _task_from(path) -> str:
    if path is None:
        return ""
    for part in Path(path).stem.split("_"):
        if part.startswith("task-"):
            return part[5:]
    return ""
