"""The ingest function imports only what it uses, and each entry point's parser only when that entry point
is first used: checked on the module graph, deterministically, in fresh interpreters that load
functions/ingest/app.py the way Lambda does and then serve requests. (Import *time* is measured by
`make bench`, not asserted here: timings are not deterministic.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sf_bigtime_local.template import REPO_ROOT

PROBE = r"""
import importlib.util, json, sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("app", Path(sys.argv[1]) / "functions/ingest/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
after_import = sorted(sys.modules)

from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.settings import IngestSettings

events = Path(sys.argv[1]) / "events"
deps = IngestDeps(
    settings=IngestSettings(
        queue_url="q",
        webhook_secret_arn="a",
        allowed_org_ids=("00D5w000004abcd",),
        event_bus_name="aws.partner/salesforce.com/00D5w000004abcdEAA/0YL5f000000CabWGAS",
    ),
    api_key=lambda: "REPLACE-WITH-THE-GENERATED-KEY",
    outbound_message_token=lambda: "REPLACE-WITH-THE-GENERATED-TOKEN",
    enqueue=lambda requests: ["m"] * len(requests),
)
served = []
for sample in sys.argv[2:]:
    reply = handle(json.loads((events / sample).read_text()), deps)
    served.append(reply.get("statusCode", reply.get("accepted")))
print(json.dumps({"after_import": after_import, "after_requests": sorted(sys.modules), "served": served}))
"""

SAMPLES = {
    "json": ("apigw-json-event.json", 202),
    "outbound_message": ("apigw-outbound-message.json", 200),
    "eventbridge_cdc": ("eventbridge-cdc-update.json", 1),
    "eventbridge_platform_event": ("eventbridge-platform-event.json", 1),
}

# Nothing of the worker's world: Salesforce and BigTime clients, DynamoDB, mapping, HTTP clients, the
# Powertools utilities ingest does not use, the local stack and the OpenAPI generator.
FORBIDDEN_PREFIXES = (
    "simple_salesforce",
    "requests",
    "yaml",
    "sf_bigtime.clients",
    "sf_bigtime.sync",
    "sf_bigtime.mapping",
    "sf_bigtime.reconcile",
    "sf_bigtime_ops",
    "sf_bigtime_local",
    "boto3.dynamodb",  # (boto3.resources is boto3's own, imported by boto3.session)
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.event_handler",
    "aws_xray_sdk",  # (aws_lambda_powertools.tracing itself is imported by the package, cheaply)
    "moto",
    "click",
)
# Loaded by the first request of the entry point that needs them, never at import.
PARSERS = {
    "json": "sf_bigtime.ingest.json_event",
    "outbound_message": "sf_bigtime.ingest.outbound_message",
    "eventbridge": "sf_bigtime.ingest.eventbridge",
}
ON_FIRST_REQUEST = (*PARSERS.values(), "pydantic", "defusedxml", "sf_bigtime.settings", "sf_bigtime.secrets")


def _probe(*samples: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT), *samples],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_ingest_imports_nothing_it_does_not_use() -> None:
    probe = _probe(*(sample for sample, _ in SAMPLES.values()))
    assert probe["served"] == [status for _, status in SAMPLES.values()]  # each kind really served
    assert _loaded(probe["after_import"], FORBIDDEN_PREFIXES) == []
    assert _loaded(probe["after_requests"], FORBIDDEN_PREFIXES) == []
    # the init (import) phase: boto3 and the SQS client, Powertools' logger and metrics, the handler
    for needed in (
        "boto3",
        "aws_lambda_powertools.logging",
        "sf_bigtime.ingest.handler",
        "sf_bigtime.queue.send",
    ):
        assert needed in probe["after_import"]
    assert _loaded(probe["after_import"], ON_FIRST_REQUEST) == []
    # and what the requests needed came with them
    for needed in (*PARSERS.values(), "pydantic", "defusedxml"):
        assert needed in probe["after_requests"]


@pytest.mark.parametrize("route", ["json", "outbound_message", "eventbridge_cdc"])
def test_each_entry_point_loads_only_its_own_parser(route: str) -> None:
    sample, status = SAMPLES[route]
    probe = _probe(sample)
    assert probe["served"] == [status]
    own = PARSERS["eventbridge" if route.startswith("eventbridge") else route]
    others = tuple(parser for parser in PARSERS.values() if parser != own)
    assert own in probe["after_requests"] and "pydantic" in probe["after_requests"]
    assert _loaded(probe["after_requests"], others) == []
    # defusedxml (and xml.sax) only for the SOAP entry point
    assert ("defusedxml" in probe["after_requests"]) == (route == "outbound_message")
