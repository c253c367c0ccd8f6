"""Threads: a background job whose exception reaches the caller, and BLAS's threads.

The house rule for threads: an exception in the thread is stored and
re-raised to the caller on its next call, never only logged.
"""

import contextlib
import os

#: The variables BLAS reads its thread count from when it loads.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# One BLAS thread for our numeric work, one policy, two moments to apply it.
# The engine's matrix products are small (a window's Welch segments times the
# basis): a second thread cannot speed them up, it only hands work over, and
# when the other core is busy that handoff waits for a scheduler timeslice
# (live: p99 hop 19 ms -> 0.6 ms; the 30 s sample replay: 1.21 s -> 0.88 s of
# CPU). A number the user set wins. The command line decides before numpy
# loads BLAS (one_blas_thread_by_default: the variables, which also reach the
# processes it starts); a session decides for library users, whose BLAS is
# loaded by then (one_blas_thread: threadpoolctl, restored afterwards). Where
# the variables are set, by the user or the command line, BLAS has started
# with their number and a session leaves it alone: never two settings at once.


def one_blas_thread_by_default() -> None:
    """Set one BLAS thread for BLAS to read when it loads, unless the user set a number."""
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with one BLAS thread unless the thread count is set already.

    Set already: by the user, or by :func:`one_blas_thread_by_default` before
    BLAS loaded; then nothing changes.
    """
    if any(var in os.environ for var in BLAS_THREAD_VARS):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class BackgroundJob:
    """Mixin for objects that run one job on ``self._thread``.

    The job stores what stopped it in ``self._error``; :meth:`_raise` re-raises
    it (once) on the caller's thread, and :attr:`running` tells whether the
    thread is still alive.
    """

    _thread = None
    _error: BaseException | None = None

    @property
    def running(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _raise(self) -> None:
        """Re-raise (once) the exception that stopped the thread, if any."""
        if self._error is not None:
            err, self._error = self._error, None
            raise err
