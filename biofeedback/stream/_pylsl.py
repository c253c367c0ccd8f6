"""The package's one way to import pylsl: liblsl's log level decided first.

liblsl reads its settings once, at its first outlet, inlet or resolve, so
:func:`biofeedback._logging.quiet_liblsl` must have run by then. Every module
of ours that uses pylsl gets it from :func:`import_pylsl`, which makes sure it
has; importing this module imports neither pylsl nor liblsl.
"""

from .._logging import quiet_liblsl


def import_pylsl():
    """Return the ``pylsl`` module, liblsl quieted unless the user configured LSL.

    The first call of :func:`~biofeedback._logging.quiet_liblsl` decides for
    the process (the command line makes it first, with ``--verbose``); later
    calls cost a flag check.
    """
    quiet_liblsl()
    import pylsl

    return pylsl
