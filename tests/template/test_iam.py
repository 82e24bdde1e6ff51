"""IAM as CloudFormation will see it: translate the SAM template with the SAM translator itself, then check
the generated roles. Policy templates expand to actions the source does not show (e.g. SQSSendMessagePolicy
grants ``sqs:SendMessage*``), so checking the source alone would miss wildcards."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sf_bigtime_local.template import REPO_ROOT

SAM_PYTHON = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam/bin/sam")).with_name("python")

TRANSLATE = r"""
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class ManagedPolicies:  # offline: no IAM lookups
    def load(self): return {}
    def get(self, name): return f"arn:aws:iam::aws:policy/{name}"

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    props = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):
        if key in props:
            props[key] = "s3://bucket/key"  # what `sam package` would put there
print(json.dumps(transform(template, {"AWS::Region": "us-east-1"}, ManagedPolicies()), default=str))
"""

# AWS managed policies SAM attaches on its own; their actions are specific (logs:*, sqs:ReceiveMessage...).
ALLOWED_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


@pytest.fixture(scope="module")
def translated() -> dict:
    assert SAM_PYTHON.exists(), f"{SAM_PYTHON} is missing: run `make install` (the SAM CLI venv)"
    out = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSLATE, str(REPO_ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def _roles(translated: dict) -> dict[str, dict]:
    return {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def test_every_function_has_a_role(translated: dict) -> None:
    roles = _roles(translated)
    assert {"IngestFunctionRole", "WorkerFunctionRole", "ReconcileFunctionRole"} <= set(roles)


def test_no_wildcard_actions_in_generated_roles(translated: dict) -> None:
    for name, role in _roles(translated).items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                for action in actions:
                    assert "*" not in action, f"{name}: wildcard action {action}"
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert arn in ALLOWED_MANAGED, f"{name}: unexpected managed policy {arn}"


def test_ingest_can_only_send_to_the_queue_and_read_its_secret(translated: dict) -> None:
    role = _roles(translated)["IngestFunctionRole"]
    actions = sorted(
        a
        for p in role["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    )
    assert actions == ["secretsmanager:GetSecretValue", "sqs:SendMessage"]


@pytest.mark.parametrize("role_name", ["WorkerFunctionRole", "ReconcileFunctionRole"])
def test_worker_and_reconcile_read_only_the_mapping_parameter(translated: dict, role_name: str) -> None:
    role = _roles(translated)[role_name]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    ssm = [s for s in statements if any(str(a).startswith("ssm:") for a in _list(s["Action"]))]
    assert [_list(s["Action"]) for s in ssm] == [["ssm:GetParameter"]]
    resource = json.dumps(ssm[0]["Resource"])
    assert "*" not in resource
    assert "parameter${MappingParameterName}" in resource and "HasMappingParameter" in resource


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def test_reconcile_can_only_read_state_send_to_the_queue_and_read_its_secret_and_mapping(
    translated: dict,
) -> None:
    role = _roles(translated)["ReconcileFunctionRole"]
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = sorted(
        a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    )
    assert actions == [
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "ssm:GetParameter",
    ]
    resources = {json.dumps(s["Resource"], sort_keys=True) for s in statements}
    assert all("*" not in r for r in resources), resources
