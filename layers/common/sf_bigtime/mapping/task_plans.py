"""The tasks an Opportunity as read now should have (the ``tasks`` section applied): pure functions over
the SOQL record, so every rule is testable without a server.

Each :class:`TaskPlan` has a stable ``key`` (what it stands for: a line item id, a product family, the
whole project, the Amount) and a ``code``: the task code (``TaskId``) the task carries in BigTime, which
is the marker that finds it again after an attempt that created it without recording it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.clients.salesforce import OpportunitySnapshot, record_path
from sf_bigtime.mapping.fields import fields_to_write
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.mapping.tasks import (
    BUDGET_FIELDS,
    LINE_ITEMS,
    AmountTask,
    TaskSource,
    TasksSection,
    task_picklist,
)
from sf_bigtime.mapping.transform import Lookup, Payload, opportunity_lookup, source_value, text
from sf_bigtime.sfid import to_18

AMOUNT_KEY = "amount"
BUDGET_KEY = "budget"
_SLUG = re.compile(r"[^A-Z0-9]+")


@dataclass
class TaskPlan:
    """One task the project should have."""

    key: str  # stable identity: a line item id (18), "family:<slug>", "budget" or "amount"
    code: str  # its task code (TaskId) in BigTime: our marker
    create: Payload  # every field written when the task is created
    sync: Payload  # the `sync` fields, compared with BigTime when they change in Salesforce
    line_items: list[str] = field(default_factory=list)  # the line item ids it stands for

    @property
    def budget(self) -> dict[str, Any]:
        return {k: v for k, v in self.create.values.items() if k in BUDGET_FIELDS}


def task_plans(opp: OpportunitySnapshot, mapping: Mapping, today: str) -> list[TaskPlan]:
    """The tasks for the Opportunity's live line items (grouped as ``per`` says), or the amount task when
    it has none; [] when tasks are off."""
    section = mapping.tasks
    if not section.enabled:
        return []
    items = opp.children(LINE_ITEMS)
    if not items:
        amount = _amount_plan(opp, section, today)
        return [amount] if amount else []
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(_group_key(section, item), []).append(item)
    return [_plan(opp, section, key, members, today) for key, members in groups.items()]


def task_code(section: TasksSection, key: str) -> str:
    """The task code of a plan's key: prefix + line item id, + FAM-<family>, + BUDGET or + AMOUNT."""
    if key.startswith("family:"):
        return f"{section.code_prefix}FAM-{key.removeprefix('family:')}"[:40]
    if key in (BUDGET_KEY, AMOUNT_KEY):
        return f"{section.code_prefix}{key.upper()}"
    return f"{section.code_prefix}{key}"


def _group_key(section: TasksSection, item: dict[str, Any]) -> str:
    if section.per == "project":
        return BUDGET_KEY
    if section.per == "product_family":
        family = _SLUG.sub("-", text(record_path(item, "Product2.Family")).upper()).strip("-")
        return f"family:{family or 'NONE'}"
    return to_18(str(item["Id"]))


def _line_item_lookup(opp: OpportunitySnapshot, item: dict[str, Any]) -> Lookup:
    context = {**item, "Opportunity": opp.record}
    return lambda path: record_path(context, path)


def _values(
    section: TasksSection | AmountTask, lookup: Lookup, today: str, *, sync_only: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for bt_field, source in fields_to_write(section.fields, section.update, sync_only=sync_only):
        value = _value(bt_field, source, lookup, today)
        if value is not None:
            values[bt_field] = value
    return values


def _value(bt_field: str, source: TaskSource, lookup: Lookup, today: str) -> Any:
    if source.when is not None and not source.when.holds(lookup(source.when.field)):
        return None
    value = source_value(bt_field, source, lookup, today)
    if bt_field in BUDGET_FIELDS and value is not None:
        try:
            value = round(float(value), 2)
        except (TypeError, ValueError):
            return None  # not a number: no budget rather than a rejected task
    return value


def _payload(section: TasksSection | AmountTask, values: dict[str, Any]) -> Payload:
    payload = Payload(dict(values))
    for bt_field, value in values.items():
        source = section.fields.get(bt_field)
        list_name = task_picklist(bt_field, source) if source else None
        if list_name and isinstance(value, str):
            payload.picklists[bt_field] = list_name
    return payload


def _combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A group's values: budgets summed, every other field from the first line item that has one."""
    out: dict[str, Any] = {}
    for row in rows:
        for key, value in row.items():
            if key in BUDGET_FIELDS:
                out[key] = round(out.get(key, 0.0) + value, 2)
            else:
                out.setdefault(key, value)
    return out


def _plan(
    opp: OpportunitySnapshot, section: TasksSection, key: str, members: list[dict[str, Any]], today: str
) -> TaskPlan:
    lookups = [_line_item_lookup(opp, item) for item in members]
    create = _combine([_values(section, lk, today, sync_only=False) for lk in lookups])
    sync = _combine([_values(section, lk, today, sync_only=True) for lk in lookups])
    if "TaskNm" not in create:  # the product has no name the integration user can see
        create["TaskNm"] = text(record_path(members[0], "Product2.Name")) or "Line item"
    return TaskPlan(
        key,
        task_code(section, key),
        _payload(section, create),
        _payload(section, sync),
        [to_18(str(item["Id"])) for item in members],
    )


def _amount_plan(opp: OpportunitySnapshot, section: TasksSection, today: str) -> TaskPlan | None:
    part = section.amount_task
    if not part.enabled:
        return None
    lookup = opportunity_lookup(opp)
    create = _values(part, lookup, today, sync_only=False)
    if not any(create.get(name) for name in BUDGET_FIELDS):
        return None  # no budget to hold: no task (an Opportunity without an Amount)
    sync = _values(part, lookup, today, sync_only=True)
    return TaskPlan(AMOUNT_KEY, task_code(section, AMOUNT_KEY), _payload(part, create), _payload(part, sync))
