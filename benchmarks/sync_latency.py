"""Seconds from "Closed Won" to the write-back on the Opportunity, and what each sync and each scheduled
run uses, on the local stack (moto + fakes on 127.0.0.1; bounded in count and time).

Phases, in order:

1. **idle pull**: the pull function run twice (cold, warm) before anything is synced: what its schedule
   costs a stack with nothing to pull;
2. **lone events**: Opportunities closed one at a time, each waited for (a batch of one, the usual shape
   at a firm's volumes): an Account and an Opportunity, no line items;
3. **new project with the demo's line items**: as ``make demo`` seeds it (two contacts with roles, the
   owner a BigTime staffer, two line items), one at a time: tasks, budget and team included;
4. **repeat events**: a new event for each Opportunity of phase 3, nothing changed since;
5. **burst**: ``count`` closed at once, queued behind the template's worker concurrency of 2, in batches
   of up to 10;
6. **reconcile**: two runs of the scheduled sweep on the synced org (cold, warm), nothing missed;
7. **pull with projects**: the pull over every project synced above, first run (every record new), then a
   run with nothing changed.

The fakes answer in microseconds, so the latencies are our own overhead (queueing, polling, Powertools,
DynamoDB round trips), not Salesforce's or BigTime's, and the local rate budget (6,000 BigTime calls a
minute) never waits: ``benchmarks.cost`` adds the remote latencies and the budget's waits at the
template's rate. What is measured per unit of work: see ``benchmarks.usage``.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure
from benchmarks.usage import Usage, instrumented, per_unit, wrap

NAME = "sync-latency"
ROOT = Path(__file__).resolve().parents[1]
# The demo's line items (local/sf_bigtime_local/demo.py): one product sold by the hour, one not.
DEMO_PRODUCTS = (("Implementation Consulting", "Hours", 350.0, 120), ("Platform Licence", "Each", 6000.0, 1))


class Phases:
    """The running stack, its fakes, and the usage counters; one method per phase."""

    def __init__(self, stack: Any, usage: Usage) -> None:
        self.stack, self.usage = stack, usage
        self.sf, self.bt = stack.fake_salesforce, stack.fake_bigtime
        self.entries: list[str] = []

    def calls(self) -> tuple[int, int, Counter[str]]:
        return (
            sum(1 for c in self.sf.calls if c.counted),
            len(self.bt.calls),
            Counter(self.bt.call_counts()),
        )

    def measure(self, units: Callable[[], int], body: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
        """Run ``body``; what it used per unit of work (``units()`` after it), with API calls by system."""
        sf0, bt0, routes0 = self.calls()
        before = self.usage.snapshot()
        result = body()
        time.sleep(0.2)  # let the pollers' delete of the last batch land in this phase
        n = units()
        used = per_unit(before, self.usage.snapshot(), n)
        sf1, bt1, routes1 = self.calls()
        routes = {k: round(v / max(1, n), 2) for k, v in (routes1 - routes0).items()}
        used |= {
            "salesforce_calls": round((sf1 - sf0) / max(1, n), 2),
            "bigtime_calls": round((bt1 - bt0) / max(1, n), 2),
            "bigtime_calls_by_route": dict(sorted(routes.items())),
        }
        return used, result

    # -- Salesforce data ------------------------------------------------------------------------------
    def opportunity(self, name: str, *, stage: str = "Prospecting", demo: bool = False) -> str:
        sf = self.sf
        account = sf.create("Account", {"Name": f"{name} Account"})
        fields = {"Name": name, "AccountId": account, "StageName": stage, "CloseDate": "2026-12-31"}
        if demo:
            fields["Amount"] = 48000
        opp = sf.create("Opportunity", fields)
        if demo:
            for i, (first, role, primary) in enumerate(
                (("Ada", "Decision Maker", True), ("Grace", "Economic Buyer", False))
            ):
                contact = sf.create(
                    "Contact",
                    {
                        "FirstName": first,
                        "LastName": name,
                        "Email": f"c{i}.{opp}@bench.test",
                        "AccountId": account,
                    },
                )
                sf.create(
                    "OpportunityContactRole",
                    {"OpportunityId": opp, "ContactId": contact, "Role": role, "IsPrimary": primary},
                )
            for entry, (_, _, price, quantity) in zip(self.price_book(), DEMO_PRODUCTS, strict=True):
                sf.create(
                    "OpportunityLineItem",
                    {
                        "OpportunityId": opp,
                        "PricebookEntryId": entry,
                        "Quantity": quantity,
                        "UnitPrice": price,
                    },
                )
        return opp

    def price_book(self) -> list[str]:
        if not self.entries:
            [book] = self.sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
            for name, unit, price, _ in DEMO_PRODUCTS:
                product = self.sf.create(
                    "Product2", {"Name": name, "QuantityUnitOfMeasure": unit, "IsActive": True}
                )
                self.entries.append(
                    self.sf.create(
                        "PricebookEntry",
                        {
                            "Pricebook2Id": book["Id"],
                            "Product2Id": product,
                            "UnitPrice": price,
                            "IsActive": True,
                        },
                    )
                )
        return self.entries

    def synced(self, opps: list[str], closed_at: dict[str, float], timeout: float) -> dict[str, float]:
        latency: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(latency) < len(opps) and time.monotonic() < deadline:
            for opp in opps:
                if (
                    opp not in latency
                    and (self.sf.get("Opportunity", opp) or {}).get("BigTime_Sync_Status__c") == "Synced"
                ):
                    latency[opp] = time.monotonic() - closed_at[opp]
            time.sleep(0.01)
        return latency

    # -- phases ---------------------------------------------------------------------------------------
    def lone(self, runs: int, *, demo: bool, label: str) -> tuple[dict[str, Any], list[float], list[str]]:
        """``runs`` Opportunities won one at a time, each waited for; a first one warms the functions up
        (cold start: secrets, Salesforce login, lazy imports) and is not counted."""
        self.close_one(f"{label} warm-up", demo=demo)
        isolated: list[float] = []
        opps: list[str] = []

        def body() -> None:
            for i in range(runs):
                opp, seconds = self.close_one(f"{label} {i}", demo=demo)
                opps.append(opp)
                isolated.extend(seconds)

        used, _ = self.measure(lambda: len(isolated), body)
        return used, isolated, opps

    def close_one(self, name: str, *, demo: bool) -> tuple[str, list[float]]:
        opp = self.opportunity(name, demo=demo)
        t0 = time.monotonic()
        self.sf.update("Opportunity", opp, {"StageName": "Closed Won"})
        return opp, list(self.synced([opp], {opp: t0}, 30.0).values())

    def repeat(self, opps: list[str]) -> dict[str, Any]:
        """A new event (a new delivery id) for each synced Opportunity: nothing changed, nothing to do."""
        from sf_bigtime_local.clients import post_event

        info = self.stack.description

        def body() -> None:
            start = self.usage.snapshot()["records"].get("worker", 0)
            for i, opp in enumerate(opps):
                event = {
                    "orgId": info["salesforce"]["org_id"],
                    "opportunityId": opp,
                    "eventId": f"bench-repeat-{i}",
                }
                if post_event(info, event).status_code != 202:
                    raise RuntimeError("ingest refused a repeat event")
            deadline = time.monotonic() + 30
            while self.usage.snapshot()["records"].get("worker", 0) - start < len(opps):
                if time.monotonic() > deadline:
                    raise RuntimeError("the repeat events were not all handled")
                time.sleep(0.01)

        used, _ = self.measure(lambda: len(opps), body)
        return used

    def burst(self, opps: list[str], timeout: float) -> tuple[dict[str, Any], dict[str, float], float]:
        closed_at: dict[str, float] = {}
        started = time.monotonic()

        def body() -> dict[str, float]:
            for opp in opps:  # the fake org's Flow posts each one to the ingest endpoint
                self.sf.update("Opportunity", opp, {"StageName": "Closed Won"})
                closed_at[opp] = time.monotonic()
            return self.synced(opps, closed_at, timeout)

        latency: dict[str, float] = {}
        used, latency = self.measure(lambda: len(latency), lambda: latency.update(body()) or latency)
        return used, latency, time.monotonic() - started

    def runs(
        self, function: str, run: Callable[[], dict[str, Any]], check: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Two runs of a scheduled function: the first a cold start (secrets, Salesforce login), the second warm."""
        runs: dict[str, Any] = {}
        for name in ("cold", "warm"):
            used, summary = self.measure(lambda: 1, run)
            check(summary)
            runs[name] = used | {
                "summary": {k: v for k, v in summary.items() if not isinstance(v, list | dict)}
            }
        return runs

    def reconcile(self) -> dict[str, Any]:
        from sf_bigtime_local.lambda_runtime import LambdaContext, load_handler
        from sf_bigtime_local.stack import STACK_NAME

        _, handler = load_handler(ROOT / "functions/reconcile/app.py", "bench_reconcile_app")
        handler = wrap(self.usage, "reconcile", handler)
        context = lambda: LambdaContext(function_name=f"{STACK_NAME}-reconcile", timeout_seconds=120)  # noqa: E731

        def check(summary: dict[str, Any]) -> None:
            if summary["enqueued"] != 0:
                raise RuntimeError(f"reconcile found missed Opportunities in a synced org: {summary}")

        return self.runs("reconcile", lambda: handler({}, context()), check)

    def pull(self, projects: int) -> dict[str, Any]:
        def check(summary: dict[str, Any]) -> None:
            if summary.get("stopped") or summary.get("examined") != projects:
                raise RuntimeError(f"the pull did not read the {projects} projects: {summary}")

        return self.runs("pull", self.stack.run_pull, check)


def run(quick: bool) -> list[Figure]:
    from sf_bigtime_local.stack import LocalStack, StackOptions

    count, lone, accounts_n, timeout = (10, 3, 4, 60.0) if quick else (40, 5, 8, 120.0)
    usage = Usage()
    with instrumented(usage):
        stack = LocalStack(StackOptions(state_file=None, extra_env={"POWERTOOLS_LOG_LEVEL": "INFO"}))
        stack.start()
        try:
            p = Phases(stack, usage)
            idle_pull = p.pull(0)
            accounts = [p.sf.create("Account", {"Name": f"Bench Account {i}"}) for i in range(accounts_n)]
            burst_opps = []
            for i in range(count):
                account = accounts[i % len(accounts)]
                opp = p.sf.create(
                    "Opportunity",
                    {
                        "Name": f"Bench {i}",
                        "AccountId": account,
                        "StageName": "Proposal/Price Quote",
                        "CloseDate": "2026-12-31",
                    },
                )
                contact = p.sf.create(
                    "Contact", {"LastName": f"Buyer {i}", "Email": f"b{i}@bench.test", "AccountId": account}
                )
                p.sf.create(
                    "OpportunityContactRole", {"OpportunityId": opp, "ContactId": contact, "IsPrimary": True}
                )
                burst_opps.append(opp)

            lone_usage, isolated, _ = p.lone(lone, demo=False, label="Isolated")
            demo_usage, demo_latency, demo_opps = p.lone(lone, demo=True, label="Demo")
            repeat_usage = p.repeat(demo_opps)
            projects_before, clients_before = len(p.bt.projects), len(p.bt.clients)
            burst_usage, latency, elapsed = p.burst(burst_opps, timeout)
            projects, clients = len(p.bt.projects) - projects_before, len(p.bt.clients) - clients_before
            reconcile = p.reconcile()
            pulled = p.pull(len(p.bt.projects))
        finally:
            stack.stop()

    if (
        len(latency) != count
        or projects != count
        or clients != accounts_n
        or len(isolated) != lone
        or len(demo_latency) != lone
    ):
        raise RuntimeError(
            f"the run did not complete: {len(latency)}/{count} synced, {projects} projects, {clients} clients, "
            f"{len(isolated)}/{lone} lone events, {len(demo_latency)}/{lone} with line items"
        )
    return figures(
        count,
        accounts_n,
        usage,
        lone_usage,
        isolated,
        demo_usage,
        demo_latency,
        repeat_usage,
        burst_usage,
        latency,
        elapsed,
        reconcile,
        idle_pull,
        pulled,
    )


def figures(
    count: int,
    accounts_n: int,
    usage: Usage,
    lone_usage: dict[str, Any],
    isolated: list[float],
    demo_usage: dict[str, Any],
    demo_latency: list[float],
    repeat_usage: dict[str, Any],
    burst_usage: dict[str, Any],
    latency: dict[str, float],
    elapsed: float,
    reconcile: dict[str, Any],
    idle_pull: dict[str, Any],
    pulled: dict[str, Any],
) -> list[Figure]:
    values = sorted(latency.values())
    section = "sync (local stack)"
    metrics = sorted(f"{svc} {name} {dict(dims)}" for svc, name, dims in usage.metrics)

    def ddb(used: dict[str, Any]) -> float:
        return round(sum(used["dynamodb_requests_by_kind"].get("worker", {}).values()), 2)

    return [
        Figure(
            section,
            "lone event: Closed Won -> write-back, median",
            round(statistics.median(isolated), 3),
            "s",
            detail={
                "runs": len(isolated),
                "max": round(max(isolated), 3),
                "usage_per_opportunity": lone_usage,
            },
        ),
        Figure(
            section,
            "new project with the demo's line items: Closed Won -> write-back, median",
            round(statistics.median(demo_latency), 3),
            "s",
            detail={"runs": len(demo_latency), "usage_per_opportunity": demo_usage},
        ),
        Figure(
            section,
            "repeat event, nothing changed: worker CPU",
            repeat_usage["cpu_ms"].get("worker", 0.0),
            "ms/event",
            detail={"usage_per_opportunity": repeat_usage},
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
            "BigTime calls per sync (new project, the demo's line items)",
            demo_usage["bigtime_calls"],
            "calls/Opportunity",
            detail={"by_route": demo_usage["bigtime_calls_by_route"]},
        ),
        Figure(
            section,
            "DynamoDB requests per sync (new project, the demo's line items)",
            ddb(demo_usage),
            "requests/Opportunity",
            detail={
                "by_kind": demo_usage["dynamodb_requests_by_kind"].get("worker", {}),
                "request_units": demo_usage["dynamodb_request_units"].get("worker", {}),
            },
        ),
        Figure(
            section,
            "DynamoDB requests per sync (lone event)",
            ddb(lone_usage),
            "requests/Opportunity",
            detail={
                "by_kind": lone_usage["dynamodb_requests_by_kind"].get("worker", {}),
                "request_units": lone_usage["dynamodb_request_units"].get("worker", {}),
            },
        ),
        Figure(
            section,
            "DynamoDB requests per repeat event (nothing changed)",
            ddb(repeat_usage),
            "requests/event",
            detail={
                "by_kind": repeat_usage["dynamodb_requests_by_kind"].get("worker", {}),
                "request_units": repeat_usage["dynamodb_request_units"].get("worker", {}),
            },
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
            "worker CPU per sync (new project, the demo's line items)",
            demo_usage["cpu_ms"].get("worker", 0.0),
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
        Figure(
            section,
            "pull run, nothing to pull: CPU",
            idle_pull["warm"]["cpu_ms"].get("pull", 0.0),
            "ms/run",
            detail=idle_pull,
        ),
        Figure(
            section,
            f"pull run, {pulled['warm']['summary']['examined']} projects, nothing changed: BigTime calls",
            pulled["warm"]["bigtime_calls"],
            "calls/run",
            detail=pulled | {"projects": pulled["warm"]["summary"]["examined"]},
        ),
    ]
