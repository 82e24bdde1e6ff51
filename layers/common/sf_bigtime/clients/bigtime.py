"""BigTime REST API v2 client (``/BigtimeData/api/v2``): clients, projects, project contacts, picklists.

BigTime's traps, handled here (docs/decisions.md#what-we-assume-about-bigtime): field names are
case-insensitive and replies are read case-insensitively; a detail GET may return one object or a one-item
array; 405 means "forbidden"; there is no idempotency key and no search, so writes are never retried
blindly (the caller looks the record up by its marker first); throttling shows up as 503 (or 429),
sometimes with ``Retry-After``.

Every request, retries included, goes through the ``limiter`` (the firm's rate budget,
docs/decisions.md#one-bigtime-rate-budget-for-the-firm); a throttled answer is reported to it, which slows
every caller down, and a throttled GET is tried again through it (so Retry-After is honoured there).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from sf_bigtime.clients.http import (
    HttpSession,
    RedirectRefused,
    check_base_url,
    describe_failure,
    parse_retry_after,
    redact,
)
from sf_bigtime.clients.ratelimit import Limiter
from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.secrets import BigTimeApiKey, BigTimeSession

Record = CaseInsensitiveDict[Any]  # a BigTime object, read with any key casing
THROTTLED = (429, 503)


def as_record(value: Any) -> Record:
    return CaseInsensitiveDict(value) if isinstance(value, dict) else CaseInsensitiveDict()


def record_id(record: Record, *keys: str) -> int | None:
    """The id of a BigTime object; contacts use SystemId, Id or id depending on the source."""
    for key in keys or ("SystemId", "Id"):
        value = record.get(key)
        if value not in (None, ""):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


class BigTimeCallError(TransientError):
    """A transient BigTime failure that may have been applied anyway (a write that timed out)."""

    def __init__(
        self,
        reason: str,
        *,
        maybe_applied: bool,
        retry_after: float | None = None,
        throttled: bool = False,
        code: str = "bigtime_unavailable",
    ) -> None:
        super().__init__(reason, code=code, retry_after=retry_after)
        self.maybe_applied = maybe_applied
        self.throttled = throttled  # BigTime said 429/503: slow down (the pull stops after a few)


@dataclass
class BigTimeClient:
    """A small typed client; ``calls`` counts every HTTP request made (login included)."""

    credentials: BigTimeApiKey | BigTimeSession
    timeout: float = 10.0
    limiter: Limiter | None = None
    throttle_retries: int = 2  # a throttled GET is tried again this often, through the limiter
    picklist_ttl: float = 900.0
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    _picklists: dict[str, tuple[float, list[Record]]] = field(default_factory=dict, repr=False)
    _lookups: dict[str, tuple[float, list[Record]]] = field(default_factory=dict, repr=False)
    _session: HttpSession | None = field(default=None, repr=False)
    _token: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def base_url(self) -> str:
        return check_base_url(self.credentials.base_url, "BigTime base_url")

    def _http(self) -> HttpSession:
        if self._session is None:
            # With a limiter, throttled GETs are retried through it (paced, reported), not by urllib3.
            self._session = HttpSession(
                timeout=self.timeout, system="bigtime", retry_throttled=self.limiter is None
            )
            self._session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        return self._session

    # -- auth -------------------------------------------------------------------------------------
    def _auth_headers(self, *, fresh: bool = False) -> dict[str, str]:
        creds = self.credentials
        if isinstance(creds, BigTimeApiKey):
            return {"X-Auth-ApiToken": creds.api_token.get_secret_value(), "X-Auth-Realm": creds.realm}
        with self._lock:
            if self._token is None or fresh:
                self._token = self._login(creds)
            return {"X-Auth-Token": self._token, "X-Auth-Realm": creds.realm}

    def _login(self, creds: BigTimeSession) -> str:
        body = {"UserId": creds.username, "Pwd": creds.password.get_secret_value()}
        response = self._exchange("POST", "/session", json=body, headers={})
        if response.status_code in (400, 401, 403, 405):
            raise TransientError(
                f"BigTime login refused (HTTP {response.status_code}): check the BigTime credentials secret",
                code="bigtime_auth",
            )
        data = as_record(self._json(response, "login", write=False))
        token = data.get("token")
        if not token:
            raise TransientError("BigTime login reply had no token", code="bigtime_auth")
        return str(token)

    def _secrets(self) -> list[str | None]:
        """What must never appear in an error reason, should BigTime echo it back."""
        creds = self.credentials
        if isinstance(creds, BigTimeApiKey):
            return [creds.api_token.get_secret_value()]
        return [creds.password.get_secret_value(), self._token]

    # -- transport --------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.limiter is not None:
            self.limiter.acquire()
        self.calls += 1
        try:
            return self._http().request(method, f"{self.base_url}{path}", **kwargs)
        except RedirectRefused as exc:
            # A misconfigured base_url (BigTime moved, http instead of https) or someone in between; either
            # way a person checks the secret. BigTime answered without doing the work: nothing applied.
            raise BigTimeCallError(
                f"BigTime {method} {_strip_ids(path)} {exc}: check base_url in the BigTime credentials secret",
                maybe_applied=False,
                code="bigtime_redirect",
            ) from None
        except requests.RequestException as exc:
            # A write may have reached BigTime before the connection broke; only a connect timeout
            # proves it did not. Being conservative costs one lookup on the retry, never a duplicate.
            applied = method != "GET" and not isinstance(exc, requests.ConnectTimeout)
            raise BigTimeCallError(
                f"BigTime {method} {_strip_ids(path)} failed: {describe_failure(exc)}", maybe_applied=applied
            ) from None

    def _exchange(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``_send``, telling the limiter about throttling and trying a throttled GET again through it."""
        attempt = 0
        while True:
            response = self._send(method, path, **kwargs)
            if response.status_code not in THROTTLED or self.limiter is None:
                return response
            self.limiter.throttled(_retry_after(response))
            if method != "GET" or attempt >= self.throttle_retries:
                return response
            attempt += 1

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One API call with auth (one re-login on 401 for sessions) and error classification."""
        write = method != "GET"
        response = self._exchange(method, path, json=json, params=params, headers=self._auth_headers())
        if response.status_code == 401 and isinstance(self.credentials, BigTimeSession):
            response = self._exchange(
                method, path, json=json, params=params, headers=self._auth_headers(fresh=True)
            )
        self._raise_for_status(method, path, response)
        return self._json(response, f"{method} {_strip_ids(path)}", write=write)

    def _raise_for_status(self, method: str, path: str, response: requests.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        what = f"BigTime {method} {_strip_ids(path)}"
        detail = redact(_message(response), self._secrets())
        if status == 401:
            raise TransientError(
                f"{what}: not authorised (HTTP 401); check the BigTime credentials secret",
                code="bigtime_auth",
            )
        if status in (429, 503):
            raise BigTimeCallError(
                f"{what}: throttled (HTTP {status})",
                maybe_applied=False,
                retry_after=_retry_after(response),
                throttled=True,
            )
        if status >= 500:
            # A 5xx after a write may hide a success ("created, then crashed"): the caller must look first.
            raise BigTimeCallError(
                f"{what}: server error (HTTP {status}) {detail}".strip(), maybe_applied=method != "GET"
            )
        if status == 405:
            raise PermanentError(
                f"{what}: BigTime refused permission (HTTP 405); give the API key's staffer the right to do this",
                code="bigtime_forbidden",
            )
        if status == 404:
            raise PermanentError(
                f"{what}: not found in BigTime (HTTP 404) {detail}".strip(), code="bigtime_not_found"
            )
        raise PermanentError(
            f"{what}: BigTime rejected the data (HTTP {status}): {detail or 'no reason given'}",
            code="bigtime_rejected",
        )

    @staticmethod
    def _json(response: requests.Response, what: str, *, write: bool) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BigTimeCallError(
                f"BigTime {what} answered HTTP {response.status_code} with something that is not JSON",
                maybe_applied=write,
            ) from None

    # -- resources --------------------------------------------------------------------------------
    def get_client(self, client_id: int) -> Record:
        return _one(self.request("GET", f"/client/detail/{client_id}", params={"View": "Detailed"}), "client")

    def update_client(self, client_id: int, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", f"/client/detail/{client_id}", json=fields), "client")

    def list_clients(self) -> list[Record]:
        return [
            as_record(c) for c in _as_list(self.request("GET", "/client", params={"ShowInactive": "true"}))
        ]

    def create_client(self, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", "/client/detail", json=fields), "client")

    def list_projects(self) -> list[Record]:
        data = self.request("GET", "/project", params={"ShowInactive": "true"})
        return [as_record(p) for p in _as_list(data)]

    def get_project(self, project_id: int) -> Record:
        params = {"View": "Detailed", "ShowAllContacts": "true"}
        return _one(self.request("GET", f"/project/detail/{project_id}", params=params), "project")

    def create_project(self, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", "/project/detail", json=fields), "project")

    def update_project(self, project_id: int, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", f"/project/detail/{project_id}", json=fields), "project")

    def list_project_contacts(self, project_id: int) -> list[Record]:
        return [as_record(c) for c in _as_list(self.request("GET", f"/project/contacts/{project_id}"))]

    def add_project_contact(self, project_id: int, fields: dict[str, Any]) -> Record:
        return _one(
            self.request("POST", "/project/contact", json={**fields, "ProjectSid": project_id}), "contact"
        )

    def update_project_contact(self, contact_id: int, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", f"/project/contact/{contact_id}", json=fields), "contact")

    def project_custom_fields(self, project_id: int) -> list[Record]:
        return [as_record(f) for f in _as_list(self.request("GET", f"/project/CustomFields/{project_id}"))]

    def set_project_custom_fields(self, project_id: int, values: dict[str, str]) -> None:
        # BigTime does not document the body of CustomFieldsByName; a list of {Name, Value} is what public
        # client code (bigtime-api-python) sends to its twin for staff, /staff/UDFlistByName
        # (docs/decisions.md#what-we-assume-about-bigtime).
        body = [{"Name": name, "Value": value} for name, value in values.items()]
        self.request("POST", f"/project/CustomFieldsByName/{project_id}", json=body)

    def picklist(self, name: str) -> list[Record]:
        return [as_record(i) for i in _as_list(self.request("GET", f"/picklist/FieldValues/{name}"))]

    def picklist_id(self, list_name: str, value_name: str) -> int:
        """The id of a firm-defined field value by name (case-insensitive), e.g. project type "Consulting".

        Lists are cached for ``picklist_ttl`` seconds across warm invocations: they change rarely and each
        read is a rate-limited call. A name not found is looked up once more in a fresh list (someone may
        just have added it) before it becomes a permanent error naming the values that exist.
        """
        items, fetched = self._picklist_cached(list_name, fresh=False)
        found = _find_value(items, value_name)
        if found is None and not fetched:
            items, _ = self._picklist_cached(list_name, fresh=True)
            found = _find_value(items, value_name)
        if found is not None:
            return found
        names = ", ".join(repr(str(i.get("Name"))) for i in items) or "none"
        raise PermanentError(
            f"BigTime has no {list_name} value named {value_name!r} (active values: {names}); "
            "fix the mapping or add the value in BigTime",
            code="bigtime_picklist",
        )

    def _picklist_cached(self, list_name: str, *, fresh: bool) -> tuple[list[Record], bool]:
        """(items, whether they were fetched just now)."""
        now = self.clock()
        cached = self._picklists.get(list_name)
        if not fresh and cached is not None and now - cached[0] < self.picklist_ttl:
            return cached[1], False
        items = self.picklist(list_name)
        self._picklists[list_name] = (now, items)
        return items, True

    # -- tasks, templates, staff and project teams (docs/decisions.md#what-we-assume-about-bigtime) ------
    def list_project_tasks(self, project_id: int) -> list[Record]:
        """Every task of a project, completed (archived) ones too."""
        data = self.request("GET", f"/task/listByProject/{project_id}", params={"ShowCompleted": "true"})
        return [as_record(t) for t in _as_list(data)]

    def create_task(self, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", "/task/detail", json=fields), "task")

    def update_task(self, task_id: int, fields: dict[str, Any]) -> Record:
        return _one(self.request("POST", f"/task/detail/{task_id}", json=fields), "task")

    def template_id(self, name: str) -> int:
        """The id of a project template by name (case-insensitive); the list is cached like picklists."""
        found = self._lookup_id("templates", "/project/Templates", name, keys=("Nm", "Name"))
        if found is None:
            names = ", ".join(repr(str(_name(t, ("Nm", "Name")))) for t in self._lookups["templates"][1])
            raise PermanentError(
                f"BigTime has no project template named {name!r} (templates: {names or 'none'}); fix the "
                "mapping's template section or add the template in BigTime",
                code="bigtime_template",
            )
        return found

    def staff_id(self, email: str) -> int | None:
        """The active staffer with this e-mail (case-insensitive), or None; the list is cached."""
        return self._lookup_id("staff", "/staff", email, keys=("EMail", "Email"))

    def project_team(self, project_id: int) -> list[Record]:
        return [as_record(m) for m in _as_list(self.request("GET", f"/project/Team/{project_id}"))]

    def set_project_team(self, project_id: int, members: list[dict[str, Any]]) -> None:
        self.request("POST", f"/project/Team/{project_id}", json=members)

    def _lookup_id(self, cache: str, path: str, wanted: str, *, keys: tuple[str, ...]) -> int | None:
        """An id from a cached list (templates, staff) by a name field; a miss in a cached list reads it
        once more, since someone may just have added the entry."""
        items, fetched = self._lookup_cached(cache, path, fresh=False)
        found = _find_active(items, wanted, keys)
        if found is None and not fetched:
            items, _ = self._lookup_cached(cache, path, fresh=True)
            found = _find_active(items, wanted, keys)
        return found

    def _lookup_cached(self, cache: str, path: str, *, fresh: bool) -> tuple[list[Record], bool]:
        now = self.clock()
        cached = self._lookups.get(cache)
        if not fresh and cached is not None and now - cached[0] < self.picklist_ttl:
            return cached[1], False
        items = [as_record(i) for i in _as_list(self.request("GET", path))]
        self._lookups[cache] = (now, items)
        return items, True


def _find_active(items: list[Record], wanted: str, keys: tuple[str, ...]) -> int | None:
    for item in items:
        name = str(_name(item, keys) or "").strip().casefold()
        if name and name == wanted.strip().casefold() and item.get("IsInactive") is not True:
            return record_id(item, "SystemId", "StaffSID", "Id")
    return None


def _name(item: Record, keys: tuple[str, ...]) -> Any:
    return next((item.get(k) for k in keys if item.get(k) not in (None, "")), None)


def _find_value(items: list[Record], name: str) -> int | None:
    wanted = name.strip().casefold()
    for item in items:
        if str(item.get("Name") or "").strip().casefold() == wanted:
            return record_id(item, "Id", "id", "SystemId")
    return None


def _as_list(data: Any) -> list[Any]:
    if data is None:
        return []
    if isinstance(data, list):
        return data
    raise BigTimeCallError("BigTime returned an object where a list was expected", maybe_applied=False)


def _one(data: Any, what: str) -> Record:
    # The docs say detail replies are an array; every client sees one object. Accept both.
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise BigTimeCallError(f"BigTime returned no {what} object", maybe_applied=True)
    return as_record(data)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""  # HTML error pages say nothing useful
    if isinstance(body, dict):
        rec = as_record(body)
        return str(rec.get("Message") or rec.get("error") or "")[:500]
    if isinstance(body, str):
        return body[:500]
    return ""


def _retry_after(response: requests.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"), date=response.headers.get("Date"))


def _strip_ids(path: str) -> str:
    return "/".join("{id}" if part.isdigit() else part for part in path.split("/"))
