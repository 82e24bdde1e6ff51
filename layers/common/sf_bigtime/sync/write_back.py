"""The result, written where users work: the Opportunity's sync fields and its row of the "BigTime
Projects" related list, in one composite request, and only when it would say something new."""

from __future__ import annotations

from typing import Any

from sf_bigtime.clients.salesforce import WriteBack
from sf_bigtime.errors import PermanentError, SyncError
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.mapping.transform import project_payload
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sync.batch import defer_write_back, written_at
from sf_bigtime.sync.context import SyncContext, SyncRun
from sf_bigtime.sync.outcome import Outcome


def project_row(run: SyncRun, outcome: Outcome, project_code: str, client_name: str) -> dict[str, Any]:
    """The ``BigTime_Project__c`` row of the Opportunity's "BigTime Projects" related list. Its status,
    figures and dates are BigTime's, copied by the pull (sf_bigtime.pull), not set here."""
    name = project_payload(run.opp, run.mapping, run.today, sync_only=False).values.get("Nm")
    return {
        "Name": str(name or run.opp.get("Name") or project_code)[:80],
        "Opportunity__c": run.opp.id,
        "Account__c": run.opp.account_id,
        "Project_Code__c": project_code,
        "Project_URL__c": project_url(run.mapping, int(outcome.project_id or 0)),
        "Client_Name__c": client_name,
    }


def project_url(mapping: Mapping, project_id: int) -> str:
    return mapping.write_back.project_url.format(project_id=project_id)


def write_back(run: SyncRun, outcome: Outcome, row: dict[str, Any] | None) -> None:
    """Write the outcome (and the related list ``row``, if any) onto the Opportunity, unless it says that
    already."""
    pid = outcome.project_id
    shows_this = (
        run.opp.get("BigTime_Sync_Status__c") == outcome.status
        and (run.opp.get("BigTime_Project_Id__c") or None) == pid
    )
    written = run.state.get("written_back_message")
    if shows_this and written == outcome.message:
        return  # the Opportunity already says exactly this
    if shows_this and outcome.status == "Synced" and not (outcome.changed_bigtime or outcome.lifecycle):
        # Nothing happened since the last write-back, which said more ("Created …"): keep it. Writing
        # again would cost an API call and, with CDC or a Flow on every edit, echo back to us forever.
        if written:
            outcome.message = str(written)
        return
    wb = WriteBack(
        status=outcome.status,
        message=outcome.message,
        synced_at=run.ctx.now(),
        project_id=pid,
        project_url=project_url(run.mapping, int(pid)) if pid else None,
        project=row,
    )
    outcome.wrote_back = True
    if defer_write_back(run.org, run.opp.id, wb):
        outcome.write_back_due = written_at(wb)  # made with the rest of the batch's (sync/batch.py)
        return
    run.salesforce.write_back(run.opp.id, wb)
    run.save(written_back_message=outcome.message, written_back_at=written_at(wb))


def write_failure(request: SyncRequest, ctx: SyncContext, exc: PermanentError, outcome: Outcome) -> None:
    """Put a permanent failure where users work: on the Opportunity, with the reason."""
    try:
        ctx.salesforce.write_back(
            request.opportunity_id,
            WriteBack(status="Failed", message=exc.reason, synced_at=ctx.now()),
        )
        outcome.wrote_back = True
    except SyncError as write_error:
        outcome.warnings.append(f"could not write the failure onto the Opportunity: {write_error.reason}")
