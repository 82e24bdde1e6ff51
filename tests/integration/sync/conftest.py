"""The worker as Lambda runs it: a real SQS FIFO queue (moto), Powertools batch processing and idempotency on
the state table, the fakes behind the real clients."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger, Metrics

from sf_bigtime import observability as obs
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sync.worker import Worker
from sf_bigtime_local.lambda_runtime import LambdaContext
from tests.integration.conftest import World

CONTEXT = LambdaContext("sf-bigtime-worker", timeout_seconds=300)


class RecordingSqs:
    """The worker's SQS client, with the visibility changes it asked for remembered."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.visibility: list[dict[str, Any]] = []

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility.append(kwargs)
        return self.client.change_message_visibility(**kwargs)

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.visibility += [{"QueueUrl": QueueUrl, **e} for e in Entries]
        return self.client.change_message_visibility_batch(QueueUrl=QueueUrl, Entries=Entries)


class Queue:
    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(
            QueueName="sf-bigtime-events.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "1800"},
        )["QueueUrl"]

    def send(self, *requests: SyncRequest) -> None:
        for request in requests:
            self.sqs.send_message(
                QueueUrl=self.url,
                MessageBody=request.model_dump_json(),
                MessageGroupId=request.group_id,
                MessageDeduplicationId=request.deduplication_id,
            )

    def receive(self) -> dict[str, Any]:
        """The next batch as Lambda's event source mapping would hand it over."""
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m["Attributes"],
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sf-bigtime-events.fifo",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }

    def delete(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        """What the event source mapping does with a partial batch response: delete the successes."""
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])

    def make_visible(self, event: dict[str, Any]) -> None:
        for record in event["Records"]:
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def queue(world: World) -> Queue:
    return Queue()


@pytest.fixture
def logs() -> io.StringIO:
    return io.StringIO()


def logger(stream: io.StringIO) -> Logger:
    # Powertools Loggers of one service share a logging.Logger (and its first stream): one name per test.
    return Logger(service=f"sf-bigtime-worker-{uuid.uuid4().hex[:8]}", stream=stream)


@pytest.fixture
def worker(world: World, queue: Queue, logs: io.StringIO) -> Iterator[Worker]:
    metrics = Metrics(namespace=obs.NAMESPACE, service="sf-bigtime-worker")
    metrics.clear_metrics()  # the metric set is shared by every Metrics instance of the process
    # The per-thread log of HTTP calls fills up from earlier tests of this process that never drain it:
    # over 100 latency values make Powertools flush (and clear) the metric set mid-test.
    obs.drain_calls()
    yield world.worker(queue_url=queue.url, sqs=RecordingSqs(queue.sqs), logger=logger(logs), metrics=metrics)
    metrics.clear_metrics()


def metric(worker: Worker, name: str) -> float:
    assert worker.metrics is not None
    return sum(worker.metrics.metric_set.get(name, {}).get("Value", []))
