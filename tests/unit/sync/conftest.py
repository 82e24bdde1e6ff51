"""A sync's world in memory (tests/unit/sync/memory.py): Salesforce, BigTime and the state table as dicts,
one hand-moved Clock for claim ages and dates."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from sf_bigtime.mapping.load import build_mapping
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import to_18
from sf_bigtime.sync.context import SyncContext
from sf_bigtime.sync.outcome import Outcome
from sf_bigtime.sync.run import sync_opportunity
from tests.clock import Clock
from tests.unit.sync.memory import MemoryBigTime, MemorySalesforce, MemoryStore

ORG = "00D5w000004abcdEAA"
STALE = 960.0  # SyncContext.claim_stale_after
PICKLISTS = {"StatusProduction": {"Active": 1, "On Hold": 2, "Lost": 3}}
MARKER_FIELD = "Salesforce Opportunity Id"
OWNER_ID, OWNER_EMAIL = to_18("0055w00000OWNER"), "Olivia.Owner@acme.test"
OWNER_STAFFER = 2  # MemoryBigTime's staffer with that e-mail
TEAM_CALLS = ["staff", "project_team", "set_project_team"]  # the owner onto a new project's team


def stage_flags(stage: str) -> dict[str, Any]:
    return {"StageName": stage, "IsWon": stage == "Closed Won", "IsClosed": stage.startswith("Closed")}


class Memory:
    """One org, one BigTime, one state table; :meth:`sync` runs one sync as a fresh worker would."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sf = MemorySalesforce(ORG)
        self.bt = MemoryBigTime(picklists=PICKLISTS, custom_fields=(MARKER_FIELD,))
        self.store = MemoryStore(clock)
        self._ids = itertools.count(1)

    # -- running ----------------------------------------------------------------------------------
    def context(self, mapping: dict[str, Any] | None = None) -> SyncContext:
        return SyncContext(
            salesforce=self.sf,
            bigtime=self.bt,
            store=self.store,
            mapping=build_mapping(mapping, "(test)"),
            claim_stale_after=STALE,
            now=self.clock.datetime,
        )

    def request(self, opportunity_id: str, org_id: str = ORG) -> SyncRequest:
        return SyncRequest(
            org_id=org_id, opportunity_id=opportunity_id, source="json", delivery_id=f"d-{next(self._ids)}"
        )

    def sync(self, opportunity_id: str, mapping: dict[str, Any] | None = None) -> Outcome:
        return sync_opportunity(self.request(opportunity_id), self.context(mapping))

    def item(self, opportunity_id: str) -> dict[str, Any]:
        return self.store.get("opp", ORG, opportunity_id) or {}

    def account_item(self, opportunity_id: str) -> dict[str, Any]:
        account_id = self.sf.opportunities[opportunity_id]["AccountId"]
        return self.store.get("acct", ORG, account_id) or {}

    # -- Salesforce data --------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return to_18(f"{prefix}5w00000{next(self._ids):05d}")

    def account(self, name: str = "Acme Consulting Ltd", **fields: Any) -> dict[str, Any]:
        return {"Id": self._id("001"), "Name": name, "BillingCity": "San Francisco", "Phone": "555", **fields}

    def role(
        self, first: str, last: str, *, role: str = "Decision Maker", primary: bool = False, **contact: Any
    ) -> dict[str, Any]:
        contact_id = self._id("003")
        return {
            "Id": self._id("00K"),
            "ContactId": contact_id,
            "Role": role,
            "IsPrimary": primary,
            "IsDeleted": False,
            "Contact": {
                "Id": contact_id,
                "FirstName": first,
                "LastName": last,
                "Email": f"{first.lower()}@acme.test",
                "Title": "Director",
                **contact,
            },
        }

    def won_opportunity(
        self,
        account: dict[str, Any] | None = None,
        *,
        name: str = "Acme – Implementation",
        stage: str = "Closed Won",
        roles: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> str:
        """An Opportunity (Closed Won by default) with a primary and a billing contact role."""
        account = account or self.account()
        opp_id = self._id("006")
        if roles is None:
            roles = [
                self.role("Ada", "Lovelace", primary=True),
                self.role("Grace", "Hopper", role="Economic Buyer"),
            ]
        self.sf.opportunities[opp_id] = {
            "Id": opp_id,
            "Name": name,
            **stage_flags(stage),
            "IsDeleted": False,
            "AccountId": account["Id"],
            "Account": copy.deepcopy(account),
            "CloseDate": "2026-12-01",
            "Description": None,
            "BigTime_Project_Id__c": None,
            "BigTime_Sync_Status__c": None,
            "OpportunityContactRoles": {"totalSize": len(roles), "done": True, "records": roles},
            # The owner is a BigTime staffer too (MemoryBigTime's staffer 2): the project team's member.
            "OwnerId": OWNER_ID,
            "Owner": {"Email": OWNER_EMAIL, "Name": "Olivia Owner"},
            **fields,
        }
        return opp_id

    def line_item(
        self,
        opportunity_id: str,
        product: str,
        quantity: float,
        unit_price: float,
        *,
        unit: str | None = "Hours",
        family: str | None = None,
        **fields: Any,
    ) -> str:
        """Add a line item as the one query returns it (Product2 nested); returns its id. Salesforce rolls
        the line items up into the Opportunity's Amount."""
        item_id = self._id("00k")
        item = {
            "Id": item_id,
            "IsDeleted": False,
            "Quantity": float(quantity),
            "UnitPrice": float(unit_price),
            "TotalPrice": round(quantity * unit_price, 2),
            "Description": None,
            "ServiceDate": None,
            "Product2": {"Name": product, "Family": family, "QuantityUnitOfMeasure": unit},
            **fields,
        }
        self._line_items(opportunity_id).append(item)
        self._roll_up(opportunity_id)
        return item_id

    def edit_line_item(self, opportunity_id: str, item_id: str, **fields: Any) -> None:
        item = next(i for i in self._line_items(opportunity_id) if i["Id"] == item_id)
        item.update(fields)
        if "Quantity" in fields or "UnitPrice" in fields:
            item["TotalPrice"] = round(item["Quantity"] * item["UnitPrice"], 2)
        self._roll_up(opportunity_id)

    def delete_line_item(self, opportunity_id: str, item_id: str) -> None:
        """Deleted: queryAll still returns it, flagged (as it does for deleted children)."""
        self.edit_line_item(opportunity_id, item_id, IsDeleted=True)

    def team_member(self, opportunity_id: str, email: str, role: str, name: str = "Sam Rivera") -> None:
        rows = self.sf.opportunities[opportunity_id].setdefault("OpportunityTeamMembers", {"records": []})
        rows["records"].append(
            {
                "Id": self._id("00q"),
                "IsDeleted": False,
                "UserId": self._id("005"),
                "TeamMemberRole": role,
                "User": {"Email": email, "Name": name},
            }
        )

    def _line_items(self, opportunity_id: str) -> list[dict[str, Any]]:
        opp = self.sf.opportunities[opportunity_id]
        return opp.setdefault("OpportunityLineItems", {"records": []})["records"]

    def _roll_up(self, opportunity_id: str) -> None:
        live = [i for i in self._line_items(opportunity_id) if not i["IsDeleted"]]
        self.edit(opportunity_id, Amount=round(sum(i["TotalPrice"] for i in live), 2))

    def edit(self, opportunity_id: str, **fields: Any) -> None:
        self.sf.opportunities[opportunity_id].update(fields)

    def move_to(self, opportunity_id: str, stage: str) -> None:
        self.edit(opportunity_id, **stage_flags(stage))

    def delete(self, opportunity_id: str) -> None:
        self.edit(opportunity_id, IsDeleted=True)


@pytest.fixture
def mem(clock: Clock) -> Memory:
    return Memory(clock)
