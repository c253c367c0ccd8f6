"""The benchmark scripts the README's table names still run against the package.

They run as scripts, so nothing else imports them: a name they import from the
package that was renamed or removed is found here, not on a results day.
"""

import ast
import importlib
import os
import signal
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _package_imports(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):  # imports inside functions too
        if isinstance(node, ast.ImportFrom) and not node.level and \
                (node.module or "").split(".")[0] == "biofeedback":
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "biofeedback":
                    yield node.lineno, alias.name, None


@pytest.mark.parametrize("path", sorted(BENCHMARKS.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_the_package_exists(path):
    missing = []
    for line, module, name in _package_imports(path):
        mod = importlib.import_module(module)
        if name is not None and not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{path.name}, line {line}: from {module} import {name}")
    assert not missing, missing


def test_sigterm_benchmark_expects_the_status_of_a_session_a_signal_ended(monkeypatch):
    """`live` stopped by SIGTERM exits 128 + 15: the benchmark said every run failed."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.delitem(sys.modules, "bench_sigterm", raising=False)
    bench = importlib.import_module("bench_sigterm")
    by_signal = (128 + signal.SIGTERM) << 8  # a wait status: exit 143
    assert bench.unexpected([by_signal, by_signal]) == []
    assert bench.unexpected([by_signal, 0, 1 << 8]) == [0, 1]
    assert os.waitstatus_to_exitcode(by_signal) == bench.EXPECTED


def test_memory_benchmark_refuses_a_run_too_short_to_fit_a_growth():
    """Under 20 simulated minutes it sampled minute 10 alone and printed '+nan MB'."""
    import subprocess

    res = subprocess.run([sys.executable, str(BENCHMARKS / "bench_memory.py"), "--hours",
                          "0.2"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().endswith(
        "error: --hours 0.2 is too short to measure a growth: memory is sampled every "
        "simulated 10 minutes and fitted from minute 10 on, which needs two samples; "
        "give at least 0.35.")
    assert "Traceback" not in res.stderr and not res.stdout


@pytest.mark.parametrize("path", sorted(BENCHMARKS.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_benchmark_says_what_it_does_on_help_and_runs_nothing(path):
    """`--help` ran the whole of four benchmarks (minutes) and replaced their
    results file; two more read it as the data folder."""
    import subprocess

    results = BENCHMARKS / "results"
    before = {p.name: p.stat().st_mtime_ns for p in results.glob("*")}
    res = subprocess.run([sys.executable, str(path), "--help"], capture_output=True,
                         text=True, timeout=60, cwd=BENCHMARKS.parent)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"usage: {path.name}"), res.stdout[:200]
    assert {p.name: p.stat().st_mtime_ns for p in results.glob("*")} == before
