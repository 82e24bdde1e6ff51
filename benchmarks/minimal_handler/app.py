"""The yardstick for ingest's cold start: a handler that only sends one SQS message.

Nothing of ours: boto3 and an SQS client created at import, as any Lambda that talks to SQS would.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

sqs = boto3.client("sqs")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
    return {"statusCode": 202}
