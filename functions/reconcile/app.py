"""Reconcile Lambda (scheduled): enqueue won Opportunities whose event never arrived. Thin: logic is in
sf_bigtime.reconcile.scheduled."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.logs import quiet_libraries
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.observability import NAMESPACE, RECONCILE, Emitter, function_metrics
from sf_bigtime.queue.send import enqueue
from sf_bigtime.reconcile.scheduled import Reconciler, run_scheduled
from sf_bigtime.secrets import load_salesforce_credentials
from sf_bigtime.settings import reconcile_settings

quiet_libraries()  # botocore would log the Salesforce secret's value at DEBUG
logger = Logger(service=RECONCILE)
metrics = function_metrics(namespace=NAMESPACE, service=RECONCILE)
_reconciler: Reconciler | None = None


def _get_reconciler() -> Reconciler:
    # Kept across warm invocations: the Salesforce token and the org id are reused.
    global _reconciler
    if _reconciler is None:
        settings = reconcile_settings()
        _reconciler = Reconciler(
            settings=settings,
            salesforce=SalesforceClient(
                load_salesforce_credentials(settings.salesforce_secret_arn),
                api_version=settings.salesforce_api_version,
                timeout=settings.http_timeout_seconds,
            ),
            store=StateStore(settings.table_name),
            enqueue=partial(enqueue, settings.queue_url),
            # The worker's mapping, found the way the worker finds it: one trigger for both.
            mappings=MappingSource.for_stack(
                parameter=settings.mapping_parameter,
                file=settings.mapping_file,
                trigger_stages=settings.trigger_stages,
            ),
        )
    return _reconciler


@logger.inject_lambda_context(clear_state=True, log_event=False)  # whatever POWERTOOLS_LOGGER_LOG_EVENT says
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_scheduled(_get_reconciler(), Emitter(RECONCILE, metrics), log=logger)
