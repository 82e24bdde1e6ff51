"""The local EventBridge: the template's rule, its pattern matching, and delivery to the target."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from sf_bigtime_local.eventbridge import EventBus, Rule, complete, matches, rules_for
from sf_bigtime_local.template import Template
from tests.paths import EVENTS


@pytest.fixture(scope="module")
def rule() -> Rule:
    [rule] = rules_for(Template())
    return rule


def test_the_template_rule_targets_ingest(rule: Rule) -> None:
    assert (rule.name, rule.function) == ("EventRelayRule", "IngestFunction")


@pytest.mark.parametrize(
    "sample", ["eventbridge-cdc-update.json", "eventbridge-cdc-gap.json", "eventbridge-platform-event.json"]
)
def test_the_rule_matches_every_relay_sample(rule: Rule, sample: str) -> None:
    assert matches(rule.pattern, json.loads((EVENTS / sample).read_text()))


@pytest.mark.parametrize(
    "changes",
    [
        {"source": "aws.partner/appflow/salesforce.com/x"},
        {"detail-type": "AccountChangeEvent"},
        {"detail-type": "Opportunity_Won__x"},
    ],
)
def test_the_rule_does_not_match_other_events(rule: Rule, changes: dict) -> None:
    event = json.loads((EVENTS / "eventbridge-cdc-update.json").read_text()) | changes
    assert not matches(rule.pattern, event)


def test_pattern_semantics() -> None:
    pattern = {"a": ["x", {"prefix": "p-"}], "b": {"c": [{"exists": True}]}, "d": [{"exists": False}]}
    assert matches(pattern, {"a": "x", "b": {"c": 1}})
    assert matches(pattern, {"a": ["y", "p-1"], "b": {"c": None}})  # arrays match if any element does
    assert not matches(pattern, {"a": "y", "b": {"c": 1}})
    assert not matches(pattern, {"a": "x", "b": {}})
    assert not matches(pattern, {"a": "x", "b": {"c": 1}, "d": 0})
    assert not matches({"n": [1]}, {"n": "1"})  # exact values compare with their type


def test_unsupported_operators_fail_loudly() -> None:
    with pytest.raises(NotImplementedError, match="anything-but"):
        Rule("r", {"a": [{"anything-but": "x"}]}, "F")


def test_put_events_entries_are_completed_like_eventbridge() -> None:
    event = complete(
        {"Source": "s", "DetailType": "t", "Detail": json.dumps({"k": 1})}, account="111", region="eu-west-1"
    )
    assert event["source"] == "s" and event["detail-type"] == "t" and event["detail"] == {"k": 1}
    assert event["account"] == "111" and event["region"] == "eu-west-1" and event["version"] == "0"
    assert event["id"] and event["time"].endswith("Z") and event["resources"] == []


def test_delivery_and_failure_status(rule: Rule) -> None:
    received: list[dict] = []

    def handler(event: dict, context: object) -> dict:
        received.append(event)
        if event["detail-type"] == "Boom__e":
            raise RuntimeError("enqueue failed")
        return {"accepted": 1}

    client = Client(EventBus([rule], {"IngestFunction": (handler, "ingest", 10)}))
    sample = json.loads((EVENTS / "eventbridge-platform-event.json").read_text())
    ok = client.post("/events", json=sample)
    assert ok.status_code == 200
    assert ok.get_json()["delivered"] == [
        {"rule": "EventRelayRule", "event_id": sample["id"], "result": {"accepted": 1}}
    ]
    unmatched = client.post("/events", json={**sample, "source": "elsewhere"})
    assert unmatched.status_code == 200 and unmatched.get_json()["delivered"] == []
    failed = client.post("/events", json={**sample, "detail-type": "Boom__e"})
    assert failed.status_code == 500  # the sender retries, as Lambda would retry the async invoke
    assert len(received) == 2
    assert client.post("/events", data=b"not json").status_code == 400
    assert client.get("/events").status_code == 405
