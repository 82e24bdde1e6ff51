"""A batch's one Salesforce read and one write-back (sync/batch.py), on the in-memory ports."""

from __future__ import annotations

from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import to_18
from sf_bigtime.sync.batch import BatchIO, batch_scope
from sf_bigtime.sync.context import SyncContext
from sf_bigtime.sync.outcome import Outcome
from sf_bigtime.sync.run import sync_opportunity
from tests.unit.sync.conftest import Memory

OTHER_ORG = "00D5w000009zzzzEAA"


def run_batch(
    mem: Memory, requests: list[SyncRequest], ctx: SyncContext | None = None
) -> tuple[list[Outcome], dict[str, object]]:
    """What the worker does with a batch: open it, sync each request inside it, flush."""
    ctx = ctx or mem.context()
    batch = BatchIO.open(ctx, requests)
    assert batch is not None
    with batch_scope(batch):
        outcomes = [sync_opportunity(request, ctx) for request in requests]
    return outcomes, dict(batch.flush(ctx))


def test_ten_opportunities_cost_one_read_and_one_write_back(mem: Memory) -> None:
    account = mem.account()
    opps = [mem.won_opportunity(account, name=f"Deal {i}") for i in range(10)]
    outcomes, results = run_batch(mem, [mem.request(o) for o in opps])

    assert mem.sf.calls == 2 and mem.sf.batch_reads == [opps] and mem.sf.batch_writes == [opps]
    assert [o.status for o in outcomes] == ["Synced"] * 10 and len(mem.bt.projects) == 10
    assert results == {to_18(o): None for o in opps}
    for opp, outcome in zip(opps, outcomes, strict=True):
        record = mem.sf.opportunities[opp]
        assert (
            record["BigTime_Sync_Status__c"] == "Synced"
            and record["BigTime_Project_Id__c"] == outcome.project_id
        )
        assert outcome.wrote_back and outcome.salesforce_calls == 0  # the batch's calls, not the sync's
        # The write-back was left to the batch, and the item says it was made, at the time it carried.
        assert outcome.write_back_due == mem.item(opp)["written_back_at"]
        assert mem.item(opp)["written_back_message"] == outcome.message == record["BigTime_Sync_Message__c"]


def test_a_lone_opportunity_or_one_opportunity_twice_is_not_a_batch(mem: Memory) -> None:
    opp = mem.won_opportunity()
    ctx = mem.context()
    assert BatchIO.open(ctx, [mem.request(opp)]) is None
    assert BatchIO.open(ctx, [mem.request(opp), mem.request(opp)]) is None
    assert mem.sf.calls == 0


def test_two_deliveries_of_one_opportunity_in_a_batch_make_one_write_back(mem: Memory) -> None:
    first, second = mem.won_opportunity(), mem.won_opportunity()
    outcomes, _ = run_batch(mem, [mem.request(first), mem.request(second), mem.request(first)])
    assert mem.sf.calls == 2 and mem.sf.batch_writes == [[first, second]]  # the later one replaced the first
    assert len(mem.bt.projects) == 2 and outcomes[0].created_project and not outcomes[2].created_project


def test_another_orgs_opportunity_is_neither_read_nor_written(mem: Memory) -> None:
    ours, theirs = mem.won_opportunity(), mem.won_opportunity()
    third = mem.won_opportunity()
    requests = [mem.request(ours), mem.request(theirs, org_id=OTHER_ORG), mem.request(third)]
    outcomes, _ = run_batch(mem, requests)
    assert mem.sf.batch_reads == [[ours, third]] and mem.sf.batch_writes == [[ours, third]]
    assert outcomes[1].status == "Failed" and outcomes[1].error_code == "wrong_org"


def test_an_opportunity_gone_from_salesforce_is_read_as_gone(mem: Memory) -> None:
    live, gone = mem.won_opportunity(), mem.won_opportunity()
    del mem.sf.opportunities[gone]
    outcomes, _ = run_batch(mem, [mem.request(live), mem.request(gone)])
    assert mem.sf.calls == 2  # the batch read said it is gone: no query of its own
    assert outcomes[1].status == "Skipped" and "no longer exists" in outcomes[1].message


def test_when_the_batch_read_fails_each_sync_reads_its_own(mem: Memory) -> None:
    opps = [mem.won_opportunity() for _ in range(3)]
    mem.sf.faults.add("read_opportunities", TransientError("Salesforce query failed: HTTP 503"))
    ctx = mem.context()
    batch = BatchIO.open(ctx, [mem.request(o) for o in opps])
    assert batch is not None and batch.read_error is not None and batch.snapshots == {}
    with batch_scope(batch):
        outcomes = [sync_opportunity(mem.request(o), ctx) for o in opps]
    assert [o.status for o in outcomes] == ["Synced"] * 3 and [o.salesforce_calls for o in outcomes] == [
        1
    ] * 3
    batch.flush(ctx)
    assert mem.sf.calls == 1 + 3 + 1


def test_one_records_failure_leaves_the_others_written(mem: Memory) -> None:
    first, second, third = (mem.won_opportunity() for _ in range(3))
    mem.sf.faults.add(
        "write_backs_record", TransientError("UNABLE_TO_LOCK_ROW", code="salesforce_unavailable")
    )
    outcomes, results = run_batch(mem, [mem.request(o) for o in (first, second, third)])
    assert isinstance(results[to_18(first)], TransientError)
    assert results[to_18(second)] is None and results[to_18(third)] is None
    # Not on record as written: the replay of its message will sync again (the worker's _write_back_lost).
    assert "written_back_at" not in mem.item(first) and outcomes[0].write_back_due
    assert mem.sf.opportunities[first]["BigTime_Sync_Status__c"] is None
    assert mem.item(second)["written_back_at"] == outcomes[1].write_back_due


def test_a_failed_write_back_call_fails_every_record_and_the_next_sync_writes_back(mem: Memory) -> None:
    opps = [mem.won_opportunity() for _ in range(2)]
    mem.sf.faults.add("write_backs", PermanentError("Salesforce write-back was refused: INVALID_SESSION"))
    _, results = run_batch(mem, [mem.request(o) for o in opps])
    assert all(isinstance(error, PermanentError) for error in results.values()) and len(results) == 2
    assert all("written_back_at" not in mem.item(o) for o in opps)

    again = [mem.sync(o) for o in opps]  # what a redelivery runs: no BigTime call, the write-back alone
    assert [o.created_project for o in again] == [False, False] and len(mem.bt.projects) == 2
    assert all(o.wrote_back and o.write_back_due is None and o.bigtime_calls == 0 for o in again)
    assert all(mem.sf.opportunities[o]["BigTime_Sync_Status__c"] == "Synced" for o in opps)
    assert all(mem.item(o)["written_back_at"] for o in opps)
