"""A worker whose credential secret is missing or incomplete fails fast, before taking any record, with a
message that names the secret and the key (never a value); a fixed secret works on the next invocation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from sf_bigtime.secrets import SecretError
from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
from sf_bigtime_local.template import REPO_ROOT
from tests.integration.conftest import create_table

CONSUMER_KEY = "CK-3MVG9-must-not-appear-in-logs"
API_TOKEN = "BT-8f14e45f-must-not-appear-in-logs"
GOOD_SALESFORCE = {
    "auth": "client_credentials",
    "domain": "acme.my",
    "consumer_key": CONSUMER_KEY,
    "consumer_secret": "cs-value",
}
GOOD_BIGTIME = {"auth": "api_key", "api_token": API_TOKEN, "realm": "firm-1"}
EVENT = json.loads((REPO_ROOT / "events" / "sqs-sync-request.json").read_text())


@pytest.fixture
def worker_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    parameters.clear_caches()  # Powertools caches secrets per process for five minutes
    create_table("cold-start-state")
    queue = boto3.client("sqs").create_queue(QueueName="cold-start.fifo", Attributes={"FifoQueue": "true"})
    sm = boto3.client("secretsmanager")
    arns = {
        "salesforce": sm.create_secret(
            Name="sf-bigtime-dev/salesforce", SecretString=json.dumps(GOOD_SALESFORCE)
        )["ARN"],
        "bigtime": sm.create_secret(Name="sf-bigtime-dev/bigtime", SecretString=json.dumps(GOOD_BIGTIME))[
            "ARN"
        ],
    }
    env = {
        "TABLE_NAME": "cold-start-state",
        "QUEUE_URL": queue["QueueUrl"],
        "SALESFORCE_SECRET_ARN": arns["salesforce"],
        "BIGTIME_SECRET_ARN": arns["bigtime"],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield arns
    parameters.clear_caches()


def _cold_start(name: str) -> Any:
    """A fresh worker module, as a new Lambda execution environment imports it."""
    from sf_bigtime import settings

    settings.worker_settings.cache_clear()
    _, handler = load_handler(Path(REPO_ROOT / "functions" / "worker" / "app.py"), f"cold_start_{name}")
    return handler


def _put(arn: str, value: object) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=value if isinstance(value, str) else json.dumps(value)
    )


@pytest.mark.parametrize(
    ("secret", "value", "expected"),
    [
        (
            "salesforce",
            {k: v for k, v in GOOD_SALESFORCE.items() if k != "consumer_secret"},
            "is not usable: client_credentials.consumer_secret: Field required",
        ),
        ("salesforce", {**GOOD_SALESFORCE, "auth": "password"}, "does not match any of the expected tags"),
        ("salesforce", "consumer_key=" + CONSUMER_KEY, "is not valid JSON"),
        (
            "bigtime",
            {k: v for k, v in GOOD_BIGTIME.items() if k != "realm"},
            "is not usable: api_key.realm: Field required",
        ),
        ("bigtime", ["not", "an", "object"], "must be a JSON object"),
    ],
    ids=["missing-key", "unknown-auth", "not-json", "bigtime-missing-realm", "not-an-object"],
)
def test_a_bad_secret_stops_the_worker_at_cold_start_naming_the_key(
    worker_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    secret: str,
    value: object,
    expected: str,
) -> None:
    _put(worker_env[secret], value)
    handler = _cold_start(secret)
    with pytest.raises(SecretError) as failure:
        handler(EVENT, LambdaContext("sf-bigtime-dev-worker", 300))
    message = str(failure.value)
    assert worker_env[secret] in message and expected in message
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.getMessage().startswith("worker cannot start: secret ") and expected in error.getMessage()
    everything = message + caplog.text
    assert CONSUMER_KEY not in everything and API_TOKEN not in everything and "cs-value" not in everything


def test_a_missing_secret_says_so(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    missing = worker_env["bigtime"].replace("sf-bigtime-dev/bigtime", "sf-bigtime-dev/nope")
    monkeypatch.setenv("BIGTIME_SECRET_ARN", missing)
    with pytest.raises(SecretError, match=r"could not be read: .*ResourceNotFoundException"):
        _cold_start("missing")(EVENT, LambdaContext("sf-bigtime-dev-worker", 300))


def test_the_failure_leaves_the_batch_for_a_retry_and_a_fixed_secret_is_used_next_time(
    worker_env: dict[str, str],
) -> None:
    _put(worker_env["salesforce"], {k: v for k, v in GOOD_SALESFORCE.items() if k != "consumer_key"})
    handler = _cold_start("fixed")
    context = LambdaContext("sf-bigtime-dev-worker", 300)
    # The whole invocation fails: no record is reported processed (or failed one by one), so SQS redelivers
    # the batch after its visibility timeout, and the messages reach the dead-letter queue only if it stays broken.
    with pytest.raises(SecretError, match="consumer_key: Field required"):
        handler(EVENT, context)
    _put(worker_env["salesforce"], GOOD_SALESFORCE)
    parameters.clear_caches()  # the five-minute secret cache has run out
    # The same execution environment now builds its clients; the record fails on its own (no Salesforce
    # here), proving the worker got past its start.
    result = handler(EVENT, context)
    assert result == {"batchItemFailures": [{"itemIdentifier": EVENT["Records"][0]["messageId"]}]}
