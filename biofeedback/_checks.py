"""Argument checking helpers, worded as MNE-Python words them."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from pathlib import Path

#: The most channels a recording may have, as table columns or as an LSL
#: stream's channels (the densest EEG caps have 512): each costs buffers and
#: checks, so 10⁵ columns in a 1 MB file took gigabytes, and liblsl sizes an
#: inlet's buffer by the channel count a stream declares.
MAX_CHANNELS = 4096

# numpy is imported inside the helpers that need it: the command line's
# --help goes through this module and must not pay for numpy
_TYPE_ALIASES = {
    "int": (numbers.Integral,),
    "numeric": (numbers.Real,),
    "path-like": (str, Path),
    "array-like": (list, tuple),  # and numpy.ndarray, added when checked
    "callable": (),
}


def _validate_type(item, types, item_name: str = "item", type_name: str | None = None):
    """Raise TypeError unless ``item`` is one of ``types``.

    ``types`` may hold classes, None, or the aliases "int", "numeric",
    "path-like", "array-like" and "callable".
    """
    if not isinstance(types, (list, tuple)):
        types = (types,)
    check = []
    names = []
    for t in types:
        if t is None:
            check.append(type(None))
            names.append("None")
        elif isinstance(t, str):
            if t == "callable":
                if callable(item):
                    return item
                names.append("callable")
                continue
            check.extend(_TYPE_ALIASES[t])
            if t == "array-like":
                import numpy as np

                check.append(np.ndarray)
            names.append(t)
        else:
            check.append(t)
            names.append(t.__name__)
    if isinstance(item, bool) and bool not in check and numbers.Integral in check:
        pass  # bools are ints to Python; accept as MNE does
    if not isinstance(item, tuple(check)):
        if type_name is None:
            type_name = (
                names[0]
                if len(names) == 1
                else ", ".join(names[:-1]) + f" or {names[-1]}"
            )
        raise TypeError(
            f"{item_name} must be an instance of {type_name}, "
            f"got {type(item)} instead."
        )
    return item


def _check_option(parameter: str, value, allowed_values: Iterable, extra: str = ""):
    """Raise ValueError unless ``value`` is one of ``allowed_values``."""
    allowed_values = list(allowed_values)
    if value in allowed_values:
        return value
    extra = f" {extra}" if extra else extra
    msg = f"Invalid value for the '{parameter}' parameter{extra}. "
    if len(allowed_values) == 1:
        options = f"The only allowed value is {allowed_values[0]!r}"
    else:
        options = "Allowed values are "
        if len(allowed_values) == 2:
            options += " and ".join(repr(v) for v in allowed_values)
        else:
            options += ", ".join(repr(v) for v in allowed_values[:-1])
            options += f", and {allowed_values[-1]!r}"
    raise ValueError(msg + options + f", but got {value!r} instead.")


def _check_positive(value, name: str):
    """Raise ValueError unless ``value`` is a finite number > 0."""
    import numpy as np

    _validate_type(value, "numeric", name)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r} instead.")
    return value


def _check_fields(obj, names, ok, rule: str):
    """Raise ValueError naming the first field of ``obj`` in ``names`` that fails ``ok``.

    The message reads ``"<name> must be <rule>, got <value>."`` (a config
    dataclass's ``_validate``; the loader adds the file and section).
    """
    for name in names:
        value = getattr(obj, name)
        if not ok(value):
            raise ValueError(f"{name} must be {rule}, got {value}.")


def _as_data(data, name: str = "data", ndim: int = 2):
    """Return ``data`` as a C-contiguous float64 array of ``ndim`` dimensions."""
    import numpy as np

    arr = np.ascontiguousarray(data, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got an array of shape {arr.shape}."
        )
    return arr


def _import_optional(module: str, extra: str, feature: str, package: str | None = None):
    """Import ``module`` or raise one sentence naming the extra that brings it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"pythonosc.udp_client"``.
    extra : str
        The optional extra of ``biofeedback`` that installs it, e.g. ``"osc"``.
    feature : str
        What needs it, as the subject of a sentence ("The OSC cue sink").
    package : str | None
        The package's name on PyPI when it differs from the module's
        ("python-osc").

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    MissingDependencyError
        If the import fails.
    """
    import importlib

    from .errors import MissingDependencyError

    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = err.name or module
        if not (module == missing or module.startswith(missing + ".")):
            raise  # installed, but something it imports is broken: show that
        package = package or module.split(".")[0]
        raise MissingDependencyError(
            f"{feature[:1].upper()}{feature[1:]} needs {package}, which is not installed: "
            f'pip install "biofeedback[{extra}]".',
            name=err.name or module,
        ) from None
