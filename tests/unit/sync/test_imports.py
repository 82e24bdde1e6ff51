"""The worker function's import leaves out the pull's modules: a "Pull from BigTime" request is rare, and they
are a tenth of the worker's cold import. Checked on the module graph in a fresh interpreter that loads
functions/worker/app.py the way Lambda does (import *time* is measured by `make bench`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sf_bigtime_local.template import REPO_ROOT

PROBE = r"""
import importlib.util, json, sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("app", Path(sys.argv[1]) / "functions/worker/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_worker_imports_the_pull_only_for_a_pull_request() -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "sf_bigtime.sync.worker" in loaded and "sf_bigtime.sync.batch" in loaded
    assert [m for m in loaded if m.startswith("sf_bigtime.pull")] == []
