"""Project custom fields: ``GET/POST /project/CustomFields/{id}`` and ``POST /project/CustomFieldsByName/{id}``.

The firm defines the fields (``[{Sid, Name}]``, seeded; the store keeps the definitions); projects hold
values. The write bodies are [Unknown]: by Sid the fake takes ``[{Sid, Value}]`` or
``{"customfields": [...]}``, by name ``[{Name, Value}]``, one ``{Name, Value}`` or a ``{Name: Value}`` map.
Names match case-insensitively; an unknown Sid or Name is a 400 and nothing is written. The Detailed
project view shows the values as ``UdfList``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .auth import Principal
from .models import FieldSpec, bad_request, ci, coerce, text
from .store import ProjectHooks, Store
from .wire import Reply, Route, json_body

if TYPE_CHECKING:
    from .firm import Firm

Record = dict[str, Any]
_SID = FieldSpec("Sid", "int")
_VALUE = FieldSpec("Value", "str")
_NAME = FieldSpec("Name", "str")


class CustomFields(ProjectHooks):
    """Every project's custom-field values (``values``: project sid → field Sid → value)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.values: dict[int, dict[int, str | None]] = {}

    def of_project(self, project_sid: int) -> list[Record]:
        """``GET /project/CustomFields/{projectsid}``: every firm-defined field with this project's value."""
        self.store.project(project_sid)
        values = self.values.get(project_sid, {})
        return [
            {"Sid": d["Sid"], "Name": d["Name"], "Value": values.get(d["Sid"]), "ProjectSid": project_sid}
            for d in self.store.custom_field_definitions()
        ]

    def _write(self, project_sid: int, updates: dict[int, str | None]) -> list[Record]:
        self.values.setdefault(project_sid, {}).update(updates)
        self.store.projects[project_sid]["DtModified"] = self.store.now()
        return self.of_project(project_sid)

    def set_by_sid(self, project_sid: int, body: Any) -> list[Record]:
        """``POST /project/CustomFields/{id}`` with ``[{Sid, Value}]`` or ``{"customfields": [...]}``."""
        self.store.project(project_sid)
        items = body
        if isinstance(body, dict):
            lowered = ci(body)
            items = lowered.get("customfields", [body])
        if not isinstance(items, list):
            raise bad_request("The body must be a list of {Sid, Value} objects.")
        known = {d["Sid"] for d in self.store.custom_field_definitions()}
        updates: dict[int, str | None] = {}
        for item in items:
            if not isinstance(item, dict):
                raise bad_request("Each custom field must be an object with Sid and Value.")
            fields = ci(item)
            sid = coerce(_SID, fields.get("sid"))
            if sid is None:
                raise bad_request("The field 'Sid' is required for each custom field.")
            if sid not in known:
                raise bad_request(f"The field 'Sid': custom field {sid} does not exist.")
            updates[sid] = coerce(_VALUE, fields.get("value"))
        return self._write(project_sid, updates)

    def set_by_name(self, project_sid: int, body: Any) -> list[Record]:
        """``POST /project/CustomFieldsByName/{id}`` with ``[{Name, Value}]`` or ``{Name: Value}``."""
        self.store.project(project_sid)
        pairs: list[tuple[Any, Any]]
        if isinstance(body, list):
            pairs = []
            for item in body:
                if not isinstance(item, dict):
                    raise bad_request("Each custom field must be an object with Name and Value.")
                fields = ci(item)
                pairs.append((fields.get("name"), fields.get("value")))
        elif isinstance(body, dict):
            lowered = ci(body)
            # One {Name, Value} object, or a map of field name to value.
            if "name" in lowered and set(lowered) <= {"name", "value"}:
                pairs = [(lowered["name"], lowered.get("value"))]
            else:
                pairs = list(body.items())
        else:
            raise bad_request("The body must be a list of {Name, Value} objects or a {Name: Value} map.")
        by_name = {d["Name"].lower(): d["Sid"] for d in self.store.custom_field_definitions()}
        updates: dict[int, str | None] = {}
        for name, value in pairs:
            name = coerce(_NAME, name)
            if not text(name):
                raise bad_request("The field 'Name' is required for each custom field.")
            sid = by_name.get(text(name).lower())
            if sid is None:
                raise bad_request(f"The field 'Name': custom field '{name}' does not exist.")
            updates[sid] = coerce(_VALUE, value)
        return self._write(project_sid, updates)

    def drop_project(self, project_sid: int) -> None:
        self.values.pop(project_sid, None)

    def extend_project_view(self, project_sid: int, view: Record) -> None:
        view["UdfList"] = self.of_project(project_sid)


def _get(firm: Firm, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.custom_fields.of_project(int(params["id"]))


def _set_by_sid(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.custom_fields.set_by_sid(int(params["id"]), json_body(request))


def _set_by_name(firm: Firm, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
    return 200, firm.custom_fields.set_by_name(int(params["id"]), json_body(request))


ROUTES = [
    Route("GET", "/project/customfields/{id}", _get, "customfield.view"),
    Route("POST", "/project/customfields/{id}", _set_by_sid, "customfield.update"),
    Route("POST", "/project/customfieldsbyname/{id}", _set_by_name, "customfield.update"),
]
