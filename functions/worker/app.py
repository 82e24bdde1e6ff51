"""Worker Lambda: SQS FIFO batch -> sync each Opportunity to BigTime. Thin: logic is in sf_bigtime."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger

from sf_bigtime.logs import quiet_libraries
from sf_bigtime.observability import NAMESPACE, WORKER, function_metrics
from sf_bigtime.settings import worker_settings
from sf_bigtime.sync.worker import Worker

quiet_libraries()  # botocore would log the secrets' values at DEBUG
logger = Logger(service=WORKER)
metrics = function_metrics(namespace=NAMESPACE, service=WORKER)
_worker: Worker | None = None


def _get_worker() -> Worker:
    global _worker
    if _worker is None:
        worker = Worker(worker_settings(), sqs=boto3.client("sqs"), logger=logger, metrics=metrics)
        worker.start()  # cold start: both credential secrets read and checked before any record
        _worker = worker
    return _worker


@logger.inject_lambda_context(clear_state=True, log_event=False)  # whatever POWERTOOLS_LOGGER_LOG_EVENT says
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _get_worker().handle(event, context)
