from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from sf_bigtime.settings import reconcile_settings
from tests.integration.conftest import SF_CONSUMER_KEY, SF_CONSUMER_SECRET, TABLE, World
from tests.integration.ops.deployed import Deployed, deploy


@pytest.fixture
def deployed(world: World) -> Deployed:
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue = sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    boto3.client("secretsmanager").create_secret(
        Name="sf",
        SecretString=json.dumps(
            {
                "consumer_key": SF_CONSUMER_KEY,
                "consumer_secret": SF_CONSUMER_SECRET,
                "domain": "test.my",
                "instance_url": world.sf_url,
            }
        ),
    )
    deploy(world, queue=queue, dlq=dlq)
    return Deployed(world, queue, dlq)


@pytest.fixture
def reconcile_env(monkeypatch: pytest.MonkeyPatch, deployed: Deployed) -> Iterator[None]:
    """The reconcile function's environment on the deployed stack (no TriggerStages, no grace period); its
    cached settings are cleared around the test."""
    secret = boto3.client("secretsmanager").describe_secret(SecretId="sf")["ARN"]
    for name, value in {
        "TABLE_NAME": TABLE,
        "QUEUE_URL": deployed.queue_url,
        "SALESFORCE_SECRET_ARN": secret,
        "RECONCILE_GRACE_MINUTES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TRIGGER_STAGES", raising=False)
    reconcile_settings.cache_clear()
    yield
    reconcile_settings.cache_clear()
