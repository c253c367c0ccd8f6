"""Shared fixtures: the shared data folder, EEG with known content, LSL helpers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]

# One thread per BLAS and OpenMP pool in the test processes, as the command line
# runs BLAS: the suite's two workers share the CPUs, and an OpenMP pool that
# spins waiting for a busy core made one small HGB fit take 30 s instead of 2 s.
# The variables reach pools loaded later (scikit-learn's OpenMP) and the tests'
# subprocesses; numpy's BLAS is already loaded here, so it is limited in place.
# A number the user set wins.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
if not any(var in os.environ for var in _THREAD_VARS):
    for _var in _THREAD_VARS:
        os.environ[_var] = "1"
    threadpool_limits(1)
SHARED_DATA = Path(os.environ.get("BIOFEEDBACK_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config):
    """Once per run, before the workers start: compile the numba kernels into
    their caches, as `biofeedback warmup` after installing does.

    On a fresh installation (CI) both workers, and the commands the tests
    start, otherwise compiled the same kernels side by side: about 50 s of
    the suite's wall time on 2 cores (398 s with an empty cache, 347 s with a
    warm one). Both copies a test may import are warmed at once: the
    checkout's (from the repository's folder) and the installed one (from
    any other); with an editable install they are one.
    """
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did it
        return
    import subprocess
    import sys
    import tempfile

    cmd = [sys.executable, "-m", "biofeedback", "warmup", "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for cwd in (REPO, tempfile.gettempdir())]
    for proc in procs:  # a copy that cannot warm up compiles in the tests instead
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# The rest's longest modules, measured serially (seconds): run first among the
# rest, so that modules of a second or two end the run, whichever worker takes them.
LONGEST_OF_THE_REST = (
    "tests/library/test_library.py",  # 29
    "tests/cli/test_cli.py",  # 16
    "tests/test_fuzz_inputs.py",  # 14
    "tests/io/test_formats.py",  # 8
    "tests/io/test_large.py",  # 4
    "tests/test_engine.py",  # 4
)


def pytest_collection_modifyitems(config, items):
    """The modules with real-time LSL tests (marker ``lsl``) run first, then
    those of ``tests/training`` (model fits), then the rest, the longest of
    them (:data:`LONGEST_OF_THE_REST`) first.

    The real-time modules are the suite's longest (live sessions wait on the
    clock), and the training ones the longest CPU-bound ones, so with two
    ``pytest-xdist`` workers (``--dist loadfile``, taking modules in this
    order) the short modules come last and fill in at the end instead of one
    worker still fitting models while the other is idle. Among the rest, a
    15-30 s module taken last (the order was the paths') kept one worker
    busy that long after the other ran out of modules. A module runs whole
    on one worker, so its module-scoped fixtures are made once.
    """
    realtime = {item.path for item in items if item.get_closest_marker("lsl")}
    longest = {REPO / name: k for k, name in enumerate(LONGEST_OF_THE_REST)}
    items.sort(key=lambda item: (item.path not in realtime,  # stable
                                 "training" not in item.path.parent.parts,
                                 longest.get(item.path, len(longest))))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repo, or skip with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared recordings not found at {SHARED_DATA} (they are never copied "
                    "into the repo; set BIOFEEDBACK_SHARED_DATA to their folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def muse_dir(shared_data) -> Path:
    path = shared_data / "muse-mental-state"
    if not path.is_dir():
        pytest.skip(f"Muse recordings not found at {path}")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def make_eeg():
    """Factory: EEG in volts with a known alpha peak on 1/f-ish noise (it keeps no
    state, so fixtures of any scope may use it).

    ``make_eeg(n_channels=4, sfreq=256, duration=10, alpha_hz=10, alpha_uv=20,
    noise_uv=5, offset_uv=0, seed=0)`` returns (data, timestamps).
    """

    def _make(n_channels=4, sfreq=256.0, duration=10.0, alpha_hz=10.0, alpha_uv=20.0,
              noise_uv=5.0, offset_uv=0.0, seed=0, t0=1000.0):
        rng = np.random.default_rng(seed)
        n = int(round(duration * sfreq))
        t = np.arange(n) / sfreq
        noise = np.cumsum(rng.standard_normal((n_channels, n)), axis=1)
        noise -= noise.mean(axis=1, keepdims=True)
        noise *= noise_uv / max(noise.std(), 1e-12)
        white = rng.standard_normal((n_channels, n)) * noise_uv
        phase = rng.uniform(0, 2 * np.pi, (n_channels, 1))
        alpha = alpha_uv * np.sin(2 * np.pi * alpha_hz * t + phase)
        data = (noise * 0.2 + white + alpha + offset_uv) * 1e-6
        return np.ascontiguousarray(data), t0 + t

    return _make


@pytest.fixture
def uid():
    """A unique suffix for LSL stream names and source ids."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def ctrl_c():
    """``ctrl_c()`` presses Ctrl-C, from any thread, as a terminal delivers it.

    A Python started with SIGINT ignored (a background job of a shell without
    job control, as some CI runners start the suite) never installs its own
    handler, and ``_thread.interrupt_main`` then does nothing: Python's handler
    is installed for the test, and the one before put back. A press after the
    test ended (a watcher thread that timed out) is dropped, never reaching
    another test.
    """
    import _thread
    import signal
    import threading

    lock, live = threading.Lock(), [True]

    def press():
        with lock:
            if live[0]:
                _thread.interrupt_main()

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield press
    finally:
        with lock:
            live[0] = False
        signal.signal(signal.SIGINT, before)


@pytest.fixture
def default_stop_signals():
    """SIGTERM and SIGHUP at their defaults for the test, as a terminal's
    process (and the commands it starts) has them.

    The session installs its handlers only over the defaults, and a runner
    started with nohup ignores SIGHUP, as do the commands it starts.
    """
    import signal

    from biofeedback._signals import STOP_SIGNALS, handlers_restored

    with handlers_restored({sig: signal.signal(sig, signal.SIG_DFL) for sig in STOP_SIGNALS}):
        yield


@pytest.fixture
def signal_once_there():
    """``signal_once_there(proc, path, sig, timeout)``: wait until ``path`` exists
    (the command reached that point), send ``sig`` by name, and return the
    command's ``(stdout, stderr)``; the command is never left running."""
    import signal
    import time

    def run(proc, path, sig, timeout=60):
        try:
            deadline = time.monotonic() + 60
            while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.002)
            assert path.exists(), proc.communicate()
            proc.send_signal(getattr(signal, sig))
            return proc.communicate(timeout=timeout)
        finally:
            proc.kill()  # gone already when all went well
            proc.wait()

    return run


@pytest.fixture(scope="session")
def collect_sink_class():
    """The class of :func:`collect_sink`, for fixtures of a wider scope."""
    from biofeedback.feedback import Sink

    class Collect(Sink):
        name = "collect"
        lossless = True

        def __init__(self):
            self.results, self.events = [], []

        def write(self, r):
            self.results.append(r)

        def event(self, kind, timestamp, text=""):
            self.events.append(text)

    return Collect


@pytest.fixture
def collect_sink(collect_sink_class):
    """A lossless sink that keeps every window result and event text."""
    return collect_sink_class()


@pytest.fixture
def collect_until_back(collect_sink_class):
    """A :func:`collect_sink` that ends its ``session`` (set it before the run)
    once three windows ended after the stream came back from a gap: a test of a
    stream's return waits for that, not for a duration long enough on a loaded
    machine (the duration still ends a session whose stream never returns)."""

    class CollectUntilBack(collect_sink_class):
        session, back = None, None

        def event(self, kind, timestamp, text=""):
            super().event(kind, timestamp, text)
            if text.startswith("gap_end"):
                self.back = timestamp

        def write(self, r):
            super().write(r)
            if self.back is not None and sum(x.t_end > self.back for x in self.results) >= 3:
                self.session.stop()

    return CollectUntilBack()
