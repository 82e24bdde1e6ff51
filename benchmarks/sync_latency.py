"""Benchmark: seconds from "Closed Won" to the write-back on the Opportunity, and API calls per sync,
on the local stack (moto + fakes on 127.0.0.1; bounded in count and time). Two phases: five Opportunities
closed one at a time (normal traffic), then ``--count`` closed at once (a burst, queued behind the
template's worker concurrency of 2).

    .venv/bin/python benchmarks/sync_latency.py [--count 40] [--accounts 8] [--out benchmarks/results/sync-latency.json]

The local stack runs the real handlers and clients; the fakes answer in microseconds, so the figures show
our own overhead (queueing, polling, Powertools, DynamoDB round trips), not Salesforce's or BigTime's.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from sf_bigtime_local.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40, help="Opportunities to close (max 500)")
    parser.add_argument("--accounts", type=int, default=8, help="Accounts they belong to")
    parser.add_argument("--timeout", type=float, default=120.0, help="Give up after this many seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sync-latency.json")
    args = parser.parse_args()
    count = max(1, min(args.count, 500))

    stack = LocalStack(StackOptions(state_file=None, extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING"}))
    stack.start()
    try:
        sf, bt = stack.fake_salesforce, stack.fake_bigtime
        accounts = [
            sf.create("Account", {"Name": f"Bench Account {i}"}) for i in range(max(1, args.accounts))
        ]
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
        # Normal traffic first: one Opportunity at a time, each waited for (seconds from Closed Won to
        # the write-back when nothing else is queued).
        isolated: list[float] = []
        for i in range(min(5, count)):
            account = sf.create("Account", {"Name": f"Isolated Account {i}"})
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
            while (sf.get("Opportunity", opp) or {}).get("BigTime_Sync_Status__c") != "Synced":
                if time.monotonic() - t0 > 30:
                    break
                time.sleep(0.01)
            isolated.append(time.monotonic() - t0)
        sf_before = sum(1 for c in sf.calls if c.counted)
        bt_before = len(bt.calls)
        projects_before, clients_before = len(bt.projects), len(bt.clients)

        # Then a burst: every Opportunity closed at once.
        closed_at: dict[str, float] = {}
        started = time.monotonic()
        for opp in opps:  # the fake org's Flow posts each one to the ingest endpoint
            sf.update("Opportunity", opp, {"StageName": "Closed Won"})
            closed_at[opp] = time.monotonic()
        latency: dict[str, float] = {}
        deadline = started + args.timeout
        while len(latency) < count and time.monotonic() < deadline:
            for opp in opps:
                if (
                    opp not in latency
                    and (sf.get("Opportunity", opp) or {}).get("BigTime_Sync_Status__c") == "Synced"
                ):
                    latency[opp] = time.monotonic() - closed_at[opp]
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        sf_calls = sum(1 for c in sf.calls if c.counted) - sf_before
    finally:
        stack.stop()

    values = sorted(latency.values())
    result = {
        "benchmark": "closed-won-to-write-back on the local stack",
        "command": "python benchmarks/sync_latency.py " + " ".join(sys.argv[1:]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": __import__("os").cpu_count(),
            "platform": platform.platform(),
        },
        "opportunities": count,
        "accounts": len(accounts),
        "synced": len(values),
        "seconds_total": round(elapsed, 3),
        "throughput_per_second": round(len(values) / elapsed, 2) if elapsed else None,
        "isolated_latency_seconds": {
            "runs": len(isolated),
            "median": round(statistics.median(isolated), 3) if isolated else None,
            "max": round(max(isolated), 3) if isolated else None,
        },
        "burst_latency_seconds": {
            "p50": round(statistics.median(values), 3) if values else None,
            "p95": round(values[int(0.95 * (len(values) - 1))], 3) if values else None,
            "max": round(values[-1], 3) if values else None,
        },
        "salesforce_api_calls_per_sync": round(sf_calls / max(1, len(values)), 2),
        "bigtime_calls_per_sync": round((len(bt.calls) - bt_before) / max(1, len(values)), 2),
        "bigtime_projects": len(bt.projects) - projects_before,
        "bigtime_clients": len(bt.clients) - clients_before,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    ok = (
        len(values) == count
        and result["bigtime_projects"] == count
        and result["bigtime_clients"] == len(accounts)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
