"""The scheduled pull (``functions/pull``), and building a :class:`~sf_bigtime.pull.run.Puller` for a stack.

A failed run raises only when a person must act: BigTime or Salesforce refuse the credentials (401), BigTime
refuses the permission (405), or BigTime answers with nothing usable. That fails the invocation, which the
``PullErrors`` alarm watches, and the log says what to fix. A run cut short by BigTime (throttling, a
timeout, a 5xx) is not an error: it counts ``PullStoppedEarly``, the next run continues, and
``PullStaleness`` (with its alarm at twice the schedule) says whether the figures keep up.
"""

from __future__ import annotations

import time
from typing import Any

import boto3

from sf_bigtime import observability as obs
from sf_bigtime.call_metrics import emit_calls
from sf_bigtime.clients.bigtime import BigTimeClient
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.errors import PermanentError, TransientError
from sf_bigtime.mapping.pull import PullSection
from sf_bigtime.pull.bigtime import BigTimeReader, Guard, HasBigTimeRate, pull_limiter
from sf_bigtime.pull.progress import Progress
from sf_bigtime.pull.run import Puller, PullReport
from sf_bigtime.secrets import load_bigtime_credentials, load_salesforce_credentials
from sf_bigtime.settings import PullSettings, WorkerSettings
from sf_bigtime.sfid import to_18

# Seconds kept free at the end of a Lambda run for writing to Salesforce and saving progress.
WRITE_MARGIN_SECONDS = 60.0
# Credentials and permissions: a person must act, so the run fails (and the PullErrors alarm fires).
NEEDS_A_PERSON = frozenset({"bigtime_auth", "salesforce_auth", "bigtime_forbidden"})


def org_of(salesforce: SalesforceClient) -> str:
    """The org the credentials belong to (the state table's keys carry it): from the access token when it
    shows it, else one query."""
    org = salesforce.logged_in_org()
    if org is None:
        records = list(salesforce.query_all("SELECT Id FROM Organization LIMIT 1"))
        if not records:
            raise TransientError("Salesforce returned no Organization record")
        org = str(records[0]["Id"])
    return to_18(org)


def build_puller(
    settings: HasBigTimeRate,
    section: PullSection,
    *,
    salesforce: SalesforceClient,
    bigtime: BigTimeClient,
    table: Any = None,
    org_id: str | None = None,
) -> Puller:
    """A Puller for one stack: the pull's BigTime client gets :func:`pull_limiter` (half the stack's rate)
    unless the caller gave it one; ``table`` (the state table) keeps the read times between runs, under
    ``org_id`` (else the org the Salesforce credentials log into)."""
    if bigtime.limiter is None:
        bigtime.limiter = pull_limiter(settings)
    progress = Progress(table, to_18(org_id) if org_id else org_of(salesforce)) if table is not None else None
    return Puller(
        salesforce=salesforce,
        reader=BigTimeReader(bigtime, Guard()),
        section=section,
        progress=progress,
        api_budget_percent=settings.api_budget_percent if isinstance(settings, PullSettings) else 80.0,
    )


def build_stack_puller(settings: PullSettings | WorkerSettings, section: PullSection) -> Puller:
    """A Puller on a deployed stack's own clients, logged in with the secrets ``settings`` name, keeping its
    read times in the stack's state table (see :func:`build_puller`)."""
    return build_puller(
        settings,
        section,
        salesforce=SalesforceClient(
            load_salesforce_credentials(settings.salesforce_secret_arn),
            api_version=settings.salesforce_api_version,
            timeout=settings.http_timeout_seconds,
        ),
        bigtime=BigTimeClient(
            load_bigtime_credentials(settings.bigtime_secret_arn), timeout=settings.http_timeout_seconds
        ),
        table=boto3.resource("dynamodb").Table(settings.table_name),
    )


def emit_report(emitter: obs.Emitter, report: PullReport) -> None:
    """A run's figures as metrics. PullStaleness on every run (0 without active projects): its alarm takes
    a pull that stops reporting for a stale one. The counts are published only when not zero."""
    emitter.emit(obs.PULL_STALENESS, report.staleness_seconds or 0.0)
    emitter.emit(obs.PULL_RECORDS_WRITTEN, report.written)
    emitter.emit(obs.PULL_RECORDS_FAILED, report.failed)
    emitter.emit(obs.PULL_PROJECTS_UNREADABLE, report.problems)
    emitter.emit(obs.PULL_UNKNOWN_SHAPE, report.unknown_shapes)
    emitter.emit(obs.PULL_STOPPED_EARLY, 1 if report.stopped else 0)
    emitter.emit(obs.PULL_SKIPPED, 1 if report.skipped else 0)
    emitter.emit(obs.BIGTIME_CALLS, report.bigtime_calls)


def run_scheduled(
    puller: Puller, emitter: obs.Emitter, log: Any = None, *, seconds_left: float | None = None
) -> dict[str, Any]:
    """The scheduled function's body: one run over every project, within ``seconds_left`` (Lambda's
    remaining time) less a margin for the writes."""
    started = time.perf_counter()
    guard = puller.reader.guard
    guard.deadline = (
        guard.clock() + max(1.0, seconds_left - WRITE_MARGIN_SECONDS) if seconds_left is not None else None
    )
    try:
        report = puller.run(scheduled=True)
    except (PermanentError, TransientError) as exc:
        emit_calls(emitter, puller.salesforce.api_usage)
        if isinstance(exc, PermanentError) or exc.code in NEEDS_A_PERSON:
            if log is not None:
                log.error("pull failed: a person must act", extra={"reason": exc.reason, "code": exc.code})
            raise
        emitter.emit(obs.PULL_STOPPED_EARLY)
        if log is not None:
            log.warning(
                "pull stopped: the next run tries again", extra={"reason": exc.reason, "code": exc.code}
            )
        return {"stopped": exc.reason, "seconds": round(time.perf_counter() - started, 3)}
    emit_calls(emitter, puller.salesforce.api_usage)
    emit_report(emitter, report)
    summary = {
        key: getattr(report, key)
        for key in (
            "mode",
            "examined",
            "read",
            "changed",
            "heartbeats",
            "written",
            "failed",
            "deleted",
            "problems",
            "unknown_shapes",
            "throttled",
            "stopped",
            "skipped",
            "staleness_seconds",
            "stalest_project",
            "salesforce_calls",
            "bigtime_calls",
        )
    }
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if log is not None:
        for warning in report.warnings:
            log.warning("pull warning", extra={"reason": warning})
        for failure in report.failures:
            log.warning("Salesforce refused a record", extra=failure)
        for problem in report.project_problems:
            log.warning("project figures unreadable", extra=problem)
        log.info("pull done", extra=summary)
    return summary
