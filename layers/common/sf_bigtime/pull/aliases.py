"""One table of the names BigTime gives each figure, and reading a BigTime row through it.

BigTime names the same figure differently in different views and versions, and documents none of them
(docs/decisions.md#what-we-assume-about-bigtime): the budget status answers ``HoursInput`` in one client's
code and ``HrsIn`` in another's, the project view says ``InputHours``, a saved report has the firm's own
column names. So every reader goes through :func:`read_row`: names are compared case-insensitively, the
first name present wins, and what cannot be read is reported (``missing``, ``bad``, ``recognised``) rather
than guessed. A figure that is missing is left alone in Salesforce, never written as zero.

Where each name comes from: [C] public client code that runs against BigTime, [P] a real project
response, [R] the column names of the report our setup guide describes, [I] our own inference. Names are
unique case-insensitively (one name, one figure; a test checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.pull.fields import convert

ALIASES: dict[str, tuple[str, ...]] = {
    # the project
    "project_id": ("ProjectSid", "SystemId", "prjsid"),  # [C] [R]
    "status": ("StatusProdNm", "StatusProd_nm", "StatusProductionNm", "prjstatusprod_nm"),  # [I] [R]
    "billing_status": ("StatusBillNm", "StatusBill_nm", "StatusBillingNm", "prjstatusbill_nm"),  # [I] [R]
    "lead": ("ProjectLeadNm", "ProjectLead", "TeamLeadNm", "prjleadnm"),  # [I] [R]
    "start_date": ("StartDt", "prjstartdt"),  # [C] [R]
    "end_date": ("EndDt", "prjenddt"),  # [C] [R]
    "inactive": ("IsInactive", "prjinactive"),  # [C] [R]
    # status ids (the project list answers ids; names come from the "Field Values" lists)
    "status_id": ("StatusProd",),  # [C]
    "billing_status_id": ("StatusBill",),  # [C]
    "modified": ("DtModified", "LastModified"),  # [P] [I]
    # budgets (task budgets, summed) and actuals
    "budget_hours": ("BudgetHours", "BudgetHrs", "budghrs"),  # [C] [P] [R]
    "budget_fees": ("BudgetFees", "budgfees"),  # [C] [P] [R]
    "budget_expenses": ("BudgetExps", "BudgetExpenses", "budgexps"),  # [C] [I]
    "actual_hours": ("HoursInput", "HrsIn", "InputHours", "inputhrs"),  # [C] [C] [P] [R]
    "actual_fees": ("FeesInput", "ChargeIn", "InputFees"),  # [C] [C] [P] [R] (the report's inputfees)
    "actual_expenses": ("ExpensesInput", "ExpCostIn", "InputExpenses", "inputexps"),  # [C] [C] [I] [R]
    "invoiced": ("InvoicedToDate", "InvoicedTotal"),  # [C] [R] (the report's invoicedtodate), [I]
    "wip": ("TotalWip", "WipTotal", "WIP"),  # [C] [C] [R] (the report's wiptotal), [I]
    # a project team member
    "team_lead": ("TeamLead", "IsTeamLead", "IsLead"),  # [C] [I]
    "staff_name": ("StaffNm", "StaffName", "FullNm"),  # [C] [I]
}


@dataclass
class Parsed:
    """What one row said: the figures read (converted), the ones absent, and the ones unreadable."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)  # figure -> what is wrong with its value
    recognised: bool = False  # some known name was present at all (else: a shape we do not know)

    def problem(self) -> str:
        return "; ".join(f"{figure}: {reason}" for figure, reason in self.bad.items())


def lowered(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's keys, lower-cased (BigTime's names are case-insensitive); the first spelling wins."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out.setdefault(str(key).lower(), value)
    return out


def names_of(figure: str, columns: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The names to look for: the mapping's own column first (report mode), then the alias table's."""
    own = (columns or {}).get(figure)
    return ((own,) if own else ()) + ALIASES.get(figure, ())


def read_row(
    row: Mapping[str, Any], figures: Iterable[str], columns: Mapping[str, str] | None = None
) -> Parsed:
    """Read ``figures`` from one BigTime row (a dict) through the alias table (``columns`` first)."""
    keys = lowered(row)
    parsed = Parsed()
    for figure in figures:
        name = next((n for n in names_of(figure, columns) if n.lower() in keys), None)
        if name is None:
            parsed.missing.append(figure)
            continue
        parsed.recognised = True
        raw = keys[name.lower()]
        try:
            parsed.values[figure] = raw_value(figure, raw)
        except ValueError as exc:
            parsed.bad[figure] = str(exc)
    return parsed


def raw_value(figure: str, raw: Any) -> Any:
    """Convert one value: the pull's internal names are ids, dates and flags; the rest are figures."""
    if figure in ("status_id", "billing_status_id"):
        return None if raw in (None, "", 0) else int(str(raw))
    if figure == "modified":
        return None if raw in (None, "") else str(raw)
    if figure == "team_lead":
        return convert("inactive", raw)  # the same reading of a flag
    if figure == "staff_name":
        return convert("lead", raw)
    return convert(figure, raw)


def describe_shape(row: Any, limit: int = 12) -> str:
    """A short description of a reply we could not read (its type, and some keys), for logs and metrics."""
    if isinstance(row, Mapping):
        keys = sorted(str(k) for k in row)
        more = f", … {len(keys) - limit} more" if len(keys) > limit else ""
        return f"an object with {', '.join(keys[:limit]) or 'no keys'}{more}"
    return f"a {type(row).__name__}"
