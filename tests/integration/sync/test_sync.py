"""The worker's sync logic against the fake Salesforce and BigTime (real clients, moto DynamoDB)."""

from __future__ import annotations

import pytest

from sf_bigtime.errors import TransientError
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sync.run import sync_opportunity
from tests.integration.conftest import BT_TOKEN_NO_PROJECTS, ORG, OWNER_STAFFER, World

BT = "/BigtimeData/api/v2"


def test_won_opportunity_becomes_client_project_contacts_and_write_back(world: World) -> None:
    opp_id = world.won_opportunity(Description="Phase 1")
    ctx = world.context()
    outcome = sync_opportunity(world.request(opp_id), ctx)

    assert outcome.status == "Synced", outcome.message
    assert outcome.created_client and outcome.created_project and outcome.contacts_added == 2
    [client] = world.bt.clients
    [project] = world.bt.projects
    assert client["Nm"] == "Acme Consulting Ltd" and client["City"] == "San Francisco"
    assert project["Nm"] == "Acme – Implementation"
    assert project["ClientId"] == client["SystemId"]
    assert project["StartDt"] == "2026-12-01" and project["Notes"] == "Phase 1"
    assert project["ProjectCode"] == f"SF-{opp_id}"
    contacts = world.bt.project_contacts(project["SystemId"])
    assert sorted((c["FName"], c["Tag"]) for c in contacts) == [("Ada", "PRIMARY"), ("Grace", "BILLING")]

    opp = world.sf.get("Opportunity", opp_id)
    assert opp["BigTime_Project_Id__c"] == str(project["SystemId"])
    assert opp["BigTime_Sync_Status__c"] == "Synced"
    assert str(project["SystemId"]) in opp["BigTime_Project_URL__c"]
    assert "Created BigTime project" in opp["BigTime_Sync_Message__c"]
    assert opp["BigTime_Last_Synced__c"]

    # One Salesforce read and one composite write-back; BigTime: list clients, create client,
    # create project, two contacts, and the owner onto the team (staff list, team read, team write).
    assert (outcome.salesforce_calls, outcome.bigtime_calls) == (2, 8)
    assert [m["staffsid"] for m in world.bt.team(project["SystemId"])] == [OWNER_STAFFER["StaffSID"]]

    item = ctx.store.get("opp", ORG, opp_id)
    assert item["project_id"] == str(project["SystemId"]) and item["last_status"] == "Synced"
    assert item["last_salesforce_calls"] == 2 and item["last_bigtime_calls"] == 8


def test_related_list_record_is_written(world: World) -> None:
    opp_id = world.won_opportunity()
    sync_opportunity(world.request(opp_id), world.context())
    records = world.sf.query(
        f"SELECT Name, Opportunity__c, Project_Code__c FROM BigTime_Project__c WHERE Opportunity__c = '{opp_id}'"
    )
    assert [(r["Name"], r["Project_Code__c"]) for r in records["records"]] == [
        ("Acme – Implementation", f"SF-{opp_id}")
    ]


def test_redelivery_and_new_events_create_nothing(world: World) -> None:
    opp_id = world.won_opportunity()
    first = world.context()
    sync_opportunity(world.request(opp_id, "evt-1"), first)
    writes = len(world.bigtime_writes())
    sf_calls = world.sf_api_calls()

    again = sync_opportunity(world.request(opp_id, "evt-1"), first)
    other_worker = sync_opportunity(world.request(opp_id, "evt-2"), world.context())
    assert again.status == other_worker.status == "Synced"
    assert not again.created_project and not other_worker.created_project
    assert len(world.bt.projects) == 1 and len(world.bt.clients) == 1
    assert len(world.bigtime_writes()) == writes  # no BigTime write at all
    assert other_worker.bigtime_calls == 0
    # each later event costs one Salesforce read and no write-back (nothing changed)
    assert world.sf_api_calls() - sf_calls == 2 and other_worker.salesforce_calls == 1


def test_second_opportunity_of_the_same_account_reuses_the_client(world: World) -> None:
    account = world.account()
    a = world.won_opportunity(account, name="Phase 1")
    b = world.won_opportunity(account, name="Phase 2")
    ctx = world.context()
    sync_opportunity(world.request(a), ctx)
    outcome = sync_opportunity(world.request(b), ctx)
    assert len(world.bt.clients) == 1 and len(world.bt.projects) == 2
    assert not outcome.created_client and outcome.created_project
    # new Opportunity on a known client: create project + one call per contact, the team's read and
    # write (the staff list is cached in the warm client), nothing else
    assert outcome.bigtime_calls == 1 + 2 + 2 and outcome.salesforce_calls == 2


def test_existing_bigtime_client_with_the_same_name_is_used(world: World) -> None:
    existing = world.bt.create_client({"Nm": "ACME  consulting ltd"})
    opp_id = world.won_opportunity()
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert not outcome.created_client
    assert [c["SystemId"] for c in world.bt.clients] == [existing["SystemId"]]


def test_opportunity_not_in_the_trigger_stage_is_skipped_without_bigtime(world: World) -> None:
    opp_id = world.won_opportunity(stage="Negotiation/Review")
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert outcome.status == "Skipped" and outcome.message == "Not synced: the stage is not 'Closed Won'."
    assert world.bt.calls == [] and world.bt.projects == []
    opp = world.sf.get("Opportunity", opp_id)
    assert opp["BigTime_Sync_Status__c"] == "Skipped"
    # the next event changes nothing, so nothing is written (our own write must not echo forever),
    # and neither does a move to another stage that does not trigger
    again = sync_opportunity(world.request(opp_id), world.context())
    assert again.status == "Skipped" and not again.wrote_back
    world.sf.update("Opportunity", opp_id, {"StageName": "Proposal/Price Quote"})
    moved = sync_opportunity(world.request(opp_id), world.context())
    assert moved.status == "Skipped" and not moved.wrote_back and world.bt.calls == []


def test_deleted_opportunity_is_skipped(world: World) -> None:
    opp_id = world.won_opportunity()
    world.sf.delete("Opportunity", opp_id)
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert outcome.status == "Skipped" and "deleted in Salesforce" in outcome.message
    assert world.bt.calls == []


def test_missing_account_fails_with_a_reason_on_the_opportunity(world: World) -> None:
    opp_id = world.opportunity(None)
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert outcome.status == "Failed" and "no Account" in outcome.message
    opp = world.sf.get("Opportunity", opp_id)
    assert opp["BigTime_Sync_Status__c"] == "Failed" and "no Account" in opp["BigTime_Sync_Message__c"]
    assert world.bt.projects == []


def test_bigtime_permission_denied_is_permanent_and_visible(world: World) -> None:
    opp_id = world.won_opportunity()
    outcome = sync_opportunity(world.request(opp_id), world.context(bt_token=BT_TOKEN_NO_PROJECTS))
    assert outcome.status == "Failed" and "permission" in outcome.message
    assert world.sf.get("Opportunity", opp_id)["BigTime_Sync_Status__c"] == "Failed"


def test_throttling_is_transient_with_retry_after(world: World) -> None:
    world.bt.faults.add(method="POST", path="/project/detail$", status=503, headers={"Retry-After": "42"})
    opp_id = world.won_opportunity()
    with pytest.raises(TransientError) as info:
        sync_opportunity(world.request(opp_id), world.context())
    assert info.value.retry_after == 42
    assert world.sf.get("Opportunity", opp_id).get("BigTime_Sync_Status__c") is None
    # the retry succeeds and creates exactly one project
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert outcome.status == "Synced" and len(world.bt.projects) == 1


def test_create_that_succeeded_but_answered_500_is_not_repeated(world: World) -> None:
    world.bt.faults.add(method="POST", path="/project/detail$", status=500, after=True)
    opp_id = world.won_opportunity()
    with pytest.raises(TransientError):
        sync_opportunity(world.request(opp_id), world.context())
    assert len(world.bt.projects) == 1  # BigTime did create it
    outcome = sync_opportunity(world.request(opp_id), world.context())
    assert outcome.status == "Synced" and not outcome.created_project
    assert len(world.bt.projects) == 1
    assert world.sf.get("Opportunity", opp_id)["BigTime_Project_Id__c"] == str(
        world.bt.projects[0]["SystemId"]
    )


def test_an_event_from_another_org_reads_and_writes_nothing(world: World) -> None:
    """A sandbox refreshed from production shares its record ids: an event from the sandbox must not sync
    the production record with the same id, even if both orgs were listed in SalesforceOrgIds."""
    opp_id = world.won_opportunity()
    ctx = world.context()
    before = world.sf_api_calls()
    sandbox_event = SyncRequest(
        org_id="00D5w000004zzzz", opportunity_id=opp_id, source="json", delivery_id="from-the-sandbox"
    )
    outcome = sync_opportunity(sandbox_event, ctx)
    assert outcome.status == "Failed" and outcome.error_code == "wrong_org"
    assert "00D5w000004zzzz" in outcome.message and ORG[:15] in outcome.message
    assert world.sf_api_calls() == before and world.bt.calls == []
    assert world.sf.get("Opportunity", opp_id).get("BigTime_Sync_Status__c") is None
    assert ctx.store.get("opp", sandbox_event.org_id, opp_id)["last_status"] == "Failed"


def test_a_project_the_opportunity_already_names_is_adopted_when_the_table_has_none(world: World) -> None:
    """A re-created stack starts with an empty table (the old one is retained, not reused): the Opportunity
    still names its project, and that project is adopted instead of a second one being created."""
    opp_id = world.won_opportunity()
    first = sync_opportunity(world.request(opp_id), world.context())
    table = world.contexts[0].store.table
    for item in table.scan()["Items"]:  # the new stack's table: nothing of the old one
        table.delete_item(Key={"id": item["id"]})

    again = sync_opportunity(world.request(opp_id), world.context())
    assert again.status == "Synced" and not again.created_project
    assert again.project_id == first.project_id
    assert len(world.bt.projects) == 1
    assert world.contexts[1].store.get("opp", ORG, opp_id)["project_id"] == first.project_id
