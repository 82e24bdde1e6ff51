"""Ingest: authenticate a Salesforce call, validate it, enqueue one SyncRequest per Opportunity, reply.

Works on API Gateway HTTP API (payload v2) events and returns their response dicts. It touches only
SQS and its own secret: no Salesforce, BigTime or DynamoDB code is imported here (cold start, blast radius).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sf_bigtime import observability as obs
from sf_bigtime.inbound import InboundError
from sf_bigtime.inbound.json_event import parse_json_events
from sf_bigtime.messages import SyncRequest
from sf_bigtime.queue import EnqueueError
from sf_bigtime.settings import IngestSettings
from sf_bigtime.sfid import same_org

EVENTS_ROUTE = "/salesforce/events"


@dataclass(frozen=True)
class IngestDeps:
    """What ingest talks to, injectable for tests: settings, the API key, and the enqueue function."""

    settings: IngestSettings
    api_key: Callable[[], str]
    enqueue: Callable[[Sequence[SyncRequest]], list[str]]


@dataclass(frozen=True)
class Accepted:
    requests: list[SyncRequest]


def handle_http(
    event: dict[str, Any], deps: IngestDeps, log: Any = None, metrics: obs.Emitter | None = None
) -> dict[str, Any]:
    """Turn one HTTP API event into a response: 202 once everything is on SQS, else a clear 4xx/5xx."""
    metrics = metrics or obs.Emitter(obs.INGEST)
    try:
        accepted = _accept(event, deps)
    except InboundError as exc:
        if log is not None:
            log.warning("request refused", extra={"status": exc.status, "code": exc.code, "field": exc.field})
        metrics.emit(obs.EVENTS_REJECTED, Source=_source_hint(event), Reason=exc.code)
        return _json_error(exc.status, exc.code, exc.message, exc.field)
    try:
        deps.enqueue(accepted.requests)
    except EnqueueError as exc:
        if log is not None:
            log.error("enqueue failed; answering 503 so Salesforce retries", extra={"error": str(exc)})
        for source, count in Counter(r.source for r in accepted.requests).items():
            metrics.emit(obs.EVENTS_REJECTED, count, Source=source, Reason="enqueue_failed")
        return _json_error(503, "enqueue_failed", "could not queue the event(s); please retry")
    ids = [req.delivery_id for req in accepted.requests]
    if log is not None:
        # The same keys the worker logs, so one Logs Insights filter follows an event end to end.
        one = (
            {"opportunity_id": accepted.requests[0].opportunity_id, "delivery_id": ids[0]}
            if len(ids) == 1
            else {}
        )
        log.info(
            "accepted",
            extra={
                "count": len(ids),
                "opportunity_ids": [r.opportunity_id for r in accepted.requests],
                "delivery_ids": ids,
                **one,
            },
        )
    for source, count in Counter(r.source for r in accepted.requests).items():
        metrics.emit(obs.EVENTS_ACCEPTED, count, Source=source)
    return _json(202, {"accepted": len(ids), "ids": ids})


def _source_hint(event: dict[str, Any]) -> str:
    """The likely source of a refused request (it was not parsed far enough to know for sure)."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").lower()
    if "xml" in content_type:
        return "outbound_message"
    if "json" in content_type:
        return "json"
    return "unknown"


def _accept(event: dict[str, Any], deps: IngestDeps) -> Accepted:
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method", "")).upper()
    path = str(event.get("rawPath") or http.get("path") or "")
    if path.rstrip("/") != EVENTS_ROUTE:
        raise InboundError(404, "not_found", f"no route for {path!r}")
    if method != "POST":
        raise InboundError(405, "method_not_allowed", "use POST")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    body = _body(event, deps.settings.max_body_bytes)
    _check_api_key(headers.get(deps.settings.api_key_header.lower(), ""), deps.api_key)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise InboundError(415, "unsupported_media_type", "send the events as application/json")
    events = parse_json_events(body)
    for ev in events:
        if not any(same_org(ev.org_id, org) for org in deps.settings.allowed_org_ids):
            # Same answer as a bad key: do not tell a caller which part of its credentials was wrong.
            raise InboundError(403, "forbidden", "not allowed")
    return Accepted([ev.to_request() for ev in events])


def _body(event: dict[str, Any], limit: int) -> bytes:
    raw = event.get("body") or ""
    if len(raw) > limit * 4 // 3 + 4:  # cheap pre-check before decoding anything big
        raise InboundError(413, "payload_too_large", f"body is larger than {limit} bytes")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InboundError(400, "malformed_body", "body is not valid base64") from None
    else:
        data = raw.encode("utf-8", errors="surrogateescape")
    if len(data) > limit:
        raise InboundError(413, "payload_too_large", f"body is larger than {limit} bytes")
    return data


def _check_api_key(presented: str, expected: Callable[[], str]) -> None:
    if not presented or not hmac.compare_digest(presented.encode(), expected().encode()):
        raise InboundError(401, "unauthorized", "missing or invalid credentials")


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _json_error(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return _json(status, {"error": error})
