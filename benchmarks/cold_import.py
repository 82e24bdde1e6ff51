"""Cold import of each handler (ingest, worker, reconcile, pull) against a minimal boto3 + SQS handler, with and
without the layer's byte code.

The layer is built by its own recipe (layers/common/Makefile, the one `sam build` runs) for this machine's
platform instead of arm64, into a temporary folder, twice: as built (hash-based .pyc for every module) and
with every ``__pycache__`` removed (what `sam build`'s python builder shipped before). Each copy then gets
what Lambda does to it: every file dated 1980-01-01 (``sam package`` zips them so) and nothing writable
(``python -B``), so a .pyc is used only if it is valid as shipped.

Each run is a fresh ``python -S -B`` with Lambda's search path: the handler's folder (/var/task), the
layer (/opt/python), then the runtime's own packages (boto3, botocore and their dependencies, taken from
.venv). The figure is the CPU time of ``import app``, which includes its module-level work (the SQS
client): an import from the page cache is CPU-bound, and CPU time is what other processes on a shared
machine disturb least (wall time is in the results too). Runs of every handler alternate with the
minimal handler after one discarded warm-up each; the ratio compares the fastest run of each (contention
only ever adds time), the medians are in the results file. For ingest, the cold path (import + the first request of
each entry point, secrets and SQS stubbed) is measured too: the entry points' parsers load on first use.

Also, for the cost model and the template's memory sizes: each handler's peak memory (RSS) right after
its import, and the wall time of the worker's and the pull's import at the CPU share Lambda gives 512, 256
and 128 MB (1,769 MB is one vCPU), the child stopped and continued by SIGSTOP/SIGCONT in 100 ms periods
as a CPU quota would (the fastest of the runs: on a shared machine contention only adds time).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, at_most

NAME = "cold-import"
ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "benchmarks" / "minimal_handler"
HANDLERS = {name: ROOT / "functions" / name for name in ("ingest", "worker", "reconcile", "pull")}
# Issue 12's targets, as ratios to the minimal handler with byte code (reconcile has none).
TARGETS = {"ingest": 1.3, "worker": 2.0}
# What the python3.13 Lambda runtime brings besides the standard library (its boto3 and dependencies).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
# Lambda gives a function one vCPU at 1,769 MB, proportionally less below (AWS Lambda's memory settings).
VCPU_MB = 1769
MEMORY_SIZES = (512, 256, 128)  # the template's default, what it uses now, and the smallest
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z: the date `sam package` gives every entry of its zips

IMPORT = """
import json, resource, time
wall, cpu = time.perf_counter(), time.process_time()
import app
print(json.dumps({"import_ms": (time.process_time() - cpu) * 1000, "wall_ms": (time.perf_counter() - wall) * 1000,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# Run in the same process after the import: the first request of one entry point, as Lambda's first invoke.
FIRST_REQUEST = """
import json, sys, time
sample = json.loads(open(sys.argv[1]).read())
start = time.process_time()
from sf_bigtime.ingest.handler import IngestDeps, handle
from sf_bigtime.settings import IngestSettings
deps = IngestDeps(
    settings=IngestSettings.model_validate(
        {
            "queue_url": "q",
            "webhook_secret_arn": "a",
            "allowed_org_ids": "00D5w000004abcd",
            "event_bus_name": "aws.partner/salesforce.com/00D5w000004abcdEAA/0YL5f000000CabWGAS",
        }
    ),
    api_key=lambda: "REPLACE-WITH-THE-GENERATED-KEY",
    outbound_message_token=lambda: "REPLACE-WITH-THE-GENERATED-TOKEN",
    enqueue=lambda requests: ["m"] * len(requests),
)
reply = handle(sample, deps)
elapsed = time.process_time() - start
assert reply.get("statusCode", 200) < 300 and reply.get("accepted", 1) > 0, reply
print(json.dumps({"first_request_ms": elapsed * 1000}))
"""
SAMPLES = {
    "json": ROOT / "events" / "apigw-json-event.json",
    "outbound_message": ROOT / "events" / "apigw-outbound-message.json",
    "eventbridge": ROOT / "events" / "eventbridge-cdc-update.json",
}


def build_layers(work: Path) -> dict[str, Path]:
    """The layer built by layers/common/Makefile for this machine, with and without its byte code."""
    compiled = work / "bytecode"
    subprocess.run(  # noqa: S603 - make (from PATH, as `make bench` itself) running our own recipe
        [  # noqa: S607
            "make",
            "--no-print-directory",
            "-f",
            str(ROOT / "layers/common/Makefile"),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={compiled}",
            f"PYTHON={sys.executable}",
            "PIP_TARGET_PLATFORM=",  # this machine's wheels, to run them here
        ],
        cwd=ROOT / "layers/common",
        check=True,
        capture_output=True,
        text=True,
    )
    bare = work / "no-bytecode"
    shutil.copytree(compiled, bare, symlinks=True)
    for cache in sorted(bare.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    runtime = work / "runtime"
    runtime.mkdir()
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)
    for layer in (compiled, bare):
        for path in layer.rglob("*"):
            os.utime(path, (ZIP_EPOCH, ZIP_EPOCH), follow_symlinks=False)
    return {"bytecode": compiled / "python", "no bytecode": bare / "python", "runtime": runtime}


def run_once(
    handler_dir: Path,
    layer: Path | None,
    runtime: Path,
    route: str | None = None,
    *,
    cpu_share: float | None = None,
) -> dict[str, Any]:
    path = [str(handler_dir), *([str(layer)] if layer else []), str(runtime)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    # Offline and credential-free: creating a client reads the region only; nothing is sent.
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": os.pathsep.join(path)}
    code = IMPORT
    argv: list[str] = []
    if route is not None:
        code += "\n" + FIRST_REQUEST
        argv = [str(SAMPLES[route])]
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - this interpreter running our own code
        [sys.executable, "-S", "-B", "-c", code, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=handler_dir,
    )
    if cpu_share is not None:
        throttle(process, cpu_share)
    stdout, stderr = process.communicate(timeout=120)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{handler_dir} failed:\n{stderr[-3000:]}")
    lines = stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[0]) | {"process_ms": wall * 1000}
    if route is not None:
        result |= json.loads(lines[-1])
    return result


def throttle(process: subprocess.Popen[str], share: float, period: float = 0.1) -> None:
    """Let ``process`` run ``share`` of every ``period`` seconds and stop it for the rest (SIGSTOP,
    SIGCONT), the way a CPU quota does: Lambda gives a function a share of a vCPU in proportion to its
    memory. Returns when the process has exited; it is never left stopped."""
    try:
        while process.poll() is None:
            time.sleep(share * period)
            process.send_signal(signal.SIGSTOP)
            time.sleep((1 - share) * period)
            process.send_signal(signal.SIGCONT)
    except ProcessLookupError:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
        process.wait(timeout=120)


def at_memory(layers: dict[str, Path], runtime: Path, runs: int) -> list[Figure]:
    """Cold import of the functions whose memory size the template lowers (they wait on HTTP for most of
    their time), at the CPU share of each memory size: wall time, as Lambda's init would take it."""
    figures = []
    for handler in ("worker", "pull"):
        walls = {
            mb: [
                run_once(HANDLERS[handler], layers["bytecode"], runtime, cpu_share=min(1.0, mb / VCPU_MB))[
                    "wall_ms"
                ]
                for _ in range(runs)
            ]
            for mb in MEMORY_SIZES
        }
        for mb, samples in walls.items():
            figures.append(
                Figure(
                    "cold import",
                    f"{handler}, bytecode, at {mb} MB's CPU share ({mb / VCPU_MB:.0%} of a vCPU): wall, fastest",
                    round(min(samples)),
                    "ms",
                    detail={
                        "runs": runs,
                        "median": round(statistics.median(samples)),
                        "max": round(max(samples)),
                    },
                )
            )
    return figures


def run(quick: bool) -> list[Figure]:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        layers = build_layers(Path(tmp))
        runtime = layers.pop("runtime")
        cases = [("minimal", MINIMAL, None, None)]
        cases += [(f"{h}, {v}", HANDLERS[h], layer, None) for h in HANDLERS for v, layer in layers.items()]
        cases += [
            (f"ingest, bytecode, first {r}", HANDLERS["ingest"], layers["bytecode"], r) for r in SAMPLES
        ]
        for _, handler_dir, layer, route in cases:  # warm-up: the OS page cache
            run_once(handler_dir, layer, runtime, route)
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in cases}
        for _ in range(runs):
            for name, handler_dir, layer, route in cases:
                samples[name].append(run_once(handler_dir, layer, runtime, route))
        throttled = at_memory(layers, runtime, 1 if quick else 3)

    def median(name: str, key: str = "import_ms") -> float:
        return statistics.median(s[key] for s in samples[name])

    def best(name: str, *keys: str) -> float:
        return min(sum(s[k] for k in keys) for s in samples[name])

    base = best("minimal", "import_ms")
    figures: list[Figure] = []
    for handler in HANDLERS:
        for variant in layers:
            name = f"{handler}, {variant}"
            ratio = round(best(name, "import_ms") / base, 2)
            detail = {
                "import_ms_min": round(best(name, "import_ms"), 1),
                "import_ms_median": round(median(name), 1),
                "minimal_import_ms_min": round(base, 1),
                "minimal_import_ms_median": round(median("minimal"), 1),
                "ratio_of_medians": round(median(name) / median("minimal"), 2),
                "import_wall_ms_median": round(median(name, "wall_ms"), 1),
                "process_ms_median": round(median(name, "process_ms"), 1),
                "max_rss_mb_median": round(median(name, "max_rss_mb"), 1),
                "runs": runs,
            }
            if handler in TARGETS and variant == "bytecode":
                figures.append(
                    at_most("cold import", name, ratio, "x minimal handler", TARGETS[handler], **detail)
                )
            else:
                figures.append(Figure("cold import", name, ratio, "x minimal handler", detail=detail))
    for route in SAMPLES:
        name = f"ingest, bytecode, first {route}"
        cold = best(name, "import_ms", "first_request_ms")
        figures.append(
            Figure(
                "cold import",
                f"ingest cold path: import + first {route} request",
                round(cold / base, 2),
                "x minimal handler",
                detail={
                    "import_and_first_request_ms_min": round(cold, 1),
                    "import_ms_median": round(median(name), 1),
                    "first_request_ms_median": round(median(name, "first_request_ms"), 1),
                    "note": "the minimal handler's first send is not counted: this overstates ingest's share",
                },
            )
        )
    for handler in HANDLERS:
        figures.append(
            Figure(
                "cold import",
                f"{handler}: peak memory after import (RSS)",
                round(median(f"{handler}, bytecode", "max_rss_mb"), 1),
                "MB",
                detail={"minimal_handler_mb": round(median("minimal", "max_rss_mb"), 1)},
            )
        )
    figures += throttled
    figures.append(
        Figure(
            "cold import",
            "minimal handler (boto3 + SQS client): CPU, fastest run",
            round(base, 1),
            "ms",
            detail={"median": round(median("minimal"), 1), "runs": runs},
        )
    )
    return figures
