"""The bounded chaos run (`make chaos` at a size `make test` affords, fixed seed): 40 Opportunities won at once
under every fault kind — BigTime's 5xx, 429/503 with Retry-After, answers past the client's timeout, work
done with the answer lost; Salesforce's 503s and expiring tokens; duplicate and out-of-order deliveries
through all three entry points; worker invocations killed mid-batch — end with exactly one project per
Opportunity, one client per Account, no duplicated task or contact, every write-back complete, nothing lost,
nothing in the DLQ after one redrive, and no secret in any log line or error message.

It runs in its own process, as `make chaos` does: the local stack it starts leaves process-wide state behind
(AWS endpoints in cached clients). A failure prints the run's report; replay it with
`.venv/bin/python -m chaos --bounded --seed 13`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.plan import BOUNDED
from sf_bigtime_local.template import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

SEED = 13
# The run takes about a minute on an idle machine; the deadline leaves room for a busy one.
DEADLINE = 240


def test_bounded_chaos_run_loses_nothing_duplicates_nothing_and_leaks_no_secret(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "chaos", "--bounded", "--seed", str(SEED)]
    command += ["--deadline", str(DEADLINE), "--work-dir", str(tmp_path)]
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        capture_output=True,
        text=True,
        timeout=DEADLINE + 60,
        check=False,
    )
    print(done.stdout)  # pytest -s shows the figures
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    figures = dict(re.findall(r"^  (\S.*?)\s{2,}(\S.*)$", done.stdout, re.MULTILINE))
    assert figures["projects per won Opportunity"] == "1 (all 40)"
    assert figures["clients per Account"] == "1 (all 10)"
    assert figures["tasks duplicated"] == figures["contacts duplicated"] == "0"
    assert figures["write-backs complete (Synced + project id)"] == "40 of 40"
    assert figures["Opportunities lost"] == "0"
    assert figures["messages left in the DLQ / the queue"] == "0 / 0"
    assert figures["worker invocations / crashed / timed out"].split(" / ")[1] == str(BOUNDED.crashes)
    assert re.search(r"log records and every captured line, 0 secrets found", figures["log scan"])
    assert done.stdout.rstrip().endswith("PASSED")
