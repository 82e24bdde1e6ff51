"""Benchmark: how long ingest takes to refuse each request of the hostile-input corpus (tests/data/hostile),
run through the handler in-process with in-memory dependencies (no network, no AWS). Target: every case
under one second; the figures are each case's median over the repeats, and the slowest case is named.

    .venv/bin/python benchmarks/hostile_ingest.py [--repeats 20] [--out benchmarks/results/hostile-ingest.json]

The unit test (tests/unit/ingest/test_hostile.py) checks what each case gets; this only times it, because a
timed assertion would fail on a busy machine without anything being wrong.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

try:
    from benchmarks.figures import Figure, at_most, machine
except ModuleNotFoundError:  # run as a script: its folder, benchmarks/, is first on sys.path
    from figures import Figure, at_most, machine  # type: ignore[no-redef]

from sf_bigtime_local.hostile import Secrets, load_corpus, run_case

NAME = "hostile-ingest"
ROOT = Path(__file__).resolve().parents[1]
SECRETS = Secrets(api_key="K" * 40, hmac_key="H" * 64, token="T" * 48, org_id="00D5w000004abcdEAA")
NOW = 1_782_900_000
LIMIT_SECONDS = 1.0


def run(quick: bool) -> list[Figure]:
    return measure(3 if quick else 20)


def measure(repeats: int) -> list[Figure]:
    medians: dict[str, float] = {}
    wrong: dict[str, list[str]] = {}
    for case in load_corpus():
        seconds = []
        for _ in range(repeats):
            outcome = run_case(case, SECRETS, NOW)
            seconds.append(outcome.seconds)
            if problems := outcome.problems(case, SECRETS):
                wrong[case.name] = problems
        medians[case.name] = statistics.median(seconds)
    slowest = max(medians, key=medians.__getitem__)
    per_case_ms = {name: round(s * 1000, 3) for name, s in sorted(medians.items(), key=lambda kv: -kv[1])}
    return [
        at_most(
            "hostile input",
            f"slowest case ({slowest})",
            round(medians[slowest], 4),
            "s",
            LIMIT_SECONDS,
            repeats=repeats,
            per_case_ms=per_case_ms,
        ),
        at_most(
            "hostile input",
            "median case",
            round(statistics.median(medians.values()), 5),
            "s",
            LIMIT_SECONDS,
            cases=len(medians),
        ),
        # Not a timing: a case that got the wrong answer makes the run fail loudly here too.
        at_most("hostile input", "cases answered wrongly", len(wrong), "cases", 0, wrong=wrong),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=20, help="runs per case (the median is reported)")
    parser.add_argument("--out", type=Path, default=ROOT / f"benchmarks/results/{NAME}.json")
    args = parser.parse_args()
    figures = measure(max(1, args.repeats))
    for f in figures:
        mark = "ok" if f.met else "MISSED"
        print(f"{f.section:<14} {f.name:<60} {f.value:>10g} {f.unit:<6} target {f.target:<8} {mark}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": machine(), "figures": [f.to_dict() for f in figures]}, indent=2) + "\n"
    )
    print(f"written to {args.out.relative_to(ROOT)}")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
