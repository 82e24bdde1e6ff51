"""Issue 11's "done when", end to end: on `sf-bigtime local up` (its own process), an Opportunity goes
Closed Won and is synced; hours and an invoice are logged in the fake BigTime through its REST paths;
`sf-bigtime pull --all` puts the new actuals, status and Last Pulled on the BigTime Project record; a second
pull with nothing changed writes nothing (counted by the fake org). Then "Pull from BigTime" through the
ingest endpoint and the queue."""

from __future__ import annotations

import time
from typing import Any

import pytest
from simple_salesforce import format_soql

from sf_bigtime_local.clients import BigTimeHttp, post_event, salesforce, salesforce_usage
from tests.e2e.helpers import cli, cli_json, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-pull")]

FIELDS = (
    "Status__c, Project_Lead__c, Budget_Hours__c, Actual_Hours__c, Actual_Fees__c, Invoiced_To_Date__c, "
    "WIP__c, Last_Pulled__c, Pull_Message__c, Budget_Health__c"
)


def record(stack: dict[str, Any], project_id: int) -> dict[str, Any]:
    soql = f"SELECT {FIELDS} FROM BigTime_Project__c WHERE BigTime_Project_Id__c = {{}}"
    [row] = salesforce(stack).query(format_soql(soql, str(project_id)))["records"]
    return dict(row)


@pytest.fixture(scope="module")
def synced(stack: dict[str, Any]) -> tuple[str, int]:
    """An Opportunity the local stack synced (the fake org's Flow on Closed Won): (its id, its project)."""
    sf = salesforce(stack)
    account = sf.Account.create({"Name": "Pull Test Ltd"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": "Pull Test – Build",
            "AccountId": account,
            "StageName": "Prospecting",
            "CloseDate": "2027-01-04",
        }
    )["id"]
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})
    synced = wait_for(
        lambda: (r := sf.Opportunity.get(opp)).get("BigTime_Sync_Status__c") == "Synced" and r,
        what="the sync's write-back",
    )
    return opp, int(synced["BigTime_Project_Id__c"])


def test_done_when_hours_and_an_invoice_logged_in_bigtime_reach_the_record_and_a_second_pull_writes_nothing(
    stack: dict[str, Any], synced: tuple[str, int]
) -> None:
    _, project_id = synced
    bigtime = BigTimeHttp(stack)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    bigtime.post(
        "/task/detail", {"ProjectSid": project_id, "TaskNm": "Build", "BudgetHours": 50, "BudgetFees": 10000}
    )
    bigtime.post(
        f"/project/detail/{project_id}",
        {"StatusProd": bigtime.picklist_id("StatusProduction", "In Progress")},
    )
    bigtime.post("/time", {"Dt": today, "ProjectSID": project_id, "Hours_IN": 8}, MarkSubmitted="true")
    invoice = bigtime.post("/invoice/detail", {"ProjectSid": project_id})
    bigtime.post("/time", {"Dt": today, "ProjectSID": project_id, "Hours_IN": 2}, MarkSubmitted="true")
    assert record(stack, project_id)["Actual_Hours__c"] is None  # nothing pulled yet

    dry = cli_json(stack, "pull", "--all", "--dry-run")
    assert dry["dry_run"] and dry["changed"] >= 1 and dry["written"] == 0
    assert record(stack, project_id)["Actual_Hours__c"] is None

    first = cli_json(stack, "pull", "--all")
    assert first["written"] >= 1 and first["failed"] == 0 and first["mode"] == "per_project"
    row = record(stack, project_id)
    assert (row["Status__c"], row["Budget_Hours__c"], row["Actual_Hours__c"]) == ("In Progress", 50.0, 10.0)
    assert row["Invoiced_To_Date__c"] == invoice["Total"] == 2000.0  # 8 h at the admin's 250
    assert (row["Actual_Fees__c"], row["WIP__c"]) == (2500.0, 500.0)
    assert row["Last_Pulled__c"] and row["Pull_Message__c"] is None and row["Budget_Health__c"] == "On track"

    before = salesforce_usage(stack)
    second = cli_json(stack, "pull", "--all")
    after = salesforce_usage(stack)
    assert after["records_written"] - before["records_written"] == 0
    assert (second["changed"], second["written"], second["salesforce_calls"]) == (0, 0, 1)
    assert after["api_calls"] - before["api_calls"] == 1  # the one query


def test_pull_from_bigtime_goes_through_ingest_and_the_queue(
    stack: dict[str, Any], synced: tuple[str, int]
) -> None:
    opp, project_id = synced
    BigTimeHttp(stack).post(
        "/time",
        {"Dt": time.strftime("%Y-%m-%d", time.gmtime()), "ProjectSID": project_id, "Hours_IN": 5},
        MarkSubmitted="true",
    )
    expected = (record(stack, project_id)["Actual_Hours__c"] or 0) + 5
    event = {
        "orgId": stack["salesforce"]["org_id"],
        "opportunityId": opp,
        "eventId": "pull-button-1",
        "action": "pull",
        "projectId": str(project_id),
    }
    reply = post_event(stack, event)
    assert reply.status_code == 202, reply.text
    wait_for(lambda: record(stack, project_id)["Actual_Hours__c"] == expected, what="the requested pull")


def test_the_cli_refuses_an_unclear_scope(stack: dict[str, Any]) -> None:
    result = cli(stack, "pull", expect=2)
    assert "choose exactly one of --opportunity ID, --project ID and --all" in result.stderr
    one = cli_json(stack, "pull", "--project", "999999")
    assert one["examined"] == 0 and one["scope"] == "BigTime project 999999"
