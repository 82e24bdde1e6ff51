from __future__ import annotations

from sf_bigtime.mapping import (
    Mapping,
    client_fields,
    contact_key,
    contact_payloads,
    normalize_name,
    project_fields,
    render,
)
from sf_bigtime.salesforce import OpportunitySnapshot


def role(
    rid: str,
    first: str | None,
    last: str | None,
    email: str | None,
    *,
    role: str = "Influencer",
    primary: bool = False,
) -> dict:
    return {
        "Id": rid,
        "Role": role,
        "IsPrimary": primary,
        "Contact": {
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Title": "T",
            "MailingCity": "Oslo",
        },
    }


def opp(roles: list[dict] | None = None) -> OpportunitySnapshot:
    return OpportunitySnapshot(
        {
            "Id": "0065w000023abcdAAA",
            "Name": "Acme – Build",
            "StageName": "Closed Won",
            "CloseDate": "2026-12-01",
            "Amount": 48000.0,
            "Description": "notes",
            "AccountId": "0015w00002abcdeAAA",
            "Account": {"Name": "Acme", "BillingCity": "Oslo", "Phone": "123", "Description": None},
            "OpportunityContactRoles": {"totalSize": len(roles or []), "done": True, "records": roles or []}
            if roles is not None
            else None,
        }
    )


def test_render_templates_with_parent_fields() -> None:
    o = opp()
    assert render("{Account.Name} – {Name}", o) == "Acme – Acme – Build"
    assert render("SF-{Id}", o) == "SF-0065w000023abcdAAA"
    assert render("{Amount}/{Missing.Field}", o) == "48000/"


def test_trigger_stage() -> None:
    assert Mapping().is_trigger(opp())
    assert not Mapping(trigger_stages=("Won",)).is_trigger(opp())


def test_client_and_project_fields_follow_bigtimes_connector_defaults() -> None:
    o = opp()
    assert client_fields(o) == {"Nm": "Acme", "City": "Oslo", "MainPH": "123"}
    assert project_fields(o, Mapping(), 1001) == {
        "Nm": "Acme – Build",
        "ProjectCode": "SF-0065w000023abcdAAA",
        "ClientId": 1001,
        "StartDt": "2026-12-01",
        "Notes": "notes",
    }


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
    payloads, warnings = contact_payloads(o, Mapping())
    assert [(p["FName"], p["Tag"]) for p in payloads] == [
        ("Ada", "PRIMARY"),
        ("Grace", "BILLING"),
        ("Alan", "OTHER"),
    ]
    assert payloads[0]["Address"] == {"City": "Oslo"}
    assert len(warnings) == 1 and "role 4" in warnings[0]


def test_no_contact_roles() -> None:
    assert contact_payloads(opp(None), Mapping()) == ([], [])


def test_contact_key_matches_bigtime_replies_case_insensitively() -> None:
    assert contact_key({"EMail": "A@B.test"}) == contact_key({"email": "a@b.test "})
    assert contact_key({"FName": "Ada", "SName": "L"}) == "ada|l"


def test_normalize_name() -> None:
    assert normalize_name("  ACME  Café ") == normalize_name("acme cafe")
    assert normalize_name(None) == ""
