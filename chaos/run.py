"""One chaos run on the local stack, start to finish: seed, fault, win in a burst, deliver again, crash the
worker, drain, redrive what was parked, check, scan the logs for secrets, report (see chaos/__init__.py)."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from chaos.checks import Seeded, check
from chaos.crash import Crasher
from chaos.deliver import Deliverer
from chaos.faults import clear_faults, refresh_retry_after, set_bigtime_faults, set_salesforce_faults
from chaos.logs import LogsToFile, finish_scan, scan_file, scan_outputs
from chaos.plan import Plan, Size, make_plan
from chaos.report import Report, deliveries, fault_figures, figures_on_timeout, worker_figures
from chaos.seed import seed
from sf_bigtime.logs import quiet_libraries
from sf_bigtime_local.stack import LocalStack, StackOptions
from sf_bigtime_local.template import REPO_ROOT
from tests.logscan import LogScan

WORK_DIR = REPO_ROOT / ".local" / "chaos"


class DeadlineExceeded(Exception):
    """The run's global deadline passed; the message says what was still missing."""


def run(
    seed: int, size: Size, *, progress: Callable[[str], None] = lambda _: None, work_dir: Path = WORK_DIR
) -> Report:
    """Run once; never raises for what it finds (the report lists it), only for a broken harness."""
    started = time.monotonic()
    report = Report(seed, size)
    work_dir.mkdir(parents=True, exist_ok=True)
    report.log_file = work_dir / f"chaos-{seed}.log"
    quiet_libraries()  # as every function handler does at import; the harness's own boto3 calls included
    with report.log_file.open("w") as log_file, LogScan(level=logging.DEBUG) as scan:
        stack = LocalStack(_options(size, scan, work_dir))
        stack.start()
        try:
            with LogsToFile(log_file):
                try:
                    _Chaos(make_plan(seed, size), stack, scan, report, progress, started, work_dir).go()
                finally:
                    stack.stop()
        finally:
            stack.stop()
        scan_file(scan, report.log_file)
    finish_scan(scan, report.results)
    report.results.figure("run time, start to checks", f"{time.monotonic() - started:.1f}s")
    return report


class _Chaos:
    """The phases of one run against a started stack; findings go to ``report.results``."""

    def __init__(
        self,
        plan: Plan,
        stack: LocalStack,
        scan: LogScan,
        report: Report,
        progress: Callable[[str], None],
        started: float,
        work_dir: Path,
    ) -> None:
        self.plan, self.stack, self.scan, self.report, self.progress = plan, stack, scan, report, progress
        self.results = report.results
        self.deadline = started + plan.size.deadline
        self.work_dir = work_dir
        self.sf, self.bt = stack.fake_salesforce, stack.fake_bigtime

    def go(self) -> None:
        plan, size, sf, bt, stack = self.plan, self.plan.size, self.sf, self.bt, self.stack
        self.progress(f"seeding {len(plan.opportunities)} Opportunities over {len(plan.accounts)} Accounts")
        seeded = seed(plan, sf, bt)

        self.progress("faults on; winning every Opportunity at once")
        bt_faults = set_bigtime_faults(bt, size, plan.seed)
        sf_fault = set_salesforce_faults(sf, size, plan.seed + 1)
        bt.clear_calls()
        sf_calls_before = len(sf.calls)
        burst = time.monotonic()
        deliverer = Deliverer(
            stack.description, sf, seeded.opportunities, plan.extra, again=_coin(plan.seed + 2, 0.3)
        )
        deliverer.start(burst)
        assert stack.poller is not None
        crasher = Crasher(stack.poller, plan)
        crasher.start(burst)
        for key in sorted(seeded.opportunities):
            sf.update("Opportunity", seeded.opportunities[key], {"StageName": "Closed Won"})

        def missing() -> str:
            return _missing(stack, sf, seeded, deliverer, crasher)

        try:
            self.progress("draining the queue under faults")
            _wait(
                lambda: _drained_first(stack, sf, deliverer, seeded, bt_faults),
                self.deadline,
                missing,
            )
            first_drain = time.monotonic() - burst
            parked = _depth(stack, "dlq_url")
            fault_hits = {name: f.hits for name, f in bt_faults.items()}
            bt_calls, sf_calls = bt.calls, sf.calls[sf_calls_before:]
            clear_faults(bt, sf)
            self.progress(f"drained in {first_drain:.0f}s; {parked} message(s) parked; outage over; redrive")
            redrive = _redrive(self.work_dir / "stack.json", self.deadline, self.scan)
            _wait(lambda: _drained(stack, sf, seeded), self.deadline, missing)
            wall = time.monotonic() - burst
        except DeadlineExceeded as exc:
            self.results.failures.append(f"deadline of {size.deadline:.0f}s passed; still missing: {exc}")
            figures_on_timeout(self.results, stack, bt_faults, sf_fault)
            self._scan_outputs(deliverer)
            return
        finally:
            deliverer.stop()
            crasher.stop()

        self.progress("checking")
        deliveries(self.results, deliverer, sf)
        fault_figures(self.results, bt_faults, fault_hits, bt_calls, sf_fault, sf_calls, size)
        worker_figures(self.results, stack, size, parked, redrive)
        check(plan, seeded, bt, sf, self.results)
        dead, left = _depth(stack, "dlq_url"), _depth(stack, "queue_url")
        self.results.figure("messages left in the DLQ / the queue", f"{dead} / {left}")
        self.results.expect(
            dead == 0 and left == 0, f"{dead} message(s) left in the DLQ, {left} in the queue"
        )
        self.results.figure(
            "wall time, burst to first drain / to all synced after the redrive",
            f"{first_drain:.1f}s / {wall:.1f}s",
        )
        self._scan_outputs(deliverer)

    def _scan_outputs(self, deliverer: Deliverer) -> None:
        query = "SELECT Id, BigTime_Sync_Message__c, BigTime_Project_URL__c FROM Opportunity"
        scan_outputs(
            self.scan,
            replies=deliverer.sent.replies,
            state=list(_state_items(self.stack).values()),
            opportunities=self.sf.query(query)["records"],
            kills=self.stack.poller.kills if self.stack.poller is not None else [],
        )


# -- the stack ------------------------------------------------------------------------------------------
def _options(size: Size, scan: LogScan, work_dir: Path) -> StackOptions:
    return StackOptions(
        visibility_timeout=size.visibility_timeout,
        max_receive_count=size.max_receive_count,
        worker_concurrency=size.workers,
        bigtime_calls_per_minute=size.bigtime_budget,
        worker_timeout=size.worker_timeout,
        state_file=work_dir / "stack.json",
        secret=scan.secret,
        extra_env={
            "HTTP_TIMEOUT_SECONDS": str(size.http_timeout),
            # The worst case for the log scan: every function logs everything it would at DEBUG.
            "POWERTOOLS_LOG_LEVEL": "DEBUG",
            "LOG_LEVEL": "DEBUG",
        },
    )


def _coin(seed: int, p: float) -> Callable[[], bool]:
    rng = random.Random(seed)
    return lambda: rng.random() < p


# -- waiting --------------------------------------------------------------------------------------------
def _wait(done: Callable[[], bool], deadline: float, missing: Callable[[], str], every: float = 0.5) -> None:
    """Until ``done()`` holds twice in a row (a queue can look empty between two deliveries)."""
    streak = 0
    while streak < 2:
        if time.monotonic() > deadline:
            raise DeadlineExceeded(missing())
        streak = streak + 1 if done() else 0
        time.sleep(every)


def _depth(stack: LocalStack, which: str) -> int:
    aws = stack.description["aws"]
    sqs = boto3.client("sqs", region_name=aws["region"], endpoint_url=aws["endpoint_url"])
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=aws[which], AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def _flow_delivered(sf: Any, seeded: Seeded) -> int:
    delivered = {
        d["body"].get("opportunityId")
        for d in sf.deliveries
        if d["kind"] == "json" and isinstance(d.get("body"), dict) and d.get("status") and d["status"] < 300
    }
    return sum(1 for o in seeded.opportunities.values() if o in delivered)


def _drained_first(
    stack: LocalStack, sf: Any, deliverer: Deliverer, seeded: Seeded, bt_faults: dict[str, Any]
) -> bool:
    refresh_retry_after(bt_faults)
    return (
        deliverer.done.is_set()
        and _flow_delivered(sf, seeded) == len(seeded.opportunities)
        and _depth(stack, "queue_url") == 0
    )


def _drained(stack: LocalStack, sf: Any, seeded: Seeded) -> bool:
    return _depth(stack, "queue_url") == 0 and _unsynced(sf, seeded) == []


def _unsynced(sf: Any, seeded: Seeded) -> list[str]:
    return [
        o
        for o in seeded.opportunities.values()
        if (sf.get("Opportunity", o) or {}).get("BigTime_Sync_Status__c") != "Synced"
    ]


def _missing(stack: LocalStack, sf: Any, seeded: Seeded, deliverer: Deliverer, crasher: Crasher) -> str:
    unsynced = _unsynced(sf, seeded)
    parts = [
        f"{len(unsynced)} Opportunities not Synced",
        f"queue {_depth(stack, 'queue_url')}, DLQ {_depth(stack, 'dlq_url')}",
        f"Flow callouts delivered {_flow_delivered(sf, seeded)} of {len(seeded.opportunities)}",
        f"extra deliveries {'done' if deliverer.done.is_set() else 'still sending'}",
    ]
    if crasher.pending:
        parts.append(f"{crasher.pending} crash(es) not yet delivered")
    table = _state_items(stack)
    for opp in unsynced[:10]:
        item = table.get(opp, {})
        parts.append(
            f"{opp}: last {item.get('last_status')!r} after {item.get('attempts')} attempt(s): "
            f"{str(item.get('last_reason'))[:160]}"
        )
    return "; ".join(parts)


def _state_items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    aws = stack.description["aws"]
    table = boto3.resource("dynamodb", region_name=aws["region"], endpoint_url=aws["endpoint_url"]).Table(
        aws["table_name"]
    )
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {str(i.get("record_id")): i for i in items if i.get("kind") == "opp"} | {
        str(i["id"]): i for i in items if i.get("kind") != "opp"
    }


# -- the operator's redrive --------------------------------------------------------------------------------
def _redrive(state_file: Path, deadline: float, scan: LogScan) -> dict[str, Any]:
    """`sf-bigtime redrive` against this stack, as an operator runs it (its own process)."""
    cli = Path(sys.executable).with_name("sf-bigtime")
    timeout = max(10.0, deadline - time.monotonic())
    done = subprocess.run(  # noqa: S603 - our own CLI, arguments we built
        [str(cli), "redrive", "--local", "--state-file", str(state_file), "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        check=False,
    )
    scan.scan("sf-bigtime redrive output", done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"sf-bigtime redrive failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))
