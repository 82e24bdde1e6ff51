"""The state table (DynamoDB): claims, Opportunity -> project and Account -> client mappings, outcomes.

One table holds Powertools' idempotency records and these items (``id`` is the partition key). Their
shape is a contract: ``sf-bigtime status`` and operators read them, so add attributes, never rename.

``opp#<org18>#<opportunity id18>`` — one per Opportunity the worker has seen:

====================== =================================================================================
``kind``, ``org_id``,  ``"opp"``, the org, the Opportunity id
``record_id``
``project_id``         BigTime project ``SystemId`` (string) once created or adopted; never changes
``project_code``       its project code; ``client_id``: its client's ``SystemId``
``claim_token``,       present only while a worker creates the project (see below); ``needs_lookup``:
``claimed_at``         an attempt may have created it in BigTime without recording it
``synced_hash``        fingerprint of the mapping's ``sync`` project fields as last written to BigTime
``contacts_hash``,     fingerprint of the contact roles as last synced; warnings about skipped contacts
``contact_warnings``
``contacts_lease``,    present while one worker compares and adds contacts (adding is not idempotent)
``contacts_lease_at``
``marker_written``     the Opportunity id is in the project custom field (``project.opportunity_id_field``)
``lifecycle``          ``active`` | ``closed_lost`` | ``deleted``: the last lifecycle action applied
``written_back_message`` the message last written onto the Opportunity
``last_status``        ``Synced`` | ``Skipped`` | ``Failed`` | ``Retrying`` (a transient failure)
``last_reason``        what happened, for a person (the Opportunity's BigTime Sync Message)
``last_error``,        the last failure's reason and when (kept after later successes)
``last_error_at``
``last_changes``       map: ``created_client``, ``created_project`` (bool), ``updated_client``,
                       ``updated_project`` (field names), ``contacts_added``, ``contacts_updated``,
                       ``tasks_added``, ``tasks_updated``, ``tasks_archived``, ``team_added`` (int),
                       ``lifecycle`` (event applied or null), ``wrote_back`` (bool)
``last_warnings``      list of warnings of the last sync (e.g. a contact without a name)
``last_salesforce_calls``, ``last_bigtime_calls``: API calls the last attempt spent (Salesforce's token
                       requests are not API calls and are not counted)
``last_delivery_id``,  the delivery (event) and its source (json, outbound_message, cdc, reconcile, …)
``last_source``
``attempts``           how many times a sync of this Opportunity ran (every outcome, retries included)
``created_at``, ``updated_at``, ``last_attempt_at``, ``last_success_at``: epoch seconds (numbers)
====================== =================================================================================

``acct#<org18>#<account id18>``: ``kind`` ``"acct"``, ``org_id``, ``record_id``, ``client_id``,
``client_name``, the claim attributes, ``synced_hash`` (the ``sync`` client fields), timestamps.

``task#<org18>#<opportunity id18>/<task key>``: ``kind`` ``"task"``, ``org_id``, ``record_id``, ``task_id``
(BigTime ``TaskSid``), ``task_code``, ``project_id``, the claim attributes, ``synced_hash`` (the task's
``sync`` fields when it was created), timestamps. The key is a line item id, ``family:<name>``, ``budget``
or ``amount`` (``sf_bigtime.mapping.task_plans``). The Opportunity's item adds ``tasks`` (map: key ->
``{id, hash, archived}``, what the last task sync left), ``tasks_hash`` (fingerprint of the task plans as
last applied), ``team_hash`` and ``team_warnings`` (the team as last applied; ``sf_bigtime.sync.team``).

Keys carry the org because a sandbox refreshed from production reuses production's record ids
(docs/decisions.md#state-keyed-by-org-one-org-per-stack).
Mapping items have no ``expiration``: they never expire.

Exactly-once creation (docs/decisions.md#exactly-one-project-and-one-client): a worker *claims* the item
with a conditional write before creating anything in BigTime and records BigTime's id under the same claim
at once. A claim older than any worker can live is stale and may be taken over; whoever takes over a claim
that did not end cleanly must look the record up in BigTime by its marker before creating it again.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, cast

import boto3
from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sf_bigtime.errors import TransientError

Kind = Literal["opp", "acct", "task"]
_TARGET: dict[Kind, str] = {"opp": "project_id", "acct": "client_id", "task": "task_id"}
WHAT: dict[Kind, str] = {"opp": "project", "acct": "client", "task": "task"}
_DDB_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 4, "mode": "standard"})


@lru_cache(maxsize=4)
def _table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_DDB_CONFIG).Table(name)


def item_key(kind: Kind, org_id: str, record_id: str) -> str:
    return f"{kind}#{org_id}#{record_id}"


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`StateStore.claim`.

    ``token`` is set when we hold the claim; ``existing`` is the BigTime id when the work is already
    done; ``must_look_up`` says an earlier attempt may have created the record without recording it.
    """

    token: str | None
    existing: str | None
    must_look_up: bool
    item: dict[str, Any]


class StateStore:
    """Conditional-write helpers over the state table; every method is safe under concurrency."""

    def __init__(self, table_name: str, *, table: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self._table = table
        self.clock = clock

    @property
    def table(self) -> Any:
        if self._table is None:
            self._table = _table(self.table_name)
        return self._table

    # -- reads ------------------------------------------------------------------------------------
    def get(self, kind: Kind, org_id: str, record_id: str) -> dict[str, Any] | None:
        try:
            reply = self.table.get_item(Key={"id": item_key(kind, org_id, record_id)}, ConsistentRead=True)
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"state table read failed: {type(exc).__name__}") from None
        item = reply.get("Item")
        return _plain(item) if item else None

    def get_many(self, kind: Kind, org_id: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Items by record id (missing ones absent), 100 keys per BatchGetItem: reconcile reads thousands."""
        found: dict[str, dict[str, Any]] = {}
        name = self.table.name
        for start in range(0, len(record_ids), 100):
            chunk = dict.fromkeys(record_ids[start : start + 100])
            keys = [{"id": item_key(kind, org_id, rid)} for rid in chunk]
            request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
            for _attempt in range(8):  # unprocessed keys come back under load; retry them with a pause
                try:
                    reply = self.table.meta.client.batch_get_item(RequestItems=request)
                except (BotoCoreError, ClientError) as exc:
                    raise TransientError(f"state table read failed: {type(exc).__name__}") from None
                # The resource's client (de)serialises Python values, unlike a plain boto3 client.
                for raw in reply.get("Responses", {}).get(name, []):
                    item = _plain(raw)
                    found[str(item["id"]).rsplit("#", 1)[-1]] = item
                request = reply.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**_attempt)
            else:
                raise TransientError("state table read failed: keys left unprocessed")
        return found

    # -- claims -----------------------------------------------------------------------------------
    def claim(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> Claim:
        """Take the right to create the BigTime record for this Opportunity/Account, or learn who has it."""
        now = self.clock()
        token = uuid.uuid4().hex
        target = _TARGET[kind]
        key = item_key(kind, org_id, record_id)
        try:
            reply = self.table.update_item(
                Key={"id": key},
                UpdateExpression=(
                    "SET claim_token = :t, claimed_at = :now, org_id = :org, record_id = :rid, kind = :kind, "
                    "created_at = if_not_exists(created_at, :now), updated_at = :now"
                ),
                ConditionExpression=Attr(target).not_exists()
                & (Attr("claim_token").not_exists() | Attr("claimed_at").lt(_num(now - stale_after))),
                ExpressionAttributeValues={
                    ":t": token,
                    ":now": _num(now),
                    ":org": org_id,
                    ":rid": record_id,
                    ":kind": kind,
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise TransientError(
                    f"state table write failed: {exc.response['Error'].get('Code')}"
                ) from None
            old = _plain(_deserialize(cast(dict[str, Any], exc.response.get("Item") or {})))
            if old.get(target):
                return Claim(token=None, existing=str(old[target]), must_look_up=False, item=old)
            held_for = now - float(old.get("claimed_at", now))
            raise TransientError(
                f"another worker is creating this {WHAT[kind]} (claimed {held_for:.0f}s ago)",
                code="claim_busy",
                # No Retry-After: the holder usually finishes within seconds, and if it died, the
                # exponential backoff outgrows the claim's stale age within a few deliveries.
                retry_after=None,
            ) from None
        except BotoCoreError as exc:
            raise TransientError(f"state table write failed: {type(exc).__name__}") from None
        old = _plain(reply.get("Attributes") or {})
        # A previous claim that never recorded an id (crash, timeout, or a failed write whose effect is
        # unknown) means BigTime may already hold the record: look before creating.
        must_look_up = bool(old.get("claim_token")) or bool(old.get("needs_lookup"))
        return Claim(token=token, existing=None, must_look_up=must_look_up, item=old)

    def record(
        self, kind: Kind, org_id: str, record_id: str, token: str, target_id: str, **attrs: Any
    ) -> dict[str, Any]:
        """Record BigTime's id under our claim (and release it); returns the item as the write left it
        (DynamoDB returns it with the write at no extra cost: no read after). Fails if the claim was taken
        over."""
        target = _TARGET[kind]
        names = {f"#a{i}": name for i, name in enumerate(attrs)}
        values = {f":a{i}": _ddb(value) for i, value in enumerate(attrs.values())}
        sets = ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        expression = f"SET {target} = :target, updated_at = :now" + (f", {sets}" if sets else "")
        reply = self._conditional_update(
            kind,
            org_id,
            record_id,
            UpdateExpression=expression + " REMOVE claim_token, claimed_at, needs_lookup",
            ConditionExpression=Attr("claim_token").eq(token),
            ExpressionAttributeValues={":target": target_id, ":now": _num(self.clock()), **values},
            ReturnValues="ALL_NEW",
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        return _plain(reply.get("Attributes") or {})

    def release(self, kind: Kind, org_id: str, record_id: str, token: str, *, uncertain: bool) -> None:
        """Give a claim back after a failure; ``uncertain`` if BigTime may have applied the write."""
        expression = "REMOVE claim_token, claimed_at SET updated_at = :now"
        values: dict[str, Any] = {":now": _num(self.clock())}
        if uncertain:
            expression += ", needs_lookup = :yes"
            values[":yes"] = True
        # If the claim is already gone or taken over, there is nothing to give back.
        with contextlib.suppress(TransientError):
            self._conditional_update(
                kind,
                org_id,
                record_id,
                UpdateExpression=expression,
                ConditionExpression=Attr("claim_token").eq(token),
                ExpressionAttributeValues=values,
            )

    # -- leases: one worker at a time for work that is not safe to run twice at once -------------------
    def lease_attrs(self, token: str) -> dict[str, Any]:
        """Attributes that take the contacts lease, for :meth:`record` (the project's creator holds it)."""
        return {"contacts_lease": token, "contacts_lease_at": self.clock()}

    def lease(self, kind: Kind, org_id: str, record_id: str, *, stale_after: float) -> str:
        """Take the contacts lease of an item: adding contacts is not idempotent (BigTime has no key for
        them), so two workers must not compare-and-add at once. Raises TransientError if it is held."""
        now = self.clock()
        token = uuid.uuid4().hex
        try:
            self.table.update_item(
                Key={"id": item_key(kind, org_id, record_id)},
                UpdateExpression="SET contacts_lease = :t, contacts_lease_at = :now, updated_at = :now",
                ConditionExpression=Attr("contacts_lease").not_exists()
                | Attr("contacts_lease_at").lt(_num(now - stale_after)),
                ExpressionAttributeValues={":t": token, ":now": _num(now)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise TransientError(
                    "another worker is adding this Opportunity's contacts",
                    code="contacts_busy",
                    retry_after=5,
                ) from None
            raise TransientError(f"state table write failed: {exc.response['Error'].get('Code')}") from None
        except BotoCoreError as exc:
            raise TransientError(f"state table write failed: {type(exc).__name__}") from None
        return token

    def end_lease(self, kind: Kind, org_id: str, record_id: str, token: str, **attrs: Any) -> None:
        """Set ``attrs`` and give the lease back; if it was taken over meanwhile, the new holder records."""
        names = {f"#a{i}": name for i, name in enumerate(attrs)}
        values = {f":a{i}": _ddb(value) for i, value in enumerate(attrs.values())}
        sets = "".join(f", {n} = {v}" for n, v in zip(names, values, strict=True))
        with contextlib.suppress(TransientError):
            self._conditional_update(
                kind,
                org_id,
                record_id,
                UpdateExpression=f"SET updated_at = :now{sets} REMOVE contacts_lease, contacts_lease_at",
                ConditionExpression=Attr("contacts_lease").eq(token),
                ExpressionAttributeValues={":now": _num(self.clock()), **values},
                **({"ExpressionAttributeNames": names} if names else {}),
            )

    def update(self, kind: Kind, org_id: str, record_id: str, **attrs: Any) -> None:
        """Set plain attributes (progress flags, outcome) on an item, creating it if needed."""
        names = {f"#a{i}": name for i, name in enumerate(attrs)}
        values = {f":a{i}": _ddb(value) for i, value in enumerate(attrs.values())}
        sets = ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        try:
            self.table.update_item(
                Key={"id": item_key(kind, org_id, record_id)},
                UpdateExpression=f"SET {sets}, updated_at = :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":now": _num(self.clock())},
            )
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"state table write failed: {type(exc).__name__}") from None

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
        """The last outcome of a sync, for ``sf-bigtime status`` and the team's post-mortems."""
        now = self.clock()
        names = {
            "#s": "last_status",
            "#r": "last_reason",
            "#d": "last_delivery_id",
            "#src": "last_source",
            "#at": "last_attempt_at",
            "#sf": "last_salesforce_calls",
            "#bt": "last_bigtime_calls",
        }
        values: dict[str, Any] = {
            ":s": status,
            ":r": reason[:2000],
            ":d": delivery_id,
            ":src": source,
            ":at": _num(now),
            ":sf": salesforce_calls,
            ":bt": bigtime_calls,
            ":one": 1,
            ":zero": 0,
            ":org": org_id,
            ":rid": opportunity_id,
            ":kind": "opp",
        }
        expression = (
            "SET #s = :s, #r = :r, #d = :d, #src = :src, #at = :at, #sf = :sf, #bt = :bt, "
            "org_id = :org, record_id = :rid, kind = :kind, updated_at = :at, "
            "created_at = if_not_exists(created_at, :at), attempts = if_not_exists(attempts, :zero) + :one"
        )
        if error:
            expression += ", last_error = :e, last_error_at = :at"
            values[":e"] = error[:2000]
        if status in ("Synced", "Skipped"):
            expression += ", last_success_at = :at"
        if changes is not None:
            expression += ", last_changes = :ch, last_warnings = :w"
            values[":ch"] = _ddb(changes)
            values[":w"] = [w[:500] for w in (warnings or [])][:20]
        try:
            self.table.update_item(
                Key={"id": item_key("opp", org_id, opportunity_id)},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"state table write failed: {type(exc).__name__}") from None

    def _conditional_update(self, kind: Kind, org_id: str, record_id: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(self.table.update_item(Key={"id": item_key(kind, org_id, record_id)}, **kwargs))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise TransientError(
                    "our claim was taken over by another worker", code="claim_lost"
                ) from None
            raise TransientError(f"state table write failed: {code}") from None
        except BotoCoreError as exc:
            raise TransientError(f"state table write failed: {type(exc).__name__}") from None


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    # The resource API deserialises replies, but not the item inside a ConditionalCheckFailed error.
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(cast(Any, v)) if isinstance(v, dict) else v for k, v in item.items()}


def _num(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _ddb(value: Any) -> Any:
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict):
        return {k: _ddb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_ddb(v) for v in value]
    return value


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's Decimals back to int/float so items serialise as JSON."""

    def conv(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: conv(v) for k, v in value.items()}
        if isinstance(value, list):
            return [conv(v) for v in value]
        return value

    return {k: conv(v) for k, v in item.items()}
