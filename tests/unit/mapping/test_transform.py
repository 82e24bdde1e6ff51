"""The mapping applied to Opportunity records: payloads, trigger, contacts, lifecycle, comparisons."""

from __future__ import annotations

from sf_bigtime.clients.salesforce import OpportunitySnapshot
from sf_bigtime.mapping.load import build_mapping, default_mapping
from sf_bigtime.mapping.model import configured_picklists
from sf_bigtime.mapping.transform import (
    Payload,
    client_payload,
    code,
    contact_key,
    contact_plans,
    differences,
    lifecycle_payload,
    nest,
    normalize_name,
    opportunity_lookup,
    project_payload,
    render,
    trigger_check,
    update_body,
)

TODAY = "2026-11-30"


def role(
    rid: str,
    first: str | None,
    last: str | None,
    email: str | None,
    *,
    role: str = "Influencer",
    primary: bool = False,
    deleted: bool = False,
) -> dict:
    return {
        "Id": rid,
        "Role": role,
        "IsPrimary": primary,
        "IsDeleted": deleted,
        "Contact": {
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Title": "T",
            "MailingCity": "Oslo",
        },
    }


def opp(roles: list[dict] | None = None, **fields: object) -> OpportunitySnapshot:
    record = {
        "Id": "0065w000023abcdAAA",
        "Name": "Acme – Build",
        "StageName": "Closed Won",
        "IsWon": True,
        "IsClosed": True,
        "CloseDate": "2026-12-01",
        "Amount": 48000.0,
        "Description": "notes",
        "Type": "New Customer",
        "AccountId": "0015w00002abcdeAAA",
        "Account": {"Name": "Acme", "BillingCity": "Oslo", "Phone": "123", "Description": None},
        "OpportunityContactRoles": {"totalSize": len(roles or []), "done": True, "records": roles or []}
        if roles is not None
        else None,
    }
    record.update(fields)
    return OpportunitySnapshot(record)


def test_render_templates_with_parent_fields_and_today() -> None:
    lookup = opportunity_lookup(opp())
    assert render("{Account.Name} – {Name}", lookup, TODAY) == "Acme – Acme – Build"
    assert render("SF-{Id}", lookup, TODAY) == "SF-0065w000023abcdAAA"
    assert render("{Amount}/{Missing.Field} on {today}", lookup, TODAY) == "48000/ on 2026-11-30"


def test_default_client_and_project_follow_bigtimes_connector() -> None:
    m = default_mapping()
    o = opp()
    assert client_payload(o, m, TODAY, sync_only=False).values == {
        "Nm": "Acme",
        "City": "Oslo",
        "MainPH": "123",
    }
    assert project_payload(o, m, TODAY, sync_only=False).values == {
        "Nm": "Acme – Build",
        "StartDt": "2026-12-01",
        "Notes": "notes",
    }
    assert code(m.project.code, o, TODAY) == "SF-0065w000023abcdAAA"
    # every field is create_only by default: nothing to keep in sync later
    assert not project_payload(o, m, TODAY, sync_only=True)


def test_constants_templates_maps_defaults_picklists_and_policies() -> None:
    m = build_mapping(
        {
            "project": {
                "update": "sync",
                "fields": {
                    "Nm": {"template": "{Account.Name} – {Name}", "max_length": 10},
                    "TypeId": {"field": "Type", "map": {"new customer": "Consulting"}, "default": "Internal"},
                    "StatusProd": {"value": "In Progress", "update": "create_only"},
                    "EndDt": {"field": "LastModifiedDate"},
                    "IsAllStaff": True,
                    "Notes": {"field": "Description", "update": "never"},
                },
            }
        },
        "t",
    )
    created = project_payload(opp(LastModifiedDate="2026-12-24T10:00:00.000+0000"), m, TODAY, sync_only=False)
    assert created.values == {
        "Nm": "Acme – Acm",  # truncated, then trimmed
        "StartDt": "2026-12-01",
        "TypeId": "Consulting",
        "StatusProd": "In Progress",
        "EndDt": "2026-12-24",  # a datetime written to a BigTime date
        "IsAllStaff": True,
    }
    assert created.picklists == {"TypeId": "LookupProjectType", "StatusProd": "StatusProduction"}
    later = project_payload(opp(Type="Existing Customer - Upgrade"), m, TODAY, sync_only=True)
    assert later.values == {
        "Nm": "Acme – Acm",
        "StartDt": "2026-12-01",
        "TypeId": "Internal",
        "IsAllStaff": True,
    }


def test_fingerprint_changes_only_with_the_values() -> None:
    a, b = Payload({"Nm": "x", "StartDt": "2026-01-01"}), Payload({"StartDt": "2026-01-01", "Nm": "x"})
    assert a.fingerprint() == b.fingerprint() != Payload({"Nm": "y"}).fingerprint()


def test_trigger_stages_any_won_and_conditions() -> None:
    m = default_mapping()
    assert trigger_check(opp(), m.trigger) is None
    assert trigger_check(opp(StageName="Negotiation/Review"), m.trigger) == "the stage is not 'Closed Won'"
    any_won = build_mapping({"trigger": {"any_won": True, "stages": []}}, "t").trigger
    assert trigger_check(opp(StageName="Won (custom)"), any_won) is None
    assert "not a won stage" in (trigger_check(opp(IsWon=False), any_won) or "")
    conditions = build_mapping(
        {
            "trigger": {
                "conditions": [
                    {"field": "RecordType.DeveloperName", "in": ["Services", "Retainer"]},
                    {"field": "Type", "not_equals": "Existing Customer - Downgrade"},
                    {"field": "Amount", "at_least": 10000},
                    {"field": "Create_Project__c", "is_true": True},
                ]
            }
        },
        "t",
    ).trigger
    good = opp(RecordType={"DeveloperName": "services"}, Create_Project__c=True)
    assert trigger_check(good, conditions) is None
    small = opp(RecordType={"DeveloperName": "Services"}, Create_Project__c=True, Amount=9999.99)
    assert "Amount at least 10000" in (trigger_check(small, conditions) or "")
    unchecked = opp(RecordType={"DeveloperName": "Services"}, Create_Project__c=False)
    assert "Create_Project__c is true" in (trigger_check(unchecked, conditions) or "")
    no_type = opp(RecordType=None, Create_Project__c=True)
    assert "RecordType.DeveloperName in" in (trigger_check(no_type, conditions) or "")


def test_condition_operators() -> None:
    def holds(condition: dict, value: object) -> bool:
        c = build_mapping(
            {"trigger": {"conditions": [{"field": "X__c", **condition}]}}, "t"
        ).trigger.conditions[0]
        return c.holds(value)

    assert holds({"equals": 5}, 5.0) and holds({"equals": "won"}, "WON") and not holds({"equals": 5}, None)
    assert (
        holds({"at_most": 10}, "9") and not holds({"at_most": 10}, "x") and not holds({"at_least": 1}, None)
    )
    assert holds({"is_set": True}, "a") and holds({"is_set": False}, "") and not holds({"is_set": True}, None)
    assert holds({"not_in": ["a"]}, "b") and not holds({"not_in": ["a"]}, "A")
    assert holds({"is_true": False}, False) and holds({"is_true": True}, "true")


def test_contact_roles_become_tagged_deduplicated_contacts() -> None:
    o = opp(
        [
            role("1", "Ada", "Lovelace", "ADA@x.test", primary=True),
            role("2", "Grace", "Hopper", "grace@x.test", role="Economic Buyer"),
            role("3", "Ada", "Lovelace", "ada@x.test", role="Economic Buyer"),  # same person again
            role("4", None, None, None),  # contact not visible to the integration user
            role("5", "Alan", "Turing", None, role="Economic Buyer"),  # second billing role -> OTHER
        ]
    )
    plans, warnings = contact_plans(o, default_mapping().contacts, TODAY)
    assert [(p.create.values["FName"], p.tag) for p in plans] == [
        ("Ada", "PRIMARY"),
        ("Grace", "BILLING"),
        ("Alan", "OTHER"),
    ]
    assert plans[0].create.values["Address.City"] == "Oslo"
    assert plans[0].create.values["CompanyNm"] == "Acme"  # Opportunity.Account.Name
    assert nest(plans[0].create.values)["Address"] == {"City": "Oslo"}
    assert [p.key for p in plans] == ["ada@x.test", "grace@x.test", "alan|turing"]
    assert len(warnings) == 1 and "role 4" in warnings[0]


def test_contact_role_filter_billing_role_and_removed_roles() -> None:
    o = opp(
        [
            role("1", "Ada", "L", "a@x.test", role="Decision Maker", primary=True),
            role("2", "Bo", "K", "b@x.test", role="Influencer"),
            role("3", "Cy", "M", "c@x.test", role="Billing Contact"),
            role("4", "Di", "N", "d@x.test", role="Billing Contact", deleted=True),  # removed (queryAll)
        ]
    )
    section = build_mapping(
        {"contacts": {"roles": ["Billing Contact"], "billing_role": "billing contact"}}, "t"
    ).contacts
    plans, _ = contact_plans(o, section, TODAY)
    assert [(p.create.values["FName"], p.tag) for p in plans] == [("Ada", "PRIMARY"), ("Cy", "BILLING")]
    assert contact_plans(opp(None), section, TODAY) == ([], [])
    off = build_mapping({"contacts": {"enabled": False}}, "t").contacts
    assert contact_plans(o, off, TODAY) == ([], [])


def test_contact_key_matches_bigtime_replies_case_insensitively() -> None:
    assert contact_key({"EMail": "A@B.test"}) == contact_key({"email": "a@b.test "})
    assert contact_key({"FName": "Ada", "SName": "L"}) == "ada|l"


def test_lifecycle_payload() -> None:
    m = build_mapping(
        {
            "lifecycle": {
                "closed_lost": {"status": "Cancelled", "note": "Lost {CloseDate} ({today})", "inactive": True}
            }
        },
        "t",
    )
    payload = lifecycle_payload(m.lifecycle.closed_lost, opp(), TODAY)
    assert payload.values == {
        "StatusProd": "Cancelled",
        "StatusProd_nt": "Lost 2026-12-01 (2026-11-30)",
        "IsInactive": True,
    }
    assert payload.picklists == {"StatusProd": "StatusProduction"}
    assert lifecycle_payload(m.lifecycle.deleted, None, TODAY).values == {
        "StatusProd_nt": "The Salesforce Opportunity was deleted (2026-11-30)."
    }


def test_differences_and_update_body() -> None:
    current = {
        "SystemId": 5001,
        "Nm": "Build ",
        "StartDt": "2026-12-01T00:00:00",
        "TypeId": 101,
        "Notes": None,
        "DisplayName": "Acme:Build",
        "ContactList": [],
        "Address": {"City": "Oslo", "Zip": "0150"},
    }
    assert differences(current, {"nm": "Build", "StartDt": "2026-12-01", "TypeId": 101.0}) == {}
    assert differences(current, {"Notes": "n", "TypeId": 102}) == {"Notes": "n", "TypeId": 102}
    assert differences(current, {"Address": {"City": "Oslo"}}) == {}
    assert differences(current, {"Address": {"City": "Bergen"}}) == {
        "Address": {"Zip": "0150", "City": "Bergen"}
    }
    body = update_body(current, {"notes": "n"})
    assert body == {
        "SystemId": 5001,
        "Nm": "Build ",
        "StartDt": "2026-12-01T00:00:00",
        "TypeId": 101,
        "notes": "n",
    }


def test_normalize_name() -> None:
    assert normalize_name("  ACME  Café ") == normalize_name("acme cafe")
    assert normalize_name(None) == ""


def test_the_sync_and_the_stack_check_name_the_same_picklist_values() -> None:
    # sf-bigtime check resolves configured_picklists(); the sync sends payload.picklists: one rule.
    m = build_mapping(
        {
            "client": {"fields": {"Notes": {"value": "Gold", "picklist": "LookupClientType"}}},
            "project": {
                "fields": {
                    "TypeId": {"field": "Type", "map": {"new customer": "Consulting"}},
                    "StatusBill": {"value": "Open"},
                }
            },
            "contacts": {"fields": {"ContactType": {"value": "Billing Contact"}}},
        },
        "t",
    )
    o = opp([role("1", "Ada", "L", "a@x.test", primary=True)])
    plans, _ = contact_plans(o, m.contacts, TODAY)
    payloads = [client_payload(o, m, TODAY, sync_only=False), project_payload(o, m, TODAY, sync_only=False)]
    sent: dict[str, set[str]] = {}
    for payload in [*payloads, *(p.create for p in plans)]:
        for bt_field, list_name in payload.picklists.items():
            sent.setdefault(list_name, set()).add(payload.values[bt_field])
    assert (
        sent
        == configured_picklists(m)
        == {
            "LookupClientType": {"Gold"},
            "LookupProjectType": {"Consulting"},
            "StatusBilling": {"Open"},
            "LookupClientContactType": {"Billing Contact"},
        }
    )


def test_contact_roles_of_another_shape_are_a_permanent_error_not_a_crash() -> None:
    import pytest

    from sf_bigtime.errors import PermanentError

    assert OpportunitySnapshot({"OpportunityContactRoles": None}).contact_roles == []
    for garbage in ({"records": 1}, {"records": [None]}, ["x"], "roles"):
        with pytest.raises(PermanentError, match="unexpected shape") as info:
            _ = OpportunitySnapshot({"OpportunityContactRoles": garbage}).contact_roles
        assert info.value.code == "salesforce_reply"


def test_lone_surrogates_from_salesforce_become_replacement_characters() -> None:
    payload = project_payload(opp(Name="Acme \ud800 Build"), default_mapping(), TODAY, sync_only=False)
    assert payload.values["Nm"] == "Acme \ufffd Build"
    assert len(payload.fingerprint()) == 20
