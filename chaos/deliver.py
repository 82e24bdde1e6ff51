"""The chaos run's extra deliveries: each Opportunity's Closed Won comes once from the org's own Flow (a JSON
callout); some come again through the other entry points, as Salesforce would send them — an Outbound
Message (SOAP, several notifications to an envelope, some envelopes sent twice as Salesforce does when it
misses the ack), a Change Data Capture event relayed through EventBridge, the Flow's callout repeated with
the same event id — before, alongside or after the Flow's own, plus older change events arriving after
newer ones."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import requests

from chaos.plan import ExtraDelivery
from sf_bigtime_local.clients import post_event, post_eventbridge, post_outbound_message

OM_BATCH_WINDOW = 0.5  # seconds: Outbound Message notifications this close together share an envelope
OM_FIELDS = ("Id", "AccountId", "Amount", "CloseDate", "IsClosed", "IsWon", "Name", "OwnerId", "StageName")


@dataclass
class Sent:
    """What the deliverer sent and what ingest answered (replies are scanned for secrets too)."""

    by_format: Counter[str] = field(default_factory=Counter)
    envelopes: int = 0
    refused: list[str] = field(default_factory=list)  # anything but 2xx: a finding
    replies: list[str] = field(default_factory=list)


class Deliverer:
    """Sends a plan's extra deliveries at their times, on one thread, against the running local stack."""

    def __init__(
        self,
        stack: dict[str, Any],
        fake_salesforce: Any,
        opportunity_ids: dict[int, str],
        extra: tuple[ExtraDelivery, ...],
        again: Callable[[], bool],
    ) -> None:
        self.stack = stack
        self.sf = fake_salesforce
        self.ids = opportunity_ids
        self.extra = extra
        self.again = again  # drawn from the plan's generator: send this envelope a second time?
        self.sent = Sent()
        self._notification = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.done = threading.Event()

    def start(self, started: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="chaos-deliveries", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self, started: float) -> None:
        try:
            pending = list(self.extra)
            repeats: list[tuple[float, str]] = []  # (when, envelope) of Outbound Messages sent again
            while (pending or repeats) and not self._stop.is_set():
                now = time.monotonic() - started
                due_repeats = [r for r in repeats if r[0] <= now]
                for repeat in due_repeats:
                    repeats.remove(repeat)
                    envelope = repeat[1]
                    self._post(
                        "outbound_message (envelope sent again)",
                        lambda e=envelope: post_outbound_message(self.stack, e),
                        envelope.count("<Notification>"),
                    )
                if pending and pending[0].at <= now:
                    batch = [
                        d for d in pending if d.at <= now + OM_BATCH_WINDOW and d.format == "outbound_message"
                    ]
                    first = pending[0]
                    if first.format == "outbound_message":
                        for d in batch:
                            pending.remove(d)
                        envelope = self._envelope([self.ids[d.opportunity] for d in batch])
                        self.sent.envelopes += 1
                        self._post(
                            "outbound_message",
                            lambda e=envelope: post_outbound_message(self.stack, e),
                            len(batch),
                        )
                        if self.again():
                            repeats.append((now + 1.0, envelope))
                    else:
                        pending.pop(0)
                        self._send(first)
                    continue
                self._stop.wait(0.02)
        finally:
            self.done.set()

    def _send(self, delivery: ExtraDelivery) -> None:
        opp_id = self.ids[delivery.opportunity]
        if delivery.format == "json":
            body = self._flow_body(opp_id)
            self._post("json", lambda: post_event(self.stack, body))
        elif delivery.format == "cdc":
            event = self._change_event(opp_id, stale=delivery.stale)
            self._post(
                "cdc (older change)" if delivery.stale else "cdc", lambda: post_eventbridge(self.stack, event)
            )

    def _post(self, what: str, send: Callable[[], requests.Response], count: int = 1) -> None:
        self.sent.by_format[what] += count
        try:
            reply = send()
        except requests.RequestException as exc:
            self.sent.refused.append(f"{what}: {type(exc).__name__}")
            return
        self.sent.replies.append(reply.text)
        if not 200 <= reply.status_code < 300:
            self.sent.refused.append(f"{what}: HTTP {reply.status_code} {reply.text[:200]}")

    # -- the wire formats, as Salesforce sends them ---------------------------------------------------------
    def _flow_body(self, opp_id: str, wait: float = 10.0) -> dict[str, Any]:
        """The org's own Flow callout for this Opportunity, sent again with the same event id (a callout
        retried after its reply was lost); a fresh interview's body if the Flow has not called yet."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for d in self.sf.deliveries:
                body = d.get("body")
                if d["kind"] == "json" and isinstance(body, dict) and body.get("opportunityId") == opp_id:
                    return dict(body)
            if self._stop.wait(0.1):
                break
        return {
            "orgId": self.sf.org_id,
            "opportunityId": opp_id,
            "eventId": uuid.uuid4().hex,
            "stageName": "Closed Won",
        }

    def _envelope(self, opp_ids: list[str]) -> str:
        org = self.sf.org_id
        host = self.stack["salesforce"]["instance_url"].split("://", 1)[-1]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
            " <soapenv:Body>",
            '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
            f"   <OrganizationId>{org}</OrganizationId>",
            "   <ActionId>04k5w000000chaosAAA</ActionId>",
            '   <SessionId xsi:nil="true"/>',
            f"   <EnterpriseUrl>https://{escape(host)}/services/Soap/c/66.0/{org[:15]}</EnterpriseUrl>",
            f"   <PartnerUrl>https://{escape(host)}/services/Soap/u/66.0/{org[:15]}</PartnerUrl>",
        ]
        for opp_id in opp_ids:
            record = self.sf.get("Opportunity", opp_id) or {}
            parts += [
                "   <Notification>",
                f"    <Id>04l5w{next(self._notification):010d}</Id>",
                '    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">',
            ]
            for name in OM_FIELDS:
                value = record.get(name)
                if value is not None:
                    text = str(value).lower() if isinstance(value, bool) else str(value)
                    parts.append(f"     <sf:{name}>{escape(text)}</sf:{name}>")
            parts += ["    </sObject>", "   </Notification>"]
        parts += ["  </notifications>", " </soapenv:Body>", "</soapenv:Envelope>"]
        return "\n".join(parts)

    def _change_event(self, opp_id: str, *, stale: bool) -> dict[str, Any]:
        """The org's own change event for the Opportunity: the one that made it Closed Won, or (stale) its
        first, older one, in the Event Relay envelope EventBridge delivers."""
        events = [
            e
            for e in self.sf.change_events
            if opp_id in e["ChangeEventHeader"]["recordIds"] and not e["ChangeEventHeader"]["changeOrigin"]
        ]
        won = [e for e in events if e.get("StageName") == "Closed Won"]
        payload = events[0] if stale or not won else won[-1]
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "OpportunityChangeEvent",
            "source": f"aws.partner/salesforce.com/{self.sf.org_id}/0YL5w000000chaosAAA",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1",
            "resources": [],
            "detail": {"payload": payload},
        }
