"""The sweep's pieces: the SOQL it sends (accepted by the fake org's parser, which keeps real SOQL's rules),
how it classifies each Opportunity against the state table, and its deterministic delivery ids."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sf_bigtime.mapping.load import build_mapping
from sf_bigtime.mapping.model import Trigger
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.reconcile.sweep import (
    SEEN_TOLERANCE_SECONDS,
    SweepQuery,
    classify,
    delivery_id,
    is_trigger_stage,
    parse_salesforce_datetime,
)
from sf_bigtime_local.fake_salesforce import soql

OPP = "0065w000023abcdAAA"
MODIFIED = "2026-11-25T20:00:00.000+0000"
MODIFIED_EPOCH = datetime(2026, 11, 25, 20, tzinfo=UTC).timestamp()


def record(**fields: object) -> dict[str, object]:
    return {"Id": OPP, "Name": "Deal", "StageName": "Closed Won", "LastModifiedDate": MODIFIED, **fields}


def trigger(**fields: object) -> Trigger:
    return build_mapping({"trigger": fields}, "(test)").trigger


def test_backfill_query_filters_trigger_stages_without_a_project_and_by_close_date() -> None:
    text = SweepQuery(trigger(stages=["Closed Won", "Signed's"]), closed_since=date(2026, 1, 1)).soql()
    assert "StageName IN ('Closed Won','Signed\\'s')" in text
    assert "BigTime_Project_Id__c = null" in text and "CloseDate >= 2026-01-01" in text
    assert text.endswith("ORDER BY LastModifiedDate ASC, Id ASC")
    soql.parse(text)  # the fake org keeps real SOQL's rules: what it parses, an org accepts


def test_reconcile_query_has_a_window_and_a_limit() -> None:
    after = datetime(2026, 11, 22, 20, 0, 0, 123456, tzinfo=UTC)
    before = datetime(2026, 11, 25, 19, 50, tzinfo=UTC)
    query = SweepQuery(trigger(), modified_after=after, modified_before=before, limit=2000)
    text = query.soql()
    assert "StageName IN ('Closed Won')" in text
    assert "LastModifiedDate >= 2026-11-22T20:00:00+00:00" in text
    assert "LastModifiedDate <= 2026-11-25T19:50:00+00:00" in text
    assert text.endswith("LIMIT 2000")
    soql.parse(text)


def test_any_won_selects_won_stages_and_a_stage_narrows_it() -> None:
    won = trigger(stages=[], any_won=True)
    text = SweepQuery(won).soql()
    assert "IsWon = true" in text and "StageName" not in text.split("WHERE")[1]
    narrowed = SweepQuery(won, stages=("Signed",)).soql()
    assert "StageName IN ('Signed')" in narrowed and "IsWon = true" in narrowed
    soql.parse(text)
    soql.parse(narrowed)


def test_conditions_fields_are_selected_once() -> None:
    conditions = [{"field": "Amount", "at_least": 1}, {"field": "account.Type", "equals": "X"}]
    query = SweepQuery(trigger(conditions=[*conditions, {"field": "stagename", "is_set": True}]))
    assert query.fields()[-2:] == ["Amount", "account.Type"]
    assert [f.lower() for f in query.fields()].count("stagename") == 1
    soql.parse(query.soql())


def test_a_stage_outside_the_trigger_is_refused_with_the_trigger_named() -> None:
    with pytest.raises(ValueError, match=r"'Prospecting' is not a trigger stage.*'Signed'"):
        SweepQuery(trigger(stages=["Signed"]), stages=("Prospecting",))
    assert SweepQuery(trigger(stages=["Signed"]), stages=("signed",)).stages == ("signed",)
    assert is_trigger_stage(trigger(stages=[], any_won=True), "anything")


@pytest.mark.parametrize(
    ("state", "include_failed", "expected"),
    [
        (None, False, ("enqueue", "missed")),
        ({"project_id": "5001"}, True, ("skip", "mapped")),
        ({"claim_token": "t", "claimed_at": MODIFIED_EPOCH}, True, ("skip", "in_progress")),
        ({"last_status": "Retrying", "last_attempt_at": MODIFIED_EPOCH}, False, ("skip", "retrying")),
        ({"last_status": "Retrying", "last_attempt_at": MODIFIED_EPOCH}, True, ("enqueue", "retry")),
        ({"last_status": "Failed", "last_attempt_at": MODIFIED_EPOCH + 1}, False, ("skip", "failed")),
        ({"last_status": "Failed", "last_attempt_at": MODIFIED_EPOCH + 1}, True, ("enqueue", "retry")),
        # Our own write-back lands a moment before the attempt is recorded, give or take clock skew.
        ({"last_status": "Failed", "last_attempt_at": MODIFIED_EPOCH - 60}, False, ("skip", "failed")),
        # Changed by someone well after the failed attempt: it is worth another try.
        ({"last_status": "Failed", "last_attempt_at": MODIFIED_EPOCH - 3600}, False, ("enqueue", "changed")),
        # Skipped while in an earlier stage, then moved to Closed Won with the event lost.
        ({"last_status": "Skipped", "last_attempt_at": MODIFIED_EPOCH - 3600}, False, ("enqueue", "changed")),
        ({"last_status": "Skipped", "last_attempt_at": MODIFIED_EPOCH + 1}, False, ("skip", "seen")),
        ({"attempts": 0}, False, ("enqueue", "changed")),
    ],
)
def test_classify(state: dict | None, include_failed: bool, expected: tuple[str, str]) -> None:
    action, code, reason = classify(record(), state, include_failed=include_failed)
    assert (action, code) == expected
    assert reason


def test_a_failed_sync_says_why_and_how_to_retry() -> None:
    state = {"last_status": "Failed", "last_attempt_at": MODIFIED_EPOCH, "last_reason": "no Account"}
    _, _, reason = classify(record(), state)
    assert "no Account" in reason and "--include-failed" in reason


def test_tolerance_is_a_couple_of_minutes() -> None:
    assert 60 <= SEEN_TOLERANCE_SECONDS <= 300


def test_delivery_ids_are_deterministic_valid_dedup_ids_per_version() -> None:
    first = delivery_id("0065w000023abcd", MODIFIED)
    assert first == delivery_id(OPP, MODIFIED) == f"sweep:{OPP}:{MODIFIED}"
    assert delivery_id(OPP, "2026-11-25T20:00:01.000+0000") != first
    request = SyncRequest(org_id="00D5w000004abcd", opportunity_id=OPP, source="backfill", delivery_id=first)
    assert request.deduplication_id == first  # printable and short enough to be used as is


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T20:00:00.000+0000", datetime(2026, 11, 25, 20, tzinfo=UTC)),
        ("2026-11-25T20:00:00Z", datetime(2026, 11, 25, 20, tzinfo=UTC)),
        ("2026-11-25T21:00:00.000+0100", datetime(2026, 11, 25, 20, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_salesforce_datetime(text: str | None, expected: datetime | None) -> None:
    assert parse_salesforce_datetime(text) == expected
