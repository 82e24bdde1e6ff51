"""Salesforce in a dict: the Opportunities as the sync's one query returns them, and the write-backs."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from sf_bigtime.clients.salesforce import ChildQuery, OpportunityDeleted, OpportunitySnapshot, WriteBack
from sf_bigtime.errors import SyncError
from sf_bigtime.sfid import to_18
from tests.unit.sync.memory.faults import Faults


class MemorySalesforce:
    """Opportunities as the sync's one query returns them (nested Account, contact roles, line items and
    team members: ``{"OpportunityLineItems": {"records": [...]}}``), and the write-backs, applied to them
    as Salesforce would. ``calls`` counts API calls (a read, a write-back); ``queried`` lists the child
    relationships each read asked for."""

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.calls = 0
        self.api_usage: tuple[int, int] | None = None
        self.faults = Faults()
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.write_backs: list[tuple[str, WriteBack]] = []
        self.project_rows: dict[str, dict[str, Any]] = {}  # BigTime_Project__c by BigTime_Project_Id__c
        self.queried: list[list[str]] = []
        self.batch_reads: list[list[str]] = []  # the ids of each batch's one read
        self.batch_writes: list[list[str]] = []  # the Opportunities of each batch's one write-back

    def logged_in_org(self) -> str | None:
        return self.org_id[:15]

    def read_opportunity(
        self,
        opportunity_id: str,
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> OpportunitySnapshot | None:
        self.calls += 1
        self.queried.append([child.relationship for child in children])

        def apply() -> OpportunitySnapshot | None:
            if opportunity_id not in self.opportunities:
                return None
            return self._snapshot(opportunity_id, children)

        return self.faults.call("read_opportunity", apply)

    def _snapshot(self, opportunity_id: str, children: Sequence[ChildQuery]) -> OpportunitySnapshot:
        # Like the real query: a child relationship not asked for is not in the reply.
        asked = {child.relationship for child in children}
        unasked = {"OpportunityLineItems", "OpportunityTeamMembers"} - asked
        record = self.opportunities[opportunity_id]
        return OpportunitySnapshot({k: copy.deepcopy(v) for k, v in record.items() if k not in unasked})

    def write_back(self, opportunity_id: str, wb: WriteBack) -> None:
        self.calls += 1
        self.faults.call("write_back", lambda: self._apply(opportunity_id, wb))

    def _apply(self, opportunity_id: str, wb: WriteBack) -> None:
        record = self.opportunities.get(opportunity_id)
        if record is None or record.get("IsDeleted"):
            raise OpportunityDeleted(
                "Salesforce write-back was refused: ENTITY_IS_DELETED: entity is deleted",
                code="salesforce_deleted",
            )
        self.write_backs.append((opportunity_id, copy.deepcopy(wb)))
        record.update(BigTime_Sync_Status__c=wb.status, BigTime_Sync_Message__c=wb.message)
        record["BigTime_Last_Synced__c"] = wb.synced_at.isoformat()
        if wb.project_id:
            record["BigTime_Project_Id__c"] = wb.project_id
        if wb.project_url:
            record["BigTime_Project_URL__c"] = wb.project_url
        if wb.project_id and wb.project is not None:
            self.project_rows[wb.project_id] = {**wb.project, "BigTime_Project_Id__c": wb.project_id}

    def read_opportunities(
        self,
        opportunity_ids: Sequence[str],
        opportunity_fields: Sequence[str] = (),
        contact_role_fields: Sequence[str] | None = (),
        children: Sequence[ChildQuery] = (),
    ) -> dict[str, OpportunitySnapshot]:
        """One call for all of them, keyed by 18-character id, like the real query."""
        self.calls += 1
        self.queried.append([child.relationship for child in children])
        self.batch_reads.append(list(opportunity_ids))

        def apply() -> dict[str, OpportunitySnapshot]:
            found: dict[str, OpportunitySnapshot] = {}
            for opportunity_id in opportunity_ids:
                key = next((k for k in self.opportunities if to_18(k) == to_18(opportunity_id)), None)
                if key is not None:
                    found[to_18(key)] = self._snapshot(key, children)
            return found

        return self.faults.call("read_opportunities", apply)

    def write_back_batch(self, write_backs: Sequence[tuple[str, WriteBack]]) -> dict[str, SyncError | None]:
        """One call; each record on its own (a deleted Opportunity fails alone), like the real collections."""
        self.calls += 1
        self.batch_writes.append([opportunity_id for opportunity_id, _ in write_backs])

        def apply() -> dict[str, SyncError | None]:
            results: dict[str, SyncError | None] = {}
            for opportunity_id, wb in write_backs:
                try:
                    self.faults.call(
                        "write_backs_record", lambda oid=opportunity_id, w=wb: self._apply(oid, w)
                    )
                    results[opportunity_id] = None
                except SyncError as exc:
                    results[opportunity_id] = exc
            return results

        return self.faults.call("write_backs", apply)
