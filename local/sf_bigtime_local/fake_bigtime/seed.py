"""Seed data of the fake firm: "Field Values" picklists and project custom-field definitions.

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
}

DEFAULT_CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"Sid": 1, "Name": "Salesforce Opportunity Id"},
    {"Sid": 2, "Name": "Salesforce Account Id"},
]
