"""BigTime in dicts: clients, projects, project contacts, custom fields, picklists, tasks, project
templates, staff and project teams."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from requests.structures import CaseInsensitiveDict

from sf_bigtime.clients.bigtime import BigTimeCallError, Record
from sf_bigtime.errors import PermanentError, SyncError
from tests.unit.sync.memory.faults import Faults

T = TypeVar("T")


def _rejected(message: str) -> PermanentError:
    return PermanentError(f"BigTime rejected the data (HTTP 400): {message}", code="bigtime_rejected")


def _not_found(what: str, sid: int) -> PermanentError:
    return PermanentError(f"BigTime {what} {sid}: not found in BigTime (HTTP 404)", code="bigtime_not_found")


def _same(a: Any, b: Any) -> bool:
    return str(a or "").strip().casefold() == str(b or "").strip().casefold()


# Staffers of the memory firm (as the fake BigTime seeds its own): id, e-mail, active.
STAFF = [
    {"StaffSID": 1, "FName": "Pat", "SName": "Admin", "EMail": "pat.admin@firm.test"},
    {"StaffSID": 2, "FName": "Olivia", "SName": "Owner", "EMail": "olivia.owner@acme.test"},
    {"StaffSID": 3, "FName": "Sam", "SName": "Rivera", "EMail": "sam.rivera@acme.test"},
    {"StaffSID": 4, "FName": "Morgan", "SName": "Gone", "EMail": "morgan@acme.test", "IsInactive": True},
]
TEMPLATES = [
    {
        "SystemId": 9001,
        "Nm": "Standard Implementation",
        "TaskList": [
            {"TaskNm": "Discovery", "BudgetHours": 20, "BudgetFees": 4000},
            {"TaskNm": "Project Management", "BudgetHours": 15, "BudgetFees": 3000},
        ],
    }
]
_BUDGETS = ("BudgetHours", "BudgetFees", "BudgetExps")


class MemoryBigTime:
    """Clients, projects, project contacts, project custom fields, picklists, tasks, templates, staff and
    teams in dicts, with the fake BigTime's rules where a sync can tell (a task code is unique within its
    project; a project created with ``TemplateId`` gets the template's tasks; team members are active
    staffers, upserted by staffer unless ``team_post_replaces``).

    ``calls`` counts calls as BigTimeClient counts requests (a picklist is fetched once, then cached);
    ``log`` lists the method names called. Failures: :meth:`fail` (before the call is applied) and
    :meth:`lose_response` (applied, then ``BigTimeCallError(maybe_applied=True)``).
    """

    def __init__(
        self,
        *,
        picklists: dict[str, dict[str, int]] | None = None,
        custom_fields: Sequence[str] = (),
        auto_number_projects: bool = False,
        staff: Sequence[dict[str, Any]] = tuple(STAFF),
        templates: Sequence[dict[str, Any]] = tuple(TEMPLATES),
        team_post_replaces: bool = False,
    ) -> None:
        self.calls = 0
        self.log: list[str] = []
        self.faults = Faults()
        self.clients: dict[int, dict[str, Any]] = {}
        self.projects: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.custom_field_names = list(custom_fields)
        self.custom_values: dict[int, dict[str, str]] = {}
        self.picklists = picklists or {}
        self.auto_number_projects = auto_number_projects
        self._cached: dict[str, dict[str, int]] = {}
        self._next_id = 1001
        self.tasks: dict[int, dict[str, Any]] = {}
        self.staff = [dict(s) for s in staff]
        self.templates = copy.deepcopy(list(templates))
        self.teams: dict[int, dict[int, dict[str, Any]]] = {}
        self.team_post_replaces = team_post_replaces
        self._lookups: dict[str, list[dict[str, Any]]] = {}

    # -- test helpers ---------------------------------------------------------------------------------
    def fail(self, method: str, error: SyncError | None = None, *, times: int | None = 1) -> None:
        """The next ``times`` calls of ``method`` fail before BigTime applies them (default: a 503)."""
        error = error or BigTimeCallError(f"BigTime {method}: throttled (HTTP 503)", maybe_applied=False)
        self.faults.add(method, error, times=times)

    def lose_response(self, method: str, *, times: int | None = 1) -> None:
        """BigTime applies the next call of ``method``, and the answer is lost (a timeout, a 5xx)."""
        error = BigTimeCallError(f"BigTime {method} failed: read timeout", maybe_applied=True)
        self.faults.add(method, error, after=True, times=times)

    def writes(self) -> list[str]:
        reads = ("list_", "get_", "project_custom", "picklist", "project_team", "staff", "templates")
        return [m for m in self.log if not m.startswith(reads)]

    def project_contacts(self, project_id: int) -> list[dict[str, Any]]:
        return [c for c in self.contacts.values() if c["ProjectSid"] == project_id]

    def project_tasks(self, project_id: int) -> list[dict[str, Any]]:
        return [t for t in self.tasks.values() if t["ProjectSid"] == project_id]

    def budget(self, project_id: int) -> dict[str, float]:
        """The project's budgets summed over its tasks (archived ones too, as BudgetStatusByProject)."""
        tasks = self.project_tasks(project_id)
        return {name: round(sum(float(t.get(name) or 0) for t in tasks), 2) for name in _BUDGETS}

    # -- the port -------------------------------------------------------------------------------------
    def _call(self, method: str, apply: Callable[[], T]) -> T:
        self.calls += 1
        self.log.append(method)
        return self.faults.call(method, apply)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    @staticmethod
    def _out(value: dict[str, Any]) -> Record:
        return CaseInsensitiveDict(copy.deepcopy(value))

    def list_clients(self) -> list[Record]:
        return self._call("list_clients", lambda: [self._out(c) for c in self.clients.values()])

    def get_client(self, client_id: int) -> Record:
        def apply() -> Record:
            if client_id not in self.clients:
                raise _not_found("client", client_id)
            return self._out(self.clients[client_id])

        return self._call("get_client", apply)

    def create_client(self, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            code = fields.get("ClientId")
            if code and any(_same(c.get("ClientId"), code) for c in self.clients.values()):
                raise _rejected(f"The field 'ClientId' must be unique: client code '{code}' is already used.")
            sid = self._new_id()
            self.clients[sid] = {**copy.deepcopy(fields), "SystemId": sid}
            return self._out(self.clients[sid])

        return self._call("create_client", apply)

    def update_client(self, client_id: int, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            if client_id not in self.clients:
                raise _not_found("client", client_id)
            self.clients[client_id].update(copy.deepcopy(fields), SystemId=client_id)
            return self._out(self.clients[client_id])

        return self._call("update_client", apply)

    def list_projects(self) -> list[Record]:
        return self._call("list_projects", lambda: [self._out(p) for p in self.projects.values()])

    def get_project(self, project_id: int) -> Record:
        def apply() -> Record:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            return self._out(self.projects[project_id])

        return self._call("get_project", apply)

    def create_project(self, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            values = copy.deepcopy(fields)
            if values.get("ClientId") not in self.clients:
                raise _rejected(
                    f"The field 'ClientId' refers to client {values.get('ClientId')}, which does not exist."
                )
            code = values.get("ProjectCode")
            if not code:
                if not self.auto_number_projects:
                    raise _rejected("The field 'ProjectCode' is required.")
                values["ProjectCode"] = code = f"P-{len(self.projects) + 1:05d}"
            if any(_same(p.get("ProjectCode"), code) for p in self.projects.values()):
                raise _rejected(f"The field 'ProjectCode' must be unique: '{code}' is already used.")
            template = None
            template_id = next((v for k, v in values.items() if k.lower() == "templateid"), None)
            if template_id:
                template = next((t for t in self.templates if t["SystemId"] == template_id), None)
                if template is None:
                    raise _rejected(
                        f"The field 'TemplateId' refers to template {template_id}, which does not exist."
                    )
            values = {k: v for k, v in values.items() if k.lower() != "templateid"}
            sid = self._new_id()
            self.projects[sid] = {**values, "SystemId": sid}
            for task in (template or {}).get("TaskList", []):
                tsid = self._new_id()
                self.tasks[tsid] = {
                    **copy.deepcopy(task),
                    "ProjectSid": sid,
                    "TaskSid": tsid,
                    "IsArchived": False,
                }
            return self._out(self.projects[sid])

        return self._call("create_project", apply)

    def update_project(self, project_id: int, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            self.projects[project_id].update(copy.deepcopy(fields), SystemId=project_id)
            return self._out(self.projects[project_id])

        return self._call("update_project", apply)

    def project_custom_fields(self, project_id: int) -> list[Record]:
        def apply() -> list[Record]:
            values = self.custom_values.get(project_id, {})
            return [self._out({"Name": n, "Value": values.get(n, "")}) for n in self.custom_field_names]

        return self._call("project_custom_fields", apply)

    def set_project_custom_fields(self, project_id: int, values: dict[str, str]) -> None:
        def apply() -> None:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            unknown = [n for n in values if n not in self.custom_field_names]
            if unknown:
                raise _rejected(f"no project custom field named {unknown[0]!r}")
            self.custom_values.setdefault(project_id, {}).update(values)

        self._call("set_project_custom_fields", apply)

    def list_project_contacts(self, project_id: int) -> list[Record]:
        return self._call(
            "list_project_contacts", lambda: [self._out(c) for c in self.project_contacts(project_id)]
        )

    def add_project_contact(self, project_id: int, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            tag = str(fields.get("Tag") or "").upper()
            if tag in ("PRIMARY", "BILLING") and any(
                str(c.get("Tag")).upper() == tag for c in self.project_contacts(project_id)
            ):
                raise _rejected(f"the project already has a {tag} contact")
            sid = self._new_id()
            self.contacts[sid] = {**copy.deepcopy(fields), "ProjectSid": project_id, "SystemId": sid}
            return self._out(self.contacts[sid])

        return self._call("add_project_contact", apply)

    def update_project_contact(self, contact_id: int, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            if contact_id not in self.contacts:
                raise _not_found("contact", contact_id)
            self.contacts[contact_id].update(copy.deepcopy(fields), SystemId=contact_id)
            return self._out(self.contacts[contact_id])

        return self._call("update_project_contact", apply)

    def list_project_tasks(self, project_id: int) -> list[Record]:
        def apply() -> list[Record]:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            return [self._out(t) for t in self.project_tasks(project_id)]

        return self._call("list_project_tasks", apply)

    def _check_task(self, task: dict[str, Any], tsid: int | None) -> None:
        if not str(task.get("TaskNm") or "").strip():
            raise _rejected("The field 'TaskNm' is required.")
        if any(float(task.get(name) or 0) < 0 for name in _BUDGETS):
            raise _rejected("a budget must not be negative")
        code = task.get("TaskId")
        if code and any(
            sid != tsid and t["ProjectSid"] == task["ProjectSid"] and _same(t.get("TaskId"), code)
            for sid, t in self.tasks.items()
        ):
            raise _rejected(f"The field 'TaskId' must be unique within the project: '{code}' is used.")

    def create_task(self, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            values = copy.deepcopy(fields)
            if values.get("ProjectSid") not in self.projects:
                raise _rejected(
                    f"The field 'ProjectSid' refers to project {values.get('ProjectSid')}, which does not exist."
                )
            task = {"IsArchived": False, **values}
            self._check_task(task, None)
            tsid = self._new_id()
            self.tasks[tsid] = {**task, "TaskSid": tsid}
            return self._out(self.tasks[tsid])

        return self._call("create_task", apply)

    def update_task(self, task_id: int, fields: dict[str, Any]) -> Record:
        def apply() -> Record:
            if task_id not in self.tasks:
                raise _not_found("task", task_id)
            current = self.tasks[task_id]
            if fields.get("ProjectSid") not in (None, current["ProjectSid"]):
                raise _rejected("a task cannot be moved to another project")
            merged = {**current, **copy.deepcopy(fields), "TaskSid": task_id}
            self._check_task(merged, task_id)
            self.tasks[task_id] = merged
            return self._out(merged)

        return self._call("update_task", apply)

    def _lookup(
        self, name: str, source: Callable[[], list[dict[str, Any]]], key: str, wanted: str
    ) -> int | None:
        """Like BigTimeClient: a list is read (one call) once, and again once when the name is not in it."""

        def find() -> int | None:
            for item in self._lookups[name]:
                if _same(item.get(key), wanted) and not item.get("IsInactive"):
                    return int(item.get("SystemId") or item["StaffSID"])
            return None

        fetched = name not in self._lookups
        if fetched:
            self._lookups[name] = self._call(name, lambda: copy.deepcopy(source()))
        found = find()
        if found is None and not fetched:
            self._lookups[name] = self._call(name, lambda: copy.deepcopy(source()))
            found = find()
        return found

    def template_id(self, name: str) -> int:
        found = self._lookup("templates", lambda: self.templates, "Nm", name)
        if found is None:
            raise PermanentError(f"BigTime has no project template named {name!r}", code="bigtime_template")
        return found

    def staff_id(self, email: str) -> int | None:
        return self._lookup("staff", lambda: self.staff, "EMail", email)

    def project_team(self, project_id: int) -> list[Record]:
        def apply() -> list[Record]:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            team = self.teams.get(project_id, {})
            return [self._out({"staffsid": sid, **member}) for sid, member in team.items()]

        return self._call("project_team", apply)

    def set_project_team(self, project_id: int, members: list[dict[str, Any]]) -> None:
        def apply() -> None:
            if project_id not in self.projects:
                raise _not_found("project", project_id)
            active = {int(s["StaffSID"]) for s in self.staff if not s.get("IsInactive")}
            parsed: dict[int, dict[str, Any]] = {}
            for member in members:
                lowered = {k.lower(): v for k, v in member.items()}
                sid = lowered.get("staffsid")
                if sid not in active:
                    raise _rejected(
                        f"The field 'staffsid' refers to staffer {sid}, who is not an active staffer."
                    )
                if sid in parsed:
                    raise _rejected(f"staffer {sid} is listed twice")
                parsed[sid] = {
                    "ContactRole": lowered.get("contactrole"),
                    "TeamLead": bool(lowered.get("teamlead")),
                }
            if sum(1 for m in parsed.values() if m["TeamLead"]) > 1:
                raise _rejected("a project has one team lead at most")
            team = {} if self.team_post_replaces else copy.deepcopy(self.teams.get(project_id, {}))
            if any(m["TeamLead"] for m in parsed.values()):
                for member in team.values():
                    member["TeamLead"] = False
            for sid, member in parsed.items():
                team.setdefault(sid, {"ContactRole": None, "TeamLead": False}).update(member)
            self.teams[project_id] = team

        self._call("set_project_team", apply)

    def picklist_id(self, list_name: str, value_name: str) -> int:
        """Like BigTimeClient: a list is fetched (one call) once, and again once if a name is not in it."""
        found = self._cached.get(list_name, {}).get(value_name.strip().casefold())
        if found is None:
            fetched = self._call("picklist", lambda: dict(self.picklists.get(list_name, {})))
            self._cached[list_name] = {k.strip().casefold(): v for k, v in fetched.items()}
            found = self._cached[list_name].get(value_name.strip().casefold())
        if found is None:
            names = ", ".join(repr(n) for n in self.picklists.get(list_name, {})) or "none"
            raise PermanentError(
                f"BigTime has no {list_name} value named {value_name!r} (active values: {names}); "
                "fix the mapping or add the value in BigTime",
                code="bigtime_picklist",
            )
        return found
