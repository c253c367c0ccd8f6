"""Start-up: what each command costs before and around its work, whole process.

Every figure is a whole process (interpreter start, imports, work), best of
``--repeat`` after one untimed run, CPU (user + system, the steadier figure
on a shared machine) beside wall time:

- ``biofeedback --help`` and ``biofeedback boards``;
- ``biofeedback replay`` of the shipped 30 s sample recording (warm cache);
- raw Muse files (../shared/data/muse-mental-state) to a saved model with
  its HTML report: ``biofeedback train --cv none``;
- the first live session after installing: ``biofeedback live`` on the
  synthetic board with an empty numba cache (``NUMBA_CACHE_DIR`` pointed at a
  fresh folder), timed until the engine is warmed up and ready for the first
  sample (the session's "Engine warm-up took" line); the same with the
  cache filled (warm start); and ``biofeedback warmup`` on an empty cache,
  the step the README's install line runs;
- which kernels the default live engine compiles on a first run, and the
  CPU each one's first call takes.

Run: python benchmarks/bench_startup.py [--repeat 5] [--source DIR]
(``--source`` times another checkout, e.g. an older commit unpacked with
``git archive``). Figures go to stdout and benchmarks/results/startup.txt,
with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUSE = REPO.parent / "shared" / "data" / "muse-mental-state"
_TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _time(cmd, env, repeat, cwd):
    """Best (wall, CPU) of ``cmd`` over ``repeat`` runs after an untimed one."""
    run = dict(cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = subprocess.run(cmd, **run)
    if first.returncode:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{first.stderr}")
    best_w = best_c = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run(cmd, check=True, **run)
        best_w = min(best_w, time.perf_counter() - w0)
        best_c = min(best_c, _children_cpu() - c0)
    return best_w, best_c


def _proc_cpu(pid):
    """CPU seconds (user + system) a running process has used so far (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _live_ready(cmd, env, cwd):
    """(wall, CPU) from process start until the live engine is warmed up."""
    w0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ready = None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if ready is None and "warm-up took" in line:
            ready = (time.perf_counter() - w0, _proc_cpu(proc.pid))
    proc.wait()
    if proc.returncode or ready is None:
        sys.exit(f"{' '.join(cmd)} failed:\n{''.join(lines[-20:])}")
    return ready


# What the default live engine compiles on a first run: each kernel's first
# call (numba compiles it there) timed in CPU seconds, in a fresh process.
_KERNELS_PROBE = r"""
import time
from numba.core.dispatcher import Dispatcher
compile_first = Dispatcher._compile_for_args
def timed(self, *args, **kws):
    c0 = time.process_time()
    out = compile_first(self, *args, **kws)
    print(f"{self.py_func.__module__}.{self.py_func.__name__} "
          f"{time.process_time() - c0:.2f} {len(self.signatures)}")
    return out
Dispatcher._compile_for_args = timed
from biofeedback.config import load_pipeline
from biofeedback.engine import Engine
from biofeedback.hardware import get_profile
profile = get_profile("synthetic")
Engine(load_pipeline(), profile.ch_names, profile.sfreq, profile).warm_up()
"""


def _fmt(wall, cpu):
    return f"{cpu:6.2f} s CPU, {wall:6.2f} s wall"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compile-repeat", type=int, default=2,
                        help="first-run measures, each with its own empty cache")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="checkout to time (default: this one)")
    args = parser.parse_args(argv)
    src = args.source.resolve()
    env = dict(os.environ, PYTHONPATH=str(src))
    # as an installed package runs: with its bytecode (pip compiles it); the
    # untimed first run of each command writes what is missing
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = [sys.executable, "-m", "biofeedback.cli"]
    lines = [f"# python benchmarks/bench_startup.py --repeat {args.repeat}"
             + (f" --source {src}" if src != REPO else ""),
             f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
             f"on {os.cpu_count()} cores"]

    def row(label, wall, cpu, target=""):
        lines.append(f"{label:44s} {_fmt(wall, cpu)}   {target}")
        print(lines[-1], flush=True)

    print("\n".join(lines), flush=True)
    row("biofeedback --help", *_time([*cli, "--help"], env, args.repeat, src),
        "(target < 0.3 s)")
    row("biofeedback boards", *_time([*cli, "boards"], env, args.repeat, src),
        "(target < 0.3 s)")
    sample = REPO / "recordings" / "sample_synthetic.xdf"
    row("replay of the 30 s sample recording",
        *_time([*cli, "replay", str(sample)], env, args.repeat, src), "(target < 1 s)")
    with tempfile.TemporaryDirectory() as tmp:
        if MUSE.is_dir():
            files = sorted(map(str, MUSE.glob("*.csv")))
            cmd = [*cli, "train", *files, "--out", f"{tmp}/m.bfm", "--quiet", "--cv", "none"]
            row(f"raw Muse files to a saved model ({len(files)})",
                *_time(cmd, env, args.repeat, src), "(target < 1.5 s; with its HTML report)")
        live = [*cli, "--verbose", "live", "--duration", "2", "--no-record", "--view", "none"]
        first = []
        for i in range(args.compile_repeat):
            fresh = dict(env, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-{i}")
            first.append(_live_ready(live, fresh, tmp))
        row("first live session, empty cache: ready",
            min(w for w, _ in first), min(c for _, c in first), "(target < 3 s)")
        warm = dict(env, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-0")
        ready = [_live_ready(live, warm, tmp) for _ in range(args.repeat)]
        row("live session, warm cache: ready",
            min(w for w, _ in ready), min(c for _, c in ready))
        fresh = dict(env, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-warmup")
        w0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run([*cli, "warmup", "--quiet"], env=fresh, cwd=tmp, check=True)
        row("biofeedback warmup, empty cache (all kernels)",
            time.perf_counter() - w0, _children_cpu() - c0, "(once, after installing)")
        fresh = dict(env, NUMBA_CACHE_DIR=f"{tmp}/numba-cache-kernels")
        res = subprocess.run([sys.executable, "-c", _KERNELS_PROBE], env=fresh, cwd=tmp,
                             capture_output=True, text=True, check=True)
        kernels = ["kernels the default live engine compiles on a first run "
                   "(CPU s of the first call, signatures):"]
        for ln in res.stdout.splitlines():
            name, cpu, n_sig = ln.split()
            kernels.append(f"  {name:48s} {float(cpu):5.2f} s  {n_sig}")
        lines.extend(kernels)
        print("\n".join(kernels), flush=True)
    lines.append(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(lines[-1])
    if src == REPO:
        (REPO / "benchmarks" / "results" / "startup.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
