"""Salesforce record ids: 15 -> 18 character conversion and validation.

Salesforce ids are 15 case-sensitive characters; the 18-character form appends a 3-character
checksum of the capitalisation so that the id survives case-insensitive systems. No maintained
library on PyPI does just this, so it is written here (it is a dozen lines of a documented rule).
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

# Key prefixes of the objects this project touches (first three characters of an id).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "User": "005",
    "Organization": "00D",
}


def checksum(id15: str) -> str:
    """The three checksum characters Salesforce appends to a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix += _ALPHABET[bits]
    return suffix


def is_salesforce_id(value: str, prefix: str = "") -> bool:
    """True for a well-formed 15- or 18-character id (an 18-character one must carry the right checksum),
    starting with ``prefix`` when given: an object's key prefix (``KEY_PREFIXES``), e.g. "006"."""
    if not isinstance(value, str) or not _ID_RE.match(value) or not value.startswith(prefix):
        return False
    return len(value) == 15 or value[15:] == checksum(value[:15])


def to_18(value: str) -> str:
    """Return the 18-character form of a Salesforce id; raise ValueError for anything that is not an id."""
    if not is_salesforce_id(value):
        raise ValueError(f"not a Salesforce id: {value!r}")
    return value if len(value) == 18 else value + checksum(value)


def same_org(a: str, b: str) -> bool:
    """Org ids compare on their first 15 characters, so 15- and 18-character forms match."""
    return len(a) >= 15 and len(b) >= 15 and a[:15] == b[:15]
