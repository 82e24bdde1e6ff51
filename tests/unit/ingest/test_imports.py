"""The ingest function imports only what it uses: checked on the module graph, deterministically, in a fresh
interpreter that loads functions/ingest/app.py the way Lambda does and then serves one request of each kind.
(Import *time* is measured by `make bench-ingest`, not asserted here: timings are not deterministic.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
statuses = [
    handle(json.loads((events / "apigw-json-event.json").read_text()), deps)["statusCode"],
    handle(json.loads((events / "apigw-outbound-message.json").read_text()), deps)["statusCode"],
    handle(json.loads((events / "eventbridge-cdc-update.json").read_text()), deps)["accepted"],
    handle(json.loads((events / "eventbridge-platform-event.json").read_text()), deps)["accepted"],
]
print(json.dumps({"after_import": after_import, "after_requests": sorted(sys.modules), "statuses": statuses}))
"""

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


def _probe() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _offenders(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in FORBIDDEN_PREFIXES)]


def test_ingest_imports_nothing_it_does_not_use() -> None:
    probe = _probe()
    assert probe["statuses"] == [202, 200, 1, 1]  # the probe really served each kind of request
    assert _offenders(probe["after_import"]) == []
    assert _offenders(probe["after_requests"]) == []
    # and what it does use is there: the SQS client is created at import (Lambda's init phase)
    for needed in ("boto3", "defusedxml", "pydantic", "sf_bigtime.ingest.outbound_message"):
        assert needed in probe["after_import"]
