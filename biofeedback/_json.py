"""JSON as strict parsers read it: non-finite numbers are written as ``null``.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which
JavaScript's ``JSON.parse``, jq and most other readers refuse. Everything the
package writes as JSON goes through :func:`dumps` or :func:`dump`; files
written by older versions, with ``NaN`` in them, still read with
:func:`json.loads`, and every reader of ours takes ``null`` where a number
may be missing.
"""

from __future__ import annotations

import json
import math

__all__ = ["finite", "dumps", "dump", "loads_untrusted"]


def finite(obj):
    """A copy of ``obj`` with NaN and infinities as None.

    Dicts, lists and tuples are walked; NumPy arrays and scalars become
    lists and Python numbers (numpy is not imported here).
    """
    if isinstance(obj, float):  # numpy.float64 too
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return finite(obj.tolist())
    return obj


def dumps(obj, **kwargs) -> str:
    """:func:`json.dumps` of :func:`finite` ``(obj)``, refusing NaN as a guard."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)


def dump(obj, fid, **kwargs) -> None:
    """:func:`json.dump` of :func:`finite` ``(obj)`` to an open text file."""
    json.dump(finite(obj), fid, allow_nan=False, **kwargs)


def _unique_pairs(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the JSON key {key!r} is given twice")
        obj[key] = value
    return obj


def loads_untrusted(text):
    """:func:`json.loads` for a file someone else wrote (a model's manifest).

    A key given twice (readers disagree on which one counts) and nesting
    too deep for the parser are refused as :class:`ValueError`, like any
    other malformed JSON, rather than one silently winning or a
    :class:`RecursionError` escaping.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None
