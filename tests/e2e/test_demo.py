"""`make demo` must keep working: run the same command and check its verdict, and that what a newcomer
reads is the demo's story only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sf_bigtime_local.template import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

# How Python prints a warning: "<file>:<line>: UserWarning: <message>" (any *Warning category).
PYTHON_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ", re.MULTILINE)
# A log record of a library (botocore, urllib3, ...) as the CLI's logging prints it: "<time> INFO botocore…".
LIBRARY_LOG_LINE = re.compile(
    r"^\S+ \S+ (DEBUG|INFO) (botocore|boto3|urllib3|s3transfer|requests|werkzeug|moto)\b", re.MULTILINE
)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("sf-bigtime")
    return subprocess.run(
        [str(cli), "demo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
    )


def test_demo_succeeds_and_says_what_it_did(demo: subprocess.CompletedProcess[str]) -> None:
    result = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "DEMO OK" in out
    assert "BigTime_Sync_Status__c     Synced" in out
    assert "contact  Ada Lovelace <ada@acme.example> PRIMARY" in out
    assert "ok: still exactly one project (found 1)" in out
    assert "task     'Implementation Consulting'" in out and "budget 120 h, fees 42,000.00" in out
    assert "budget   120 h, fees 48,000.00 (GET /task/BudgetStatusByProject)" in out
    assert "team     Olivia Owner" in out
    assert "ok: the Opportunity owner is on the project team" in out and "ok: still exactly two tasks" in out
    assert "hours         21 of 120 budgeted (17.5 % used)" in out
    assert "ok: no Salesforce writes on the second pull (0)" in out


def test_demo_prints_no_metric_documents_and_no_python_warnings(
    demo: subprocess.CompletedProcess[str],
) -> None:
    """The functions run inside the demo's process: their EMF output (what Lambda's log would turn into
    metrics) and library warnings must not land in the demo's output."""
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    for name, stream in (("stdout", demo.stdout), ("stderr", demo.stderr)):
        assert '"_aws"' not in stream, f"an EMF metric document in the demo's {name}:\n{stream[-3000:]}"
        warning = PYTHON_WARNING.search(stream)
        assert warning is None, f"a Python warning in the demo's {name}:\n{stream[warning.start() :][:2000]}"
        chatter = LIBRARY_LOG_LINE.search(stream)
        assert chatter is None, (
            f"a library's log line in the demo's {name}:\n{stream[chatter.start() :][:500]}"
        )
