"""Reading a mapping document: YAML parsed, merged onto the bundled default key by key, and validated,
with errors that name the key and say what is wrong (the reader edits YAML, not Python)."""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sf_bigtime.mapping.model import Mapping, MappingError

DEFAULT_MAPPING_RESOURCE = "default.yaml"
MAPPING_VERSION = 1


def merge(base: Any, override: Any) -> Any:
    """Override merged onto base: mappings key by key (recursively), anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(source, [("", f"not valid YAML: {where}{problem}")]) from None
    except RecursionError:
        raise MappingError(source, [("", "not a mapping: nested too deeply")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(source, [("", "the mapping must be a YAML mapping (key: value lines)")])
    return data


@cache
def _default_data() -> dict[str, Any]:
    text = (
        resources.files("sf_bigtime.mapping").joinpath(DEFAULT_MAPPING_RESOURCE).read_text(encoding="utf-8")
    )
    return parse_yaml(text, "(bundled default)")


def build_mapping(override: dict[str, Any] | None, source: str) -> Mapping:
    """Validate ``override`` merged onto the bundled default; :class:`MappingError` names every problem."""
    override = override or {}
    version = override.get("version", MAPPING_VERSION)
    if version != MAPPING_VERSION:
        raise MappingError(
            source,
            [("version", f"{version!r} is not supported; this release reads version {MAPPING_VERSION}")],
        )
    data = merge(_default_data(), override)
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(source, [_problem(err) for err in exc.errors()]) from None


def _problem(err: Any) -> tuple[str, str]:
    loc = [str(part) for part in err["loc"] if not str(part).startswith(("function-", "tagged-union"))]
    # pydantic names union members (str, int, …) in the location; they mean nothing to the reader.
    loc = [part for part in loc if part not in ("str", "int", "float", "bool", "Source", "[key]")]
    key = ""
    for part in loc:
        part = "in" if part == "in_" else part
        key += f"[{part}]" if part.isdigit() else (f".{part}" if key else part)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch":
        message = f"{err['input']!r} is not a Salesforce field path (letters, digits, _ and dots, e.g. Account.Name)"
        if "[key]" in [str(p) for p in err["loc"]]:  # a key of a field map: a BigTime field name
            message = f"{err['input']!r} is not a BigTime field name"
    elif err["type"] == "extra_forbidden":
        message = "unknown key" + _suggest(loc)
    elif err["type"] == "missing":
        message = "is required"
    return key, message


def _suggest(loc: list[str]) -> str:
    known = _keys_at(loc[:-1])
    close = difflib.get_close_matches(loc[-1], known, n=1) if loc else []
    return f" (did you mean {close[0]!r}?)" if close else (f" (known: {', '.join(known)})" if known else "")


def _keys_at(loc: list[str]) -> list[str]:
    model: Any = Mapping
    for part in loc:
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        model = next(
            (
                a
                for a in getattr(annotation, "__args__", (annotation,))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return [info.alias or name for name, info in fields.items()]


def default_mapping() -> Mapping:
    return build_mapping(None, "(bundled default)")


def mapping_from_text(text: str, source: str, overrides: dict[str, Any] | None = None) -> Mapping:
    """A YAML document (empty: none) merged onto the default, ``overrides`` merged on top, validated."""
    return build_mapping(merge(parse_yaml(text, source), overrides or {}), source)
