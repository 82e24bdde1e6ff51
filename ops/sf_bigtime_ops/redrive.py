"""Move dead-letter messages back to the queue, oldest first, keeping each message's FIFO group.

Two ways, same result:

- ``move-task``: SQS's own DLQ redrive (``StartMessageMoveTask``), asynchronous, followed with
  ``ListMessageMoveTasks`` until it completes. Moves everything; it cannot stop after N messages.
- ``receive-send``: receive from the DLQ, send to the queue with the same body and ``MessageGroupId``,
  delete from the DLQ once sent. Used when ``--max`` is given, or where the API is missing (moto answers
  HTTP 500, some partitions and older endpoints do not offer it).

The body, and so the delivery id, is unchanged: the worker's idempotency record of a failed attempt was
deleted when it failed, so the redriven message is processed again, while one that did succeed in the
meantime is replayed without effect. The FIFO deduplication id is derived from the DLQ message id, so a
redrive interrupted between send and delete and run again does not send twice within SQS's 5 minutes.
Order matters less than it seems (the worker decides from the Opportunity as it is now), but it is
kept: FIFO receives return a group's messages in order and a batch is sent in that order.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from sf_bigtime.queue.message import SyncRequest, dedup_id

Method = Literal["auto", "move-task", "receive-send"]

# Long enough to send and delete a batch; if we die, the messages reappear in the DLQ after this.
_RECEIVE_VISIBILITY = 120
_UNAVAILABLE_CODES = {
    "UnsupportedOperation",
    "InvalidAction",
    "NotImplemented",
    "InternalFailure",
    "InternalError",
    "AWS.SimpleQueueService.UnsupportedOperation",
}


class RedriveError(RuntimeError):
    """The redrive stopped; ``moved`` says how far it got."""

    def __init__(self, message: str, moved: int = 0) -> None:
        super().__init__(message)
        self.moved = moved


class MoveTaskUnavailable(RuntimeError):
    """StartMessageMoveTask is not offered here (moto, some endpoints): fall back to receive/send."""


@dataclass
class DlqMessage:
    message_id: str
    group_id: str | None
    receive_count: int
    sent_at: float | None
    opportunity_id: str | None = None
    delivery_id: str | None = None
    source: str | None = None


@dataclass
class RedriveReport:
    method: str
    dry_run: bool
    before: int  # messages in the DLQ when we started (approximate, as SQS counts)
    moved: int = 0
    remaining: int = 0
    note: str = ""
    task_handle: str | None = None
    sample: list[DlqMessage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_arn(sqs: Any, queue_url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def depth(sqs: Any, queue_url: str) -> int:
    """Messages waiting plus in flight (someone may be looking at them right now)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
        attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def redrive(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    *,
    max_messages: int | None = None,
    dry_run: bool = False,
    method: Method = "auto",
    rate: int | None = None,
    wait_seconds: float = 600.0,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveReport:
    """Move up to ``max_messages`` (all when None) from the DLQ to the queue; ``progress(moved, total)``."""
    before = depth(sqs, dlq_url)
    chosen = "receive-send" if method == "auto" and max_messages is not None else method
    if dry_run:
        report = RedriveReport(
            method=chosen if chosen != "auto" else "move-task", dry_run=True, before=before
        )
        report.sample = peek(sqs, dlq_url)
        would = before if max_messages is None else min(before, max_messages)
        report.note = f"would move {would} message(s); nothing moved"
        report.remaining = before
        return report
    if before == 0:
        return RedriveReport(method=chosen, dry_run=False, before=0, note="the dead-letter queue is empty")
    if chosen in ("auto", "move-task"):
        try:
            return _by_move_task(sqs, dlq_url, queue_url, before, rate, wait_seconds, progress, sleep)
        except MoveTaskUnavailable as exc:
            if chosen == "move-task":
                raise RedriveError(f"SQS message move task unavailable: {exc}") from None
            report = _by_receive_send(sqs, dlq_url, queue_url, before, max_messages, progress)
            report.note = f"message move task unavailable ({exc}); moved by receive/send"
            return report
    return _by_receive_send(sqs, dlq_url, queue_url, before, max_messages, progress)


def peek(sqs: Any, dlq_url: str, limit: int = 10) -> list[DlqMessage]:
    """A look at the first messages without moving them (visibility released at once).

    On a FIFO queue only the first messages of each group are visible while others are in flight,
    so this is a sample, not a listing; ``depth`` is the count.
    """
    reply = sqs.receive_message(
        QueueUrl=dlq_url,
        MaxNumberOfMessages=max(1, min(limit, 10)),
        VisibilityTimeout=30,
        WaitTimeSeconds=1,
        MessageSystemAttributeNames=["All"],
    )
    messages = reply.get("Messages", [])
    if messages:
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages)
            ],
        )
    return [_describe(m) for m in messages]


# -- SQS message move task ----------------------------------------------------------------------------
def _by_move_task(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    before: int,
    rate: int | None,
    wait_seconds: float,
    progress: Callable[[int, int], None] | None,
    sleep: Callable[[float], None],
) -> RedriveReport:
    source = queue_arn(sqs, dlq_url)
    kwargs: dict[str, Any] = {"SourceArn": source, "DestinationArn": queue_arn(sqs, queue_url)}
    if rate:
        kwargs["MaxNumberOfMessagesPerSecond"] = rate
    try:
        handle = sqs.start_message_move_task(**kwargs)["TaskHandle"]
    except NotImplementedError as exc:  # moto in-process
        raise MoveTaskUnavailable(str(exc) or "not implemented") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        http_status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if http_status >= 500 or error.get("Code") in _UNAVAILABLE_CODES:
            # Not the message body: moto's is an HTML page.
            raise MoveTaskUnavailable(f"{error.get('Code') or 'error'}, HTTP {http_status}") from None
        raise RedriveError(
            f"could not start the message move task: {error.get('Code')}: {error.get('Message')}"
        ) from None
    report = RedriveReport(method="move-task", dry_run=False, before=before, task_handle=handle)
    deadline = time.monotonic() + wait_seconds
    while True:
        task = _task(sqs, source, handle)
        moved = int(task.get("ApproximateNumberOfMessagesMoved") or 0)
        if progress is not None:
            progress(moved, max(before, int(task.get("ApproximateNumberOfMessagesToMove") or 0)))
        status = task.get("Status")
        if status not in ("RUNNING", "CANCELLING"):
            report.moved = moved
            report.remaining = depth(sqs, dlq_url)
            if status != "COMPLETED":
                raise RedriveError(
                    f"message move task {status}: {task.get('FailureReason') or 'no reason given'}", moved
                )
            return report
        if time.monotonic() > deadline:
            report.moved = moved
            report.remaining = depth(sqs, dlq_url)
            report.note = f"still running after {wait_seconds:.0f}s; it continues on its own (task {handle})"
            return report
        sleep(2.0)


def _task(sqs: Any, source_arn: str, handle: str) -> dict[str, Any]:
    tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10).get("Results", [])
    for task in tasks:
        if task.get("TaskHandle") == handle:
            return dict(task)
    # Finished tasks stay listed (the 10 most recent); a missing one is the latest, or it just ended.
    return dict(tasks[0]) if tasks else {"Status": "COMPLETED"}


# -- receive / send ----------------------------------------------------------------------------------
def _by_receive_send(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    before: int,
    max_messages: int | None,
    progress: Callable[[int, int], None] | None,
) -> RedriveReport:
    report = RedriveReport(method="receive-send", dry_run=False, before=before)
    while max_messages is None or report.moved < max_messages:
        want = 10 if max_messages is None else min(10, max_messages - report.moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=_RECEIVE_VISIBILITY,
            WaitTimeSeconds=1,  # long poll: a short one may miss messages on a sparse queue
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        sent = _send_in_order(sqs, queue_url, messages)
        if sent:
            _delete(sqs, dlq_url, messages[:sent])
        report.moved += sent
        if progress is not None:
            progress(report.moved, max(before, report.moved))
        if sent < len(messages):
            # Give the unsent ones back at once (in order) rather than after the visibility timeout.
            _release(sqs, dlq_url, messages[sent:])
            raise RedriveError(
                f"moved {report.moved}; SQS refused the next message, stopped to keep the order", report.moved
            )
    report.remaining = depth(sqs, dlq_url)
    return report


def _send_in_order(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> int:
    """Send a received batch; returns how many, from the first, were sent (stops at the first refusal)."""
    entries = []
    for i, message in enumerate(messages):
        attrs = message.get("Attributes", {})
        entry: dict[str, Any] = {
            "Id": str(i),
            "MessageBody": message["Body"],
            "MessageDeduplicationId": dedup_id(f"redrive:{message['MessageId']}"),
        }
        if attrs.get("MessageGroupId"):
            entry["MessageGroupId"] = attrs["MessageGroupId"]
        if message.get("MessageAttributes"):
            entry["MessageAttributes"] = message["MessageAttributes"]
        entries.append(entry)
    try:
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    except (BotoCoreError, ClientError) as exc:
        raise RedriveError(f"could not send to the queue: {type(exc).__name__}: {exc}") from None
    ok = {e["Id"] for e in reply.get("Successful", [])}
    sent = 0
    for i in range(len(messages)):
        if str(i) not in ok:
            break
        sent += 1
    return sent


def _delete(sqs: Any, dlq_url: str, messages: list[dict[str, Any]]) -> None:
    reply = sqs.delete_message_batch(
        QueueUrl=dlq_url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
    )
    if reply.get("Failed"):
        # Sent but still in the DLQ: it would be moved again by the next run (the worker's idempotency
        # makes that harmless). Say so rather than hide it.
        raise RedriveError(f"sent, but could not delete {len(reply['Failed'])} message(s) from the DLQ")


def _release(sqs: Any, dlq_url: str, messages: list[dict[str, Any]]) -> None:
    # If this fails they come back after the visibility timeout anyway.
    with contextlib.suppress(BotoCoreError, ClientError):
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages)
            ],
        )


def _describe(message: dict[str, Any]) -> DlqMessage:
    attrs = message.get("Attributes", {})
    sent = attrs.get("SentTimestamp")
    described = DlqMessage(
        message_id=message["MessageId"],
        group_id=attrs.get("MessageGroupId"),
        receive_count=int(attrs.get("ApproximateReceiveCount") or 0),
        sent_at=int(sent) / 1000 if sent else None,
    )
    try:
        request = SyncRequest.model_validate_json(message["Body"])
    except ValueError:
        return described  # not ours, or an older shape: still moved, just not described
    described.opportunity_id = request.opportunity_id
    described.delivery_id = request.delivery_id
    described.source = request.source
    return described
