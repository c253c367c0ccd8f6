"""The session report: one self-contained HTML file made from a recording.

Everything comes from the XDF file and its JSON sidecar: the EEG, the
``*-Estimates`` stream, the ``*-Cues`` stream (every block, threshold and cue
as the person got it, stamped when it was emitted) and the sidecar's
pipeline, board, software versions and summary. The report prints a methods
section following the CRED-nf checklist (Ros et al. 2020, Brain 143:1674)
items a tool can answer, and the session's integrity figures.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import numpy as np

from .._markers import BLOCK_START, CUE, THRESHOLD
from .._words import agree, counted, listed
from ._policy import parse_marker

__all__ = ["load_session", "session_figure", "write_report"]

_NO_CUES = ("baseline", "calibration")  # block kinds without cues
_SHADE = {"baseline": "#d9d9d9", "calibration": "#e6e0d0", "training": "#cfe8cf",
          "transfer": "#cfdcf0"}


def _find(streams, suffix):
    for name, s in streams.items():
        if name.endswith(suffix):
            return s
    return None


def load_session(fname) -> dict:
    """Read a recording into what the report shows (cues parsed, blocks found).

    Its sidecar's shape is checked here, once (see :func:`report_sidecar`):
    a part of another type than the report reads is left out, with one
    warning naming the file and the part, and a part missing is absent.
    """
    from .._logging import logger
    from ..io import read_recording
    from ._sidecar import report_sidecar

    rec = read_recording(fname)
    rec.require_rate("be shown as a spectrogram")
    side, problem = report_sidecar(rec, fname)
    if problem is not None:
        logger.warning(problem)
    elif not side:  # a recording made elsewhere
        logger.warning("%s has no sidecar of a biofeedback session beside it; the report "
                       "shows its EEG alone, without estimates, cues or methods.",
                       Path(fname).name)
    est = _find(rec.streams, "-Estimates")
    cues_stream = _find(rec.streams, "-Cues")
    cues, blocks, thresholds = [], [], []
    if cues_stream is not None:
        for ts, text in zip(np.asarray(cues_stream.timestamps).tolist(), cues_stream.data):
            kind, f = parse_marker(text)
            if kind == CUE:
                row = {k: f.get(k, "") for k in ("state", "block", "target", "direction")}
                for k in ("value", "smoothed", "threshold", "score", "t_end"):
                    try:
                        row[k] = float(f.get(k, "nan"))
                    except ValueError:
                        row[k] = math.nan
                row["emitted"] = ts
                cues.append(row)
            elif kind == BLOCK_START:
                blocks.append({"name": f.get("name", ""), "kind": f.get("kind", ""),
                               "target": f.get("target", ""),
                               "direction": f.get("direction", ""),
                               "duration": f.get("duration", ""),
                               "instructions": f.get("instructions", "")})
            elif kind == THRESHOLD:
                thresholds.append({**f, "emitted": ts})
    for i, b in enumerate(blocks):
        rows = [c for c in cues if c["block"] == b["name"]]
        b["start"] = rows[0]["t_end"] if rows else math.nan
        b["end"] = rows[-1]["t_end"] if rows else math.nan
        if i and math.isfinite(b["start"]):
            blocks[i - 1]["end"] = b["start"]
        n = len(rows)
        clean = [c for c in rows if c["state"] != "paused"]
        rew = sum(c["state"] == "reward" for c in rows)
        thr = [c["threshold"] for c in rows if math.isfinite(c["threshold"])]
        vals = [c["value"] for c in clean if math.isfinite(c["value"])]
        b.update(n_windows=n, artifact_share=(n - len(clean)) / n if n else math.nan,
                 reward_rate=(rew / len(clean) if clean and b["kind"] not in _NO_CUES
                              else math.nan),
                 time_in_target=rew / n if n and b["kind"] not in _NO_CUES else math.nan,
                 threshold_start=thr[0] if thr else math.nan,
                 threshold_end=thr[-1] if thr else math.nan,
                 target_mean=float(np.mean(vals)) if vals else math.nan)
    lat = np.array([(c["emitted"] - c["t_end"]) * 1e3 for c in cues
                    if math.isfinite(c["t_end"])])
    return {"fname": Path(fname), "rec": rec, "sidecar": side, "estimates": est,
            "cues": cues, "blocks": blocks, "thresholds": thresholds, "cue_latency_ms": lat}


def spectrogram(data, sfreq, nperseg, noverlap):
    """``scipy.signal.spectrogram(data, sfreq, nperseg=nperseg, noverlap=noverlap,
    detrend="linear")``'s numbers, computed with numpy.

    Each segment of the last axis loses its least-squares line and is tapered
    by scipy's default window (a periodic Tukey window, a quarter of it
    tapered); the one-sided periodogram is a density in units²/Hz. Importing
    scipy.signal takes about a second, which every session writing its report
    in a new process paid at its end for this one figure.

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
    times : ndarray, shape (n_segments,)
        Segment centres in seconds from the first sample.
    sxx : ndarray, shape (..., n_freqs, n_segments)
    """
    data = np.asarray(data, dtype=np.float64)
    step = nperseg - noverlap
    n_seg = (data.shape[-1] - noverlap) // step
    # scipy's get_window(("tukey", 0.25), nperseg): a symmetric window one
    # longer, its last point dropped
    m = nperseg + 1
    n = np.arange(m)
    width = int(np.floor(0.25 * (m - 1) / 2.0))
    win = np.ones(m)
    win[:width + 1] = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * n[:width + 1] / 0.25 / (m - 1))))
    win[m - width - 1:] = 0.5 * (1 + np.cos(
        np.pi * (-2.0 / 0.25 + 1 + 2.0 * n[m - width - 1:] / 0.25 / (m - 1))))
    win = win[:-1]
    scale = 1.0 / (sfreq * (win * win).sum())
    x = np.arange(nperseg) - (nperseg - 1) / 2.0
    lead = data.shape[:-1]
    flat = data.reshape(-1, data.shape[-1])
    out = np.empty((flat.shape[0], nperseg // 2 + 1, max(n_seg, 0)))
    for k, row in enumerate(flat):  # a channel at a time: a long session's segments are big
        seg = np.lib.stride_tricks.sliding_window_view(row, nperseg)[::step][:n_seg]
        seg = seg - seg.mean(axis=1, keepdims=True)
        seg -= np.outer(seg @ x / (x @ x), x)  # the least-squares line, mean gone already
        spec = np.fft.rfft(seg * win, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2) * scale
        if nperseg % 2:
            power[:, 1:] *= 2
        else:
            power[:, 1:-1] *= 2
        out[k] = power.T
    freqs = np.fft.rfftfreq(nperseg, 1.0 / sfreq)
    times = (nperseg / 2 + step * np.arange(max(n_seg, 0))) / sfreq
    return freqs, times, out.reshape(*lead, *out.shape[1:])


def _shade(ax, blocks, t0):
    for b in blocks:
        if math.isfinite(b["start"]):
            ax.axvspan(b["start"] - t0, b["end"] - t0, color=_SHADE.get(b["kind"], "#eee"),
                       alpha=0.6, lw=0)


def session_figure(s: dict):
    """The main figure: target estimate, cues and threshold; score; spectrogram."""
    from .._html import matplotlib_agg

    plt = matplotlib_agg()
    rec = s["rec"]
    t0 = rec.timestamps[0] if rec.timestamps.size else 0.0
    cues = s["cues"]
    targets = []
    for c in cues:
        key = (c["target"], c["direction"])
        if key not in targets:
            targets.append(key)
    targets = targets or [("", "")]
    n_t = len(targets)
    fig, axes = plt.subplots(n_t + 2, 1, figsize=(11, 3.2 * n_t + 4.6), sharex=True,
                             gridspec_kw={"height_ratios": [3] * n_t + [1.2, 2.2]})
    for k, (target, direction) in enumerate(targets):
        ax = axes[k]
        _shade(ax, s["blocks"], t0)
        rows = [c for c in cues if (c["target"], c["direction"]) == (target, direction)]
        if not rows:
            continue
        t = np.array([c["t_end"] for c in rows]) - t0
        value = np.array([c["value"] for c in rows])
        smooth = np.array([c["smoothed"] for c in rows])
        thr = np.array([c["threshold"] for c in rows])
        state = np.array([c["state"] for c in rows])
        ax.plot(t, value, ".", color="0.6", ms=3, label="estimate")
        ax.plot(t, smooth, color="C0", lw=1.6, label="smoothed (cued)")
        ax.step(t, thr, where="post", color="C1", lw=1.4, label="threshold")
        both = np.r_[value, smooth]
        lo = np.nanmin(both) if np.isfinite(both).any() else 0.0
        for st, col, lab in (("reward", "tab:green", "reward"),
                             ("paused", "tab:red", "paused (artifact)")):
            m = state == st
            if m.any():
                ax.plot(t[m], np.full(m.sum(), lo), "|", color=col, ms=10, label=lab)
        ax.set_ylabel(f"{target}\n({'raise' if direction == 'up' else 'lower'})")
        ax.legend(loc="upper left", fontsize=8, ncol=5)
    if cues:
        t = np.array([c["t_end"] for c in cues]) - t0
        state = np.array([c["state"] for c in cues])
        score = np.array([c["score"] for c in cues])
        axes[n_t].scatter(t, score, s=8,
                          c=np.where(state == "reward", "tab:green", "tab:orange"))
        axes[n_t].axhline(0.5, color="C1", lw=0.8)
    for b in s["blocks"]:
        if math.isfinite(b["start"]):
            axes[0].text(b["start"] - t0, 1.0, f" {b['name']}", va="bottom", fontsize=8,
                         transform=axes[0].get_xaxis_transform())
    _shade(axes[n_t], s["blocks"], t0)
    axes[n_t].set_ylim(-0.05, 1.05)
    axes[n_t].set_ylabel("cue score")
    ax = axes[n_t + 1]
    if rec.n_times > 2 * rec.sfreq:
        nper = int(2 * rec.sfreq)
        data = np.nan_to_num(rec.data)
        f, tt, sxx = spectrogram(data, rec.sfreq, nper, nper * 3 // 4)
        band = (f >= 1) & (f <= 45)
        power = np.median(sxx[:, band, :], axis=0) * 1e12  # µV²/Hz, median over channels
        ax.pcolormesh(tt, f[band], 10 * np.log10(power + 1e-30), shading="auto",
                      cmap="viridis")
    ax.set_ylabel("Hz (median channel,\ndB µV²/Hz)")
    ax.set_xlabel("time (s) from the start of the recording")
    fig.suptitle(f"Session {s['sidecar'].get('session_id', s['fname'].stem)}")
    fig.tight_layout()
    return fig


def _trends_figure(s):
    from .._html import matplotlib_agg

    plt = matplotlib_agg()
    est = s["estimates"]
    names = [n for n in est.ch_names if n != "gated"]
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 1.4 * len(names) + 0.6),
                             sharex=True, squeeze=False)
    t0 = s["rec"].timestamps[0] if s["rec"].timestamps.size else 0.0
    t = np.asarray(est.timestamps) - t0
    data = np.asarray(est.data)
    gated = (data[est.ch_names.index("gated")] > 0.5 if "gated" in est.ch_names
             else np.zeros(t.size, bool))
    for ax, name in zip(axes[:, 0], names):
        _shade(ax, s["blocks"], t0)
        y = data[est.ch_names.index(name)]
        ax.plot(t, np.where(gated, np.nan, y), lw=0.9)
        ax.plot(t, np.where(gated, y, np.nan), lw=0.9, color="tab:red")
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s); red: gated windows")
    fig.tight_layout()
    return fig


def _fmt(x, pct=False, digits=4):
    if isinstance(x, str):
        return x
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.0f}%" if pct else f"{x:.{digits}g}"


def _integrity(s) -> list[tuple[str, str]]:
    rec, side = s["rec"], s["sidecar"]
    summ = side.get("summary", {})
    ts = rec.timestamps
    eff = (ts.size - 1) / (ts[-1] - ts[0]) if ts.size > 1 and ts[-1] > ts[0] else math.nan
    lat = s["cue_latency_ms"]
    src = side.get("source", {})
    offset = src.get("clock_offset", src.get("clock_offset_s"))
    rows = [
        ("samples", f"{rec.n_times} at {rec.sfreq:g} Hz nominal"),
        ("effective sampling rate", f"{_fmt(eff, digits=6)} Hz"),
        ("dropped samples", f"{summ.get('n_dropped', 'n/a')} (counter/timestamps); "
                            f"{counted(len(rec.gaps), 'gap')}, "
                            f"{counted(sum(g.n_missing for g in rec.gaps), 'sample')} missing"),
        ("clock offset", (f"{offset} s (LSL time correction)" if offset is not None else
                          "0 (acquired on the recording machine's LSL clock)" if side else
                          "n/a (no session sidecar)")),
        ("cue latency", (f"p50 {np.percentile(lat, 50):.1f} ms, p99 "
                         f"{np.percentile(lat, 99):.1f} ms (n={lat.size}); emission time of "
                         "each cue marker minus its window's newest sample" if lat.size
                         else "n/a")),
    ]
    el = summ.get("latency_ms", {})
    if el.get("n") and "p50" in el and "p99" in el:
        rows.append(("estimate latency", f"p50 {el['p50']:.1f} ms, p99 {el['p99']:.1f} ms "
                                         f"(n={el['n']})"))
    rows.append(("windows", f"{summ.get('n_windows', 'n/a')} ({summ.get('n_gated', 'n/a')} "
                            "gated)"))
    return rows


def methods(s) -> list[tuple[str, str]]:
    """CRED-nf items a tool can answer, as (item, text) built from the sidecar."""
    side = s["sidecar"]
    pipe = side.get("pipeline", {})
    if not pipe:  # no session's record: filters, gates and feedback are not known
        return [("No session record", (
            f"No sidecar beside {s['fname'].name} names the pipeline of a biofeedback "
            f"session ({s['fname'].with_suffix('.json').name} is absent or holds none), "
            "so how it was filtered, gated and fed back is not known and no methods are "
            "given; 'biofeedback replay' runs it through a pipeline you name."))]
    pre, win = pipe.get("preprocessing", {}), pipe.get("window", {})
    feats, gates = pipe.get("features", {}), pipe.get("gates", {})
    fb = pipe.get("feedback", {})
    prof = side.get("board_profile", {})
    soft = side.get("software", {})
    fbrun = side.get("feedback", {})
    n_cues = len(s["cues"])
    gated = [c for c in s["cues"] if c["state"] == "paused"]
    fed = sorted({c["target"] for c in s["cues"]})
    out = []
    out.append(("3d Online processing and artifact handling", (
        f"Causal Butterworth filters (order {pre.get('order')}) applied sample by sample: "
        f"high-pass {pre.get('highpass')} Hz, low-pass {pre.get('lowpass')} Hz, notch "
        f"{pre.get('notch')} (Q {pre.get('notch_q')}), reference {pre.get('reference')}. "
        f"Sliding windows of {win.get('length')} s every {win.get('hop')} s. Each window was "
        f"checked per channel for railing (>{gates.get('rail_fraction')} of full scale), flat "
        f"signal (<{gates.get('flat_uv')} µV SD), peak-to-peak >{gates.get('max_ptp_uv')} µV, "
        f"frontal blinks >{gates.get('blink_uv')} µV, muscle (PSD ratio "
        f">{gates.get('muscle_ratio')}) and line noise; windows with fewer than "
        f"{gates.get('min_clean_fraction')} clean channels were gated, and a gated window "
        f"paused feedback (no reward) rather than rewarding noise: {len(gated)} of {n_cues} "
        f"feedback windows ({_fmt(len(gated) / n_cues if n_cues else math.nan, True)}).")))
    bands = ", ".join(f"{k} {v[0]}-{v[1]} Hz" for k, v in (feats.get("bands") or {}).items())
    out.append(("4a Feature extraction", (
        f"Welch PSD ({feats.get('welch_window')} window, {feats.get('welch_segment')} s "
        f"segments, {feats.get('welch_overlap')} overlap) per window; band powers over "
        f"{bands}. Features: {', '.join(feats.get('names', []))}. Estimates (indices): "
        f"{', '.join(feats.get('indices', []))}; formulas and references in "
        f"docs/features.md. The {agree(len(fed), 'estimate', 'estimates')} fed back: "
        f"{listed(fed) or 'none'}.")))
    thr_rows = "; ".join(
        f"{b['name']}: {_fmt(b['threshold_start'])} -> {_fmt(b['threshold_end'])}"
        for b in s["blocks"] if b["kind"] not in _NO_CUES)
    out.append(("4b Reinforcement schedule and thresholds", (
        f"Personal thresholds from the participant's own baseline: for a target to raise, "
        f"the {100 * (1 - fb.get('reward_rate', 0.65)):.0f}th percentile of the smoothed "
        f"clean baseline values (the {100 * fb.get('reward_rate', 0.65):.0f}th for a target to "
        f"lower), so that a fraction {fb.get('reward_rate')} of the baseline would have been "
        f"rewarded. Estimate smoothed by an exponential moving average (time constant "
        f"{fb.get('smoothing')} s); hysteresis {fb.get('hysteresis')} baseline SD; minimum "
        f"dwell {fb.get('dwell')} s. Adaptation {'on' if fb.get('adapt') else 'off'}: the "
        f"threshold moved by {fb.get('adapt_speed')} baseline SD per second per unit of "
        f"reward-rate error to keep the reward rate near {fb.get('reward_rate')}. Thresholds "
        f"as they moved (start -> end of block): {thr_rows or 'no training block'}. Every "
        f"threshold in force is in the recorded Cues stream."
        + (" The session started from the previous session's final threshold "
           "(threshold_start = carry)." if fb.get("threshold_start") == "carry" else ""))))
    sinks = fb.get("sinks", [])
    modal = []
    if "terminal" in sinks:
        modal.append("visual: a terminal gauge of the score, green while rewarded")
    if "audio" in sinks:
        a = fb.get("audio", {})
        modal.append(f"auditory: a tone whose pitch follows the score (log scale "
                     f"{a.get('low_hz')}-{a.get('high_hz')} Hz), loud while rewarded")
    if "osc" in sinks:
        o = fb.get("osc", {})
        modal.append(f"OSC messages to {o.get('host')}:{o.get('port')} "
                     f"({o.get('prefix')}/score, /cue, /value, /threshold, /block)")
    if "lsl" in sinks:
        modal.append("LSL string markers (stream *-Cues), recorded")
    out.append(("4c Feedback modality and content", (
        "Continuous feedback, every window (hop "
        f"{win.get('hop')} s): " + "; ".join(modal) + ". Score = clip(0.5 + z/4, 0, 1) with "
        "z the signed distance of the smoothed estimate from the threshold in baseline SDs; "
        "reward when z crossed +hysteresis/2 (off below -hysteresis/2).")))
    out.append(("4d Feedback variables as shown", (
        f"{n_cues} cue markers recorded, one per window, each with the state shown (reward, "
        "no_reward, paused, baseline, calibrating), the score, the raw and smoothed estimate, "
        "the threshold and the window's end time; block and threshold markers beside them.")))
    versions = ", ".join(f"{k} {v}" for k, v in soft.items() if v and k != "platform")
    src = side.get("source", {})
    # a scripted scenario is no headset: the methods must not pass it off as one
    simulated = (f", simulated by the scenario {src.get('scenario')!r} (seed "
                 f"{src.get('seed')}; biofeedback simulate)"
                 if src.get("kind") == "ScenarioSource" else "")
    out.append(("4e Hardware and software", (
        f"Board: {prof.get('name')} ({prof.get('description', '')}){simulated}, "
        f"{len(prof.get('ch_names', []))} channels "
        f"({', '.join(prof.get('ch_names', []))}) at {prof.get('sfreq')} Hz. Software: "
        f"{versions}. Platform: {soft.get('platform', 'n/a')}.")))
    blocks = "; ".join(
        f"{b['name']} ({b['kind']}, {b['duration']} s"
        + (f", {b['direction']} {b['target']}" if b["kind"] not in _NO_CUES else "") + ")"
        for b in s["blocks"])
    out.append(("5b Blocks and baselines", (
        f"Protocol: {blocks or 'no blocks'}. Baseline blocks gave no feedback; their clean "
        "windows set the thresholds. Transfer blocks (if any) computed and recorded the "
        "cues without showing or sounding them.")))
    if fbrun.get("cue_sink_errors"):
        out.append(("Cue sink failures", str(fbrun["cue_sink_errors"])))
    return out


#: Where a BIDS dataset keeps files derived from its recordings (BIDS
#: validators take any other file in the dataset for an error).
DERIVATIVES = Path("derivatives") / "biofeedback"


def _bids_root(fname):
    """The BIDS dataset ``fname`` lies in (the nearest folder above it holding
    a ``dataset_description.json``), or None."""
    for folder in Path(fname).absolute().parents:
        if (folder / "dataset_description.json").is_file():
            return folder
    return None


def report_path(fname) -> Path:
    """Where the report of the recording ``fname`` goes unless told: beside it,
    or for a recording inside a BIDS dataset at its place under the dataset's
    ``derivatives/biofeedback/`` (``sub-01/eeg/sub-01_task-x_eeg.html``). A
    relative ``fname`` gives a path relative to the working folder."""
    return _report_path(fname, _bids_root(fname))


def _report_path(fname, root) -> Path:
    """:func:`report_path` for a recording in the BIDS dataset ``root`` (None: in none)."""
    if root is None:
        return Path(fname).with_suffix(".html")
    rel = Path(fname).absolute().relative_to(root)
    out = root / DERIVATIVES / rel.with_suffix(".html")
    # said as the recording was given: relative to the working folder, if it was
    return out if Path(fname).is_absolute() else Path(os.path.relpath(out))


def _describe_derivatives(root):
    """Write the ``dataset_description.json`` BIDS asks of a derivatives folder,
    unless it has one."""
    import json

    from .. import __version__
    from .._outputs import atomic_output

    desc = root / DERIVATIVES / "dataset_description.json"
    if desc.exists():
        return
    try:
        raw = json.loads((root / "dataset_description.json").read_text(encoding="utf-8"))
        version = str(raw.get("BIDSVersion") or "1.9.0")
    except (OSError, ValueError, AttributeError):
        version = "1.9.0"
    text = json.dumps({"Name": "biofeedback session reports", "BIDSVersion": version,
                       "DatasetType": "derivative",
                       "GeneratedBy": [{"Name": "biofeedback", "Version": __version__}]},
                      indent=2)
    with atomic_output(desc) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def write_report(fname, out=None, png=None) -> Path:
    """Write the HTML report of a recording (and optionally the main figure as PNG).

    Parameters
    ----------
    fname : path-like
        An XDF recording made by ``biofeedback live`` (sidecar beside it).
    out : path-like | None
        The HTML file (default: :func:`report_path`, the recording with
        ``.html``, under ``derivatives/biofeedback/`` in a BIDS dataset).
    png : path-like | None
        Also save the main figure there.

    Returns
    -------
    path : Path
        The HTML file: one self-contained document (figures embedded).
    """
    from .._html import fig_to_img, page, table

    s = load_session(fname)
    root = _bids_root(fname)  # looked up once: for the path and the derivatives' description
    out = Path(out) if out is not None else _report_path(fname, root)
    sections = []
    fig = session_figure(s)
    if png is not None:
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=110, bbox_inches="tight")
    sections.append(("Estimate, cues and spectrogram", fig_to_img(fig, "session timeline")))
    rows = [(b["name"], b["kind"], f"{b['target']} {b['direction']}" if b["kind"] not in
             _NO_CUES else "-", b["n_windows"], _fmt(b["artifact_share"], True),
             _fmt(b["reward_rate"], True), _fmt(b["time_in_target"], True),
             _fmt(b["threshold_start"]), _fmt(b["threshold_end"]), _fmt(b["target_mean"]))
            for b in s["blocks"]]
    sections.append(("Blocks", table(rows, ["block", "kind", "trains", "windows", "artifacts",
                                            "reward rate", "time in target",
                                            "threshold start", "threshold end",
                                            "mean estimate"]) if rows else
                     "<p>This recording holds no protocol blocks.</p>"))
    if s["estimates"] is not None and len(s["estimates"].timestamps):
        sections.append(("Estimate trends", fig_to_img(_trends_figure(s), "estimates")))
    integrity, items = _integrity(s), methods(s)  # the sidecar's shape is checked on load
    sections.append(("Integrity", table(integrity, ["figure", "value"])))
    meth = "\n".join(f"<h3>{html.escape(k)}</h3><p>{html.escape(v)}</p>" for k, v in items)
    sections.append(("Methods (CRED-nf items 3d, 4a-4e, 5b)", meth))
    files = [("recording", str(fname))]
    if s["sidecar"]:
        files.append(("sidecar", str(Path(fname).with_suffix(".json"))))
    sections.append(("Files", table(files)))
    title = f"biofeedback session report: {Path(fname).name}"
    from .._outputs import atomic_output

    with atomic_output(out) as tmp:  # an interrupted report never replaces a whole one
        tmp.write_text(page(title, sections), encoding="utf-8")
    if root is not None and out.absolute().is_relative_to(root / DERIVATIVES):
        _describe_derivatives(root)
    return out
