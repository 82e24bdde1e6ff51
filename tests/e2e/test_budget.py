"""End to end on the local stack: a won Opportunity with three line items, one edited and one deleted after
it was won, ends with the right tasks and budgets in BigTime, seen through BigTime's own REST paths
(``/task/listByProject/{id}``, ``/task/BudgetStatusByProject/{id}``), and its owner on the project team;
each sync cost one Salesforce read and one write-back."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from simple_salesforce import format_soql

from sf_bigtime.sfid import to_18
from sf_bigtime_local.clients import BigTimeHttp, post_event, salesforce
from tests.e2e.helpers import queue_depth, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

# name, unit, list price, quantity
PRODUCTS = (
    ("Solution Design", "Hours", 200.0, 30),
    ("Data Migration", "Hours", 160.0, 50),
    ("Support Plan", "Each", 4000.0, 1),
)


def seed(sf: Any) -> tuple[str, dict[str, str]]:
    """An Opportunity (owned by the org's account executive) with a line item of each product."""
    account = sf.Account.create({"Name": "Hooli Inc", "BillingCity": "Palo Alto"})["id"]
    [owner] = sf.query(format_soql("SELECT Id FROM User WHERE Username = {}", "olivia.owner@acme.example"))[
        "records"
    ]
    opp = sf.Opportunity.create(
        {
            "Name": "Hooli data platform",
            "AccountId": account,
            "OwnerId": owner["Id"],
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2026-11-30",
        }
    )["id"]
    [book] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    items = {}
    for name, unit, price, quantity in PRODUCTS:
        product = sf.Product2.create({"Name": name, "QuantityUnitOfMeasure": unit, "IsActive": True})["id"]
        entry = sf.PricebookEntry.create(
            {"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": price, "IsActive": True}
        )["id"]
        items[name] = sf.OpportunityLineItem.create(
            {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": price}
        )["id"]
    return opp, items


def state_item(stack: dict[str, Any], opp: str) -> dict[str, Any]:
    """The Opportunity's item in the stack's state table (moto), as an operator would read it."""
    aws = stack["aws"]
    table = boto3.resource(
        "dynamodb",
        endpoint_url=aws["endpoint_url"],
        region_name=aws["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(aws["table_name"])
    key = f"opp#{to_18(stack['salesforce']['org_id'])}#{to_18(opp)}"
    return dict(table.get_item(Key={"id": key}, ConsistentRead=True).get("Item") or {})


def budgets(bigtime: BigTimeHttp, project_id: int) -> dict[str, tuple[Any, Any, bool]]:
    """Task name -> (budget hours, budget fees, archived), completed tasks included."""
    return {
        t["TaskNm"]: (t.get("BudgetHours"), t.get("BudgetFees"), t.get("IsArchived"))
        for t in bigtime.tasks(project_id, completed=True)
    }


def test_line_items_edited_and_deleted_after_the_win_end_as_the_right_tasks_and_budgets(stack: dict) -> None:
    sf, bigtime = salesforce(stack), BigTimeHttp(stack)
    opp_id, items = seed(sf)

    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})  # the fake org's Flow calls ingest
    opp = wait_for(
        lambda: (o := sf.Opportunity.get(opp_id))["BigTime_Sync_Status__c"] == "Synced" and o,
        what="the first sync",
    )
    project_id = int(opp["BigTime_Project_Id__c"])
    assert "3 task(s) added" in opp["BigTime_Sync_Message__c"]
    assert budgets(bigtime, project_id) == {
        "Solution Design": (30.0, 6000.0, False),
        "Data Migration": (50.0, 8000.0, False),
        "Support Plan": (None, 4000.0, False),
    }
    first = state_item(stack, opp_id)
    assert first["last_salesforce_calls"] == 2  # line items and owner came with the one read
    # BigTime for this new project: client list + create, project, (no contacts), 3 tasks, team: staff
    # list, team read, team write.
    assert first["last_bigtime_calls"] == 2 + 1 + 3 + 3

    # After the win: one line item edited, one deleted; each re-saves the Opportunity, and a Flow on
    # every edit (or CDC) tells us.
    sf.OpportunityLineItem.update(items["Data Migration"], {"Quantity": 65})
    sf.OpportunityLineItem.delete(items["Support Plan"])
    event = {"orgId": stack["salesforce"]["org_id"], "opportunityId": opp_id, "eventId": "e2e-budget-1"}
    assert post_event(stack, event).status_code == 202
    opp = wait_for(
        lambda: "task(s) archived" in (o := sf.Opportunity.get(opp_id))["BigTime_Sync_Message__c"] and o,
        what="the sync of the changed line items",
    )
    assert "1 task(s) updated; 1 task(s) archived" in opp["BigTime_Sync_Message__c"]

    assert budgets(bigtime, project_id) == {
        "Solution Design": (30.0, 6000.0, False),
        "Data Migration": (65.0, 10400.0, False),
        "Support Plan": (0.0, 0.0, True),  # archived (completed), never deleted; its budget no longer sold
    }
    assert "Support Plan" not in {t["TaskNm"] for t in bigtime.tasks(project_id, completed=False)}
    status = bigtime.budget_status(project_id)
    assert sum(row["BudgetFees"] for row in status) == opp["Amount"] == 16400.0
    assert sum(row["BudgetHours"] for row in status) == 95.0
    [member] = bigtime.team(project_id)
    assert member["StaffNm"] == "Olivia Owner"  # the Opportunity owner, matched by e-mail
    again = state_item(stack, opp_id)
    assert again["last_salesforce_calls"] == 2 and again["last_bigtime_calls"] == 1 + 2  # list, 2 updates

    # The same event once more: nothing changed, nothing written anywhere.
    before = bigtime.tasks(project_id, completed=True)
    assert post_event(stack, {**event, "eventId": "e2e-budget-2"}).status_code == 202
    wait_for(lambda: queue_depth(stack) == 0, what="the queue to drain")
    wait_for(
        lambda: state_item(stack, opp_id).get("last_delivery_id") == "e2e-budget-2", what="the last sync"
    )
    last = state_item(stack, opp_id)
    assert last["last_bigtime_calls"] == 0 and last["last_salesforce_calls"] == 1
    assert bigtime.tasks(project_id, completed=True) == before
