"""The worker's logic: from a SyncRequest to exactly one BigTime client, project and contact set, and the
result written back onto the Opportunity. Events are triggers, not truth: everything is decided from the
Opportunity as it reads now (design decision 2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sf_bigtime.bigtime import BigTimeCallError, BigTimeClient, Record, record_id
from sf_bigtime.errors import PermanentError, SyncError, TransientError
from sf_bigtime.mapping import (
    Mapping,
    client_fields,
    contact_key,
    contact_payloads,
    normalize_name,
    project_fields,
    render,
)
from sf_bigtime.messages import SyncRequest
from sf_bigtime.salesforce import OpportunitySnapshot, SalesforceClient, WriteBack
from sf_bigtime.store import Claim, Kind, StateStore


@dataclass
class SyncContext:
    """Everything a sync talks to; built once per warm Lambda and reused."""

    salesforce: SalesforceClient
    bigtime: BigTimeClient
    store: StateStore
    mapping: Mapping
    claim_stale_after: float = 960.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class Outcome:
    """What one sync did; stored as the idempotent result and in the state table."""

    status: str  # Synced | Skipped | Failed
    message: str
    project_id: str | None = None
    client_id: str | None = None
    created_project: bool = False
    created_client: bool = False
    contacts_added: int = 0
    wrote_back: bool = False
    warnings: list[str] = field(default_factory=list)
    salesforce_calls: int = 0
    bigtime_calls: int = 0
    error_code: str | None = None  # of a permanent failure, for the "failures by kind" metric

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_opportunity(request: SyncRequest, ctx: SyncContext) -> Outcome:
    """Sync one Opportunity. Returns the outcome; raises :class:`TransientError` to be retried later."""
    sf_start, bt_start = ctx.salesforce.calls, ctx.bigtime.calls
    error: str | None = None
    try:
        outcome = _sync(request, ctx)
    except PermanentError as exc:
        error = exc.reason
        outcome = Outcome(status="Failed", message=exc.reason, error_code=exc.code)
        _write_failure(request, ctx, exc, outcome)
    except TransientError as exc:
        _record(request, ctx, "Retrying", exc.reason, sf_start, bt_start, error=exc.reason)
        raise
    outcome.salesforce_calls = ctx.salesforce.calls - sf_start
    outcome.bigtime_calls = ctx.bigtime.calls - bt_start
    _record(request, ctx, outcome.status, outcome.message, sf_start, bt_start, error=error)
    return outcome


def _sync(request: SyncRequest, ctx: SyncContext) -> Outcome:
    org, opp_id = request.org_id, request.opportunity_id
    opp = ctx.salesforce.read_opportunity(opp_id, ctx.mapping.extra_fields)
    if opp is None:
        return Outcome(status="Skipped", message="The Opportunity no longer exists in Salesforce.")
    state = ctx.store.get("opp", org, opp_id) or {}
    if not ctx.mapping.is_trigger(opp):
        if state.get("project_id"):
            return Outcome(
                status="Skipped",
                message=f"Stage is {opp.get('StageName')!r}; BigTime project {state['project_id']} left as is.",
                project_id=str(state["project_id"]),
            )
        outcome = Outcome(
            status="Skipped",
            message=f"Not synced: stage is {opp.get('StageName')!r}, "
            f"not {' or '.join(repr(s) for s in ctx.mapping.trigger_stages)}.",
        )
        _write_back(org, opp, ctx, outcome, None, state)
        return outcome

    if state.get("project_id") and state.get("client_id"):
        client_id, project_id = int(state["client_id"]), int(state["project_id"])
        client_name, project_code = _client_name(org, opp, ctx), str(state.get("project_code") or "")
        created_client = created_project = False
    else:
        client_id, client_name, created_client = _ensure_client(org, opp, ctx)
        project_id, project_code, created_project = _ensure_project(org, opp, ctx, client_id)
    outcome = Outcome(
        status="Synced",
        message="",
        project_id=str(project_id),
        client_id=str(client_id),
        created_client=created_client,
        created_project=created_project,
    )
    if not state.get("contacts_synced"):
        outcome.contacts_added, outcome.warnings = _sync_contacts(opp, ctx, project_id, fresh=created_project)
        ctx.store.update("opp", org, opp_id, contacts_synced=True, contact_warnings=outcome.warnings)
    else:
        outcome.warnings = list(state.get("contact_warnings") or [])
    verb = "Created" if created_project else "Linked"
    outcome.message = (
        f"{verb} BigTime project {project_code} (id {project_id}) for client {client_name} (id {client_id})"
        + (f", {outcome.contacts_added} contact(s) added" if outcome.contacts_added else "")
        + "."
        + "".join(f" Warning: {w}." for w in outcome.warnings)
    )
    project_record = {
        "Name": (opp.get("Name") or project_code)[:80],
        "Opportunity__c": opp.id,
        "Account__c": opp.account_id,
        "Project_Code__c": project_code,
        "Project_URL__c": _project_url(ctx, project_id),
        "Client_Name__c": client_name,
        "Status__c": "Active",
    }
    _write_back(org, opp, ctx, outcome, project_record, state)
    return outcome


# -- clients and projects ---------------------------------------------------------------------------
def _client_name(org: str, opp: OpportunitySnapshot, ctx: SyncContext) -> str:
    state = ctx.store.get("acct", org, opp.account_id) if opp.account_id else None
    return str((state or {}).get("client_name") or opp.get("Account.Name") or "")


def _ensure_client(org: str, opp: OpportunitySnapshot, ctx: SyncContext) -> tuple[int, str, bool]:
    account_id = opp.account_id
    name = opp.get("Account.Name")
    if not account_id or not name:
        raise PermanentError(
            "The Opportunity has no Account: set the Account and save the Opportunity again."
        )
    state = ctx.store.get("acct", org, account_id) or {}
    if state.get("client_id"):
        return int(state["client_id"]), str(state.get("client_name") or name), False
    claim = ctx.store.claim("acct", org, account_id, stale_after=ctx.claim_stale_after)
    if claim.existing:
        return int(claim.existing), name, False

    def work(token: str) -> tuple[int, bool]:
        # Exact normalized name: finds an existing client and, after a crash, the one we created.
        matches = [
            c for c in ctx.bigtime.list_clients() if normalize_name(c.get("Nm")) == normalize_name(name)
        ]
        if len(matches) > 1:
            ids = ", ".join(f"{c.get('Nm')} (id {record_id(c)})" for c in matches)
            raise PermanentError(
                f"Several BigTime clients are named like the Account {name!r}: {ids}. "
                "Merge or rename them in BigTime, then save the Opportunity again."
            )
        if matches:
            client, created = matches[0], False
        else:
            client, created = ctx.bigtime.create_client(client_fields(opp)), True
        client_id = _require_id(client, "client")
        ctx.store.record("acct", org, account_id, token, str(client_id), client_name=name)
        return client_id, created

    client_id, created = _under_claim("acct", org, account_id, claim, ctx, work)
    return client_id, name, created


def _ensure_project(
    org: str, opp: OpportunitySnapshot, ctx: SyncContext, client_id: int
) -> tuple[int, str, bool]:
    code = render(ctx.mapping.project_code, opp)
    claim = ctx.store.claim("opp", org, opp.id, stale_after=ctx.claim_stale_after)
    if claim.existing:
        return int(claim.existing), str(claim.item.get("project_code") or code), False

    def work(token: str) -> tuple[int, bool]:
        found = _find_project_by_code(ctx.bigtime, code) if claim.must_look_up else None
        created = False
        if found is None:
            try:
                found = ctx.bigtime.create_project(project_fields(opp, ctx.mapping, client_id))
                created = True
            except PermanentError:
                # A rejected create may mean our marker code is already taken — by the very project an
                # unrecorded earlier attempt made. Adopt it if so; otherwise the rejection stands.
                found = _find_project_by_code(ctx.bigtime, code)
                if found is None:
                    raise
        project_id = _require_id(found, "project")
        ctx.store.record(
            "opp", org, opp.id, token, str(project_id), project_code=code, client_id=str(client_id)
        )
        return project_id, created

    project_id, created = _under_claim("opp", org, opp.id, claim, ctx, work)
    return project_id, code, created


def _under_claim[T](
    kind: Kind, org: str, rid: str, claim: Claim, ctx: SyncContext, work: Callable[[str], T]
) -> T:
    """Run ``work`` holding the claim; on failure give the claim back, flagged if BigTime may have acted."""
    assert claim.token is not None
    try:
        return work(claim.token)
    except BigTimeCallError as exc:
        ctx.store.release(kind, org, rid, claim.token, uncertain=exc.maybe_applied or claim.must_look_up)
        raise
    except SyncError:
        ctx.store.release(kind, org, rid, claim.token, uncertain=claim.must_look_up)
        raise


def _find_project_by_code(bigtime: BigTimeClient, code: str) -> Record | None:
    wanted = code.strip().casefold()
    for project in bigtime.list_projects():
        if str(project.get("ProjectCode") or "").strip().casefold() == wanted:
            return project
    return None


def _require_id(record: Record, what: str) -> int:
    value = record_id(record)
    if value is None:
        raise BigTimeCallError(f"BigTime's {what} reply carried no SystemId", maybe_applied=True)
    return value


# -- contacts ---------------------------------------------------------------------------------------
def _sync_contacts(
    opp: OpportunitySnapshot, ctx: SyncContext, project_id: int, *, fresh: bool
) -> tuple[int, list[str]]:
    payloads, warnings = contact_payloads(opp, ctx.mapping)
    if not payloads:
        return 0, warnings
    # A project we just created has no contacts: skip the list call (one call per contact is the budget).
    existing = (
        set() if fresh else {contact_key(dict(c)) for c in ctx.bigtime.list_project_contacts(project_id)}
    )
    added = 0
    for payload in payloads:
        if contact_key(payload) in existing:
            continue
        ctx.bigtime.add_project_contact(project_id, payload)
        existing.add(contact_key(payload))
        added += 1
    return added, warnings


# -- write-back and outcome -------------------------------------------------------------------------
def _project_url(ctx: SyncContext, project_id: int) -> str:
    return ctx.mapping.project_url.format(project_id=project_id)


def _write_back(
    org: str,
    opp: OpportunitySnapshot,
    ctx: SyncContext,
    outcome: Outcome,
    project_record: dict[str, Any] | None,
    state: dict[str, Any],
) -> None:
    pid = outcome.project_id
    shows_this = (
        opp.get("BigTime_Sync_Status__c") == outcome.status
        and (opp.get("BigTime_Project_Id__c") or None) == pid
    )
    did_nothing_new = not (outcome.created_project or outcome.created_client or outcome.contacts_added)
    if shows_this and (did_nothing_new or state.get("written_back_message") == outcome.message):
        # The Opportunity already says this: writing again would cost an API call and, with CDC or a
        # Flow on every edit, echo back to us forever.
        if state.get("written_back_message"):
            outcome.message = str(state["written_back_message"])
        return
    ctx.salesforce.write_back(
        opp.id,
        WriteBack(
            status=outcome.status,
            message=outcome.message,
            synced_at=ctx.now(),
            project_id=pid,
            project_url=_project_url(ctx, int(pid)) if pid else None,
            project=project_record,
        ),
    )
    outcome.wrote_back = True
    ctx.store.update("opp", org, opp.id, written_back_message=outcome.message)


def _write_failure(request: SyncRequest, ctx: SyncContext, exc: PermanentError, outcome: Outcome) -> None:
    """Put a permanent failure where users work: on the Opportunity, with the reason."""
    try:
        ctx.salesforce.write_back(
            request.opportunity_id,
            WriteBack(status="Failed", message=exc.reason, synced_at=ctx.now()),
        )
        outcome.wrote_back = True
    except SyncError as write_error:
        outcome.warnings.append(f"could not write the failure onto the Opportunity: {write_error.reason}")


def _record(
    request: SyncRequest,
    ctx: SyncContext,
    status: str,
    reason: str,
    sf_start: int,
    bt_start: int,
    *,
    error: str | None,
) -> None:
    ctx.store.record_outcome(
        request.org_id,
        request.opportunity_id,
        status=status,
        reason=reason,
        delivery_id=request.delivery_id,
        source=request.source,
        salesforce_calls=ctx.salesforce.calls - sf_start,
        bigtime_calls=ctx.bigtime.calls - bt_start,
        error=error,
    )
