"""Invariants of template.yaml that cfn-lint and `sam validate --lint` do not catch: both passed a template
with `MaximumConcurrency: 1` (the API's minimum is 2), `BatchSize: 50` on a FIFO event source (at most 10)
and a queue visibility timeout below the function's timeout (Lambda refuses it at deploy)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sf_bigtime_local.template import Tag, Template


@pytest.fixture(scope="module")
def t() -> Template:
    return Template()


def _int(t: Template, value: Any) -> int:
    return int(t.resolve(value))


def test_runtime_and_architecture(t: Template) -> None:
    g = t.data["Globals"]["Function"]
    assert g["Runtime"] == "python3.13"
    assert g["Architectures"] == ["arm64"]
    layer = t.resource("CommonLayer")
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # layers/common/Makefile
    assert t.props("CommonLayer")["ContentUri"] == "layers/common/"


def test_queue_visibility_is_at_least_six_times_the_worker_timeout(t: Template) -> None:
    visibility = _int(t, t.props("EventsQueue")["VisibilityTimeout"])
    assert visibility >= 6 * t.function_timeout("WorkerFunction")


def test_fifo_queue_has_a_fifo_dlq_with_enough_receives(t: Template) -> None:
    queue = t.props("EventsQueue")
    assert queue["FifoQueue"] is True
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == Tag("GetAtt", "DeadLetterQueue.Arn")
    assert _int(t, redrive["maxReceiveCount"]) >= 5
    assert t.data["Parameters"]["MaxReceiveCount"]["MinValue"] >= 5
    dlq = t.props("DeadLetterQueue")
    assert dlq["FifoQueue"] is True
    assert _int(t, dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600


def test_worker_event_source(t: Template) -> None:
    event = t.sqs_event("WorkerFunction")
    assert event["Queue"] == Tag("GetAtt", "EventsQueue.Arn")
    assert 1 <= event["BatchSize"] <= 10  # FIFO maximum
    assert "MaximumBatchingWindowInSeconds" not in event  # not supported on FIFO
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = event["ScalingConfig"]["MaximumConcurrency"]
    assert _int(t, concurrency) >= 2
    assert t.data["Parameters"]["WorkerMaxConcurrency"]["MinValue"] >= 2


def test_state_table(t: Template) -> None:
    table = t.resource("StateTable")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_http_api_route(t: Template) -> None:
    assert ("POST", "/salesforce/events", "IngestFunction") in t.http_routes()


def test_functions_have_fixed_names_and_log_retention(t: Template) -> None:
    # Powertools' idempotency keys embed the function name: an auto-generated name would reset them.
    functions = t.of_type("AWS::Serverless::Function")
    groups = t.of_type("AWS::Logs::LogGroup")
    for name, fn in functions.items():
        assert isinstance(fn["Properties"].get("FunctionName"), Tag), name
        assert any(
            g["Properties"]["LogGroupName"] == Tag("Sub", f"/aws/lambda/${{{name}}}")
            and "RetentionInDays" in g["Properties"]
            for g in groups.values()
        ), f"{name} has no log group with retention"


def _iam_actions(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Action", "NotAction"):
                found.extend(value if isinstance(value, list) else [value])
            else:
                found.extend(_iam_actions(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_iam_actions(value))
    return found


def test_no_wildcard_iam_actions_and_only_known_policy_templates(t: Template) -> None:
    allowed_templates = {
        "SQSSendMessagePolicy",
        "SQSPollerPolicy",
        "DynamoDBCrudPolicy",
        "DynamoDBReadPolicy",
        "AWSSecretsManagerGetSecretValuePolicy",
        "CloudWatchPutMetricPolicy",
        "SSMParameterReadPolicy",
        "SNSPublishMessagePolicy",
        "LambdaInvokePolicy",
    }
    for name, fn in t.of_type("AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies", []):
            assert isinstance(policy, dict), f"{name}: managed policy {policy!r}; use SAM policy templates"
            for key in policy:
                if key != "Statement":
                    assert key in allowed_templates, f"{name}: unexpected policy template {key}"
        for action in _iam_actions(fn["Properties"].get("Policies", [])):
            assert "*" not in str(action), f"{name}: wildcard IAM action {action}"
    for name, res in t.resources.items():
        if res["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for action in _iam_actions(res):
                assert "*" not in str(action), f"{name}: wildcard IAM action {action}"


def test_secrets_are_never_parameter_defaults_or_plain_env(t: Template) -> None:
    for name, param in t.data["Parameters"].items():
        assert "Description" in param, f"parameter {name} has no description"
        if re.search(r"secret|token|password|key", name, re.I) and not name.endswith("Arn"):
            pytest.fail(f"parameter {name} looks like a secret value; pass secret ARNs instead")
    for fn in t.of_type("AWS::Serverless::Function"):
        for key in t.function_env(fn):
            assert not re.search(r"(SECRET|TOKEN|PASSWORD|API_KEY)$", key), (
                f"{fn}: {key} holds a secret value"
            )


def test_webhook_secret_is_generated(t: Template) -> None:
    gen = t.props("WebhookSecret")["GenerateSecretString"]
    assert gen["GenerateStringKey"] == "api_key"
    assert gen["PasswordLength"] >= 32


def test_alarms_notify_the_topic_and_say_what_to_do(t: Template) -> None:
    alarms = t.of_type("AWS::CloudWatch::Alarm")
    assert "DeadLetterQueueNotEmptyAlarm" in alarms
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [Tag("Ref", "AlarmTopic")], name
        assert props["OKActions"] == [Tag("Ref", "AlarmTopic")], name
        assert len(props.get("AlarmDescription", "")) > 40, f"{name}: describe what it means and the fix"
    sub = t.resource("AlarmEmailSubscription")
    assert sub["Condition"] == "HasAlarmEmail"


def test_outputs(t: Template) -> None:
    for output in ("EventsEndpoint", "QueueUrl", "DeadLetterQueueUrl", "TableName", "WebhookSecretArn"):
        assert output in t.data["Outputs"]
        assert t.data["Outputs"][output].get("Description")


def test_worker_mapping_comes_from_parameters_read_by_the_settings(t: Template) -> None:
    env = t.function_env("WorkerFunction")
    assert env["MAPPING_PARAMETER"] == Tag("Ref", "MappingParameterName")
    assert env["MAPPING_FILE"] == Tag("Ref", "MappingFile")
    params = t.data["Parameters"]
    # empty by default: the bundled mapping applies, and TriggerStages overrides nothing
    assert params["MappingParameterName"]["Default"] == params["MappingFile"]["Default"] == ""
    assert params["TriggerStages"]["Default"] == ""
    pattern = re.compile(params["MappingParameterName"]["AllowedPattern"])
    assert pattern.match("/sf-bigtime/mapping") and pattern.match("")
    assert not pattern.match("sf-bigtime/mapping") and not pattern.match("/a/*")
    assert re.match(params["MappingFile"]["AllowedPattern"], "mappings/acme.yaml")
