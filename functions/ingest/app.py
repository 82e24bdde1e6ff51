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
from sf_bigtime.observability import INGEST, NAMESPACE, Emitter, function_metrics
from sf_bigtime.queue.send import SQS_CONFIG, enqueue

logger = Logger(service=INGEST)
metrics = function_metrics(namespace=NAMESPACE, service=INGEST)
# Declared metrics only (sf_bigtime.observability); ones with dimensions print as their own EMF document.
emitter = Emitter(INGEST, metrics)
# Created during init, which Lambda runs at full CPU before the first request.
sqs = boto3.client("sqs", config=SQS_CONFIG)


@lru_cache(maxsize=1)
def _deps() -> IngestDeps:
    from sf_bigtime.secrets import load_outbound_message_secret, load_signing_secret, load_webhook_secret
    from sf_bigtime.settings import IngestSettings

    settings = IngestSettings.from_env()
    signing, token = settings.signing_secret_arn, settings.outbound_message_secret_arn
    return IngestDeps(
        settings=settings,
        # Read on use, cached five minutes by Powertools Parameters (secret rotation takes effect then).
        api_key=lambda: load_webhook_secret(settings.webhook_secret_arn).api_key.get_secret_value(),
        signing_key=(lambda: load_signing_secret(signing).hmac_key.get_secret_value()) if signing else None,
        outbound_message_token=(
            (lambda: load_outbound_message_secret(token).token.get_secret_value()) if token else None
        ),
        enqueue=partial(enqueue, settings.queue_url, client=sqs),
        count=emitter.emit,
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # API Gateway's request id, or the EventBridge event id, ties our log lines to theirs.
    logger.set_correlation_id(event.get("requestContext", {}).get("requestId") or event.get("id"))
    return handle(event, _deps(), log=logger)
