"""What the stack costs: dollars per million events and per idle month, from what the other benchmarks
measured in this run (their files in benchmarks/results/), the template as it deploys with its defaults,
and AWS's list prices. The line items and the assumptions are explained in docs/decisions.md#what-the-bill-is-made-of.

Measured (this run): CPU per invocation of each function; invocations per event; DynamoDB request units
(from the items' sizes) and every other AWS request; Salesforce and BigTime calls per sync and per pull
run; bytes and lines logged and the EMF documents of the metrics; the custom metrics each phase emits;
each handler's cold import. From template.yaml (rendered with its defaults): memory sizes, architecture,
alarms, dashboards, secrets, the reconcile and pull schedules, the BigTime rate budget, the worker's
concurrency, log retention. Assumed (stated in benchmarks/pricing.py, change them there): the round-trip latency of each
remote call, that a CPU-bound step runs in proportion to the memory's CPU share (cold-import measures
this), the share of cold starts, how many pollers Lambda keeps on an idle queue.

Billed duration = CPU time x (1,769 MB / memory) + remote calls x their latency, and never less than the
BigTime rate budget lets the calls be spaced: Lambda bills the waiting. Shapes priced per event: a new
project with the demo's line items (the target's), a new project without line items, a repeat event
(nothing changed), and bursts (every sync waiting for the firm's budget).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, at_most
from benchmarks.pricing import (
    CLOUDWATCH_LOGS_EVENT_OVERHEAD,
    COLD_START_SHARE,
    FREE_TIER,
    FUNCTIONS,
    IDLE_POLLERS,
    LATENCY_MS,
    MONTH_SECONDS,
    POLL_SECONDS,
    PRICES,
    PRICES_AS_OF,
    SCHEDULED_COLD_SHARE,
    SECRET_REFRESH_SECONDS,
    VCPU_MB,
    duration,
    dynamodb,
    lambda_cost,
    logs,
    remote_ms,
    scaled,
    spaced_ms,
    template,
)

__all__ = [
    "CLOUDWATCH_LOGS_EVENT_OVERHEAD",
    "FREE_TIER",
    "LATENCY_MS",
    "PRICES",
    "VCPU_MB",
    "idle_month",
    "per_event",
    "pull_projects",
    "run",
    "scheduled_run",
    "spaced_ms",
    "template",
]

NAME = "cost"
RESULTS = Path(__file__).resolve().parent / "results"


def _result(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make bench` (the cost prices what {name} measures)")
    return dict(json.loads(path.read_text()))


def _figure(result: dict[str, Any], name: str) -> dict[str, Any]:
    for figure in result["figures"]:
        if figure["name"] == name or figure["name"].startswith(name):
            return dict(figure)
    raise RuntimeError(f"{result['name']} has no figure {name!r}")


def per_event(
    usage: dict[str, Any], cold: dict[str, float], tpl: dict[str, Any], *, burst: bool = False
) -> dict[str, float]:
    """Dollars per event (line by line) for one shape measured by sync-latency. ``burst``: every BigTime
    call waits for its slot while the other worker instances use theirs (a backlog)."""
    mem = tpl["memory_mb"]
    inv = usage["invocations"]
    aws = usage["aws_requests"]
    ingest_aws, worker_aws = aws.get("ingest", {}), aws.get("worker", {})
    lines: dict[str, float] = {"API Gateway HTTP API": inv.get("ingest", 0) * PRICES["http_api_request"]}
    # Ingest: its CPU and the SQS send, per invocation; the worker's per event, then never less than
    # the BigTime rate budget lets its calls be spaced.
    ingest_ms = scaled(usage["cpu_ms"]["ingest"], mem["IngestFunction"]) + remote_ms(ingest_aws)
    ingest_ms /= inv["ingest"]
    ingest_ms += COLD_START_SHARE * scaled(cold["ingest"], mem["IngestFunction"])
    lines["Lambda ingest"] = lambda_cost(mem["IngestFunction"], inv["ingest"], ingest_ms)
    bigtime = usage["bigtime_calls"]
    busy = scaled(usage["cpu_ms"].get("worker", 0), mem["WorkerFunction"])
    busy += remote_ms(worker_aws, usage["salesforce_calls"], bigtime)
    if burst:
        spaced = bigtime * tpl["budget_interval_ms"] * tpl["worker_max_concurrency"]
    else:
        spaced = spaced_ms(bigtime, tpl["budget_interval_ms"], tpl["budget_burst"])
    worker_inv = inv.get("worker", 0)
    busy_ms = busy / worker_inv + COLD_START_SHARE * scaled(cold["worker"], mem["WorkerFunction"])
    lines["Lambda worker"] = lambda_cost(mem["WorkerFunction"], worker_inv, busy_ms)
    wait_ms = max(0.0, spaced - busy) / worker_inv
    lines["Lambda worker: waiting for the BigTime budget"] = duration(
        mem["WorkerFunction"], worker_inv, wait_ms
    )
    # SQS: ingest's sends, and per worker batch the event source's receive and delete.
    sends = sum(v for k, v in ingest_aws.items() if k.startswith("sqs:"))
    lines["SQS FIFO"] = (sends + 2 * worker_inv) * PRICES["sqs_fifo_request"]
    lines["DynamoDB"] = dynamodb(usage, "worker")
    lines["CloudWatch Logs"] = logs(usage, ("ingest", "worker"), tpl["log_retention_months"])
    lines["CloudWatch Logs: API access log"] = (
        inv.get("ingest", 0) * (tpl["access_log_bytes"] + CLOUDWATCH_LOGS_EVENT_OVERHEAD) / 1e9
    ) * (PRICES["log_ingestion_gb"] + tpl["log_retention_months"] * PRICES["log_storage_gb_month"])
    return lines


# -- the scheduled functions ---------------------------------------------------------------------------
def scheduled_run(
    run: dict[str, Any], function: str, cold_import_ms: float, tpl: dict[str, Any]
) -> dict[str, float]:
    """Dollars per run of a scheduled function (line by line), from one measured run: its import (a cold
    start, see SCHEDULED_COLD_SHARE), CPU, AWS requests, API calls, the BigTime budget's spacing of its
    calls (the pull's share), DynamoDB request units, logs."""
    memory = tpl["memory_mb"][FUNCTIONS[function]]
    aws = dict(run["aws_requests"].get(function, {}))
    if cold_import_ms:
        # A cold start reads the function's secrets and logs in to Salesforce (a token request, not an
        # API call): the measured run may have found them cached by an earlier run in the same process.
        secrets = max(aws.get("secretsmanager:GetSecretValue", 0), tpl["secrets_read"][FUNCTIONS[function]])
        aws["secretsmanager:GetSecretValue"] = secrets
        aws["salesforce:token"] = 1
    busy = scaled(run["cpu_ms"].get(function, 0) + cold_import_ms, memory)
    busy += remote_ms(aws, run["salesforce_calls"], run["bigtime_calls"])
    spaced = spaced_ms(run["bigtime_calls"], tpl["pull_interval_ms"]) if function == "pull" else 0.0
    secret_reads = aws.get("secretsmanager:GetSecretValue", 0)
    return {
        "Lambda": lambda_cost(memory, 1, busy),
        "Lambda: waiting for the BigTime budget": duration(memory, 1, max(0.0, spaced - busy)),
        "secret reads": secret_reads * PRICES["secrets_api_call"],
        "DynamoDB": dynamodb(run, function),
        "logs": logs(run, (function,), tpl["log_retention_months"]),
    }


def idle_month(
    tpl: dict[str, Any], cold: dict[str, float], reconcile: dict[str, Any], pull: dict[str, Any]
) -> tuple[dict[str, float], list[str]]:
    """Dollars per month with no events (line by line), and the custom metrics the schedules emit."""
    lines = {
        "secrets": tpl["secrets"] * PRICES["secret_month"],
        "alarms": tpl["alarm_metrics"] * PRICES["alarm_metric_month"],
        "dashboard": tpl["dashboards"] * PRICES["dashboard_month"],
    }
    metrics: set[str] = set()
    for function, runs, measured in (
        ("reconcile", tpl["reconcile_runs_per_month"], reconcile),
        ("pull", tpl["pull_runs_per_month"], pull),
    ):
        # A cold run's usage (secrets, login) where SCHEDULED_COLD_SHARE says so, a warm one's otherwise.
        per_run = {
            k: SCHEDULED_COLD_SHARE * v + (1 - SCHEDULED_COLD_SHARE) * w
            for (k, v), w in zip(
                scheduled_run(measured["cold"], function, cold[function], tpl).items(),
                scheduled_run(measured["warm"], function, 0.0, tpl).values(),
                strict=True,
            )
        }
        for item, dollars in per_run.items():
            lines[f"{function} {item}"] = runs * dollars
        metrics |= set(measured["warm"].get("metrics", [])) | set(measured["cold"].get("metrics", []))
    lines["custom metrics"] = len(metrics) * PRICES["custom_metric_month"]
    lines["SQS event source polling"] = (
        IDLE_POLLERS * MONTH_SECONDS / POLL_SECONDS * PRICES["sqs_fifo_request"]
    )
    return lines, sorted(metrics)


def pull_projects(
    tpl: dict[str, Any], idle: dict[str, Any], pulled: dict[str, Any], projects: int = 100
) -> dict[str, Any]:
    """Dollars per month that ``projects`` active projects add to the scheduled pull (per_project mode,
    nothing changed), scaled from the measured run over the synced projects: one BigTime call each per run
    (and the lead's once a day), spaced by the pull's share of the budget, which the function waits out."""
    measured = pulled["projects"]
    warm, base = pulled["warm"], idle["warm"]
    runs = tpl["pull_runs_per_month"]
    memory = tpl["memory_mb"]["PullFunction"]
    per = {
        "cpu_ms": (warm["cpu_ms"].get("pull", 0) - base["cpu_ms"].get("pull", 0)) / measured,
        "bigtime_calls": (warm["bigtime_calls"] - base["bigtime_calls"]) / measured,
    }
    units = {
        rw: (
            warm["dynamodb_request_units"].get("pull", {}).get(rw, 0)
            - base["dynamodb_request_units"].get("pull", {}).get(rw, 0)
        )
        / measured
        for rw in ("read", "write")
    }
    calls = per["bigtime_calls"] * projects
    busy = scaled(per["cpu_ms"] * projects, memory) + calls * (
        LATENCY_MS["bigtime"] + units["write"] * LATENCY_MS["dynamodb"]
    )
    seconds = max(busy, spaced_ms(calls + 1, tpl["pull_interval_ms"])) / 1000
    daily_lead_calls = projects * 30  # GET /project/team once a day per project (pull.heartbeat_hours 24)
    lines = {
        "Lambda (mostly waiting for the budget)": runs * duration(memory, 1, seconds * 1000),
        "DynamoDB (the budget, one write per call)": runs
        * projects
        * (units["write"] * PRICES["dynamodb_write_unit"] + units["read"] * PRICES["dynamodb_read_unit"])
        + daily_lead_calls * units["write"] / max(per["bigtime_calls"], 1e-9) * PRICES["dynamodb_write_unit"],
    }
    return {
        "projects": projects,
        "lines_usd": {k: round(v, 3) for k, v in lines.items()},
        "usd": round(sum(lines.values()), 2),
        "run_seconds": round(seconds, 1),
        "bigtime_calls_per_day": round(calls * runs / 30 + daily_lead_calls / 30),
        "per_project_per_run": {
            k: round(v, 3) for k, v in (per | {f"dynamodb_{k}_units": v for k, v in units.items()}).items()
        },
    }


def run(quick: bool) -> list[Figure]:
    tpl = template()
    cold_result, sync_result = _result("cold-import"), _result("sync-latency")
    cold = {
        fn: _figure(cold_result, f"{fn}, bytecode")["detail"]["import_ms_median"]
        for fn in ("ingest", "worker", "reconcile", "pull")
    }
    shapes = {
        "new project, the demo's line items": (
            _figure(sync_result, "new project with the demo's")["detail"]["usage_per_opportunity"],
            10.0,
            False,
        ),
        "new project, no line items": (
            _figure(sync_result, "lone event")["detail"]["usage_per_opportunity"],
            None,
            False,
        ),
        "repeat event, nothing changed": (
            _figure(sync_result, "repeat event")["detail"]["usage_per_opportunity"],
            None,
            False,
        ),
        "bursts: every call waits for the budget": (
            _figure(sync_result, "burst of")["detail"]["usage_per_opportunity"],
            None,
            True,
        ),
    }
    # Secrets while traffic flows: one warm instance of ingest and of the worker re-reading theirs.
    busy_secret_calls = (1 + 2) * MONTH_SECONDS / SECRET_REFRESH_SECONDS
    figures: list[Figure] = []
    for shape, (usage, target, burst) in shapes.items():
        lines = {k: v * 1e6 for k, v in per_event(usage, cold, tpl, burst=burst).items()}
        lines["Secrets Manager API"] = busy_secret_calls * PRICES["secrets_api_call"]
        total = round(sum(lines.values()), 2)
        calls = usage["bigtime_calls"]
        detail = {
            "lines_usd": {k: round(v, 3) for k, v in lines.items()},
            "bigtime_calls": calls,
            # The firm's budget caps these: BigTimeCallsPerMinute for a month, over the calls each takes.
            "most_per_month_at_the_budget": round(tpl["bigtime_calls_per_minute"] * 60 * 24 * 30 / calls)
            if calls
            else None,
            "dynamodb_request_units": usage["dynamodb_request_units"].get("worker", {}),
            "prices_as_of": PRICES_AS_OF,
        }
        name = f"per million events ({shape})"
        if target is not None:
            figures.append(at_most("cost", name, total, "USD", target, **detail))
        else:
            figures.append(Figure("cost", name, total, "USD", detail=detail))

    reconcile = _figure(sync_result, "reconcile run")["detail"]
    idle_pull = _figure(sync_result, "pull run, nothing to pull")["detail"]

    pulled = next(
        f for f in sync_result["figures"] if f["name"].startswith("pull run, ") and "projects" in f["detail"]
    )
    idle, idle_metrics = idle_month(tpl, cold, reconcile, idle_pull)
    common = {"template": tpl, "idle_metrics": idle_metrics, "prices_as_of": PRICES_AS_OF}
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
    free = dict(idle)
    free["alarms"] = max(0, tpl["alarm_metrics"] - FREE_TIER["alarm_metrics"]) * PRICES["alarm_metric_month"]
    small = sum(1 for n in tpl["dashboard_metrics"] if n <= FREE_TIER["metrics_per_dashboard"])
    free["dashboard"] = (tpl["dashboards"] - min(small, FREE_TIER["dashboards"])) * PRICES["dashboard_month"]
    free["custom metrics"] = (
        max(0, len(idle_metrics) - FREE_TIER["custom_metrics"]) * PRICES["custom_metric_month"]
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
    projects = pull_projects(tpl, idle_pull, pulled["detail"])
    figures.append(
        Figure(
            "cost",
            f"pull of {projects['projects']} active projects, per month (per_project mode, on top of idle)",
            projects["usd"],
            "USD",
            detail=projects,
        )
    )
    busy_metrics = _figure(sync_result, "custom metrics emitted")["detail"]["metrics"]
    figures.append(
        Figure(
            "cost",
            "custom metrics while traffic flows (per month)",
            round(len(busy_metrics) * PRICES["custom_metric_month"], 2),
            "USD",
            detail={
                "metrics": len(busy_metrics),
                "note": "each metric emitted at least once an hour costs a full month",
            },
        )
    )
    return figures
