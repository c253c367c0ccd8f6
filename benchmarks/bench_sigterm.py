"""Stopping a live session: the time from SIGTERM to the process's end.

``biofeedback live`` on the synthetic board, recording, is sent SIGTERM
after ``--after`` seconds of recording (what a service manager does to stop
it); measured per run, wall clock and the process's CPU (user + system)
from the signal to its exit (the steadier figure on a shared machine), and
when the recording was closed with footers and LabRecorderCLI gone.

Run from the repository root: python benchmarks/bench_sigterm.py [--runs 5]
Figures are printed and written to ``benchmarks/results/sigterm.txt``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import save_results

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _closed(xdf) -> bool:
    from biofeedback.io._xdf import scan_chunks

    alive = subprocess.run(["pgrep", "-f", str(xdf)], capture_output=True, text=True)
    counts = scan_chunks(xdf)[3]
    return not alive.stdout.split() and \
        counts.get("StreamFooter", 0) == counts.get("StreamHeader", -1)


def run_once(after: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-sigterm-"))
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "live", "--duration",
                             "120", "--recordings", str(folder), "--view", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    end = time.monotonic() + 120
    while not list(folder.glob("*.json")) and time.monotonic() < end:
        time.sleep(0.05)
    (side,) = folder.glob("*.json")
    time.sleep(after)
    cpu0 = _cpu(proc.pid)
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    closed = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if closed is None and _closed(side.with_suffix(".xdf")):
            closed = time.monotonic() - t0
        time.sleep(0.01)
    wall = time.monotonic() - t0
    proc.stdout.read()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime - cpu0,
            "closed": wall if closed is None else closed, "status": status}


#: The exit status of a session SIGTERM stopped: the shell's 128 + the signal's number.
EXPECTED = 128 + signal.SIGTERM


def unexpected(statuses) -> list:
    """The exit statuses (from ``os.wait4``'s wait statuses) other than :data:`EXPECTED`."""
    codes = [os.waitstatus_to_exitcode(s) for s in statuses]
    return [c for c in codes if c != EXPECTED]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--after", type=float, default=3.0,
                        help="seconds of recording before the signal (default: 3)")
    args = parser.parse_args(argv)
    runs = [run_once(args.after) for _ in range(args.runs)]
    load = os.getloadavg()[0]
    lines = [f"SIGTERM to `biofeedback live` (synthetic, recording) after {args.after:g} s, "
             f"{len(runs)} runs; {platform.platform()}, {os.cpu_count()} CPUs, "
             f"load average {load:.1f}"]
    for key, what in (("closed", "recording closed, LabRecorderCLI gone (wall)"),
                      ("wall", "process exit (wall)"), ("cpu", "process CPU after the signal")):
        vals = sorted(r[key] for r in runs)
        lines.append(f"{what}: {vals[0]:.2f}-{vals[-1]:.2f} s "
                     f"(median {vals[len(vals) // 2]:.2f} s)")
    bad = unexpected(r["status"] for r in runs)
    if bad:
        lines.append(f"unexpected exit statuses (128 + SIGTERM = {EXPECTED}): {bad}")
    save_results("sigterm.txt", lines)


if __name__ == "__main__":
    main()
