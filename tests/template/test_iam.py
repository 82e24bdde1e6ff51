"""IAM as CloudFormation will see it: translate the SAM template with the SAM translator itself, then check
the generated roles. Policy templates expand to actions the source does not show (e.g. SQSSendMessagePolicy
grants ``sqs:SendMessage*``), so checking the source alone would miss wildcards."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sf_bigtime_local.template import REPO_ROOT, render

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

KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BOUNDARY = "arn:aws:iam::111122223333:policy/firm-boundary"
FUNCTIONS = ("IngestFunction", "WorkerFunction", "ReconcileFunction", "PullFunction")


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


@pytest.fixture(scope="module")
def default(translated: dict) -> dict:
    """What CloudFormation deploys with every optional parameter left empty."""
    return render(translated)


@pytest.fixture(scope="module")
def hardened(translated: dict) -> dict:
    """What CloudFormation deploys with a customer managed key, a permissions boundary and a mapping
    parameter."""
    return render(
        translated,
        {"KmsKeyArn": KMS_KEY, "PermissionsBoundaryArn": BOUNDARY, "MappingParameterName": "/sf-bigtime/map"},
    )


def _roles(rendered: dict) -> dict[str, dict]:
    return {k: v for k, v in rendered["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _statements(role: dict) -> list[dict]:
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def _actions(role: dict) -> list[str]:
    return sorted(a for s in _statements(role) for a in _list(s["Action"]))


def test_every_function_has_its_own_role_and_sam_generates_none(translated: dict) -> None:
    roles = _roles(translated)
    assert set(roles) == {f"{fn}Role" for fn in FUNCTIONS}
    functions = {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == set(FUNCTIONS)
    for name, fn in functions.items():
        assert fn["Properties"]["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}, name


@pytest.mark.parametrize("variant", ["default", "hardened"])
def test_no_managed_policies_and_no_wildcards(variant: str, request: pytest.FixtureRequest) -> None:
    # SAM's AWSLambdaSQSQueueExecutionRole allows receive/delete on every queue in the account, and
    # AWSLambdaBasicExecutionRole writes to every log group: neither may come back.
    rendered = request.getfixturevalue(variant)
    for name, role in _roles(rendered).items():
        assert "ManagedPolicyArns" not in role["Properties"], f"{name}: managed policies"
        for statement in _statements(role):
            assert statement["Effect"] == "Allow", name
            for action in _list(statement["Action"]):
                assert "*" not in action, f"{name}: wildcard action {action}"
            for resource in _list(statement["Resource"]):
                assert resource != "*", f"{name}: {statement.get('Sid')} on every resource"
                assert "*" not in json.dumps(resource), f"{name}: wildcard resource {resource}"


def test_only_the_worker_consumes_the_queue_and_only_its_own(default: dict) -> None:
    consume = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
    for name, role in _roles(default).items():
        statements = [s for s in _statements(role) if consume & set(_list(s["Action"]))]
        if name != "WorkerFunctionRole":
            assert statements == [], name
            continue
        [statement] = statements
        assert sorted(statement["Action"]) == [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ]
        assert statement["Resource"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}


def test_each_role_writes_only_its_own_log_group(default: dict) -> None:
    for fn in FUNCTIONS:
        role = _roles(default)[f"{fn}Role"]
        logs = [s for s in _statements(role) if any(a.startswith("logs:") for a in _list(s["Action"]))]
        group = fn.removesuffix("Function") + "LogGroup"
        assert logs == [
            {
                "Sid": "OwnLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::GetAtt": [group, "Arn"]},
            }
        ], fn
        function = default["Resources"][fn]["Properties"]
        assert function["LoggingConfig"]["LogGroup"] == {"Ref": group}, fn


def test_ingest_can_only_send_to_the_queue_and_read_its_secrets(default: dict) -> None:
    role = _roles(default)["IngestFunctionRole"]
    assert _actions(role) == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
    ]
    [read] = [s for s in _statements(role) if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert read["Resource"] == [
        {"Ref": "WebhookSecret"},
        {"Ref": "SigningSecret"},
        {"Ref": "OutboundMessageTokenSecret"},
    ]


def test_worker_reads_only_the_mapping_parameter(default: dict, hardened: dict) -> None:
    for rendered, parameter in (
        (default, "parameter/${AWS::StackName}/no-mapping-parameter"),
        (hardened, "parameter${MappingParameterName}"),
    ):
        statements = _statements(_roles(rendered)["WorkerFunctionRole"])
        ssm = [s for s in statements if any(str(a).startswith("ssm:") for a in _list(s["Action"]))]
        assert [_list(s["Action"]) for s in ssm] == [["ssm:GetParameter"]]
        assert ssm[0]["Resource"]["Fn::Sub"].endswith(parameter)


def test_reconcile_can_only_read_state_send_to_the_queue_and_read_its_secret_and_mapping(
    default: dict,
) -> None:
    role = _roles(default)["ReconcileFunctionRole"]
    assert _actions(role) == [
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "ssm:GetParameter",
    ]


# The services each function reaches data through; with a customer managed key, it may use the key
# through those services and no other way (kms:ViaService), and only that key.
KEY_SERVICES = {
    "IngestFunctionRole": {"sqs", "secretsmanager"},
    "WorkerFunctionRole": {"sqs", "dynamodb", "secretsmanager"},
    "ReconcileFunctionRole": {"sqs", "dynamodb", "secretsmanager"},
    "PullFunctionRole": {"dynamodb", "secretsmanager"},
}


def test_with_a_key_each_role_may_use_it_only_through_its_services(default: dict, hardened: dict) -> None:
    for name, role in _roles(default).items():
        assert not [a for a in _actions(role) if a.startswith("kms:")], f"{name}: kms without a key"
    for name, role in _roles(hardened).items():
        [statement] = [s for s in _statements(role) if s["Action"][0].startswith("kms:")]
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"], name
        assert statement["Resource"] == KMS_KEY, name
        services = statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert {s["Fn::Sub"].split(".")[0] for s in services} == KEY_SERVICES[name], name
        assert all(s["Fn::Sub"].endswith(".${AWS::Region}.amazonaws.com") for s in services), name


def test_the_permissions_boundary_applies_to_every_role(default: dict, hardened: dict) -> None:
    assert _roles(hardened), "no roles"
    for name, role in _roles(hardened).items():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY, name
    for name, role in _roles(default).items():
        assert "PermissionsBoundary" not in role["Properties"], name


@pytest.mark.parametrize("role_name", ["WorkerFunctionRole", "ReconcileFunctionRole", "PullFunctionRole"])
def test_functions_that_follow_the_mapping_read_only_its_parameter(translated: dict, role_name: str) -> None:
    statements = [s for s in _statements(_roles(translated)[role_name]) if "Action" in s]  # not the Fn::If
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _list(s["Action"]))]
    assert [_list(s["Action"]) for s in ssm] == [["ssm:GetParameter"]]
    resource = json.dumps(ssm[0]["Resource"])
    assert "*" not in resource
    assert "parameter${MappingParameterName}" in resource and "HasMappingParameter" in resource
