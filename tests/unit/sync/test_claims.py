"""Exactly one client per Account and one project per Opportunity (sf_bigtime.sync.claims): lost answers,
claims held by others or left behind, rejected creates, projects adopted instead of created."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.clients.bigtime import BigTimeCallError
from sf_bigtime.errors import PermanentError, TransientError
from tests.crash import Crash, die_on_record, revive
from tests.unit.sync.conftest import MARKER_FIELD, ORG, STALE, Memory

AUTO_NUMBERED = {"project": {"code": None, "opportunity_id_field": MARKER_FIELD}}


def test_a_lost_client_create_answer_is_adopted_by_name_on_the_retry(mem: Memory) -> None:
    mem.bt.lose_response("create_client")
    opp = mem.won_opportunity()
    with pytest.raises(BigTimeCallError) as lost:
        mem.sync(opp)
    assert lost.value.maybe_applied and len(mem.bt.clients) == 1
    account = mem.account_item(opp)
    assert account["needs_lookup"] is True and "claim_token" not in account and "client_id" not in account

    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and not outcome.created_client and outcome.created_project
    assert len(mem.bt.clients) == 1 and mem.bt.log.count("create_client") == 1
    assert outcome.client_id == str(next(iter(mem.bt.clients)))
    assert "needs_lookup" not in mem.account_item(opp)


def test_a_lost_client_create_answer_is_adopted_by_code_when_names_are_not_matched(mem: Memory) -> None:
    mapping = {"client": {"match": "never", "code": "SF-{AccountId}"}}
    mem.bt.lose_response("create_client")
    opp = mem.won_opportunity()
    with pytest.raises(BigTimeCallError):
        mem.sync(opp, mapping)
    [client] = mem.bt.clients.values()
    assert client["ClientId"] == f"SF-{mem.sf.opportunities[opp]['AccountId']}"

    outcome = mem.sync(opp, mapping)
    assert not outcome.created_client and outcome.client_id == str(client["SystemId"])
    assert len(mem.bt.clients) == 1 and mem.bt.log.count("create_client") == 1


def test_a_lost_project_create_answer_is_adopted_by_its_code_on_the_retry(mem: Memory) -> None:
    mem.bt.lose_response("create_project")
    opp = mem.won_opportunity()
    with pytest.raises(BigTimeCallError):
        mem.sync(opp)
    [project] = mem.bt.projects.values()
    assert mem.item(opp)["needs_lookup"] is True and "project_id" not in mem.item(opp)
    assert not mem.bt.contacts and not mem.sf.write_backs

    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and not outcome.created_project and not outcome.created_client
    assert outcome.project_id == str(project["SystemId"]) and len(mem.bt.projects) == 1
    assert "create_project" not in mem.bt.log and "list_projects" in mem.bt.log  # the marker lookup
    # The adopted project's contacts are compared with BigTime's (none yet), then added.
    assert outcome.contacts_added == 2 and "list_project_contacts" in mem.bt.log
    assert mem.sf.opportunities[opp]["BigTime_Project_Id__c"] == str(project["SystemId"])


def test_a_lost_auto_numbered_project_is_found_by_client_name_and_blank_marker(mem: Memory) -> None:
    mem.bt.auto_number_projects = True
    mem.bt.lose_response("create_project")
    opp = mem.won_opportunity()
    with pytest.raises(BigTimeCallError):
        mem.sync(opp, AUTO_NUMBERED)
    [project] = mem.bt.projects.values()
    assert project["ProjectCode"] == "P-00001"  # BigTime's number: no marker of ours
    other = mem.bt.create_client(
        {"Nm": "Someone Else"}
    )  # same project name, another client: never a candidate
    mem.bt.create_project({"Nm": project["Nm"], "ClientId": other["SystemId"]})

    outcome = mem.sync(opp, AUTO_NUMBERED)
    assert outcome.status == "Synced" and not outcome.created_project
    assert outcome.project_id == str(project["SystemId"]) and len(mem.bt.projects) == 2
    assert mem.bt.custom_values[project["SystemId"]] == {MARKER_FIELD: opp}  # the marker is written now
    assert mem.item(opp)["marker_written"] is True and mem.item(opp)["project_code"] == "P-00001"


def test_two_blank_auto_numbered_candidates_are_never_guessed_between(mem: Memory) -> None:
    mem.bt.auto_number_projects = True
    mem.bt.lose_response("create_project")
    opp = mem.won_opportunity()
    with pytest.raises(BigTimeCallError):
        mem.sync(opp, AUTO_NUMBERED)
    [first] = mem.bt.projects.values()
    twin = mem.bt.create_project({"Nm": first["Nm"], "ClientId": first["ClientId"]})  # made by a person

    outcome = mem.sync(opp, AUTO_NUMBERED)
    assert outcome.status == "Failed" and MARKER_FIELD in outcome.message
    assert str(first["SystemId"]) in outcome.message and str(twin["SystemId"]) in outcome.message
    assert len(mem.bt.projects) == 2
    assert mem.item(opp)["needs_lookup"] is True  # still uncertain: the next attempt looks again


def test_a_marked_candidate_is_adopted_among_blank_ones(mem: Memory) -> None:
    mem.bt.auto_number_projects = True
    die_on_record(mem.store, "opp")
    opp = mem.won_opportunity()
    with pytest.raises(Crash):
        mem.sync(opp, AUTO_NUMBERED)
    revive(mem.store)
    [ours] = mem.bt.projects.values()
    twin = mem.bt.create_project({"Nm": ours["Nm"], "ClientId": ours["ClientId"]})
    # a person put the Opportunity id into our project's field (15 characters match the 18 too)
    mem.bt.set_project_custom_fields(ours["SystemId"], {MARKER_FIELD: opp[:15]})
    mem.clock.advance(STALE + 1)

    outcome = mem.sync(opp, AUTO_NUMBERED)
    assert outcome.project_id == str(ours["SystemId"]) and outcome.project_id != str(twin["SystemId"])


def test_a_claim_held_by_another_worker_is_busy_and_creates_nothing(mem: Memory) -> None:
    opp = mem.won_opportunity()
    other = mem.store.claim("opp", ORG, opp, stale_after=STALE)  # another worker is creating the project
    with pytest.raises(TransientError) as busy:
        mem.sync(opp)
    assert busy.value.code == "claim_busy" and busy.value.retry_after is None
    assert not mem.bt.projects and mem.item(opp)["last_status"] == "Retrying"
    assert mem.item(opp)["claim_token"] == other.token  # still the other worker's


def test_a_client_claim_held_by_another_worker_is_busy(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.store.claim("acct", ORG, mem.sf.opportunities[opp]["AccountId"], stale_after=STALE)
    with pytest.raises(TransientError) as busy:
        mem.sync(opp)
    assert busy.value.code == "claim_busy" and not mem.bt.clients and mem.bt.calls == 0


def test_a_stale_claim_is_taken_over_and_the_project_looked_up_by_its_marker(mem: Memory) -> None:
    opp = mem.won_opportunity()
    die_on_record(mem.store, "opp")
    with pytest.raises(Crash):
        mem.sync(opp)
    revive(mem.store)
    [project] = mem.bt.projects.values()  # BigTime created it; the state table never heard

    with pytest.raises(TransientError) as busy:  # a fresh claim: dead or slow, nobody can tell yet
        mem.sync(opp)
    assert busy.value.code == "claim_busy"

    mem.clock.advance(STALE + 1)
    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and not outcome.created_project
    assert outcome.project_id == str(project["SystemId"]) and len(mem.bt.projects) == 1
    assert mem.bt.log[:2] == ["list_projects", "list_project_contacts"]  # marker lookup, then contacts
    item = mem.item(opp)
    assert item["project_id"] == str(project["SystemId"]) and "claim_token" not in item


def test_a_stale_client_claim_is_taken_over_and_the_client_found_again(mem: Memory) -> None:
    opp = mem.won_opportunity()
    die_on_record(mem.store, "acct")
    with pytest.raises(Crash):
        mem.sync(opp)
    revive(mem.store)
    assert len(mem.bt.clients) == 1 and not mem.bt.projects
    mem.clock.advance(STALE + 1)
    outcome = mem.sync(opp)
    assert not outcome.created_client and outcome.created_project and len(mem.bt.clients) == 1


def test_a_rejected_project_create_adopts_the_project_holding_our_code(mem: Memory) -> None:
    """An emptied state table and no write-back yet: nothing says a project exists, the create is refused
    for its code, and the project with that code is ours."""
    opp = mem.won_opportunity()
    die_on_record(mem.store, "opp")
    with pytest.raises(Crash):
        mem.sync(opp)
    revive(mem.store)
    mem.store.items.clear()  # a re-created stack: no claim, no doubt recorded
    [project] = mem.bt.projects.values()

    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert not outcome.created_project and outcome.project_id == str(project["SystemId"])
    assert mem.bt.log[:3] == ["list_clients", "create_project", "list_projects"]  # refused, then adopted
    assert len(mem.bt.projects) == 1


def test_a_rejected_client_create_adopts_the_client_holding_our_code(mem: Memory) -> None:
    mapping = {"client": {"match": "never", "code": "SF-{AccountId}"}}
    opp = mem.won_opportunity()
    account_id = mem.sf.opportunities[opp]["AccountId"]
    existing = mem.bt.create_client({"Nm": "Acme (old name)", "ClientId": f"sf-{account_id}"})
    mem.bt.log.clear()
    outcome = mem.sync(opp, mapping)
    assert not outcome.created_client and outcome.client_id == str(existing["SystemId"])
    assert mem.bt.log[:2] == ["create_client", "list_clients"] and len(mem.bt.clients) == 1


def test_a_rejected_create_without_our_code_stands(mem: Memory) -> None:
    mapping = {"client": {"match": "never", "code": "SF-{AccountId}"}}
    opp = mem.won_opportunity()
    mem.bt.fail("create_client", PermanentError("BigTime rejected the data (HTTP 400): Nm is too long"))
    outcome = mem.sync(opp, mapping)
    assert outcome.status == "Failed" and "Nm is too long" in outcome.message
    assert not mem.bt.clients and "claim_token" not in mem.account_item(opp)


def test_a_project_the_opportunity_already_names_is_adopted(mem: Memory) -> None:
    """A re-created stack starts with an empty table; the Opportunity still names its project."""
    opp = mem.won_opportunity()
    first = mem.sync(opp)
    mem.store.items.clear()
    mem.bt.log.clear()

    again = mem.sync(opp)
    assert again.status == "Synced" and not again.created_project and again.project_id == first.project_id
    assert mem.bt.log[:3] == ["list_clients", "get_project", "list_project_contacts"]
    assert "create_project" not in mem.bt.log and len(mem.bt.projects) == 1
    assert again.contacts_added == 0  # BigTime has them all
    assert mem.item(opp)["project_id"] == first.project_id


def test_a_named_project_deleted_in_bigtime_is_replaced(mem: Memory) -> None:
    opp = mem.won_opportunity(BigTime_Project_Id__c="99999")
    outcome = mem.sync(opp)
    assert outcome.created_project and outcome.project_id != "99999" and len(mem.bt.projects) == 1


def test_a_project_another_worker_recorded_meanwhile_is_used_not_created(mem: Memory) -> None:
    """Our read of the state table showed no project; by the time of our claim, another worker had made
    and recorded it: the claim hands us its id."""
    opp = mem.won_opportunity()
    real_claim = mem.store.claim

    def claim_after_the_other_worker(kind: Any, org: str, rid: str, *, stale_after: float) -> Any:
        if kind == "opp":
            del mem.store.claim
            mem.sync(opp)  # the other worker, start to finish
        return real_claim(kind, org, rid, stale_after=stale_after)

    mem.store.claim = claim_after_the_other_worker  # type: ignore[method-assign]
    outcome = mem.sync(opp)
    [project] = mem.bt.projects.values()
    assert outcome.status == "Synced" and not outcome.created_project
    assert outcome.project_id == str(project["SystemId"]) and outcome.message.startswith(
        "BigTime project SF-"
    )
    assert len(mem.bt.project_contacts(project["SystemId"])) == 2  # added once, by the other worker
    assert outcome.contacts_added == 0
    # What the other worker stored counts (the item is read again): no contact list, no second marker,
    # no second team set-up.
    assert "list_project_contacts" not in mem.bt.log and mem.bt.log[-1] == "set_project_team"
    assert mem.bt.log.count("set_project_team") == 1
