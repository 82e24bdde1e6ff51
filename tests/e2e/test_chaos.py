"""The bounded chaos run (`make chaos` at a size `make test` affords, fixed seed): 40 Opportunities won at once
under every fault kind — BigTime's 5xx, 429/503 with Retry-After, answers past the client's timeout, work
done with the answer lost, its rate limit; Salesforce's 503s and expiring tokens; duplicate and out-of-order
deliveries through all three entry points; worker invocations killed mid-batch — end with exactly one
project per Opportunity, one client per Account, no duplicated task or contact, every write-back complete,
nothing lost, nothing in the DLQ after one redrive, and no secret in any log line or error message.

A failure prints the run's report; replay it with `.venv/bin/python -m chaos --bounded --seed 13`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chaos.plan import BOUNDED
from chaos.run import run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

SEED = 13
# The run takes about a minute on an idle machine; the deadline leaves room for a busy one.
DEADLINE = 240.0


def test_bounded_chaos_run_loses_nothing_duplicates_nothing_and_leaks_no_secret(tmp_path: Path) -> None:
    report = run(SEED, dataclasses.replace(BOUNDED, deadline=DEADLINE), work_dir=tmp_path)
    print(report.render())  # pytest -s shows the figures
    assert report.ok, report.render()
    figures = dict(report.results.figures)
    assert figures["projects per won Opportunity"] == "1 (all 40)"
    assert figures["clients per Account"] == "1 (all 10)"
    assert figures["Opportunities lost"] == "0"
    assert figures["messages left in the DLQ / the queue"] == "0 / 0"
    crashed = int(figures["worker invocations / crashed / timed out"].split(" / ")[1])
    assert crashed == BOUNDED.crashes
