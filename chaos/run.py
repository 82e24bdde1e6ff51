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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3

from chaos.checks import Results, Seeded, check
from chaos.crash import Crasher
from chaos.deliver import Deliverer
from chaos.faults import (
    bigtime_kinds,
    clear_faults,
    refresh_retry_after,
    set_bigtime_faults,
    set_salesforce_faults,
)
from chaos.plan import PRODUCTS, Plan, Size, make_plan
from sf_bigtime import observability as obs
from sf_bigtime.logs import quiet_libraries
from sf_bigtime_local.stack import LocalStack, StackOptions
from sf_bigtime_local.template import REPO_ROOT
from tests.logscan import LogScan

WORK_DIR = REPO_ROOT / ".local" / "chaos"


class DeadlineExceeded(Exception):
    """The run's global deadline passed; the message says what was still missing."""


@dataclass
class Report:
    seed: int
    size: Size
    results: Results = field(default_factory=Results)
    log_file: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.results.failures

    def render(self) -> str:
        lines = [
            f"chaos run, seed {self.seed} (replay: make chaos SEED={self.seed})",
            f"  {self.size.describe()}",
        ]
        width = max((len(what) for what, _ in self.results.figures), default=0)
        lines += [f"  {what:<{width}}  {value}" for what, value in self.results.figures]
        if self.log_file:
            lines.append(f"  captured logs: {self.log_file}")
        if self.results.failures:
            lines.append(f"FAILED ({len(self.results.failures)}), seed {self.seed}:")
            lines += [f"  - {f}" for f in self.results.failures[:40]]
            if len(self.results.failures) > 40:
                lines.append(f"  … and {len(self.results.failures) - 40} more")
        else:
            lines.append("PASSED")
        return "\n".join(lines)


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
            with _logs_to(log_file):
                try:
                    _Chaos(make_plan(seed, size), stack, scan, report, progress, started, work_dir).go()
                finally:
                    stack.stop()
        finally:
            stack.stop()
        _scan_file(scan, report.log_file)
    _finish_scan(scan, report.results)
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
        seeded = _seed(plan, sf, bt)

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
            _figures_on_timeout(self.results, stack, bt_faults, sf_fault)
            _scan_outputs(self.scan, stack, sf, deliverer)
            return
        finally:
            deliverer.stop()
            crasher.stop()

        self.progress("checking")
        _deliveries(self.results, deliverer, sf)
        _fault_figures(self.results, bt_faults, fault_hits, bt_calls, sf_fault, sf_calls, size)
        _worker_figures(self.results, stack, size, parked, redrive)
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
        _scan_outputs(self.scan, stack, sf, deliverer)


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


class _logs_to:
    """Every log record of the run goes to its log file, not the terminal: handlers that write to the console
    (the functions' Powertools loggers, which do not propagate, werkzeug's) are pointed at the file, the
    functions' loggers log at DEBUG, and a root handler takes everything else."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.root = logging.StreamHandler(stream)
        self.root.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s")
        )
        self.handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
        self.levels: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> None:
        consoles = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__) if s is not None}
        loggers = [
            logging.root,
            *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
        ]
        for logger in loggers:
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and id(handler.stream) in consoles:
                    self.handlers.append((handler, handler.setStream(self.stream)))
        for service in (obs.WORKER, obs.INGEST):
            logger = logging.getLogger(service)
            self.levels.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        logging.root.addHandler(self.root)

    def __exit__(self, *exc: object) -> None:
        logging.root.removeHandler(self.root)
        for logger, level in self.levels:
            logger.setLevel(level)
        for handler, stream in self.handlers:
            handler.setStream(stream)


def _seed(plan: Plan, sf: Any, bt: Any) -> Seeded:
    [book] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    entries = []
    for name, unit, price in PRODUCTS:
        product = sf.create("Product2", {"Name": name, "QuantityUnitOfMeasure": unit, "IsActive": True})
        entries.append(
            sf.create(
                "PricebookEntry",
                {"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": price, "IsActive": True},
            )
        )
    seeded = Seeded({}, {}, {}, {}, {})
    account_contacts: dict[int, list[tuple[str, str]]] = {}
    for account in plan.accounts:
        account_id = sf.create("Account", {"Name": account.name, "BillingCity": "Springfield"})
        seeded.accounts[account.key] = account_id
        if account.existing_client:
            seeded.existing_clients[account.key] = int(bt.create_client({"Nm": account.name})["SystemId"])
        account_contacts[account.key] = []
        for c in range(account.contacts):
            email = f"contact{c}.account{account.key}@chaos.example"
            contact = sf.create(
                "Contact",
                {
                    "FirstName": f"Casey{c}",
                    "LastName": f"Account{account.key}",
                    "Email": email,
                    "AccountId": account_id,
                },
            )
            account_contacts[account.key].append((contact, email))
    for opp in plan.opportunities:
        fields: dict[str, Any] = {
            "Name": opp.name,
            "AccountId": seeded.accounts[opp.account],
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2026-12-31",
        }
        if opp.amount is not None:
            fields["Amount"] = opp.amount
        opp_id = sf.create("Opportunity", fields)
        seeded.opportunities[opp.key] = opp_id
        contacts = account_contacts[opp.account]
        seeded.contacts[opp.key] = []
        for n, index in enumerate(opp.contact_roles):
            contact, email = contacts[index]
            role = {
                "OpportunityId": opp_id,
                "ContactId": contact,
                "Role": "Decision Maker",
                "IsPrimary": n == 0,
            }
            sf.create("OpportunityContactRole", role)
            seeded.contacts[opp.key].append(email)
        seeded.line_items[opp.key] = [
            sf.create(
                "OpportunityLineItem",
                {
                    "OpportunityId": opp_id,
                    "PricebookEntryId": entries[line.product],
                    "Quantity": line.quantity,
                    "UnitPrice": PRODUCTS[line.product][2],
                },
            )
            for line in opp.line_items
        ]
    return seeded


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


# -- figures ----------------------------------------------------------------------------------------------
def _deliveries(results: Results, deliverer: Deliverer, sf: Any) -> None:
    flow = [d for d in sf.deliveries if d["kind"] == "json"]
    extra = deliverer.sent.by_format
    results.figure(
        "deliveries",
        f"Flow callouts {len(flow)}; again: "
        + ", ".join(f"{k} {v}" for k, v in sorted(extra.items()))
        + f" ({deliverer.sent.envelopes} SOAP envelopes)",
    )
    results.figure("deliveries refused by ingest", len(deliverer.sent.refused))
    for refused in deliverer.sent.refused[:10]:
        results.failures.append(f"ingest refused a delivery: {refused}")


def _fault_figures(
    results: Results,
    bt_faults: dict[str, Any],
    hits: dict[str, int],
    bt_calls: list[Any],
    sf_fault: Any,
    sf_calls: list[Any],
    size: Size,
) -> None:
    kinds = {k.name: k.what for k in bigtime_kinds(size.http_timeout)}
    throttled = sum(1 for c in bt_calls if c.status == 503 and not c.fault)
    faulted = sum(hits.values())
    results.figure(
        "BigTime calls / faulted / throttled by its limit",
        f"{len(bt_calls)} / {faulted} ({faulted / max(1, len(bt_calls)):.1%}) / {throttled}",
    )
    results.figure("BigTime faults by kind", ", ".join(f"{name} {hits[name]}" for name in kinds))
    results.expect(all(hits[name] > 0 for name in kinds), f"a BigTime fault kind never struck: {hits}")
    api = [c for c in sf_calls if c.counted]
    logins = sum(1 for c in sf_calls if c.path == "/services/oauth2/token")
    expired = sum(1 for c in api if c.status == 401)
    results.figure(
        "Salesforce API calls / 503s / 401s (expired tokens) / logins",
        f"{len(api)} / {sf_fault.hits} / {expired} / {logins}",
    )
    results.expect(sf_fault.hits > 0 and expired > 0, "Salesforce faults never struck")


def _worker_figures(
    results: Results, stack: LocalStack, size: Size, parked: int, redrive: dict[str, Any]
) -> None:
    poller = stack.poller
    assert poller is not None
    crashes = [k for k in poller.kills if k.reason == "crash"]
    results.figure(
        "worker invocations / crashed / timed out",
        f"{poller.invocations} / {len(crashes)} / {sum(1 for k in poller.kills if k.reason == 'timeout')}",
    )
    for n, kill in enumerate(crashes, 1):
        where = "just after BigTime answered a create, in" if "chaos/crash.py" in kill.where else "at"
        results.figure(
            f"  crash {n}",
            f"{kill.seconds:.2f}s into a batch of {kill.messages}, {where} {kill.where_ours or kill.where}",
        )
    results.expect(
        len(crashes) == size.crashes, f"{len(crashes)} of the {size.crashes} worker crashes happened"
    )
    results.figure(
        "messages parked in the DLQ, then redriven",
        f"{parked}, {redrive.get('moved', 0)} ({redrive.get('method')})",
    )


def _figures_on_timeout(
    results: Results, stack: LocalStack, bt_faults: dict[str, Any], sf_fault: Any
) -> None:
    results.figure("BigTime faults by kind so far", ", ".join(f"{n} {f.hits}" for n, f in bt_faults.items()))
    results.figure("Salesforce 503s so far", sf_fault.hits)
    if stack.poller is not None:
        results.figure(
            "worker invocations / kills", f"{stack.poller.invocations} / {len(stack.poller.kills)}"
        )


# -- secrets ----------------------------------------------------------------------------------------------
def _scan_outputs(scan: LogScan, stack: LocalStack, sf: Any, deliverer: Deliverer) -> None:
    """What a person may read besides the log records (which the scan saw as they were made)."""
    scan.scan("ingest replies", deliverer.sent.replies)
    scan.scan("state table", list(_state_items(stack).values()))
    opportunities = sf.query("SELECT Id, BigTime_Sync_Message__c, BigTime_Project_URL__c FROM Opportunity")
    scan.scan("Opportunities", opportunities["records"])
    if stack.poller is not None:
        scan.scan("worker kills", [vars(k) for k in stack.poller.kills])


def _scan_file(scan: LogScan, path: Path) -> None:
    """Every line the run's log file captured, as written (formatted records included)."""
    with path.open() as captured:
        for n, line in enumerate(captured, 1):
            scan.scan(f"{path.name}:{n}", line)


def _finish_scan(scan: LogScan, results: Results) -> None:
    results.figure(
        "log scan", f"{scan.records} log records and every captured line, {len(scan.findings)} secrets found"
    )
    for finding in scan.findings[:20]:
        results.failures.append(f"secret in output: {finding}")
    results.expect(scan.records > 1000, f"the log scan saw only {scan.records} log records")
