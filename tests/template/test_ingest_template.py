"""template.yaml invariants of the ingest entry points (issue 3): routes, secrets, the optional Event Relay."""

from __future__ import annotations

import re

import pytest

from sf_bigtime_local.template import Tag, Template


@pytest.fixture(scope="module")
def t() -> Template:
    return Template()


def _ingest_statements(t: Template) -> list[dict]:
    assert t.props("IngestFunction")["Role"] == Tag("GetAtt", "IngestFunctionRole.Arn")
    policies = t.props("IngestFunctionRole")["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"] if isinstance(s, dict)]


def test_both_http_entry_points_route_to_ingest(t: Template) -> None:
    routes = t.http_routes()
    assert ("POST", "/salesforce/events", "IngestFunction") in routes
    assert ("POST", "/salesforce/outbound-message", "IngestFunction") in routes


@pytest.mark.parametrize(
    ("resource", "key", "length"),
    [
        ("WebhookSecret", "api_key", 32),
        ("SigningSecret", "hmac_key", 64),
        ("OutboundMessageTokenSecret", "token", 32),
    ],
)
def test_each_credential_is_a_generated_secret_of_its_own(
    t: Template, resource: str, key: str, length: int
) -> None:
    generate = t.props(resource)["GenerateSecretString"]
    assert generate["GenerateStringKey"] == key
    assert generate["PasswordLength"] >= length
    # letters and digits only: safe in a URL query, a header and an Apex string literal
    assert generate["ExcludePunctuation"] is True


def test_ingest_reads_exactly_its_three_secrets(t: Template) -> None:
    env = t.function_env("IngestFunction")
    assert env["WEBHOOK_SECRET_ARN"] == Tag("Ref", "WebhookSecret")
    assert env["SIGNING_SECRET_ARN"] == Tag("Ref", "SigningSecret")
    assert env["OUTBOUND_MESSAGE_SECRET_ARN"] == Tag("Ref", "OutboundMessageTokenSecret")
    [read] = [s for s in _ingest_statements(t) if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert read["Resource"] == [
        Tag("Ref", "WebhookSecret"),
        Tag("Ref", "SigningSecret"),
        Tag("Ref", "OutboundMessageTokenSecret"),
    ]


def test_event_relay_is_optional(t: Template) -> None:
    param = t.data["Parameters"]["SalesforceEventBusName"]
    assert param["Default"] == ""
    assert re.fullmatch(param["AllowedPattern"], "")
    assert re.fullmatch(
        param["AllowedPattern"], "aws.partner/salesforce.com/00D5w000004abcdEAA/0YL5f000000CabWGAS"
    )
    assert t.data["Conditions"]["HasEventRelay"] == Tag(
        "Not", [Tag("Equals", [Tag("Ref", "SalesforceEventBusName"), ""])]
    )
    relay = (
        "EventRelayRule",
        "EventRelayInvokePermission",
        "IngestAsyncInvokeConfig",
        "EventRelayFailedQueue",
        "EventRelayFailedQueuePolicy",
        "EventRelayFailedAlarm",
    )
    for name in relay:
        assert t.resource(name)["Condition"] == "HasEventRelay", name
    assert t.data["Outputs"]["EventRelayFailedQueueUrl"]["Condition"] == "HasEventRelay"


def test_event_relay_rule_reads_the_partner_bus_and_targets_ingest(t: Template) -> None:
    rule = t.props("EventRelayRule")
    assert rule["EventBusName"] == Tag("Ref", "SalesforceEventBusName")
    assert rule["EventPattern"] == {
        "source": [{"prefix": "aws.partner/salesforce.com/"}],
        "detail-type": ["OpportunityChangeEvent", {"suffix": "__e"}],
    }
    [target] = rule["Targets"]
    assert target["Arn"] == Tag("GetAtt", "IngestFunction.Arn")
    assert target["DeadLetterConfig"]["Arn"] == Tag("GetAtt", "EventRelayFailedQueue.Arn")
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400
    permission = t.props("EventRelayInvokePermission")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == Tag("GetAtt", "EventRelayRule.Arn")


def test_relay_events_that_fail_are_kept_not_lost(t: Template) -> None:
    config = t.props("IngestAsyncInvokeConfig")
    assert config["FunctionName"] == Tag("Ref", "IngestFunction")
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == Tag(
        "GetAtt", "EventRelayFailedQueue.Arn"
    )
    queue = t.props("EventRelayFailedQueue")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "FifoQueue" not in queue  # Lambda destinations and EventBridge DLQs need a standard queue
    [statement] = t.props("EventRelayFailedQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == Tag("GetAtt", "EventRelayRule.Arn")
    # ingest may send to it only when it exists
    [send] = [s for s in _ingest_statements(t) if s["Action"] == ["sqs:SendMessage"]]
    assert (
        Tag("If", ["HasEventRelay", Tag("GetAtt", "EventRelayFailedQueue.Arn"), Tag("Ref", "AWS::NoValue")])
        in send["Resource"]
    )


def test_outputs_tell_the_admin_where_to_send(t: Template) -> None:
    outputs = t.data["Outputs"]
    assert outputs["OutboundMessageEndpoint"]["Value"].value.endswith("/salesforce/outbound-message")
    assert "?token=" in outputs["OutboundMessageEndpoint"]["Description"]
    for name in ("OutboundMessageTokenSecretArn", "SigningSecretArn"):
        assert outputs[name]["Description"]
