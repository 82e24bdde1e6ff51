"""Ingest Lambda: Salesforce -> (API Gateway | EventBridge) -> here -> SQS. Thin: logic is in sf_bigtime.ingest.handler.

Imports only what ingest uses (tests/unit/ingest/test_imports.py; `make bench` measures it). Settings and
secrets are pydantic models, loaded with the first request like the entry points' parsers.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.logs import quiet_libraries
from sf_bigtime.observability import INGEST, NAMESPACE, Emitter, function_metrics
from sf_bigtime.queue.send import SQS_CONFIG, enqueue

quiet_libraries()  # botocore would log the secrets' values at DEBUG
logger = Logger(service=INGEST)
metrics = function_metrics(namespace=NAMESPACE, service=INGEST)
# Declared metrics only (sf_bigtime.observability); ones with dimensions print as their own EMF document.
emitter = Emitter(INGEST, metrics)
# Created during init, which Lambda runs at full CPU before the first request.
sqs = boto3.client("sqs", config=SQS_CONFIG)


@lru_cache(maxsize=1)
def _deps() -> IngestDeps:
    from sf_bigtime.secrets import outbound_message_tokens, signing_keys, webhook_api_keys
    from sf_bigtime.settings import IngestSettings

    settings = IngestSettings.from_env()
    signing, token = settings.signing_secret_arn, settings.outbound_message_secret_arn
    return IngestDeps(
        settings=settings,
        # Read on use, both rotation stages cached together for five minutes: during a rotation the
        # current and the previous value are accepted (docs/operations.md#rotating-the-ingest-secrets).
        api_key=lambda: webhook_api_keys(settings.webhook_secret_arn),
        signing_key=(lambda: signing_keys(signing)) if signing else None,
        outbound_message_token=(lambda: outbound_message_tokens(token)) if token else None,
        enqueue=partial(enqueue, settings.queue_url, client=sqs),
        count=emitter.emit,
    )


@metrics.log_metrics
# log_event=False, whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event holds the API key header and the
# Outbound Message token in its query string.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # API Gateway's request id, or the EventBridge event id, ties our log lines to theirs.
    logger.set_correlation_id(event.get("requestContext", {}).get("requestId") or event.get("id"))
    return handle(event, _deps(), log=logger)
