"""The HTML training report and the short text table."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from .. import _html, _svg
from .._outputs import atomic_output
from .._words import counted


def scored_what(dataset) -> str:
    """What validation scores on these recordings, in words."""
    if any(f.label is None and not f.stretches for f in dataset.files):
        return "the marker-labelled windows of sessions that switch state"
    if any(f.stretches for f in dataset.files):
        return ("sustained states and the manifest's labelled stretches"
                if any(f.label is not None for f in dataset.files)
                else "the manifest's labelled stretches")
    return "sustained states"


def _fold_key(result):
    """What each fold of ``result`` held out ("subject", "session"...): its
    folds' first field that is no score."""
    return [k for k in result.folds[0] if k not in ("n_windows", "balanced_accuracy",
                                                      "recall")][0]


def format_table(results, scored="sustained states") -> list[str]:
    """Short text table: one row per fold, one column per result, then totals.

    ``results`` maps a column title to a :class:`CVResult`; ``scored`` says
    what the balanced accuracy is over (one-state recordings: sustained
    states; marker-labelled sessions: their labelled windows).
    """
    titles = list(results)
    first = results[titles[0]]
    key = _fold_key(first)
    groups = []
    for r in results.values():
        for f in r.folds:
            if f[key] not in groups:
                groups.append(f[key])
    width = max(14, *(len(t) + 2 for t in titles))
    lw = max([12, *(len(str(g)) + 2 for g in groups)])  # 'subjecta/day10' stays apart
    lines = [f"{key:<{lw}}" + "".join(f"{t:>{width}}" for t in titles)]
    for g in groups:
        row = f"{g:<{lw}}"
        for r in results.values():
            f = next((f for f in r.folds if f[key] == g), None)
            row += f"{'-' if f is None else format(f['balanced_accuracy'], '.2f'):>{width}}"
        lines.append(row)
    lines.append(f"{'pooled':<{lw}}" + "".join(
        f"{r.balanced_accuracy:>{width}.2f}" for r in results.values()))
    lines.append(f"{'windows':<{lw}}" + "".join(
        f"{r.n_windows:>{width}d}" for r in results.values()))
    lines.append(f"balanced accuracy of {scored}, chance {first.chance:.2f} "
                 f"({len(first.classes)} classes: {', '.join(first.classes)})")
    sw = [r.switching for r in results.values()]
    if any(sw):
        def cell(d, k, fmt):
            return "-" if not d else format(d[k], fmt)
        lines.append(f"{'switching':<{lw}}" + "".join(
            f"{cell(d, 'balanced_accuracy', '.2f'):>{width}}" for d in sw))
        lines.append(f"{'first 10 s':<{lw}}" + "".join(
            f"{cell(d, 'first_accuracy', '.2f'):>{width}}" for d in sw))
        lines.append(f"{'median lag':<{lw}}" + "".join(
            f"{cell(d, 'median_lag_s', '.1f'):>{width}}" for d in sw))
        n = next(d for d in sw if d)
        what = (f"streams switching every {n['switch_every_s']:g} s" if n["switch_every_s"]
                else "sessions switching state as labelled")
        lines.append(f"{what}: balanced accuracy over all windows, accuracy in the first "
                     "10 s after a switch, median lag (s) until the output follows "
                     f"({counted(n['n_switches'], 'switch', 'switches')})")
    return lines


def format_counts(result) -> list[str]:
    """Clean windows scored per subject and class."""
    classes = list(result.classes)
    lw = max([12, *(len(str(s)) + 2 for s in result.counts)])
    cw = max([15, *(len(c) + 2 for c in classes)])
    lines = [f"{'windows':<{lw}}" + "".join(f"{c:>{cw}}" for c in classes)]
    for s, row in result.counts.items():
        lines.append(f"{s:<{lw}}" + "".join(f"{row[c]:>{cw}d}" for c in classes))
    return lines


def plot_confusion(ax, result, title):
    """Draw a cross-validation result's confusion matrix (counts, row %) on ``ax``.

    For matplotlib figures (docs/make_training_figures.py); the report draws
    the same matrix as SVG without importing matplotlib.
    """
    cm = result.confusion_matrix
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    n = len(result.classes)
    ax.set_xticks(range(n), result.classes, rotation=30, ha="right")
    ax.set_yticks(range(n), result.classes)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]}\n{norm[i, j]:.0%}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)


def _per_group_fig(plt, results):
    """The per-group accuracy bars in matplotlib, for docs/make_training_figures.py."""
    titles = list(results)
    first = results[titles[0]]
    key = _fold_key(first)
    groups = [f[key] for f in first.folds]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    w = 0.8 / len(titles)
    for i, t in enumerate(titles):
        acc = {f[key]: f["balanced_accuracy"] for f in results[t].folds}
        ax.bar(np.arange(len(groups)) + i * w, [acc.get(g, np.nan) for g in groups],
               w, label=t)
    ax.axhline(first.chance, color="k", ls="--", lw=1, label="chance")
    ax.set_xticks(np.arange(len(groups)) + w * (len(titles) - 1) / 2, groups)
    ax.set_ylim(0, 1)
    ax.set_ylabel("balanced accuracy")
    ax.set_xlabel(f"held-out {key}")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def feature_importances(model, dataset):
    """(names, importances) of a fitted model, or None when it has none.

    Linear models: mean absolute coefficient over classes (on standardised
    features; for a channel-balanced model, on its pooled values, named
    ``<feature>_clean``); forests: impurity importance; others: permutation importance of
    balanced accuracy on the training windows.
    """
    est = model.estimator
    names = list(model.feature_names)
    if model.input == "clean_features":  # one pooled value per item (band)
        pool = est[0]
        cols = np.asarray(pool.columns, dtype=int).reshape(-1, 2)
        names = []
        for it in pool.items_:
            k = int(np.flatnonzero(cols[:, 1] == it)[0])
            ch = model.ch_names[cols[k, 0]] if cols[k, 0] >= 0 else "mean"
            name = model.feature_names[k]
            names.append(name[: -len(ch)] + "clean" if name.endswith(ch) else name)
    elif model.input != "features":
        return None
    last = est[-1] if hasattr(est, "steps") else est
    if hasattr(last, "coef_"):
        imp = np.abs(np.atleast_2d(last.coef_)).mean(axis=0)
    elif hasattr(last, "feature_importances_"):
        imp = np.asarray(last.feature_importances_)
    else:
        from sklearn.inspection import permutation_importance

        X = dataset.X  # uncalibrated: importance ranks features, offsets do not matter
        res = permutation_importance(est, X, dataset.y, n_repeats=3, random_state=0,
                                     scoring="balanced_accuracy")
        imp = res.importances_mean
    return names, np.asarray(imp, dtype=float)


def _importance_svg(names, imp, top=20):
    order = np.argsort(imp)[::-1][:top]
    return _svg.hbars([names[i] for i in order], imp[order], xlabel="importance",
                      title=f"the {len(order)} most important features")


def _bandpower_svg(dataset):
    cols = {}
    for j, name in enumerate(dataset.feature_names):
        m = re.match(r"logpow_(\w+?)_(.+)$", name)
        if m:
            cols.setdefault(m.group(1), []).append(j)
    if not cols:
        return None
    panels = []
    for band, idx in cols.items():
        vals = dataset.X[:, idx].mean(axis=1) + 12  # log10 µV²
        panels.append((band, [(c, vals[dataset.y == c]) for c in dataset.classes]))
    return _svg.boxplots(panels, ylabel="log10 band power (µV²), channel mean",
                         title="band powers per class")


def _per_group_svg(results):
    titles = list(results)
    first = results[titles[0]]
    key = _fold_key(first)
    groups = [f[key] for f in first.folds]
    series = {}
    for t in titles:
        acc = {f[key]: f["balanced_accuracy"] for f in results[t].folds}
        series[t] = [acc.get(g, float("nan")) for g in groups]
    return _svg.grouped_bars([str(g) for g in groups], series, chance=first.chance,
                             ylabel="balanced accuracy", xlabel=f"held-out {key}",
                             title="balanced accuracy per held-out group")


def _counts_html(result):
    """The windows each fold scored and trained on, and the clean windows scored
    per subject, by class (what the balanced accuracies above rest on)."""
    classes = list(result.classes)
    key = _fold_key(result)
    rows = [[f[key], *(f.get("test_windows_per_class", {}).get(c, 0) for c in classes),
             *(f.get("train_windows_per_class", {}).get(c, 0) for c in classes)]
            for f in result.folds]
    body = ("<p>Windows each fold scored (held out) and trained on, per class.</p>"
            + _html.table(rows, ["held out", *(f"scored {c}" for c in classes),
                                 *(f"trained {c}" for c in classes)]))
    rows = [[s, *(row.get(c, 0) for c in classes), sum(row.values())]
            for s, row in result.counts.items()]
    return body + ("<p>Clean windows scored per subject and class.</p>"
                   + _html.table(rows, ["subject", *classes, "all"]))


def write_report(fname, dataset, model, results, *, random_split=None,
                 model_file=None) -> Path:
    """Write the self-contained HTML report of a training run.

    Parameters
    ----------
    fname : path-like
        Output ``.html``.
    dataset : Dataset
    model : LoadedModel
        The model fitted on every window.
    results : dict of str to CVResult
        Cross-validation results by title (may be empty).
    random_split : float | None
        Shuffled-window k-fold score, shown as the leak illustration.
    model_file : path-like | None
        Where the model was saved.
    """
    s = dataset.summary()
    sections = []
    info = [
        ["model", f"{model.meta['model']}: {model.meta['description']}"],
        ["model file", str(model_file or "")],
        ["channels", ", ".join(dataset.ch_names)],
        ["sampling rate", f"{dataset.sfreq:g} Hz"],
        ["windows", f"{dataset.window_length:g} s, hop {dataset.config.window.hop:g} s"],
        ["features", ", ".join(dataset.config.features.names)
         + f" ({len(dataset.feature_names)} columns)"],
        ["calibration", "none" if not model.needs_calibration else
         f"{'z-score' if model.calibration.get('method') == 'zscore' else 'centre'} "
         f"features on the protocol's blocks before feedback ({model.plan.describe()})"],
        ["state filter", "none (each window alone)" if not model.dwell else
         f"causal HMM forward filter of class probabilities, expected dwell "
         f"{model.dwell:g} s, evidence weight "
         + ("hop / window" if model.evidence is None else f"{model.evidence:g}")],
        ["training windows", f"{s['n_windows']} from {s['n_recordings']} recordings; "
         f"{s['n_gated_dropped']} gated windows excluded, {s['n_gated_kept']} kept"],
        ["windows per class", ", ".join(f"{k}: {v}" for k, v in
                                        s["windows_per_class"].items())],
        ["subjects", ", ".join(s["subjects"])],
        ["electrodes left out", "; ".join(
            f"{ch}: " + ", ".join(f"{c} {v:.0%}" for c, v in by.items())
            for ch, by in s.get("left_out_by_class", {}).items()) or "-"],
    ]
    body = _html.table(info)
    for warning in (dataset.one_class_warning(), dataset.electrode_warning()):
        if warning:
            body = f"<p><strong>{html.escape(warning)}</strong></p>" + body
    sections.append(("Model and data", body))
    if results:
        first = next(iter(results.values()))
        text = "\n".join(format_table(results, scored_what(dataset)))
        body = (f"<p>Grouped cross-validation ({html.escape(first.cv)}): every fold "
                "holds out whole recordings of one group, so no window of a held-out "
                "recording, nor an overlapping neighbour, is seen in training. "
                f"Chance level is {first.chance:.2f}.</p><pre>{html.escape(text)}</pre>")
        if random_split is not None:
            body += (f"<p>For comparison only: shuffled 5-fold over windows scores "
                     f"{random_split:.2f}. That figure leaks, because overlapping "
                     "windows of one recording fall on both sides of the split; do not "
                     "report it.</p>")
        switching = any(r.switching for r in results.values())
        rows = []
        for t, r in results.items():
            sw = r.switching or {}
            rows.append([t, f"{r.balanced_accuracy:.3f}", f"{r.mean_fold_accuracy:.3f}",
                         *(f"{r.recall[c]:.2f}" for c in r.classes), r.n_windows,
                         *([f"{sw['balanced_accuracy']:.3f}", f"{sw['first_accuracy']:.3f}",
                            f"{sw['median_lag_s']:.1f}",
                            f"{sw['n_switches']} ({sw['n_not_followed']} not followed)"]
                           if sw else ["-"] * 4 if switching else [])])
        body += _html.table(rows, [
            "", f"{scored_what(dataset)}: balanced accuracy (pooled)", "mean over folds",
            *(f"recall {c}" for c in first.classes), "windows",
            *(("switching: balanced accuracy", "first 10 s after a switch",
               "median lag (s)", "switches") if switching else ())])
        sections.append(("Validation", body))
        sections.append(("Windows per fold, subject and class", _counts_html(first)))
        figs = "".join(_svg.confusion(r.confusion_matrix, list(r.classes), title=t)
                       for t, r in results.items())
        sections.append(("Confusion matrices", figs))
        sections.append(("Accuracy per held-out group", _per_group_svg(results)))
    imp = feature_importances(model, dataset)
    if imp is not None:
        sections.append(("Feature importances", _importance_svg(*imp)))
    fig = _bandpower_svg(dataset)
    if fig is not None:
        sections.append(("Band powers per class", fig))
    per_rec = [[r["file"], r["subject"], r["session"], r["label"] or (
        f"({r['n_stretches']} stretches)" if r.get("n_stretches") else "(markers)"),
                r["n_windows"], r["n_gated"]] for r in dataset.recordings]
    sections.append(("Recordings", _html.table(
        per_rec, ["file", "subject", "session", "label", "windows", "gated"])))
    fname = Path(fname)
    with atomic_output(fname) as tmp:
        tmp.write_text(_html.page(f"Training report: {model.meta['model']}", sections),
                       encoding="utf-8")
    return fname
