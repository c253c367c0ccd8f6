"""Fixtures for the io tests."""

import contextlib
import os
import sys

import numpy as np
import pytest

# The lists collecting opened paths while a test listens (an audit hook stays
# for the life of the process: it is added once, and does nothing unlistened).
_LISTENING = []
_HOOKED = []


def _on_audit(event, args):
    if event == "open" and _LISTENING and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.fsdecode(args[0]))
        for target, seen in _LISTENING:
            if target == path:
                seen.append(path)


@pytest.fixture
def opens():
    """Context manager factory: ``with opens(fname) as seen:`` collects one
    entry in ``seen`` each time ``fname`` is opened inside the block (Python's
    ``open`` audit event, raised by ``open``, ``io.open`` and ``os.open``: the
    readers' own opens and MNE's alike)."""
    if not _HOOKED:
        sys.addaudithook(_on_audit)
        _HOOKED.append(True)

    @contextlib.contextmanager
    def listen(fname):
        entry = (os.path.realpath(fname), [])
        _LISTENING.append(entry)
        try:
            yield entry[1]
        finally:
            _LISTENING[:] = [e for e in _LISTENING if e is not entry]

    return listen


@pytest.fixture
def shared_io(shared_data):
    """The shared recordings (``BIOFEEDBACK_SHARED_DATA`` or ../shared/data), or skip."""
    return shared_data


@pytest.fixture
def make_recording():
    """Factory: a small Recording with markers, an estimates stream and cues."""
    from biofeedback.io import Recording, Stream

    def make(n_times=1000, sfreq=250.0, n_ch=4, t0=1000.0, gap_at=None, gap_n=0,
             seed=0):
        rng = np.random.default_rng(seed)
        data = rng.normal(0, 20e-6, (n_ch, n_times))
        ts = t0 + np.arange(n_times) / sfreq
        if gap_at is not None:
            ts[gap_at:] += gap_n / sfreq
        est_ts = np.sort(rng.uniform(ts[0], ts[-1], 37))
        est = Stream(
            name="biofeedback-Estimates", type="Estimates",
            data=np.vstack([rng.normal(size=(2, 37)), rng.integers(0, 2, 37)]),
            timestamps=est_ts, ch_names=["alpha", "engagement", "gated"], sfreq=0.0,
        )
        markers = [(float(ts[10]), "session_start"),
                   (float(ts[500]), "block_start baseline_eyes_open")]
        return Recording(
            data=data, sfreq=sfreq, ch_names=[f"C{i}" for i in range(n_ch)],
            timestamps=ts, markers=markers,
            streams={"biofeedback-Estimates": est}, source_format="simulated",
            profile="synthetic",
        )

    return make
