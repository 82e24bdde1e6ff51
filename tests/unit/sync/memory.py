"""In-memory implementations of the sync's ports (sf_bigtime.sync.ports): the state table, BigTime and
Salesforce as plain dicts, on the shared hand-moved Clock. No moto, no HTTP: a sync runs in milliseconds.

They follow the real ones where a sync can tell: the state table's conditional writes (claims and leases
with stale ages, records under a claim), BigTime's unique client and project codes and one PRIMARY and
one BILLING contact per project, and call counting. tests/unit/clients/test_store.py runs the store's
tests on both MemoryStore and the DynamoDB one; tests/unit/sync/test_ports.py checks every port member.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from requests.structures import CaseInsensitiveDict

from sf_bigtime.clients.bigtime import BigTimeCallError, Record
from sf_bigtime.clients.salesforce import OpportunityDeleted, OpportunitySnapshot, WriteBack
from sf_bigtime.clients.store import Claim, Kind, item_key
from sf_bigtime.errors import PermanentError, SyncError, TransientError

T = TypeVar("T")
_TARGET: dict[Kind, str] = {"opp": "project_id", "acct": "client_id"}


# -- the state table ---------------------------------------------------------------------------------
class MemoryStore:
    """The state table's items in a dict, with StateStore's conditions (sf_bigtime.clients.store)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.items: dict[str, dict[str, Any]] = {}

    def _now(self) -> float:
        return round(self.clock(), 3)

    def _item(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any]:
        key = item_key(kind, org_id, record_id)
        return self.items.setdefault(key, {"id": key})

    def get(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any] | None:
        item = self.items.get(item_key(kind, org_id, record_id))
        return copy.deepcopy(item) if item else None

    def claim(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> Claim:
        now, token, target = self._now(), uuid.uuid4().hex, _TARGET[kind]
        old = copy.deepcopy(self.items.get(item_key(kind, org_id, record_id)) or {})
        free = "claim_token" not in old or old.get("claimed_at", now) < now - stale_after
        if target in old or not free:
            if old.get(target):
                return Claim(token=None, existing=str(old[target]), must_look_up=False, item=old)
            held_for = now - float(old.get("claimed_at", now))
            raise TransientError(
                f"another worker is creating this {'project' if kind == 'opp' else 'client'} "
                f"(claimed {held_for:.0f}s ago)",
                code="claim_busy",
                retry_after=None,
            )
        item = self._item(kind, org_id, record_id)
        item.update(claim_token=token, claimed_at=now, org_id=org_id, record_id=record_id, kind=kind)
        item.setdefault("created_at", now)
        item["updated_at"] = now
        must_look_up = bool(old.get("claim_token")) or bool(old.get("needs_lookup"))
        return Claim(token=token, existing=None, must_look_up=must_look_up, item=old)

    def record(
        self, kind: Kind, org_id: str, record_id: str, token: str, target_id: str, **attrs: Any
    ) -> None:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("claim_token") != token:
            raise TransientError("our claim was taken over by another worker", code="claim_lost")
        item.update(copy.deepcopy(attrs))
        item[_TARGET[kind]] = target_id
        item["updated_at"] = self._now()
        for name in ("claim_token", "claimed_at", "needs_lookup"):
            item.pop(name, None)

    def release(self, kind: Kind, org_id: str, record_id: str, token: str, *, uncertain: bool) -> None:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("claim_token") != token:
            return  # already gone or taken over: nothing to give back
        item.pop("claim_token", None)
        item.pop("claimed_at", None)
        item["updated_at"] = self._now()
        if uncertain:
            item["needs_lookup"] = True

    def lease_attrs(self, token: str) -> dict[str, Any]:
        return {"contacts_lease": token, "contacts_lease_at": self.clock()}

    def lease(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> str:
        now, token = self._now(), uuid.uuid4().hex
        old = self.items.get(item_key(kind, org_id, record_id)) or {}
        if "contacts_lease" in old and not old.get("contacts_lease_at", now) < now - stale_after:
            raise TransientError(
                "another worker is adding this Opportunity's contacts", code="contacts_busy", retry_after=5
            )
        self._item(kind, org_id, record_id).update(
            contacts_lease=token, contacts_lease_at=now, updated_at=now
        )
        return token

    def end_lease(self, kind: Kind, org_id: str, record_id: str, token: str, **attrs: Any) -> None:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("contacts_lease") != token:
            return  # taken over meanwhile: the new holder records
        item.update(copy.deepcopy(attrs))
        item["updated_at"] = self._now()
        item.pop("contacts_lease", None)
        item.pop("contacts_lease_at", None)

    def update(self, kind: Kind, org_id: str, record_id: str, **attrs: Any) -> None:
        item = self._item(kind, org_id, record_id)
        item.update(copy.deepcopy(attrs))
        item["updated_at"] = self._now()

    def record_outcome(
        self,
        org_id: str,
        opportunity_id: str,
        *,
        status: str,
        reason: str,
        delivery_id: str,
        source: str,
        salesforce_calls: int,
        bigtime_calls: int,
        error: str | None = None,
        changes: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        now = self._now()
        item = self._item("opp", org_id, opportunity_id)
        item.update(
            last_status=status,
            last_reason=reason[:2000],
            last_delivery_id=delivery_id,
            last_source=source,
            last_attempt_at=now,
            last_salesforce_calls=salesforce_calls,
            last_bigtime_calls=bigtime_calls,
            org_id=org_id,
            record_id=opportunity_id,
            kind="opp",
            updated_at=now,
        )
        item.setdefault("created_at", now)
        item["attempts"] = item.get("attempts", 0) + 1
        if error:
            item.update(last_error=error[:2000], last_error_at=now)
        if status in ("Synced", "Skipped"):
            item["last_success_at"] = now
        if changes is not None:
            item["last_changes"] = copy.deepcopy(changes)
            item["last_warnings"] = [w[:500] for w in (warnings or [])][:20]


# -- failures ------------------------------------------------------------------------------------------
@dataclass
class Fault:
    method: str
    error: SyncError
    after: bool  # the call is applied first, then fails (the answer was lost)
    times: int | None  # None: every call


@dataclass
class Faults:
    """Failures to inject, by method name; each is used ``times`` times (or for ever)."""

    pending: list[Fault] = field(default_factory=list)

    def add(self, method: str, error: SyncError, *, after: bool = False, times: int | None = 1) -> None:
        self.pending.append(Fault(method, error, after, times))

    def take(self, method: str) -> Fault | None:
        for fault in self.pending:
            if fault.method == method:
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self.pending.remove(fault)
                return fault
        return None

    def call(self, method: str, apply: Callable[[], T]) -> T:
        fault = self.take(method)
        if fault is not None and not fault.after:
            raise fault.error
        result = apply()
        if fault is not None:
            raise fault.error
        return result


# -- BigTime -------------------------------------------------------------------------------------------
def _rejected(message: str) -> PermanentError:
    return PermanentError(f"BigTime rejected the data (HTTP 400): {message}", code="bigtime_rejected")


def _not_found(what: str, sid: int) -> PermanentError:
    return PermanentError(f"BigTime {what} {sid}: not found in BigTime (HTTP 404)", code="bigtime_not_found")


def _same(a: Any, b: Any) -> bool:
    return str(a or "").strip().casefold() == str(b or "").strip().casefold()


class MemoryBigTime:
    """Clients, projects, project contacts, project custom fields and picklists in dicts.

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
        return [m for m in self.log if not m.startswith(("list_", "get_", "project_custom", "picklist"))]

    def project_contacts(self, project_id: int) -> list[dict[str, Any]]:
        return [c for c in self.contacts.values() if c["ProjectSid"] == project_id]

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
            sid = self._new_id()
            self.projects[sid] = {**values, "SystemId": sid}
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


# -- Salesforce ----------------------------------------------------------------------------------------
class MemorySalesforce:
    """Opportunities as the sync's one query returns them (nested Account and contact roles), and the
    write-backs, applied to them as Salesforce would. ``calls`` counts API calls (a read, a write-back)."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.calls = 0
        self.api_usage: tuple[int, int] | None = None
        self.faults = Faults()
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.write_backs: list[tuple[str, WriteBack]] = []
        self.project_rows: dict[str, dict[str, Any]] = {}  # BigTime_Project__c by BigTime_Project_Id__c

    def logged_in_org(self) -> str | None:
        return self.org_id[:15]

    def read_opportunity(
        self,
        opportunity_id: str,
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
    ) -> OpportunitySnapshot | None:
        self.calls += 1

        def apply() -> OpportunitySnapshot | None:
            record = self.opportunities.get(opportunity_id)
            return OpportunitySnapshot(copy.deepcopy(record)) if record is not None else None

        return self.faults.call("read_opportunity", apply)

    def write_back(self, opportunity_id: str, wb: WriteBack) -> None:
        self.calls += 1

        def apply() -> None:
            record = self.opportunities.get(opportunity_id)
            if record is None or record.get("IsDeleted"):
                raise OpportunityDeleted(
                    "Salesforce write-back was refused: ENTITY_IS_DELETED: entity is deleted",
                    code="salesforce_deleted",
                )
            self.write_backs.append((opportunity_id, copy.deepcopy(wb)))
            record.update(BigTime_Sync_Status__c=wb.status, BigTime_Sync_Message__c=wb.message)
            record["BigTime_Last_Synced__c"] = wb.synced_at.isoformat()
            if wb.project_id:
                record["BigTime_Project_Id__c"] = wb.project_id
            if wb.project_url:
                record["BigTime_Project_URL__c"] = wb.project_url
            if wb.project_id and wb.project is not None:
                self.project_rows[wb.project_id] = {**wb.project, "BigTime_Project_Id__c": wb.project_id}

        self.faults.call("write_back", apply)
