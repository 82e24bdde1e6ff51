"""A "deployed" stack for the operator commands: a CloudFormation stack in moto whose outputs name moto's
queues and table and whose Salesforce secret points at the fake org (fixture ``deployed`` in conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from click.testing import CliRunner

from sf_bigtime.queue.message import SyncRequest
from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
from sf_bigtime_local.template import REPO_ROOT
from sf_bigtime_ops.cli import main
from tests.integration.conftest import ORG, TABLE, World

STACK = "sf-bigtime-test"
# The parameters sf_bigtime_ops.stackinfo reads; a test overrides some with deploy(...).
PARAMETERS = (
    "SalesforceSecretArn",
    "TriggerStages",
    "SalesforceOrgIds",
    "ReconcileMaxPerRun",
    "MappingParameterName",
    "MappingFile",
)


def lambda_context() -> LambdaContext:
    return LambdaContext(function_name="sf-bigtime-test-worker", timeout_seconds=300)


def run_reconcile_function() -> dict[str, Any]:
    """functions/reconcile/app.py as Lambda runs it (a fresh import), on the sample schedule event from
    events/; its settings come from the environment (fixture ``reconcile_env``)."""
    _, handler = load_handler(REPO_ROOT / "functions/reconcile/app.py", "reconcile_app_under_test")
    event = json.loads((REPO_ROOT / "events/schedule-reconcile.json").read_text())
    summary: dict[str, Any] = handler(event, lambda_context())
    return summary


@dataclass
class Deployed:
    world: World
    queue_url: str
    dlq_url: str
    stack: str = STACK

    def cli(self, *args: str, expect: int = 0) -> Any:
        result = CliRunner().invoke(main, [*args, "--stack-name", self.stack], catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    def cli_json(self, *args: str, expect: int = 0) -> dict[str, Any]:
        return json.loads(self.cli(*args, "--json", expect=expect).stdout)

    def queued(self) -> list[SyncRequest]:
        sqs = boto3.client("sqs")
        out = []
        while messages := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            out += [SyncRequest.model_validate_json(m["Body"]) for m in messages]
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return out

    def redeploy(self, name: str, **parameters: str) -> Deployed:
        """Another stack over the same queues, table and secret, with some parameters changed."""
        deploy(self.world, name, queue=self.queue_url, dlq=self.dlq_url, **parameters)
        return Deployed(self.world, self.queue_url, self.dlq_url, name)


def deploy(world: World, name: str = STACK, *, queue: str, dlq: str, **parameters: str) -> None:
    secret = boto3.client("secretsmanager").describe_secret(SecretId="sf")["ARN"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Parameters": {name: {"Type": "String", "Default": ""} for name in PARAMETERS},
        "Outputs": {
            "QueueUrl": {"Value": queue},
            "DeadLetterQueueUrl": {"Value": dlq},
            "TableName": {"Value": TABLE},
        },
    }
    params = {
        "SalesforceSecretArn": secret,
        "TriggerStages": "Closed Won",
        "SalesforceOrgIds": ORG,
        "ReconcileMaxPerRun": "100",
        **parameters,
    }
    boto3.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
    )
