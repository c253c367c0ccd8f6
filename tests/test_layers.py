"""Layers run one way: a module never imports one of a higher layer.

Every import counts, lazy ones inside functions too, read from the source.
The map below is the one in ``docs/architecture.md``; a new module must be
given its layer here.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "biofeedback"

#: (layer, module prefixes), lowest first. The longest matching prefix wins.
LAYERS = [
    ("base", ["biofeedback", "biofeedback._checks", "biofeedback._logging", "biofeedback._svg",
              "biofeedback.errors", "biofeedback._toml", "biofeedback._data",
              "biofeedback._outputs", "biofeedback._html", "biofeedback._lazy",
              "biofeedback._threads", "biofeedback.config", "biofeedback._xdf_chunks",
              "biofeedback._json", "biofeedback._safezip", "biofeedback._markers",
              "biofeedback._stops", "biofeedback._words", "biofeedback._signals",
              # the [feedback] section's dataclasses: declarative, read by config
              "biofeedback.feedback._config"]),
    ("sources", ["biofeedback.hardware", "biofeedback.stream"]),
    ("signal", ["biofeedback._kernels", "biofeedback._iir", "biofeedback.spectral",
                "biofeedback.preprocessing",
                "biofeedback.quality", "biofeedback.features"]),
    ("engine", ["biofeedback.engine", "biofeedback.statefilter", "biofeedback.estimators",
                "biofeedback._tables"]),
    ("session", ["biofeedback.session", "biofeedback.recorder"]),
    ("outputs", ["biofeedback.feedback", "biofeedback.io", "biofeedback.training",
                 "biofeedback.simulate", "biofeedback.check"]),
    ("applications", ["biofeedback.replay", "biofeedback.live", "biofeedback.library",
                      "biofeedback.dashboard"]),
    ("cli", ["biofeedback.cli", "biofeedback.__main__"]),
]
RANK = {prefix: i for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes}
NAMES = [name for name, _ in LAYERS]


def _layer(module: str) -> int:
    if module == "biofeedback":  # the package itself; never a prefix for its modules
        return RANK[module]
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANK:
            return RANK[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS in {__file__}")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        yield ".".join(parts), (parts if is_pkg else parts[:-1]), path


def _imports(path, package_parts):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("biofeedback"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("biofeedback"):
                continue
            if node.module is None:  # from . import x: a module, or a name of the package
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    path = PACKAGE.parent.joinpath(*sub.split("."))
                    is_module = path.with_suffix(".py").exists() or path.is_dir()
                    yield node.lineno, sub if is_module else target
            else:
                yield node.lineno, target


def test_every_module_has_a_layer():
    for module, _, _ in _modules():
        _layer(module)


def test_no_module_imports_a_higher_layer():
    bad = []
    for module, package_parts, path in _modules():
        src = _layer(module)
        for lineno, target in _imports(path, package_parts):
            dst = _layer(target)
            if dst > src:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} ({NAMES[src]}) "
                           f"imports {target} ({NAMES[dst]})")
    assert not bad, "lower layers import higher ones:\n" + "\n".join(bad)


def test_the_check_sees_a_violation(tmp_path):
    """The test itself can fail: a stream module importing the engine is caught."""
    fake = tmp_path / "biofeedback" / "stream"
    fake.mkdir(parents=True)
    path = fake / "_bad.py"
    path.write_text("def f():\n    from ..engine import Engine\n")
    (target,) = [t for _, t in _imports(path, ["biofeedback", "stream"])]
    assert target == "biofeedback.engine"
    assert _layer(target) > _layer("biofeedback.stream._bad")
    with pytest.raises(AssertionError, match="has no layer"):
        _layer("biofeedback.brand_new_module")


def test_marker_kinds_are_named_from_one_module():
    """The kinds of marker the project writes are spelled once, in
    biofeedback._markers: writers and readers (the study index, the session
    report, the dashboard, loss counting, training's labels) import them, so
    a reader cannot keep a copy that drifts from what is written."""
    from biofeedback._markers import SESSION_KINDS

    kinds = [k for k in SESSION_KINDS if "_" in k]  # words no other text uses
    found = []
    for module, _, path in _modules():
        if module == "biofeedback._markers":
            continue
        tree = ast.parse(path.read_text(), str(path))
        docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docs):
                word = node.value.split(" ", 1)[0]
                if word in kinds:
                    found.append(f"{module}:{node.lineno} {node.value!r}")
    assert not found, "spelled out instead of imported from biofeedback._markers: " + \
        ", ".join(found)
