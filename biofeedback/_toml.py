"""Load TOML into frozen dataclasses, with errors that name the file and field."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import PipelineConfigError


def load_toml(fname) -> dict:
    """Read a TOML file, turning syntax errors into PipelineConfigError."""
    fname = Path(fname)
    try:
        with open(fname, "rb") as fid:
            return tomllib.load(fid)
    except FileNotFoundError:
        raise PipelineConfigError(f"{fname}: no such file.") from None
    except tomllib.TOMLDecodeError as err:
        raise PipelineConfigError(f"{fname}: not valid TOML ({err}).") from None


def _coerce(value, annotation, where: str):
    """Coerce a TOML value to a dataclass field's annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is typing.Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except PipelineConfigError as err:
                errors.append(str(err))
        raise PipelineConfigError(errors[0] if errors else f"{where}: invalid value.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise PipelineConfigError(f"{where} must be a list, got {value!r}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise PipelineConfigError(
                f"{where} must have {len(args)} items, got {len(value)}."
            )
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        if not isinstance(value, dict):
            raise PipelineConfigError(f"{where} must be a table, got {value!r}.")
        return {k: _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise PipelineConfigError(f"{where} must be a table, got {value!r}.")
        return from_dict(annotation, value, where)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PipelineConfigError(f"{where} must be a number, got {value!r}.")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PipelineConfigError(f"{where} must be an integer, got {value!r}.")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise PipelineConfigError(f"{where} must be true or false, got {value!r}.")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise PipelineConfigError(f"{where} must be a string, got {value!r}.")
        return value
    return value


def from_dict(cls, data: dict, where: str):
    """Build dataclass ``cls`` from ``data``; unknown keys raise.

    ``where`` prefixes every message, e.g. ``"pipelines/default.toml [window]"``.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PipelineConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are "
            f"{', '.join(sorted(fields))}."
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{where} {name}")
    try:
        obj = cls(**kwargs)
    except TypeError as err:  # missing required fields
        raise PipelineConfigError(f"{where}: {err}.") from None
    validate = getattr(obj, "_validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as err:
            raise PipelineConfigError(f"{where}: {err}") from None
    return obj
