"""sf_bigtime_ops.fieldcheck: the worker's field list comes from its own query and write-back, and the describe
walk finds exactly what is missing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sf_bigtime.clients.salesforce import (
    OPPORTUNITY_WRITE_FIELDS,
    PROJECT_OBJECT,
    PROJECT_WRITE_FIELDS,
    SalesforceClient,
    WriteBack,
)
from sf_bigtime.mapping.load import build_mapping
from sf_bigtime.secrets import SalesforceClientCredentials
from sf_bigtime_local.fake_salesforce import soql as fake_soql
from sf_bigtime_ops.fieldcheck import (
    CachedDescribe,
    FieldUse,
    find_problems,
    reconcile_soql,
    soql_fields,
    stack_field_uses,
    worker_field_uses,
    worker_soql,
)


def _fake_parser_paths(query: str) -> set[tuple[str | None, str]]:
    """(child relationship, path) of every field the fake org's SOQL parser sees in ``query``."""
    found: set[tuple[str | None, str]] = set()

    def walk_condition(node: Any, child: str | None) -> None:
        if isinstance(node, fake_soql.Comparison):
            found.add((child, ".".join(node.field.path)))
        for attr in ("items", "item"):
            value = getattr(node, attr, None)
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                walk_condition(item, child)

    def walk(q: fake_soql.Query, child: str | None) -> None:
        for item in q.select:
            if isinstance(item, fake_soql.FieldRef):
                found.add((child, ".".join(item.path)))
            elif isinstance(item, fake_soql.SubQuery):
                walk(item.query, item.query.sobject)
        walk_condition(q.where, child)
        for order in q.order_by:
            found.add((child, ".".join(order.field.path)))

    walk(fake_soql.parse(query), None)
    return found


def test_read_fields_are_parsed_from_the_query_the_worker_sends() -> None:
    query = worker_soql()
    ours = {(u.child, u.path) for u in soql_fields(query)}
    assert ours == _fake_parser_paths(query)
    assert (None, "Account.BillingCity") in ours and ("OpportunityContactRoles", "Contact.Email") in ours
    assert ("OpportunityContactRoles", "CreatedDate") in ours  # ORDER BY fields must exist too


def test_mapping_fields_extend_the_list() -> None:
    mapping = build_mapping(
        {
            "client": {"fields": {"Notes": "Account.Custom_Tier__c"}},
            "project": {"fields": {"Notes": "Region__c"}},
        },
        "test",
    )
    assert "Region__c" in worker_soql(mapping)
    paths = {u.path for u in worker_field_uses(mapping) if u.access == "read" and u.child is None}
    assert {"Account.Custom_Tier__c", "Region__c"} <= paths
    assert "Region__c" not in {u.path for u in worker_field_uses()}


def test_contacts_off_means_no_contact_role_reads() -> None:
    mapping = build_mapping({"contacts": {"enabled": False}}, "test")
    assert not [u for u in worker_field_uses(mapping) if u.child == "OpportunityContactRoles"]
    assert [u for u in worker_field_uses() if u.child == "OpportunityContactRoles"]


def test_line_items_and_team_members_are_read_in_the_same_query_only_when_the_mapping_uses_them() -> None:
    default = worker_field_uses()
    items = {u.path for u in default if u.child == "OpportunityLineItems"}
    assert {"Id", "IsDeleted", "Quantity", "TotalPrice", "Product2.QuantityUnitOfMeasure"} <= items
    assert not [u for u in default if u.child == "OpportunityTeamMembers"]  # no member role joins
    assert {"Owner.Email", "Amount"} <= {u.path for u in default if u.child is None}
    mapping = build_mapping(
        {
            "tasks": {"enabled": False},
            "team": {"owner": False, "member_roles": {"Sales Engineer": "Consultant"}},
            "template": {"field": "Type", "map": {"New Customer": "Standard Implementation"}},
        },
        "test",
    )
    uses = worker_field_uses(mapping)
    assert not [u for u in uses if u.child == "OpportunityLineItems"]
    assert {"User.Email", "TeamMemberRole"} <= {u.path for u in uses if u.child == "OpportunityTeamMembers"}
    plain = {u.path for u in uses if u.child is None}
    assert "Type" in plain and "Owner.Email" not in plain and "Amount" not in plain
    assert worker_soql(mapping).count("SELECT") == 3  # Opportunity, contact roles, team: one query


def test_the_reconcile_sweep_query_is_part_of_the_stack_fields() -> None:
    sweep = {(u.sobject, u.path) for u in soql_fields(reconcile_soql())}
    assert ("Opportunity", "BigTime_Project_Id__c") in sweep and ("Opportunity", "CloseDate") in sweep
    assert sweep <= {(u.sobject, u.path) for u in stack_field_uses()}


def test_write_fields_are_the_declared_ones() -> None:
    uses = worker_field_uses()
    assert {u.path for u in uses if u.access == "update"} == set(OPPORTUNITY_WRITE_FIELDS)
    assert {u.path for u in uses if u.access == "upsert"} == set(PROJECT_WRITE_FIELDS)
    assert {u.sobject for u in uses if u.access == "upsert"} == {PROJECT_OBJECT}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT Id FROM Opportunity", {(None, "Id")}),
        (
            "SELECT Id FROM Opportunity WHERE StageName = 'Closed Won' AND BigTime_Project_Id__c = null "
            "AND LastModifiedDate = LAST_N_DAYS:7 ORDER BY CreatedDate DESC LIMIT 5",
            {(None, "Id"), (None, "StageName"), (None, "BigTime_Project_Id__c"), (None, "LastModifiedDate")}
            | {(None, "CreatedDate")},
        ),
        (
            "select Name, (select Email from Contacts where Title like 'VP%') from Account where Name in ('a','b')",
            {(None, "Name"), ("Contacts", "Email"), ("Contacts", "Title")},
        ),
        ("SELECT Id FROM Opportunity WHERE Name = 'FROM x WHERE y = z'", {(None, "Id"), (None, "Name")}),
    ],
)
def test_soql_fields(query: str, expected: set[tuple[str | None, str]]) -> None:
    assert {(u.child, u.path) for u in soql_fields(query)} == expected


def test_soql_fields_refuses_what_is_not_a_select() -> None:
    with pytest.raises(ValueError, match="SELECT"):
        soql_fields("UPDATE Opportunity")


def _describe(objects: dict[str, dict[str, Any]]) -> Any:
    calls: list[str] = []

    def describe(name: str) -> dict[str, Any] | None:
        calls.append(name)
        return objects.get(name)

    describe.calls = calls  # type: ignore[attr-defined]
    return describe


OBJECTS = {
    "Opportunity": {
        "name": "Opportunity",
        "fields": [
            {"name": "Id", "updateable": False, "createable": False},
            {"name": "AccountId", "relationshipName": "Account", "referenceTo": ["Account"]},
            {"name": "Status__c", "updateable": True, "createable": True, "custom": True},
            {"name": "Locked__c", "updateable": False, "createable": True, "custom": True},
        ],
        "childRelationships": [
            {"relationshipName": "OpportunityContactRoles", "childSObject": "OpportunityContactRole"}
        ],
    },
    "Account": {"name": "Account", "fields": [{"name": "Name"}]},
    "OpportunityContactRole": {"name": "OpportunityContactRole", "fields": [{"name": "Role"}]},
}


def test_find_problems_walks_relationships_and_children_and_checks_write_access() -> None:
    describe = _describe(OBJECTS)
    uses = [
        FieldUse("Opportunity", "Id"),
        FieldUse("Opportunity", "account.name"),  # SOQL names are case-insensitive
        FieldUse("Opportunity", "Role", child="OpportunityContactRoles"),
        FieldUse("Opportunity", "Status__c", "update"),
        FieldUse("Opportunity", "Account.Website"),
        FieldUse("Opportunity", "Owner.Name"),
        FieldUse("Opportunity", "Locked__c", "update"),
        FieldUse("Opportunity", "Role", child="Partners"),
        FieldUse("Invoice__c", "Name"),
    ]
    problems = {str(p.use): p.reason for p in find_problems(uses, describe)}
    assert problems == {
        "Opportunity.Account.Website": "Account has no field Website (or it is not visible)",
        "Opportunity.Owner.Name": "Opportunity has no relationship Owner",
        "Opportunity.Locked__c": "Opportunity.Locked__c is not editable",
        "Opportunity.Partners.Role": "Opportunity has no child relationship Partners",
        "Invoice__c.Name": "object Invoice__c does not exist or is not visible",
    }
    assert sorted(describe.calls) == sorted(
        ["Opportunity", "Account", "OpportunityContactRole", "Invoice__c"]
    )


def test_cached_describe_remembers_missing_objects() -> None:
    describe = _describe({})
    cached = CachedDescribe(describe)
    assert cached("X__c") is None and cached("x__C") is None
    assert describe.calls == ["X__c"]


class _RecordingSalesforce:
    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def restful(self, path: str, method: str, json: Any, headers: Any) -> dict[str, Any]:
        self.bodies.append(json)
        return {"compositeResponse": [{"httpStatusCode": 204, "body": None}]}


def _client() -> tuple[SalesforceClient, _RecordingSalesforce]:
    client = SalesforceClient(
        SalesforceClientCredentials(consumer_key="k", consumer_secret="s", domain="x.my")
    )
    sf = _RecordingSalesforce()
    client._sf = sf  # type: ignore[assignment]
    return client, sf


def test_write_back_writes_only_declared_fields() -> None:
    client, sf = _client()
    project = dict.fromkeys(PROJECT_WRITE_FIELDS, "x")
    client.write_back(
        "006000000000001AAA",
        WriteBack("Synced", "ok", datetime.now(UTC), project_id="7", project_url="u", project=project),
    )
    [body] = sf.bodies
    written = {
        (r["url"].split("/sobjects/")[1].split("/")[0], f)
        for r in body["compositeRequest"]
        for f in r["body"]
    }
    declared = {("Opportunity", f) for f in OPPORTUNITY_WRITE_FIELDS} | {
        (PROJECT_OBJECT, f) for f in PROJECT_WRITE_FIELDS
    }
    assert written == declared


def test_write_back_refuses_an_undeclared_field() -> None:
    client, sf = _client()
    with pytest.raises(ValueError, match=r"undeclared BigTime_Project__c field.*Secret_Field__c"):
        client.write_back(
            "006000000000001AAA",
            WriteBack("Synced", "ok", datetime.now(UTC), project_id="7", project={"Secret_Field__c": 1}),
        )
    assert sf.bodies == []  # nothing was sent
