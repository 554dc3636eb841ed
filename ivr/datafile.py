"""Reading the data files people edit (prompts, flow, case JSON) with one-line errors that name
the file and the field, instead of a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 64 * 1024 * 1024  # no hand-edited data file is near this; a bigger one is a mistake


def file_size_problem(path: Path, limit: int, what: str) -> str | None:
    """One line if `path` is larger than `limit` bytes (checked before reading it into memory)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # reading it reports the real problem
    if size > limit:
        return f"{path}: {what} too large (expected at most {limit // (1024 * 1024)} MB, got {size / (1024 * 1024):.0f} MB)"
    return None


def not_utf8(path: Path, e: UnicodeDecodeError) -> str:
    return f"{path}: not UTF-8 (byte 0x{e.object[e.start]:02x} at offset {e.start})"


def _parse(
    path: Path,
    error: type[ValueError],
    what: str,
    loads: Callable[[str], Any],
    bad: type[Exception],
    describe: Callable[[Any], str],
) -> Any:
    if problem := file_size_problem(path, MAX_FILE_BYTES, what):
        raise error(problem)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{path}: cannot read {what} ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise error(not_utf8(path, e)) from None
    try:
        return loads(text)
    except bad as e:
        raise error(f"{path}: {describe(e)}") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number, nesting thousands deep
        raise error(f"{path}: not a readable {what} ({type(e).__name__}: {str(e)[:120]})") from None


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # libyaml: ~7x less CPU than the pure-Python loader


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` through libyaml when PyYAML has it (the grammars are read at every process
    start: ~2 s of CPU in pure Python).  A bad file is parsed again by the pure-Python loader, so
    its error message (with the offending line quoted) stays the same."""
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # the C twin of SafeLoader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def read_yaml(path: Path, error: type[ValueError], what: str = "file") -> Any:
    return _parse(path, error, what, load_yaml, yaml.YAMLError, _yaml_error)


def _yaml_error(e: Exception) -> str:
    return f"not valid YAML ({' '.join(str(e).split())})"  # one line: PyYAML's message spans several


def read_mapping(path: Path, error: type[ValueError], what: str = "file") -> dict[str, Any]:
    """A YAML file whose top level must be a mapping (grammars, examples)."""
    raw = read_yaml(path, error, what)
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at top level, got {type(raw).__name__}")
    return raw


def read_json(path: Path, error: type[ValueError], what: str = "file") -> Any:
    return _parse(
        path,
        error,
        what,
        json.loads,
        json.JSONDecodeError,
        lambda e: f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})",
    )


def validate(model: type[M], data: Any, source: str, error: type[ValueError], prefix: str = "") -> M:
    """`model.model_validate(data)`, or `error("<source>: field <prefix><loc>: <msg> (got ...)")`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = prefix + ".".join(str(p) for p in first["loc"]) or "(top level)"
        if first["type"] == "extra_forbidden":
            raise error(
                f"{source}: field {field}: unknown field; expected one of {', '.join(model.model_fields)}"
            ) from None
        got = "" if first["type"] == "missing" else f" (got {_short(first.get('input'))})"
        raise error(f"{source}: field {field}: {first['msg']}{got}") from None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
