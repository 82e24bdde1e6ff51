"""Redrive: receive/send against moto's FIFO queues (order and groups kept, --max, dry run, fallback when
the message move task is missing), and the message move task path against botocore's Stubber, since moto
does not implement StartMessageMoveTask."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sf_bigtime.queue.message import SyncRequest
from sf_bigtime_ops.redrive import RedriveError, redrive

ORG = "00D5w000004abcdEAA"
OPPS = ("0065w000023abcdAAA", "0065w000023abceAAA")
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:dlq.fifo"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q.fifo"


@pytest.fixture
def queues(aws: None) -> tuple[Any, str, str]:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={
            "FifoQueue": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    return sqs, queue, dlq


def fill_dlq(sqs: Any, dlq: str) -> list[tuple[str, str]]:
    """Three messages for each of two Opportunities, interleaved: (group, delivery id) in send order."""
    sent = []
    for n in range(3):
        for opp in OPPS:
            request = SyncRequest(
                org_id=ORG, opportunity_id=opp, source="json", delivery_id=f"{opp[-6:]}-{n}"
            )
            sqs.send_message(
                QueueUrl=dlq,
                MessageBody=request.model_dump_json(),
                MessageGroupId=opp,
                MessageDeduplicationId=request.delivery_id,
            )
            sent.append((opp, request.delivery_id))
    return sent


def drain(sqs: Any, url: str) -> list[tuple[str, str, dict[str, str]]]:
    """Everything on a queue, in delivery order: (group, delivery id, attributes)."""
    out = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(
                (m["Attributes"]["MessageGroupId"], json.loads(m["Body"])["delivery_id"], m["Attributes"])
            )
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_moves_everything_in_order_keeping_groups_and_bodies(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    sent = fill_dlq(sqs, dlq)
    seen: list[tuple[int, int]] = []

    report = redrive(sqs, dlq, queue, progress=lambda moved, total: seen.append((moved, total)))

    assert (report.before, report.moved, report.remaining) == (6, 6, 0)
    assert report.method == "receive-send" and "unavailable" in report.note  # moto: no move task
    assert seen and seen[-1] == (6, 6)
    moved = drain(sqs, queue)
    for opp in OPPS:  # each Opportunity's messages arrive in the order they were first sent
        assert [d for g, d, _ in moved if g == opp] == [d for g, d in sent if g == opp]
    assert all(a["MessageDeduplicationId"].startswith("redrive:") for _, _, a in moved)
    assert drain(sqs, dlq) == []


def test_max_moves_only_the_oldest(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    sent = fill_dlq(sqs, dlq)
    report = redrive(sqs, dlq, queue, max_messages=2)
    assert (report.method, report.moved, report.remaining) == ("receive-send", 2, 4)
    assert [d for _, d, _ in drain(sqs, queue)] == [d for _, d in sent[:2]]


def test_dry_run_moves_nothing_and_describes_what_is_there(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    fill_dlq(sqs, dlq)
    report = redrive(sqs, dlq, queue, dry_run=True)
    assert report.dry_run and report.moved == 0 and report.before == 6
    assert {m.opportunity_id for m in report.sample} == set(OPPS)
    assert all(m.source == "json" and m.delivery_id for m in report.sample)
    assert drain(sqs, queue) == []
    assert len(drain(sqs, dlq)) == 6  # released at once, nothing left invisible


def test_an_empty_dlq_is_not_an_error(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    report = redrive(sqs, dlq, queue)
    assert report.moved == 0 and "empty" in report.note


def test_explicit_move_task_without_the_api_fails_clearly(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    fill_dlq(sqs, dlq)
    with pytest.raises(RedriveError, match="move task unavailable"):
        redrive(sqs, dlq, queue, method="move-task")
    assert len(drain(sqs, dlq)) == 6


def test_a_refused_send_stops_and_gives_the_rest_back(queues: tuple[Any, str, str]) -> None:
    sqs, queue, dlq = queues
    fill_dlq(sqs, dlq)
    real_send = sqs.send_message_batch

    def refuse_after_first(**kwargs: Any) -> dict[str, Any]:
        reply = real_send(**{**kwargs, "Entries": kwargs["Entries"][:1]})
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in kwargs["Entries"][1:]
        ]
        return {**reply, "Failed": failed}

    sqs.send_message_batch = refuse_after_first
    with pytest.raises(RedriveError, match="moved 1") as error:
        redrive(sqs, dlq, queue, method="receive-send")
    assert error.value.moved == 1
    assert len(drain(sqs, dlq)) == 5  # visible again at once, in order


# -- the message move task (Stubber) ------------------------------------------------------------------
def stubbed(responses: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> tuple[Any, Stubber]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    stub = Stubber(sqs)
    for method, reply, params in responses:
        stub.add_response(method, reply, params)
    return sqs, stub


def attrs(depth: int) -> dict[str, Any]:
    return {
        "Attributes": {
            "ApproximateNumberOfMessages": str(depth),
            "ApproximateNumberOfMessagesNotVisible": "0",
        }
    }


def test_move_task_is_started_and_followed_to_completion() -> None:
    dlq, queue = "https://sqs/dlq.fifo", "https://sqs/q.fifo"
    sqs, stub = stubbed(
        [
            ("get_queue_attributes", attrs(7), None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": DLQ_ARN}}, None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": QUEUE_ARN}}, None),
            (
                "start_message_move_task",
                {"TaskHandle": "h1"},
                {"SourceArn": DLQ_ARN, "DestinationArn": QUEUE_ARN, "MaxNumberOfMessagesPerSecond": 5},
            ),
            (
                "list_message_move_tasks",
                {
                    "Results": [
                        {"TaskHandle": "h1", "Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 3}
                    ]
                },
                None,
            ),
            (
                "list_message_move_tasks",
                {
                    "Results": [
                        {"TaskHandle": "h1", "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 7}
                    ]
                },
                None,
            ),
            ("get_queue_attributes", attrs(0), None),
        ]
    )
    progress: list[tuple[int, int]] = []
    with stub:
        report = redrive(
            sqs, dlq, queue, rate=5, progress=lambda m, t: progress.append((m, t)), sleep=lambda _s: None
        )
    assert (report.method, report.moved, report.remaining, report.task_handle) == ("move-task", 7, 0, "h1")
    assert progress == [(3, 7), (7, 7)]


def test_a_failed_move_task_is_an_error_with_the_count_moved() -> None:
    sqs, stub = stubbed(
        [
            ("get_queue_attributes", attrs(4), None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": DLQ_ARN}}, None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": QUEUE_ARN}}, None),
            ("start_message_move_task", {"TaskHandle": "h2"}, None),
            (
                "list_message_move_tasks",
                {
                    "Results": [
                        {
                            "TaskHandle": "h2",
                            "Status": "FAILED",
                            "ApproximateNumberOfMessagesMoved": 1,
                            "FailureReason": "AccessDenied",
                        }
                    ]
                },
                None,
            ),
            ("get_queue_attributes", attrs(3), None),
        ]
    )
    with stub, pytest.raises(RedriveError, match="FAILED: AccessDenied") as error:
        redrive(sqs, "https://sqs/dlq.fifo", "https://sqs/q.fifo", sleep=lambda _s: None)
    assert error.value.moved == 1


def test_a_refused_move_task_is_not_silently_replaced() -> None:
    sqs, stub = stubbed(
        [
            ("get_queue_attributes", attrs(2), None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": DLQ_ARN}}, None),
            ("get_queue_attributes", {"Attributes": {"QueueArn": QUEUE_ARN}}, None),
        ]
    )
    stub.add_client_error("start_message_move_task", "AccessDenied", "not allowed", http_status_code=403)
    with stub, pytest.raises(RedriveError, match="AccessDenied"):
        redrive(sqs, "https://sqs/dlq.fifo", "https://sqs/q.fifo")
