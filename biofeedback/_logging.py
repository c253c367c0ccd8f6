"""The package logger (only the CLI attaches handlers), liblsl's log level, progress bars."""

import logging
import os
import sys

logger = logging.getLogger("biofeedback")
logger.addHandler(logging.NullHandler())

#: Where liblsl looks for its settings after the LSLAPICFG environment variable
#: (liblsl's ``api_config.cpp``): the working folder, the home folder, /etc.
#: liblsl reads them once, at its first outlet, inlet or resolve, not when
#: pylsl is imported. A file set with ``pylsl.set_config_filename`` would
#: outrank all three and ``set_config_content`` even LSLAPICFG, so the package
#: sets neither: it only names its own file when the user has none.
LSL_USER_CONFIGS = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")
_liblsl_decided = False


def quiet_liblsl(verbose: bool = False) -> bool:
    """Keep liblsl's INFO lines out of the terminal unless the user configured LSL.

    Called by :func:`biofeedback.stream._pylsl.import_pylsl`, the package's
    one way to import pylsl, before LabRecorderCLI starts, and by the command
    line (``--verbose`` keeps liblsl's lines). The first call
    decides for the process: unless LSLAPICFG is set or one of
    :data:`LSL_USER_CONFIGS` exists, LSLAPICFG names the package's
    ``_lsl_api.cfg`` (warnings and errors only), which liblsl reads at its
    first use. Returns whether it did.
    """
    global _liblsl_decided
    if _liblsl_decided:
        return False
    _liblsl_decided = True
    if verbose or "LSLAPICFG" in os.environ:
        return False
    if any(os.path.isfile(os.path.expanduser(p)) for p in LSL_USER_CONFIGS):
        return False
    os.environ["LSLAPICFG"] = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "_lsl_api.cfg")
    return True


def progress_shown() -> bool:
    """Whether progress bars show: only when stderr is a terminal."""
    return sys.stderr.isatty()


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar on stderr, shown only on a terminal (:func:`progress_shown`).

    Elsewhere (a pipe, a log, the tests) it is tqdm's disabled bar: it passes
    ``iterable`` through and its updates cost nothing. ``kwargs`` go to tqdm.
    """
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, disable=not progress_shown(), **kwargs)
