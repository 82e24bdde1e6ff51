""" "Pull from BigTime": a JSON event with ``"action": "pull"`` through ingest's parser, the queue message,
and the worker's batch handler (Powertools batch + idempotency on moto), at most once per project per
``pull.on_demand_every_minutes``."""

from __future__ import annotations

import json

from sf_bigtime.ingest.json_event import parse_json_events
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.pull.run import Puller
from sf_bigtime.settings import WorkerSettings
from sf_bigtime_local.lambda_runtime import LambdaContext
from tests.integration.conftest import ORG, sqs_record
from tests.integration.pull.conftest import Pulls

CONTEXT = LambdaContext("sf-bigtime-worker", timeout_seconds=300)


def pull_event(pulls: Pulls, pid: int, event_id: str) -> dict[str, object]:
    body = {"orgId": ORG, "opportunityId": pulls.row(pid)["Opportunity__c"], "eventId": event_id}
    [event] = parse_json_events(json.dumps({**body, "action": "pull", "projectId": str(pid)}).encode())
    request = event.to_request()
    assert request.kind == "pull" and request.bigtime_project_id == str(pid)
    return {"Records": [sqs_record(request)]}


def test_a_pull_request_goes_through_the_worker_once_per_window(pulls: Pulls) -> None:
    pid, other = pulls.project(), pulls.project()
    pulls.world.bt.log_time(pid, 3, 600)
    built: list[Puller] = []

    def factory(_settings: WorkerSettings, mapping: Mapping) -> Puller:
        built.append(pulls.puller({"on_demand_every_minutes": mapping.pull.on_demand_every_minutes}))
        return built[-1]

    worker = pulls.world.worker(puller_factory=factory)
    assert worker.handle(pull_event(pulls, pid, "click-1"), CONTEXT) == {"batchItemFailures": []}
    row = pulls.row(pid)
    assert (row["Actual_Hours__c"], row["Status__c"], row["Project_Lead__c"]) == (
        3.0,
        "In Progress",
        "Sam Rivera",
    )
    assert pulls.row(other)["Status__c"] is None  # only the project asked for
    assert (
        len(built) == 1
        and pulls.world.sf.get("Opportunity", row["Opportunity__c"]).get("BigTime_Sync_Status__c") is None
    )  # a pull is no sync: nothing is written onto the Opportunity

    pulls.world.bt.log_time(pid, 1, 200)
    pulls.world.bt.clear_calls()
    worker.handle(pull_event(pulls, pid, "click-2"), CONTEXT)  # pressed again at once
    assert pulls.world.bt.calls == [] and pulls.row(pid)["Actual_Hours__c"] == 3.0

    pulls.clock.advance(5 * 60)
    worker.handle(pull_event(pulls, pid, "click-3"), CONTEXT)
    assert pulls.row(pid)["Actual_Hours__c"] == 4.0
    # The same delivery again (SQS redelivers): replayed, not pulled again.
    pulls.clock.advance(5 * 60)
    pulls.world.bt.clear_calls()
    worker.handle(pull_event(pulls, pid, "click-3"), CONTEXT)
    assert pulls.world.bt.calls == []


def test_a_pull_without_a_project_covers_the_opportunitys_projects_and_says_when_there_is_none(
    pulls: Pulls,
) -> None:
    from sf_bigtime.pull.on_demand import pull_on_demand
    from sf_bigtime.queue.message import SyncRequest

    pid = pulls.project()
    opp = pulls.row(pid)["Opportunity__c"]
    request = SyncRequest(org_id=ORG, opportunity_id=opp, source="json", delivery_id="d1", kind="pull")
    result = pull_on_demand(request, pulls.puller())
    assert result["status"] == "Synced" and "1 read, 1 record(s) changed" in str(result["message"])
    lonely = pulls.world.opportunity(None, name="No project")
    none = SyncRequest(org_id=ORG, opportunity_id=lonely, source="json", delivery_id="d2", kind="pull")
    result = pull_on_demand(none, pulls.puller())
    assert result["status"] == "Skipped" and "No BigTime Project record" in str(result["message"])


def test_a_refused_pull_is_a_failed_outcome_not_a_retry(pulls: Pulls) -> None:
    from sf_bigtime.pull.on_demand import pull_on_demand
    from sf_bigtime.queue.message import SyncRequest

    pid = pulls.project()
    request = SyncRequest(
        org_id=ORG,
        opportunity_id=pulls.row(pid)["Opportunity__c"],
        source="json",
        delivery_id="d1",
        kind="pull",
        bigtime_project_id=str(pid),
    )
    result = pull_on_demand(request, pulls.puller(bt_token="wrong"))
    assert result["status"] == "Failed" and result["error_code"] == "bigtime_auth"
