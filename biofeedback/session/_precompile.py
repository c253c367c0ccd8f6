"""Compile the engine's kernels on a thread while the source connects.

The first live session after installing waits for numba to compile the
kernels its engine uses (about 2 s of CPU; :command:`biofeedback warmup`
does it once, ahead). Connecting to a board or resolving an LSL stream
mostly waits on a device or the network with the GIL released, so the
compiler runs meanwhile. Kernels compile for argument types, not for a
board: an engine of the same pipeline on the source's profile (or, if that
does not fit, on the synthetic board) compiles what the session's engine
will call (a model's own code is plain Python: the stand-in has none).
Sessions whose kernels are cached already skip all this. Anything that
goes wrong here is left for the session's own warm-up to meet and report.
"""

from __future__ import annotations

import threading

from .._logging import logger

#: Say what the wait is when compiling lasts longer than this (s).
_SAY_AFTER = 0.5


class Precompile:
    """Warm a stand-in engine on a daemon thread; :meth:`wait` joins it."""

    def __init__(self, config, profile=None):
        self._thread = threading.Thread(target=self._run, args=(config, profile),
                                        name="biofeedback-precompile", daemon=True)
        self._thread.start()

    @staticmethod
    def _run(config, profile):
        from ..engine import Engine
        from ..hardware import get_profile

        for prof in (profile, get_profile("synthetic")):
            if prof is None:
                continue
            try:
                Engine(config, prof.ch_names, prof.sfreq, prof).warm_up()
                return
            except Exception:  # noqa: BLE001 - the session's engine will say what is wrong
                logger.debug("Pre-compiling on %s did not work", prof.name, exc_info=True)

    def wait(self) -> None:
        """Return once compiled; say so if that takes a while (first run only)."""
        self._thread.join(_SAY_AFTER)
        if self._thread.is_alive():
            logger.warning("Compiling the signal-processing kernels (once after installing; "
                           "'biofeedback warmup' does it ahead)...")
            self._thread.join()
