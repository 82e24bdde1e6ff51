"""Start `sf-bigtime local up` as its own process (as a developer would) and drive it over HTTP only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sf_bigtime_local.template import REPO_ROOT

STARTUP_TIMEOUT = 60


@contextmanager
def running_stack(tmp_path_factory: pytest.TempPathFactory, *options: str) -> Iterator[dict[str, Any]]:
    """`sf-bigtime local up` with ``options`` in its own process; yields its stack.json, stops it cleanly."""
    state = tmp_path_factory.mktemp("stack") / "stack.json"
    log = state.with_name("stack.log")
    cli = Path(sys.executable).with_name("sf-bigtime")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(cli), "local", "up", "--state-file", str(state), *options],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not state.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"local stack did not start:\n{log.read_text()[-4000:]}")
                time.sleep(0.1)
            yield {**json.loads(state.read_text()), "_state_file": str(state)}
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                pytest.fail("local stack did not stop within 30 s of SIGTERM")
    assert code == 0, f"local stack exited with {code}:\n{log.read_text()[-4000:]}"
    assert not state.exists(), "the stack file should be removed on a clean stop"


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A stack per test module; a module may add `sf-bigtime local up` options in ``STACK_ARGS``."""
    extra_args = list(getattr(request.module, "STACK_ARGS", []))
    with running_stack(
        tmp_path_factory, "--visibility-timeout", "30", "--page-size", "100", *extra_args
    ) as description:
        yield description
