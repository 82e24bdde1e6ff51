"""Ingest: authenticate what Salesforce sends, validate it, put one SyncRequest per Opportunity on SQS, reply.

Three entry points (docs/ingest.md), one queue message (:class:`sf_bigtime.queue.message.SyncRequest`):

- ``POST /salesforce/outbound-message``: Outbound Message SOAP; URL token + OrganizationId; SOAP replies.
- ``POST /salesforce/events``: JSON from a Flow HTTP Callout or Apex; API key or HMAC signature; JSON replies.
- EventBridge (Salesforce Event Relay through a rule): CDC and Platform Events; no reply.

Rules for every HTTP reply: 2xx only once every message is on SQS; a client error is a 4xx and nothing is
enqueued; a server error (SQS, Secrets Manager, a bug) is a 5xx so Salesforce retries. Auth failures say
nothing about which part failed; the log does. Bodies and credentials are never logged.

It touches only SQS and its own secrets: no Salesforce, BigTime or DynamoDB code is imported here (cold
start, blast radius); a test checks the import graph. Each entry point's parser (and with it pydantic, and
defusedxml for Outbound Messages) is imported by its first request: a function serving one entry point
never loads the others', and its init is little more than boto3's (`make bench` measures both).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from sf_bigtime import observability as obs
from sf_bigtime.errors import SecretError
from sf_bigtime.ingest.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Accepted,
    accepted,
    matching_secret,
    signature_problem,
)
from sf_bigtime.ingest.errors import AuthError, InboundError
from sf_bigtime.ingest.soap import SOAP_CONTENT_TYPE, ack, fault
from sf_bigtime.queue.send import EnqueueError
from sf_bigtime.sfid import same_org

if TYPE_CHECKING:  # pydantic models: loaded with the first request's parser, not at import
    from sf_bigtime.queue.message import SyncRequest
    from sf_bigtime.settings import IngestSettings

EVENTS_ROUTE = "/salesforce/events"
OUTBOUND_MESSAGE_ROUTE = "/salesforce/outbound-message"
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret
_XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")


def _no_count(name: str, value: float = 1, **dimensions: str) -> None:
    return None


@dataclass(frozen=True)
class IngestDeps:
    """What ingest talks to, injectable for tests. Secret getters are called only when a request presents
    that credential, so unauthenticated noise never costs a Secrets Manager call. Each returns the accepted
    values, current first (the previous one too while a rotation is under way), or a single value."""

    settings: IngestSettings
    api_key: Callable[[], Accepted]
    enqueue: Callable[[Sequence[SyncRequest]], list[str]]
    signing_key: Callable[[], Accepted] | None = None
    outbound_message_token: Callable[[], Accepted] | None = None
    # Metrics: (name, value, **dimensions), names from sf_bigtime.observability (an Emitter in Lambda).
    count: Callable[..., None] = _no_count
    clock: Callable[[], float] = time.time


def handle(event: dict[str, Any], deps: IngestDeps, log: Any = None) -> dict[str, Any]:
    """Entry point for every event the ingest function receives."""
    if isinstance(event.get("requestContext"), dict) and "http" in event["requestContext"]:
        return handle_http(event, deps, log)
    if "detail-type" in event and "source" in event:
        return handle_eventbridge(event, deps, log)
    # Neither API Gateway nor EventBridge: a wiring mistake, not a sender's error.
    raise ValueError("unsupported event: expected an HTTP API (payload 2.0) or an EventBridge event")


# ------------------------------------------------------------------------------------------------ HTTP


@dataclass(frozen=True)
class _Route:
    name: str
    # (event, headers, body, deps, notes for the log line) -> the requests to enqueue
    accept: Callable[[dict[str, Any], dict[str, str], bytes, IngestDeps, dict[str, Any]], list[SyncRequest]]
    ok: Callable[[list[SyncRequest]], dict[str, Any]]
    error: Callable[[int, str, str, str | None], dict[str, Any]]


def handle_http(event: dict[str, Any], deps: IngestDeps, log: Any = None) -> dict[str, Any]:
    """Turn one HTTP API event into a response: 2xx once everything is on SQS, else a clear 4xx/5xx."""
    http = event.get("requestContext", {}).get("http", {})
    path = str(event.get("rawPath") or http.get("path") or "").rstrip("/")
    route = _ROUTES.get(path)
    reply_error = route.error if route else _json_error
    what = {"route": route.name if route else "none"}
    try:
        if route is None:
            raise InboundError(404, "not_found", "no such endpoint")
        if str(http.get("method", "")).upper() != "POST":
            raise InboundError(405, "method_not_allowed", "use POST")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        _check_encoding(headers)
        body = _body(event, deps.settings.max_body_bytes)
        requests = route.accept(event, headers, body, deps, what)
    except InboundError as exc:
        return _refused(exc, what, deps, log, reply_error)
    except SecretError as exc:
        _count_rejected(deps, what, "unavailable")
        _log(log, "error", "a secret could not be read; answering 503", what | {"error": str(exc)})
        return reply_error(503, "unavailable", "temporarily unavailable; please retry", None)
    except Exception:  # a bug must still be a 5xx (Salesforce retries), never a 2xx
        return _internal_error(what, deps, log, reply_error)
    try:
        deps.enqueue(requests)
    except EnqueueError as exc:
        _count_rejected(deps, what, "enqueue_failed", len(requests))
        _log(log, "error", "enqueue failed; answering 503 so Salesforce retries", what | {"error": str(exc)})
        return reply_error(503, "enqueue_failed", "could not queue the event(s); please retry", None)
    except Exception:
        return _internal_error(what, deps, log, reply_error)
    _count_accepted(deps, requests)
    _log(log, "info", "accepted", what | _summary(requests))
    return route.ok(requests)


def _internal_error(
    what: dict[str, Any],
    deps: IngestDeps,
    log: Any,
    reply_error: Callable[[int, str, str, str | None], dict[str, Any]],
) -> dict[str, Any]:
    # Answered in the route's own format (a Flow reads only JSON, Salesforce's queue shows a SOAP
    # faultstring) rather than API Gateway's bare 500; the traceback goes to the log, the count to metrics.
    _count_rejected(deps, what, "internal_error")
    if log is not None:
        log.exception("unexpected error; answering 500", extra=what)
    return reply_error(500, "internal_error", "internal error; please retry", None)


def _refused(
    exc: InboundError,
    what: dict[str, Any],
    deps: IngestDeps,
    log: Any,
    reply_error: Callable[[int, str, str, str | None], dict[str, Any]],
) -> dict[str, Any]:
    _count_rejected(deps, what, exc.code)
    extra = what | {"status": exc.status, "code": exc.code, "field": exc.field}
    if isinstance(exc, AuthError):
        extra["reason"] = exc.reason
    else:
        extra["problem"] = exc.message
    _log(log, "warning", "request refused", extra)
    return reply_error(exc.status, exc.code, exc.message, exc.field)


def _accept_json(
    event: dict[str, Any], headers: dict[str, str], body: bytes, deps: IngestDeps, what: dict[str, Any]
) -> list[SyncRequest]:
    _note_stage(what, _authenticate_json(headers, body, deps))
    media = _media_type(headers)
    if media and media != "application/json" and not media.endswith("+json"):
        raise InboundError(415, "unsupported_media_type", "send the events as application/json")
    from sf_bigtime.ingest.json_event import parse_json_events  # on first use (module docstring)

    events = parse_json_events(body)
    for ev in events:
        _check_org(ev.org_id, deps.settings)
    return [ev.to_request() for ev in events]


def _authenticate_json(headers: dict[str, str], body: bytes, deps: IngestDeps) -> int:
    """The API key header (a Named Credential custom header) or an HMAC signature (Apex senders). Returns
    which accepted value matched (0 = current, 1 = previous)."""
    reasons = []
    presented_key = headers.get(deps.settings.api_key_header.lower())
    if presented_key:
        stage = matching_secret(presented_key, deps.api_key())
        if stage is not None:
            return stage
        reasons.append("api_key_mismatch")
    if headers.get(SIGNATURE_HEADER) or headers.get(TIMESTAMP_HEADER):
        if deps.signing_key is None:
            reasons.append("signing_not_configured")
        else:
            now = deps.clock()
            problems = [
                signature_problem(
                    body, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), key, now
                )
                for key in accepted(deps.signing_key())
            ]
            if None in problems:
                return problems.index(None)
            reasons.append(problems[0] or "signature_mismatch")
    raise AuthError(401, ",".join(reasons) or "credentials_missing")


def _note_stage(what: dict[str, Any], stage: int) -> None:
    # Shows in the "accepted" log line: while it appears, a sender still uses the value a rotation
    # replaced (docs/operations.md#rotating-the-ingest-secrets).
    if stage > 0:
        what["credential"] = "previous"


def _accept_outbound_message(
    event: dict[str, Any], headers: dict[str, str], body: bytes, deps: IngestDeps, what: dict[str, Any]
) -> list[SyncRequest]:
    # Outbound Messages carry no custom headers and no signature: the URL token is the credential.
    token = _query(event).get(TOKEN_PARAMETER)
    if not token:
        raise AuthError(401, "token_missing")
    if deps.outbound_message_token is None:
        raise AuthError(401, "outbound_message_token_not_configured")
    stage = matching_secret(token, deps.outbound_message_token())
    if stage is None:
        raise AuthError(401, "token_mismatch")
    _note_stage(what, stage)
    media = _media_type(headers)
    # Salesforce sends text/xml [I]; accept any XML type or none, refuse what is clearly not XML.
    if media and media not in _XML_TYPES and not media.endswith("+xml"):
        raise InboundError(415, "unsupported_media_type", "send the Outbound Message as text/xml")
    from sf_bigtime.ingest.outbound_message import parse_outbound_message  # on first use (module docstring)

    message = parse_outbound_message(body)
    _check_org(message.org_id, deps.settings)
    return message.to_requests()


def _check_org(org_id: str, settings: IngestSettings) -> None:
    if not any(same_org(org_id, allowed) for allowed in settings.allowed_org_ids):
        # Same answer whatever the org: do not confirm to a caller which orgs this stack serves.
        raise AuthError(403, "org_not_allowed")


def _check_encoding(headers: dict[str, str]) -> None:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding and encoding != "identity":
        raise InboundError(415, "unsupported_encoding", "compressed bodies are not accepted")


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _query(event: dict[str, Any]) -> dict[str, str]:
    params = event.get("queryStringParameters")
    if isinstance(params, dict):
        return {str(k): str(v) for k, v in params.items()}
    # API Gateway joins repeated parameters with commas; do the same so "?token=a&token=b" never matches.
    raw = parse_qs(str(event.get("rawQueryString") or ""), keep_blank_values=True)
    return {k: ",".join(v) for k, v in raw.items()}


def _body(event: dict[str, Any], limit: int) -> bytes:
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise InboundError(400, "malformed_body", "the body is not text")
    too_big = InboundError(413, "payload_too_large", f"the body is larger than {limit} bytes")
    if event.get("isBase64Encoded"):
        if len(raw) > (limit + 2) // 3 * 4:  # decide before decoding anything big
            raise too_big
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InboundError(400, "malformed_body", "the body is not valid base64") from None
    else:
        if len(raw) > limit:  # every character is at least one byte
            raise too_big
        data = raw.encode("utf-8", errors="surrogateescape")
    if len(data) > limit:
        raise too_big
    return data


def _count_accepted(deps: IngestDeps, requests: Sequence[SyncRequest]) -> None:
    for source, n in Counter(r.source for r in requests).items():
        deps.count(obs.EVENTS_ACCEPTED, n, Source=source)


def _count_rejected(deps: IngestDeps, what: dict[str, Any], reason: str, n: int = 1) -> None:
    """Refused (4xx) and not-queued (5xx) requests, by entry point and error code (auth failures show as
    ``unauthorized``/``forbidden``: probing is visible on the dashboard)."""
    deps.count(obs.EVENTS_REJECTED, n, Source=str(what.get("route") or "unknown"), Reason=reason)


def _summary(requests: Sequence[SyncRequest]) -> dict[str, Any]:
    return {
        "count": len(requests),
        "opportunity_ids": [r.opportunity_id for r in requests],
        "delivery_ids": [r.delivery_id for r in requests],
    }


def _log(log: Any, level: str, message: str, extra: dict[str, Any]) -> None:
    if log is not None:
        getattr(log, level)(message, extra=extra)


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


def _json_accepted(requests: list[SyncRequest]) -> dict[str, Any]:
    return _json(202, {"accepted": len(requests), "ids": [r.delivery_id for r in requests]})


def _soap(status: int, body: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": SOAP_CONTENT_TYPE},
        "body": body,
        "isBase64Encoded": False,
    }


def _soap_error(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return _soap(status, fault(message, server=status >= 500))


def _soap_ack(requests: list[SyncRequest]) -> dict[str, Any]:
    return _soap(200, ack())


_ROUTES: dict[str, _Route] = {
    EVENTS_ROUTE: _Route("json", _accept_json, _json_accepted, _json_error),
    OUTBOUND_MESSAGE_ROUTE: _Route("outbound_message", _accept_outbound_message, _soap_ack, _soap_error),
}


# ----------------------------------------------------------------------------------------- EventBridge


def handle_eventbridge(event: dict[str, Any], deps: IngestDeps, log: Any = None) -> dict[str, Any]:
    """One Event Relay event from the EventBridge rule. Returns a summary (for logs and the local stack);
    raises only when enqueueing failed, so Lambda retries the event and, after that, sends it to the
    failure destination."""
    what: dict[str, Any] = {
        "route": "eventbridge",
        "event_id": event.get("id"),
        "detail_type": event.get("detail-type"),
    }
    from sf_bigtime.ingest.eventbridge import parse_relay_event  # on first use (module docstring)

    try:
        if not deps.settings.event_bus_name:
            # No rule sends events here: this one was invoked directly, with a source anyone can write.
            raise InboundError(
                403, "event_relay_off", "Event Relay is not set up on this stack (SalesforceEventBusName)"
            )
        result = parse_relay_event(event)
        _check_org(result.org_id, deps.settings)
    except InboundError as exc:
        _refused(exc, what, deps, log, _json_error)
        return {"accepted": 0, "ids": [], "rejected": {"code": exc.code, "message": exc.message}}
    what["kind"] = result.kind
    for skip in result.skipped:
        deps.count(skip.metric, 1)
        _log(log, "info", f"skipped: {skip.reason}", what | skip.detail)
    if result.gap:
        deps.count(obs.CDC_GAP_EVENTS, 1)
    if result.requests:
        try:
            deps.enqueue(result.requests)
        except EnqueueError as exc:
            _count_rejected(deps, what, "enqueue_failed", len(result.requests))
            _log(
                log,
                "error",
                "enqueue failed; raising so Lambda retries the event",
                what | {"error": str(exc)},
            )
            raise
    _count_accepted(deps, result.requests)
    _log(log, "info", "accepted", what | _summary(result.requests))
    return {
        "accepted": len(result.requests),
        "ids": [r.delivery_id for r in result.requests],
        "skipped": [s.reason for s in result.skipped],
    }
