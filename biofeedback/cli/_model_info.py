"""``biofeedback info MODEL.bfm``: what a model file holds, before it is used."""

from __future__ import annotations

from pathlib import Path

from .._words import counted, fixed


def is_model_file(fname) -> bool:
    """True for a ``.bfm`` name, or a zip archive holding ``meta.json``."""
    import zipfile

    fname = Path(fname)
    if fname.suffix.lower() == ".bfm":
        return True
    if not fname.is_file():  # a FIFO or device would block the look inside
        return False
    try:
        with zipfile.ZipFile(fname) as zf:
            return "meta.json" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _fmt(value, digits=3):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"  # none stored, or not a number (an edited file)
    return fixed(value, digits)


def _table(value) -> dict:
    """A summary table of the file ({} for none, or for another type: an edited file)."""
    return value if isinstance(value, dict) else {}


def _count(value):
    return len(value) if isinstance(value, (list, tuple, dict)) else "?"


def _sessions(labels):
    """The training summary's session labels (one per name, not per person)."""
    if not isinstance(labels, (list, tuple)):
        return "sessions ?"
    if len(labels) == 1:
        return f"session {labels[0]}"
    return f"{len(labels)} session labels"


def describe_model(model) -> str:
    """The text ``biofeedback info`` prints for a :class:`LoadedModel`.

    Its names, description and training summary are text a file from anyone
    may hold: each line is printed without control characters, which could
    rewrite the terminal (as ``info`` prints a recording's markers).
    """
    from ..stream._peers import printable

    meta = model.meta
    train = _table(meta.get("training"))
    cfg = model.config
    lines = [f"file:        {model.fname}",
             f"read as:     biofeedback model, format {meta.get('format_version', 0)}",
             f"model:       {meta.get('model')}: {meta.get('description', '')}",
             f"classes:     {len(model.classes_)}: {', '.join(model.classes_)}",
             f"channels:    {len(model.ch_names)}: {', '.join(model.ch_names)}"
             + (f" (profile {meta['profile']})" if meta.get("profile") else ""),
             f"rate:        {model.sfreq:g} Hz",
             f"windows:     {cfg.window.length:g} s every {cfg.window.hop:g} s",
             ("reads:       filtered windows, "
              f"{len(model.ch_names)} channels x {model.n_times} samples"
              if model.input == "windows" else
              f"reads:       {model.input}, {len(model.feature_names)} features "
              f"({', '.join(cfg.features.names)})"),
             "calibration: " + (f"{model.plan.describe()} ({model.plan.seconds:g} s, "
                                f"{model.plan.method})" if model.needs_calibration
                                else "none"),
             "state filter: " + (f"dwell {model.dwell:g} s, evidence weight "
                                 + ("hop / window" if model.evidence is None
                                    else f"{model.evidence:g}")
                                 if model.dwell else "none (each window alone)")]
    if train:
        per_class = _table(train.get("windows_per_class"))
        lines.append(f"trained on:  {counted(train.get('n_windows', '?'), 'window')} from "
                     f"{counted(train.get('n_recordings', '?'), 'recording')}, "
                     f"{counted(_count(train.get('subjects', ())), 'subject')}, "
                     f"{_sessions(train.get('sessions'))}; "
                     + ", ".join(f"{c} {n}" for c, n in per_class.items()))
    metrics = {k: v for k, v in _table(meta.get("metrics")).items() if isinstance(v, dict)}
    if metrics:
        cv = next(iter(metrics.values())).get("cv", "?")
        lines.append(f"validation:  --cv {cv}, balanced accuracy (chance "
                     f"{_fmt(next(iter(metrics.values())).get('chance'), 2)})")
        for title, m in metrics.items():
            sw = _table(m.get("switching"))
            lines.append(f"  {title:<16} {_fmt(m.get('balanced_accuracy'))}"
                         + (f", switching {_fmt(sw.get('balanced_accuracy'))}, median lag "
                            f"{_fmt(sw.get('median_lag_s'), 1)} s" if sw else ""))
    else:
        lines.append("validation:  none stored")
    if model.ignored_outputs:
        lines.append(f"ignored:     {', '.join(model.ignored_outputs)} (outputs and files a "
                     "model may not set)")
    return "\n".join(printable(line, None) for line in lines)
