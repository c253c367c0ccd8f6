"""A job on one background thread whose exception reaches the caller.

The house rule for threads: an exception in the thread is stored and
re-raised to the caller on its next call, never only logged.
"""


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
