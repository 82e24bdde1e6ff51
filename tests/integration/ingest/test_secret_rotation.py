"""Rotating an ingest secret without 401s, against Secrets Manager (moto) and functions/ingest/app.py as
Lambda runs it: after ``put-secret-value`` the old value (now ``AWSPREVIOUS``) and the new one are both
accepted; once the ``AWSPREVIOUS`` label is removed, the old value is refused. The two stages are read and
cached together; a failure to read either is a 503 (Salesforce retries), never a 401."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sf_bigtime import secrets
from sf_bigtime.secret_stages import SecretStagesProvider
from sf_bigtime.secrets import SecretError, read_secret_stages, webhook_api_keys
from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
from sf_bigtime_local.template import REPO_ROOT

ORG = "00D5w000004abcdEAA"
OLD_KEY, NEW_KEY = "old-key-" + "o" * 32, "new-key-" + "n" * 32
OLD_TOKEN, NEW_TOKEN = "OldToken" + "o" * 40, "NewToken" + "n" * 40


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    secrets.clear_stages_cache()
    sm = boto3.client("secretsmanager")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(
        QueueName="rotation.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    arns = {
        "webhook": sm.create_secret(Name="stack/webhook", SecretString=json.dumps({"api_key": OLD_KEY}))[
            "ARN"
        ],
        "token": sm.create_secret(
            Name="stack/outbound-message-token", SecretString=json.dumps({"token": OLD_TOKEN})
        )["ARN"],
    }
    for name, value in {
        "QUEUE_URL": queue,
        "WEBHOOK_SECRET_ARN": arns["webhook"],
        "OUTBOUND_MESSAGE_SECRET_ARN": arns["token"],
        "SALESFORCE_ORG_IDS": ORG,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SIGNING_SECRET_ARN", raising=False)
    _, handler = load_handler(REPO_ROOT / "functions/ingest/app.py", "ingest_app_rotation")
    yield {"handler": handler, "arns": arns, "queue": queue}
    secrets.clear_stages_cache()


def _post_json(stack: dict[str, Any], key: str, n: int) -> int:
    event = json.loads((REPO_ROOT / "events/apigw-json-event.json").read_text())
    event["headers"]["x-api-key"] = key
    body = json.loads(event["body"]) | {"orgId": ORG, "eventId": f"evt-{n}"}
    event["body"] = json.dumps(body)
    reply = stack["handler"](event, LambdaContext("stack-ingest", 10))
    status: int = reply["statusCode"]
    return status


def _post_outbound_message(stack: dict[str, Any], token: str) -> int:
    event = json.loads((REPO_ROOT / "events/apigw-outbound-message.json").read_text())
    event["rawQueryString"] = f"token={token}"
    event["queryStringParameters"] = {"token": token}
    reply = stack["handler"](event, LambdaContext("stack-ingest", 10))
    status: int = reply["statusCode"]
    return status


def _rotate(arn: str, value: dict[str, str]) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(value))


def _finish_rotation(arn: str) -> None:
    """The runbook's last step: take the AWSPREVIOUS label off the old version."""
    sm = boto3.client("secretsmanager")
    versions = sm.list_secret_version_ids(SecretId=arn)["Versions"]
    [previous] = [v["VersionId"] for v in versions if "AWSPREVIOUS" in v.get("VersionStages", [])]
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPREVIOUS", RemoveFromVersionId=previous)


def test_a_rotated_api_key_is_accepted_old_and_new_until_the_rotation_is_finished(
    stack: dict[str, Any],
) -> None:
    arn = stack["arns"]["webhook"]
    assert _post_json(stack, OLD_KEY, 1) == 202
    assert _post_json(stack, NEW_KEY, 2) == 401

    _rotate(arn, {"api_key": NEW_KEY})
    # Warm instances keep the stages they read for up to five minutes: the old key still works meanwhile,
    # which is why Salesforce is switched only after that (docs/operations.md).
    assert _post_json(stack, OLD_KEY, 3) == 202
    secrets.clear_stages_cache()  # the five minutes have passed
    assert _post_json(stack, NEW_KEY, 4) == 202
    assert _post_json(stack, OLD_KEY, 5) == 202  # Salesforce not switched yet: still no 401

    _finish_rotation(arn)
    secrets.clear_stages_cache()
    assert _post_json(stack, NEW_KEY, 6) == 202
    assert _post_json(stack, OLD_KEY, 7) == 401


def test_a_rotated_outbound_message_token_is_accepted_old_and_new(stack: dict[str, Any]) -> None:
    arn = stack["arns"]["token"]
    _rotate(arn, {"token": NEW_TOKEN})
    secrets.clear_stages_cache()
    assert _post_outbound_message(stack, OLD_TOKEN) == 200
    assert _post_outbound_message(stack, NEW_TOKEN) == 200
    _finish_rotation(arn)
    secrets.clear_stages_cache()
    assert _post_outbound_message(stack, OLD_TOKEN) == 401


def test_both_stages_are_read_together_and_cached_as_one(stack: dict[str, Any]) -> None:
    arn = stack["arns"]["webhook"]
    _rotate(arn, {"api_key": NEW_KEY})
    calls: list[str] = []
    provider = secrets._stages_provider()
    provider.client.meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue",
        lambda params, **_: calls.append(params["VersionStage"]),
    )
    for _ in range(5):
        assert webhook_api_keys(arn) == (NEW_KEY, OLD_KEY)
    assert calls == ["AWSCURRENT", "AWSPREVIOUS"]


def test_a_never_rotated_secret_has_no_previous_value(stack: dict[str, Any]) -> None:
    current, previous = read_secret_stages(stack["arns"]["webhook"])
    assert current == {"api_key": OLD_KEY} and previous is None
    assert webhook_api_keys(stack["arns"]["webhook"]) == (OLD_KEY,)


def test_an_unusable_previous_value_is_left_out_and_an_unusable_current_one_is_an_error(
    stack: dict[str, Any],
) -> None:
    sm = boto3.client("secretsmanager")
    arn = stack["arns"]["webhook"]
    sm.put_secret_value(SecretId=arn, SecretString="not json " + OLD_KEY)
    _rotate(arn, {"api_key": NEW_KEY})  # the broken value is now AWSPREVIOUS
    assert webhook_api_keys(arn) == (NEW_KEY,)
    secrets.clear_stages_cache()
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"api_key": "short"}))
    with pytest.raises(SecretError, match="api_key") as failure:
        webhook_api_keys(arn)
    assert NEW_KEY not in str(failure.value) and "short" not in str(failure.value)


def _stubbed(errors: dict[str, str | None]) -> tuple[SecretStagesProvider, Stubber]:
    """A provider whose Secrets Manager answers each stage with a value or the given error code."""
    client = boto3.client("secretsmanager")
    stubber = Stubber(client)
    for stage, error in errors.items():
        expected = {"SecretId": "arn:s", "VersionStage": stage}
        if error is None:
            value = {"api_key": NEW_KEY if stage == "AWSCURRENT" else OLD_KEY}
            stubber.add_response("get_secret_value", {"SecretString": json.dumps(value)}, expected)
        else:
            stubber.add_client_error("get_secret_value", service_error_code=error, expected_params=expected)
    stubber.activate()
    return SecretStagesProvider(client), stubber


@pytest.mark.parametrize("error", ["ThrottlingException", "AccessDeniedException", "InternalServiceError"])
def test_failing_to_read_the_previous_stage_is_an_error_not_a_missing_value(
    monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    # Treating it as "no previous value" would refuse the old key (401) for five minutes, mid-rotation;
    # an error is a 503 and Salesforce retries. Nothing is cached, so the next request reads again.
    provider, stubber = _stubbed({"AWSCURRENT": None, "AWSPREVIOUS": error})
    monkeypatch.setattr(secrets, "_stages_provider", lambda: provider)
    with pytest.raises(SecretError, match=error):
        read_secret_stages("arn:s")
    stubber.assert_no_pending_responses()
    stubber.add_response(
        "get_secret_value",
        {"SecretString": json.dumps({"api_key": NEW_KEY})},
        {"SecretId": "arn:s", "VersionStage": "AWSCURRENT"},
    )
    stubber.add_response(
        "get_secret_value",
        {"SecretString": json.dumps({"api_key": OLD_KEY})},
        {"SecretId": "arn:s", "VersionStage": "AWSPREVIOUS"},
    )
    assert webhook_api_keys("arn:s") == (NEW_KEY, OLD_KEY)


def test_a_binary_secret_is_refused_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("secretsmanager")
    stubber = Stubber(client)
    stubber.add_response(
        "get_secret_value", {"SecretBinary": b"\x00key"}, {"SecretId": "arn:s", "VersionStage": "AWSCURRENT"}
    )
    stubber.activate()
    monkeypatch.setattr(secrets, "_stages_provider", lambda: SecretStagesProvider(client))
    with pytest.raises(SecretError, match="binary; store the secret as a JSON string"):
        read_secret_stages("arn:s")
