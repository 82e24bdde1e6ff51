"""The fake Salesforce's products, price books, opportunity line items and opportunity team, over HTTP with
unmodified simple-salesforce: Salesforce's save rules, the Amount roll-up, the batch read, describe, CDC."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sf_bigtime_local.fake_salesforce import FakeSalesforce
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.local.salesforce.fake_sf import (
    VERSION,
    Catalog,
    Receiver,
    api,
    opportunity,
)


@pytest.fixture
def catalog(fake: FakeSalesforce) -> Catalog:
    return Catalog(fake)


def error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as info:
        call()
    assert info.value.status == 400
    return info.value.content[0]


# --- price books and entries ----------------------------------------------------------------------------


def test_every_org_has_one_standard_price_book_that_the_api_cannot_fake(
    sf: Salesforce, fake: FakeSalesforce
) -> None:
    books = sf.query("SELECT Id, Name, IsActive, IsStandard FROM Pricebook2")["records"]
    assert [(b["Id"], b["Name"], b["IsActive"], b["IsStandard"]) for b in books] == [
        (fake.standard_pricebook_id, "Standard Price Book", True, True)
    ]
    custom = sf.Pricebook2.create({"Name": "EU 2026", "IsActive": True})["id"]
    assert sf.Pricebook2.get(custom)["IsStandard"] is False
    assert error(lambda: sf.Pricebook2.create({"Name": "Fake standard", "IsStandard": True}))[
        "errorCode"
    ] == ("INVALID_FIELD_FOR_INSERT_UPDATE")
    assert error(lambda: sf.Pricebook2.delete(fake.standard_pricebook_id))["errorCode"] == "DELETE_FAILED"
    fake.reset()
    assert fake.get("Pricebook2", fake.standard_pricebook_id)["IsStandard"] is True  # seeded again


def test_a_custom_price_needs_the_standard_price_first(sf: Salesforce, fake: FakeSalesforce) -> None:
    product = sf.Product2.create({"Name": "Workshop", "ProductCode": "WS-1", "IsActive": True})["id"]
    eu = sf.Pricebook2.create({"Name": "EU", "IsActive": True})["id"]
    refused = error(
        lambda: sf.PricebookEntry.create({"Pricebook2Id": eu, "Product2Id": product, "UnitPrice": 900})
    )
    assert refused == {
        "message": "No standard price defined for this product",
        "errorCode": "STANDARD_PRICE_NOT_DEFINED",
        "fields": [],
    }
    standard = {"Pricebook2Id": fake.standard_pricebook_id, "Product2Id": product, "UnitPrice": 1000}
    std = sf.PricebookEntry.create(standard)["id"]
    assert error(lambda: sf.PricebookEntry.create(standard))["errorCode"] == "DUPLICATE_VALUE"
    entry = sf.PricebookEntry.create(
        {"Pricebook2Id": eu, "Product2Id": product, "UseStandardPrice": True, "IsActive": True}
    )["id"]
    got = sf.PricebookEntry.get(entry)
    assert (got["UnitPrice"], got["Name"], got["ProductCode"], got["IsActive"]) == (
        1000.0,
        "Workshop",
        "WS-1",
        True,
    )
    assert sf.PricebookEntry.get(std)["IsActive"] is False  # the default, as in Salesforce
    other = fake.create("Product2", {"Name": "Other"})
    standard_of_standard = error(
        lambda: sf.PricebookEntry.create(
            {"Pricebook2Id": fake.standard_pricebook_id, "Product2Id": other, "UseStandardPrice": True}
        )
    )
    assert (standard_of_standard["errorCode"], standard_of_standard["fields"]) == (
        "FIELD_INTEGRITY_EXCEPTION",
        ["UseStandardPrice"],
    )
    missing = error(lambda: sf.PricebookEntry.create({"Pricebook2Id": eu, "UnitPrice": 1}))
    assert (missing["errorCode"], missing["fields"]) == ("REQUIRED_FIELD_MISSING", ["Product2Id"])


def test_product_name_and_code_follow_the_product(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog
) -> None:
    opp = opportunity(fake)
    line = catalog.line(opp)
    sf.Product2.update(catalog.consulting, {"Name": "Advisory", "ProductCode": "ADV-01"})
    assert sf.PricebookEntry.get(catalog.consulting_entry)["ProductCode"] == "ADV-01"
    got = sf.OpportunityLineItem.get(line)
    assert (got["ProductCode"], got["Name"]) == ("ADV-01", "Acme – Implementation Advisory")
    sf.Opportunity.update(opp, {"Name": "Acme – Phase 2"})
    assert sf.OpportunityLineItem.get(line)["Name"] == "Acme – Phase 2 Advisory"


# --- line items -----------------------------------------------------------------------------------------


def test_a_line_item_prices_the_opportunity_and_assigns_its_price_book(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog
) -> None:
    opp = opportunity(fake, Amount=5)
    assert fake.get("Opportunity", opp)["Pricebook2Id"] is None
    created = sf.OpportunityLineItem.create(
        {
            "OpportunityId": opp,
            "PricebookEntryId": catalog.consulting_entry,
            "Quantity": 12.5,
            "UnitPrice": 140,
            "ServiceDate": "2026-08-03",
            "Description": "Discovery",
        }
    )
    assert created == {"id": created["id"], "success": True, "errors": []} and created["id"].startswith("00k")
    line = sf.OpportunityLineItem.get(created["id"])
    assert {
        k: line[k] for k in ("Product2Id", "ProductCode", "ListPrice", "UnitPrice", "TotalPrice", "Name")
    } == {
        "Product2Id": catalog.consulting,
        "ProductCode": "CONS-01",
        "ListPrice": 150.0,
        "UnitPrice": 140.0,
        "TotalPrice": 1750.0,
        "Name": "Acme – Implementation Consulting",
    }
    sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "PricebookEntryId": catalog.licence_entry, "Quantity": 3, "TotalPrice": 5000}
    )
    got = sf.Opportunity.get(opp)
    # Without a price book the opportunity takes the entry's; Amount is the sum of the line items.
    assert (got["Pricebook2Id"], got["HasOpportunityLineItem"], got["Amount"]) == (
        fake.standard_pricebook_id,
        True,
        6750.0,
    )
    licence = sf.query(
        f"SELECT UnitPrice, TotalPrice FROM OpportunityLineItem WHERE Product2Id = '{catalog.licence}'"
    )
    assert licence["records"][0]["UnitPrice"] == 1666.67 and licence["records"][0]["TotalPrice"] == 5000.0


def test_amount_is_the_sum_of_line_items_and_writes_to_it_are_ignored(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog
) -> None:
    opp = opportunity(fake, Amount=99)
    first = catalog.line(opp, quantity=10)  # 1,400
    second = catalog.line(opp, catalog.licence_entry, quantity=1, UnitPrice=2000)
    assert sf.Opportunity.update(opp, {"Amount": 1, "NextStep": "Kick-off"}) == 204  # not refused ...
    got = fake.get("Opportunity", opp)
    assert (got["Amount"], got["NextStep"]) == (3400.0, "Kick-off")  # ... but Amount is unchanged
    sf.OpportunityLineItem.update(first, {"Quantity": 20})  # UnitPrice stays, TotalPrice follows
    assert (fake.get("OpportunityLineItem", first)["TotalPrice"], fake.get("Opportunity", opp)["Amount"]) == (
        2800.0,
        4800.0,
    )
    sf.OpportunityLineItem.update(first, {"TotalPrice": 3000})  # UnitPrice follows
    assert fake.get("OpportunityLineItem", first)["UnitPrice"] == 150.0
    sf.OpportunityLineItem.delete(second)
    assert fake.get("Opportunity", opp)["Amount"] == 3000.0
    sf.OpportunityLineItem.delete(first)
    got = fake.get("Opportunity", opp)
    assert (got["Amount"], got["HasOpportunityLineItem"]) == (0.0, False)
    assert sf.Opportunity.update(opp, {"Amount": 42}) == 204  # editable again without line items
    assert fake.get("Opportunity", opp)["Amount"] == 42.0
    fake.undelete("OpportunityLineItem", first)
    assert fake.get("Opportunity", opp)["Amount"] == 3000.0


LINE_ITEM_ERRORS: list[tuple[str, Callable[[Catalog, str], dict[str, Any]], str, list[str], str]] = [
    (
        "no price book entry",
        lambda c, opp: {"OpportunityId": opp, "Quantity": 1, "UnitPrice": 1},
        "FIELD_INTEGRITY_EXCEPTION",
        ["PricebookEntryId", "unknown"],
        "must specify pricebook entry id",
    ),
    (
        "inactive entry",
        lambda c, opp: {
            "OpportunityId": opp,
            "PricebookEntryId": c.entry(
                c.standard, c.fake.create("Product2", {"Name": "Old", "IsActive": True}), 5, active=False
            ),
            "Quantity": 1,
            "UnitPrice": 5,
        },
        "FIELD_INTEGRITY_EXCEPTION",
        ["PricebookEntryId"],
        "pricebook entry is inactive",
    ),
    (
        "both prices",
        lambda c, opp: {
            "OpportunityId": opp,
            "PricebookEntryId": c.consulting_entry,
            "Quantity": 1,
            "UnitPrice": 1,
            "TotalPrice": 1,
        },
        "FIELD_INTEGRITY_EXCEPTION",
        ["TotalPrice"],
        "only one of unit price or total price",
    ),
    (
        "no price",
        lambda c, opp: {"OpportunityId": opp, "PricebookEntryId": c.consulting_entry, "Quantity": 1},
        "FIELD_INTEGRITY_EXCEPTION",
        ["unknown"],
        "must specify either UnitPrice or TotalPrice",
    ),
    (
        "zero quantity",
        lambda c, opp: {
            "OpportunityId": opp,
            "PricebookEntryId": c.consulting_entry,
            "Quantity": 0,
            "UnitPrice": 1,
        },
        "FIELD_INTEGRITY_EXCEPTION",
        ["Quantity"],
        "quantity must be non-zero",
    ),
    (
        "no quantity",
        lambda c, opp: {"OpportunityId": opp, "PricebookEntryId": c.consulting_entry, "UnitPrice": 1},
        "REQUIRED_FIELD_MISSING",
        ["Quantity"],
        "Required fields are missing",
    ),
    (
        "derived field",
        lambda c, opp: {
            "OpportunityId": opp,
            "PricebookEntryId": c.consulting_entry,
            "Quantity": 1,
            "UnitPrice": 1,
            "Product2Id": c.consulting,
        },
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ["Product2Id"],
        "Unable to create/update fields: Product2Id",
    ),
    (
        "entry of another price book",
        lambda c, opp: {
            "OpportunityId": c.fake.create(
                "Opportunity",
                {
                    "Name": "EU deal",
                    "StageName": "Prospecting",
                    "CloseDate": "2026-09-01",
                    "Pricebook2Id": c.fake.create("Pricebook2", {"Name": "EU", "IsActive": True}),
                },
            ),
            "PricebookEntryId": c.consulting_entry,
            "Quantity": 1,
            "UnitPrice": 1,
        },
        "FIELD_INTEGRITY_EXCEPTION",
        ["PricebookEntryId"],
        "pricebook entry is in a different pricebook than the one assigned to the opportunity",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "code", "fields", "message"), LINE_ITEM_ERRORS, ids=[c[0] for c in LINE_ITEM_ERRORS]
)
def test_line_item_validation_uses_salesforce_error_codes(
    sf: Salesforce,
    fake: FakeSalesforce,
    catalog: Catalog,
    case: str,
    body: Callable[[Catalog, str], dict[str, Any]],
    code: str,
    fields: list[str],
    message: str,
) -> None:
    opp = opportunity(fake)
    data = body(catalog, opp)
    got = error(lambda: sf.OpportunityLineItem.create(data))
    assert (got["errorCode"], got["fields"]) == (code, fields)
    assert message in got["message"]
    assert fake.query("SELECT COUNT() FROM OpportunityLineItem")["totalSize"] == 0  # nothing written
    assert fake.get("Opportunity", opp)["HasOpportunityLineItem"] is False


def test_line_item_updates_are_checked(sf: Salesforce, fake: FakeSalesforce, catalog: Catalog) -> None:
    opp = opportunity(fake)
    line = catalog.line(opp)
    both = error(lambda: sf.OpportunityLineItem.update(line, {"UnitPrice": 1, "TotalPrice": 1}))
    assert both == {
        "message": "Cannot change both 'UnitPrice' and 'TotalPrice' in update call",
        "errorCode": "INVALID_FIELD",
        "fields": ["UnitPrice"],
    }
    moved = error(lambda: sf.OpportunityLineItem.update(line, {"OpportunityId": opportunity(fake, "Other")}))
    assert (moved["errorCode"], moved["fields"]) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["OpportunityId"])
    eu = fake.create("Pricebook2", {"Name": "EU", "IsActive": True})
    locked = error(lambda: sf.Opportunity.update(opp, {"Pricebook2Id": eu}))
    assert locked["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "cannot change pricebook on opportunity with line items" in locked["message"]
    in_use = error(lambda: sf.PricebookEntry.delete(catalog.consulting_entry))
    assert in_use["errorCode"] == "DELETE_FAILED" and "Acme – Implementation" in in_use["message"]
    in_use_by_product = error(lambda: sf.Product2.delete(catalog.consulting))  # would cascade to the entry
    assert in_use_by_product["errorCode"] == "DELETE_FAILED"
    assert fake.get("Product2", catalog.consulting)["IsDeleted"] is False


def test_custom_price_book_line_items(sf: Salesforce, fake: FakeSalesforce, catalog: Catalog) -> None:
    eu = fake.create("Pricebook2", {"Name": "EU", "IsActive": True})
    eu_entry = catalog.entry(eu, catalog.consulting, 130)
    opp = opportunity(fake, Pricebook2Id=eu)
    line = catalog.line(opp, eu_entry, quantity=2, TotalPrice=300)
    assert fake.get("OpportunityLineItem", line)["ListPrice"] == 130.0
    inactive_book = fake.create("Pricebook2", {"Name": "Retired"})  # IsActive defaults to false
    retired_entry = catalog.entry(inactive_book, catalog.licence, 10)
    bare = opportunity(fake, "Bare")
    refused = error(
        lambda: sf.OpportunityLineItem.create(
            {"OpportunityId": bare, "PricebookEntryId": retired_entry, "Quantity": 1, "UnitPrice": 1}
        )
    )
    assert refused["errorCode"] == "FIELD_INTEGRITY_EXCEPTION" and "inactive pricebook" in refused["message"]


def test_deleting_the_opportunity_deletes_its_line_items_and_team(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog
) -> None:
    opp = opportunity(fake)
    line = catalog.line(opp)
    member = fake.create("OpportunityTeamMember", {"OpportunityId": opp, "UserId": fake.owner_user_id})
    sf.Opportunity.delete(opp)
    for sobject, record_id in (("OpportunityLineItem", line), ("OpportunityTeamMember", member)):
        assert fake.get(sobject, record_id)["IsDeleted"] is True
        with pytest.raises(SalesforceResourceNotFound):
            getattr(sf, sobject).get(record_id)
    sf.PricebookEntry.delete(catalog.consulting_entry)  # no longer in use by a live line item
    fake.undelete("PricebookEntry", catalog.consulting_entry)
    fake.undelete("Opportunity", opp)
    assert fake.get("OpportunityLineItem", line)["IsDeleted"] is False
    assert fake.get("Opportunity", opp)["Amount"] == 1400.0


# --- the opportunity team -------------------------------------------------------------------------------


def test_team_members_are_active_users_once_per_opportunity(sf: Salesforce, fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    pm = sf.User.create(
        {
            "Username": "pat@acme.example",
            "FirstName": "Pat",
            "LastName": "Manager",
            "Email": "pat@acme.example",
        }
    )["id"]
    member = sf.OpportunityTeamMember.create(
        {"OpportunityId": opp, "UserId": pm, "TeamMemberRole": "Pre-Sales Consultant"}
    )["id"]
    got = sf.OpportunityTeamMember.get(member)
    assert (got["Name"], got["OpportunityAccessLevel"], got["TeamMemberRole"]) == (
        "Pat Manager",
        "Read",
        "Pre-Sales Consultant",
    )
    again = error(lambda: sf.OpportunityTeamMember.create({"OpportunityId": opp, "UserId": pm}))
    assert (again["errorCode"], again["fields"]) == ("DUPLICATE_VALUE", ["UserId"])
    bad_level = error(
        lambda: sf.OpportunityTeamMember.create(
            {"OpportunityId": opp, "UserId": fake.owner_user_id, "OpportunityAccessLevel": "All"}
        )
    )
    assert bad_level["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    gone = sf.User.create(
        {"Username": "gone@acme.example", "LastName": "Gone", "Email": "gone@acme.example"}
    )["id"]
    sf.User.update(gone, {"IsActive": False})
    inactive = error(lambda: sf.OpportunityTeamMember.create({"OpportunityId": opp, "UserId": gone}))
    assert inactive["errorCode"] == "INACTIVE_OWNER_OR_USER"
    sf.User.update(pm, {"FirstName": "Patricia"})
    assert sf.OpportunityTeamMember.get(member)["Name"] == "Patricia Manager"


# --- the batch read ------------------------------------------------------------------------------------

BATCH_QUERY = """
SELECT Id, Name, Amount, Owner.Name, Owner.Email,
       (SELECT Id, ContactId, Role, IsPrimary, Contact.Email FROM OpportunityContactRoles ORDER BY IsPrimary DESC),
       (SELECT Id, Quantity, UnitPrice, TotalPrice, Description, ServiceDate, Product2.Name, Product2.Family,
               Product2.QuantityUnitOfMeasure, PricebookEntry.Product2.ProductCode
          FROM OpportunityLineItems ORDER BY ServiceDate),
       (SELECT UserId, User.Email, User.Name, TeamMemberRole FROM OpportunityTeamMembers)
FROM Opportunity WHERE Id IN ({ids}) ORDER BY Name
"""


def test_one_query_reads_budget_tasks_and_team_of_several_opportunities(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog
) -> None:
    first = opportunity(fake, "A – Implementation")
    second = opportunity(fake, "B – Support")
    bare = opportunity(fake, "C – Bare")
    catalog.line(first, quantity=40, ServiceDate="2026-09-01", Description="Build")
    catalog.line(first, catalog.licence_entry, quantity=1, UnitPrice=1800, ServiceDate="2026-08-01")
    catalog.line(second, quantity=8)
    contact = fake.create("Contact", {"LastName": "Lee", "Email": "lee@acme.example"})
    fake.create("OpportunityContactRole", {"OpportunityId": first, "ContactId": contact, "IsPrimary": True})
    pm = fake.create(
        "User",
        {
            "Username": "pm@acme.example",
            "FirstName": "Pat",
            "LastName": "Manager",
            "Email": "pm@acme.example",
        },
    )
    fake.create(
        "OpportunityTeamMember", {"OpportunityId": first, "UserId": pm, "TeamMemberRole": "Sales Rep"}
    )

    ids = ", ".join(f"'{i}'" for i in (second, bare, first, second))
    before = fake.api_usage
    records = sf.query(BATCH_QUERY.format(ids=ids))["records"]
    assert fake.api_usage == before + 1
    assert [r["Name"] for r in records] == ["A – Implementation", "B – Support", "C – Bare"]
    a, b, c = records
    assert a["Amount"] == 7400.0 and a["Owner"]["Email"] == "olivia.owner@acme.example"
    lines = a["OpportunityLineItems"]
    assert (lines["totalSize"], lines["done"]) == (2, True)
    licence, build = lines["records"]  # ordered by ServiceDate
    assert build == {
        "attributes": {"type": "OpportunityLineItem", "url": build["attributes"]["url"]},
        "Id": build["Id"],
        "Quantity": 40.0,
        "UnitPrice": 140.0,
        "TotalPrice": 5600.0,
        "Description": "Build",
        "ServiceDate": "2026-09-01",
        "Product2": {
            "attributes": {
                "type": "Product2",
                "url": f"/services/data/v{VERSION}/sobjects/Product2/{catalog.consulting}",
            },
            "Name": "Consulting",
            "Family": "Services",
            "QuantityUnitOfMeasure": "Hours",
        },
        "PricebookEntry": {
            "attributes": {
                "type": "PricebookEntry",
                "url": f"/services/data/v{VERSION}/sobjects/PricebookEntry/{catalog.consulting_entry}",
            },
            "Product2": {"attributes": build["Product2"]["attributes"], "ProductCode": "CONS-01"},
        },
    }
    assert licence["Product2"]["QuantityUnitOfMeasure"] is None
    team = a["OpportunityTeamMembers"]["records"]
    assert [(m["UserId"], m["User"]["Email"], m["User"]["Name"], m["TeamMemberRole"]) for m in team] == [
        (pm, "pm@acme.example", "Pat Manager", "Sales Rep")
    ]
    assert a["OpportunityContactRoles"]["records"][0]["Contact"]["Email"] == "lee@acme.example"
    assert b["OpportunityLineItems"]["totalSize"] == 1 and b["OpportunityTeamMembers"] is None
    assert (c["OpportunityLineItems"], c["OpportunityTeamMembers"], c["OpportunityContactRoles"]) == (
        None,
        None,
        None,
    )


# --- describe -------------------------------------------------------------------------------------------

QUERIED = {
    "OpportunityLineItem": {
        "Quantity",
        "UnitPrice",
        "TotalPrice",
        "Description",
        "ServiceDate",
        "Product2Id",
        "PricebookEntryId",
    },
    "Product2": {"Name", "ProductCode", "Family", "QuantityUnitOfMeasure", "IsActive", "Description"},
    "PricebookEntry": {"Pricebook2Id", "Product2Id", "UnitPrice", "IsActive", "UseStandardPrice"},
    "Pricebook2": {"Name", "IsActive", "IsStandard"},
    "OpportunityTeamMember": {"UserId", "TeamMemberRole", "OpportunityAccessLevel", "OpportunityId"},
}


def test_describe_lists_the_new_objects_and_relationships(sf: Salesforce, server: BackgroundServer) -> None:
    for sobject, names in QUERIED.items():
        describe = getattr(sf, sobject).describe()
        fields = {f["name"]: f for f in describe["fields"]}
        assert names <= set(fields), sobject
    line = {f["name"]: f for f in sf.OpportunityLineItem.describe()["fields"]}
    assert (line["Product2Id"]["createable"], line["Product2Id"]["relationshipName"]) == (False, "Product2")
    assert (line["PricebookEntryId"]["createable"], line["PricebookEntryId"]["updateable"]) == (True, False)
    assert (line["TotalPrice"]["type"], line["Quantity"]["type"]) == ("currency", "double")
    opp = sf.Opportunity.describe()
    children = {c["relationshipName"]: c for c in opp["childRelationships"]}
    assert children["OpportunityLineItems"] == {
        "childSObject": "OpportunityLineItem",
        "field": "OpportunityId",
        "relationshipName": "OpportunityLineItems",
        "cascadeDelete": True,
    }
    assert children["OpportunityTeamMembers"]["childSObject"] == "OpportunityTeamMember"
    amount = next(f for f in opp["fields"] if f["name"] == "HasOpportunityLineItem")
    assert (amount["type"], amount["createable"], amount["updateable"]) == ("boolean", False, False)
    listed = requests.get(
        api(server, "sobjects"), headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=5
    )
    prefixes = {o["name"]: o["keyPrefix"] for o in listed.json()["sobjects"]}
    assert {k: prefixes[k] for k in QUERIED} == {
        "OpportunityLineItem": "00k",
        "Product2": "01t",
        "PricebookEntry": "01u",
        "Pricebook2": "01s",
        "OpportunityTeamMember": "00q",
    }


def test_line_item_custom_fields_come_from_the_metadata(tmp_path: Path) -> None:
    fields = tmp_path / "objects" / "OpportunityLineItem" / "fields"
    fields.mkdir(parents=True)
    (fields / "BigTime_Task_Id__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>BigTime_Task_Id__c</fullName><label>BigTime Task ID</label><type>Text</type>"
        "<length>32</length><externalId>true</externalId></CustomField>"
    )
    with FakeSalesforce(metadata_dir=tmp_path / "objects") as org:
        catalog = Catalog(org)
        line = catalog.line(opportunity(org), BigTime_Task_Id__c="T-9")
        described = org.schema.get("OpportunityLineItem").describe(VERSION)  # type: ignore[union-attr]
        assert [f["name"] for f in described["fields"]][-7:-6] == [
            "BigTime_Task_Id__c"
        ]  # before the audit fields
        rows = org.query(
            "SELECT Id, BigTime_Task_Id__c FROM OpportunityLineItem WHERE BigTime_Task_Id__c = 'T-9'"
        )
        assert [r["Id"] for r in rows["records"]] == [line]


# --- CDC and flows --------------------------------------------------------------------------------------


def test_a_line_item_change_is_an_opportunity_update_for_cdc_and_flows(
    sf: Salesforce, fake: FakeSalesforce, catalog: Catalog, receiver: Receiver
) -> None:
    with receiver.lock:
        receiver.requests.clear()
    opp = opportunity(fake)
    fake.add_flow(field="HasOpportunityLineItem", value=True, action="json", url=receiver.url("/priced"))
    before = len(fake.change_events)
    line = sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "PricebookEntryId": catalog.consulting_entry, "Quantity": 2, "UnitPrice": 100},
        headers={"Sforce-Call-Options": "client=sf-bigtime"},
    )["id"]
    events = fake.change_events[before:]
    assert [(e["ChangeEventHeader"]["entityName"], e["ChangeEventHeader"]["changeType"]) for e in events] == [
        ("Opportunity", "UPDATE")
    ]
    header = events[0]["ChangeEventHeader"]
    assert header["recordIds"] == [opp]
    assert {"Amount", "HasOpportunityLineItem", "Pricebook2Id", "LastModifiedDate"} <= set(
        header["changedFields"]
    )
    assert header["changeOrigin"] == f"com/salesforce/api/rest/{VERSION};client=sf-bigtime"
    assert events[0]["Amount"] == 200.0
    priced = receiver.wait(1, path="/priced")
    assert len(priced) == 1 and opp in priced[0]["body"]
    sf.OpportunityLineItem.update(line, {"Quantity": 3})  # Amount changes again: another Opportunity UPDATE
    assert fake.change_events[-1]["Amount"] == 300.0
    assert len(receiver.wait(2, timeout=0.3, path="/priced")) == 1  # the flow's condition was already met
