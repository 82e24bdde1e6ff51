"""Event Relay events through EventBridge: CDC (per record, gaps, wildcards, echoes) and Platform Events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sf_bigtime import observability as obs
from sf_bigtime.ingest.errors import InboundError
from sf_bigtime.ingest.eventbridge import OWN_CLIENT_ID, is_own_change, parse_relay_event
from tests.paths import EVENTS

ORG18 = "00D5w000004abcdEAA"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def cdc(**header: Any) -> dict[str, Any]:
    event = sample("eventbridge-cdc-update.json")
    event["detail"]["payload"]["ChangeEventHeader"].update(header)
    return event


def test_cdc_update_becomes_one_request() -> None:
    result = parse_relay_event(sample("eventbridge-cdc-update.json"))
    [request] = result.requests
    assert result.org_id == ORG18 and result.kind == "cdc" and not result.skipped and not result.gap
    assert request.opportunity_id == "0065w000023abcdAAA"
    assert request.source == "cdc"
    assert request.delivery_id == "0001ade9-3f74-0b99-dbc4-42e73424b774:1:0065w000023abcdAAA"
    assert request.stage_name == "Closed Won"
    assert request.last_modified_date == datetime.fromtimestamp(1783000000, UTC)  # epoch milliseconds


def test_cdc_iso_datetimes_are_accepted_too() -> None:
    event = sample("eventbridge-cdc-update.json")
    event["detail"]["payload"]["LastModifiedDate"] = "2026-07-01T10:00:00.000Z"
    [request] = parse_relay_event(event).requests
    assert request.last_modified_date == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_merged_change_yields_one_message_per_record_with_its_own_delivery_id() -> None:
    event = cdc(recordIds=["0065w000023abcd", "0065w000023abceAAA"], sequenceNumber=4)
    requests = parse_relay_event(event).requests
    assert [r.opportunity_id for r in requests] == ["0065w000023abcdAAA", "0065w000023abceAAA"]
    assert [r.delivery_id.rsplit(":", 1)[1] for r in requests] == [r.opportunity_id for r in requests]
    assert len({r.delivery_id for r in requests}) == 2
    assert all(r.delivery_id.split(":")[1] == "4" for r in requests)


def test_gap_event_re_reads_the_listed_records() -> None:
    result = parse_relay_event(sample("eventbridge-cdc-gap.json"))
    assert result.gap
    assert [r.opportunity_id for r in result.requests] == ["0065w000023abceAAA", "0065w000023abcfAAA"]
    assert all(r.stage_name is None for r in result.requests)  # gap events carry no field data


def test_gap_overflow_is_left_to_the_reconcile_sweep() -> None:
    result = parse_relay_event(sample("eventbridge-cdc-gap-overflow.json"))
    assert result.requests == []
    [skip] = result.skipped
    assert skip.metric == obs.CDC_LEFT_TO_RECONCILE and "GAP_OVERFLOW" in skip.reason


def test_wildcard_ids_are_left_to_the_sweep_but_listed_ids_still_go() -> None:
    result = parse_relay_event(cdc(recordIds=["006*", "0065w000023abcdAAA"]))
    assert [r.opportunity_id for r in result.requests] == ["0065w000023abcdAAA"]
    [skip] = result.skipped
    assert skip.metric == obs.CDC_LEFT_TO_RECONCILE and "wildcard" in skip.reason


def test_our_own_write_back_is_an_echo_and_is_ignored() -> None:
    result = parse_relay_event(sample("eventbridge-cdc-echo.json"))
    assert result.requests == []
    [skip] = result.skipped
    assert skip.metric == obs.CDC_ECHOES_IGNORED


@pytest.mark.parametrize(
    ("origin", "own"),
    [
        ("com/salesforce/api/rest/66.0;client=sf-bigtime", True),
        ("com/salesforce/api/rest/66.0; client=sf-bigtime/", True),
        ("com/salesforce/api/rest/66.0;client=sf-bigtime-other", False),
        ("com/salesforce/api/rest/66.0;client=SfdcInternalAPI/", False),
        ("", False),
        (None, False),
    ],
)
def test_change_origin(origin: str | None, own: bool) -> None:
    assert is_own_change(origin) is own


def test_the_echo_tag_is_the_one_the_worker_sends() -> None:
    from sf_bigtime.clients.salesforce import CALL_CLIENT

    assert OWN_CLIENT_ID == CALL_CLIENT


def test_other_objects_are_ignored() -> None:
    event = cdc(entityName="Account", recordIds=["0015w00002abcdeAAA"])
    result = parse_relay_event(event)
    assert result.requests == [] and result.skipped[0].metric == obs.RELAY_EVENTS_IGNORED


def test_non_opportunity_ids_are_ignored() -> None:
    result = parse_relay_event(cdc(recordIds=["0015w00002abcdeAAA", "garbage"]))
    assert result.requests == [] and [s.metric for s in result.skipped] == [obs.RELAY_EVENTS_IGNORED] * 2


def test_platform_event_uses_event_uuid() -> None:
    result = parse_relay_event(sample("eventbridge-platform-event.json"))
    [request] = result.requests
    assert result.kind == "platform_event"
    assert request.source == "platform_event"
    assert request.delivery_id == "3f0e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
    assert (request.opportunity_id, request.account_id, request.stage_name) == (
        "0065w000023abcdAAA",
        "0015w00002abcdeAAA",
        "Closed Won",
    )


def test_platform_event_field_names_may_be_namespaced_or_underscored() -> None:
    event = sample("eventbridge-platform-event.json")
    event["detail-type"] = "acme__Deal_Won__e"
    event["detail"]["payload"] = {
        "EventUuid": "u-1",
        "acme__Opportunity_Id__c": "0065w000023abcd",
        "acme__Stage_Name__c": "Closed Won",
    }
    [request] = parse_relay_event(event).requests
    assert (request.opportunity_id, request.stage_name) == ("0065w000023abcdAAA", "Closed Won")


def test_platform_event_without_uuid_gets_a_stable_id() -> None:
    event = sample("eventbridge-platform-event.json")
    del event["detail"]["payload"]["EventUuid"]
    first = parse_relay_event(event).requests[0].delivery_id
    again = copy.deepcopy(event)
    again["id"] = "another-eventbridge-id"  # EventBridge ids change per put; ours must not
    assert parse_relay_event(again).requests[0].delivery_id == first
    assert first.startswith("pe-")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda e: e.update(source="aws.partner/appflow/x"), "unknown_source"),
        (lambda e: e.update(source="aws.partner/salesforce.com/not-an-org/0YL"), "unknown_source"),
        (lambda e: e.pop("detail-type"), "invalid_event"),
        (lambda e: e.update(detail={"noPayload": True}), "invalid_event"),
        (lambda e: e.update(detail="text"), "invalid_event"),
        (lambda e: e["detail"]["payload"]["ChangeEventHeader"].pop("transactionKey"), "invalid_change_event"),
        (
            lambda e: e["detail"]["payload"]["ChangeEventHeader"].update(sequenceNumber="x"),
            "invalid_change_event",
        ),
        (lambda e: e["detail"]["payload"].update(ChangeEventHeader=[]), "invalid_change_event"),
        (lambda e: e["detail"]["payload"].update(AccountId="0065w000023abcd"), "invalid_change_event"),
    ],
)
def test_unusable_cdc_events(mutate: Any, code: str) -> None:
    event = sample("eventbridge-cdc-update.json")
    mutate(event)
    with pytest.raises(InboundError) as info:
        parse_relay_event(event)
    assert info.value.status == 400 and info.value.code == code


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"EventUuid": "u"}, "invalid_platform_event"),
        ({"EventUuid": "u", "OpportunityId__c": "0015w00002abcdeAAA"}, "invalid_platform_event"),
        ({"EventUuid": "u", "OpportunityId__c": 12}, "invalid_platform_event"),
        ({"EventUuid": "x" * 300, "OpportunityId__c": "0065w000023abcd"}, "invalid_platform_event"),
    ],
)
def test_unusable_platform_events(payload: dict[str, Any], code: str) -> None:
    event = sample("eventbridge-platform-event.json")
    event["detail"]["payload"] = payload
    with pytest.raises(InboundError) as info:
        parse_relay_event(event)
    assert info.value.code == code


def test_unknown_detail_type_without_header_is_refused() -> None:
    event = sample("eventbridge-platform-event.json")
    event["detail-type"] = "SomethingElse"
    del event["detail"]["payload"]["EventUuid"]
    with pytest.raises(InboundError) as info:
        parse_relay_event(event)
    assert info.value.code == "unknown_event"
