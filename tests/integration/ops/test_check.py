"""`sf-bigtime check` against a stack in moto's CloudFormation, the fake Salesforce and the fake BigTime:
every check passes when things are right, and each kind of mistake an admin makes fails the right check
with a reason (wrong BigTime token, missing custom field, incomplete secret, wrong org, ...)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from werkzeug.wrappers import Request, Response

from sf_bigtime_local.fake_bigtime import FakeBigTime
from sf_bigtime_local.fake_salesforce import FakeSalesforce, default_metadata_dir
from sf_bigtime_local.httpserver import BackgroundServer
from sf_bigtime_ops import stack_check as check_module
from sf_bigtime_ops.cli import main
from sf_bigtime_ops.stack_check import Checker, CheckResult
from sf_bigtime_ops.stackinfo import StackInfo, from_cloudformation

ORG = "00D5w000004abcdEAA"
BT_TOKEN_NO_STAFF = "bt-token-no-staff"
STACK = "sf-bigtime-dev"
BT_TOKEN, BT_REALM = "bt-api-key", "test-firm"


def _ingest(environ: dict[str, Any], start_response: Any) -> Any:
    """Ingest as far as the check sees it: no API key, no entry."""
    request = Request(environ)
    if request.headers.get("x-api-key") != "the-key":
        return Response('{"error": {"code": "unauthorized"}}', status=401)(environ, start_response)
    return Response('{"accepted": 0}', status=202)(environ, start_response)


@dataclass
class Env:
    sf: FakeSalesforce
    sf_url: str
    bt_url: str
    ingest_url: str
    secrets: dict[str, str]

    def parameters(self, **overrides: str) -> dict[str, str]:
        return {
            "Stage": "dev",
            "SalesforceOrgIds": ORG,
            "SalesforceSecretArn": self.secrets["salesforce"],
            "BigTimeSecretArn": self.secrets["bigtime"],
            "SalesforceApiVersion": "66.0",
            "TriggerStages": "Closed Won",
            **overrides,
        }

    def outputs(self, **overrides: str) -> dict[str, str]:
        return {
            "OutboundMessageEndpoint": f"{self.ingest_url}/salesforce/outbound-message",
            "OutboundMessageTokenSecretArn": self.secrets["outbound"],
            "EventsEndpoint": f"{self.ingest_url}/salesforce/events",
            "WebhookSecretArn": self.secrets["webhook"],
            "TableName": "sf-bigtime-dev-StateTable-1AB2",
            **overrides,
        }

    def stack(
        self, *, parameters: dict[str, str] | None = None, outputs: dict[str, str] | None = None
    ) -> StackInfo:
        return StackInfo(
            name=STACK,
            kind="aws",
            region="us-east-1",
            outputs=outputs or self.outputs(),
            parameters=parameters or self.parameters(),
            status="CREATE_COMPLETE",
        )

    def put(self, name: str, value: object) -> None:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=self.secrets[name], SecretString=json.dumps(value)
        )

    def run(self, stack: StackInfo | None = None) -> dict[str, CheckResult]:
        results = Checker(stack or self.stack(), boto3.client("secretsmanager"), boto3.client("ssm")).run()
        assert len({r.name for r in results}) == len(results)
        return {r.name: r for r in results}


def _salesforce_secret(url: str, **overrides: str) -> dict[str, str]:
    return {
        "auth": "client_credentials",
        "domain": "acme--uat.sandbox.my",
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "instance_url": url,
        **overrides,
    }


def _bigtime_secret(url: str, api_token: str = BT_TOKEN) -> dict[str, str]:
    return {
        "auth": "api_key",
        "api_token": api_token,
        "realm": BT_REALM,
        "base_url": f"{url}/BigtimeData/api/v2",
    }


def _serve(sf: FakeSalesforce) -> Iterator[Env]:
    bt = FakeBigTime(
        realm=BT_REALM,
        api_tokens={
            BT_TOKEN: {"staffsid": 1},
            BT_TOKEN_NO_STAFF: {"staffsid": 2, "permissions": {"staff.view": False}},
        },
    )
    with (
        BackgroundServer(sf, name="fake-sf") as sfs,
        BackgroundServer(bt, name="fake-bt") as bts,
        BackgroundServer(_ingest, name="ingest") as ingest,
    ):
        sm = boto3.client("secretsmanager")
        secrets = {
            "salesforce": sm.create_secret(
                Name=f"{STACK}/salesforce", SecretString=json.dumps(_salesforce_secret(sfs.url))
            )["ARN"],
            "bigtime": sm.create_secret(
                Name=f"{STACK}/bigtime", SecretString=json.dumps(_bigtime_secret(bts.url))
            )["ARN"],
            "webhook": sm.create_secret(
                Name=f"{STACK}/webhook", SecretString=json.dumps({"api_key": "the-key-" * 4})
            )["ARN"],
            "outbound": sm.create_secret(
                Name=f"{STACK}/outbound-message-token", SecretString=json.dumps({"token": "om-token-" * 4})
            )["ARN"],
        }
        yield Env(sf=sf, sf_url=sfs.url, bt_url=bts.url, ingest_url=ingest.url, secrets=secrets)
    sf.close()


@pytest.fixture
def env(aws: None) -> Iterator[Env]:
    yield from _serve(FakeSalesforce(org_id=ORG, client_id="ck", client_secret="cs"))


def _cloudformation_stack(env: Env, name: str = STACK) -> None:
    template = {
        "Parameters": {key: {"Type": "String"} for key in env.parameters()},
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-marker"}}},
        "Outputs": {key: {"Value": value} for key, value in env.outputs().items()},
    }
    boto3.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in env.parameters().items()],
    )


EVERY_CHECK = [
    "stack",
    "salesforce-secret",
    "bigtime-secret",
    "outbound-message-secret",
    "webhook-secret",
    "mapping",
    "endpoint:OutboundMessageEndpoint",
    "endpoint:EventsEndpoint",
    "salesforce-login",
    "salesforce-org",
    "salesforce-fields",
    "salesforce-query",
    "trigger-stages",
    "bigtime-login",
    "bigtime-picklist:LookupProjectType",
    "bigtime-picklist:StatusProduction",
    "bigtime-picklist:StatusBilling",
    "bigtime-staff",  # the default team: the owner, matched to BigTime staff by e-mail
]


def test_every_check_passes_against_a_ready_stack_read_from_cloudformation(env: Env) -> None:
    _cloudformation_stack(env)
    stack = from_cloudformation(STACK, boto3.Session(region_name="us-east-1"), require_resources=False)
    assert stack.outputs == env.outputs() and stack.parameters == env.parameters()
    results = env.run(stack)
    assert list(results) == EVERY_CHECK
    assert [r.name for r in results.values() if not r.ok] == []
    assert (
        f"({ORG}, production or developer org) through acme--uat.sandbox.my"
        in results["salesforce-login"].detail
    )
    assert "client_credentials for My Domain 'acme--uat.sandbox.my'" in results["salesforce-secret"].detail
    assert "refuses a call without credentials" in results["endpoint:EventsEndpoint"].detail
    assert "(27 custom)" in results["salesforce-fields"].detail  # the pull's BigTime Project fields too
    assert results["mapping"].detail == "(bundled default): trigger 'Closed Won'"
    # Secrets are described, never shown.
    text = json.dumps([r.to_dict() for r in results.values()])
    assert BT_TOKEN not in text and '"cs"' not in text and "the-key" not in text and "om-token" not in text


def test_a_wrong_bigtime_token_fails_the_login_and_skips_the_picklists(env: Env) -> None:
    env.put("bigtime", _bigtime_secret(env.bt_url, "wrong"))
    results = env.run()
    assert results["bigtime-login"].status == "failed"
    assert (
        "not authorised (HTTP 401)" in results["bigtime-login"].detail
        and BT_REALM in results["bigtime-login"].detail
    )
    assert {
        results[f"bigtime-picklist:{n}"].status
        for n in ("LookupProjectType", "StatusProduction", "StatusBilling")
    } == {"skipped"}
    assert results["salesforce-fields"].ok  # the rest is still checked


def test_a_custom_field_missing_in_the_org_fails_the_field_check_and_the_query(
    aws: None, tmp_path: Path
) -> None:
    objects = tmp_path / "objects"
    shutil.copytree(default_metadata_dir(), objects)
    (objects / "Opportunity" / "fields" / "BigTime_Sync_Status__c.field-meta.xml").unlink()
    sf = FakeSalesforce(org_id=ORG, client_id="ck", client_secret="cs", metadata_dir=objects)
    for env in _serve(sf):
        results = env.run()
        fields = results["salesforce-fields"]
        assert fields.status == "failed"
        assert fields.problems == [
            "Opportunity.BigTime_Sync_Status__c: Opportunity has no field BigTime_Sync_Status__c (or it is not visible)",
            "Opportunity.BigTime_Sync_Status__c: Opportunity has no field BigTime_Sync_Status__c (or it is not visible)",
        ]  # read by the query, written by the write-back
        assert "assign the BigTime Integration permission set" in fields.detail
        assert (
            results["salesforce-query"].status == "failed"
            and "INVALID_FIELD" in results["salesforce-query"].detail
        )
        assert results["salesforce-login"].ok and results["bigtime-login"].ok


def test_a_secret_without_a_key_fails_naming_the_key_and_skips_what_needs_it(env: Env) -> None:
    env.put("salesforce", {k: v for k, v in _salesforce_secret(env.sf_url).items() if k != "consumer_secret"})
    results = env.run()
    secret = results["salesforce-secret"]
    assert secret.status == "failed" and "client_credentials.consumer_secret: Field required" in secret.detail
    for name in (
        "salesforce-login",
        "salesforce-org",
        "salesforce-fields",
        "salesforce-query",
        "trigger-stages",
    ):
        assert results[name].status == "skipped", name
    assert results["bigtime-login"].ok


def test_wrong_salesforce_credentials_fail_the_login(env: Env) -> None:
    env.put("salesforce", _salesforce_secret(env.sf_url, consumer_secret="wrong"))
    results = env.run()
    assert results["salesforce-login"].status == "failed"
    assert "Salesforce login failed" in results["salesforce-login"].detail
    assert results["salesforce-fields"].status == "skipped"


def test_an_org_the_stack_does_not_accept_fails(env: Env) -> None:
    results = env.run(env.stack(parameters=env.parameters(SalesforceOrgIds="00D000000000001")))
    assert results["salesforce-org"].status == "failed"
    assert f"log in to org {ORG}" in results["salesforce-org"].detail


def test_a_trigger_stage_that_is_not_a_stage_fails(env: Env) -> None:
    results = env.run(env.stack(parameters=env.parameters(TriggerStages="Closed Won,Signed")))
    assert results["trigger-stages"].status == "failed" and "'Signed'" in results["trigger-stages"].detail


def test_endpoints_must_answer_and_refuse_unauthenticated_calls(env: Env) -> None:
    outputs = env.outputs(
        EventsEndpoint=f"{env.ingest_url}/nothing-here",
        OutboundMessageEndpoint="http://127.0.0.1:9/salesforce/outbound-message",
    )
    results = env.run(env.stack(outputs=outputs))
    assert results["endpoint:EventsEndpoint"].ok  # 401 from our stand-in, whatever the path
    assert results["endpoint:OutboundMessageEndpoint"].status == "failed"
    assert "cannot be reached" in results["endpoint:OutboundMessageEndpoint"].detail


def test_a_stack_that_rolled_back_or_is_not_ours_fails(env: Env) -> None:
    rolled_back = env.stack()
    rolled_back.status = "UPDATE_ROLLBACK_COMPLETE"
    assert "runs its previous version" in env.run(rolled_back)["stack"].detail
    foreign = env.stack(parameters={"Stage": "dev"})
    results = env.run(foreign)
    assert results["stack"].status == "failed" and "SalesforceSecretArn" in results["stack"].detail
    assert results["salesforce-secret"].detail == "the stack has no SalesforceSecretArn"


def test_configured_picklist_values_are_resolved(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = {"LookupProjectType": {"Consulting", "Moonshot"}, "StatusProduction": {"in progress"}}
    monkeypatch.setattr(check_module, "configured_picklists", lambda mapping: wanted)
    results = env.run()
    types = results["bigtime-picklist:LookupProjectType"]
    assert types.status == "failed" and "'Moonshot' not in BigTime's LookupProjectType list" in types.detail
    assert "Consulting" in types.detail  # lists what is there
    assert results["bigtime-picklist:StatusProduction"].ok  # names match case-insensitively
    assert "bigtime-picklist:StatusBilling" not in results  # only the lists the mapping uses


def test_cli_prints_a_table_or_json_and_exits_non_zero_on_failure(env: Env) -> None:
    _cloudformation_stack(env)
    runner = CliRunner()
    ok = runner.invoke(main, ["check", "--stack-name", STACK, "--region", "us-east-1"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"sf-bigtime check: stack {STACK} (us-east-1)")
    assert f"all {len(EVERY_CHECK)} checks passed." in ok.output
    env.put("bigtime", _bigtime_secret(env.bt_url, "wrong"))
    failed = runner.invoke(main, ["check", "--stack-name", STACK, "--region", "us-east-1", "--json"])
    assert failed.exit_code == 1
    document = json.loads(failed.output)
    assert document["ok"] is False and document["stack"] == STACK
    by_name = {c["name"]: c for c in document["checks"]}
    assert by_name["bigtime-login"]["status"] == "failed" and by_name["bigtime-login"]["ok"] is False
    missing = runner.invoke(main, ["check", "--stack-name", "no-such-stack", "--region", "us-east-1"])
    assert missing.exit_code == 1 and "cannot read stack 'no-such-stack'" in missing.output


MAPPING = """
project:
  fields:
    TypeId: {value: Consulting}
    StatusProd: {field: NextStep, map: {Kickoff: In Progress}, default: Moonshot}
"""


def test_the_stacks_mapping_is_read_from_ssm_and_its_picklist_values_resolved(env: Env) -> None:
    boto3.client("ssm").put_parameter(Name="/sf-bigtime/mapping", Type="String", Value=MAPPING)
    results = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/mapping")))
    assert results["mapping"].ok and results["mapping"].detail.startswith("SSM parameter /sf-bigtime/mapping")
    assert results["bigtime-picklist:LookupProjectType"].detail == "'Consulting' resolved"
    status = results["bigtime-picklist:StatusProduction"]
    assert status.status == "failed" and "'Moonshot' not in BigTime's StatusProduction list" in status.detail
    assert "In Progress" in status.detail  # what the firm has
    assert results["salesforce-fields"].ok and results["salesforce-query"].ok  # NextStep is readable


TEMPLATES_AND_TEAM = """
version: 1
template: {field: Type, map: {New Customer: standard implementation, Renewal: Fixed Fee Kickoff}}
team: {owner_role: Project Manager, member_roles: {Sales Engineer: Consultant}}
"""


def test_the_templates_the_mapping_names_and_the_staff_list_are_checked(env: Env) -> None:
    boto3.client("ssm").put_parameter(Name="/sf-bigtime/work", Type="String", Value=TEMPLATES_AND_TEAM)
    results = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/work")))
    templates = results["bigtime-templates"]
    assert templates.status == "failed" and "'Fixed Fee Kickoff' not among BigTime's project templates" in (
        templates.detail
    )
    assert "Retainer, Standard Implementation" in templates.detail  # what the firm has
    assert (
        results["bigtime-staff"].ok
        and "4 active staffer(s) with an e-mail" in results["bigtime-staff"].detail
    )
    roles = results["bigtime-picklist:LookupProjectTeamRoles"]  # the team roles resolve like any picklist
    assert roles.ok and roles.detail == "'Consultant', 'Project Manager' resolved"
    # The worker's one query reads the team members too, and the org has every field it names.
    assert results["salesforce-fields"].ok and results["salesforce-query"].ok


def test_a_line_item_field_the_org_lacks_fails_the_field_check_naming_it(env: Env) -> None:
    value = "version: 1\ntasks: {fields: {BudgetExps: {field: Travel_Budget__c, update: sync}}}\n"
    boto3.client("ssm").put_parameter(Name="/sf-bigtime/travel", Type="String", Value=value)
    results = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/travel")))
    fields = results["salesforce-fields"]
    assert fields.status == "failed"
    assert fields.problems == [
        "Opportunity.OpportunityLineItems.Travel_Budget__c: OpportunityLineItem has no field Travel_Budget__c "
        "(or it is not visible)"
    ]
    assert (
        results["salesforce-query"].status == "failed"
        and "Travel_Budget__c" in results["salesforce-query"].detail
    )


def test_an_api_key_that_may_not_read_staff_fails_the_staff_check_naming_the_fix(env: Env) -> None:
    env.put("bigtime", _bigtime_secret(env.bt_url, BT_TOKEN_NO_STAFF))
    staff = env.run()["bigtime-staff"]
    # A list BigTime filters by the staffer's rights: empty, not refused.
    assert staff.status == "failed" and "may lack the right to view staff" in staff.detail


def test_without_template_or_team_nothing_more_is_read(env: Env) -> None:
    value = "version: 1\nteam: {enabled: false}\n"
    boto3.client("ssm").put_parameter(Name="/sf-bigtime/bare", Type="String", Value=value)
    results = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/bare")))
    assert "bigtime-templates" not in results and "bigtime-staff" not in results


def test_an_unreadable_or_invalid_mapping_fails_and_skips_the_checks_that_need_it(env: Env) -> None:
    missing = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/none")))
    assert missing["mapping"].status == "failed" and "cannot be read" in missing["mapping"].detail
    boto3.client("ssm").put_parameter(
        Name="/sf-bigtime/bad", Type="String", Value="project: {fields: {Nm: 'not a path'}}"
    )
    bad = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/bad")))
    assert bad["mapping"].status == "failed" and "project.fields.Nm" in bad["mapping"].detail
    assert "sf-bigtime config check" in bad["mapping"].detail
    for name in ("salesforce-fields", "salesforce-query", "trigger-stages"):
        assert bad[name].status == "skipped", name
    assert bad["salesforce-login"].ok and bad["bigtime-login"].ok


def test_a_report_mode_mapping_has_its_reports_columns_checked(env: Env) -> None:
    boto3.client("ssm").put_parameter(
        Name="/sf-bigtime/report", Type="String", Value="pull: {mode: report, report: {id: 1}}"
    )
    results = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/report")))
    assert results["bigtime-report:1"].ok, results["bigtime-report:1"].detail
    assert "has all 14 columns the pull reads" in results["bigtime-report:1"].detail

    boto3.client("ssm").put_parameter(
        Name="/sf-bigtime/report2",
        Type="String",
        Value="pull: {mode: report, report: {id: 1, columns: {wip: Unbilled, lead: null}}}",
    )
    wrong = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/report2")))
    check = wrong["bigtime-report:1"]
    assert check.status == "failed" and check.problems == ["Unbilled"]
    assert "has no column Unbilled" in check.detail and "wiptotal" in check.detail  # what it has

    boto3.client("ssm").put_parameter(
        Name="/sf-bigtime/report3", Type="String", Value="pull: {mode: report, report: {id: 99}}"
    )
    missing = env.run(env.stack(parameters=env.parameters(MappingParameterName="/sf-bigtime/report3")))
    assert (
        missing["bigtime-report:99"].status == "failed" and "not found" in missing["bigtime-report:99"].detail
    )
    assert "bigtime-report:1" not in env.run()  # per_project (the default) reads no report
