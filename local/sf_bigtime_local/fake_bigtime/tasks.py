"""Tasks: where BigTime keeps a project's budget (hours, fees, expenses).

Routes ([Doc] Task page; names from public client code): ``GET /task/listByProject/{ProjectSid}``
(also ``?id=``) with ``ShowCompleted=``, ``GET /task/detail/{id}``, ``POST /task/detail`` (create),
``POST /task/detail/{id}`` (update), ``DELETE /task/detail/{id}``, and the pick lists
``GET /picklist/TaskStatus``, ``GET /picklist/TasksByProject/{id}`` and ``/picklist/AllTasksByProject/{id}``.
``GET /task/BudgetStatusByProject/{id}`` lives in :mod:`.figures`.

Fields follow the public typed client: ``TaskSid, ProjectSid, TaskNm, TaskGroup, TaskId`` (the task
code), ``TaskType`` (+``TaskType_nm``), ``CurrentStatus`` (+``CurrentStatus_nm``), ``Priority, Notes,
StartDt, DueDt, BudgetHours, BudgetFees, BudgetExps, BudgetTotal, PerComp, IsArchived, ParentSid,
NoCharge, AssignmentList`` (``[{Sid, Nm}]``; a POST may send ids or those objects).

Assumptions ([Unknown]: BigTime does not document them, docs/decisions.md#what-we-assume-about-bigtime), the stricter way:

* Create needs ``TaskNm`` and an existing ``ProjectSid`` (400 naming the field otherwise; an unknown
  project on a read is a 404). A task cannot move to another project.
* ``TaskType`` must be an active ``LookupTaskType`` id and ``CurrentStatus`` an active ``TaskStatus``
  id; budgets must not be negative; ``PerComp`` is 0…100; ``DueDt`` not before ``StartDt``.
* ``TaskId`` (the code) is unique within a project, compared case-insensitively.
* ``ParentSid`` names another task of the same project, never the task itself or one of its subtasks.
* ``AssignmentList`` holds active staffers.
* "Completed" means ``IsArchived``: ``listByProject`` leaves archived tasks out unless
  ``ShowCompleted=true``.
* A task with logged time or expenses, or with subtasks, cannot be deleted (400).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import (
    FieldSpec,
    bad_request,
    check_dates,
    not_found,
    parse_update,
    pick,
    text,
    update_view,
)
from .staff import Staff
from .store import ProjectHooks, Store
from .wire import Reply, Route, bool_arg, json_body, path_or_query_id

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]

TASK_UPDATE = update_view(
    FieldSpec("ProjectSid", "int"),
    FieldSpec("TaskNm", "str"),
    FieldSpec("TaskGroup", "str"),
    FieldSpec("TaskId", "str"),
    FieldSpec("TaskType", "int", lookup="LookupTaskType"),
    FieldSpec("CurrentStatus", "int", lookup="TaskStatus"),
    FieldSpec("Priority", "str"),
    FieldSpec("Notes", "str"),
    FieldSpec("StartDt", "date"),
    FieldSpec("DueDt", "date"),
    FieldSpec("BudgetHours", "num"),
    FieldSpec("BudgetFees", "num"),
    FieldSpec("BudgetExps", "num"),
    FieldSpec("PerComp", "num"),
    FieldSpec("IsArchived", "bool"),
    FieldSpec("ParentSid", "int"),
    FieldSpec("NoCharge", "bool"),
    FieldSpec("AssignmentList", "intlist"),
)

TASK_FIELDS = (
    "TaskSid",
    "ProjectSid",
    "TaskNm",
    "TaskGroup",
    "FullName",
    "TaskId",
    "TaskType",
    "TaskType_nm",
    "CurrentStatus",
    "CurrentStatus_nm",
    "Priority",
    "Notes",
    "StartDt",
    "DueDt",
    "BudgetHours",
    "BudgetFees",
    "BudgetExps",
    "BudgetTotal",
    "PerComp",
    "IsArchived",
    "ParentSid",
    "NoCharge",
    "AssignCount",
    "AssignmentList",
    "AssignmentNames",
)


class Tasks(ProjectHooks):
    """Every project's tasks and the rules for writing them."""

    def __init__(self, store: Store, staff: Staff) -> None:
        self.store = store
        self.staff = staff
        self.tasks: dict[int, Record] = {}
        # Checks other modules add (logged time, expenses): raise an ApiError to refuse a task delete.
        self.delete_checks: list[Callable[[int], None]] = []

    def task(self, tsid: int) -> Record:
        """A task's record (404 if unknown)."""
        if tsid not in self.tasks:
            raise not_found("Task", tsid)
        return self.tasks[tsid]

    def of_project(self, project_sid: int) -> list[Record]:
        """A project's task records by TaskSid (archived ones too)."""
        return [t for _, t in sorted(self.tasks.items()) if t["ProjectSid"] == project_sid]

    def _check(self, task: Record, tsid: int | None) -> None:
        """Rules over the merged task (create: tsid None)."""
        if not text(task.get("TaskNm")):
            raise bad_request("The field 'TaskNm' is required.")
        for name in ("BudgetHours", "BudgetFees", "BudgetExps"):
            if (task.get(name) or 0) < 0:
                raise bad_request(f"The field '{name}' must not be negative.")
        if not 0 <= (task.get("PerComp") or 0) <= 100:
            raise bad_request("The field 'PerComp' must be between 0 and 100.")
        check_dates(task, "StartDt", "DueDt")
        code = text(task.get("TaskId")).lower()
        project_sid = task["ProjectSid"]
        if code and any(
            sid != tsid and t["ProjectSid"] == project_sid and text(t.get("TaskId")).lower() == code
            for sid, t in self.tasks.items()
        ):
            raise bad_request(f"The field 'TaskId' must be unique within the project: '{code}' is used.")
        self._check_parent(task.get("ParentSid"), project_sid, tsid)
        for sid in task.get("AssignmentList") or []:
            self.staff.check_active(sid, "AssignmentList")

    def _check_parent(self, parent: int | None, project_sid: int, tsid: int | None) -> None:
        seen = set()
        while parent:  # None or 0: no parent
            other = self.tasks.get(parent)
            if other is None or other["ProjectSid"] != project_sid:
                raise bad_request(
                    f"The field 'ParentSid' refers to task {parent}, not a task of this project."
                )
            if parent == tsid or parent in seen:
                raise bad_request("The field 'ParentSid' would make the task its own parent.")
            seen.add(parent)
            parent = other.get("ParentSid")

    def create(self, body: Any) -> Record:
        """``POST /task/detail``: returns the new task's view."""
        fields = parse_update(body, TASK_UPDATE, "task")
        project_sid = fields.get("ProjectSid")
        if not text(fields.get("TaskNm")):
            raise bad_request("The field 'TaskNm' is required.")
        if project_sid is None:
            raise bad_request("The field 'ProjectSid' is required.")
        if project_sid not in self.store.projects:
            raise bad_request(
                f"The field 'ProjectSid' refers to project {project_sid}, which does not exist."
            )
        self.store.picklists.check_lookups(fields, TASK_UPDATE)
        task = {"IsArchived": False, "NoCharge": False, "AssignmentList": [], **fields}
        self._check(task, None)
        tsid = self.store.new_id("task")
        self.tasks[tsid] = {**task, "TaskSid": tsid}
        return self.view(tsid)

    def update(self, tsid: int, body: Any) -> Record:
        """``POST /task/detail/{id}``: merge the given fields."""
        current = self.task(tsid)
        fields = parse_update(body, TASK_UPDATE, "task")
        if fields.get("ProjectSid") not in (None, current["ProjectSid"]):
            raise bad_request("The field 'ProjectSid': a task cannot be moved to another project.")
        fields.pop("ProjectSid", None)
        self.store.picklists.check_lookups(fields, TASK_UPDATE)
        merged = {**current, **fields}
        if merged.get("AssignmentList") is None:
            merged["AssignmentList"] = []
        self._check(merged, tsid)
        self.tasks[tsid] = merged
        return self.view(tsid)

    def delete(self, tsid: int) -> None:
        """``DELETE /task/detail/{id}``: refused with subtasks or logged work."""
        self.task(tsid)
        if any(t.get("ParentSid") == tsid for t in self.tasks.values()):
            raise bad_request(f"Task {tsid} has subtasks; delete or move them first.")
        for check in self.delete_checks:
            check(tsid)
        del self.tasks[tsid]

    def view(self, tsid: int) -> Record:
        """A task with its computed fields (BudgetTotal = fees + expenses)."""
        task = self.task(tsid)
        picklists = self.store.picklists
        assigned = task.get("AssignmentList") or []
        group = text(task.get("TaskGroup"))
        data = {
            **task,
            "FullName": f"{group}:{task['TaskNm']}" if group else task["TaskNm"],
            "TaskType_nm": picklists.name_of("LookupTaskType", task.get("TaskType")),
            "CurrentStatus_nm": picklists.name_of("TaskStatus", task.get("CurrentStatus")),
            "BudgetTotal": (task.get("BudgetFees") or 0.0) + (task.get("BudgetExps") or 0.0),
            "AssignCount": len(assigned),
            "AssignmentList": [{"Sid": sid, "Nm": self.staff.full_name(sid)} for sid in assigned],
            "AssignmentNames": ", ".join(self.staff.full_name(sid) or "" for sid in assigned) or None,
        }
        return pick(data, TASK_FIELDS)

    def list(self, project_sid: int, show_completed: bool) -> list[Record]:
        """``GET /task/listByProject/{projectsid}``: archived (completed) tasks only on request."""
        self.store.project(project_sid)
        return [
            self.view(t["TaskSid"])
            for t in self.of_project(project_sid)
            if show_completed or not t.get("IsArchived")
        ]

    def picklist(self, project_sid: int, show_completed: bool) -> list[Record]:
        """``GET /picklist/[All]TasksByProject/{id}``: ``{Id, Name, Group}`` by name."""
        self.store.project(project_sid)
        rows = [
            {"Id": t["TaskSid"], "Name": t["TaskNm"], "Group": t.get("TaskGroup")}
            for t in self.of_project(project_sid)
            if show_completed or not t.get("IsArchived")
        ]
        return sorted(rows, key=lambda r: (r["Name"].lower(), r["Id"]))

    def drop_project(self, project_sid: int) -> None:
        for tsid in [t["TaskSid"] for t in self.of_project(project_sid)]:
            del self.tasks[tsid]


# ------------------------------------------------------------------------------------------- routes


def _list(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    project_sid = path_or_query_id(request, params, "project's SystemId")
    return 200, firm.tasks.list(project_sid, bool_arg(request, "ShowCompleted"))


def _get(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.tasks.view(int(params["id"]))


def _create(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.tasks.create(json_body(request))


def _update(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.tasks.update(int(params["id"]), json_body(request))


def _delete(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    firm.tasks.delete(int(params["id"]))
    return 204, None


def _task_status(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.picklists.field_values("TaskStatus", bool_arg(request, "ShowInactive"))


def _picklist(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.tasks.picklist(int(params["id"]), show_completed=False)


def _picklist_all(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.tasks.picklist(int(params["id"]), show_completed=True)


ROUTES = [
    Route("GET", "/task/listbyproject/{id}", _list, "task.view"),
    Route("GET", "/task/listbyproject", _list, "task.view"),
    Route("GET", "/task/detail/{id}", _get, "task.view"),
    Route("POST", "/task/detail", _create, "task.create"),
    Route("POST", "/task/detail/{id}", _update, "task.update"),
    Route("DELETE", "/task/detail/{id}", _delete, "task.delete"),
    Route("GET", "/picklist/taskstatus", _task_status),
    Route("GET", "/picklist/tasksbyproject/{id}", _picklist, "task.view", filtered=True),
    Route("GET", "/picklist/alltasksbyproject/{id}", _picklist_all, "task.view", filtered=True),
]
