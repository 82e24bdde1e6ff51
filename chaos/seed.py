"""The run's data in the fake Salesforce (products in the standard price book, Accounts, contacts, Opportunities
with contact roles and line items) and the BigTime clients that exist before it, from the plan."""

from __future__ import annotations

from typing import Any

from chaos.checks import Seeded
from chaos.plan import PRODUCTS, Plan


def seed(plan: Plan, sf: Any, bt: Any) -> Seeded:
    [book] = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"]
    entries = []
    for name, unit, price in PRODUCTS:
        product = sf.create("Product2", {"Name": name, "QuantityUnitOfMeasure": unit, "IsActive": True})
        entries.append(
            sf.create(
                "PricebookEntry",
                {"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": price, "IsActive": True},
            )
        )
    seeded = Seeded({}, {}, {}, {}, {})
    account_contacts: dict[int, list[tuple[str, str]]] = {}
    for account in plan.accounts:
        account_id = sf.create("Account", {"Name": account.name, "BillingCity": "Springfield"})
        seeded.accounts[account.key] = account_id
        if account.existing_client:
            seeded.existing_clients[account.key] = int(bt.create_client({"Nm": account.name})["SystemId"])
        account_contacts[account.key] = []
        for c in range(account.contacts):
            email = f"contact{c}.account{account.key}@chaos.example"
            contact = sf.create(
                "Contact",
                {
                    "FirstName": f"Casey{c}",
                    "LastName": f"Account{account.key}",
                    "Email": email,
                    "AccountId": account_id,
                },
            )
            account_contacts[account.key].append((contact, email))
    for opp in plan.opportunities:
        fields: dict[str, Any] = {
            "Name": opp.name,
            "AccountId": seeded.accounts[opp.account],
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2026-12-31",
        }
        if opp.amount is not None:
            fields["Amount"] = opp.amount
        opp_id = sf.create("Opportunity", fields)
        seeded.opportunities[opp.key] = opp_id
        contacts = account_contacts[opp.account]
        seeded.contacts[opp.key] = []
        for n, index in enumerate(opp.contact_roles):
            contact, email = contacts[index]
            role = {
                "OpportunityId": opp_id,
                "ContactId": contact,
                "Role": "Decision Maker",
                "IsPrimary": n == 0,
            }
            sf.create("OpportunityContactRole", role)
            seeded.contacts[opp.key].append(email)
        seeded.line_items[opp.key] = [
            sf.create(
                "OpportunityLineItem",
                {
                    "OpportunityId": opp_id,
                    "PricebookEntryId": entries[line.product],
                    "Quantity": line.quantity,
                    "UnitPrice": PRODUCTS[line.product][2],
                },
            )
            for line in opp.line_items
        ]
    return seeded
