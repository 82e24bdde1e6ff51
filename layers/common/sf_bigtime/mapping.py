"""Salesforce -> BigTime field mapping: which Opportunities trigger, and what clients, projects and
contacts look like in BigTime. Defaults follow BigTime's own connector (reference §8)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.salesforce import OpportunitySnapshot, record_path

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


@dataclass(frozen=True)
class Mapping:
    trigger_stages: tuple[str, ...] = ("Closed Won",)
    billing_role: str = "Economic Buyer"
    # Deterministic and unique per Opportunity, so it doubles as the marker that finds a project whose
    # creation was not recorded (crash between BigTime's reply and our write).
    project_code: str = "SF-{Id}"
    project_url: str = "https://iq.bigtime.net/Bigtime/Project/{project_id}"
    extra_fields: tuple[str, ...] = field(default=())

    def is_trigger(self, opp: OpportunitySnapshot) -> bool:
        return opp.get("StageName") in self.trigger_stages


def render(template: str, opp: OpportunitySnapshot) -> str:
    """``"{Account.Name} – {Name}"`` with values from the Opportunity record (missing values -> "")."""
    return _PLACEHOLDER.sub(lambda m: _text(opp.get(m.group(1))), template).strip()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalize_name(name: str | None) -> str:
    """Case-, accent- and whitespace-insensitive form of a company name, for exact-name matching."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def client_fields(opp: OpportunitySnapshot) -> dict[str, Any]:
    return _clean(
        {
            "Nm": opp.get("Account.Name"),
            "Address": opp.get("Account.BillingStreet"),
            "City": opp.get("Account.BillingCity"),
            "State": opp.get("Account.BillingState"),
            "Zip": opp.get("Account.BillingPostalCode"),
            "Country": opp.get("Account.BillingCountry"),
            "MainPH": opp.get("Account.Phone"),
            "MainFX": opp.get("Account.Fax"),
            "Notes": opp.get("Account.Description"),
        }
    )


def project_fields(opp: OpportunitySnapshot, mapping: Mapping, client_id: int) -> dict[str, Any]:
    return _clean(
        {
            "Nm": opp.get("Name"),
            "ProjectCode": render(mapping.project_code, opp),
            "ClientId": client_id,
            "StartDt": opp.get("CloseDate"),
            "Notes": opp.get("Description"),
        }
    )


def contact_payloads(opp: OpportunitySnapshot, mapping: Mapping) -> tuple[list[dict[str, Any]], list[str]]:
    """Project contacts from the contact roles: PRIMARY, BILLING (the configured role), OTHER.

    De-duplicated by e-mail (first role wins, the primary comes first); contacts without a last name are
    skipped with a warning. BigTime allows one PRIMARY and one BILLING per project.
    """
    payloads: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    has_billing = False
    for role in opp.contact_roles:
        contact = role.get("Contact") or {}
        first, last = contact.get("FirstName"), contact.get("LastName")
        if not (last or first):
            warnings.append(
                f"contact role {role.get('Id')} skipped: the contact has no name (or is not visible)"
            )
            continue
        email = (contact.get("Email") or "").strip().lower()
        key = email or f"{first}|{last}".lower()
        if key in seen:
            continue
        seen.add(key)
        if role.get("IsPrimary") and not any(p["Tag"] == "PRIMARY" for p in payloads):
            tag = "PRIMARY"
        elif role.get("Role") == mapping.billing_role and not has_billing:
            tag, has_billing = "BILLING", True
        else:
            tag = "OTHER"
        payloads.append(
            _clean(
                {
                    "FName": first,
                    "SName": last,
                    "Title": contact.get("Title"),
                    "EMail": contact.get("Email"),
                    "Phone": contact.get("Phone"),
                    "Phone_2": contact.get("MobilePhone"),
                    "CompanyNm": opp.get("Account.Name"),
                    "Tag": tag,
                    "Address": _clean(
                        {
                            "Address": record_path(contact, "MailingStreet"),
                            "City": record_path(contact, "MailingCity"),
                            "State": record_path(contact, "MailingState"),
                            "Zip": record_path(contact, "MailingPostalCode"),
                            "Country": record_path(contact, "MailingCountry"),
                        }
                    )
                    or None,
                }
            )
        )
    return payloads, warnings


def contact_key(contact: dict[str, Any]) -> str:
    """How a BigTime project contact is recognised again: e-mail, else first|last name."""
    lowered = {str(k).lower(): v for k, v in contact.items()}
    email = str(lowered.get("email") or "").strip().lower()
    return email or f"{lowered.get('fname')}|{lowered.get('sname')}".lower()


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", {})}
