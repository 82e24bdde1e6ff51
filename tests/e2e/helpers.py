"""What the end-to-end tests share: waiting for the stack, running the operator CLI against it, and looking at
its queues as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from sf_bigtime_local.template import REPO_ROOT

CLI = Path(sys.executable).with_name("sf-bigtime")


def wait_for[T](
    probe: Callable[[], T], timeout: float = 30.0, what: str = "condition", every: float = 0.2
) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def sqs(stack: dict[str, Any]) -> Any:
    """An SQS client for the stack's moto endpoint."""
    aws = stack["aws"]
    return boto3.client(
        "sqs",
        endpoint_url=aws["endpoint_url"],
        region_name=aws["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def queue_depth(stack: dict[str, Any], url_key: str = "queue_url") -> int:
    """Messages waiting or in flight on the queue (``url_key`` "dlq_url" for the dead-letter queue)."""
    attrs = sqs(stack).get_queue_attributes(
        QueueUrl=stack["aws"][url_key],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def cli(stack: dict[str, Any], *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run `sf-bigtime ARGS --state-file …` as an operator would; check its exit status."""
    result = subprocess.run(
        [str(CLI), *args, "--state-file", stack["_state_file"]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SF_BIGTIME_"))},
        check=False,
    )
    assert result.returncode == expect, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def cli_json(stack: dict[str, Any], *args: str, expect: int = 0) -> dict[str, Any]:
    return json.loads(cli(stack, *args, "--json", expect=expect).stdout)
