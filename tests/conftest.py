"""Shared fixtures: AWS credentials that can never reach a real account, moto, the clock, the log scan, and
Powertools metrics that print."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.clock import Clock
from tests.logscan import LogScan

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

# Never let a test talk to a real AWS account, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_METRICS_NAMESPACE="SfBigtime",
    POWERTOOLS_SERVICE_NAME="sf-bigtime-tests",
    POWERTOOLS_METRICS_DISABLED="true",
)


@pytest.fixture(autouse=True)
def _no_calls_from_earlier_tests() -> None:
    """The per-thread logs of HTTP calls and rate-budget waits start empty: a test that made calls without
    draining them (no unit of work ended) must not hand them to the next test's metrics."""
    from sf_bigtime import observability as obs

    obs.drain_calls()
    obs.drain_budget_waits()


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto for every AWS service."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock (see tests/clock.py)."""
    return Clock()


@pytest.fixture
def log_scan() -> Iterator[LogScan]:
    """Every log record (any logger, root lowered to DEBUG) and everything handed to ``log_scan.scan`` is
    checked for secrets of the known pattern when the test ends (see tests/logscan.py)."""
    with LogScan() as scan:
        yield scan
    scan.assert_clean()


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch) -> Iterator[Metrics]:
    """A worker-side Powertools Metrics with printing on (the suite turns it off), cleared around the test:
    Powertools shares the metric set between instances."""
    from aws_lambda_powertools import Metrics

    from sf_bigtime import observability as obs

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics = Metrics(namespace=obs.NAMESPACE, service=obs.WORKER)
    metrics.clear_metrics()
    yield metrics
    metrics.clear_metrics()
