"""What the installing admin sees of the template and samconfig.toml: every parameter described and
constrained (its default allowed), outputs that say what to paste into Salesforce, and dev/prod
environments whose settings are real SAM CLI options (read by the SAM CLI's own config loader)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from sf_bigtime.ingest.handler import EVENTS_ROUTE
from sf_bigtime_local.template import REPO_ROOT, Tag, Template

SAMCONFIG = REPO_ROOT / "samconfig.toml"
SAM = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam/bin/sam"))


@pytest.fixture(scope="module")
def t() -> Template:
    return Template()


def test_every_parameter_is_described_and_constrained_and_its_default_is_allowed(t: Template) -> None:
    for name, p in t.data["Parameters"].items():
        assert len(str(p.get("Description", "")).strip()) >= 20, f"{name}: describe it for the admin"
        default = p.get("Default")
        if p["Type"] == "String":
            assert "AllowedValues" in p or "AllowedPattern" in p, f"{name}: constrain it"
            if default is not None and "AllowedValues" in p:
                assert default in p["AllowedValues"], name
            if default is not None and "AllowedPattern" in p:
                assert re.fullmatch(p["AllowedPattern"], str(default)), name
        else:
            assert p["Type"] == "Number", name
            assert "MinValue" in p or "AllowedValues" in p, f"{name}: constrain it"
            assert default is None or default >= p.get("MinValue", default), name
            assert default is None or default <= p.get("MaxValue", default), name
            assert default is None or "AllowedValues" not in p or default in p["AllowedValues"], name


def test_parameters_with_patterns_explain_them(t: Template) -> None:
    for name in (
        "SalesforceOrgIds",
        "SalesforceSecretArn",
        "BigTimeSecretArn",
        "SalesforceApiVersion",
        "TriggerStages",
    ):
        assert t.data["Parameters"][name].get("ConstraintDescription"), name


def test_parameters_point_to_the_guide_not_to_removed_readme_sections(t: Template) -> None:
    text = json.dumps(t.data["Parameters"], default=str)
    assert 'README "Secrets"' not in text and "docs/setup.md" in text


def test_outputs_say_what_to_paste_into_salesforce(t: Template) -> None:
    outputs = t.data["Outputs"]
    for name, output in outputs.items():
        assert output.get("Description"), name
    base, events = outputs["ApiBaseUrl"]["Value"], outputs["EventsEndpoint"]["Value"]
    assert isinstance(base, Tag) and isinstance(events, Tag)
    assert events.value == base.value + EVENTS_ROUTE
    command = outputs["ApiKeyCommand"]["Value"]
    assert command == Tag(
        "Sub",
        "aws secretsmanager get-secret-value --region ${AWS::Region} --secret-id ${WebhookSecret}"
        " --query SecretString --output text",
    )
    assert t.resource("WebhookSecret")["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "api_key"
    assert outputs["OutboundMessageTokenCommand"]["Value"] == Tag(
        "Sub",
        "aws secretsmanager get-secret-value --region ${AWS::Region} --secret-id ${OutboundMessageTokenSecret}"
        " --query SecretString --output text",
    )
    token = t.resource("OutboundMessageTokenSecret")["Properties"]["GenerateSecretString"]
    assert token["GenerateStringKey"] == "token"
    assert "TableName" in outputs  # the guide has the admin note it before tearing down


def _samconfig() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text())


def test_samconfig_has_a_dev_and_a_prod_environment(t: Template) -> None:
    config = _samconfig()
    assert config["version"] == 0.1
    assert "default" not in config  # make test's plain `sam validate` / `sam build` stay unconfigured
    assert set(config) - {"version"} == {"dev", "prod"}
    stages = t.data["Parameters"]["Stage"]["AllowedValues"]
    names = set()
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        names.add(config[env]["global"]["parameters"]["stack_name"])
        assert deploy["parameter_overrides"] == f"Stage={env}" and env in stages
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["confirm_changeset"] is True  # the admin sees the change set before it runs
        assert deploy["resolve_s3"] is True
        # Firm-specific values and secrets are never committed: --guided asks and saves ARNs only.
        text = json.dumps(deploy)
        assert "arn:" not in text and "SecretArn" not in text
    assert names == {"sf-bigtime-dev", "sf-bigtime-prod"}


def test_samconfig_settings_are_options_of_the_sam_commands() -> None:
    assert SAM.exists(), f"{SAM} is missing: run `make install`"
    script = """
import json, sys
from samcli.lib.config.samconfig import SamConfig
from samcli.commands.build.command import cli as build
from samcli.commands.deploy.command import cli as deploy
options = {"build": sorted(p.name for p in build.params if p.name), "deploy": sorted(p.name for p in deploy.params if p.name)}
config = SamConfig(sys.argv[1], "samconfig.toml")
loaded = {env: {cmd: config.get_all([cmd], "parameters", env=env) for cmd in options} for env in ("dev", "prod")}
print(json.dumps({"options": options, "loaded": loaded}))
"""
    result = subprocess.run(
        [str(SAM.parent / "python"), "-c", script, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    data = json.loads(result.stdout)
    config = _samconfig()
    for env in ("dev", "prod"):
        for command in ("build", "deploy"):
            keys = set(config[env][command]["parameters"])
            if command == "deploy":  # global settings apply where a command has the option (stack_name)
                keys |= set(config[env]["global"]["parameters"])
            assert keys <= set(data["options"][command]), (env, command, keys - set(data["options"][command]))
            # the SAM CLI reads them as we wrote them
            for key, value in config[env][command]["parameters"].items():
                assert data["loaded"][env][command][key] == value, (env, command, key)
