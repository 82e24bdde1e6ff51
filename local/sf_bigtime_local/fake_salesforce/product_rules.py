"""Save rules for price book entries, opportunity line items and the opportunity team (a
:class:`~.store.SaveRules` hooked into the store). The rules and their sources are listed in :mod:`.products`.

Errors follow Salesforce's ``field integrity exception: <fields> (<reason>)`` layout; the message text is
marked [I] there where it is not confirmed against an org.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import FakeSalesforceError, bad_request
from .schema import SObjectType
from .store import Record, Store, WriteContext

LINE_ITEM = "OpportunityLineItem"
ENTRY = "PricebookEntry"
TEAM = "OpportunityTeamMember"

# Values copied from a parent onto its children at save time, refreshed when the parent changes (what the
# platform shows through lookups): (parent object, parent field, child object, child field).
_COPIES = (
    ("Product2", "Name", ENTRY, "Name"),
    ("Product2", "ProductCode", ENTRY, "ProductCode"),
    ("Product2", "ProductCode", LINE_ITEM, "ProductCode"),
    ("User", "Name", TEAM, "Name"),
)
_COPY_LINKS = {ENTRY: "Product2Id", LINE_ITEM: "Product2Id", TEAM: "UserId"}


def integrity(fields: list[str], reason: str) -> FakeSalesforceError:
    return bad_request(
        "FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {', '.join(fields)} ({reason})", fields
    )


def money(value: Decimal | float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class ProductRules:
    """Validation, derived values and roll-ups for the objects of :mod:`.products`."""

    def before_save(
        self,
        store: Store,
        sobject: SObjectType,
        values: dict[str, Any],
        given: dict[str, Any],
        old: dict[str, Any] | None,
    ) -> None:
        name = sobject.name
        if name == "Opportunity" and old is not None:
            self._opportunity(store, values, given, old)
        elif name == LINE_ITEM:
            self._line_item(store, values, given, old)
        elif name == ENTRY:
            self._entry(store, values, given, old)
        elif name == TEAM and old is None:
            self._team_member(store, values)

    def after_save(self, store: Store, record: Record, old: dict[str, Any] | None, ctx: WriteContext) -> None:
        if record.sobject.name == LINE_ITEM:
            self._roll_up(store, record.values.get("OpportunityId"), ctx)
        elif old is not None:
            _refresh_copies(store, record, old)

    def before_delete(self, store: Store, record: Record) -> None:
        name = record.sobject.name
        if name == "Pricebook2" and record.values.get("IsStandard"):
            raise bad_request("DELETE_FAILED", "The standard price book can't be deleted.")
        if name == ENTRY:
            in_use = store.live_children(LINE_ITEM, "PricebookEntryId", record.id)
            if in_use:
                opportunities = sorted(
                    {str(store.records[i.values["OpportunityId"]].values.get("Name")) for i in in_use}
                )
                raise bad_request(
                    "DELETE_FAILED",
                    f"Your attempt to delete {record.values.get('Name')} could not be completed because it is "
                    f"associated with the following opportunities.: {', '.join(opportunities)}",
                )

    def after_delete(self, store: Store, record: Record, ctx: WriteContext) -> None:
        if record.sobject.name == LINE_ITEM:
            self._roll_up(store, record.values.get("OpportunityId"), ctx)

    def after_undelete(self, store: Store, record: Record, ctx: WriteContext) -> None:
        self.after_delete(store, record, ctx)

    # --- Opportunity -----------------------------------------------------------------------------

    def _opportunity(
        self, store: Store, values: dict[str, Any], given: dict[str, Any], old: dict[str, Any]
    ) -> None:
        if not store.live_children(LINE_ITEM, "OpportunityId", str(old["Id"])):
            return
        if "Amount" in given:
            values["Amount"] = old.get("Amount")  # ignored, not refused, while there are line items
        if values.get("Pricebook2Id") != old.get("Pricebook2Id"):
            raise integrity(["unknown"], "cannot change pricebook on opportunity with line items")

    def _roll_up(self, store: Store, opportunity_id: str | None, ctx: WriteContext) -> None:
        """Re-save the opportunity with the sum of its line items (a roll-up: a real UPDATE)."""
        opp = store.records.get(opportunity_id or "")
        if opp is None or opp.deleted:
            return
        items = store.live_children(LINE_ITEM, "OpportunityId", opp.id)
        changes: dict[str, Any] = {"HasOpportunityLineItem": bool(items)}
        if items:
            changes["Amount"] = money(sum(Decimal(str(i.values.get("TotalPrice") or 0)) for i in items))
            if not opp.values.get("Pricebook2Id"):
                entry = store.records[items[0].values["PricebookEntryId"]]
                changes["Pricebook2Id"] = entry.values["Pricebook2Id"]
        elif opp.values.get("HasOpportunityLineItem"):
            changes["Amount"] = 0.0
        store.system_update(opp, changes, ctx)

    # --- OpportunityLineItem ---------------------------------------------------------------------

    def _line_item(
        self, store: Store, values: dict[str, Any], given: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        quantity = values.get("Quantity")
        if quantity is not None and Decimal(str(quantity)) == 0:
            raise integrity(["Quantity"], "quantity must be non-zero")
        if old is None:
            self._new_line_item(store, values, given)
        elif "UnitPrice" in given and "TotalPrice" in given:
            raise bad_request(
                "INVALID_FIELD",
                "Cannot change both 'UnitPrice' and 'TotalPrice' in update call",
                ["UnitPrice"],
            )
        if quantity is None:
            return  # REQUIRED_FIELD_MISSING follows
        if "TotalPrice" in given and values.get("TotalPrice") is not None:
            values["UnitPrice"] = money(Decimal(str(values["TotalPrice"])) / Decimal(str(quantity)))
        elif values.get("UnitPrice") is not None:
            values["TotalPrice"] = money(Decimal(str(quantity)) * Decimal(str(values["UnitPrice"])))
        if values.get("UnitPrice") is None or values.get("TotalPrice") is None:
            raise integrity(["unknown"], "must specify either UnitPrice or TotalPrice")

    def _new_line_item(self, store: Store, values: dict[str, Any], given: dict[str, Any]) -> None:
        entry_id, opp_id = values.get("PricebookEntryId"), values.get("OpportunityId")
        if not entry_id:
            raise integrity(
                ["PricebookEntryId", "unknown"],
                "versions 3.0 and higher must specify pricebook entry id; others must specify product id",
            )
        if "UnitPrice" in given and "TotalPrice" in given:
            raise integrity(["TotalPrice"], "only one of unit price or total price may be specified")
        if not opp_id:
            return  # REQUIRED_FIELD_MISSING follows
        entry, opp = store.records[entry_id], store.records[opp_id]
        if not entry.values.get("IsActive"):
            raise integrity(["PricebookEntryId"], "pricebook entry is inactive")
        book_id = opp.values.get("Pricebook2Id")
        if book_id and book_id != entry.values["Pricebook2Id"]:
            raise integrity(
                ["PricebookEntryId"],
                "pricebook entry is in a different pricebook than the one assigned to the opportunity",
            )
        if not book_id and not store.records[entry.values["Pricebook2Id"]].values.get("IsActive"):
            raise integrity(["PricebookEntryId"], "pricebook entry is in an inactive pricebook")
        product = store.records[entry.values["Product2Id"]]
        values["Product2Id"] = product.id
        values["ProductCode"] = product.values.get("ProductCode")
        values["ListPrice"] = entry.values.get("UnitPrice")
        values["Name"] = _line_item_name(store, values)

    # --- PricebookEntry --------------------------------------------------------------------------

    def _entry(
        self, store: Store, values: dict[str, Any], given: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        book_id, product_id = values.get("Pricebook2Id"), values.get("Product2Id")
        if not book_id or not product_id:
            return  # REQUIRED_FIELD_MISSING follows
        book, product = store.records[book_id], store.records[product_id]
        siblings = [
            e for e in store.live_children(ENTRY, "Product2Id", product_id) if e.id != values.get("Id")
        ]
        if old is None and any(e.values.get("Pricebook2Id") == book_id for e in siblings):
            raise bad_request("DUPLICATE_VALUE", "This price definition already exists in this price book")
        if old is None:
            values["Name"] = product.values.get("Name")
            values["ProductCode"] = product.values.get("ProductCode")
        if book.values.get("IsStandard"):
            if values.get("UseStandardPrice"):
                raise integrity(["UseStandardPrice"], "a standard price can't use the standard price")
            return
        standard = next(
            (e for e in siblings if store.records[e.values["Pricebook2Id"]].values.get("IsStandard")), None
        )
        if standard is None:
            raise bad_request("STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product")
        if values.get("UseStandardPrice"):
            price = standard.values.get("UnitPrice")
            if "UnitPrice" in given and given["UnitPrice"] != price:
                raise bad_request("FIELD_INTEGRITY_EXCEPTION", "field integrity exception", [])
            values["UnitPrice"] = price

    # --- OpportunityTeamMember -------------------------------------------------------------------

    def _team_member(self, store: Store, values: dict[str, Any]) -> None:
        user_id, opp_id = values.get("UserId"), values.get("OpportunityId")
        if not user_id or not opp_id:
            return  # REQUIRED_FIELD_MISSING follows
        user = store.records[user_id]
        if not user.values.get("IsActive"):
            raise bad_request(
                "INACTIVE_OWNER_OR_USER",
                f"operation performed with inactive user [{user_id}] as owner of opportunityteammember",
                ["UserId"],
            )
        for member in store.live_children(TEAM, "OpportunityId", opp_id):
            if member.values.get("UserId") == user_id:
                raise bad_request(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: UserId duplicates value on record with id: {member.id}",
                    ["UserId"],
                )
        values["Name"] = user.value(user.sobject.fields["name"])


def _refresh_copies(store: Store, parent: Record, old: dict[str, Any]) -> None:
    """Parent values shown on children follow the parent, like a lookup (no save of the children)."""
    name = parent.sobject.name
    for parent_type, parent_field, child_type, child_field in _COPIES:
        if parent_type == name and _changed(parent, old, parent_field):
            value = parent.value(parent.sobject.fields[parent_field.lower()])
            for child in store.live_children(child_type, _COPY_LINKS[child_type], parent.id):
                child.values[child_field] = value
    if name in ("Opportunity", "Product2") and _changed(parent, old, "Name"):
        link = "OpportunityId" if name == "Opportunity" else "Product2Id"
        for item in store.live_children(LINE_ITEM, link, parent.id):
            item.values["Name"] = _line_item_name(store, item.values)


def _changed(record: Record, old: dict[str, Any], field_name: str) -> bool:
    f = record.sobject.fields[field_name.lower()]
    before = f.compute(old) if f.compute is not None else old.get(f.name)
    return bool(record.value(f) != before)


def _line_item_name(store: Store, values: dict[str, Any]) -> str:
    """An opportunity product is named after its opportunity and product [I]."""
    opp = store.records.get(str(values.get("OpportunityId")))
    product = store.records.get(str(values.get("Product2Id")))
    return f"{opp.values.get('Name') if opp else ''} {product.values.get('Name') if product else ''}".strip()
