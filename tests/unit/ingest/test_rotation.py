"""Secret rotation without 401s, at the router: every ingest credential is accepted in its current and its
previous value (what the secret getters return while a rotation is under way), the previous one is noted in
the log line so the operator sees when no sender uses it any more, and anything else is still refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sf_bigtime.ingest.auth import accepted, matching_secret
from sf_bigtime.ingest.handler import IngestDeps, handle_http
from sf_bigtime.settings import IngestSettings
from tests.unit.ingest.test_handler import (
    GOOD,
    NOW,
    OM_SAMPLE,
    ORG,
    ListLog,
    Queue,
    json_event,
    om_event,
    signed_event,
)

NEW_KEY, OLD_KEY = "n" * 40, "o" * 40
NEW_HMAC, OLD_HMAC = "N" * 64, "O" * 64
NEW_TOKEN, OLD_TOKEN = "T" * 48, "P" * 48


def rotating(queue: Queue) -> IngestDeps:
    return IngestDeps(
        settings=IngestSettings(
            queue_url="q",
            webhook_secret_arn="arn:w",
            signing_secret_arn="arn:s",
            outbound_message_secret_arn="arn:o",
            allowed_org_ids=(ORG,),
        ),
        api_key=lambda: (NEW_KEY, OLD_KEY),
        signing_key=lambda: (NEW_HMAC, OLD_HMAC),
        outbound_message_token=lambda: (NEW_TOKEN, OLD_TOKEN),
        enqueue=queue,
        clock=lambda: NOW,
    )


def _accepted_line(log: ListLog) -> dict[str, Any]:
    [line] = [line for line in log.lines if line.startswith("INFO accepted")]
    extra: dict[str, Any] = json.loads(line.removeprefix("INFO accepted "))
    return extra


EVENTS = {
    "api key": lambda value: json_event(GOOD, key=value),
    "signature": lambda value: signed_event(GOOD, key=value),
    "outbound message token": lambda value: om_event(OM_SAMPLE, token=value),
}
VALUES = {
    "api key": (NEW_KEY, OLD_KEY),
    "signature": (NEW_HMAC, OLD_HMAC),
    "outbound message token": (NEW_TOKEN, OLD_TOKEN),
}


@pytest.mark.parametrize("credential", EVENTS)
def test_the_current_value_is_accepted_and_not_noted(credential: str) -> None:
    queue, log = Queue(), ListLog()
    current, _ = VALUES[credential]
    reply = handle_http(EVENTS[credential](current), rotating(queue), log=log)
    assert reply["statusCode"] in (200, 202)
    assert queue.sent
    assert "credential" not in _accepted_line(log)


@pytest.mark.parametrize("credential", EVENTS)
def test_the_previous_value_is_accepted_during_a_rotation_and_noted(credential: str) -> None:
    queue, log = Queue(), ListLog()
    _, previous = VALUES[credential]
    reply = handle_http(EVENTS[credential](previous), rotating(queue), log=log)
    assert reply["statusCode"] in (200, 202)
    assert queue.sent
    assert _accepted_line(log)["credential"] == "previous"
    assert previous not in "\n".join(log.lines)


@pytest.mark.parametrize("credential", EVENTS)
def test_any_other_value_is_still_refused(credential: str) -> None:
    queue = Queue()
    for wrong in ("x" * 64, NEW_KEY[:-1], OLD_KEY + "o"):
        reply = handle_http(EVENTS[credential](wrong), rotating(queue), log=None)
        assert reply["statusCode"] == 401, wrong
    assert queue.sent == []


def test_a_stale_timestamp_is_refused_whichever_key_signed_it() -> None:
    log = ListLog()
    for key in (NEW_HMAC, OLD_HMAC):
        reply = handle_http(signed_event(GOOD, key=key, ts=NOW - 1000), rotating(Queue()), log=log)
        assert reply["statusCode"] == 401
    assert all("timestamp_outside_tolerance" in line for line in log.lines)


def test_a_single_value_is_one_value_not_its_characters() -> None:
    # A getter may return one string; it must never be read as the tuple of its characters.
    assert accepted("abc") == ("abc",)
    assert matching_secret("a", "abc") is None
    assert matching_secret("abc", "abc") == 0
    assert matching_secret("old", ("new", "old")) == 1
    assert matching_secret(None, ("new", "old")) is None
    assert matching_secret("", ("", "old")) is None  # an empty value never matches
