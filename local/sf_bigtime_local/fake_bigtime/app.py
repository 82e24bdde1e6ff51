"""The fake BigTime WSGI app: routing, request/response wire format, faults, throttling, call log and
the ``/__fake/`` admin surface.

Wire behaviour (BigTime's API help, https://iq.bigtime.net/BigtimeData/api/v2/Help/Overview; what it does
not settle is marked [Unknown], see docs/decisions.md#what-we-assume-about-bigtime):

* Base path ``/BigtimeData/api/v2``; paths and query-parameter names are case-insensitive and a
  trailing slash is ignored (IIS/ASP.NET). Bodies and answers are JSON
  (``application/json; charset=utf-8``); ``POST /session`` also takes a form-encoded body.
* Unknown route → 404; known route, wrong verb → 405 with ASP.NET's "does not support http method"
  message (the same status BigTime uses for "permission denied": clients must read the message).
* Order of checks: injected fault → rate limit → route → auth (401) → permission (405) → the
  handler (404 unknown id, 400 validation).
* Rate limit ([Unknown] in reality): with ``rate_limit_per_minute`` > 0, a sliding 60-second window
  over accepted API calls; beyond it a 503 ``{"Message": "The service is unavailable."}`` that carries
  ``Retry-After`` only if ``retry_after`` is set. Throttled calls do not use up the window.
* A non-JSON body where JSON is expected is a 415 (ASP.NET's answer to a media type it cannot read);
  malformed JSON is a 400. [Unknown]; stricter.
* DELETE answers 204 with no body (ASP.NET's answer for a void action). [Unknown]; clients should
  accept any 2xx.
* Query booleans accept ``true``/``false`` in any case; anything else is a 400.

Faults (``fake.faults``, a shared :class:`FaultInjector`) match the method and a regex searched in the
full request path (e.g. ``/BigtimeData/api/v2/project/detail``) and are consumed on arrival. Without
``after`` the fault answers instead of the fake (after ``delay`` seconds); ``status=0`` means "only
delay, then answer normally". With ``after=True`` the request is handled normally first (the project
is created) and then the answer is late (``delay``) and/or replaced by the fault: ``after=True,
status=0, delay=5`` is "created, but the caller timed out". Delays sleep outside the lock. A ``str``
fault body is sent as ``text/html`` (BigTime sometimes answers with an HTML error page).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from sf_bigtime_local.faults import Fault, FaultInjector

from .auth import DENIED, Auth, Principal, auth_kind
from .config import FakeConfig
from .models import ApiError, bad_request
from .seed import DEFAULT_CUSTOM_FIELDS, DEFAULT_PICKLISTS
from .store import Store

BASE_PATH = "/BigtimeData/api/v2"
_BASE = BASE_PATH.lower()
_ADMIN = "/__fake"
JSON_TYPE = "application/json; charset=utf-8"

Reply = tuple[int, Any]
Handler = Callable[[Request, Principal | None, dict[str, str]], Reply]

_DEFAULT_FAULT_MESSAGES = {
    400: "The request is invalid.",
    401: DENIED,
    404: "No HTTP resource was found that matches the request URI.",
    405: "You do not have permission to do this.",
    429: "Too many requests.",
    503: "The service is unavailable.",
}


@dataclass
class RecordedCall:
    """One API call as the fake saw it (admin calls are not recorded)."""

    method: str
    path: str  # as requested, e.g. /BigtimeData/api/v2/Project/Detail/5001
    route: str | None  # matched route template, e.g. /project/detail/{id}
    status: int
    auth: str  # apitoken | session | none
    time: float  # clock() when the request arrived
    query: str
    body: Any  # the parsed JSON (or form) body, None when empty or unreadable
    fault: bool  # answered by an injected fault

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``GET /__fake/calls``)."""
        return asdict(self)


@dataclass(frozen=True)
class Route:
    """One API route: verb, lower-case path template, handler, and the permission it needs."""

    method: str
    template: str
    handler: Handler
    permission: str | None = None
    auth: bool = True
    filtered: bool = False  # a denied view permission yields [] instead of 405 (lists, picklists)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The template as an anchored-by-fullmatch pattern over the lower-cased relative path."""
        pattern = (
            re.escape(self.template)
            .replace(r"\{id\}", r"(?P<id>\d+)")
            .replace(r"\{name\}", r"(?P<name>[^/]+)")
        )
        return re.compile(pattern)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A BigTime-style JSON answer (204 has no body)."""
    if status == 204:
        return Response(status=204, headers=Headers(dict(headers or {})))
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, content_type=JSON_TYPE, headers=Headers(dict(headers or {})))


def error_response(error: ApiError) -> Response:
    """ASP.NET Web API's error body: ``{"Message": …}``."""
    return json_response(error.status, {"Message": error.message}, error.headers)


def fault_response(fault: Fault) -> Response:
    """The answer an injected fault dictates."""
    body = fault.body
    if body is None:
        body = {"Message": _DEFAULT_FAULT_MESSAGES.get(fault.status, "An error has occurred.")}
    if isinstance(body, str | bytes):
        response = Response(body, status=fault.status, content_type="text/html; charset=utf-8")
    else:
        response = json_response(fault.status, body)
    for name, value in fault.headers.items():
        response.headers[name] = value
    return response


def _arg(request: Request, name: str) -> str | None:
    """A query parameter by case-insensitive name (ASP.NET binds them that way)."""
    for key, value in request.args.items(multi=True):
        if key.lower() == name.lower():
            return value
    return None


def _bool_arg(request: Request, name: str) -> bool:
    value = _arg(request, name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false"):
        raise bad_request(f"The value '{value}' is not valid for {name}.")
    return value.lower() == "true"


def _int_arg(request: Request, name: str) -> int | None:
    value = _arg(request, name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise bad_request(f"The value '{value}' is not valid for {name}.")
    return int(value)


def _detailed(request: Request) -> bool:
    value = _arg(request, "View")
    if value is None or value == "" or value.lower() == "basic":
        return False
    if value.lower() == "detailed":
        return True
    raise bad_request(f"The value '{value}' is not valid for View (Basic or Detailed).")


def _is_json(mimetype: str) -> bool:
    return mimetype in ("application/json", "text/json") or mimetype.endswith("+json")


def _json_body(request: Request) -> Any:
    """The request's JSON body (None when empty); 415 for another media type, 400 for bad JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    if not _is_json(request.mimetype):
        media = request.mimetype or "application/octet-stream"
        raise ApiError(415, f"The request entity's media type '{media}' is not supported for this resource.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(f"The request is invalid: the body is not valid JSON ({exc}).") from exc


def _loggable_body(request: Request) -> Any:
    """Best-effort parsed body for the call log; never raises."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return {k: v for k, v in request.form.items() if k.lower() != "pwd"}  # keep passwords out of logs
    try:
        body = _json_body(request)
    except ApiError:
        return None
    if isinstance(body, dict):
        return {k: ("***" if str(k).lower() == "pwd" else v) for k, v in body.items()}
    return body


class FakeBigTime:
    """A fake BigTime firm speaking the v2 REST wire format; the instance is the WSGI app.

    ``api_tokens`` maps a key to ``{"staffsid": int, "permissions": {...}}``; ``users`` maps a login
    email to a password or to ``{"pwd", "staffsid", "userid", "fname", "sname", "permissions"}``.
    ``picklists`` replaces seeded Field Values lists by name; ``custom_fields`` replaces the project
    custom-field definitions (``[{"Sid", "Name"}]``). ``clock`` (seconds) drives session expiry, the
    rate-limit window and timestamps, so tests can move time without sleeping.
    """

    def __init__(
        self,
        realm: str = "fake-firm",
        api_tokens: Mapping[str, Mapping[str, Any]] | None = None,
        users: Mapping[str, str | Mapping[str, Any]] | None = None,
        session_ttl: float = 7 * 24 * 3600,
        rate_limit_per_minute: int = 0,
        retry_after: float | None = None,
        auto_number_projects: bool = False,
        contact_id_key: str = "SystemId",
        require_client_code: bool = False,
        picklists: Mapping[str, list[dict[str, Any]]] | None = None,
        custom_fields: list[dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = realm
        self._initial_config = FakeConfig(
            session_ttl=session_ttl,
            rate_limit_per_minute=rate_limit_per_minute,
            retry_after=retry_after,
            auto_number_projects=auto_number_projects,
            contact_id_key=contact_id_key,
            require_client_code=require_client_code,
        )
        self.config = FakeConfig(**self._initial_config.to_dict())
        self._clock = clock
        self._picklists = {**DEFAULT_PICKLISTS, **(picklists or {})}
        self._custom_fields = list(DEFAULT_CUSTOM_FIELDS if custom_fields is None else custom_fields)
        self._lock = threading.RLock()  # one lock for store, sessions, call log and rate window
        self.faults = FaultInjector()
        self._auth = Auth(realm, api_tokens or {}, users or {}, self.config, clock)
        self._store = self._new_store()
        self._calls: list[RecordedCall] = []
        self._window: deque[float] = deque()
        self._routes = self._build_routes()

    def _new_store(self) -> Store:
        return Store(self.config, self._clock, self._picklists, self._custom_fields)

    # ------------------------------------------------------------ Python API

    def reset(self) -> None:
        """Back to the state right after construction: no data, sessions, calls or faults."""
        with self._lock:
            for name, value in self._initial_config.to_dict().items():
                setattr(self.config, name, value)
            self._store = self._new_store()
            self._auth.reset()
            self._calls.clear()
            self._window.clear()
            self.faults.clear()

    def configure(self, **changes: Any) -> FakeConfig:
        """Change run-time settings (rate_limit_per_minute, retry_after, auto_number_projects, …)."""
        with self._lock:
            self.config.update(changes)
            if "rate_limit_per_minute" in changes:
                self._window.clear()
            return self.config

    def expire_sessions(self) -> int:
        """Expire every live session now; returns how many."""
        with self._lock:
            return self._auth.expire_all()

    def create_client(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a client (same validation as ``POST /client/detail``); returns its Detailed view."""
        with self._lock:
            return self._store.create_client(data)

    def create_project(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a project (same validation as ``POST /project/detail``); returns its Detailed view."""
        with self._lock:
            return self._store.create_project(data)

    def add_contact(self, project_sid: int, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a project contact (same validation as ``POST /project/contact``)."""
        with self._lock:
            return self._store.create_contact({**data, "ProjectSid": project_sid})

    def create_task(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a task (same validation as ``POST /task/detail``)."""
        with self._lock:
            return self._store.create_task(data)

    def set_custom_fields(self, project_sid: int, values: dict[str, str | None]) -> dict[str, str | None]:
        """Seed custom-field values by name (as ``POST /project/CustomFieldsByName``)."""
        with self._lock:
            self._store.set_custom_fields_by_name(project_sid, values)
        return self.custom_fields(project_sid)

    def log_time(self, project_sid: int, hours: float, fees: float, task_sid: int | None = None) -> None:
        """Add actual hours and fees to a project (optionally a task), for the budget status."""
        with self._lock:
            self._store.log_time(project_sid, hours, fees, task_sid)

    @property
    def clients(self) -> list[dict[str, Any]]:
        """Every client (inactive too), Detailed view, by SystemId."""
        with self._lock:
            return [self._store.client_view(sid, detailed=True) for sid in sorted(self._store.clients)]

    @property
    def projects(self) -> list[dict[str, Any]]:
        """Every project (inactive too), Detailed view with all contacts, by SystemId."""
        with self._lock:
            return [
                self._store.project_view(sid, detailed=True, show_all_contacts=True)
                for sid in sorted(self._store.projects)
            ]

    def client(self, sid: int) -> dict[str, Any]:
        """One client's Detailed view (ApiError 404 if unknown)."""
        with self._lock:
            return self._store.client_view(sid, detailed=True)

    def project(self, sid: int) -> dict[str, Any]:
        """One project's Detailed view with all contacts (ApiError 404 if unknown)."""
        with self._lock:
            return self._store.project_view(sid, detailed=True, show_all_contacts=True)

    def project_contacts(self, project_sid: int) -> list[dict[str, Any]]:
        """A project's contacts, as ``GET /project/contacts/{id}`` returns them."""
        with self._lock:
            return self._store.list_contacts(project_sid)

    def custom_fields(self, project_sid: int) -> dict[str, str | None]:
        """A project's custom-field values as ``{Name: Value}`` (unset = None)."""
        with self._lock:
            return {f["Name"]: f["Value"] for f in self._store.custom_fields(project_sid)}

    def tasks(self, project_sid: int) -> list[dict[str, Any]]:
        """A project's tasks, as ``GET /task/listByProject/{id}`` returns them."""
        with self._lock:
            return self._store.list_tasks(project_sid)

    @property
    def calls(self) -> list[RecordedCall]:
        """API calls received so far (oldest first), faulted and throttled ones included."""
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        """Forget the recorded calls (e.g. between two syncs whose calls a test counts)."""
        with self._lock:
            self._calls.clear()

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        lowered = request.path.lower()
        if lowered == _ADMIN or lowered.startswith(_ADMIN + "/"):
            response = self._admin(request)
        elif lowered == _BASE or lowered.startswith(_BASE + "/"):
            response = self._api(request)
        else:
            response = json_response(404, {"Message": f"No HTTP resource was found at '{request.path}'."})
        return response(environ, start_response)

    # ------------------------------------------------------------------- API

    def _match(self, request: Request) -> tuple[Route, dict[str, str]] | ApiError:
        relative = request.path[len(_BASE) :].lower().rstrip("/") or "/"
        candidates = [(route, m) for route in self._routes if (m := route.regex.fullmatch(relative))]
        if not candidates:
            return ApiError(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")
        for route, m in candidates:
            if route.method == request.method:
                return route, m.groupdict()
        return ApiError(405, f"The requested resource does not support http method '{request.method}'.")

    def _api(self, request: Request) -> Response:
        arrived = self._clock()
        matched = self._match(request)
        template = matched[0].template if isinstance(matched, tuple) else None
        fault = self.faults.take(request.method, request.path)
        if fault is None:
            response = self._dispatch(request, matched)
        elif fault.after:
            response = self._dispatch(request, matched)  # the work is done …
            time.sleep(fault.delay)  # … then the answer is late (outside the lock) …
            if fault.status:
                response = fault_response(fault)  # … or lost: the caller never hears of it
        else:
            time.sleep(fault.delay)
            response = fault_response(fault) if fault.status else self._dispatch(request, matched)
        call = RecordedCall(
            method=request.method,
            path=request.path,
            route=template,
            status=response.status_code,
            auth=auth_kind(request.headers),
            time=arrived,
            query=request.query_string.decode("latin-1"),
            body=_loggable_body(request),
            fault=fault is not None and bool(fault.status),
        )
        with self._lock:
            self._calls.append(call)
        return response

    def _throttle(self) -> ApiError | None:
        limit = self.config.rate_limit_per_minute
        if limit <= 0:
            return None
        now = self._clock()
        while self._window and self._window[0] <= now - 60:
            self._window.popleft()
        if len(self._window) >= limit:
            retry_after = self.config.retry_after
            headers = {} if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
            return ApiError(503, "The service is unavailable.", headers)
        self._window.append(now)
        return None

    def _dispatch(self, request: Request, matched: tuple[Route, dict[str, str]] | ApiError) -> Response:
        with self._lock:
            try:
                throttled = self._throttle()
                if throttled is not None:
                    raise throttled
                if isinstance(matched, ApiError):
                    raise matched
                route, params = matched
                principal = self._auth.authenticate(request.headers) if route.auth else None
                if principal is not None and route.permission and not principal.allows(route.permission):
                    if route.filtered:
                        return json_response(200, [])  # BigTime hides what the caller may not see
                    raise ApiError(405, f"You do not have permission to do this ({route.permission}).")
                status, payload = route.handler(request, principal, params)
                return json_response(status, payload)
            except ApiError as error:
                return error_response(error)
            except Exception as exc:  # a bug in the fake: answer like ASP.NET with error detail on
                return json_response(
                    500,
                    {
                        "Message": "An error has occurred.",
                        "ExceptionMessage": str(exc),
                        "ExceptionType": type(exc).__name__,
                    },
                )

    def _build_routes(self) -> list[Route]:
        s = self
        return [
            Route("POST", "/session", s._session, auth=False),
            Route("GET", "/client", s._list_clients, "client.view", filtered=True),
            Route("GET", "/client/detail/{id}", s._get_client, "client.view"),
            Route("POST", "/client/detail", s._create_client, "client.create"),
            Route("POST", "/client/detail/{id}", s._update_client, "client.update"),
            Route("DELETE", "/client/detail/{id}", s._delete_client, "client.delete"),
            Route("GET", "/picklist/clients", s._picklist_clients, "client.view", filtered=True),
            Route("GET", "/project", s._list_projects, "project.view", filtered=True),
            Route("GET", "/project/detail/{id}", s._get_project, "project.view"),
            Route("POST", "/project/detail", s._create_project, "project.create"),
            Route("POST", "/project/detail/{id}", s._update_project, "project.update"),
            Route("DELETE", "/project/detail/{id}", s._delete_project, "project.delete"),
            Route("GET", "/picklist/projects", s._picklist_projects, "project.view", filtered=True),
            Route("GET", "/project/contacts/{id}", s._list_contacts, "contact.view"),
            Route("GET", "/project/contacts", s._list_contacts, "contact.view"),
            Route("GET", "/project/contact/{id}", s._get_contact, "contact.view"),
            Route("POST", "/project/contact", s._create_contact, "contact.create"),
            Route("POST", "/project/contact/{id}", s._update_contact, "contact.update"),
            Route("DELETE", "/project/contact/{id}", s._delete_contact, "contact.delete"),
            Route("GET", "/project/customfields/{id}", s._get_custom_fields, "customfield.view"),
            Route("POST", "/project/customfields/{id}", s._set_custom_fields, "customfield.update"),
            Route(
                "POST", "/project/customfieldsbyname/{id}", s._set_custom_fields_by_name, "customfield.update"
            ),
            Route("GET", "/picklist/fieldvalues/{name}", s._field_values),
            Route("GET", "/task/listbyproject/{id}", s._list_tasks, "task.view"),
            Route("GET", "/task/detail/{id}", s._get_task, "task.view"),
            Route("POST", "/task/detail", s._create_task, "task.create"),
            Route("POST", "/task/detail/{id}", s._update_task, "task.update"),
            Route("DELETE", "/task/detail/{id}", s._delete_task, "task.delete"),
            Route("GET", "/task/budgetstatusbyproject/{id}", s._budget_status, "task.view"),
        ]

    # -------------------------------------------------------------- handlers

    def _session(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        if request.mimetype == "application/x-www-form-urlencoded":
            body: Any = dict(request.form.items())
        else:
            body = _json_body(request)
        return 200, self._auth.login(body if isinstance(body, dict) else {})

    def _list_clients(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.list_clients(_bool_arg(request, "ShowInactive"))

    def _get_client(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.client_view(int(params["id"]), _detailed(request))

    def _create_client(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.create_client(_json_body(request))

    def _update_client(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.update_client(int(params["id"]), _json_body(request))

    def _delete_client(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        self._store.delete_client(int(params["id"]))
        return 204, None

    def _picklist_clients(self, _r: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.picklist_clients()

    def _list_projects(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.list_projects(_bool_arg(request, "ShowInactive"))

    def _get_project(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        detailed = _detailed(request)
        show_all = _bool_arg(request, "ShowAllContacts")
        return 200, self._store.project_view(int(params["id"]), detailed, show_all)

    def _create_project(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.create_project(_json_body(request))

    def _update_project(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.update_project(int(params["id"]), _json_body(request))

    def _delete_project(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        self._store.delete_project(int(params["id"]))
        return 204, None

    def _picklist_projects(self, _r: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.picklist_projects()

    def _list_contacts(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        project_sid = int(params["id"]) if "id" in params else _int_arg(request, "id")
        if project_sid is None:
            raise bad_request("The query parameter 'id' (the project's SystemId) is required.")
        return 200, self._store.list_contacts(project_sid)

    def _get_contact(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.get_contact(int(params["id"]), _int_arg(request, "ProjectSid"))

    def _create_contact(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.create_contact(_json_body(request))

    def _update_contact(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.update_contact(int(params["id"]), _json_body(request))

    def _delete_contact(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        self._store.delete_contact(int(params["id"]), _int_arg(request, "ProjectSid"))
        return 204, None

    def _get_custom_fields(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.custom_fields(int(params["id"]))

    def _set_custom_fields(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.set_custom_fields(int(params["id"]), _json_body(request))

    def _set_custom_fields_by_name(
        self, request: Request, _p: Principal | None, params: dict[str, str]
    ) -> Reply:
        return 200, self._store.set_custom_fields_by_name(int(params["id"]), _json_body(request))

    def _field_values(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        # The path was lower-cased for routing; list names are matched case-insensitively anyway.
        return 200, self._store.field_values(params["name"], _bool_arg(request, "ShowInactive"))

    def _list_tasks(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.list_tasks(int(params["id"]))

    def _get_task(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.task_view(int(params["id"]))

    def _create_task(self, request: Request, _p: Principal | None, _params: dict[str, str]) -> Reply:
        return 200, self._store.create_task(_json_body(request))

    def _update_task(self, request: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.update_task(int(params["id"]), _json_body(request))

    def _delete_task(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        self._store.delete_task(int(params["id"]))
        return 204, None

    def _budget_status(self, _r: Request, _p: Principal | None, params: dict[str, str]) -> Reply:
        return 200, self._store.budget_status(int(params["id"]))

    # ----------------------------------------------------------------- admin

    def _admin(self, request: Request) -> Response:
        """``/__fake/…``: unauthenticated controls for tests and demos that use only HTTP."""
        action = request.path.lower()[len(_ADMIN) :].rstrip("/")
        try:
            body = _json_body(request)
            match request.method, action:
                case "POST", "/reset":
                    self.reset()
                    return json_response(200, {"reset": True})
                case "POST", "/faults":
                    fault = self.faults.add(Fault.from_dict(body if isinstance(body, dict) else {}))
                    return json_response(200, asdict(fault))
                case "GET", "/faults":
                    return json_response(200, [asdict(f) for f in self.faults.pending()])
                case "DELETE", "/faults":
                    self.faults.clear()
                    return json_response(200, {"cleared": True})
                case "GET", "/calls":
                    return json_response(200, [c.to_dict() for c in self.calls])
                case "DELETE", "/calls":
                    self.clear_calls()
                    return json_response(200, {"cleared": True})
                case "GET", "/config":
                    return json_response(200, self.config.to_dict())
                case "POST", "/config":
                    return json_response(200, self.configure(**(body or {})).to_dict())
                case "POST", "/expire-sessions":
                    return json_response(200, {"expired": self.expire_sessions()})
                case "POST", "/time":
                    data = body if isinstance(body, dict) else {}
                    self.log_time(data["project_sid"], data["hours"], data["fees"], data.get("task_sid"))
                    return json_response(200, {"logged": True})
                case "GET", "/state":
                    return json_response(200, {"clients": self.clients, "projects": self.projects})
            return json_response(404, {"Message": f"Unknown admin action {request.method} {request.path}"})
        except ApiError as error:
            return error_response(error)
        except (ValueError, TypeError, KeyError, re.error) as exc:
            return json_response(400, {"Message": f"Bad admin request: {exc}"})
