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


def test_functions_have_fixed_names_and_their_own_log_group(t: Template) -> None:
    # Powertools' idempotency keys embed the function name: an auto-generated name would reset them. The
    # log group is named from the same fixed name (its role refers to it, so it cannot !Ref the function).
    for name, fn in t.of_type("AWS::Serverless::Function").items():
        function_name = fn["Properties"].get("FunctionName")
        assert isinstance(function_name, Tag) and function_name.name == "Sub", name
        group_ref = fn["Properties"]["LoggingConfig"]["LogGroup"]
        assert isinstance(group_ref, Tag) and group_ref.name == "Ref", name
        group = t.resource(group_ref.value)
        assert group["Type"] == "AWS::Logs::LogGroup", name
        assert group["Properties"]["LogGroupName"] == Tag("Sub", "/aws/lambda/" + function_name.value), name


def test_every_log_group_has_retention_and_is_kept(t: Template) -> None:
    groups = t.of_type("AWS::Logs::LogGroup")
    assert len(groups) >= 4  # one per function and the HTTP API's access log
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == Tag("Ref", "LogRetentionDays"), name
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain", name


def test_generated_secrets_are_kept(t: Template) -> None:
    # Salesforce holds their values: a deleted or replaced secret would break every delivery.
    secrets = t.of_type("AWS::SecretsManager::Secret")
    assert set(secrets) == {"WebhookSecret", "SigningSecret", "OutboundMessageTokenSecret"}
    for name, secret in secrets.items():
        assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain", name


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


def test_explicit_roles_and_no_wildcard_iam_actions(t: Template) -> None:
    for name, fn in t.of_type("AWS::Serverless::Function").items():
        # SAM ignores Policies next to Role: permissions written there would silently not apply.
        assert "Policies" not in fn["Properties"], f"{name}: put its permissions in its role"
        assert fn["Properties"]["Role"] == Tag("GetAtt", f"{name}Role.Arn"), name
    # With a key, so the conditional KMS statements are checked too.
    rendered = t.render({"KmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k"})["Resources"]
    iam = [n for n, r in rendered.items() if r["Type"].startswith("AWS::IAM::")]
    assert iam
    for name in iam:
        for action in _iam_actions(rendered[name]):
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


def test_every_function_that_can_call_bigtime_shares_the_firm_s_rate_budget(t: Template) -> None:
    """A function holding the BigTime secret must pace its calls with the budget item in the state table
    (docs/decisions.md#one-bigtime-rate-budget-for-the-firm): it needs the settings rate_budget() reads
    and the right to update the table. Reconcile has no BigTime secret: its syncs run in the worker."""
    callers = []
    for name, function in t.of_type("AWS::Serverless::Function").items():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        if "BIGTIME_SECRET_ARN" not in env:
            continue
        callers.append(name)
        assert env["TABLE_NAME"] == Tag("Ref", "StateTable"), name
        assert env["BIGTIME_CALLS_PER_MINUTE"] == Tag("Ref", "BigTimeCallsPerMinute"), name
        assert env["WORKER_MAX_CONCURRENCY"] == Tag("Ref", "WorkerMaxConcurrency"), name
        grants = [s for s in _statements(t, function["Properties"]) if "dynamodb:UpdateItem" in s["Action"]]
        assert any(s["Resource"] == Tag("GetAtt", "StateTable.Arn") for s in grants), name
    assert "WorkerFunction" in callers and "ReconcileFunction" not in callers
    assert "firm" in t.data["Parameters"]["BigTimeCallsPerMinute"]["Description"]


def _statements(t: Template, props: dict[str, Any]) -> list[dict[str, Any]]:
    """IAM statements a function gets: SAM ``Policies`` statements, or those of the role it names."""
    documents = [p for p in props.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
    role = props.get("Role")
    if isinstance(role, Tag) and role.name == "GetAtt":
        role_props = t.props(str(role.value).split(".")[0])
        documents += [p["PolicyDocument"] for p in role_props.get("Policies", [])]
    return [s for d in documents for s in d["Statement"] if isinstance(s, dict) and "Action" in s]
