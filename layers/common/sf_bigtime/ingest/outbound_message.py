"""Salesforce Outbound Messages: the SOAP 1.1 ``notifications`` request (replies: ``sf_bigtime.ingest.soap``).

Parsed with defusedxml's SAX parser (DTDs, entity declarations and external references refused) and
*without* namespace processing: elements are matched by local name, so the namespace URIs and
prefixes Salesforce or a proxy happens to use (``urn:sobject.enterprise.soap.sforce.com`` with or
without ``/2006/04/01``, an undeclared ``xsi:``) do not matter (docs/ingest.md#what-we-accept).
Streaming means nothing but the handful of values we need is ever held, and a request with more than
100 notifications is refused as soon as the 101st starts.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.sax import SAXException
from xml.sax.handler import ContentHandler, ErrorHandler

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import sax as defused_sax
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.fields import (
    OpportunityId,
    OptionalAccountId,
    OptionalDateTime,
    OptionalStage,
    OrgId,
)
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sfid import is_salesforce_id

MAX_NOTIFICATIONS = 100  # the WSDL's maxOccurs
MAX_DEPTH = 32  # a real message is 6 levels deep
# The sObject fields we read; every other field an admin selects is skipped while streaming.
SOBJECT_FIELDS = frozenset({"Id", "AccountId", "StageName", "LastModifiedDate"})


def _notification_id(value: str) -> str:
    if not is_salesforce_id(value):
        raise ValueError("must be a Salesforce notification id (04l…)")
    return value


class OutboundNotification(BaseModel):
    """One ``Notification``: its own id (the delivery id; Salesforce repeats it on every retry) and the
    Opportunity fields we read from its ``sObject``. Aliases are the element paths, for error messages."""

    # Built on first use (defer_build): a cold start serving another entry point never pays for it.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    notification_id: Annotated[str, AfterValidator(_notification_id)] = Field(alias="Id")
    opportunity_id: OpportunityId = Field(alias="sObject/Id")
    account_id: OptionalAccountId = Field(default=None, alias="sObject/AccountId")
    stage_name: OptionalStage = Field(default=None, alias="sObject/StageName")
    last_modified_date: OptionalDateTime = Field(default=None, alias="sObject/LastModifiedDate")

    def to_request(self, org_id: str) -> SyncRequest:
        return SyncRequest(
            org_id=org_id,
            opportunity_id=self.opportunity_id,
            account_id=self.account_id,
            stage_name=self.stage_name,
            last_modified_date=self.last_modified_date,
            source="outbound_message",
            delivery_id=self.notification_id,
        )


class OutboundMessage(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    org_id: OrgId
    action_id: str | None = None
    notifications: list[OutboundNotification] = Field(min_length=1, max_length=MAX_NOTIFICATIONS)

    def to_requests(self) -> list[SyncRequest]:
        return [n.to_request(self.org_id) for n in self.notifications]


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse a ``notifications`` SOAP request; raise :class:`InboundError` (400) saying what is wrong."""
    handler = _Notifications()
    try:
        defused_sax.parseString(
            body, handler, _Strict(), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden:
        raise InboundError(400, "xml_dtd_forbidden", "DTDs (<!DOCTYPE …>) are not allowed") from None
    except EntitiesForbidden:
        raise InboundError(400, "xml_entities_forbidden", "entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise InboundError(400, "xml_external_forbidden", "external references are not allowed") from None
    except _Invalid as exc:
        raise InboundError(400, "invalid_outbound_message", str(exc)) from None
    except SAXException as exc:
        raise InboundError(400, "malformed_xml", f"body is not well-formed XML: {_short(exc)}") from None
    except (ValueError, LookupError) as exc:  # e.g. an XML declaration naming an unknown encoding
        raise InboundError(400, "malformed_xml", f"body is not well-formed XML: {_short(exc)}") from None
    return handler.message()


class _Invalid(SAXException):
    """Well-formed XML that is not an Outbound Message (raised from inside the SAX callbacks)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _Strict(ErrorHandler):
    """Every problem is fatal (the default handler prints warnings to stderr and carries on)."""

    def warning(self, exception: BaseException) -> None:
        raise exception


def _local(name: str) -> str:
    return name.rpartition(":")[2]


class _Notifications(ContentHandler):
    """Collects OrganizationId, ActionId and each Notification's Id and sObject fields by local name.

    Expected shape: ``Envelope/Body/notifications/{OrganizationId, ActionId, Notification*/{Id, sObject/*}}``;
    anything else (a SOAP Header, SessionId, EnterpriseUrl, unread fields) is skipped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.found_notifications = False
        self.org_id: str | None = None
        self.action_id: str | None = None
        self.notifications: list[dict[str, Any]] = []
        self.sobject_types: list[str | None] = []
        self._target: tuple[dict[str, Any], str, str] | None = None  # (where, key, element path)
        self._depth = 0
        self._text: list[str] = []
        self._nil = False
        self._header: dict[str, Any] = {}

    def startElement(self, name: str, attrs: Any) -> None:  # SAX API names
        local = _local(name)
        self.path.append(local)
        depth = len(self.path)
        if depth > MAX_DEPTH:
            raise _Invalid(f"the document is nested more than {MAX_DEPTH} levels deep")
        if depth == 1 and local != "Envelope":
            raise _Invalid(f"expected a SOAP Envelope, found <{name}>")
        if depth < 3 or self.path[1] != "Body" or self.path[2] != "notifications":
            return
        rel = self.path[3:]
        if not rel:
            if self.found_notifications:
                raise _Invalid("the SOAP Body holds more than one notifications element")
            self.found_notifications = True
        elif rel == ["Notification"]:
            if len(self.notifications) >= MAX_NOTIFICATIONS:
                raise _Invalid(f"more than {MAX_NOTIFICATIONS} Notification elements in one message")
            self.notifications.append({})
            self.sobject_types.append(None)
        elif rel == ["Notification", "sObject"]:
            self.sobject_types[-1] = _attr(attrs, "type")
        elif rel in (["OrganizationId"], ["ActionId"]):
            self._collect(self._header, rel[0], rel[0], attrs)
        elif rel == ["Notification", "Id"]:
            self._collect(self.notifications[-1], "Id", self._where("Id"), attrs)
        elif len(rel) == 3 and rel[:2] == ["Notification", "sObject"] and rel[2] in SOBJECT_FIELDS:
            key = f"sObject/{rel[2]}"
            self._collect(self.notifications[-1], key, self._where(key), attrs)

    def characters(self, content: str) -> None:
        if self._target is not None:
            self._text.append(content)

    def endElement(self, name: str) -> None:  # SAX API names
        if self._target is not None and len(self.path) == self._depth:
            where, key, _ = self._target
            where[key] = None if self._nil else "".join(self._text).strip()
            self._target = None
        self.path.pop()

    def _where(self, key: str) -> str:
        return f"Notification[{len(self.notifications) - 1}]/{key}"

    def _collect(self, where: dict[str, Any], key: str, label: str, attrs: Any) -> None:
        if key in where:
            raise _Invalid(f"{label} appears more than once")
        if self._target is not None:
            raise _Invalid(f"{label} is nested inside another value")
        self._target = (where, key, label)
        self._depth = len(self.path)
        self._text = []
        self._nil = (_attr(attrs, "nil") or "").strip().lower() in ("true", "1")

    def message(self) -> OutboundMessage:
        if not self.found_notifications:
            raise InboundError(
                400, "invalid_outbound_message", "the SOAP Body has no Outbound Message notifications element"
            )
        org_id = self._header.get("OrganizationId")
        if not org_id:
            raise InboundError(400, "invalid_outbound_message", "OrganizationId is missing", "OrganizationId")
        if not self.notifications:
            raise InboundError(
                400, "invalid_outbound_message", "the message has no Notification", "Notification"
            )
        for index, sobject_type in enumerate(self.sobject_types):
            if sobject_type and _local(sobject_type) != "Opportunity":
                raise InboundError(
                    400,
                    "not_an_opportunity",
                    f"Notification[{index}]/sObject is {sobject_type}: this endpoint takes Opportunity "
                    "outbound messages only",
                    f"Notification[{index}]/sObject",
                )
        notifications = []
        for index, raw in enumerate(self.notifications):
            try:
                notifications.append(OutboundNotification.model_validate(raw))
            except ValidationError as exc:
                raise _problem(exc, f"Notification[{index}]") from None
        try:
            return OutboundMessage(
                org_id=org_id, action_id=self._header.get("ActionId"), notifications=notifications
            )
        except ValidationError as exc:
            raise _problem(exc, "") from None


def _attr(attrs: Any, local: str) -> str | None:
    for name in attrs.getNames():
        if _local(name) == local:
            return str(attrs.getValue(name))
    return None


def _problem(exc: ValidationError, prefix: str) -> InboundError:
    err = exc.errors(include_url=False, include_input=False)[0]
    parts = [str(p) for p in err["loc"] if not isinstance(p, int)]
    field = parts[0] if parts else None
    if field == "org_id":
        field = "OrganizationId"
    label = "/".join(p for p in (prefix, field) if p) or "the message"
    message = "is missing" if err["type"] == "missing" else str(err["msg"]).removeprefix("Value error, ")
    return InboundError(400, "invalid_outbound_message", f"{label} {message}", label)


def _short(exc: Exception) -> str:
    return str(exc)[:200]
