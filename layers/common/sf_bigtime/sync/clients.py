"""The BigTime client of the Opportunity's Account: found or created exactly once, its ``sync`` fields
kept up to date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.clients.store import Claim, Kind
from sf_bigtime.errors import PermanentError
from sf_bigtime.mapping.transform import client_payload, code, differences, normalize_name, update_body
from sf_bigtime.sync.claims import Made, create_once, same_code
from sf_bigtime.sync.context import SyncRun


@dataclass
class ClientRef:
    id: int
    name: str
    created: bool
    item: dict[str, Any]  # the Account's state table item if it maps to this client, else {}


def client_name(run: SyncRun, account_item: dict[str, Any] | None = None) -> str:
    """The client's name as we recorded it, else the Account's."""
    item = run.account_item() if account_item is None else account_item
    return str(item.get("client_name") or run.opp.get("Account.Name") or "")


def known_client(run: SyncRun) -> ClientRef | None:
    """The client of an already created project (its client never changes)."""
    if not (run.state.get("project_id") and run.state.get("client_id")):
        return None
    account = run.account_item()
    own = account if account.get("client_id") == str(run.state["client_id"]) else {}
    return ClientRef(int(run.state["client_id"]), client_name(run, account), False, own)


def ensure_client(run: SyncRun) -> ClientRef:
    """The Account's client: recorded, else found (by code, by name) or created, exactly once."""
    account_id = run.opp.account_id
    name = str(run.opp.get("Account.Name") or "")
    if not account_id or not name:
        raise PermanentError(
            "The Opportunity has no Account: set the Account and save the Opportunity again."
        )
    item = run.store.get("acct", run.org, account_id) or {}
    if item.get("client_id"):
        return ClientRef(int(item["client_id"]), str(item.get("client_name") or name), False, item)
    return create_once(run, _NewClient(run, account_id, name))


class _NewClient:
    """The client's steps of :func:`~sf_bigtime.sync.claims.create_once`."""

    kind: Kind = "acct"
    what = "client"
    id_keys: tuple[str, ...] = ("SystemId", "Id")

    def __init__(self, run: SyncRun, account_id: str, name: str) -> None:
        self.run, self.salesforce_id, self.name = run, account_id, name
        self.section = run.mapping.client
        self.code = code(self.section.code, run.opp, run.today)

    def known(self, claim: Claim) -> ClientRef:
        return ClientRef(int(str(claim.existing)), self.name, False, claim.item)

    def find(self, must_look_up: bool) -> BigTimeObject | None:
        # One list serves both the marker lookup (client code) and the name rule; with `never` and no
        # doubt about an earlier attempt, nothing needs looking up.
        by_name = self.section.match == "name"
        clients = self.run.bigtime.list_clients() if by_name or must_look_up else []
        found = _by_code(clients, self.code)
        if found is None and by_name:
            found = _by_name(clients, self.name)
        return found

    def body(self) -> dict[str, Any]:
        payload = client_payload(self.run.opp, self.run.mapping, self.run.today, sync_only=False)
        return {**self.run.resolve(payload), **({"ClientId": self.code} if self.code else {})}

    def create(self, body: dict[str, Any]) -> BigTimeObject:
        return self.run.bigtime.create_client(body)

    def find_by_code(self) -> BigTimeObject | None:
        return _by_code(self.run.bigtime.list_clients(), self.code) if self.code else None

    def attributes(self, made: Made) -> dict[str, Any]:
        if not made.created:
            return {"client_name": self.name}
        synced = client_payload(self.run.opp, self.run.mapping, self.run.today, sync_only=True)
        return {"client_name": self.name, "synced_hash": synced.fingerprint()}

    def result(self, made: Made) -> ClientRef:
        return ClientRef(made.id, self.name, made.created, made.item)


def _by_code(clients: list[BigTimeObject], client_code: str | None) -> BigTimeObject | None:
    return next((c for c in clients if same_code(c.get("ClientId"), client_code)), None)


def _by_name(clients: list[BigTimeObject], name: str) -> BigTimeObject | None:
    """Exact normalized name: finds an existing client and, after a crash, the one we created."""
    matches = [c for c in clients if normalize_name(c.get("Nm")) == normalize_name(name)]
    if len(matches) > 1:
        ids = ", ".join(f"{c.get('Nm')} (id {bigtime_id(c)})" for c in matches)
        raise PermanentError(
            f"Several BigTime clients are named like the Account {name!r}: {ids}. "
            "Merge or rename them in BigTime (or set client.match/code in the mapping), "
            "then save the Opportunity again."
        )
    return matches[0] if matches else None


def update_client(run: SyncRun, client: ClientRef) -> list[str]:
    """Bring the client's `sync` fields up to date if the Account changed since they were last written."""
    desired = client_payload(run.opp, run.mapping, run.today, sync_only=True)
    if not desired or client.item.get("synced_hash") == desired.fingerprint():
        return []
    current = run.bigtime.get_client(client.id)
    changes = differences(current, run.resolve(desired))
    if changes:
        run.bigtime.update_client(client.id, update_body(current, changes))
    run.store.update("acct", run.org, str(run.opp.account_id), synced_hash=desired.fingerprint())
    return sorted(changes)
