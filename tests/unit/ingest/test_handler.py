"""The ingest router: every entry point, every rejection path, what is enqueued, counted and logged."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from defusedxml import ElementTree

from sf_bigtime import observability as obs
from sf_bigtime.ingest.auth import signature
from sf_bigtime.ingest.handler import IngestDeps, handle, handle_eventbridge, handle_http
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.queue.send import EnqueueError
from sf_bigtime.secrets import SecretError
from sf_bigtime.settings import IngestSettings
from tests.paths import EVENTS

API_KEY = "k" * 32
HMAC_KEY = "h" * 64
TOKEN = "t" * 48
NOW = 1_782_900_000
ORG = "00D5w000004abcdEAA"
SANDBOX = "00D5w000009zzzz"
OPP = "0065w000023abcdAAA"
SOAP_NS = "{http://schemas.xmlsoap.org/soap/envelope/}"


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[SyncRequest] = []
        self.fail = fail

    def __call__(self, requests: Sequence[SyncRequest]) -> list[str]:
        if self.fail:
            raise EnqueueError("SQS is down")
        self.sent.extend(requests)
        return [f"m{i}" for i in range(len(requests))]


class Secrets:
    """Secret getters that record which secret was read (and can fail like Secrets Manager)."""

    def __init__(self, fail: bool = False) -> None:
        self.reads: list[str] = []
        self.fail = fail

    def getter(self, name: str, value: str) -> Any:
        def get() -> str:
            self.reads.append(name)
            if self.fail:
                raise SecretError(f"secret {name} could not be read: ClientError")
            return value

        return get


class Counter(dict):
    """Totals by metric name; ``calls`` keeps each emission with its dimensions."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, float, dict[str, str]]] = []

    def __call__(self, name: str, value: float = 1, **dimensions: str) -> None:
        self[name] = self.get(name, 0) + value
        self.calls.append((name, value, dimensions))

    def reasons(self) -> list[str]:
        return [d.get("Reason", "") for n, _, d in self.calls if n == obs.EVENTS_REJECTED]


def deps(
    queue: Queue, secrets: Secrets | None = None, counter: Counter | None = None, **settings: object
) -> IngestDeps:
    secrets = secrets or Secrets()
    values = {
        "queue_url": "q",
        "webhook_secret_arn": "arn:w",
        "signing_secret_arn": "arn:s",
        "outbound_message_secret_arn": "arn:o",
        "allowed_org_ids": f"{ORG},{SANDBOX}",
        "max_body_bytes": 10_000,
        "event_bus_name": f"aws.partner/salesforce.com/{ORG}/0YL5f000000CabWGAS",
    }
    return IngestDeps(
        settings=IngestSettings.model_validate(values | settings),
        api_key=secrets.getter("api_key", API_KEY),
        signing_key=secrets.getter("hmac_key", HMAC_KEY),
        outbound_message_token=secrets.getter("token", TOKEN),
        enqueue=queue,
        count=counter if counter is not None else Counter(),
        clock=lambda: NOW,
    )


def http_event(
    body: object,
    *,
    headers: dict[str, str] | None = None,
    path: str = "/salesforce/events",
    method: str = "POST",
    query: dict[str, str] | None = None,
    b64: bool = False,
) -> dict:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    raw = raw.decode() if isinstance(raw, bytes) else raw
    event = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": headers or {},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "r-1"},
        "body": base64.b64encode(raw.encode()).decode() if b64 else raw,
        "isBase64Encoded": b64,
    }
    if query:
        event["queryStringParameters"] = query
    return event


def json_event(
    body: object, *, key: str | None = API_KEY, content_type: str = "application/json", **kw: Any
) -> dict:
    headers = {"content-type": content_type}
    if key is not None:
        headers["x-api-key"] = key
    headers.update(kw.pop("headers", {}))
    return http_event(body, headers=headers, **kw)


def signed_event(body: object, *, ts: int = NOW, key: str = HMAC_KEY, sig: str | None = None) -> dict:
    raw = body if isinstance(body, str) else json.dumps(body)
    headers = {
        "content-type": "application/json",
        "x-signature-timestamp": str(ts),
        "x-signature": sig if sig is not None else signature(key, str(ts), raw.encode()),
    }
    return http_event(raw, headers=headers)


def om_event(
    body: bytes | str, *, token: str | None = TOKEN, content_type: str = "text/xml; charset=utf-8"
) -> dict:
    return http_event(
        body,
        headers={"content-type": content_type, "soapaction": '""'},
        path="/salesforce/outbound-message",
        query={"token": token} if token is not None else None,
    )


GOOD = {"orgId": ORG, "opportunityId": OPP, "eventId": "evt-1"}
OM_SAMPLE = (EVENTS / "outbound-message.xml").read_bytes()


def reply_json(reply: dict) -> dict:
    assert reply["headers"]["content-type"] == "application/json"
    return json.loads(reply["body"])


def soap_fault(reply: dict) -> tuple[str, str]:
    assert reply["headers"]["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(reply["body"])
    [fault] = root.iter(f"{SOAP_NS}Fault")
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


# ------------------------------------------------------------------------------------------ JSON


def test_json_accepts_and_enqueues_one_message() -> None:
    queue = Queue()
    counter = Counter()
    reply = handle_http(json_event(GOOD), deps(queue, counter=counter))
    assert reply["statusCode"] == 202
    assert reply_json(reply) == {"accepted": 1, "ids": ["evt-1"]}
    [msg] = queue.sent
    assert (msg.org_id, msg.opportunity_id, msg.delivery_id, msg.source) == (ORG, OPP, "evt-1", "json")
    assert counter == {obs.EVENTS_ACCEPTED: 1}


def test_json_list_from_two_configured_orgs() -> None:
    queue = Queue()
    body = [GOOD, {"orgId": SANDBOX, "opportunityId": "0065w000023abce"}]
    reply = handle_http(json_event(body), deps(queue))
    assert reply["statusCode"] == 202
    assert reply_json(reply)["accepted"] == 2
    assert [m.org_id[:15] for m in queue.sent] == [ORG[:15], SANDBOX]


def test_base64_bodies_are_decoded() -> None:
    queue = Queue()
    assert handle_http(json_event(GOOD, b64=True), deps(queue))["statusCode"] == 202
    assert len(queue.sent) == 1


def test_missing_content_type_is_read_as_json() -> None:
    queue = Queue()
    event = json_event(GOOD)
    del event["headers"]["content-type"]
    assert handle_http(event, deps(queue))["statusCode"] == 202


@pytest.mark.parametrize("key", [None, "", "wrong", API_KEY + "x", API_KEY[:-1], "ключ"])
def test_bad_api_key_is_401_and_enqueues_nothing(key: str | None) -> None:
    queue = Queue()
    counter = Counter()
    reply = handle_http(json_event(GOOD, key=key), deps(queue, counter=counter))
    assert reply["statusCode"] == 401
    assert reply_json(reply) == {
        "error": {"code": "unauthorized", "message": "missing or invalid credentials"}
    }
    assert queue.sent == []
    assert counter == {obs.EVENTS_REJECTED: 1}


def test_unauthenticated_requests_read_no_secret() -> None:
    # Probes cost nothing: no Secrets Manager call unless a credential is presented.
    secrets = Secrets()
    handle_http(json_event(GOOD, key=None), deps(Queue(), secrets))
    handle_http(om_event(OM_SAMPLE, token=None), deps(Queue(), secrets))
    assert secrets.reads == []


def test_signed_event_is_accepted_without_an_api_key() -> None:
    queue = Queue()
    secrets = Secrets()
    reply = handle_http(signed_event(GOOD), deps(queue, secrets))
    assert reply["statusCode"] == 202
    assert len(queue.sent) == 1
    assert secrets.reads == ["hmac_key"]


def test_signature_accepts_the_bare_hex_form_and_any_case() -> None:
    raw = json.dumps(GOOD)
    hex_only = signature(HMAC_KEY, str(NOW), raw.encode()).removeprefix("sha256=")
    for sig in (hex_only, "SHA256=" + hex_only.upper()):
        assert handle_http(signed_event(raw, sig=sig), deps(Queue()))["statusCode"] == 202


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"ts": NOW - 301}, "timestamp_outside_tolerance"),  # stale: a replay outside the window
        ({"ts": NOW + 301}, "timestamp_outside_tolerance"),  # from the future
        ({"key": "another-key-" * 4}, "signature_mismatch"),
        ({"sig": ""}, "signature_missing"),
        ({"sig": "sha256=nothex"}, "signature_malformed"),
    ],
)
def test_bad_signatures_are_401_with_the_reason_only_in_the_log(
    kwargs: dict, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue()
    log = logging.getLogger("ingest-test")
    with caplog.at_level(logging.WARNING, logger="ingest-test"):
        reply = handle_http(signed_event(GOOD, **kwargs), deps(queue), log=log)
    assert reply["statusCode"] == 401
    assert reply_json(reply)["error"]["message"] == "missing or invalid credentials"
    assert reason not in reply["body"]
    assert queue.sent == []
    [record] = caplog.records
    assert record.reason == reason  # type: ignore[attr-defined]


def test_signature_within_the_window_is_accepted() -> None:
    for ts in (NOW - 300, NOW + 300):
        assert handle_http(signed_event(GOOD, ts=ts), deps(Queue()))["statusCode"] == 202


def test_malformed_timestamp_is_401() -> None:
    event = signed_event(GOOD)
    event["headers"]["x-signature-timestamp"] = "1782900000.5"
    assert handle_http(event, deps(Queue()))["statusCode"] == 401


def test_signature_covers_the_body() -> None:
    event = signed_event(GOOD)
    event["body"] = json.dumps({**GOOD, "opportunityId": "0065w000023abce"})
    assert handle_http(event, deps(Queue()))["statusCode"] == 401


def test_signature_without_a_configured_signing_secret_is_401() -> None:
    queue = Queue()
    d = deps(queue)
    d = IngestDeps(settings=d.settings, api_key=d.api_key, enqueue=queue, clock=d.clock)
    assert handle_http(signed_event(GOOD), d)["statusCode"] == 401


def test_wrong_org_is_403_without_saying_why() -> None:
    queue = Queue()
    counter = Counter()
    reply = handle_http(json_event({**GOOD, "orgId": "00D000000000001"}), deps(queue, counter=counter))
    assert reply["statusCode"] == 403
    assert reply_json(reply) == {"error": {"code": "forbidden", "message": "not allowed"}}
    assert queue.sent == []
    assert counter.reasons() == ["forbidden"]


def test_one_wrong_org_in_a_list_refuses_the_whole_list() -> None:
    queue = Queue()
    body = [GOOD, {**GOOD, "orgId": "00D000000000001", "eventId": "e2"}]
    assert handle_http(json_event(body), deps(queue))["statusCode"] == 403
    assert queue.sent == []


def test_org_matches_on_15_characters() -> None:
    queue = Queue()
    reply = handle_http(json_event({**GOOD, "orgId": ORG[:15]}), deps(queue, allowed_org_ids=ORG[:15]))
    assert reply["statusCode"] == 202


def test_malformed_body_is_400_naming_the_problem() -> None:
    queue = Queue()
    reply = handle_http(json_event({"orgId": ORG, "eventId": "x"}), deps(queue))
    assert reply["statusCode"] == 400
    error = reply_json(reply)["error"]
    assert error["code"] == "invalid_event" and error["field"] == "opportunityId"
    assert "opportunityId" in error["message"]
    assert queue.sent == []


def test_auth_is_checked_before_the_body_is_read() -> None:
    # An unauthenticated caller learns nothing about our validation rules.
    assert handle_http(json_event("not json", key="wrong"), deps(Queue()))["statusCode"] == 401


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({"headers": {"content-encoding": "gzip"}}, 415, "unsupported_encoding"),
        ({"path": "/other"}, 404, "not_found"),
        ({"method": "GET"}, 405, "method_not_allowed"),
    ],
)
def test_other_client_errors(kwargs: dict, status: int, code: str) -> None:
    queue = Queue()
    reply = handle_http(json_event(GOOD, **kwargs), deps(queue))
    assert reply["statusCode"] == status
    assert reply_json(reply)["error"]["code"] == code
    assert queue.sent == []


@pytest.mark.parametrize("b64", [False, True])
def test_body_over_the_cap_is_413(b64: bool) -> None:
    queue = Queue()
    big = {**GOOD, "padding": "x" * 20_000}
    reply = handle_http(json_event(big, b64=b64), deps(queue))
    assert reply["statusCode"] == 413
    assert reply_json(reply)["error"]["code"] == "payload_too_large"
    assert queue.sent == []


def test_multibyte_body_over_the_cap_is_413() -> None:
    reply = handle_http(json_event({**GOOD, "padding": "é" * 6_000}), deps(Queue()))
    assert reply["statusCode"] == 413


def test_invalid_base64_is_400() -> None:
    event = json_event(GOOD)
    event["isBase64Encoded"] = True
    event["body"] = "@@not base64@@"
    assert handle_http(event, deps(Queue()))["statusCode"] == 400


def test_enqueue_failure_is_503_never_2xx() -> None:
    counter = Counter()
    reply = handle_http(json_event(GOOD), deps(Queue(fail=True), counter=counter))
    assert reply["statusCode"] == 503
    assert reply_json(reply)["error"]["code"] == "enqueue_failed"
    assert counter == {obs.EVENTS_REJECTED: 1}


def test_unreadable_secret_is_503_never_4xx() -> None:
    reply = handle_http(json_event(GOOD), deps(Queue(), Secrets(fail=True)))
    assert reply["statusCode"] == 503
    assert "secret" not in reply["body"].lower()


def test_a_bug_is_500_never_2xx_in_the_routes_own_format() -> None:
    def broken(requests: Sequence[SyncRequest]) -> list[str]:
        raise RuntimeError("boom")

    counter = Counter()
    d = deps(Queue(), counter=counter)
    d = IngestDeps(settings=d.settings, api_key=d.api_key, enqueue=broken, count=counter, clock=d.clock)
    reply = handle_http(json_event(GOOD), d)  # a bug while enqueueing...
    assert reply["statusCode"] == 500
    assert reply_json(reply)["error"]["code"] == "internal_error"
    d2 = IngestDeps(
        settings=d.settings,
        api_key=lambda: 1 / 0,  # type: ignore[arg-type,return-value]
        outbound_message_token=lambda: 1 / 0,  # type: ignore[arg-type,return-value]
        enqueue=Queue(),
        count=counter,
    )
    assert handle_http(json_event(GOOD), d2)["statusCode"] == 500  # ...or before it
    reply = handle_http(om_event(OM_SAMPLE), d2)
    assert reply["statusCode"] == 500 and soap_fault(reply)[0] == "soapenv:Server"
    assert counter == {obs.EVENTS_REJECTED: 3}


# ------------------------------------------------------------------------------ Outbound Message


def test_outbound_message_is_acked_after_every_notification_is_queued() -> None:
    queue = Queue()
    reply = handle_http(om_event(OM_SAMPLE), deps(queue))
    assert reply["statusCode"] == 200
    assert reply["headers"]["content-type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(reply["body"])
    assert [a.text for a in root.iter("{http://soap.sforce.com/2005/09/outbound}Ack")] == ["true"]
    assert [m.delivery_id for m in queue.sent] == [
        "04l5w00000abcdeAAA",
        "04l5w00000abcdfAAA",
        "04l5w00000abcdgAAA",
    ]
    assert {m.source for m in queue.sent} == {"outbound_message"}


@pytest.mark.parametrize("content_type", ["application/xml", "application/soap+xml", ""])
def test_outbound_message_content_types(content_type: str) -> None:
    assert handle_http(om_event(OM_SAMPLE, content_type=content_type), deps(Queue()))["statusCode"] == 200


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", f"{TOKEN},{TOKEN}"])
def test_outbound_message_bad_token_is_a_401_fault(token: str | None) -> None:
    queue = Queue()
    reply = handle_http(om_event(OM_SAMPLE, token=token), deps(queue))
    assert reply["statusCode"] == 401
    assert soap_fault(reply) == ("soapenv:Client", "missing or invalid credentials")
    assert queue.sent == []


def test_outbound_message_token_from_the_raw_query_string() -> None:
    event = om_event(OM_SAMPLE)
    del event["queryStringParameters"]
    assert handle_http(event, deps(Queue()))["statusCode"] == 200
    event["rawQueryString"] = f"token={TOKEN}&token=other"
    assert handle_http(event, deps(Queue()))["statusCode"] == 401


def test_outbound_message_from_another_org_is_a_403_fault() -> None:
    queue = Queue()
    other = OM_SAMPLE.replace(b"00D5w000004abcdEAA", b"00D5w000001zzzzEAA")
    reply = handle_http(om_event(other), deps(queue))
    assert reply["statusCode"] == 403
    assert soap_fault(reply) == ("soapenv:Client", "not allowed")
    assert queue.sent == []


def test_outbound_message_client_errors_are_4xx_faults_saying_what_is_wrong() -> None:
    queue = Queue()
    bad = OM_SAMPLE.replace(b"<sf:Id>0065w000023abceAAA</sf:Id>", b"<sf:Id>0015w00002abcdeAAA</sf:Id>")
    reply = handle_http(om_event(bad), deps(queue))
    assert reply["statusCode"] == 400
    code, message = soap_fault(reply)
    assert code == "soapenv:Client" and "Notification[1]/sObject/Id" in message
    assert queue.sent == []  # one bad notification: nothing of the batch is enqueued


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"content_type": "application/json"}, 415), ({"content_type": "text/plain"}, 415)],
)
def test_outbound_message_wrong_content_type(kwargs: dict, status: int) -> None:
    reply = handle_http(om_event(OM_SAMPLE, **kwargs), deps(Queue()))
    assert reply["statusCode"] == status
    assert soap_fault(reply)[0] == "soapenv:Client"


def test_outbound_message_over_the_cap_is_a_413_fault() -> None:
    reply = handle_http(om_event(OM_SAMPLE + b" " * 10_000), deps(Queue()))
    assert reply["statusCode"] == 413
    assert soap_fault(reply)[0] == "soapenv:Client"


def test_outbound_message_get_is_a_405_fault() -> None:
    event = om_event(OM_SAMPLE)
    event["requestContext"]["http"]["method"] = "GET"
    reply = handle_http(event, deps(Queue()))
    assert reply["statusCode"] == 405 and soap_fault(reply)[0] == "soapenv:Client"


def test_outbound_message_enqueue_failure_is_a_server_fault_and_no_ack() -> None:
    reply = handle_http(om_event(OM_SAMPLE), deps(Queue(fail=True)))
    assert reply["statusCode"] == 503
    assert soap_fault(reply)[0] == "soapenv:Server"
    assert "Ack" not in reply["body"]


# ------------------------------------------------------------------------------------- EventBridge


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_eventbridge_cdc_is_enqueued_and_summarised() -> None:
    queue = Queue()
    counter = Counter()
    result = handle(sample("eventbridge-cdc-update.json"), deps(queue, counter=counter))
    assert result == {
        "accepted": 1,
        "ids": ["0001ade9-3f74-0b99-dbc4-42e73424b774:1:0065w000023abcdAAA"],
        "skipped": [],
    }
    assert [m.source for m in queue.sent] == ["cdc"]
    assert counter == {obs.EVENTS_ACCEPTED: 1}


def test_eventbridge_needs_no_secret() -> None:
    secrets = Secrets()
    handle(sample("eventbridge-platform-event.json"), deps(Queue(), secrets))
    assert secrets.reads == []


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("eventbridge-cdc-echo.json", obs.CDC_ECHOES_IGNORED),
        ("eventbridge-cdc-gap-overflow.json", obs.CDC_LEFT_TO_RECONCILE),
    ],
)
def test_eventbridge_skips_are_counted_not_enqueued(name: str, metric: str) -> None:
    queue = Queue()
    counter = Counter()
    result = handle(sample(name), deps(queue, counter=counter))
    assert result["accepted"] == 0 and len(result["skipped"]) == 1
    assert queue.sent == []
    assert counter[metric] == 1


def test_eventbridge_gap_events_are_counted_and_enqueued() -> None:
    queue = Queue()
    counter = Counter()
    handle(sample("eventbridge-cdc-gap.json"), deps(queue, counter=counter))
    assert len(queue.sent) == 2
    assert counter[obs.CDC_GAP_EVENTS] == 1 and counter[obs.EVENTS_ACCEPTED] == 2


def test_eventbridge_from_an_unknown_org_is_refused_and_counted() -> None:
    queue = Queue()
    counter = Counter()
    event = sample("eventbridge-cdc-update.json")
    event["source"] = "aws.partner/salesforce.com/00D000000000001EAA/0YL5f000000CabWGAS"
    result = handle(event, deps(queue, counter=counter))
    assert result["accepted"] == 0 and result["rejected"]["code"] == "forbidden"
    assert queue.sent == []
    assert counter == {obs.EVENTS_REJECTED: 1}


def test_eventbridge_malformed_event_is_refused_not_raised() -> None:
    counter = Counter()
    result = handle_eventbridge(
        {"detail-type": "x", "source": "y", "detail": {}}, deps(Queue(), counter=counter)
    )
    assert result["rejected"]["code"] == "unknown_source"
    assert counter[obs.EVENTS_REJECTED] == 1


def test_eventbridge_enqueue_failure_raises_so_lambda_retries() -> None:
    counter = Counter()
    with pytest.raises(EnqueueError):
        handle(sample("eventbridge-cdc-update.json"), deps(Queue(fail=True), counter=counter))
    assert counter == {obs.EVENTS_REJECTED: 1}


def test_unknown_event_shapes_are_a_wiring_error() -> None:
    with pytest.raises(ValueError, match="unsupported event"):
        handle({"Records": []}, deps(Queue()))


# ------------------------------------------------------------------------------------------ logs


class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, level: str, message: str, extra: dict | None = None, **_: Any) -> None:
        self.lines.append(f"{level} {message} {json.dumps(extra, default=str)}")

    def info(self, message: str, **kw: Any) -> None:
        self._add("INFO", message, **kw)

    def warning(self, message: str, **kw: Any) -> None:
        self._add("WARNING", message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self._add("ERROR", message, **kw)

    def exception(self, message: str, **kw: Any) -> None:
        self._add("ERROR", message, **kw)


def test_logs_never_hold_credentials_or_bodies() -> None:
    log = ListLog()
    marker = "Body-Marker-Should-Not-Be-Logged"
    d = deps(Queue())
    handle_http(json_event({**GOOD, "stageName": marker}), d, log=log)
    handle_http(json_event({**GOOD, "stageName": marker}, key="wrong-" + marker), d, log=log)
    handle_http(signed_event({**GOOD, "stageName": marker}), d, log=log)
    handle_http(signed_event({**GOOD, "stageName": marker}, ts=NOW - 1000), d, log=log)
    handle_http(om_event(OM_SAMPLE.replace(b"Acme", marker.encode())), d, log=log)
    handle_http(om_event(OM_SAMPLE, token="wrong-" + marker), d, log=log)
    handle_http(om_event(b"<Envelope>" + marker.encode()), d, log=log)
    handle_http(json_event({**GOOD, "stageName": marker}), deps(Queue(fail=True)), log=log)
    assert len(log.lines) == 8
    text = "\n".join(log.lines)
    for secret in (API_KEY, HMAC_KEY, TOKEN, marker):
        assert secret not in text
