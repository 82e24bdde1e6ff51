"""A batch of several Opportunities through the worker: one Salesforce read and one write-back for all of them
(sync/batch.py), and nothing lost when that write-back fails or the invocation ends before it."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime import observability as obs
from sf_bigtime.sync.batch import BatchIO
from sf_bigtime.sync.worker import Worker
from tests.crash import Crash
from tests.integration.conftest import ORG, World
from tests.integration.sync.conftest import CONTEXT, Queue, metric


def won(world: World, count: int) -> list[str]:
    account = world.account("Initech")
    return [world.won_opportunity(account, Name=f"Initech – Phase {i}") for i in range(count)]


def run(worker: Worker, queue: Queue) -> tuple[dict[str, Any], dict[str, Any]]:
    """The next batch through the worker, and what the event source mapping then deletes."""
    event = queue.receive()
    response = worker.handle(event, CONTEXT)
    queue.delete(event, response)
    return event, response


def written_back(world: World, opportunities: list[str]) -> list[str | None]:
    return [world.sf.get("Opportunity", o)["BigTime_Sync_Status__c"] for o in opportunities]


def test_a_full_batch_costs_two_salesforce_calls(world: World, queue: Queue, worker: Worker) -> None:
    opportunities = won(world, 10)
    queue.send(*(world.request(o) for o in opportunities))
    before = world.sf_api_calls()
    event, response = run(worker, queue)

    assert len(event["Records"]) == 10 and response == {"batchItemFailures": []}
    assert world.sf_api_calls() - before == 2  # one query, one composite write-back: 0.2 per Opportunity
    assert written_back(world, opportunities) == ["Synced"] * 10 and len(world.bt.projects) == 10
    rows = world.sf.query("SELECT Opportunity__c, Project_Code__c FROM BigTime_Project__c")["records"]
    assert sorted(r["Opportunity__c"] for r in rows) == sorted(opportunities)
    assert metric(worker, obs.SALESFORCE_CALLS) == 2 and metric(worker, obs.SYNC_SUCCEEDED) == 10
    assert len(worker.metrics.metric_set[obs.END_TO_END_LATENCY]["Value"]) == 10  # type: ignore[union-attr]
    assert queue.depth() == 0


def test_a_lone_event_costs_its_two_calls_as_before(world: World, queue: Queue, worker: Worker) -> None:
    [opportunity] = won(world, 1)
    queue.send(world.request(opportunity))
    before = world.sf_api_calls()
    run(worker, queue)
    assert world.sf_api_calls() - before == 2 and written_back(world, [opportunity]) == ["Synced"]


def test_a_failed_write_back_sends_the_messages_back_and_the_replays_write_back(
    world: World, queue: Queue, worker: Worker
) -> None:
    opportunities = won(world, 4)
    queue.send(*(world.request(o) for o in opportunities))
    world.sf.faults.add(method="POST", path="/composite$", status=503, headers={"Retry-After": "7"})
    event, response = run(worker, queue)

    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {
        r["messageId"] for r in event["Records"]
    }
    assert written_back(world, opportunities) == [None] * 4 and len(world.bt.projects) == 4
    backoffs = worker.sqs.visibility  # type: ignore[union-attr]
    assert len(backoffs) == 4 and all(b["VisibilityTimeout"] >= 7 for b in backoffs)
    assert metric(worker, obs.SYNC_RETRIED) == 4

    queue.make_visible(event)  # the backoff ends: the same deliveries, already synced once
    bt_calls = len(world.bt.calls)
    _, again = run(worker, queue)
    assert again == {"batchItemFailures": []} and queue.depth() == 0
    assert written_back(world, opportunities) == ["Synced"] * 4
    assert len(world.bt.projects) == 4 and len(world.bt.calls) == bt_calls  # nothing created or changed twice


def test_an_invocation_that_ends_before_the_write_back_loses_nothing(
    world: World, queue: Queue, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    opportunities = won(world, 3)
    queue.send(*(world.request(o) for o in opportunities))

    def die(batch: BatchIO, ctx: Any) -> Any:
        raise Crash("the worker died after its syncs, before the batch's write-back")

    with monkeypatch.context() as patch:
        patch.setattr(BatchIO, "flush", die)
        event = queue.receive()
        with pytest.raises(Crash):
            worker.handle(event, CONTEXT)  # the Lambda dies: no message is deleted
    assert written_back(world, opportunities) == [None] * 3 and len(world.bt.projects) == 3

    queue.make_visible(event)  # the queue's visibility timeout ends
    _, response = run(worker, queue)
    assert response == {"batchItemFailures": []} and queue.depth() == 0
    assert written_back(world, opportunities) == ["Synced"] * 3 and len(world.bt.projects) == 3


def test_a_replay_whose_write_back_was_made_is_only_a_replay(
    world: World, queue: Queue, worker: Worker
) -> None:
    opportunities = won(world, 2)
    requests = [world.request(o) for o in opportunities]
    queue.send(*requests)
    run(worker, queue)
    sf_calls = world.sf_api_calls()

    # Salesforce delivers both again after SQS's deduplication window: new messages, same deliveries.
    queue.sqs.purge_queue(QueueUrl=queue.url)
    for request in requests:
        queue.sqs.send_message(
            QueueUrl=queue.url,
            MessageBody=request.model_dump_json(),
            MessageGroupId=request.group_id,
            MessageDeduplicationId=f"again-{request.deduplication_id}",
        )
    _, response = run(worker, queue)
    assert response == {"batchItemFailures": []} and metric(worker, obs.SYNC_REPLAYED) == 2
    assert world.sf_api_calls() - sf_calls == 1  # the batch's read; no sync ran, nothing written


def test_a_record_refused_by_salesforce_fails_alone(world: World, queue: Queue, worker: Worker) -> None:
    opportunities = won(world, 3)
    queue.send(*(world.request(o) for o in opportunities))
    # The Opportunity goes to the recycle bin while its batch is being synced: only its write-back fails.
    original = BatchIO.flush

    def delete_then_flush(batch: BatchIO, ctx: Any) -> Any:
        world.sf.delete("Opportunity", opportunities[1])
        return original(batch, ctx)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BatchIO, "flush", delete_then_flush)
        _, response = run(worker, queue)
    assert response == {"batchItemFailures": []}  # retrying cannot help: counted and logged
    assert world.sf.get("Opportunity", opportunities[0])["BigTime_Sync_Status__c"] == "Synced"
    assert world.sf.get("Opportunity", opportunities[2])["BigTime_Sync_Status__c"] == "Synced"
    assert world.contexts[-1].store.get("opp", ORG, opportunities[1]).get("written_back_at") is None
