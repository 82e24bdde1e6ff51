"""sObject Collections, composite requests that carry them, API/write counters and faults on the new routes,
driven over HTTP with unmodified simple-salesforce and raw requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)
from werkzeug.test import Client

from sf_bigtime_local.fake_salesforce import FakeSalesforce, default_metadata_dir
from sf_bigtime_local.httpserver import BackgroundServer
from tests.integration.local.salesforce.fake_sf import (
    VERSION,
    LocalFakeSession,
    api,
    opportunity,
)

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
PROJECTS = "composite/sobjects/BigTime_Project__c/BigTime_Project_Id__c"


def account(name: str, **extra: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **extra}


def project(bigtime_id: str | None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "BigTime_Project__c"}, **extra}
    if bigtime_id is not None:
        record["BigTime_Project_Id__c"] = bigtime_id
    return record


def refused(call: Any) -> tuple[int, list[dict[str, Any]]]:
    with pytest.raises((SalesforceMalformedRequest, SalesforceResourceNotFound)) as info:
        call()
    return info.value.status, info.value.content  # type: ignore[union-attr]


# --- create ---------------------------------------------------------------------------------------------


def test_create_many_records_of_mixed_types_in_one_api_call(
    sf: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    before = fake.usage()
    body = {
        "allOrNone": False,
        "records": [
            account("Acme"),
            account("Globex"),
            {"attributes": {"type": "Contact"}, "LastName": "Lee", "Email": "lee@acme.example"},
        ],
    }
    resp = requests.post(
        api(server, "composite/sobjects"),
        json=body,
        headers={"Authorization": f"Bearer {fake.issue_token()}", "Sforce-Call-Options": "client=sf-bigtime"},
        timeout=5,
    )
    assert resp.status_code == 200
    assert resp.headers["Sforce-Limit-Info"] == f"api-usage={fake.api_usage}/15000"
    results = resp.json()
    assert [r["success"] for r in results] == [True, True, True]
    assert all(set(r) == {"id", "success", "errors"} and r["errors"] == [] for r in results)
    assert [r["id"][:3] for r in results] == ["001", "001", "003"]
    assert fake.get("Contact", results[2]["id"])["Email"] == "lee@acme.example"
    spent = fake.usage() - before
    assert (spent.api_calls, spent.calls_by_kind, spent.records_created, spent.records_written) == (
        1,
        {"collection": 1},
        3,
        3,
    )
    assert spent.writes_by_object == {"Account": 2, "Contact": 1}
    assert {w.client for w in fake.writes} == {"sf-bigtime"}


def test_create_reports_each_failed_record_and_keeps_the_rest(sf: Salesforce, fake: FakeSalesforce) -> None:
    records = [
        account("Good"),
        {"attributes": {"type": "Opportunity"}, "Name": "No stage"},
        account("With id", Id="0015w000009zzzzAAA"),
        account("Also good"),
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    good, no_stage, with_id, also_good = results
    assert good["success"] and also_good["success"]
    assert no_stage == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [StageName, CloseDate]",
                "fields": ["StageName", "CloseDate"],
            }
        ],
    }
    assert with_id == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "cannot specify Id in an insert call",
                "fields": ["Id"],
            }
        ],
    }
    assert sorted(r["Name"] for r in fake.query("SELECT Name FROM Account")["records"]) == [
        "Also good",
        "Good",
    ]
    assert fake.usage().records_created == 2


def test_all_or_none_rolls_every_record_back(sf: Salesforce, fake: FakeSalesforce) -> None:
    records = [account("First"), account("x" * 300), account("Third")]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]} == results[2]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert fake.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert fake.change_events == [] and fake.writes == []
    assert fake.usage().api_calls == 1 and fake.usage().records_written == 0


# --- update ---------------------------------------------------------------------------------------------


def test_update_by_id_with_per_record_errors(sf: Salesforce, fake: FakeSalesforce) -> None:
    a, b, c = (fake.create("Account", {"Name": n}) for n in "ABC")
    opp = opportunity(fake)
    gone = fake.create("Account", {"Name": "Gone"})
    fake.delete("Account", gone)
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Website": "https://a.example"},
        {"attributes": {"type": "Opportunity"}, "Id": opp[:15], "BigTime_Project_Id__c": "BT-7"},
        {"attributes": {"type": "Account"}, "Name": "No id"},
        {"attributes": {"type": "Account"}, "id": "001xx000003DGb2999", "Name": "Malformed"},
        {"attributes": {"type": "Account"}, "id": gone, "Name": "Deleted"},
        {"attributes": {"type": "Account"}, "id": b, "Type": "Not a picklist value?", "Industry": "Banking"},
        {"attributes": {"type": "Account"}, "id": a, "Name": "Twice"},
        {"attributes": {"type": "Account"}, "id": c, "Nope__c": 1},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": records})
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1] == {"id": opp, "success": True, "errors": []}  # 15-character ids are accepted
    assert results[2] == {
        "success": False,
        "errors": [
            {"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": []}
        ],
    }
    assert results[3]["errors"][0] == {
        "statusCode": "MALFORMED_ID",
        "message": "malformed id 001xx000003DGb2999",
        "fields": [],
    }
    assert "id" not in results[3]
    assert results[4] == {
        "id": gone,
        "success": False,
        "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}],
    }
    assert results[5]["success"] is True  # Account.Type is not a restricted picklist
    assert results[6]["errors"][0]["statusCode"] == "DUPLICATE_VALUE" and results[6]["id"] == a
    assert results[7] == {
        "id": c,
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "No such column 'Nope__c' on sobject of type Account",
                "fields": ["Nope__c"],
            }
        ],
    }
    assert fake.get("Account", a)["Website"] == "https://a.example" and fake.get("Account", a)["Name"] == "A"
    assert fake.get("Opportunity", opp)["BigTime_Project_Id__c"] == "BT-7"


def test_update_all_or_none_keeps_the_ids_of_rolled_back_records(
    sf: Salesforce, fake: FakeSalesforce
) -> None:
    a = fake.create("Account", {"Name": "A"})
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Name": "Renamed"},
        {"attributes": {"type": "Account"}, "id": a[:3] + "5w000009zzzz", "Name": "Unknown"},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
    assert results[0] == {"id": a, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "NOT_FOUND" and "id" not in results[1]
    assert fake.get("Account", a)["Name"] == "A"


# --- upsert ---------------------------------------------------------------------------------------------


def test_bigtime_project_id_is_an_external_unique_field(sf: Salesforce) -> None:
    field = next(
        f for f in sf.BigTime_Project__c.describe()["fields"] if f["name"] == "BigTime_Project_Id__c"
    )
    assert (field["externalId"], field["unique"], field["type"]) == (True, True, "string")


def test_upsert_by_external_id_creates_then_updates(sf: Salesforce, fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    first = sf.restful(
        PROJECTS,
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                project("101", Name="Acme – Implementation", Opportunity__c=opp, Budget_Hours__c=120),
                project("102", Name="Acme – Support", Actual_Hours__c=3.5),
            ],
        },
    )
    assert [(r["success"], r["created"], r["errors"]) for r in first] == [(True, True, []), (True, True, [])]
    assert set(first[0]) == {"id", "success", "errors", "created"}
    before = fake.usage()
    second = sf.restful(
        PROJECTS,
        method="PATCH",
        json={"records": [project("101", Actual_Hours__c=64.25), project("103", Name="New")]},
    )
    assert [(r["id"], r["created"]) for r in second] == [(first[0]["id"], False), (second[1]["id"], True)]
    got = fake.get("BigTime_Project__c", first[0]["id"])
    assert (got["Name"], got["Budget_Hours__c"], got["Actual_Hours__c"], got["Opportunity__c"]) == (
        "Acme – Implementation",
        120.0,
        64.25,
        opp,
    )
    spent = fake.usage() - before
    assert (spent.api_calls, spent.records_created, spent.records_updated) == (1, 1, 1)


def test_upsert_reports_bad_records_in_salesforce_shape(sf: Salesforce, fake: FakeSalesforce) -> None:
    fake.create("BigTime_Project__c", {"Name": "Existing", "BigTime_Project_Id__c": "200"})
    results = sf.restful(
        PROJECTS,
        method="PATCH",
        json={
            "records": [
                project("201", Name="Dup A"),
                project(None, Name="No external id"),
                project("201", Name="Dup B"),
                project("202", Name="x" * 81),
                project("200", Id="a0B5w0000000001AAA"),
            ]
        },
    )
    assert all(r["success"] is False and r["created"] is False for r in results)
    codes = [(r["errors"][0]["statusCode"], r["errors"][0]["fields"]) for r in results]
    assert codes == [
        ("DUPLICATE_EXTERNAL_ID", ["BigTime_Project_Id__c"]),
        ("MISSING_ARGUMENT", ["BigTime_Project_Id__c"]),
        ("DUPLICATE_EXTERNAL_ID", ["BigTime_Project_Id__c"]),
        ("STRING_TOO_LONG", ["Name"]),
        ("INVALID_FIELD", ["Id"]),
    ]
    assert results[0]["errors"][0]["message"] == "Duplicate external id specified: 201"
    assert "id" in results[4] and "id" not in results[0]  # the record named by "200" exists
    assert fake.query("SELECT COUNT() FROM BigTime_Project__c")["totalSize"] == 1


def test_upsert_all_or_none(sf: Salesforce, fake: FakeSalesforce) -> None:
    existing = fake.create("BigTime_Project__c", {"Name": "Existing", "BigTime_Project_Id__c": "300"})
    results = sf.restful(
        PROJECTS,
        method="PATCH",
        json={"allOrNone": True, "records": [project("300", Name="x" * 81), project("301", Name="New")]},
    )
    assert results[1] == {"success": False, "errors": [ROLLED_BACK], "created": False}
    assert results[0]["id"] == existing and results[0]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert fake.query("SELECT COUNT() FROM BigTime_Project__c")["totalSize"] == 1


def test_upsert_matching_several_records_is_refused_per_record(tmp_path: Path) -> None:
    objects = tmp_path / "objects"
    fields = objects / "Account" / "fields"
    fields.mkdir(parents=True)
    (fields / "Legacy_Id__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Legacy_Id__c</fullName><label>Legacy</label><type>Text</type><length>20</length>"
        "<externalId>true</externalId><unique>false</unique></CustomField>"
    )
    with FakeSalesforce(metadata_dir=objects) as org:
        ids = sorted(org.create("Account", {"Name": n, "Legacy_Id__c": "L-1"}) for n in ("A", "B"))
        http = Client(org)
        resp = http.patch(
            f"/services/data/v{VERSION}/composite/sobjects/Account/Legacy_Id__c",
            json={"records": [{"attributes": {"type": "Account"}, "Legacy_Id__c": "l-1", "Phone": "1"}]},
            headers={"Authorization": f"Bearer {org.issue_token()}"},
        )
        assert resp.status_code == 200
        assert resp.get_json() == [
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "DUPLICATE_EXTERNAL_ID",
                        "message": f"Legacy_Id__c: more than one record found for external id field: [{', '.join(ids)}]",
                        "fields": ["Legacy_Id__c"],
                    }
                ],
                "created": False,
            }
        ]


# --- malformed requests ---------------------------------------------------------------------------------


def test_malformed_collection_requests_are_refused_whole(sf: Salesforce, fake: FakeSalesforce) -> None:
    too_many = [account(f"A{i}") for i in range(201)]
    status, body = refused(
        lambda: sf.restful("composite/sobjects", method="POST", json={"records": too_many})
    )
    assert (status, body) == (
        400,
        [
            {
                "message": "record limit reached. cannot submit more than 200 records into this call",
                "errorCode": "EXCEEDED_ID_LIMIT",
                "fields": [],
            }
        ],
    )
    status, body = refused(
        lambda: sf.restful(
            PROJECTS.replace("BigTime_Project_Id__c", "Name"), method="PATCH", json={"records": []}
        )
    )
    assert (status, body[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert (
        body[0]["message"]
        == "Field name provided, Name is not an External ID or indexed field for BigTime_Project__c"
    )
    status, body = refused(
        lambda: sf.restful(PROJECTS, method="PATCH", json={"records": [account("Wrong type")]})
    )
    assert (status, body[0]["errorCode"]) == (400, "INVALID_TYPE")
    status, body = refused(
        lambda: sf.restful("composite/sobjects", method="POST", json={"records": [{"Name": "?"}]})
    )
    assert body[0] == {
        "message": "Must send a concrete entity type.",
        "errorCode": "INVALID_TYPE",
        "fields": [],
    }
    alternating = [
        account("A") if i % 2 else {"attributes": {"type": "Contact"}, "LastName": "C"} for i in range(11)
    ]
    status, body = refused(
        lambda: sf.restful("composite/sobjects", method="POST", json={"records": alternating})
    )
    assert "Cannot have more than 10 chunks in a single operation" in body[0]["message"]
    mixed = [
        account("A"),
        {"attributes": {"type": "User"}, "Username": "u@x.example", "LastName": "U", "Email": "u@x.example"},
    ]
    status, body = refused(lambda: sf.restful("composite/sobjects", method="POST", json={"records": mixed}))
    assert body[0]["errorCode"] == "MIXED_DML_OPERATION"
    status, body = refused(
        lambda: sf.restful("composite/sobjects/Nope__c/Ext__c", method="PATCH", json={"records": []})
    )
    assert status == 404
    assert fake.query("SELECT COUNT() FROM Account")["totalSize"] == 0 and fake.usage().records_written == 0
    exactly = sf.restful("composite/sobjects", method="POST", json={"records": too_many[:200]})
    assert len(exactly) == 200 and all(r["success"] for r in exactly)


def test_delete_collection(sf: Salesforce, fake: FakeSalesforce) -> None:
    a, b = fake.create("Account", {"Name": "A"}), fake.create("Account", {"Name": "B"})
    results = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{a},bogus", "allOrNone": "true"}
    )
    assert results == [
        {"id": a, "success": False, "errors": [ROLLED_BACK]},
        {
            "success": False,
            "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bogus", "fields": []}],
        },
    ]
    assert fake.get("Account", a)["IsDeleted"] is False
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{a},{b}"})
    assert results == [{"id": a, "success": True, "errors": []}, {"id": b, "success": True, "errors": []}]
    assert fake.usage().records_deleted == 2


# --- composite with collections -------------------------------------------------------------------------


def sub(ref: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    out = {"referenceId": ref, "method": method, "url": f"/services/data/v{VERSION}/{path}"}
    if body is not None:
        out["body"] = body
    return out


def test_composite_carries_collections_with_references(sf: Salesforce, fake: FakeSalesforce) -> None:
    opp = opportunity(fake)
    before = fake.usage()
    body = {
        "allOrNone": True,
        "compositeRequest": [
            sub(
                "projects",
                "PATCH",
                PROJECTS,
                {"records": [project("401", Name="P1", Opportunity__c=opp), project("402", Name="P2")]},
            ),
            sub(
                "opps",
                "PATCH",
                "composite/sobjects",
                {
                    "records": [
                        {
                            "attributes": {"type": "Opportunity"},
                            "id": opp,
                            "BigTime_Project_Id__c": "@{projects[0].id}",
                        }
                    ]
                },
            ),
            sub(
                "check",
                "GET",
                "query?q=SELECT+Id,BigTime_Project_Id__c+FROM+BigTime_Project__c+ORDER+BY+BigTime_Project_Id__c",
            ),
        ],
    }
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [200, 200, 200]
    projects = result[0]["body"]
    assert [p["created"] for p in projects] == [True, True]
    assert fake.get("Opportunity", opp)["BigTime_Project_Id__c"] == projects[0]["id"]
    assert result[2]["body"]["totalSize"] == 2
    spent = fake.usage() - before
    assert (spent.api_calls, spent.calls_by_kind, spent.records_created, spent.records_updated) == (
        1,
        {"composite": 1},
        2,
        1,
    )


def test_composite_all_or_none_rolls_back_a_partly_failed_collection(
    sf: Salesforce, fake: FakeSalesforce
) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            sub("acc", "POST", "sobjects/Account", {"Name": "Kept?"}),
            sub(
                "projects",
                "PATCH",
                PROJECTS,
                {"records": [project("501", Name="Fine"), project(None, Name="No id")]},
            ),
            sub("after", "GET", "limits"),
        ],
    }
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert result[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert result[1]["httpStatusCode"] == 200
    assert result[1]["body"][0] == {"success": False, "errors": [ROLLED_BACK], "created": False}
    assert result[1]["body"][1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert result[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert fake.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert fake.query("SELECT COUNT() FROM BigTime_Project__c")["totalSize"] == 0
    assert fake.writes == [] and fake.change_events == []


def test_composite_limits(sf: Salesforce, fake: FakeSalesforce) -> None:
    six_heavy = [sub(f"q{i}", "GET", "query?q=SELECT+Id+FROM+Account") for i in range(4)] + [
        sub(f"c{i}", "POST", "composite/sobjects", {"records": [account(f"A{i}")]}) for i in range(2)
    ]
    result = sf.restful("composite", method="POST", json={"compositeRequest": six_heavy})["compositeResponse"]
    assert len(result) == 1 and result[0]["referenceId"] is None and result[0]["httpStatusCode"] == 400
    assert result[0]["body"][0]["errorCode"] == "LIMIT_EXCEEDED"
    five = [*six_heavy[:5], sub("light", "GET", "limits")]
    result = sf.restful("composite", method="POST", json={"compositeRequest": five})["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [200] * 5 + [200]
    many = [sub(f"l{i}", "GET", "limits") for i in range(26)]
    result = sf.restful("composite", method="POST", json={"compositeRequest": many})["compositeResponse"]
    assert result == [
        {
            "body": [
                {
                    "errorCode": "LIMIT_EXCEEDED",
                    "message": "The request can’t contain more than 25 operations.",
                }
            ],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": None,
        }
    ]
    nested = [sub("inner", "POST", "composite", {"compositeRequest": []})]
    result = sf.restful("composite", method="POST", json={"compositeRequest": nested})["compositeResponse"]
    assert result[0]["httpStatusCode"] == 400


# --- faults, sessions and counters on the new routes ----------------------------------------------------


def test_faults_and_expired_sessions_apply_to_collections(
    sf: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    records = {"records": [project("601", Name="P")]}
    fake.faults.add(method="PATCH", path=r"/composite/sobjects", status=503, times=1)
    with pytest.raises(SalesforceGeneralError) as info:
        sf.restful(PROJECTS, method="PATCH", json=records)
    assert info.value.status == 503 and info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert fake.usage().records_written == 0
    fake.expire_sessions()
    assert sf.restful(PROJECTS, method="PATCH", json=records)[0]["created"] is True  # 401, new token, retry
    assert [(c.kind, c.status) for c in fake.calls[-4:]] == [
        ("collection", 503),
        ("collection", 401),
        ("token", 200),
        ("collection", 200),
    ]
    fake.faults.add(method="POST", path=r"/composite$", status=500, after=True)
    body = {"compositeRequest": [sub("p", "PATCH", PROJECTS, {"records": [project("602", Name="Q")]})]}
    with pytest.raises(SalesforceGeneralError):
        sf.restful("composite", method="POST", json=body)
    assert (
        fake.query("SELECT COUNT() FROM BigTime_Project__c WHERE BigTime_Project_Id__c = '602'")["totalSize"]
        == 1
    )
    direct = Salesforce(
        instance_url=server.url,
        session_id=fake.issue_token(),
        version=VERSION,
        session=LocalFakeSession(server.url),
    )
    fake.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        direct.restful("composite/sobjects", method="POST", json={"records": [account("A")]})


def test_reads_are_not_writes_and_the_counters_are_served_over_http(
    sf: Salesforce, fake: FakeSalesforce, server: BackgroundServer
) -> None:
    opp = opportunity(fake)  # seeding is not counted
    assert fake.usage().records_written == 0
    before = fake.usage()
    sf.query(f"SELECT Id FROM Opportunity WHERE Id = '{opp}'")
    sf.Opportunity.get(opp)
    sf.Opportunity.describe()
    spent = fake.usage() - before
    assert spent.records_written == 0
    assert spent.calls_by_kind == {"query": 1, "read": 1, "describe": 1} and spent.api_calls == 3
    sf.Opportunity.update(opp, {"NextStep": "Call"})
    served = requests.get(f"{server.url}/__fake/usage", timeout=5).json()
    assert served["records_updated"] == 1 and served["records_written"] == 1
    assert served["api_calls"] == fake.api_usage == 4
    assert served["calls_by_kind"]["token"] == 1 and served["writes_by_object"] == {"Opportunity": 1}
    assert requests.get(f"{server.url}/__fake/calls", timeout=5).json()[-1]["kind"] == "write"
    fake.reset()
    assert fake.usage().records_written == 0 and fake.api_usage == 0


def test_shipped_metadata_is_what_the_fake_serves() -> None:
    assert default_metadata_dir() is not None
    org = FakeSalesforce()
    field = org.schema.get("BigTime_Project__c").field("BigTime_Project_Id__c")  # type: ignore[union-attr]
    assert field is not None and field.external_id and field.unique
