"""Secrets never reach logs, whatever the log level: the ingest function as Lambda loads it (its secrets read
from Secrets Manager, every hostile-corpus request and the valid ones) and the worker (successes and every
kind of failure, a BigTime and a Salesforce that echo credentials in their error messages included) run
with DEBUG everywhere (LOG_LEVEL, POWERTOOLS_LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL, the root logger) and
Powertools' POWERTOOLS_LOGGER_LOG_EVENT on; the log scan (tests/logscan.py) finds no credential in any log
record, reply or error message."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from sf_bigtime.ingest.auth import signature
from sf_bigtime_local.hostile import Secrets, api_gateway_event, load_corpus
from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
from sf_bigtime_local.template import REPO_ROOT
from tests.integration.conftest import (
    BT_PASSWORD,
    BT_TOKEN,
    ORG,
    SF_CONSUMER_SECRET,
    TABLE,
    World,
    sqs_record,
)
from tests.logscan import LogScan

DEBUG_EVERYWHERE = {
    "LOG_LEVEL": "DEBUG",
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
    "AWS_LAMBDA_LOG_LEVEL": "DEBUG",
    "POWERTOOLS_LOGGER_LOG_EVENT": "true",
}
OM = (REPO_ROOT / "events/outbound-message.xml").read_text()
# Libraries that log request and response bodies (a Secrets Manager reply holds the secret) at DEBUG.
LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "requests", "simple_salesforce")


@pytest.fixture
def debug_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DEBUG_EVERYWHERE.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def ingest(
    aws: None, debug_everywhere: None, log_scan: LogScan, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Callable[[dict[str, Any]], Any], Secrets]]:
    """functions/ingest/app.py loaded as Lambda loads it, its three secrets (known pattern) in Secrets
    Manager; yields (invoke, the secrets)."""
    parameters.clear_caches()
    # Loaded first, as Lambda does before any request; settings and secrets are read on the first request.
    _, handler = load_handler(REPO_ROOT / "functions/ingest/app.py", f"ingest_logscan_{uuid.uuid4().hex}")
    secrets = Secrets(log_scan.secret("apikey"), log_scan.secret("hmac"), log_scan.secret("token"), ORG)
    sm = boto3.client("secretsmanager")
    arns = {
        name: sm.create_secret(Name=f"ingest/{name}", SecretString=json.dumps({key: value}))["ARN"]
        for name, key, value in (
            ("webhook", "api_key", secrets.api_key),
            ("signing", "hmac_key", secrets.hmac_key),
            ("om", "token", secrets.token),
        )
    }
    queue = boto3.client("sqs").create_queue(QueueName="ingest.fifo", Attributes={"FifoQueue": "true"})
    for name, value in {
        "QUEUE_URL": queue["QueueUrl"],
        "WEBHOOK_SECRET_ARN": arns["webhook"],
        "SIGNING_SECRET_ARN": arns["signing"],
        "OUTBOUND_MESSAGE_SECRET_ARN": arns["om"],
        "SALESFORCE_ORG_IDS": ORG,
        "SALESFORCE_EVENT_BUS_NAME": f"aws.partner/salesforce.com/{ORG}/0YL5w0000000001",
    }.items():
        monkeypatch.setenv(name, value)
    context = LambdaContext(function_name="sf-bigtime-test-ingest", timeout_seconds=10)
    yield (lambda event: handler(event, context)), secrets
    parameters.clear_caches()


def _http(path: str, body: str, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": path}, "requestId": "r-1"},
        "body": body,
        "isBase64Encoded": False,
    }


def test_ingest_logs_no_secret_at_debug_with_log_event_on(
    ingest: tuple[Callable[[dict[str, Any]], Any], Secrets], log_scan: LogScan
) -> None:
    invoke, secrets = ingest
    now = int(time.time())
    body = json.dumps({"orgId": ORG, "opportunityId": "0065w000023abcd", "eventId": "e-1"})
    accepted = [
        invoke(_http("/salesforce/events", body, {"content-type": "application/json", "x-api-key": secrets.api_key})),
        invoke(_http("/salesforce/events", body, {
            "content-type": "application/json", "x-signature-timestamp": str(now),
            "x-signature": signature(secrets.hmac_key, str(now), body.encode()),
        })),
        invoke(_http("/salesforce/outbound-message", OM, {"content-type": "text/xml"}, f"token={secrets.token}")),
    ]  # fmt: skip
    assert [r["statusCode"] for r in accepted] == [202, 202, 200]
    for case in load_corpus():
        if case.request is not None:
            reply = invoke(api_gateway_event(case, secrets, now))
            assert 400 <= reply["statusCode"] < 500, case.name
            log_scan.scan(f"reply to {case.name}", reply)
    assert log_scan.records > 100, "the scan saw the function's logs"


def test_library_loggers_stay_above_debug_whatever_the_level(
    ingest: tuple[Callable[[dict[str, Any]], Any], Secrets],
) -> None:
    assert logging.root.level == logging.DEBUG  # the scan's worst case: everything on
    for name in (*LIBRARY_LOGGERS, "botocore.parsers", "botocore.endpoint", "urllib3.connectionpool"):
        assert logging.getLogger(name).getEffectiveLevel() > logging.DEBUG, name


# -- the worker ------------------------------------------------------------------------------------------
def test_worker_logs_no_secret_in_success_or_failure(
    world: World, debug_everywhere: None, log_scan: LogScan
) -> None:
    from aws_lambda_powertools import Logger

    log_scan.register(BT_TOKEN, BT_PASSWORD, SF_CONSUMER_SECRET)
    output = io.StringIO()
    # Powertools Loggers of one service share a logging.Logger: one name per test. Level: DEBUG (env).
    worker = world.worker(logger=Logger(service=f"sf-bigtime-worker-{uuid.uuid4().hex[:8]}", stream=output))
    worker.start()
    opportunities = []

    def run(opp: str) -> None:
        opportunities.append(opp)
        event = {"Records": [sqs_record(world.request(opp))]}
        worker.handle(event, LambdaContext("sf-bigtime-test-worker", 300))

    run(world.won_opportunity())  # a sync that works
    # BigTime refuses, echoes our token back in its error message, throttles.
    world.bt.faults.add(method="POST", path="/client/detail$", status=401)
    run(world.won_opportunity(world.account("Unauthorised")))
    world.bt.faults.add(
        method="POST",
        path="/project/detail$",
        status=400,
        body={"Message": f"bad token {BT_TOKEN} for realm"},
    )
    run(world.won_opportunity(world.account("Echo")))
    world.bt.faults.add(method="POST", path="/client/detail$", status=503, headers={"Retry-After": "1"})
    run(world.won_opportunity(world.account("Throttled")))
    # Salesforce refuses a query, echoing our client secret in its message.
    world.sf.faults.add(
        method="GET",
        path="/queryAll",
        status=400,
        body=[{"errorCode": "MALFORMED_QUERY", "message": f"client_secret={SF_CONSUMER_SECRET} rejected"}],
    )
    run(world.won_opportunity(world.account("Salesforce echo")))
    # What the worker wrote where people read it: its log output, the state table, the Opportunities.
    log_scan.scan("worker output", output.getvalue())
    items = boto3.resource("dynamodb").Table(TABLE).scan()["Items"]
    log_scan.scan("state table", items)
    log_scan.scan("write-backs", [world.sf.get("Opportunity", opp) for opp in opportunities])
    assert sum(1 for i in items if i.get("last_error")) >= 3, "the failures were recorded (and scanned)"
    assert log_scan.records > 20
