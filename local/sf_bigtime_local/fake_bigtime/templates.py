"""Project templates, and creating a project from one.

The endpoint index names ``GET /project/Templates`` and ``GET/POST/DELETE /project/Template``; what they
do is [Unknown]. The fake's assumption:

* A template is ``{SystemId, Nm, TypeId, Notes, TaskList}``; ``TaskList`` holds task bodies
  (``TaskNm, TaskGroup, TaskId, TaskType, Notes, BudgetHours, BudgetFees, BudgetExps, NoCharge``).
* ``GET /project/Templates`` lists ``{SystemId, Nm, TypeId, Notes, TaskCount}`` by name;
  ``GET /project/Template/{id}`` (or ``?id=``) gives one with its ``TaskList``; ``POST /project/Template``
  creates one (``Nm`` required; tasks are validated like ``POST /task/detail``), ``DELETE`` removes it.
* ``POST /project/detail`` with the template's id in the field named by ``template_field`` (default
  ``TemplateId``; matched case-insensitively) creates the project and then copies the template's tasks
  with their budgets (new TaskSids). The template's ``TypeId`` applies when the body sets none. An unknown
  template id is a 400 and nothing is created. With ``template_field=None`` the field is ignored like any
  unknown field, which is what a client would see if the real name differs: a project without tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import FieldSpec, bad_request, ci, coerce, not_found, parse_update, text, update_view
from .store import Store
from .tasks import TASK_UPDATE, Tasks
from .wire import Reply, Route, json_body, path_or_query_id

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]

TEMPLATE_UPDATE = update_view(
    FieldSpec("Nm", "str"),
    FieldSpec("TypeId", "int", lookup="LookupProjectType"),
    FieldSpec("Notes", "str"),
)
_TEMPLATE_TASK_FIELDS = (
    "TaskNm",
    "TaskGroup",
    "TaskId",
    "TaskType",
    "Notes",
    "BudgetHours",
    "BudgetFees",
    "BudgetExps",
    "NoCharge",
)
TEMPLATE_TASK = {key: spec for key, spec in TASK_UPDATE.items() if spec.name in _TEMPLATE_TASK_FIELDS}


class Templates:
    """The firm's project templates."""

    def __init__(self, store: Store, tasks: Tasks, templates: list[dict[str, Any]]) -> None:
        self.store = store
        self.tasks = tasks
        self.templates: dict[int, Record] = {}
        for data in templates:
            self.create(data)

    def template(self, sid: int) -> Record:
        """A template's record (404 if unknown)."""
        if sid not in self.templates:
            raise not_found("Template", sid)
        return self.templates[sid]

    def _task(self, body: Any, n: int) -> Record:
        task = parse_update(body, TEMPLATE_TASK, "template task")
        if not text(task.get("TaskNm")):
            raise bad_request(f"TaskList[{n}]: the field 'TaskNm' is required.")
        for name in ("BudgetHours", "BudgetFees", "BudgetExps"):
            if (task.get(name) or 0) < 0:
                raise bad_request(f"TaskList[{n}]: the field '{name}' must not be negative.")
        self.store.picklists.check_lookups(task, TEMPLATE_TASK)
        return task

    def create(self, body: Any) -> Record:
        """``POST /project/Template``: returns the template with its tasks."""
        fields = parse_update(body, TEMPLATE_UPDATE, "template")
        if not text(fields.get("Nm")):
            raise bad_request("The field 'Nm' is required.")
        self.store.picklists.check_lookups(fields, TEMPLATE_UPDATE)
        raw_tasks = ci(body).get("tasklist") or []
        if not isinstance(raw_tasks, list):
            raise bad_request("The field 'TaskList' must be a list of tasks.")
        task_list = [self._task(item, n) for n, item in enumerate(raw_tasks)]
        codes = [text(t.get("TaskId")).lower() for t in task_list if text(t.get("TaskId"))]
        if len(codes) != len(set(codes)):
            raise bad_request("TaskList: the field 'TaskId' must be unique within the template.")
        sid = self.store.new_id("template")
        self.templates[sid] = {**fields, "SystemId": sid, "TaskList": task_list}
        return self.view(sid)

    def delete(self, sid: int) -> None:
        """``DELETE /project/Template/{id}`` (projects made from it keep their tasks)."""
        self.template(sid)
        del self.templates[sid]

    def view(self, sid: int) -> Record:
        """One template with its task list."""
        template = self.template(sid)
        tasks = [{name: task.get(name) for name in _TEMPLATE_TASK_FIELDS} for task in template["TaskList"]]
        return {**self._row(template), "TaskList": tasks}

    @staticmethod
    def _row(template: Record) -> Record:
        return {
            "SystemId": template["SystemId"],
            "Nm": template["Nm"],
            "TypeId": template.get("TypeId"),
            "Notes": template.get("Notes"),
            "TaskCount": len(template["TaskList"]),
        }

    def list(self) -> list[Record]:
        """``GET /project/Templates``: by name."""
        rows = [self._row(t) for t in self.templates.values()]
        return sorted(rows, key=lambda r: (r["Nm"].lower(), r["SystemId"]))

    def create_project(self, body: Any) -> Record:
        """``POST /project/detail``, honouring the template field: the project, then the copied tasks."""
        field = self.store.config.template_field
        if field is None or not isinstance(body, dict):
            return self.store.create_project(body)
        keys = [k for k in body if str(k).lower() == field.lower()]
        template_sid = coerce(FieldSpec(field, "int"), body[keys[0]]) if keys else None
        if not template_sid:  # absent, null or 0: an ordinary create
            return self.store.create_project(body)
        if template_sid not in self.templates:
            raise bad_request(f"The field '{field}' refers to template {template_sid}, which does not exist.")
        template = self.templates[template_sid]
        project_body = {k: v for k, v in body.items() if k not in keys}
        if "typeid" not in ci(project_body) and template.get("TypeId"):
            project_body["TypeId"] = template["TypeId"]
        created = self.store.create_project(project_body)
        sid = created["SystemId"]
        for task in template["TaskList"]:
            self.tasks.create({**task, "ProjectSid": sid})
        return self.store.project_view(sid, detailed=True, show_all_contacts=True)


# ------------------------------------------------------------------------------------------- routes


def _list(firm: Firm, _r: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.templates.list()


def _get(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.templates.view(path_or_query_id(request, params, "template's SystemId"))


def _create(firm: Firm, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
    return 200, firm.templates.create(json_body(request))


def _delete(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    firm.templates.delete(path_or_query_id(request, params, "template's SystemId"))
    return 204, None


ROUTES = [
    Route("GET", "/project/templates", _list, "template.view", filtered=True),
    Route("GET", "/project/template/{id}", _get, "template.view"),
    Route("GET", "/project/template", _get, "template.view"),
    Route("POST", "/project/template", _create, "template.create"),
    Route("DELETE", "/project/template/{id}", _delete, "template.delete"),
    Route("DELETE", "/project/template", _delete, "template.delete"),
]
