"""Finding a stack: a deployed one from CloudFormation (outputs and parameters), the local one from its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sf_bigtime_ops.stackinfo import StackError, from_cloudformation, from_local


class Session:
    """What from_cloudformation uses of a boto3 Session, around a stubbed client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.region_name = "eu-west-1"

    def client(self, service: str, **_kwargs: Any) -> Any:
        assert service == "cloudformation"
        return self._client


def stack_reply(outputs: dict[str, str], parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "prod",
                "CreationTime": "2026-11-01T00:00:00Z",
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            }
        ]
    }


OUTPUTS = {
    "QueueUrl": "https://sqs/q.fifo",
    "DeadLetterQueueUrl": "https://sqs/dlq.fifo",
    "TableName": "prod-state",
    "DashboardUrl": "https://console/dash",
}
PARAMETERS = {
    "SalesforceSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sf",
    "TriggerStages": "Closed Won, Contract Signed",
    "SalesforceOrgIds": "00D5w000004abcd,00D5w000004abce",
    "SalesforceApiVersion": "65.0",
    "ReconcileMaxPerRun": "250",
}


def discover(reply: dict[str, Any] | None = None, error: str | None = None) -> Any:
    client = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(client) as stub:
        if error:
            stub.add_client_error("describe_stacks", "ValidationError", error)
        else:
            stub.add_response("describe_stacks", reply, {"StackName": "prod"})
        return from_cloudformation("prod", Session(client))


def test_a_deployed_stack_from_its_outputs_and_parameters() -> None:
    info = discover(stack_reply(OUTPUTS, PARAMETERS))
    assert (info.kind, info.name, info.region) == ("aws", "prod", "eu-west-1")
    assert (info.queue_url, info.dlq_url, info.table_name) == (
        "https://sqs/q.fifo",
        "https://sqs/dlq.fifo",
        "prod-state",
    )
    assert info.salesforce_secret_arn == PARAMETERS["SalesforceSecretArn"]
    assert info.configured_trigger_stages == ("Closed Won", "Contract Signed")
    assert info.org_ids == ("00D5w000004abcd", "00D5w000004abce")
    assert (info.salesforce_api_version, info.reconcile_max_per_run) == ("65.0", 250)
    assert info.describe() == "stack prod (eu-west-1)"


def test_a_stack_that_is_not_ours_is_named_as_such() -> None:
    with pytest.raises(StackError, match=r"not an sf-bigtime stack .*DeadLetterQueueUrl"):
        discover(stack_reply({"QueueUrl": "q", "TableName": "t"}, PARAMETERS))


def test_a_missing_stack_says_so() -> None:
    with pytest.raises(StackError, match="cannot read stack 'prod': Stack with id prod does not exist"):
        discover(error="Stack with id prod does not exist")


def test_the_local_stack_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    path.write_text(
        json.dumps(
            {
                "salesforce": {"org_id": "00D5w000004abcdEAA", "api_version": "66.0"},
                "aws": {
                    "endpoint_url": "http://127.0.0.1:5000",
                    "region": "us-east-1",
                    "queue_url": "q",
                    "dlq_url": "d",
                    "table_name": "t",
                    "salesforce_secret_arn": "arn:s",
                },
                "settings": {
                    "trigger_stages": ["Closed Won"],
                    "reconcile_grace_minutes": 0.05,
                    "mapping_parameter": "",
                    "mapping_file": "mappings/acme.yaml",
                },
            }
        )
    )
    info = from_local(path)
    assert (info.kind, info.endpoint_url, info.org_ids) == (
        "local",
        "http://127.0.0.1:5000",
        ("00D5w000004abcdEAA",),
    )
    assert info.reconcile_grace_minutes == 0.05 and info.reconcile_lookback_hours == 72.0
    # The mapping the local functions run with, named as a deployed stack names it.
    assert info.parameters["MappingFile"] == "mappings/acme.yaml"
    assert "MappingParameterName" not in info.parameters
    assert info.describe() == f"local stack ({path})"


def test_no_local_stack_tells_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="sf-bigtime local up"):
        from_local(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(StackError, match="does not describe a local stack"):
        from_local(broken)
