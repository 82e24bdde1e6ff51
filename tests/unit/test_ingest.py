from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import pytest

from sf_bigtime.ingest import IngestDeps, handle_http
from sf_bigtime.messages import SyncRequest
from sf_bigtime.queue import EnqueueError
from sf_bigtime.settings import IngestSettings

API_KEY = "k" * 32
ORG = "00D5w000004abcdEAA"
OPP = "0065w000023abcdAAA"


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[SyncRequest] = []
        self.fail = fail

    def __call__(self, requests: Sequence[SyncRequest]) -> list[str]:
        if self.fail:
            raise EnqueueError("SQS is down")
        self.sent.extend(requests)
        return [f"m{i}" for i in range(len(requests))]


def deps(queue: Queue, **settings: object) -> IngestDeps:
    values = {"queue_url": "q", "webhook_secret_arn": "arn", "allowed_org_ids": ORG, "max_body_bytes": 10_000}
    return IngestDeps(
        settings=IngestSettings.model_validate(values | settings), api_key=lambda: API_KEY, enqueue=queue
    )


def event(
    body: object,
    *,
    key: str | None = API_KEY,
    path: str = "/salesforce/events",
    method: str = "POST",
    content_type: str = "application/json",
    b64: bool = False,
) -> dict:
    raw = body if isinstance(body, str) else json.dumps(body)
    headers = {"content-type": content_type}
    if key is not None:
        headers["x-api-key"] = key
    return {
        "rawPath": path,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}},
        "body": base64.b64encode(raw.encode()).decode() if b64 else raw,
        "isBase64Encoded": b64,
    }


GOOD = {"orgId": ORG, "opportunityId": OPP, "eventId": "evt-1"}


def reply_json(reply: dict) -> dict:
    assert reply["headers"]["content-type"] == "application/json"
    return json.loads(reply["body"])


def test_accepts_and_enqueues_one_message() -> None:
    queue = Queue()
    reply = handle_http(event(GOOD), deps(queue))
    assert reply["statusCode"] == 202
    assert reply_json(reply) == {"accepted": 1, "ids": ["evt-1"]}
    [msg] = queue.sent
    assert (msg.org_id, msg.opportunity_id, msg.delivery_id, msg.source) == (ORG, OPP, "evt-1", "json")


def test_base64_bodies_are_decoded() -> None:
    queue = Queue()
    assert handle_http(event(GOOD, b64=True), deps(queue))["statusCode"] == 202
    assert len(queue.sent) == 1


@pytest.mark.parametrize("key", [None, "", "wrong", API_KEY + "x"])
def test_bad_api_key_is_401_and_enqueues_nothing(key: str | None) -> None:
    queue = Queue()
    reply = handle_http(event(GOOD, key=key), deps(queue))
    assert reply["statusCode"] == 401
    assert reply_json(reply)["error"]["code"] == "unauthorized"
    assert queue.sent == []


def test_wrong_org_is_403_without_saying_why() -> None:
    queue = Queue()
    reply = handle_http(event({**GOOD, "orgId": "00D000000000001"}), deps(queue))
    assert reply["statusCode"] == 403
    assert "org" not in reply["body"].lower()
    assert queue.sent == []


def test_org_matches_on_15_characters() -> None:
    queue = Queue()
    reply = handle_http(event({**GOOD, "orgId": ORG[:15]}), deps(queue, allowed_org_ids=ORG[:15]))
    assert reply["statusCode"] == 202


def test_malformed_body_is_400_naming_the_problem() -> None:
    queue = Queue()
    reply = handle_http(event({"orgId": ORG, "eventId": "x"}), deps(queue))
    assert reply["statusCode"] == 400
    error = reply_json(reply)["error"]
    assert error["code"] == "invalid_event" and error["field"] == "opportunityId"
    assert "opportunityId" in error["message"]
    assert queue.sent == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content_type": "text/plain"}, 415),
        ({"path": "/other"}, 404),
        ({"method": "GET"}, 405),
    ],
)
def test_other_client_errors(kwargs: dict, status: int) -> None:
    queue = Queue()
    assert handle_http(event(GOOD, **kwargs), deps(queue))["statusCode"] == status
    assert queue.sent == []


def test_body_over_the_cap_is_413() -> None:
    queue = Queue()
    big = {**GOOD, "padding": "x" * 20_000}
    reply = handle_http(event(big), deps(queue))
    assert reply["statusCode"] == 413
    assert queue.sent == []


def test_enqueue_failure_is_503_never_2xx() -> None:
    reply = handle_http(event(GOOD), deps(Queue(fail=True)))
    assert reply["statusCode"] == 503
    assert reply_json(reply)["error"]["code"] == "enqueue_failed"
