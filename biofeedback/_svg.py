"""Small charts written directly as inline SVG for the HTML reports.

matplotlib costs about a second to import and a fraction of a second per
PNG; the training report's charts (bars, box plots, a confusion matrix) are
a few dozen shapes each, so they are written here as SVG text: no import,
sharp at any zoom, and the numbers stay readable in the page's source.
"""

from __future__ import annotations

import html
import math

import numpy as np

__all__ = ["hbars", "grouped_bars", "boxplots", "confusion"]

_FONT = 'font-family="system-ui,sans-serif"'
_COLORS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _svg(width, height, body, title) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {_FONT} '
            f'font-size="11"><title>{_esc(title)}</title>{"".join(body)}</svg>')


def _text(x, y, text, anchor="middle", size=11, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"'
            f'{extra}>{_esc(text)}</text>')


def _ticks(lo, hi, n=5):
    """About ``n`` round tick values covering lo..hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v):
    return f"{v:.3g}"


def hbars(labels, values, *, xlabel="", title="") -> str:
    """Horizontal bars, one per label, top to bottom in the order given."""
    values = np.asarray(values, dtype=float)
    left, right, row, top = 170, 20, 16, 10
    width = 600
    height = top + row * len(labels) + 40
    vmax = float(np.nanmax(values)) if values.size and np.isfinite(values).any() else 1.0
    vmax = vmax if vmax > 0 else 1.0
    scale = (width - left - right) / vmax
    body = []
    for t in _ticks(0.0, vmax):
        x = left + t * scale
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                    f'y2="{top + row * len(labels)}" stroke="#ddd"/>')
        body.append(_text(x, top + row * len(labels) + 14, _fmt(t)))
    for i, (name, v) in enumerate(zip(labels, values)):
        y = top + i * row
        w = max(v, 0.0) * scale if math.isfinite(v) else 0.0
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
                    f'fill="{_COLORS[0]}"><title>{_esc(name)}: {_fmt(v)}</title></rect>')
        body.append(_text(left - 5, y + row - 4, name, "end", 10))
    body.append(_text(left + (width - left - right) / 2, height - 6, xlabel))
    return _svg(width, height, body, title or xlabel)


def grouped_bars(groups, series, *, chance=None, ylabel="", xlabel="", title="",
                 ylim=(0.0, 1.0)) -> str:
    """Bars per group, one colour per series (``series``: name -> values per group)."""
    left, bottom, top, right = 50, 40, 10, 110
    width, plot_h = max(360, 60 + 40 * len(groups) * max(len(series), 1)), 200
    height = top + plot_h + bottom
    plot_w = width - left - right
    lo, hi = ylim

    def y_of(v):
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = []
    for t in _ticks(lo, hi):
        body.append(f'<line x1="{left}" y1="{y_of(t):.1f}" x2="{left + plot_w}" '
                    f'y2="{y_of(t):.1f}" stroke="#ddd"/>')
        body.append(_text(left - 4, y_of(t) + 4, _fmt(t), "end"))
    slot = plot_w / max(len(groups), 1)
    bar = 0.8 * slot / max(len(series), 1)
    for k, (name, vals) in enumerate(series.items()):
        color = _COLORS[k % len(_COLORS)]
        for i, v in enumerate(vals):
            if v is None or not math.isfinite(v):
                continue
            x = left + i * slot + 0.1 * slot + k * bar
            y = y_of(min(max(v, lo), hi))
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                        f'height="{top + plot_h - y:.1f}" fill="{color}"><title>'
                        f'{_esc(name)}, {_esc(groups[i])}: {v:.3f}</title></rect>')
        body.append(f'<rect x="{left + plot_w + 10}" y="{top + 14 * k}" width="10" '
                    f'height="10" fill="{color}"/>')
        body.append(_text(left + plot_w + 24, top + 14 * k + 9, name, "start", 10))
    for i, g in enumerate(groups):
        body.append(_text(left + (i + 0.5) * slot, top + plot_h + 14, g))
    if chance is not None:
        y = y_of(chance)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                    f'stroke="#000" stroke-dasharray="5,3"/>')
        body.append(_text(left + plot_w + 10, y + 4, f"chance {chance:.2f}", "start", 10))
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
                f'stroke="#000"/>')
    body.append(_text(left + plot_w / 2, height - 6, xlabel))
    body.append(_text(12, top + plot_h / 2, ylabel, "middle", 11,
                      f' transform="rotate(-90 12 {top + plot_h / 2:.1f})"'))
    return _svg(width, height, body, title or ylabel)


def _box_stats(v):
    """Quartiles, median and whiskers (furthest points within 1.5 IQR), as box plots draw."""
    v = np.sort(np.asarray(v, dtype=float)[np.isfinite(v)])
    if v.size == 0:
        return None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    iqr = q3 - q1
    lo = v[v >= q1 - 1.5 * iqr].min()
    hi = v[v <= q3 + 1.5 * iqr].max()
    return float(lo), float(q1), float(med), float(q3), float(hi)


def boxplots(panels, *, ylabel="", title="") -> str:
    """Box plots side by side: ``panels`` is a list of (title, [(label, values), ...]).

    Boxes span the quartiles with the median marked; whiskers reach the
    furthest values within 1.5 interquartile ranges (outliers not drawn).
    """
    stats = [[(lab, _box_stats(v)) for lab, v in boxes] for _, boxes in panels]
    finite = [s for panel in stats for _, s in panel if s is not None]
    lo = min((s[0] for s in finite), default=0.0)
    hi = max((s[4] for s in finite), default=1.0)
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    left, top, plot_h, bottom, panel_w, gap = 56, 22, 180, 80, 150, 30
    width = left + len(panels) * (panel_w + gap)
    height = top + plot_h + bottom

    def y_of(v):
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    body = []
    for t in _ticks(lo, hi):
        body.append(_text(left - 6, y_of(t) + 4, _fmt(t), "end"))
    for p, ((name, _), panel) in enumerate(zip(panels, stats)):
        x0 = left + p * (panel_w + gap)
        for t in _ticks(lo, hi):
            body.append(f'<line x1="{x0}" y1="{y_of(t):.1f}" x2="{x0 + panel_w}" '
                        f'y2="{y_of(t):.1f}" stroke="#eee"/>')
        body.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{plot_h}" '
                    f'fill="none" stroke="#999"/>')
        body.append(_text(x0 + panel_w / 2, top - 7, name))
        slot = panel_w / max(len(panel), 1)
        for i, (lab, s) in enumerate(panel):
            cx = x0 + (i + 0.5) * slot
            ly = top + plot_h + 12
            body.append(_text(cx + 3, ly, lab, "end", 10,
                              f' transform="rotate(-35 {cx + 3:.1f} {ly:.1f})"'))
            if s is None:
                continue
            wlo, q1, med, q3, whi = s
            half = 0.3 * slot
            tip = (f"<title>{_esc(name)}, {_esc(lab)}: median {_fmt(med)}, quartiles "
                   f"{_fmt(q1)} to {_fmt(q3)}</title>")
            body.append(f'<line x1="{cx:.1f}" y1="{y_of(whi):.1f}" x2="{cx:.1f}" '
                        f'y2="{y_of(wlo):.1f}" stroke="#333"/>')
            for w in (wlo, whi):
                body.append(f'<line x1="{cx - half / 2:.1f}" y1="{y_of(w):.1f}" '
                            f'x2="{cx + half / 2:.1f}" y2="{y_of(w):.1f}" stroke="#333"/>')
            body.append(f'<rect x="{cx - half:.1f}" y="{y_of(q3):.1f}" width="{2 * half:.1f}" '
                        f'height="{max(y_of(q1) - y_of(q3), 0.5):.1f}" fill="#cfe0f3" '
                        f'stroke="#333">{tip}</rect>')
            body.append(f'<line x1="{cx - half:.1f}" y1="{y_of(med):.1f}" '
                        f'x2="{cx + half:.1f}" y2="{y_of(med):.1f}" stroke="#e67300" '
                        f'stroke-width="2"/>')
    body.append(_text(12, top + plot_h / 2, ylabel, "middle", 11,
                      f' transform="rotate(-90 12 {top + plot_h / 2:.1f})"'))
    return _svg(width, height, body, title or ylabel)


def confusion(cm, classes, *, title="") -> str:
    """A confusion matrix: counts and row percentages, shaded by the row share."""
    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    cell, left, top = 62, 100, 28
    width, height = left + n * cell + 20, top + n * cell + 90
    body = [_text(left + n * cell / 2, 16, title, "middle", 11)]
    for i in range(n):
        for j in range(n):
            share = float(norm[i, j])
            # white to blue, as the "Blues" colour map runs
            r, g, b = (int(247 - share * (247 - 8)), int(251 - share * (251 - 48)),
                       int(255 - share * (255 - 107)))
            x, y = left + j * cell, top + i * cell
            ink = "#fff" if share > 0.5 else "#000"
            body.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                        f'fill="rgb({r},{g},{b})" stroke="#fff"/>')
            body.append(_text(x + cell / 2, y + cell / 2 - 2, cm[i, j], "middle", 11,
                              f' fill="{ink}"'))
            body.append(_text(x + cell / 2, y + cell / 2 + 12, f"{share:.0%}", "middle", 10,
                              f' fill="{ink}"'))
        body.append(_text(left - 6, top + i * cell + cell / 2 + 4, classes[i], "end"))
        lx, ly = left + i * cell + cell / 2 + 3, top + n * cell + 12
        body.append(_text(lx, ly, classes[i], "end", 11,
                          f' transform="rotate(-35 {lx:.1f} {ly:.1f})"'))
    body.append(_text(left + n * cell / 2, top + n * cell + 80, "predicted"))
    body.append(_text(14, top + n * cell / 2, "true", "middle", 11,
                      f' transform="rotate(-90 14 {top + n * cell / 2:.1f})"'))
    return _svg(width, height, body, title or "confusion matrix")
