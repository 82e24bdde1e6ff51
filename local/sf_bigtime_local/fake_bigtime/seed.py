"""Seed data of the fake firm: "Field Values" picklists, project custom-field definitions, staff,
project templates and saved-report definitions. Every one can be replaced through the constructor.

Ids in each picklist start at a different hundred, so a client that sends a project-type id as a
status id gets a 400 instead of silently passing.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PICKLISTS: dict[str, list[dict[str, Any]]] = {
    "LookupProjectType": [
        {"Id": 101, "Name": "Consulting"},
        {"Id": 102, "Name": "Fixed Fee"},
        {"Id": 103, "Name": "Implementation"},
        {"Id": 104, "Name": "Internal"},
        {"Id": 105, "Name": "Retainer"},
        {"Id": 106, "Name": "Time & Materials"},
        {"Id": 107, "Name": "Legacy Support", "IsInactive": True},
    ],
    "StatusProduction": [
        {"Id": 201, "Name": "Not Started"},
        {"Id": 202, "Name": "In Progress"},
        {"Id": 203, "Name": "On Hold"},
        {"Id": 204, "Name": "Completed"},
        {"Id": 205, "Name": "Cancelled"},
        {"Id": 206, "Name": "Archived (old)", "IsInactive": True},
    ],
    "StatusBilling": [
        {"Id": 301, "Name": "Not Yet Billing", "Group": "Active"},
        {"Id": 302, "Name": "Billing Monthly", "Group": "Active"},
        {"Id": 303, "Name": "Billing On Milestones", "Group": "Active"},
        {"Id": 304, "Name": "Final Invoice Sent", "Group": "Closed"},
        {"Id": 305, "Name": "Written Off", "Group": "Closed"},
        {"Id": 306, "Name": "Legacy Billing", "Group": "Closed", "IsInactive": True},
    ],
    "LookupClientType": [
        {"Id": 401, "Name": "Customer"},
        {"Id": 402, "Name": "Partner"},
        {"Id": 403, "Name": "Prospect"},
        {"Id": 404, "Name": "Former Customer", "IsInactive": True},
    ],
    "LookupClientContactType": [
        {"Id": 501, "Name": "Billing Contact"},
        {"Id": 502, "Name": "Decision Maker"},
        {"Id": 503, "Name": "Executive Sponsor"},
        {"Id": 504, "Name": "Technical Contact"},
        {"Id": 505, "Name": "Other"},
    ],
    # Roles on a project team (ContactRole of a team member).
    "LookupProjectTeamRoles": [
        {"Id": 601, "Name": "Project Manager"},
        {"Id": 602, "Name": "Consultant"},
        {"Id": 603, "Name": "Reviewer"},
        {"Id": 604, "Name": "Former Role", "IsInactive": True},
    ],
    # Task types (a task's TaskType). The real list name is [Unknown]; this one follows the
    # Lookup… pattern of the known Field Values lists.
    "LookupTaskType": [
        {"Id": 701, "Name": "Billable Work"},
        {"Id": 702, "Name": "Fixed Fee Milestone"},
        {"Id": 703, "Name": "Non-billable"},
    ],
    # Task statuses (a task's CurrentStatus), also served at GET /picklist/TaskStatus.
    "TaskStatus": [
        {"Id": 801, "Name": "Not Started"},
        {"Id": 802, "Name": "In Progress"},
        {"Id": 803, "Name": "Completed"},
    ],
}

DEFAULT_CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"Sid": 1, "Name": "Salesforce Opportunity Id"},
    {"Sid": 2, "Name": "Salesforce Account Id"},
]

# Staffers of the fake firm. Staffer 1 is the one the default API key and the first session user act
# as. Rate1 is the default bill rate and CostRate the cost rate of their time ([Unknown] field names;
# the public typed client lists Rate1…Rate5 on the Detailed view and CostRate on time entries).
DEFAULT_STAFF: list[dict[str, Any]] = [
    {
        "StaffSID": 1,
        "FName": "Pat",
        "SName": "Admin",
        "EMail": "pat.admin@fakefirm.test",
        "Title": "Operations Director",
        "Rate1": 250.0,
        "CostRate": 120.0,
    },
    {
        "StaffSID": 2,
        "FName": "Sam",
        "SName": "Rivera",
        "EMail": "sam.rivera@fakefirm.test",
        "Title": "Project Manager",
        "Rate1": 200.0,
        "CostRate": 100.0,
    },
    {
        "StaffSID": 3,
        "FName": "Alex",
        "SName": "Chen",
        "EMail": "alex.chen@fakefirm.test",
        "Title": "Senior Consultant",
        "Rate1": 175.0,
        "CostRate": 90.0,
    },
    {
        "StaffSID": 4,
        "FName": "Jordan",
        "SName": "Lee",
        "EMail": "jordan.lee@fakefirm.test",
        "Title": "Consultant",
        "Rate1": 150.0,
        "CostRate": 80.0,
    },
    {
        "StaffSID": 5,
        "FName": "Morgan",
        "SName": "Gone",
        "EMail": "morgan.gone@fakefirm.test",
        "Title": "Consultant",
        "Rate1": 150.0,
        "CostRate": 80.0,
        "IsInactive": True,
    },
]

# Project templates: creating a project with TemplateId copies the template's tasks (an assumption,
# see templates.py). No TypeId here, so a test may replace LookupProjectType without touching these.
DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "Nm": "Standard Implementation",
        "Notes": "Discovery, build, training and project management.",
        "TaskList": [
            {"TaskNm": "Discovery", "TaskGroup": "Phase 1", "BudgetHours": 20, "BudgetFees": 4000},
            {"TaskNm": "Build", "TaskGroup": "Phase 2", "BudgetHours": 80, "BudgetFees": 14000},
            {"TaskNm": "Training", "TaskGroup": "Phase 3", "BudgetHours": 10, "BudgetFees": 1750},
            {"TaskNm": "Project Management", "BudgetHours": 15, "BudgetFees": 3000, "BudgetExps": 500},
        ],
    },
    {
        "Nm": "Retainer",
        "TaskList": [{"TaskNm": "Monthly Retainer", "BudgetHours": 40, "BudgetFees": 8000}],
    },
]

# Saved reports: ``GET/POST /report/data/{id}`` answers a row per project with these columns. FieldNm
# follows the lower-case style seen in a real report's FieldList (e.g. "tmstaffnm"); the names of a
# firm's own report are [Unknown], so tests may define others. Source names: see reports.SOURCES.
DEFAULT_REPORTS: dict[int, dict[str, Any]] = {
    1: {
        "Nm": "Project figures",
        "Columns": [
            {"FieldNm": "prjsid", "Caption": "Project Id", "Source": "ProjectSid"},
            {"FieldNm": "prjcode", "Caption": "Project Code", "Source": "ProjectCode"},
            {"FieldNm": "prjnm", "Caption": "Project", "Source": "ProjectNm"},
            {"FieldNm": "clientnm", "Caption": "Client", "Source": "ClientNm"},
            {"FieldNm": "prjstatusprod_nm", "Caption": "Production Status", "Source": "StatusProdNm"},
            {"FieldNm": "prjstatusbill_nm", "Caption": "Billing Status", "Source": "StatusBillNm"},
            {"FieldNm": "prjleadnm", "Caption": "Project Lead", "Source": "ProjectLeadNm"},
            {"FieldNm": "prjstartdt", "Caption": "Start Date", "Source": "StartDt"},
            {"FieldNm": "prjenddt", "Caption": "End Date", "Source": "EndDt"},
            {"FieldNm": "prjinactive", "Caption": "Inactive", "Source": "IsInactive"},
            {"FieldNm": "budghrs", "Caption": "Budget Hours", "Source": "BudgetHours"},
            {"FieldNm": "budgfees", "Caption": "Budget Fees", "Source": "BudgetFees"},
            {"FieldNm": "inputhrs", "Caption": "Hours Input", "Source": "HoursInput"},
            {"FieldNm": "inputfees", "Caption": "Fees Input", "Source": "FeesInput"},
            {"FieldNm": "inputexps", "Caption": "Expenses Input", "Source": "ExpensesInput"},
            {"FieldNm": "wiptotal", "Caption": "WIP", "Source": "TotalWip"},
            {"FieldNm": "invoicedtodate", "Caption": "Invoiced to Date", "Source": "InvoicedToDate"},
        ],
    },
}
