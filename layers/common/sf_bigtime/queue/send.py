"""Put sync requests on the FIFO queue, all or an error (ingest answers 2xx only after this returns)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # ingest imports this module at init; the model comes with its first request
    from sf_bigtime.queue.message import SyncRequest

SQS_BATCH_LIMIT = 10
_ENTRY_RETRIES = 3

# Short timeouts: Salesforce waits on the ingest reply, and a slow SQS is better answered with a 5xx
# (Salesforce retries) than with a hung request.
SQS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


class EnqueueError(RuntimeError):
    """Some requests could not be put on the queue; the caller must answer 5xx so the sender retries."""


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    return boto3.client("sqs", config=SQS_CONFIG)


def enqueue(queue_url: str, requests: Sequence[SyncRequest], *, client: Any = None) -> list[str]:
    """Send every request (in batches of 10), retrying failed entries; return the SQS message ids.

    Raises :class:`EnqueueError` if any entry still fails: FIFO deduplication (5 minutes) and the
    worker's idempotency make the sender's retry of the whole request safe.
    """
    client = client or sqs_client()
    message_ids: list[str] = []
    for start in range(0, len(requests), SQS_BATCH_LIMIT):
        batch = requests[start : start + SQS_BATCH_LIMIT]
        pending = {str(i): _entry(str(i), req) for i, req in enumerate(batch)}
        sent: dict[str, str] = {}
        for _attempt in range(_ENTRY_RETRIES):
            try:
                reply = client.send_message_batch(QueueUrl=queue_url, Entries=list(pending.values()))
            except (BotoCoreError, ClientError) as exc:
                raise EnqueueError(f"SQS SendMessageBatch failed: {type(exc).__name__}") from exc
            for ok in reply.get("Successful", []):
                sent[ok["Id"]] = ok["MessageId"]
                pending.pop(ok["Id"], None)
            failed = reply.get("Failed", [])
            if not pending:
                break
            if any(f.get("SenderFault") for f in failed):
                # A sender fault will not heal by retrying: report it instead of looping.
                codes = sorted({f.get("Code", "?") for f in failed})
                raise EnqueueError(f"SQS rejected {len(failed)} message(s): {', '.join(codes)}")
        if pending:
            raise EnqueueError(
                f"{len(pending)} message(s) could not be enqueued after {_ENTRY_RETRIES} tries"
            )
        message_ids.extend(sent[str(i)] for i in range(len(batch)))
    return message_ids


def _entry(entry_id: str, request: SyncRequest) -> dict[str, str]:
    return {
        "Id": entry_id,
        "MessageBody": request.model_dump_json(),
        "MessageGroupId": request.group_id,
        "MessageDeduplicationId": request.deduplication_id,
    }
