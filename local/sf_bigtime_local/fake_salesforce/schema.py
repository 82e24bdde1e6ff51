"""Objects and fields the fake knows: the standard objects this project touches, plus custom fields and
objects read from the SFDX metadata (see :mod:`.metadata`), so the fake and the deployable metadata agree.

Field types use the names of Salesforce's describe call (``string``, ``textarea``, ``reference``, …).
Names are matched case-insensitively everywhere and always returned with the schema's casing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.sfid import KEY_PREFIXES

TEXT_TYPES = frozenset({"string", "textarea", "url", "email", "phone", "picklist", "combobox"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
ID_TYPES = frozenset({"id", "reference"})


@dataclass
class Field:
    """One field, with the describe attributes the fake enforces."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    required: bool = False  # must hold a value after create/update (describe: nillable=false, no default)
    createable: bool = True
    updateable: bool = True
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None  # parent relationship used in SOQL paths (Account, Owner, Foo__r)
    child_relationship: str | None = None  # name of the matching child relationship on the parent
    cascade_delete: bool = (
        False  # deleting the parent deletes this record (master-detail and a few standard ones)
    )
    custom: bool = False
    description: str = ""
    compute: Callable[[dict[str, Any]], Any] | None = None  # read-only value derived from other fields
    formula: str = ""  # a formula field's formula (metadata); ``compute`` evaluates it (see .formula)
    formula_blanks_as_zero: bool = True  # formulaTreatBlanksAs: BlankAsZero (else BlankAsBlank)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name

    @property
    def calculated(self) -> bool:
        return self.compute is not None

    @property
    def nillable(self) -> bool:
        return not self.required and self.type not in ("boolean", "id")

    @property
    def filterable(self) -> bool:
        # Long text areas and compound fields cannot appear in WHERE or ORDER BY (real SOQL rejects them).
        return not (self.type == "textarea" and self.length > 255) and self.type != "address"

    def describe(self) -> dict[str, Any]:
        """The field's entry in ``sobjects/{Type}/describe`` (a subset of the real attributes)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "calculated": self.calculated,
            "calculatedFormula": self.formula or None,
            "filterable": self.filterable,
            "sortable": self.filterable,
            "defaultedOnCreate": self.default is not None or self.name in _DEFAULTED,
            "defaultValue": self.default,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "validFor": None, "value": v}
                for v in self.picklist_values
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "inlineHelpText": self.description or None,
        }


_DEFAULTED = frozenset(
    {"Id", "OwnerId", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"}
    | {"SystemModstamp", "IsWon", "IsClosed", "Probability", "ForecastCategoryName"}
    | {"HasOpportunityLineItem", "IsStandard"}
)


@dataclass
class ChildRelationship:
    """``Account.Contacts``: the children of a parent through one reference field."""

    name: str
    child: str
    field: str
    cascade_delete: bool = False


@dataclass
class SObjectType:
    """One object: its fields in schema order, relationships and key prefix."""

    name: str
    key_prefix: str
    label: str = ""
    label_plural: str = ""
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    has_is_deleted: bool = True
    description: str = ""
    fields: dict[str, Field] = field(default_factory=dict)  # lower-case name -> Field, in schema order
    children: dict[str, ChildRelationship] = field(default_factory=dict)  # lower-case name -> relationship

    def add(self, *fields: Field) -> None:
        for f in fields:
            self.fields[f.name.lower()] = f

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    def parent(self, relationship: str) -> Field | None:
        """The reference field behind a parent relationship name (``Account`` → ``AccountId``)."""
        rel = relationship.lower()
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == rel:
                return f
        return None

    def child(self, relationship: str) -> ChildRelationship | None:
        return self.children.get(relationship.lower())

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "undeletable": self.deletable,
            "queryable": True,
            "retrieveable": True,
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {
                    "childSObject": c.child,
                    "field": c.field,
                    "relationshipName": c.name,
                    "cascadeDelete": c.cascade_delete,
                }
                for c in self.children.values()
            ],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }


class Schema:
    """All objects, looked up by name (case-insensitive) or by id key prefix."""

    def __init__(self) -> None:
        self.objects: dict[str, SObjectType] = {}

    def add(self, obj: SObjectType) -> SObjectType:
        self.objects[obj.name.lower()] = obj
        return obj

    def get(self, name: str) -> SObjectType | None:
        return self.objects.get(name.lower())

    def by_prefix(self, record_id: str) -> SObjectType | None:
        prefix = record_id[:3]
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def link(self) -> None:
        """Register every reference field's child relationship on its parent (call after all fields exist)."""
        for obj in self.objects.values():
            obj.children.clear()
        for obj in self.objects.values():
            for f in obj.fields.values():
                if f.type != "reference" or not f.child_relationship:
                    continue
                for target in f.reference_to:
                    parent = self.get(target)
                    if parent is not None:
                        parent.children[f.child_relationship.lower()] = ChildRelationship(
                            f.child_relationship, obj.name, f.name, f.cascade_delete
                        )


# --- standard objects ---------------------------------------------------------------------------------

# OpportunityStage defaults of a new org: (stage, probability, forecast category, closed, won).
OPPORTUNITY_STAGES: tuple[tuple[str, float, str, bool, bool], ...] = (
    ("Prospecting", 10.0, "Pipeline", False, False),
    ("Qualification", 10.0, "Pipeline", False, False),
    ("Needs Analysis", 20.0, "Pipeline", False, False),
    ("Value Proposition", 50.0, "Pipeline", False, False),
    ("Id. Decision Makers", 60.0, "Pipeline", False, False),
    ("Perception Analysis", 70.0, "Pipeline", False, False),
    ("Proposal/Price Quote", 75.0, "Pipeline", False, False),
    ("Negotiation/Review", 90.0, "Pipeline", False, False),
    ("Closed Won", 100.0, "Closed", True, True),
    ("Closed Lost", 0.0, "Omitted", True, False),
)
STAGES_BY_NAME = {s[0]: s for s in OPPORTUNITY_STAGES}

ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
OPPORTUNITY_TYPES = (
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
FORECAST_CATEGORIES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)


def _ro(name: str, type_: str, label: str = "", **kw: Any) -> Field:
    return Field(name, type_, label, createable=False, updateable=False, **kw)


def _ref(name: str, target: str, relationship: str, label: str = "", **kw: Any) -> Field:
    return Field(
        name, "reference", label, length=18, reference_to=(target,), relationship_name=relationship, **kw
    )


def _text(name: str, length: int, label: str = "", **kw: Any) -> Field:
    return Field(name, "string", label, length=length, **kw)


def _picklist(name: str, values: Iterable[str], label: str = "", **kw: Any) -> Field:
    return Field(name, "picklist", label, length=255, picklist_values=tuple(values), **kw)


def _full_name(values: dict[str, Any]) -> str | None:
    parts = [values.get("FirstName"), values.get("LastName")]
    name = " ".join(p for p in parts if p)
    return name or None


def _address(prefix: str) -> Callable[[dict[str, Any]], Any]:
    def compute(values: dict[str, Any]) -> Any:
        parts = {
            "street": values.get(f"{prefix}Street"),
            "city": values.get(f"{prefix}City"),
            "state": values.get(f"{prefix}State"),
            "postalCode": values.get(f"{prefix}PostalCode"),
            "country": values.get(f"{prefix}Country"),
        }
        if not any(parts.values()):
            return None
        return {**parts, "geocodeAccuracy": None, "latitude": None, "longitude": None}

    return compute


def _address_fields(prefix: str, label: str) -> list[Field]:
    return [
        Field(f"{prefix}Street", "textarea", f"{label} Street", length=255),
        _text(f"{prefix}City", 40, f"{label} City"),
        _text(f"{prefix}State", 80, f"{label} State/Province"),
        _text(f"{prefix}PostalCode", 20, f"{label} Zip/Postal Code"),
        _text(f"{prefix}Country", 80, f"{label} Country"),
        _ro(f"{prefix}Address", "address", f"{label} Address", compute=_address(prefix)),
    ]


def audit_fields(with_is_deleted: bool = True) -> tuple[list[Field], list[Field]]:
    """(leading, trailing) system fields every object has: Id first, the audit fields last."""
    lead = [_ro("Id", "id", "Record ID", length=18)]
    tail = [_ro("IsDeleted", "boolean", "Deleted")] if with_is_deleted else []
    tail += [
        _ro("CreatedDate", "datetime", "Created Date"),
        _ro(
            "CreatedById",
            "reference",
            "Created By ID",
            length=18,
            reference_to=("User",),
            relationship_name="CreatedBy",
        ),
        _ro("LastModifiedDate", "datetime", "Last Modified Date"),
        _ro(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            length=18,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        _ro("SystemModstamp", "datetime", "System Modstamp"),
    ]
    return lead, tail


def _object(name: str, label: str, plural: str, fields: list[Field], **kw: Any) -> SObjectType:
    obj = SObjectType(name, KEY_PREFIXES.get(name, kw.pop("key_prefix", "")), label, plural, **kw)
    lead, tail = audit_fields(obj.has_is_deleted)
    obj.add(*lead, *fields, *tail)
    return obj


def standard_schema() -> Schema:
    """The standard objects with the fields this project reads and writes (the org, users, the Opportunity,
    its Account, contact roles and contacts), typed and sized as in Salesforce's Object Reference, plus
    products, price books, line items and the opportunity team (:mod:`.products`)."""
    schema = Schema()
    schema.add(
        _object(
            "Organization",
            "Organization",
            "Organizations",
            [
                _ro("Name", "string", "Name", length=80),
                _ro("IsSandbox", "boolean", "Is Sandbox"),
                _ro("OrganizationType", "string", "Edition", length=40),
                _ro("InstanceName", "string", "Instance Name", length=5),
                _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
                _ro("TimeZoneSidKey", "string", "Default Time Zone", length=40),
                _ro("DefaultLocaleSidKey", "string", "Default Locale", length=40),
            ],
            createable=False,
            updateable=False,
            deletable=False,
            has_is_deleted=False,
        )
    )
    schema.add(
        _object(
            "User",
            "User",
            "Users",
            [
                _text("Username", 80, "Username", required=True, unique=True),
                _text("FirstName", 40, "First Name"),
                _text("LastName", 80, "Last Name", required=True),
                _ro("Name", "string", "Full Name", length=121, compute=_full_name),
                Field("Email", "email", "Email", length=128, required=True),
                _text("Alias", 8, "Alias"),
                Field("IsActive", "boolean", "Active", default=True),
                _text("Title", 80, "Title"),
                _text("CompanyName", 80, "Company Name"),
                Field("Phone", "phone", "Phone", length=40),
                _text("TimeZoneSidKey", 40, "Time Zone", default="GMT"),
            ],
            deletable=False,
            has_is_deleted=False,
        )
    )
    schema.add(
        _object(
            "RecordType",
            "Record Type",
            "Record Types",
            [
                _text("Name", 80, "Record Type Name", required=True),
                _text("DeveloperName", 80, "Record Type Name (API)", required=True),
                _text("SobjectType", 40, "SObject Type Name", required=True),
                Field("IsActive", "boolean", "Active", default=True),
                _text("Description", 255, "Description"),
            ],
            deletable=False,
            has_is_deleted=False,
            key_prefix="012",  # record ids must carry their object's prefix (a lookup checks it)
        )
    )
    schema.add(
        _object(
            "Account",
            "Account",
            "Accounts",
            [
                _text("Name", 255, "Account Name", required=True),
                _ref("OwnerId", "User", "Owner", "Owner ID"),
                Field("Phone", "phone", "Account Phone", length=40),
                Field("Fax", "phone", "Account Fax", length=40),
                Field("Website", "url", "Website", length=255),
                _picklist("Type", ACCOUNT_TYPES, "Account Type"),
                _picklist("Industry", INDUSTRIES, "Industry"),
                Field("Description", "textarea", "Account Description", length=32000),
                *_address_fields("Billing", "Billing"),
            ],
        )
    )
    schema.add(
        _object(
            "Contact",
            "Contact",
            "Contacts",
            [
                _ref(
                    "AccountId",
                    "Account",
                    "Account",
                    "Account ID",
                    child_relationship="Contacts",
                    cascade_delete=True,
                ),
                _ref("OwnerId", "User", "Owner", "Owner ID"),
                _text("FirstName", 40, "First Name"),
                _text("LastName", 80, "Last Name", required=True),
                _ro("Name", "string", "Full Name", length=121, compute=_full_name),
                Field("Email", "email", "Email", length=80),
                Field("Phone", "phone", "Business Phone", length=40),
                Field("MobilePhone", "phone", "Mobile Phone", length=40),
                Field("OtherPhone", "phone", "Other Phone", length=40),
                _text("Title", 128, "Title"),
                *_address_fields("Mailing", "Mailing"),
            ],
        )
    )
    schema.add(
        _object(
            "Opportunity",
            "Opportunity",
            "Opportunities",
            [
                _ref(
                    "AccountId",
                    "Account",
                    "Account",
                    "Account ID",
                    child_relationship="Opportunities",
                    cascade_delete=True,
                ),
                _ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
                _ref("OwnerId", "User", "Owner", "Owner ID"),
                _ref(
                    "Pricebook2Id",
                    "Pricebook2",
                    "Pricebook2",
                    "Price Book ID",
                    child_relationship="Opportunities",
                ),
                _text("Name", 120, "Name", required=True),
                Field("Description", "textarea", "Description", length=32000),
                _picklist(
                    "StageName", (s[0] for s in OPPORTUNITY_STAGES), "Stage", required=True, restricted=True
                ),
                Field("Amount", "currency", "Amount", precision=18, scale=2),
                Field("Probability", "percent", "Probability (%)", precision=3, scale=0),
                Field("CloseDate", "date", "Close Date", required=True),
                _picklist("Type", OPPORTUNITY_TYPES, "Opportunity Type"),
                _text("NextStep", 255, "Next Step"),
                _picklist("LeadSource", LEAD_SOURCES, "Lead Source"),
                _ro("IsClosed", "boolean", "Closed"),
                _ro("IsWon", "boolean", "Won"),
                _picklist("ForecastCategoryName", FORECAST_CATEGORIES, "Forecast Category", restricted=True),
                _ro("HasOpportunityLineItem", "boolean", "Has Line Item"),
            ],
        )
    )
    schema.add(
        _object(
            "OpportunityContactRole",
            "Opportunity Contact Role",
            "Opportunity Contact Role",
            [
                _ref(
                    "OpportunityId",
                    "Opportunity",
                    "Opportunity",
                    "Opportunity ID",
                    required=True,
                    updateable=False,
                    child_relationship="OpportunityContactRoles",
                    cascade_delete=True,
                ),
                _ref(
                    "ContactId",
                    "Contact",
                    "Contact",
                    "Contact ID",
                    required=True,
                    child_relationship="OpportunityContactRoles",
                    cascade_delete=True,
                ),
                _picklist("Role", CONTACT_ROLES, "Role"),
                Field("IsPrimary", "boolean", "Primary", default=False),
            ],
        )
    )
    # Imported here: products builds on this module's field helpers.
    from .products import add_product_objects

    add_product_objects(schema)
    return schema
