"""The mapping applied to an Opportunity as read: does it trigger, and what BigTime client, project and
contacts it becomes. Pure functions over plain data, so every rule is testable without a server.

Picklist-backed fields keep their value *names* here; :class:`sf_bigtime.sync.context.SyncRun` resolves them to BigTime ids
(one cached picklist call), because only it talks to BigTime.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.clients.salesforce import OpportunitySnapshot, record_path
from sf_bigtime.mapping.fields import PLACEHOLDER_RE, Source, fields_to_write
from sf_bigtime.mapping.model import (
    STATUS_PICKLIST,
    ClientSection,
    ContactsSection,
    LifecycleAction,
    Mapping,
    ProjectSection,
    Trigger,
    picklist,
)

Lookup = Callable[[str], Any]
Section = ClientSection | ProjectSection | ContactsSection
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T")


@dataclass
class Payload:
    """BigTime field -> value, plus which of those fields hold picklist names (field -> list name)."""

    values: dict[str, Any] = field(default_factory=dict)
    picklists: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.values)

    def fingerprint(self) -> str:
        return fingerprint(self.values)

    def merged(self, other: Payload) -> Payload:
        return Payload({**self.values, **other.values}, {**self.picklists, **other.picklists})


@dataclass
class ContactPlan:
    """One project contact to have: its identity (e-mail, else name), its tag and its mapped fields."""

    key: str
    tag: str  # PRIMARY | BILLING | OTHER
    create: Payload  # every field written when the contact is added
    sync: Payload  # the `sync` fields, compared with BigTime on later changes


# -- values ------------------------------------------------------------------------------------------
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Lone surrogates (a JSON ``"\\ud800"`` escape decodes to one) replaced by U+FFFD: no store, hash or
    API can encode them as UTF-8."""
    return _SURROGATE.sub("\ufffd", value)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(template: str, lookup: Lookup, today: str) -> str:
    """``"{Account.Name} – {Name}"`` with values from the record (missing values -> "")."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return today if name == "today" else text(lookup(name))

    return PLACEHOLDER_RE.sub(value, template).strip()


def opportunity_lookup(opp: OpportunitySnapshot | None) -> Lookup:
    return (lambda path: opp.get(path)) if opp is not None else (lambda _path: None)


def source_value(bt_field: str, source: Source, lookup: Lookup, today: str) -> Any:
    """One BigTime field's value; None when empty (an empty value is never sent)."""
    if source.field:
        value = lookup(source.field)
    elif source.template is not None:
        value = render(source.template, lookup, today)
    else:
        value = source.value
    if source.map is not None and value not in (None, ""):
        wanted = text(value).strip().casefold()
        value = next((v for k, v in source.map.items() if k.strip().casefold() == wanted), None)
    if value in (None, ""):
        value = source.default
    if isinstance(value, str):
        value = clean_text(value).strip()
        if bt_field.endswith("Dt") and (m := _DATETIME.match(value)):
            value = m.group(1)  # a datetime mapped to a BigTime date: BigTime takes YYYY-MM-DD only
        if source.max_length:
            value = value[: source.max_length].rstrip()
    return None if value in (None, "") else value


def section_payload(section: Section, lookup: Lookup, today: str, *, sync_only: bool) -> Payload:
    """The fields of a client/project/contact: all writable ones on create, the `sync` ones later."""
    payload = Payload()
    for bt_field, source in fields_to_write(section.fields, section.update, sync_only=sync_only):
        value = source_value(bt_field, source, lookup, today)
        if value is None:
            continue
        payload.values[bt_field] = value
        list_name = picklist(section, bt_field, source)
        if list_name and isinstance(value, str):
            payload.picklists[bt_field] = list_name
    return payload


def client_payload(opp: OpportunitySnapshot, mapping: Mapping, today: str, *, sync_only: bool) -> Payload:
    return section_payload(mapping.client, opportunity_lookup(opp), today, sync_only=sync_only)


def project_payload(opp: OpportunitySnapshot, mapping: Mapping, today: str, *, sync_only: bool) -> Payload:
    return section_payload(mapping.project, opportunity_lookup(opp), today, sync_only=sync_only)


def code(template: str | None, opp: OpportunitySnapshot, today: str) -> str | None:
    if not template:
        return None
    return render(template, opportunity_lookup(opp), today) or None


# -- the trigger -------------------------------------------------------------------------------------
def trigger_check(opp: OpportunitySnapshot, trigger: Trigger) -> str | None:
    """None if the Opportunity triggers a project; otherwise why not, for a person to read.

    The stage reason does not name the current stage on purpose: it is written onto the Opportunity,
    and a text that changed with every stage would cost a write-back per stage change.
    """
    stage = opp.get("StageName")
    if trigger.any_won:
        if opp.get("IsWon") is not True:
            return "the stage is not a won stage"
    elif not any(text(stage).casefold() == s.casefold() for s in trigger.stages):
        return f"the stage is not {' or '.join(repr(s) for s in trigger.stages)}"
    for condition in trigger.conditions:
        value = opp.get(condition.field)
        if not condition.holds(value):
            return f"the condition {condition.describe()} does not hold ({condition.field} is {value!r})"
    return None


# -- contacts ----------------------------------------------------------------------------------------
def contact_plans(
    opp: OpportunitySnapshot, section: ContactsSection, today: str
) -> tuple[list[ContactPlan], list[str]]:
    """Project contacts from the contact roles: the primary role -> PRIMARY, the billing role -> BILLING,
    the rest OTHER. De-duplicated by e-mail (the first role wins; the primary comes first); contacts
    without a name are skipped with a warning. BigTime allows one PRIMARY and one BILLING per project."""
    if not section.enabled:
        return [], []
    plans: list[ContactPlan] = []
    warnings: list[str] = []
    seen: set[str] = set()
    wanted_roles = {r.casefold() for r in section.roles} if section.roles is not None else None
    billing = (section.billing_role or "").casefold()
    for role in opp.contact_roles:
        role_name = text(role.get("Role")).casefold()
        primary = role.get("IsPrimary") is True
        if wanted_roles is not None and not primary and role_name not in wanted_roles:
            continue
        contact = role.get("Contact")  # None when the integration user may not see the contact
        context = {
            **(contact if isinstance(contact, dict) else {}),
            "Opportunity": opp.record,
            "ContactRole": role,
        }

        def lookup(path: str, context: dict[str, Any] = context) -> Any:
            return record_path(context, path)

        create = section_payload(section, lookup, today, sync_only=False)
        if not (create.values.get("FName") or create.values.get("SName")):
            warnings.append(
                f"contact role {clean_text(text(role.get('Id')))[:40]} skipped: the contact has no name "
                "(or is not visible)"
            )
            continue
        key = contact_key(create.values)
        if key in seen:
            continue
        seen.add(key)
        tags = {p.tag for p in plans}
        if primary and "PRIMARY" not in tags:
            tag = "PRIMARY"
        elif billing and role_name == billing and "BILLING" not in tags:
            tag = "BILLING"
        else:
            tag = "OTHER"
        plans.append(ContactPlan(key, tag, create, section_payload(section, lookup, today, sync_only=True)))
    return plans, warnings


def contact_key(contact: dict[str, Any]) -> str:
    """How a BigTime project contact is recognised again: e-mail, else first|last name."""
    lowered = {str(k).lower(): v for k, v in contact.items()}
    email = text(lowered.get("email")).strip().lower()
    return email or f"{text(lowered.get('fname'))}|{text(lowered.get('sname'))}".lower()


def nest(values: dict[str, Any]) -> dict[str, Any]:
    """``{"Address.City": "Oslo"}`` -> ``{"Address": {"City": "Oslo"}}`` (BigTime's contact shape)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if "." in key:
            parent, child = key.split(".", 1)
            out.setdefault(parent, {})[child] = value
        else:
            out[key] = value
    return out


# -- lifecycle ---------------------------------------------------------------------------------------
def lifecycle_payload(action: LifecycleAction, opp: OpportunitySnapshot | None, today: str) -> Payload:
    payload = Payload()
    if action.status:
        payload.values["StatusProd"] = action.status
        payload.picklists["StatusProd"] = STATUS_PICKLIST
    if action.note:
        payload.values["StatusProd_nt"] = render(action.note, opportunity_lookup(opp), today)
    if action.inactive is not None:
        payload.values["IsInactive"] = action.inactive
    return payload


# -- comparing with what BigTime holds -----------------------------------------------------------------
def normalize_name(name: str | None) -> str:
    """Case-, accent- and whitespace-insensitive form of a company name, for exact-name matching."""
    value = unicodedata.normalize("NFKD", name or "")
    value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return " ".join(value.casefold().split())


def _comparable(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        stripped = value.strip()
        if m := _DATETIME.match(stripped):
            return m.group(1)
        return float(stripped) if re.fullmatch(r"-?\d+(\.\d+)?", stripped) else stripped
    return value


def differences(current: Any, desired: dict[str, Any]) -> dict[str, Any]:
    """The desired fields whose value BigTime does not hold yet (field names compared case-insensitively;
    nested objects such as a contact's Address compared part by part and sent whole)."""
    have = {str(k).lower(): v for k, v in dict(current or {}).items()}
    changed: dict[str, Any] = {}
    for key, value in desired.items():
        old = have.get(key.lower())
        if isinstance(value, dict):
            old = old if isinstance(old, dict) else {}  # BigTime sent no object here: every part is new
            old_parts = {str(k).lower(): v for k, v in old.items()}
            if any(_comparable(v) != _comparable(old_parts.get(k.lower())) for k, v in value.items()):
                merged = {k: v for k, v in old.items() if not isinstance(v, dict | list)}
                merged = {k: v for k, v in merged.items() if k.lower() not in {x.lower() for x in value}}
                changed[key] = {**merged, **value}
        elif _comparable(value) != _comparable(old):
            changed[key] = value
    return changed


_READ_ONLY = {"displayname", "dtcreated", "dtmodified", "fulladdress", "fullnm", "primarycontactid"}
_READ_ONLY |= {"billingcontactid", "budgethours", "budgetfees", "clientsid"}


def update_body(current: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """What to POST to update a record: everything BigTime showed us, with the changes applied.

    Whether BigTime clears the fields a POST leaves out is not documented (docs/decisions.md#what-we-assume-about-bigtime), so an update sends the
    record back whole (GET Detailed -> merge -> POST). Computed and nested read-only parts stay out.
    """
    body = {
        str(k): v
        for k, v in dict(current or {}).items()
        if not isinstance(v, dict | list) and str(k).lower() not in _READ_ONLY
    }
    lowered = {k.lower() for k in changes}
    body = {k: v for k, v in body.items() if k.lower() not in lowered}
    return {**body, **changes}


def fingerprint(value: Any) -> str:
    """A short, stable hash of mapped values: unchanged Salesforce data costs no BigTime call."""
    blob = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:20]
