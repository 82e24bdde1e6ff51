"""Logged work: time entries and expenses, the actuals behind the budget status, WIP and reports.

Time ([Doc] Time page; fields from the public typed client): ``POST /time?MarkSubmitted=`` (create),
``POST /time/{sid}?MarkSubmitted=`` (update), ``GET /time/{sid}``, ``DELETE /time/{sid}``,
``GET /time/ByProject/{projectsid}?StartDt=&EndDt=`` and ``GET /time/Sheet/{staffsid}?StartDt=&EndDt=``.
Fields: ``SID, Dt, ProjectSID, StaffSID, TaskSID, BudgCatID, Hours_IN, Notes, NoCharge, HoursBillable,
BillRate, ChargeBillable, CostRate`` (+ read-only ``ProjectNm, ClientID, ClientNm, FName, SName, TaskNm,
InvoiceSID, IsInvoiced``). As documented, an unsubmitted entry has a **negative** SID, and submitting
it (``MarkSubmitted=true``) gives it a new positive SID: the id changes under the caller.

Expenses (routes [Unknown]; they follow the ``/x/detail`` pattern): ``POST /expense/detail[/{id}]``,
``GET``/``DELETE /expense/detail/{id}``, ``GET /expense/ByProject/{projectsid}``. Fields: ``SID, Dt,
ProjectSID, StaffSID, TaskSID, CatID, CostIN`` (amount spent), ``CostBill`` (billable amount),
``NoCharge, Notes`` (+ ``InvoiceSID, IsInvoiced``).

Assumptions ([Unknown]: BigTime does not document them, docs/decisions.md#what-we-assume-about-bigtime):

* ``Dt``, ``ProjectSID`` and ``Hours_IN`` (0 < hours <= 24) / ``CostIN`` (>= 0) are required; the
  project must be active, the task (if any) one of its tasks and not archived; ``StaffSID`` defaults
  to the caller's staffer and must be an active staffer.
* Charges: ``NoCharge`` on the entry, its task or its project (``IsNoCharge``) makes it non-billable.
  Otherwise ``HoursBillable`` defaults to ``Hours_IN``, ``BillRate`` to the staffer's ``Rate1``,
  ``ChargeBillable`` to hours x rate, ``CostRate`` to the staffer's ``CostRate``; ``CostBill`` to
  ``CostIN``. Values given in the body win.
* Invoiced entries cannot be changed or deleted (400). A project with logged work cannot be deleted.
* Unsubmitted time counts in the figures unless ``actuals_include_unsubmitted`` is false; only
  submitted time can be invoiced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import ApiError, FieldSpec, bad_request, not_found, parse_update, pick, update_view
from .staff import Staff
from .store import ProjectHooks, Store
from .tasks import Tasks
from .wire import Reply, Route, bool_arg, date_arg, json_body

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]

TIME_UPDATE = update_view(
    FieldSpec("Dt", "date"),
    FieldSpec("ProjectSID", "int"),
    FieldSpec("StaffSID", "int"),
    FieldSpec("TaskSID", "int"),
    FieldSpec("BudgCatID", "int"),
    FieldSpec("Hours_IN", "num"),
    FieldSpec("Notes", "str"),
    FieldSpec("NoCharge", "bool"),
    FieldSpec("HoursBillable", "num"),
    FieldSpec("BillRate", "num"),
    FieldSpec("ChargeBillable", "num"),
    FieldSpec("CostRate", "num"),
)
EXPENSE_UPDATE = update_view(
    FieldSpec("Dt", "date"),
    FieldSpec("ProjectSID", "int"),
    FieldSpec("StaffSID", "int"),
    FieldSpec("TaskSID", "int"),
    FieldSpec("CatID", "int"),
    FieldSpec("CostIN", "num"),
    FieldSpec("CostBill", "num"),
    FieldSpec("NoCharge", "bool"),
    FieldSpec("Notes", "str"),
)
TIME_FIELDS = (
    "SID",
    "Dt",
    "ProjectSID",
    "ProjectNm",
    "ClientID",
    "ClientNm",
    "StaffSID",
    "FName",
    "SName",
    "TaskSID",
    "TaskNm",
    "BudgCatID",
    "Hours_IN",
    "Notes",
    "NoCharge",
    "HoursBillable",
    "BillRate",
    "ChargeBillable",
    "CostRate",
    "InvoiceSID",
    "IsInvoiced",
    "DtCreated",
    "DtModified",
)
EXPENSE_FIELDS = (
    "SID",
    "Dt",
    "ProjectSID",
    "ProjectNm",
    "StaffSID",
    "TaskSID",
    "TaskNm",
    "CatID",
    "CostIN",
    "CostBill",
    "NoCharge",
    "Notes",
    "InvoiceSID",
    "IsInvoiced",
    "DtCreated",
    "DtModified",
)


def money(value: float) -> float:
    """Round to cents, as BigTime's decimal fields would."""
    return round(value + 0.0, 2)


class Timesheet(ProjectHooks):
    """Time entries and expenses of the firm (``entries``: SID → record, ``expenses`` likewise)."""

    def __init__(self, store: Store, tasks: Tasks, staff: Staff) -> None:
        self.store = store
        self.tasks = tasks
        self.staff = staff
        self.entries: dict[int, Record] = {}
        self.expenses: dict[int, Record] = {}
        self._next_unsubmitted = -1
        tasks.delete_checks.append(self._check_task_unused)

    # ----------------------------------------------------------------- shared

    def _check_refs(self, record: Record, default_staff: int | None) -> None:
        """Project (active), task (of the project, not archived) and staffer (active) of an entry."""
        project_sid = record.get("ProjectSID")
        if project_sid is None:
            raise bad_request("The field 'ProjectSID' is required.")
        project = self.store.projects.get(project_sid)
        if project is None:
            raise bad_request(
                f"The field 'ProjectSID' refers to project {project_sid}, which does not exist."
            )
        if project.get("IsInactive"):
            raise bad_request(f"The field 'ProjectSID': project {project_sid} is inactive.")
        if record.get("TaskSID"):
            task = self.tasks.tasks.get(record["TaskSID"])
            if task is None or task["ProjectSid"] != project_sid:
                raise bad_request(
                    f"The field 'TaskSID': task {record['TaskSID']} is not a task of the project."
                )
            if task.get("IsArchived"):
                raise bad_request(f"The field 'TaskSID': task {record['TaskSID']} is archived.")
        else:
            record["TaskSID"] = None
        if record.get("StaffSID") is None:
            record["StaffSID"] = default_staff
        self.staff.check_active(record.get("StaffSID"), "StaffSID")
        if not record.get("Dt"):
            raise bad_request("The field 'Dt' is required.")

    def _no_charge(self, record: Record) -> bool:
        task = self.tasks.tasks.get(record.get("TaskSID") or 0, {})
        project = self.store.projects.get(record["ProjectSID"], {})
        return bool(record.get("NoCharge") or task.get("NoCharge") or project.get("IsNoCharge"))

    def _names(self, record: Record) -> Record:
        project = self.store.projects.get(record["ProjectSID"], {})
        client = self.store.clients.get(project.get("ClientId"), {})
        task = self.tasks.tasks.get(record.get("TaskSID") or 0, {})
        staffer = self.staff.staff.get(record["StaffSID"], {})
        return {
            "ProjectNm": project.get("Nm"),
            "ClientID": project.get("ClientId"),
            "ClientNm": client.get("Nm"),
            "TaskNm": task.get("TaskNm"),
            "FName": staffer.get("FName"),
            "SName": staffer.get("SName"),
            "IsInvoiced": record.get("InvoiceSID") is not None,
        }

    @staticmethod
    def _in_range(record: Record, begin: str | None, end: str | None) -> bool:
        return (begin is None or record["Dt"] >= begin) and (end is None or record["Dt"] <= end)

    def _check_task_unused(self, tsid: int) -> None:
        if any(e.get("TaskSID") == tsid for e in (*self.entries.values(), *self.expenses.values())):
            raise bad_request(f"Task {tsid} has time or expenses logged and cannot be deleted.")

    def check_delete_project(self, project_sid: int) -> None:
        if any(e["ProjectSID"] == project_sid for e in (*self.entries.values(), *self.expenses.values())):
            raise bad_request(f"Project {project_sid} has time entries or expenses and cannot be deleted.")

    # ------------------------------------------------------------------- time

    def entry(self, sid: int) -> Record:
        """A time entry's record (404 if unknown)."""
        if sid not in self.entries:
            raise not_found("Time entry", sid)
        return self.entries[sid]

    def charges(self, entry: Record) -> Record:
        """The billing figures of a time entry: given values, else the documented defaults."""
        rates = self.staff.staff.get(entry["StaffSID"], {})
        hours = entry["Hours_IN"]
        if self._no_charge(entry):
            billable, rate, charge = 0.0, entry.get("BillRate") or 0.0, 0.0
        else:
            billable = entry["HoursBillable"] if entry.get("HoursBillable") is not None else hours
            rate = entry["BillRate"] if entry.get("BillRate") is not None else rates.get("Rate1") or 0.0
            given = entry.get("ChargeBillable")
            charge = given if given is not None else billable * rate
        cost_rate = entry["CostRate"] if entry.get("CostRate") is not None else rates.get("CostRate") or 0.0
        return {
            "HoursBillable": billable,
            "BillRate": rate,
            "ChargeBillable": money(charge),
            "CostRate": cost_rate,
            "Cost": money(hours * cost_rate),
        }

    def time_view(self, sid: int) -> Record:
        """A time entry as ``GET /time/{sid}`` answers it."""
        entry = self.entry(sid)
        data = {**entry, **self.charges(entry), **self._names(entry), "SID": sid}
        return pick(data, TIME_FIELDS)

    def _check_time(self, entry: Record, default_staff: int | None) -> None:
        self._check_refs(entry, default_staff)
        hours = entry.get("Hours_IN")
        if hours is None:
            raise bad_request("The field 'Hours_IN' is required.")
        if not 0 < hours <= 24:
            raise bad_request("The field 'Hours_IN' must be more than 0 and at most 24.")
        for name in ("HoursBillable", "BillRate", "ChargeBillable", "CostRate"):
            if (entry.get(name) or 0) < 0:
                raise bad_request(f"The field '{name}' must not be negative.")

    def _submit(self, sid: int) -> int:
        """Give an unsubmitted (negative) entry its permanent id; returns the id it now has."""
        if sid > 0:
            return sid
        new_sid = self.store.new_id("time")
        self.entries[new_sid] = self.entries.pop(sid)
        return new_sid

    def create_time(self, body: Any, default_staff: int | None, submit: bool) -> Record:
        """``POST /time``: a new entry, unsubmitted (negative SID) unless ``MarkSubmitted``."""
        entry = parse_update(body, TIME_UPDATE, "time entry")
        self._check_time(entry, default_staff)
        now = self.store.now()
        sid = self._next_unsubmitted
        self._next_unsubmitted -= 1
        self.entries[sid] = {**entry, "InvoiceSID": None, "DtCreated": now, "DtModified": now}
        return self.time_view(self._submit(sid) if submit else sid)

    def update_time(self, sid: int, body: Any, submit: bool) -> Record:
        """``POST /time/{sid}``: merge; invoiced entries are locked."""
        current = self.entry(sid)
        if current["InvoiceSID"] is not None:
            raise bad_request(
                f"Time entry {sid} is on invoice {current['InvoiceSID']} and cannot be changed."
            )
        merged = {**current, **parse_update(body, TIME_UPDATE, "time entry")}
        self._check_time(merged, current["StaffSID"])
        merged["DtModified"] = self.store.now()
        self.entries[sid] = merged
        return self.time_view(self._submit(sid) if submit else sid)

    def delete_time(self, sid: int) -> None:
        """``DELETE /time/{sid}``: invoiced entries are locked."""
        if self.entry(sid)["InvoiceSID"] is not None:
            raise bad_request(f"Time entry {sid} is invoiced and cannot be deleted.")
        del self.entries[sid]

    def list_time(
        self,
        *,
        project_sid: int | None = None,
        staff_sid: int | None = None,
        begin: str | None,
        end: str | None,
    ) -> list[Record]:
        """Entries of a project or a staffer, by date then SID, within ``[begin, end]``."""
        if project_sid is not None:
            self.store.project(project_sid)
        if staff_sid is not None:
            self.staff.staffer(staff_sid)
        rows = [
            (e["Dt"], sid)
            for sid, e in self.entries.items()
            if (project_sid is None or e["ProjectSID"] == project_sid)
            and (staff_sid is None or e["StaffSID"] == staff_sid)
            and self._in_range(e, begin, end)
        ]
        return [self.time_view(sid) for _, sid in sorted(rows)]

    def counted_time(self, project_sid: int) -> list[Record]:
        """A project's entries that count in its figures (``actuals_include_unsubmitted``)."""
        include_unsubmitted = self.store.config.actuals_include_unsubmitted
        return [
            {**e, "SID": sid}
            for sid, e in sorted(self.entries.items())
            if e["ProjectSID"] == project_sid and (sid > 0 or include_unsubmitted)
        ]

    # --------------------------------------------------------------- expenses

    def expense(self, sid: int) -> Record:
        """An expense's record (404 if unknown)."""
        if sid not in self.expenses:
            raise not_found("Expense", sid)
        return self.expenses[sid]

    def expense_charges(self, expense: Record) -> Record:
        """The billable amount of an expense: 0 if no-charge, else ``CostBill`` or ``CostIN``."""
        if self._no_charge(expense):
            return {"CostBill": 0.0}
        given = expense.get("CostBill")
        return {"CostBill": money(given if given is not None else expense["CostIN"])}

    def expense_view(self, sid: int) -> Record:
        """An expense as ``GET /expense/detail/{id}`` answers it."""
        expense = self.expense(sid)
        data = {**expense, **self.expense_charges(expense), **self._names(expense), "SID": sid}
        return pick(data, EXPENSE_FIELDS)

    def _check_expense(self, expense: Record, default_staff: int | None) -> None:
        self._check_refs(expense, default_staff)
        if expense.get("CostIN") is None:
            raise bad_request("The field 'CostIN' is required.")
        for name in ("CostIN", "CostBill"):
            if (expense.get(name) or 0) < 0:
                raise bad_request(f"The field '{name}' must not be negative.")

    def create_expense(self, body: Any, default_staff: int | None) -> Record:
        """``POST /expense/detail``."""
        expense = parse_update(body, EXPENSE_UPDATE, "expense")
        self._check_expense(expense, default_staff)
        now = self.store.now()
        sid = self.store.new_id("expense")
        self.expenses[sid] = {**expense, "InvoiceSID": None, "DtCreated": now, "DtModified": now}
        return self.expense_view(sid)

    def update_expense(self, sid: int, body: Any) -> Record:
        """``POST /expense/detail/{id}``: merge; invoiced expenses are locked."""
        current = self.expense(sid)
        if current["InvoiceSID"] is not None:
            raise bad_request(f"Expense {sid} is on invoice {current['InvoiceSID']} and cannot be changed.")
        merged = {**current, **parse_update(body, EXPENSE_UPDATE, "expense")}
        self._check_expense(merged, current["StaffSID"])
        merged["DtModified"] = self.store.now()
        self.expenses[sid] = merged
        return self.expense_view(sid)

    def delete_expense(self, sid: int) -> None:
        """``DELETE /expense/detail/{id}``."""
        if self.expense(sid)["InvoiceSID"] is not None:
            raise bad_request(f"Expense {sid} is invoiced and cannot be deleted.")
        del self.expenses[sid]

    def list_expenses(self, project_sid: int, begin: str | None, end: str | None) -> list[Record]:
        """``GET /expense/ByProject/{id}``: by date then SID."""
        self.store.project(project_sid)
        rows = [
            (e["Dt"], sid)
            for sid, e in self.expenses.items()
            if e["ProjectSID"] == project_sid and self._in_range(e, begin, end)
        ]
        return [self.expense_view(sid) for _, sid in sorted(rows)]

    def project_expenses(self, project_sid: int) -> list[Record]:
        """A project's expense records (with SID)."""
        return [
            {**e, "SID": sid} for sid, e in sorted(self.expenses.items()) if e["ProjectSID"] == project_sid
        ]


# ------------------------------------------------------------------------------------------- routes


def _staff(principal: Principal | None) -> int | None:
    return principal.staffsid if principal is not None else None


def _create_time(firm: Firm, request: Request, p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.timesheet.create_time(json_body(request), _staff(p), bool_arg(request, "MarkSubmitted"))


def _update_time(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    submit = bool_arg(request, "MarkSubmitted")
    return 200, firm.timesheet.update_time(int(params["id"]), json_body(request), submit)


def _get_time(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.timesheet.time_view(int(params["id"]))


def _delete_time(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    firm.timesheet.delete_time(int(params["id"]))
    return 204, None


def _range(request: Request) -> tuple[str | None, str | None]:
    begin, end = date_arg(request, "StartDt"), date_arg(request, "EndDt")
    if begin and end and end < begin:
        raise ApiError(400, "The value of 'EndDt' must not be before 'StartDt'.")
    return begin, end


def _time_by_project(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    begin, end = _range(request)
    return 200, firm.timesheet.list_time(project_sid=int(params["id"]), begin=begin, end=end)


def _time_sheet(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    begin, end = _range(request)
    return 200, firm.timesheet.list_time(staff_sid=int(params["id"]), begin=begin, end=end)


def _create_expense(firm: Firm, request: Request, p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.timesheet.create_expense(json_body(request), _staff(p))


def _update_expense(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.timesheet.update_expense(int(params["id"]), json_body(request))


def _get_expense(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.timesheet.expense_view(int(params["id"]))


def _delete_expense(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    firm.timesheet.delete_expense(int(params["id"]))
    return 204, None


def _expenses_by_project(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    begin, end = _range(request)
    return 200, firm.timesheet.list_expenses(int(params["id"]), begin, end)


ROUTES = [
    Route("POST", "/time", _create_time, "time.create"),
    Route("POST", "/time/{sid}", _update_time, "time.update"),
    Route("GET", "/time/{sid}", _get_time, "time.view"),
    Route("DELETE", "/time/{sid}", _delete_time, "time.delete"),
    Route("GET", "/time/byproject/{id}", _time_by_project, "time.view", filtered=True),
    Route("GET", "/time/sheet/{id}", _time_sheet, "time.view", filtered=True),
    Route("POST", "/expense/detail", _create_expense, "expense.create"),
    Route("POST", "/expense/detail/{id}", _update_expense, "expense.update"),
    Route("GET", "/expense/detail/{id}", _get_expense, "expense.view"),
    Route("DELETE", "/expense/detail/{id}", _delete_expense, "expense.delete"),
    Route("GET", "/expense/byproject/{id}", _expenses_by_project, "expense.view", filtered=True),
]
