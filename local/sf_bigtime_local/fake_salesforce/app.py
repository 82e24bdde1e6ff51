"""The fake org: lifecycle and seeding, the Python API, and the top-level REST router. HTTP handling lives in
:mod:`.gateway`; route families in :mod:`.rest`, :mod:`.composite` and :mod:`.sobject_collections`.

Every ``/services/data/vNN.N/…`` response carries ``Sforce-Limit-Info: api-usage=N/limit``; errors are
Salesforce's JSON arrays. One re-entrant lock (``lock``) serialises the store, so the app is thread-safe
under werkzeug's threaded server; fault delays and outgoing deliveries happen outside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sf_bigtime.sfid import to_18
from sf_bigtime_local.faults import FaultInjector

from . import soql
from .auth import DEFAULT_AUDIENCES, Auth
from .composite import Composite
from .errors import FakeSalesforceError, bad_request, not_found
from .gateway import Gateway
from .metadata import load_metadata
from .product_rules import ProductRules
from .products import STANDARD_PRICE_BOOK
from .rest import Call, Queries, Reply, SObjects, allow
from .schema import Schema, SObjectType, standard_schema
from .sobject_collections import Collections
from .store import IdGenerator, Record, Store, WriteContext
from .triggers import DEFAULT_OM_FIELDS, Flow, Relay, Triggers
from .usage import ApiCall, Usage, UsageLog, Write
from .values import coerce, to_wire


def default_metadata_dir() -> Path | None:
    """``<repo>/salesforce/force-app/main/default/objects`` when running from a checkout."""
    candidate = (
        Path(__file__).resolve().parents[3] / "salesforce" / "force-app" / "main" / "default" / "objects"
    )
    return candidate if candidate.is_dir() else None


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
        token_factory: Callable[[], str] | None = None,
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
        if token_factory is not None:
            self.auth.opaque = token_factory
        self.session_calls = 0  # > 0: every issued token expires after each session_calls-th API call
        self.faults = FaultInjector()
        self.lock = threading.RLock()
        self.host = "127.0.0.1"
        self._aux_ids = IdGenerator()  # query locators, notifications, flows: not part of record rollback
        self.triggers = Triggers(
            self.schema,
            self.lock,
            self.org_id,
            lambda: self.host,
            api_version,
            self._record_any,
            self._aux_ids.next,
        )
        self.queries = Queries(self.schema, lambda: self.store, page_size, self._aux_ids.next)
        self.sobjects = SObjects(self.schema, lambda: self.store)
        self.composite = Composite(self.route, lambda: self.store, self.commit)
        self.collections = Collections(self.schema, lambda: self.store)
        self.gateway = Gateway(self)
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh org: seeded users only; clears calls, faults, session expiry, flows, relays and
        deliveries. Issued tokens stay valid (seeded user ids are deterministic)."""
        with self.lock:
            self.store = Store(self.schema, self.clock, IdGenerator(), rules=[ProductRules()])
            self.usage_log = UsageLog()
            self.queries.cursors.clear()
            self.faults.clear()
            self.session_calls = 0
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
        # Every org has exactly one standard price book; IsStandard cannot be set through the API.
        book = self.store.create(
            self._type("Pricebook2"), {"Name": STANDARD_PRICE_BOOK, "IsActive": True}, ctx
        )
        book.values["IsStandard"] = True
        self.standard_pricebook_id = book.id

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
        with self.lock:
            result = fn(ctx)
            self.commit(ctx, rest=False)
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
        with self.lock:
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
        with self.lock:
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
        with self.lock:
            user_id = self.user_by_username(username) if username else self.integration_user_id
            if user_id is None:
                raise ValueError(f"unknown username {username!r}")
            return self.auth.issue(user_id)

    def expire_sessions(self) -> None:
        """Invalidate every issued token: the next call gets 401 INVALID_SESSION_ID."""
        with self.lock:
            self.auth.expire_all()

    def expire_sessions_every(self, calls: int) -> None:
        """From now on, invalidate every issued token after each ``calls``-th API call (0: never), as an
        org whose session timeout or an admin's "revoke" keeps cutting sessions short: the next call
        gets 401 INVALID_SESSION_ID and the client must log in again."""
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise ValueError("calls must be an integer >= 0")
        with self.lock:
            self.session_calls = calls

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
        with self.lock:
            return list(self.usage_log.calls)

    @property
    def writes(self) -> list[Write]:
        """Records saved because of REST requests, oldest first (see :mod:`.usage`)."""
        with self.lock:
            return list(self.usage_log.writes)

    def usage(self) -> Usage:
        """API calls (total and by kind) and records written through the REST API so far (see :mod:`.usage`)."""
        with self.lock:
            return self.usage_log.usage()

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every outgoing delivery attempt: kind (json|outbound_message|cdc), url, status, body, response, …"""
        with self.lock:
            return [dict(d) for d in self.triggers.state.deliveries]

    @property
    def change_events(self) -> list[dict[str, Any]]:
        """``OpportunityChangeEvent`` payloads in commit order."""
        with self.lock:
            return [dict(e) for e in self.triggers.state.change_events]

    @property
    def pending_notifications(self) -> list[dict[str, Any]]:
        """Outbound-message notifications not yet acknowledged."""
        with self.lock:
            return [
                {"id": n.id, "record_id": n.record_id, "flow_id": fid, "attempts": n.attempts}
                for fid, queue in self.triggers.state.queues.items()
                for n in queue
            ]

    @property
    def dropped_notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.triggers.state.dropped)

    @property
    def instance_url(self) -> str:
        """``https://<host:port>`` as the last request addressed the fake (what a token response carries)."""
        return f"https://{self.host}"

    @property
    def api_usage(self) -> int:
        """The count ``Sforce-Limit-Info`` reports: calls under ``/services/data/vNN.N``."""
        with self.lock:
            return self.usage_log.api_count

    # --- internals shared by REST and programmatic paths -----------------------------------------

    def _record_any(self, record_id: str) -> Record | None:
        with self.lock:
            return self.store.get(record_id)

    def user_by_username(self, username: str) -> str | None:
        user = self.schema.get("User")
        assert user is not None
        f = user.field("Username")
        assert f is not None
        matches = [r for r in self.store.find(user, f, username) if r.values.get("IsActive")]
        return matches[0].id if matches else None

    def commit(self, ctx: WriteContext, rest: bool = True) -> None:
        """Hand a transaction's changes to flows and CDC; ``rest``: count them as REST writes."""
        if ctx.changes:
            if rest:
                self.usage_log.record_writes(ctx.changes)
            self.triggers.on_commit(ctx.changes)
            ctx.changes = []

    # --- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.gateway(environ, start_response)

    # --- REST routing (called under the lock) ----------------------------------------------------

    def route(self, call: Call) -> Reply:
        try:
            return self._dispatch(call)
        except FakeSalesforceError as err:
            return Reply(err.status, err.body())

    def _dispatch(self, call: Call) -> Reply:
        segs = call.segments
        if not segs:
            allow(call.method, "GET")
            names = ("sobjects", "query", "queryAll", "composite", "limits")
            return Reply(200, {name: f"{call.base}/{name}" for name in names})
        head, rest = segs[0], segs[1:]
        if head in ("query", "queryAll"):
            return self.queries.route(call, head, rest)
        if head == "limits" and not rest:
            allow(call.method, "GET")
            remaining = max(0, self.daily_api_limit - self.usage_log.api_count)
            return Reply(
                200,
                {
                    "DailyApiRequests": {"Max": self.daily_api_limit, "Remaining": remaining},
                    "ConcurrentPerOrgLongTxn": {"Max": 25, "Remaining": 25},
                    "DataStorageMB": {"Max": 5, "Remaining": 5},
                },
            )
        if head == "composite" and not rest:
            allow(call.method, "POST")
            return self.composite.run(call)
        if head == "composite" and rest[0] == "sobjects":
            return self.collections.route(call)
        if head == "sobjects":
            return self.sobjects.route(call)
        raise not_found()
