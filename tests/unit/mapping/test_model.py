"""The mapping schema: the bundled default, merging overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sf_bigtime.mapping.load import build_mapping, default_mapping, mapping_from_text, merge
from sf_bigtime.mapping.model import Mapping, MappingError, UpdatePolicy, configured_picklists
from sf_bigtime.mapping.source import MappingSource
from tests.paths import LAYER_PACKAGE

DEFAULT_FILE = LAYER_PACKAGE / "mapping/default.yaml"


def problems(override: dict) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as info:
        build_mapping(override, "test.yaml")
    assert str(info.value).startswith("mapping test.yaml is invalid: ")
    return info.value.problems


def test_bundled_default_is_valid_and_is_the_connectors_mapping() -> None:
    m = default_mapping()
    assert m.version == 1
    assert m.trigger.stages == ["Closed Won"] and not m.trigger.any_won
    assert m.client.match == "name" and m.project.code == "SF-{Id}"
    assert {k: s.field for k, s in m.project.fields.items()} == {
        "Nm": "Name",
        "StartDt": "CloseDate",
        "Notes": "Description",
    }
    assert m.client.fields["Notes"].field == "Account.Description"
    assert m.contacts.fields["Phone_2"].field == "MobilePhone"
    assert m.contacts.billing_role == "Economic Buyer"
    assert all(policy is UpdatePolicy.CREATE_ONLY for policy in (m.client.update, m.project.update))


def test_soql_fields_cover_everything_the_mapping_reads() -> None:
    m = build_mapping(
        {
            "trigger": {"conditions": [{"field": "RecordType.DeveloperName", "equals": "Services"}]},
            "project": {"fields": {"Notes": "{Owner.Name}: {Description}"}},
            "contacts": {"fields": {"Notes": "{ContactRole.Role} at {Opportunity.Account.Industry}"}},
            "lifecycle": {"closed_lost": {"note": "Lost: {Loss_Reason__c}"}},
        },
        "t",
    )
    opp = m.opportunity_paths()
    for path in (
        "RecordType.DeveloperName",
        "Owner.Name",
        "Description",
        "Account.Industry",
        "Loss_Reason__c",
    ):
        assert path in opp
    assert "today" not in opp
    contact = m.contact_paths()
    assert "Role" in contact and "Contact.MailingCity" in contact
    assert not any(p.startswith(("Contact.Opportunity", "Opportunity")) for p in contact)
    assert build_mapping({"contacts": {"enabled": False}}, "t").contact_paths() == []


def test_override_is_merged_onto_the_default() -> None:
    m = build_mapping({"trigger": {"stages": ["Won", "Signed"]}, "project": {"fields": {"Notes": None}}}, "t")
    assert m.trigger.stages == ["Won", "Signed"]
    assert "Notes" not in m.project.fields and "Nm" in m.project.fields  # null removes one default field
    assert m.client == default_mapping().client
    assert merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": 3}, "l": [2]}) == {
        "a": {"b": 1, "c": 3},
        "l": [2],
    }


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ({"trigger": {"stagez": ["Won"]}}, "trigger.stagez", "did you mean 'stages'"),
        ({"trigger": {"stages": [], "any_won": False}}, "trigger", "at least one stage"),
        (
            {"trigger": {"conditions": [{"field": "Amount", "at_least": 5, "equals": 3}]}},
            "trigger.conditions[0]",
            "exactly one operator",
        ),
        ({"trigger": {"conditions": [{"field": "Amount"}]}}, "trigger.conditions[0]", "found none"),
        ({"trigger": {"any_won": "maybe"}}, "trigger.any_won", "boolean"),
        ({"client": {"match": "fuzzy"}}, "client.match", "'name' or 'never'"),
        ({"client": {"match": "never"}}, "client", "code"),
        ({"client": {"fields": {"Nm": None}}}, "client", "fields.Nm"),
        ({"client": {"fields": {"ClientId": "AccountNumber"}}}, "client.fields", "use client.code"),
        (
            {"client": {"fields": {"Nm": "Account..Name"}}},
            "client.fields.Nm.field",
            "not a Salesforce field path",
        ),
        ({"project": {"code": "SF-{Name}"}}, "project", "must contain {Id}"),
        ({"project": {"code": None}}, "project", "`opportunity_id_field` is required"),
        ({"project": {"code": "X-{Id"}}, "project.code", "unbalanced"),
        ({"project": {"code": "SF-{Id}-{today}"}}, "project.code", "same on every attempt"),
        (
            {"project": {"fields": {"Nm": {"value": "x", "field": "Name"}}}},
            "project.fields.Nm",
            "exactly one of",
        ),
        ({"project": {"fields": {"Notes": "{Acc ount}"}}}, "project.fields.Notes.template", "{Acc ount}"),
        ({"project": {"fields": {"ProjectCode": "Name"}}}, "project.fields", "use project.code"),
        (
            {"project": {"fields": {"Notes": {"field": "Description", "update": "always"}}}},
            "project.fields.Notes.update",
            "create_only",
        ),
        (
            {"project": {"fields": {"Bad Name": "Name"}}},
            "project.fields.Bad Name",
            "not a BigTime field name",
        ),
        ({"contacts": {"fields": {"Tag": "Role"}}}, "contacts.fields", "contact roles"),
        ({"contacts": {"fields": {"Address.Street": "MailingStreet"}}}, "contacts.fields", "address parts"),
        ({"contacts": {"fields": {"FName": None, "SName": None}}}, "contacts", "FName or SName"),
        (
            {"lifecycle": {"closed_lost": {"statuss": "Cancelled"}}},
            "lifecycle.closed_lost.statuss",
            "did you mean 'status'",
        ),
        ({"write_back": {"project_url": "http://x/{project_id}"}}, "write_back.project_url", "https"),
        ({"version": 2}, "version", "not supported"),
        ({"colour": "blue"}, "colour", "unknown key"),
    ],
)
def test_errors_name_the_key_and_the_problem(override: dict, key: str, words: str) -> None:
    found = problems(override)
    assert any(k == key and words in m for k, m in found), found


def test_several_problems_are_reported_together() -> None:
    found = problems({"trigger": {"stagez": 1}, "project": {"code": "X"}})
    assert {k for k, _ in found} == {"trigger.stagez", "project"}


def test_lifecycle_nothing_spelt_out() -> None:
    m = build_mapping({"lifecycle": {"closed_lost": "nothing", "deleted": None}}, "t")
    assert m.lifecycle.closed_lost.noop and m.lifecycle.deleted.noop
    assert not m.lifecycle.reopened.noop


def test_auto_numbered_projects_need_the_custom_field_marker() -> None:
    m = build_mapping({"project": {"code": None, "opportunity_id_field": "Salesforce Opportunity Id"}}, "t")
    assert m.project.auto_numbered and "custom field" in m.describe()["project"]


def test_yaml_errors_say_where(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"line 2, column \d+"):
        mapping_from_text("version: 1\ntrigger: stages: [x]\n", "bad.yaml")
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        mapping_from_text("- a\n- b\n", "list.yaml")
    with pytest.raises(MappingError, match="cannot be read"):
        MappingSource(file=str(tmp_path / "missing.yaml")).load()


def test_the_default_file_validates_as_an_override_of_itself() -> None:
    data = yaml.safe_load(DEFAULT_FILE.read_text())
    assert Mapping.model_validate(data) == default_mapping()


def test_configured_picklists_follow_the_mapping() -> None:
    assert configured_picklists(default_mapping()) == {}  # the bundled mapping names none
    mapping = build_mapping(
        {
            "project": {"fields": {"TypeId": {"field": "Type", "map": {"New": "Consulting", "X": None}}}},
            "client": {"fields": {"Notes": {"value": "x", "picklist": "LookupClientType"}}},
            "contacts": {"fields": {"ContactType": {"value": "Billing Contact", "update": "never"}}},
            "lifecycle": {"closed_lost": {"status": "Cancelled"}},
        },
        "test",
    )
    assert configured_picklists(mapping) == {
        "LookupProjectType": {"Consulting"},
        "LookupClientType": {"x"},
        "StatusProduction": {"Cancelled"},
    }
