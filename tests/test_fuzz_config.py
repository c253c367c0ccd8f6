"""Mutated pipeline, scenario and board profile files: only our errors escape.

Valid shipped files are parsed, mutated as data (values of the wrong type,
missing and unknown keys, huge, negative and non-finite numbers, unicode,
deeply nested tables) or as text (truncated, duplicated keys), written back as
TOML and loaded: each either loads or raises :class:`PipelineConfigError`.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback._data import data_dir
from biofeedback._toml import load_toml
from biofeedback.config import load_pipeline
from biofeedback.errors import BiofeedbackError, PipelineConfigError
from biofeedback.features._plan import checked_pipeline
from biofeedback.hardware import get_profile
from biofeedback.simulate import read_scenario

_FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


def _toml_value(v) -> str:
    """``v`` as a TOML value (tables inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}"
                               for k, x in v.items()) + "}"
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def to_toml(data: dict) -> str:
    """``data`` as TOML text: one ``key = value`` line per top-level key."""
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _paths(data, prefix=()):
    """Every key path in ``data`` (through tables and arrays of tables)."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        out.append(prefix + (k,))
        if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
            out.extend(_paths(v, prefix + (k,)))
    return out


def _nested(depth):
    out = {"x": 1}
    for _ in range(depth):
        out = {"t": out}
    return out


_ODD = st.one_of(
    st.sampled_from([0, -1, 1, 2**63 - 1, -(2**63), 10**9, 1e308, -1e308, 1e-308,
                     math.nan, math.inf, -math.inf, True, False, "", "auto", "none",
                     "\u00e9\u03b1\u2603\U0001f600", "../../etc/passwd", "a" * 2000,
                     [], [1], [1.0, 2.0], [2.0, 1.0], ["x", "y"], [[]], {},
                     {"a": 1}, _nested(60), [{"a": 1}], [{}]]),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.floats(allow_nan=False), max_size=4),
)


@st.composite
def data_mutation(draw, paths):
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    path = draw(st.sampled_from(paths))
    return kind, path, draw(_ODD), draw(st.sampled_from(["zzz", "length", "name", "at"]))


def _mutate(data, muts):
    data = copy.deepcopy(data)
    for kind, path, value, key in muts:
        value = copy.deepcopy(value)
        parent = data
        try:
            for k in path[:-1]:
                parent = parent[k]
            if kind == "replace":
                parent[path[-1]] = value
            elif kind == "delete":
                del parent[path[-1]]
            elif isinstance(parent[path[-1]], dict):
                parent[path[-1]][key] = value
            else:
                parent[key] = value if isinstance(parent, dict) else None
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced the path
    return data


def _seeds(folder):
    return sorted(data_dir(folder).glob("*.toml"))


_LOADERS = {"pipeline": load_pipeline, "scenario": read_scenario, "profile": get_profile}
_SEEDS = ([("pipeline", p) for p in _seeds("pipelines")]
          + [("scenario", p) for p in sorted((data_dir("pipelines") / "scenarios").glob("*.toml"))]
          + [("profile", p) for p in _seeds("hardware")])


def _run(config):
    """What a command does with a pipeline it loaded: check it, run an engine."""
    from biofeedback.engine import Engine

    prof = get_profile("synthetic")
    n = int(prof.sfreq * 3)
    data = np.random.default_rng(0).normal(0, 20e-6, (len(prof.ch_names), n))
    engine = Engine(checked_pipeline(config), prof.ch_names, prof.sfreq, prof)
    engine.process_batch(data, np.arange(n) / prof.sfreq)
    config.check_baseline()


def _load(kind, fname):
    try:
        loaded = _LOADERS[kind](fname)
    except PipelineConfigError as err:
        assert str(err).strip() and "\n" not in str(err).strip(), str(err)
        return
    if kind == "pipeline":
        try:
            _run(loaded)
        except BiofeedbackError as err:
            assert "\n" not in str(err).strip(), str(err)


@pytest.mark.parametrize("kind, seed", _SEEDS, ids=[f"{k}-{p.stem}" for k, p in _SEEDS])
def test_mutated_values_raise_only_our_error(kind, seed):
    original = load_toml(seed)
    paths = _paths(original)

    @_FUZZ
    @given(muts=st.lists(data_mutation(paths), min_size=1, max_size=3))
    def check(muts):
        with tempfile.TemporaryDirectory() as tmp:
            fname = Path(tmp) / seed.name
            fname.write_text(to_toml(_mutate(original, muts)), encoding="utf-8")
            _load(kind, fname)

    check()


@st.composite
def text_mutation(draw, n_lines):
    kind = draw(st.sampled_from(["truncate", "dup", "delete", "insert", "bytes"]))
    line = draw(st.integers(0, max(n_lines - 1, 0)))
    return kind, line, draw(st.sampled_from(
        [b"", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"[window]", b"[[events]]", b"x = 1",
         b"= 1", b"a.b.c = 1", b"[feedback.osc.x]", b"'''", b'"', b"\t\r", b"1e999"])
        | st.binary(max_size=12))


def _apply_text(raw: bytes, muts) -> bytes:
    lines = raw.splitlines(keepends=True)
    for kind, line, payload in muts:
        line = min(line, len(lines))
        if kind == "truncate":
            lines = lines[:line]
        elif kind == "dup":
            lines = lines[:line + 1] + lines[line:]
        elif kind == "delete":
            lines = lines[:line] + lines[line + 1:]
        elif kind == "insert":
            lines.insert(line, payload + b"\n")
        elif lines and line < len(lines):
            lines[line] = lines[line][:len(lines[line]) // 2] + payload + b"\n"
    return b"".join(lines)


@pytest.mark.parametrize("kind, seed", _SEEDS[::3], ids=[f"{k}-{p.stem}" for k, p in _SEEDS[::3]])
def test_mutated_text_raises_only_our_error(kind, seed):
    original = seed.read_bytes()

    @_FUZZ
    @given(muts=st.lists(text_mutation(original.count(b"\n")), min_size=1, max_size=3))
    def check(muts):
        with tempfile.TemporaryDirectory() as tmp:
            fname = Path(tmp) / seed.name
            fname.write_bytes(_apply_text(original, muts))
            _load(kind, fname)

    check()


_BAD = {
    "empty": "",
    "wrong types": '[window]\nlength = "long"\n',
    "nan": "duration = nan\n[window]\nhop = nan\n",
    "nested": "[a.b.c.d.e.f.g.h]\nx = 1\n",
    "duplicate key": "[window]\nlength = 2.0\nlength = 3.0\n",
    "not utf-8": "name = \"\xff\"\n",
}


@pytest.mark.parametrize("case", list(_BAD))
@pytest.mark.parametrize("command", ["simulate", "replay", "live-board"])
def test_cli_says_one_sentence(tmp_path, capsys, command, case):
    from biofeedback.cli import main

    if command == "replay" and case == "empty":
        pytest.skip("an empty pipeline is the default one (every key is optional)")
    fname = tmp_path / "bad.toml"
    fname.write_bytes(_BAD[case].encode("latin-1"))
    argv = {"simulate": ["simulate", str(fname)],
            "replay": ["replay", str(data_dir("recordings") / "sample_synthetic.xdf"),
                       "--pipeline", str(fname)],
            "live-board": ["live", "--board", str(fname), "--duration", "1"]}[command]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("biofeedback: error: ") and "\n" not in err, err
    assert str(fname) in err
