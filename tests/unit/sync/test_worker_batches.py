"""One Worker serving two batches at once (the local stack's pollers share it) keeps each batch's failures
to itself: a failed record must never be reported as done, or its message is deleted and lost."""

from __future__ import annotations

import threading
from typing import Any

from sf_bigtime.settings import WorkerSettings
from sf_bigtime.sync.worker import Worker


def _record(message_id: str, body: str, group: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1",
            "MessageGroupId": group,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
        "awsRegion": "us-east-1",
    }


def test_concurrent_batches_report_their_own_failures() -> None:
    worker = Worker(
        WorkerSettings(
            table_name="t", queue_url="q", salesforce_secret_arn="arn:s", bigtime_secret_arn="arn:b"
        )
    )
    both_in_flight = threading.Barrier(2, timeout=5)

    def handle_record(record: Any) -> None:
        both_in_flight.wait()  # the two batches overlap, as two pollers' batches do
        if record.body == "fail":
            raise RuntimeError("transient")

    worker.handle_record = handle_record  # type: ignore[method-assign]
    results: dict[str, Any] = {}
    batches = {
        "a": {"Records": [_record("a1", "fail", "g1"), _record("a2", "ok", "g2")]},
        "b": {"Records": [_record("b1", "ok", "g3"), _record("b2", "ok", "g4")]},
    }

    def run(name: str) -> None:
        results[name] = worker.handle(batches[name], None)

    threads = [threading.Thread(target=run, args=(name,)) for name in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert results["a"] == {"batchItemFailures": [{"itemIdentifier": "a1"}]}
    assert results["b"] == {"batchItemFailures": []}
