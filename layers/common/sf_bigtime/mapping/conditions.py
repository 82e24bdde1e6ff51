"""A trigger condition on an Opportunity field, and how it compares values the way Salesforce does."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from sf_bigtime.mapping.fields import FieldPath, Scalar, StrictModel


class Condition(StrictModel):
    """One condition on an Opportunity field; give exactly one operator."""

    field: FieldPath
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    at_least: float | None = None
    at_most: float | None = None
    is_true: bool | None = None
    is_set: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        ops = self.operators()
        if len(ops) != 1:
            names = "equals, not_equals, in, not_in, at_least, at_most, is_true, is_set"
            raise ValueError(f"give exactly one operator ({names}); found {', '.join(ops) or 'none'}")
        return self

    def operators(self) -> list[str]:
        names = [k for k in type(self).model_fields if k != "field" and k in self.model_fields_set]
        return ["in" if k == "in_" else k for k in names]

    def holds(self, value: Any) -> bool:
        op = self.operators()[0]
        if op == "is_set":
            return (value not in (None, "")) is self.is_set
        if op == "is_true":
            return (value is True or str(value).lower() == "true") is self.is_true
        if op in ("at_least", "at_most"):
            number = _number(value)
            if number is None:
                return False
            return number >= self.at_least if op == "at_least" else number <= self.at_most  # type: ignore[operator]
        if op in ("equals", "not_equals"):
            same = _same(value, self.equals if op == "equals" else self.not_equals)
            return same if op == "equals" else not same
        options = self.in_ if op == "in" else self.not_in
        hit = any(_same(value, option) for option in options or [])
        return hit if op == "in" else not hit

    def describe(self) -> str:
        op = self.operators()[0]
        target = getattr(self, "in_" if op == "in" else op)
        return f"{self.field} {op.replace('_', ' ')} {target!r}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(value: Any, target: Any) -> bool:
    """Salesforce compares picklists and text case-insensitively; numbers by value."""
    if value is None or target is None:
        return value is None and target is None
    if isinstance(target, bool) or isinstance(value, bool):
        return str(value).lower() == str(target).lower()
    a, b = _number(value), _number(target)
    if a is not None and b is not None:
        return a == b
    return str(value).strip().casefold() == str(target).strip().casefold()
