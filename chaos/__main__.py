"""`make chaos` (see chaos/__init__.py): run once, print the figures, exit 1 on any failure."""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path

from chaos.plan import BOUNDED, DEFAULT
from chaos.run import WORK_DIR, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--seed", type=int, help="replay this seed (default: a new one, printed)")
    parser.add_argument("--bounded", action="store_true", help="the small run `make test` does")
    parser.add_argument("--opportunities", type=int, help="how many Opportunities are won")
    parser.add_argument("--accounts", type=int, help="over how many Accounts")
    parser.add_argument("--deadline", type=float, help="seconds before the run gives up and fails")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help=f"for its logs [default: {WORK_DIR}]")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    size = BOUNDED if args.bounded else DEFAULT
    changes = {
        name: value
        for name, value in (
            ("opportunities", args.opportunities),
            ("accounts", args.accounts),
            ("deadline", args.deadline),
        )
        if value is not None
    }
    size = dataclasses.replace(size, **changes)
    if size.opportunities < size.accounts:
        parser.error("--opportunities must be at least --accounts (every Account gets one)")
    print(f"chaos run, seed {seed}: {size.describe()}", flush=True)
    report = run(seed, size, progress=lambda line: print(f"  {line}", flush=True), work_dir=args.work_dir)
    print(report.render(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
