"""What one sync does, decided from the Opportunity as it reads now: on in-memory ports (no moto, no HTTP).
The same behaviour over the real clients and the HTTP fakes: tests/integration/sync/."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.sfid import to_18
from sf_bigtime.sync.run import sync_opportunity
from tests.unit.sync.conftest import ORG, TEAM_CALLS, Memory


def test_first_sync_creates_client_project_contacts_and_writes_back_once(mem: Memory) -> None:
    opp = mem.won_opportunity(Description="Phase 1")
    outcome = mem.sync(opp)

    assert outcome.status == "Synced", outcome.message
    assert outcome.created_client and outcome.created_project
    assert (outcome.contacts_added, outcome.contacts_updated) == (2, 0)
    [client] = mem.bt.clients.values()
    [project] = mem.bt.projects.values()
    assert client["Nm"] == "Acme Consulting Ltd" and client["City"] == "San Francisco"
    assert project["Nm"] == "Acme – Implementation" and project["ClientId"] == client["SystemId"]
    assert project["ProjectCode"] == f"SF-{opp}" and project["StartDt"] == "2026-12-01"
    assert project["Notes"] == "Phase 1"
    contacts = mem.bt.project_contacts(project["SystemId"])
    assert sorted((c["FName"], c["Tag"]) for c in contacts) == [("Ada", "PRIMARY"), ("Grace", "BILLING")]
    # BigTime: list clients (name rule), create client, create project, one add per contact; the owner
    # onto the team: the staff list (cached afterwards), the team read and one write. No line items and
    # no Amount: no budget task.
    assert mem.bt.log == [
        "list_clients",
        "create_client",
        "create_project",
        "add_project_contact",
        "add_project_contact",
        *TEAM_CALLS,
    ]
    assert (outcome.salesforce_calls, outcome.bigtime_calls) == (2, 8)
    assert outcome.team_added == 1 and not mem.bt.tasks

    [(written_to, wb)] = mem.sf.write_backs
    assert written_to == opp and wb.status == "Synced" and outcome.wrote_back
    assert wb.message == outcome.message and outcome.message.startswith("Created BigTime project SF-")
    assert wb.project_id == str(project["SystemId"])
    assert wb.project_url == f"https://iq.bigtime.net/Bigtime/Project/{project['SystemId']}"
    assert wb.project == {
        "Name": "Acme – Implementation",
        "Opportunity__c": opp,
        "Account__c": mem.sf.opportunities[opp]["AccountId"],
        "Project_Code__c": f"SF-{opp}",
        "Project_URL__c": wb.project_url,
        "Client_Name__c": "Acme Consulting Ltd",
    }  # no Status__c: BigTime's own status arrives with the pull
    assert wb.synced_at == mem.clock.datetime()

    item = mem.item(opp)
    assert item["project_id"] == str(project["SystemId"]) and item["client_id"] == str(client["SystemId"])
    assert item["lifecycle"] == "active" and item["contacts_hash"] and item["synced_hash"]
    assert "claim_token" not in item and "contacts_lease" not in item
    assert item["last_status"] == "Synced" and item["attempts"] == 1
    assert (item["last_salesforce_calls"], item["last_bigtime_calls"]) == (2, 8)
    assert item["last_changes"]["created_project"] is True and item["written_back_message"] == outcome.message
    assert mem.account_item(opp)["client_id"] == str(client["SystemId"])


def test_a_new_project_reads_each_item_once(mem: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Opportunity's item is read when the sync starts and the Account's when the client is looked
    for; after that the claims' writes return the items (no read), and what the sync then decides from
    (the tasks map, the contacts lease) is what a read would have shown."""
    opp = mem.won_opportunity(Amount=1000)
    reads: list[str] = []
    real_get = mem.store.get

    def get(kind: Any, org: str, rid: str) -> Any:
        reads.append(kind)
        return real_get(kind, org, rid)

    monkeypatch.setattr(mem.store, "get", get)
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.created_project and outcome.tasks_added == 1
    assert reads == ["opp", "acct"]
    item = mem.item(opp)
    assert "contacts_lease" not in item and item["tasks"] and item["contacts_hash"]
    # A second worker with the same event finds everything recorded: nothing is created twice.
    again = mem.sync(opp)
    assert not again.created_project and again.tasks_added == 0 and len(mem.bt.projects) == 1


def test_a_resync_with_nothing_changed_costs_no_bigtime_call_and_no_write_back(mem: Memory) -> None:
    opp = mem.won_opportunity()
    first = mem.sync(opp)
    bt_calls, write_backs = mem.bt.calls, len(mem.sf.write_backs)

    again = mem.sync(opp)
    assert again.status == "Synced" and not again.created_project and not again.created_client
    assert mem.bt.calls == bt_calls and again.bigtime_calls == 0
    assert len(mem.sf.write_backs) == write_backs and not again.wrote_back
    assert again.salesforce_calls == 1  # the read
    # The Opportunity keeps the first write-back's fuller message, and the outcome says the same.
    assert again.message == first.message == mem.sf.opportunities[opp]["BigTime_Sync_Message__c"]
    assert len(mem.bt.projects) == 1 and len(mem.bt.clients) == 1


def test_a_second_opportunity_of_the_account_reuses_its_client(mem: Memory) -> None:
    account = mem.account()
    a = mem.won_opportunity(account, name="Phase 1")
    b = mem.won_opportunity(account, name="Phase 2")
    mem.sync(a)
    mem.bt.log.clear()
    outcome = mem.sync(b)
    assert not outcome.created_client and outcome.created_project
    # The staff list is cached in the client: the team costs a read and a write.
    assert mem.bt.log == [
        "create_project",
        "add_project_contact",
        "add_project_contact",
        "project_team",
        "set_project_team",
    ]
    assert len(mem.bt.clients) == 1 and len(mem.bt.projects) == 2


def test_an_existing_client_with_the_same_normalized_name_is_used(mem: Memory) -> None:
    existing = mem.bt.create_client({"Nm": "ACME  consulting ltd"})
    outcome = mem.sync(mem.won_opportunity())
    assert not outcome.created_client and outcome.client_id == str(existing["SystemId"])
    assert list(mem.bt.clients) == [existing["SystemId"]]


def test_two_clients_named_like_the_account_fail_and_nothing_is_created(mem: Memory) -> None:
    mem.bt.create_client({"Nm": "Acme Consulting Ltd"})
    mem.bt.create_client({"Nm": "ACME consulting LTD"})
    opp = mem.won_opportunity()
    outcome = mem.sync(opp)
    assert outcome.status == "Failed" and "Several BigTime clients" in outcome.message
    assert len(mem.bt.clients) == 2 and not mem.bt.projects
    assert "claim_token" not in mem.account_item(opp)  # the claim was given back


def test_not_in_the_trigger_stage_is_skipped_without_bigtime_and_written_once(mem: Memory) -> None:
    opp = mem.won_opportunity(stage="Negotiation/Review")
    outcome = mem.sync(opp)
    assert outcome.status == "Skipped" and outcome.message == "Not synced: the stage is not 'Closed Won'."
    assert mem.bt.calls == 0 and outcome.wrote_back
    again = mem.sync(opp)
    assert again.status == "Skipped" and not again.wrote_back and len(mem.sf.write_backs) == 1


def test_a_synced_opportunity_moved_back_to_an_open_stage_is_left_as_is(mem: Memory) -> None:
    opp = mem.won_opportunity()
    first = mem.sync(opp)
    mem.move_to(opp, "Negotiation/Review")
    outcome = mem.sync(opp)
    assert outcome.status == "Skipped" and outcome.message.startswith("Not synced again: the stage is not")
    assert outcome.project_id == first.project_id and outcome.client_id == first.client_id
    assert outcome.bigtime_calls == 0 and not outcome.wrote_back


def test_an_opportunity_that_is_gone_is_skipped(mem: Memory) -> None:
    outcome = mem.sync(mem._id("006"))
    assert outcome.status == "Skipped" and "no longer exists in Salesforce" in outcome.message
    assert mem.bt.calls == 0 and not mem.sf.write_backs


def test_a_synced_opportunity_that_is_gone_leaves_its_project(mem: Memory) -> None:
    opp = mem.won_opportunity()
    first = mem.sync(opp)
    del mem.sf.opportunities[opp]  # emptied from the recycle bin, or no longer visible to us
    outcome = mem.sync(opp)
    assert outcome.status == "Skipped" and outcome.project_id == first.project_id
    assert "(or the integration user cannot see it); its BigTime project is left as is" in outcome.message
    assert outcome.bigtime_calls == 0 and mem.item(opp)["lifecycle"] == "active"


def test_a_synced_field_that_changed_in_salesforce_is_updated_once(mem: Memory) -> None:
    mapping = {"project": {"fields": {"Notes": {"field": "Description", "update": "sync"}}}}
    opp = mem.won_opportunity(Description="Phase 1")
    mem.sync(opp, mapping)
    unchanged = mem.sync(opp, mapping)
    assert unchanged.bigtime_calls == 0

    mem.edit(opp, Description="Phase 2")
    mem.bt.log.clear()
    outcome = mem.sync(opp, mapping)
    assert outcome.updated_project == ["Notes"] and outcome.wrote_back
    assert "project updated (Notes)" in outcome.message
    assert mem.bt.log == ["get_project", "update_project"]
    [project] = mem.bt.projects.values()
    assert project["Notes"] == "Phase 2" and project["Nm"] == "Acme – Implementation"
    assert mem.sync(opp, mapping).bigtime_calls == 0  # written: the fingerprint is stored


def test_a_permanent_failure_is_written_back_as_failed_and_a_fixed_retry_syncs(mem: Memory) -> None:
    forbidden = PermanentError(
        "BigTime POST /project/detail: BigTime refused permission (HTTP 405); give the API key's staffer "
        "the right to do this",
        code="bigtime_forbidden",
    )
    mem.bt.fail("create_project", forbidden)
    opp = mem.won_opportunity()
    failed = mem.sync(opp)
    assert failed.status == "Failed" and failed.error_code == "bigtime_forbidden" and failed.wrote_back
    [(_, wb)] = mem.sf.write_backs
    assert wb.status == "Failed" and wb.message == forbidden.reason and wb.project_id is None
    item = mem.item(opp)
    assert item["last_status"] == "Failed" and item["last_error"] == forbidden.reason
    # The claim was given back cleanly (BigTime refused: nothing can exist), so the retry just creates.
    assert "claim_token" not in item and not item.get("needs_lookup")

    fixed = mem.sync(opp)
    assert fixed.status == "Synced" and fixed.created_project and not fixed.created_client
    assert len(mem.bt.projects) == 1
    assert mem.sf.opportunities[opp]["BigTime_Sync_Status__c"] == "Synced"
    assert mem.item(opp)["attempts"] == 2


def test_a_failure_that_cannot_be_written_back_is_a_warning(mem: Memory) -> None:
    opp = mem.won_opportunity(AccountId=None, Account=None)
    mem.sf.faults.add("write_back", TransientError("Salesforce write-back failed: HTTP 503"))
    outcome = mem.sync(opp)
    assert outcome.status == "Failed" and "no Account" in outcome.message and not outcome.wrote_back
    assert outcome.warnings == [
        "could not write the failure onto the Opportunity: Salesforce write-back failed: HTTP 503"
    ]
    assert mem.bt.calls == 0


def test_an_event_from_another_org_reads_and_writes_nothing(mem: Memory) -> None:
    opp = mem.won_opportunity()
    sandbox = "00D5w000004zzzz"  # 15 characters; the request stores the 18-character form
    outcome = sync_opportunity(mem.request(opp, org_id=sandbox), mem.context())
    assert outcome.status == "Failed" and outcome.error_code == "wrong_org"
    assert sandbox[:15] in outcome.message and ORG[:15] in outcome.message
    assert mem.sf.calls == 0 and mem.bt.calls == 0 and not mem.sf.write_backs
    assert mem.store.get("opp", to_18(sandbox), opp)["last_status"] == "Failed"
    assert mem.store.get("opp", ORG, opp) is None


def test_a_transient_failure_is_raised_and_recorded_as_retrying(mem: Memory) -> None:
    mem.bt.fail("list_clients")
    opp = mem.won_opportunity()
    with pytest.raises(TransientError, match="HTTP 503"):
        mem.sync(opp)
    item = mem.item(opp)
    assert item["last_status"] == "Retrying" and "HTTP 503" in item["last_error"]
    assert item["last_bigtime_calls"] == 1 and item["last_salesforce_calls"] == 1
    assert not mem.sf.write_backs
    assert mem.sync(opp).status == "Synced"


def test_the_opportunity_deleted_before_the_write_back_is_skipped_and_stays_mapped(mem: Memory) -> None:
    opp = mem.won_opportunity()
    real = mem.sf.write_back

    def delete_first(opportunity_id: str, wb: object) -> None:
        mem.delete(opportunity_id)
        real(opportunity_id, wb)  # type: ignore[arg-type]

    mem.sf.write_back = delete_first  # type: ignore[method-assign]
    outcome = mem.sync(opp)
    assert (
        outcome.status == "Skipped" and "deleted in Salesforce while it was being synced" in outcome.message
    )
    assert len(mem.bt.projects) == 1 and mem.item(opp)["project_id"] == str(next(iter(mem.bt.projects)))
