"""What users see in Salesforce: one tagged composite write-back (the BigTime Projects related list and the
Opportunity's sync fields) that does not re-trigger the org's Flow, and failures with a reason."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sf_bigtime.sync.run import sync_opportunity
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.conftest import BT_TOKEN_NO_PROJECTS, ORG, World


class Receiver:
    """Stands in for the ingest endpoint the org's Flow calls; answers 202 and remembers the bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(json.loads(environ["wsgi.input"].read(length) or b"{}"))
        start_response("202 Accepted", [("Content-Type", "application/json")])
        return [b'{"accepted": 1}']


@pytest.fixture
def flow(world: World) -> Iterator[Receiver]:
    receiver = Receiver()
    with BackgroundServer(receiver, name="ingest-stand-in") as server:
        world.sf.add_flow(action="json", url=f"{server.url}/salesforce/events", json_retry_delays=())
        yield receiver


def wait_for_deliveries(world: World, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(world.sf.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(world.sf.deliveries) == count


def test_one_tagged_composite_request_writes_the_related_list_and_the_opportunity(world: World) -> None:
    opp = world.won_opportunity(Description="Phase 1")
    before = len(world.sf.calls)
    outcome = sync_opportunity(world.request(opp), world.context())
    calls = world.sf.calls[before:]
    api = [c for c in calls if c.counted]
    assert [(c.method, c.path.rsplit("/", 1)[-1] or c.path.rsplit("/", 2)[-2]) for c in api] == [
        ("GET", "queryAll"),
        ("POST", "composite"),
    ]
    composite = api[1]
    assert composite.call_client == "sf-bigtime"  # Sforce-Call-Options: client=sf-bigtime
    [project] = world.bt.projects
    [row] = world.sf.query(
        "SELECT Name, BigTime_Project_Id__c, Project_Code__c, Project_URL__c, Client_Name__c, Status__c, "
        f"Opportunity__c, Account__c FROM BigTime_Project__c WHERE Opportunity__c = '{opp}'"
    )["records"]
    assert row["BigTime_Project_Id__c"] == str(project["SystemId"])
    assert (row["Name"], row["Project_Code__c"], row["Client_Name__c"], row["Status__c"]) == (
        "Acme – Implementation",
        f"SF-{opp}",
        "Acme Consulting Ltd",
        None,  # BigTime's production status arrives with the first pull (tests/integration/pull)
    )
    assert row["Project_URL__c"] == f"https://iq.bigtime.net/Bigtime/Project/{project['SystemId']}"
    assert row["Account__c"] == world.sf.get("Opportunity", opp)["AccountId"]
    record = world.sf.get("Opportunity", opp)
    assert record["BigTime_Sync_Status__c"] == "Synced" and record["BigTime_Last_Synced__c"]
    assert record["BigTime_Sync_Message__c"] == outcome.message
    assert record["BigTime_Project_URL__c"] == row["Project_URL__c"]
    # the change event of our own write carries our client id, so a CDC consumer can tell our echoes
    [event] = [
        e
        for e in world.sf.change_events
        if "BigTime_Sync_Status__c" in e["ChangeEventHeader"]["changedFields"]
    ]
    assert event["ChangeEventHeader"]["changeOrigin"].endswith(";client=sf-bigtime")


def test_write_back_does_not_retrigger_the_flow(world: World, flow: Receiver) -> None:
    opp = world.won_opportunity(stage="Negotiation/Review")
    world.sf.update("Opportunity", opp, {"StageName": "Closed Won"})  # a person wins the deal
    wait_for_deliveries(world, 1)
    assert flow.bodies[0]["opportunityId"] == opp
    outcome = sync_opportunity(world.request(opp, flow.bodies[0]["eventId"]), world.context())
    assert outcome.wrote_back
    time.sleep(0.5)  # the fake's outbox sends within ~0.1 s; give a late echo time to show
    assert len(world.sf.deliveries) == 1 and len(flow.bodies) == 1


def test_write_back_is_skipped_when_the_opportunity_already_says_it(world: World) -> None:
    opp = world.won_opportunity()
    sync_opportunity(world.request(opp), world.context())
    again = sync_opportunity(world.request(opp), world.context())
    assert not again.wrote_back and again.salesforce_calls == 1
    assert again.message == world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]


def test_permanent_failure_is_written_back_recorded_and_fixable(world: World) -> None:
    opp = world.won_opportunity()
    failed = sync_opportunity(world.request(opp), world.context(bt_token=BT_TOKEN_NO_PROJECTS))
    assert failed.status == "Failed" and failed.wrote_back
    record = world.sf.get("Opportunity", opp)
    assert record["BigTime_Sync_Status__c"] == "Failed"
    assert (
        "permission" in record["BigTime_Sync_Message__c"] and "staffer" in record["BigTime_Sync_Message__c"]
    )
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["last_status"] == "Failed" and item["last_error"] == failed.message
    # a person grants the permission and saves the Opportunity again: it syncs, and says so
    fixed = sync_opportunity(world.request(opp), world.context())
    assert fixed.status == "Synced" and fixed.wrote_back
    assert world.sf.get("Opportunity", opp)["BigTime_Sync_Status__c"] == "Synced"
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["attempts"] == 2 and item["last_error"] == failed.message  # the history stays readable


def test_unknown_salesforce_field_in_the_mapping_fails_naming_it(world: World) -> None:
    opp = world.won_opportunity()
    outcome = sync_opportunity(
        world.request(opp), world.context(mapping={"project": {"fields": {"Notes": "Kickoff_Notes__c"}}})
    )
    assert outcome.status == "Failed" and "INVALID_FIELD" in outcome.message
    assert "sf-bigtime config check" in outcome.message
    assert "Kickoff_Notes__c" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    assert world.bt.calls == []


def test_opportunity_deleted_between_read_and_write_back(world: World) -> None:
    opp = world.won_opportunity()
    ctx = world.context()
    real = ctx.salesforce.write_back

    def delete_first(opportunity_id: str, wb: Any) -> None:
        world.sf.delete("Opportunity", opportunity_id)
        real(opportunity_id, wb)

    ctx.salesforce.write_back = delete_first  # type: ignore[method-assign]
    outcome = sync_opportunity(world.request(opp), ctx)
    assert outcome.status == "Skipped" and "deleted" in outcome.message
    assert len(world.bt.projects) == 1  # the project stays, and stays mapped
    assert ctx.store.get("opp", ORG, opp)["project_id"] == str(world.bt.projects[0]["SystemId"])
