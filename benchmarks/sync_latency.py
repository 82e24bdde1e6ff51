"""Seconds from "Closed Won" to the write-back on the Opportunity, and what each sync uses, on the local
stack (moto + fakes on 127.0.0.1; bounded in count and time).

Two phases: Opportunities closed one at a time, each waited for (lone events: a batch of one, the usual
shape at a firm's volumes), then ``count`` closed at once (a burst, queued behind the template's worker
concurrency of 2, in batches of up to 10). The fakes answer in microseconds, so the latencies are our
own overhead (queueing, polling, Powertools, DynamoDB round trips), not Salesforce's or BigTime's.

Per synced Opportunity, for the cost benchmark: invocations of each function; the CPU time of the thread
that ran the handler (``time.thread_time``: our code, botocore and requests, not the fakes or moto,
which run on other threads); the AWS requests each function made, by service and operation (counted in
botocore); Salesforce and BigTime calls (counted by the fakes); and the bytes each function logged.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure

NAME = "sync-latency"
ROOT = Path(__file__).resolve().parents[1]
_current = threading.local()  # which function's handler this thread is running, if any


class Usage:
    """What the functions used while a phase ran (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.cpu_seconds: Counter[str] = Counter()
        self.aws: Counter[tuple[str, str, str]] = (
            Counter()
        )  # (function or "event source", service, operation)
        self.log_bytes: Counter[str] = Counter()
        self.metric_emits: Counter[str] = Counter()
        self.metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()  # (service, name, dimensions)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "invocations": dict(self.invocations),
                "records": dict(self.records),
                "cpu_seconds": dict(self.cpu_seconds),
                "aws": dict(self.aws),
                "log_bytes": dict(self.log_bytes),
                "metric_emits": dict(self.metric_emits),
            }


def _wrap(usage: Usage, function: str, handler: Any) -> Any:
    def timed(event: dict[str, Any], context: Any) -> Any:
        _current.function = function
        start = time.thread_time()
        try:
            return handler(event, context)
        finally:
            with usage.lock:
                usage.cpu_seconds[function] += time.thread_time() - start
                usage.invocations[function] += 1
                usage.records[function] += len(event.get("Records", [])) or 1
            _current.function = None

    return timed


class _CountingStream:
    """stdout for the stack's run: Powertools loggers write here; bytes are counted per function."""

    def __init__(self, usage: Usage, stream: Any) -> None:
        self.usage, self.stream = usage, stream

    def write(self, text: str) -> int:
        function = getattr(_current, "function", None)
        if function:
            with self.usage.lock:
                self.usage.log_bytes[function] += len(text.encode())
            return len(text)
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def instrumented(usage: Usage) -> Iterator[None]:
    """Wrap the handlers the local stack loads, count botocore requests and logged bytes."""
    import botocore.endpoint

    import sf_bigtime_local.stack as stack_module
    from sf_bigtime.observability import Emitter

    functions = {
        "sf_bigtime_local_ingest_app": "ingest",
        "sf_bigtime_local_worker_app": "worker",
        "sf_bigtime_local_reconcile_app": "reconcile",
    }
    original_load = stack_module.load_handler
    original_request = botocore.endpoint.Endpoint.make_request

    def load_handler(app_path: Any, module_name: str, handler: str = "lambda_handler") -> Any:
        module, fn = original_load(app_path, module_name, handler)
        return module, _wrap(usage, functions.get(module_name, module_name), fn)

    def make_request(self: Any, operation_model: Any, request_dict: Any) -> Any:
        who = getattr(_current, "function", None) or "event source"
        with usage.lock:
            usage.aws[(who, operation_model.service_model.service_name, operation_model.name)] += 1
        return original_request(self, operation_model, request_dict)

    original_emit = Emitter.emit

    def emit(self: Emitter, name: str, value: float = 1, **dimensions: str) -> None:
        with usage.lock:
            usage.metrics.add((self.service, name, tuple(sorted(dimensions.items()))))
            usage.metric_emits[getattr(_current, "function", None) or self.service] += 1
        original_emit(self, name, value, **dimensions)

    stdout = sys.stdout
    Emitter.emit = emit  # type: ignore[method-assign]
    stack_module.load_handler = load_handler  # type: ignore[assignment]
    botocore.endpoint.Endpoint.make_request = make_request  # type: ignore[method-assign]
    sys.stdout = _CountingStream(usage, stdout)
    try:
        yield
    finally:
        sys.stdout = stdout
        Emitter.emit = original_emit  # type: ignore[method-assign]
        stack_module.load_handler = original_load  # type: ignore[assignment]
        botocore.endpoint.Endpoint.make_request = original_request  # type: ignore[method-assign]


def _per_opportunity(before: dict[str, Any], after: dict[str, Any], synced: int) -> dict[str, Any]:
    def delta(key: str) -> dict[Any, float]:
        keys = set(before[key]) | set(after[key])
        return {k: after[key].get(k, 0) - before[key].get(k, 0) for k in keys}

    n = max(1, synced)
    aws: dict[str, dict[str, float]] = {}
    for (who, service, operation), count in delta("aws").items():
        if count:
            aws.setdefault(who, {})[f"{service}:{operation}"] = round(count / n, 3)
    return {
        "opportunities": synced,
        "invocations": {k: round(v / n, 3) for k, v in delta("invocations").items()},
        "records_per_invocation": {
            k: round(delta("records")[k] / v, 2) for k, v in delta("invocations").items() if v
        },
        "cpu_ms": {k: round(1000 * v / n, 2) for k, v in delta("cpu_seconds").items()},
        "aws_requests": aws,
        "log_bytes": {k: round(v / n) for k, v in delta("log_bytes").items()},
        "metric_emits": {k: round(v / n, 2) for k, v in delta("metric_emits").items()},
    }


def _wait_synced(sf: Any, opps: list[str], closed_at: dict[str, float], timeout: float) -> dict[str, float]:
    latency: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(latency) < len(opps) and time.monotonic() < deadline:
        for opp in opps:
            if (
                opp not in latency
                and (sf.get("Opportunity", opp) or {}).get("BigTime_Sync_Status__c") == "Synced"
            ):
                latency[opp] = time.monotonic() - closed_at[opp]
        time.sleep(0.01)
    return latency


def run(quick: bool) -> list[Figure]:
    from sf_bigtime_local.stack import LocalStack, StackOptions

    count, lone, accounts_n, timeout = (10, 3, 4, 60.0) if quick else (40, 5, 8, 120.0)
    usage = Usage()
    with instrumented(usage):
        stack = LocalStack(StackOptions(state_file=None, extra_env={"POWERTOOLS_LOG_LEVEL": "INFO"}))
        stack.start()
        try:
            sf, bt = stack.fake_salesforce, stack.fake_bigtime
            accounts = [sf.create("Account", {"Name": f"Bench Account {i}"}) for i in range(accounts_n)]
            opps = []
            for i in range(count):
                account = accounts[i % len(accounts)]
                opp = sf.create(
                    "Opportunity",
                    {
                        "Name": f"Bench {i}",
                        "AccountId": account,
                        "StageName": "Proposal/Price Quote",
                        "CloseDate": "2026-12-31",
                    },
                )
                contact = sf.create(
                    "Contact", {"LastName": f"Buyer {i}", "Email": f"b{i}@bench.test", "AccountId": account}
                )
                sf.create(
                    "OpportunityContactRole", {"OpportunityId": opp, "ContactId": contact, "IsPrimary": True}
                )
                opps.append(opp)

            # Lone events: one Opportunity at a time, each waited for. The first one warms the functions
            # up (cold start: secrets, Salesforce login, lazy imports) and is not counted.
            calls = lambda: (sum(1 for c in sf.calls if c.counted), len(bt.calls))  # noqa: E731
            isolated: list[float] = []
            sf0, bt0, lone_before = 0, 0, usage.snapshot()
            for i in range(-1, lone):
                if i == 0:
                    sf0, bt0 = calls()
                    lone_before = usage.snapshot()
                    isolated.clear()
                account = sf.create("Account", {"Name": f"Isolated Account {i + 1}"})
                opp = sf.create(
                    "Opportunity",
                    {
                        "Name": f"Isolated {i}",
                        "AccountId": account,
                        "StageName": "Prospecting",
                        "CloseDate": "2026-12-31",
                    },
                )
                t0 = time.monotonic()
                sf.update("Opportunity", opp, {"StageName": "Closed Won"})
                isolated += _wait_synced(sf, [opp], {opp: t0}, 30.0).values()
            time.sleep(0.2)  # let the pollers' delete of the last batch land in this phase
            lone_usage = _per_opportunity(lone_before, usage.snapshot(), len(isolated))
            sf1, bt1 = calls()
            lone_usage |= {
                "salesforce_calls": round((sf1 - sf0) / max(1, len(isolated)), 2),
                "bigtime_calls": round((bt1 - bt0) / max(1, len(isolated)), 2),
            }

            # A burst: every Opportunity closed at once.
            projects_before, clients_before = len(bt.projects), len(bt.clients)
            burst_before = usage.snapshot()
            closed_at: dict[str, float] = {}
            started = time.monotonic()
            for opp in opps:  # the fake org's Flow posts each one to the ingest endpoint
                sf.update("Opportunity", opp, {"StageName": "Closed Won"})
                closed_at[opp] = time.monotonic()
            latency = _wait_synced(sf, opps, closed_at, timeout)
            elapsed = time.monotonic() - started
            time.sleep(0.2)
            burst_usage = _per_opportunity(burst_before, usage.snapshot(), len(latency))
            sf2, bt2 = calls()
            burst_usage |= {
                "salesforce_calls": round((sf2 - sf1) / max(1, len(latency)), 2),
                "bigtime_calls": round((bt2 - bt1) / max(1, len(latency)), 2),
            }
            projects, clients = len(bt.projects) - projects_before, len(bt.clients) - clients_before
            reconcile = _reconcile_runs(usage, calls)
        finally:
            stack.stop()

    if len(latency) != count or projects != count or clients != accounts_n or len(isolated) != lone:
        raise RuntimeError(
            f"the run did not complete: {len(latency)}/{count} synced, {projects} projects, {clients} clients, "
            f"{len(isolated)}/{lone} lone events"
        )
    values = sorted(latency.values())
    section = "sync (local stack)"
    metrics = sorted(f"{svc} {name} {dict(dims)}" for svc, name, dims in usage.metrics)
    return [
        Figure(
            section,
            "lone event: Closed Won -> write-back, median",
            round(statistics.median(isolated), 3),
            "s",
            detail={"runs": lone, "max": round(max(isolated), 3), "usage_per_opportunity": lone_usage},
        ),
        Figure(
            section,
            f"burst of {count}: Closed Won -> write-back, p50",
            round(statistics.median(values), 3),
            "s",
            detail={"accounts": accounts_n, "usage_per_opportunity": burst_usage},
        ),
        Figure(section, f"burst of {count}: p95", round(values[int(0.95 * (len(values) - 1))], 3), "s"),
        Figure(
            section,
            f"burst of {count}: throughput",
            round(len(values) / elapsed, 2),
            "Opportunities/s",
            detail={"seconds_total": round(elapsed, 3)},
        ),
        Figure(
            section,
            "Salesforce calls per sync (lone event)",
            lone_usage["salesforce_calls"],
            "calls/Opportunity",
        ),
        Figure(
            section, "BigTime calls per sync (lone event)", lone_usage["bigtime_calls"], "calls/Opportunity"
        ),
        Figure(
            section,
            f"Salesforce calls per sync (burst of {count})",
            burst_usage["salesforce_calls"],
            "calls/Opportunity",
        ),
        Figure(
            section,
            f"BigTime calls per sync (burst of {count})",
            burst_usage["bigtime_calls"],
            "calls/Opportunity",
        ),
        Figure(
            section,
            "worker CPU per sync (lone event)",
            lone_usage["cpu_ms"].get("worker", 0.0),
            "ms/Opportunity",
        ),
        Figure(
            section,
            f"worker CPU per sync (burst of {count})",
            burst_usage["cpu_ms"].get("worker", 0.0),
            "ms/Opportunity",
        ),
        Figure(
            section, "custom metrics emitted (distinct)", len(metrics), "metrics", detail={"metrics": metrics}
        ),
        Figure(
            section,
            "reconcile run, nothing missed: CPU",
            reconcile["warm"]["cpu_ms"].get("reconcile", 0.0),
            "ms/run",
            detail=reconcile,
        ),
    ]


def _reconcile_runs(usage: Usage, calls: Any) -> dict[str, Any]:
    """Two runs of the scheduled reconcile on the synced org (nothing missed): the first is a cold start
    (secret, Salesforce login), the second warm. What one run uses, for the idle-month cost."""
    from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
    from sf_bigtime_local.stack import STACK_NAME

    _, handler = load_handler(ROOT / "functions/reconcile/app.py", "bench_reconcile_app")
    handler = _wrap(usage, "reconcile", handler)
    runs: dict[str, Any] = {}
    for name in ("cold", "warm"):
        sf_before = calls()[0]
        before = usage.snapshot()
        summary = handler({}, LambdaContext(function_name=f"{STACK_NAME}-reconcile", timeout_seconds=120))
        if summary["enqueued"] != 0:
            raise RuntimeError(f"reconcile found missed Opportunities in a synced org: {summary}")
        runs[name] = _per_opportunity(before, usage.snapshot(), 1) | {
            "salesforce_calls": calls()[0] - sf_before
        }
        runs[name].pop("opportunities")
    return runs
