"""The worker's logic: from a SyncRequest to exactly one BigTime client, project and contact set, and the
result written back onto the Opportunity. Events are triggers, not truth: everything is decided from the
Opportunity as it reads now (design decision 2), through the mapping (design decision 7).

What one sync does, in order:

1. read the Opportunity (one SOQL query with everything the mapping uses);
2. gone or deleted -> the mapping's ``lifecycle.deleted`` action on its project, if it has one;
3. not in a trigger stage (or a condition fails) -> Skipped, or ``closed_lost`` / ``reopened`` on a
   project that exists;
4. otherwise make sure the client and the project exist, exactly once (claims in :mod:`sf_bigtime.clients.store`,
   markers in BigTime), bring the ``sync`` fields and the contacts up to date when the Salesforce side
   changed (fingerprints: unchanged data costs no BigTime call), and
5. write the result back onto the Opportunity in one composite request (skipped when it would say what
   the Opportunity already says).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sf_bigtime.clients.bigtime import BigTimeCallError, BigTimeClient, Record, record_id
from sf_bigtime.clients.salesforce import (
    OpportunityDeleted,
    OpportunitySnapshot,
    SalesforceClient,
    WriteBack,
    WrongOrg,
)
from sf_bigtime.clients.store import Claim, Kind, StateStore
from sf_bigtime.errors import PermanentError, SyncError, TransientError
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.mapping.transform import (
    ContactPlan,
    Payload,
    client_payload,
    code,
    contact_key,
    contact_plans,
    differences,
    fingerprint,
    lifecycle_payload,
    nest,
    normalize_name,
    project_payload,
    trigger_check,
    update_body,
)
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import same_org, to_18

LifecycleEvent = str  # closed_lost | reopened | deleted


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
    updated_project: list[str] = field(default_factory=list)  # BigTime fields changed on the project
    updated_client: list[str] = field(default_factory=list)
    contacts_added: int = 0
    contacts_updated: int = 0
    lifecycle: str | None = None  # the lifecycle event applied: closed_lost | reopened | deleted
    wrote_back: bool = False
    warnings: list[str] = field(default_factory=list)
    salesforce_calls: int = 0
    bigtime_calls: int = 0
    error_code: str | None = None  # of a permanent failure, for the "failures by kind" metric

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def changes(self) -> dict[str, Any]:
        keys = ("created_client", "created_project", "updated_client", "updated_project")
        keys += ("contacts_added", "contacts_updated", "lifecycle", "wrote_back")
        return {k: getattr(self, k) for k in keys}

    @property
    def changed_bigtime(self) -> bool:
        return bool(
            self.created_project
            or self.created_client
            or self.updated_project
            or self.updated_client
            or self.contacts_added
            or self.contacts_updated
        )


@dataclass
class ClientRef:
    id: int
    name: str
    created: bool
    state: dict[str, Any]


def sync_opportunity(request: SyncRequest, ctx: SyncContext) -> Outcome:
    """Sync one Opportunity. Returns the outcome; raises :class:`TransientError` to be retried later."""
    sf_start, bt_start = ctx.salesforce.calls, ctx.bigtime.calls
    error: str | None = None
    try:
        outcome = _sync(request, ctx)
    except OpportunityDeleted as exc:
        outcome = Outcome(
            status="Skipped",
            message=f"The Opportunity was deleted in Salesforce while it was being synced ({exc.reason}).",
        )
    except WrongOrg as exc:
        # Recorded and counted, never written back: the Opportunity lives in an org we cannot reach.
        error = exc.reason
        outcome = Outcome(status="Failed", message=exc.reason, error_code=exc.code)
    except PermanentError as exc:
        error = exc.reason
        outcome = Outcome(status="Failed", message=exc.reason, error_code=exc.code)
        _write_failure(request, ctx, exc, outcome)
    except TransientError as exc:
        _record(request, ctx, "Retrying", exc.reason, sf_start, bt_start, error=exc.reason)
        raise
    outcome.salesforce_calls = ctx.salesforce.calls - sf_start
    outcome.bigtime_calls = ctx.bigtime.calls - bt_start
    _record(request, ctx, outcome.status, outcome.message, sf_start, bt_start, error=error, outcome=outcome)
    return outcome


def _sync(request: SyncRequest, ctx: SyncContext) -> Outcome:
    org, opp_id = request.org_id, request.opportunity_id
    mapping = ctx.mapping
    ours = ctx.salesforce.logged_in_org()
    if ours is not None and not same_org(org, ours):
        raise WrongOrg(
            f"The event came from Salesforce org {org[:15]}, but this stack's Salesforce credentials are for "
            f"org {ours}: nothing was read or written. Give each org its own stack (docs/setup.md, "
            "'Production and sandboxes') and list only its own org in SalesforceOrgIds.",
            code="wrong_org",
        )
    opp = ctx.salesforce.read_opportunity(opp_id, *mapping.query_fields())
    state = ctx.store.get("opp", org, opp_id) or {}
    mapped = bool(state.get("project_id"))

    if opp is None or opp.deleted:
        if opp is not None and mapped and state.get("lifecycle") != "deleted":
            return _lifecycle_only(org, opp_id, opp, "deleted", state, ctx)
        where = "was deleted in Salesforce" if opp is not None else "no longer exists in Salesforce"
        if opp is None and mapped:
            where += " (or the integration user cannot see it); its BigTime project is left as is"
        return Outcome(status="Skipped", message=f"The Opportunity {where}.", project_id=_pid(state))

    not_triggered = trigger_check(opp, mapping.trigger)
    event = _lifecycle_event(opp, state) if mapped else None
    if not_triggered:
        if event:
            return _lifecycle_only(org, opp_id, opp, event, state, ctx)
        if mapped:
            return Outcome(
                status="Skipped",
                message=f"Not synced again: {not_triggered}; BigTime project "
                f"{state.get('project_code') or ''} (id {state['project_id']}) left as is.",
                project_id=_pid(state),
                client_id=str(state.get("client_id") or "") or None,
            )
        outcome = Outcome(status="Skipped", message=f"Not synced: {not_triggered}.")
        _write_back(org, opp, ctx, outcome, None, state)
        return outcome
    return _sync_triggered(org, opp, state, event, ctx)


def _sync_triggered(
    org: str, opp: OpportunitySnapshot, state: dict[str, Any], event: str | None, ctx: SyncContext
) -> Outcome:
    today = _today(ctx)
    client = _known_client(org, opp, state, ctx) or _ensure_client(org, opp, ctx, today)
    if state.get("project_id"):
        project_id, project_code, created_project = (
            int(state["project_id"]),
            str(state.get("project_code") or ""),
            False,
        )
        lease = None
    else:
        project_id, project_code, created_project, lease = _ensure_project(org, opp, ctx, client.id, today)
        state = ctx.store.get("opp", org, opp.id) or state
    outcome = Outcome(
        status="Synced",
        message="",
        project_id=str(project_id),
        client_id=str(client.id),
        created_client=client.created,
        created_project=created_project,
        lifecycle=event,
    )
    try:
        if not client.created and client.state.get("client_id") == str(client.id):
            # Only the Account's own client: an Opportunity moved to another Account keeps its project's.
            outcome.updated_client = _update_client(org, opp, ctx, client, today)
        lifecycle = (
            lifecycle_payload(getattr(ctx.mapping.lifecycle, event), opp, today) if event else Payload()
        )
        if not created_project:
            outcome.updated_project = _update_project(org, opp, ctx, project_id, state, lifecycle, today)
        if event:
            ctx.store.update("opp", org, opp.id, lifecycle=_after(event))
        _write_marker(org, opp.id, ctx, project_id, state)
    except SyncError:
        if lease:  # the retry (which lists the contacts) must not wait for the lease to go stale
            ctx.store.end_lease("opp", org, opp.id, lease)
        raise
    added, updated, outcome.warnings = _sync_contacts(
        org, opp, ctx, project_id, state, created_project, lease, today
    )
    outcome.contacts_added, outcome.contacts_updated = added, updated
    outcome.message = _message(outcome, project_code, client.name, event)
    _write_back(org, opp, ctx, outcome, _project_record(ctx, opp, outcome, project_code, client.name), state)
    return outcome


# -- clients -----------------------------------------------------------------------------------------
def _known_client(
    org: str, opp: OpportunitySnapshot, state: dict[str, Any], ctx: SyncContext
) -> ClientRef | None:
    """The client of an already created project (its client never changes)."""
    if not (state.get("project_id") and state.get("client_id")):
        return None
    account = (ctx.store.get("acct", org, opp.account_id) if opp.account_id else None) or {}
    name = str(account.get("client_name") or opp.get("Account.Name") or "")
    own = account if account.get("client_id") == str(state["client_id"]) else {}
    return ClientRef(int(state["client_id"]), name, False, own)


def _ensure_client(org: str, opp: OpportunitySnapshot, ctx: SyncContext, today: str) -> ClientRef:
    account_id = opp.account_id
    name = str(opp.get("Account.Name") or "")
    if not account_id or not name:
        raise PermanentError(
            "The Opportunity has no Account: set the Account and save the Opportunity again."
        )
    state = ctx.store.get("acct", org, account_id) or {}
    if state.get("client_id"):
        return ClientRef(int(state["client_id"]), str(state.get("client_name") or name), False, state)
    claim = ctx.store.claim("acct", org, account_id, stale_after=ctx.claim_stale_after)
    if claim.existing:
        return ClientRef(int(claim.existing), name, False, claim.item)
    section = ctx.mapping.client
    payload = client_payload(opp, ctx.mapping, today, sync_only=False)
    client_code = code(section.code, opp, today)

    def work(token: str) -> tuple[int, bool]:
        client: Record | None = None
        # One list serves both the marker lookup (client code) and the name rule; with `never` and no
        # doubt about an earlier attempt, nothing needs looking up.
        clients = ctx.bigtime.list_clients() if section.match == "name" or claim.must_look_up else []
        if client_code:
            client = next((c for c in clients if _same_code(c.get("ClientId"), client_code)), None)
        if client is None and section.match == "name":
            client = _client_by_name(clients, name)
        created = False
        if client is None:
            body = {**_resolve(payload, ctx.bigtime), **({"ClientId": client_code} if client_code else {})}
            try:
                client, created = ctx.bigtime.create_client(body), True
            except PermanentError:
                # A rejected create may mean our client code is taken — by the very client an unrecorded
                # earlier attempt made. Adopt it if so; otherwise the rejection stands.
                client = _client_by_code(ctx.bigtime, client_code) if client_code else None
                if client is None:
                    raise
        client_id = _require_id(client, "client")
        extra = {"synced_hash": _sync_hash(opp, ctx, "client", today)} if created else {}
        ctx.store.record("acct", org, account_id, token, str(client_id), client_name=name, **extra)
        return client_id, created

    client_id, created = _under_claim("acct", org, account_id, claim, ctx, work)
    return ClientRef(client_id, name, created, ctx.store.get("acct", org, account_id) or {})


def _client_by_name(clients: list[Record], name: str) -> Record | None:
    """Exact normalized name: finds an existing client and, after a crash, the one we created."""
    matches = [c for c in clients if normalize_name(c.get("Nm")) == normalize_name(name)]
    if len(matches) > 1:
        ids = ", ".join(f"{c.get('Nm')} (id {record_id(c)})" for c in matches)
        raise PermanentError(
            f"Several BigTime clients are named like the Account {name!r}: {ids}. "
            "Merge or rename them in BigTime (or set client.match/code in the mapping), "
            "then save the Opportunity again."
        )
    return matches[0] if matches else None


def _client_by_code(bigtime: BigTimeClient, client_code: str) -> Record | None:
    return next((c for c in bigtime.list_clients() if _same_code(c.get("ClientId"), client_code)), None)


def _update_client(
    org: str, opp: OpportunitySnapshot, ctx: SyncContext, client: ClientRef, today: str
) -> list[str]:
    """Bring the client's `sync` fields up to date if the Account changed since they were last written."""
    desired = client_payload(opp, ctx.mapping, today, sync_only=True)
    if not desired or client.state.get("synced_hash") == desired.fingerprint():
        return []
    current = ctx.bigtime.get_client(client.id)
    changes = differences(current, _resolve(desired, ctx.bigtime))
    if changes:
        ctx.bigtime.update_client(client.id, update_body(current, changes))
    ctx.store.update("acct", org, str(opp.account_id), synced_hash=desired.fingerprint())
    return sorted(changes)


# -- projects ----------------------------------------------------------------------------------------
def _ensure_project(
    org: str, opp: OpportunitySnapshot, ctx: SyncContext, client_id: int, today: str
) -> tuple[int, str, bool, str | None]:
    """(project id, code, created by us, the contacts lease we hold if we recorded the project)."""
    project_code = code(ctx.mapping.project.code, opp, today)
    claim = ctx.store.claim("opp", org, opp.id, stale_after=ctx.claim_stale_after)
    if claim.existing:
        return int(claim.existing), str(claim.item.get("project_code") or project_code or ""), False, None
    payload = project_payload(opp, ctx.mapping, today, sync_only=False)

    def work(token: str) -> tuple[int, str, bool, str | None]:
        name = str(payload.values.get("Nm") or "")
        found = _project_shown_on_opportunity(ctx, opp)
        if found is None and claim.must_look_up:
            found = _find_marked_project(ctx, opp.id, project_code, client_id, name)
        created = False
        if found is None:
            body = {**_resolve(payload, ctx.bigtime), "ClientId": client_id}
            if project_code:
                body["ProjectCode"] = project_code
            try:
                found, created = ctx.bigtime.create_project(body), True
            except PermanentError:
                # A rejected create may mean our marker code is already taken — by the very project an
                # unrecorded earlier attempt made. Adopt it if so; otherwise the rejection stands.
                found = _project_by_code(ctx.bigtime.list_projects(), project_code) if project_code else None
                if found is None:
                    raise
        project_id = _require_id(found, "project")
        final_code = str(found.get("ProjectCode") or project_code or "")
        ctx.store.record(
            "opp",
            org,
            opp.id,
            token,
            str(project_id),
            project_code=final_code,
            client_id=str(client_id),
            lifecycle="active",
            # Whoever records the project adds its contacts: the lease keeps a concurrent delivery of the
            # same Opportunity from adding them a second time.
            **ctx.store.lease_attrs(token),
            **({"synced_hash": _sync_hash(opp, ctx, "project", today)} if created else {}),
        )
        return project_id, final_code, created, token

    return _under_claim("opp", org, opp.id, claim, ctx, work)


def _project_shown_on_opportunity(ctx: SyncContext, opp: OpportunitySnapshot) -> Record | None:
    """The project the Opportunity already names although the table has none (a re-created stack, a
    restored or emptied table): adopt it rather than create a second one. One BigTime call, only then."""
    shown = str(opp.get("BigTime_Project_Id__c") or "").strip()
    if not shown.isdigit():
        return None
    try:
        return ctx.bigtime.get_project(int(shown))
    except PermanentError:  # deleted in BigTime (or not visible to our API key): create a new one
        return None


def _find_marked_project(
    ctx: SyncContext, opportunity_id: str, project_code: str | None, client_id: int, name: str
) -> Record | None:
    """After an attempt that may have created the project without recording it: find it by our marker.

    The project code is the strong marker (it is in the create request itself). With auto-numbered codes
    the marker is the custom field, written right after the create; a crash in between leaves a project
    of our client, with our name and an empty custom field: adopted if it is the only one, never guessed
    among several.
    """
    projects = ctx.bigtime.list_projects()
    if project_code:
        return _project_by_code(projects, project_code)
    field_name = ctx.mapping.project.opportunity_id_field or ""
    candidates = [
        p
        for p in projects
        if record_id(p, "ClientId") == client_id and normalize_name(p.get("Nm")) == normalize_name(name)
    ]
    blank: list[Record] = []
    for project in candidates:
        pid = _require_id(project, "project")
        value = next(
            (
                str(f.get("Value") or "").strip()
                for f in ctx.bigtime.project_custom_fields(pid)
                if str(f.get("Name") or "").strip().casefold() == field_name.casefold()
            ),
            "",
        )
        if value and _same_sfid(value, opportunity_id):
            return project
        if not value:
            blank.append(project)
    if len(blank) > 1:
        ids = ", ".join(f"{p.get('Nm')} (id {record_id(p)})" for p in blank)
        raise PermanentError(
            f"An earlier attempt may have created this project, and several BigTime projects could be it: "
            f"{ids}. Put the Opportunity id into the {field_name!r} custom field of the right one in "
            "BigTime (delete any duplicate), then save the Opportunity again."
        )
    return blank[0] if blank else None


def _project_by_code(projects: list[Record], project_code: str) -> Record | None:
    return next((p for p in projects if _same_code(p.get("ProjectCode"), project_code)), None)


def _update_project(
    org: str,
    opp: OpportunitySnapshot | None,
    ctx: SyncContext,
    project_id: int,
    state: dict[str, Any],
    lifecycle: Payload,
    today: str,
) -> list[str]:
    """One GET Detailed, merge, one POST — only when the `sync` fields changed in Salesforce since they
    were last written, or a lifecycle action applies, and only if BigTime does not hold the values yet."""
    desired_sync = project_payload(opp, ctx.mapping, today, sync_only=True) if opp else Payload()
    sync_due = bool(desired_sync) and state.get("synced_hash") != desired_sync.fingerprint()
    desired = (desired_sync if sync_due else Payload()).merged(lifecycle)
    if not desired:
        return []
    current = ctx.bigtime.get_project(project_id)
    changes = differences(current, _resolve(desired, ctx.bigtime))
    if changes:
        ctx.bigtime.update_project(project_id, update_body(current, changes))
    if sync_due:
        ctx.store.update("opp", org, str(opp.id if opp else ""), synced_hash=desired_sync.fingerprint())
    return sorted(changes)


def _write_marker(
    org: str, opportunity_id: str, ctx: SyncContext, project_id: int, state: dict[str, Any]
) -> None:
    """Put the Opportunity id into the project's custom field (once), if the mapping names one."""
    field_name = ctx.mapping.project.opportunity_id_field
    if not field_name or state.get("marker_written"):
        return
    ctx.bigtime.set_project_custom_fields(project_id, {field_name: opportunity_id})
    ctx.store.update("opp", org, opportunity_id, marker_written=True)


# -- lifecycle ---------------------------------------------------------------------------------------
def _lifecycle_event(opp: OpportunitySnapshot, state: dict[str, Any]) -> LifecycleEvent | None:
    """For a synced Opportunity: Closed Lost now (and not handled yet), or open/won again after a
    Closed Lost or a deletion. Other moves (e.g. Closed Won back to an open stage) change nothing."""
    lost = opp.get("IsClosed") is True and opp.get("IsWon") is not True
    last = state.get("lifecycle") or "active"
    if lost:
        return "closed_lost" if last != "closed_lost" else None
    return "reopened" if last in ("closed_lost", "deleted") else None


def _lifecycle_only(
    org: str,
    opportunity_id: str,
    opp: OpportunitySnapshot | None,
    event: LifecycleEvent,
    state: dict[str, Any],
    ctx: SyncContext,
) -> Outcome:
    """Apply the mapping's action for a lifecycle event to the existing project (no new records)."""
    action = getattr(ctx.mapping.lifecycle, event)
    project_id = int(state["project_id"])
    label = {"closed_lost": "Closed Lost", "reopened": "Reopened", "deleted": "Deleted"}[event]
    project_code = str(state.get("project_code") or "")
    outcome = Outcome(
        status="Synced",
        message="",
        project_id=str(project_id),
        client_id=str(state.get("client_id") or "") or None,
        lifecycle=event,
    )
    if action.noop:
        outcome.status = "Skipped"
        outcome.message = f"{label} in Salesforce; the mapping leaves BigTime project {project_code} (id {project_id}) as is."
    else:
        outcome.updated_project = _update_project(
            org, None, ctx, project_id, state, lifecycle_payload(action, opp, _today(ctx)), _today(ctx)
        )
        outcome.message = (
            f"{label} in Salesforce; on BigTime project {project_code} (id {project_id}): {action.describe()}"
            + ("" if outcome.updated_project else " (it already was so)")
            + "."
        )
    ctx.store.update("opp", org, opportunity_id, lifecycle=_after(event))
    if opp is not None and not opp.deleted and not action.noop:
        record = _project_record(ctx, opp, outcome, project_code, _client_name(org, opp, ctx))
        if action.inactive is not None:
            record["Status__c"] = "Inactive" if action.inactive else "Active"
        if action.status:
            record["Status__c"] = action.status
        _write_back(org, opp, ctx, outcome, record, state)
    return outcome


# -- contacts ----------------------------------------------------------------------------------------
def _sync_contacts(
    org: str,
    opp: OpportunitySnapshot,
    ctx: SyncContext,
    project_id: int,
    state: dict[str, Any],
    fresh: bool,
    lease: str | None,
    today: str,
) -> tuple[int, int, list[str]]:
    """Add the contact roles BigTime lacks, update `sync` contact fields; only when the roles changed.

    Adding a contact is not idempotent, so it happens under the contacts lease: the project's creator
    holds it from the record on (``lease``); anyone else takes it only when there is something to do.
    """
    plans, warnings = contact_plans(opp, ctx.mapping.contacts, today)
    # Who the contacts are and their `sync` values: a create_only detail changing costs nothing.
    digest = fingerprint([(p.key, p.tag, p.sync.values) for p in plans])
    if not fresh and state.get("contacts_hash") == digest:
        if lease:
            ctx.store.end_lease("opp", org, opp.id, lease)
        return 0, 0, list(state.get("contact_warnings") or [])
    lease = lease or ctx.store.lease("opp", org, opp.id, stale_after=ctx.claim_stale_after)
    added = updated = 0
    try:
        if plans:
            # A project we just created has no contacts: skip the list call (one call per contact is the
            # budget). Anyone else compares with what BigTime holds, which also covers an add that went
            # through before a crash.
            existing = [] if fresh else ctx.bigtime.list_project_contacts(project_id)
            by_key = {contact_key(dict(c)): c for c in existing}
            taken = {str(c.get("Tag") or "").upper() for c in existing} & {"PRIMARY", "BILLING"}
            for plan in plans:
                current = by_key.get(plan.key)
                if current is None:
                    tag = plan.tag if plan.tag not in taken else "OTHER"
                    ctx.bigtime.add_project_contact(project_id, _contact_body(plan, ctx, tag))
                    by_key[plan.key] = Record(nest(plan.create.values))
                    taken.add(tag)
                    added += 1
                elif plan.sync:
                    changes = differences(current, nest(_resolve(plan.sync, ctx.bigtime)))
                    contact_id = record_id(current, "SystemId", "Id", "id")
                    if changes and contact_id is not None:
                        ctx.bigtime.update_project_contact(
                            contact_id, {**update_body(current, changes), "ProjectSid": project_id}
                        )
                        updated += 1
    except SyncError:
        ctx.store.end_lease("opp", org, opp.id, lease)
        raise
    ctx.store.end_lease("opp", org, opp.id, lease, contacts_hash=digest, contact_warnings=warnings)
    return added, updated, warnings


def _contact_body(plan: ContactPlan, ctx: SyncContext, tag: str) -> dict[str, Any]:
    return {**nest(_resolve(plan.create, ctx.bigtime)), "Tag": tag}


# -- helpers -----------------------------------------------------------------------------------------
def _resolve(payload: Payload, bigtime: BigTimeClient) -> dict[str, Any]:
    """Picklist names -> BigTime ids (cached lists); everything else as is."""
    values = dict(payload.values)
    for key, list_name in payload.picklists.items():
        values[key] = bigtime.picklist_id(list_name, str(values[key]))
    return values


def _sync_hash(opp: OpportunitySnapshot, ctx: SyncContext, kind: str, today: str) -> str:
    build = client_payload if kind == "client" else project_payload
    return build(opp, ctx.mapping, today, sync_only=True).fingerprint()


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


def _require_id(record: Record, what: str) -> int:
    value = record_id(record)
    if value is None:
        raise BigTimeCallError(f"BigTime's {what} reply carried no SystemId", maybe_applied=True)
    return value


def _same_code(a: Any, b: str | None) -> bool:
    return bool(b) and str(a or "").strip().casefold() == str(b).strip().casefold()


def _same_sfid(a: str, b: str) -> bool:
    try:
        return to_18(a) == to_18(b)
    except ValueError:
        return a.strip() == b.strip()


def _after(event: LifecycleEvent) -> str:
    return "active" if event == "reopened" else event


def _pid(state: dict[str, Any]) -> str | None:
    return str(state["project_id"]) if state.get("project_id") else None


def _today(ctx: SyncContext) -> str:
    return ctx.now().astimezone(UTC).date().isoformat()


def _client_name(org: str, opp: OpportunitySnapshot, ctx: SyncContext) -> str:
    state = ctx.store.get("acct", org, opp.account_id) if opp.account_id else None
    return str((state or {}).get("client_name") or opp.get("Account.Name") or "")


# -- write-back and outcome -------------------------------------------------------------------------
def _message(outcome: Outcome, project_code: str, client_name: str, event: str | None) -> str:
    what = f"BigTime project {project_code} (id {outcome.project_id}) for client {client_name} (id {outcome.client_id})"
    details: list[str] = []
    if outcome.created_client:
        details.append("client created")
    if outcome.updated_client:
        details.append(f"client updated ({', '.join(outcome.updated_client)})")
    if outcome.updated_project:
        details.append(f"project updated ({', '.join(outcome.updated_project)})")
    if event == "reopened":
        details.append("reopened")
    if outcome.contacts_added:
        details.append(f"{outcome.contacts_added} contact(s) added")
    if outcome.contacts_updated:
        details.append(f"{outcome.contacts_updated} contact(s) updated")
    head = f"Created {what}" if outcome.created_project else what[0].upper() + what[1:]
    return (
        head
        + (f": {'; '.join(details)}" if details else "")
        + "."
        + "".join(f" Warning: {w}." for w in outcome.warnings)
    )


def _project_record(
    ctx: SyncContext, opp: OpportunitySnapshot, outcome: Outcome, project_code: str, client_name: str
) -> dict[str, Any]:
    """The ``BigTime_Project__c`` row of the Opportunity's "BigTime Projects" related list."""
    name = project_payload(opp, ctx.mapping, _today(ctx), sync_only=False).values.get("Nm") or opp.get("Name")
    return {
        "Name": str(name or project_code)[:80],
        "Opportunity__c": opp.id,
        "Account__c": opp.account_id,
        "Project_Code__c": project_code,
        "Project_URL__c": _project_url(ctx, int(outcome.project_id or 0)),
        "Client_Name__c": client_name,
        "Status__c": "Active",
    }


def _project_url(ctx: SyncContext, project_id: int) -> str:
    return ctx.mapping.write_back.project_url.format(project_id=project_id)


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
    written = state.get("written_back_message")
    if shows_this and written == outcome.message:
        return  # the Opportunity already says exactly this
    if shows_this and outcome.status == "Synced" and not (outcome.changed_bigtime or outcome.lifecycle):
        # Nothing happened since the last write-back, which said more ("Created …"): keep it. Writing
        # again would cost an API call and, with CDC or a Flow on every edit, echo back to us forever.
        if written:
            outcome.message = str(written)
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
    outcome: Outcome | None = None,
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
        changes=outcome.changes() if outcome else None,
        warnings=outcome.warnings if outcome else None,
    )
