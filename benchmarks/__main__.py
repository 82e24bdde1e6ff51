"""`make bench`: run every benchmark module, print all figures side by side with their targets, and write
each module's figures (with the machine they were measured on) to ``benchmarks/results/<NAME>.json``.

    .venv/bin/python -m benchmarks [--quick] [--only NAME ...] [--list]

A module exposes ``NAME`` and ``run(quick: bool) -> list[Figure]`` (benchmarks/figures.py). Modules run in
the order of MODULES, each in a process of its own; ``cost`` comes last because it prices the durations and
calls the others measured (it reads their results files). A module that fails is reported and the others still run; the exit status
is 1 if any failed. Missed targets are reported, not fatal: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure, machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

# The registry: add a module here and `make bench` runs it, prints its figures and writes its results.
MODULES = [
    "benchmarks.cold_import",  # cold import of each handler, with and without byte code
    "benchmarks.ingest_latency",  # ingest per request: JSON, 1- and 100-notification Outbound Messages
    "benchmarks.hostile_ingest",  # ingest's time to refuse each request of the hostile-input corpus
    "benchmarks.sync_latency",  # Closed Won -> write-back on the local stack; calls and CPU per sync
    "benchmarks.drain",  # 1,000 won at once against a fake BigTime limited to R/min: the rate budget
    "benchmarks.pull_calls",  # Salesforce and BigTime calls per pull run, 500 projects, both modes
    "benchmarks.backfill",  # 5,000 won Opportunities backfilled: Salesforce calls per Opportunity, time
    "benchmarks.cost",  # last: prices what the modules above measured
]


def run_isolated(module_name: str, quick: bool) -> tuple[str, list[Figure], float, str | None]:
    """:func:`run_module` in a process of its own. The local stack, moto and the functions' clients keep
    state per process (moto's backends, cached settings, clients and secrets), so a module that starts a
    stack after another one did would see what that one left; each module starts from nothing instead."""
    start = time.monotonic()
    name = str(importlib.import_module(module_name).NAME)
    command = [sys.executable, "-m", "benchmarks", "--child", module_name, *(["--quick"] if quick else [])]
    child = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if child.returncode != 0:
        return name, [], time.monotonic() - start, (child.stderr or child.stdout)[-6000:]
    record = json.loads((RESULTS / f"{name}.json").read_text())
    return name, [Figure(**f) for f in record["figures"]], time.monotonic() - start, None


def run_module(module_name: str, quick: bool) -> tuple[str, list[Figure], float, str | None]:
    start = time.monotonic()
    module = importlib.import_module(module_name)
    name = str(module.NAME)
    try:
        figures = list(module.run(quick))
    except Exception:
        return name, [], time.monotonic() - start, traceback.format_exc()
    seconds = time.monotonic() - start
    record: dict[str, Any] = {
        "name": name,
        "module": module_name,
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "figures": [f.to_dict() for f in figures],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / f"{name}.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(RESULTS / f"{name}.json")
    return name, figures, seconds, None


def _value(figure: Figure) -> str:
    return f"{figure.value:,.4g}" if abs(figure.value) < 1e6 else f"{figure.value:,.0f}"


def table(results: list[tuple[str, list[Figure], float, str | None]]) -> str:
    rows = [("section", "figure", "value", "unit", "target", "")]
    for _, figures, _, _ in results:
        for f in figures:
            verdict = "" if f.met is None else ("met" if f.met else "MISSED")
            rows.append((f.section, f.name, _value(f), f.unit, f.target or "", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [cell.rjust(widths[c]) if c == 2 else cell.ljust(widths[c]) for c, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run of every module")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules (their NAME)")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument("--child", metavar="MODULE", help=argparse.SUPPRESS)  # one module, in this process
    args = parser.parse_args(argv)
    if args.child:
        _, _, _, error = run_module(args.child, args.quick)
        if error:
            print(error, file=sys.stderr)
        return 1 if error else 0

    modules = MODULES
    if args.list or args.only:
        names = {m: str(importlib.import_module(m).NAME) for m in MODULES}
        if args.list:
            print("\n".join(f"{names[m]:16s} {m}" for m in MODULES))
            return 0
        unknown = set(args.only) - set(names.values())
        if unknown:
            parser.error(f"no benchmark named {sorted(unknown)}; known: {sorted(names.values())}")
        modules = [m for m in MODULES if names[m] in args.only]

    started = time.monotonic()
    results = []
    for module_name in modules:
        print(f"running {module_name} ...", flush=True)
        result = run_isolated(module_name, args.quick)
        name, figures, seconds, error = result
        status = f"failed:\n{error}" if error else f"{len(figures)} figures -> benchmarks/results/{name}.json"
        print(f"  {name}: {seconds:.0f} s, {status}", flush=True)
        results.append(result)
    print()
    print(table(results))
    info = machine()
    print(
        f"\nmachine: {info['platform']}, {info['cpus']} CPUs, Python {info['python']}; "
        f"wall time {time.monotonic() - started:.0f} s{' (--quick)' if args.quick else ''}"
    )
    missed = [f"{f.section}: {f.name}" for _, figs, _, _ in results for f in figs if f.met is False]
    if missed:
        print(f"targets missed: {len(missed)} (see the table)")
    return 1 if any(error for *_, error in results) else 0


if __name__ == "__main__":
    sys.exit(main())
