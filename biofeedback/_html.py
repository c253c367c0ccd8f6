"""Self-contained HTML reports: figures embedded as base64 PNG, no network."""

from __future__ import annotations

import base64
import html
import io


def fig_to_img(fig, alt: str = "", dpi: int = 100) -> str:
    """An ``<img>`` tag holding ``fig`` as an embedded PNG (closes the figure)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table(rows, header=None, raw=(), text=()) -> str:
    """An HTML table from a list of rows (values are escaped, but for the
    columns whose indices are in ``raw``, which hold HTML made by the caller).

    The columns whose indices are in ``text`` hold sentences (warnings, which
    name files by their whole path): they read from the left and break
    anywhere a long path needs, so the table stays as wide as the page.

    A table wider than the screen (a phone's) scrolls sideways on its own,
    not the page with it."""
    out = ["<div class=wide><table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(
            f"<td{' class=text' if i in text else ''}>"
            f"{v if i in raw else html.escape(str(v))}</td>" for i, v in enumerate(row))
            + "</tr>")
    out.append("</table></div>")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 .8em;color:#222}
.wide{overflow-x:auto}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}td.text{text-align:left;overflow-wrap:anywhere;min-width:14em}
th{background:#f4f4f4}img{max-width:100%}pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap}
"""


def page(title: str, sections) -> str:
    """A whole HTML document; ``sections`` is a list of (heading, html body)."""
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{b}" for h, b in sections)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>\n"
            f"{body}\n</body></html>\n")


def matplotlib_agg():
    """Import matplotlib with the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt
