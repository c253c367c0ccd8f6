"""Names a package exports but imports on first use (PEP 562).

A package lists ``name -> module`` (absolute, or relative to the package) and
gets the module-level ``__getattr__`` and ``__dir__`` that load a name when it
is first read and keep it. ``import biofeedback`` and the command line's
``--help`` stay light this way: numpy, the readers and the session machinery
load only when a name that needs them is used.
"""

import importlib


def lazy_exports(namespace: dict, table: dict):
    """``(__getattr__, __dir__)`` for the package whose globals are ``namespace``.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``; a loaded name is stored there, so later
        reads do not come back here.
    table : dict of str to str
        Public name -> module defining it (``"._read"`` or ``"biofeedback.io"``).
    """
    package = namespace["__name__"]

    def __getattr__(name):
        if name in table:
            value = getattr(importlib.import_module(table[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
