"""The operator commands against a "deployed" stack: a CloudFormation stack in moto whose outputs name moto's
queues and table and whose Salesforce secret points at the fake org. This is the --stack-name path (stack
discovery, the secret, the operator's boto3 session) that the end-to-end tests on the local stack do not
take. Also the scheduled reconcile's bounds and metrics, and what the worker and ingest emit as metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from click.testing import CliRunner

from sf_bigtime import observability as obs
from sf_bigtime.clients.store import StateStore
from sf_bigtime.ingest.handler import IngestDeps, handle_http
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.queue.send import enqueue
from sf_bigtime.reconcile.scheduled import Reconciler, run_scheduled
from sf_bigtime.settings import IngestSettings, ReconcileSettings, WorkerSettings
from sf_bigtime.sync.run import sync_opportunity
from sf_bigtime.sync.worker import Worker
from sf_bigtime_ops.cli import main
from tests.integration.conftest import ORG, TABLE, World
from tests.integration.ops.deployed import STACK, Deployed, lambda_context, run_reconcile_function


def test_backfill_on_a_deployed_stack_pages_skips_what_the_state_table_knows_and_is_safe_twice(
    deployed: Deployed,
) -> None:
    world = deployed.world
    world.sf.page_size = 5
    won = [world.opportunity(world.account(f"Client {i}"), name=f"Deal {i}") for i in range(12)]
    world.opportunity(world.account("Open"), name="Open deal", stage="Prospecting")
    world.opportunity(world.account("Done"), name="Done deal", BigTime_Project_Id__c="4242")
    store = StateStore(TABLE, table=boto3.resource("dynamodb").Table(TABLE))
    store.update("opp", ORG, won[0], project_id="5001")  # mapped; write-back still pending
    store.update("opp", ORG, won[1], claim_token="t", claimed_at=datetime.now(UTC).timestamp())

    plan = deployed.cli_json("backfill", "--dry-run")
    assert plan["stack"] == f"stack {STACK} (us-east-1)" and plan["org_id"] == ORG
    assert (plan["found"], plan["enqueued"], plan["skipped"]) == (12, 10, {"in_progress": 1, "mapped": 1})
    assert deployed.queued() == []

    first = deployed.cli_json("backfill")
    assert first["enqueued"] == 10
    again = deployed.cli_json("backfill")  # before the worker ran: same ids, SQS drops them
    assert [c["delivery_id"] for c in again["candidates"]] == [c["delivery_id"] for c in first["candidates"]]
    queued = deployed.queued()
    assert sorted(r.opportunity_id for r in queued) == sorted(won[2:])
    assert {r.source for r in queued} == {"backfill"} and all(
        r.delivery_id.startswith("sweep:") for r in queued
    )

    limited = deployed.cli_json("backfill", "--limit", "3", "--since", "2026-12-01")
    assert (limited["enqueued"], limited["deferred"]) == (3, 7)
    assert deployed.cli_json("backfill", "--since", "2027-01-01")["found"] == 0

    refused = deployed.cli("backfill", "--stage", "Prospecting", expect=2)
    assert "not a trigger stage" in refused.output


def test_status_on_a_deployed_stack(deployed: Deployed) -> None:
    world = deployed.world
    opp = world.won_opportunity()
    sync_opportunity(world.request(opp, "dlv-1"), world.context())

    status = deployed.cli_json("status", opp)
    assert (
        status["known"]
        and status["mapping"]["project_id"] == world.sf.get("Opportunity", opp)["BigTime_Project_Id__c"]
    )
    assert status["last_outcome"]["status"] == "Synced" and status["last_outcome"]["delivery_id"] == "dlv-1"
    assert status["attempts"] == 1 and status["api_calls_last_sync"] == {"salesforce": 2, "bigtime": 8}
    assert status["salesforce"]["sync_status"] == "Synced"
    human = deployed.cli("status", opp, "--no-salesforce").output
    assert "BigTime project" in human and "Synced" in human and "· stage" not in human

    never = world.opportunity(world.account("Never"), name="Never synced")
    unknown = deployed.cli_json("status", never, expect=1)
    assert unknown["known"] is False and "reconcile" in unknown["advice"]
    assert "not an Opportunity id" in deployed.cli("status", "001000000000001", expect=2).output


def test_redrive_on_a_deployed_stack(deployed: Deployed) -> None:
    sqs = boto3.client("sqs")
    request = SyncRequest(org_id=ORG, opportunity_id="0065w000023abcdAAA", source="json", delivery_id="d1")
    sqs.send_message(
        QueueUrl=deployed.dlq_url, MessageBody=request.model_dump_json(), MessageGroupId=request.group_id,
        MessageDeduplicationId="d1",
    )  # fmt: skip
    assert deployed.cli_json("redrive", "--dry-run")["before"] == 1
    moved = deployed.cli_json("redrive")
    assert (moved["moved"], moved["method"]) == (1, "receive-send")
    assert [r.delivery_id for r in deployed.queued()] == ["d1"]
    assert "nothing to move" in deployed.cli("redrive").output


def test_local_and_stack_name_are_exclusive(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    runner = CliRunner()
    both = runner.invoke(main, ["redrive", "--local", "--stack-name", STACK])
    assert both.exit_code == 2 and "exclude each other" in both.output
    monkeypatch.setenv("SF_BIGTIME_STACK_NAME", STACK)
    forced = runner.invoke(main, ["redrive", "--local", "--state-file", str(tmp_path / "none.json")])
    assert forced.exit_code == 1 and "sf-bigtime local up" in forced.output  # --local wins over the env
    assert runner.invoke(main, ["redrive", "--dry-run"]).exit_code == 0  # the env names the stack
    missing = runner.invoke(main, ["redrive", "--stack-name", "nope"])
    assert missing.exit_code == 1 and "cannot read stack 'nope'" in missing.output


# -- the scheduled reconcile ---------------------------------------------------------------------------
class RecordingMetrics:
    """Stands in for Powertools Metrics: records what the Emitter adds."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str, float]] = []

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added.append((name, unit, value))


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, message: str, extra: dict[str, Any]) -> None:
        self.lines.append((message, extra))

    warning = info


def reconciler(world: World, queue_url: str, clock: datetime, **settings: Any) -> Reconciler:
    ctx = world.context()
    return Reconciler(
        settings=ReconcileSettings(
            table_name=TABLE, queue_url=queue_url, salesforce_secret_arn="arn", **settings
        ),
        salesforce=ctx.salesforce,
        store=ctx.store,
        enqueue=lambda requests: enqueue(queue_url, requests),
        mappings=MappingSource(),
        clock=lambda: clock,
    )


def test_reconcile_leaves_recent_changes_alone_and_bounds_each_run(deployed: Deployed) -> None:
    world = deployed.world
    missed = [world.opportunity(world.account(f"Missed {i}"), name=f"Missed {i}") for i in range(3)]
    now = datetime.now(UTC)

    assert reconciler(world, deployed.queue_url, now).run().found == 0  # within the 10-minute grace
    later = now + timedelta(minutes=11)
    metrics, log = RecordingMetrics(), RecordingLog()
    summary = run_scheduled(
        reconciler(world, deployed.queue_url, later, max_per_run=2), obs.Emitter(obs.RECONCILE, metrics), log
    )
    assert (summary["found"], summary["enqueued"], summary["deferred"]) == (3, 2, 1)
    counted = {name: value for name, _, value in metrics.added}
    assert counted[obs.RECONCILE_MISSED] == 2 and counted[obs.RECONCILE_DEFERRED] == 1
    # Nothing else: the pull reports the org's allowance, and the run's duration times its calls.
    assert set(counted) == {obs.RECONCILE_MISSED, obs.RECONCILE_DEFERRED}
    logged = [extra for message, extra in log.lines if message.startswith("missed event")]
    assert [e["opportunity_id"] for e in logged] == missed[:2] and all(e["delivery_id"] for e in logged)
    queued = deployed.queued()
    assert [r.opportunity_id for r in queued] == missed[:2] and {r.source for r in queued} == {"reconcile"}

    # The window: three days back by default; a shorter one misses them.
    much_later = now + timedelta(hours=5)
    assert reconciler(world, deployed.queue_url, much_later, lookback_hours=4).run(dry_run=True).found == 0


# -- metrics as the functions print them (EMF) ---------------------------------------------------------
def emitted(metrics: Metrics, printed: str) -> dict[str, set[frozenset[str]]]:
    """Metric name -> the dimension sets it was emitted with, from the aggregate and single-metric EMF."""
    documents = [metrics.serialize_metric_set()] if metrics.metric_set else []
    documents += [json.loads(line) for line in printed.splitlines() if line.startswith('{"_aws"')]
    found: dict[str, set[frozenset[str]]] = {}
    for doc in documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == obs.NAMESPACE
            for metric in directive["Metrics"]:
                for dims in directive["Dimensions"]:
                    found.setdefault(metric["Name"], set()).add(frozenset(dims))
    return found


def sqs_event(*requests: SyncRequest) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": r.model_dump_json(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1",
                    "SenderId": "s",
                    "ApproximateFirstReceiveTimestamp": "1",
                    "MessageGroupId": r.group_id,
                    "MessageDeduplicationId": r.deduplication_id,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
                "awsRegion": "us-east-1",
            }
            for i, r in enumerate(requests)
        ]
    }


def test_worker_emits_only_declared_metrics_with_their_dimensions(
    world: World, emf: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, no_account = world.won_opportunity(), world.opportunity(None, name="No account")
    throttled = world.won_opportunity(account_id=world.account("Throttled Co"))
    world.bt.faults.add(method="POST", path="/client/detail", status=503, times=1)
    worker = Worker(
        WorkerSettings(table_name=TABLE, queue_url="q", salesforce_secret_arn="a", bigtime_secret_arn="b"),
        context_factory=lambda _settings, _mapping: world.context(),
        metrics=emf,
    )
    # Throttled first (the fault hits the first client creation), each in its own group.
    result = worker.handle(
        sqs_event(world.request(throttled), world.request(ok), world.request(no_account)), lambda_context()
    )
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["m0"]

    found = emitted(emf, capsys.readouterr().out)
    for name, dimension_sets in found.items():
        spec = obs.METRICS.get(name)
        if name == "ColdStart":  # Powertools' own, not ours; the dashboard does not use it
            continue
        assert spec is not None, f"undeclared metric {name}"
        assert dimension_sets == {frozenset({"service", *spec.dimensions})}, name
    for name in (
        obs.SYNC_SUCCEEDED,
        obs.SYNC_FAILED,
        obs.SYNC_RETRIED,
        obs.SYNC_ERRORS,
        obs.PROJECTS_CREATED,
        obs.END_TO_END_LATENCY,
        obs.BIGTIME_LATENCY,
        obs.SALESFORCE_LATENCY,
        obs.BIGTIME_THROTTLED,
        obs.SALESFORCE_API_REMAINING,
    ):
        assert name in found, name


def test_worker_counts_failures_by_kind_and_code(
    world: World, emf: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    no_account = world.opportunity(None, name="No account")
    worker = Worker(
        WorkerSettings(table_name=TABLE, queue_url="q", salesforce_secret_arn="a", bigtime_secret_arn="b"),
        context_factory=lambda _settings, _mapping: world.context(),
        metrics=emf,
    )
    worker.handle(sqs_event(world.request(no_account)), lambda_context())
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"SyncErrors"' in line]
    assert [(e["Kind"], e["service"]) for e in errors] == [("permanent", obs.WORKER)]
    assert errors[0]["Code"] != "permanent", "the permanent error's own code is kept"


def test_ingest_counts_events_by_source_and_rejections_by_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    emitter = obs.Emitter(obs.INGEST, Metrics(namespace=obs.NAMESPACE, service=obs.INGEST))
    deps = IngestDeps(
        settings=IngestSettings(queue_url="q", webhook_secret_arn="arn", allowed_org_ids=(ORG,)),
        api_key=lambda: "k" * 20,
        enqueue=lambda requests: ["m"] * len(requests),
        count=emitter.emit,  # as functions/ingest/app.py wires it
    )

    def post(key: str) -> int:
        body = {"orgId": ORG, "opportunityId": "0065w000023abcd", "eventId": f"e-{key[:2]}"}
        event = {
            "rawPath": "/salesforce/events",
            "requestContext": {"http": {"method": "POST", "path": "/salesforce/events"}},
            "headers": {"content-type": "application/json", "x-api-key": key},
            "body": json.dumps(body),
        }
        return handle_http(event, deps)["statusCode"]

    assert post("k" * 20) == 202 and post("wrong-key-wrong-key") == 401
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    seen = {
        (d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], d["Source"], d.get("Reason")) for d in docs
    }
    assert seen == {("EventsAccepted", "json", None), ("EventsRejected", "json", "unauthorized")}
    assert all(d["service"] == obs.INGEST for d in docs)


def test_the_reconcile_function_handles_its_schedule_event(
    deployed: Deployed, reconcile_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """functions/reconcile/app.py as Lambda runs it: settings from the environment, the secret through
    Powertools Parameters, the sample schedule event from events/."""
    world = deployed.world
    missed = world.opportunity(world.account("Scheduled"), name="Scheduled deal")
    monkeypatch.setenv("TRIGGER_STAGES", "Closed Won")
    summary = run_reconcile_function()
    assert (summary["found"], summary["enqueued"]) == (1, 1)
    assert [r.opportunity_id for r in deployed.queued()] == [missed]
