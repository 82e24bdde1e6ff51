"""Values: JSON input → stored Python value (with Salesforce's validation errors), and stored value →
REST JSON wire format (datetimes ``2025-06-26T14:32:49.000+0000``, dates ``YYYY-MM-DD``, numbers as floats)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sf_bigtime.sfid import is_salesforce_id, to_18

from .errors import FakeSalesforceError, bad_request
from .schema import NUMBER_TYPES, TEXT_TYPES, Field

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def format_datetime(value: datetime) -> str:
    """REST wire format: ``2025-06-26T14:32:49.000+0000``."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def format_datetime_z(value: datetime) -> str:
    """SOAP/Flow format: ``2026-07-09T03:04:32.000Z``."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def to_wire(field: Field, value: Any) -> Any:
    """Stored value → JSON value as the REST API returns it."""
    if value is None:
        return None
    if field.type == "datetime":
        return format_datetime(value)
    if field.type == "date":
        return value.isoformat()
    if field.type in ("double", "currency", "percent"):
        return float(value)
    if field.type == "int":
        return int(value)
    if field.type == "boolean":
        return bool(value)
    if field.type == "address":
        return dict(value)
    return str(value)


def parse_date(text: str) -> date | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_datetime(text: str) -> datetime | None:
    """Accept the ISO shapes Salesforce accepts; no offset means UTC. Result is UTC, whole seconds."""
    day = parse_date(text)
    if day is not None:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    m = _DATETIME_RE.match(text.strip())
    if not m:
        return None
    try:
        tz = UTC
        if m[8] and m[8] != "Z":
            offset = m[8].replace(":", "")
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
            tz = timezone(delta if offset[0] == "+" else -delta)
        value = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), tzinfo=tz)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "START_ARRAY"


def _cannot_deserialize(java_type: str, value: Any) -> FakeSalesforceError:
    shown = value if isinstance(value, str | int | float) else ("{" if isinstance(value, dict) else "[")
    return bad_request(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {java_type} from {_json_type(value)} value {shown} "
        "or request may be missing a required field",
    )


def coerce(field: Field, value: Any) -> Any:
    """Validate one JSON input value for ``field`` and return the stored form (errors as Salesforce's)."""
    if value is None:
        # A checkbox cannot be null: Salesforce stores false.
        return False if field.type == "boolean" else None
    if field.type in TEXT_TYPES:
        return _coerce_text(field, value)
    if field.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _cannot_deserialize("boolean", value)
    if field.type in NUMBER_TYPES:
        return _coerce_number(field, value)
    if field.type == "date":
        parsed = None
        if isinstance(value, str):
            # A date, or a full datetime whose date part is taken (as the API does for date fields).
            moment = parse_datetime(value) if "T" in value else None
            parsed = parse_date(value) or (moment.date() if moment else None)
        if parsed is None:
            raise _cannot_deserialize("date", value)
        return parsed
    if field.type == "datetime":
        parsed_dt = parse_datetime(value) if isinstance(value, str) else None
        if parsed_dt is None:
            raise _cannot_deserialize("datetime", value)
        return parsed_dt.replace(microsecond=0)
    if field.type in ("reference", "id"):
        if not isinstance(value, str):
            raise _cannot_deserialize("id", value)
        if value == "":
            return None
        if not is_salesforce_id(value):
            raise bad_request(
                "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
            )
        return to_18(value)
    raise bad_request("INVALID_FIELD", f"Unable to set field {field.name} of type {field.type}", [field.name])


def _coerce_text(field: Field, value: Any) -> str | None:
    if isinstance(value, dict | list):
        raise _cannot_deserialize("string", value)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if text == "":
        return None  # Salesforce stores empty strings as null
    if field.length and len(text) > field.length:
        raise bad_request(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {text[:60]} (max length={field.length})",
            [field.name],
        )
    if field.type == "email" and not _EMAIL_RE.match(text):
        raise bad_request(
            "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {text}", [field.name]
        )
    if field.type == "picklist" and field.restricted and text not in field.picklist_values:
        raise bad_request(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {text}",
            [field.name],
        )
    return text


def _coerce_number(field: Field, value: Any) -> float | int:
    java = "int" if field.type == "int" else "double"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _cannot_deserialize(java, value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _cannot_deserialize(java, value) from None
    if not number.is_finite():
        raise _cannot_deserialize(java, value)
    if field.precision:
        whole_digits = len(str(abs(int(number)))) if abs(number) >= 1 else 0
        if whole_digits > field.precision - field.scale:
            raise bad_request(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{field.label}: value outside of valid range on numeric field: {value}",
                [field.name],
            )
        number = round(number, field.scale)
    if field.type == "int":
        return int(number)
    return float(number)
