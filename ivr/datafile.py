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


def _parse(
    path: Path,
    error: type[ValueError],
    what: str,
    loads: Callable[[str], Any],
    bad: type[Exception],
    describe: Callable[[Any], str],
) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{path}: cannot read {what} ({e.strerror})") from None
    try:
        return loads(text)
    except bad as e:
        raise error(f"{path}: {describe(e)}") from None


def read_yaml(path: Path, error: type[ValueError], what: str = "file") -> Any:
    return _parse(path, error, what, yaml.safe_load, yaml.YAMLError, _yaml_error)


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
