"""Benchmark: backlog drain under the firm-wide BigTime rate budget, on the local stack.

1,000 Opportunities (100 in quick mode) are won at once; the fake BigTime throttles above R requests a minute
(R = 600), the stack's ``BigTimeCallsPerMinute`` is R, and four worker instances (pollers) share the budget.
Figures: the rate BigTime accepted, as a fraction of R (target >= 0.9), between the first and the last
BigTime call; the most calls BigTime accepted in any 60 s (<= R, or it would have throttled); throttled
responses; messages dead-lettered (target 0); wall time from the first "Closed Won" to the last write-back;
DynamoDB writes per BigTime call spent on the budget item, and the average wait for a slot.

Everything runs on 127.0.0.1 and stops by itself (bounded by twice the time R allows, plus a minute).

    .venv/bin/python benchmarks/drain.py [--quick]      # prints the figures, writes benchmarks/results/drain.json
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from sf_bigtime_local.stack import LocalStack, StackOptions

try:
    from benchmarks.figures import Figure, at_least, at_most, machine
except ModuleNotFoundError:  # run as a script: its folder, benchmarks/, is first on sys.path
    from figures import Figure, at_least, at_most, machine  # type: ignore[no-redef]

NAME = "drain"
SECTION = "backlog drain"
RATE = 600  # R: BigTime's limit in the fake, and the stack's budget
WORKERS = 4
FULL, QUICK = 1000, 100
PER_ACCOUNT = 10  # Opportunities per Account: the first of each also creates the BigTime client


def run(quick: bool) -> list[Figure]:
    count = QUICK if quick else FULL
    options = StackOptions(
        state_file=None,
        worker_concurrency=WORKERS,
        bigtime_calls_per_minute=RATE,
        extra_env={"POWERTOOLS_LOG_LEVEL": "ERROR"},  # retries of busy claims are expected here
    )
    with LocalStack(options) as stack:
        sf, bt = stack.fake_salesforce, stack.fake_bigtime
        opps = _seed(sf, count)
        bt.configure(rate_limit_per_minute=RATE)
        bt.clear_calls()
        started = time.monotonic()
        for opp in opps:  # the fake org's Flow posts each one to the ingest endpoint
            sf.update("Opportunity", opp, {"StageName": "Closed Won"})
        # At about 2.2 calls per Opportunity, R allows count * 2.2 / R minutes; give it twice that.
        deadline = started + 60 + 2 * 60 * count * 2.2 / RATE
        synced = _wait_until_synced(sf, opps, deadline)
        wall = time.monotonic() - started
        dead = _dead_lettered(stack.description["aws"])
        calls = bt.calls
        budget = stack.worker_app._worker.ctx.bigtime.limiter  # the worker instances' shared handle
        stats = budget.stats
    accepted = sorted(c.time for c in calls if c.status < 300)
    throttled = sum(1 for c in calls if c.status in (429, 503))
    minutes = (accepted[-1] - accepted[0]) / 60 if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / minutes if minutes else 0.0
    busiest = max((bisect.bisect_right(accepted, t + 60) - i for i, t in enumerate(accepted)), default=0)
    size = {"opportunities": count, "rate_limit_per_minute": RATE, "workers": WORKERS}
    return [
        at_least(
            SECTION,
            f"achieved rate, {count} won at once",
            round(achieved / RATE, 3),
            "x R",
            0.9,
            accepted_calls=len(accepted),
            calls_per_minute=round(achieved, 1),
            minutes=round(minutes, 2),
            busiest_minute=busiest,
            calls_per_opportunity=round(len(calls) / count, 2),
            **size,
        ),
        at_most(SECTION, "busiest 60 s at BigTime", busiest, "calls", RATE, **size),
        at_most(SECTION, "throttled responses", throttled, "responses", 0, **size),
        at_most(SECTION, "dead-lettered", dead, "messages", 0, synced=synced, **size),
        Figure(SECTION, "wall time", round(wall, 1), "s", detail={"synced": synced, **size}),
        Figure(
            SECTION,
            "budget writes per BigTime call",
            round(stats.writes / max(1, stats.grants), 3),
            "DynamoDB writes/call",
            detail={
                "writes": stats.writes,
                "refused": stats.refused,
                "grants": stats.grants,
                "fallbacks": stats.fallbacks,
                "mean_wait_s": round(stats.waited / max(1, stats.grants), 3),
                "usd_per_million_calls": round(stats.writes / max(1, stats.grants) * 0.625, 3),
                "price": "DynamoDB on-demand, US East: $0.625 per million write request units (since 2024-11-01)",
            },
        ),
    ]


def _seed(sf: Any, count: int) -> list[str]:
    accounts = [sf.create("Account", {"Name": f"Drain Account {i}"}) for i in range(-(-count // PER_ACCOUNT))]
    opps = []
    for i in range(count):
        account = accounts[i // PER_ACCOUNT]
        opp = sf.create(
            "Opportunity",
            {
                "Name": f"Drain {i}",
                "AccountId": account,
                "StageName": "Prospecting",
                "CloseDate": "2026-12-31",
            },
        )
        contact = sf.create(
            "Contact", {"LastName": f"Buyer {i}", "Email": f"d{i}@drain.test", "AccountId": account}
        )
        sf.create("OpportunityContactRole", {"OpportunityId": opp, "ContactId": contact, "IsPrimary": True})
        opps.append(opp)
    return opps


def _wait_until_synced(sf: Any, opps: list[str], deadline: float) -> int:
    pending = set(opps)
    while pending and time.monotonic() < deadline:
        pending = {
            o for o in pending if (sf.get("Opportunity", o) or {}).get("BigTime_Sync_Status__c") != "Synced"
        }
        time.sleep(0.5)
    return len(opps) - len(pending)


def _dead_lettered(aws: dict[str, Any]) -> int:
    sqs = boto3.client("sqs", region_name=aws["region"], endpoint_url=aws["endpoint_url"])
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=aws["dlq_url"], AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK} Opportunities instead of {FULL}")
    args = parser.parse_args()
    figures = run(args.quick)
    out = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
    out.write_text(
        json.dumps({"machine": machine(), "figures": [f.to_dict() for f in figures]}, indent=2) + "\n"
    )
    for f in figures:
        verdict = "" if f.met is None else ("  ok" if f.met else "  MISSED")
        print(f"{f.section:15} {f.name:40} {f.value:>10g} {f.unit:22} {f.target or '':8}{verdict}")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
