"""The ``tasks`` section of the mapping: the BigTime tasks (and so the budget) a project gets from the
Opportunity's line items, or from its Amount when it has none.

BigTime keeps budgets on tasks (``BudgetHours``, ``BudgetFees``, ``BudgetExps``), so a project without
tasks has no budget. Sources here read the line item (``Quantity``, ``TotalPrice``, ``Product2.Name``, …;
``Opportunity.…`` reads the Opportunity); the ``amount_task`` reads the Opportunity. Which tasks an
Opportunity as read now should have is :func:`sf_bigtime.mapping.task_plans.task_plans`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, field_validator, model_validator

from sf_bigtime.clients.salesforce import ChildQuery
from sf_bigtime.mapping.conditions import Condition
from sf_bigtime.mapping.fields import STRICT, BigTimeField, Source, UpdatePolicy

LINE_ITEMS = "OpportunityLineItems"
# What every line item read carries: its identity, the deleted flag (queryAll returns deleted children),
# and the product's family (per: product_family groups by it).
LINE_ITEM_BASE_FIELDS = ("Id", "IsDeleted", "Product2.Name", "Product2.Family")
BUDGET_FIELDS = ("BudgetHours", "BudgetFees", "BudgetExps")
# Task fields whose values are ids from a "Field Values" list: mapped by name, resolved by the worker.
# The list behind TaskType is not documented (docs/decisions.md#what-we-assume-about-bigtime).
TASK_PICKLISTS = {"tasktype": "LookupTaskType", "currentstatus": "TaskStatus"}
_RESERVED = {
    "tasksid": "it is BigTime's id",
    "projectsid": "the worker sets the task's project",
    "taskid": "the task code is the worker's marker (tasks.code_prefix)",
    "isarchived": "the worker archives the task of a deleted line item (tasks.removed)",
}


class _Strict(BaseModel):
    # Defined here, not imported: ruff knows a class is a pydantic model (whose mutable defaults are
    # copied per instance, RUF012) only through a base class in the same file.
    model_config = STRICT


class TaskSource(Source):
    """A task field's source; ``when`` makes it apply only when a condition on the line item holds, e.g.
    hours only for products sold by the hour."""

    when: Condition | None = None

    def paths(self) -> list[str]:
        return super().paths() + ([self.when.field] if self.when else [])


def _check_task_fields(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        reason = _RESERVED.get(key.lower())
        if reason:
            raise ValueError(f"{key} cannot be mapped: {reason}")
        if "." in key:
            raise ValueError(f"{key}: tasks have no nested fields")
    return {k: v for k, v in value.items() if v is not None}  # null removes a default field


# The checks travel with the type, so the line item tasks and the amount task cannot differ in them.
TaskFields = Annotated[dict[BigTimeField, TaskSource | None], AfterValidator(_check_task_fields)]


class AmountTask(_Strict):
    """The one budget task of an Opportunity without line items (sources read the Opportunity)."""

    enabled: bool = True
    update: UpdatePolicy = UpdatePolicy.SYNC
    fields: TaskFields = {}

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.enabled and "TaskNm" not in self.fields:
            raise ValueError("fields.TaskNm (the task name) is required")
        if self.enabled and not set(BUDGET_FIELDS) & set(self.fields):
            raise ValueError(f"fields needs a budget ({', '.join(BUDGET_FIELDS)}): it is a budget task")
        return self


class TasksSection(_Strict):
    """Line items -> tasks: one per line item, one per product family, or one for the whole project."""

    enabled: bool = True
    per: Literal["line_item", "product_family", "project"] = "line_item"
    code_prefix: str = "SF-"
    removed: Literal["archive", "keep"] = "archive"
    update: UpdatePolicy = UpdatePolicy.CREATE_ONLY
    fields: TaskFields = {}
    amount_task: AmountTask = AmountTask(enabled=False)

    @field_validator("code_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,10}", value):
            raise ValueError(
                "1 to 10 letters, digits, '-', '_' or '.': the task code is this prefix and the line item id"
            )
        return value

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.enabled and "TaskNm" not in self.fields:
            raise ValueError("fields.TaskNm (the task name) is required")
        return self

    # -- what to read ---------------------------------------------------------------------------------
    def line_item_paths(self) -> list[str]:
        """Line item field paths (relative to the line item) the task fields read."""
        paths = [p for s in self.fields.values() if s for p in s.paths() if not p.startswith("Opportunity.")]
        return list(dict.fromkeys(paths))

    def opportunity_paths(self) -> list[str]:
        """Opportunity field paths the task fields (``Opportunity.…``) and the amount task read."""
        paths: list[str] = []
        if self.enabled:
            paths += [
                p.split(".", 1)[1]
                for s in self.fields.values()
                if s
                for p in s.paths()
                if p.startswith("Opportunity.")
            ]
            if self.amount_task.enabled:
                paths += [p for s in self.amount_task.fields.values() if s for p in s.paths()]
        return list(dict.fromkeys(paths))

    def child_query(self) -> ChildQuery | None:
        """The line items' subquery of the worker's one query; None when tasks are off."""
        if not self.enabled:
            return None
        fields = (*LINE_ITEM_BASE_FIELDS, *self.line_item_paths())
        return ChildQuery(LINE_ITEMS, fields, "CreatedDate ASC, Id ASC")

    def describe(self) -> str:
        if not self.enabled:
            return "off"
        per = {"line_item": "one per line item", "product_family": "one per product family"}
        text = per.get(self.per, "one budget task for all line items")
        text += f", {len(self.fields)} field(s), code {self.code_prefix}…"
        text += ", deleted line items archived" if self.removed == "archive" else ", deleted line items kept"
        if self.amount_task.enabled:
            text += "; no line items: one budget task from the Opportunity"
        return text


def task_policy(section: TasksSection | AmountTask, source: Source) -> UpdatePolicy:
    return source.update or section.update


def task_picklist(bt_field: str, source: Source) -> str | None:
    """The "Field Values" list a task field's value is a name from, or None."""
    return source.picklist or TASK_PICKLISTS.get(bt_field.lower())


def task_picklists(section: TasksSection) -> dict[str, set[str]]:
    """The lists the task fields write, with the value names the mapping gives itself (for ``check``)."""
    wanted: dict[str, set[str]] = {}
    if not section.enabled:
        return wanted
    parts: list[TasksSection | AmountTask] = [section]
    if section.amount_task.enabled:
        parts.append(section.amount_task)
    for part in parts:
        for bt_field, source in part.fields.items():
            if source is None or task_policy(part, source) is UpdatePolicy.NEVER:
                continue
            name = task_picklist(bt_field, source)
            if name:
                wanted.setdefault(name, set()).update(source.named_values())
    return wanted
