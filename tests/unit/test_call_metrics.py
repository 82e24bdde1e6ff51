"""One place turns the per-thread log of outgoing calls into metrics, for the worker and for reconcile."""

from __future__ import annotations

from sf_bigtime import observability as obs
from sf_bigtime.call_metrics import emit_calls


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.added.append((name, value))


def _log_calls() -> None:
    obs.drain_calls()
    obs.drain_budget_waits()  # another test's grants on this thread are not this one's
    obs.record_call("bigtime", 120.0, 200)
    obs.record_call("bigtime", 80.0, 429)
    obs.record_call("bigtime", 30000.0, 0)  # no reply: latency counted, not throttling
    obs.record_call("salesforce", 45.0, 200)


def test_the_worker_gets_latency_throttling_and_the_remaining_allowance() -> None:
    metrics = RecordingMetrics()
    _log_calls()
    emit_calls(obs.Emitter(obs.WORKER, metrics), (14_000, 15_000))
    assert metrics.added == [
        (obs.BIGTIME_LATENCY, 120.0),
        (obs.BIGTIME_LATENCY, 80.0),
        (obs.BIGTIME_THROTTLED, 1),
        (obs.BIGTIME_LATENCY, 30000.0),
        (obs.SALESFORCE_LATENCY, 45.0),
        (obs.SALESFORCE_API_REMAINING, 1000),
    ]
    assert obs.drain_calls() == []  # drained


def test_the_scheduled_functions_get_only_what_they_declare() -> None:
    """Their runs are timed by AWS/Lambda Duration; the pull reports the org's allowance and BigTime's
    throttling, reconcile nothing: a metric published every 15 minutes costs a metric-month."""
    metrics = RecordingMetrics()
    _log_calls()
    emit_calls(obs.Emitter(obs.RECONCILE, metrics), (14_000, 15_000))
    assert metrics.added == []
    assert obs.drain_calls() == []
    _log_calls()
    emit_calls(obs.Emitter(obs.PULL, metrics), (14_000, 15_000))
    assert metrics.added == [(obs.BIGTIME_THROTTLED, 1), (obs.SALESFORCE_API_REMAINING, 1000)]
    assert obs.drain_calls() == []


def test_an_overdrawn_allowance_reads_zero_not_negative() -> None:
    metrics = RecordingMetrics()
    obs.drain_calls()
    emit_calls(obs.Emitter(obs.WORKER, metrics), (15_020, 15_000))
    assert metrics.added == [(obs.SALESFORCE_API_REMAINING, 0)]


def test_budget_waits_become_the_wait_the_lowest_rate_and_the_fallbacks() -> None:
    metrics = RecordingMetrics()
    obs.drain_calls()
    obs.drain_budget_waits()
    obs.record_budget_wait(0.0, 591.0)
    obs.record_budget_wait(250.0, 295.5)  # after a throttling cut
    obs.record_budget_wait(3000.0, 98.5, fallback=True)
    emit_calls(obs.Emitter(obs.WORKER, metrics), None)
    assert metrics.added == [
        (obs.BIGTIME_BUDGET_WAIT, 0.0),
        (obs.BIGTIME_BUDGET_WAIT, 250.0),
        (obs.BIGTIME_BUDGET_WAIT, 3000.0),
        (obs.BIGTIME_BUDGET_FALLBACK, 1),
        (obs.BIGTIME_BUDGET_RATE, 98.5),
    ]
    assert obs.drain_budget_waits() == []
    # Reconcile calls no BigTime: a wait logged on its thread is dropped, and the log still drained.
    obs.record_budget_wait(1.0, 591.0)
    emit_calls(obs.Emitter(obs.RECONCILE, metrics := RecordingMetrics()), None)
    assert metrics.added == [] and obs.drain_budget_waits() == []
