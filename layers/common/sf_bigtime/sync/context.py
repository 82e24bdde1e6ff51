"""What a sync talks to (:class:`SyncContext`, one per warm Lambda) and one sync of one Opportunity
(:class:`SyncRun`: the org, the Opportunity as read now, its item in the state table, today's date)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sf_bigtime.clients.salesforce import OpportunitySnapshot
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.mapping.transform import Payload
from sf_bigtime.sync.ports import BigTimePort, SalesforcePort, StatePort


@dataclass
class SyncContext:
    """Everything a sync talks to; built once per warm Lambda and reused."""

    salesforce: SalesforcePort
    bigtime: BigTimePort
    store: StatePort
    mapping: Mapping
    claim_stale_after: float = 960.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class SyncRun:
    """One sync of one Opportunity that exists in Salesforce (possibly in the recycle bin)."""

    ctx: SyncContext
    org: str
    opp: OpportunitySnapshot
    state: dict[str, Any]  # the Opportunity's item in the state table ({} if none)
    today: str  # ISO date (UTC): {today} in templates, and the dates the mapping computes
    # The item as the project's claim found it or its record left it (DynamoDB returns both with the
    # write): what :meth:`reread` would read, without the read.
    known_item: dict[str, Any] | None = None

    @classmethod
    def start(cls, ctx: SyncContext, org: str, opp: OpportunitySnapshot, state: dict[str, Any]) -> SyncRun:
        return cls(ctx, org, opp, state, ctx.now().astimezone(UTC).date().isoformat())

    @property
    def salesforce(self) -> SalesforcePort:
        return self.ctx.salesforce

    @property
    def bigtime(self) -> BigTimePort:
        return self.ctx.bigtime

    @property
    def store(self) -> StatePort:
        return self.ctx.store

    @property
    def mapping(self) -> Mapping:
        return self.ctx.mapping

    def save(self, **attrs: Any) -> None:
        """Set attributes on the Opportunity's item (the in-memory ``state`` is not changed)."""
        self.store.update("opp", self.org, self.opp.id, **attrs)

    def reread(self) -> None:
        """The Opportunity's item again, after a claim recorded the project on it: as that claim's write
        returned it, else read."""
        if self.known_item is not None:
            self.state, self.known_item = self.known_item, None
            return
        self.state = self.store.get("opp", self.org, self.opp.id) or self.state

    def account_item(self) -> dict[str, Any]:
        """The Account's item in the state table ({} if none, or if the Opportunity has no Account)."""
        account_id = self.opp.account_id
        return (self.store.get("acct", self.org, account_id) if account_id else None) or {}

    def resolve(self, payload: Payload) -> dict[str, Any]:
        """Picklist names -> BigTime ids (cached lists); everything else as is."""
        values = dict(payload.values)
        for key, list_name in payload.picklists.items():
            values[key] = self.bigtime.picklist_id(list_name, str(values[key]))
        return values
