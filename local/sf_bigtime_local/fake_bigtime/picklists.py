"""The firm's "Field Values" picklists (``GET /picklist/FieldValues/{name}``) and the lookup checks
that tie int fields such as ``TypeId`` or ``StatusProd`` to them."""

from __future__ import annotations

from typing import Any

from .models import ApiError, FieldSpec, bad_request

Record = dict[str, Any]


class Picklists:
    """Named lists of ``{Id, Name[, Group, IsInactive]}``; names match case-insensitively."""

    def __init__(self, picklists: dict[str, list[dict[str, Any]]]) -> None:
        self._lists: dict[str, tuple[str, list[Record]]] = {}
        for name, items in picklists.items():
            for item in items:
                if not isinstance(item.get("Id"), int) or not isinstance(item.get("Name"), str):
                    raise ValueError(f"picklist {name}: every item needs an int Id and a str Name: {item}")
            self._lists[name.lower()] = (name, [dict(item) for item in items])

    def items(self, name: str) -> list[Record]:
        """Every item of a list (inactive too); [] for an unknown list."""
        return self._lists.get(name.lower(), (name, []))[1]

    def item(self, name: str, item_id: Any) -> Record | None:
        """One item by Id, or None."""
        return next((i for i in self.items(name) if i["Id"] == item_id), None)

    def name_of(self, name: str, item_id: Any) -> str | None:
        """The Name of an item (``StatusProd`` → "In Progress"), None when unset or unknown."""
        item = self.item(name, item_id)
        return None if item is None else item["Name"]

    def check_lookups(self, fields: Record, view: dict[str, FieldSpec]) -> None:
        """Ids of picklist-backed fields must be active items of that picklist; 0 or null clears."""
        for spec in view.values():
            if spec.lookup is None or spec.name not in fields:
                continue
            value = fields[spec.name]
            if value in (None, 0):
                fields[spec.name] = None
                continue
            item = self.item(spec.lookup, value)
            if item is None:
                raise bad_request(
                    f"The field '{spec.name}' has the value {value}, which is not in {spec.lookup}."
                )
            if item.get("IsInactive"):
                raise bad_request(f"The field '{spec.name}' has the value {value}, which is inactive.")

    def field_values(self, name: str, show_inactive: bool) -> list[Record]:
        """``GET /picklist/FieldValues/{name}``: sorted by Name; inactive items only on request."""
        if name.lower() not in self._lists:
            raise ApiError(404, f"The field value list '{name}' was not found.")
        out = []
        for item in sorted(self.items(name), key=lambda i: i["Name"].lower()):
            if item.get("IsInactive") and not show_inactive:
                continue
            row: Record = {"Id": item["Id"], "Name": item["Name"]}
            if "Group" in item:
                row["Group"] = item["Group"]
            if show_inactive:
                row["IsInactive"] = bool(item.get("IsInactive"))
            out.append(row)
        return out
