"""What happens to the project of an already synced Opportunity that is lost, reopened or deleted in
Salesforce: the mapping's ``lifecycle`` action, applied once per change."""

from __future__ import annotations

from typing import Literal

from sf_bigtime.mapping.transform import lifecycle_payload
from sf_bigtime.sync.clients import client_name
from sf_bigtime.sync.context import SyncRun
from sf_bigtime.sync.outcome import Outcome
from sf_bigtime.sync.projects import update_project
from sf_bigtime.sync.write_back import project_row, write_back

LifecycleEvent = Literal["closed_lost", "reopened", "deleted"]
_LABELS: dict[LifecycleEvent, str] = {
    "closed_lost": "Closed Lost",
    "reopened": "Reopened",
    "deleted": "Deleted",
}


def lifecycle_event(run: SyncRun) -> LifecycleEvent | None:
    """For a synced Opportunity: Closed Lost now (and not handled yet), or open/won again after a
    Closed Lost or a deletion. Other moves (e.g. Closed Won back to an open stage) change nothing."""
    lost = run.opp.get("IsClosed") is True and run.opp.get("IsWon") is not True
    last = run.state.get("lifecycle") or "active"
    if lost:
        return "closed_lost" if last != "closed_lost" else None
    return "reopened" if last in ("closed_lost", "deleted") else None


def after(event: LifecycleEvent) -> str:
    """The ``lifecycle`` stored once the event is handled."""
    return "active" if event == "reopened" else event


def apply_lifecycle(run: SyncRun, event: LifecycleEvent) -> Outcome:
    """Apply the mapping's action for a lifecycle event to the existing project (nothing is created)."""
    action = getattr(run.mapping.lifecycle, event)
    project_id = int(run.state["project_id"])
    label = _LABELS[event]
    project_code = str(run.state.get("project_code") or "")
    outcome = Outcome(
        status="Synced",
        message="",
        project_id=str(project_id),
        client_id=str(run.state.get("client_id") or "") or None,
        lifecycle=event,
    )
    if action.noop:
        outcome.status = "Skipped"
        outcome.message = f"{label} in Salesforce; the mapping leaves BigTime project {project_code} (id {project_id}) as is."
    else:
        payload = lifecycle_payload(action, run.opp, run.today)
        # Only the lifecycle values: the `sync` fields wait until the Opportunity triggers again.
        outcome.updated_project = update_project(run, project_id, payload, sync_fields=False)
        outcome.message = (
            f"{label} in Salesforce; on BigTime project {project_code} (id {project_id}): {action.describe()}"
            + ("" if outcome.updated_project else " (it already was so)")
            + "."
        )
    run.save(lifecycle=after(event))
    if not run.opp.deleted and not action.noop:
        row = project_row(run, outcome, project_code, client_name(run))
        if action.inactive is not None:
            row["Inactive__c"] = action.inactive
        if action.status:
            row["Status__c"] = action.status
        write_back(run, outcome, row)
    return outcome
