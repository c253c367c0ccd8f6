"""End-to-end cue latency over a real LSL stream on loopback.

A player subprocess opens a real pylsl outlet (4 EEG channels at 256 Hz, a
Muse's layout) and pushes synthetic EEG in real time, 8 samples per chunk,
each sample stamped with the LSL time it is due. ``LSLSource`` reads it, a
:class:`~biofeedback.session.Session` runs the default pipeline with a short
protocol (10 s baseline, two 15 s training blocks) and the protocol sink.

Cue latency is ``pylsl.local_clock()`` when a cue is pushed to the Cues
outlet (after the OSC message, if any, has been sent) minus the LSL timestamp
of the newest sample of its window: what the feedback adds beyond the window
length (transport, acquisition thread, filters, features, policy). The
targets are p50 < 5 ms and p99 < 20 ms. The figures are printed and written
to ``benchmarks/results/latency.txt``.

Run from the repository root::

    python benchmarks/bench_latency.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SFREQ = 256.0
CHUNK = int(__import__("os").environ.get("BENCH_CHUNK", "8"))
CH = ["TP9", "AF7", "AF8", "TP10"]


def player(name, seconds):
    """Push synthetic EEG (µV) in real time; alpha and beta drift slowly."""
    import pylsl

    from biofeedback.stream import eeg_outlet

    out = eeg_outlet(name, name, CH, SFREQ)  # pushed CHUNK samples at a time below
    rng = np.random.default_rng(0)
    print("ready", flush=True)
    start = pylsl.local_clock() + 0.5
    n = 0
    while n < seconds * SFREQ:
        t = (n + np.arange(CHUNK)) / SFREQ
        alpha = 15 * (1 + 0.5 * np.sin(2 * np.pi * t / 20))
        beta = 5 * (1 + 0.5 * np.cos(2 * np.pi * t / 13))
        data = (alpha * np.sin(2 * np.pi * 10 * t) + beta * np.sin(2 * np.pi * 20 * t)
                + 5 * rng.standard_normal((len(CH), CHUNK)))
        stamps = start + t
        wait = stamps[-1] - pylsl.local_clock()
        if wait > 0:
            pylsl.local_clock  # noqa: B018
            import time

            time.sleep(wait)
        out.push_chunk(np.ascontiguousarray(data.T).tolist(), stamps.tolist())
        n += CHUNK


def main():
    from _results import save_results

    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--player", metavar="NAME")
    args = p.parse_args()
    if args.player:
        player(args.player, args.seconds + 10)
        return

    from biofeedback.config import load_pipeline
    from biofeedback.feedback._config import BlockConfig
    from biofeedback.feedback._protocol_sink import ProtocolSink
    from biofeedback.session import Session
    from biofeedback.stream import LSLSource

    name = f"bench-latency-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, __file__, "--player", name, "--seconds",
                             str(args.seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        config = load_pipeline()
        blocks = (BlockConfig("baseline", "baseline", 10.0),
                  BlockConfig("training_1", "training", 15.0),
                  BlockConfig("training_2", "training", 15.0))
        fb = replace(config.feedback, blocks=blocks, end="continue", sinks=("lsl",))
        config = replace(config, feedback=fb)
        sink = ProtocolSink(fb, [], lsl=True, terminal=False)
        source = LSLSource(name, timeout=10)
        session = Session(source, config, [sink], record=False, duration=args.seconds,
                          name=name)
        summary = session.run()
    finally:
        proc.kill()
        proc.wait()
    lat = sink.latency_ms()
    est = summary.latency_ms
    lines = [
        f"# bench_latency: {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()}",
        f"# a pylsl outlet on loopback (subprocess) streams 4 ch at {SFREQ:g} Hz, "
        f"{CHUNK} samples per chunk, for {summary.duration:.0f} s; default pipeline "
        f"(2 s windows, 0.5 s hop), protocol 10 s baseline + 2 x 15 s training",
        "# added latency = time the cue is emitted - LSL timestamp of the window's "
        "newest sample (window length not counted); target p50 < 5 ms, p99 < 20 ms",
        f"cue latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms (n={lat['n']})",
        f"estimate latency: p50 {est['p50']:.1f} ms, p99 {est['p99']:.1f} ms (n={est['n']})",
        f"max cue latency: {lat['max']:.1f} ms; windows {summary.n_windows} "
        f"({summary.n_gated} gated), {summary.n_dropped} samples dropped",
    ]
    save_results("latency.txt", lines)


if __name__ == "__main__":
    main()
