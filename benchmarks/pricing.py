"""AWS's list prices (dated), the assumptions of the cost model, what the bill depends on in template.yaml,
and the arithmetic of each line item: the parts of ``benchmarks.cost`` that do not read results."""

from __future__ import annotations

import json
import math
import re
from typing import Any

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
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, per 1 KB of the larger of the item before and after
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand, per strongly consistent read of up to 4 KB
    "secret_month": 0.40,
    "secrets_api_call": 0.05 / 10_000,
    "custom_metric_month": 0.30,  # prorated by the hour: a metric emitted every hour costs the full month
    "alarm_metric_month": 0.10,  # standard resolution, per metric an alarm evaluates
    "dashboard_month": 3.00,
    "log_ingestion_gb": 0.50,
    "log_storage_gb_month": 0.03,  # on compressed data: the uncompressed bytes priced here are an upper bound
}
# Always free, per account, shared with whatever else the account runs (CloudWatch's only).
FREE_TIER = {"custom_metrics": 10, "alarm_metrics": 10, "dashboards": 3, "metrics_per_dashboard": 50}

# Assumptions (not measured here).
# Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB (taking a Graviton core
# as fast as this machine's): cold-import measures the worker's and the pull's import at 512, 256 and
# 128 MB's share and finds it in proportion.
VCPU_MB = 1769
# Round trips in ms: AWS APIs from Lambda in the same region; Salesforce and BigTime over the internet.
LATENCY_MS = {"sqs": 15, "dynamodb": 8, "secretsmanager": 25, "salesforce": 150, "bigtime": 200}
COLD_START_SHARE = 0.01  # of the worker's and ingest's invocations, at a million events a month
# The scheduled functions run 15 minutes apart; AWS does not say how long an idle environment lives, so
# every run is priced as a cold start (import, secrets, Salesforce login): an upper bound.
SCHEDULED_COLD_SHARE = 1.0
SECRET_REFRESH_SECONDS = 300  # Powertools' cache: each warm instance re-reads its secrets this often
# Lambda's SQS pollers long-poll (20 s) an idle queue; it keeps five, and the optimisation down to two is
# not available with a maximum concurrency (AWS Lambda's "scaling behavior for SQS event source mappings").
IDLE_POLLERS, POLL_SECONDS = 5, 20
CLOUDWATCH_LOGS_EVENT_OVERHEAD = 26  # bytes per log event (CloudWatch Logs quotas)
MONTH_SECONDS = 30 * 24 * 3600
FIRM_SECRETS = ("SalesforceSecretArn", "BigTimeSecretArn")  # created by the firm for this stack
FUNCTIONS = {
    "ingest": "IngestFunction",
    "worker": "WorkerFunction",
    "reconcile": "ReconcileFunction",
    "pull": "PullFunction",
}


def every(schedule: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", schedule)
    if not match:
        raise RuntimeError(f"cannot price the schedule {schedule!r}")
    return int(match[1]) * (60 if match[2].startswith("minute") else 3600)


def template() -> dict[str, Any]:
    """What the bill depends on in template.yaml, as it deploys with its parameters' defaults."""
    from sf_bigtime.clients.ratepolicy import SHARES, Policy
    from sf_bigtime_local.template import Template

    t = Template()
    deployed = t.render()
    resources = deployed["Resources"]
    default_memory = deployed["Globals"]["Function"]["MemorySize"]
    memory = {
        fn: int(resources[fn]["Properties"].get("MemorySize", default_memory)) for fn in FUNCTIONS.values()
    }
    assert deployed["Globals"]["Function"]["Architectures"] == ["arm64"], "prices are arm64's"
    alarms = {n: r for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    alarm_metrics = 0
    for resource in alarms.values():
        queries = resource["Properties"].get("Metrics")
        alarm_metrics += sum(1 for q in queries if "MetricStat" in q) if queries else 1
    dashboards = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    rate = float(t.parameter_default("BigTimeCallsPerMinute"))
    policy = Policy.for_rate(rate, int(t.parameter_default("BigTimeBurst")))
    interval_ms = policy.interval(1.0) / 1000  # microseconds -> ms
    return {
        "memory_mb": memory,
        "alarm_metrics": alarm_metrics,
        "alarms": len(alarms),
        "dashboards": len(dashboards),
        "dashboard_metrics": [dashboard_metrics(d["Properties"]["DashboardBody"]) for d in dashboards],
        "secrets": sum(1 for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret")
        + len(FIRM_SECRETS),
        "secrets_read": {
            fn: sum(1 for k in t.function_env(fn) if k.endswith("_SECRET_ARN")) for fn in FUNCTIONS.values()
        },
        "reconcile_runs_per_month": MONTH_SECONDS // every(str(t.parameter_default("ReconcileSchedule"))),
        "pull_runs_per_month": MONTH_SECONDS // every(str(t.parameter_default("PullSchedule"))),
        "bigtime_calls_per_minute": rate,
        "budget_burst": policy.burst,
        "budget_interval_ms": round(interval_ms, 1),
        "pull_interval_ms": round(interval_ms / SHARES["pull"], 1),
        "worker_max_concurrency": int(t.parameter_default("WorkerMaxConcurrency")),
        "log_retention_months": int(t.parameter_default("LogRetentionDays")) / 30,
        "access_log_bytes": access_log_bytes(
            resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        ),
    }


def dashboard_metrics(body: Any) -> int:
    """Metrics a dashboard draws: its metric rows (a SEARCH expression counted as one)."""
    text = body.value if hasattr(body, "value") else str(body)
    widgets = json.loads(re.sub(r"\$\{([A-Za-z0-9:.]+)\}", r"<\1>", text))["widgets"]
    return sum(len(w.get("properties", {}).get("metrics", [])) for w in widgets)


def access_log_bytes(fmt: str) -> int:
    """One line of the HTTP API's access log: its format with each $context variable replaced by a value
    of typical length (ids, a timestamp, a route, an address, a user agent)."""
    typical = {
        "requestId": "a1b2c3d4e5f6g7h=",
        "requestTime": "02/Dec/2026:18:12:07 +0000",
        "httpMethod": "POST",
        "routeKey": "POST /salesforce/events",
        "status": "202",
        "responseLatency": "45",
        "integrationLatency": "41",
        "integrationStatus": "200",
        "integrationErrorMessage": "-",
        "responseLength": "60",
        "protocol": "HTTP/1.1",
        "identity.sourceIp": "13.108.238.1",
        "identity.userAgent": "SFDC-Callout/66.0",
    }
    line = re.sub(r"\$context\.([A-Za-z.]+)", lambda m: typical.get(m[1], "-"), fmt)
    return len(line.encode()) + 1


# -- Lambda ------------------------------------------------------------------------------------------
def remote_ms(aws: dict[str, float], salesforce: float = 0.0, bigtime: float = 0.0) -> float:
    ms = sum(count * LATENCY_MS[key.split(":")[0]] for key, count in aws.items())
    return ms + salesforce * LATENCY_MS["salesforce"] + bigtime * LATENCY_MS["bigtime"]


def duration(memory_mb: int, invocations: float, billed_ms: float) -> float:
    """What ``invocations`` of ``billed_ms`` each cost in GB-seconds (Lambda bills by the millisecond)."""
    return invocations * memory_mb / 1024 * math.ceil(billed_ms) / 1000 * PRICES["lambda_gb_second_arm64"]


def lambda_cost(memory_mb: int, invocations: float, billed_ms: float) -> float:
    return invocations * PRICES["lambda_request"] + duration(memory_mb, invocations, billed_ms)


def scaled(cpu_ms: float, memory_mb: int) -> float:
    return cpu_ms * VCPU_MB / min(memory_mb, VCPU_MB)


def spaced_ms(calls: float, interval_ms: float, burst: int = 1) -> float:
    """The least time ``calls`` BigTime calls take when the budget spaces them ``interval_ms`` apart and
    lets ``burst`` go at once (an idle budget): the last one starts (calls - burst) intervals in."""
    return max(0.0, calls - burst) * interval_ms


def logs(usage: dict[str, Any], functions: tuple[str, ...], retention_months: float) -> float:
    lines = usage.get("log_lines", {})
    docs = usage.get("emf_documents", {})
    data = sum(
        usage.get("log_bytes", {}).get(fn, 0)
        + usage.get("emf_bytes", {}).get(fn, 0)
        + CLOUDWATCH_LOGS_EVENT_OVERHEAD * (lines.get(fn, 0) + docs.get(fn, 0))
        for fn in functions
    )
    return data / 1e9 * (PRICES["log_ingestion_gb"] + retention_months * PRICES["log_storage_gb_month"])


def dynamodb(usage: dict[str, Any], function: str) -> float:
    units = usage.get("dynamodb_request_units", {}).get(function, {})
    return (
        units.get("write", 0) * PRICES["dynamodb_write_unit"]
        + units.get("read", 0) * PRICES["dynamodb_read_unit"]
    )
