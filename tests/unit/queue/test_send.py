from __future__ import annotations

import json

import boto3
import pytest

from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.queue.send import EnqueueError, enqueue

ORG, OPP = "00D5w000004abcdEAA", "0065w000023abcdAAA"


def req(i: int, opp: str = OPP) -> SyncRequest:
    return SyncRequest(org_id=ORG, opportunity_id=opp, source="json", delivery_id=f"evt-{i}")


@pytest.fixture
def queue_url(aws: None) -> str:
    sqs = boto3.client("sqs")
    return sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]


def drain(url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    out: list[dict] = []
    while True:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        messages = reply.get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_group_and_dedup_ids(queue_url: str) -> None:
    [message_id] = enqueue(queue_url, [req(1)], client=boto3.client("sqs"))
    [m] = drain(queue_url)
    assert m["MessageId"] == message_id
    assert m["Attributes"]["MessageGroupId"] == OPP
    assert m["Attributes"]["MessageDeduplicationId"] == "evt-1"
    body = SyncRequest.model_validate_json(m["Body"])
    assert body.model_dump(exclude={"received_at"}) == req(1).model_dump(exclude={"received_at"})
    assert json.loads(m["Body"])["v"] == 1


def test_more_than_ten_in_batches_and_duplicates_collapse(queue_url: str) -> None:
    sqs = boto3.client("sqs")
    ids = enqueue(queue_url, [req(i, opp=f"0065w00002{i:05d}") for i in range(25)], client=sqs)
    assert len(ids) == 25
    enqueue(queue_url, [req(3, opp="0065w0000200003")], client=sqs)  # same delivery again: deduplicated
    assert len(drain(queue_url)) == 25


class FlakySqs:
    """SendMessageBatch that fails some entries the first time, like SQS under load."""

    def __init__(self, fail_first: int, sender_fault: bool = False, always: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail_first = fail_first
        self.sender_fault = sender_fault
        self.always = always

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        self.calls.append([e["Id"] for e in Entries])
        failing = Entries[: self.fail_first] if (len(self.calls) == 1 or self.always) else []
        ok = [e for e in Entries if e not in failing]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in ok],
            "Failed": [
                {"Id": e["Id"], "Code": "InternalError", "SenderFault": self.sender_fault} for e in failing
            ],
        }


def test_failed_entries_are_retried_alone() -> None:
    sqs = FlakySqs(fail_first=2)
    ids = enqueue("q", [req(i) for i in range(4)], client=sqs)
    assert ids == ["m-0", "m-1", "m-2", "m-3"]
    assert sqs.calls == [["0", "1", "2", "3"], ["0", "1"]]


def test_persistent_failure_raises() -> None:
    with pytest.raises(EnqueueError, match="could not be enqueued"):
        enqueue("q", [req(1)], client=FlakySqs(fail_first=1, always=True))


def test_sender_fault_is_not_retried() -> None:
    sqs = FlakySqs(fail_first=1, sender_fault=True)
    with pytest.raises(EnqueueError, match="InternalError"):
        enqueue("q", [req(1)], client=sqs)
    assert len(sqs.calls) == 1


def test_sqs_unreachable_raises(aws: None) -> None:
    with pytest.raises(EnqueueError, match="SendMessageBatch failed"):
        enqueue(
            "https://sqs.us-east-1.amazonaws.com/123456789012/missing.fifo",
            [req(1)],
            client=boto3.client("sqs"),
        )
