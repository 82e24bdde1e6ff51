"""The fake Salesforce over HTTP, driven by unmodified simple-salesforce and raw requests."""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from defusedxml import ElementTree
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sf_bigtime_local.fake_salesforce import FakeSalesforce, default_metadata_dir
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.local.salesforce.fake_sf import (
    ORG,
    VERSION,
    LocalFakeSession,
    Receiver,
    api,
    opportunity,
    wait_for,
)
from tests.keys import rsa_pem


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSalesforce]:
    # Pages of 100 (not Salesforce's 2,000): the query tests walk several pages with a few hundred records.
    fake = FakeSalesforce(org_id=ORG, api_version=VERSION, page_size=100)
    yield fake
    fake.close()


@pytest.fixture
def direct(fake: FakeSalesforce, server: BackgroundServer) -> Salesforce:
    """``session_id`` mode: no login, no refresh."""
    return Salesforce(
        instance_url=server.url,
        session_id=fake.issue_token(),
        version=VERSION,
        session=LocalFakeSession(server.url),
    )


def bearer(fake: FakeSalesforce) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.issue_token()}"}


# --- login ----------------------------------------------------------------------------------------------


def test_client_credentials_with_basic_auth_via_simple_salesforce(
    fake: FakeSalesforce, server: BackgroundServer
) -> None:
    sf = Salesforce(
        consumer_key="ck",
        consumer_secret="cs",
        domain="acme.my",
        version=VERSION,
        session=LocalFakeSession(server.url),
    )
    assert sf.sf_instance == server.url.removeprefix("http://")  # instance_url came from the request Host
    token_call = fake.calls[0]
    assert (token_call.method, token_call.path, token_call.status) == (
        "POST",
        "/services/oauth2/token",
        200,
    )
    assert sf.query("SELECT Id FROM Organization")["records"][0]["Id"] == ORG


def test_client_credentials_in_form_body_and_response_shape(
    server: BackgroundServer, fake: FakeSalesforce
) -> None:
    resp = requests.post(
        f"{server.url}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "ck", "client_secret": "cs"},
        timeout=5,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["instance_url"] == "https://" + server.url.removeprefix("http://")
    assert body["id"] == f"https://login.salesforce.com/id/{ORG}/{fake.integration_user_id}"
    assert body["token_type"] == "Bearer" and body["issued_at"].isdigit()
    check = requests.get(
        api(server, "limits/"), headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5
    )
    assert check.status_code == 200


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({"grant_type": "client_credentials", "client_id": "ck", "client_secret": "wrong"}, {}),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic " + base64.b64encode(b"nope:cs").decode()},
        ),
    ],
)
def test_bad_client_credentials_are_rejected(server: BackgroundServer, data: dict, headers: dict) -> None:
    resp = requests.post(f"{server.url}/services/oauth2/token", data=data, headers=headers, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_client"


def test_bad_client_credentials_raise_in_simple_salesforce(server: BackgroundServer) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            consumer_key="ck", consumer_secret="bad", domain="acme.my", session=LocalFakeSession(server.url)
        )
    assert info.value.code == "invalid_client"


@pytest.fixture(scope="module")
def jwt_org() -> Iterator[tuple[FakeSalesforce, BackgroundServer, str]]:
    private, public = rsa_pem()
    fake = FakeSalesforce(jwt_public_key=public, usernames=["jwt.user@acme.example"])
    with BackgroundServer(fake, name="fake-salesforce-jwt") as srv:
        yield fake, srv, private
    fake.close()


def test_jwt_bearer_login_with_simple_salesforce(
    jwt_org: tuple[FakeSalesforce, BackgroundServer, str],
) -> None:
    fake, srv, private = jwt_org
    sf = Salesforce(
        username="jwt.user@acme.example",
        consumer_key="ck",
        privatekey=private,
        domain="login",
        version=VERSION,
        session=LocalFakeSession(srv.url),
    )
    user = sf.query("SELECT Id FROM User WHERE Username = 'jwt.user@acme.example'")["records"][0]["Id"]
    account = sf.Account.create({"Name": "Via JWT"})["id"]
    assert fake.get("Account", account)["CreatedById"] == user  # the token runs as the JWT's subject


@pytest.mark.parametrize(
    ("claims", "sign_with_other_key", "error", "description"),
    [
        ({}, True, "invalid_grant", "invalid assertion"),
        ({"iss": "someone-else"}, False, "invalid_client", "client identifier invalid"),
        ({"sub": "stranger@acme.example"}, False, "invalid_grant", "user hasn't approved this consumer"),
        ({"aud": "https://evil.example"}, False, "invalid_grant", "audience is invalid"),
        ({"exp": "1000"}, False, "invalid_grant", "expired authorization code"),
    ],
)
def test_jwt_bearer_rejections(
    jwt_org: tuple[FakeSalesforce, BackgroundServer, str],
    claims: dict,
    sign_with_other_key: bool,
    error: str,
    description: str,
) -> None:
    _, srv, private = jwt_org
    key = rsa_pem()[0] if sign_with_other_key else private
    payload = {
        "iss": "ck",
        "sub": "jwt.user@acme.example",
        "aud": "https://login.salesforce.com",
        "exp": str(int(time.time()) + 180),
        **claims,
    }
    resp = requests.post(
        f"{srv.url}/services/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt.encode(payload, key, "RS256"),
        },
        timeout=5,
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}


# --- headers, versions, 401 -----------------------------------------------------------------------------


def test_versions_need_no_auth_and_carry_no_limit_header(server: BackgroundServer) -> None:
    resp = requests.get(f"{server.url}/services/data/", timeout=5)
    assert resp.status_code == 200
    assert "Sforce-Limit-Info" not in resp.headers
    versions = {v["version"]: v for v in resp.json()}
    assert versions[VERSION] == {
        "label": "Spring '26",
        "url": f"/services/data/v{VERSION}",
        "version": VERSION,
    }
    assert versions["59.0"]["label"] == "Winter '24"


def test_limit_info_header_is_counted_and_parsed_by_simple_salesforce(
    sf: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    sf.query("SELECT Id FROM Account")
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == 2 == fake.api_usage  # the token call is not an API call
    assert sf.api_usage["api-usage"].total == 15000
    assert sf.limits()["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 3}
    resp = requests.get(api(server, "limits/"), headers=bearer(fake), timeout=5)
    assert resp.headers["Sforce-Limit-Info"] == "api-usage=4/15000"
    assert resp.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_401_is_a_json_array_and_simple_salesforce_logs_in_again(
    sf: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    resp = requests.get(
        api(server, "query/?q=SELECT+Id+FROM+Account"), headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert resp.status_code == 401
    assert resp.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert "Sforce-Limit-Info" in resp.headers
    fake.expire_sessions()
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 2  # 401, token refresh, retry
    assert [(c.method, c.path, c.status) for c in fake.calls[-3:]] == [
        ("GET", f"/services/data/v{VERSION}/query/", 401),
        ("POST", "/services/oauth2/token", 200),
        ("GET", f"/services/data/v{VERSION}/query/", 200),
    ]


def test_sessions_expire_after_every_nth_api_call_until_turned_off(
    fake: FakeSalesforce, server: BackgroundServer
) -> None:
    token = fake.issue_token()
    fake.expire_sessions_every(3)
    headers = {"Authorization": f"Bearer {token}"}
    url = api(server, "query/?q=SELECT+Id+FROM+Organization")
    statuses = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 401]  # the 3rd call went through; the token died with it
    fresh = {"Authorization": f"Bearer {fake.issue_token()}"}
    assert [requests.get(url, headers=fresh, timeout=5).status_code for _ in range(3)] == [200, 200, 401]
    requests.post(f"{server.url}/__fake/expire-sessions", json={"every": 0}, timeout=5).raise_for_status()
    fresh = {"Authorization": f"Bearer {fake.issue_token()}"}
    assert {requests.get(url, headers=fresh, timeout=5).status_code for _ in range(5)} == {200}
    with pytest.raises(ValueError, match="integer >= 0"):
        fake.expire_sessions_every(-1)


def test_issued_tokens_take_the_opaque_part_from_the_token_factory() -> None:
    fake = FakeSalesforce(org_id=ORG, token_factory=lambda: "knownpattern0001")
    try:
        assert fake.issue_token() == f"{ORG[:15]}!knownpattern0001"
    finally:
        fake.close()


def test_direct_session_mode_raises_on_expired_session(direct: Salesforce, fake: FakeSalesforce) -> None:
    assert direct.query("SELECT Id FROM Organization")["totalSize"] == 1
    fake.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        direct.query("SELECT Id FROM Organization")


# --- queries --------------------------------------------------------------------------------------------

ONE_CALL_QUERY = """
SELECT Id, Name, StageName, IsWon, IsClosed, CloseDate, Amount, Probability, Description,
       LastModifiedDate, SystemModstamp, AccountId, OwnerId,
       Account.Name, Account.Phone, Account.Website, Account.Type, Account.Industry,
       Account.BillingStreet, Account.BillingCity, Account.BillingState,
       Account.BillingPostalCode, Account.BillingCountry,
       Owner.Name, Owner.Email,
       (SELECT Id, ContactId, Role, IsPrimary,
               Contact.FirstName, Contact.LastName, Contact.Email, Contact.Phone, Contact.Title
          FROM OpportunityContactRoles ORDER BY IsPrimary DESC)
FROM Opportunity WHERE Id = {id}
"""


def test_the_one_call_query(sf: Salesforce, fake: FakeSalesforce) -> None:
    account = fake.create(
        "Account",
        {"Name": "Acme", "Phone": "+1 555 0100", "Website": "https://acme.example", "BillingCity": "Austin"},
    )
    opp = fake.create(
        "Opportunity",
        {
            "Name": "Acme – Impl",
            "StageName": "Closed Won",
            "CloseDate": "2026-07-11",
            "Amount": 45000,
            "AccountId": account,
        },
    )
    ann = fake.create(
        "Contact", {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@acme.example", "AccountId": account}
    )
    bob = fake.create("Contact", {"LastName": "Bob", "Title": "CFO", "AccountId": account})
    fake.create("OpportunityContactRole", {"OpportunityId": opp, "ContactId": bob, "Role": "Economic Buyer"})
    fake.create(
        "OpportunityContactRole",
        {"OpportunityId": opp, "ContactId": ann, "Role": "Decision Maker", "IsPrimary": True},
    )
    bare = fake.create("Opportunity", {"Name": "Bare", "StageName": "Prospecting", "CloseDate": "2026-08-01"})

    result = sf.query(ONE_CALL_QUERY.format(id=f"'{opp[:15]}'"))
    assert (result["totalSize"], result["done"]) == (1, True)
    record = result["records"][0]
    assert record["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v{VERSION}/sobjects/Opportunity/{opp}",
    }
    assert (record["Id"], record["IsWon"], record["IsClosed"], record["Probability"]) == (
        opp,
        True,
        True,
        100.0,
    )
    assert record["Amount"] == 45000.0 and record["Description"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", record["LastModifiedDate"])
    assert record["Account"]["Name"] == "Acme" and record["Account"]["BillingCity"] == "Austin"
    assert record["Account"]["BillingState"] is None
    assert record["Owner"] == {
        "attributes": {
            "type": "User",
            "url": f"/services/data/v{VERSION}/sobjects/User/{fake.owner_user_id}",
        },
        "Name": "Olivia Owner",
        "Email": "olivia.owner@acme.example",
    }
    roles = record["OpportunityContactRoles"]
    assert roles["totalSize"] == 2 and roles["done"] is True
    assert [(r["ContactId"], r["IsPrimary"]) for r in roles["records"]] == [(ann, True), (bob, False)]
    assert roles["records"][0]["Contact"]["Email"] == "ann@acme.example"

    empty = sf.query(ONE_CALL_QUERY.format(id=f"'{bare}'"))["records"][0]
    assert empty["Account"] is None
    assert empty["OpportunityContactRoles"] is None


def test_query_all_follows_next_records_url(sf: Salesforce, fake: FakeSalesforce) -> None:
    account = fake.create("Account", {"Name": "Big"})
    for i in range(250):
        fake.create("Contact", {"LastName": f"C{i:03d}", "AccountId": account})
    first = sf.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (250, False, 100)
    assert re.fullmatch(rf"/services/data/v{VERSION}/query/01g\w{{15}}-100", first["nextRecordsUrl"])
    everything = sf.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert everything["totalSize"] == 250
    assert [r["LastName"] for r in everything["records"]] == [f"C{i:03d}" for i in range(250)]
    assert [c.path.split("-")[-1] for c in fake.calls[-2:]] == ["100", "200"]


def test_where_order_limit_in_null_and_dates(sf: Salesforce, fake: FakeSalesforce) -> None:
    for name, stage, close, amount in [
        ("A", "Closed Won", "2026-01-05", 10),
        ("B", "Closed Won", "2026-02-01", None),
        ("C", "Prospecting", "2025-12-31", 30),
        ("D", "Closed Lost", "2026-03-01", 40),
    ]:
        fake.create("Opportunity", {"Name": name, "StageName": stage, "CloseDate": close, "Amount": amount})

    def q(where: str) -> list[str]:
        return [r["Name"] for r in sf.query(f"SELECT Name FROM Opportunity WHERE {where}")["records"]]

    assert q("StageName IN ('Closed Won', 'Closed Lost') ORDER BY CloseDate DESC LIMIT 2") == ["D", "B"]
    assert q("Amount = null") == ["B"]
    assert q("CloseDate >= 2026-01-01 AND Amount != null ORDER BY Name") == ["A", "D"]
    assert q("CreatedDate = LAST_N_DAYS:1 AND IsWon = true ORDER BY Amount NULLS LAST") == ["A", "B"]
    assert q("CreatedDate > TODAY") == []
    # A reconciliation sweep: won, no BigTime project yet (docs/decisions.md#a-scheduled-reconcile-sweep).
    sweep = "StageName = 'Closed Won' AND BigTime_Project_Id__c = null AND LastModifiedDate = LAST_N_DAYS:7"
    assert sorted(q(sweep)) == ["A", "B"]


# --- records --------------------------------------------------------------------------------------------


def test_create_get_update_delete_undelete(
    sf: Salesforce, direct: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    created = sf.Opportunity.create({"Name": "New", "StageName": "Prospecting", "CloseDate": "2026-09-30"})
    opp = created["id"]
    assert created == {"id": opp, "success": True, "errors": []} and len(opp) == 18
    got = sf.Opportunity.get(opp[:15])  # 15-character ids are accepted, 18 returned
    assert got["Id"] == opp and got["Probability"] == 10.0 and got["ForecastCategoryName"] == "Pipeline"
    assert got["OwnerId"] == got["CreatedById"] == fake.integration_user_id
    assert sf.Opportunity.get(opp, params={"fields": "Id,Name"}) == {
        "attributes": {"type": "Opportunity", "url": f"/services/data/v{VERSION}/sobjects/Opportunity/{opp}"},
        "Id": opp,
        "Name": "New",
    }
    assert sf.Opportunity.update(opp, {"StageName": "Closed Won", "Amount": "1500.5"}) == 204
    after = fake.get("Opportunity", opp)
    assert (after["IsWon"], after["IsClosed"], after["Probability"], after["Amount"]) == (
        True,
        True,
        100.0,
        1500.5,
    )

    assert sf.Opportunity.delete(opp) == 204
    for call in (
        lambda: sf.Opportunity.get(opp),
        lambda: sf.Opportunity.update(opp, {"Name": "x"}),
        lambda: sf.Opportunity.delete(opp),
    ):
        with pytest.raises(SalesforceResourceNotFound) as info:
            call()
        assert info.value.content == [
            {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
        ]
    assert sf.query(f"SELECT Id FROM Opportunity WHERE Id = '{opp}'")["totalSize"] == 0
    deleted = sf.query_all(f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{opp}'", include_deleted=True)
    assert deleted["records"][0]["IsDeleted"] is True
    fake.undelete("Opportunity", opp)
    assert direct.Opportunity.get(opp)["IsDeleted"] is False


def test_delete_cascades_and_undelete_restores(fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    account = fake.get("Opportunity", opp)["AccountId"]
    contact = fake.create("Contact", {"LastName": "Lee", "AccountId": account})
    role = fake.create("OpportunityContactRole", {"OpportunityId": opp, "ContactId": contact})
    project = fake.create("BigTime_Project__c", {"Name": "P-1", "Opportunity__c": opp})
    fake.delete("Account", account)
    assert all(
        fake.get(t, i)["IsDeleted"]
        for t, i in [("Opportunity", opp), ("Contact", contact), ("OpportunityContactRole", role)]
    )
    assert fake.get("BigTime_Project__c", project)["Opportunity__c"] is None  # lookup: SetNull
    fake.undelete("Account", account)
    assert not fake.get("OpportunityContactRole", role)["IsDeleted"]
    assert fake.get("BigTime_Project__c", project)["Opportunity__c"] == opp


def test_only_one_primary_contact_role_per_opportunity(sf: Salesforce, fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    first, second = (fake.create("Contact", {"LastName": n}) for n in ("One", "Two"))
    r1 = sf.OpportunityContactRole.create({"OpportunityId": opp, "ContactId": first, "IsPrimary": True})["id"]
    sf.OpportunityContactRole.create({"OpportunityId": opp, "ContactId": second, "IsPrimary": True})
    rows = sf.query(
        f"SELECT Id, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opp}' AND IsPrimary = true"
    )
    assert rows["totalSize"] == 1 and rows["records"][0]["Id"] != r1


def test_upsert_by_external_id(sf: Salesforce, fake: FakeSalesforce) -> None:
    data = {"Name": "Up", "StageName": "Prospecting", "CloseDate": "2026-01-01"}
    created = sf.Opportunity.upsert("BigTime_Project_Id__c/BT-1", data, raw_response=True)
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    assert fake.get("Opportunity", body["id"])["BigTime_Project_Id__c"] == "BT-1"
    updated = sf.Opportunity.upsert(
        "BigTime_Project_Id__c/bt-1", {"Name": "Up 2"}, raw_response=True
    )  # case-insensitive
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    assert sf.Opportunity.get_by_custom_id("BigTime_Project_Id__c", "BT-1")["Name"] == "Up 2"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(
            "sobjects/Opportunity/BigTime_Project_Id__c/BT-2",
            params={"updateOnly": "true"},
            method="PATCH",
            json=data,
        )
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Opportunity.get_by_custom_id("Name", "Up 2")  # not an external id field
    assert "Provided external ID field does not exist" in info.value.content[0]["message"]


# --- composite ------------------------------------------------------------------------------------------


def test_composite_references_one_api_call(sf: Salesforce, fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    fake.create(
        "Contact",
        {
            "LastName": "Lee",
            "Email": "lee@acme.example",
            "AccountId": fake.get("Opportunity", opp)["AccountId"],
        },
    )
    before = fake.api_usage
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"/services/data/v{VERSION}/query?q=SELECT+Id,AccountId+FROM+Opportunity+WHERE+Id='{opp}'",
                "referenceId": "opp",
            },
            {
                "method": "GET",
                "url": f"/services/data/v{VERSION}/query?q=SELECT+Id,Email+FROM+Contact+WHERE+AccountId='@{{opp.records[0].AccountId}}'",
                "referenceId": "contacts",
            },
            {
                "method": "POST",
                "url": f"/services/data/v{VERSION}/sobjects/Account",
                "referenceId": "newacc",
                "body": {"Name": "New Co"},
            },
            {
                "method": "PATCH",
                "url": f"/services/data/v{VERSION}/sobjects/Opportunity/{opp}",
                "referenceId": "link",
                "body": {"AccountId": "@{newacc.id}", "Description": "moved to @{newacc.id}"},
            },
            {
                "method": "GET",
                "url": f"/services/data/v{VERSION}/sobjects/Opportunity/@{{missing.id}}",
                "referenceId": "bad",
            },
        ],
    }
    result = sf.restful("composite", method="POST", json=body)
    responses = {r["referenceId"]: r for r in result["compositeResponse"]}
    assert fake.api_usage == before + 1  # the whole composite is one API call
    assert responses["contacts"]["body"]["records"][0]["Email"] == "lee@acme.example"
    new_id = responses["newacc"]["body"]["id"]
    assert responses["newacc"]["httpStatusCode"] == 201
    assert responses["newacc"]["httpHeaders"] == {
        "Location": f"/services/data/v{VERSION}/sobjects/Account/{new_id}"
    }
    assert (responses["link"]["httpStatusCode"], responses["link"]["body"]) == (204, None)
    assert fake.get("Opportunity", opp)["AccountId"] == new_id
    assert fake.get("Opportunity", opp)["Description"] == f"moved to {new_id}"
    assert responses["bad"]["httpStatusCode"] == 400
    assert responses["bad"]["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_composite_all_or_none_rolls_back(sf: Salesforce, fake: FakeSalesforce) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/v{VERSION}/sobjects/Account",
                "referenceId": "acc",
                "body": {"Name": "Rolled"},
            },
            {
                "method": "POST",
                "url": f"/services/data/v{VERSION}/sobjects/Opportunity",
                "referenceId": "opp",
                "body": {"Name": "No stage", "AccountId": "@{acc.id}"},
            },
            {"method": "GET", "url": f"/services/data/v{VERSION}/limits", "referenceId": "after"},
        ],
    }
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [400, 400, 400]
    assert result[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert result[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert result[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Rolled'")["totalSize"] == 0
    assert fake.change_events == []  # nothing committed, nothing emitted


# --- errors ---------------------------------------------------------------------------------------------


def _dup(sf: Salesforce, fake: FakeSalesforce) -> Any:
    opportunity(fake, BigTime_Project_Id__c="42")
    return sf.Opportunity.create(
        {"Name": "B", "StageName": "Prospecting", "CloseDate": "2026-01-01", "BigTime_Project_Id__c": "42"}
    )


ERROR_CASES: list[
    tuple[str, Callable[[Salesforce, FakeSalesforce], Any], type[Exception], int, str, list[str] | None]
] = [
    (
        "malformed query",
        lambda sf, f: sf.query("SELEC Id FROM Account"),
        SalesforceMalformedRequest,
        400,
        "MALFORMED_QUERY",
        None,
    ),
    (
        "invalid field",
        lambda sf, f: sf.query("SELECT Nope__c FROM Account"),
        SalesforceMalformedRequest,
        400,
        "INVALID_FIELD",
        None,
    ),
    (
        "invalid type",
        lambda sf, f: sf.query("SELECT Id FROM Nope__c"),
        SalesforceMalformedRequest,
        400,
        "INVALID_TYPE",
        None,
    ),
    (
        "malformed id",
        lambda sf, f: sf.Opportunity.get("not-an-id"),
        SalesforceMalformedRequest,
        400,
        "MALFORMED_ID",
        None,
    ),
    (
        "not found",
        lambda sf, f: sf.Opportunity.get("0065w000009zzzzAAA"),
        SalesforceResourceNotFound,
        404,
        "NOT_FOUND",
        None,
    ),
    (
        "unknown object",
        lambda sf, f: sf.Nope__c.get("0065w000009zzzzAAA"),
        SalesforceResourceNotFound,
        404,
        "NOT_FOUND",
        None,
    ),
    (
        "json parser",
        lambda sf, f: sf.restful("sobjects/Account", method="POST", data="{not json"),
        SalesforceMalformedRequest,
        400,
        "JSON_PARSER_ERROR",
        None,
    ),
    (
        "required field",
        lambda sf, f: sf.Opportunity.create({"Name": "x"}),
        SalesforceMalformedRequest,
        400,
        "REQUIRED_FIELD_MISSING",
        ["StageName", "CloseDate"],
    ),
    (
        "restricted picklist",
        lambda sf, f: sf.Opportunity.update(opportunity(f), {"BigTime_Sync_Status__c": "Bogus"}),
        SalesforceMalformedRequest,
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ["BigTime_Sync_Status__c"],
    ),
    ("duplicate value", _dup, SalesforceMalformedRequest, 400, "DUPLICATE_VALUE", []),
    (
        "unknown field on write",
        lambda sf, f: sf.Account.create({"Name": "x", "Nope__c": 1}),
        SalesforceMalformedRequest,
        400,
        "INVALID_FIELD",
        ["Nope__c"],
    ),
    (
        "read-only field",
        lambda sf, f: sf.Opportunity.update(opportunity(f), {"IsWon": True}),
        SalesforceMalformedRequest,
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ["IsWon"],
    ),
    (
        "bad reference id",
        lambda sf, f: sf.Contact.create({"LastName": "x", "AccountId": "garbage"}),
        SalesforceMalformedRequest,
        400,
        "MALFORMED_ID",
        ["AccountId"],
    ),
    (
        "wrong method",
        lambda sf, f: sf.restful("limits", method="DELETE"),
        SalesforceGeneralError,
        405,
        "METHOD_NOT_ALLOWED",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "exc", "status", "code", "fields"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_errors_are_salesforce_arrays_mapped_to_simple_salesforce_exceptions(
    sf: Salesforce,
    fake: FakeSalesforce,
    case: str,
    call: Callable,
    exc: type[Exception],
    status: int,
    code: str,
    fields: list[str] | None,
) -> None:
    with pytest.raises(exc) as info:
        call(sf, fake)
    err = info.value
    assert err.status == status  # type: ignore[attr-defined]
    content = err.content  # type: ignore[attr-defined]
    assert isinstance(content, list) and set(content[0]) == {"message", "errorCode", "fields"}
    assert content[0]["errorCode"] == code
    if fields is not None:
        assert content[0]["fields"] == fields


# --- faults ---------------------------------------------------------------------------------------------


def test_fault_503_then_recovery(sf: Salesforce, fake: FakeSalesforce) -> None:
    fake.faults.add(method="GET", path=r"/query", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.query("SELECT Id FROM Account")
        assert info.value.status == 503
        assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert [(c.status, c.fault) for c in fake.calls[-3:]] == [(503, True), (503, True), (200, False)]


def test_fault_delay_makes_the_client_time_out(sf: Salesforce, fake: FakeSalesforce) -> None:
    fake.faults.add(
        method="GET", path=r"/limits", status=0, delay=0.5
    )  # status 0: delay, then answer normally
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.limits(timeout=0.1)
    assert sf.limits(timeout=2)["DailyApiRequests"]["Max"] == 15000


def test_fault_after_does_the_work_then_fails(sf: Salesforce, fake: FakeSalesforce) -> None:
    fake.faults.add(
        method="POST", path=r"/sobjects/Account", status=500, after=True, headers={"Retry-After": "1"}
    )
    with pytest.raises(SalesforceGeneralError) as info:
        sf.Account.create({"Name": "Created but unheard"})
    assert info.value.status == 500
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Created but unheard'")["totalSize"] == 1


# --- flows, outbound messages, CDC ----------------------------------------------------------------------


def test_json_flow_fires_once_when_updated_to_meet_the_condition(
    sf: Salesforce, fake: FakeSalesforce, hooks: Receiver
) -> None:
    fake.add_flow(action="json", url=hooks.url("/won"), headers={"x-api-key": "secret"})
    fake.add_flow(field="NextStep", value="marker", action="json", url=hooks.url("/marker"))
    opp = opportunity(fake)
    sf.Opportunity.update(opp, {"Amount": 10})  # does not meet the condition
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})
    won = hooks.wait(1, path="/won")
    assert len(won) == 1
    body = json.loads(won[0]["body"])
    assert set(body) == {"orgId", "opportunityId", "eventId", "accountId", "stageName", "lastModifiedDate"}
    assert (body["orgId"], body["opportunityId"], body["stageName"]) == (ORG, opp, "Closed Won")
    assert body["accountId"] == fake.get("Opportunity", opp)["AccountId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", body["lastModifiedDate"])
    assert won[0]["headers"]["X-Api-Key"] == "secret"
    # The write-back still meets the condition but did not change it: no new interview. The marker flow
    # runs after it on the same FIFO sender, so once the marker arrived, a second "won" would have too.
    sf.Opportunity.update(opp, {"BigTime_Project_Id__c": "77", "BigTime_Sync_Status__c": "Synced"})
    sf.Opportunity.update(opp, {"NextStep": "marker"})
    assert len(hooks.wait(1, path="/marker")) == 1
    assert len(hooks.wait(1, path="/won", timeout=0)) == 1
    # Created already meeting the condition: fires.
    born_won = opportunity(fake, stage="Closed Won")
    assert json.loads(hooks.wait(2, path="/won")[1]["body"])["opportunityId"] == born_won
    # The fake records a delivery once it has read the reply, a moment after the receiver saw the request.
    wait_for(lambda: len([d for d in fake.deliveries if d["kind"] == "json"]) >= 3)
    assert [d["status"] for d in fake.deliveries if d["kind"] == "json"] == [200, 200, 200]


def test_json_flow_retries_failed_callouts(fake: FakeSalesforce, hooks: Receiver) -> None:
    hooks.script[:] = [500]
    fake.add_flow(action="json", url=hooks.url(), json_retry_delays=(0.05,))
    opportunity(fake, stage="Closed Won")
    got = hooks.wait(2)
    assert len(got) == 2 and got[0]["body"] == got[1]["body"]  # same eventId: receivers can dedupe
    # The fake records a delivery once it has read the reply, a moment after the receiver saw the request.
    wait_for(lambda: len(fake.deliveries) >= 2)
    assert [d["status"] for d in fake.deliveries] == [500, 200]


def _notifications(body: str) -> tuple[dict[str, str], list[tuple[str, list[tuple[str, str]]]]]:
    root = ElementTree.fromstring(body)
    local = lambda el: el.tag.rsplit("}", 1)[-1]  # noqa: E731 - parse by local name, as receivers should
    notes = next(el for el in root.iter() if local(el) == "notifications")
    header = {local(el): (el.text or "") for el in notes if local(el) != "Notification"}
    out = []
    for note in (el for el in notes if local(el) == "Notification"):
        note_id = next(el.text for el in note if local(el) == "Id")
        sobject = next(el for el in note if local(el) == "sObject")
        out.append((note_id, [(local(el), el.text or "") for el in sobject]))
    return header, out


def test_outbound_message_soap_batches_and_retries_until_acked(
    sf: Salesforce, fake: FakeSalesforce, hooks: Receiver
) -> None:
    hooks.script[:] = [503, 500]
    fake.add_flow(
        action="outbound_message",
        url=hooks.url("/om"),
        batch_interval=0.05,
        retry_start=0.05,
        retry_cap=0.1,
        fields=["Name", "StageName", "Amount", "CloseDate", "IsWon", "AccountId", "LastModifiedDate"],
    )
    first, second = opportunity(fake), opportunity(fake, Amount=45000)
    sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "PATCH",
                    "url": f"/services/data/v{VERSION}/sobjects/Opportunity/{oid}",
                    "referenceId": f"o{i}",
                    "body": {"StageName": "Closed Won"},
                }
                for i, oid in enumerate((first, second))
            ],
        },
    )
    hooks.wait(1, path="/om")
    fake.update("Opportunity", first, {"Name": "Renamed while queued"})  # values are read at send time
    posts = hooks.wait(3, path="/om")
    assert wait_for(lambda: not fake.pending_notifications)
    wait_for(lambda: len(fake.deliveries) >= 3)
    assert len(posts) == 3
    assert [d["status"] for d in fake.deliveries] == [503, 500, 200]
    assert [d["acked"] for d in fake.deliveries] == [False, False, True]
    final = posts[-1]
    assert final["headers"]["Content-Type"] == "text/xml; charset=utf-8"
    assert final["headers"]["Soapaction"] == '""'
    header, notes = _notifications(final["body"])
    assert header["OrganizationId"] == ORG and header["ActionId"].startswith("04k")
    assert header["EnterpriseUrl"].endswith(f"/services/Soap/c/{VERSION}/{ORG[:15]}")
    ids = [n[0] for n in notes]
    assert len(ids) == 2 == len(set(ids)) and all(i.startswith("04l") and len(i) == 18 for i in ids)
    assert ids == [
        n[0] for n in _notifications(posts[0]["body"])[1]
    ]  # the same notifications are redelivered
    fields = dict(notes[0][1])
    assert [n for n, _ in notes[0][1]] == [
        "Id",
        "AccountId",
        "CloseDate",
        "IsWon",
        "LastModifiedDate",
        "Name",
        "StageName",
    ]
    assert "Amount" not in fields  # null: omitted
    assert (fields["Id"], fields["Name"], fields["IsWon"], fields["CloseDate"]) == (
        first,
        "Renamed while queued",
        "true",
        "2026-07-11",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", fields["LastModifiedDate"])
    assert dict(notes[1][1])["Amount"] == "45000.0"


def test_outbound_message_is_dropped_after_max_age(fake: FakeSalesforce, hooks: Receiver) -> None:
    hooks.script[:] = [500] * 50
    fake.add_flow(
        action="outbound_message",
        url=hooks.url(),
        batch_interval=0.02,
        retry_start=0.05,
        retry_cap=0.05,
        max_age=0.2,
    )
    opp = opportunity(fake, stage="Closed Won")
    dropped = wait_for(lambda: fake.dropped_notifications)
    assert dropped[0]["record_id"] == opp and not fake.pending_notifications
    assert len(fake.deliveries) >= 2  # retried before giving up


def test_change_data_capture_events_and_relay(sf: Salesforce, fake: FakeSalesforce, hooks: Receiver) -> None:
    relay = fake.add_cdc_relay(hooks.url("/events"), account="111122223333", region="eu-west-1")
    opp = opportunity(fake, Description="to be cleared")
    sf.Opportunity.update(
        opp,
        {"StageName": "Closed Won", "Description": None},
        headers={"Sforce-Call-Options": "client=bigtime-sync"},
    )
    sf.Opportunity.delete(opp)
    created, updated, deleted = fake.change_events
    assert (
        created["ChangeEventHeader"]["changeType"] == "CREATE"
        and created["ChangeEventHeader"]["changeOrigin"] == ""
    )
    assert (
        created["Name"] == "Acme – Implementation"
        and "IsDeleted" not in created
        and "SystemModstamp" not in created
    )
    head = updated["ChangeEventHeader"]
    assert (
        head["entityName"] == "Opportunity" and head["recordIds"] == [opp] and head["changeType"] == "UPDATE"
    )
    assert {
        "StageName",
        "IsWon",
        "IsClosed",
        "Probability",
        "ForecastCategoryName",
        "Description",
        "LastModifiedDate",
    } <= set(head["changedFields"])
    assert head["nulledFields"] == ["Description"]
    assert head["changeOrigin"] == f"com/salesforce/api/rest/{VERSION};client=bigtime-sync"
    assert head["commitUser"] == fake.integration_user_id and head["sequenceNumber"] == 1
    assert isinstance(head["commitTimestamp"], int) and updated["LastModifiedDate"] == head["commitTimestamp"]
    assert (updated["StageName"], updated["IsWon"], updated["Description"]) == ("Closed Won", True, None)
    assert deleted["ChangeEventHeader"]["changeType"] == "DELETE" and set(deleted) == {"ChangeEventHeader"}
    assert fake.calls[-2].call_client == "bigtime-sync"
    posted = [json.loads(r["body"]) for r in hooks.wait(3, path="/events")]
    assert [p["detail"]["payload"] for p in posted] == fake.change_events
    envelope = posted[1]
    assert envelope["source"] == f"aws.partner/salesforce.com/{ORG}/{relay}" and relay.startswith("0YL")
    assert (envelope["detail-type"], envelope["account"], envelope["region"], envelope["version"]) == (
        "OpportunityChangeEvent",
        "111122223333",
        "eu-west-1",
        "0",
    )
    assert envelope["resources"] == [] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", envelope["time"])


# --- metadata, describe, admin surface ------------------------------------------------------------------


def test_metadata_drives_the_schema(tmp_path: Path) -> None:
    source = default_metadata_dir()
    assert source is not None
    shutil.copytree(source, tmp_path / "objects")
    (tmp_path / "objects/Opportunity/fields/BigTime_Sync_Message__c.field-meta.xml").unlink()
    (tmp_path / "objects/Opportunity/fields/Legacy_Id__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Legacy_Id__c</fullName><externalId>true</externalId><label>Legacy ID</label>"
        "<length>20</length><type>Text</type></CustomField>"
    )
    custom = FakeSalesforce(metadata_dir=tmp_path / "objects")
    with BackgroundServer(custom, name="fake-salesforce-meta") as srv:
        sf = Salesforce(
            instance_url=srv.url,
            session_id=custom.issue_token(),
            version=VERSION,
            session=LocalFakeSession(srv.url),
        )
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query("SELECT BigTime_Sync_Message__c FROM Opportunity")
        assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
        for name in ("One", "Two"):
            sf.Opportunity.create(
                {"Name": name, "StageName": "Prospecting", "CloseDate": "2026-01-01", "Legacy_Id__c": "L-1"}
            )
        with pytest.raises(SalesforceMoreThanOneRecord) as more:
            sf.Opportunity.get_by_custom_id("Legacy_Id__c", "L-1")
        assert more.value.status == 300 and len(more.value.content) == 2
        assert all(
            u.startswith(f"/services/data/v{VERSION}/sobjects/Opportunity/006") for u in more.value.content
        )


def test_custom_object_and_relationships_from_the_shipped_metadata(
    sf: Salesforce, fake: FakeSalesforce
) -> None:
    describe = sf.BigTime_Project__c.describe()
    assert (describe["label"], describe["labelPlural"], describe["keyPrefix"], describe["custom"]) == (
        "BigTime Project",
        "BigTime Projects",
        "a0B",
        True,
    )
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["BigTime_Project_Id__c"]["externalId"] and fields["BigTime_Project_Id__c"]["unique"]
    assert (
        fields["Opportunity__c"]["referenceTo"] == ["Opportunity"]
        and fields["Opportunity__c"]["relationshipName"] == "Opportunity__r"
    )
    assert fields["Budget_Fees__c"]["type"] == "currency" and fields["Last_Pulled__c"]["type"] == "datetime"
    opp = opportunity(fake)
    sf.BigTime_Project__c.upsert(
        "BigTime_Project_Id__c/9001",
        {
            "Name": "ACME-001",
            "Opportunity__c": opp,
            "Budget_Hours__c": 120,
            "Last_Pulled__c": "2026-07-01T10:00:00Z",
        },
    )
    row = sf.query(
        "SELECT Name, (SELECT Name, Budget_Hours__c, Last_Pulled__c, Opportunity__r.Name FROM BigTime_Projects__r) "
        f"FROM Opportunity WHERE Id = '{opp}'"
    )["records"][0]
    project = row["BigTime_Projects__r"]["records"][0]
    assert (project["Name"], project["Budget_Hours__c"], project["Last_Pulled__c"]) == (
        "ACME-001",
        120.0,
        "2026-07-01T10:00:00.000+0000",
    )
    assert project["Opportunity__r"]["Name"] == row["Name"]
    assert [c["relationshipName"] for c in sf.Account.describe()["childRelationships"]] == [
        "Contacts",
        "Opportunities",
        "BigTime_Projects__r",
    ]


def test_describe_opportunity(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert "Closed Won" in [v["value"] for v in fields["StageName"]["picklistValues"]]
    assert fields["StageName"]["nillable"] is False
    assert fields["BigTime_Sync_Status__c"]["restrictedPicklist"] is True
    assert [v["value"] for v in fields["BigTime_Sync_Status__c"]["picklistValues"]] == [
        "Queued",
        "Synced",
        "Failed",
        "Skipped",
    ]
    assert (
        fields["AccountId"]["type"],
        fields["AccountId"]["referenceTo"],
        fields["AccountId"]["relationshipName"],
    ) == ("reference", ["Account"], "Account")
    assert fields["IsWon"]["updateable"] is False


def test_admin_surface_over_http(server: BackgroundServer, fake: FakeSalesforce, hooks: Receiver) -> None:
    admin = f"{server.url}/__fake"
    assert (
        requests.post(
            f"{admin}/faults", json={"method": "GET", "path": "/limits", "status": 503}, timeout=5
        ).status_code
        == 201
    )
    token = requests.post(f"{admin}/token", json={}, timeout=5).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(api(server, "limits"), headers=auth, timeout=5).status_code == 503
    requests.post(f"{admin}/faults", json={"path": "/limits", "status": 500, "times": -1}, timeout=5)
    requests.delete(f"{admin}/faults", timeout=5)
    assert requests.get(api(server, "limits"), headers=auth, timeout=5).status_code == 200
    calls = requests.get(f"{admin}/calls", timeout=5).json()
    assert [(c["status"], c["fault"]) for c in calls] == [(503, True), (200, False)]
    flow = requests.post(
        f"{admin}/flows", json={"action": "json", "url": hooks.url("/admin")}, timeout=5
    ).json()["id"]
    assert flow.startswith("301")
    assert (
        requests.post(f"{admin}/cdc-relay", json={"url": hooks.url("/admin-cdc")}, timeout=5).status_code
        == 201
    )
    account = requests.post(f"{admin}/records/Account", json={"Name": "Over HTTP"}, timeout=5).json()["id"]
    opp = requests.post(
        f"{admin}/records/Opportunity",
        json={
            "Name": "HTTP deal",
            "StageName": "Prospecting",
            "CloseDate": "2026-01-01",
            "AccountId": account,
        },
        timeout=5,
    ).json()["id"]
    requests.patch(f"{admin}/records/Opportunity/{opp}", json={"StageName": "Closed Won"}, timeout=5)
    assert json.loads(hooks.wait(1, path="/admin")[0]["body"])["opportunityId"] == opp
    hooks.wait(2, path="/admin-cdc")
    assert len(requests.get(f"{admin}/change-events", timeout=5).json()) == 2
    assert wait_for(lambda: len(requests.get(f"{admin}/deliveries", timeout=5).json()) == 3)
    bad = requests.post(f"{admin}/records/Opportunity", json={"Name": "no stage"}, timeout=5)
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert requests.post(f"{admin}/reset", timeout=5).json() == {"ok": True}
    assert requests.get(f"{admin}/calls", timeout=5).json() == []
    assert fake.get("Account", account) is None


def test_concurrent_writes_are_safe(server: BackgroundServer, fake: FakeSalesforce) -> None:
    headers = bearer(fake)
    ids: list[str] = []

    def worker(n: int) -> None:
        for i in range(10):
            resp = requests.post(
                api(server, "sobjects/Account"), json={"Name": f"T{n}-{i}"}, headers=headers, timeout=5
            )
            ids.append(resp.json()["id"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 40
    assert fake.query("SELECT COUNT() FROM Account")["totalSize"] == 40


def test_close_joins_the_sender_thread(hooks: Receiver) -> None:
    own = FakeSalesforce()
    own.add_flow(action="json", url=hooks.url("/closing"))
    opportunity(own, stage="Closed Won")
    hooks.wait(1, path="/closing")
    thread = own.triggers.outbox._thread
    assert thread is not None and thread.is_alive()
    own.close()
    assert not thread.is_alive()


def test_datetimes_use_salesforce_format(fake: FakeSalesforce) -> None:
    clock = [datetime(2025, 6, 26, 14, 32, 49, 123456, tzinfo=UTC)]
    timed = FakeSalesforce(clock=lambda: clock[0])
    opp = opportunity(timed)
    clock[0] += timedelta(minutes=5)
    timed.update("Opportunity", opp, {"BigTime_Last_Synced__c": "2026-07-01T12:00:00+02:00"})
    record = timed.get("Opportunity", opp)
    assert record["CreatedDate"] == "2025-06-26T14:32:49.000+0000"
    assert record["LastModifiedDate"] == record["SystemModstamp"] == "2025-06-26T14:37:49.000+0000"
    assert record["BigTime_Last_Synced__c"] == "2026-07-01T10:00:00.000+0000"
