from __future__ import annotations

import json

import pytest

from sf_bigtime.inbound import InboundError
from sf_bigtime.inbound.json_event import MAX_EVENTS_PER_REQUEST, parse_json_events
from sf_bigtime.messages import SyncRequest, dedup_id

ORG15, OPP15 = "00D5w000004abcd", "0065w000023abcd"


def body(**overrides: object) -> bytes:
    return json.dumps({"orgId": ORG15, "opportunityId": OPP15, "eventId": "evt-1", **overrides}).encode()


def test_one_event_normalised_to_18_char_ids() -> None:
    [event] = parse_json_events(body())
    request = event.to_request()
    assert isinstance(request, SyncRequest)
    assert (request.org_id, request.opportunity_id) == ("00D5w000004abcdEAA", "0065w000023abcdAAA")
    assert request.source == "json" and request.delivery_id == "evt-1"
    assert request.group_id == "0065w000023abcdAAA" and request.deduplication_id == "evt-1"


def test_list_of_events() -> None:
    events = parse_json_events(json.dumps([json.loads(body(eventId=f"e{i}")) for i in range(3)]).encode())
    assert [e.event_id for e in events] == ["e0", "e1", "e2"]


@pytest.mark.parametrize(
    ("raw", "code", "text"),
    [
        (b"not json", "malformed_json", "not valid JSON"),
        (b"[]", "empty_batch", "empty"),
        (b'"a string"', "invalid_body", "JSON object"),
        (body(opportunityId="001000000000001"), "invalid_event", "opportunityId"),
        (body(orgId="nope"), "invalid_event", "orgId"),
        (
            json.dumps({"orgId": ORG15, "opportunityId": OPP15}).encode(),
            "invalid_event",
            "eventId' is required",
        ),
        (b"\xff\xfe", "malformed_json", "not valid JSON"),
    ],
)
def test_rejections_name_the_problem(raw: bytes, code: str, text: str) -> None:
    with pytest.raises(InboundError) as info:
        parse_json_events(raw)
    assert info.value.status == 400
    assert info.value.code == code
    assert text in info.value.message


def test_too_many_events() -> None:
    many = json.dumps([json.loads(body(eventId=f"e{i}")) for i in range(MAX_EVENTS_PER_REQUEST + 1)]).encode()
    with pytest.raises(InboundError, match="at most 100"):
        parse_json_events(many)


def test_batch_error_says_which_event() -> None:
    raw = json.dumps([json.loads(body()), {"orgId": ORG15, "opportunityId": "bad", "eventId": "x"}]).encode()
    with pytest.raises(InboundError, match=r"event\[1\] field 'opportunityId'"):
        parse_json_events(raw)


def test_dedup_id_fits_sqs_rules() -> None:
    assert dedup_id("04l5w00000abcdeAAA") == "04l5w00000abcdeAAA"
    long_id = "x" * 200
    assert len(dedup_id(long_id)) == 64 and dedup_id(long_id) == dedup_id(long_id)
    assert dedup_id("has space") != "has space"
