"""The fake BigTime API, driven over HTTP with ``requests`` as the sync's client would drive it."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from sf_bigtime_local.fake_bigtime import ApiError, FakeBigTime
from tests.integration.local.bigtime_env import API_KEY, REALM, Env, message

# --------------------------------------------------------------------------------------------- auth


def test_api_key_auth_needs_key_and_realm(bt: Env) -> None:
    denied = "Authorization has been denied for this request."
    for headers in (
        {},
        {"X-Auth-Realm": REALM},
        {"X-Auth-ApiToken": "tok"},
        {"X-Auth-ApiToken": "wrong", "X-Auth-Realm": REALM},
        {"X-Auth-ApiToken": "tok", "X-Auth-Realm": "other-firm"},
    ):
        response = bt.get("/client", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"Message": denied}
    ok = bt.get("/client", headers={"x-auth-apitoken": "tok", "X-AUTH-REALM": REALM})
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"
    assert ok.json() == []


def test_bad_api_key_is_not_rescued_by_a_good_session(bt: Env) -> None:
    token = bt.post("/session", headers={}, json={"UserId": "ops@firm.test", "Pwd": "pw"}).json()["token"]
    headers = {"X-Auth-ApiToken": "wrong", "X-Auth-Token": token, "X-Auth-Realm": REALM}
    assert bt.get("/client", headers=headers).status_code == 401


def test_session_login_json_and_form(bt: Env) -> None:
    response = bt.post("/session", headers={}, json={"userid": "OPS@firm.test", "PWD": "pw"})
    assert response.status_code == 200
    session = response.json()
    assert session["firm"] == REALM
    assert isinstance(session["staffsid"], int)
    assert isinstance(session["userid"], int)
    assert isinstance(session["token"], str)
    assert {"firm", "staffsid", "userid", "token"} <= set(session)
    headers = {"X-Auth-Token": session["token"], "X-Auth-Realm": REALM}
    assert bt.get("/project", headers=headers).status_code == 200

    form = bt.post("/session", headers={}, data={"userid": "ops@firm.test", "pwd": "pw"})
    assert form.status_code == 200
    assert form.json()["token"] != session["token"]
    assert bt.fake.calls[-1].auth == "none"
    assert "pwd" not in {k.lower() for k in bt.fake.calls[-1].body}  # passwords stay out of the log


@pytest.mark.parametrize(
    "body",
    [
        {"UserId": "ops@firm.test", "Pwd": "nope"},
        {"UserId": "nobody@firm.test", "Pwd": "pw"},
        {"UserId": "ops@firm.test"},
        {"UserId": "ops@firm.test", "Pwd": "pw", "Firm": "other-firm"},
        {},
    ],
)
def test_session_login_failures_are_401(bt: Env, body: dict[str, str]) -> None:
    response = bt.post("/session", headers={}, json=body)
    assert response.status_code == 401
    assert message(response) == "Authorization has been denied for this request."


def test_session_expires_after_ttl_then_relogin_works(bt: Env) -> None:
    bt.use(session_ttl=3600)
    login = {"UserId": "ops@firm.test", "Pwd": "pw"}
    token = bt.post("/session", headers={}, json=login).json()["token"]
    headers = {"X-Auth-Token": token, "X-Auth-Realm": REALM}
    bt.clock.advance(3599)
    assert bt.get("/client", headers=headers).status_code == 200
    bt.clock.advance(1)
    assert bt.get("/client", headers=headers).status_code == 401
    fresh = bt.post("/session", headers={}, json=login).json()["token"]
    assert bt.get("/client", headers={"X-Auth-Token": fresh, "X-Auth-Realm": REALM}).status_code == 200


def test_expire_sessions_python_and_http(bt: Env) -> None:
    login = {"UserId": "ops@firm.test", "Pwd": "pw"}
    first = {
        "X-Auth-Token": bt.post("/session", headers={}, json=login).json()["token"],
        "X-Auth-Realm": REALM,
    }
    assert bt.fake.expire_sessions() == 1
    assert bt.get("/client", headers=first).status_code == 401
    assert bt.get("/client").status_code == 200  # API keys do not expire
    second = {
        "X-Auth-Token": bt.post("/session", headers={}, json=login).json()["token"],
        "X-Auth-Realm": REALM,
    }
    assert bt.get("/client", headers=second).status_code == 200
    assert bt.admin("POST", "expire-sessions").json() == {"expired": 1}
    assert bt.get("/client", headers=second).status_code == 401


def test_session_token_with_wrong_realm_is_401(bt: Env) -> None:
    token = bt.post("/session", headers={}, json={"UserId": "ops@firm.test", "Pwd": "pw"}).json()["token"]
    assert bt.get("/client", headers={"X-Auth-Token": token, "X-Auth-Realm": "other"}).status_code == 401
    assert bt.get("/client", headers={"X-Auth-Token": token}).status_code == 401


# ------------------------------------------------------------------------------------ routing, wire


def test_paths_are_case_insensitive(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    for url in (
        f"{bt.root}/BigtimeData/api/v2/Project/Detail/{sid}",
        f"{bt.root}/BigTimeData/API/V2/PROJECT/detail/{sid}/",
        f"{bt.root}/bigtimedata/api/v2/project/detail/{sid}?view=DETAILED",
    ):
        response = bt.http.get(url, headers=API_KEY)
        assert response.status_code == 200, url
        assert response.json()["SystemId"] == sid
    assert bt.get(f"/project/detail/{sid}", params={"VIEW": "detailed"}).json()["Client"]["Nm"] == "Acme Corp"


def test_unknown_route_404_and_wrong_verb_405(bt: Env) -> None:
    missing = bt.get("/picklist/StaffList")
    assert missing.status_code == 404
    assert "No HTTP resource was found" in message(missing)
    assert bt.http.get(bt.root + "/elsewhere").status_code == 404
    wrong_verb = bt.call("PUT", "/project/detail/5001", json={"Nm": "x"})
    assert wrong_verb.status_code == 405
    assert "does not support http method 'PUT'" in message(wrong_verb)


def test_body_media_type_and_shape_errors(bt: Env) -> None:
    xml = bt.post(
        "/client/detail", data="<Client><Nm>A</Nm></Client>", headers={**API_KEY, "Content-Type": "text/xml"}
    )
    assert xml.status_code == 415
    broken = bt.post(
        "/client/detail", data="{not json", headers={**API_KEY, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    array = bt.post("/client/detail", json=[{"Nm": "A"}])
    assert array.status_code == 400
    assert bt.fake.clients == []


def test_query_values_are_validated(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    assert bt.get("/project", params={"ShowInactive": "yes"}).status_code == 400
    assert bt.get(f"/project/detail/{project['SystemId']}", params={"View": "Full"}).status_code == 400
    assert bt.get("/project", params={"showinactive": "True"}).status_code == 200


# ------------------------------------------------------------------------------------------ clients


def test_client_create_ignores_unknown_keys_and_matches_case_insensitively(bt: Env) -> None:
    response = bt.post(
        "/client/detail",
        json={
            "nm": "Acme Corp",
            "CLIENTID": "ACME",
            "address": "1 Main St",
            "City": "Springfield",
            "state": "IL",
            "Zip": "62701",
            "mainph": "555-0100",
            "SystemId": 42,  # read-only: ignored
            "DtCreated": "1999-01-01T00:00:00",  # read-only: ignored
            "SalesforceId": "001xx",  # not a BigTime field: ignored
        },
    )
    assert response.status_code == 200
    client = response.json()
    assert client["SystemId"] == 1001
    assert client["Nm"] == "Acme Corp"
    assert client["ClientId"] == "ACME"  # on a client, ClientId is the code
    assert client["DisplayName"] == "Acme Corp"
    assert client["MainPH"] == "555-0100"
    assert client["FullAddress"] == "1 Main St, Springfield, IL 62701"
    assert client["DtCreated"] == "2027-01-15T08:00:00"
    assert "SalesforceId" not in client
    assert bt.post("/client/detail", json={"Nm": "Beta"}).json()["SystemId"] == 1002


def test_client_views_update_delete(bt: Env) -> None:
    sid = bt.client(LegalNm="Acme Corporation Ltd", BillCity="Chicago")["SystemId"]
    basic = bt.get(f"/client/detail/{sid}").json()
    assert isinstance(basic, dict)
    assert "BillCity" not in basic
    assert "ContactList" not in basic
    detailed = bt.get(f"/client/detail/{sid}", params={"View": "Detailed"}).json()
    assert detailed["BillCity"] == "Chicago"
    assert detailed["ContactList"] == []

    bt.clock.advance(90)
    updated = bt.post(f"/client/detail/{sid}", json={"notes": "From Salesforce"})
    assert updated.status_code == 200
    assert updated.json()["Notes"] == "From Salesforce"
    assert updated.json()["Nm"] == "Acme Corp"  # merge: untouched fields keep their values
    assert updated.json()["LegalNm"] == "Acme Corporation Ltd"
    assert updated.json()["DtModified"] > updated.json()["DtCreated"]

    assert bt.post(f"/client/detail/{sid}", json={"IsInactive": True}).status_code == 200
    assert bt.get("/client").json() == []
    assert [c["SystemId"] for c in bt.get("/client", params={"ShowInactive": "true"}).json()] == [sid]
    assert bt.get("/picklist/clients").json() == []

    deleted = bt.delete(f"/client/detail/{sid}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert bt.get(f"/client/detail/{sid}").status_code == 404
    assert bt.post(f"/client/detail/{sid}", json={"Nm": "x"}).status_code == 404
    assert bt.delete(f"/client/detail/{sid}").status_code == 404


def test_client_validation(bt: Env) -> None:
    missing = bt.post("/client/detail", json={"ClientId": "X"})
    assert missing.status_code == 400
    assert "'Nm'" in message(missing)
    assert bt.post("/client/detail", json={"Nm": "   "}).status_code == 400
    bt.client("Acme Corp", "ACME")
    duplicate = bt.post("/client/detail", json={"Nm": "Other", "ClientId": " acme "})
    assert duplicate.status_code == 400
    assert "'ClientId'" in message(duplicate)
    other = bt.client("Other", "OTHER")
    assert bt.post(f"/client/detail/{other['SystemId']}", json={"ClientId": "ACME"}).status_code == 400
    assert bt.post(f"/client/detail/{other['SystemId']}", json={"Nm": ""}).status_code == 400
    bad_bool = bt.post("/client/detail", json={"Nm": "B", "IsInactive": "maybe"})
    assert bad_bool.status_code == 400
    assert "'IsInactive'" in message(bad_bool)
    assert len(bt.fake.clients) == 2


def test_client_code_optional_unless_configured(bt: Env) -> None:
    assert bt.post("/client/detail", json={"Nm": "No Code"}).json()["ClientId"] is None
    bt.fake.configure(require_client_code=True)
    required = bt.post("/client/detail", json={"Nm": "No Code 2"})
    assert required.status_code == 400
    assert "'ClientId'" in message(required)


def test_client_with_projects_cannot_be_deleted(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, client, project = seeded
    assert bt.delete(f"/client/detail/{client['SystemId']}").status_code == 400
    assert bt.delete(f"/project/detail/{project['SystemId']}").status_code == 204
    assert bt.delete(f"/client/detail/{client['SystemId']}").status_code == 204


# ----------------------------------------------------------------------------------------- projects


def test_project_client_id_trap(bt: Env) -> None:
    client = bt.client("Acme Corp", "ACME-1")
    project = bt.project(client["SystemId"], code="OPP-1")
    assert project["ClientId"] == client["SystemId"]  # on a project, ClientId is the client's SystemId
    assert project["Client"] == {
        "SystemId": 1001,
        "Nm": "Acme Corp",
        "ClientCode": "ACME-1",
        "IsInactive": False,
    }
    assert bt.get("/project").json()[0]["ClientId"] == 1001

    with_code = bt.post("/project/detail", json={"Nm": "P", "ClientId": "ACME-1", "ProjectCode": "OPP-2"})
    assert with_code.status_code == 400
    assert "'ClientId'" in message(with_code)
    unknown = bt.post("/project/detail", json={"Nm": "P", "ClientId": 999, "ProjectCode": "OPP-2"})
    assert unknown.status_code == 400
    assert "'ClientId'" in message(unknown)
    missing = bt.post("/project/detail", json={"Nm": "P", "ProjectCode": "OPP-2"})
    assert missing.status_code == 400
    assert len(bt.fake.projects) == 1


def test_project_create_views(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, client, project = seeded
    assert project["SystemId"] == 5001
    assert project["DisplayName"] == "Acme Corp:Implementation"
    assert project["UdfList"][0] == {
        "Sid": 1,
        "Name": "Salesforce Opportunity Id",
        "Value": None,
        "ProjectSid": 5001,
    }

    listed = bt.get("/project").json()
    assert list(listed[0]) == [
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
    ]
    basic = bt.get("/project/detail/5001").json()
    assert basic == listed[0]
    detailed = bt.get("/project/detail/5001", params={"View": "Detailed"}).json()
    assert isinstance(detailed, dict)  # one object, not an array
    for key in ("Notes", "StatusProd_nt", "Client", "ContactList", "AddressList", "UdfList", "BudgetHours"):
        assert key in detailed
    assert bt.get("/project/detail/999999").status_code == 404

    # DisplayName follows the client's name.
    bt.post(f"/client/detail/{client['SystemId']}", json={"Nm": "Acme Inc"})
    assert bt.get("/project").json()[0]["DisplayName"] == "Acme Inc:Implementation"
    assert bt.get("/picklist/projects").json() == [
        {"Id": 5001, "Name": "Acme Inc:Implementation", "Group": "Acme Inc"}
    ]


def test_project_fields_and_picklist_validation(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    created = bt.project(
        client_sid,
        code="P-1",
        typeid="101",  # numeric strings bind to ints, like Json.NET
        StatusProd=202,
        StatusBill=302,
        StartDt="2027-02-01",
        EndDt="2027-06-30",
        IsNoCharge="true",
        BasicRate="150.5",
    )
    assert (created["TypeId"], created["StatusProd"], created["StatusBill"]) == (101, 202, 302)
    assert created["IsNoCharge"] is True
    assert created["BasicRate"] == 150.5
    assert created["StartDt"] == "2027-02-01"

    cases = [
        ({"TypeId": 999}, "'TypeId'"),
        ({"TypeId": 202}, "'TypeId'"),  # a status id is not a project type
        ({"TypeId": 107}, "inactive"),
        ({"StatusProd": 101}, "'StatusProd'"),
        ({"StatusBill": 306}, "inactive"),
        ({"StartDt": "01/02/2027"}, "'StartDt'"),
        ({"StartDt": "2027-02-30"}, "'StartDt'"),
        ({"StartDt": "2027-02-01T00:00:00"}, "'StartDt'"),
        ({"StartDt": "2027-03-01", "EndDt": "2027-02-01"}, "'EndDt'"),
        ({"TypeId": "consulting"}, "'TypeId'"),
        ({"BasicRate": "lots"}, "'BasicRate'"),
    ]
    for n, (fields, expected) in enumerate(cases):
        response = bt.post(
            "/project/detail", json={"Nm": "P", "ClientId": client_sid, "ProjectCode": f"X{n}", **fields}
        )
        assert response.status_code == 400, fields
        assert expected in message(response), (fields, message(response))
    assert len(bt.fake.projects) == 1
    cleared = bt.post("/project/detail/5001", json={"TypeId": 0, "StatusProd": None}).json()
    assert (cleared["TypeId"], cleared["StatusProd"]) == (None, None)


def test_project_code_required_and_unique(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    missing = bt.post("/project/detail", json={"Nm": "P", "ClientId": client_sid})
    assert missing.status_code == 400
    assert "'ProjectCode'" in message(missing)
    assert bt.post("/project/detail", json={"ClientId": client_sid, "ProjectCode": "A"}).status_code == 400
    bt.project(client_sid, code="OPP-0001")
    duplicate = bt.post(
        "/project/detail", json={"Nm": "P2", "ClientId": client_sid, "ProjectCode": " opp-0001"}
    )
    assert duplicate.status_code == 400
    assert "'ProjectCode'" in message(duplicate)
    second = bt.project(client_sid, code="OPP-0002")
    assert (
        bt.post(f"/project/detail/{second['SystemId']}", json={"ProjectCode": "OPP-0001"}).status_code == 400
    )
    assert bt.post(f"/project/detail/{second['SystemId']}", json={"ProjectCode": ""}).status_code == 400
    assert [p["ProjectCode"] for p in bt.fake.projects] == ["OPP-0001", "OPP-0002"]


def test_auto_numbered_project_codes(bt: Env) -> None:
    bt.use(auto_number_projects=True)
    client_sid = bt.client()["SystemId"]
    bt.project(client_sid, code="P-00002")
    first = bt.post("/project/detail", json={"Nm": "A", "ClientId": client_sid}).json()
    second = bt.post("/project/detail", json={"Nm": "B", "ClientId": client_sid, "ProjectCode": ""}).json()
    assert (first["ProjectCode"], second["ProjectCode"]) == ("P-00001", "P-00003")
    assert (
        bt.post(
            "/project/detail", json={"Nm": "C", "ClientId": client_sid, "ProjectCode": "p-00001"}
        ).status_code
        == 400
    )


def test_project_update_merges_and_inactive_projects_hide(
    seeded: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.post(f"/project/detail/{sid}", json={"Notes": "n1", "StartDt": "2027-01-01"})
    bt.clock.advance(5)
    updated = bt.post(f"/project/detail/{sid}", json={"statusprod_NT": "kick-off done", "unknown": 1}).json()
    assert updated["Notes"] == "n1"
    assert updated["StatusProd_nt"] == "kick-off done"
    assert updated["StartDt"] == "2027-01-01"
    assert updated["Nm"] == "Implementation"
    assert updated["DtModified"] == "2027-01-15T08:00:05"
    assert bt.post(f"/project/detail/{sid}", json={"EndDt": "2026-12-31"}).status_code == 400

    bt.post(f"/project/detail/{sid}", json={"IsInactive": True})
    assert bt.get("/project").json() == []
    assert bt.get("/picklist/projects").json() == []
    assert [p["SystemId"] for p in bt.get("/project", params={"ShowInactive": "true"}).json()] == [sid]


def test_project_delete_cascades_and_respects_logged_time(
    seeded: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    contact = bt.contact(sid, "Smith", "PRIMARY").json()
    bt.fake.log_time(sid, 2, 300)
    refused = bt.delete(f"/project/detail/{sid}")
    assert refused.status_code == 400
    other = bt.project(project["ClientId"], code="P-2")
    bt.contact(other["SystemId"], "Jones")
    assert bt.delete(f"/project/detail/{other['SystemId']}").status_code == 204
    assert bt.get(f"/project/detail/{other['SystemId']}").status_code == 404
    assert bt.get(f"/project/contacts/{other['SystemId']}").status_code == 404
    assert [c["SystemId"] for c in bt.fake.project_contacts(sid)] == [contact["SystemId"]]


# ----------------------------------------------------------------------------------------- contacts


def test_contacts_crud_and_one_primary_one_billing(
    seeded: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    bt, client, project = seeded
    sid = project["SystemId"]
    primary = bt.contact(
        sid,
        "Smith",
        "PRIMARY",
        FName="Ann",
        EMail="ann@acme.test",
        Phone_2="555-0101",
        ContactType=502,
        Address={"address": "1 Main St", "CITY": "Springfield", "Unknown": "x"},
    )
    assert primary.status_code == 200
    body = primary.json()
    assert body["SystemId"] == 9001
    assert body["ProjectSid"] == sid
    assert body["ClientSid"] == client["SystemId"]
    assert body["FullNm"] == "Ann Smith"
    assert body["Address"] == {
        "Address": "1 Main St",
        "City": "Springfield",
        "State": None,
        "Zip": None,
        "Country": None,
        "FullAddress": "1 Main St, Springfield",
    }
    billing = bt.contact(sid, "Brown", "BILLING").json()
    other = bt.contact(sid, "Green").json()
    assert other["Tag"] == "OTHER"
    assert bt.post("/project/contact", json={"ProjectSid": sid, "SName": "Doe"}).json()["Tag"] == "OTHER"

    second_primary = bt.contact(sid, "Again", "PRIMARY")
    assert second_primary.status_code == 400
    assert "PRIMARY" in message(second_primary)
    assert bt.contact(sid, "Again", "BILLING").status_code == 400
    assert bt.post(f"/project/contact/{other['SystemId']}", json={"Tag": "BILLING"}).status_code == 400
    # Re-saving the PRIMARY contact as PRIMARY is fine.
    assert (
        bt.post(f"/project/contact/{primary.json()['SystemId']}", json={"Tag": "PRIMARY"}).status_code == 200
    )

    by_path = bt.get(f"/project/contacts/{sid}").json()
    by_query = bt.get("/Project/Contacts", params={"id": sid}).json()
    assert by_path == by_query
    assert [c["Tag"] for c in by_path] == ["PRIMARY", "BILLING", "OTHER", "OTHER"]
    assert bt.get("/project/contacts").status_code == 400

    one = bt.get(f"/project/contact/{billing['SystemId']}", params={"projectsid": sid})
    assert one.status_code == 200
    assert one.json()["SName"] == "Brown"
    assert bt.get(f"/project/contact/{billing['SystemId']}", params={"projectsid": 99}).status_code == 404
    assert bt.get("/project/contact/123456").status_code == 404

    updated = bt.post(
        f"/project/contact/{primary.json()['SystemId']}", json={"title": "CFO", "Address": {"Zip": "62701"}}
    ).json()
    assert updated["Title"] == "CFO"
    assert updated["EMail"] == "ann@acme.test"
    assert updated["Address"]["City"] == "Springfield"
    assert updated["Address"]["Zip"] == "62701"
    moved = bt.post(f"/project/contact/{other['SystemId']}", json={"ProjectSid": 1})
    assert moved.status_code == 400

    assert bt.delete(f"/project/contact/{other['SystemId']}", params={"ProjectSid": 99}).status_code == 404
    assert bt.delete(f"/project/contact/{other['SystemId']}", params={"ProjectSid": sid}).status_code == 204
    assert len(bt.fake.project_contacts(sid)) == 3
    # The freed BILLING slot can be taken once the billing contact is gone.
    assert bt.delete(f"/project/contact/{billing['SystemId']}").status_code == 204
    assert bt.contact(sid, "NewBill", "BILLING").status_code == 200


def test_detailed_project_embeds_primary_and_billing_unless_show_all(
    seeded: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    other = bt.contact(sid, "Green").json()
    billing = bt.contact(sid, "Brown", "BILLING").json()
    primary = bt.contact(sid, "Smith", "PRIMARY").json()
    assert "ContactList" not in bt.get(f"/project/detail/{sid}").json()
    detailed = bt.get(f"/project/detail/{sid}", params={"View": "Detailed"}).json()
    assert [c["SystemId"] for c in detailed["ContactList"]] == [primary["SystemId"], billing["SystemId"]]
    assert detailed["PrimaryContactId"] == primary["SystemId"]
    assert detailed["BillingContactId"] == billing["SystemId"]
    everyone = bt.get(f"/project/detail/{sid}", params={"View": "Detailed", "ShowAllContacts": "true"}).json()
    assert [c["SystemId"] for c in everyone["ContactList"]] == [
        primary["SystemId"],
        billing["SystemId"],
        other["SystemId"],
    ]


def test_contact_validation(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    cases = [
        ({"SName": "A", "Tag": "primary"}, "'Tag'"),  # tag values are exact
        ({"SName": "A", "Tag": "OWNER"}, "'Tag'"),
        ({"SName": "A", "ContactType": 101}, "'ContactType'"),
        ({"FName": "", "SName": " "}, "'SName'"),
        ({"SName": "A", "Address": "1 Main St"}, "'Address'"),
    ]
    for fields, expected in cases:
        response = bt.post("/project/contact", json={"ProjectSid": sid, **fields})
        assert response.status_code == 400, fields
        assert expected in message(response)
    assert "'ProjectSid'" in message(bt.post("/project/contact", json={"SName": "A"}))
    assert bt.post("/project/contact", json={"ProjectSid": 424242, "SName": "A"}).status_code == 400
    assert bt.fake.project_contacts(sid) == []


@pytest.mark.parametrize("key", ["SystemId", "Id", "id"])
def test_contact_id_key_is_configurable(bt: Env, key: str) -> None:
    bt.use(contact_id_key=key)
    project_sid = bt.project(bt.client()["SystemId"])["SystemId"]
    contact = bt.contact(project_sid, "Smith", "PRIMARY").json()
    assert contact[key] == 9001
    assert ({"SystemId", "Id", "id"} - {key}) & set(contact) == set()
    listed = bt.get(f"/project/contacts/{project_sid}").json()
    assert listed[0][key] == 9001
    assert bt.post(f"/project/contact/{contact[key]}", json={"Title": "CEO"}).json()["Title"] == "CEO"


def test_unknown_contact_id_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="contact_id_key"):
        FakeBigTime(contact_id_key="ContactSid")


# ------------------------------------------------------------------------------------ custom fields


def test_custom_fields_by_sid_both_body_shapes(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    initial = bt.get(f"/project/CustomFields/{sid}").json()
    assert initial == [
        {"Sid": 1, "Name": "Salesforce Opportunity Id", "Value": None, "ProjectSid": sid},
        {"Sid": 2, "Name": "Salesforce Account Id", "Value": None, "ProjectSid": sid},
    ]
    as_list = bt.post(f"/project/CustomFields/{sid}", json=[{"sid": 1, "VALUE": "006000000000001AAA"}])
    assert as_list.status_code == 200
    assert as_list.json()[0]["Value"] == "006000000000001AAA"
    wrapped = bt.post(
        f"/project/customfields/{sid}", json={"CustomFields": [{"Sid": 2, "Value": "001000000000001AAA"}]}
    )
    assert wrapped.status_code == 200
    assert bt.fake.custom_fields(sid) == {
        "Salesforce Opportunity Id": "006000000000001AAA",
        "Salesforce Account Id": "001000000000001AAA",
    }
    unknown = bt.post(
        f"/project/CustomFields/{sid}", json=[{"Sid": 2, "Value": "changed"}, {"Sid": 77, "Value": "x"}]
    )
    assert unknown.status_code == 400
    assert "77" in message(unknown)
    assert bt.fake.custom_fields(sid)["Salesforce Account Id"] == "001000000000001AAA"  # nothing written
    assert bt.post(f"/project/CustomFields/{sid}", json=[{"Value": "x"}]).status_code == 400
    assert bt.get("/project/CustomFields/999").status_code == 404


def test_custom_fields_by_name_both_body_shapes(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    listed = bt.post(
        f"/project/CustomFieldsByName/{sid}", json=[{"Name": "Salesforce Opportunity Id", "Value": "006A"}]
    )
    assert listed.status_code == 200
    as_map = bt.post(f"/project/customfieldsbyname/{sid}", json={"salesforce account id": "001B"})
    assert as_map.status_code == 200
    single = bt.post(
        f"/project/CustomFieldsByName/{sid}", json={"name": "Salesforce Opportunity Id", "value": "006C"}
    )
    assert single.status_code == 200
    detailed = bt.get(f"/project/detail/{sid}", params={"View": "Detailed"}).json()
    assert {u["Name"]: u["Value"] for u in detailed["UdfList"]} == {
        "Salesforce Opportunity Id": "006C",
        "Salesforce Account Id": "001B",
    }
    unknown = bt.post(f"/project/CustomFieldsByName/{sid}", json={"Opportunity": "006D"})
    assert unknown.status_code == 400
    assert "Opportunity" in message(unknown)
    assert bt.fake.custom_fields(sid)["Salesforce Opportunity Id"] == "006C"


def test_custom_field_definitions_are_configurable(bt: Env) -> None:
    bt.use(custom_fields=[{"Sid": 10, "Name": "SF Opp"}])
    sid = bt.project(bt.client()["SystemId"])["SystemId"]
    assert bt.fake.set_custom_fields(sid, {"SF Opp": "006X"}) == {"SF Opp": "006X"}
    assert bt.get(f"/project/CustomFields/{sid}").json() == [
        {"Sid": 10, "Name": "SF Opp", "Value": "006X", "ProjectSid": sid}
    ]


# ---------------------------------------------------------------------------------------- picklists


def test_field_value_picklists(bt: Env) -> None:
    types = bt.get("/picklist/FieldValues/LookupProjectType").json()
    names = [t["Name"] for t in types]
    assert names == sorted(names, key=str.lower)
    assert "Legacy Support" not in names
    assert types[0] == {"Id": 101, "Name": "Consulting"}
    with_inactive = bt.get("/picklist/fieldvalues/lookupprojecttype", params={"showinactive": "true"}).json()
    assert {"Id": 107, "Name": "Legacy Support", "IsInactive": True} in with_inactive
    billing = bt.get("/picklist/FieldValues/StatusBilling").json()
    assert all(item["Group"] in ("Active", "Closed") for item in billing)
    for name in ("StatusProduction", "LookupClientType", "LookupClientContactType"):
        response = bt.get(f"/picklist/FieldValues/{name}")
        assert response.status_code == 200
        assert response.json()
        assert all(set(item) >= {"Id", "Name"} for item in response.json())
    assert bt.get("/picklist/FieldValues/NoSuchList").status_code == 404


def test_picklists_can_be_replaced(bt: Env) -> None:
    bt.use(picklists={"LookupProjectType": [{"Id": 1, "Name": "Only"}]})
    assert bt.get("/picklist/FieldValues/LookupProjectType").json() == [{"Id": 1, "Name": "Only"}]
    client_sid = bt.client()["SystemId"]
    assert bt.project(client_sid, TypeId=1)["TypeId"] == 1
    assert (
        bt.post(
            "/project/detail", json={"Nm": "x", "ClientId": client_sid, "ProjectCode": "Q", "TypeId": 101}
        ).status_code
        == 400
    )


def test_entity_picklists(bt: Env) -> None:
    beta = bt.client("beta llc", "B")
    alpha = bt.client("Alpha Inc", "A")
    bt.project(beta["SystemId"], code="B1", nm="Zeta")
    bt.project(alpha["SystemId"], code="A1", nm="Rollout")
    assert bt.get("/picklist/clients").json() == [
        {"Id": alpha["SystemId"], "Name": "Alpha Inc"},
        {"Id": beta["SystemId"], "Name": "beta llc"},
    ]
    assert [p["Name"] for p in bt.get("/picklist/projects").json()] == ["Alpha Inc:Rollout", "beta llc:Zeta"]


# -------------------------------------------------------------------------------------- permissions


def test_permission_denied_is_405(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    limited = {"X-Auth-ApiToken": "limited", "X-Auth-Realm": REALM}
    denied = bt.post(
        "/project/detail", headers=limited, json={"Nm": "P", "ClientId": client_sid, "ProjectCode": "P"}
    )
    assert denied.status_code == 405
    assert "project.create" in message(denied)
    assert bt.fake.projects == []
    # Lists hide what the caller may not see instead of failing; single records answer 405.
    assert bt.get("/client", headers=limited).json() == []
    assert bt.get("/picklist/clients", headers=limited).json() == []
    assert bt.get(f"/client/detail/{client_sid}", headers=limited).status_code == 405
    assert bt.get("/project", headers=limited).status_code == 200  # not restricted

    token = bt.post("/session", headers={}, json={"UserId": "viewer@firm.test", "Pwd": "pw2"}).json()["token"]
    session = {"X-Auth-Token": token, "X-Auth-Realm": REALM}
    assert bt.post(f"/client/detail/{client_sid}", headers=session, json={"Notes": "ok"}).status_code == 200
    assert bt.post("/project/detail", headers=session, json={"Nm": "P"}).status_code == 405


def test_unknown_permission_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown permissions"):
        FakeBigTime(api_tokens={"t": {"permissions": {"projects.create": False}}})


# ----------------------------------------------------------------------------------- tasks, budgets


def test_tasks_and_budget_status(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    created = bt.post(
        "/task/detail",
        json={"TaskSid": 0, "ProjectSid": sid, "TaskNm": "Build", "BudgetHours": 10, "BudgetFees": 1500},
    )
    assert created.status_code == 200
    task = created.json()
    assert task["TaskSid"] == 7001
    assert task["BudgetTotal"] == 1500.0
    design = bt.post("/task/detail", json={"projectsid": sid, "tasknm": "Design", "budgethours": "4"}).json()
    assert bt.get(f"/task/detail/{task['TaskSid']}").json()["TaskNm"] == "Build"
    assert [t["TaskNm"] for t in bt.get(f"/task/listByProject/{sid}").json()] == ["Build", "Design"]
    updated = bt.post(f"/task/detail/{design['TaskSid']}", json={"BudgetFees": 600}).json()
    assert (updated["BudgetHours"], updated["BudgetFees"]) == (4.0, 600.0)

    assert bt.post("/task/detail", json={"ProjectSid": sid}).status_code == 400
    assert bt.post("/task/detail", json={"TaskNm": "X", "ProjectSid": 424242}).status_code == 400
    assert (
        bt.post("/task/detail", json={"TaskNm": "X", "ProjectSid": sid, "BudgetHours": -1}).status_code == 400
    )

    bt.fake.log_time(sid, 3, 450, task_sid=task["TaskSid"])
    bt.fake.log_time(sid, 1.5, 225, task_sid=task["TaskSid"])
    assert bt.admin("POST", "time", json={"project_sid": sid, "hours": 2, "fees": 100}).status_code == 200
    status = bt.get(f"/task/BudgetStatusByProject/{sid}").json()
    by_task = {row["TaskSid"]: row for row in status}
    assert by_task[task["TaskSid"]]["HoursInput"] == 4.5
    assert by_task[task["TaskSid"]]["FeesInput"] == 675.0
    assert by_task[task["TaskSid"]]["HoursRemaining"] == 5.5
    assert by_task[design["TaskSid"]]["HoursInput"] == 0.0
    assert by_task[0]["HoursInput"] == 2.0  # time without a task
    detailed = bt.get(f"/project/detail/{sid}", params={"View": "Detailed"}).json()
    assert (detailed["BudgetHours"], detailed["BudgetFees"]) == (14.0, 2100.0)

    assert bt.delete(f"/task/detail/{task['TaskSid']}").status_code == 400  # time logged on it
    assert bt.delete(f"/task/detail/{design['TaskSid']}").status_code == 204
    assert bt.get(f"/task/detail/{design['TaskSid']}").status_code == 404
    with pytest.raises(ApiError) as excinfo:
        bt.fake.log_time(424242, 1, 1)
    assert excinfo.value.status == 404


# --------------------------------------------------------------------------------- rate limit, faults


def test_rate_limit_without_retry_after(bt: Env) -> None:
    bt.use(rate_limit_per_minute=3)
    assert [bt.get("/client").status_code for _ in range(3)] == [200, 200, 200]
    throttled = bt.get("/client")
    assert throttled.status_code == 503
    assert "Retry-After" not in throttled.headers
    assert throttled.json() == {"Message": "The service is unavailable."}
    bt.clock.advance(30)
    assert bt.get("/client").status_code == 503  # still inside the window
    bt.clock.advance(31)
    assert bt.get("/client").status_code == 200
    assert [c.status for c in bt.fake.calls] == [200, 200, 200, 503, 503, 200]


def test_rate_limit_with_retry_after_and_admin_config(bt: Env) -> None:
    config = bt.admin("POST", "config", json={"rate_limit_per_minute": 1, "retry_after": 2})
    assert config.status_code == 200
    assert config.json()["retry_after"] == 2
    assert bt.get("/client").status_code == 200
    throttled = bt.get("/project")
    assert throttled.status_code == 503
    assert throttled.headers["Retry-After"] == "2"
    assert bt.admin("POST", "config", json={"rate_limit_per_minute": 0}).status_code == 200
    assert bt.get("/project").status_code == 200
    assert bt.admin("POST", "config", json={"rate_limt": 1}).status_code == 400
    assert bt.admin("POST", "config", json={"contact_id_key": "Sid"}).status_code == 400
    assert bt.admin("GET", "config").json()["rate_limit_per_minute"] == 0


def test_fault_status_headers_and_path_match(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, client, project = seeded
    bt.fake.faults.add(method="POST", path="/project/detail$", status=503, headers={"Retry-After": "2"})
    # A GET on the same path, and a POST to /project/detail/{id}, are not matched.
    assert bt.get(f"/project/detail/{project['SystemId']}").status_code == 200
    assert bt.post(f"/project/detail/{project['SystemId']}", json={"Notes": "x"}).status_code == 200
    failed = bt.post(
        "/project/detail", json={"Nm": "P2", "ClientId": client["SystemId"], "ProjectCode": "P-2"}
    )
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "2"
    assert len(bt.fake.projects) == 1  # not created
    retried = bt.post(
        "/project/detail", json={"Nm": "P2", "ClientId": client["SystemId"], "ProjectCode": "P-2"}
    )
    assert retried.status_code == 200
    assert bt.fake.calls[-2].fault is True
    assert bt.fake.calls[-1].fault is False


def test_fault_html_body_and_times(bt: Env) -> None:
    bt.fake.faults.add(
        method="GET", path="/client", status=500, body="<html><body>Runtime Error</body></html>", times=2
    )
    for _ in range(2):
        response = bt.get("/client")
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Runtime Error" in response.text
    assert bt.get("/client").status_code == 200


def test_fault_after_creates_but_caller_sees_500(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    bt.fake.faults.add(method="POST", path="/project/detail$", status=500, after=True)
    lost = bt.post("/project/detail", json={"Nm": "Won deal", "ClientId": client_sid, "ProjectCode": "OPP-9"})
    assert lost.status_code == 500
    assert message(lost) == "An error has occurred."
    # The project exists though the caller never heard: a blind retry would collide on the code.
    assert [p["ProjectCode"] for p in bt.get("/project").json()] == ["OPP-9"]
    retry = bt.post(
        "/project/detail", json={"Nm": "Won deal", "ClientId": client_sid, "ProjectCode": "OPP-9"}
    )
    assert retry.status_code == 400


def test_fault_delay_after_work_times_out_the_caller(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    bt.fake.faults.add(method="POST", path="/project/detail$", status=0, delay=0.5, after=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        bt.post(
            "/project/detail", json={"Nm": "Slow", "ClientId": client_sid, "ProjectCode": "S-1"}, timeout=0.15
        )
    assert [p["ProjectCode"] for p in bt.fake.projects] == ["S-1"]


def test_fault_delay_only_then_normal_answer(bt: Env) -> None:
    bt.fake.faults.add(method="GET", path="/client$", status=0, delay=0.2)
    started = time.monotonic()
    response = bt.get("/client")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


# ----------------------------------------------------------------------------------- admin, calls


def test_admin_faults_calls_reset_and_state(bt: Env) -> None:
    added = bt.admin("POST", "faults", json={"method": "GET", "path": "/project$", "status": 502})
    assert added.status_code == 200
    assert added.json()["status"] == 502
    assert len(bt.admin("GET", "faults").json()) == 1
    assert bt.get("/project").status_code == 502
    bt.admin("POST", "faults", json={"path": "/client", "status": 500, "times": -1})
    assert bt.admin("DELETE", "faults").status_code == 200
    assert bt.admin("GET", "faults").json() == []
    assert bt.get("/client").status_code == 200
    assert bt.admin("POST", "faults", json={"path": "/x", "colour": "red"}).status_code == 400

    calls = bt.admin("GET", "calls").json()
    assert [(c["method"], c["route"], c["status"], c["auth"], c["fault"]) for c in calls] == [
        ("GET", "/project", 502, "apitoken", True),
        ("GET", "/client", 200, "apitoken", False),
    ]
    assert bt.admin("DELETE", "calls").status_code == 200
    assert bt.fake.calls == []

    bt.client()
    state = bt.admin("GET", "state").json()
    assert [c["Nm"] for c in state["clients"]] == ["Acme Corp"]
    assert state["projects"] == []
    bt.fake.configure(rate_limit_per_minute=5)
    assert bt.admin("POST", "reset").status_code == 200
    assert bt.fake.clients == []
    assert bt.fake.calls == []
    assert bt.fake.config.rate_limit_per_minute == 0  # reset restores the constructor's settings
    assert bt.client()["SystemId"] == 1001  # ids start again
    assert bt.admin("GET", "nothing").status_code == 404
    assert bt.admin("POST", "time", json={"project_sid": 5001, "hours": 1, "fees": 1}).status_code == 404


def test_calls_record_route_status_auth_and_body(seeded: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    bt, _, project = seeded
    bt.fake.clear_calls()
    bt.get(f"/Project/Detail/{project['SystemId']}", params={"View": "Detailed"})
    bt.post(f"/project/detail/{project['SystemId']}", json={"Notes": "n"})
    bt.get("/client", headers={})
    calls = bt.fake.calls
    assert [(c.method, c.route, c.status, c.auth) for c in calls] == [
        ("GET", "/project/detail/{id}", 200, "apitoken"),
        ("POST", "/project/detail/{id}", 200, "apitoken"),
        ("GET", "/client", 401, "none"),
    ]
    assert calls[0].path == f"/BigtimeData/api/v2/Project/Detail/{project['SystemId']}"
    assert calls[0].query == "View=Detailed"
    assert calls[1].body == {"Notes": "n"}
    assert calls[0].time == bt.clock()


# ------------------------------------------------------------------------------- seeding, threading


def test_python_seeding_validates_like_http(bt: Env) -> None:
    client = bt.fake.create_client({"Nm": "Seeded", "ClientId": "SEED"})
    project = bt.fake.create_project(
        {"Nm": "Seeded project", "ClientId": client["SystemId"], "ProjectCode": "S"}
    )
    contact = bt.fake.add_contact(project["SystemId"], {"SName": "Smith", "Tag": "PRIMARY"})
    task = bt.fake.create_task({"ProjectSid": project["SystemId"], "TaskNm": "Work"})
    assert bt.get(f"/project/contacts/{project['SystemId']}").json() == [contact]
    assert bt.fake.tasks(project["SystemId"]) == [task]
    assert bt.fake.project(project["SystemId"])["ContactList"] == [contact]
    assert bt.fake.client(client["SystemId"])["ContactList"] == [contact]
    for call, expected in (
        (lambda: bt.fake.create_client({"Nm": "Dup", "ClientId": "seed"}), "'ClientId'"),
        (lambda: bt.fake.create_project({"Nm": "P", "ClientId": "SEED", "ProjectCode": "T"}), "'ClientId'"),
        (lambda: bt.fake.add_contact(project["SystemId"], {"SName": "Jones", "Tag": "PRIMARY"}), "PRIMARY"),
    ):
        with pytest.raises(ApiError) as excinfo:
            call()
        assert excinfo.value.status == 400
        assert expected in excinfo.value.message
    # Seeding is not an API call: only the one GET above was recorded.
    assert [c.route for c in bt.fake.calls] == ["/project/contacts/{id}"]


def test_concurrent_creates_are_consistent(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    results: list[int] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        with requests.Session() as http:
            # Every worker races for the same code once, then creates its own project.
            for code in ("RACE", f"OWN-{n}"):
                body = {"Nm": f"P{n}", "ClientId": client_sid, "ProjectCode": code}
                response = http.post(bt.base + "/project/detail", json=body, headers=API_KEY)
                with lock:
                    results.append(response.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == 9
    assert results.count(400) == 7
    projects = bt.fake.projects
    assert len({p["SystemId"] for p in projects}) == 9
    assert sum(p["ProjectCode"] == "RACE" for p in projects) == 1
