"""A project's figures: budgets (from its tasks) against actuals (logged time and expenses), WIP and
invoiced to date. They feed ``GET /task/BudgetStatusByProject/{id}``, the Detailed project view and
the saved reports.

``BudgetStatusByProject`` answers one row per task (archived tasks too) plus, when work was logged
without a task or an invoice carries a fixed amount, a row with ``TaskSid: 0`` and ``TaskNm: null``.
Each row: ``TaskSid, TaskNm, ProjectSid, BudgetHours, BudgetFees, BudgetExps`` and the figures below,
named by ``figure_names`` (the shape is [Unknown]: public code reads ``HoursInput, HoursBill,
FeesInput, FeesCost, ExpensesInput, ExpensesBillable, TotalWip`` in one client and ``HrsIn, ChargeIn,
FeeCostIn, ExpCostIn, WipTotal, InvoicedToDate`` in another; the presets "standard" and "legacy"
answer with either, a mapping with any mix):

====================  =================================================================
HoursInput            hours logged
HoursBill             billable hours
FeesInput             billable value of the time (ChargeBillable)
FeesCost              cost of the time (hours x cost rate)
ExpensesInput         expenses spent (CostIN)
ExpensesBillable      billable expenses (CostBill)
TotalWip              billable time and expenses not yet invoiced
InvoicedToDate        billed on invoices (the project's total also counts fixed amounts)
HoursRemaining        BudgetHours - HoursInput
FeesRemaining         BudgetFees - FeesInput
====================  =================================================================

The Detailed project view gains ``BudgetHours, BudgetFees, BudgetExps`` (task budgets summed) and
``InputHours, InputFees`` (names seen in a real project response; [Weak]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .config import FIGURES
from .invoices import Invoices
from .store import ProjectHooks, Store
from .tasks import Tasks
from .timesheet import Timesheet, money
from .wire import Reply, Route

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]
BUDGETS = ("BudgetHours", "BudgetFees", "BudgetExps")


def _in_range(dt: str, begin: str | None, end: str | None) -> bool:
    return (begin is None or dt >= begin) and (end is None or dt <= end)


class Figures(ProjectHooks):
    """Computes figures on demand from tasks, time, expenses and invoices (nothing is cached)."""

    def __init__(self, store: Store, tasks: Tasks, timesheet: Timesheet, invoices: Invoices) -> None:
        self.store = store
        self.tasks = tasks
        self.timesheet = timesheet
        self.invoices = invoices

    def _actuals(self, project_sid: int, begin: str | None, end: str | None) -> dict[int, Record]:
        """Canonical actuals per TaskSid (0 = no task) from the work dated in ``[begin, end]``."""
        sheet = self.timesheet
        out: dict[int, Record] = {}

        def bucket(task_sid: int | None) -> Record:
            return out.setdefault(task_sid or 0, dict.fromkeys(FIGURES, 0.0))

        for entry in sheet.counted_time(project_sid):
            if not _in_range(entry["Dt"], begin, end):
                continue
            row, charges = bucket(entry.get("TaskSID")), sheet.charges(entry)
            row["HoursInput"] += entry["Hours_IN"]
            row["HoursBill"] += charges["HoursBillable"]
            row["FeesInput"] += charges["ChargeBillable"]
            row["FeesCost"] += charges["Cost"]
            billed = "InvoicedToDate" if entry["InvoiceSID"] is not None else "TotalWip"
            row[billed] += charges["ChargeBillable"]
        for expense in sheet.project_expenses(project_sid):
            if not _in_range(expense["Dt"], begin, end):
                continue
            row, bill = bucket(expense.get("TaskSID")), sheet.expense_charges(expense)["CostBill"]
            row["ExpensesInput"] += expense["CostIN"]
            row["ExpensesBillable"] += bill
            row["InvoicedToDate" if expense["InvoiceSID"] is not None else "TotalWip"] += bill
        for invoice in self.invoices.of_project(project_sid):  # fixed amounts belong to no task
            if invoice["AmountOther"] and _in_range(invoice["InvoiceDt"], begin, end):
                bucket(None)["InvoicedToDate"] += invoice["AmountOther"]
        return out

    @staticmethod
    def _finish(row: Record, budgets: Record) -> Record:
        """Add the budgets and the remaining figures; round money and hours."""
        row = {**row, **budgets}
        row["HoursRemaining"] = row["BudgetHours"] - row["HoursInput"]
        row["FeesRemaining"] = row["BudgetFees"] - row["FeesInput"]
        return {name: money(value) for name, value in row.items()}

    def budgets(self, project_sid: int, task_sid: int | None = None) -> Record:
        """Budget hours, fees and expenses of one task, or of all the project's tasks summed."""
        tasks = self.tasks.of_project(project_sid)
        if task_sid is not None:
            tasks = [t for t in tasks if t["TaskSid"] == task_sid]
        return {name: money(sum((t.get(name) or 0.0 for t in tasks), 0.0)) for name in BUDGETS}

    def project(self, project_sid: int, begin: str | None = None, end: str | None = None) -> Record:
        """The project's canonical figures (budgets, actuals in ``[begin, end]``, remaining)."""
        self.store.project(project_sid)
        total = dict.fromkeys(FIGURES, 0.0)
        for row in self._actuals(project_sid, begin, end).values():
            for name in FIGURES:
                total[name] += row[name]
        return self._finish(total, self.budgets(project_sid))

    def _named(self, figures: Record) -> Record:
        """Canonical figure names → the configured wire names (budgets keep theirs)."""
        return {
            (self.store.config.figure_name(name) if name in FIGURES else name): value
            for name, value in figures.items()
        }

    def budget_status(self, project_sid: int) -> list[Record]:
        """``GET /task/BudgetStatusByProject/{projectsid}``: a row per task (+ the no-task row)."""
        self.store.project(project_sid)
        actuals = self._actuals(project_sid, None, None)
        rows = []
        for task in self.tasks.of_project(project_sid):
            tsid = task["TaskSid"]
            figures = self._finish(
                actuals.get(tsid, dict.fromkeys(FIGURES, 0.0)), self.budgets(project_sid, tsid)
            )
            head = {"TaskSid": tsid, "TaskNm": task["TaskNm"], "ProjectSid": project_sid}
            rows.append({**head, **self._named(figures)})
        if 0 in actuals:
            budgets = dict.fromkeys(BUDGETS, 0.0)
            head = {"TaskSid": 0, "TaskNm": None, "ProjectSid": project_sid}
            rows.append({**head, **self._named(self._finish(actuals[0], budgets))})
        return rows

    def extend_project_view(self, project_sid: int, view: Record) -> None:
        figures = self.project(project_sid)
        view.update({name: figures[name] for name in BUDGETS})
        view["InputHours"] = figures["HoursInput"]
        view["InputFees"] = figures["FeesInput"]


def _budget_status(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.figures.budget_status(int(params["id"]))


ROUTES = [Route("GET", "/task/budgetstatusbyproject/{id}", _budget_status, "task.view")]
