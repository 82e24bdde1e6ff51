"""Pull Lambda (scheduled): BigTime's figures onto the BigTime Project records in Salesforce. Thin: logic is
in sf_bigtime.pull."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from sf_bigtime.logs import quiet_libraries
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.observability import NAMESPACE, PULL, Emitter, function_metrics
from sf_bigtime.pull.run import Puller
from sf_bigtime.pull.scheduled import build_stack_puller, run_scheduled
from sf_bigtime.settings import pull_settings

quiet_libraries()  # botocore would log the secrets' values at DEBUG
logger = Logger(service=PULL)
metrics = function_metrics(namespace=NAMESPACE, service=PULL)
_puller: Puller | None = None
_mappings: MappingSource | None = None


def _get_puller() -> Puller:
    # Kept across warm invocations: tokens, status names and the org id are reused; the mapping is re-read
    # (cheaply, through Powertools' parameter cache) so a changed pull section applies within minutes.
    global _puller, _mappings
    settings = pull_settings()
    if _mappings is None:
        _mappings = MappingSource.for_stack(parameter=settings.mapping_parameter, file=settings.mapping_file)
    section = _mappings.load().pull
    if _puller is None:
        _puller = build_stack_puller(settings, section)
    _puller.section = section
    return _puller


@logger.inject_lambda_context(clear_state=True, log_event=False)  # whatever POWERTOOLS_LOGGER_LOG_EVENT says
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    seconds_left = context.get_remaining_time_in_millis() / 1000 if context is not None else None
    return run_scheduled(_get_puller(), Emitter(PULL, metrics), log=logger, seconds_left=seconds_left)
