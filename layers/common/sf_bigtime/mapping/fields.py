"""One mapped BigTime field: where its value comes from (:class:`Source`), when it is written
(:class:`UpdatePolicy`), and the syntax its Salesforce field paths and ``{…}`` templates follow.

The building blocks of :mod:`sf_bigtime.mapping.model`; the conditions and the sections use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# A SOQL field path from the Opportunity (or the Contact): up to five relationship hops.
_PATH = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*){0,5}"
PATH_RE = re.compile(rf"^{_PATH}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
FieldPath = Annotated[str, StringConstraints(pattern=rf"^{_PATH}$")]
BigTimeField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")]
Scalar = str | int | float | bool

# Built-in template placeholders (not Salesforce fields): lower case, so no field can be named like them.
BUILTINS = frozenset({"today"})


class UpdatePolicy(StrEnum):
    """What happens to a BigTime field when a synced Opportunity changes later."""

    CREATE_ONLY = "create_only"  # written when the record is created; BigTime owns it afterwards
    SYNC = "sync"  # kept equal to Salesforce (an empty Salesforce value never clears BigTime's)
    NEVER = "never"  # never written (switches off a default field without deleting it)


# Every part of the mapping: an unknown key is an error (a typo must not be silently ignored).
STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StrictModel(BaseModel):
    model_config = STRICT


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER_RE.findall(template)


def check_template(template: str) -> str:
    if template.count("{") != template.count("}"):
        raise ValueError(f"unbalanced braces in template {template!r}")
    for name in placeholders(template):
        if name not in BUILTINS and not PATH_RE.match(name):
            raise ValueError(
                f"{{{name}}} is not a Salesforce field path (letters, digits, _ and dots, e.g. {{Account.Name}})"
            )
    return template


def check_code(template: str | None) -> str | None:
    if not template:
        return None
    if "today" in placeholders(template):
        # A retry on another day must compute the same code, or the marker lookup would miss.
        raise ValueError("a code must be the same on every attempt: {today} cannot be part of it")
    return check_template(template)


def template_paths(template: str | None) -> list[str]:
    """The Salesforce field paths a template reads (its placeholders, less the built-ins)."""
    return [p for p in placeholders(template or "") if p not in BUILTINS]


class Source(StrictModel):
    """Where one BigTime field's value comes from: a Salesforce field, a template, or a constant.

    YAML shorthand: a string is a field path (or a template when it holds ``{…}``); a number or boolean
    is a constant. ``map`` translates Salesforce values (e.g. Opportunity Type -> BigTime project type);
    ``default`` is used when the value is empty; ``max_length`` truncates text BigTime would refuse.
    """

    field: FieldPath | None = None
    template: str | None = None
    value: Scalar | None = None
    map: dict[str, Scalar | None] | None = None
    default: Scalar | None = None
    update: UpdatePolicy | None = None
    picklist: str | None = Field(default=None, min_length=1)
    max_length: int | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"template": data} if "{" in data else {"field": data}
        if isinstance(data, bool | int | float):
            return {"value": data}
        return data

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in ("field", "template", "value") if k in self.model_fields_set]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of `field` (a Salesforce field), `template` or `value` (a constant)"
                + (f"; found {', '.join(kinds)}" if kinds else "")
            )
        return self

    def paths(self) -> list[str]:
        if self.field:
            return [self.field]
        if self.template:
            return template_paths(self.template)
        return []

    def named_values(self) -> list[str]:
        """The text values the mapping itself gives (constant, ``map`` targets, default); a value copied
        from Salesforce is known only when an Opportunity is synced."""
        values = [self.value, self.default, *(self.map or {}).values()]
        return [v for v in values if isinstance(v, str)]


def fields_to_write[S: Source](
    fields: Mapping[str, S | None], section_update: UpdatePolicy, *, sync_only: bool
) -> Iterator[tuple[str, S]]:
    """The mapped fields a write sends, with their sources: all but the ``never`` ones when the record is
    created, only the ``sync`` ones on a later sync (``sync_only``). A source's own ``update`` comes first,
    then its section's."""
    for bt_field, source in fields.items():
        if source is None:
            continue
        rule = source.update or section_update
        if rule is UpdatePolicy.NEVER or (sync_only and rule is not UpdatePolicy.SYNC):
            continue
        yield bt_field, source
