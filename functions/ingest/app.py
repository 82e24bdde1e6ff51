"""Ingest Lambda: Salesforce -> API Gateway -> here -> SQS. Thin: all logic is in sf_bigtime.ingest."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from sf_bigtime.ingest import IngestDeps, handle_http
from sf_bigtime.observability import INGEST, NAMESPACE, Emitter
from sf_bigtime.queue import enqueue
from sf_bigtime.secrets import load_webhook_secret
from sf_bigtime.settings import ingest_settings

logger = Logger(service=INGEST)
# Ingest's metrics all carry a Source dimension, so each prints as its own EMF document at once: no
# log_metrics flush needed.
emitter = Emitter(INGEST, Metrics(namespace=NAMESPACE, service=INGEST))


def _deps() -> IngestDeps:
    settings = ingest_settings()
    return IngestDeps(
        settings=settings,
        api_key=lambda: load_webhook_secret(settings.webhook_secret_arn).api_key.get_secret_value(),
        enqueue=partial(enqueue, settings.queue_url),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_http(event, _deps(), log=logger, metrics=emitter)
