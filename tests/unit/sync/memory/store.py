"""The state table's items in a dict, with StateStore's conditions (sf_bigtime.clients.store)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from sf_bigtime.clients.store import WHAT, Claim, Kind, item_key
from sf_bigtime.errors import TransientError

_TARGET: dict[Kind, str] = {"opp": "project_id", "acct": "client_id", "task": "task_id"}


class MemoryStore:
    """The state table's items in a dict, with StateStore's conditions (sf_bigtime.clients.store)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.items: dict[str, dict[str, Any]] = {}

    def _now(self) -> float:
        return round(self.clock(), 3)

    def _item(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any]:
        key = item_key(kind, org_id, record_id)
        return self.items.setdefault(key, {"id": key})

    def get(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any] | None:
        item = self.items.get(item_key(kind, org_id, record_id))
        return copy.deepcopy(item) if item else None

    def claim(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> Claim:
        now, token, target = self._now(), uuid.uuid4().hex, _TARGET[kind]
        old = copy.deepcopy(self.items.get(item_key(kind, org_id, record_id)) or {})
        free = "claim_token" not in old or old.get("claimed_at", now) < now - stale_after
        if target in old or not free:
            if old.get(target):
                return Claim(token=None, existing=str(old[target]), must_look_up=False, item=old)
            held_for = now - float(old.get("claimed_at", now))
            raise TransientError(
                f"another worker is creating this {WHAT[kind]} (claimed {held_for:.0f}s ago)",
                code="claim_busy",
                retry_after=None,
            )
        item = self._item(kind, org_id, record_id)
        item.update(claim_token=token, claimed_at=now, org_id=org_id, record_id=record_id, kind=kind)
        item.setdefault("created_at", now)
        item["updated_at"] = now
        must_look_up = bool(old.get("claim_token")) or bool(old.get("needs_lookup"))
        return Claim(token=token, existing=None, must_look_up=must_look_up, item=old)

    def record(
        self, kind: Kind, org_id: str, record_id: str, token: str, target_id: str, **attrs: Any
    ) -> dict[str, Any]:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("claim_token") != token:
            raise TransientError("our claim was taken over by another worker", code="claim_lost")
        item.update(copy.deepcopy(attrs))
        item[_TARGET[kind]] = target_id
        item["updated_at"] = self._now()
        for name in ("claim_token", "claimed_at", "needs_lookup"):
            item.pop(name, None)
        return copy.deepcopy(item)

    def release(self, kind: Kind, org_id: str, record_id: str, token: str, *, uncertain: bool) -> None:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("claim_token") != token:
            return  # already gone or taken over: nothing to give back
        item.pop("claim_token", None)
        item.pop("claimed_at", None)
        item["updated_at"] = self._now()
        if uncertain:
            item["needs_lookup"] = True

    def lease_attrs(self, token: str) -> dict[str, Any]:
        return {"contacts_lease": token, "contacts_lease_at": self.clock()}

    def lease(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> str:
        now, token = self._now(), uuid.uuid4().hex
        old = self.items.get(item_key(kind, org_id, record_id)) or {}
        if "contacts_lease" in old and not old.get("contacts_lease_at", now) < now - stale_after:
            raise TransientError(
                "another worker is adding this Opportunity's contacts", code="contacts_busy", retry_after=5
            )
        self._item(kind, org_id, record_id).update(
            contacts_lease=token, contacts_lease_at=now, updated_at=now
        )
        return token

    def end_lease(self, kind: Kind, org_id: str, record_id: str, token: str, **attrs: Any) -> None:
        item = self.items.get(item_key(kind, org_id, record_id))
        if item is None or item.get("contacts_lease") != token:
            return  # taken over meanwhile: the new holder records
        item.update(copy.deepcopy(attrs))
        item["updated_at"] = self._now()
        item.pop("contacts_lease", None)
        item.pop("contacts_lease_at", None)

    def update(self, kind: Kind, org_id: str, record_id: str, **attrs: Any) -> None:
        item = self._item(kind, org_id, record_id)
        item.update(copy.deepcopy(attrs))
        item["updated_at"] = self._now()

    def record_outcome(
        self,
        org_id: str,
        opportunity_id: str,
        *,
        status: str,
        reason: str,
        delivery_id: str,
        source: str,
        salesforce_calls: int,
        bigtime_calls: int,
        error: str | None = None,
        changes: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        now = self._now()
        item = self._item("opp", org_id, opportunity_id)
        item.update(
            last_status=status,
            last_reason=reason[:2000],
            last_delivery_id=delivery_id,
            last_source=source,
            last_attempt_at=now,
            last_salesforce_calls=salesforce_calls,
            last_bigtime_calls=bigtime_calls,
            org_id=org_id,
            record_id=opportunity_id,
            kind="opp",
            updated_at=now,
        )
        item.setdefault("created_at", now)
        item["attempts"] = item.get("attempts", 0) + 1
        if error:
            item.update(last_error=error[:2000], last_error_at=now)
        if status in ("Synced", "Skipped"):
            item["last_success_at"] = now
        if changes is not None:
            item["last_changes"] = copy.deepcopy(changes)
            item["last_warnings"] = [w[:500] for w in (warnings or [])][:20]
