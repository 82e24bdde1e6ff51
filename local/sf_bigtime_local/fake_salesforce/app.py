"""The fake org as a WSGI app: REST routes, composite, token endpoint, admin surface, faults, call log.

Every ``/services/data/vNN.N/…`` response carries ``Sforce-Limit-Info: api-usage=N/limit``; errors are
Salesforce's JSON arrays. One re-entrant lock serialises the store, so the app is thread-safe under
werkzeug's threaded server; fault delays and outgoing deliveries happen outside it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.wrappers import Request, Response

from sf_bigtime.sfid import is_salesforce_id, to_18
from sf_bigtime_local.faults import Fault, FaultInjector

from . import soql
from .auth import DEFAULT_AUDIENCES, Auth
from .errors import FakeSalesforceError, bad_request, fault_body, not_found
from .metadata import load_metadata
from .schema import Schema, SObjectType, standard_schema
from .store import IdGenerator, Record, Store, WriteContext
from .triggers import DEFAULT_OM_FIELDS, Flow, Relay, Triggers
from .values import coerce, to_wire

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"
MAX_COMPOSITE = 25
MAX_CURSORS = 500
_VERSION_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REF_ENCODED = re.compile(r"%40%7B(.*?)%7D", re.IGNORECASE)
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def default_metadata_dir() -> Path | None:
    """``<repo>/salesforce/force-app/main/default/objects`` when running from a checkout."""
    candidate = (
        Path(__file__).resolve().parents[3] / "salesforce" / "force-app" / "main" / "default" / "objects"
    )
    return candidate if candidate.is_dir() else None


def version_label(version: str) -> str:
    """Release name of an API version: 31.0 is Summer '14, then three releases a year."""
    index = int(float(version)) - 31
    season = ("Summer", "Winter", "Spring")[index % 3]
    return f"{season} '{14 + (index + 2) // 3:02d}"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall:
    """One ``/services/…`` request as the fake saw it (admin calls are not recorded)."""

    method: str
    path: str
    query: str
    status: int
    call_client: str | None  # from ``Sforce-Call-Options: client=…``
    time: float  # epoch seconds when answered
    counted: bool  # an API call under /services/data/vNN.N (counted in Sforce-Limit-Info)
    fault: bool  # answered by an injected fault

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``GET /__fake/calls``)."""
        return dict(vars(self))


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    total: int


class FakeSalesforce:
    """A faithful in-memory Salesforce org behind the REST API (see the package docstring)."""

    def __init__(
        self,
        org_id: str = "00D5w000004abcdEAA",
        api_version: str = "66.0",
        client_id: str = "ck",
        client_secret: str = "cs",  # noqa: S107 - a fake's well-known test credential
        page_size: int = 2000,
        metadata_dir: str | Path | None = None,
        *,
        jwt_public_key: str | bytes | None = None,
        usernames: Iterable[str] = (),
        jwt_audiences: Iterable[str] = DEFAULT_AUDIENCES,
        daily_api_limit: int = 15000,
        org_name: str = "Acme Consulting",
        is_sandbox: bool = False,
        integration_username: str = "bigtime-sync@acme.example",
        owner_username: str = "olivia.owner@acme.example",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.org_id = to_18(org_id)
        self.api_version = api_version
        self.page_size = page_size
        self.daily_api_limit = daily_api_limit
        self.org_name = org_name
        self.is_sandbox = is_sandbox
        self.integration_username = integration_username
        self.owner_username = owner_username
        self.extra_usernames = list(usernames)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.schema: Schema = standard_schema()
        source = Path(metadata_dir) if metadata_dir is not None else default_metadata_dir()
        if source is not None:
            load_metadata(self.schema, source)
        else:
            self.schema.link()
        self.metadata_dir = source
        self.auth = Auth(self.org_id, client_id, client_secret, jwt_public_key, jwt_audiences)
        self.faults = FaultInjector()
        self._lock = threading.RLock()
        self._host = "127.0.0.1"
        self._aux_ids = IdGenerator()  # query locators, notifications, flows: not part of record rollback
        self.triggers = Triggers(
            self.schema,
            self._lock,
            self.org_id,
            lambda: self._host,
            api_version,
            self._record_any,
            self._aux_ids.next,
        )
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh org: seeded users only; clears calls, faults, flows, relays and deliveries.
        Issued tokens stay valid (seeded user ids are deterministic)."""
        with self._lock:
            self.store = Store(self.schema, self.clock, IdGenerator())
            self._calls: list[ApiCall] = []
            self._api_count = 0
            self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
            self.faults.clear()
            self.triggers.reset()
            self._seed()

    def _seed(self) -> None:
        org = self.schema.get("Organization")
        assert org is not None
        now = self.store.now()
        values = {f.name: None for f in org.fields.values() if f.compute is None}
        values.update(
            Id=self.org_id,
            Name=self.org_name,
            IsSandbox=self.is_sandbox,
            OrganizationType="Enterprise Edition",
            InstanceName="NA224",
            TimeZoneSidKey="GMT",
            DefaultLocaleSidKey="en_US",
            CreatedDate=now,
            LastModifiedDate=now,
            SystemModstamp=now,
        )
        record = Record(org, values)
        self.store.records[record.id] = record
        self.store.by_type["organization"][record.id] = record
        user = self.schema.get("User")
        assert user is not None
        # The first user is created by itself, like an org's first admin: its id is the next one issued.
        peek = IdGenerator()
        peek.counter = self.store.ids.counter
        ctx = WriteContext(peek.next(user.key_prefix), api=False, version=self.api_version)
        seeds = [
            (self.integration_username, "Integration", "User", "integ"),
            (self.owner_username, "Olivia", "Owner", "oowner"),
        ] + [(name, None, name.split("@")[0], name[:8]) for name in self.extra_usernames]
        ids = []
        for username, first, last, alias in seeds:
            email = username if "@" in username else f"{username}@example.com"
            data = {
                "Username": username,
                "FirstName": first,
                "LastName": last,
                "Email": email,
                "Alias": alias,
            }
            ids.append(self.store.create(user, data, ctx).id)
        org_values = self.store.records[self.org_id].values
        org_values["CreatedById"] = org_values["LastModifiedById"] = ids[0]
        self.integration_user_id, self.owner_user_id = ids[0], ids[1]

    def close(self) -> None:
        """Stop the background sender (flows, outbound messages, CDC relays) and join its thread."""
        self.triggers.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- programmatic API ------------------------------------------------------------------------

    def _type(self, sobject: str) -> SObjectType:
        found = self.schema.get(sobject)
        if found is None:
            raise bad_request("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        return found

    def _programmatic(
        self, fn: Callable[[WriteContext], Any], user_id: str | None, client: str | None
    ) -> Any:
        # Seeding stands for a person working in the UI: acting user "Owner", no API changeOrigin.
        ctx = WriteContext(
            user_id or self.owner_user_id, client, api=client is not None, version=self.api_version
        )
        with self._lock:
            result = fn(ctx)
            self._commit(ctx)
        return result

    def create(
        self, sobject: str, fields: dict[str, Any], *, user_id: str | None = None, client: str | None = None
    ) -> str:
        """Create a record with the same validation as REST; returns its 18-character id."""
        obj = self._type(sobject)
        return str(self._programmatic(lambda ctx: self.store.create(obj, fields, ctx).id, user_id, client))

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """All fields in wire format (no ``attributes``); ``None`` if unknown. Deleted records are returned
        with ``IsDeleted`` true (they sit in the recycle bin)."""
        obj = self._type(sobject)
        with self._lock:
            record = self.store.get(record_id)
            if record is None or record.sobject is not obj:
                return None
            return {f.name: to_wire(f, record.value(f)) for f in obj.fields.values()}

    def update(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        user_id: str | None = None,
        client: str | None = None,
    ) -> None:
        obj = self._type(sobject)
        self._programmatic(
            lambda ctx: self.store.update(self.store.require(obj, record_id), fields, ctx), user_id, client
        )

    def delete(
        self, sobject: str, record_id: str, *, user_id: str | None = None, client: str | None = None
    ) -> None:
        obj = self._type(sobject)
        self._programmatic(
            lambda ctx: self.store.delete(self.store.require(obj, record_id), ctx), user_id, client
        )

    def undelete(
        self, sobject: str, record_id: str, *, user_id: str | None = None, client: str | None = None
    ) -> None:
        obj = self._type(sobject)

        def run(ctx: WriteContext) -> None:
            record = self.store.get(record_id)
            if record is None or record.sobject is not obj:
                raise not_found()
            self.store.undelete(record, ctx)

        self._programmatic(run, user_id, client)

    def query(self, text: str, include_deleted: bool = False) -> dict[str, Any]:
        """Run SOQL without paging or API accounting: ``{"totalSize", "done", "records"}``."""
        with self._lock:
            result = soql.execute(
                text,
                self.schema,
                self.store,
                today=self.store.now().date(),
                include_deleted=include_deleted,
                version=self.api_version,
            )
        return {"totalSize": result.total_size, "done": True, "records": result.records}

    def issue_token(self, username: str | None = None) -> str:
        """A valid bearer token (integration user unless ``username``), e.g. for ``session_id=`` mode."""
        with self._lock:
            user_id = self._user_by_username(username) if username else self.integration_user_id
            if user_id is None:
                raise ValueError(f"unknown username {username!r}")
            return self.auth.issue(user_id)

    def expire_sessions(self) -> None:
        """Invalidate every issued token: the next call gets 401 INVALID_SESSION_ID."""
        with self._lock:
            self.auth.expire_all()

    def add_flow(
        self,
        object: str = "Opportunity",
        field: str = "StageName",
        value: Any = "Closed Won",
        action: str = "json",
        url: str = "",
        headers: dict[str, str] | None = None,
        fields: Iterable[str] | None = None,
        batch_interval: float = 0.2,
        retry_start: float = 0.5,
        retry_cap: float = 8.0,
        max_age: float = 120.0,
        timeout: float = 5.0,
        json_retry_delays: Iterable[float] = (0.5, 1.0, 2.0, 4.0),
    ) -> str:
        """Add a record-triggered after-save flow (see :class:`~.triggers.Flow`); returns its id (``301…``).

        ``json``: HTTP callout posting ``{orgId, opportunityId, eventId, accountId, stageName,
        lastModifiedDate}`` (+ ``fields``) with ``headers``; retried after ``json_retry_delays`` (the
        15/30/60/120-minute schedule, scaled). ``outbound_message``: SOAP notifications of ``fields``
        (default: Id, AccountId, Amount, CloseDate, IsClosed, IsWon, LastModifiedDate, Name, OwnerId,
        StageName), batched every ``batch_interval`` s, retried with backoff from ``retry_start`` doubling
        to ``retry_cap`` until acked, dropped after ``max_age`` s.
        """
        if action not in ("json", "outbound_message"):
            raise ValueError("action must be 'json' or 'outbound_message'")
        obj = self._type(object)
        f = obj.field(field)
        if f is None:
            raise ValueError(f"no field {field!r} on {obj.name}")
        if not url:
            raise ValueError("a flow needs a url")
        names = (
            list(fields)
            if fields is not None
            else (list(DEFAULT_OM_FIELDS) if action == "outbound_message" else [])
        )
        for name in names:
            if obj.field(name) is None:
                raise ValueError(f"no field {name!r} on {obj.name}")
        flow = Flow(
            id=self._aux_ids.next("301"),
            object=obj.name,
            field=f.name,
            value=coerce(f, value),
            action=action,
            url=url,
            headers=dict(headers or {}),
            fields=[obj.field(n).name for n in names],  # type: ignore[union-attr]
            batch_interval=batch_interval,
            retry_start=retry_start,
            retry_cap=retry_cap,
            max_age=max_age,
            timeout=timeout,
            json_retry_delays=tuple(json_retry_delays),
            action_id=self._aux_ids.next("04k"),
        )
        self.triggers.add_flow(flow)
        return flow.id

    def add_cdc_relay(
        self,
        url: str,
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
        headers: dict[str, str] | None = None,
        max_attempts: int = 5,
        retry_start: float = 0.5,
    ) -> str:
        """Relay every Opportunity change event to ``url`` as an EventBridge envelope; returns the relay id (``0YL…``)."""
        relay = Relay(
            self._aux_ids.next("0YL"), url, account, region, dict(headers or {}), max_attempts, retry_start
        )
        self.triggers.add_relay(relay)
        return relay.id

    @property
    def calls(self) -> list[ApiCall]:
        """Recorded ``/services/…`` calls, oldest first (see :class:`ApiCall`)."""
        with self._lock:
            return list(self._calls)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every outgoing delivery attempt: kind (json|outbound_message|cdc), url, status, body, response, …"""
        with self._lock:
            return [dict(d) for d in self.triggers.state.deliveries]

    @property
    def change_events(self) -> list[dict[str, Any]]:
        """``OpportunityChangeEvent`` payloads in commit order."""
        with self._lock:
            return [dict(e) for e in self.triggers.state.change_events]

    @property
    def pending_notifications(self) -> list[dict[str, Any]]:
        """Outbound-message notifications not yet acknowledged."""
        with self._lock:
            return [
                {"id": n.id, "record_id": n.record_id, "flow_id": fid, "attempts": n.attempts}
                for fid, queue in self.triggers.state.queues.items()
                for n in queue
            ]

    @property
    def dropped_notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.triggers.state.dropped)

    @property
    def api_usage(self) -> int:
        with self._lock:
            return self._api_count

    # --- internals shared by REST and programmatic paths -----------------------------------------

    def _record_any(self, record_id: str) -> Record | None:
        with self._lock:
            return self.store.get(record_id)

    def _user_by_username(self, username: str) -> str | None:
        user = self.schema.get("User")
        assert user is not None
        f = user.field("Username")
        assert f is not None
        matches = [r for r in self.store.find(user, f, username) if r.values.get("IsActive")]
        return matches[0].id if matches else None

    def _commit(self, ctx: WriteContext) -> None:
        if ctx.changes:
            self.triggers.on_commit(ctx.changes)
            ctx.changes = []

    # --- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if request.path.startswith("/__fake/"):
                response = self._admin(request)
            elif request.path.startswith("/services/"):
                response = self._services(request)
            else:
                response = self._json(
                    404,
                    [
                        {
                            "message": "The requested resource does not exist",
                            "errorCode": "NOT_FOUND",
                            "fields": [],
                        }
                    ],
                )
        except Exception:  # never crash the server thread: answer like Salesforce's 500
            log.exception("fake Salesforce failed")
            response = self._json(
                500,
                [{"message": traceback.format_exc(limit=3), "errorCode": "UNKNOWN_EXCEPTION", "fields": []}],
            )
        return response(environ, start_response)

    @staticmethod
    def _json(
        status: int, body: Any, headers: dict[str, str] | None = None, pretty: bool = False
    ) -> Response:
        if status == 204 or body is None:
            return Response(status=status, headers=headers or {})
        text = json.dumps(body, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
        return Response(text, status=status, headers=headers or {}, content_type=JSON_TYPE)

    def _services(self, request: Request) -> Response:
        self._host = request.host or self._host
        client = _call_client(request.headers.get("Sforce-Call-Options"))
        counted = _VERSION_PATH.match(request.path) is not None
        with self._lock:
            if counted:
                self._api_count += 1
            usage = self._api_count
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        faulted = fault is not None and bool(fault.status)
        if fault is not None and fault.status and not fault.after:
            response = self._fault_response(fault)
        else:
            response = self._handle(request, client, usage)
            if fault is not None and fault.status and fault.after:
                response = self._fault_response(fault)
        if counted:
            response.headers["Sforce-Limit-Info"] = f"api-usage={usage}/{self.daily_api_limit}"
        with self._lock:
            self._calls.append(
                ApiCall(
                    method=request.method,
                    path=request.path,
                    query=request.query_string.decode("latin-1"),
                    status=response.status_code,
                    call_client=client,
                    time=time.time(),
                    counted=counted,
                    fault=faulted,
                )
            )
        return response

    def _fault_response(self, fault: Fault) -> Response:
        body = fault.body if fault.body is not None else fault_body(fault.status)
        if isinstance(body, str | bytes):
            response = Response(body, status=fault.status, content_type="text/plain;charset=UTF-8")
        else:
            response = self._json(fault.status, body)
        for key, value in fault.headers.items():
            response.headers[key] = value
        return response

    def _handle(self, request: Request, client: str | None, usage: int) -> Response:
        path = request.path
        pretty = request.headers.get("X-PrettyPrint", "") == "1"
        if path == "/services/oauth2/token":
            if request.method != "POST":
                return self._json(
                    405, {"error": "invalid_request", "error_description": "must use HTTP POST"}
                )
            with self._lock:
                status, body = self.auth.token_endpoint(
                    request.form,
                    request.headers.get("Authorization"),
                    request.host,
                    self.integration_user_id,
                    self._user_by_username,
                )
            return self._json(status, body)
        if path.rstrip("/") == "/services/data" and request.method == "GET":
            return self._json(200, self._versions(), pretty=pretty)
        m = _VERSION_PATH.match(path)
        if m is None:
            return self._json(404, not_found().body())
        version = m.group(1)
        if not 31 <= float(version) <= max(67.0, float(self.api_version)):
            return self._json(404, not_found().body())
        with self._lock:
            user_id = self.auth.user_for(request.headers.get("Authorization"))
        if user_id is None:
            body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            return self._json(401, body, {"WWW-Authenticate": 'Token realm="Salesforce"'})
        if usage > self.daily_api_limit:
            return self._json(
                403, bad_request("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").body()
            )
        segments = _segments(request, m.group(0)[: len("/services/data/v") + len(version)])
        params = {k: request.args.get(k, "") for k in request.args}
        raw = request.get_data()
        ctx = WriteContext(user_id, client, api=True, version=version)
        with self._lock:
            reply = self._route(request.method, version, segments, params, lambda: _parse_json(raw), ctx)
            if reply.status < 300:
                self._commit(ctx)
        return self._json(reply.status, reply.body, reply.headers, pretty=pretty)

    def _versions(self) -> list[dict[str, str]]:
        top = max(67, int(float(self.api_version)))
        versions = [f"{v}.0" for v in range(31, top + 1)]
        if self.api_version not in versions:
            versions.append(self.api_version)
        return [{"label": version_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions]

    # --- REST routing (called under the lock) ----------------------------------------------------

    def _route(
        self,
        method: str,
        version: str,
        segments: list[str],
        params: dict[str, str],
        body: Callable[[], Any],
        ctx: WriteContext,
    ) -> Reply:
        try:
            return self._dispatch(method, version, segments, params, body, ctx)
        except FakeSalesforceError as err:
            return Reply(err.status, err.body())

    def _dispatch(
        self,
        method: str,
        version: str,
        segs: list[str],
        params: dict[str, str],
        body: Callable[[], Any],
        ctx: WriteContext,
    ) -> Reply:
        base = f"/services/data/v{version}"
        if not segs:
            _allow(method, "GET")
            return Reply(
                200,
                {name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "composite", "limits")},
            )
        head, rest = segs[0], segs[1:]
        if head in ("query", "queryAll"):
            _allow(method, "GET")
            if rest:
                return self._query_more(version, head, rest[0])
            return self._query(version, head, params)
        if head == "limits" and not rest:
            _allow(method, "GET")
            remaining = max(0, self.daily_api_limit - self._api_count)
            return Reply(
                200,
                {
                    "DailyApiRequests": {"Max": self.daily_api_limit, "Remaining": remaining},
                    "ConcurrentPerOrgLongTxn": {"Max": 25, "Remaining": 25},
                    "DataStorageMB": {"Max": 5, "Remaining": 5},
                },
            )
        if head == "composite" and not rest:
            _allow(method, "POST")
            return self._composite(version, body(), ctx)
        if head == "sobjects":
            return self._sobjects(method, version, rest, params, body, ctx)
        raise not_found()

    def _query(self, version: str, endpoint: str, params: dict[str, str]) -> Reply:
        text = params.get("q", "")
        if not text.strip():
            raise bad_request("MALFORMED_QUERY", "A query string has to be specified")
        result = soql.execute(
            text,
            self.schema,
            self.store,
            today=self.store.now().date(),
            include_deleted=endpoint == "queryAll",
            version=version,
        )
        if len(result.records) <= self.page_size:
            return Reply(200, {"totalSize": result.total_size, "done": True, "records": result.records})
        locator = self._aux_ids.next("01g")
        self._cursors[locator] = _Cursor(result.records, result.total_size)
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)
        return self._page(version, endpoint, locator, 0)

    def _page(self, version: str, endpoint: str, locator: str, offset: int) -> Reply:
        cursor = self._cursors[locator]
        end = offset + self.page_size
        body: dict[str, Any] = {"totalSize": cursor.total, "done": end >= len(cursor.records)}
        if end < len(cursor.records):
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{locator}-{end}"
        else:
            self._cursors.pop(locator, None)
        body["records"] = cursor.records[offset:end]
        return Reply(200, body)

    def _query_more(self, version: str, endpoint: str, token: str) -> Reply:
        locator, _, offset = token.rpartition("-")
        if locator not in self._cursors or not offset.isdigit():
            raise bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(version, endpoint, locator, int(offset))

    def _sobjects(
        self,
        method: str,
        version: str,
        segs: list[str],
        params: dict[str, str],
        body: Callable[[], Any],
        ctx: WriteContext,
    ) -> Reply:
        if not segs:
            _allow(method, "GET")
            return Reply(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [
                        {
                            "name": o.name,
                            "label": o.label,
                            "keyPrefix": o.key_prefix,
                            "custom": o.custom,
                            "urls": {"sobject": f"/services/data/v{version}/sobjects/{o.name}"},
                        }
                        for o in self.schema.objects.values()
                    ],
                },
            )
        obj = self.schema.get(segs[0])
        if obj is None:
            raise not_found()
        base = f"/services/data/v{version}/sobjects/{obj.name}"
        if len(segs) == 1:
            _allow(method, "GET", "POST")
            if method == "GET":
                describe = obj.describe(version)
                basic = {
                    k: describe[k] for k in ("name", "label", "labelPlural", "keyPrefix", "custom", "urls")
                }
                return Reply(200, {"objectDescribe": basic, "recentItems": []})
            record = self.store.create(obj, body(), ctx)
            return Reply(
                201, {"id": record.id, "success": True, "errors": []}, {"Location": f"{base}/{record.id}"}
            )
        if len(segs) == 2 and segs[1] == "describe":
            _allow(method, "GET")
            return Reply(200, obj.describe(version))
        if len(segs) == 2:
            _allow(method, "GET", "PATCH", "DELETE")
            record = self.store.require(obj, segs[1])
            return self._record_op(method, version, obj, record, params, body, ctx)
        if len(segs) == 3:
            return self._external(method, version, obj, segs[1], segs[2], params, body, ctx)
        raise not_found()

    def _record_op(
        self,
        method: str,
        version: str,
        obj: SObjectType,
        record: Record,
        params: dict[str, str],
        body: Callable[[], Any],
        ctx: WriteContext,
    ) -> Reply:
        if method == "GET":
            return Reply(200, self._record_body(version, obj, record, params.get("fields")))
        if method == "PATCH":
            self.store.update(record, body(), ctx)
            return Reply(204)
        self.store.delete(record, ctx)
        return Reply(204)

    def _record_body(
        self, version: str, obj: SObjectType, record: Record, fields: str | None
    ) -> dict[str, Any]:
        chosen = list(obj.fields.values())
        if fields:
            chosen = []
            for name in (n.strip() for n in fields.split(",")):
                f = obj.field(name)
                if f is None:
                    raise bad_request(
                        "INVALID_FIELD",
                        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
                        "field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                        "or the describe call for the appropriate names.",
                    )
                chosen.append(f)
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{record.id}",
            }
        }
        for f in chosen:
            out[f.name] = to_wire(f, record.value(f))
        return out

    def _external(
        self,
        method: str,
        version: str,
        obj: SObjectType,
        field_name: str,
        value: str,
        params: dict[str, str],
        body: Callable[[], Any],
        ctx: WriteContext,
    ) -> Reply:
        _allow(method, "GET", "PATCH", "DELETE")
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
        base = f"/services/data/v{version}/sobjects/{obj.name}"
        if f.name == "Id" and not is_salesforce_id(value):
            raise bad_request("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {value}")
        matches = self.store.find(obj, f, value)
        if len(matches) > 1:
            raise FakeSalesforceError(
                300,
                "MULTIPLE_CHOICES",
                "more than one record found",
                body=[f"{base}/{r.id}" for r in matches],
            )
        if method == "GET":
            if not matches:
                raise not_found()
            return Reply(200, self._record_body(version, obj, matches[0], params.get("fields")))
        if method == "DELETE":
            if not matches:
                raise not_found()
            self.store.delete(matches[0], ctx)
            return Reply(204)
        data = body()
        if isinstance(data, dict):
            for key in list(data):
                if key.lower() == f.name.lower():
                    if str(data[key]).casefold() != value.casefold():
                        raise bad_request(
                            "INVALID_FIELD",
                            f"The value of {f.name} in the request body does not match the value in the URL",
                            [f.name],
                        )
                    del data[key]
        if matches:
            self.store.update(matches[0], data, ctx)
            return Reply(200, {"id": matches[0].id, "success": True, "errors": [], "created": False})
        if params.get("updateOnly", "").lower() == "true" or f.name == "Id":
            raise not_found()
        record = self.store.create(obj, {**data, f.name: value} if isinstance(data, dict) else data, ctx)
        return Reply(
            201,
            {"id": record.id, "success": True, "errors": [], "created": True},
            {"Location": f"{base}/{record.id}"},
        )

    # --- composite -------------------------------------------------------------------------------

    def _composite(self, version: str, data: Any, ctx: WriteContext) -> Reply:
        if not isinstance(data, dict) or not isinstance(data.get("compositeRequest"), list):
            raise bad_request("JSON_PARSER_ERROR", "compositeRequest is required and must be an array")
        subrequests = data["compositeRequest"]
        if not subrequests or len(subrequests) > MAX_COMPOSITE:
            raise bad_request(
                "INVALID_BATCH_REQUEST",
                f"A composite request needs 1 to {MAX_COMPOSITE} subrequests, got {len(subrequests)}",
            )
        seen: set[str] = set()
        for sub in subrequests:
            ref = sub.get("referenceId") if isinstance(sub, dict) else None
            if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_]*", ref):
                raise bad_request(
                    "INVALID_INPUT",
                    f"Provided referenceId ('{ref}') must start with a letter or a number, and it can contain only "
                    "letters, numbers and underscores ('_').",
                )
            if ref in seen:
                raise bad_request("INVALID_INPUT", f"Duplicate referenceId provided in the request: {ref}")
            if not isinstance(sub.get("url"), str) or not isinstance(sub.get("method"), str):
                raise bad_request("INVALID_INPUT", f"Subrequest {ref} needs a method and a url")
            seen.add(ref)
        all_or_none = bool(data.get("allOrNone", False))
        snapshot = self.store.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        bodies: dict[str, Any] = {}
        failed = False
        for sub in subrequests:
            ref = sub["referenceId"]
            if failed:
                results.append(_halted(ref))
                continue
            sub_ctx = ctx if all_or_none else WriteContext(ctx.user_id, ctx.client, True, ctx.version)
            try:
                reply = self._subrequest(sub, bodies, sub_ctx)
            except _ReferenceError as err:
                reply = Reply(400, bad_request("PROCESSING_HALTED", str(err)).body())
            results.append(
                {
                    "body": reply.body,
                    "httpHeaders": reply.headers,
                    "httpStatusCode": reply.status,
                    "referenceId": ref,
                }
            )
            if reply.status < 400:
                bodies[ref] = reply.body
                if not all_or_none:
                    self._commit(sub_ctx)
            elif all_or_none:
                failed = True
        if all_or_none and failed:
            self.store.restore(snapshot)
            ctx.changes = []
            results = [r if r["httpStatusCode"] >= 400 else _halted(r["referenceId"]) for r in results]
        return Reply(200, {"compositeResponse": results})

    def _subrequest(self, sub: dict[str, Any], bodies: dict[str, Any], ctx: WriteContext) -> Reply:
        url = _substitute_text(
            _REF_ENCODED.sub(lambda m: "@{" + unquote(m.group(1)) + "}", sub["url"]), bodies
        )
        method = sub["method"].upper()
        parts = urlsplit(url)
        m = _VERSION_PATH.match(parts.path)
        if m is None:
            return Reply(404, not_found().body())
        version = m.group(1)
        segments = [unquote(s) for s in (m.group(2) or "").strip("/").split("/") if s]
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if segments[:1] == ["composite"]:
            return Reply(
                400,
                bad_request("INVALID_INPUT", "A composite request cannot contain another composite").body(),
            )
        payload = _substitute_json(sub.get("body"), bodies)
        return self._route(method, version, segments, params, lambda: payload, ctx)

    # --- admin surface ---------------------------------------------------------------------------

    def _admin(self, request: Request) -> Response:
        route = request.path[len("/__fake/") :].strip("/")
        method = request.method
        try:
            data = _parse_json(request.get_data()) if request.get_data() else {}
        except FakeSalesforceError:
            return self._json(400, {"error": "body must be JSON"})
        try:
            return self._admin_route(method, route, data)
        except FakeSalesforceError as err:
            return self._json(err.status, err.body())
        except (TypeError, ValueError, KeyError) as err:
            return self._json(400, {"error": str(err)})

    def _admin_route(self, method: str, route: str, data: Any) -> Response:
        parts = route.split("/")
        if (method, route) == ("POST", "reset"):
            self.reset()
            return self._json(200, {"ok": True})
        if route == "faults":
            if method == "POST":
                self.faults.add(**data)
                return self._json(201, {"ok": True})
            if method == "DELETE":
                self.faults.clear()
                return self._json(200, {"ok": True})
            if method == "GET":
                return self._json(200, [vars(f) for f in self.faults.pending()])
        if (method, route) == ("GET", "calls"):
            return self._json(200, [c.to_dict() for c in self.calls])
        if (method, route) == ("POST", "flows"):
            return self._json(201, {"id": self.add_flow(**data)})
        if (method, route) == ("GET", "deliveries"):
            return self._json(200, self.deliveries)
        if (method, route) == ("GET", "change-events"):
            return self._json(200, self.change_events)
        if (method, route) == ("POST", "cdc-relay"):
            return self._json(201, {"id": self.add_cdc_relay(**data)})
        if (method, route) == ("POST", "token"):
            return self._json(
                200,
                {
                    "access_token": self.issue_token(data.get("username")),
                    "instance_url": f"https://{self._host}",
                },
            )
        if (method, route) == ("POST", "expire-sessions"):
            self.expire_sessions()
            return self._json(200, {"ok": True})
        if (method, route) == ("GET", "state"):
            return self._json(
                200,
                {
                    "org_id": self.org_id,
                    "integration_user_id": self.integration_user_id,
                    "owner_user_id": self.owner_user_id,
                    "api_usage": self.api_usage,
                    "pending_notifications": self.pending_notifications,
                    "dropped_notifications": self.dropped_notifications,
                },
            )
        if parts[0] == "records" and len(parts) in (2, 3, 4):
            return self._admin_records(method, parts[1:], data)
        return self._json(404, {"error": f"no admin route {method} /__fake/{route}"})

    def _admin_records(self, method: str, parts: list[str], data: Any) -> Response:
        sobject = parts[0]
        if len(parts) == 1 and method == "POST":
            return self._json(
                201,
                {
                    "id": self.create(
                        sobject, data, client=data.pop("_client", None) if isinstance(data, dict) else None
                    )
                },
            )
        if len(parts) == 2:
            if method == "GET":
                record = self.get(sobject, parts[1])
                return (
                    self._json(200, record) if record is not None else self._json(404, {"error": "not found"})
                )
            if method == "PATCH":
                client = data.pop("_client", None) if isinstance(data, dict) else None
                self.update(sobject, parts[1], data, client=client)
                return self._json(200, {"ok": True})
            if method == "DELETE":
                self.delete(sobject, parts[1])
                return self._json(200, {"ok": True})
        if len(parts) == 3 and parts[2] == "undelete" and method == "POST":
            self.undelete(sobject, parts[1])
            return self._json(200, {"ok": True})
        return self._json(404, {"error": "no such admin records route"})


# --- helpers ------------------------------------------------------------------------------------------


class _ReferenceError(Exception):
    """A composite ``@{ref.path}`` that cannot be resolved."""


def _halted(ref: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _HALTED, "fields": []}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def _resolve_reference(ref: str, path: str, bodies: dict[str, Any]) -> Any:
    if ref not in bodies:
        raise _ReferenceError(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. Provided referenceId ('{ref}') "
            "must be defined by an earlier, successful subrequest."
        )
    value = bodies[ref]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            if key:
                if isinstance(value, dict) and key not in value:
                    key = next((k for k in value if k.lower() == key.lower()), key)
                value = value[key]
            else:
                value = value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise _ReferenceError(
                f"Invalid reference specified. No value for {ref}{path} found in {ref}."
            ) from None
    return value


def _ref_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _substitute_text(text: str, bodies: dict[str, Any]) -> str:
    return _REF.sub(lambda m: _ref_text(_resolve_reference(m.group(1), m.group(2), bodies)), text)


def _substitute_json(value: Any, bodies: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:  # a value that is only a reference keeps the referenced JSON type
            return _resolve_reference(whole.group(1), whole.group(2), bodies)
        return _substitute_text(value, bodies)
    if isinstance(value, dict):
        return {k: _substitute_json(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_json(v, bodies) for v in value]
    return value


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8") if raw else "")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise bad_request(
            "JSON_PARSER_ERROR",
            f"Unexpected character or end of input: {exc.args[0]} at [line:{line}, column:{col}]",
        ) from None


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise FakeSalesforceError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}"
        )


def _call_client(header: str | None) -> str | None:
    """``Sforce-Call-Options: client=bigtime-sync, defaultNamespace=x`` → ``bigtime-sync``."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "client" and value.strip():
            return value.strip()
    return None


def _segments(request: Request, prefix: str) -> list[str]:
    """Path segments after ``/services/data/vNN.N``, split on the raw URI so ``%2F`` in an external id
    stays inside its segment, then percent-decoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else request.path
    if not path.startswith(prefix):
        path = request.path
    return [unquote(s) for s in path[len(prefix) :].strip("/").split("/") if s]
