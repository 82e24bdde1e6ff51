"""Property tests of the mapping: whatever document an operator writes, it is a Mapping or a MappingError
naming the problem; whatever record Salesforce returns (missing fields, wrong types, odd Unicode, a related
record where a value should be, garbage contact roles), applying a mapping gives payloads or a
PermanentError with a reason, never a crash.

Derandomized (the same examples every run; a failure replays), with example counts that keep the unit
suite fast.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sf_bigtime.clients.salesforce import OpportunitySnapshot
from sf_bigtime.errors import PermanentError
from sf_bigtime.mapping.load import build_mapping, mapping_from_text
from sf_bigtime.mapping.model import Mapping, MappingError
from sf_bigtime.mapping.transform import (
    client_payload,
    code,
    contact_plans,
    differences,
    fingerprint,
    lifecycle_payload,
    nest,
    normalize_name,
    project_payload,
    trigger_check,
    update_body,
)

PROPERTIES = settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TODAY = "2026-11-30"

# Text as Salesforce's JSON can carry it: any code point, lone surrogates included (a JSON "\ud800" escape).
any_text = st.text(st.characters(codec=None, categories=None), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.sampled_from(["", " ", "Closed Won", "2026-12-01", "2026-12-01T10:00:00.000+0000", "48000.0", "true"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(any_text, st.just("Name")), inner, max_size=3)
    ),
    max_leaves=8,
)
OPPORTUNITY_FIELDS = [
    "Id", "Name", "StageName", "IsWon", "IsClosed", "CloseDate", "Amount", "Description", "Type",
    "AccountId", "LastModifiedDate", "Probability", "RecordType",
]  # fmt: skip
ACCOUNT_FIELDS = ["Name", "BillingStreet", "BillingCity", "BillingCountry", "Phone", "Description", "Type"]
CONTACT_FIELDS = ["FirstName", "LastName", "Email", "Title", "Phone", "MailingCity", "MailingStreet"]


def _record(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields))


contacts = st.one_of(_record(CONTACT_FIELDS), json_values)
roles = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "Id": json_values,
            "Role": st.one_of(
                st.sampled_from(["Economic Buyer", "Decision Maker", "economic buyer "]), scalars
            ),
            "IsPrimary": st.one_of(st.booleans(), scalars),
            "IsDeleted": st.one_of(st.booleans(), scalars),
            "Contact": contacts,
        },
    ),
    json_values,
)
records = st.builds(
    lambda base, account, contact_roles: {
        **base,
        **({} if account is None else {"Account": account}),
        **({} if contact_roles is None else {"OpportunityContactRoles": contact_roles}),
    },
    _record(OPPORTUNITY_FIELDS),
    st.one_of(st.none(), _record(ACCOUNT_FIELDS), json_values),
    st.one_of(
        st.none(),
        st.fixed_dictionaries({"records": st.lists(roles, max_size=4)}),
        st.fixed_dictionaries({"records": json_values}),
        json_values,
    ),
)

# Mappings that use every kind of source and rule on these records.
MAPPINGS = {
    "default": build_mapping(None, "(test)"),
    "rich": build_mapping(
        {
            "trigger": {
                "any_won": True,
                "conditions": [
                    {"field": "Amount", "at_least": 1000},
                    {"field": "Type", "in": ["New Customer", 3]},
                    {"field": "Account.Type", "is_set": True},
                ],
            },
            "client": {"code": "SF-{AccountId}", "fields": {"Notes": {"template": "{Account.Name}/{Type}"}}},
            "project": {
                "fields": {
                    "TypeId": {"field": "Type", "map": {"New Customer": "Consulting"}, "default": "Other"},
                    "Nm": {"field": "Name", "max_length": 5},
                    "BudgetHours": "Amount",
                    "StartDt": "LastModifiedDate",
                    "Notes": {"value": 42},
                },
            },
            "contacts": {"roles": ["Economic Buyer", "Decision Maker"], "billing_role": "economic buyer"},
            "lifecycle": {
                "closed_lost": {"status": "Lost", "note": "{StageName} on {today}", "inactive": True}
            },
        },
        "(test)",
    ),
}


def _reasoned(call: Any) -> Any:
    """The call's result, or None after checking it failed with a reason a person can read."""
    error: Exception | None = None
    try:
        return call()
    except (PermanentError, MappingError) as exc:
        error = exc
    assert str(error).strip()
    return None


@PROPERTIES
@pytest.mark.parametrize("name", list(MAPPINGS))
@given(record=records)
def test_any_record_maps_or_fails_with_a_reason(name: str, record: dict[str, Any]) -> None:
    mapping = MAPPINGS[name]
    opp = OpportunitySnapshot(record)
    reason = _reasoned(lambda: trigger_check(opp, mapping.trigger))
    assert reason is None or isinstance(reason, str)
    for build in (client_payload, project_payload):
        for sync_only in (False, True):
            payload = _reasoned(lambda b=build, s=sync_only: b(opp, mapping, TODAY, sync_only=s))
            if payload is not None:
                _check_payload(payload.values)
                assert isinstance(_reasoned(payload.fingerprint), str | None)
    _reasoned(lambda: code(mapping.project.code, opp, TODAY))
    _reasoned(lambda: code(mapping.client.code, opp, TODAY))
    planned = _reasoned(lambda: contact_plans(opp, mapping.contacts, TODAY))
    if planned is not None:
        plans, warnings = planned
        assert all(isinstance(w, str) and w for w in warnings)
        assert len({p.key for p in plans}) == len(plans), "one plan per contact"
        assert sum(p.tag == "PRIMARY" for p in plans) <= 1 and sum(p.tag == "BILLING" for p in plans) <= 1
        for plan in plans:
            _check_payload(nest(plan.create.values))
    for action in (mapping.lifecycle.closed_lost, mapping.lifecycle.reopened, mapping.lifecycle.deleted):
        _reasoned(lambda a=action: lifecycle_payload(a, opp, TODAY))


def _check_payload(values: dict[str, Any]) -> None:
    for key, value in values.items():
        assert isinstance(key, str)
        assert value not in (None, ""), f"{key}: an empty value is never sent"
        if isinstance(value, str):
            value.encode("utf-8")  # no lone surrogate reaches BigTime, DynamoDB or a hash
    assert len(fingerprint(values)) == 20


@PROPERTIES
@given(current=json_values, desired=st.dictionaries(any_text, json_values, max_size=4))
def test_comparing_with_bigtime_never_crashes(current: Any, desired: dict[str, Any]) -> None:
    changed = _reasoned(lambda: differences(current if isinstance(current, dict) else {}, desired))
    if changed is not None:
        assert set(changed) <= set(desired)
        body = update_body(current if isinstance(current, dict) else {}, changed)
        assert all(body[k] == v for k, v in changed.items())
    assert isinstance(normalize_name(current if isinstance(current, str) else None), str)


mapping_keys = st.sampled_from(
    [
        "version", "trigger", "stages", "any_won", "conditions", "field", "equals", "in", "not_in",
        "at_least", "is_set", "client", "project", "contacts", "lifecycle", "write_back", "fields", "code",
        "match", "update", "Nm", "Notes", "TypeId", "Address.City", "FName", "template", "value", "map",
        "default", "max_length", "picklist", "enabled", "billing_role", "roles", "closed_lost", "note",
        "status", "inactive", "project_url", "opportunity_id_field", "sync", "never", "create_only",
    ]
)  # fmt: skip
documents = st.recursive(
    st.one_of(scalars, mapping_keys),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(mapping_keys, any_text), inner, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTIES
@given(document=st.dictionaries(mapping_keys, documents, max_size=4))
def test_any_mapping_document_is_a_mapping_or_a_mapping_error(document: dict[str, Any]) -> None:
    result: Mapping | MappingError
    try:
        result = build_mapping(document, "(property)")
    except MappingError as exc:
        result = exc
    if isinstance(result, MappingError):
        assert result.problems and all(message for _, message in result.problems)
        assert str(result).startswith("mapping (property) is invalid: ")
    else:
        assert isinstance(result, Mapping)


@PROPERTIES
@given(text=st.one_of(any_text, st.text(alphabet="[]{}:- \n!&*|>'\"#%@`abc", max_size=60)))
def test_any_yaml_text_is_a_mapping_or_a_mapping_error(text: str) -> None:
    problems: list[tuple[str, str]] = []
    try:
        mapping_from_text(text, "(property)")
    except MappingError as exc:
        problems = exc.problems or [("", "")]
    assert all(message for _, message in problems)


def test_deeply_nested_yaml_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="invalid"):
        mapping_from_text("trigger: " + "[" * 800 + "]" * 800, "(property)")
