"""The reports' SVG charts: well-formed, and box plots drawn as matplotlib draws them."""

import xml.etree.ElementTree as ET

import numpy as np

from biofeedback import _svg


def test_charts_are_well_formed_svg_with_escaped_text(rng):
    charts = [
        _svg.hbars(["a<b", "c&d"], [0.3, 0.1], xlabel="importance"),
        _svg.grouped_bars(["s1", "s2"], {"loso": [0.5, np.nan], "x": [0.7, 0.2]},
                          chance=1 / 3, ylabel="balanced accuracy"),
        _svg.boxplots([("alpha", [("relaxed", rng.normal(size=50)), ("none", [])])],
                      ylabel="log power"),
        _svg.confusion(np.array([[5, 1], [0, 0]]), ["x", "y"], title="t"),
    ]
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag.endswith("svg") and float(root.get("width")) > 0
    assert "a&lt;b" in charts[0] and "c&amp;d" in charts[0]


def test_box_stats_match_matplotlib(rng):
    from matplotlib.cbook import boxplot_stats

    for v in (rng.normal(size=200), np.r_[rng.normal(size=40), 9.0, -7.0], np.ones(5)):
        ref = boxplot_stats(v)[0]
        lo, q1, med, q3, hi = _svg._box_stats(v)
        np.testing.assert_allclose([lo, q1, med, q3, hi],
                                   [ref["whislo"], ref["q1"], ref["med"], ref["q3"],
                                    ref["whishi"]], rtol=1e-12)
