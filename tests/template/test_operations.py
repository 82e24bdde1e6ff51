"""Alarms, dashboard, the reconcile function and the runbook, checked against the code so they cannot drift:
every SfBigtime metric the template names is declared in sf_bigtime.observability with the same dimensions
and emitting function, every declared metric is emitted by the code and shown on the dashboard, and every
alarm has actions, a description with its fix and a runbook section that exists."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from sf_bigtime import observability as obs
from sf_bigtime.settings import ReconcileSettings
from sf_bigtime_local.template import REPO_ROOT, Tag, Template

LIBRARY = REPO_ROOT / "layers/common/sf_bigtime"
RUNBOOK = REPO_ROOT / "docs/operations.md"
AWS_METRICS = {
    "AWS/SQS": {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateAgeOfOldestMessage",
    },
    "AWS/Lambda": {"Errors", "Throttles", "Duration"},
    "AWS/ApiGateway": {"5xx"},
}
# What issue 6 asks an alarm for, by the metric it watches (namespace, name, function or queue).
REQUIRED_ALARMS = {
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "DeadLetterQueue"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage", "EventsQueue"),
    ("AWS/Lambda", "Errors", "WorkerFunction"),
    ("AWS/Lambda", "Throttles", "WorkerFunction"),
    ("AWS/Lambda", "Errors", "IngestFunction"),
    ("AWS/ApiGateway", "5xx", "HttpApi"),
    ("SfBigtime", "SyncFailed", obs.WORKER),
    ("SfBigtime", "ReconcileMissed", obs.RECONCILE),
    ("SfBigtime", "BigTimeThrottled", obs.WORKER),
    ("SfBigtime", "PullStaleness", obs.PULL),  # issue 11: at twice the pull schedule
    ("AWS/Lambda", "Errors", "PullFunction"),  # issue 11: 401/405 from BigTime fail the run
}
SERVICE_OF_FUNCTION = {
    "IngestFunction": obs.INGEST,
    "WorkerFunction": obs.WORKER,
    "ReconcileFunction": obs.RECONCILE,
    "PullFunction": obs.PULL,
}


@pytest.fixture(scope="module")
def t() -> Template:
    return Template()


@pytest.fixture(scope="module")
def dashboard(t: Template) -> dict[str, Any]:
    body = t.props("Dashboard")["DashboardBody"]
    assert isinstance(body, Tag) and body.name == "Sub"
    # ${Resource}, ${Resource.Attr} and ${AWS::Region} become their names: still valid JSON, still checkable.
    return json.loads(re.sub(r"\$\{([A-Za-z0-9:.]+)\}", r"<\1>", body.value))


def _metric_refs(dashboard: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, name, dimensions) of every metric a dashboard widget draws, SEARCH expressions included."""
    refs = []
    for widget in dashboard["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            if isinstance(row[0], dict):
                expression = row[0]["expression"]
                match = re.fullmatch(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"', '\w+', \d+\)", expression)
                assert match, f"unexpected expression {expression}"
                namespace, *dims = match.group(1).split(",")
                refs.append((namespace, match.group(2), dict.fromkeys(dims, "*")))
                continue
            assert "." not in row[:2], "no '.' shorthand: every row names its metric in full"
            values = [v for v in row if not isinstance(v, dict)]
            namespace, name, *pairs = values
            refs.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return refs


def _check_declared(namespace: str, name: str, dims: dict[str, str]) -> None:
    if namespace != obs.NAMESPACE:
        assert namespace in AWS_METRICS and name in AWS_METRICS[namespace], (namespace, name)
        return
    spec = obs.METRICS.get(name)
    assert spec is not None, f"{name} is not declared in sf_bigtime.observability.METRICS"
    assert set(dims) == {"service", *spec.dimensions}, f"{name}: dimensions {sorted(dims)}"
    if dims["service"] != "*":
        assert dims["service"] in spec.services, f"{name} is not emitted by {dims['service']}"


def test_namespace_and_service_names_match_the_code(t: Template) -> None:
    assert (
        t.data["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        == obs.NAMESPACE
    )
    for function, service in SERVICE_OF_FUNCTION.items():
        assert t.function_env(function)["POWERTOOLS_SERVICE_NAME"] == service
    for function in SERVICE_OF_FUNCTION:
        app = (REPO_ROOT / t.props(function)["CodeUri"] / "app.py").read_text()
        assert "NAMESPACE" in app and SERVICE_OF_FUNCTION[function].split("-")[-1].upper() in app


def test_dashboard_draws_only_declared_metrics_and_every_declared_one(dashboard: dict[str, Any]) -> None:
    refs = _metric_refs(dashboard)
    for namespace, name, dims in refs:
        _check_declared(namespace, name, dims)
    drawn = {name for namespace, name, _ in refs if namespace == obs.NAMESPACE}
    assert drawn == set(obs.METRICS), f"declared but not on the dashboard: {set(obs.METRICS) - drawn}"


def test_dashboard_covers_what_on_call_needs(dashboard: dict[str, Any]) -> None:
    titles = " | ".join(w["properties"].get("title", "") for w in dashboard["widgets"]).lower()
    for words in (
        "accepted by source",
        "rejected by source",
        "projects",
        "failures by kind",
        "queue: depth and age",
        "dead-letter queue depth",
        "end-to-end latency",
        "bigtime: calls",
        "salesforce: calls and latency",
        "api calls left",
    ):
        assert words in titles, words


def test_dashboard_shows_every_alarm(t: Template, dashboard: dict[str, Any]) -> None:
    shown = {
        a.strip("<>").removesuffix(".Arn")
        for w in dashboard["widgets"]
        if w["type"] == "alarm"
        for a in w["properties"]["alarms"]
    }
    # An alarm that exists only under a Condition (Event Relay) cannot be named in the dashboard's body.
    unconditional = {n for n, a in t.of_type("AWS::CloudWatch::Alarm").items() if "Condition" not in a}
    assert shown == unconditional


def test_the_dashboard_is_optional_and_fits_the_always_free_tier(
    t: Template, dashboard: dict[str, Any]
) -> None:
    """On by default; `CreateDashboard=false` leaves it (and its URL) out. CloudWatch's always-free tier
    covers an account's first three dashboards of up to 50 metrics each (a SEARCH expression counted as one)."""
    assert t.parameter_default("CreateDashboard") == "true"
    assert "Dashboard" in t.render()["Resources"] and "DashboardUrl" in t.render()["Outputs"]
    without = t.render({"CreateDashboard": "false"})
    assert "Dashboard" not in without["Resources"] and "DashboardUrl" not in without["Outputs"]
    rows = sum(len(w.get("properties", {}).get("metrics", [])) for w in dashboard["widgets"])
    assert rows <= 50, f"{rows} metrics: beyond the free tier's 50 per dashboard"


def test_dashboard_placeholders_name_real_resources(t: Template) -> None:
    body = t.props("Dashboard")["DashboardBody"].value
    for ref in set(re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body)):
        assert ref.startswith("AWS::") or ref.split(".")[0] in t.resources, ref


def test_every_alarm_notifies_and_says_what_it_means_and_the_fix(t: Template) -> None:
    runbook = RUNBOOK.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, re.M)
    }
    for name, alarm in t.of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [Tag("Ref", "AlarmTopic")], name
        assert props["OKActions"] == [Tag("Ref", "AlarmTopic")], name
        assert props.get("AlarmName"), name
        description = props["AlarmDescription"]
        assert len(description) <= 1024, f"{name}: CloudWatch allows 1024 characters"
        assert "Fix:" in description and re.search(r"`(sf-bigtime|sam deploy)[^`]*`", description), name
        runbook_ref = re.search(r"Runbook: docs/operations\.md#([a-z0-9-]+)", description)
        assert runbook_ref and runbook_ref.group(1) in anchors, f"{name}: runbook section missing"
        assert runbook_ref.group(1) == name.removesuffix("Alarm").lower(), name
        assert props.get("TreatMissingData") == _missing_data(_alarm_metrics(props)), name
        for namespace, metric, dims in _alarm_metrics(props):
            _check_declared(namespace, metric, {k: "*" if isinstance(v, Tag) else v for k, v in dims.items()})


def _missing_data(metrics: list[tuple[str, str, dict[str, Any]]]) -> str:
    """What a missing datapoint means for an alarm's metrics: AWS publishes its metrics when something
    happened (an invocation, a request, an active queue) and our counts are published only when not zero,
    so missing is "nothing happened"; a gauge of ours is published on every run, so missing is silence."""
    gauges = [
        name for namespace, name, _ in metrics if namespace == obs.NAMESPACE and not obs.METRICS[name].counts
    ]
    return "breaching" if gauges else "notBreaching"


def test_only_pull_staleness_reads_silence_as_trouble(t: Template) -> None:
    breaching = {
        name
        for name, alarm in t.of_type("AWS::CloudWatch::Alarm").items()
        if alarm["Properties"]["TreatMissingData"] == "breaching"
    }
    assert breaching == {"PullStalenessAlarm"}
    runbook = RUNBOOK.read_text()
    section = runbook[runbook.index("### PullStaleness") :]
    assert "stopped reporting" in section[: section.index("\n### ")]


def _alarm_dims(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}


def _alarm_metrics(props: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, name, dimensions) of the metric an alarm watches, or of each metric its math reads."""
    if "Metrics" not in props:
        return [(props["Namespace"], props["MetricName"], _alarm_dims(props))]
    stats = [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
    assert stats, "a metric-math alarm reads at least one metric"
    return [(m["Namespace"], m["MetricName"], _alarm_dims(m)) for m in stats]


def test_the_issue_s_alarms_exist(t: Template) -> None:
    present = set()
    for alarm in t.of_type("AWS::CloudWatch::Alarm").values():
        for namespace, name, dims in _alarm_metrics(alarm["Properties"]):
            value = next(iter(dims.values()), None)
            target = value.value.split(".")[0] if isinstance(value, Tag) else value
            present.add((namespace, name, target))
    assert present >= REQUIRED_ALARMS, REQUIRED_ALARMS - present


def test_every_declared_metric_is_emitted_by_the_code() -> None:
    """Each METRICS entry is passed to an emit/count call somewhere in the library (not just declared)."""
    constants = {
        name: value
        for name, value in vars(obs).items()
        if name.isupper() and isinstance(value, str) and value in obs.METRICS
    }
    emitted: set[str] = set()
    for path in LIBRARY.rglob("*.py"):
        if path.name == "observability.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                func = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if func == "Skipped":  # ingest's EventBridge parser names the metric of each skip
                    emitted.update(
                        constants[a.attr]
                        for a in node.args
                        if isinstance(a, ast.Attribute) and a.attr in constants
                    )
                if func in ("emit", "count") and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Attribute) and first.attr in constants:
                        emitted.add(constants[first.attr])
                    elif isinstance(first, ast.Constant) and first.value in obs.METRICS:
                        emitted.add(first.value)
    assert emitted == set(obs.METRICS), f"declared, never emitted: {set(obs.METRICS) - emitted}"


def test_runbook_documents_every_metric_with_its_dimensions() -> None:
    table = {
        row[0].strip("` "): row
        for row in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in RUNBOOK.read_text().splitlines()
            if line.startswith("| `")
        )
    }
    for name, spec in obs.METRICS.items():
        assert name in table, f"{name} missing from docs/operations.md"
        _, unit, dims, services, _ = table[name]
        assert unit == spec.unit
        assert [d.strip() for d in dims.split(",")] == ["service", *spec.dimensions]
        assert {s.strip() for s in services.split(",")} == set(spec.services)


def test_reconcile_function_runs_on_a_parameterised_schedule(t: Template) -> None:
    props = t.props("ReconcileFunction")
    assert props["CodeUri"] == "functions/reconcile/"
    (event,) = props["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == Tag("Ref", "ReconcileSchedule")
    assert t.parameter_default("ReconcileSchedule") == "rate(15 minutes)"
    env = t.function_env("ReconcileFunction")
    assert env["RECONCILE_MAX_PER_RUN"] == Tag("Ref", "ReconcileMaxPerRun")
    # The sweep reads the trigger the worker reads: the same mapping, the same TriggerStages on top.
    worker = t.function_env("WorkerFunction")
    for name in ("TRIGGER_STAGES", "MAPPING_PARAMETER", "MAPPING_FILE"):
        assert env[name] == worker[name], name
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    # `sf-bigtime reconcile --stack-name` uses the same window as the function by default.
    defaults = ReconcileSettings.model_fields
    assert float(env["RECONCILE_LOOKBACK_HOURS"]) == defaults["lookback_hours"].default
    assert float(env["RECONCILE_GRACE_MINUTES"]) == defaults["grace_minutes"].default
    assert int(t.parameter_default("ReconcileMaxPerRun")) == defaults["max_per_run"].default
    assert props["Timeout"] * 2 < 15 * 60, "a run must end well before the next one"


def test_outputs_let_the_cli_find_the_stack(t: Template) -> None:
    outputs = t.data["Outputs"]
    for name in ("QueueUrl", "DeadLetterQueueUrl", "TableName", "DashboardUrl", "ReconcileFunctionName"):
        assert name in outputs
    for parameter in ("SalesforceSecretArn", "TriggerStages", "SalesforceOrgIds", "ReconcileMaxPerRun"):
        assert parameter in t.data["Parameters"], "sf_bigtime_ops.stackinfo reads it"


def test_operations_doc_is_linked_from_the_readme() -> None:
    assert "docs/operations.md" in (REPO_ROOT / "README.md").read_text()


def test_every_cli_command_is_documented() -> None:
    runbook = RUNBOOK.read_text()
    for command in ("status", "backfill", "reconcile", "redrive", "pull"):
        assert f"### `sf-bigtime {command}" in runbook, command


def _minutes_in(schedule: str, expression: Any) -> str:
    """Evaluate the alarm's ``!Select [1, !Split ["(", !Select [0, !Split [" ", !Ref PullSchedule]]]]``."""
    assert isinstance(expression, Tag) and expression.name == "Select"
    index, inner = expression.value
    if isinstance(inner, Tag) and inner.name == "Split":
        separator, source = inner.value
        text = schedule if source == Tag("Ref", "PullSchedule") else _minutes_in(schedule, source)
        return text.split(separator)[int(index)]
    raise AssertionError(f"unexpected {inner}")


def test_pull_staleness_alarm_fires_at_twice_the_schedule_whatever_the_schedule(t: Template) -> None:
    props = t.props("PullStalenessAlarm")
    math = next(m for m in props["Metrics"] if "Expression" in m)
    assert math["ReturnData"] is True and props["Threshold"] == 2
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    template, variables = math["Expression"].value
    stat = next(m for m in props["Metrics"] if "MetricStat" in m)
    assert stat["Id"] in template and stat["MetricStat"]["Stat"] == "Maximum"
    # Every schedule the parameter allows has a datapoint in each alarm period (no flapping to OK).
    allowed = re.compile(t.data["Parameters"]["PullSchedule"]["AllowedPattern"])
    schedules = [f"rate({m} minutes)" for m in range(1, 200) if allowed.match(f"rate({m} minutes)")]
    assert schedules and t.parameter_default("PullSchedule") == "rate(15 minutes)"
    for schedule in schedules:
        minutes = _minutes_in(schedule, variables["Minutes"])
        assert minutes == schedule[5:].split()[0]
        assert stat["MetricStat"]["Period"] >= int(minutes) * 60
        # 2 schedules of staleness is exactly the threshold: staleness / (60 * minutes) == 2
        assert eval(template.replace("${Minutes}", minutes), {}, {"staleness": 120 * int(minutes)}) == 2


def test_pull_function_runs_on_the_schedule_within_it_and_with_the_settings_it_reads(t: Template) -> None:
    from sf_bigtime.settings import PullSettings

    props = t.props("PullFunction")
    assert props["CodeUri"] == "functions/pull/"
    (event,) = props["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == Tag("Ref", "PullSchedule")
    shortest = min(int(m) for m in re.findall(r"\d+", t.data["Parameters"]["PullSchedule"]["AllowedPattern"]))
    assert props["Timeout"] < shortest * 60, "a run must end before the next one starts"
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    env = t.function_env("PullFunction")
    assert {k for k in env if not k.startswith("POWERTOOLS_")} <= set(PullSettings.ENV.values())
    for name in ("TABLE_NAME", "SALESFORCE_SECRET_ARN", "BIGTIME_SECRET_ARN", "BIGTIME_CALLS_PER_MINUTE"):
        assert name in env, name
    assert env["MAPPING_PARAMETER"] == t.function_env("WorkerFunction")["MAPPING_PARAMETER"]
    assert env["MAPPING_FILE"] == t.function_env("WorkerFunction")["MAPPING_FILE"]
    assert (
        float(t.parameter_default("PullApiBudgetPercent"))
        == PullSettings.model_fields["api_budget_percent"].default
    )
    assert "PullFunctionName" in t.data["Outputs"]
