from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.json_event import MAX_EVENTS_PER_REQUEST, parse_json_events
from sf_bigtime.queue.message import SyncRequest, dedup_id

ORG15, OPP15, ACC15 = "00D5w000004abcd", "0065w000023abcd", "0015w00002abcde"


def body(**overrides: object) -> bytes:
    return json.dumps({"orgId": ORG15, "opportunityId": OPP15, "eventId": "evt-1", **overrides}).encode()


def test_one_event_normalised_to_18_char_ids() -> None:
    [event] = parse_json_events(body())
    request = event.to_request()
    assert isinstance(request, SyncRequest)
    assert (request.org_id, request.opportunity_id) == ("00D5w000004abcdEAA", "0065w000023abcdAAA")
    assert request.source == "json" and request.delivery_id == "evt-1"
    assert request.group_id == "0065w000023abcdAAA" and request.deduplication_id == "evt-1"
    assert (request.account_id, request.stage_name, request.last_modified_date) == (None, None, None)


def test_optional_fields_are_carried() -> None:
    [event] = parse_json_events(
        body(accountId=ACC15, stageName=" Closed Won ", lastModifiedDate="2026-07-01T10:00:00.000Z")
    )
    request = event.to_request()
    assert request.account_id == "0015w00002abcdeAAA"
    assert request.stage_name == "Closed Won"
    assert request.last_modified_date == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_blank_optional_fields_are_missing() -> None:
    # A Flow that maps an empty variable sends "" rather than leaving the key out.
    [event] = parse_json_events(body(accountId="", stageName="  ", lastModifiedDate="", eventId=""))
    assert (event.account_id, event.stage_name, event.last_modified_date, event.event_id) == (None,) * 4


def test_epoch_milliseconds_and_naive_datetimes_are_utc() -> None:
    [ms] = parse_json_events(body(lastModifiedDate=1782900000000))
    [naive] = parse_json_events(body(lastModifiedDate="2026-07-01T10:00:00"))
    assert ms.last_modified_date == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert naive.last_modified_date == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_event_id_is_derived_deterministically_when_absent() -> None:
    a = json.dumps({"orgId": ORG15, "opportunityId": OPP15, "stageName": "Closed Won"}).encode()
    # same event: 18-character ids, other key order, an extra key we do not read
    b = json.dumps(
        {"stageName": "Closed Won", "opportunityId": OPP15 + "AAA", "orgId": ORG15 + "EAA", "x": 1}
    ).encode()
    c = json.dumps({"orgId": ORG15, "opportunityId": OPP15, "stageName": "Closed Lost"}).encode()
    [ea], [eb], [ec] = parse_json_events(a), parse_json_events(b), parse_json_events(c)
    assert ea.delivery_id == eb.delivery_id
    assert ea.delivery_id != ec.delivery_id
    assert ea.delivery_id.startswith("json-") and dedup_id(ea.delivery_id) == ea.delivery_id


def test_list_of_events() -> None:
    events = parse_json_events(json.dumps([json.loads(body(eventId=f"e{i}")) for i in range(3)]).encode())
    assert [e.event_id for e in events] == ["e0", "e1", "e2"]


def test_a_full_list_is_accepted() -> None:
    many = [json.loads(body(eventId=f"e{i}")) for i in range(MAX_EVENTS_PER_REQUEST)]
    assert len(parse_json_events(json.dumps(many).encode())) == MAX_EVENTS_PER_REQUEST


@pytest.mark.parametrize(
    ("raw", "code", "text"),
    [
        (b"not json", "malformed_json", "not valid JSON"),
        (b"", "malformed_json", "not valid JSON"),
        (b"[]", "empty_batch", "empty"),
        (b'"a string"', "invalid_body", "JSON object"),
        (b"[1, 2]", "invalid_event", "event[0] must be a JSON object"),
        (body(opportunityId="001000000000001"), "invalid_event", "opportunityId"),
        (body(orgId="nope"), "invalid_event", "orgId"),
        (body(accountId="0065w000023abcd"), "invalid_event", "accountId"),
        (body(stageName="x" * 256), "invalid_event", "stageName"),
        (body(eventId="x" * 256), "invalid_event", "eventId"),
        (body(lastModifiedDate="yesterday"), "invalid_event", "lastModifiedDate"),
        (json.dumps({"orgId": ORG15}).encode(), "invalid_event", "'opportunityId' is required"),
        (b"\xff\xfe", "malformed_json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json", "nested too deeply"),
        (b"1" * 5000, "malformed_json", "not valid JSON"),  # beyond Python's int digit limit
    ],
)
def test_rejections_name_the_problem(raw: bytes, code: str, text: str) -> None:
    with pytest.raises(InboundError) as info:
        parse_json_events(raw)
    assert info.value.status == 400
    assert info.value.code == code
    assert text in info.value.message


def test_errors_never_echo_the_input() -> None:
    secretish = "0065w000023abcdSECRETISH"
    with pytest.raises(InboundError) as info:
        parse_json_events(body(opportunityId=secretish))
    assert secretish not in info.value.message


def test_too_many_events() -> None:
    many = json.dumps([json.loads(body(eventId=f"e{i}")) for i in range(MAX_EVENTS_PER_REQUEST + 1)]).encode()
    with pytest.raises(InboundError, match="at most 100"):
        parse_json_events(many)


def test_batch_error_says_which_event() -> None:
    raw = json.dumps([json.loads(body()), {"orgId": ORG15, "opportunityId": "bad", "eventId": "x"}]).encode()
    with pytest.raises(InboundError, match=r"event\[1\] field 'opportunityId'") as info:
        parse_json_events(raw)
    assert info.value.field == "opportunityId"


def test_dedup_id_fits_sqs_rules() -> None:
    assert dedup_id("04l5w00000abcdeAAA") == "04l5w00000abcdeAAA"
    long_id = "x" * 200
    assert len(dedup_id(long_id)) == 64 and dedup_id(long_id) == dedup_id(long_id)
    assert dedup_id("has space") != "has space"


def test_a_pull_request_names_its_project_and_is_another_event_than_a_sync() -> None:
    [pull] = parse_json_events(body(action="pull", projectId="5001"))
    request = pull.to_request()
    assert (request.kind, request.bigtime_project_id, request.delivery_id) == ("pull", "5001", "evt-1")
    [sync] = parse_json_events(body(projectId="5001"))  # a sync ignores projectId
    assert (sync.to_request().kind, sync.to_request().bigtime_project_id) == ("sync", None)
    without_id = {"orgId": ORG15, "opportunityId": OPP15}
    [derived_sync] = parse_json_events(json.dumps(without_id).encode())
    [derived_pull] = parse_json_events(json.dumps({**without_id, "action": "pull"}).encode())
    assert (
        derived_pull.delivery_id.startswith("pull-") and derived_pull.delivery_id != derived_sync.delivery_id
    )
    assert dedup_id(derived_pull.delivery_id) == derived_pull.delivery_id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"action": "delete"}, "action"), ({"action": "pull", "projectId": "P-1"}, "projectId")],
)
def test_a_bad_action_or_project_id_is_refused(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InboundError) as info:
        parse_json_events(body(**overrides))
    assert info.value.status == 400 and info.value.field == field
