"""End to end on the local stack, through its HTTP surfaces only: simple-salesforce against the fake
Salesforce, BigTime's REST paths against the fake BigTime, HTTP against the ingest front door (and the
moto endpoint, as the AWS console would show the queue)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sf_bigtime_local.clients import BigTimeHttp, post_event, salesforce
from tests.e2e.helpers import queue_depth, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def seed(sf: Any, name: str) -> str:
    account = sf.Account.create({"Name": f"{name} Inc", "BillingCity": "Austin"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": f"{name} rollout",
            "AccountId": account,
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2026-12-15",
        }
    )["id"]
    for first, last, primary, role in (
        ("Ada", "L", True, "Decision Maker"),
        ("Bo", "K", False, "Economic Buyer"),
    ):
        contact = sf.Contact.create(
            {
                "FirstName": first,
                "LastName": last,
                "Email": f"{first.lower()}@{name.lower()}.test",
                "AccountId": account,
            }
        )["id"]
        sf.OpportunityContactRole.create(
            {"OpportunityId": opp, "ContactId": contact, "Role": role, "IsPrimary": primary}
        )
    return opp


def test_closed_won_becomes_a_project_written_back(stack: dict) -> None:
    sf = salesforce(stack)
    bigtime = BigTimeHttp(stack)
    opp_id = seed(sf, "Initech")

    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})  # the fake org's Flow calls ingest
    opp = wait_for(lambda: (o := sf.Opportunity.get(opp_id))["BigTime_Sync_Status__c"] == "Synced" and o)

    project_id = int(opp["BigTime_Project_Id__c"])
    project = bigtime.project_detail(project_id)
    assert project["Nm"] == "Initech rollout"
    assert project["StartDt"] == "2026-12-15"
    client = next(c for c in bigtime.clients() if c["SystemId"] == project["ClientId"])
    assert client["Nm"] == "Initech Inc"
    assert sorted(c["Tag"] for c in bigtime.project_contacts(project_id)) == ["BILLING", "PRIMARY"]
    assert opp["BigTime_Project_URL__c"].endswith(str(project_id))

    # the same event again and a new event for the same Opportunity: nothing new
    event = {"orgId": stack["salesforce"]["org_id"], "opportunityId": opp_id, "eventId": "e2e-dup"}
    for body in (event, event, {**event, "eventId": "e2e-new"}):
        assert post_event(stack, body).status_code == 202
    wait_for(lambda: queue_depth(stack) == 0)
    time.sleep(0.5)
    assert [p["SystemId"] for p in bigtime.projects() if p["ClientId"] == client["SystemId"]] == [project_id]


def test_bad_api_key_is_401_and_enqueues_nothing(stack: dict) -> None:
    body = {"orgId": stack["salesforce"]["org_id"], "opportunityId": "0065w000023abcd", "eventId": "e2e-401"}
    reply = post_event(stack, body, api_key="not-the-key")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "unauthorized"
    assert queue_depth(stack) == 0


def test_malformed_body_is_400_naming_the_problem_and_enqueues_nothing(stack: dict) -> None:
    reply = post_event(stack, {"orgId": stack["salesforce"]["org_id"], "eventId": "e2e-400"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["field"] == "opportunityId" and "opportunityId" in error["message"]
    assert queue_depth(stack) == 0
