"""What a Salesforce org does after a commit: record-triggered flows (HTTP callout JSON or Outbound
Message SOAP) and Change Data Capture events (recorded, optionally relayed as EventBridge envelopes).

Everything is delivered asynchronously by one background thread (:class:`Outbox`), after the commit,
like the platform's own queues. Timings are scaled down from hours to fractions of a second.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape

import requests
from defusedxml import ElementTree

from .schema import Schema
from .store import Change, Record
from .values import format_datetime_z, to_wire

log = logging.getLogger(__name__)

MAX_NOTIFICATIONS_PER_MESSAGE = 100
CDC_EXCLUDED = frozenset({"IsDeleted", "SystemModstamp"})  # change events never carry these
DEFAULT_OM_FIELDS = (
    "Id",
    "AccountId",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "LastModifiedDate",
    "Name",
    "OwnerId",
    "StageName",
)


class Outbox:
    """A single background thread that runs scheduled jobs in due order; started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def schedule(self, delay: float, job: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._heap)
            try:
                job()
            except Exception:  # a broken job must not kill the sender thread
                log.exception("fake Salesforce background job failed")


@dataclass
class Flow:
    """A record-triggered after-save flow: entry condition ``field = value``, run only when a record is
    created or updated *to meet* the condition, with one action (HTTP callout JSON or outbound message)."""

    id: str
    object: str
    field: str
    value: Any
    action: str
    url: str
    headers: dict[str, str]
    fields: list[str]
    batch_interval: float
    retry_start: float
    retry_cap: float
    max_age: float
    timeout: float
    json_retry_delays: tuple[float, ...]
    action_id: str

    def meets(self, values: dict[str, Any] | None) -> bool:
        return values is not None and values.get(self.field) == self.value


@dataclass
class Notification:
    """One queued outbound-message notification (id ``04l…``) and its retry state."""

    id: str
    record_id: str
    created: float
    attempts: int = 0
    next_attempt: float = 0.0


@dataclass
class Relay:
    id: str
    url: str
    account: str
    region: str
    headers: dict[str, str]
    max_attempts: int
    retry_start: float


@dataclass
class TriggerState:
    flows: dict[str, Flow] = field(default_factory=dict)
    relays: list[Relay] = field(default_factory=list)
    queues: dict[str, list[Notification]] = field(default_factory=dict)  # flow id -> pending notifications
    flush_scheduled: dict[str, bool] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    change_events: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    commit_number: int = 1_082_985_383_000


class Triggers:
    """Flows and CDC of one fake org. ``lock`` is the fake's lock; ``record`` reads a record under it."""

    def __init__(
        self,
        schema: Schema,
        lock: threading.RLock,
        org_id: str,
        instance_host: Callable[[], str],
        api_version: str,
        record: Callable[[str], Record | None],
        new_id: Callable[[str], str],
    ) -> None:
        self.schema = schema
        self.lock = lock
        self.org_id = org_id
        self.instance_host = instance_host
        self.api_version = api_version
        self.record = record
        self.new_id = new_id
        self.state = TriggerState()
        self.generation = 0  # bumped by reset so jobs scheduled before it become no-ops
        self.outbox = Outbox("fake-salesforce-outbox")
        self.http = requests.Session()

    # --- configuration ---------------------------------------------------------------------------

    def add_flow(self, flow: Flow) -> None:
        with self.lock:
            self.state.flows[flow.id] = flow
            self.state.queues[flow.id] = []

    def add_relay(self, relay: Relay) -> None:
        with self.lock:
            self.state.relays.append(relay)

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.state = TriggerState()
            self.outbox.clear()

    def close(self) -> None:
        self.outbox.close()
        self.http.close()

    # --- commit hook (called under the lock) -----------------------------------------------------

    def on_commit(self, changes: list[Change]) -> None:
        transaction_key = str(uuid.uuid4())
        sequence = 0
        for change in changes:
            if change.sobject == "Opportunity":
                sequence += 1
                self._change_event(change, transaction_key, sequence)
            for flow in self.state.flows.values():
                if flow.object.lower() != change.sobject.lower():
                    continue
                fire = (change.kind == "CREATE" and flow.meets(change.new)) or (
                    change.kind == "UPDATE" and flow.meets(change.new) and not flow.meets(change.old)
                )
                if fire:
                    self._fire(flow, change)

    def _fire(self, flow: Flow, change: Change) -> None:
        if flow.action == "json":
            body = self._flow_json(flow, change)
            gen = self.generation
            self.outbox.schedule(0, lambda: self._send_json(gen, flow, body, 1))
            return
        note = Notification(self.new_id("04l"), change.record_id, time.monotonic())
        self.state.queues[flow.id].append(note)
        self._schedule_flush(flow, flow.batch_interval)

    # --- Flow HTTP callout (JSON) ----------------------------------------------------------------

    def _flow_json(self, flow: Flow, change: Change) -> dict[str, Any]:
        values = change.new or {}
        sobject = self.schema.get(change.sobject)
        key = change.sobject[0].lower() + change.sobject[1:] + "Id"
        modified = values.get("LastModifiedDate")
        body: dict[str, Any] = {
            "orgId": self.org_id,
            key: change.record_id,
            # Like $Flow.InterviewGuid: unique per flow interview, so receivers can dedupe retries.
            "eventId": f"{uuid.uuid4().hex}{uuid.uuid4().hex[:4]}-{uuid.uuid4().hex[:4]}",
            "accountId": values.get("AccountId"),
            "stageName": values.get("StageName"),
            "lastModifiedDate": format_datetime_z(modified) if isinstance(modified, datetime) else None,
        }
        if sobject is not None:
            for name in flow.fields:
                f = sobject.field(name)
                if f is not None:
                    body[f.name] = to_wire(f, values.get(f.name))
        return body

    def _send_json(self, gen: int, flow: Flow, body: dict[str, Any], attempt: int) -> None:
        if gen != self.generation:
            return
        ok = self._post(
            "json",
            flow.url,
            body=None,
            json_body=body,
            headers=flow.headers,
            timeout=flow.timeout,
            extra={"flow_id": flow.id, "attempt": attempt},
        )[0]
        if not ok and attempt <= len(flow.json_retry_delays):
            # Async flow paths retry unhandled callout failures on a fixed schedule, then give up.
            delay = flow.json_retry_delays[attempt - 1]
            self.outbox.schedule(delay, lambda: self._send_json(gen, flow, body, attempt + 1))

    # --- Outbound Messages (SOAP) ----------------------------------------------------------------

    def _schedule_flush(self, flow: Flow, delay: float) -> None:
        if self.state.flush_scheduled.get(flow.id):
            return
        self.state.flush_scheduled[flow.id] = True
        gen = self.generation
        self.outbox.schedule(delay, lambda: self._flush(gen, flow))

    def _flush(self, gen: int, flow: Flow) -> None:
        now = time.monotonic()
        with self.lock:
            if gen != self.generation:
                return
            self.state.flush_scheduled[flow.id] = False
            queue = self.state.queues[flow.id]
            for note in [n for n in queue if now - n.created > flow.max_age]:
                # Undelivered messages are dropped once too old (24 h in a real org).
                queue.remove(note)
                self.state.dropped.append({"id": note.id, "record_id": note.record_id, "flow_id": flow.id})
            due = [n for n in queue if n.next_attempt <= now]
            batches = [
                due[i : i + MAX_NOTIFICATIONS_PER_MESSAGE]
                for i in range(0, len(due), MAX_NOTIFICATIONS_PER_MESSAGE)
            ]
            envelopes = [(batch, self._envelope(flow, batch)) for batch in batches]
        for batch, envelope in envelopes:
            ok, acked = self._post(
                "outbound_message",
                flow.url,
                body=envelope,
                json_body=None,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', **flow.headers},
                timeout=flow.timeout,
                extra={"flow_id": flow.id, "notification_ids": [n.id for n in batch]},
                soap=True,
            )
            with self.lock:
                if gen != self.generation:
                    return
                queue = self.state.queues[flow.id]
                for note in batch:
                    if ok and acked:
                        if note in queue:
                            queue.remove(note)
                    else:
                        note.attempts += 1
                        backoff = min(flow.retry_start * 2 ** (note.attempts - 1), flow.retry_cap)
                        note.next_attempt = time.monotonic() + backoff
        with self.lock:
            if gen != self.generation:
                return
            queue = self.state.queues[flow.id]
            if queue:
                wait = max(0.0, min(n.next_attempt for n in queue) - time.monotonic())
                self._schedule_flush(flow, max(wait, 0.01))

    def _envelope(self, flow: Flow, batch: list[Notification]) -> str:
        """SOAP 1.1 notifications message as Salesforce sends it (sample: events/outbound-message.xml):
        values as they are when sent, not when triggered (Salesforce's Outbound Messaging guide,
        "Understanding Notifications"); ``Id`` first then fields alphabetically, and null fields omitted, as
        in public captures of real messages."""
        host = self.instance_host()
        org15 = self.org_id[:15]
        sobject = self.schema.get(flow.object)
        names = ["Id", *sorted({n for n in flow.fields if n != "Id"}, key=str.lower)]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
            " <soapenv:Body>",
            '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
            f"   <OrganizationId>{self.org_id}</OrganizationId>",
            f"   <ActionId>{flow.action_id}</ActionId>",
            '   <SessionId xsi:nil="true"/>',
            f"   <EnterpriseUrl>https://{escape(host)}/services/Soap/c/{self.api_version}/{org15}</EnterpriseUrl>",
            f"   <PartnerUrl>https://{escape(host)}/services/Soap/u/{self.api_version}/{org15}</PartnerUrl>",
        ]
        for note in batch:
            record = self.record(note.record_id)
            parts.append("   <Notification>")
            parts.append(f"    <Id>{note.id}</Id>")
            parts.append(
                f'    <sObject xsi:type="sf:{flow.object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            )
            for name in names:
                f = sobject.field(name) if sobject else None
                if f is None or record is None:
                    continue
                text = _soap_value(record.value(f))
                if text is not None:
                    parts.append(f"     <sf:{f.name}>{escape(text)}</sf:{f.name}>")
            parts.append("    </sObject>")
            parts.append("   </Notification>")
        parts += ["  </notifications>", " </soapenv:Body>", "</soapenv:Envelope>"]
        return "\n".join(parts)

    # --- Change Data Capture ---------------------------------------------------------------------

    def _change_event(self, change: Change, transaction_key: str, sequence: int) -> None:
        sobject = self.schema.get(change.sobject)
        self.state.commit_number += 1
        origin = ""
        if change.api:
            origin = f"com/salesforce/api/rest/{change.version}" + (
                f";client={change.client}" if change.client else ""
            )
        header = {
            "entityName": change.sobject,
            "recordIds": [change.record_id],
            "changeType": change.kind,
            "changedFields": [n for n in change.changed if n not in CDC_EXCLUDED]
            if change.kind == "UPDATE"
            else [],
            "changeOrigin": origin,
            "transactionKey": transaction_key,
            "sequenceNumber": sequence,
            "commitTimestamp": int(change.time.timestamp() * 1000),
            "commitNumber": self.state.commit_number,
            "commitUser": change.user_id,
            "nulledFields": [n for n in change.nulled if n not in CDC_EXCLUDED],
            "diffFields": [],
        }
        payload: dict[str, Any] = {"ChangeEventHeader": header}
        values = change.new or {}
        if change.kind in ("CREATE", "UNDELETE"):
            names = [n for n, v in values.items() if v is not None and n not in CDC_EXCLUDED and n != "Id"]
        elif change.kind == "UPDATE":
            names = header["changedFields"]
        else:
            names = []
        for name in names:
            f = sobject.field(name) if sobject else None
            if f is not None:
                payload[f.name] = _cdc_value(f.type, values.get(f.name))
        self.state.change_events.append(payload)
        for relay in self.state.relays:
            envelope = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": f"{change.sobject}ChangeEvent",
                "source": f"aws.partner/salesforce.com/{self.org_id}/{relay.id}",
                "account": relay.account,
                "time": change.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": relay.region,
                "resources": [],
                "detail": {"payload": payload},
            }
            self.outbox.schedule(
                0, lambda r=relay, e=envelope, g=self.generation: self._send_relay(g, r, e, 1)
            )

    def _send_relay(self, gen: int, relay: Relay, envelope: dict[str, Any], attempt: int) -> None:
        if gen != self.generation:
            return
        ok = self._post(
            "cdc",
            relay.url,
            body=None,
            json_body=envelope,
            headers=relay.headers,
            timeout=5.0,
            extra={"relay_id": relay.id, "attempt": attempt},
        )[0]
        if not ok and attempt < relay.max_attempts:
            delay = relay.retry_start * 2 ** (attempt - 1)
            self.outbox.schedule(delay, lambda: self._send_relay(gen, relay, envelope, attempt + 1))

    # --- HTTP ------------------------------------------------------------------------------------

    def _post(
        self,
        kind: str,
        url: str,
        body: str | None,
        json_body: Any,
        headers: dict[str, str],
        timeout: float,
        extra: dict[str, Any],
        soap: bool = False,
    ) -> tuple[bool, bool]:
        """POST and record the attempt; returns (2xx, acked) where acked means a SOAP ``Ack`` of true."""
        entry: dict[str, Any] = {"kind": kind, "url": url, "time": time.time(), **extra}
        status: int | None = None
        text = ""
        try:
            if json_body is not None:
                resp = self.http.post(url, json=json_body, headers=headers, timeout=timeout)
            else:
                resp = self.http.post(url, data=(body or "").encode(), headers=headers, timeout=timeout)
            status, text = resp.status_code, resp.text
        except requests.RequestException as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        acked = ok and soap and _acked(text)
        entry.update(
            status=status,
            body=body if json_body is None else json_body,
            response=text,
            acked=acked if soap else None,
        )
        with self.lock:
            self.state.deliveries.append(entry)
        return ok, acked


def _acked(text: str) -> bool:
    """True if the SOAP response holds ``<Ack>true</Ack>`` (matched by local name, any namespace)."""
    try:
        root = ElementTree.fromstring(text)
    except Exception:  # malformed or hostile XML is simply not an ack
        return False
    return any(
        el.tag.rsplit("}", 1)[-1] == "Ack" and (el.text or "").strip().lower() == "true" for el in root.iter()
    )


def _soap_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return None  # compound fields are not sent
    return str(value)


def _cdc_value(ftype: str, value: Any) -> Any:
    if value is None:
        return None
    if ftype == "datetime":
        return int(value.timestamp() * 1000)  # Avro-decoded payloads carry epoch milliseconds
    if ftype == "date":
        return value.isoformat()
    if ftype in ("double", "currency", "percent"):
        return float(value)
    return value
