"""The default estimators as plain arrays and a JSON manifest, without skops.

The classifiers training makes by default (``lda``: a
:class:`~sklearn.pipeline.Pipeline` of
:class:`~biofeedback.estimators.ChannelBalancedMean`,
:class:`~sklearn.preprocessing.StandardScaler` and shrinkage
:class:`~sklearn.discriminant_analysis.LinearDiscriminantAnalysis`; and
``lda-channels``, the same without the first step) are stored as

- ``estimator.json``: the tree of estimators, each named by one of the
  :data:`KNOWN_TYPES`, with its attributes: JSON values, or references to
- ``estimator.npz``: the fitted arrays (numbers or text only), read with
  ``allow_pickle=False``.

Loading rebuilds each estimator from the closed list of :data:`KNOWN_TYPES`
(imported from this module's list, never from a name in the file) and sets
its attributes, so nothing in a file can run code: no pickle, no import of a
name the file chooses. Importing skops (and through its trusted-type list all
of scikit-learn, about half a second) is left to the other classifiers.
"""

from __future__ import annotations

import io
import re
import sys

import numpy as np

from .. import _json

#: Types this module stores, by the name files give them, and where each lives.
KNOWN_TYPES = {
    "sklearn.pipeline.Pipeline": ("sklearn.pipeline", "Pipeline"),
    "sklearn.preprocessing.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.discriminant_analysis.LinearDiscriminantAnalysis": (
        "sklearn.discriminant_analysis", "LinearDiscriminantAnalysis"),
    "biofeedback.estimators.ChannelBalancedMean": (
        "biofeedback.estimators", "ChannelBalancedMean"),
}

#: Array dtypes kinds stored: booleans, integers, floats and text.
_KINDS = "biufU"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$|^_[A-Za-z][A-Za-z0-9_]*$")


class Unsupported(Exception):
    """The estimator holds a type or value this format does not store."""


class Malformed(Exception):
    """The manifest or arrays do not describe an estimator of the known types."""


def _class(name):
    import importlib

    module, attr = KNOWN_TYPES[name]
    return getattr(importlib.import_module(module), attr)


def _type_name(obj):
    cls = type(obj)
    for name, (module, attr) in KNOWN_TYPES.items():
        mod = sys.modules.get(module)
        if mod is not None and getattr(mod, attr, None) is cls:
            return name
    raise Unsupported(f"{cls.__module__}.{cls.__qualname__}")


def _encode_value(v, key, arrays):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if not np.isfinite(v):
            raise Unsupported(f"a non-finite {key}")
        return v
    if isinstance(v, (np.ndarray, np.generic)):
        a = np.asarray(v)
        if a.dtype.kind not in _KINDS:
            raise Unsupported(f"{key} of dtype {a.dtype}")
        arrays[key] = a
        return {"array": key} if isinstance(v, np.ndarray) else {"scalar": key}
    if isinstance(v, tuple):
        return {"tuple": [_encode_value(x, f"{key}.{i}", arrays) for i, x in enumerate(v)]}
    raise Unsupported(f"{key} of type {type(v).__name__}")


def _encode(est, key, arrays):
    name = _type_name(est)
    if name == "sklearn.pipeline.Pipeline":
        steps = [{"name": str(n), "estimator": _encode(s, f"{key}.{i}", arrays)}
                 for i, (n, s) in enumerate(est.steps)]
        state = {k: _encode_value(v, f"{key}.{k}", arrays)
                 for k, v in vars(est).items() if k != "steps"}
        return {"type": name, "steps": steps, "state": state}
    return {"type": name,
            "state": {k: _encode_value(v, f"{key}.{k}", arrays) for k, v in vars(est).items()}}


def dumps(est) -> tuple[bytes, bytes]:
    """``(manifest, arrays)`` bytes of ``est``.

    Raises
    ------
    Unsupported
        ``est`` holds a type outside :data:`KNOWN_TYPES` or a value other
        than JSON scalars, tuples and numeric or text arrays.
    """
    import sklearn

    arrays = {}
    tree = _encode(est, "e", arrays)
    manifest = {"format": "biofeedback-estimator", "version": 1,
                "sklearn_version": sklearn.__version__, "estimator": tree}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return _json.dumps(manifest, indent=1).encode("utf-8"), buf.getvalue()


def _decode_value(v, arrays):
    if isinstance(v, dict):
        if set(v) == {"array"}:
            return arrays[v["array"]]
        if set(v) == {"scalar"}:
            return arrays[v["scalar"]][()]
        if set(v) == {"tuple"} and isinstance(v["tuple"], list):
            return tuple(_decode_value(x, arrays) for x in v["tuple"])
        raise Malformed(f"an attribute value {sorted(v)!r} of no known kind")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise Malformed(f"an attribute value of type {type(v).__name__}")


def _decode(node, arrays):
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise Malformed("an estimator without a type")
    name = node["type"]
    if name not in KNOWN_TYPES:
        raise Unsupported(name)
    cls = _class(name)
    state = node.get("state")
    if not isinstance(state, dict):
        raise Malformed(f"a {name} without attributes")
    est = cls.__new__(cls)
    for k, v in state.items():
        # attributes only: never a method, property or class attribute
        if not isinstance(k, str) or not _NAME.match(k) or hasattr(cls, k) or k == "steps":
            raise Malformed(f"the attribute {k!r} of {name}")
        setattr(est, k, _decode_value(v, arrays))
    if name == "sklearn.pipeline.Pipeline":
        steps = node.get("steps")
        if not isinstance(steps, list) or not steps:
            raise Malformed("a pipeline without steps")
        est.steps = [(str(s["name"]), _decode(s["estimator"], arrays)) for s in steps]
    return est


def loads(manifest: bytes, arrays: bytes):
    """The estimator ``(manifest, arrays)`` describe (from :func:`dumps`).

    Raises
    ------
    Unsupported
        The manifest names a type outside :data:`KNOWN_TYPES` (its message is
        the type's name).
    Malformed
        Anything else wrong with either part.
    """
    try:
        doc = _json.loads_untrusted(manifest.decode("utf-8"))
        with np.load(io.BytesIO(arrays), allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as err:
        raise Malformed(str(err)) from None
    if not isinstance(doc, dict) or doc.get("format") != "biofeedback-estimator":
        raise Malformed("not an estimator manifest")
    if any(a.dtype.kind not in _KINDS for a in data.values()):
        raise Malformed("an array of an unsupported dtype")
    try:
        return _decode(doc.get("estimator"), data)
    except (KeyError, TypeError, IndexError) as err:
        raise Malformed(f"a missing or mistyped entry ({err})") from None
