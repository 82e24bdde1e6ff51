"""A pull someone asked for: "Pull from BigTime" on a BigTime Project record (or a Flow / Apex event with
``"action": "pull"``) reaches the ingest endpoint, goes through the queue like any event, and the worker runs
it here for that one project (or the Opportunity's projects).

Each project is pulled at most once per ``pull.on_demand_every_minutes`` (a conditional write in the state
table), so a button pressed ten times costs BigTime one read. It ignores the org's API budget (a person
asked) and uses the pull's half of BigTime's rate.
"""

from __future__ import annotations

from typing import Any

from sf_bigtime.errors import PermanentError
from sf_bigtime.pull.run import Puller
from sf_bigtime.pull.salesforce import Scope
from sf_bigtime.queue.message import SyncRequest


def pull_on_demand(request: SyncRequest, puller: Puller) -> dict[str, Any]:
    """Run one requested pull; the result has the worker's outcome shape (status, message, calls)."""
    scope = Scope(
        opportunity_id=None if request.bigtime_project_id else request.opportunity_id,
        project_id=request.bigtime_project_id,
    )
    key = request.bigtime_project_id or request.opportunity_id
    window = puller.section.on_demand_every_minutes * 60
    if puller.progress is not None and not puller.progress.claim_on_demand(key, window):
        return {
            "status": "Skipped",
            "message": f"Pulled from BigTime less than {puller.section.on_demand_every_minutes:g} minutes ago "
            f"({scope.describe()}); not pulled again.",
        }
    try:
        report = puller.run(scope)
    except PermanentError as exc:
        return {"status": "Failed", "message": exc.reason, "error_code": exc.code}
    failed = report.failed or report.problems or report.stopped
    if report.examined == 0:
        message = f"No BigTime Project record for {scope.describe()} in Salesforce: nothing to pull."
    else:
        message = (
            f"Pulled {scope.describe()} from BigTime: {report.read} read, {report.changed} record(s) changed"
            + (f", {report.failed} refused by Salesforce" if report.failed else "")
            + (f", {report.problems} unreadable" if report.problems else "")
            + (f"; stopped early: {report.stopped}" if report.stopped else "")
            + "."
        )
    return {
        "status": "Failed" if failed else ("Skipped" if report.examined == 0 else "Synced"),
        "message": message,
        "project_id": request.bigtime_project_id,
        "warnings": report.warnings[:20],
        "salesforce_calls": report.salesforce_calls,
        "bigtime_calls": report.bigtime_calls,
        "error_code": "pull_incomplete" if failed else None,
    }
