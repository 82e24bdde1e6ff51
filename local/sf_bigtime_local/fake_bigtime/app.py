"""The fake BigTime WSGI app: routing, faults, throttling, the call log, and the Python API tests use.

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

Every route of every family (:data:`.routes.ALL_ROUTES`) goes through the same faults, rate limit and
call log; :meth:`FakeBigTime.call_counts` counts the log per ``"METHOD /route/{id}"``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from sf_bigtime_local.faults import FaultInjector

from . import admin
from .auth import Auth, auth_kind
from .config import FakeConfig
from .firm import Firm, Seed
from .models import ApiError
from .routes import ALL_ROUTES
from .store import Store
from .wire import RecordedCall, Route, error_response, fault_response, json_response, loggable_body

BASE_PATH = "/BigtimeData/api/v2"
_BASE = BASE_PATH.lower()

__all__ = ["BASE_PATH", "FakeBigTime", "RecordedCall"]


class FakeBigTime:
    """A fake BigTime firm speaking the v2 REST wire format; the instance is the WSGI app.

    ``api_tokens`` maps a key to ``{"staffsid": int, "permissions": {...}}``; ``users`` maps a login
    email to a password or to ``{"pwd", "staffsid", "userid", "fname", "sname", "permissions"}``.
    ``picklists`` replaces seeded Field Values lists by name; ``custom_fields`` replaces the project
    custom-field definitions (``[{"Sid", "Name"}]``); ``staff``, ``templates`` and ``reports`` replace
    the seeded staffers, project templates and saved reports (see :mod:`.seed`). Any other keyword is a
    :class:`FakeConfig` setting. ``clock`` (seconds) drives session expiry, the rate-limit window and
    timestamps, so tests can move time without sleeping.
    """

    def __init__(
        self,
        realm: str = "fake-firm",
        api_tokens: Mapping[str, Mapping[str, Any]] | None = None,
        users: Mapping[str, str | Mapping[str, Any]] | None = None,
        picklists: Mapping[str, list[dict[str, Any]]] | None = None,
        custom_fields: list[dict[str, Any]] | None = None,
        staff: list[dict[str, Any]] | None = None,
        templates: list[dict[str, Any]] | None = None,
        reports: Mapping[int, dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
        **settings: Any,
    ) -> None:
        self.realm = realm
        self._initial_config = FakeConfig(**settings)
        self.config = FakeConfig(**self._initial_config.to_dict())
        self._clock = clock
        seed = Seed()
        seed.picklists = {**seed.picklists, **(picklists or {})}
        if custom_fields is not None:
            seed.custom_fields = list(custom_fields)
        if staff is not None:
            seed.staff = list(staff)
        if templates is not None:
            seed.templates = list(templates)
        if reports is not None:
            seed.reports = dict(reports)
        self._seed = seed
        self._lock = threading.RLock()  # one lock for the firm, sessions, call log and rate window
        self.faults = FaultInjector()
        self._auth = Auth(realm, api_tokens or {}, users or {}, self.config, clock)
        self._firm = Firm(self.config, clock, self._auth, seed)
        self._calls: list[RecordedCall] = []
        self._window: deque[float] = deque()
        self._routes: list[Route] = list(ALL_ROUTES)

    # ------------------------------------------------------------ Python API

    def reset(self) -> None:
        """Back to the state right after construction: seed data only, no sessions, calls or faults."""
        with self._lock:
            for name, value in self._initial_config.to_dict().items():
                setattr(self.config, name, value)
            self._firm = Firm(self.config, self._clock, self._auth, self._seed)
            self._auth.reset()
            self._calls.clear()
            self._window.clear()
            self.faults.clear()

    def configure(self, **changes: Any) -> FakeConfig:
        """Change run-time settings (rate_limit_per_minute, figure_names, report_rows, …)."""
        with self._lock:
            self.config.update(changes)
            if "rate_limit_per_minute" in changes:
                self._window.clear()
            return self.config

    def expire_sessions(self) -> int:
        """Expire every live session now; returns how many."""
        with self._lock:
            return self._auth.expire_all()

    @property
    def firm(self) -> Firm:
        """The current firm's components (for inspection; hold no reference across :meth:`reset`)."""
        return self._firm

    @property
    def _store(self) -> Store:
        """The core store; older tests reach into it to play "a person edits in BigTime's UI"."""
        return self._firm.store

    def create_client(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a client (same validation as ``POST /client/detail``); returns its Detailed view."""
        with self._lock:
            return self._firm.store.create_client(data)

    def create_project(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a project (as ``POST /project/detail``, template field included); Detailed view."""
        with self._lock:
            return self._firm.templates.create_project(data)

    def add_contact(self, project_sid: int, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a project contact (same validation as ``POST /project/contact``)."""
        with self._lock:
            return self._firm.store.create_contact({**data, "ProjectSid": project_sid})

    def create_task(self, data: dict[str, Any]) -> dict[str, Any]:
        """Seed a task (same validation as ``POST /task/detail``)."""
        with self._lock:
            return self._firm.tasks.create(data)

    def set_custom_fields(self, project_sid: int, values: dict[str, str | None]) -> dict[str, str | None]:
        """Seed custom-field values by name (as ``POST /project/CustomFieldsByName``)."""
        with self._lock:
            self._firm.custom_fields.set_by_name(project_sid, values)
        return self.custom_fields(project_sid)

    def add_staff(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a staffer (``StaffSID`` and ``SName`` required); returns the Detailed view."""
        with self._lock:
            return self._firm.staff.add(data)

    def set_team(self, project_sid: int, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add team members (as ``POST /project/Team/{id}``); returns the team."""
        with self._lock:
            return self._firm.staff.set_team(project_sid, members)

    def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a project template (as ``POST /project/Template``)."""
        with self._lock:
            return self._firm.templates.create(data)

    def add_time(self, data: dict[str, Any], *, submitted: bool = True) -> dict[str, Any]:
        """Log a time entry (as ``POST /time?MarkSubmitted=``); ``StaffSID`` defaults to staffer 1."""
        with self._lock:
            return self._firm.timesheet.create_time(data, 1, submitted)

    def log_time(
        self,
        project_sid: int,
        hours: float,
        fees: float,
        task_sid: int | None = None,
        staff_sid: int | None = None,
        dt: str | None = None,
    ) -> dict[str, Any]:
        """Log submitted time worth ``fees`` (``ChargeBillable``) on a project (404 if unknown), today
        by default, as the first active staffer unless ``staff_sid`` is given."""
        with self._lock:
            firm = self._firm
            firm.store.project(project_sid)
            if staff_sid is None:
                staff_sid = next(
                    (s for s, r in sorted(firm.staff.staff.items()) if not r.get("IsInactive")), None
                )
            body = {
                "ProjectSID": project_sid,
                "TaskSID": task_sid,
                "StaffSID": staff_sid,
                "Hours_IN": hours,
                "ChargeBillable": fees,
                "Dt": dt or firm.store.today(),
            }
            return firm.timesheet.create_time(body, None, True)

    def add_expense(self, data: dict[str, Any]) -> dict[str, Any]:
        """Log an expense (as ``POST /expense/detail``); ``StaffSID`` defaults to staffer 1."""
        with self._lock:
            return self._firm.timesheet.create_expense(data, 1)

    def create_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        """Invoice a project's WIP (as ``POST /invoice/detail``)."""
        with self._lock:
            return self._firm.invoices.create(data)

    def define_report(self, report_id: int, definition: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a saved report ``{Nm, Columns: [{FieldNm, Caption, Source}]}``."""
        with self._lock:
            return self._firm.reports.define(report_id, definition)

    def project_figures(
        self, project_sid: int, begin: str | None = None, end: str | None = None
    ) -> dict[str, Any]:
        """A project's figures under their canonical names (see :mod:`.figures`)."""
        with self._lock:
            return self._firm.figures.project(project_sid, begin, end)

    @property
    def clients(self) -> list[dict[str, Any]]:
        """Every client (inactive too), Detailed view, by SystemId."""
        with self._lock:
            store = self._firm.store
            return [store.client_view(sid, detailed=True) for sid in sorted(store.clients)]

    @property
    def projects(self) -> list[dict[str, Any]]:
        """Every project (inactive too), Detailed view with all contacts, by SystemId."""
        with self._lock:
            store = self._firm.store
            return [
                store.project_view(sid, detailed=True, show_all_contacts=True)
                for sid in sorted(store.projects)
            ]

    def client(self, sid: int) -> dict[str, Any]:
        """One client's Detailed view (ApiError 404 if unknown)."""
        with self._lock:
            return self._firm.store.client_view(sid, detailed=True)

    def project(self, sid: int) -> dict[str, Any]:
        """One project's Detailed view with all contacts (ApiError 404 if unknown)."""
        with self._lock:
            return self._firm.store.project_view(sid, detailed=True, show_all_contacts=True)

    def project_contacts(self, project_sid: int) -> list[dict[str, Any]]:
        """A project's contacts, as ``GET /project/contacts/{id}`` returns them."""
        with self._lock:
            return self._firm.store.list_contacts(project_sid)

    def custom_fields(self, project_sid: int) -> dict[str, str | None]:
        """A project's custom-field values as ``{Name: Value}`` (unset = None)."""
        with self._lock:
            return {f["Name"]: f["Value"] for f in self._firm.custom_fields.of_project(project_sid)}

    def tasks(self, project_sid: int, show_completed: bool = True) -> list[dict[str, Any]]:
        """A project's tasks, as ``GET /task/listByProject/{id}`` returns them (archived ones too)."""
        with self._lock:
            return self._firm.tasks.list(project_sid, show_completed)

    def team(self, project_sid: int) -> list[dict[str, Any]]:
        """A project's team, as ``GET /project/Team/{id}`` returns it."""
        with self._lock:
            return self._firm.staff.team(project_sid)

    @property
    def calls(self) -> list[RecordedCall]:
        """API calls received so far (oldest first), faulted and throttled ones included."""
        with self._lock:
            return list(self._calls)

    def call_counts(self) -> dict[str, int]:
        """Calls so far per ``"METHOD /route/{id}"`` (the raw path for unknown routes), faults included."""
        with self._lock:
            return dict(Counter(call.key for call in self._calls))

    def count(self, method: str, route: str) -> int:
        """How many calls hit one route, e.g. ``count("GET", "/task/budgetstatusbyproject/{id}")``."""
        return self.call_counts().get(f"{method.upper()} {route.lower()}", 0)

    def clear_calls(self) -> None:
        """Forget the recorded calls (e.g. between two syncs whose calls a test counts)."""
        with self._lock:
            self._calls.clear()

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        lowered = request.path.lower()
        if lowered == admin.PREFIX or lowered.startswith(admin.PREFIX + "/"):
            response = admin.handle(self, request)
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
            body=loggable_body(request),
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
                status, payload = route.handler(self._firm, request, principal, params)
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
