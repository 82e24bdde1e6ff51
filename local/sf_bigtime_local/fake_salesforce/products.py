"""Products on opportunities: price books, products, price book entries, opportunity line items, and the
opportunity team, with the save rules Salesforce applies to them.

Objects (key prefix): ``Pricebook2`` (01s; every org has one standard price book, ``IsStandard`` true),
``Product2`` (01t), ``PricebookEntry`` (01u), ``OpportunityLineItem`` (00k; child relationship
``Opportunity.OpportunityLineItems``) and ``OpportunityTeamMember`` (00q; ``Opportunity.OpportunityTeamMembers``).

Rules, from Salesforce's object reference ([I] marks messages and behaviour not confirmed against an org):

- A price book entry in a custom price book needs the product's entry in the standard price book first
  (``STANDARD_PRICE_NOT_DEFINED``); one entry per product and price book [I: DUPLICATE_VALUE];
  ``UseStandardPrice`` takes the standard entry's price and is refused on a standard entry [I].
- A line item is created from an active ``PricebookEntryId`` with ``Quantity`` and exactly one of ``UnitPrice``
  or ``TotalPrice`` (the other is derived: ``TotalPrice = Quantity × UnitPrice``). The entry must be in the
  opportunity's price book (``FIELD_INTEGRITY_EXCEPTION``); an opportunity without a price book gets the
  entry's (active) price book. ``Product2Id``, ``ProductCode``, ``ListPrice`` and ``Name`` (opportunity name
  + product name [I]) are derived. An update may change ``UnitPrice`` or ``TotalPrice`` but not both.
- While an opportunity has line items, ``Amount`` is the sum of their ``TotalPrice`` and writes to it are
  silently ignored (the object reference: "the update call won't be rejected … the Amount will be
  unchanged"); its price book can no longer change. Each line item change re-saves the opportunity
  (``Amount``, ``HasOpportunityLineItem``, ``Pricebook2Id``), so CDC and record-triggered flows on
  Opportunity see an UPDATE, as in an org. Removing the last line item leaves ``Amount`` 0 [I].
- Deleting an opportunity deletes its line items and team (cascade); an entry used by line items, and the
  standard price book, cannot be deleted [I: DELETE_FAILED].
- A team member is an active user, once per opportunity [I: INACTIVE_OWNER_OR_USER, DUPLICATE_VALUE].

Custom fields on these objects come from SFDX metadata like any other (``objects/OpportunityLineItem/fields``).
"""

from __future__ import annotations

from typing import Any

from .schema import Field, Schema, _object, _picklist, _ref, _ro, _text

STANDARD_PRICE_BOOK = "Standard Price Book"
TEAM_ROLES = (
    "Account Manager",
    "Channel Manager",
    "Executive Sponsor",
    "Lead Qualifier",
    "Pre-Sales Consultant",
    "Sales Manager",
    "Sales Rep",
    "Other",
)


def _currency(name: str, label: str, **kw: Any) -> Field:
    return Field(name, "currency", label, precision=18, scale=2, **kw)


def _create_only_ref(name: str, target: str, relationship: str, label: str, **kw: Any) -> Field:
    return _ref(name, target, relationship, label, updateable=False, **kw)


def _parent_ref(name: str, target: str, label: str, children: str) -> Field:
    """The record's parent: required, set on create only, and deleting the parent deletes this record too
    (``children``: the parent's child relationship)."""
    return _create_only_ref(
        name, target, target, label, required=True, child_relationship=children, cascade_delete=True
    )


def add_product_objects(schema: Schema) -> None:
    """Add Pricebook2, Product2, PricebookEntry, OpportunityLineItem and OpportunityTeamMember."""
    schema.add(
        _object(
            "Pricebook2",
            "Price Book",
            "Price Books",
            [
                _text("Name", 255, "Price Book Name", required=True),
                Field("IsActive", "boolean", "Active", default=False),
                _ro("IsStandard", "boolean", "Is Standard Price Book"),
                _text("Description", 255, "Description"),
            ],
            key_prefix="01s",
        )
    )
    schema.add(
        _object(
            "Product2",
            "Product",
            "Products",
            [
                _text("Name", 255, "Product Name", required=True),
                _text("ProductCode", 255, "Product Code"),
                Field("Description", "textarea", "Product Description", length=4000),
                _picklist("Family", ("None",), "Product Family"),
                _picklist("QuantityUnitOfMeasure", ("Each",), "Quantity Unit Of Measure"),
                Field("IsActive", "boolean", "Active", default=False),
            ],
            key_prefix="01t",
        )
    )
    schema.add(
        _object(
            "PricebookEntry",
            "Price Book Entry",
            "Price Book Entries",
            [
                _ro("Name", "string", "Product Name", length=255),
                _parent_ref("Pricebook2Id", "Pricebook2", "Price Book ID", "PricebookEntries"),
                _parent_ref("Product2Id", "Product2", "Product ID", "PricebookEntries"),
                _currency("UnitPrice", "List Price", required=True),
                Field("IsActive", "boolean", "Active", default=False),
                Field("UseStandardPrice", "boolean", "Use Standard Price", default=False),
                _ro("ProductCode", "string", "Product Code", length=255),
            ],
            key_prefix="01u",
        )
    )
    schema.add(
        _object(
            "OpportunityLineItem",
            "Opportunity Product",
            "Opportunity Product",
            [
                _parent_ref("OpportunityId", "Opportunity", "Opportunity ID", "OpportunityLineItems"),
                _create_only_ref(
                    "PricebookEntryId",
                    "PricebookEntry",
                    "PricebookEntry",
                    "Price Book Entry ID",
                    child_relationship="OpportunityLineItems",
                ),
                _ro(
                    "Product2Id",
                    "reference",
                    "Product ID",
                    length=18,
                    reference_to=("Product2",),
                    relationship_name="Product2",
                ),
                _ro("ProductCode", "string", "Product Code", length=255),
                _ro("Name", "string", "Opportunity Product Name", length=376),
                Field("Quantity", "double", "Quantity", precision=12, scale=2, required=True),
                _currency("TotalPrice", "Total Price"),
                _currency("UnitPrice", "Sales Price"),
                _ro("ListPrice", "currency", "List Price", precision=18, scale=2),
                Field("ServiceDate", "date", "Date"),
                _text("Description", 255, "Line Description"),
            ],
            key_prefix="00k",
        )
    )
    schema.add(
        _object(
            "OpportunityTeamMember",
            "Opportunity Team Member",
            "Opportunity Team Members",
            [
                _parent_ref("OpportunityId", "Opportunity", "Opportunity ID", "OpportunityTeamMembers"),
                _create_only_ref("UserId", "User", "User", "User ID", required=True),
                _ro("Name", "string", "Team Member Name", length=121),
                _picklist("TeamMemberRole", TEAM_ROLES, "Team Role"),
                _picklist(
                    "OpportunityAccessLevel",
                    ("Read", "Edit"),
                    "Opportunity Access",
                    restricted=True,
                    default="Read",
                ),
            ],
            key_prefix="00q",
        )
    )
