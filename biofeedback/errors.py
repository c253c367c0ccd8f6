"""Domain errors of biofeedback.

Every failure a user can cause or meet (a missing headset, a malformed file, a
typo in a pipeline) is one of these. The CLI turns them into one sentence and a
non-zero exit; ``--verbose`` shows the traceback.
"""

from __future__ import annotations

__all__ = [
    "BiofeedbackError",
    "HardwareError",
    "StreamError",
    "RecordingFormatError",
    "PipelineConfigError",
    "ModelError",
    "MissingDependencyError",
]


class BiofeedbackError(Exception):
    """Base class of every error this package raises on purpose."""


class HardwareError(BiofeedbackError):
    """A board could not be prepared, started or read.

    Parameters
    ----------
    message : str
        One sentence naming the problem.
    exit_code : int | None
        BrainFlow's exit code, when BrainFlow raised it.
    """

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.exit_code = exit_code


class StreamError(BiofeedbackError):
    """An LSL stream could not be found, or was lost for good."""


class RecordingFormatError(BiofeedbackError):
    """A recording file could not be read.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    fname : str | os.PathLike | None
        The file.
    line : int | None
        1-based line (text formats) where the problem was found.
    """

    def __init__(self, message: str, fname=None, line: int | None = None):
        self.fname = None if fname is None else str(fname)
        self.line = line
        where = ""
        if self.fname is not None:
            where = f"{self.fname}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(f"{where}{message}")


class PipelineConfigError(BiofeedbackError, ValueError):
    """A pipeline, scenario or profile file is invalid.

    The message names the file and the field (or node) at fault. It is also a
    ``ValueError``: an invalid value, as Python code expects one.
    """


class ModelError(BiofeedbackError):
    """A model file is unreadable, untrusted or does not fit the data."""


class MissingDependencyError(BiofeedbackError, ImportError):
    """An optional dependency is not installed.

    The message names the ``pip install "biofeedback[EXTRA]"`` that brings it.
    It is also an :class:`ImportError`, so code that expects one still works.

    Parameters
    ----------
    message : str
        One sentence naming the feature, the package and the extra.
    name : str | None
        The module that could not be imported.
    """

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message, name=name)
