"""Metric names the code emits (namespace ``SfBigtime``). The dashboard and alarms in template.yaml are
checked against this module by the template tests, so the two cannot drift.

Every metric is declared once in :data:`METRICS` with its unit, the function (``service`` dimension,
which Powertools adds to everything) that emits it and its extra dimensions. Code emits through
:class:`Emitter`, which refuses undeclared names or dimensions, so what the template references, what
this module declares and what the functions print as EMF are the same set (tests check all three).

A *count* (unit Count, not a gauge) is published only when it is not zero: CloudWatch bills every metric
that receives a datapoint in an hour, and the scheduled functions run every 15 minutes, so a count of
nothing every run would cost a metric-month each for no information. A missing datapoint of a count means
nothing happened, and every alarm on one treats missing data as not breaching. Gauges (a level such as the
API calls left, a time such as PullStaleness) are published whenever they are measured; PullStaleness on
every pull run, so that its alarm treats missing data as breaching: a pull that stops reporting is stale
(docs/decisions.md#what-the-bill-is-made-of).

The module also keeps a small per-thread log of outgoing HTTP calls (system, latency, status), filled by
``sf_bigtime.clients.http.HttpSession``, and one of waits for the BigTime rate budget, filled by
``sf_bigtime.clients.ratebudget``; both are drained after each record (worker) or sweep (reconcile) into
metrics by ``sf_bigtime.call_metrics``: the clients stay free of metrics code.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

log = logging.getLogger(__name__)

NAMESPACE = "SfBigtime"

# The ``service`` dimension of each function (POWERTOOLS_SERVICE_NAME in template.yaml).
INGEST = "sf-bigtime-ingest"
WORKER = "sf-bigtime-worker"
RECONCILE = "sf-bigtime-reconcile"
PULL = "sf-bigtime-pull"

SYNC_SUCCEEDED = "SyncSucceeded"
SYNC_SKIPPED = "SyncSkipped"
SYNC_FAILED = "SyncFailed"  # permanent: a person must act (alarm)
SYNC_RETRIED = "SyncRetried"  # transient: retried through SQS with backoff
SYNC_REPLAYED = "SyncReplayed"  # a duplicate delivery: the first outcome was replayed, nothing ran
SYNC_ERRORS = "SyncErrors"  # both kinds, by error code: "failures by kind" on the dashboard
PROJECTS_CREATED = "ProjectsCreated"
CLIENTS_CREATED = "ClientsCreated"
PROJECTS_UPDATED = "ProjectsUpdated"  # sync fields or a lifecycle action changed an existing project
CLIENTS_UPDATED = "ClientsUpdated"
BIGTIME_CALLS = "BigTimeCalls"
SALESFORCE_CALLS = "SalesforceCalls"
END_TO_END_LATENCY = "EndToEndLatency"  # event received by ingest -> written back onto the Opportunity
BIGTIME_LATENCY = "BigTimeLatency"
SALESFORCE_LATENCY = "SalesforceLatency"
BIGTIME_THROTTLED = "BigTimeThrottled"  # BigTime answered 429/503 (after the client's own GET retries)
BIGTIME_BUDGET_WAIT = "BigTimeBudgetWait"  # each BigTime call's wait for the firm's shared rate budget
BIGTIME_BUDGET_RATE = "BigTimeBudgetRate"  # calls/min the budget allows now (lowered after throttling)
BIGTIME_BUDGET_FALLBACK = "BigTimeBudgetFallback"  # calls paced locally: the budget's table unreachable
SALESFORCE_API_REMAINING = "SalesforceApiRemaining"  # from Sforce-Limit-Info, org-wide, last 24 h
EVENTS_ACCEPTED = "EventsAccepted"
EVENTS_REJECTED = "EventsRejected"
RECONCILE_MISSED = "ReconcileMissed"  # won Opportunities whose event never arrived (alarm)
RECONCILE_DEFERRED = "ReconcileDeferred"  # found but over the per-run bound: picked up by the next run
RELAY_EVENTS_IGNORED = "RelayEventsIgnored"  # EventBridge events not about an Opportunity we sync
CDC_ECHOES_IGNORED = "CdcEchoesIgnored"  # our own write-backs coming back as change events
CDC_GAP_EVENTS = "CdcGapEvents"  # GAP_* change events: the listed records are re-read
CDC_LEFT_TO_RECONCILE = (
    "CdcLeftToReconcile"  # wildcard record ids and GAP_OVERFLOW: the reconcile sweep's job
)
PULL_STALENESS = "PullStaleness"  # age of the oldest active project's figures (alarm: twice the schedule)
PULL_RECORDS_WRITTEN = "PullRecordsWritten"
PULL_RECORDS_FAILED = "PullRecordsFailed"  # records Salesforce refused (the reason is on each record)
PULL_PROJECTS_UNREADABLE = "PullProjectsUnreadable"  # projects whose figures could not be read
PULL_UNKNOWN_SHAPE = "PullUnknownShape"  # BigTime replies in a shape the alias table does not know
PULL_STOPPED_EARLY = "PullStoppedEarly"  # runs that stopped (throttling, time, BigTime unavailable)
PULL_SKIPPED = "PullSkipped"  # scheduled runs skipped: the org's API usage is over the budget

COUNT = "Count"
MILLISECONDS = "Milliseconds"
SECONDS = "Seconds"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    services: tuple[str, ...]
    description: str
    dimensions: tuple[str, ...] = ()  # beyond ``service``
    gauge: bool = False  # a level in unit Count (what is left, a rate): published even when it is 0

    @property
    def counts(self) -> bool:
        """Published only when not zero: a missing datapoint means nothing happened."""
        return self.unit == COUNT and not self.gauge


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(SYNC_SUCCEEDED, COUNT, (WORKER,), "Syncs that ended Synced (project created or linked)."),
        Metric(SYNC_SKIPPED, COUNT, (WORKER,), "Syncs with nothing to do (not a trigger stage, deleted)."),
        Metric(SYNC_FAILED, COUNT, (WORKER,), "Permanent failures: not retried, reason on the Opportunity."),
        Metric(SYNC_RETRIED, COUNT, (WORKER,), "Transient failures, retried through SQS with backoff."),
        Metric(
            SYNC_ERRORS,
            COUNT,
            (WORKER,),
            "Every failure by Kind (permanent|transient) and Code (e.g. bigtime_rejected).",
            ("Kind", "Code"),
        ),
        Metric(
            SYNC_REPLAYED,
            COUNT,
            (WORKER,),
            "Duplicate deliveries: the first outcome was replayed, nothing ran.",
        ),
        Metric(PROJECTS_CREATED, COUNT, (WORKER,), "BigTime projects created."),
        Metric(CLIENTS_CREATED, COUNT, (WORKER,), "BigTime clients created."),
        Metric(
            PROJECTS_UPDATED, COUNT, (WORKER,), "Existing BigTime projects changed (sync fields, lifecycle)."
        ),
        Metric(CLIENTS_UPDATED, COUNT, (WORKER,), "Existing BigTime clients changed (sync fields)."),
        Metric(BIGTIME_CALLS, COUNT, (WORKER, PULL), "BigTime API calls spent by completed syncs and pulls."),
        # The pull's Salesforce calls (a query a run, a write when something changed) are in its log.
        Metric(
            SALESFORCE_CALLS,
            COUNT,
            (WORKER,),
            "Salesforce API calls of completed syncs and of their batches' one read and write-back.",
        ),
        Metric(
            END_TO_END_LATENCY,
            MILLISECONDS,
            (WORKER,),
            "From the event reaching ingest to the result written back onto the Opportunity.",
        ),
        # The scheduled functions' calls are timed by their run's duration (AWS/Lambda Duration, free):
        # a latency metric of theirs would be published every 15 minutes for a query or two.
        Metric(BIGTIME_LATENCY, MILLISECONDS, (WORKER,), "Duration of each BigTime HTTP call."),
        Metric(
            SALESFORCE_LATENCY,
            MILLISECONDS,
            (WORKER,),
            "Duration of each Salesforce HTTP call (token requests included).",
        ),
        Metric(BIGTIME_THROTTLED, COUNT, (WORKER, PULL), "BigTime calls answered 429 or 503 (throttling)."),
        Metric(
            BIGTIME_BUDGET_WAIT,
            MILLISECONDS,
            (WORKER,),
            "How long each BigTime call waited for the firm-wide rate budget.",
        ),
        Metric(
            BIGTIME_BUDGET_RATE,
            COUNT,
            (WORKER,),
            "BigTime calls per minute the budget allowed (below BigTimeCallsPerMinute after throttling).",
            gauge=True,
        ),
        Metric(
            BIGTIME_BUDGET_FALLBACK,
            COUNT,
            (WORKER,),
            "BigTime calls paced by a local bucket because the budget's DynamoDB item was unreachable.",
        ),
        # One scheduled function reports the org's allowance when idle (the pull, which also spends most).
        Metric(
            SALESFORCE_API_REMAINING,
            COUNT,
            (WORKER, PULL),
            "API calls left in the org's rolling 24 h allowance (Sforce-Limit-Info).",
            gauge=True,
        ),
        Metric(EVENTS_ACCEPTED, COUNT, (INGEST,), "Events put on the queue, by Source.", ("Source",)),
        Metric(
            EVENTS_REJECTED,
            COUNT,
            (INGEST,),
            "Requests refused (4xx) or not queued (503), by Source and Reason (error code).",
            ("Source", "Reason"),
        ),
        Metric(
            RELAY_EVENTS_IGNORED, COUNT, (INGEST,), "Event Relay events not about an Opportunity we sync."
        ),
        Metric(
            CDC_ECHOES_IGNORED,
            COUNT,
            (INGEST,),
            "Change events caused by our own write-back (changeOrigin client=sf-bigtime), ignored.",
        ),
        Metric(CDC_GAP_EVENTS, COUNT, (INGEST,), "CDC GAP_* events: the listed records are re-read."),
        Metric(
            CDC_LEFT_TO_RECONCILE,
            COUNT,
            (INGEST,),
            "CDC events with wildcard record ids or GAP_OVERFLOW: left to the reconcile sweep.",
        ),
        Metric(
            RECONCILE_MISSED,
            COUNT,
            (RECONCILE,),
            "Won Opportunities the scheduled reconcile found without a delivered event, and enqueued.",
        ),
        Metric(
            RECONCILE_DEFERRED,
            COUNT,
            (RECONCILE,),
            "Missed Opportunities left for the next run (over ReconcileMaxPerRun).",
        ),
        Metric(
            PULL_STALENESS,
            SECONDS,
            (PULL,),
            "Age of the oldest active project's figures (when the pull last read them from BigTime); 0 "
            "without active projects. Every run that reads Salesforce publishes it.",
        ),
        Metric(PULL_RECORDS_WRITTEN, COUNT, (PULL,), "BigTime Project records a pull changed in Salesforce."),
        Metric(
            PULL_RECORDS_FAILED,
            COUNT,
            (PULL,),
            "Records Salesforce refused (the reason is in each record's Pull Message).",
        ),
        Metric(
            PULL_PROJECTS_UNREADABLE,
            COUNT,
            (PULL,),
            "Projects whose figures BigTime sent in a form the pull could not read (Pull Message says which).",
        ),
        Metric(
            PULL_UNKNOWN_SHAPE,
            COUNT,
            (PULL,),
            "BigTime replies in a shape the pull does not know (new field names: see the logs).",
        ),
        Metric(
            PULL_STOPPED_EARLY,
            COUNT,
            (PULL,),
            "Runs that stopped early (BigTime throttling, the time limit, BigTime unavailable).",
        ),
        Metric(
            PULL_SKIPPED,
            COUNT,
            (PULL,),
            "Scheduled runs skipped because the org's API usage was over PullApiBudgetPercent.",
        ),
    )
}


class Emitter:
    """Emit declared metrics for one function: plain ones through Powertools ``Metrics`` (aggregated
    into one EMF document per invocation), ones with extra dimensions as their own EMF document
    (``single_metric``), because a Powertools ``Metrics`` object has one dimension set per flush.

    Counts of zero are not published (see the module docstring). Without a ``Metrics`` object (CLI,
    tests) nothing is printed, but names are still checked. With
    metrics disabled (``POWERTOOLS_METRICS_DISABLED``: the local stack, tests) nothing is printed either;
    each emit is logged at debug level instead, so ``sf-bigtime -v local up`` shows what the deployed
    functions would publish.
    """

    def __init__(self, service: str, metrics: Any = None) -> None:
        self.service = service
        self.metrics = metrics

    def declares(self, name: str) -> bool:
        """Whether this function emits ``name`` (declared for its service)."""
        spec = METRICS.get(name)
        return spec is not None and self.service in spec.services

    def emit(self, name: str, value: float = 1, **dimensions: str) -> None:
        spec = check(name, self.service, tuple(dimensions))
        if self.metrics is None or (spec.counts and value == 0):  # a count of nothing is not published
            return
        disabled = is_metrics_disabled()
        if disabled:
            extra = "".join(f" {k}={v}" for k, v in dimensions.items())
            log.debug("metric %s %s=%g%s", self.service, name, value, extra)
        if not dimensions:
            self.metrics.add_metric(name=name, unit=spec.unit, value=value)
            return
        if disabled:
            return
        with single_metric(
            name=name,
            unit=MetricUnit(spec.unit),
            value=value,
            namespace=NAMESPACE,
            default_dimensions={"service": self.service, **dimensions},
        ):
            pass


class _FunctionEMFProvider(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider without what it does wrong for these functions (aws-lambda-powertools 3.37):

    - The end-of-invocation flush warns "No application metrics to publish" whenever an invocation added
      no aggregated metric. Here that is normal: ingest's metrics all carry dimensions (each is its own
      document, see :class:`Emitter`), and a worker that cannot start adds none. Nothing added, no flush.
    - With metrics disabled it still collects, never clears (the set grows as long as the process lives,
      shared by every ``Metrics`` of the process), prints a document anyway once a metric holds 100
      values, and prints the cold-start metric. Disabled here means nothing is collected or printed.
    """

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        if not is_metrics_disabled():
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def add_cold_start_metric(self, context: Any) -> None:
        if not is_metrics_disabled():
            super().add_cold_start_metric(context=context)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if self.metric_set or raise_on_empty_metrics:
            super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


def function_metrics(namespace: str, service: str) -> Metrics:
    """The Powertools ``Metrics`` of one function (``@metrics.log_metrics`` on its handler), publishing
    through :class:`_FunctionEMFProvider` with the metric, dimension and metadata sets ``Metrics`` shares."""
    metrics = Metrics(namespace=namespace, service=service)
    metrics.provider = _FunctionEMFProvider(
        namespace=namespace,
        service=service,
        metric_set=metrics.metric_set,
        dimension_set=metrics.dimension_set,
        metadata_set=metrics.metadata_set,
        default_dimensions=metrics.default_dimensions,
    )
    return metrics


def check(name: str, service: str, dimensions: tuple[str, ...]) -> Metric:
    """The declaration of ``name``; raises if this service may not emit it with these dimensions."""
    spec = METRICS.get(name)
    if spec is None:
        raise ValueError(f"metric {name!r} is not declared in sf_bigtime.observability.METRICS")
    if service not in spec.services:
        raise ValueError(f"metric {name!r} is not declared for service {service!r}")
    if set(dimensions) != set(spec.dimensions):
        raise ValueError(f"metric {name!r} takes dimensions {spec.dimensions}, got {dimensions}")
    return spec


# -- outgoing HTTP calls ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    system: str  # "bigtime" | "salesforce"
    elapsed_ms: float
    status: int  # 0 when no reply arrived (timeout, connection error)


_MAX_CALLS = 1000  # a CLI walking thousands of pages never drains: keep the newest only
_calls = threading.local()


def record_call(system: str, elapsed_ms: float, status: int) -> None:
    """Called by HttpSession for every request (thread-local: the local stack runs workers in threads)."""
    log = getattr(_calls, "log", None)
    if log is None:
        log = _calls.log = deque(maxlen=_MAX_CALLS)
    log.append(Call(system, elapsed_ms, status))


def drain_calls() -> list[Call]:
    log = getattr(_calls, "log", None)
    if not log:
        return []
    calls = list(log)
    log.clear()
    return calls


@dataclass(frozen=True)
class BudgetWait:
    waited_ms: float
    rate_per_minute: float  # what the budget allowed when the call was granted
    fallback: bool  # paced by the local bucket: the budget's table could not be reached


_budget_waits = threading.local()


def record_budget_wait(waited_ms: float, rate_per_minute: float, *, fallback: bool = False) -> None:
    """Called by the rate budget for every call it grants (per thread, like :func:`record_call`)."""
    log = getattr(_budget_waits, "log", None)
    if log is None:
        log = _budget_waits.log = deque(maxlen=_MAX_CALLS)
    log.append(BudgetWait(waited_ms, rate_per_minute, fallback))


def drain_budget_waits() -> list[BudgetWait]:
    log = getattr(_budget_waits, "log", None)
    if not log:
        return []
    waits = list(log)
    log.clear()
    return waits
