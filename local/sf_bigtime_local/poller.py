"""The local SQS event source mapping: receive batches and invoke the worker exactly as Lambda would.

What Lambda does and this reproduces: up to ``batch_size`` messages per invocation (a FIFO batch may mix
message groups, in order), the ``Records`` shape of an SQS event, deletion of the messages that succeeded,
and — with ``ReportBatchItemFailures`` — leaving the reported ones on the queue, where they reappear after
their visibility timeout and move to the DLQ after ``maxReceiveCount``. A handler that raises fails the
whole batch. ``concurrency`` pollers run at once, like ``ScalingConfig.MaximumConcurrency``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from sf_bigtime_local.lambda_runtime import Handler, LambdaContext

log = logging.getLogger(__name__)


class Poller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        function_name: str,
        timeout_seconds: int,
        batch_size: int = 10,
        concurrency: int = 2,
        region: str = "us-east-1",
        wait_seconds: int = 1,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.region = region
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.invocations = 0
        self.errors = 0

    def start(self) -> None:
        for i in range(self.concurrency):
            thread = threading.Thread(target=self._run, name=f"poller-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.wait_seconds + self.timeout_seconds + 5)
        self._threads.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, like the real event source mapping
                log.exception("poller iteration failed")
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch and invoke the handler with it; return how many messages it carried."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        with self._lock:
            self.invocations += 1
        try:
            result = self.handler(
                event, LambdaContext(function_name=self.function_name, timeout_seconds=self.timeout_seconds)
            )
        except Exception:
            with self._lock:
                self.errors += 1
            log.exception("worker invocation failed; the whole batch returns after its visibility timeout")
            return len(messages)
        failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
