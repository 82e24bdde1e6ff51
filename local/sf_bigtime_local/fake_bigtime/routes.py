"""Core routes: session, clients, projects, project contacts and picklists.

Route families with their own module add theirs (``customfields``, ``tasks``, ``staff``, ``templates``, ``timesheet``,
``invoices``, ``figures``, ``reports``); :data:`ALL_ROUTES` is the fake's whole routing table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from . import customfields, figures, invoices, reports, staff, tasks, templates, timesheet
from .auth import Principal
from .wire import Reply, Route, bool_arg, detailed, int_arg, json_body, path_or_query_id

if TYPE_CHECKING:
    from .firm import Firm

Params = dict[str, str]


def _session(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    if request.mimetype == "application/x-www-form-urlencoded":
        body: Any = dict(request.form.items())
    else:
        body = json_body(request)
    return 200, firm.auth.login(body if isinstance(body, dict) else {})


def _list_clients(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.list_clients(bool_arg(request, "ShowInactive"))


def _get_client(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.client_view(int(params["id"]), detailed(request))


def _create_client(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.create_client(json_body(request))


def _update_client(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.update_client(int(params["id"]), json_body(request))


def _delete_client(firm: Firm, _r: Request, _p: Principal | None, params: Params) -> Reply:
    firm.store.delete_client(int(params["id"]))
    return 204, None


def _picklist_clients(firm: Firm, _r: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.picklist_clients()


def _list_projects(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.list_projects(bool_arg(request, "ShowInactive"))


def _get_project(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    show_all = bool_arg(request, "ShowAllContacts")
    return 200, firm.store.project_view(int(params["id"]), detailed(request), show_all)


def _create_project(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.templates.create_project(json_body(request))


def _update_project(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.update_project(int(params["id"]), json_body(request))


def _delete_project(firm: Firm, _r: Request, _p: Principal | None, params: Params) -> Reply:
    firm.store.delete_project(int(params["id"]))
    return 204, None


def _picklist_projects(firm: Firm, _r: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.picklist_projects()


def _list_contacts(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.list_contacts(path_or_query_id(request, params, "project's SystemId"))


def _get_contact(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.get_contact(int(params["id"]), int_arg(request, "ProjectSid"))


def _create_contact(firm: Firm, request: Request, _p: Principal | None, _params: Params) -> Reply:
    return 200, firm.store.create_contact(json_body(request))


def _update_contact(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    return 200, firm.store.update_contact(int(params["id"]), json_body(request))


def _delete_contact(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    firm.store.delete_contact(int(params["id"]), int_arg(request, "ProjectSid"))
    return 204, None


def _field_values(firm: Firm, request: Request, _p: Principal | None, params: Params) -> Reply:
    # The path was lower-cased for routing; list names are matched case-insensitively anyway.
    return 200, firm.picklists.field_values(params["name"], bool_arg(request, "ShowInactive"))


CORE_ROUTES = [
    Route("POST", "/session", _session, auth=False),
    Route("GET", "/client", _list_clients, "client.view", filtered=True),
    Route("GET", "/client/detail/{id}", _get_client, "client.view"),
    Route("POST", "/client/detail", _create_client, "client.create"),
    Route("POST", "/client/detail/{id}", _update_client, "client.update"),
    Route("DELETE", "/client/detail/{id}", _delete_client, "client.delete"),
    Route("GET", "/picklist/clients", _picklist_clients, "client.view", filtered=True),
    Route("GET", "/project", _list_projects, "project.view", filtered=True),
    Route("GET", "/project/detail/{id}", _get_project, "project.view"),
    Route("POST", "/project/detail", _create_project, "project.create"),
    Route("POST", "/project/detail/{id}", _update_project, "project.update"),
    Route("DELETE", "/project/detail/{id}", _delete_project, "project.delete"),
    Route("GET", "/picklist/projects", _picklist_projects, "project.view", filtered=True),
    Route("GET", "/project/contacts/{id}", _list_contacts, "contact.view"),
    Route("GET", "/project/contacts", _list_contacts, "contact.view"),
    Route("GET", "/project/contact/{id}", _get_contact, "contact.view"),
    Route("POST", "/project/contact", _create_contact, "contact.create"),
    Route("POST", "/project/contact/{id}", _update_contact, "contact.update"),
    Route("DELETE", "/project/contact/{id}", _delete_contact, "contact.delete"),
    Route("GET", "/picklist/fieldvalues/{name}", _field_values),
]

ALL_ROUTES = [
    *CORE_ROUTES,
    *customfields.ROUTES,
    *tasks.ROUTES,
    *figures.ROUTES,
    *staff.ROUTES,
    *templates.ROUTES,
    *timesheet.ROUTES,
    *invoices.ROUTES,
    *reports.ROUTES,
]
