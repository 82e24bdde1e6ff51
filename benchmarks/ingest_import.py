"""Import-time benchmark of the ingest function against a minimal SQS-sending handler.

Each run is a fresh interpreter doing ``python -X importtime -c "import app"`` with the handler's folder
first on ``sys.path`` (as Lambda loads ``app.lambda_handler``); the figure is the cumulative import time of
``app`` itself, which includes everything it imports and creates at module level (both create their SQS
client there). Baseline and ingest runs alternate, after one discarded warm-up each (byte-code caches),
and the medians are compared. Results go to ``benchmarks/results/ingest-import.json``.

Usage: ``python benchmarks/ingest_import.py [--runs 15] [--target 1.3] [--output PATH] [--check]``
(``make bench-ingest``). ``--check`` exits 1 when the ratio is over the target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "baseline": ROOT / "benchmarks" / "minimal_handler",
    "ingest": ROOT / "functions" / "ingest",
}
# Where the time goes: self time of every module the handler's import loads, summed per group.
GROUPS = {
    "boto3 + deps": ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six"),
    "pydantic + deps": (
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
        "typing_extensions",
    ),
    "powertools": ("aws_lambda_powertools",),
    "defusedxml + xml.sax": ("defusedxml", "xml"),
    "sf_bigtime": ("sf_bigtime",),
    "app (module body: SQS client)": ("app",),
}


# After the import, in the same fresh process: one request of the given kind through sf_bigtime.ingest.handler,
# with the secrets and the SQS send stubbed (network time is not ours to measure). This is what the import
# figure leaves out: route-specific models are built on first use.
FIRST_REQUEST = """
import json, sys, time
from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.settings import IngestSettings
event = json.loads(open(sys.argv[1]).read())
start = time.perf_counter()
deps = IngestDeps(
    settings=IngestSettings.model_validate(
        {"queue_url": "q", "webhook_secret_arn": "a", "allowed_org_ids": "00D5w000004abcd"}
    ),
    api_key=lambda: "REPLACE-WITH-THE-GENERATED-KEY",
    outbound_message_token=lambda: "REPLACE-WITH-THE-GENERATED-TOKEN",
    enqueue=lambda requests: ["m"] * len(requests),
)
reply = handle(event, deps)
elapsed = time.perf_counter() - start
assert reply.get("statusCode", 200) < 300 and reply.get("accepted", 1) > 0, reply
print(json.dumps({"first_request_ms": elapsed * 1000}))
"""
SAMPLES = {
    "json": ROOT / "events" / "apigw-json-event.json",
    "outbound_message": ROOT / "events" / "apigw-outbound-message.json",
    "eventbridge": ROOT / "events" / "eventbridge-cdc-update.json",
}


def run_once(handler_dir: Path, route: str | None = None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    # Offline and credential-free: creating a client reads the region only; nothing is sent.
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(ROOT / "layers" / "common")}
    # Compare imports, not compilation: the warm-up runs leave byte code for both handlers (a shell with
    # PYTHONDONTWRITEBYTECODE set would otherwise recompile our own modules on every run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = f"import sys; sys.path.insert(0, {str(handler_dir)!r}); import app"
    argv = []
    if route is not None:
        code += "\n" + FIRST_REQUEST
        argv = [str(SAMPLES[route])]
    start = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - this interpreter running our own code
        [sys.executable, "-X", "importtime", "-c", code, *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{handler_dir} failed:\n{out.stderr[-3000:]}")
    wall = time.perf_counter() - start
    lines = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            lines.append(
                (int(parts[0].removeprefix("import time:").strip()), int(parts[1]), parts[2].strip())
            )
    # -X importtime prints children before parents: the handler's imports follow interpreter start-up
    # (which ends with "site") and end with "app" itself.
    names = [name for _, _, name in lines]
    if "app" not in names or "site" not in names:
        raise RuntimeError(f"unexpected -X importtime output for {handler_dir}:\n{out.stderr[-2000:]}")
    own = lines[names.index("site") + 1 : names.index("app") + 1]
    groups = dict.fromkeys([*GROUPS, "stdlib and other"], 0)
    for self_us, _, name in own:
        top = name.split(".")[0]
        group = next((g for g, tops in GROUPS.items() if top in tops), "stdlib and other")
        groups[group] += self_us
    result = {"app_us": own[-1][1], "process_ms": wall * 1000, "groups": groups}
    if route is not None:
        result |= {"route": route, **json.loads(out.stdout.strip().splitlines()[-1])}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--target", type=float, default=1.3)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "ingest-import.json")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the ratio is over the target (for CI gates)"
    )
    args = parser.parse_args(argv)

    for handler_dir in HANDLERS.values():  # warm-up: write byte-code caches, fill the OS page cache
        run_once(handler_dir)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in HANDLERS}
    routes = list(SAMPLES)
    for i in range(args.runs):
        runs["baseline"].append(run_once(HANDLERS["baseline"]))
        runs["ingest"].append(run_once(HANDLERS["ingest"], routes[i % len(routes)]))

    def summary(name: str) -> dict[str, Any]:
        app_us = [r["app_us"] for r in runs[name]]
        return {
            "handler": str(HANDLERS[name].relative_to(ROOT) / "app.py"),
            "import_ms_median": round(statistics.median(app_us) / 1000, 1),
            "import_ms_min": round(min(app_us) / 1000, 1),
            "import_ms_max": round(max(app_us) / 1000, 1),
            "process_ms_median": round(statistics.median(r["process_ms"] for r in runs[name]), 1),
        }

    baseline, ingest = summary("baseline"), summary("ingest")
    for name, summary_ in (("baseline", baseline), ("ingest", ingest)):
        summary_["self_time_by_group_ms_median"] = {
            group: round(statistics.median(r["groups"][group] for r in runs[name]) / 1000, 1)
            for group in runs[name][0]["groups"]
        }
    ingest["first_request_ms_median"] = {
        route: round(
            statistics.median(r["first_request_ms"] for r in runs["ingest"] if r["route"] == route), 1
        )
        for route in routes
        if any(r["route"] == route for r in runs["ingest"])
    }
    ratio = round(ingest["import_ms_median"] / baseline["import_ms_median"], 3)
    # Other processes on the machine only ever add time: the fastest runs are the least disturbed.
    min_ratio = round(ingest["import_ms_min"] / baseline["import_ms_min"], 3)
    worst_first = max(ingest["first_request_ms_median"].values())
    cold_ratio = round((ingest["import_ms_median"] + worst_first) / baseline["import_ms_median"], 3)
    result = {
        "what": "cumulative import time of the handler module (python -X importtime), fresh process per run",
        "command": "python -X importtime -c 'import app'  (handler folder first on sys.path)",
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "runs": args.runs,
        "baseline": baseline,
        "ingest": ingest,
        "ratio": ratio,
        "target": args.target,
        "within_target": ratio <= args.target,
        "ratio_of_fastest_runs": min_ratio,
        "cold_path_ratio": cold_ratio,
        "cold_path_note": (
            "(ingest import + its slowest first request, secrets and SQS stubbed) / baseline import: "
            "the baseline's first send is not counted, so this overstates ingest's share"
        ),
        "note": "self_time_by_group: -X importtime self time of the modules each handler's import loads, summed",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"baseline {baseline['import_ms_median']} ms, ingest {ingest['import_ms_median']} ms "
        f"(median of {args.runs}): {ratio}x (fastest runs: {min_ratio}x), target {args.target}x -> {args.output}"
    )
    print(f"first request (stubbed I/O): {ingest['first_request_ms_median']} ms; cold path {cold_ratio}x")
    print(f"  {'self time by group (median ms)':32s} {'baseline':>9s} {'ingest':>9s}")
    for group, ms in ingest["self_time_by_group_ms_median"].items():
        print(f"  {group:32s} {baseline['self_time_by_group_ms_median'][group]:9.1f} {ms:9.1f}")
    if not result["within_target"]:
        print(f"over the {args.target}x target")
    return 0 if result["within_target"] or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
