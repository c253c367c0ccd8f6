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


def parse_args(doc, argv=None, data=None):
    """``--help`` for a benchmark without options of its own: its docstring's
    first paragraph, and (``data``: the default) the data folder it may be given.

    Returns the data folder, or None when the benchmark takes none.
    """
    import argparse

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    if data is not None:
        p.add_argument("data", nargs="?", type=Path, default=data,
                       help=f"the muse-mental-state folder (default: {data})")
    args = p.parse_args(argv)
    if data is not None and not args.data.is_dir():
        p.error(f"{args.data} is not a folder; name the muse-mental-state folder")
    return None if data is None else args.data
