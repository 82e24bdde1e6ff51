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

from benchmarks.figures import Figure, at_most
from benchmarks.usage import Usage, instrumented, item_sizes, per_unit, wrap

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

    def burst_opportunity(self, i: int, account: str) -> str:
        """An Opportunity of the burst: not yet won, one contact role."""
        fields = {"Name": f"Bench {i}", "AccountId": account, "StageName": "Proposal/Price Quote"}
        opp = self.sf.create("Opportunity", fields | {"CloseDate": "2026-12-31"})
        contact = self.sf.create(
            "Contact", {"LastName": f"Buyer {i}", "Email": f"b{i}@bench.test", "AccountId": account}
        )
        self.sf.create(
            "OpportunityContactRole", {"OpportunityId": opp, "ContactId": contact, "IsPrimary": True}
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
    r: dict[str, Any] = {}
    with instrumented(usage):
        stack = LocalStack(StackOptions(state_file=None, extra_env={"POWERTOOLS_LOG_LEVEL": "INFO"}))
        stack.start()
        try:
            p = Phases(stack, usage)
            r["idle pull"] = p.pull(0)
            accounts = [p.sf.create("Account", {"Name": f"Bench Account {i}"}) for i in range(accounts_n)]
            burst_opps = [p.burst_opportunity(i, accounts[i % accounts_n]) for i in range(count)]
            r["lone"], r["lone latency"], _ = p.lone(lone, demo=False, label="Isolated")
            r["demo"], r["demo latency"], demo_opps = p.lone(lone, demo=True, label="Demo")
            r["demo"]["item_bytes"] = item_sizes(stack.description["aws"]["table_name"])
            r["repeat"] = p.repeat(demo_opps)
            projects_before, clients_before = len(p.bt.projects), len(p.bt.clients)
            r["burst"], latency, elapsed = p.burst(burst_opps, timeout)
            projects, clients = len(p.bt.projects) - projects_before, len(p.bt.clients) - clients_before
            r["reconcile"] = p.reconcile()
            r["pull"] = p.pull(len(p.bt.projects))
        finally:
            stack.stop()

    done = (len(latency), projects, clients, len(r["lone latency"]), len(r["demo latency"]))
    if done != (count, count, accounts_n, lone, lone):
        raise RuntimeError(
            f"the run did not complete: {done} of (synced, projects, clients, lone events, with line items) "
            f"where {(count, count, accounts_n, lone, lone)} were due"
        )
    return figures(r, sorted(latency.values()), elapsed, count, accounts_n, usage)


def figures(
    r: dict[str, Any], values: list[float], elapsed: float, count: int, accounts_n: int, usage: Usage
) -> list[Figure]:
    section = "sync (local stack)"
    metrics = sorted(f"{svc} {name} {dict(dims)}" for svc, name, dims in usage.metrics)
    burst = f"burst of {count}"
    out = [
        Figure(
            section,
            "lone event: Closed Won -> write-back, median",
            round(statistics.median(r["lone latency"]), 3),
            "s",
            detail={"runs": len(r["lone latency"]), "usage_per_opportunity": r["lone"]},
        ),
        Figure(
            section,
            "new project with the demo's line items: Closed Won -> write-back, median",
            round(statistics.median(r["demo latency"]), 3),
            "s",
            detail={"runs": len(r["demo latency"]), "usage_per_opportunity": r["demo"]},
        ),
        Figure(
            section,
            "repeat event, nothing changed: worker CPU",
            r["repeat"]["cpu_ms"].get("worker", 0.0),
            "ms/event",
            detail={"usage_per_opportunity": r["repeat"]},
        ),
        Figure(
            section,
            f"{burst}: Closed Won -> write-back, p50",
            round(statistics.median(values), 3),
            "s",
            detail={"accounts": accounts_n, "usage_per_opportunity": r["burst"]},
        ),
        Figure(section, f"{burst}: p95", round(values[int(0.95 * (len(values) - 1))], 3), "s"),
        Figure(section, f"{burst}: throughput", round(len(values) / elapsed, 2), "Opportunities/s"),
    ]
    shapes = {
        "lone event": r["lone"],
        "new project, the demo's line items": r["demo"],
        "repeat event, nothing changed": r["repeat"],
        burst: r["burst"],
    }
    for shape, used in shapes.items():
        worker_ddb = used["dynamodb_requests_by_kind"].get("worker", {})
        name = f"Salesforce calls per sync ({shape})"
        out += [
            # A lone event costs its read and its write-back; a full batch's figure is the backfill's.
            at_most(section, name, used["salesforce_calls"], "calls/Opportunity", 2)
            if shape == "lone event"
            else Figure(section, name, used["salesforce_calls"], "calls/Opportunity"),
            Figure(
                section,
                f"BigTime calls per sync ({shape})",
                used["bigtime_calls"],
                "calls/Opportunity",
                detail={"by_route": used["bigtime_calls_by_route"]},
            ),
            Figure(
                section,
                f"DynamoDB requests per sync ({shape})",
                round(sum(worker_ddb.values()), 2),
                "requests/Opportunity",
                detail={
                    "by_kind": worker_ddb,
                    "request_units": used["dynamodb_request_units"].get("worker", {}),
                    **({"item_bytes": used["item_bytes"]} if "item_bytes" in used else {}),
                },
            ),
            Figure(
                section, f"worker CPU per sync ({shape})", used["cpu_ms"].get("worker", 0.0), "ms/Opportunity"
            ),
        ]
    projects = r["pull"]["warm"]["summary"]["examined"]
    return [
        *out,
        Figure(
            section, "custom metrics emitted (distinct)", len(metrics), "metrics", detail={"metrics": metrics}
        ),
        Figure(
            section,
            "reconcile run, nothing missed: CPU",
            r["reconcile"]["warm"]["cpu_ms"].get("reconcile", 0.0),
            "ms/run",
            detail=r["reconcile"],
        ),
        Figure(
            section,
            "pull run, nothing to pull: CPU",
            r["idle pull"]["warm"]["cpu_ms"].get("pull", 0.0),
            "ms/run",
            detail=r["idle pull"],
        ),
        Figure(
            section,
            f"pull run, {projects} projects, nothing changed: BigTime calls",
            r["pull"]["warm"]["bigtime_calls"],
            "calls/run",
            detail=r["pull"] | {"projects": projects},
        ),
    ]
