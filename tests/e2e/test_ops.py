"""The operator commands end to end: the real `sf-bigtime` executable against `sf-bigtime local up` running
in its own process with the fake org's Flow off (so events are only sent when a test sends them), a
Salesforce query page size of 100 and two deliveries before the dead-letter queue.

The tests share one stack and stay independent: each seeds its own Opportunities (backfill's close in
2031 and it filters on that) and asserts on those only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
import requests

from sf_bigtime_local.clients import BigTimeHttp, post_event, salesforce
from tests.e2e.conftest import running_stack
from tests.e2e.helpers import cli, cli_json, queue_depth, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-ops")]


@pytest.fixture(scope="module")
def ops_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    options = ("--no-flow", "--page-size", "100", "--max-receive-count", "2", "--visibility-timeout", "30")
    with running_stack(tmp_path_factory, *options) as description:
        yield description


def sf_calls(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return requests.get(f"{stack['salesforce']['instance_url']}/__fake/calls", timeout=10).json()


def bigtime_admin(stack: dict[str, Any]) -> str:
    return stack["bigtime"]["base_url"].split("/BigtimeData")[0] + "/__fake"


def won_opportunities(stack: dict[str, Any], count: int, *, close: str, label: str) -> list[str]:
    """``count`` Opportunities created directly in Closed Won (each with its own Account): no event."""
    sf = salesforce(stack)
    ids = []
    for i in range(count):
        account = sf.Account.create({"Name": f"{label} {i}"})["id"]
        opp = sf.Opportunity.create(
            {"Name": f"{label} deal {i}", "AccountId": account, "StageName": "Closed Won", "CloseDate": close}
        )["id"]
        ids.append(opp)
    return ids


def test_backfill_of_250_across_pages_enqueues_each_once_and_a_second_run_none(ops_stack: dict) -> None:
    stack = ops_stack
    ids = won_opportunities(stack, 250, close="2031-01-15", label="Backfill")
    short = {i[:15] for i in ids}

    plan = cli_json(stack, "backfill", "--since", "2031-01-01", "--dry-run")
    assert (plan["found"], plan["enqueued"], plan["dry_run"]) == (250, 250, True)
    assert {c["opportunity_id"][:15] for c in plan["candidates"]} == short
    assert queue_depth(stack) == 0, "a dry run enqueues nothing"

    pages_before = sum(1 for c in sf_calls(stack) if "/query/01g" in c["path"])  # queryMore locators
    first = cli_json(stack, "backfill", "--since", "2031-01-01")
    assert (first["found"], first["enqueued"]) == (250, 250)
    # 250 records at 100 a page: the query plus two nextRecordsUrl pages.
    assert sum(1 for c in sf_calls(stack) if "/query/01g" in c["path"]) - pages_before == 2
    # Run again at once, while the worker is busy: same delivery ids, so SQS drops the duplicates.
    overlap = cli_json(stack, "backfill", "--since", "2031-01-01")
    assert all(c["delivery_id"].startswith("sweep:") for c in overlap["candidates"])

    sf = salesforce(stack)
    soql = "SELECT Id FROM Opportunity WHERE CloseDate = 2031-01-15 AND BigTime_Sync_Status__c = 'Synced'"
    wait_for(lambda: sf.query(soql)["totalSize"] == 250, timeout=180, what="250 synced Opportunities")
    wait_for(lambda: queue_depth(stack) == 0, what="an empty queue")

    # Each Opportunity was read by the worker exactly once (its one-query read names it), and has
    # exactly one project.
    reads: dict[str, int] = {}
    for call in sf_calls(stack):
        query = unquote_plus(call.get("query", ""))
        if "OpportunityContactRoles" in query:
            for opp in short:
                if opp in query:
                    reads[opp] = reads.get(opp, 0) + 1
    assert reads == dict.fromkeys(short, 1)
    projects = [p for p in BigTimeHttp(stack).projects() if p["Nm"].startswith("Backfill deal ")]
    assert len(projects) == 250 and len({p["Nm"] for p in projects}) == 250

    second = cli_json(stack, "backfill", "--since", "2031-01-01")
    assert (second["found"], second["enqueued"]) == (0, 0)
    human = cli(stack, "backfill", "--since", "2031-01-01").stdout
    assert "0 Opportunities" in human and "enqueued       0" in human


def test_reconcile_catches_an_opportunity_whose_event_was_never_sent(ops_stack: dict) -> None:
    stack = ops_stack
    sf = salesforce(stack)
    account = sf.Account.create({"Name": "Lost Event Ltd"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": "Lost event deal",
            "AccountId": account,
            "StageName": "Prospecting",
            "CloseDate": "2026-12-01",
        }
    )["id"]
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})  # the Flow is off: no event is sent
    deliveries = requests.get(f"{stack['salesforce']['instance_url']}/__fake/deliveries", timeout=10).json()
    assert deliveries == []

    unknown = cli_json(stack, "status", opp, expect=1)
    assert unknown["known"] is False and "reconcile" in unknown["advice"]

    plan = cli_json(stack, "reconcile", "--grace-minutes", "0", "--dry-run")
    assert opp[:15] in {c["opportunity_id"][:15] for c in plan["candidates"] if c["action"] == "enqueue"}
    found = cli_json(stack, "reconcile", "--grace-minutes", "0")
    mine = [c for c in found["candidates"] if c["opportunity_id"][:15] == opp[:15]]
    assert [(c["action"], c["code"]) for c in mine] == [("enqueue", "missed")]

    wait_for(lambda: sf.Opportunity.get(opp)["BigTime_Sync_Status__c"] == "Synced", what="the sync")
    status = cli_json(stack, "status", opp)
    assert status["known"] and status["mapping"]["project_id"]
    assert status["last_outcome"]["status"] == "Synced"
    assert status["last_outcome"]["source"] == "reconcile"
    assert status["last_outcome"]["delivery_id"] == mine[0]["delivery_id"]
    assert status["salesforce"]["project_id"] == status["mapping"]["project_id"]
    assert status["api_calls_last_sync"]["salesforce"] >= 2 and status["api_calls_last_sync"]["bigtime"] >= 2
    human = cli(stack, "status", opp).stdout
    assert f"BigTime project        {status['mapping']['project_id']}" in human and "Synced" in human

    again = cli_json(stack, "reconcile", "--grace-minutes", "0")
    assert opp[:15] not in {c["opportunity_id"][:15] for c in again["candidates"]}


def test_redrive_moves_dead_letter_messages_and_they_then_succeed(ops_stack: dict) -> None:
    stack = ops_stack
    admin = bigtime_admin(stack)
    fault = {"method": "POST", "path": "/client/detail", "status": 503, "times": -1}
    assert requests.post(f"{admin}/faults", json=fault, timeout=10).ok
    try:
        ids = won_opportunities(stack, 3, close="2026-11-30", label="Redrive")
        for n, opp in enumerate(ids):
            event = {"orgId": stack["salesforce"]["org_id"], "opportunityId": opp, "eventId": f"redrive-{n}"}
            assert post_event(stack, event).status_code == 202
        wait_for(lambda: queue_depth(stack, "dlq_url") == 3, timeout=90, what="3 messages in the DLQ")
        stuck = cli_json(stack, "status", ids[0])
        assert stuck["last_outcome"]["status"] == "Retrying"
        assert "503" in stuck["last_error"] and stuck["attempts"] >= 2
        peek = cli_json(stack, "redrive", "--dry-run")
        assert peek["before"] == 3 and queue_depth(stack, "dlq_url") == 3
    finally:
        requests.delete(f"{admin}/faults", timeout=10)

    moved = cli_json(stack, "redrive")
    assert (moved["moved"], moved["remaining"], moved["method"]) == (3, 0, "receive-send")
    assert "move task unavailable" in moved["note"]  # moto has no StartMessageMoveTask

    sf = salesforce(stack)
    for opp in ids:
        wait_for(
            lambda o=opp: sf.Opportunity.get(o)["BigTime_Sync_Status__c"] == "Synced", what="redriven sync"
        )
    projects = [p for p in BigTimeHttp(stack).projects() if p["Nm"].startswith("Redrive deal ")]
    assert len(projects) == 3
    assert cli_json(stack, "status", ids[0])["last_outcome"]["delivery_id"] == "redrive-0"
    assert "nothing to move" in cli(stack, "redrive").stdout


def test_scheduled_reconcile_runs_on_the_local_stack(tmp_path_factory: pytest.TempPathFactory) -> None:
    options = ("--no-flow", "--reconcile-every", "1")
    with running_stack(tmp_path_factory, *options) as stack:
        sf = salesforce(stack)
        account = sf.Account.create({"Name": "Scheduled Sweep Co"})["id"]
        opp = sf.Opportunity.create(
            {"Name": "Swept deal", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2026-12-01"}
        )["id"]
        wait_for(lambda: sf.Opportunity.get(opp)["BigTime_Sync_Status__c"] == "Synced", what="the sweep")
        assert cli_json(stack, "status", opp)["last_outcome"]["source"] == "reconcile"


def test_commands_say_which_stack_and_fail_clearly_without_one(tmp_path: Path) -> None:
    missing = {"_state_file": str(tmp_path / "none.json")}
    result = cli(missing, "backfill", "--dry-run", expect=1)
    assert "sf-bigtime local up" in result.stderr
    for command in ("status", "backfill", "reconcile", "redrive"):
        assert "--stack-name" in cli(missing, command, "--help").stdout
