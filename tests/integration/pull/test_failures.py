"""What goes wrong, and what the pull does about it: BigTime throttling (wait, then stop and resume with the
stalest), a project deleted in BigTime, a bad row on either side, a shape nobody knows, refused credentials,
and an org whose API calls are nearly used up."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from sf_bigtime import observability as obs
from sf_bigtime.pull.bigtime import BigTimeRefused
from sf_bigtime.pull.fields import DELETED_STATUS
from sf_bigtime.pull.run import PullFailed
from sf_bigtime.pull.scheduled import run_scheduled
from sf_bigtime_local.fake_bigtime import FakeBigTime
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from tests.integration.conftest import BT_REALM, ORG, SF_CONSUMER_KEY, SF_CONSUMER_SECRET, TABLE
from tests.integration.pull.conftest import Pulls

THROTTLED = {
    "status": 503,
    "body": {"Message": "The service is unavailable."},
    "headers": {"Retry-After": "0"},
}


def budget_reads(pulls: Pulls) -> list[str]:
    return [c.path.rsplit("/", 1)[-1] for c in pulls.world.bt.calls if "budgetstatus" in c.path.lower()]


# -- throttling ---------------------------------------------------------------------------------------------
def test_throttling_stops_the_run_keeps_what_was_read_and_the_next_run_resumes_with_the_rest(
    pulls: Pulls,
) -> None:
    pids = [pulls.project(lead=False) for _ in range(4)]
    for pid in pids:
        pulls.world.bt.log_time(pid, 1, 100)
    blocked = "|".join(str(p) for p in pids[2:])
    pulls.world.bt.faults.add(method="GET", path=f"budgetstatusbyproject/({blocked})$", times=-1, **THROTTLED)
    puller = pulls.puller()

    report = puller.run()
    assert report.stopped and "throttled 3 calls in a row" in report.stopped
    assert report.throttled == 3 and pulls.clock.slept == [0, 0]  # Retry-After: 0, honoured twice
    assert report.written == 4  # all four records: two with figures, two with the list's status only
    assert [pulls.row(p)["Actual_Hours__c"] for p in pids] == [1.0, 1.0, None, None]
    assert pulls.row(pids[2])["Status__c"] == "In Progress"  # the list is read before the budgets

    pulls.world.bt.faults.clear()
    pulls.world.bt.clear_calls()
    pulls.clock.advance(60)
    resumed = puller.run()
    assert resumed.stopped is None
    assert budget_reads(pulls)[:2] == [str(p) for p in pids[2:]]  # the stalest first
    assert [pulls.row(p)["Actual_Hours__c"] for p in pids] == [1.0] * 4


def test_bigtimes_own_rate_limit_without_retry_after_is_backed_off_then_stops(pulls: Pulls) -> None:
    pids = [pulls.project(lead=False) for _ in range(3)]
    pulls.world.bt.configure(rate_limit_per_minute=4)  # list + two status lists + one budget: then 503
    report = pulls.puller().run()
    assert report.stopped and report.throttled == 3
    assert pulls.clock.slept == [5.0, 10.0]  # no Retry-After: our own backoff
    assert pulls.row(pids[0])["Actual_Hours__c"] == 0.0 and pulls.row(pids[1])["Actual_Hours__c"] is None


# -- deleted in BigTime -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mapping", [{}, {"mode": "report", "report": {"id": 1}}], ids=["per_project", "report"]
)
def test_a_project_deleted_in_bigtime_is_marked_once_then_forgotten_after_the_grace_period(
    pulls: Pulls, mapping: dict[str, Any]
) -> None:
    keep, gone = pulls.project(), pulls.project()
    pulls.world.bt.log_time(keep, 2, 200)
    puller = pulls.puller(mapping)
    puller.run()
    before = pulls.row(gone)
    pulls.world.bt.firm.store.delete_project(gone)
    pulls.world.bt.log_time(keep, 1, 100)
    pulls.clock.advance(86400)  # the report mode confirms a missing project once a heartbeat

    report = puller.run()
    assert report.deleted == 1 and report.failed == 0
    row = pulls.row(gone)
    assert row["Status__c"] == DELETED_STATUS
    assert f"Project {gone} was deleted in BigTime" in row["Pull_Message__c"]
    assert row["Budget_Hours__c"] == before["Budget_Hours__c"]  # its last figures stay
    assert row["Last_Pulled__c"] == before["Last_Pulled__c"]  # ... as of when they were read
    assert pulls.row(keep)["Actual_Hours__c"] == 3.0  # the others go on
    assert pulls.world.bt.count("GET", "/project/detail/{id}") == 1  # the 404 that confirmed it

    pulls.world.bt.clear_calls()
    before_usage = pulls.world.sf.usage()
    again = puller.run()
    assert again.deleted == 0 and pulls.world.bt.count("GET", "/project/detail/{id}") == 0
    assert (pulls.world.sf.usage() - before_usage).writes_by_object.get("BigTime_Project__c", 0) <= 1
    assert again.staleness_seconds is not None and again.stalest_project == str(keep)  # not the deleted one

    pulls.clock.advance(15 * 86400)  # past deleted_grace_days (14)
    assert puller.run().examined == 1  # no longer read at all


def test_a_list_with_no_projects_at_all_is_not_taken_for_mass_deletion(pulls: Pulls) -> None:
    pid = pulls.project()
    pulls.world.bt.faults.add(method="GET", path=r"/project$", status=200, body=[], times=1)
    with pytest.raises(PullFailed, match="listed no projects"):
        pulls.puller().run()
    assert pulls.row(pid)["Status__c"] is None  # nothing written


# -- bad rows ------------------------------------------------------------------------------------------------
def test_a_bad_bigtime_row_is_said_on_its_record_and_the_others_are_written(pulls: Pulls) -> None:
    good, bad = pulls.project(), pulls.project()
    pulls.world.bt.log_time(good, 2, 400)
    garbage = [{"TaskSid": 1, "HoursInput": "lots", "FeesInput": 10, "BudgetHours": 5}]
    pulls.world.bt.faults.add(method="GET", path=f"budgetstatusbyproject/{bad}$", status=200, body=garbage)
    report = pulls.puller().run()
    assert report.problems == 1 and report.written == 2 and report.failed == 0
    assert report.project_problems == [
        {
            "project_id": str(bad),
            "problem": "its budget status has values we cannot read: actual_hours: 'lots' is not a number",
        }
    ]
    bad_row = pulls.row(bad)
    assert bad_row["Pull_Message__c"].startswith("BigTime's figures could not be read: its budget status")
    assert bad_row["Actual_Hours__c"] is None and bad_row["Last_Pulled__c"] is None  # no figures, no "as of"
    assert bad_row["Status__c"] == "In Progress"  # what the list said is still right
    assert pulls.row(good)["Actual_Hours__c"] == 2.0


def test_a_bad_report_row_and_an_unreadable_report_row(pulls: Pulls) -> None:
    good, bad = pulls.project(), pulls.project()
    pulls.world.bt.log_time(good, 2, 400)
    report_body = {
        "FieldList": [{"FieldNm": "prjsid"}, {"FieldNm": "inputhrs"}, {"FieldNm": "prjstartdt"}],
        "Data": [[good, 2, "2027-01-04"], [bad, "n/a", "someday"], ["x", 1, None], "not a row"],
    }
    pulls.world.bt.faults.add(method="GET", path=r"report/data/1$", status=200, body=report_body)
    report = pulls.puller({"mode": "report", "report": {"id": 1}}).run()
    assert report.problems == 1 and report.unknown_shapes == 2
    assert pulls.row(good)["Actual_Hours__c"] == 2.0
    message = pulls.row(bad)["Pull_Message__c"]
    assert (
        "actual_hours: 'n/a' is not a number" in message and "start_date: 'someday' is not a date" in message
    )
    assert any("no readable project id" in w for w in report.warnings)


def test_salesforce_refusing_one_record_leaves_the_others_written_and_says_why_on_it(pulls: Pulls) -> None:
    good, huge = pulls.project(), pulls.project(tasks=False)
    pulls.world.bt.create_task({"ProjectSid": huge, "TaskNm": "Typo", "BudgetHours": 1e15})  # 16 digits
    report = pulls.puller().run()
    assert report.written == 1 and report.failed == 1
    [failure] = report.failures
    assert failure["key"] == str(huge) and "NUMBER_OUTSIDE_VALID_RANGE" in failure["error"]
    assert report.salesforce_calls == 3  # read, write, and the reason onto the refused record
    assert pulls.row(good)["Budget_Hours__c"] == 125.0
    refused = pulls.row(huge)
    assert refused["Pull_Message__c"].startswith(
        "Salesforce refused the pulled figures: NUMBER_OUTSIDE_VALID_RANGE"
    )
    assert refused["Budget_Hours__c"] is None
    # The next run tries again, and does not write the same reason twice.
    again = pulls.puller().run()
    assert again.failed == 1 and again.salesforce_calls == 2


def test_a_reply_shape_nobody_knows_is_a_warning_and_a_metric_not_a_crash(pulls: Pulls) -> None:
    odd, fine = pulls.project(), pulls.project()
    shape = {"Rows": [{"Hours": 1}]}
    pulls.world.bt.faults.add(method="GET", path=f"budgetstatusbyproject/{odd}$", status=200, body=shape)
    report = pulls.puller().run()
    assert report.unknown_shapes == 1 and report.problems == 1
    assert (
        "its budget status was an object with Rows, not a list of rows" in pulls.row(odd)["Pull_Message__c"]
    )
    assert pulls.row(fine)["Budget_Hours__c"] == 125.0

    renamed = [{"TaskSid": 1, "Hrs": 1, "Money": 2}]  # a list of rows, but no name we know
    pulls.world.bt.faults.add(method="GET", path=f"budgetstatusbyproject/{odd}$", status=200, body=renamed)
    again = pulls.puller().run()
    assert (
        again.unknown_shapes == 1
        and "name no figure we know: an object with Hrs, Money, TaskSid"
        in (pulls.row(odd)["Pull_Message__c"])
    )


# -- refused credentials and the org's API budget ----------------------------------------------------------
def test_a_401_fails_the_run_clearly_and_writes_nothing(pulls: Pulls) -> None:
    pid = pulls.project()
    before = pulls.world.sf.usage()
    with pytest.raises(BigTimeRefused, match=r"not authorised.*fix the BigTime API key") as info:
        pulls.puller(bt_token="wrong-token").run()
    assert info.value.code == "bigtime_auth"
    assert (pulls.world.sf.usage() - before).records_written == 0 and pulls.row(pid)["Status__c"] is None


def test_a_405_fails_the_run_and_the_scheduled_function_raises_for_its_alarm(pulls: Pulls) -> None:
    fake = pulls.world.use_bigtime(
        FakeBigTime(
            realm=BT_REALM, api_tokens={"no-budgets": {"staffsid": 1, "permissions": {"task.view": False}}}
        )
    )
    client_id = fake.create_client({"Nm": "Acme"})["SystemId"]
    pid = fake.create_project({"Nm": "P", "ClientId": client_id, "ProjectCode": "X-1"})["SystemId"]
    pulls.record(pid)
    emitter = Recorder()
    with pytest.raises(BigTimeRefused, match=r"permission.*staffer needs to see projects"):
        run_scheduled(pulls.puller(bt_token="no-budgets"), emitter)
    assert pulls.row(pid)["Status__c"] is None  # nothing written


def test_a_scheduled_run_waits_while_the_org_is_over_its_api_budget_but_a_requested_one_runs(
    pulls: Pulls,
) -> None:
    pulls.world.use_salesforce(
        FakeSalesforce(
            org_id=ORG,
            api_version="66.0",
            client_id=SF_CONSUMER_KEY,
            client_secret=SF_CONSUMER_SECRET,
            daily_api_limit=20,
        )
    )
    pid = pulls.project()
    for _ in range(16):  # the firm's other integrations: 80 % of the day's calls
        list(pulls.world.salesforce_client().query_all("SELECT Id FROM Account LIMIT 1"))
    pulls.world.bt.clear_calls()
    emitter = Recorder()
    summary = run_scheduled(pulls.puller(), emitter)
    assert summary["skipped"] and "17 of its 20 daily API calls" in summary["skipped"]
    assert pulls.world.bt.calls == [] and pulls.row(pid)["Status__c"] is None
    assert emitter.values[obs.PULL_SKIPPED] == [1]
    report = pulls.puller().run()  # `sf-bigtime pull`, or "Pull from BigTime"
    assert report.skipped is None and report.written == 1


# -- the scheduled function's metrics ------------------------------------------------------------------------
class Recorder(obs.Emitter):
    """The pull's Emitter over a stand-in for Powertools Metrics: keeps what would be published (names
    checked against the registry, counts of zero left out)."""

    def __init__(self) -> None:
        super().__init__(obs.PULL, self)
        self.values: dict[str, list[float]] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)


def test_the_scheduled_run_reports_staleness_and_counts_as_metrics(pulls: Pulls) -> None:
    fresh, refused = pulls.project(), pulls.project(tasks=False)
    pulls.world.bt.create_task({"ProjectSid": refused, "TaskNm": "Typo", "BudgetHours": 1e15})
    emitter = Recorder()
    summary = run_scheduled(pulls.puller(), emitter, seconds_left=300)
    assert summary["written"] == 1 and summary["failed"] == 1 and fresh
    values = emitter.values
    assert values[obs.PULL_RECORDS_WRITTEN] == [1] and values[obs.PULL_RECORDS_FAILED] == [1]
    # The refused record was never pulled: its figures are as old as the record itself.
    assert values[obs.PULL_STALENESS][0] > 0 and summary["stalest_project"] == str(refused)
    assert values[obs.BIGTIME_CALLS][0] >= 4 and summary["salesforce_calls"] == 3
    # Counts of nothing, and per-call latencies (the run's duration times it), are not published.
    assert not {obs.PULL_STOPPED_EARLY, obs.PULL_SKIPPED, obs.PULL_UNKNOWN_SHAPE} & set(values)
    assert not {obs.SALESFORCE_CALLS, obs.SALESFORCE_LATENCY, obs.BIGTIME_LATENCY} & set(values)
    assert json.dumps(summary)  # the log line


def test_nothing_to_pull_costs_one_query_and_still_reports_staleness(pulls: Pulls) -> None:
    """An idle stack (no BigTime Project record yet): no BigTime call, no state-table item, and
    PullStaleness 0, so that its alarm can take a pull that stops reporting for a stale one."""
    pulls.world.bt.clear_calls()
    emitter = Recorder()
    before = pulls.world.sf.usage()
    summary = run_scheduled(pulls.puller(), emitter, seconds_left=300)
    assert (summary["examined"], summary["salesforce_calls"], summary["bigtime_calls"]) == (0, 1, 0)
    assert pulls.world.bt.calls == [] and (pulls.world.sf.usage() - before).api_calls == 1
    assert boto3.resource("dynamodb").Table(TABLE).scan()["Items"] == []
    assert emitter.values == {
        obs.PULL_STALENESS: [0.0],
        obs.SALESFORCE_API_REMAINING: [emitter.values[obs.SALESFORCE_API_REMAINING][0]],
    }


def test_bigtime_unavailable_stops_a_scheduled_run_without_failing_it(pulls: Pulls) -> None:
    pulls.project()
    pulls.world.bt.faults.add(method="GET", path=r"/project$", status=500, body={"Message": "boom"}, times=-1)
    emitter = Recorder()
    summary = run_scheduled(pulls.puller(), emitter)
    assert "server error (HTTP 500)" in summary["stopped"] and emitter.values[obs.PULL_STOPPED_EARLY] == [1]
