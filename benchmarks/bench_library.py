"""The training programme's figures: indexing, rebuilding and progress over 100 sessions.

One simulated participant (the shipped ``learner`` scenario) does 100 sessions
of the default protocol (20 s baseline, two 30 s training blocks) through the
live engine and protocol in simulated time; every session is written as XDF +
sidecar and indexed, as ``biofeedback live --participant`` files it. Then:

- **indexing a session** (what ``live --participant`` adds to a session's end):
  ``StudyIndex.add_session`` on each of the 100 folders, target < 50 ms;
- **index --rebuild** of the 100 sessions in a fresh process (the command as a
  user runs it, interpreter start included), target < 10 s;
- **progress** over the 100 sessions in a fresh process, HTML report and
  ``--json``, target < 2 s.

The figures are printed and written to ``benchmarks/results/library.txt``.
Run from the repository root::

    python benchmarks/bench_library.py [--sessions 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _timed(cmd) -> tuple[float, float]:
    """(wall, CPU) seconds of a subprocess; CPU time moves less with others' load."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(out.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dt, cpu


def _cli(*args) -> tuple[float, float]:
    return _timed([sys.executable, "-m", "biofeedback.cli", *args])


def _py(code) -> tuple[float, float]:
    return _timed([sys.executable, "-c", code])


def _best(runs) -> str:
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    return f"{wall:.2f} s (CPU {cpu:.2f} s)"


def main():
    from _results import save_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from biofeedback.library import StudyIndex, simulate_sessions
    from biofeedback.library._layout import list_session_dirs

    n = args.sessions
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "study"
        t0 = time.perf_counter()
        simulate_sessions("learner", "bench", n, root=root, progress=True)
        t_sim = time.perf_counter() - t0
        folders = list_session_dirs(root)
        add = []
        with StudyIndex(root) as idx:
            for pid, num, folder in folders:
                t = time.perf_counter()
                idx.add_session(folder, pid, num)
                add.append(time.perf_counter() - t)
        add = np.array(add) * 1e3
        # what 'live --participant' adds to a session's end: index it and compare it with
        # the 100 before (a session folder copied in, as the recorder would have left it)
        import shutil

        from biofeedback.config import load_pipeline
        from biofeedback.library._live import ProgrammeSession

        ends = []
        src = folders[-1][2] / "eeg"
        for _ in range(5):
            prog = ProgrammeSession("bench", root, load_pipeline())
            for f in src.iterdir():
                shutil.copy(f, prog.paths.folder / "eeg" / f.name.replace(
                    src.parent.name, prog.paths.folder.name))
            t = time.perf_counter()
            prog.finish()
            ends.append(time.perf_counter() - t)
        ends = np.array(ends) * 1e3
        rebuild = [_cli("index", "--rebuild", "--root", str(root)) for _ in range(5)]
        html = [_cli("progress", "bench", "--root", str(root), "--out",
                     str(root / "p.html")) for _ in range(5)]
        js = [_cli("progress", "bench", "--root", str(root), "--json") for _ in range(5)]
        lib = [_py("from biofeedback.library import progress, write_progress_html; "
                   f"write_progress_html(progress('bench', {str(root)!r}), "
                   f"{str(root / 'q.html')!r})") for _ in range(5)]
        size = (root / "biofeedback.sqlite").stat().st_size
    lines = [
        f"# bench_library.py, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{platform.system()}; a shared 2-core machine, load average "
        f"{os.getloadavg()[0]:.1f} at the end (other work running: wall times are noisy)",
        f"# {n} simulated sessions of the default protocol (80 s each) by one participant; "
        "best of 5 for the commands, each in a fresh process (interpreter start included)",
        f"simulating and filing {n} sessions: {t_sim:.1f} s ({1e3 * t_sim / n:.0f} ms a session)",
        f"indexing one session (end of a live session): median {np.median(add):.1f} ms, "
        f"p95 {np.percentile(add, 95):.1f} ms, max {add.max():.1f} ms (target < 50 ms)",
        f"end of a live session with --participant (index + the comparison line, "
        f"{n} earlier sessions): median {np.median(ends):.1f} ms, max {ends.max():.1f} ms",
        f"index --rebuild of {n} sessions: {_best(rebuild)} (target < 10 s)",
        f"progress over {n} sessions, HTML report: {_best(html)} (target < 2 s)",
        f"progress over {n} sessions, --json: {_best(js)}",
        f"progress over {n} sessions, HTML report, library alone (no command line): "
        f"{_best(lib)}",
        f"index size: {size / 1024:.0f} KiB",
    ]
    save_results("library.txt", lines)


if __name__ == "__main__":
    main()
