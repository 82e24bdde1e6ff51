"""A won Opportunity's project arrives ready to work, over the real clients and the HTTP fakes: line items
(Salesforce's products, price book entries and line items, with its validation) become BigTime tasks with
budgets, the owner joins the team, a template's tasks are kept; the deal changing after the win is
followed; and all of it costs still one Salesforce read and one write-back."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sf_bigtime.errors import TransientError
from sf_bigtime.sync.run import Outcome, sync_opportunity
from tests.integration.conftest import ORG, OWNER_STAFFER, World, new_fake_bigtime

PRODUCTS = {"Consulting": (150.0, "Hours"), "Training": (120.0, "Hours"), "Licence": (1800.0, "Each")}


def won_with_line_items(world: World, **fields: Any) -> tuple[str, dict[str, str]]:
    """A Closed Won Opportunity with three line items: 40 h consulting, 8 h training, one licence."""
    opp = world.won_opportunity(**fields)
    entries = {name: world.product(name, price, unit) for name, (price, unit) in PRODUCTS.items()}
    items = {
        "Consulting": world.line_item(opp, entries["Consulting"], 40, ServiceDate="2026-09-01"),
        "Training": world.line_item(opp, entries["Training"], 8, Description="Two days on site"),
        "Licence": world.line_item(opp, entries["Licence"], 1),
    }
    return opp, items


def sync(world: World, opp: str, **context: Any) -> Outcome:
    sf_before = world.sf_api_calls()
    outcome = sync_opportunity(world.request(opp), world.context(**context))
    assert world.sf_api_calls() - sf_before == outcome.salesforce_calls
    return outcome


def project_id(world: World, opp: str) -> int:
    return int(world.sf.get("Opportunity", opp)["BigTime_Project_Id__c"])


def tasks(world: World, opp: str) -> dict[str, dict[str, Any]]:
    return {t["TaskNm"]: t for t in world.bt.tasks(project_id(world, opp), show_completed=True)}


def budget_status(world: World, opp: str) -> list[dict[str, Any]]:
    """BigTime's own budget report (a row per task, completed ones too), through its REST path."""
    rows = world.bigtime_client().request("GET", f"/task/BudgetStatusByProject/{project_id(world, opp)}")
    assert isinstance(rows, list)
    return rows


def test_line_items_become_tasks_with_budgets_the_owner_joins_the_team_two_salesforce_calls(
    world: World,
) -> None:
    opp, items = won_with_line_items(world)
    outcome = sync(world, opp)
    assert outcome.status == "Synced", outcome.message
    assert (outcome.tasks_added, outcome.team_added, outcome.contacts_added) == (3, 1, 2)
    assert outcome.salesforce_calls == 2  # line items and owner came in the one read
    assert "3 task(s) added" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]

    made = tasks(world, opp)
    assert {n: (t["BudgetHours"], t["BudgetFees"]) for n, t in made.items()} == {
        "Consulting": (40.0, 6000.0),
        "Training": (8.0, 960.0),
        "Licence": (None, 1800.0),
    }
    assert made["Consulting"]["TaskId"] == f"SF-{items['Consulting']}"
    assert made["Consulting"]["StartDt"] == "2026-09-01" and made["Training"]["Notes"] == "Two days on site"
    status = budget_status(world, opp)
    assert sum(r["BudgetFees"] for r in status) == 8760.0
    assert world.sf.get("Opportunity", opp)["Amount"] == 8760.0  # Salesforce's roll-up: the same sum

    [member] = world.bt.team(project_id(world, opp))
    assert member["staffsid"] == OWNER_STAFFER["StaffSID"] and member["TeamLead"] is False

    # BigTime calls of this new project, by route (the figures in docs/mapping.md "What a sync costs").
    counts = Counter(f"{c.method} {c.route}" for c in world.bt.calls)
    assert counts["POST /task/detail"] == 3 and counts["GET /task/listbyproject/{id}"] == 0
    assert counts["GET /staff"] == 1 and counts["GET /project/team/{id}"] == 1
    assert counts["POST /project/team/{id}"] == 1
    assert outcome.bigtime_calls == 2 + 1 + 2 + 3 + 3  # client, project, contacts, tasks, team


def test_the_deal_changing_after_the_win_is_followed_and_nothing_changed_costs_nothing(world: World) -> None:
    opp, items = won_with_line_items(world)
    sync(world, opp)
    world.bt.clear_calls()
    assert sync(world, opp).bigtime_calls == 0  # an event with nothing new

    world.sf.update("OpportunityLineItem", items["Consulting"], {"Quantity": 50})  # edited after the win
    world.sf.delete("OpportunityLineItem", items["Training"])  # and one deleted
    outcome = sync(world, opp)
    assert (outcome.tasks_added, outcome.tasks_updated, outcome.tasks_archived) == (0, 1, 1)
    assert outcome.salesforce_calls == 2 and outcome.wrote_back
    message = world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    assert "1 task(s) updated; 1 task(s) archived" in message

    made = tasks(world, opp)
    assert (made["Consulting"]["BudgetHours"], made["Consulting"]["BudgetFees"]) == (50.0, 7500.0)
    assert made["Training"]["IsArchived"] is True and made["Training"]["BudgetFees"] == 0
    active = world.bt.tasks(project_id(world, opp), show_completed=False)
    assert "Training" not in {t["TaskNm"] for t in active}  # archived: completed
    status = budget_status(world, opp)
    assert sum(r["BudgetFees"] for r in status) == world.sf.get("Opportunity", opp)["Amount"] == 9300.0
    assert [c.route for c in world.bt.calls if c.method == "POST"] == ["/task/detail/{id}"] * 2

    world.bt.clear_calls()
    entry = world.product("Travel", 500.0, "Each")
    world.line_item(opp, entry, 2)
    added = sync(world, opp)
    assert added.tasks_added == 1 and tasks(world, opp)["Travel"]["BudgetFees"] == 1000.0
    # A project recorded earlier: one listing (an unrecorded task of ours would be adopted), one create.
    assert [f"{c.method} {c.route}" for c in world.bt.calls] == [
        "GET /task/listbyproject/{id}",
        "POST /task/detail",
    ]


def test_without_products_the_amount_is_the_budget_and_with_it_off_there_is_none(world: World) -> None:
    opp = world.won_opportunity(Amount=48000)
    assert sync(world, opp).tasks_added == 1
    [task] = tasks(world, opp).values()
    assert (task["TaskNm"], task["BudgetFees"], task["TaskId"]) == ("Project budget", 48000.0, "SF-AMOUNT")

    other = world.won_opportunity(Amount=12000, name="Acme – Retainer")
    outcome = sync(world, other, mapping={"tasks": {"amount_task": {"enabled": False}}})
    assert outcome.tasks_added == 0 and tasks(world, other) == {}


def test_a_template_project_keeps_the_templates_tasks_and_gets_the_line_items_too(world: World) -> None:
    mapping = {"template": {"field": "Type", "map": {"New Customer": "Standard Implementation"}}}
    opp, _ = won_with_line_items(world, Type="New Customer")
    outcome = sync(world, opp, mapping=mapping)
    assert outcome.status == "Synced" and outcome.tasks_added == 3
    names = [t["TaskNm"] for t in world.bt.tasks(project_id(world, opp))]
    assert len(names) == 7
    assert sorted(names) == [
        "Build",
        "Consulting",
        "Discovery",
        "Licence",
        "Project Management",
        "Training",  # the template's
        "Training",  # the line item's
    ]
    assert sum(r["BudgetFees"] for r in budget_status(world, opp)) == 22750.0 + 8760.0
    assert sync(world, opp, mapping=mapping).bigtime_calls == 0


def test_the_template_field_of_the_create_request_is_a_mapping_switch(world: World) -> None:
    """BigTime does not document how a project is created from a template: the field is configurable, and a
    firm whose API ignores ours gets a project without the template's tasks, not a failure."""
    world.use_bigtime(new_fake_bigtime(template_field="ProjectTemplateSid"))
    wrong = world.won_opportunity(name="Acme – Wrong field")
    outcome = sync(world, wrong, mapping={"template": {"default": "Retainer"}})
    assert outcome.status == "Synced" and tasks(world, wrong) == {}
    right = world.won_opportunity(name="Acme – Right field")
    mapping = {"template": {"default": "Retainer", "create_field": "ProjectTemplateSid"}}
    assert sync(world, right, mapping=mapping).status == "Synced"
    assert list(tasks(world, right)) == ["Monthly Retainer"]


def test_an_owner_bigtime_does_not_know_is_a_warning_on_a_synced_opportunity(world: World) -> None:
    stranger = world.sf.create(
        "User",
        {
            "Username": "new.hire@acme.example",
            "LastName": "Hire",
            "FirstName": "New",
            "Email": "new.hire@acme.example",
        },
    )
    opp = world.won_opportunity(OwnerId=stranger)
    outcome = sync(world, opp)
    assert outcome.status == "Synced" and outcome.team_added == 0
    record = world.sf.get("Opportunity", opp)
    assert record["BigTime_Sync_Status__c"] == "Synced"
    assert (
        "Warning: the Opportunity owner New Hire <new.hire@acme.example> matches no active BigTime staffer "
        "by e-mail: not on the project team." in record["BigTime_Sync_Message__c"]
    )
    assert world.bt.team(project_id(world, opp)) == []


@pytest.mark.parametrize(
    "variant",
    [{"staff_id_key": "StaffSid", "team_staff_key": "StaffSID"}, {"team_post_replaces": True}],
    ids=["other-id-spellings", "team-post-replaces"],
)
def test_team_members_by_role_whatever_bigtime_calls_its_ids_or_does_with_a_team_post(
    world: World, variant: dict[str, Any]
) -> None:
    world.use_bigtime(new_fake_bigtime(**variant))
    mapping = {"team": {"owner_lead": True, "member_roles": {"Sales Engineer": "Consultant"}}}
    opp = world.won_opportunity()
    engineer = world.sf.create(
        "User", {"Username": "alex@acme.example", "LastName": "Chen", "Email": "alex.chen@fakefirm.test"}
    )
    world.sf.create(
        "OpportunityTeamMember",
        {"OpportunityId": opp, "UserId": engineer, "TeamMemberRole": "Sales Engineer"},
    )
    outcome = sync(world, opp, mapping=mapping)
    assert outcome.team_added == 2 and outcome.salesforce_calls == 2
    key = variant.get("team_staff_key", "staffsid")
    team = {m[key]: m for m in world.bt.team(project_id(world, opp))}
    assert team[OWNER_STAFFER["StaffSID"]]["TeamLead"] is True
    assert team[3]["ContactRole"] == 602 and team[3]["TeamLead"] is False  # Alex Chen, Consultant


# -- exactly once, over HTTP ------------------------------------------------------------------------------
def test_a_task_create_answer_lost_after_bigtime_applied_it_is_adopted_not_repeated(world: World) -> None:
    world.bt.faults.add(method="POST", path="/task/detail$", status=502, after=True)
    opp, items = won_with_line_items(world)
    with pytest.raises(TransientError) as lost:
        sync_opportunity(world.request(opp), world.context())
    assert "HTTP 502" in lost.value.reason and len(world.bt.tasks(project_id_of(world, opp))) == 1
    outcome = sync(world, opp)
    assert outcome.status == "Synced" and outcome.tasks_added == 2
    made = world.bt.tasks(project_id(world, opp))
    assert sorted(t["TaskId"] for t in made) == sorted(f"SF-{i}" for i in items.values())
    assert [c.route for c in world.bt.calls if c.method == "POST"].count("/task/detail") == 3


def project_id_of(world: World, opp: str) -> int:
    """The project id from the state table (before the write-back put it on the Opportunity)."""
    item = world.contexts[-1].store.get("opp", ORG, opp) or {}
    return int(item["project_id"])
