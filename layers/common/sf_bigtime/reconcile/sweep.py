"""The sweep behind ``backfill`` and ``reconcile``: find Opportunities in a trigger stage without a BigTime
project (SOQL, paged), decide for each whether it needs a sync request, and enqueue those.

"Trigger" means the stack's mapping's ``trigger``, the very object the worker decides with (read through
:meth:`sf_bigtime.mapping.source.MappingSource.for_stack`, TriggerStages included). Its stages (or
``any_won``: ``IsWon = true``) go into the SOQL; its ``conditions`` are applied to each record read, by the
worker's own :func:`~sf_bigtime.mapping.transform.trigger_check`. Conditions are filtered here rather than
translated to SOQL on purpose: they compare the way the worker does (case-insensitively, numbers parsed
from text, ``is_true`` on text), which SOQL does not, and one definition cannot drift from the other. The
cost is reading Opportunities in a trigger stage that fail a condition; they are reported as skipped
(``not_triggered``) with the worker's reason.

Salesforce's delivery mechanisms all lose events in some cases (Outbound Messages give up after 24 h,
Flow callouts after a few retries, Event Relay replays 3 days), so this is the safety net. What it
decides, per Opportunity, from the state table (the worker's record of what it did):

- a BigTime project is recorded, or a worker holds the claim -> skip (done, or being done);
- the last attempt is being retried (queue or dead-letter queue) -> skip: ``redrive`` is the fix;
- the worker saw the Opportunity *after* its last change and failed permanently -> skip unless the
  operator says the cause is fixed (``include_failed``); re-sending it every 15 minutes would only
  repeat the failure and its alarm;
- otherwise (never seen, or changed since the worker last looked) -> enqueue.

Delivery ids are deterministic, ``sweep:<Opportunity id>:<LastModifiedDate>``: a second run before the
worker got to it sends the same id, which SQS FIFO deduplication (5 minutes) drops and the worker's
idempotency (7 days) replays without effect, so overlapping runs (the schedule and a person) are harmless.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from simple_salesforce.format import format_soql

from sf_bigtime.clients.salesforce import OpportunitySnapshot, SalesforceClient
from sf_bigtime.clients.store import StateStore
from sf_bigtime.mapping.model import Trigger
from sf_bigtime.mapping.transform import trigger_check
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import to_18

SWEEP_FIELDS = (
    "Id",
    "Name",
    "StageName",
    "IsWon",
    "CloseDate",
    "AccountId",
    "LastModifiedDate",
    "BigTime_Sync_Status__c",
)
# Our own write-back changes LastModifiedDate a moment before the worker records its attempt; allow for
# clock skew between Salesforce and AWS so that write does not look like a newer change.
SEEN_TOLERANCE_SECONDS = 120.0

Action = Literal["enqueue", "skip", "defer"]


@dataclass(frozen=True)
class SweepQuery:
    """Which Opportunities to look at: those the trigger's stages (or ``any_won``) select, without a
    project. ``stages`` narrows that to some of the trigger's stages (``backfill --stage``)."""

    trigger: Trigger
    stages: tuple[str, ...] = ()
    closed_since: date | None = None  # backfill --since: CloseDate on or after
    modified_after: datetime | None = None  # reconcile: the window's start
    modified_before: datetime | None = None  # reconcile: leave events still in flight alone
    limit: int | None = None  # examined at most (SOQL LIMIT)

    def __post_init__(self) -> None:
        outside = [s for s in self.stages if not is_trigger_stage(self.trigger, s)]
        if outside:
            raise ValueError(
                f"{', '.join(map(repr, outside))} is not a trigger stage of this stack (its trigger: "
                f"{self.trigger.describe()}); the worker would skip those Opportunities"
            )

    def fields(self) -> list[str]:
        """The sweep's own fields and those the trigger's conditions read."""
        unique: dict[str, str] = {}  # SOQL field names are case-insensitive; a repeated one is an error
        for name in (*SWEEP_FIELDS, *(c.field for c in self.trigger.conditions)):
            unique.setdefault(name.lower(), name)
        return list(unique.values())

    def soql(self) -> str:
        where = ["BigTime_Project_Id__c = null"]
        values: dict[str, Any] = {}
        stages = list(self.stages) or ([] if self.trigger.any_won else list(self.trigger.stages))
        if self.trigger.any_won:
            where.insert(0, "IsWon = true")
        if stages:
            where.insert(0, "StageName IN {stages}")
            values["stages"] = stages
        if self.closed_since is not None:
            where.append("CloseDate >= {closed_since}")
            values["closed_since"] = self.closed_since
        if self.modified_after is not None:
            where.append("LastModifiedDate >= {modified_after}")
            values["modified_after"] = self.modified_after.astimezone(UTC).replace(microsecond=0)
        if self.modified_before is not None:
            where.append("LastModifiedDate <= {modified_before}")
            values["modified_before"] = self.modified_before.astimezone(UTC).replace(microsecond=0)
        # Oldest first, so a run that stops at its bound leaves the newest for the next one. Field paths
        # come from the validated mapping (letters, digits, _ and dots); values go through format_soql.
        text = (
            f"SELECT {', '.join(self.fields())} FROM Opportunity WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY LastModifiedDate ASC, Id ASC"
        )
        if self.limit is not None:
            text += f" LIMIT {int(self.limit)}"
        return format_soql(text, **values)


def is_trigger_stage(trigger: Trigger, stage: str) -> bool:
    """Whether ``stage`` can trigger (any stage can with ``any_won``: SOQL's ``IsWon`` decides then).
    Stage names compare case-insensitively, as in the worker and in SOQL."""
    return trigger.any_won or any(stage.casefold() == s.casefold() for s in trigger.stages)


@dataclass
class Candidate:
    opportunity_id: str
    name: str
    stage: str
    close_date: str | None
    last_modified: str
    salesforce_status: str | None
    action: Action
    code: str  # missed | changed | retry | mapped | in_progress | retrying | failed | seen | not_triggered
    reason: str
    delivery_id: str
    account_id: str | None = None


@dataclass
class SweepReport:
    source: str
    org_id: str
    soql: str
    dry_run: bool
    found: int = 0
    enqueued: int = 0
    deferred: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def to_enqueue(self) -> list[Candidate]:
        return [c for c in self.candidates if c.action == "enqueue"]


def delivery_id(opportunity_id: str, last_modified: str) -> str:
    """The same id for the same version of the Opportunity, whoever sweeps it and how often."""
    return f"sweep:{to_18(opportunity_id)}:{last_modified}"


def decide(
    record: dict[str, Any], state: dict[str, Any] | None, trigger: Trigger, *, include_failed: bool = False
) -> tuple[Action, str, str]:
    """:func:`classify`, once the worker's own trigger check passes: one it would skip is not enqueued."""
    not_triggered = trigger_check(OpportunitySnapshot(record), trigger)
    if not_triggered is not None:
        return "skip", "not_triggered", f"the worker would skip it: {not_triggered}"
    return classify(record, state, include_failed=include_failed)


def classify(
    record: dict[str, Any], state: dict[str, Any] | None, *, include_failed: bool = False
) -> tuple[Action, str, str]:
    """(action, code, reason) for one Opportunity in a trigger stage without a project in Salesforce."""
    if not state:
        return "enqueue", "missed", "the stack has no record of it"
    if state.get("project_id"):
        return (
            "skip",
            "mapped",
            f"BigTime project {state['project_id']} is recorded; Salesforce does not show it yet "
            "(write-back pending or failing: see `sf-bigtime status`)",
        )
    if state.get("claim_token"):
        return "skip", "in_progress", "a worker is creating its BigTime project right now"
    status = state.get("last_status")
    if status == "Retrying":
        if include_failed:
            return "enqueue", "retry", "retrying after a transient error; sent again as asked"
        return (
            "skip",
            "retrying",
            "being retried after a transient error (or in the dead-letter queue: `sf-bigtime redrive`)",
        )
    attempt_at = state.get("last_attempt_at")
    modified = parse_salesforce_datetime(record.get("LastModifiedDate"))
    seen = (
        attempt_at is not None
        and modified is not None
        and modified.timestamp() <= float(attempt_at) + SEEN_TOLERANCE_SECONDS
    )
    if not seen:
        return "enqueue", "changed", f"changed since the last sync attempt ({status or 'none'})"
    if status == "Failed":
        if include_failed:
            return "enqueue", "retry", "the last sync failed; sent again as asked"
        reason = str(state.get("last_reason") or state.get("last_error") or "unknown reason")
        return (
            "skip",
            "failed",
            f"the last sync failed: {reason[:200]} (fix it, then `backfill --include-failed`)",
        )
    return "skip", "seen", f"the worker saw this version already ({status or 'no outcome'})"


class Sweep:
    """Walk the query's pages, classify against the state table, enqueue what needs a sync."""

    def __init__(
        self,
        salesforce: SalesforceClient,
        store: StateStore,
        enqueue: Callable[[Sequence[SyncRequest]], list[str]],
        org_id: str,
    ) -> None:
        self.salesforce = salesforce
        self.store = store
        self.enqueue = enqueue
        self.org_id = to_18(org_id)

    def run(
        self,
        query: SweepQuery,
        *,
        source: Literal["backfill", "reconcile"],
        dry_run: bool = False,
        include_failed: bool = False,
        max_enqueue: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SweepReport:
        """``progress(done, total)`` after each page; raises EnqueueError/TransientError on failure."""
        soql = query.soql()
        report = SweepReport(source=source, org_id=self.org_id, soql=soql, dry_run=dry_run)
        skipped: Counter[str] = Counter()
        for records, total in self._pages(soql):
            states = self.store.get_many("opp", self.org_id, [to_18(r["Id"]) for r in records])
            batch: list[Candidate] = []
            for record in records:
                opp_id = to_18(record["Id"])
                action, code, reason = decide(
                    record, states.get(opp_id), query.trigger, include_failed=include_failed
                )
                if action == "enqueue" and max_enqueue is not None and report.enqueued >= max_enqueue:
                    action, reason = "defer", f"over this run's limit of {max_enqueue}: {reason}"
                candidate = _candidate(record, action, code, reason)
                report.candidates.append(candidate)
                report.found += 1
                if action == "skip":
                    skipped[code] += 1
                elif action == "defer":
                    report.deferred += 1
                else:
                    batch.append(candidate)
                    report.enqueued += 1  # counted now so the limit applies within the page
            if batch and not dry_run:
                self.enqueue([self._request(c, source) for c in batch])
            if progress is not None:
                progress(report.found, total)
        report.skipped = dict(skipped)
        return report

    def _pages(self, soql: str) -> Iterator[tuple[list[dict[str, Any]], int]]:
        for page in self.salesforce.query_pages(soql):
            yield list(page.get("records") or []), int(page.get("totalSize") or 0)

    def _request(self, candidate: Candidate, source: Literal["backfill", "reconcile"]) -> SyncRequest:
        return SyncRequest(
            org_id=self.org_id,
            opportunity_id=candidate.opportunity_id,
            account_id=candidate.account_id,
            stage_name=candidate.stage,
            source=source,
            delivery_id=candidate.delivery_id,
        )


def org_id_of(salesforce: SalesforceClient) -> str:
    """The org the credentials log into (one API call): the state table's keys carry it."""
    records = list(salesforce.query_all("SELECT Id FROM Organization LIMIT 1"))
    if not records:
        raise RuntimeError("Salesforce returned no Organization record")
    return to_18(str(records[0]["Id"]))


def parse_salesforce_datetime(value: Any) -> datetime | None:
    """``2026-11-25T20:17:24.000+0000`` (REST) or ``…Z``; None when absent or unreadable."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00 for fromisoformat
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _candidate(record: dict[str, Any], action: Action, code: str, reason: str) -> Candidate:
    opp_id = to_18(str(record["Id"]))
    last_modified = str(record.get("LastModifiedDate") or "")
    return Candidate(
        opportunity_id=opp_id,
        name=str(record.get("Name") or ""),
        stage=str(record.get("StageName") or ""),
        close_date=record.get("CloseDate"),
        last_modified=last_modified,
        salesforce_status=record.get("BigTime_Sync_Status__c"),
        action=action,
        code=code,
        reason=reason,
        delivery_id=delivery_id(opp_id, last_modified),
        account_id=to_18(record["AccountId"]) if record.get("AccountId") else None,
    )
