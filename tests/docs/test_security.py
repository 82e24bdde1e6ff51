"""SECURITY.md and the rotation runbook tell the truth about the template: every HTTP route is in the threat
model, the KMS key policy lets in each AWS service that encrypts with the key on its own behalf, the
hardening parameters it names exist, and the commands the reader pastes are real AWS CLI operations with real
options (the same check as the setup guide's)."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
from botocore import xform_name

from sf_bigtime.secrets import OutboundMessageSecret, SigningSecret, WebhookSecret
from sf_bigtime_local.template import REPO_ROOT, Template

from .guide import commands, flags

SECURITY = (REPO_ROOT / "SECURITY.md").read_text()
RUNBOOK = (REPO_ROOT / "docs" / "operations.md").read_text()
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RELAY_BUS = "aws.partner/salesforce.com/00D000000000001EAA/0YL000000000001"


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.find("\n## ", start + len(heading))
    return markdown[start : end if end != -1 else None]


def test_security_is_linked_from_the_readme() -> None:
    assert "](SECURITY.md)" in (REPO_ROOT / "README.md").read_text()


def test_the_threat_model_covers_every_route_and_attacker() -> None:
    reach = _section(SECURITY, "## Who can reach what")
    for method, path, _ in Template().http_routes():
        assert f"`{method} {path}`" in reach, f"{method} {path} is missing from SECURITY.md"
    attackers = _section(SECURITY, "## What an attacker can and cannot do")
    for who in (
        "endpoint URL",
        "leaked ingest credential",
        "compromised BigTime response",
        "compromised Salesforce response",
        "`lambda:InvokeFunction`",
    ):
        assert (
            f"**With a {who}" in attackers or f"**With the {who}" in attackers or f"**With {who}" in attackers
        ), who
    assert "## Reporting a problem" in SECURITY


def test_the_parameters_it_names_exist_with_the_defaults_it_gives() -> None:
    params = Template().data["Parameters"]
    table = _section(SECURITY, "## Optional hardening parameters")
    for name in ("PermissionsBoundaryArn", "KmsKeyArn", "IngestReservedConcurrency"):
        assert f"| `{name}` |" in table, name
    assert params["IngestReservedConcurrency"]["Default"] == 10 and "| 10 |" in table
    assert params["KmsKeyArn"]["Default"] == params["PermissionsBoundaryArn"]["Default"] == ""


def _key_policy() -> dict[str, Any]:
    [block] = re.findall(r"```json\n(.*?)```", _section(SECURITY, "### Customer managed KMS key"), re.S)
    policy: dict[str, Any] = json.loads(block)
    return policy


def _services_needing_the_key(resources: dict[str, Any]) -> set[str]:
    """The AWS services that use the key on their own behalf in the template rendered with a key (the roles'
    grants cover what the functions do)."""

    def keyed(r: dict[str, Any], prop: str) -> bool:
        return r["Properties"].get(prop) == KEY

    services = set()
    if any(r["Type"] == "AWS::Logs::LogGroup" and keyed(r, "KmsKeyId") for r in resources.values()):
        services.add("logs.REGION.amazonaws.com")
    topics = {
        n for n, r in resources.items() if r["Type"] == "AWS::SNS::Topic" and keyed(r, "KmsMasterKeyId")
    }
    for r in resources.values():
        if (
            r["Type"] == "AWS::CloudWatch::Alarm"
            and {a.value for a in r["Properties"].get("AlarmActions", []) if hasattr(a, "value")} & topics
        ):
            services.add("cloudwatch.amazonaws.com")
    queues = {
        n for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue" and keyed(r, "KmsMasterKeyId")
    }
    for r in resources.values():
        if r["Type"] == "AWS::Events::Rule":
            for target in r["Properties"]["Targets"]:
                dlq = target.get("DeadLetterConfig", {}).get("Arn")
                if dlq is not None and dlq.value.split(".")[0] in queues:
                    services.add("events.amazonaws.com")
    return services


def test_the_key_policy_lets_in_every_service_that_encrypts_on_its_own_behalf() -> None:
    resources = Template().render({"KmsKeyArn": KEY, "SalesforceEventBusName": RELAY_BUS})["Resources"]
    needed = _services_needing_the_key(resources)
    assert needed == {"logs.REGION.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"}
    statements = _key_policy()["Statement"]
    allowed = {s["Principal"]["Service"] for s in statements if "Service" in s.get("Principal", {})}
    assert needed <= allowed, f"the key policy in SECURITY.md lacks {needed - allowed}"
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "Service" in statement.get("Principal", {}):
            assert any(a.startswith("kms:GenerateDataKey") for a in actions), statement["Sid"]
            assert any(a.startswith("kms:Decrypt") for a in actions), statement["Sid"]
    # The log groups it names are the template's.
    logs = next(s for s in statements if s.get("Principal", {}).get("Service") == "logs.REGION.amazonaws.com")
    patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    for name, group in resources.items():
        if group["Type"] == "AWS::Logs::LogGroup":
            log_group = group["Properties"]["LogGroupName"].value.replace("${AWS::StackName}", "STACK")
            arn = f"arn:aws:logs:REGION:ACCOUNT:log-group:{log_group}"
            assert any(re.fullmatch(p.replace("*", ".*"), arn) for p in patterns), name


def _aws_commands(markdown: str) -> list[Any]:
    # The runbook's blocks sit inside a numbered list, indented three spaces.
    return [c for c in commands(re.sub(r"^   ", "", markdown, flags=re.M)) if c.tool == "aws"]


def test_the_pasted_aws_commands_are_real_operations_with_real_options() -> None:
    pasted = _aws_commands(SECURITY) + _aws_commands(_section(RUNBOOK, "## Rotating the ingest secrets"))
    assert len(pasted) >= 7
    session = botocore.session.get_session()
    for command in pasted:
        service, operation = command.words[1], command.words[2]
        model = session.get_service_model(service)
        names = {xform_name(op, "-"): op for op in model.operation_names}
        assert operation in names, f"`{command.line}`: aws {service} has no {operation}"
        shape = model.operation_model(names[operation]).input_shape
        members = shape.members if shape else {}
        allowed = {"--" + xform_name(m, "-") for m in members} | {
            "--query",
            "--output",
            "--region",
            "--profile",
        }
        used = set(flags(command.words))
        assert used <= allowed, f"`{command.line}`: no {used - allowed}"
        required = {"--" + xform_name(m, "-") for m in (shape.required_members if shape else [])}
        assert required <= used, f"`{command.line}`: missing {required - used}"


def test_the_rotation_runbook_covers_each_ingest_secret_with_its_key() -> None:
    rotation = _section(RUNBOOK, "## Rotating the ingest secrets")
    outputs = Template().data["Outputs"]
    for output, model in (
        ("WebhookSecretArn", WebhookSecret),
        ("OutboundMessageTokenSecretArn", OutboundMessageSecret),
        ("SigningSecretArn", SigningSecret),
    ):
        assert output in outputs and f"`{output}`" in rotation, output
        [key] = model.model_fields
        assert f"`{key}`" in rotation or f'"{key}"' in rotation, key
    for step in (
        "put-secret-value",
        "AWSPREVIOUS",
        "update-secret-version-stage",
        '"credential": "previous"',
    ):
        assert step in rotation, step
    assert "5 minutes" in rotation  # the cache (sf_bigtime.secrets.SECRET_CACHE_SECONDS)
