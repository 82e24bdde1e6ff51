"""The Salesforce client's batch calls against the fake org: several Opportunities read in one query, their
write-backs made in one composite request, each record's result on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sf_bigtime.clients.salesforce import OpportunityDeleted, SalesforceClient, WriteBack
from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.sfid import to_18
from tests.integration.conftest import World

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def synced(project_id: str, opportunity_id: str) -> WriteBack:
    return WriteBack(
        status="Synced",
        message=f"Created BigTime project {project_id}",
        synced_at=NOW,
        project_id=project_id,
        project_url=f"https://iq.bigtime.net/project/{project_id}",
        project={
            "Name": f"Project {project_id}",
            "Opportunity__c": opportunity_id,
            "Project_Code__c": project_id,
        },
    )


def test_several_opportunities_in_one_query(world: World) -> None:
    account = world.account()
    live, deleted, other = (world.won_opportunity(account) for _ in range(3))
    world.sf.delete("Opportunity", deleted)
    client = world.salesforce_client()
    before = world.sf_api_calls()
    found = client.read_opportunities([live[:15], deleted, "006000000000000AAA"])
    assert world.sf_api_calls() - before == 1
    assert set(found) == {to_18(live), to_18(deleted)} and other not in found  # not asked for
    assert found[to_18(deleted)].deleted and not found[to_18(live)].deleted
    assert found[to_18(live)].get("Account.Name") == "Acme Consulting Ltd"
    assert "Id IN ('" in client.opportunity_soql([live, other])


def test_write_backs_in_one_call_each_record_on_its_own(world: World) -> None:
    account = world.account()
    first, deleted, third = (world.won_opportunity(account) for _ in range(3))
    world.sf.delete("Opportunity", deleted)
    client = world.salesforce_client()
    client.read_opportunity(first)  # logged in
    before = world.sf_api_calls()
    results = client.write_back_batch(
        [(o, synced(str(5000 + i), o)) for i, o in enumerate((first, deleted, third))]
    )

    assert world.sf_api_calls() - before == 1
    assert results[first] is None and results[third] is None
    assert isinstance(results[deleted], OpportunityDeleted)
    assert world.sf.get("Opportunity", first)["BigTime_Project_Id__c"] == "5000"
    assert world.sf.get("Opportunity", third)["BigTime_Sync_Status__c"] == "Synced"
    rows = world.sf.query("SELECT BigTime_Project_Id__c, Opportunity__c FROM BigTime_Project__c")["records"]
    assert {r["BigTime_Project_Id__c"] for r in rows} >= {"5000", "5002"}

    # Again: the rows are upserted by their external id, not created twice.
    client.write_back_batch([(first, synced("5000", first)), (third, synced("5002", third))])
    rows = world.sf.query("SELECT BigTime_Project_Id__c FROM BigTime_Project__c")["records"]
    assert sorted(r["BigTime_Project_Id__c"] for r in rows).count("5000") == 1


def replying(client: SalesforceClient, replies: list[dict[str, Any]]) -> None:
    """The client's composite call answers ``replies`` (shapes the fake org does not produce)."""
    client.composite = lambda subrequests, *, all_or_none: replies  # type: ignore[method-assign]


def record_error(code: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": code, "message": f"{code} happened", "fields": []}]}


OK = {"id": "x", "success": True, "errors": []}


def test_a_locked_row_is_transient_and_a_validation_rule_permanent(world: World) -> None:
    client = world.salesforce_client()
    a, b, c = "0065w00000000AAAAA", "0065w00000000BBAAA", "0065w00000000CCAAA"
    replying(
        client,
        [
            {"httpStatusCode": 200, "body": [OK, record_error("UNABLE_TO_LOCK_ROW"), OK]},
            {"httpStatusCode": 200, "body": [OK, OK, record_error("FIELD_CUSTOM_VALIDATION_EXCEPTION")]},
        ],
    )
    results = client.write_back_batch([(o, synced("1", o)) for o in (a, b, c)])
    assert results[a] is None
    assert isinstance(results[b], TransientError) and "UNABLE_TO_LOCK_ROW" in results[b].reason
    assert type(results[c]) is PermanentError and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in results[c].reason


@pytest.mark.parametrize(
    ("opportunities_reply", "expected"),
    [
        (
            {"httpStatusCode": 400, "body": [{"errorCode": "INVALID_FIELD", "message": "No such column"}]},
            PermanentError,
        ),
        (
            {"httpStatusCode": 503, "body": [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}]},
            TransientError,
        ),
        ({"httpStatusCode": 200, "body": {"not": "a list"}}, TransientError),
        ({"httpStatusCode": 200, "body": [OK]}, TransientError),  # one result for two records
        ({"body": [OK, OK]}, TransientError),  # no status
    ],
)
def test_a_subrequest_refused_or_garbled_fails_each_of_its_records(
    world: World, opportunities_reply: dict[str, Any], expected: type[Exception]
) -> None:
    client = world.salesforce_client()
    a, b = "0065w00000000AAAAA", "0065w00000000BBAAA"
    replying(client, [{"httpStatusCode": 200, "body": [OK, OK]}, opportunities_reply])
    results = client.write_back_batch([(o, synced("1", o)) for o in (a, b)])
    assert all(type(error) is expected for error in results.values()) and set(results) == {a, b}


def test_a_reply_without_both_subrequests_fails_the_call(world: World) -> None:
    client = world.salesforce_client()
    replying(client, [{"httpStatusCode": 200, "body": [OK]}])
    with pytest.raises(TransientError, match="unexpected reply"):
        client.write_back_batch([(o, synced("1", o)) for o in ("0065w00000000AAAAA", "0065w00000000BBAAA")])


class NoMorePages:
    """A Salesforce whose query says more records follow but not where."""

    def query(self, soql: str, include_deleted: bool = False) -> dict[str, Any]:
        return {"done": False, "totalSize": 3, "records": [{"Id": to_18("0065w00000000AA")}]}


def test_a_page_that_promises_more_without_saying_where_is_transient(world: World) -> None:
    client = world.salesforce_client()
    client._sf = NoMorePages()  # type: ignore[assignment]
    # Not a shorter result: the Opportunities it did not return would be read as gone.
    with pytest.raises(TransientError, match="nextRecordsUrl"):
        client.read_opportunities([to_18("0065w00000000AA"), to_18("0065w00000000BB")])
    with pytest.raises(TransientError, match="nextRecordsUrl"):
        list(client.query_all("SELECT Id FROM Opportunity"))
