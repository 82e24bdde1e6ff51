"""Reconcile: the sweep over a recent window, run on a schedule (and by ``sf-bigtime reconcile``).

Every Opportunity it enqueues is one whose event never reached us, or reached us before a change we
never heard about: Salesforce's delivery lost it. The sync itself then happens as usual, but a person
should know that the Flow, Named Credential or Outbound Message queue is misbehaving, hence the
``ReconcileMissed`` metric and its alarm. A run is bounded (``max_per_run``); what is left over is
counted as ``ReconcileDeferred`` and picked up by the next run (oldest first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sf_bigtime import observability as obs
from sf_bigtime.call_metrics import emit_calls
from sf_bigtime.clients.salesforce import SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.reconcile.sweep import Sweep, SweepQuery, SweepReport, org_id_of
from sf_bigtime.settings import ReconcileSettings

# A run looks at this many Opportunities at most (one Salesforce page), whatever it enqueues.
MAX_EXAMINED = 2000


@dataclass
class Reconciler:
    """One per warm Lambda (or CLI run): Salesforce and state table access, where to enqueue, and the
    stack's mapping, whose trigger says what to sweep (re-read each run: a changed SSM parameter applies
    here when it applies to the worker)."""

    settings: ReconcileSettings
    salesforce: SalesforceClient
    store: StateStore
    enqueue: Callable[[Sequence[SyncRequest]], list[str]]
    mappings: MappingSource
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    org_id: str | None = None

    def run(
        self,
        *,
        dry_run: bool = False,
        lookback_hours: float | None = None,
        grace_minutes: float | None = None,
        max_per_run: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SweepReport:
        now = self.clock()
        lookback = lookback_hours if lookback_hours is not None else self.settings.lookback_hours
        grace = grace_minutes if grace_minutes is not None else self.settings.grace_minutes
        limit = max_per_run if max_per_run is not None else self.settings.max_per_run
        if self.org_id is None:
            self.org_id = org_id_of(self.salesforce)
        query = SweepQuery(
            trigger=self.mappings.load().trigger,
            modified_after=now - timedelta(hours=lookback),
            modified_before=now - timedelta(minutes=grace),
            limit=max(MAX_EXAMINED, limit),
        )
        sweep = Sweep(self.salesforce, self.store, self.enqueue, self.org_id)
        return sweep.run(query, source="reconcile", dry_run=dry_run, max_enqueue=limit, progress=progress)


def run_scheduled(reconciler: Reconciler, emitter: obs.Emitter, log: Any = None) -> dict[str, Any]:
    """The scheduled function's body: sweep, count what was missed, log each enqueued Opportunity."""
    started = time.perf_counter()
    try:
        report = reconciler.run()
    finally:
        emit_calls(emitter, reconciler.salesforce.api_usage)
    emitter.emit(obs.RECONCILE_MISSED, report.enqueued)
    emitter.emit(obs.RECONCILE_DEFERRED, report.deferred)
    if log is not None:
        for candidate in report.to_enqueue:
            # Same keys as ingest and the worker: one Logs Insights filter follows the Opportunity.
            log.warning(
                "missed event: enqueued by reconcile",
                extra={
                    "opportunity_id": candidate.opportunity_id,
                    "delivery_id": candidate.delivery_id,
                    "reason": candidate.reason,
                    "last_modified": candidate.last_modified,
                },
            )
    summary = {
        "found": report.found,
        "enqueued": report.enqueued,
        "deferred": report.deferred,
        "skipped": report.skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if log is not None:
        log.info("reconcile done", extra=summary)
    return summary
