"""What the stack costs: dollars per million events and per idle month, from what the other benchmarks
measured in this run (their files in benchmarks/results/), the template, and AWS's list prices.

Measured (this run): CPU per invocation of each function, invocations per event, AWS requests per event
by service and operation, Salesforce and BigTime calls per sync, bytes logged, the custom metrics the
functions emit, a reconcile run, and each handler's cold import. From template.yaml: memory, architecture,
alarms, dashboards, the secrets, the reconcile schedule. Assumed (stated below, change them here): how
much slower a CPU-bound step runs at the template's memory size, the round-trip latency of each remote
call, the EMF document size, and the share of invocations that are cold starts.

Billed duration = CPU time x CPU_SCALE + remote calls x their latency: the handlers wait on the network
for most of a sync, and Lambda bills the wait. Two shapes are priced: lone events (each Opportunity its
own worker batch: a firm's usual traffic) and bursts (batches of up to 10).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, at_most

NAME = "cost"
RESULTS = Path(__file__).resolve().parent / "results"

# AWS list prices, us-east-1, arm64, first pricing tier, without the Free Tier. As published on
# aws.amazon.com/lambda/pricing, /api-gateway/pricing, /sqs/pricing, /dynamodb/pricing (on-demand, since
# the November 2024 reduction), /secrets-manager/pricing and /cloudwatch/pricing; recorded here 2026-12
# and not fetched at run time: check the pages before quoting a figure.
PRICES_AS_OF = "2026-12"
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "http_api_request": 1.00 / 1e6,  # per 512 KB
    "sqs_fifo_request": 0.50 / 1e6,  # per 64 KB chunk
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per item write of up to 1 KB
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand, per strongly consistent read of up to 4 KB
    "secret_month": 0.40,
    "secrets_api_call": 0.05 / 10_000,
    "custom_metric_month": 0.30,  # prorated by the hour: a metric emitted every hour costs the full month
    "alarm_metric_month": 0.10,  # standard resolution, per metric an alarm evaluates
    "dashboard_month": 3.00,
    "log_ingestion_gb": 0.50,
}
# Always free, per account, shared with whatever else the account runs.
FREE_TIER = {"custom_metrics": 10, "alarm_metrics": 10, "dashboards": 3}

# Assumptions (not measured here).
# Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB: at 512 MB a CPU-bound
# step takes 1769/512 = 3.5 times as long as on one core (taking a Graviton core as fast as this one).
VCPU_MB = 1769
# Round trips in ms: AWS APIs from Lambda in the same region; Salesforce and BigTime over the internet.
LATENCY_MS = {"sqs": 15, "dynamodb": 8, "secretsmanager": 25, "salesforce": 150, "bigtime": 200}
EMF_BYTES_PER_INVOCATION = 1_000  # one EMF document per invocation (metrics are not printed locally)
COLD_START_SHARE = 0.01  # of invocations, at a million events a month (0.4 per second)
SECRET_REFRESH_SECONDS = 300  # Powertools' cache: each warm instance re-reads its secrets this often
MONTH_SECONDS = 30 * 24 * 3600
FIRM_SECRETS = ("SalesforceSecretArn", "BigTimeSecretArn")  # created by the firm for this stack
WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def _result(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make bench` (the cost prices what {name} measures)")
    return json.loads(path.read_text())


def _figure(result: dict[str, Any], name: str) -> dict[str, Any]:
    for figure in result["figures"]:
        if figure["name"] == name or figure["name"].startswith(name):
            return dict(figure)
    raise RuntimeError(f"{result['name']} has no figure {name!r}")


def _template() -> dict[str, Any]:
    from sf_bigtime_local.template import Template

    t = Template()
    memory = {
        fn: int(t.resolve(t.props(fn).get("MemorySize", t.data["Globals"]["Function"]["MemorySize"])))
        for fn in ("IngestFunction", "WorkerFunction", "ReconcileFunction")
    }
    assert t.data["Globals"]["Function"]["Architectures"] == ["arm64"], "prices are arm64's"
    alarm_metrics = 0
    for resource in t.of_type("AWS::CloudWatch::Alarm").values():
        queries = resource["Properties"].get("Metrics")
        alarm_metrics += sum(1 for q in queries if "MetricStat" in q) if queries else 1
    schedule = str(t.resolve(t.parameter_default("ReconcileSchedule")))
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", schedule)
    if not match:
        raise RuntimeError(f"cannot price the reconcile schedule {schedule!r}")
    every = int(match[1]) * (60 if match[2].startswith("minute") else 3600)
    return {
        "memory_mb": memory,
        "alarm_metrics": alarm_metrics,
        "alarms": len(t.of_type("AWS::CloudWatch::Alarm")),
        "dashboards": len(t.of_type("AWS::CloudWatch::Dashboard")),
        "secrets": len(t.of_type("AWS::SecretsManager::Secret")) + len(FIRM_SECRETS),
        "reconcile_runs_per_month": MONTH_SECONDS // every,
        "reconcile_schedule": schedule,
    }


def _gb_seconds(memory_mb: int, cpu_ms: float, remote_ms: float) -> float:
    billed_ms = math.ceil(cpu_ms * VCPU_MB / memory_mb + remote_ms)  # Lambda bills by the millisecond
    return memory_mb / 1024 * billed_ms / 1000


def _remote_ms(aws: dict[str, float], salesforce: float = 0.0, bigtime: float = 0.0) -> float:
    ms = sum(count * LATENCY_MS[key.split(":")[0]] for key, count in aws.items())
    return ms + salesforce * LATENCY_MS["salesforce"] + bigtime * LATENCY_MS["bigtime"]


def per_event(usage: dict[str, Any], cold: dict[str, float], tpl: dict[str, Any]) -> dict[str, float]:
    """Dollars per event (line by line) for one shape measured by sync-latency."""
    mem = tpl["memory_mb"]
    inv = usage["invocations"]
    cpu = usage["cpu_ms"]
    aws = usage["aws_requests"]
    ingest_aws, worker_aws = aws.get("ingest", {}), aws.get("worker", {})
    lines: dict[str, float] = {}
    lines["API Gateway HTTP API"] = inv["ingest"] * PRICES["http_api_request"]
    per_invocation = {
        "ingest": (cpu["ingest"] / inv["ingest"], _remote_ms(ingest_aws) / inv["ingest"], "IngestFunction"),
        "worker": (
            cpu["worker"] / inv["worker"],
            _remote_ms(worker_aws, usage["salesforce_calls"], usage["bigtime_calls"]) / inv["worker"],
            "WorkerFunction",
        ),
    }
    for fn, (cpu_ms, remote_ms, resource) in per_invocation.items():
        gb_s = _gb_seconds(mem[resource], cpu_ms, remote_ms)
        # A cold start adds the handler's import (measured) to the billed duration (Lambda bills init).
        gb_s += COLD_START_SHARE * _gb_seconds(mem[resource], cold[fn], 0)
        lines[f"Lambda {fn}"] = inv[fn] * (PRICES["lambda_request"] + gb_s * PRICES["lambda_gb_second_arm64"])
    # SQS: ingest's sends, and per worker batch the event source's receive and delete.
    sends = sum(v for k, v in ingest_aws.items() if k.startswith("sqs:"))
    lines["SQS FIFO"] = (sends + 2 * inv["worker"]) * PRICES["sqs_fifo_request"]
    writes = sum(v for k, v in worker_aws.items() if k.startswith("dynamodb:") and k.endswith(WRITES))
    reads = sum(v for k, v in worker_aws.items() if k.startswith("dynamodb:") and not k.endswith(WRITES))
    lines["DynamoDB"] = writes * PRICES["dynamodb_write_unit"] + reads * PRICES["dynamodb_read_unit"]
    log_bytes = sum(usage["log_bytes"].get(fn, 0) for fn in ("ingest", "worker"))
    log_bytes += (inv["ingest"] + inv["worker"]) * EMF_BYTES_PER_INVOCATION
    lines["CloudWatch Logs"] = log_bytes / 1e9 * PRICES["log_ingestion_gb"]
    return lines


def run(quick: bool) -> list[Figure]:
    tpl = _template()
    cold_result, sync_result = _result("cold-import"), _result("sync-latency")
    cold = {
        fn: _figure(cold_result, f"{fn}, bytecode")["detail"]["import_ms_median"]
        for fn in ("ingest", "worker", "reconcile")
    }
    lone = _figure(sync_result, "lone event")["detail"]["usage_per_opportunity"]
    burst = _figure(sync_result, "burst of")["detail"]["usage_per_opportunity"]
    metrics = _figure(sync_result, "custom metrics emitted")["detail"]["metrics"]
    reconcile = _figure(sync_result, "reconcile run")["detail"]

    # Secrets while traffic flows: one warm instance of ingest and of the worker re-reading theirs.
    busy_secret_calls = (1 + 2) * MONTH_SECONDS / SECRET_REFRESH_SECONDS
    figures: list[Figure] = []
    for shape, usage, target in (("lone events", lone, 10.0), ("bursts", burst, None)):
        lines = {k: v * 1e6 for k, v in per_event(usage, cold, tpl).items()}
        lines["Secrets Manager API"] = busy_secret_calls * PRICES["secrets_api_call"]
        total = round(sum(lines.values()), 2)
        detail = {"lines_usd": {k: round(v, 3) for k, v in lines.items()}, "prices_as_of": PRICES_AS_OF}
        name = f"per million events ({shape})"
        if target is not None:
            figures.append(at_most("cost", name, total, "USD", target, **detail))
        else:
            figures.append(Figure("cost", name, total, "USD", detail=detail))

    # The idle month: no events; the schedule, the pollers, and what exists whether used or not.
    runs = tpl["reconcile_runs_per_month"]
    mem = tpl["memory_mb"]["ReconcileFunction"]
    # Every run is priced as a cold start (15 minutes apart, instances rarely survive): import, the
    # Salesforce secret, then the measured cold run (login and the sweep's query).
    cold_run = reconcile["cold"]
    run_gb_s = _gb_seconds(mem, cold["reconcile"] + cold_run["cpu_ms"]["reconcile"], 0) + _gb_seconds(
        mem, 0, _remote_ms({"secretsmanager:GetSecretValue": 1}, cold_run["salesforce_calls"])
    )
    reconcile_metrics = sorted({m.split(" ")[1] for m in metrics if m.startswith("sf-bigtime-reconcile ")})
    log_bytes = cold_run["log_bytes"]["reconcile"] + EMF_BYTES_PER_INVOCATION
    # Lambda's SQS pollers long-poll an empty queue: AWS does not publish how many; 5 pollers, 20 s polls.
    idle_receives = 5 * MONTH_SECONDS / 20
    idle = {
        "secrets": tpl["secrets"] * PRICES["secret_month"],
        "alarms": tpl["alarm_metrics"] * PRICES["alarm_metric_month"],
        "dashboard": tpl["dashboards"] * PRICES["dashboard_month"],
        "reconcile custom metrics": len(reconcile_metrics) * PRICES["custom_metric_month"],
        "reconcile Lambda": runs * (PRICES["lambda_request"] + run_gb_s * PRICES["lambda_gb_second_arm64"]),
        "reconcile secret reads": runs * PRICES["secrets_api_call"],
        "reconcile logs": runs * log_bytes / 1e9 * PRICES["log_ingestion_gb"],
        "SQS event source polling": idle_receives * PRICES["sqs_fifo_request"],
    }
    free = dict(idle)
    free["alarms"] = max(0, tpl["alarm_metrics"] - FREE_TIER["alarm_metrics"]) * PRICES["alarm_metric_month"]
    free["dashboard"] = max(0, tpl["dashboards"] - FREE_TIER["dashboards"]) * PRICES["dashboard_month"]
    free["reconcile custom metrics"] = (
        max(0, len(reconcile_metrics) - FREE_TIER["custom_metrics"]) * PRICES["custom_metric_month"]
    )
    common = {"template": tpl, "reconcile_metrics": reconcile_metrics, "prices_as_of": PRICES_AS_OF}
    figures.append(
        at_most(
            "cost",
            "per idle month (list prices)",
            round(sum(idle.values()), 2),
            "USD",
            3.0,
            lines_usd={k: round(v, 3) for k, v in idle.items()},
            **common,
        )
    )
    figures.append(
        at_most(
            "cost",
            "per idle month (within the always-free CloudWatch tier)",
            round(sum(free.values()), 2),
            "USD",
            3.0,
            lines_usd={k: round(v, 3) for k, v in free.items()},
            free_tier=FREE_TIER,
        )
    )
    busy_metrics = len(metrics)
    figures.append(
        Figure(
            "cost",
            "custom metrics while traffic flows (per month)",
            round(busy_metrics * PRICES["custom_metric_month"], 2),
            "USD",
            detail={
                "metrics": busy_metrics,
                "note": "each metric emitted at least once an hour costs a full month",
            },
        )
    )
    return figures
