"""Salesforce Event Relay events as they reach the ingest function through an EventBridge rule.

Two kinds (docs/ingest.md#3-event-relay-eventbridge): Change Data Capture ``OpportunityChangeEvent`` and a
custom Platform Event (``…__e``). The record sits under ``detail.payload``; the org id is in ``source``
(``aws.partner/salesforce.com/<orgId>/<relayId>``), which EventBridge sets from the partner event source,
so a sender cannot forge it.

No HTTP reply goes back to anyone here. What is not about an Opportunity we can sync is *skipped*
(logged and counted, never retried: retrying cannot make it valid); only a failure to enqueue is raised,
so Lambda's asynchronous retries and the failure destination take over.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sf_bigtime import observability as obs
from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.fields import (
    MAX_DELIVERY_ID_LENGTH,
    OptionalAccountId,
    OptionalDateTime,
    OptionalStage,
    PlainText,
)
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import is_salesforce_id, to_18

PARTNER_SOURCE_PREFIX = "aws.partner/salesforce.com/"
CDC_DETAIL_TYPE = "OpportunityChangeEvent"
# The worker tags every write with ``Sforce-Call-Options: client=sf-bigtime`` (sf_bigtime.clients.salesforce
# CALL_CLIENT; a test keeps the two equal). Repeated here so ingest need not import the Salesforce client.
OWN_CLIENT_ID = "sf-bigtime"
GAP_OVERFLOW = "GAP_OVERFLOW"


@dataclass(frozen=True)
class Skipped:
    """Something in the event we did not enqueue: why (for the log) and which metric counts it."""

    reason: str
    metric: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RelayResult:
    org_id: str
    kind: str  # "cdc" | "platform_event"
    gap: bool = False  # a GAP_* change event whose records are re-read
    requests: list[SyncRequest] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# Models are built on first use (defer_build): a cold start serving an HTTP entry point never pays for them.
class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    id: str | None = None
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=256)
    detail: dict[str, Any]


class ChangeEventHeader(BaseModel):
    """The fields of ``ChangeEventHeader`` we use (docs/ingest.md#change-data-capture-opportunitychangeevent);
    unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    entity_name: str = Field(alias="entityName", min_length=1)
    change_type: str = Field(alias="changeType", min_length=1)
    record_ids: list[str] = Field(default_factory=list, alias="recordIds")
    change_origin: str | None = Field(default=None, alias="changeOrigin")
    transaction_key: Annotated[str, PlainText] = Field(alias="transactionKey", min_length=1, max_length=128)
    sequence_number: int = Field(alias="sequenceNumber", ge=0)


class _CdcFields(BaseModel):
    """Body fields of an Opportunity change event that we pass on; present only when they changed."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    account_id: OptionalAccountId = Field(default=None, alias="AccountId")
    stage_name: OptionalStage = Field(default=None, alias="StageName")
    last_modified_date: OptionalDateTime = Field(default=None, alias="LastModifiedDate")


class _PlatformEventFields(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    opportunity_id: str
    account_id: OptionalAccountId = None
    stage_name: OptionalStage = None
    event_uuid: Annotated[str, PlainText] | None = Field(default=None, max_length=MAX_DELIVERY_ID_LENGTH)


def parse_relay_event(event: dict[str, Any]) -> RelayResult:
    """Turn one EventBridge event into sync requests plus what was skipped and why.

    Raises :class:`InboundError` when the event as a whole is unusable (not from Salesforce, no payload,
    unknown kind); the caller logs and counts it.
    """
    try:
        envelope = _Envelope.model_validate(event)
    except ValidationError as exc:
        raise InboundError(400, "invalid_event", f"not an EventBridge event: {_first(exc)}") from None
    org_id = org_id_from_source(envelope.source)
    payload = envelope.detail.get("payload")
    if not isinstance(payload, dict):
        raise InboundError(400, "invalid_event", "detail.payload is missing (not an Event Relay event?)")
    if "ChangeEventHeader" in payload:
        return _change_event(org_id, payload)
    if envelope.detail_type.endswith("__e") or "EventUuid" in payload:
        return _platform_event(org_id, envelope.detail_type, payload)
    raise InboundError(400, "unknown_event", f"detail-type {envelope.detail_type!r} is not one we read")


def org_id_from_source(source: str) -> str:
    """``aws.partner/salesforce.com/<orgId>/<relayId>`` → the 18-character org id."""
    if not source.startswith(PARTNER_SOURCE_PREFIX):
        raise InboundError(400, "unknown_source", f"source {source[:100]!r} is not a Salesforce Event Relay")
    org_id = source[len(PARTNER_SOURCE_PREFIX) :].split("/", 1)[0]
    if not is_salesforce_id(org_id, "00D"):
        raise InboundError(400, "unknown_source", "the event source does not name a Salesforce org")
    return to_18(org_id)


def is_own_change(change_origin: str | None) -> bool:
    """True if ``changeOrigin`` (``com/salesforce/api/rest/66.0;client=sf-bigtime``) says we made it."""
    for part in (change_origin or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "client" and value.strip().rstrip("/") == OWN_CLIENT_ID:
            return True
    return False


def _change_event(org_id: str, payload: dict[str, Any]) -> RelayResult:
    try:
        header = ChangeEventHeader.model_validate(payload["ChangeEventHeader"])
        fields = _CdcFields.model_validate(payload)
    except ValidationError as exc:
        raise InboundError(400, "invalid_change_event", f"ChangeEventHeader: {_first(exc)}") from None
    result = RelayResult(org_id=org_id, kind="cdc")
    about = {"change_type": header.change_type, "transaction_key": header.transaction_key}
    if header.entity_name != "Opportunity":
        result.skipped.append(Skipped("not an Opportunity change", obs.RELAY_EVENTS_IGNORED, about))
        return result
    if is_own_change(header.change_origin):
        # Our own write-back coming back: acting on it would only loop.
        result.skipped.append(Skipped("our own change (changeOrigin)", obs.CDC_ECHOES_IGNORED, about))
        return result
    if header.change_type == GAP_OVERFLOW:
        # Too many changes to list (no record ids): only a sweep can find them.
        result.skipped.append(
            Skipped("GAP_OVERFLOW: left to the reconcile sweep", obs.CDC_LEFT_TO_RECONCILE, about)
        )
        return result
    result.gap = header.change_type.startswith("GAP_")
    if result.gap:
        # No field data in a gap event: the worker re-reads each listed record, as it always does.
        fields = _CdcFields()
    for record_id in header.record_ids:
        if "*" in record_id:
            # After e.g. a field type change, recordIds can be a wildcard such as "006*".
            result.skipped.append(
                Skipped("wildcard record id: left to the reconcile sweep", obs.CDC_LEFT_TO_RECONCILE, about)
            )
            continue
        if not is_salesforce_id(record_id, "006"):
            result.skipped.append(Skipped("not an Opportunity id", obs.RELAY_EVENTS_IGNORED, about))
            continue
        opportunity_id = to_18(record_id)
        result.requests.append(
            SyncRequest(
                org_id=org_id,
                opportunity_id=opportunity_id,
                account_id=fields.account_id,
                stage_name=fields.stage_name,
                last_modified_date=fields.last_modified_date,
                source="cdc",
                delivery_id=f"{header.transaction_key}:{header.sequence_number}:{opportunity_id}",
            )
        )
    return result


def _field_key(name: str) -> str:
    """``ns__Opportunity_Id__c`` → ``opportunityid``: custom field names compared without namespace,
    suffix, underscores or case, so the admin's naming of the event's fields does not matter."""
    base = name.removesuffix("__c")
    base = base.rsplit("__", 1)[-1]
    return base.replace("_", "").lower()


_PE_KEYS = {"opportunityid": "opportunity_id", "accountid": "account_id", "stagename": "stage_name"}


def _platform_event(org_id: str, detail_type: str, payload: dict[str, Any]) -> RelayResult:
    values: dict[str, Any] = {"event_uuid": payload.get("EventUuid")}
    for name, value in payload.items():
        key = _PE_KEYS.get(_field_key(name)) if name.endswith("__c") else None
        if key is not None:
            values[key] = value
    result = RelayResult(org_id=org_id, kind="platform_event")
    if not values.get("opportunity_id"):
        raise InboundError(
            400, "invalid_platform_event", f"{detail_type} has no OpportunityId__c field", "OpportunityId__c"
        )
    try:
        fields = _PlatformEventFields.model_validate(values)
    except ValidationError as exc:
        raise InboundError(400, "invalid_platform_event", f"{detail_type}: {_first(exc)}") from None
    opportunity_id = fields.opportunity_id.strip()
    if not is_salesforce_id(opportunity_id, "006"):
        raise InboundError(
            400, "invalid_platform_event", f"{detail_type}.OpportunityId__c is not an Opportunity id"
        )
    opportunity_id = to_18(opportunity_id)
    # EventUuid is unique per published event and repeated on relay retries. Without it (older API
    # versions), a hash of the payload keeps retries of the same event deduplicated.
    delivery_id = (
        fields.event_uuid
        or "pe-"
        + hashlib.sha256(
            json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
        ).hexdigest()[:40]
    )
    result.requests.append(
        SyncRequest(
            org_id=org_id,
            opportunity_id=opportunity_id,
            account_id=fields.account_id,
            stage_name=fields.stage_name,
            source="platform_event",
            delivery_id=delivery_id,
        )
    )
    return result


def _first(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    message = "is missing" if err["type"] == "missing" else str(err["msg"]).removeprefix("Value error, ")
    return f"{where} {message}".strip()
