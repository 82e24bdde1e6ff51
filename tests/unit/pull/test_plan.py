"""The pull's decisions without any API: what is read this run (stalest first, inactive rarely, the lead
on the heartbeat), what is written (changes only, the heartbeat, deletions once), and staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sf_bigtime.clients.salesforce import salesforce_datetime
from sf_bigtime.mapping.pull import PullSection
from sf_bigtime.pull import plan
from sf_bigtime.pull.bigtime import Listed
from sf_bigtime.pull.fields import DELETED_STATUS
from sf_bigtime.pull.salesforce import ProjectRecord

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
SECTION = PullSection()
STATUSES = {
    "StatusProduction": {202: "In Progress", 204: "Completed"},
    "StatusBilling": {301: "Not Yet Billing"},
}


def record(
    pid: str = "5001", pulled: datetime | None = NOW - timedelta(hours=1), **fields: Any
) -> ProjectRecord:
    return ProjectRecord(
        {
            "Id": f"a0B{pid}",
            "BigTime_Project_Id__c": pid,
            "Opportunity__c": "0065w000023abcdAAA",
            "CreatedDate": salesforce_datetime(NOW - timedelta(days=30)),
            "Last_Pulled__c": salesforce_datetime(pulled) if pulled else None,
            **fields,
        }
    )


def listed(pid: str = "5001", **values: Any) -> Listed:
    return Listed(pid, {"inactive": False, "status_id": 202, "billing_status_id": 301, **values})


def test_list_values_name_the_statuses_and_leave_out_an_unknown_one() -> None:
    assert plan.list_values(listed(start_date="2027-01-01"), STATUSES) == {
        "start_date": "2027-01-01",
        "inactive": False,
        "status": "In Progress",
        "billing_status": "Not Yet Billing",
    }
    unknown = plan.list_values(listed(status_id=299, billing_status_id=None), STATUSES)
    assert "status" not in unknown and unknown["billing_status"] is None


def test_active_projects_are_all_due_stalest_first_and_inactive_ones_rarely() -> None:
    old, new = record("1", NOW - timedelta(hours=5)), record("2", NOW - timedelta(minutes=5))
    never = record("3", None)
    quiet = record(
        "4",
        NOW - timedelta(days=1),
        Inactive__c=True,
        Status__c="Completed",
        Billing_Status__c="Not Yet Billing",
    )
    items = {
        "1": listed("1"),
        "2": listed("2"),
        "3": listed("3"),
        "4": listed("4", inactive=True, status_id=204),
    }
    due = plan.due_per_project([new, old, never, quiet], items, STATUSES, {}, NOW, SECTION, everything=True)
    assert [d.record.project_id for d in due] == ["3", "1", "2"]  # never pulled, then the stalest
    # The inactive one is due once its week is over, or when the list shows it changed ...
    week_old = record(
        "4",
        NOW - timedelta(days=8),
        Inactive__c=True,
        Status__c="Completed",
        Billing_Status__c="Not Yet Billing",
    )
    assert [
        d.record.project_id for d in plan.due_per_project([week_old], items, STATUSES, {}, NOW, SECTION, True)
    ] == ["4"]
    moved = {"4": listed("4", inactive=True, status_id=202)}
    assert plan.due_per_project([quiet], moved, STATUSES, {}, NOW, SECTION, True)
    # ... and, for one project or Opportunity, always.
    assert plan.due_per_project([quiet], items, STATUSES, {}, NOW, SECTION, everything=False)
    # A project the list does not show is not read here (deletions are confirmed separately).
    assert plan.due_per_project([record("9")], items, STATUSES, {}, NOW, SECTION, True) == []


def test_the_read_times_order_the_run_so_a_stopped_run_resumes_with_the_rest() -> None:
    a, b = record("1", NOW - timedelta(hours=10)), record("2", NOW - timedelta(hours=9))
    checked = {"1": (NOW - timedelta(minutes=1)).timestamp()}  # read by the last run, nothing changed
    due = plan.due_per_project(
        [a, b], {"1": listed("1"), "2": listed("2")}, STATUSES, checked, NOW, SECTION, True
    )
    assert [d.record.project_id for d in due] == ["2", "1"]


def test_the_lead_is_read_the_first_time_on_the_heartbeat_and_when_bigtime_shows_a_change() -> None:
    items = {"1": listed("1", modified="2027-01-15T11:30:00")}

    def lead(pulled: datetime | None) -> bool:
        [due] = plan.due_per_project([record("1", pulled)], items, STATUSES, {}, NOW, SECTION, True)
        return due.with_lead

    assert lead(None) and lead(NOW - timedelta(hours=25))  # first time, heartbeat due
    assert lead(NOW - timedelta(hours=1))  # DtModified 11:30 is after the last pull at 11:00
    assert not lead(NOW - timedelta(minutes=10))  # nothing changed since 11:50


def test_a_row_holds_only_what_changed_and_moves_last_pulled_with_it() -> None:
    current = record(Actual_Hours__c=10.0, Budget_Hours__c=100.0, Status__c="In Progress")
    seen = plan.Observation({"actual_hours": 12.0, "budget_hours": 100.0, "status": "In Progress"}, read=True)
    assert plan.project_row(current, seen, NOW, SECTION) == {
        "BigTime_Project_Id__c": "5001",
        "Actual_Hours__c": 12.0,
        "Last_Pulled__c": salesforce_datetime(NOW),
    }
    unchanged = plan.Observation({"actual_hours": 10.0, "budget_hours": 100.0}, read=True)
    assert plan.project_row(current, unchanged, NOW, SECTION) is None
    # The heartbeat: nothing changed, but Last Pulled is a day old.
    stale = record(pulled=NOW - timedelta(hours=24), Actual_Hours__c=10.0)
    assert plan.project_row(stale, plan.Observation({"actual_hours": 10.0}, read=True), NOW, SECTION) == {
        "BigTime_Project_Id__c": "5001",
        "Last_Pulled__c": salesforce_datetime(NOW),
    }
    # Figures from the list alone (not read this run) are written without moving Last Pulled.
    listed_only = plan.Observation({"status": "On Hold"})
    assert plan.project_row(stale, listed_only, NOW, SECTION) == {
        "BigTime_Project_Id__c": "5001",
        "Status__c": "On Hold",
    }


def test_a_problem_goes_to_the_pull_message_once_and_is_cleared_when_it_is_over() -> None:
    seen = plan.Observation(
        {"status": "In Progress"}, read=True, problem="BigTime's figures could not be read: x"
    )
    row = plan.project_row(record(Status__c="In Progress"), seen, NOW, SECTION)
    assert row == {
        "BigTime_Project_Id__c": "5001",
        "Pull_Message__c": "BigTime's figures could not be read: x",
    }
    said = record(Status__c="In Progress", Pull_Message__c="BigTime's figures could not be read: x")
    assert plan.project_row(said, seen, NOW, SECTION) is None
    healed = plan.project_row(said, plan.Observation({"status": "In Progress"}, read=True), NOW, SECTION)
    assert healed == {"BigTime_Project_Id__c": "5001", "Pull_Message__c": None}


def test_a_deleted_project_is_marked_once_and_keeps_its_figures() -> None:
    row = plan.project_row(record(Actual_Hours__c=5.0), plan.Observation(gone=True), NOW, SECTION)
    assert row is not None and row["Status__c"] == DELETED_STATUS
    assert "deleted in BigTime" in row["Pull_Message__c"] and "after 14 days" in row["Pull_Message__c"]
    assert set(row) == {
        "BigTime_Project_Id__c",
        "Status__c",
        "Pull_Message__c",
    }  # figures and Last Pulled stay
    marked = record(Status__c=DELETED_STATUS)
    assert plan.project_row(marked, plan.Observation(gone=True), NOW, SECTION) is None


def test_opportunity_copies_are_opt_in_changed_only_one_row_per_opportunity() -> None:
    current = record(Opportunity__r={"BigTime_Hours__c": 10.0, "BigTime_WIP__c": 0.0})
    seen = {"5001": plan.Observation({"actual_hours": 12.0, "wip": 0.0}, read=True)}
    assert plan.opportunity_rows([current], seen, {}) == []
    copies = {"BigTime_Hours__c": "actual_hours", "BigTime_WIP__c": "wip"}
    assert plan.opportunity_rows([current], seen, copies) == [
        {"Id": "0065w000023abcdAAA", "BigTime_Hours__c": 12.0}
    ]
    gone = {"5001": plan.Observation(gone=True)}
    assert plan.opportunity_rows([current], gone, copies) == []


def test_staleness_is_the_oldest_active_projects_last_read() -> None:
    fresh, old = record("1", NOW - timedelta(minutes=5)), record("2", NOW - timedelta(hours=3))
    inactive = record("3", NOW - timedelta(days=6), Inactive__c=True)
    deleted = record("4", NOW - timedelta(days=9), Status__c=DELETED_STATUS)
    assert plan.staleness([fresh, old, inactive, deleted], {}, NOW) == (3 * 3600.0, "2")
    # Read by a run that changed nothing: Last Pulled did not move, the read time did.
    assert plan.staleness([fresh, old], {"2": NOW.timestamp() - 60}, NOW) == (300.0, "1")
    never = record("5", None)  # never pulled: as old as the record
    assert plan.staleness([fresh, never], {}, NOW) == (30 * 86400.0, "5")
    assert plan.staleness([inactive], {}, NOW) == (None, None)


@pytest.mark.parametrize("hours", [1, 24, 168])
def test_heartbeat_follows_the_setting(hours: int) -> None:
    section = PullSection(heartbeat_hours=hours)
    assert plan.heartbeat_due(record(pulled=NOW - timedelta(hours=hours)), NOW, section)
    assert not plan.heartbeat_due(
        record(pulled=NOW - timedelta(hours=hours) + timedelta(seconds=1)), NOW, section
    )
