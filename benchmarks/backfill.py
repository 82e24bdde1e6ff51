"""Benchmark: a backfill of won Opportunities that predate the stack, on the local stack.

5,000 Opportunities (200 in quick mode) sit in Closed Won with no BigTime project, ten to an Account, and the
fake org's Flow off (no events). ``sf-bigtime backfill`` (its sweep, run in this process against the
running stack as the CLI runs it) enqueues them all; four worker instances sync them in batches of ten.
Figures: Salesforce API calls per Opportunity, the sweep's query pages included (target <= 0.3: one read
and one write-back per batch of ten, not two calls per Opportunity), BigTime calls per Opportunity, and
the wall time from the backfill's start to the last write-back.

Everything runs on 127.0.0.1 and stops by itself: the wait is bounded (at least 10 minutes, 0.5 s per
Opportunity), and a run that does not finish is reported as a failure with how far it got.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, at_most

NAME = "backfill"
SECTION = "backfill"
FULL, QUICK = 5000, 200
PER_ACCOUNT = 10
WORKERS = 4
CLOSE_DATE = "2025-06-30"


def run(quick: bool) -> list[Figure]:
    from sf_bigtime.reconcile.sweep import Sweep, SweepQuery, org_id_of
    from sf_bigtime_local.stack import LocalStack, StackOptions
    from sf_bigtime_ops.stackinfo import Stack

    count = QUICK if quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        state_file = Path(tmp) / "stack.json"
        options = StackOptions(
            state_file=state_file,
            flow=False,
            worker_concurrency=WORKERS,
            extra_env={"POWERTOOLS_LOG_LEVEL": "ERROR"},
        )
        with LocalStack(options) as stack:
            sf, bt = stack.fake_salesforce, stack.fake_bigtime
            opps = _seed(sf, count)
            ops = Stack.open(stack_name=None, state_file=state_file)
            sf_before, bt_before = _counted(sf), len(bt.calls)
            started = time.monotonic()
            sweep = Sweep(ops.salesforce, ops.store, ops.enqueue, org_id_of(ops.salesforce))
            report = sweep.run(SweepQuery(ops.trigger()), source="backfill")
            enqueued_at = time.monotonic() - started
            sweep_calls = _counted(sf) - sf_before
            synced = _wait_until_synced(sf, opps, started + max(600.0, 0.5 * count))
            wall = time.monotonic() - started
            sf_calls, bt_calls = _counted(sf) - sf_before, len(bt.calls) - bt_before
    if report.enqueued != count or synced != count:
        raise RuntimeError(
            f"the backfill did not complete: {report.enqueued} enqueued, {synced} of {count} synced"
        )
    size = {"opportunities": count, "workers": WORKERS, "per_account": PER_ACCOUNT}
    return [
        at_most(
            SECTION,
            f"Salesforce calls per Opportunity, {count} backfilled",
            round(sf_calls / count, 3),
            "calls/Opportunity",
            0.3,
            salesforce_calls=sf_calls,
            sweep_calls=sweep_calls,
            worker_calls=sf_calls - sweep_calls,
            **size,
        ),
        Figure(
            SECTION,
            f"BigTime calls per Opportunity, {count} backfilled",
            round(bt_calls / count, 2),
            "calls/Opportunity",
            detail={"bigtime_calls": bt_calls, **size},
        ),
        Figure(
            SECTION,
            f"wall time, {count} backfilled",
            round(wall, 1),
            "s",
            detail={"enqueued_after_s": round(enqueued_at, 1), "per_second": round(count / wall, 2), **size},
        ),
    ]


def _counted(sf: Any) -> int:
    return sum(1 for c in sf.calls if c.counted)


def _seed(sf: Any, count: int) -> list[str]:
    accounts = [
        sf.create("Account", {"Name": f"Backfill Account {i}"}) for i in range(-(-count // PER_ACCOUNT))
    ]
    return [
        sf.create(
            "Opportunity",
            {
                "Name": f"Backfill {i}",
                "AccountId": accounts[i // PER_ACCOUNT],
                "StageName": "Closed Won",
                "CloseDate": CLOSE_DATE,
            },
        )
        for i in range(count)
    ]


def _wait_until_synced(sf: Any, opps: list[str], deadline: float) -> int:
    soql = "SELECT COUNT() FROM Opportunity WHERE BigTime_Sync_Status__c = 'Synced'"
    synced = 0
    while time.monotonic() < deadline:
        synced = int(sf.query(soql)["totalSize"])
        if synced >= len(opps):
            break
        time.sleep(1.0)
    return synced
