"""The worker's batch handler as Lambda runs it: a real SQS FIFO queue (moto), Powertools batch processing
and idempotency on the state table, the fakes behind the real clients."""

from __future__ import annotations

import io
import json
import random
import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from sf_bigtime import observability as obs
from sf_bigtime.mapping.model import MappingError
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.sync.worker import Worker
from tests.integration.conftest import ORG, World, sqs_record
from tests.integration.sync.conftest import CONTEXT, Queue, logger, metric


def test_duplicate_delivery_id_replays_the_first_outcome(world: World, queue: Queue, worker: Worker) -> None:
    opp = world.won_opportunity()
    request = world.request(opp, "evt-1")
    queue.send(request)
    event = queue.receive()
    first = worker.handle(event, CONTEXT)
    queue.delete(event, first)
    assert first == {"batchItemFailures": []} and queue.depth() == 0
    sf_calls, bt_calls = world.sf_api_calls(), len(world.bt.calls)

    # Salesforce sends the same notification again after SQS's 5-minute dedup window: a new message
    replay = {"Records": [sqs_record(request)]}
    assert worker.handle(replay, CONTEXT) == {"batchItemFailures": []}
    assert world.sf_api_calls() == sf_calls and len(world.bt.calls) == bt_calls  # not run again
    assert len(world.bt.projects) == 1
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["attempts"] == 1  # the replay was no sync
    assert metric(worker, obs.PROJECTS_CREATED) == 1 and metric(worker, obs.SYNC_REPLAYED) == 1


class CountingMetrics:
    """Counts what the Emitter adds, safely across threads (Powertools' metric set is not thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add_metric(self, name: str, unit: str, value: float) -> None:
        with self.lock:
            self.counts[name] += 1


def test_one_worker_on_several_threads_counts_each_replay_once_and_only_replays(
    world: World, serialized_aws: None
) -> None:
    """The local stack's pollers call one Worker from several threads: replays of completed deliveries run
    side by side with first deliveries, and each record is counted by what happened to it, not by what
    another thread's record did."""
    metrics = CountingMetrics()
    worker = world.worker(metrics=metrics)
    worker.idempotency.register_lambda_context(CONTEXT)
    done = [world.request(world.won_opportunity(), f"evt-done-{i}") for i in range(6)]
    first = {r.delivery_id: worker.handle_record(SQSRecord(sqs_record(r))) for r in done}
    assert metrics.counts[obs.SYNC_SUCCEEDED] == 6 and metrics.counts[obs.SYNC_REPLAYED] == 0
    fresh = [world.request(world.won_opportunity(), f"evt-new-{i}") for i in range(6)]
    records = [*done, *fresh]
    random.Random(7).shuffle(records)
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)
    lock = threading.Lock()

    def run() -> None:
        start.wait(timeout=30)
        while True:
            with lock:
                if not records:
                    return
                request = records.pop()
            try:
                result = worker.handle_record(SQSRecord(sqs_record(request)))
            except BaseException as exc:
                errors.append(exc)
                return
            with lock:
                results[request.delivery_id] = result

    threads = [threading.Thread(target=run, name=f"poller-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    assert len(results) == 12
    assert all(results[d] == outcome for d, outcome in first.items())  # the stored outcomes, replayed
    assert all(results[r.delivery_id]["created_project"] for r in fresh)  # these ran
    assert metrics.counts[obs.SYNC_REPLAYED] == 6
    assert metrics.counts[obs.SYNC_SUCCEEDED] == 12 and metrics.counts[obs.PROJECTS_CREATED] == 12
    assert len(world.bt.projects) == 12


def test_transient_failure_is_an_item_failure_with_backoff_honouring_retry_after(
    world: World, queue: Queue, worker: Worker
) -> None:
    world.bt.faults.add(method="POST", path="/project/detail$", status=503, headers={"Retry-After": "600"})
    opp = world.won_opportunity()
    queue.send(world.request(opp, "evt-1"))
    event = queue.receive()
    response = worker.handle(event, CONTEXT)
    queue.delete(event, response)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    [change] = worker.sqs.visibility
    assert change["ReceiptHandle"] == event["Records"][0]["receiptHandle"]
    assert change["VisibilityTimeout"] >= 600  # BigTime's Retry-After, not our 30 s first step
    assert queue.depth() == 1 and queue.receive() == {"Records": []}  # kept, and invisible for now
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["last_status"] == "Retrying" and "HTTP 503" in item["last_error"]
    assert metric(worker, obs.SYNC_RETRIED) == 1

    # the redelivery (receive count 2) runs again: the failed attempt left no idempotency record
    queue.make_visible(event)
    again = queue.receive()
    assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    response = worker.handle(again, CONTEXT)
    queue.delete(again, response)
    assert response == {"batchItemFailures": []} and queue.depth() == 0
    assert world.sf.get("Opportunity", opp)["BigTime_Sync_Status__c"] == "Synced"
    assert len(world.bt.projects) == 1 and metric(worker, obs.PROJECTS_CREATED) == 1


def test_backoff_without_retry_after_grows_with_the_receive_count(world: World, worker: Worker) -> None:
    opp = world.won_opportunity()
    world.bt.faults.add(method="POST", path="/project/detail$", status=503, times=2)
    for count, low, high in ((1, 24, 36), (4, 192, 288)):
        record = sqs_record(world.request(opp, f"evt-{count}"), receive_count=count)
        response = worker.handle({"Records": [record]}, CONTEXT)
        assert len(response["batchItemFailures"]) == 1
        assert low <= worker.sqs.visibility[-1]["VisibilityTimeout"] <= high


def test_permanent_failure_is_recorded_written_back_and_consumed(
    world: World, queue: Queue, worker: Worker
) -> None:
    opp = world.opportunity(None)  # no Account: a person must fix the data
    queue.send(world.request(opp, "evt-1"))
    event = queue.receive()
    response = worker.handle(event, CONTEXT)
    queue.delete(event, response)
    assert response == {"batchItemFailures": []} and queue.depth() == 0  # not retried
    record = world.sf.get("Opportunity", opp)
    assert record["BigTime_Sync_Status__c"] == "Failed" and "no Account" in record["BigTime_Sync_Message__c"]
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["last_status"] == "Failed" and "no Account" in item["last_error"]
    assert metric(worker, obs.SYNC_FAILED) == 1 and worker.sqs.visibility == []


def test_fifo_batch_skips_only_the_failed_opportunitys_group(world: World, worker: Worker) -> None:
    account = world.account()
    a, b = world.won_opportunity(account, name="A"), world.won_opportunity(account, name="B")
    # another worker is creating A's project right now: A's deliveries must wait, B's go ahead
    world.context().store.claim("opp", ORG, a, stale_after=960)
    records = [
        sqs_record(world.request(a, "a1")),
        sqs_record(world.request(b, "b1")),
        sqs_record(world.request(a, "a2")),
        sqs_record(world.request(b, "b2")),
    ]
    response = worker.handle({"Records": records}, CONTEXT)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [records[0]["messageId"], records[2]["messageId"]]
    assert world.sf.get("Opportunity", b)["BigTime_Sync_Status__c"] == "Synced"
    assert world.sf.get("Opportunity", a).get("BigTime_Sync_Status__c") is None
    a_reads = [c for c in world.sf.calls if "queryAll" in c.path and a in c.query]
    assert len(a_reads) == 1  # a2 was skipped unprocessed, keeping A's order
    assert len(world.bt.projects) == 1


def test_a_failed_groups_skipped_records_come_back_with_its_backoff_not_the_visibility_timeout(
    world: World, queue: Queue, worker: Worker
) -> None:
    """Two deliveries of one Opportunity in a batch; the first fails transiently, the second is skipped
    unprocessed (its group failed). SQS holds a FIFO group while any of its messages is in flight, so a
    skipped record left at the queue's visibility timeout (1800 s in the template) would hold the retry of
    the failed one for that long, whatever its backoff: both come back after the group's backoff."""
    world.bt.faults.add(method="POST", path="/project/detail$", status=503, headers={"Retry-After": "90"})
    opp, other = world.won_opportunity(), world.won_opportunity(world.account("Other"))
    queue.send(world.request(opp, "evt-1"), world.request(other, "evt-2"), world.request(opp, "evt-3"))
    event = queue.receive()
    records = event["Records"]
    assert [json.loads(r["body"])["delivery_id"] for r in records] == ["evt-1", "evt-2", "evt-3"]
    response = worker.handle(event, CONTEXT)
    queue.delete(event, response)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [records[0]["messageId"], records[2]["messageId"]]
    given = {change["ReceiptHandle"]: change["VisibilityTimeout"] for change in worker.sqs.visibility}
    assert set(given) == {records[0]["receiptHandle"], records[2]["receiptHandle"]}
    assert given[records[0]["receiptHandle"]] == given[records[2]["receiptHandle"]] >= 90
    assert world.sf.get("Opportunity", other)["BigTime_Sync_Status__c"] == "Synced"


def test_invalid_message_is_an_item_failure(world: World, worker: Worker) -> None:
    record = sqs_record(world.request(world.won_opportunity(), "evt-1"))
    record["body"] = '{"v": 1, "org_id": "not an org"}'
    response = worker.handle({"Records": [record]}, CONTEXT)
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert world.bt.calls == []


def test_logs_carry_the_opportunity_and_delivery_ids(world: World, worker: Worker, logs: io.StringIO) -> None:
    opp = world.won_opportunity()
    world.bt.faults.add(method="POST", path="/client/detail$", status=503)
    worker.handle({"Records": [sqs_record(world.request(opp, "evt-retry"))]}, CONTEXT)
    worker.handle({"Records": [sqs_record(world.request(opp, "evt-ok"))]}, CONTEXT)
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.strip()]
    warning = next(line for line in lines if line["message"] == "transient failure; will retry")
    synced = next(line for line in lines if line["message"] == "synced")
    assert (warning["opportunity_id"], warning["delivery_id"]) == (opp, "evt-retry")
    assert (synced["opportunity_id"], synced["delivery_id"], synced["status"]) == (opp, "evt-ok", "Synced")
    assert "HTTP 503" in warning["reason"]


def test_metrics_count_created_updated_skipped_failed(world: World, worker: Worker) -> None:
    worker.mappings = MappingSource(
        overrides={"project": {"fields": {"Nm": {"field": "Name", "update": "sync"}}}}
    )
    opp = world.won_opportunity()
    handle = lambda delivery: worker.handle({"Records": [sqs_record(world.request(opp, delivery))]}, CONTEXT)  # noqa: E731
    handle("created")
    world.sf.update("Opportunity", opp, {"Name": "Renamed"})
    handle("updated")
    world.sf.update("Opportunity", opp, {"StageName": "Negotiation/Review"})
    handle("skipped")
    worker.handle({"Records": [sqs_record(world.request(world.opportunity(None), "failed"))]}, CONTEXT)
    counts = {
        name: metric(worker, name)
        for name in (
            obs.PROJECTS_CREATED,
            obs.CLIENTS_CREATED,
            obs.PROJECTS_UPDATED,
            obs.SYNC_SUCCEEDED,
            obs.SYNC_SKIPPED,
            obs.SYNC_FAILED,
        )
    }
    assert counts == {
        obs.PROJECTS_CREATED: 1,
        obs.CLIENTS_CREATED: 1,
        obs.PROJECTS_UPDATED: 1,
        obs.SYNC_SUCCEEDED: 2,
        obs.SYNC_SKIPPED: 1,
        obs.SYNC_FAILED: 1,
    }
    assert metric(worker, obs.BIGTIME_CALLS) > 0 and metric(worker, obs.SALESFORCE_CALLS) == 2 + 2 + 1 + 2


def test_a_broken_mapping_stops_the_worker_at_cold_start_with_its_reasons(
    world: World, logs: io.StringIO
) -> None:
    with pytest.raises(MappingError, match=r"trigger\.stagez: unknown key"):
        world.worker(mapping={"trigger": {"stagez": ["Won"]}}, logger=logger(logs))
    [line] = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert line["level"] == "ERROR" and "nothing is synced" in line["message"]
    assert line["problems"] == ["trigger.stagez: unknown key (did you mean 'stages'?)"]


def test_mapping_changes_apply_to_a_warm_worker(world: World, worker: Worker) -> None:
    ssm = boto3.client("ssm")
    name = f"/sf-bigtime/{uuid.uuid4().hex}/mapping"
    ssm.put_parameter(Name=name, Value="version: 1\n", Type="String")
    worker.mappings = MappingSource(parameter=name, max_age=0)
    opp = world.won_opportunity(stage="Negotiation/Review")
    worker.handle({"Records": [sqs_record(world.request(opp, "e1"))]}, CONTEXT)
    assert world.sf.get("Opportunity", opp)["BigTime_Sync_Status__c"] == "Skipped"
    ssm.put_parameter(
        Name=name, Value="trigger: {stages: [Negotiation/Review]}\n", Type="String", Overwrite=True
    )
    worker.handle({"Records": [sqs_record(world.request(opp, "e2"))]}, CONTEXT)
    assert world.sf.get("Opportunity", opp)["BigTime_Sync_Status__c"] == "Synced"
