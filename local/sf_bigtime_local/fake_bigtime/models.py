"""Field views of the fake's BigTime entities.

Each entity has an "Update view": the only fields a POST may set (BigTime's API help, e.g.
https://iq.bigtime.net/BigtimeData/api/v2/help/Project). Body keys are matched case-insensitively, keys
outside the view are silently ignored, and values are coerced the way ASP.NET/Json.NET would bind them, or
rejected with a 400 that names the field. Read views (Basic and Detailed) are rendered here with BigTime's
PascalCase names.

Unset string fields render as ``null`` (a C# string that was never set) and unset lookups as ``null``;
BigTime does not document either ([Unknown], docs/decisions.md#what-we-assume-about-bigtime), and
``null`` is the stricter choice for clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Kind = Literal["str", "int", "bool", "num", "date", "address", "intlist"]


class ApiError(Exception):
    """An HTTP error answer: status plus the ``{"Message": …}`` body ASP.NET Web API sends."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    """A 400 validation error."""
    return ApiError(400, message)


def not_found(what: str, sid: object) -> ApiError:
    """A 404 for an unknown id."""
    return ApiError(404, f"{what} {sid} was not found.")


@dataclass(frozen=True)
class FieldSpec:
    """One writable field: canonical (PascalCase) name, value kind and, for ids, the lookup list."""

    name: str
    kind: Kind
    lookup: str | None = None  # FieldValues list an int id must come from


def update_view(*specs: FieldSpec) -> dict[str, FieldSpec]:
    """Index an Update view by lower-cased name, because BigTime matches field names case-insensitively."""
    return {spec.name.lower(): spec for spec in specs}


def _s(name: str) -> FieldSpec:
    return FieldSpec(name, "str")


ADDRESS_FIELDS = ("Address", "City", "State", "Zip", "Country")

CLIENT_UPDATE = update_view(
    _s("Nm"),
    _s("ClientId"),  # the client *code* (string), not an id: the "ClientId trap"
    _s("LegalNm"),
    *(_s(name) for name in ADDRESS_FIELDS),
    _s("MainPH"),
    _s("MainFX"),
    _s("Notes"),
    FieldSpec("IsInactive", "bool"),
    _s("BillNm"),
    _s("BillAddress"),
    _s("BillCity"),
    _s("BillState"),
    _s("BillZip"),
    _s("BillCountry"),
)

PROJECT_UPDATE = update_view(
    _s("Nm"),
    _s("ProjectCode"),
    FieldSpec("ClientId", "int"),  # on a project this is the owning client's SystemId
    FieldSpec("TypeId", "int", lookup="LookupProjectType"),
    FieldSpec("StartDt", "date"),
    FieldSpec("EndDt", "date"),
    FieldSpec("StatusProd", "int", lookup="StatusProduction"),
    _s("StatusProd_nt"),
    FieldSpec("StatusBill", "int", lookup="StatusBilling"),
    _s("Notes"),
    FieldSpec("IsInactive", "bool"),
    FieldSpec("IsAllStaff", "bool"),
    FieldSpec("IsNoCharge", "bool"),
    _s("ContractNotes"),
    _s("InvoiceNotes"),
    FieldSpec("BasicRate", "num"),
)

CONTACT_UPDATE = update_view(
    FieldSpec("ProjectSid", "int"),
    _s("FName"),
    _s("SName"),
    _s("MName"),
    _s("Prefix"),
    _s("Title"),
    _s("EMail"),
    _s("Phone"),
    _s("Phone_2"),
    _s("Phone_3"),
    _s("Fax"),
    _s("Notes"),
    _s("CompanyNm"),
    FieldSpec("ContactType", "int", lookup="LookupClientContactType"),
    _s("Tag"),
    FieldSpec("Address", "address"),
)

CONTACT_TAGS = ("PRIMARY", "BILLING", "OTHER")

_INT_RE = re.compile(r"^-?\d+$")
_NUM_RE = re.compile(r"^-?\d+(\.\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_update(body: Any, view: dict[str, FieldSpec], what: str) -> dict[str, Any]:
    """Keep the body's Update-view fields (any key casing), coerced; ignore the rest like BigTime does."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request(f"The request body for a {what} must be a JSON object.")
    out: dict[str, Any] = {}
    for key, value in body.items():
        spec = view.get(str(key).lower())
        if spec is None:
            continue  # BigTime silently ignores fields outside the Update view
        # A C# bool cannot be null: an explicit ``null`` binds as false.
        out[spec.name] = False if value is None and spec.kind == "bool" else coerce(spec, value)
    return out


def coerce(spec: FieldSpec, value: Any) -> Any:
    """Bind one JSON value to the field's type, or raise a 400 naming the field."""
    if value is None:
        return None
    match spec.kind:
        case "str":
            if isinstance(value, bool):
                return "True" if value else "False"  # Json.NET's string conversion of a bool
            if isinstance(value, int | float):
                return str(value)
            if isinstance(value, str):
                return value
            raise bad_request(f"The field '{spec.name}' must be a string.")
        case "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and _INT_RE.match(value.strip()):
                return int(value.strip())
            raise bad_request(f"The field '{spec.name}' must be an integer.")
        case "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise bad_request(f"The field '{spec.name}' must be true or false.")
        case "num":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str) and _NUM_RE.match(value.strip()):
                return float(value.strip())
            raise bad_request(f"The field '{spec.name}' must be a number.")
        case "date":
            return parse_date(spec.name, value)
        case "intlist":
            if not isinstance(value, list):
                raise bad_request(f"The field '{spec.name}' must be a list of ids.")
            # ids, or the {Sid, Nm} objects a read view shows (so GET → change → POST works)
            items = [ci(item).get("sid") if isinstance(item, dict) else item for item in value]
            return [coerce(FieldSpec(spec.name, "int"), item) for item in items if item is not None]
        case "address":
            if not isinstance(value, dict):
                raise bad_request(f"The field '{spec.name}' must be an object.")
            sub = update_view(*(_s(name) for name in ADDRESS_FIELDS))
            return parse_update(value, sub, "address")
    raise AssertionError(spec.kind)  # pragma: no cover - Kind is exhaustive


def parse_date(name: str, value: Any) -> str | None:
    """Accept only ``YYYY-MM-DD`` (the documented query/response format); "" clears the date."""
    if value == "":
        return None
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise bad_request(f"The field '{name}' must be a date in the format YYYY-MM-DD.")


def text(value: Any) -> str:
    """A value as trimmed text, for required-field and uniqueness checks."""
    return value.strip() if isinstance(value, str) else ""


def ci(mapping: dict[str, Any]) -> dict[str, Any]:
    """Lower-case the keys of a body object (BigTime field names are case-insensitive)."""
    return {str(k).lower(): v for k, v in mapping.items()}


def check_dates(record: dict[str, Any], start: str, end: str) -> None:
    """A 400 when the record's ``end`` date is before its ``start`` date (both ``YYYY-MM-DD``)."""
    if record.get(start) and record.get(end) and record[end] < record[start]:
        raise bad_request(f"The field '{end}' must not be before '{start}'.")


def full_address(parts: dict[str, Any]) -> str | None:
    """BigTime's computed one-line address ("street, city, state zip, country")."""
    state_zip = " ".join(p for p in (parts.get("State"), parts.get("Zip")) if p)
    pieces = [parts.get("Address"), parts.get("City"), state_zip, parts.get("Country")]
    text = ", ".join(p for p in pieces if p)
    return text or None


def full_name(contact: dict[str, Any]) -> str | None:
    """FullNm as BigTime shows it: first, middle and last name."""
    text = " ".join(p for p in (contact.get("FName"), contact.get("MName"), contact.get("SName")) if p)
    return text or None


CLIENT_BASIC = (
    "SystemId",
    "Nm",
    "ClientId",
    "DisplayName",
    "LegalNm",
    *ADDRESS_FIELDS,
    "FullAddress",
    "MainPH",
    "MainFX",
    "Notes",
    "IsInactive",
    "DtCreated",
    "DtModified",
)
CLIENT_DETAILED_EXTRA = ("BillNm", "BillAddress", "BillCity", "BillState", "BillZip", "BillCountry")

PROJECT_BASIC = (
    "SystemId",
    "Nm",
    "ProjectCode",
    "DisplayName",
    "ClientId",
    "TypeId",
    "StartDt",
    "EndDt",
    "IsInactive",
    "StatusProd",
    "StatusBill",
    "DtCreated",
    "DtModified",
)
PROJECT_DETAILED_EXTRA = (
    "Notes",
    "StatusProd_nt",
    "IsAllStaff",
    "IsNoCharge",
    "ContractNotes",
    "InvoiceNotes",
    "BasicRate",
)

CONTACT_FIELDS = (
    "ProjectSid",
    "ClientSid",
    "Tag",
    "Prefix",
    "FName",
    "MName",
    "SName",
    "FullNm",
    "Title",
    "CompanyNm",
    "EMail",
    "Phone",
    "Phone_2",
    "Phone_3",
    "Fax",
    "Notes",
    "ContactType",
)


def pick(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A view: the named fields in order, ``None`` where unset."""
    return {name: record.get(name) for name in names}
