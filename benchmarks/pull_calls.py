"""Benchmark: Salesforce and BigTime API calls per pull run, for 500 projects of which 5 % changed, in both
ways of reading BigTime (per project, and one saved report).

    .venv/bin/python benchmarks/pull_calls.py [--quick] [--out benchmarks/results/pull-calls.json]

The fake Salesforce and fake BigTime run in this process on 127.0.0.1 (bounded: 500 projects, a few runs);
their own counters say what each run cost (``fake.usage()``, ``fake.call_counts()``), alongside the pull's
report. Each mode: a first run (every record is new), then time logged on 5 % of the projects and a run,
then a run with nothing changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: `benchmarks.figures` is importable from the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks.figures import Figure, at_most, machine  # noqa: E402

NAME = "pull-calls"
PROJECTS, QUICK_PROJECTS = 500, 100
CHANGED_SHARE = 0.05


def _world(count: int) -> tuple[Any, Any, Any, Any, list[int]]:
    from sf_bigtime_local.fake_bigtime import FakeBigTime
    from sf_bigtime_local.fake_salesforce import FakeSalesforce
    from sf_bigtime_local.httpserver import BackgroundServer

    sf = FakeSalesforce(org_id="00D5w000004abcdEAA", client_id="ck", client_secret="cs")  # noqa: S106 - the fake's
    bt = FakeBigTime(realm="bench", api_tokens={"bench-token": {"staffsid": 1}})
    client = bt.create_client({"Nm": "Bench Client"})["SystemId"]
    pids = []
    for n in range(count):
        body = {
            "Nm": f"Bench {n}",
            "ClientId": client,
            "ProjectCode": f"B-{n}",
            "StatusProd": 202,
            "TemplateId": 8001,
        }
        pid = int(bt.create_project(body)["SystemId"])
        bt.set_team(pid, [{"staffsid": 2, "TeamLead": True}])
        sf.create("BigTime_Project__c", {"Name": f"Bench {n}", "BigTime_Project_Id__c": str(pid)})
        pids.append(pid)
    return (
        sf,
        bt,
        BackgroundServer(sf, name="bench-sf").start(),
        BackgroundServer(bt, name="bench-bt").start(),
        pids,
    )


def _puller(sf_url: str, bt_url: str, mode: str) -> Any:
    from sf_bigtime.clients.bigtime import BigTimeClient
    from sf_bigtime.clients.salesforce import SalesforceClient
    from sf_bigtime.mapping.load import build_mapping
    from sf_bigtime.pull.bigtime import BigTimeReader
    from sf_bigtime.pull.run import Puller
    from sf_bigtime.secrets import BigTimeApiKey, SalesforceClientCredentials

    pull: dict[str, Any] = {"mode": mode, "report": {"id": 1}} if mode == "report" else {}
    salesforce = SalesforceClient(
        SalesforceClientCredentials(
            consumer_key="ck",
            consumer_secret="cs",  # noqa: S106 - the fake org's
            domain="bench.my",
            instance_url=sf_url,
        )
    )
    bigtime = BigTimeClient(
        BigTimeApiKey(
            api_token="bench-token",  # noqa: S106 - the fake firm's
            realm="bench",
            base_url=f"{bt_url}/BigtimeData/api/v2",
        )
    )
    return Puller(salesforce, BigTimeReader(bigtime), build_mapping({"pull": pull}, "(bench)").pull)


def _measure(sf: Any, bt: Any, puller: Any) -> dict[str, Any]:
    before = sf.usage()
    bt.clear_calls()
    started = time.perf_counter()
    report = puller.run()
    used = sf.usage() - before
    return {
        "salesforce_calls": used.api_calls,
        "salesforce_calls_by_kind": used.calls_by_kind,
        "records_written": used.records_written,
        "bigtime_calls": sum(bt.call_counts().values()),
        "bigtime_calls_by_route": bt.call_counts(),
        "pull_report": {"changed": report.changed, "written": report.written, "read": report.read},
        "seconds": round(time.perf_counter() - started, 3),
    }


def run(quick: bool) -> list[Figure]:
    count = QUICK_PROJECTS if quick else PROJECTS
    changed = max(1, round(count * CHANGED_SHARE))
    figures: list[Figure] = []
    for mode in ("per_project", "report"):
        sf, bt, sf_server, bt_server, pids = _world(count)
        try:
            puller = _puller(sf_server.url, bt_server.url, mode)
            first = _measure(sf, bt, puller)
            for pid in pids[:: count // changed][:changed]:
                bt.log_time(pid, 2, 300)
            some = _measure(sf, bt, puller)
            none = _measure(sf, bt, puller)
        finally:
            bt_server.stop()
            sf_server.stop()
            sf.close()
        section = f"pull, {mode.replace('_', '-')} mode, {count} projects"
        figures += [
            at_most(
                section,
                f"Salesforce calls per run, {changed} changed",
                some["salesforce_calls"],
                "calls/run",
                3,
                **some,
            ),
            Figure(
                section,
                f"BigTime calls per run, {changed} changed",
                some["bigtime_calls"],
                "calls/run",
                "<= 2" if mode == "report" else None,
                (some["bigtime_calls"] <= 2) if mode == "report" else None,
                {"by_route": some["bigtime_calls_by_route"]},
            ),
            Figure(
                section,
                f"records written, {changed} changed",
                some["records_written"],
                "records",
                f"== {changed}",
                some["records_written"] == changed,
            ),
            at_most(
                section,
                "Salesforce calls per run, nothing changed",
                none["salesforce_calls"],
                "calls/run",
                1,
                **none,
            ),
            Figure(
                section,
                "records written, nothing changed",
                none["records_written"],
                "records",
                "== 0",
                none["records_written"] == 0,
            ),
            Figure(
                section,
                "BigTime calls per run, nothing changed",
                none["bigtime_calls"],
                "calls/run",
                detail={"by_route": none["bigtime_calls_by_route"]},
            ),
            Figure(
                section,
                "Salesforce calls, first run (every record new)",
                first["salesforce_calls"],
                "calls/run",
                detail=first,
            ),
            Figure(
                section,
                "BigTime calls, first run",
                first["bigtime_calls"],
                "calls/run",
                detail={"by_route": first["bigtime_calls_by_route"]},
            ),
        ]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_PROJECTS} projects instead of {PROJECTS}"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results" / f"{NAME}.json")
    args = parser.parse_args()
    figures = run(args.quick)
    for f in figures:
        verdict = "" if f.met is None else ("  met" if f.met else "  NOT MET")
        target = f"  (target {f.target})" if f.target else ""
        print(f"{f.section:<38} {f.name:<48} {f.value:>8g} {f.unit}{target}{verdict}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": machine(), "figures": [f.to_dict() for f in figures]}, indent=2) + "\n"
    )
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
