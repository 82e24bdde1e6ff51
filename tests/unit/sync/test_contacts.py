"""The project's contacts (sf_bigtime.sync.contacts): added once under the contacts lease, compared with
BigTime after any doubt, updated for `sync` fields, and nothing at all when the roles did not change."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.errors import TransientError
from tests.crash import Crash
from tests.unit.sync.conftest import MARKER_FIELD, ORG, STALE, TEAM_CALLS, Memory


def test_a_lease_held_by_another_worker_is_busy_until_it_goes_stale(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.sync(opp)
    roles = mem.sf.opportunities[opp]["OpportunityContactRoles"]["records"]
    roles.append(mem.role("Alan", "Turing"))
    other = mem.store.lease("opp", ORG, opp, stale_after=STALE)  # another worker is comparing and adding

    with pytest.raises(TransientError) as busy:
        mem.sync(opp)
    assert busy.value.code == "contacts_busy" and busy.value.retry_after == 5
    assert mem.bt.calls == 8  # the first sync's: this one made no BigTime call
    assert mem.item(opp)["contacts_lease"] == other  # still the other worker's

    mem.clock.advance(STALE + 1)
    outcome = mem.sync(opp)
    assert outcome.contacts_added == 1 and "1 contact(s) added" in outcome.message
    assert "contacts_lease" not in mem.item(opp)
    [project] = mem.bt.projects.values()
    assert len(mem.bt.project_contacts(project["SystemId"])) == 3
    # the worker whose lease went stale cannot overwrite what the new holder recorded
    mem.store.end_lease("opp", ORG, opp, other, contacts_hash="stale")
    assert mem.item(opp)["contacts_hash"] != "stale"


def test_the_project_creator_holds_the_lease_from_the_record_on(mem: Memory) -> None:
    opp = mem.won_opportunity()
    real = mem.bt.add_project_contact

    def die(project_id: int, fields: dict[str, Any]) -> Any:
        raise Crash

    mem.bt.add_project_contact = die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        mem.sync(opp)
    mem.bt.add_project_contact = real  # type: ignore[method-assign]
    assert mem.item(opp)["project_id"] and mem.item(opp)["contacts_lease"]

    with pytest.raises(TransientError) as busy:  # a concurrent delivery must not add them too
        mem.sync(opp)
    assert busy.value.code == "contacts_busy"


def test_a_failed_add_gives_the_lease_back_and_the_retry_adds_them(mem: Memory) -> None:
    mem.bt.fail("add_project_contact")  # the first add is throttled
    opp = mem.won_opportunity()
    with pytest.raises(TransientError):
        mem.sync(opp)
    item = mem.item(opp)
    assert item["project_id"] and "contacts_lease" not in item and "contacts_hash" not in item

    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.contacts_added == 2 and not outcome.created_project
    [project] = mem.bt.projects.values()
    assert len(mem.bt.project_contacts(project["SystemId"])) == 2 and len(mem.bt.projects) == 1


def test_an_add_whose_answer_was_lost_is_not_repeated(mem: Memory) -> None:
    mem.bt.lose_response("add_project_contact")  # Ada is added; the answer never comes
    opp = mem.won_opportunity()
    with pytest.raises(TransientError):
        mem.sync(opp)
    outcome = mem.sync(opp)
    assert outcome.contacts_added == 1  # only Grace: Ada was found in BigTime
    [project] = mem.bt.projects.values()
    contacts = mem.bt.project_contacts(project["SystemId"])
    assert sorted((c["FName"], c["Tag"]) for c in contacts) == [("Ada", "PRIMARY"), ("Grace", "BILLING")]


def test_a_new_role_adds_one_contact_and_a_taken_primary_tag_becomes_other(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.sync(opp)
    roles = mem.sf.opportunities[opp]["OpportunityContactRoles"]["records"]
    roles[0]["IsPrimary"] = False
    roles.insert(0, mem.role("Alan", "Turing", primary=True))  # the new primary contact
    mem.bt.log.clear()

    outcome = mem.sync(opp)
    assert (outcome.contacts_added, outcome.contacts_updated) == (1, 0)
    assert mem.bt.log == ["list_project_contacts", "add_project_contact"]
    [project] = mem.bt.projects.values()
    tags = {c["FName"]: c["Tag"] for c in mem.bt.project_contacts(project["SystemId"])}
    assert tags == {"Ada": "PRIMARY", "Grace": "BILLING", "Alan": "OTHER"}  # BigTime allows one PRIMARY


def test_a_synced_contact_field_is_updated_on_the_contact(mem: Memory) -> None:
    mapping = {"contacts": {"fields": {"Title": {"field": "Title", "update": "sync"}}}}
    opp = mem.won_opportunity()
    mem.sync(opp, mapping)
    roles = mem.sf.opportunities[opp]["OpportunityContactRoles"]["records"]
    roles[0]["Contact"]["Title"] = "CTO"

    outcome = mem.sync(opp, mapping)
    assert (outcome.contacts_added, outcome.contacts_updated) == (0, 1)
    [project] = mem.bt.projects.values()
    ada = next(c for c in mem.bt.project_contacts(project["SystemId"]) if c["FName"] == "Ada")
    assert ada["Title"] == "CTO" and ada["ProjectSid"] == project["SystemId"]
    assert mem.sync(opp, mapping).bigtime_calls == 0


def test_a_contact_without_a_name_is_a_warning_kept_while_the_roles_stay_the_same(mem: Memory) -> None:
    opp = mem.won_opportunity()
    roles = mem.sf.opportunities[opp]["OpportunityContactRoles"]["records"]
    nameless = mem.role("", "")
    nameless["Contact"].update(FirstName=None, LastName=None)
    roles.append(nameless)

    first = mem.sync(opp)
    assert first.contacts_added == 2
    [warning] = first.warnings
    assert nameless["Id"] in warning and f"Warning: {warning}." in first.message
    again = mem.sync(opp)
    assert again.warnings == first.warnings and again.bigtime_calls == 0


def test_contacts_off_adds_none(mem: Memory) -> None:
    opp = mem.won_opportunity()
    outcome = mem.sync(opp, {"contacts": {"enabled": False}})
    assert outcome.contacts_added == 0 and not mem.bt.contacts
    assert mem.bt.log == ["list_clients", "create_client", "create_project", *TEAM_CALLS]


def test_a_failure_before_the_contacts_gives_the_creators_lease_back(mem: Memory) -> None:
    mapping = {"project": {"opportunity_id_field": MARKER_FIELD}}
    mem.bt.fail("set_project_custom_fields")  # the marker write, after the record, before the contacts
    opp = mem.won_opportunity()
    with pytest.raises(TransientError):
        mem.sync(opp, mapping)
    assert mem.item(opp)["project_id"] and "contacts_lease" not in mem.item(opp)

    outcome = mem.sync(opp, mapping)  # not held up by our own lease
    assert outcome.status == "Synced" and outcome.contacts_added == 2 and len(mem.bt.projects) == 1
    [project] = mem.bt.projects.values()
    assert mem.bt.custom_values[project["SystemId"]] == {MARKER_FIELD: opp}
