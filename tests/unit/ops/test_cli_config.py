"""`sf-bigtime config check`: human and JSON output, exit codes, files and SSM parameters."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import yaml
from click.testing import CliRunner

from sf_bigtime_ops.cli import main

GOOD = """\
version: 1
trigger:
  any_won: true
  conditions:
    - {field: Amount, at_least: 10000}
project:
  fields:
    TypeId: {value: Consulting}
    Nm: {field: Name, update: sync}
"""
BAD = """\
trigger:
  stagez: [Won]
project:
  code: "P-{Name}"
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["config", "check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_default_mapping_checks_ok_and_lists_the_salesforce_fields() -> None:
    code, out, _ = run()
    assert code == 0
    assert "mapping (bundled default): OK (version 1)" in out
    assert "Account.BillingCity" in out and "Contact.MailingCity" in out


def test_the_tasks_team_and_template_sections_are_summarised_with_the_fields_they_read(
    tmp_path: Path,
) -> None:
    file = tmp_path / "work.yaml"
    file.write_text(
        "version: 1\n"
        "tasks: {per: product_family, fields: {TaskNm: Product2.Family}}\n"
        "team: {owner_lead: true, member_roles: {Sales Engineer: Consultant}}\n"
        "template: {field: Type, map: {New Customer: Standard Implementation}}\n"
    )
    code, out, _ = run(str(file))
    assert code == 0
    assert "tasks      one per product family" in out
    assert "team       the owner as project lead and Opportunity team members (Sales Engineer)" in out
    assert "template   by Type: 1 value(s), no default (project-create field TemplateId)" in out
    assert "OpportunityLineItems: Id, IsDeleted, Product2.Name, Product2.Family" in out
    assert "OpportunityTeamMembers: Id, IsDeleted, UserId, TeamMemberRole, User.Email, User.Name" in out
    code, out, _ = run(str(file), "--json")
    fields = json.loads(out)["salesforce_fields"]
    assert {"Type", "Owner.Email"} <= set(fields["opportunity"]) and "User.Email" in fields[
        "OpportunityTeamMembers"
    ]


def test_a_mistake_in_the_new_sections_names_its_key(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("version: 1\ntasks: {fields: {TaskId: Id}}\ntemplate: {map: {New: Standard}}\n")
    code, _, err = run(str(file))
    assert code == 1
    assert "tasks.fields: TaskId cannot be mapped: the task code is the worker's marker" in err
    assert "template: map needs `field`" in err


def test_a_good_file(tmp_path: Path) -> None:
    file = tmp_path / "acme.yaml"
    file.write_text(GOOD)
    code, out, _ = run(str(file))
    assert code == 0 and f"file {file}: OK" in out
    assert "any won stage and Amount at least 10000.0" in out
    assert "project: Nm" in out  # the sync fields


def test_a_bad_file_names_each_key_and_exits_1(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(BAD)
    code, _, err = run(str(file))
    assert code == 1
    assert "2 problem(s)" in err
    assert "trigger.stagez: unknown key (did you mean 'stages'?)" in err
    assert "project: code 'P-{Name}' must contain {Id}" in err


def test_json_output(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(BAD)
    code, out, _ = run(str(file), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["ok"] is False and {p["key"] for p in result["problems"]} == {"trigger.stagez", "project"}
    code, out, _ = run("--json", "--show")
    result = json.loads(out)
    assert code == 0 and result["ok"] is True and result["problems"] == []
    assert "Account.Name" in result["salesforce_fields"]["opportunity"]
    assert result["mapping"]["project"]["code"] == "SF-{Id}"


def test_show_prints_the_effective_mapping_as_yaml(tmp_path: Path) -> None:
    file = tmp_path / "acme.yaml"
    file.write_text(GOOD)
    code, out, _ = run(str(file), "--show")
    effective = yaml.safe_load(out.split("Effective mapping:\n", 1)[1])
    assert code == 0 and effective["trigger"]["any_won"] is True
    assert effective["client"]["fields"]["Nm"] == {"field": "Account.Name"}  # merged onto the default


def test_unreadable_file_and_yaml_errors(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot be read" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("trigger: [a\n")
    code, _, err = run(str(broken))
    assert code == 1 and "not valid YAML: line 2" in err


def test_ssm_parameter(aws: None) -> None:
    boto3.client("ssm").put_parameter(Name="/sf-bigtime/cli-check", Value=GOOD, Type="String")
    code, out, _ = run("--parameter", "/sf-bigtime/cli-check")
    assert code == 0 and "SSM parameter /sf-bigtime/cli-check: OK" in out
    code, _, err = run("--parameter", "/nope")
    assert code == 1 and "cannot be read" in err


def test_file_and_parameter_together_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "x.yaml"), "--parameter", "/a")
    assert code == 2 and "not both" in err
