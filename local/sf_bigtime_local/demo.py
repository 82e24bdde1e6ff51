"""`make demo`: the main job on the local stack, end to end, checked.

Seeds an Account with two contacts and an Opportunity with two line items (products from the standard
price book) in the fake Salesforce, moves the Opportunity to Closed Won (the fake org's Flow then calls the
ingest endpoint, as a real Flow would), waits for the worker, prints what exists in BigTime (client,
project, contacts, tasks with their budget, team) and what was written back, and exits non-zero if any step
did not happen. A second delivery of the same event and a new event for the same Opportunity are sent to
show that nothing is created twice. Then BigTime's side of the story: a status, logged hours and an invoice
go into the fake BigTime through its REST API, the pull function runs (as its schedule would), and budget
against actual is printed from the BigTime Project record; a second pull writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from simple_salesforce import format_soql

from sf_bigtime_local.clients import BigTimeHttp, post_event, salesforce, salesforce_usage
from sf_bigtime_local.stack import LocalStack, StackOptions


class DemoFailed(Exception):
    pass


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def step(text: str) -> None:
    click.secho(f"==> {text}", bold=True)


def run_demo(timeout: float = 30.0) -> int:
    # The functions' own JSON logs would drown the story; failures still show as WARNING/ERROR.
    stack = LocalStack(StackOptions(state_file=None, extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING"}))
    try:
        step("starting the local stack (moto, fake Salesforce, fake BigTime, API Gateway, SQS poller)")
        info = stack.start()
        project_id = _run(info, timeout)
        _pull(stack, info, project_id)
    except DemoFailed as exc:
        click.secho(f"DEMO FAILED: {exc}", fg="red", bold=True)
        return 1
    finally:
        step("stopping the local stack")
        stack.stop()
    click.secho(
        "DEMO OK: Closed Won became a BigTime project with its tasks, budget and team, written back, "
        "no duplicates; BigTime's figures came back onto the BigTime Project record.",
        fg="green",
        bold=True,
    )
    return 0


def _run(info: dict[str, Any], timeout: float) -> int:
    sf = salesforce(info)
    bigtime = BigTimeHttp(info)

    step("seeding Salesforce: an Account, two Contacts, an Opportunity with contact roles and two line items")
    account_id = sf.Account.create(
        {
            "Name": "Acme Consulting Ltd",
            "Phone": "+1 415 555 0100",
            "BillingStreet": "1 Market St",
            "BillingCity": "San Francisco",
            "BillingState": "CA",
            "BillingPostalCode": "94105",
            "BillingCountry": "United States",
            "Description": "Long-standing client; prefers monthly invoices.",
        }
    )["id"]
    ada = sf.Contact.create(
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": "ada@acme.example",
            "Title": "CTO",
            "AccountId": account_id,
        }
    )["id"]
    grace = sf.Contact.create(
        {
            "FirstName": "Grace",
            "LastName": "Hopper",
            "Email": "grace@acme.example",
            "Title": "CFO",
            "AccountId": account_id,
        }
    )["id"]
    opp_id = sf.Opportunity.create(
        {
            "Name": "Acme – Data Platform Implementation",
            "AccountId": account_id,
            "StageName": "Negotiation/Review",
            "CloseDate": "2026-12-01",
            "Amount": 48000,
            "Description": "Phase 1: discovery and platform build.",
        }
    )["id"]
    sf.OpportunityContactRole.create(
        {"OpportunityId": opp_id, "ContactId": ada, "Role": "Decision Maker", "IsPrimary": True}
    )
    sf.OpportunityContactRole.create({"OpportunityId": opp_id, "ContactId": grace, "Role": "Economic Buyer"})
    owner = _user_id(sf, "olivia.owner@acme.example")  # the account executive, a BigTime staffer too
    sf.Opportunity.update(opp_id, {"OwnerId": owner})
    lines = _seed_line_items(sf, opp_id)
    click.echo(f"    Account {account_id}, Opportunity {opp_id}, line items {', '.join(lines)}")

    step("moving the Opportunity to Closed Won (the org's Flow calls the ingest endpoint)")
    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})
    started = time.monotonic()

    opp = wait_for(
        "the write-back onto the Opportunity",
        lambda: _synced(sf.Opportunity.get(opp_id)),
        timeout,
    )
    elapsed = time.monotonic() - started
    project_id = int(opp["BigTime_Project_Id__c"])
    step(f"synced in {elapsed:.2f}s; what now exists in BigTime")
    project = bigtime.project_detail(project_id)
    contacts = bigtime.project_contacts(project_id)
    client = next((c for c in bigtime.clients() if c["SystemId"] == project["ClientId"]), None)
    click.echo(f"    client   {client and client['Nm']!r} (id {project['ClientId']})")
    click.echo(
        f"    project  {project['Nm']!r} code {project['ProjectCode']} (id {project_id}), "
        f"starts {project.get('StartDt')}"
    )
    for contact in contacts:
        click.echo(
            f"    contact  {contact.get('FName')} {contact.get('SName')} <{contact.get('EMail')}> "
            f"{contact.get('Tag')}"
        )
    tasks = bigtime.tasks(project_id)
    for task in tasks:
        click.echo(
            f"    task     {task['TaskNm']!r} code {task.get('TaskId')}: budget {task.get('BudgetHours') or 0:g} h, "
            f"fees {task.get('BudgetFees') or 0:,.2f}"
        )
    status = bigtime.budget_status(project_id)
    budget_fees = sum(row.get("BudgetFees") or 0 for row in status)
    budget_hours = sum(row.get("BudgetHours") or 0 for row in status)
    click.echo(f"    budget   {budget_hours:g} h, fees {budget_fees:,.2f} (GET /task/BudgetStatusByProject)")
    team = bigtime.team(project_id)
    for member in team:
        click.echo(f"    team     {member.get('StaffNm')} (staffer {member.get('staffsid')})")
    step("what was written back onto the Opportunity")
    for name in (
        "BigTime_Project_Id__c",
        "BigTime_Project_URL__c",
        "BigTime_Sync_Status__c",
        "BigTime_Sync_Message__c",
        "BigTime_Last_Synced__c",
    ):
        click.echo(f"    {name:26} {opp.get(name)}")
    related = sf.query(
        format_soql("SELECT Name, Project_Code__c FROM BigTime_Project__c WHERE Opportunity__c = {}", opp_id)
    )["records"]
    click.echo(f"    BigTime Projects related list: {[(r['Name'], r['Project_Code__c']) for r in related]}")

    _check(client is not None and client["Nm"] == "Acme Consulting Ltd", "the BigTime client is the Account")
    _check(project["Nm"] == "Acme – Data Platform Implementation", "the project carries the Opportunity name")
    _check(
        sorted(c.get("Tag") for c in contacts) == ["BILLING", "PRIMARY"], "two contacts, PRIMARY and BILLING"
    )
    _check(len(related) == 1, "one BigTime Project record on the Opportunity")
    _check(
        sorted((t["TaskNm"], t.get("BudgetHours"), t.get("BudgetFees")) for t in tasks)
        == [("Implementation Consulting", 120.0, 42000.0), ("Platform Licence", None, 6000.0)],
        "a task per line item, hours for the hourly product, fees = total price",
    )
    _check(budget_fees == opp.get("Amount") == 48000.0, "the project's budget is the Opportunity's amount")
    _check(
        [m.get("StaffNm") for m in team] == ["Olivia Owner"], "the Opportunity owner is on the project team"
    )

    step("sending the same event again, and a new event for the same Opportunity")
    event = {"orgId": info["salesforce"]["org_id"], "opportunityId": opp_id, "eventId": "demo-replay-1"}
    for body in (event, event, {**event, "eventId": "demo-replay-2"}):
        reply = post_event(info, body)
        _check(reply.status_code == 202, f"ingest accepted the event (HTTP {reply.status_code})")
    time.sleep(2.0)  # let the poller deliver them; nothing may change
    projects = [p for p in bigtime.projects() if p["ClientId"] == project["ClientId"]]
    _check(len(projects) == 1, f"still exactly one project (found {len(projects)})")
    _check(len(bigtime.clients()) == 1, "still exactly one client")
    _check(len(bigtime.tasks(project_id)) == 2, "still exactly two tasks")
    return project_id


def _pull(stack: LocalStack, info: dict[str, Any], project_id: int) -> None:
    sf, bigtime = salesforce(info), BigTimeHttp(info)
    step("meanwhile in BigTime (its REST API): In Progress, 18 hours logged, an invoice")
    status = bigtime.picklist_id("StatusProduction", "In Progress")
    bigtime.post(f"/project/detail/{project_id}", {"StatusProd": status})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for staff, hours in ((1, 12), (3, 6)):
        bigtime.post(
            "/time",
            {"Dt": today, "ProjectSID": project_id, "StaffSID": staff, "Hours_IN": hours},
            MarkSubmitted="true",
        )
    invoice = bigtime.post("/invoice/detail", {"ProjectSid": project_id})
    bigtime.post("/time", {"Dt": today, "ProjectSID": project_id, "Hours_IN": 3}, MarkSubmitted="true")
    click.echo(
        f"    invoice {invoice['InvoiceNbr']} for {invoice['Total']:,.2f}; 3 more hours logged after it"
    )

    step("pulling BigTime's figures (the pull function, as its 15-minute schedule runs it)")
    summary = stack.run_pull()
    click.echo(
        f"    read {summary['read']} project(s), changed {summary['changed']}, "
        f"API calls: Salesforce {summary['salesforce_calls']}, BigTime {summary['bigtime_calls']}"
    )
    fields = (
        "Status__c, Project_Lead__c, Budget_Hours__c, Actual_Hours__c, Hours_Used_Percent__c, Budget_Fees__c, "
        "Actual_Fees__c, Fees_Remaining__c, Budget_Health__c, Invoiced_To_Date__c, WIP__c, Last_Pulled__c"
    )
    soql = f"SELECT {fields} FROM BigTime_Project__c WHERE BigTime_Project_Id__c = {{}}"  # noqa: S608
    [record] = sf.query(format_soql(soql, str(project_id)))["records"]
    step("budget against actual, on the BigTime Project record in Salesforce")
    lead = record["Project_Lead__c"] or "none set in BigTime"
    click.echo(f"    status        {record['Status__c']}, lead {lead}")
    click.echo(
        f"    hours         {record['Actual_Hours__c']:g} of {record['Budget_Hours__c']:g} budgeted "
        f"({record['Hours_Used_Percent__c']:g} % used)"
    )
    click.echo(
        f"    fees          {record['Actual_Fees__c']:,.2f} of {record['Budget_Fees__c']:,.2f} budgeted "
        f"({record['Fees_Remaining__c']:,.2f} remaining)"
    )
    click.echo(
        f"    invoiced      {record['Invoiced_To_Date__c']:,.2f}, work in progress {record['WIP__c']:,.2f}"
    )
    click.echo(f"    health        {record['Budget_Health__c']}")
    click.echo(f"    last pulled   {record['Last_Pulled__c']}")
    _check(
        record["Actual_Hours__c"] == 21 and record["Budget_Hours__c"] == 120, "21 of 120 hours on the record"
    )
    _check(record["Status__c"] == "In Progress" and bool(record["Last_Pulled__c"]), "status and Last Pulled")
    _check(record["Invoiced_To_Date__c"] == invoice["Total"], "invoiced to date is the invoice's total")

    step("pulling again: nothing changed in BigTime, so nothing is written")
    before = salesforce_usage(info)
    stack.run_pull()
    written = salesforce_usage(info)["records_written"] - before["records_written"]
    _check(written == 0, f"no Salesforce writes on the second pull ({written})")


def _user_id(sf: Any, username: str) -> str:
    [user] = sf.query(format_soql("SELECT Id FROM User WHERE Username = {}", username))["records"]
    return str(user["Id"])


def _seed_line_items(sf: Any, opp_id: str) -> list[str]:
    """Two products in the standard price book (one sold by the hour) and a line item of each."""
    [book] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    lines = []
    for name, unit, price, quantity in (
        ("Implementation Consulting", "Hours", 350.0, 120),
        ("Platform Licence", "Each", 6000.0, 1),
    ):
        product = sf.Product2.create({"Name": name, "QuantityUnitOfMeasure": unit, "IsActive": True})["id"]
        entry = sf.PricebookEntry.create(
            {"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": price, "IsActive": True}
        )["id"]
        item = {"OpportunityId": opp_id, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": price}
        lines.append(sf.OpportunityLineItem.create(item)["id"])
    return lines


def _synced(opp: dict[str, Any]) -> dict[str, Any] | None:
    status = opp.get("BigTime_Sync_Status__c")
    if status == "Failed":
        raise DemoFailed(f"the sync failed: {opp.get('BigTime_Sync_Message__c')}")
    return opp if status == "Synced" else None


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)
    click.echo(f"    ok: {what}")
