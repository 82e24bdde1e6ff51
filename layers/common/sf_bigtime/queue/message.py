"""The normalized queue message: the only thing ingest puts on SQS and the worker reads from it.

The queue never sees a raw Salesforce payload; every entry point (JSON callout, Outbound Message,
EventBridge, reconcile sweep...) produces this model. ``v`` lets later versions change the shape while
old messages still parse.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sf_bigtime.sfid import to_18

Source = Literal["json", "outbound_message", "cdc", "platform_event", "reconcile", "backfill", "cli"]

SalesforceId = Annotated[str, AfterValidator(to_18)]

# SQS MessageDeduplicationId: at most 128 characters of alphanumerics and punctuation.
_DEDUP_OK = re.compile(r"^[\x21-\x7e]{1,128}$")


def dedup_id(delivery_id: str) -> str:
    """A valid SQS MessageDeduplicationId for a delivery id (hashed when it would not fit)."""
    if _DEDUP_OK.match(delivery_id):
        return delivery_id
    return hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()


class SyncRequest(BaseModel):
    """Queue message v1: "look at this Opportunity again" — a trigger, never the truth
    (docs/decisions.md#events-are-triggers-not-truth)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1
    org_id: SalesforceId
    opportunity_id: SalesforceId
    account_id: SalesforceId | None = None
    stage_name: str | None = Field(default=None, max_length=255)
    # When Salesforce last changed the record, if the sender said (informational: the worker re-reads).
    last_modified_date: datetime | None = None
    source: Source
    delivery_id: str = Field(min_length=1, max_length=512)
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # "pull": copy BigTime's figures onto the BigTime Project record(s) now ("Pull from BigTime"), for one
    # BigTime project when ``bigtime_project_id`` is set, else for the Opportunity's. Default: a sync.
    kind: Literal["sync", "pull"] = "sync"
    bigtime_project_id: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,18}$")

    @property
    def group_id(self) -> str:
        """FIFO group: one Opportunity's messages are processed in order, others in parallel."""
        return self.opportunity_id

    @property
    def deduplication_id(self) -> str:
        return dedup_id(self.delivery_id)
