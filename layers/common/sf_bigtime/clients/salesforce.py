"""Salesforce access for the worker, through simple-salesforce: one SOQL read, one composite write-back.

Login is OAuth client credentials or JWT bearer (``SalesforceLogin``); the token is kept across warm
invocations and refreshed once on ``INVALID_SESSION_ID``. The client is used in "direct" mode on purpose:
simple-salesforce's own re-login on 401 recurses without bound in ``SFType`` calls (1.12.10), so the
single refresh-and-retry lives here instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
)
from simple_salesforce.format import format_soql
from simple_salesforce.login import SalesforceLogin

from sf_bigtime.clients.http import (
    HttpSession,
    RedirectRefused,
    check_base_url,
    describe_failure,
    redact,
)
from sf_bigtime.errors import PermanentError, SyncError, TransientError
from sf_bigtime.secrets import SalesforceClientCredentials, SalesforceJwtBearer
from sf_bigtime.sfid import is_salesforce_id, to_18

CALL_CLIENT = "sf-bigtime"  # Sforce-Call-Options client=…: tags our writes (CDC changeOrigin, logs)
CALL_OPTIONS = {"Sforce-Call-Options": f"client={CALL_CLIENT}"}

# What every sync reads, whatever the mapping: the decision fields, the Account, and our own write-back
# fields (to skip a write-back that would change nothing). The mapping adds the fields it uses; nothing
# else is selected, so an org without record types or with restricted fields is not asked for them.
OPPORTUNITY_BASE_FIELDS = (
    "Id",
    "Name",
    "StageName",
    "IsWon",
    "IsClosed",
    "IsDeleted",
    "AccountId",
    "Account.Name",
    "LastModifiedDate",
    "BigTime_Project_Id__c",
    "BigTime_Sync_Status__c",
)
CONTACT_ROLE_BASE_FIELDS = (
    "Id",
    "ContactId",
    "Role",
    "IsPrimary",
    "IsDeleted",
    "Contact.FirstName",
    "Contact.LastName",
    "Contact.Email",
)

# Everything the worker writes. write_back refuses any other field (a programming error, caught by the
# tests), so these tuples are the whole truth about writes: the metadata cross-check and
# `sf-bigtime check` read them instead of keeping lists of their own.
OPPORTUNITY_WRITE_FIELDS = (
    "BigTime_Sync_Status__c",
    "BigTime_Sync_Message__c",
    "BigTime_Last_Synced__c",
    "BigTime_Project_Id__c",
    "BigTime_Project_URL__c",
)
PROJECT_OBJECT = "BigTime_Project__c"  # the "BigTime Projects" related list, upserted by its external id
PROJECT_KEY_FIELD = "BigTime_Project_Id__c"
PROJECT_WRITE_FIELDS = (
    "Name",
    "Opportunity__c",
    "Account__c",
    "Project_Code__c",
    "Project_URL__c",
    "Client_Name__c",
    "Status__c",
    "Inactive__c",
)

# Errors that heal by themselves: Salesforce's own throttles, row locks, and server-side trouble.
_TRANSIENT_CODES = {
    "REQUEST_LIMIT_EXCEEDED",
    "UNABLE_TO_LOCK_ROW",
    "SERVER_UNAVAILABLE",
    "API_CURRENTLY_DISABLED",
}

T = TypeVar("T")


def record_path(record: dict[str, Any] | None, path: str) -> Any:
    """``record_path(opp, "Account.Name")``: follow a dotted SOQL path through nested records (None-safe)."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class ChildQuery:
    """A child subquery of the one Opportunity query (line items, team members): the relationship, the
    fields (``IsDeleted`` filters what queryAll returns; ask for it where the object has it), the order."""

    relationship: str  # e.g. OpportunityLineItems
    fields: tuple[str, ...]
    order_by: str = ""

    def soql(self) -> str:
        order = f" ORDER BY {self.order_by}" if self.order_by else ""
        return f"(SELECT {', '.join(_unique(self.fields))} FROM {self.relationship}{order})"  # noqa: S608


@dataclass
class OpportunitySnapshot:
    """The Opportunity as read now, with its Account and contact roles (the raw SOQL record)."""

    record: dict[str, Any]

    @property
    def deleted(self) -> bool:
        """In the recycle bin (the REST API answers ENTITY_IS_DELETED for it; queryAll still reads it)."""
        return self.record.get("IsDeleted") is True

    def get(self, path: str) -> Any:
        return record_path(self.record, path)

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def account_id(self) -> str | None:
        return self.record.get("AccountId")

    @property
    def contact_roles(self) -> list[dict[str, Any]]:
        """The contact roles (Salesforce sends null for none); a reply of another shape is a
        PermanentError saying so, not a crash further on."""
        roles = self.record.get("OpportunityContactRoles")
        if roles is None:
            return []
        items = roles.get("records") if isinstance(roles, dict) else None
        if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
            raise PermanentError(
                "Salesforce returned the Opportunity's contact roles in an unexpected shape (expected "
                "records of a subquery); nothing was synced",
                code="salesforce_reply",
            )
        # queryAll also returns deleted children: a removed contact role is not a contact any more.
        return [r for r in items if r.get("IsDeleted") is not True]

    def children(self, relationship: str) -> list[dict[str, Any]]:
        """The live records of a child subquery (line items, team members); [] if it was not queried."""
        rows = self.record.get(relationship) or {}
        return [r for r in rows.get("records") or [] if r.get("IsDeleted") is not True]


@dataclass
class WriteBack:
    """What the worker writes onto the Opportunity (and the BigTime Projects related list)."""

    status: str  # Queued | Synced | Failed | Skipped (restricted picklist on the Opportunity)
    message: str
    synced_at: datetime
    project_id: str | None = None
    project_url: str | None = None
    project: dict[str, Any] | None = None  # BigTime_Project__c fields, upserted by BigTime_Project_Id__c


@dataclass
class SalesforceClient:
    """A logged-in simple-salesforce client that counts its API calls and classifies errors."""

    credentials: SalesforceClientCredentials | SalesforceJwtBearer
    api_version: str = "66.0"
    timeout: float = 10.0
    calls: int = 0
    logins: int = 0
    _sf: Salesforce | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- connection -------------------------------------------------------------------------------
    def _session(self) -> HttpSession:
        base = self.credentials.instance_url
        return HttpSession(
            timeout=self.timeout,
            rewrite_base=check_base_url(base, "Salesforce instance_url") if base else None,
            system="salesforce",
        )

    def _login(self) -> Salesforce:
        creds = self.credentials
        session = self._session()
        kwargs: dict[str, Any] = {
            "consumer_key": creds.consumer_key.get_secret_value(),
            "domain": creds.domain,
            "session": session,
            "sf_version": self.api_version,
        }
        if isinstance(creds, SalesforceJwtBearer):
            kwargs |= {"username": creds.username, "privatekey": creds.private_key.get_secret_value()}
        else:
            kwargs["consumer_secret"] = creds.consumer_secret.get_secret_value()
        try:
            session_id, instance = SalesforceLogin(**kwargs)
        except SalesforceAuthenticationFailed as exc:
            # Wrong credentials need a person, but the Opportunity is not at fault: retry (and alarm).
            raise TransientError(
                f"Salesforce login failed ({exc.code}): check the Salesforce credentials secret",
                code="salesforce_auth",
                retry_after=session.retry_after(),
            ) from None
        except RedirectRefused as exc:
            raise _redirect("login", exc) from None
        except requests.RequestException as exc:
            raise TransientError(f"Salesforce login unreachable: {describe_failure(exc)}") from None
        self.logins += 1  # token requests do not count against the org's API limits
        return Salesforce(session_id=session_id, instance=instance, version=self.api_version, session=session)

    def _client(self, *, fresh: bool = False) -> Salesforce:
        with self._lock:
            if self._sf is None or fresh:
                self._sf = self._login()
            return self._sf

    def logged_in_org(self) -> str | None:
        """The 15-character id of the org our credentials belong to (logs in if needed; no API call).

        Salesforce access tokens begin with the org id and "!" (``00D…!AQ…``); tokens of another shape
        give None, and the caller then cannot check.
        """
        token = str(getattr(self._client(), "session_id", "") or "")
        return token[:15] if re.match(r"^00D[a-zA-Z0-9]{12}!", token) else None

    def _call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run one API call: refresh the token once on 401, classify every failure."""
        for attempt in (1, 2):
            sf = self._client(fresh=attempt == 2)
            try:
                self.calls += 1
                return fn(sf)
            except SalesforceExpiredSession:
                if attempt == 2:
                    raise TransientError(
                        "Salesforce rejected a fresh session token twice", code="salesforce_auth"
                    ) from None
            except SalesforceError as exc:
                raise _classify(what, exc, _retry_after(sf), self._secrets(sf)) from None
            except RedirectRefused as exc:
                raise _redirect(what, exc) from None
            except requests.RequestException as exc:
                raise TransientError(f"Salesforce {what} failed: {describe_failure(exc)}") from None
            except ValueError as exc:  # JSON decode errors: garbage instead of an API reply
                raise TransientError(f"Salesforce {what} returned an unreadable reply: {exc}") from None
        raise AssertionError("unreachable")

    def _secrets(self, sf: Salesforce | None) -> list[str | None]:
        """What must never appear in an error reason, should Salesforce echo it back."""
        creds = self.credentials
        values = [creds.consumer_key.get_secret_value(), getattr(sf, "session_id", None)]
        if isinstance(creds, SalesforceJwtBearer):
            return [*values, creds.private_key.get_secret_value()]
        return [*values, creds.consumer_secret.get_secret_value()]

    # -- reads ------------------------------------------------------------------------------------
    def opportunity_soql(
        self,
        opportunity_id: str | Sequence[str],
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> str:
        """The one query of a sync (or of a batch's syncs, given several ids); ``contact_role_fields`` None
        leaves the contact roles out; ``children`` are further subqueries (line items, team members) in the
        same query, at no extra API call."""
        fields, role_fields = selected_fields(opportunity_fields, contact_role_fields)
        roles = ""
        if role_fields is not None:
            roles = (
                f", (SELECT {', '.join(role_fields)} FROM OpportunityContactRoles "  # noqa: S608
                "ORDER BY IsPrimary DESC, CreatedDate ASC)"
            )
        roles += "".join(f", {child.soql()}" for child in children)
        where = "Id = {}" if isinstance(opportunity_id, str) else "Id IN {}"
        # Field paths are checked by the mapping's schema (letters, digits, _ and dots only); the ids go
        # through format_soql's quoting.
        return format_soql(
            f"SELECT {', '.join(fields)}{roles} FROM Opportunity WHERE {where}",  # noqa: S608
            opportunity_id if isinstance(opportunity_id, str) else list(opportunity_id),
        )

    def read_opportunity(
        self,
        opportunity_id: str,
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> OpportunitySnapshot | None:
        """One SOQL query (queryAll, so a deleted Opportunity reads as deleted, not as missing): the
        Opportunity, its Account, contact roles and ``children``, with every field the mapping uses; None
        if gone."""
        soql = self.opportunity_soql(opportunity_id, opportunity_fields, contact_role_fields, children)
        result = self._call("query", lambda sf: sf.query(soql, include_deleted=True))
        records = result.get("records") if isinstance(result, dict) else None
        if records is None:
            raise TransientError("Salesforce query returned an unexpected reply")
        return OpportunitySnapshot(dict(records[0])) if records else None

    def read_opportunities(
        self,
        opportunity_ids: Sequence[str],
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> dict[str, OpportunitySnapshot]:
        """:meth:`read_opportunity` for several Opportunities in one query (``WHERE Id IN (…)``; a further
        page, should Salesforce split the reply, costs a call more). Keyed by 18-character id; an
        Opportunity that is gone is not in the result."""
        soql = self.opportunity_soql(opportunity_ids, opportunity_fields, contact_role_fields, children)
        found: dict[str, OpportunitySnapshot] = {}
        for page in self.query_pages(soql, include_deleted=True):
            records = page.get("records") if isinstance(page, dict) else None
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise TransientError("Salesforce query returned an unexpected reply")
            for record in records:
                if not is_salesforce_id(str(record.get("Id") or "")):
                    raise TransientError("Salesforce query returned a record without a valid Id")
                found[to_18(str(record["Id"]))] = OpportunitySnapshot(dict(record))
        return found

    def query_all(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record of a query, following ``nextRecordsUrl`` (one API call per page)."""
        for page in self.query_pages(soql):
            yield from page.get("records", [])

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Each page of a query as Salesforce returns it (``totalSize`` lets callers show progress);
        ``include_deleted`` runs it as queryAll (records in the recycle bin too)."""
        result = self._call("query", lambda sf: sf.query(soql, include_deleted=include_deleted))
        while True:
            yield result
            if result.get("done", True):
                return
            next_url = result.get("nextRecordsUrl")
            if not next_url:  # "more to come", but not where: an unreadable reply, not a shorter result
                raise TransientError("Salesforce query returned an unexpected reply (no nextRecordsUrl)")
            result = self._call("query_more", partial(_query_more, url=str(next_url)))

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, allowed) API calls of the org's rolling 24 h, from the last reply's Sforce-Limit-Info."""
        usage = (getattr(self._sf, "api_usage", None) or {}).get("api-usage")
        return (int(usage.used), int(usage.total)) if usage is not None else None

    # -- writes -----------------------------------------------------------------------------------
    def write_back(self, opportunity_id: str, wb: WriteBack) -> None:
        """One composite request: upsert the BigTime Project record, then update the Opportunity."""
        base = f"/services/data/v{self.api_version}/sobjects"
        opp_fields = _opportunity_fields(wb)
        subrequests: list[dict[str, Any]] = []
        if wb.project_id and wb.project is not None:
            subrequests.append(
                {
                    "method": "PATCH",
                    "url": f"{base}/{PROJECT_OBJECT}/{PROJECT_KEY_FIELD}/{wb.project_id}",
                    "referenceId": "project",
                    "body": wb.project,
                }
            )
        subrequests.append(
            {
                "method": "PATCH",
                "url": f"{base}/Opportunity/{opportunity_id}",
                "referenceId": "opportunity",
                "body": opp_fields,
            }
        )
        body = {"allOrNone": True, "compositeRequest": subrequests}
        reply = self._call(
            "write-back",
            lambda sf: sf.restful("composite", method="POST", json=body, headers=CALL_OPTIONS),
        )
        failures = [
            r for r in (reply or {}).get("compositeResponse", []) if int(r.get("httpStatusCode", 500)) >= 300
        ]
        if reply is None or "compositeResponse" not in reply:
            raise TransientError("Salesforce composite write-back returned an unexpected reply")
        if failures:
            raise _composite_error(failures, self._secrets(self._sf))

    def write_back_batch(self, write_backs: Sequence[tuple[str, WriteBack]]) -> dict[str, SyncError | None]:
        """:meth:`write_back` for several Opportunities in one ``/composite`` request (one API call): the
        BigTime Project rows upserted in one sObject Collection, then the Opportunities updated in another,
        every record on its own (``allOrNone`` false), so one record's failure never fails the others.

        Returns each Opportunity's result by the id given: None when written, else the error (a
        :class:`TransientError` to retry, :class:`OpportunityDeleted`, or a :class:`PermanentError`). Only
        a call that fails as a whole raises. At most 200 Opportunities (a collection's limit)."""
        if len(write_backs) > 200:
            raise ValueError("at most 200 write-backs in one request (an sObject Collection's limit)")
        collections = f"/services/data/v{self.api_version}/composite/sobjects"
        rows: list[tuple[str, dict[str, Any]]] = []
        updates: list[tuple[str, dict[str, Any]]] = []
        for opportunity_id, wb in write_backs:
            fields = _opportunity_fields(wb)
            updates.append(
                (opportunity_id, {"attributes": {"type": "Opportunity"}, "id": opportunity_id, **fields})
            )
            if wb.project_id and wb.project is not None:
                row = {"attributes": {"type": PROJECT_OBJECT}, **wb.project, PROJECT_KEY_FIELD: wb.project_id}
                rows.append((opportunity_id, row))
        parts = [("projects", f"{collections}/{PROJECT_OBJECT}/{PROJECT_KEY_FIELD}", rows)] if rows else []
        parts.append(("opportunities", collections, updates))
        subrequests = [
            {
                "method": "PATCH",
                "url": url,
                "referenceId": ref,
                "body": {"allOrNone": False, "records": [record for _, record in records]},
            }
            for ref, url, records in parts
        ]
        replies = self.composite(subrequests, all_or_none=False)
        if len(replies) != len(parts):
            raise TransientError("Salesforce composite write-back returned an unexpected reply")
        results: dict[str, SyncError | None] = {opportunity_id: None for opportunity_id, _ in write_backs}
        secrets = self._secrets(self._sf)
        for (_, _, records), reply in zip(parts, replies, strict=True):
            for opportunity_id, error in _collection_errors([oid for oid, _ in records], reply, secrets):
                results[opportunity_id] = results[opportunity_id] or error
        return results

    def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool) -> list[dict[str, Any]]:
        """One ``/composite`` request (one API call, up to 25 subrequests): each subrequest's reply, in order.
        The caller reads each reply's status; only a reply that is not a composite answer raises here."""
        body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        reply = self._call(
            "composite", lambda sf: sf.restful("composite", method="POST", json=body, headers=CALL_OPTIONS)
        )
        results = reply.get("compositeResponse") if isinstance(reply, dict) else None
        if not isinstance(results, list):
            raise TransientError("Salesforce composite request returned an unexpected reply")
        return results

    def describe(self, sobject: str) -> dict[str, Any] | None:
        """``sobjects/{sobject}/describe`` as the logged-in user sees it; None if there is no such object
        (or the user may not see it). Fields the user has no access to are missing from the reply."""
        try:
            return self._call("describe", lambda sf: sf.restful(f"sobjects/{sobject}/describe"))
        except PermanentError as exc:
            if "NOT_FOUND" in exc.reason or "INVALID_TYPE" in exc.reason:
                return None
            raise


def _opportunity_fields(wb: WriteBack) -> dict[str, Any]:
    """The Opportunity's side of a write-back (only declared fields; the project's row is checked too)."""
    fields: dict[str, Any] = {
        "BigTime_Sync_Status__c": wb.status,
        "BigTime_Sync_Message__c": wb.message[:32000],
        "BigTime_Last_Synced__c": salesforce_datetime(wb.synced_at),
    }
    if wb.project_id:
        fields["BigTime_Project_Id__c"] = wb.project_id
    if wb.project_url:
        fields["BigTime_Project_URL__c"] = wb.project_url
    _check_declared("Opportunity", fields, OPPORTUNITY_WRITE_FIELDS)
    if wb.project is not None:
        _check_declared(PROJECT_OBJECT, wb.project, PROJECT_WRITE_FIELDS)
    return fields


def _collection_errors(
    opportunity_ids: list[str], reply: dict[str, Any], secrets: Sequence[str | None]
) -> Iterator[tuple[str, SyncError]]:
    """The failed records of one sObject Collection subrequest, as (Opportunity id, error): a subrequest
    refused whole fails each of its records; a reply of another shape is a transient failure of each."""
    status, body = reply.get("httpStatusCode"), reply.get("body")
    if isinstance(status, int) and status >= 300:
        error = _composite_error([reply], secrets)
        yield from ((oid, error) for oid in opportunity_ids)
        return
    if not isinstance(body, list) or len(body) != len(opportunity_ids) or not isinstance(status, int):
        unexpected = TransientError("Salesforce write-back returned an unexpected reply")
        yield from ((oid, unexpected) for oid in opportunity_ids)
        return
    for opportunity_id, result in zip(opportunity_ids, body, strict=True):
        if isinstance(result, dict) and result.get("success") is True:
            continue
        errors = result.get("errors") if isinstance(result, dict) else None
        # Collections name the error "statusCode" where the other APIs say "errorCode".
        as_errors = [
            {"errorCode": e.get("statusCode") or e.get("errorCode"), "message": e.get("message")}
            for e in _errors_of(errors)
        ]
        yield opportunity_id, _composite_error([{"httpStatusCode": 400, "body": as_errors}], secrets)


def _check_declared(sobject: str, values: dict[str, Any], declared: tuple[str, ...]) -> None:
    undeclared = sorted(set(values) - set(declared))
    if undeclared:
        raise ValueError(
            f"write-back of undeclared {sobject} field(s) {', '.join(undeclared)}: add them to the "
            "declared write fields in sf_bigtime.clients.salesforce and to the salesforce/ metadata"
        )


def salesforce_datetime(value: datetime) -> str:
    """``2026-11-25T20:17:24.000Z``: the REST API's datetime format, always UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _errors_of(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [e for e in content if isinstance(e, dict)]
    if isinstance(content, dict):
        return [content]
    return []


def _retry_after(sf: Salesforce) -> float | None:
    """The failed reply's ``Retry-After`` (simple-salesforce's errors keep no headers; our session does)."""
    session = getattr(sf, "session", None)
    return session.retry_after() if isinstance(session, HttpSession) else None


def _redirect(what: str, exc: RedirectRefused) -> TransientError:
    # A redirect means a wrong domain or instance_url (or someone in between): a person checks the secret.
    return TransientError(
        f"Salesforce {what} {exc}: check domain and instance_url in the Salesforce credentials secret",
        code="salesforce_redirect",
    )


def _classify(
    what: str, exc: SalesforceError, retry_after: float | None = None, secrets: Sequence[str | None] = ()
) -> TransientError | PermanentError:
    """``secrets`` are taken out of Salesforce's messages (it may echo what it refused)."""
    errors = _errors_of(exc.content)
    codes = {str(e.get("errorCode", "")) for e in errors}
    message = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in errors) or f"HTTP {exc.status}"
    message = redact(message, secrets)
    if exc.status >= 500 or exc.status == 429 or codes & _TRANSIENT_CODES:
        return TransientError(
            f"Salesforce {what} failed: {message}", code="salesforce_unavailable", retry_after=retry_after
        )
    if what == "query" and "INVALID_FIELD" in codes:
        message += (
            " (the mapping reads this field: check it with `sf-bigtime config check`, and that the "
            "integration user may read it)"
        )
    return PermanentError(f"Salesforce {what} was refused: {message}", code="salesforce_refused")


class OpportunityDeleted(PermanentError):
    """The Opportunity went to the recycle bin between our read and our write-back."""


class WrongOrg(PermanentError):
    """The event names another org than the one our credentials log in to: nothing may be read or written,
    because a sandbox refreshed from production shares its record ids."""


def _query_more(sf: Salesforce, url: str) -> dict[str, Any]:
    page: dict[str, Any] = sf.query_more(url, identifier_is_url=True)
    return page


def selected_fields(
    opportunity_fields: Sequence[str] = (), contact_role_fields: Sequence[str] | None = ()
) -> tuple[list[str], list[str] | None]:
    """What the one query of a sync selects: the base fields and the mapping's (``Mapping.query_fields``),
    each once; the contact roles' None when the query leaves them out. ``sf-bigtime config check`` lists
    these, so it names exactly what the worker reads."""
    roles = (
        None if contact_role_fields is None else _unique((*CONTACT_ROLE_BASE_FIELDS, *contact_role_fields))
    )
    return _unique((*OPPORTUNITY_BASE_FIELDS, *opportunity_fields)), roles


def _unique(paths: Sequence[str]) -> list[str]:
    # SOQL field names are case-insensitive and a repeated field is a MALFORMED_QUERY.
    seen: dict[str, str] = {}
    for path in paths:
        seen.setdefault(path.lower(), path)
    return list(seen.values())


def _composite_error(
    failures: list[dict[str, Any]], secrets: Sequence[str | None] = ()
) -> TransientError | PermanentError:
    # With allOrNone, the subrequests that did not fail themselves report PROCESSING_HALTED.
    real = [
        e
        for f in failures
        for e in _errors_of(f.get("body"))
        if e.get("errorCode") not in ("PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK")
    ] or [e for f in failures for e in _errors_of(f.get("body"))]
    statuses = {int(f.get("httpStatusCode", 500)) for f in failures}
    codes = {str(e.get("errorCode", "")) for e in real}
    message = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in real) or "composite failed"
    message = redact(message, secrets)
    if any(s >= 500 for s in statuses) or codes & _TRANSIENT_CODES:
        return TransientError(f"Salesforce write-back failed: {message}", code="salesforce_unavailable")
    if "ENTITY_IS_DELETED" in codes:
        return OpportunityDeleted(f"Salesforce write-back was refused: {message}", code="salesforce_deleted")
    return PermanentError(f"Salesforce write-back was refused: {message}", code="salesforce_refused")
