"""How soon an LSL source hands on samples that have arrived (real outlets on loopback)."""

import threading
import time
import uuid

import numpy as np
import pytest

from biofeedback.stream import LSLSource

pytestmark = pytest.mark.lsl


def test_the_first_read_does_not_wait_for_the_clock_offset():
    """The first pull with clock synchronisation waited for liblsl's first
    clock offset, about 0.65 s of probes: a session's first windows after its
    recorder started came that late (the summary's p99 latency 0.4 s)."""
    import pylsl

    name = f"qa-first-{uuid.uuid4().hex[:10]}"
    out = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 2, 250.0, "float32", name))
    stop = threading.Event()

    def push():
        while not stop.is_set():
            out.push_chunk(np.zeros((5, 2)).tolist(),
                           (pylsl.local_clock() - np.arange(4, -1, -1) / 250.0).tolist())
            time.sleep(0.02)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        with LSLSource(name, timeout=5) as src:
            # samples wait in the inlet while the session starts (the engine
            # warms up, the recorder starts: a second or more)
            time.sleep(1.0)
            t0 = time.monotonic()
            chunk = None
            while chunk is None and time.monotonic() - t0 < 5:
                chunk = src.read(0.05)
            took = time.monotonic() - t0
    finally:
        stop.set()
        pusher.join()
    assert chunk is not None and took < 0.3, f"the first read took {took:.2f} s"
