"""Where each figure lands on ``BigTime_Project__c``, how a raw BigTime value becomes that field's value, and
when two values are the same (so an unchanged record is never written).

These tables are the whole truth about what the pull writes: the writer refuses any other field, and the
metadata cross-check (``sf_bigtime_ops.fieldcheck``) and ``sf-bigtime check`` read them from here.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from sf_bigtime.clients.salesforce import PROJECT_KEY_FIELD

# Figure -> BigTime_Project__c field. ``project_id`` is the upsert key, not a written value.
SALESFORCE_FIELDS: dict[str, str] = {
    "status": "Status__c",
    "billing_status": "Billing_Status__c",
    "lead": "Project_Lead__c",
    "start_date": "Start_Date__c",
    "end_date": "End_Date__c",
    "inactive": "Inactive__c",
    "budget_hours": "Budget_Hours__c",
    "actual_hours": "Actual_Hours__c",
    "budget_fees": "Budget_Fees__c",
    "actual_fees": "Actual_Fees__c",
    "budget_expenses": "Budget_Expenses__c",
    "actual_expenses": "Actual_Expenses__c",
    "invoiced": "Invoiced_To_Date__c",
    "wip": "WIP__c",
}
LAST_PULLED = "Last_Pulled__c"
PULL_MESSAGE = "Pull_Message__c"
# Everything the pull writes on BigTime_Project__c (the key included, as an upsert sends it).
PULL_WRITE_FIELDS = (PROJECT_KEY_FIELD, *SALESFORCE_FIELDS.values(), LAST_PULLED, PULL_MESSAGE)
# Read besides those: the record, its Opportunity, and when it was created (staleness before a first pull).
PULL_READ_FIELDS = ("Id", "Name", "Opportunity__c", "CreatedDate", *PULL_WRITE_FIELDS)

TEXT_FIGURES = {"status": 80, "billing_status": 80, "lead": 121}  # figure -> field length
DATE_FIGURES = frozenset({"start_date", "end_date"})
BOOL_FIGURES = frozenset({"inactive"})
NUMBER_FIGURES = (
    "budget_hours",
    "actual_hours",
    "budget_fees",
    "actual_fees",
    "budget_expenses",
    "actual_expenses",
    "invoiced",
    "wip",
)
MESSAGE_LENGTH = 255
DELETED_STATUS = "Deleted in BigTime"  # Status__c of a project BigTime no longer has

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


def convert(figure: str, raw: Any) -> Any:
    """A BigTime value as the figure's Salesforce value; ValueError (saying what is wrong) if it is not one.

    BigTime sends numbers as numbers or strings, dates with or without a time part, booleans as booleans,
    0/1 or text, and blanks as null or "": all of those are read, anything else is refused."""
    if figure == "project_id":
        return _project_id(raw)
    if raw is None or (isinstance(raw, str) and not raw.strip() and figure not in BOOL_FIGURES):
        return None
    if figure in TEXT_FIGURES:
        if isinstance(raw, dict | list):
            raise ValueError(f"{raw!r} is not text")
        return str(raw).strip()[: TEXT_FIGURES[figure]] or None
    if figure in DATE_FIGURES:
        match = _DATE.match(str(raw).strip())
        if match is None:
            raise ValueError(f"{raw!r} is not a date")
        return date.fromisoformat(match.group(1)).isoformat()
    if figure in BOOL_FIGURES:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"{raw!r} is not true or false")
    return number(raw)


def number(raw: Any) -> float | None:
    """Hours and money: rounded to cents; ValueError for anything that is not a finite number."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool | dict | list):
        raise ValueError(f"{raw!r} is not a number")
    try:
        value = float(str(raw).strip().replace(",", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a number")
    return round(value + 0.0, 2)


def _project_id(raw: Any) -> str:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a project id")
    if isinstance(raw, float) and raw.is_integer():  # a report column typed decimal
        raw = int(raw)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{raw!r} is not a project id") from None
    if value <= 0:
        raise ValueError(f"{raw!r} is not a project id")
    return str(value)


def same(current: Any, new: Any) -> bool:
    """Whether Salesforce's ``current`` value already says ``new`` (numbers to the cent, blanks alike)."""
    if isinstance(new, bool) or isinstance(current, bool):
        return bool(current) == bool(new)
    if isinstance(new, int | float) or isinstance(current, int | float):
        if current is None or new is None:
            return current is None and new is None
        try:
            return abs(float(current) - float(new)) < 0.005
        except (TypeError, ValueError):
            return False
    return (current or None) == (new or None)


def parse_salesforce_datetime(value: Any) -> datetime | None:
    """A datetime Salesforce returned (``2026-11-25T20:17:24.000+0000``), None when blank or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
