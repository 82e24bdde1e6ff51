"""`make demo` must keep working: run the same command and check its verdict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sf_bigtime_local.template import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]


def test_demo_succeeds_and_says_what_it_did() -> None:
    cli = Path(sys.executable).with_name("sf-bigtime")
    result = subprocess.run(
        [str(cli), "demo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "DEMO OK" in out
    assert "BigTime_Sync_Status__c     Synced" in out
    assert "contact  Ada Lovelace <ada@acme.example> PRIMARY" in out
    assert "ok: still exactly one project (found 1)" in out
