"""Play a recording as a real LSL outlet, in real time (run as a subprocess).

    python tests/lsl_player.py FILE.csv NAME SOURCE_ID [--pause-at S --pause-for S]
        [--duration S]

Reads a muse-lsl CSV (timestamps,TP9,AF7,AF8,TP10,Right AUX), pushes the four
EEG channels in µV with per-sample LSL timestamps, 1/32 s per chunk. With
--pause-at the outlet is destroyed for --pause-for seconds and recreated with
the same source_id (what a Bluetooth drop looks like to an LSL consumer).
Prints "ready" once the outlet exists.
"""

import argparse
import sys
import time

import numpy as np
import pylsl


def outlet(name, source_id, ch_names, sfreq):
    from biofeedback.stream import eeg_outlet  # the outlet a live session publishes

    return eeg_outlet(name, source_id, ch_names, sfreq)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("name")
    p.add_argument("source_id")
    p.add_argument("--pause-at", type=float, default=None)
    p.add_argument("--pause-for", type=float, default=0.0)
    p.add_argument("--duration", type=float, default=30.0)
    a = p.parse_args()
    data = np.loadtxt(a.file, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4))
    sfreq, chunk = 256.0, 8
    out = outlet(a.name, a.source_id, ["TP9", "AF7", "AF8", "TP10"], sfreq)
    print("ready", flush=True)
    start = pylsl.local_clock()
    pos, paused = 0, False
    while pos < len(data) and pylsl.local_clock() - start < a.duration:
        now = pylsl.local_clock()
        if a.pause_at is not None and not paused and now - start >= a.pause_at:
            del out
            time.sleep(a.pause_for)
            out = outlet(a.name, a.source_id, ["TP9", "AF7", "AF8", "TP10"], sfreq)
            paused = True
            # samples that would have come during the outage are lost
            pos += int(a.pause_for * sfreq)
            start_after = pylsl.local_clock()
            base = pos
            start = start_after - base / sfreq
        due = start + (pos + chunk) / sfreq
        wait = due - pylsl.local_clock()
        if wait > 0:
            time.sleep(wait)
        x = data[pos : pos + chunk]
        stamp = pylsl.local_clock()
        ts = stamp - (len(x) - 1 - np.arange(len(x))) / sfreq
        out.push_chunk(x.tolist(), ts.tolist())
        pos += len(x)
    time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
