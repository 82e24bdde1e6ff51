"""docs/setup.md (and the README's summary of it) tell people to run only real commands: SAM CLI flags from
`sam … --help`, AWS CLI operations and options from botocore's models, Salesforce CLI commands and flags from
the snapshot `make salesforce-validate` keeps in step with the real CLI, `sf-bigtime` options from its click
commands, make targets from the Makefile; and the names they use (outputs, environments, folders,
permission sets, secret keys) exist in the template, samconfig.toml, salesforce/ and the code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import click
import pytest
from botocore import xform_name

from sf_bigtime.secrets import (
    BigTimeApiKey,
    BigTimeCredentials,
    BigTimeSession,
    SalesforceClientCredentials,
    SalesforceCredentials,
    SalesforceJwtBearer,
    parse_secret,
)
from sf_bigtime_local.template import REPO_ROOT, Template
from sf_bigtime_ops.cli import main as sf_bigtime_cli

from .guide import Command, commands, flags, inline_commands, option_values

GUIDE = (REPO_ROOT / "docs" / "setup.md").read_text()
README = (REPO_ROOT / "README.md").read_text()
BLOCKS = [*commands(GUIDE), *commands(README)]  # what the reader pastes
ALL = [*BLOCKS, *inline_commands(GUIDE), *inline_commands(README)]  # and what running text mentions
SAM = Path(os.environ.get("SAM_CLI", REPO_ROOT / ".venv-sam/bin/sam"))
SF_SNAPSHOT = json.loads((Path(__file__).parent / "sf_cli_commands.json").read_text())
AWS_GLOBAL_OPTIONS = {
    "--region",
    "--profile",
    "--output",
    "--query",
    "--no-cli-pager",
    "--endpoint-url",
    "--debug",
}
AWS_CUSTOMIZATIONS = {("configure",), ("configure", "sso")}  # CLI commands outside the service models


def _of(tool: str) -> list[Command]:
    found = [c for c in ALL if c.tool == tool]
    assert found, f"the guide uses no {tool} command?"
    return found


def test_the_guide_is_linked_prominently_from_the_readme() -> None:
    head = "\n".join(README.splitlines()[:12])
    assert "(docs/setup.md)" in head
    assert README.count("docs/setup.md") >= 2


def test_the_guide_covers_what_an_admin_needs_in_order() -> None:
    headings = [h.lower() for h in re.findall(r"^## (.+)$", GUIDE, re.M)]
    wanted = [
        "before you start",
        "bigtime: an api key",
        "external client app",
        "the secrets",
        "deploy the stack",
        "deploy the metadata",
        "check everything",
        "test with a sandbox opportunity",
        "what to expect on the opportunity",
        "http callout",
        "production and sandboxes",
        "upgrading",
        "tearing down",
    ]
    positions = [next(i for i, h in enumerate(headings) if w in h) for w in wanted]
    assert positions == sorted(positions), headings
    for anchor in re.findall(r"\]\(#([a-z0-9-]+)\)", GUIDE):
        assert anchor in {re.sub(r"[^a-z0-9 -]", "", h).replace(" ", "-") for h in headings}, anchor


def test_every_command_uses_a_tool_the_guide_has_the_reader_install() -> None:
    assert {c.tool for c in ALL} <= {"sam", "aws", "sf", "sf-bigtime", "make", "git", "cd", "rm", "python3"}


@cache
def _sam_help(subcommand: str) -> set[str]:
    result = subprocess.run(
        [str(SAM), subcommand, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    return set(re.findall(r"(?<![\w-])(--[a-z0-9-]+|-[a-z])\b", result.stdout))


@pytest.mark.xdist_group("sam")
def test_sam_commands_use_real_flags_and_configured_environments() -> None:
    assert SAM.exists(), f"{SAM} is missing: run `make install`"
    environments = set(tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())) - {"version"}
    for command in _of("sam"):
        subcommand = command.words[1]
        assert subcommand in {"build", "deploy", "delete", "validate"}, command.line
        unknown = set(flags(command.words)) - _sam_help(subcommand)
        assert not unknown, f"`{command.line}`: sam {subcommand} has no {unknown}"
        for env in option_values(command.words, "--config-env"):
            assert env in environments, command.line


def _aws_operation(service: str, command: str) -> Any:
    session = botocore.session.get_session()
    model = session.get_service_model(service)
    names = {xform_name(op, "-"): op for op in model.operation_names}
    assert command in names, f"aws {service} has no {command}"
    return model.operation_model(names[command])


def test_aws_commands_are_real_operations_with_real_options() -> None:
    for command in _of("aws"):
        words = [w for w in command.words[1:] if not w.startswith("-")]
        if tuple(words[:2]) in AWS_CUSTOMIZATIONS or tuple(words[:1]) in AWS_CUSTOMIZATIONS:
            continue
        operation = _aws_operation(command.words[1], command.words[2])
        members = operation.input_shape.members if operation.input_shape else {}
        allowed = {"--" + xform_name(m, "-") for m in members} | AWS_GLOBAL_OPTIONS
        unknown = set(flags(command.words)) - allowed
        assert not unknown, f"`{command.line}`: no {unknown}"
        if command in BLOCKS:  # a pasted command must be complete; running text may just name one
            required = {
                "--" + xform_name(m, "-")
                for m in (operation.input_shape.required_members if operation.input_shape else [])
            }
            assert required <= set(flags(command.words)), (
                f"`{command.line}`: missing {required - set(flags(command.words))}"
            )


def test_sf_commands_and_flags_exist_in_the_salesforce_cli() -> None:
    snapshot = SF_SNAPSHOT["commands"]
    for command in _of("sf"):
        topic = []
        for word in command.words[1:]:
            if word.startswith("-"):
                break
            topic.append(word)
        if not topic:
            continue
        command_id = next(
            (":".join(topic[:n]) for n in range(len(topic), 0, -1) if ":".join(topic[:n]) in snapshot), None
        )
        assert command_id, (
            f"`{command.line}`: not in tests/docs/sf_cli_commands.json (run `make salesforce-snapshot`)"
        )
        spec = snapshot[command_id]
        allowed = {f"--{f}" for f in spec["flags"]} | {f"-{c}" for c in spec["chars"]}
        unknown = set(flags(command.words)) - allowed
        assert not unknown, f"`{command.line}`: sf {command_id} has no {unknown}"
        for source in option_values(command.words, "--source-dir"):
            assert (REPO_ROOT / command.cwd / source).is_dir(), f"`{command.line}`: no {command.cwd}/{source}"
        if command_id == "org:assign:permset":
            for name in option_values(command.words, "--name"):
                assert list(
                    (REPO_ROOT / "salesforce").glob(f"**/permissionsets/{name}.permissionset-meta.xml")
                ), name


def test_sf_bigtime_commands_and_options_exist() -> None:
    for command in _of("sf-bigtime"):
        group: click.Command = sf_bigtime_cli
        words = list(command.words[1:])
        while isinstance(group, click.Group) and words and not words[0].startswith("-"):
            group = group.commands[words.pop(0)]
        options = {opt for p in group.params for opt in p.opts}
        assert set(flags(command.words)) <= options, command.line


def test_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", (REPO_ROOT / "Makefile").read_text(), re.M))
    used = {c.words[1] for c in _of("make")} | set(re.findall(r"`make ([a-z-]+)`", GUIDE))
    assert used <= targets, used - targets


def test_outputs_the_guide_names_exist_in_the_template() -> None:
    outputs = set(Template().data["Outputs"])
    queried = set(re.findall(r"OutputKey=='(\w+)'", GUIDE))
    table = GUIDE[GUIDE.index("| Output |") : GUIDE.index("## 6.")]
    listed = set(re.findall(r"`([A-Z][A-Za-z]+)`", table))
    named = queried | listed
    assert named <= outputs, named - outputs
    assert {
        "OutboundMessageEndpoint",
        "OutboundMessageTokenSecretArn",
        "ApiBaseUrl",
        "ApiKeyCommand",
    } <= named


def test_secret_examples_and_shapes_match_the_code() -> None:
    examples = [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", GUIDE, re.S | re.M)]
    salesforce = [e for e in examples if "consumer_key" in e]
    bigtime = [e for e in examples if "api_token" in e]
    assert salesforce and bigtime
    for example in salesforce:
        assert isinstance(
            parse_secret("example", example, SalesforceCredentials), SalesforceClientCredentials
        )
    for example in bigtime:
        assert isinstance(parse_secret("example", example, BigTimeCredentials), BigTimeApiKey)
    table = GUIDE[GUIDE.index("| Secret | Keys | Notes |") :].split("\n\n", 1)[0]
    rows = {
        "client credentials": SalesforceClientCredentials,
        "JWT bearer": SalesforceJwtBearer,
        "BigTime, API key": BigTimeApiKey,
        "BigTime, user login": BigTimeSession,
    }
    for label, model in rows.items():
        [row] = [line for line in table.splitlines() if label in line]
        keys = set(re.findall(r"`([a-z_]+)`", row.split("|")[2]))
        fields = set(model.model_fields)
        required = {name for name, f in model.model_fields.items() if f.is_required()}
        assert keys <= fields, (label, keys - fields)
        assert required <= keys, (label, required - keys)
