"""The hardened stack (issue 13): the optional customer managed key reaches everything that stores data, the
HTTP API's access log never records the query string (it holds the Outbound Message token), ingest's
concurrency is reserved, stateful resources say what happens to them on delete. Checked on the template as
CloudFormation would deploy it (Template.render), with and without the optional parameters."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sf_bigtime_local.template import Tag, Template

KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# Every resource type that stores data, and the property that names its KMS key.
KEY_PROPERTY = {
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
}
# Types that can hold data but take no key here, and why.
NO_KEY = {
    # Lambda: its environment holds no secret (ARNs, names and settings; test_template checks it).
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
}


@pytest.fixture(scope="module")
def t() -> Template:
    return Template()


def _with_relay(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    # The Event Relay resources exist only with a bus name: render them too.
    return {"SalesforceEventBusName": "aws.partner/salesforce.com/00D000000000001EAA/0YL000000000001"} | (
        extra or {}
    )


def _key_of(resource: dict[str, Any]) -> Any:
    node = resource.get("Properties", {})
    for part in KEY_PROPERTY[resource["Type"]]:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def test_every_data_store_takes_the_customer_managed_key(t: Template) -> None:
    resources = t.render(_with_relay({"KmsKeyArn": KMS_KEY}))["Resources"]
    stores = {n: r for n, r in resources.items() if r["Type"] in KEY_PROPERTY}
    assert {r["Type"] for r in stores.values()} == set(KEY_PROPERTY)
    assert {"EventsQueue", "DeadLetterQueue", "EventRelayFailedQueue", "StateTable", "AlarmTopic"} <= set(
        stores
    )
    for name, resource in stores.items():
        assert _key_of(resource) == KMS_KEY, f"{name} does not use KmsKeyArn"
    for name, resource in resources.items():
        if resource["Type"] == "AWS::SQS::Queue":
            # SQS refuses both SSE kinds at once.
            assert "SqsManagedSseEnabled" not in resource["Properties"], name
        elif resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["Properties"]["SSESpecification"]["SSEType"] == "KMS", name
    unexpected = {
        r["Type"]
        for r in resources.values()
        if r["Type"] not in KEY_PROPERTY and r["Type"] not in NO_KEY and _stores_data(r["Type"])
    }
    assert not unexpected, f"decide whether these take KmsKeyArn: {unexpected}"


def _stores_data(type_: str) -> bool:
    return any(
        type_.startswith(prefix)
        for prefix in ("AWS::S3::", "AWS::Kinesis", "AWS::EFS::", "AWS::RDS::", "AWS::SSM::Parameter")
    )


def test_without_a_key_everything_stays_encrypted_by_aws(t: Template) -> None:
    resources = t.render(_with_relay())["Resources"]
    for name, resource in resources.items():
        if resource["Type"] not in KEY_PROPERTY:
            continue
        assert _key_of(resource) is None, f"{name} names a key although KmsKeyArn is empty"
        if resource["Type"] == "AWS::SQS::Queue":
            assert resource["Properties"]["SqsManagedSseEnabled"] is True, name
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["Properties"]["SSESpecification"]["SSEEnabled"] is True, name


def test_kms_key_parameter_takes_a_key_arn_not_an_alias(t: Template) -> None:
    param = t.data["Parameters"]["KmsKeyArn"]
    assert param["Default"] == ""
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch(KMS_KEY)
    # CloudWatch Logs accepts only a key ARN.
    assert not pattern.fullmatch("arn:aws:kms:eu-west-1:111122223333:alias/sf-bigtime")
    assert not pattern.fullmatch("1234abcd-12ab-34cd-56ef-1234567890ab")
    boundary = re.compile(t.data["Parameters"]["PermissionsBoundaryArn"]["AllowedPattern"])
    assert boundary.fullmatch("") and boundary.fullmatch("arn:aws:iam::111122223333:policy/org/boundary")
    assert not boundary.fullmatch("arn:aws:iam::111122223333:role/boundary")


# ------------------------------------------------------------------------------------------- access log

# What may appear in the access log: who called, which route, what came back, how fast. Nothing of the
# request itself ($request.*, $context.path and friends could carry the query string and its token).
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.routeKey",
    "$context.status",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integrationStatus",
    "$context.integrationErrorMessage",
    "$context.responseLength",
    "$context.protocol",
    "$context.identity.sourceIp",
    "$context.identity.userAgent",
}


def _access_log(t: Template) -> tuple[dict[str, Any], str]:
    settings = t.props("HttpApi")["AccessLogSettings"]
    return settings, settings["Format"]


def test_http_api_access_log_records_who_what_and_how_fast(t: Template) -> None:
    settings, fmt = _access_log(t)
    assert settings["DestinationArn"] == Tag("GetAtt", "HttpApiAccessLogGroup.Arn")
    record = json.loads(fmt)  # one JSON object per line: Logs Insights reads its fields
    assert record["requestId"] == "$context.requestId"
    assert record["route"] == "$context.routeKey"
    assert record["status"] == "$context.status"
    assert record["latencyMs"] == "$context.responseLatency"
    assert record["sourceIp"] == "$context.identity.sourceIp"


def test_http_api_access_log_never_records_the_query_string(t: Template) -> None:
    _, fmt = _access_log(t)
    variables = set(re.findall(r"\$[A-Za-z][A-Za-z0-9_.]*", fmt))
    assert variables <= ACCESS_LOG_VARIABLES, (
        f"not allowed in the access log: {variables - ACCESS_LOG_VARIABLES}"
    )
    for leak in (
        "$context.path",
        "$request",
        "$input",
        "querystring",
        "rawQueryString",
        "$context.authorizer",
    ):
        assert leak.lower() not in fmt.lower(), leak
    # Every value is a bare variable: no template text that could splice two together.
    assert all(re.fullmatch(r"\$[A-Za-z.]+", v) for v in json.loads(fmt).values())


def test_the_format_check_catches_a_leak() -> None:
    leaky = '{"requestId":"$context.requestId","path":"$context.path","q":"$request.querystring.token"}'
    variables = set(re.findall(r"\$[A-Za-z][A-Za-z0-9_.]*", leaky))
    assert variables - ACCESS_LOG_VARIABLES == {"$context.path", "$request.querystring.token"}


# ------------------------------------------------------------------------------- concurrency, lifecycle


def test_ingest_concurrency_is_reserved_unless_the_account_cannot(t: Template) -> None:
    param = t.data["Parameters"]["IngestReservedConcurrency"]
    assert 1 <= param["Default"] <= 50
    assert param["MinValue"] == 0
    reserved = t.render()["Resources"]["IngestFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == param["Default"]
    # 0 means "no reservation" (accounts whose quota is 10), never "throttle every request".
    props = t.render({"IngestReservedConcurrency": 0})["Resources"]["IngestFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in props
    # Reserved concurrency on an SQS consumer throttles batches into the DLQ; MaximumConcurrency caps it.
    assert "ReservedConcurrentExecutions" not in t.props("WorkerFunction")


@pytest.mark.parametrize(
    ("type_", "policy"),
    [
        ("AWS::Logs::LogGroup", "Retain"),
        ("AWS::SecretsManager::Secret", "Retain"),
        ("AWS::DynamoDB::Table", "Retain"),
        ("AWS::SQS::Queue", "Delete"),
    ],
)
def test_stateful_resources_say_what_happens_on_delete(t: Template, type_: str, policy: str) -> None:
    resources = t.of_type(type_)
    assert resources
    for name, resource in resources.items():
        assert resource.get("DeletionPolicy") == policy, name
        assert resource.get("UpdateReplacePolicy") == policy, name


def test_every_scanner_suppression_says_why(t: Template) -> None:
    # `make scan` runs cfn-lint (informational rules included) and checkov; what they report and we accept
    # is suppressed on the resource itself, with its reason.
    skips = 0
    for name, resource in t.resources.items():
        metadata = resource.get("Metadata", {})
        for skip in metadata.get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_[0-9]+", skip["id"]), f"{name}: {skip}"
            assert len(skip.get("comment", "")) >= 60, f"{name}: say why {skip['id']} does not apply"
            skips += 1
        ignored = metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
        assert not ignored, f"{name}: fix cfn-lint's {ignored} (or give this test a way to hold the reason)"
    assert skips  # the Lambda DLQ/VPC/concurrency/environment checks at least
