"""The metric registry and its emitter, and the per-thread log of outgoing HTTP calls."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from sf_bigtime import observability as obs
from sf_bigtime.clients.http import HttpSession
from sf_bigtime_local.lambda_runtime import LambdaContext


def test_every_declared_metric_names_its_unit_service_and_description() -> None:
    for name, spec in obs.METRICS.items():
        assert spec.name == name and spec.unit in (obs.COUNT, obs.MILLISECONDS, obs.SECONDS)
        assert spec.services and set(spec.services) <= {obs.INGEST, obs.WORKER, obs.RECONCILE, obs.PULL}
        assert spec.description.endswith(".") and "service" not in spec.dimensions


@pytest.mark.parametrize(
    ("name", "service", "dims", "error"),
    [
        ("NoSuchMetric", obs.WORKER, (), "not declared"),
        (obs.RECONCILE_MISSED, obs.WORKER, (), "not declared for service"),
        (obs.SYNC_ERRORS, obs.WORKER, ("Code",), "takes dimensions"),
        (obs.SYNC_FAILED, obs.WORKER, ("Code",), "takes dimensions"),
    ],
)
def test_the_emitter_refuses_what_is_not_declared(
    name: str, service: str, dims: tuple[str, ...], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        obs.Emitter(service).emit(name, 1, **dict.fromkeys(dims, "x"))


def test_a_count_of_nothing_is_not_published_but_a_gauge_of_zero_is() -> None:
    class Recording:
        def __init__(self) -> None:
            self.added: list[tuple[str, float]] = []

        def add_metric(self, name: str, unit: str, value: float) -> None:
            self.added.append((name, value))

    recording = Recording()
    pull = obs.Emitter(obs.PULL, recording)
    pull.emit(obs.PULL_RECORDS_WRITTEN, 0)  # a count: nothing happened, no datapoint
    pull.emit(obs.PULL_RECORDS_WRITTEN, 3)
    pull.emit(obs.SALESFORCE_API_REMAINING, 0)  # a level: none left is news
    pull.emit(obs.PULL_STALENESS, 0.0)  # a time: fresh figures, or no active project
    assert recording.added == [
        (obs.PULL_RECORDS_WRITTEN, 3),
        (obs.SALESFORCE_API_REMAINING, 0),
        (obs.PULL_STALENESS, 0.0),
    ]
    with pytest.raises(ValueError, match="not declared"):
        pull.emit("NoSuchMetric", 0)  # a zero is still checked against the registry


def test_only_counts_skip_zeros() -> None:
    gauges = {name for name, spec in obs.METRICS.items() if spec.unit == obs.COUNT and not spec.counts}
    assert gauges == {obs.SALESFORCE_API_REMAINING, obs.BIGTIME_BUDGET_RATE}
    assert not any(spec.counts for spec in obs.METRICS.values() if spec.unit != obs.COUNT)


def test_plain_metrics_aggregate_and_dimensioned_ones_print_their_own_document(
    emf: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    emitter = obs.Emitter(obs.WORKER, emf)
    emitter.emit(obs.BIGTIME_LATENCY, 12.5)
    emitter.emit(obs.BIGTIME_LATENCY, 30)
    emitter.emit(obs.SYNC_ERRORS, Kind="transient", Code="bigtime_unavailable")

    aggregate = emf.serialize_metric_set()
    assert aggregate[obs.BIGTIME_LATENCY] == [12.5, 30.0] and aggregate["service"] == obs.WORKER
    [line] = capsys.readouterr().out.splitlines()
    single = json.loads(line)
    assert single[obs.SYNC_ERRORS] == [1.0]
    assert (single["service"], single["Kind"], single["Code"]) == (
        obs.WORKER,
        "transient",
        "bigtime_unavailable",
    )
    assert single["_aws"]["CloudWatchMetrics"][0]["Namespace"] == obs.NAMESPACE


def test_nothing_is_printed_when_metrics_are_disabled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    obs.Emitter(obs.INGEST, Metrics(namespace=obs.NAMESPACE, service=obs.INGEST)).emit(
        obs.EVENTS_ACCEPTED, Source="json"
    )
    obs.Emitter(obs.INGEST).emit(obs.EVENTS_ACCEPTED, Source="json")  # no Metrics at all: a no-op
    assert capsys.readouterr().out == ""


# -- the functions' Metrics ----------------------------------------------------------------------------
@pytest.fixture
def function_metrics() -> Iterator[Metrics]:
    from aws_lambda_powertools.metrics.provider.base import reset_cold_start_flag_provider

    reset_cold_start_flag_provider()  # as in a new execution environment
    m = obs.function_metrics(namespace=obs.NAMESPACE, service=obs.WORKER)
    m.clear_metrics()  # the sets are shared by every Metrics instance of the process
    yield m
    m.clear_metrics()


def _invoke(metrics: Metrics, body: Callable[[], None]) -> list[warnings.WarningMessage]:
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        body()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler({}, LambdaContext("sf-bigtime-dev-worker", 60))
    return caught


def test_a_function_publishes_what_it_added_and_the_cold_start(
    function_metrics: Metrics, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    emitter = obs.Emitter(obs.WORKER, function_metrics)
    assert _invoke(function_metrics, lambda: emitter.emit(obs.SYNC_SUCCEEDED)) == []
    cold, aggregate = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert cold["ColdStart"] == [1.0] and cold["function_name"] == "sf-bigtime-dev-worker"
    assert aggregate[obs.SYNC_SUCCEEDED] == [1.0] and aggregate["service"] == obs.WORKER
    assert function_metrics.metric_set == {}  # flushed


def test_an_invocation_that_added_nothing_publishes_nothing_and_does_not_warn(
    function_metrics: Metrics, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ingest's metrics all carry dimensions (their own documents); a worker that cannot start adds none.
    Powertools' own flush would warn "No application metrics to publish" on every such invocation."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    emitter = obs.Emitter(obs.INGEST, function_metrics)
    _invoke(function_metrics, lambda: None)  # the cold start, out of the way
    capsys.readouterr()
    assert _invoke(function_metrics, lambda: emitter.emit(obs.EVENTS_ACCEPTED, Source="json")) == []
    [single] = capsys.readouterr().out.splitlines()
    assert json.loads(single)[obs.EVENTS_ACCEPTED] == [1.0]
    assert _invoke(function_metrics, lambda: None) == []
    assert capsys.readouterr().out == ""


def test_disabled_metrics_collect_and_print_nothing_not_even_the_cold_start(
    function_metrics: Metrics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The local stack runs with metrics disabled; its functions' output is the developer's terminal."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    emitter = obs.Emitter(obs.WORKER, function_metrics)

    def busy() -> None:
        for _ in range(150):  # Powertools prints a document at 100 values of one metric, disabled or not
            emitter.emit(obs.SALESFORCE_LATENCY, 12.0)
        emitter.emit(obs.SYNC_ERRORS, Kind="transient", Code="claim_busy")

    with caplog.at_level(logging.DEBUG, logger=obs.__name__):
        assert _invoke(function_metrics, busy) == []
    assert capsys.readouterr().out == ""
    assert function_metrics.metric_set == {}
    # what would have been published is in the log, for `sf-bigtime -v local up`
    assert f"metric {obs.WORKER} {obs.SYNC_ERRORS}=1 Kind=transient Code=claim_busy" in caplog.text


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503 if self.path == "/busy" else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_calls_are_logged_per_thread_with_latency_and_status(server: str) -> None:
    obs.drain_calls()
    session = HttpSession(system="bigtime", retries=0)
    session.get(f"{server}/ok")
    session.get(f"{server}/busy")
    HttpSession(retries=0).get(f"{server}/ok")  # no system: not logged

    other: list[obs.Call] = []
    worker = threading.Thread(target=lambda: other.extend(obs.drain_calls()))
    worker.start()
    worker.join()
    calls = obs.drain_calls()
    assert other == []  # another thread sees only its own calls
    assert [(c.system, c.status) for c in calls] == [("bigtime", 200), ("bigtime", 503)]
    assert all(c.elapsed_ms > 0 for c in calls)
    assert obs.drain_calls() == []


def test_a_call_that_got_no_reply_is_logged_with_status_zero() -> None:
    obs.drain_calls()
    with pytest.raises(Exception, match="Connection"):
        HttpSession(system="salesforce", retries=0, timeout=1).get("http://127.0.0.1:9/")
    [call] = obs.drain_calls()
    assert (call.system, call.status) == ("salesforce", 0)


def test_the_call_log_is_bounded() -> None:
    obs.drain_calls()
    for _ in range(obs._MAX_CALLS + 50):
        obs.record_call("bigtime", 1.0, 200)
    assert len(obs.drain_calls()) == obs._MAX_CALLS
