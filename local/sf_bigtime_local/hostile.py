"""The hostile-input corpus: requests ingest must refuse, kept as data (``tests/data/hostile/*.json``).

Each file is one case::

    {
      "why": "what the case attacks or breaks, for the reader",
      "request": {                                  # an HTTP request at the API (or "event", below)
        "method": "POST", "path": "/salesforce/events",
        "query": "token={token}",                   # the raw query string
        "headers": {"x-api-key": "{api_key}", "content-type": "application/json"},
        "body": "...",                              # or "body_file": "bodies/x.xml" (next to the cases),
                                                    # or "body_repeat": {"prefix", "unit", "times", "suffix"}
        "body_base64": false,                       # the body text is base64 of raw bytes (bad UTF-8, NUL)
        "event_base64": false,                      # API Gateway hands it over base64-encoded
        "sign": {"offset_seconds": -600}            # add x-signature(-timestamp) headers (HMAC key, or
                                                    # "key": "wrong"; "body": "…" signs another body)
      },
      "event": {...},                               # instead of "request": an event invoked directly
      "event_relay": false,                         # whether the stack has Event Relay on
      "expect": {"status": 400, "code": "malformed_json", "frontdoor_status": 404},
      "frontdoor": true                             # also sent through the local API Gateway (a sample)
    }

Placeholders ``{api_key}``, ``{api_key_prefix}`` (its first 8 characters), ``{hmac_key}``, ``{token}``,
``{org_id}`` (the stack's org, 18 characters), ``{org_id15}`` and ``{now}`` are replaced with the secrets and values of the stack under test, anywhere in
the request or event. ``expect.code`` is the error code ingest counts (``EventsRejected`` ``Reason``) and,
on the JSON route, returns; ``frontdoor_status`` is what the deployed API answers when API Gateway itself
answers first (a route it does not have).

:func:`run_case` runs one case through :func:`sf_bigtime.ingest.handler.handle` with in-memory
dependencies and reports what happened (status, code, reply, what was enqueued, logged and counted, and
how long it took), so the unit test and the benchmark judge the same thing; :func:`http_request` gives
the same case as raw HTTP for the local stack's front door.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sf_bigtime.ingest.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.observability import EVENTS_REJECTED
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.settings import IngestSettings
from sf_bigtime_local.template import REPO_ROOT

CORPUS_DIR = REPO_ROOT / "tests/data/hostile"
EVENT_BUS = "aws.partner/salesforce.com/{org_id}/0YL5w0000000001"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repeat(_Model):
    prefix: str = ""
    unit: str
    times: int = Field(ge=0, le=2_000_000)
    suffix: str = ""


class Sign(_Model):
    offset_seconds: int = 0  # the timestamp's distance from now
    key: Literal["hmac", "wrong"] = "hmac"
    timestamp: str | None = None  # sent as is instead of now + offset
    body: str | None = None  # sign this instead of the body sent


class Request(_Model):
    method: str = "POST"
    path: str
    query: str = ""
    headers: dict[str, str] = {}
    body: str | None = None
    body_file: str | None = None
    body_repeat: Repeat | None = None
    body_base64: bool = False
    event_base64: bool = False
    event_body: str | None = None  # the event's body exactly so (what API Gateway never sends: bad base64)
    sign: Sign | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        if sum(x is not None for x in (self.body, self.body_file, self.body_repeat)) > 1:
            raise ValueError("give one of body, body_file, body_repeat")
        return self


class Expect(_Model):
    status: int | None = Field(default=None, ge=400, le=499)  # None: a direct event (no HTTP reply)
    code: str
    frontdoor_status: int | None = None


class Case(_Model):
    name: str
    why: str = Field(min_length=10)
    request: Request | None = None
    event: dict[str, Any] | None = None
    event_relay: bool = False
    expect: Expect
    frontdoor: bool = False

    @model_validator(mode="after")
    def _one_input(self) -> Self:
        if (self.request is None) == (self.event is None):
            raise ValueError("give a request or an event")
        if (self.request is None) != (self.expect.status is None):
            raise ValueError("expect.status is for requests (an event has no HTTP reply)")
        return self


def load_corpus(directory: Path = CORPUS_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        try:
            cases.append(Case.model_validate({"name": path.stem, **json.loads(path.read_text("utf-8"))}))
        except ValueError as exc:  # ValidationError and JSONDecodeError: name the file
            raise ValueError(f"{path}: {exc}") from None
    return cases


@dataclass(frozen=True)
class Secrets:
    """The secrets and org of the stack a case runs against; every case's placeholders are filled from it."""

    api_key: str
    hmac_key: str
    token: str
    org_id: str

    def fill(self, text: str, now: int) -> str:
        for name, value in (
            ("api_key", self.api_key),
            ("hmac_key", self.hmac_key),
            ("token", self.token),
            ("api_key_prefix", self.api_key[:8]),
            ("org_id15", self.org_id[:15]),
            ("org_id", self.org_id),
            ("now", str(now)),
        ):
            text = text.replace("{" + name + "}", value)
        return text

    def fill_all(self, value: Any, now: int) -> Any:
        if isinstance(value, str):
            return self.fill(value, now)
        if isinstance(value, list):
            return [self.fill_all(v, now) for v in value]
        if isinstance(value, dict):
            return {self.fill(str(k), now): self.fill_all(v, now) for k, v in value.items()}
        return value

    def values(self) -> tuple[str, ...]:
        return (self.api_key, self.hmac_key, self.token)


@dataclass(frozen=True)
class HttpRequest:
    """A case as HTTP: what goes on the wire (the front door) or into an API Gateway event."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def http_request(case: Case, secrets: Secrets, now: int, directory: Path = CORPUS_DIR) -> HttpRequest:
    request = case.request
    if request is None:
        raise ValueError(f"{case.name} is an event, not a request")
    if request.body_file is not None:
        text = (directory / request.body_file).read_text(encoding="utf-8")
    elif request.body_repeat is not None:
        r = request.body_repeat
        text = r.prefix + r.unit * r.times + r.suffix
    else:
        text = request.body or ""
    text = secrets.fill(text, now)
    body = base64.b64decode(text) if request.body_base64 else text.encode("utf-8", "surrogatepass")
    headers = {k.lower(): secrets.fill(v, now) for k, v in request.headers.items()}
    if request.sign is not None:
        sign = request.sign
        timestamp = sign.timestamp or str(now + sign.offset_seconds)
        key = secrets.hmac_key if sign.key == "hmac" else "not-the-" + secrets.hmac_key
        signed = body if sign.body is None else secrets.fill(sign.body, now).encode()
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(key, timestamp, signed)
    return HttpRequest(request.method, request.path, secrets.fill(request.query, now), headers, body)


def api_gateway_event(case: Case, secrets: Secrets, now: int) -> dict[str, Any]:
    """The HTTP API (payload 2.0) event API Gateway would hand ingest for the case's request."""
    assert case.request is not None
    wire = http_request(case, secrets, now)
    encoded = case.request.event_base64 or case.request.body_base64
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": wire.path,
        "rawQueryString": wire.query,
        "headers": wire.headers,
        "requestContext": {
            "http": {"method": wire.method, "path": wire.path, "sourceIp": "203.0.113.9"},
            "requestId": f"hostile-{case.name}",
        },
        "body": case.request.event_body
        if case.request.event_body is not None
        else base64.b64encode(wire.body).decode()
        if encoded
        else wire.body.decode("utf-8", "surrogateescape"),
        "isBase64Encoded": encoded,
    }


@dataclass
class Outcome:
    """What ingest did with one case."""

    status: int | None  # the HTTP status (None for a direct event)
    code: str | None  # the error code it counted as EventsRejected's Reason
    reply: str  # the whole reply (body and headers) as text
    enqueued: list[SyncRequest]
    seconds: float
    log_lines: list[str] = field(default_factory=list)
    crashed: str | None = None  # an exception escaped ingest

    def problems(self, case: Case, secrets: Secrets) -> list[str]:
        """Why this outcome is not what the case expects (empty: it is)."""
        wrong = []
        if self.crashed:
            wrong.append(f"ingest raised {self.crashed}")
        if case.expect.status is not None and self.status != case.expect.status:
            wrong.append(f"status {self.status}, expected {case.expect.status}")
        if self.code != case.expect.code:
            wrong.append(f"code {self.code!r}, expected {case.expect.code!r}")
        if self.enqueued:
            wrong.append(f"enqueued {len(self.enqueued)} message(s)")
        for secret in secrets.values():
            if secret in self.reply:
                wrong.append("the reply holds a secret")
            if any(secret in line for line in self.log_lines):
                wrong.append("a log line holds a secret")
        return wrong


class _Queue:
    def __init__(self) -> None:
        self.sent: list[SyncRequest] = []

    def __call__(self, requests: Sequence[SyncRequest]) -> list[str]:
        self.sent.extend(requests)
        return [f"m{i}" for i in range(len(requests))]


class _Log:
    """A logger that keeps every line ingest writes (message and extra), as Powertools would render them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, level: str, message: str, **kwargs: Any) -> None:
        self.lines.append(json.dumps({"level": level, "message": message, **kwargs}, default=str))

    def info(self, message: str, **kwargs: Any) -> None:
        self._add("INFO", message, **kwargs)

    def warning(self, message: str, **kwargs: Any) -> None:
        self._add("WARNING", message, **kwargs)

    def error(self, message: str, **kwargs: Any) -> None:
        self._add("ERROR", message, **kwargs)

    def exception(self, message: str, **kwargs: Any) -> None:
        self._add("ERROR", message, **kwargs)


def deps_for(
    case: Case, secrets: Secrets, now: int, queue: Callable[[Sequence[SyncRequest]], list[str]], count: Any
) -> IngestDeps:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"  # names only; the values are `secrets`
    settings = IngestSettings(
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo",
        webhook_secret_arn=arn + "webhook",
        signing_secret_arn=arn + "signing",
        outbound_message_secret_arn=arn + "om",
        allowed_org_ids=(secrets.org_id,),
        event_bus_name=secrets.fill(EVENT_BUS, now) if case.event_relay else None,
    )
    return IngestDeps(
        settings=settings,
        api_key=lambda: secrets.api_key,
        signing_key=lambda: secrets.hmac_key,
        outbound_message_token=lambda: secrets.token,
        enqueue=queue,
        count=count,
        clock=lambda: float(now),
    )


def run_case(case: Case, secrets: Secrets, now: int) -> Outcome:
    """One case through ingest's handler with in-memory dependencies."""
    queue, log, rejected = _Queue(), _Log(), []

    def count(name: str, value: float = 1, **dimensions: str) -> None:
        if name == EVENTS_REJECTED:
            rejected.append(dimensions.get("Reason", ""))

    deps = deps_for(case, secrets, now, queue, count)
    event = api_gateway_event(case, secrets, now) if case.request else secrets.fill_all(case.event, now)
    started = time.perf_counter()
    crashed, reply = None, {}
    try:
        reply = handle(event, deps, log=log)
    except Exception as exc:  # the corpus reports it; a test fails on it
        crashed = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    code = rejected[0] if rejected else None
    return Outcome(
        status=reply.get("statusCode") if case.request else None,
        code=code,
        reply=json.dumps(reply, default=str),
        enqueued=queue.sent,
        seconds=seconds,
        log_lines=log.lines,
        crashed=crashed,
    )
