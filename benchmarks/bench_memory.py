"""Memory of a long live session: does it stay flat?

A live session keeps nothing per window that grows without bound (no result
list, a fixed ring buffer, bounded queues). This runs the live code path (the
acquisition thread, the ring buffer, LSL outlets, the engine, the feedback
protocol with its cue sinks) on a source that delivers EEG faster than real
time, so two hours of data pass in a few minutes, and samples the process's
resident memory every simulated 10 minutes. The target is a growth under
1 MB per 10 minutes after the first 10 minutes (caches and compiled code
settle there). Figures are printed and written to
``benchmarks/results/memory.txt``.

Run from the repository root (nothing else of yours running)::

    python benchmarks/bench_memory.py [--hours 2] [--speed 60]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from biofeedback.hardware import get_profile
from biofeedback.stream._source import Chunk, Source


def rss_mb() -> float:
    """Resident memory of this process now (MB), from /proc."""
    with open("/proc/self/statm") as fid:
        pages = int(fid.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class FastSource(Source):
    """A real-time source whose clock runs ``speed`` times faster than the wall's."""

    realtime = True

    def __init__(self, profile, speed):
        super().__init__(profile)
        self.speed = float(speed)
        self.rng = np.random.default_rng(0)

    def _open(self):
        from biofeedback.stream._clock import lsl_clock

        self.t0 = lsl_clock()
        self.wall0 = time.monotonic()
        self.n = 0

    def _read(self, timeout):
        due = int((time.monotonic() - self.wall0) * self.speed * self.sfreq)
        if due <= self.n:
            time.sleep(min(timeout, 0.005))
            return None
        n = min(due - self.n, int(self.sfreq))  # at most a second a chunk
        t = self.t0 + (self.n + np.arange(n)) / self.sfreq
        data = self.rng.normal(0.0, 10e-6, (len(self.ch_names), n))
        self.n += n
        return Chunk(data, t)

    def _close(self):
        pass


def main():
    from _results import save_results

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=2.0)
    p.add_argument("--speed", type=float, default=60.0,
                   help="simulated seconds per wall-clock second")
    p.add_argument("--board", default="muse_2")
    args = p.parse_args()
    if not args.hours * 3600.0 >= 1200.0 + 60.0:  # memory at minutes 10 and 20, and a margin
        p.error(f"--hours {args.hours:g} is too short to measure a growth: memory is "
                "sampled every simulated 10 minutes and fitted from minute 10 on, which "
                "needs two samples; give at least 0.35.")

    from biofeedback.live import build_session  # liblsl is quieted on its first import

    source = FastSource(get_profile(args.board), args.speed)
    duration = args.hours * 3600.0
    samples = []  # (simulated minutes, RSS MB)

    class Probe:  # a lossless sink: sees every window, on the processing thread
        name = "memory_probe"
        lossless = True
        next_at = 0.0

        def open(self, info):
            self.t0 = None

        def write(self, result):
            if self.t0 is None:
                self.t0 = result.t_end
            elapsed = result.t_end - self.t0
            if elapsed >= self.next_at:
                samples.append((elapsed / 60.0, rss_mb()))
                self.next_at += 600.0

    t_wall = time.monotonic()
    session = build_session(source, duration=duration, record=False, report=False,
                            sinks=[Probe()], view="none")
    summary = session.run()
    wall = time.monotonic() - t_wall
    minutes = np.array([m for m, _ in samples])
    rss = np.array([r for _, r in samples])
    after = minutes >= 10.0
    slope = (np.polyfit(minutes[after], rss[after], 1)[0] * 10.0
             if after.sum() >= 2 else float("nan"))
    lines = [
        f"bench_memory: {args.hours:g} h of {args.board} data through the live path at "
        f"{args.speed:g}x ({wall:.0f} s wall), {summary.n_windows} windows",
        f"machine: {platform.machine()}, python {platform.python_version()} "
        "(shared 2-core machine: other work may run)",
        "simulated min  RSS MB",
        *[f"{m:13.0f}  {r:6.1f}" for m, r in samples],
        f"growth after the first 10 min: {slope:+.3f} MB per 10 min "
        f"(least squares; target < 1 MB); total {rss[-1] - rss[after][0]:+.1f} MB "
        f"from minute 10 to {minutes[-1]:.0f}",
    ]
    save_results("memory.txt", lines)


if __name__ == "__main__":
    main()
