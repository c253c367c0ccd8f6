"""Sphinx configuration: the site is built from the docstrings and docs/*.md.

Build it from the repository root (``pip install ".[docs]"`` first)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API pages and the gallery are generated at build time (``docs/generated/``,
not committed): every public module's ``__all__``, and every ``docs/make_*.py``
figure script with the figures it made.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import biofeedback  # noqa: E402

project = "biofeedback"
author = "biofeedback developers"
copyright = "2026, biofeedback developers"  # noqa: A001
release = version = biofeedback.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "**/README.md"]
root_doc = "index"

# numpydoc renders the docstrings; the member tables come from autosummary
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autosummary_generate = False

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

html_theme = "furo"
html_title = f"biofeedback {version}"
html_static_path: list[str] = []

# The packages a user imports; cli and private modules are not API.
_SKIP = re.compile(r"(^|\.)(_\w*|cli)(\.|$)")


def _public_modules():
    mods = ["biofeedback"]
    for info in pkgutil.walk_packages(biofeedback.__path__, "biofeedback."):
        if not _SKIP.search(info.name):
            mods.append(info.name)
    return sorted(mods)


def _home(obj, modules):
    """The module to document ``obj`` in: the public one it is defined under."""
    own = getattr(obj, "__module__", "") or ""
    under = [m for m in modules if own == m or own.startswith(m + ".")]
    return max(under, key=len) if under else modules[0]


def _write_api(out):
    """One page per public module, listing what its ``__all__`` exports.

    A class or function that several modules export is documented once, in the
    module it is defined under; the others point to it.
    """
    out.mkdir(parents=True, exist_ok=True)
    exports = {}
    for name in _public_modules():
        if name == "biofeedback":
            continue
        mod = importlib.import_module(name)
        items = [(item, getattr(mod, item)) for item in getattr(mod, "__all__", [])]
        if items:
            exports[name] = items
    where = {}
    for name, items in exports.items():
        for _, obj in items:
            if isinstance(obj, type) or callable(obj):
                where.setdefault(id(obj), []).append(name)
    for name, items in exports.items():
        title = f"``{name}``"
        lines = [title, "=" * len(title), "", f".. automodule:: {name}", ""]
        for item, obj in items:
            kind = "autoclass" if isinstance(obj, type) else (
                "autofunction" if callable(obj) else "autodata")
            if kind != "autodata":
                home = _home(obj, where[id(obj)])
                if home != name:
                    role = "class" if kind == "autoclass" else "func"
                    lines += [f"``{item}``: documented as :{role}:`{home}.{item}`.", ""]
                    continue
            lines += [f".. {kind}:: {name}.{item}"]
            if kind == "autoclass":
                lines += ["   :members:", "   :inherited-members: ", "   :exclude-members: "
                          "set_params, get_params, set_output, fit_transform, "
                          "get_metadata_routing, set_fit_request, set_transform_request, "
                          "set_score_request, set_predict_request"]
            elif kind == "autodata":
                lines += ["   :no-value:"]
            lines += [""]
        (out / f"{name}.rst").write_text("\n".join(lines), encoding="utf-8")
    index = ["API reference", "=============", "",
             "Every public module and what its ``__all__`` exports. The top-level "
             "package re-exports the most used names lazily, so ``import biofeedback`` "
             "stays light.", "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {n}" for n in exports]
    (out / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


def _write_gallery(out):
    """One page per figure script: what it shows, its figures and its code."""
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for script in sorted(HERE.glob("make_*.py")):
        text = script.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or script.stem
        title, body = f"``{script.name}``", doc
        pngs = sorted({m for m in re.findall(r"([\w-]+\.png)", text)
                       if (HERE / "img" / m).exists()})
        lines = [title, "=" * len(title), "", body.strip(), ""]
        for png in pngs:
            lines += [f".. figure:: /img/{png}", f"   :alt: {png}", "   :width: 100%", ""]
        lines += [f"Run it from the repository root: ``python docs/{script.name}``.", "",
                  f".. literalinclude:: /{script.name}", "   :language: python", ""]
        (out / f"{script.stem}.rst").write_text("\n".join(lines), encoding="utf-8")
        pages.append(script.stem)
    index = ["Gallery", "=======", "",
             "The figures of these pages and of the README are made by the scripts "
             "below, from the package itself. The docs build shows the committed "
             "figures and does not run the scripts: the session report streams a "
             "90 s session in real time and the training figures read the shared Muse "
             "data. Run a script to make its figure again.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {p}" for p in pages]
    (out / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


_write_api(HERE / "generated" / "api")
_write_gallery(HERE / "generated" / "gallery")
