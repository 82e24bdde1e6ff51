"""The worker's logic: from a SyncRequest to exactly one BigTime client, project and contact set, and the
result written back onto the Opportunity. Events are triggers, not truth: everything is decided from the
Opportunity as it reads now (docs/decisions.md#events-are-triggers-not-truth), through the mapping (docs/decisions.md#the-mapping-is-configuration).

What one sync does, in order:

1. read the Opportunity (one SOQL query with everything the mapping uses, or its batch's one, see :mod:`.batch`);
2. gone or deleted -> the mapping's ``lifecycle.deleted`` action on its project, if it has one;
3. not in a trigger stage (or a condition fails) -> Skipped, or ``closed_lost`` / ``reopened`` on a
   project that exists;
4. otherwise make sure the client and the project exist, exactly once (claims in :mod:`sf_bigtime.clients.store`,
   markers in BigTime), bring the ``sync`` fields, the contacts, the tasks (budget) and the team up to date
   when the Salesforce side changed (fingerprints: unchanged data costs no BigTime call), and
5. write the result back onto the Opportunity in one composite request, or with the rest of its batch's
   (skipped when it would say what the Opportunity already says).

This module decides which of these one sync does; each step lives in its own module: :mod:`.clients`,
:mod:`.projects`, :mod:`.tasks` (all three through the one create-exactly-once algorithm of :mod:`.claims`),
:mod:`.contacts`, :mod:`.team`, :mod:`.lifecycle` and :mod:`.write_back`.
"""

from __future__ import annotations

from typing import Any

from sf_bigtime.clients.salesforce import OpportunityDeleted, WrongOrg
from sf_bigtime.errors import PermanentError, SyncError, TransientError
from sf_bigtime.mapping.transform import Payload, lifecycle_payload, trigger_check
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import same_org
from sf_bigtime.sync.batch import read_opportunity
from sf_bigtime.sync.clients import ensure_client, known_client, update_client
from sf_bigtime.sync.contacts import sync_contacts
from sf_bigtime.sync.context import SyncContext, SyncRun
from sf_bigtime.sync.lifecycle import LifecycleEvent, after, apply_lifecycle, lifecycle_event
from sf_bigtime.sync.outcome import Outcome, synced_message
from sf_bigtime.sync.projects import ensure_project, known_project, update_project, write_marker
from sf_bigtime.sync.tasks import sync_tasks
from sf_bigtime.sync.team import sync_team
from sf_bigtime.sync.write_back import project_row, write_back, write_failure

__all__ = ["Outcome", "SyncContext", "sync_opportunity"]


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
        write_failure(request, ctx, exc, outcome)
    except TransientError as exc:
        _save_outcome(request, ctx, "Retrying", exc.reason, sf_start, bt_start, error=exc.reason)
        raise
    outcome.salesforce_calls = ctx.salesforce.calls - sf_start
    outcome.bigtime_calls = ctx.bigtime.calls - bt_start
    _save_outcome(
        request, ctx, outcome.status, outcome.message, sf_start, bt_start, error=error, outcome=outcome
    )
    return outcome


def _sync(request: SyncRequest, ctx: SyncContext) -> Outcome:
    """Read the Opportunity and decide what this sync does (steps 2 and 3), or go on to step 4."""
    org, opp_id = request.org_id, request.opportunity_id
    _check_org(ctx, org)
    opp = read_opportunity(ctx, opp_id)
    state = ctx.store.get("opp", org, opp_id) or {}
    mapped = bool(state.get("project_id"))

    if opp is None:
        where = "no longer exists in Salesforce"
        if mapped:
            where += " (or the integration user cannot see it); its BigTime project is left as is"
        return Outcome(status="Skipped", message=f"The Opportunity {where}.", project_id=_project_id(state))
    run = SyncRun.start(ctx, org, opp, state)
    if opp.deleted:
        if mapped and state.get("lifecycle") != "deleted":
            return apply_lifecycle(run, "deleted")
        message = "The Opportunity was deleted in Salesforce."
        return Outcome(status="Skipped", message=message, project_id=_project_id(state))

    not_triggered = trigger_check(opp, ctx.mapping.trigger)
    event = lifecycle_event(run) if mapped else None
    if not_triggered:
        if event:
            return apply_lifecycle(run, event)
        if mapped:
            return Outcome(
                status="Skipped",
                message=f"Not synced again: {not_triggered}; BigTime project "
                f"{state.get('project_code') or ''} (id {state['project_id']}) left as is.",
                project_id=_project_id(state),
                client_id=str(state.get("client_id") or "") or None,
            )
        outcome = Outcome(status="Skipped", message=f"Not synced: {not_triggered}.")
        write_back(run, outcome, None)
        return outcome
    return _sync_triggered(run, event)


def _check_org(ctx: SyncContext, org: str) -> None:
    ours = ctx.salesforce.logged_in_org()
    if ours is not None and not same_org(org, ours):
        raise WrongOrg(
            f"The event came from Salesforce org {org[:15]}, but this stack's Salesforce credentials are for "
            f"org {ours}: nothing was read or written. Give each org its own stack (docs/setup.md, "
            "'Production and sandboxes') and list only its own org in SalesforceOrgIds.",
            code="wrong_org",
        )


def _sync_triggered(run: SyncRun, event: LifecycleEvent | None) -> Outcome:
    """Step 4 and 5: the client and the project exactly once, their updates, the contacts, the write-back."""
    client = known_client(run) or ensure_client(run)
    project = known_project(run)
    if project is None:
        project = ensure_project(run, client.id)
        run.reread()
    outcome = Outcome(
        status="Synced",
        message="",
        project_id=str(project.id),
        client_id=str(client.id),
        created_client=client.created,
        created_project=project.created,
        lifecycle=event,
    )
    try:
        if not client.created and client.item.get("client_id") == str(client.id):
            # Only the Account's own client: an Opportunity moved to another Account keeps its project's.
            outcome.updated_client = update_client(run, client)
        lifecycle = (
            lifecycle_payload(getattr(run.mapping.lifecycle, event), run.opp, run.today)
            if event
            else Payload()
        )
        if not project.created:
            outcome.updated_project = update_project(run, project.id, lifecycle)
        if event:
            run.save(lifecycle=after(event))
        write_marker(run, project.id)
    except SyncError:
        if project.lease:  # the retry (which lists the contacts) must not wait for the lease to go stale
            run.store.end_lease("opp", run.org, run.opp.id, project.lease)
        raise
    outcome.contacts_added, outcome.contacts_updated, contact_warnings = sync_contacts(run, project)
    tasks = sync_tasks(run, project)
    outcome.tasks_added, outcome.tasks_updated, outcome.tasks_archived = (
        tasks.added,
        tasks.updated,
        tasks.archived,
    )
    outcome.team_added, team_warnings = sync_team(run, project)
    outcome.warnings = [*contact_warnings, *tasks.warnings, *team_warnings]
    outcome.message = synced_message(outcome, project.code, client.name)
    write_back(run, outcome, project_row(run, outcome, project.code, client.name))
    return outcome


def _project_id(state: dict[str, Any]) -> str | None:
    return str(state["project_id"]) if state.get("project_id") else None


def _save_outcome(
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
    """The last outcome on the Opportunity's item (for ``sf-bigtime status``), with the calls it cost."""
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
