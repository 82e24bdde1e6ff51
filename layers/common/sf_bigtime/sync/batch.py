"""One Salesforce read and one write-back for a whole SQS batch, instead of one of each per Opportunity.

The worker opens a :class:`BatchIO` around a batch that names two or more Opportunities of our org. Before
the first sync it reads them all in one query (``WHERE Id IN (…)``, with the same child subqueries); each
sync takes its Opportunity from there (:func:`read_opportunity`) and leaves its write-back here instead of
making it (:func:`defer_write_back`); after the last sync, :meth:`BatchIO.flush` writes them all in one
``/composite`` request of sObject Collections, each record on its own. A batch of ten costs two API calls
instead of twenty; a lone event still costs its two.

Why a deferred write-back loses nothing: a sync's idempotent outcome is stored before the batch's
write-back is made. If that write-back fails, or the invocation ends before it, the message comes back
(reported failed, or never deleted); its replay finds that the Opportunity's item records no write-back made
since the outcome's ``write_back_due``, and the worker syncs again (``Worker._write_back_lost``). The sync
itself is idempotent by the state table, so that costs a read and the write-back, never a second project.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC

from sf_bigtime.clients.salesforce import OpportunitySnapshot, WriteBack
from sf_bigtime.errors import SyncError
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import same_org, to_18
from sf_bigtime.sync.context import SyncContext


@dataclass
class DeferredWriteBack:
    """A sync's write-back, waiting for the end of its batch."""

    org: str
    opportunity_id: str
    write_back: WriteBack


@dataclass
class BatchIO:
    """The Salesforce side of one batch: the Opportunities read up front, the write-backs left for the end."""

    # By 18-character id: None for an Opportunity that was read and is gone. An id not here was not read
    # up front (the batch read failed, or it came from another org): its sync reads it itself.
    snapshots: dict[str, OpportunitySnapshot | None]
    read_error: SyncError | None = None
    deferred: dict[str, DeferredWriteBack] = field(default_factory=dict)  # by 18-character id; last wins
    salesforce_calls: int = 0  # the batch's own calls (the read and the flush), not any one sync's

    @classmethod
    def open(cls, ctx: SyncContext, requests: Sequence[SyncRequest]) -> BatchIO | None:
        """Read the batch's Opportunities in one query; None when the batch names fewer than two of them
        (a lone event reads and writes as it always did: batching would save nothing)."""
        try:
            ours = ctx.salesforce.logged_in_org()
        except SyncError:
            return None  # every sync fails on its own, with the login's reason
        ids = list(
            dict.fromkeys(
                to_18(r.opportunity_id)
                for r in requests
                if r.kind == "sync" and (ours is None or same_org(r.org_id, ours))
            )
        )
        if len(ids) < 2:
            return None
        before = ctx.salesforce.calls
        try:
            found = ctx.salesforce.read_opportunities(ids, *ctx.mapping.query_fields())
            batch = cls({opportunity_id: found.get(opportunity_id) for opportunity_id in ids})
        except SyncError as exc:  # each sync reads its own Opportunity, and fails or succeeds on its own
            batch = cls({}, read_error=exc)
        batch.salesforce_calls = ctx.salesforce.calls - before
        return batch

    def flush(self, ctx: SyncContext) -> dict[str, SyncError | None]:
        """Make the deferred write-backs (one API call) and note each that was made on its Opportunity's
        item. Returns each Opportunity's result by 18-character id: None when written, else the error."""
        items = list(self.deferred.values())
        self.deferred = {}
        if not items:
            return {}
        results: dict[str, SyncError | None]
        before = ctx.salesforce.calls
        try:
            results = ctx.salesforce.write_back_batch([(d.opportunity_id, d.write_back) for d in items])
        except SyncError as exc:
            results = {d.opportunity_id: exc for d in items}
        finally:
            self.salesforce_calls += ctx.salesforce.calls - before
        for item in items:
            if results.get(item.opportunity_id) is None:
                ctx.store.update(
                    "opp",
                    item.org,
                    item.opportunity_id,
                    written_back_message=item.write_back.message,
                    written_back_at=written_at(item.write_back),
                )
        return {to_18(d.opportunity_id): results.get(d.opportunity_id) for d in items}


# The batch being handled on this thread (the local stack's pollers share one Worker across threads).
_current: ContextVar[BatchIO | None] = ContextVar("sf_bigtime_batch_io", default=None)


@contextmanager
def batch_scope(batch: BatchIO | None) -> Iterator[None]:
    """Within this block, syncs on this thread read from and defer their write-backs to ``batch``."""
    token = _current.set(batch)
    try:
        yield
    finally:
        _current.reset(token)


def in_batch() -> bool:
    """Whether write-backs are being deferred to a batch on this thread."""
    return _current.get() is not None


def read_opportunity(ctx: SyncContext, opportunity_id: str) -> OpportunitySnapshot | None:
    """The Opportunity as its batch read it (a copy: two deliveries of one Opportunity may share a batch),
    else as a query of its own reads it now."""
    batch = _current.get()
    if batch is not None and (key := to_18(opportunity_id)) in batch.snapshots:
        snapshot = batch.snapshots[key]
        return None if snapshot is None else OpportunitySnapshot(copy.deepcopy(snapshot.record))
    return ctx.salesforce.read_opportunity(opportunity_id, *ctx.mapping.query_fields())


def defer_write_back(org: str, opportunity_id: str, write_back: WriteBack) -> bool:
    """Leave the write-back to the end of the batch, if there is one (a later one of the same Opportunity
    replaces it: it is the newer outcome). False when it must be made now."""
    batch = _current.get()
    if batch is None:
        return False
    batch.deferred[to_18(opportunity_id)] = DeferredWriteBack(org, opportunity_id, write_back)
    return True


def written_at(wb: WriteBack) -> str:
    """``written_back_at`` on the Opportunity's item: the time of the last write-back made (ISO, UTC)."""
    return wb.synced_at.astimezone(UTC).isoformat()
