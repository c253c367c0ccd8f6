"""Load TOML into frozen dataclasses, with errors that name the file and field."""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import types
import typing
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._words import agree
from .errors import PipelineConfigError


def load_toml(fname) -> dict:
    """Read a TOML file, turning syntax errors into PipelineConfigError."""
    fname = Path(fname)
    try:
        raw = fname.read_bytes()
    except FileNotFoundError:
        raise PipelineConfigError(f"{fname}: no such file.") from None
    try:
        # utf-8-sig: Windows editors save UTF-8 with a byte-order mark, which
        # TOML itself does not allow
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise PipelineConfigError(
            f"{fname}, line {line}: byte {raw[err.start]:#x} is not UTF-8 text; save the "
            "file as UTF-8 (TOML files are UTF-8).") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PipelineConfigError(f"{fname}: not valid TOML ({err}).") from None


def _line_of(fname, section: str, key: str | None) -> int | None:
    """1-based line of ``key`` in ``[section]`` (or of the header itself).

    ``section`` may name the i-th entry of an array of tables as
    ``"events #2"``, found by counting ``[[events]]`` headers.
    """
    try:
        path = Path(fname)
        st = path.stat()
        index = _file_line_index(str(path), st.st_mtime_ns, st.st_size)
    except (OSError, TypeError, ValueError):
        return None
    return index.get((section, key))


@functools.lru_cache(maxsize=8)
def _file_line_index(fname, mtime_ns, size):
    """:func:`_line_index` of a file, read once per version of it.

    Every field of a pipeline asks for its line (the message it would carry
    is built before the field is checked): one read and one pass serve them
    all, and a rewritten file (another time or size) is read again.
    """
    return _line_index(Path(fname).read_text(encoding="utf-8-sig", errors="replace"))


def _line_index(text):
    """``{(section, key): line}`` of a TOML text, first occurrences, in one pass
    (``key`` None: the section's header; section "": top-level keys)."""
    import re

    lines = text.splitlines()
    index = {}
    current, entry, seen = "", None, {}
    for i, line in enumerate(lines, 1):
        head = re.match(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?", line)
        if head:
            current, entry = head.group(2), None
            index.setdefault((current, None), i)
            if head.group(1) == "[[":
                seen[current] = seen.get(current, 0) + 1
                entry = f"{current} #{seen[current]}"
                index.setdefault((entry, None), i)
            continue
        if "=" in line:
            key = line.split("=", 1)[0].strip()
            index.setdefault((current, key), i)
            if entry is not None:
                index.setdefault((entry, key), i)
    return index


def _where(fname, section: str, key: str | None = None, show_key: bool = True) -> str:
    """``file, line N [section] key`` for messages."""
    out = str(fname)
    if fname and (key is not None or section):
        line = _line_of(fname, section, key)
        if line is None and key is not None:  # the key is a table: its [header]'s line
            line = _line_of(fname, f"{section}.{key}" if section else key, None)
        if line is not None:
            out += f", line {line}"
    if section:
        out += f" [{section}]"
    if key is not None and show_key:
        out += f" {key}"
    return out


def _coerce(value, annotation, where: str, loc=None):
    """Coerce a TOML value to a dataclass field's annotation.

    ``loc`` is (fname, section) for nested tables.
    """
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
                return _coerce(value, arg, where, loc)
            except PipelineConfigError as err:
                errors.append(str(err))
        raise PipelineConfigError(errors[0] if errors else f"{where}: invalid value.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise PipelineConfigError(f"{where} must be a list, got {value!r}.")
        if len(args) == 2 and args[1] is Ellipsis:
            if dataclasses.is_dataclass(args[0]) and loc is not None:  # [[array.of.tables]]
                return tuple(
                    _coerce(v, args[0], f"{where} #{i + 1}", (loc[0], f"{loc[1]} #{i + 1}"))
                    for i, v in enumerate(value)
                )
            return tuple(_coerce(v, args[0], f"{where}[{i}]", loc) for i, v in enumerate(value))
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
        if loc is not None:
            return from_dict(annotation, value, loc[0], section=loc[1])
        return from_dict(annotation, value, where)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PipelineConfigError(f"{where} must be a number, got {value!r}.")
        if not math.isfinite(value):  # TOML allows nan and inf; no field means them
            raise PipelineConfigError(f"{where} must be a finite number, got {value!r}.")
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


def from_dict(cls, data: dict, where: str, section: str = ""):
    """Build dataclass ``cls`` from ``data``; unknown keys raise.

    ``where`` is the file (or another origin) and ``section`` the TOML table
    path; messages read ``file, line N [section] key: problem``.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        bad = (f"table [{section}.{unknown[0]}]" if section else f"table [{unknown[0]}]") \
            if isinstance(data[unknown[0]], dict) else f"key {unknown[0]!r}"
        err = PipelineConfigError(
            f"{_where(where, section, unknown[0], show_key=False)}: unknown {bad}; "
            "allowed keys are "
            f"{', '.join(sorted(k for k in fields if k != 'fname'))}."
        )
        # the key's dotted path, for readers of stored pipelines a newer version wrote
        err.unknown_key = f"{section}.{unknown[0]}" if section else unknown[0]
        raise err
    kwargs = {}
    for name, value in data.items():
        sub = f"{section}.{name}" if section else name
        kwargs[name] = _coerce(value, hints[name], _where(where, section, name), (where, sub))
    missing = [f.name for f in fields.values() if f.name not in kwargs
               and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        keys = " and ".join(", ".join(map(repr, missing)).rsplit(", ", 1))
        raise PipelineConfigError(f"{_where(where, section)}: {keys} "
                                  f"{agree(len(missing), 'is', 'are')} missing; "
                                  f"add {agree(len(missing), 'it', 'them')}.")
    obj = cls(**kwargs)
    validate = getattr(obj, "_validate", None)  # an optional hook of the section's dataclass
    if validate is not None:
        try:
            validate()
        except PipelineConfigError:  # already names the file and field
            raise
        except ValueError as err:
            raise PipelineConfigError(f"{_where(where, section)}: {err}") from None
    return obj
