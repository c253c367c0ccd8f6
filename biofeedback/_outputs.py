"""Output files: written beside their place, moved into it only on success.

A command that fails half-way (bad input, a crash, Ctrl-C) must never leave a
truncated file where a good one was, nor replace a file the user did not ask
to replace. Every output goes to a temporary file in the destination folder
(so the final move is an atomic rename on the same file system) and is
renamed over the destination only when the work has succeeded.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from ._signals import signals_after
from .errors import BiofeedbackError

__all__ = ["OutputExistsError", "check_output", "atomic_output", "PendingOutput"]


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask (read once: reading it means setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputExistsError(BiofeedbackError, FileExistsError):
    """An output file exists and replacing it was not asked for."""


def check_output(fname, overwrite: bool, option: str = "--overwrite") -> Path:
    """Refuse an existing ``fname`` unless ``overwrite``; return it as a Path.

    Raises
    ------
    OutputExistsError
        Naming the file and the option that allows replacing it.
    BiofeedbackError
        When its folder does not take new files (read-only, not a folder).
    """
    fname = Path(fname)
    if fname.is_dir():
        raise OutputExistsError(f"{fname} is a folder; name a file to write.")
    if fname.exists() and not overwrite:
        raise OutputExistsError(f"{fname} exists; pass {option} to replace it.")
    _check_folder(fname)
    return fname


def _check_folder(fname: Path) -> None:
    """Say now, before any work, that ``fname`` cannot be written there.

    The output is written beside its place first, so its folder (or, when
    that does not exist yet, the folder it would be made in) must take a new
    file. Probed with a file that is removed at once; nothing is created.
    """
    folder = fname.parent.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, "not a folder")
        with signals_after():  # Ctrl-C as mkstemp returned left the probe behind
            fd, probe = tempfile.mkstemp(prefix=f".{fname.name}.", suffix=".part", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        raise BiofeedbackError(
            f"{fname} cannot be written: {folder} does not take new files "
            f"({err.strerror or err}); choose another place for it.") from None


class PendingOutput:
    """A temporary file that becomes ``fname`` on :meth:`commit`.

    Parameters
    ----------
    fname : path-like
        The destination.

    Attributes
    ----------
    tmp : Path
        Where to write meanwhile (same folder, hidden name ending ``.part``).
    """

    def __init__(self, fname):
        self.fname = Path(fname)
        self.fname.parent.mkdir(parents=True, exist_ok=True)
        self.done = False
        self.tmp = None
        try:
            # a signal waits until the file is named here: Ctrl-C as mkstemp
            # returned left a .part file nothing would delete
            with signals_after():
                fd, tmp = tempfile.mkstemp(prefix=f".{self.fname.name}.", suffix=".part",
                                           dir=self.fname.parent)
                self.tmp = Path(tmp)
                os.close(fd)
        except BaseException:
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)
            raise

    def commit(self) -> Path:
        """Move the finished file into place (atomic rename).

        The file gets the permissions a plain ``open(fname, "w")`` would give
        (0666 less the umask), not ``mkstemp``'s owner-only 0600.
        """
        if not self.done:
            with contextlib.suppress(OSError):
                os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.fname)
            self.done = True
        return self.fname

    def discard(self) -> None:
        """Delete the temporary file; the destination is left as it was."""
        if not self.done:
            self.tmp.unlink(missing_ok=True)
            self.done = True


@contextlib.contextmanager
def atomic_output(fname):
    """Context manager giving a temporary path, moved to ``fname`` on success.

    Examples
    --------
    >>> with atomic_output("estimates.csv") as tmp:
    ...     tmp.write_text("t_end,engagement\\n")
    """
    pending = None
    try:
        with signals_after():  # Ctrl-C as it returned left its .part behind
            pending = PendingOutput(fname)
        yield pending.tmp
        pending.commit()  # a move that fails (a folder in the way) leaves no .part
    except BaseException:
        if pending is not None:
            pending.discard()
        raise
