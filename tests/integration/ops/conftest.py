from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import SF_CONSUMER_KEY, SF_CONSUMER_SECRET, World
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
