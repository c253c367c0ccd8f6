"""Where a benchmark's figures go: to stdout and to ``benchmarks/results/``.

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this folder
is on their path: ``from _results import save_results``.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def save_results(name, lines, *, echo=True) -> Path:
    """Write ``lines`` to ``benchmarks/results/<name>`` (printing them first with ``echo``).

    Scripts that print each line as it comes pass ``echo=False``.
    """
    text = "\n".join(lines) + "\n"
    if echo:
        print(text, end="", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text, encoding="utf-8")
    return path
