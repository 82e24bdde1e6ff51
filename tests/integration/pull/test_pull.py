"""The pull end to end against the fakes: figures, status, dates and lead land on the BigTime Project
record; logged time and invoices move them; nothing changed means nothing written; both ways of reading
BigTime give the same record, in any of BigTime's naming schemes; the API calls stay few."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sf_bigtime.clients.salesforce import salesforce_datetime
from sf_bigtime_local.fake_salesforce import FakeSalesforce
from tests.integration.conftest import ORG, SF_CONSUMER_KEY, SF_CONSUMER_SECRET
from tests.integration.pull.conftest import Pulls

REPORT = {"mode": "report", "report": {"id": 1}}
FIGURE_FIELDS = (
    "Status__c",
    "Billing_Status__c",
    "Project_Lead__c",
    "Start_Date__c",
    "Inactive__c",
    "Budget_Hours__c",
    "Actual_Hours__c",
    "Budget_Fees__c",
    "Actual_Fees__c",
    "Actual_Expenses__c",
    "Invoiced_To_Date__c",
    "WIP__c",
)


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIGURE_FIELDS}


def test_first_pull_fills_the_record_and_a_second_writes_nothing(pulls: Pulls) -> None:
    pid = pulls.project()
    pulls.world.bt.log_time(pid, 10, 2000)
    puller = pulls.puller()

    report = puller.run()
    assert (report.examined, report.read, report.changed, report.written, report.failed) == (1, 1, 1, 1, 0)
    row = pulls.row(pid)
    assert figures(row) == {
        "Status__c": "In Progress",
        "Billing_Status__c": "Not Yet Billing",
        "Project_Lead__c": "Sam Rivera",
        "Start_Date__c": "2027-01-04",
        "Inactive__c": False,
        "Budget_Hours__c": 125.0,
        "Actual_Hours__c": 10.0,
        "Budget_Fees__c": 22750.0,
        "Actual_Fees__c": 2000.0,
        "Actual_Expenses__c": 0.0,
        "Invoiced_To_Date__c": 0.0,
        "WIP__c": 2000.0,
    }
    assert row["Last_Pulled__c"].startswith(pulls.clock.datetime().strftime("%Y-%m-%dT%H:%M:%S"))
    assert row["Pull_Message__c"] is None
    # Salesforce's formulas: 10 of 125 hours is 8 %, 2,000 of 22,750 fees leaves 20,750.
    assert (row["Hours_Used_Percent__c"], row["Fees_Remaining__c"], row["Budget_Health__c"]) == (
        8.0,
        20750.0,
        "On track",
    )

    before = pulls.world.sf.usage()
    pulls.world.bt.clear_calls()
    again = puller.run()
    assert (pulls.world.sf.usage() - before).records_written == 0
    assert (again.changed, again.heartbeats, again.written, again.salesforce_calls) == (0, 0, 0, 1)
    # The list, and the one active project's budget status: the status names and the lead are not re-read.
    assert pulls.world.bt.call_counts() == {"GET /project": 1, "GET /task/budgetstatusbyproject/{id}": 1}


def test_logged_time_expenses_and_an_invoice_move_the_actuals(pulls: Pulls) -> None:
    pid = pulls.project()
    puller = pulls.puller()
    puller.run()
    bt = pulls.world.bt
    bt.log_time(pid, 6, 1200)
    bt.add_expense({"ProjectSID": pid, "Dt": bt.firm.store.today(), "CostIN": 150, "CostBill": 150})
    bt.create_invoice({"ProjectSid": pid})
    bt.log_time(pid, 2, 400)  # after the invoice: WIP again

    report = puller.run()
    assert report.changed == 1 and report.written == 1
    row = pulls.row(pid)
    assert (row["Actual_Hours__c"], row["Actual_Fees__c"], row["Actual_Expenses__c"]) == (8.0, 1600.0, 150.0)
    assert (row["Invoiced_To_Date__c"], row["WIP__c"]) == (1350.0, 400.0)


@pytest.mark.parametrize("names", ["standard", "legacy"])
@pytest.mark.parametrize("rows", ["array", "object"])
def test_per_project_and_report_give_the_same_record_whatever_bigtime_calls_the_figures(
    pulls: Pulls, names: str, rows: str
) -> None:
    pulls.world.bt.configure(figure_names=names, report_rows=rows)
    pids = [pulls.project(), pulls.project(tasks=False, lead=False, StatusProd=203)]
    pulls.world.bt.log_time(pids[0], 4, 800)
    pulls.world.bt.log_time(pids[1], 1, 150)
    pulls.puller().run()
    per_project = [figures(pulls.row(p)) for p in pids]
    assert per_project[1]["Status__c"] == "On Hold" and per_project[1]["Project_Lead__c"] is None
    assert per_project[1]["Budget_Hours__c"] == 0.0 and per_project[1]["Actual_Hours__c"] == 1.0

    for pid in pids:  # start again from empty records
        record = pulls.world.sf.query(
            f"SELECT Id FROM BigTime_Project__c WHERE BigTime_Project_Id__c = '{pid}'"
        )
        pulls.world.sf.update(
            "BigTime_Project__c",
            record["records"][0]["Id"],
            {f: None for f in FIGURE_FIELDS if f != "Inactive__c"},
        )
    pulls.world.bt.clear_calls()
    report = pulls.puller(REPORT).run()
    assert pulls.world.bt.call_counts() == {"GET /report/data/{id}": 1}
    assert report.written == 2 and not report.warnings
    by_report = [figures(pulls.row(p)) for p in pids]
    # The seeded report has no budget-expenses column, which per_project does not read either.
    assert by_report == per_project


def test_a_firms_own_report_mapped_by_column_and_a_column_it_lacks(pulls: Pulls) -> None:
    pulls.world.bt.define_report(
        7,
        {
            "Nm": "Our figures",
            "Columns": [
                {"FieldNm": "ProjectSID", "Source": "ProjectSid"},
                {"FieldNm": "Hours Logged", "Source": "HoursInput"},
                {"FieldNm": "StatusCode", "Source": "StatusProd"},  # ids, not names
            ],
        },
    )
    pid = pulls.project()
    pulls.world.bt.log_time(pid, 3, 600)
    columns = {
        "project_id": "projectsid",
        "actual_hours": "HOURS LOGGED",
        "status": "StatusCode",
        "wip": "Unbilled",
    }
    mapping = {"mode": "report", "report": {"id": 7, "columns": columns}}
    report = pulls.puller(mapping).run()
    row = pulls.row(pid)
    assert (row["Actual_Hours__c"], row["Status__c"]) == (3.0, "In Progress")  # the id named by its list
    assert row["WIP__c"] is None and row["Budget_Hours__c"] is None  # not in the report: left alone
    # Columns merge onto the default ones (null removes one): the report lacks those and "Unbilled".
    [warning] = [w for w in report.warnings if "has no column" in w]
    assert "Unbilled" in warning and "prjleadnm" in warning and "those figures are not pulled" in warning


def test_the_heartbeat_refreshes_last_pulled_once_a_day_and_reads_the_lead_again(pulls: Pulls) -> None:
    pids = [pulls.project(), pulls.project()]
    puller = pulls.puller()
    puller.run()
    pulls.world.bt.set_team(pids[0], [{"staffsid": 3, "TeamLead": True}])  # not visible in the project list
    pulls.clock.advance(23 * 3600)
    pulls.world.bt.clear_calls()
    quiet = puller.run()
    assert (quiet.changed, quiet.heartbeats) == (0, 0)
    assert pulls.world.bt.count("GET", "/project/team/{id}") == 0

    pulls.clock.advance(3600)
    report = puller.run()
    assert pulls.world.bt.count("GET", "/project/team/{id}") == 2
    assert (report.changed, report.heartbeats) == (1, 1)  # the new lead; the other only Last Pulled
    assert pulls.row(pids[0])["Project_Lead__c"] == "Alex Chen"
    assert pulls.row(pids[1])["Last_Pulled__c"].startswith(salesforce_datetime(pulls.clock.datetime())[:19])


def test_inactive_projects_are_read_weekly_or_when_the_list_shows_a_change(pulls: Pulls) -> None:
    active, inactive = pulls.project(), pulls.project(IsInactive=True)
    puller = pulls.puller()
    puller.run()
    assert pulls.row(inactive)["Inactive__c"] is True
    pulls.world.bt.log_time(active, 1, 100)
    pulls.clock.advance(3600)
    pulls.world.bt.clear_calls()
    puller.run()
    budget_reads = [c.path for c in pulls.world.bt.calls if "budgetstatus" in c.path.lower()]
    assert budget_reads == [f"/BigtimeData/api/v2/task/BudgetStatusByProject/{active}"]

    pulls.world.bt.firm.store.update_project(inactive, {"StatusProd": 204})  # someone closes it in BigTime
    pulls.world.bt.clear_calls()
    report = puller.run()
    assert pulls.world.bt.count("GET", "/task/budgetstatusbyproject/{id}") == 2
    assert pulls.row(inactive)["Status__c"] == "Completed" and report.changed == 1

    pulls.clock.advance(7 * 86400)
    pulls.world.bt.clear_calls()
    puller.run()
    assert pulls.world.bt.count("GET", "/task/budgetstatusbyproject/{id}") == 2  # its weekly read


def test_500_projects_5_percent_changed_cost_at_most_3_salesforce_calls(pulls: Pulls) -> None:
    pids = [pulls.project(lead=False) for _ in range(500)]
    puller = pulls.puller(REPORT)
    first = puller.run()
    assert first.written == 500 and first.salesforce_calls == 2  # read, one composite of 3 collections
    for pid in pids[::20]:
        pulls.world.bt.log_time(pid, 2, 300)
    before = pulls.world.sf.usage()
    report = puller.run()
    used = pulls.world.sf.usage() - before
    assert report.changed == 25 and report.written == 25 and used.records_written == 25
    assert used.api_calls == report.salesforce_calls <= 3
    assert used.calls_by_kind == {"query": 1, "composite": 1}
    assert report.bigtime_calls == 1


def test_opted_in_figures_are_copied_onto_the_opportunity_only_when_they_change(
    pulls: Pulls, tmp_path: Path
) -> None:
    import shutil

    from tests.salesforce.sfdx import objects_dir

    objects = tmp_path / "objects"
    shutil.copytree(objects_dir(), objects)
    (objects / "Opportunity" / "fields" / "BigTime_Hours__c.field-meta.xml").write_text(
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>BigTime_Hours__c</fullName>'
        "<label>BigTime Hours</label><precision>16</precision><scale>2</scale><type>Number</type></CustomField>"
    )
    pulls.world.use_salesforce(
        FakeSalesforce(
            org_id=ORG, client_id=SF_CONSUMER_KEY, client_secret=SF_CONSUMER_SECRET, metadata_dir=objects
        )
    )
    pid = pulls.project()
    pulls.world.bt.log_time(pid, 5, 500)
    puller = pulls.puller({"opportunity": {"BigTime_Hours__c": "actual_hours"}})
    report = puller.run()
    opp = pulls.row(pid)["Opportunity__c"]
    assert report.opportunities == 1 and pulls.world.sf.get("Opportunity", opp)["BigTime_Hours__c"] == 5.0
    before = pulls.world.sf.usage()
    assert puller.run().opportunities == 0
    assert (pulls.world.sf.usage() - before).records_written == 0
    # Without the opt-in nothing touches the Opportunity.
    pulls.world.bt.log_time(pid, 1, 100)
    before = pulls.world.sf.usage()
    pulls.puller().run()
    assert (pulls.world.sf.usage() - before).writes_by_object == {"BigTime_Project__c": 1}


def test_a_scoped_pull_reads_only_that_project_and_its_lead(pulls: Pulls) -> None:
    from sf_bigtime.pull.salesforce import Scope

    one, other = pulls.project(), pulls.project()
    pulls.world.bt.clear_calls()
    report = pulls.puller().run(Scope(project_id=str(one)))
    assert report.examined == 1 and pulls.row(one)["Status__c"] == "In Progress"
    assert pulls.row(other)["Status__c"] is None
    assert pulls.world.bt.count("GET", "/project/team/{id}") == 1
    by_opportunity = pulls.puller().run(Scope(opportunity_id=pulls.row(other)["Opportunity__c"]))
    assert by_opportunity.examined == 1 and pulls.row(other)["Status__c"] == "In Progress"
