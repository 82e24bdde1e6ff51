"""The worker's batch glue: SQS FIFO batch -> one idempotent sync per record -> partial batch response.

Powertools does the heavy lifting: ``SqsFifoPartialProcessor`` (skip only the failed Opportunity's group),
``idempotent_function`` on the delivery id (a duplicate delivery replays the stored outcome, which its
``response_hook`` marks as a replay), and ``Metrics``. Transient failures get an SQS visibility backoff so
retries spread out (and honour ``Retry-After``) instead of hammering a throttled API; the records of the
failed Opportunity's group that were skipped unprocessed get the same backoff, since SQS holds a FIFO group
while any of its messages is in flight.

A batch of several Opportunities reads them in one Salesforce query and writes their results back in one
request after the last sync (:mod:`sf_bigtime.sync.batch`); a write-back that fails there sends its message
back, and the replay syncs again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from sf_bigtime import observability as obs
from sf_bigtime.call_metrics import emit_calls
from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.ratebudget import rate_budget, wait_deadline
from sf_bigtime.clients.salesforce import OpportunityDeleted, SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.errors import SyncError, TransientError
from sf_bigtime.mapping.model import Mapping, MappingError
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.secrets import SecretError, load_bigtime_credentials, load_salesforce_credentials
from sf_bigtime.settings import SettingsError, WorkerSettings
from sf_bigtime.sfid import to_18
from sf_bigtime.sync.batch import BatchIO, batch_scope, in_batch
from sf_bigtime.sync.run import Outcome, SyncContext, sync_opportunity

if TYPE_CHECKING:
    from sf_bigtime.pull.run import Puller

MAX_VISIBILITY_SECONDS = 12 * 3600
# A BigTime budget wait ends this long before the invocation would time out: the sync still has to finish.
BUDGET_DEADLINE_MARGIN_SECONDS = 30.0


@dataclass
class _BatchBackoff:
    """The backoffs given while one batch is handled: per FIFO group (its longest), and to which messages."""

    groups: dict[str, int] = field(default_factory=dict)
    messages: set[str] = field(default_factory=set)


# The batch being handled on this thread (the local stack's pollers share one Worker across threads).
_batch_backoff: ContextVar[_BatchBackoff | None] = ContextVar("sf_bigtime_batch_backoff", default=None)


@dataclass(frozen=True)
class Replayed:
    """A duplicate delivery's result: the first run's outcome, read back by Powertools; nothing ran."""

    outcome: dict[str, Any]


def replayed(response: Any, idempotent_data: DataRecord) -> Replayed:
    """Powertools' ``response_hook``: called only when it returns a stored outcome instead of running the
    sync. The marker travels in the return value, so it is right whichever thread handles the record."""
    return Replayed(dict(response))


def mapping_source(settings: WorkerSettings) -> MappingSource:
    """The mapping named by the stack (SSM parameter, file or the bundled default) and its overrides."""
    return MappingSource.for_stack(
        parameter=settings.mapping_parameter,
        file=settings.mapping_file,
        trigger_stages=settings.trigger_stages,
        project_url=settings.bigtime_project_url,
    )


def build_context(settings: WorkerSettings, mapping: Mapping) -> SyncContext:
    """Clients for one warm Lambda: tokens and caches live as long as the execution environment."""
    return SyncContext(
        salesforce=SalesforceClient(
            load_salesforce_credentials(settings.salesforce_secret_arn),
            api_version=settings.salesforce_api_version,
            timeout=settings.http_timeout_seconds,
        ),
        bigtime=BigTimeClient(
            load_bigtime_credentials(settings.bigtime_secret_arn),
            timeout=settings.http_timeout_seconds,
            limiter=rate_budget(settings, "sync"),
        ),
        store=StateStore(settings.table_name),
        mapping=mapping,
        claim_stale_after=settings.claim_stale_after_seconds,
    )


def build_worker_puller(settings: WorkerSettings, mapping: Mapping) -> Puller:
    """The pull behind "Pull from BigTime" requests: clients of its own, at the pull's half of the rate."""
    # Imported here: a pull request is rare, and the pull's modules are a tenth of the worker's cold import.
    from sf_bigtime.pull.scheduled import build_stack_puller

    return build_stack_puller(settings, mapping.pull)


def _request_of(record: dict[str, Any]) -> SyncRequest | None:
    """A record's message, or None if it is not one (``handle_record`` fails it, with the reason)."""
    try:
        return SyncRequest.model_validate_json(str(record.get("body") or ""))
    except ValueError:
        return None


def backoff_seconds(
    receive_count: int, retry_after: float | None, *, base: float = 30.0, cap: float = 900.0
) -> int:
    """Exponential backoff with jitter, at least the server's Retry-After, within SQS's 12 h limit."""
    exponential = min(cap, base * 2 ** max(0, receive_count - 1))
    delay = max(exponential * random.uniform(0.8, 1.2), retry_after or 0)
    return int(min(MAX_VISIBILITY_SECONDS, max(1, round(delay))))


@dataclass
class Worker:
    """One per warm Lambda: the sync context, the idempotent sync, and the SQS client for backoff."""

    settings: WorkerSettings
    context_factory: Callable[[WorkerSettings, Mapping], SyncContext] = build_context
    puller_factory: Callable[[WorkerSettings, Mapping], Puller] = build_worker_puller
    sqs: Any = None
    logger: Logger | None = None
    metrics: Metrics | None = None
    mappings: MappingSource | None = None

    def __post_init__(self) -> None:
        self._ctx: SyncContext | None = None
        self._puller: Puller | None = None
        self.mappings = self.mappings or mapping_source(self.settings)
        self._load_mapping()  # cold start: a broken mapping stops the worker here, with its reasons
        self.emitter = obs.Emitter(obs.WORKER, self.metrics)
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="[org_id, opportunity_id, delivery_id]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self.settings.idempotency_ttl_seconds,
            response_hook=replayed,
        )
        persistence = DynamoDBPersistenceLayer(table_name=self.settings.table_name)
        self._sync_once = idempotent_function(
            data_keyword_argument="request", config=self.idempotency, persistence_store=persistence
        )(self._sync)

    def _load_mapping(self) -> Mapping:
        assert self.mappings is not None
        try:
            mapping = self.mappings.load()
            if self.mappings.read_error and self.logger is not None:
                self.logger.warning(
                    "mapping refresh failed; using the last valid one",
                    extra={"reason": self.mappings.read_error},
                )
            return mapping
        except MappingError as exc:
            if self.logger is not None:
                self.logger.error(
                    "the mapping is invalid: nothing is synced until it is fixed (messages wait in the queue)",
                    extra={
                        "mapping": exc.source,
                        "problems": [f"{k}: {m}" if k else m for k, m in exc.problems],
                    },
                )
            raise

    @property
    def ctx(self) -> SyncContext:
        if self._ctx is None:
            self._ctx = self.context_factory(self.settings, self._load_mapping())
        return self._ctx

    def start(self) -> None:
        """Read and check both credential secrets now (the Lambda handler calls this at cold start).

        A secret that is missing or lacks a key is the stack's fault, not the messages': failing the whole
        invocation leaves every message on the queue (retried, then dead-lettered) instead of failing them
        one by one inside the batch, and the error names the secret and the key (never a value). Until it
        succeeds the handler builds a new Worker, and so calls this again, on every invocation.
        """
        try:
            self.ctx  # noqa: B018 - builds the clients, which reads and validates the secrets
        except (SecretError, SettingsError) as exc:
            if self.logger is not None:
                self.logger.error("worker cannot start: %s", exc, extra={"reason": str(exc)})
            raise

    def _pull(self, request: SyncRequest) -> dict[str, Any]:
        mapping = self._load_mapping()
        if self._puller is None:
            self._puller = self.puller_factory(self.settings, mapping)
        self._puller.section = mapping.pull
        from sf_bigtime.pull.on_demand import pull_on_demand  # see build_worker_puller

        return Outcome(**pull_on_demand(request, self._puller)).to_dict()

    def _sync(self, request: SyncRequest) -> dict[str, Any]:
        if request.kind == "pull":
            return self._pull(request)
        outcome = sync_opportunity(request, self.ctx)
        if outcome.wrote_back and not in_batch():  # a batch's write-backs are timed when they are made
            # Measured here, inside the idempotent function, so a replayed duplicate does not count.
            latency = (datetime.now(UTC) - request.received_at).total_seconds() * 1000
            self.emitter.emit(obs.END_TO_END_LATENCY, max(0.0, latency))
        return outcome.to_dict()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if context is not None:
            self.idempotency.register_lambda_context(context)
        # Cheap when unchanged (Powertools' parameter cache); a changed mapping applies within minutes.
        mapping = self._load_mapping()
        if self._ctx is not None:  # a new context reads the current mapping when it is built
            self._ctx.mapping = mapping
        # One processor per batch: it holds the batch's successes and failures, and the local stack's
        # pollers call one Worker from several threads at once (a shared one mixed up their batches and
        # reported a failed record as done, deleting it).
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch where every record failed is still a normal reply: the backoff above is the retry
        # policy, and raising would add Lambda errors and ESM backoff on top (Powertools gap, see docs).
        processor.raise_on_entire_batch_failure = False
        remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
        backoff = _BatchBackoff()
        token = _batch_backoff.set(backoff)
        try:
            # Each record's message, read once for the batch's one read and its write-back (handle_record
            # reads its own: Powertools hands it the record).
            requests = [(raw, _request_of(raw)) for raw in event.get("Records") or []]
            batch = self._open_batch([r for _, r in requests if r is not None])
            with (
                batch_scope(batch),
                wait_deadline(None if remaining is None else remaining - BUDGET_DEADLINE_MARGIN_SECONDS),
            ):
                response = process_partial_response(
                    event=event, record_handler=self.handle_record, processor=processor, context=context
                )
            if batch is not None:
                self._flush(batch, requests, response)
        finally:
            _batch_backoff.reset(token)
        self._back_off_skipped(event, response, backoff)
        return dict(response)

    def handle_record(self, record: SQSRecord) -> dict[str, Any]:
        request = SyncRequest.model_validate_json(record.body)
        if self.logger is not None:
            # Thread-safe keys: one record at a time in Lambda, but the local stack's pollers share a process.
            self.logger.thread_safe_append_keys(
                opportunity_id=request.opportunity_id,
                delivery_id=request.delivery_id,
                source=request.source,
                kind=request.kind,
            )
        try:
            result = self._sync_or_replay(request)
        except TransientError as exc:
            self.emitter.emit(obs.SYNC_RETRIED)
            self.emitter.emit(obs.SYNC_ERRORS, Kind="transient", Code=exc.code)
            self._back_off(record, exc.retry_after)
            if self.logger is not None:
                self.logger.warning(
                    "transient failure; will retry", extra={"reason": exc.reason, "code": exc.code}
                )
            raise
        except IdempotencyAlreadyInProgressError:
            self._back_off(record, None)
            raise
        finally:
            emit_calls(self.emitter, self._ctx.salesforce.api_usage if self._ctx is not None else None)
        if isinstance(result, Replayed):
            # A duplicate delivery: Powertools replayed the first run's outcome; nothing happened again.
            outcome = Outcome(**result.outcome)
            self.emitter.emit(obs.SYNC_REPLAYED)
            if self.logger is not None:
                self.logger.info(
                    "duplicate delivery; first outcome replayed", extra={"status": outcome.status}
                )
            return result.outcome
        outcome = Outcome(**result)
        if request.kind == "pull":  # BigTime's figures, not a sync: the sync metrics do not count it
            self.emitter.emit(obs.BIGTIME_CALLS, outcome.bigtime_calls)
            self.emitter.emit(obs.SALESFORCE_CALLS, outcome.salesforce_calls)
            if self.logger is not None:
                self.logger.info(
                    "pulled", extra={"status": outcome.status, "outcome_message": outcome.message}
                )
            return result
        self._count_outcome(outcome, request)
        if self.logger is not None:
            self.logger.info("synced", extra={"status": outcome.status, "outcome_message": outcome.message})
        return result

    def _sync_or_replay(self, request: SyncRequest) -> dict[str, Any] | Replayed:
        result: dict[str, Any] | Replayed = self._sync_once(request=request)
        if isinstance(result, Replayed) and self._write_back_lost(request, result.outcome):
            # The first run's write-back never reached Salesforce (its batch's write-back failed, or the
            # invocation ended first): sync again. The idempotency record keeps the first outcome.
            if self.logger is not None:
                self.logger.info("delivery seen before, but its write-back is missing: syncing again")
            return self._sync(request)
        return result

    def _write_back_lost(self, request: SyncRequest, outcome: dict[str, Any]) -> bool:
        """Whether a replayed sync left its write-back to its batch, and no write-back was made since (a
        later one of the same Opportunity carries newer news, and will do). sync/batch.py says why."""
        due = outcome.get("write_back_due")
        if request.kind != "sync" or not due:
            return False  # made before the outcome was stored, or none was needed
        item = self.ctx.store.get("opp", request.org_id, request.opportunity_id) or {}
        return bool(str(item.get("written_back_at") or "") < str(due))

    def _open_batch(self, requests: list[SyncRequest]) -> BatchIO | None:
        """The batch's one Salesforce read (sync/batch.py), when it names two or more Opportunities."""
        if len({r.opportunity_id for r in requests if r.kind == "sync"}) < 2:
            return None
        batch = BatchIO.open(self.ctx, requests)
        if batch is not None and batch.read_error is not None and self.logger is not None:
            self.logger.warning(
                "the batch's Opportunities could not be read in one query; each sync reads its own",
                extra={"reason": batch.read_error.reason},
            )
        return batch

    def _flush(
        self, batch: BatchIO, requests: list[tuple[dict[str, Any], SyncRequest | None]], response: Any
    ) -> None:
        """Make the batch's write-backs in one call. A message whose write-back failed and may succeed later
        is reported failed (with the rest of its FIFO group in this batch) and backed off: its replay syncs
        again. One that cannot succeed (a validation rule, say) is counted and logged."""
        try:
            results = batch.flush(self.ctx)
        finally:
            self.emitter.emit(obs.SALESFORCE_CALLS, batch.salesforce_calls)
            emit_calls(self.emitter, self.ctx.salesforce.api_usage)
        failures = response.setdefault("batchItemFailures", [])
        failed = {f.get("itemIdentifier") for f in failures}
        retried: set[str] = set()  # FIFO groups whose later messages must come back after the failed one
        written_at: dict[str, datetime] = {}  # earliest delivery behind each write-back made
        for raw, request in requests:
            if request is None or request.kind != "sync":
                continue
            record = SQSRecord(raw)
            key, group = to_18(request.opportunity_id), record.attributes.message_group_id or ""
            error = results.get(key)
            if isinstance(error, TransientError) or group in retried:
                retried.add(group)
                if record.message_id not in failed:
                    failed.add(record.message_id)
                    failures.append({"itemIdentifier": record.message_id})
                    self._back_off(record, error.retry_after if isinstance(error, TransientError) else None)
            elif key in results and error is None and record.message_id not in failed:
                written_at[key] = min(written_at.get(key, request.received_at), request.received_at)
        for key, error in results.items():
            self._report_write_back(key, error)
        now = datetime.now(UTC)
        for received_at in written_at.values():
            self.emitter.emit(obs.END_TO_END_LATENCY, max(0.0, (now - received_at).total_seconds() * 1000))

    def _report_write_back(self, opportunity_id: str, error: SyncError | None) -> None:
        if error is None:
            return
        if isinstance(error, TransientError):
            self.emitter.emit(obs.SYNC_RETRIED)
            self.emitter.emit(obs.SYNC_ERRORS, Kind="transient", Code=error.code)
        elif not isinstance(error, OpportunityDeleted):
            self.emitter.emit(obs.SYNC_ERRORS, Kind="permanent", Code=error.code)
        if self.logger is not None:
            log = (
                self.logger.warning
                if isinstance(error, TransientError | OpportunityDeleted)
                else self.logger.error
            )
            log(
                "write-back failed" + ("; will retry" if isinstance(error, TransientError) else ""),
                extra={"opportunity_id": opportunity_id, "reason": error.reason, "code": error.code},
            )

    def _count_outcome(self, outcome: Outcome, request: SyncRequest) -> None:
        if outcome.status == "Failed":
            self.emitter.emit(obs.SYNC_FAILED)
            self.emitter.emit(obs.SYNC_ERRORS, Kind="permanent", Code=outcome.error_code or "permanent")
        elif outcome.status == "Skipped":
            self.emitter.emit(obs.SYNC_SKIPPED)
        else:
            self.emitter.emit(obs.SYNC_SUCCEEDED)
        if outcome.created_project:
            self.emitter.emit(obs.PROJECTS_CREATED)
        if outcome.created_client:
            self.emitter.emit(obs.CLIENTS_CREATED)
        if outcome.updated_project:
            self.emitter.emit(obs.PROJECTS_UPDATED)
        if outcome.updated_client:
            self.emitter.emit(obs.CLIENTS_UPDATED)
        self.emitter.emit(obs.BIGTIME_CALLS, outcome.bigtime_calls)
        self.emitter.emit(obs.SALESFORCE_CALLS, outcome.salesforce_calls)

    def _back_off(self, record: SQSRecord, retry_after: float | None) -> None:
        if self.sqs is None:
            return
        receive_count = int(record.attributes.approximate_receive_count or 1)
        seconds = backoff_seconds(
            receive_count,
            retry_after,
            base=self.settings.retry_backoff_base_seconds,
            cap=self.settings.retry_backoff_max_seconds,
        )
        batch = _batch_backoff.get()
        if batch is not None:
            group = record.attributes.message_group_id or ""
            batch.groups[group] = max(seconds, batch.groups.get(group, 0))
            batch.messages.add(record.message_id)
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.settings.queue_url,
                ReceiptHandle=record.receipt_handle,
                VisibilityTimeout=seconds,
            )
        except Exception as exc:  # the message still comes back after the queue's visibility timeout
            if self.logger is not None:
                self.logger.warning("could not set retry backoff", extra={"error": type(exc).__name__})

    def _back_off_skipped(self, event: dict[str, Any], response: Any, batch: _BatchBackoff) -> None:
        """Give the records skipped after their group's failure (Powertools' FIFO processor reports them
        failed without running them) that group's backoff. Left at the queue's visibility timeout, they would
        hold the whole group, the failed record's retry included, for that long: SQS returns no message of a
        FIFO group while another of the group is in flight."""
        if self.sqs is None or not batch.groups:
            return
        failed = {f.get("itemIdentifier") for f in response.get("batchItemFailures", [])}
        entries: list[dict[str, Any]] = []
        for record in event.get("Records", []):
            group = (record.get("attributes") or {}).get("MessageGroupId") or ""
            message_id = record.get("messageId")
            if message_id in failed and message_id not in batch.messages and group in batch.groups:
                entries.append(
                    {
                        "Id": str(len(entries)),
                        "ReceiptHandle": record["receiptHandle"],
                        "VisibilityTimeout": batch.groups[group],
                    }
                )
        for start in range(0, len(entries), 10):  # SQS takes 10 entries a request
            try:
                self.sqs.change_message_visibility_batch(
                    QueueUrl=self.settings.queue_url, Entries=entries[start : start + 10]
                )
            except Exception as exc:  # they still come back after the queue's visibility timeout
                if self.logger is not None:
                    self.logger.warning("could not set retry backoff", extra={"error": type(exc).__name__})
