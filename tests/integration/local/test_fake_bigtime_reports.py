"""The fake BigTime's saved reports, and the faults, rate limit and call counters on the new routes."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from sf_bigtime_local.fake_bigtime import FakeBigTime
from tests.integration.local.bigtime_env import Env, Seeded, message

DEFAULT_COLUMNS = [
    "prjsid",
    "prjcode",
    "prjnm",
    "clientnm",
    "prjstatusprod_nm",
    "prjstatusbill_nm",
    "prjleadnm",
    "prjstartdt",
    "prjenddt",
    "prjinactive",
    "budghrs",
    "budgfees",
    "inputhrs",
    "inputfees",
    "inputexps",
    "wiptotal",
    "invoicedtodate",
]


def _two_projects(bt: Env) -> tuple[int, int]:
    """A worked, led, dated project and a bare inactive one."""
    client_sid = bt.client()["SystemId"]
    busy = bt.project(
        client_sid,
        code="OPP-1",
        nm="Rollout",
        StatusProd=202,
        StatusBill=302,
        StartDt="2027-01-04",
        EndDt="2027-03-31",
    )["SystemId"]
    idle = bt.project(client_sid, code="OPP-2", nm="Idle", StatusProd=203)["SystemId"]
    bt.ok(bt.post(f"/project/detail/{idle}", json={"IsInactive": True}))
    bt.fake.set_team(busy, [{"staffsid": 2, "TeamLead": True}, {"staffsid": 3}])
    task = bt.task(busy, "Build", BudgetHours=40, BudgetFees=8000)
    bt.time(busy, 4, dt="2027-01-05", TaskSID=task["TaskSid"])  # 1000
    bt.time(busy, 2, dt="2027-02-02", TaskSID=task["TaskSid"])  # 500
    bt.expense(busy, 60, dt="2027-01-06")
    bt.fake.create_invoice({"ProjectSid": busy, "InvoiceDt": "2027-01-31", "DtEnd": "2027-01-31"})  # 1060
    return busy, idle


def test_default_report_has_a_row_per_project(bt: Env) -> None:
    busy, idle = _two_projects(bt)
    report = bt.ok(bt.post("/report/data/1", json={}))
    assert [f["FieldNm"] for f in report["FieldList"]] == DEFAULT_COLUMNS
    assert report["FieldList"][0] == {"FieldNm": "prjsid", "Caption": "Project Id", "FieldType": "int"}
    assert report["FieldList"][-1]["FieldType"] == "decimal"
    rows = {row[0]: dict(zip(DEFAULT_COLUMNS, row, strict=True)) for row in report["Data"]}
    assert list(rows) == [busy, idle]  # inactive projects too, by id
    assert rows[busy] == {
        "prjsid": busy,
        "prjcode": "OPP-1",
        "prjnm": "Rollout",
        "clientnm": "Acme Corp",
        "prjstatusprod_nm": "In Progress",
        "prjstatusbill_nm": "Billing Monthly",
        "prjleadnm": "Sam Rivera",
        "prjstartdt": "2027-01-04",
        "prjenddt": "2027-03-31",
        "prjinactive": False,
        "budghrs": 40.0,
        "budgfees": 8000.0,
        "inputhrs": 6.0,
        "inputfees": 1500.0,
        "inputexps": 60.0,
        "wiptotal": 500.0,
        "invoicedtodate": 1060.0,
    }
    assert (rows[idle]["prjinactive"], rows[idle]["prjleadnm"], rows[idle]["inputhrs"]) == (True, None, 0.0)
    assert bt.ok(bt.get("/report/data/1")) == report  # GET without dates: the same


def test_report_date_range_limits_logged_work_not_budgets(bt: Env) -> None:
    busy, _ = _two_projects(bt)
    january = bt.ok(bt.post("/Report/Data/1", json={"DT_BEGIN": "2027-01-01", "dt_end": "2027-01-31"}))
    row = dict(zip(DEFAULT_COLUMNS, january["Data"][0], strict=True))
    assert (row["prjsid"], row["inputhrs"], row["inputfees"], row["wiptotal"]) == (busy, 4.0, 1000.0, 0.0)
    assert (row["invoicedtodate"], row["budghrs"]) == (1060.0, 40.0)
    february = bt.ok(bt.get("/report/data/1", params={"DT_BEGIN": "2027-02-01"}))
    row = dict(zip(DEFAULT_COLUMNS, february["Data"][0], strict=True))
    assert (row["inputhrs"], row["wiptotal"], row["invoicedtodate"]) == (2.0, 500.0, 0.0)


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"DT_BEGIN": "2027-13-01"}, 400, "DT_BEGIN"),
        ({"DT_BEGIN": "2027-02-01", "DT_END": "2027-01-01"}, 400, "before"),
        ([], 400, "JSON object"),
    ],
)
def test_report_request_errors(bt: Env, body: Any, status: int, text: str) -> None:
    response = bt.post("/report/data/1", json=body)
    assert response.status_code == status
    assert text in message(response)


def test_unknown_report_is_404_and_rows_can_be_objects(bt: Env) -> None:
    busy, _ = _two_projects(bt)
    missing = bt.post("/report/data/424242", json={})
    assert (missing.status_code, message(missing)) == (404, "Report 424242 was not found.")
    bt.fake.configure(report_rows="object")
    first = bt.ok(bt.post("/report/data/1", json={}))["Data"][0]
    assert (first["prjsid"], first["prjleadnm"], first["wiptotal"]) == (busy, "Sam Rivera", 500.0)
    with pytest.raises(ValueError, match="report_rows"):
        FakeBigTime(report_rows="csv")


def test_reports_are_configurable_with_any_column_names(bt: Env) -> None:
    busy, _ = _two_projects(bt)
    bt.fake.set_custom_fields(busy, {"Salesforce Opportunity Id": "006000000000001AAA"})
    definition = {
        "Nm": "Salesforce feed",
        "Columns": [
            {"FieldNm": "ProjectSid", "Source": "ProjectSid"},
            {"FieldNm": "SfOpp", "Caption": "Opportunity", "Source": "CustomField:Salesforce Opportunity Id"},
            {"FieldNm": "HrsIn", "Source": "HoursInput"},
            {"FieldNm": "WipTotal", "Source": "TotalWip"},
            {"FieldNm": "LeadEmail", "Source": "ProjectLeadEmail"},
            {"FieldNm": "ProdStatus", "Source": "StatusProd"},
        ],
    }
    defined = bt.admin("POST", "reports/7", json=definition)
    assert defined.status_code == 200
    report = bt.ok(bt.post("/report/data/7", json={}))
    assert report["FieldList"][1] == {"FieldNm": "SfOpp", "Caption": "Opportunity", "FieldType": "string"}
    assert report["FieldList"][2]["Caption"] == "HrsIn"  # Caption defaults to FieldNm
    assert report["Data"][0] == [busy, "006000000000001AAA", 6.0, 500.0, "sam.rivera@fakefirm.test", 202]
    assert report["Data"][1][1] is None


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        ({"Columns": []}, "non-empty list of Columns"),
        ({"Columns": [{"FieldNm": "x", "Source": "Revenue"}]}, "unknown Source 'Revenue'"),
        ({"Columns": [{"FieldNm": "x", "Source": "CustomField:Nope"}]}, "unknown Source"),
        (
            {"Columns": [{"FieldNm": "x", "Source": "ProjectSid"}, {"FieldNm": "X", "Source": "ProjectNm"}]},
            "unique",
        ),
        ({"Columns": [{"Source": "ProjectSid"}]}, "needs a FieldNm"),
    ],
)
def test_bad_report_definitions_are_refused(bt: Env, definition: dict[str, Any], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        bt.fake.define_report(9, definition)
    assert bt.admin("POST", "reports/9", json=definition).status_code == 400
    assert bt.post("/report/data/9", json={}).status_code == 404
    with pytest.raises(ValueError, match="positive integer"):
        bt.fake.define_report(0, {"Columns": [{"FieldNm": "x", "Source": "ProjectSid"}]})


def test_reports_hide_projects_the_caller_may_not_see(bt: Env) -> None:
    bt.use(
        tokens={
            "noprojects": {"staffsid": 1, "permissions": {"project.view": False}},
            "noreports": {"staffsid": 1, "permissions": {"report.*": False}},
        }
    )
    _two_projects(bt)
    hidden = bt.ok(bt.post("/report/data/1", headers=bt.as_token("noprojects"), json={}))
    assert (len(hidden["FieldList"]), hidden["Data"]) == (len(DEFAULT_COLUMNS), [])
    assert bt.post("/report/data/1", headers=bt.as_token("noreports"), json={}).status_code == 405


# ------------------------------------------------------------------------------ faults, rate, counts


def test_faults_apply_to_the_new_routes(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.fake.faults.add(
        method="GET", path="/task/BudgetStatusByProject/", status=503, headers={"Retry-After": "7"}
    )
    throttled = bt.get(f"/task/BudgetStatusByProject/{sid}")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (503, "7")
    assert bt.get(f"/task/BudgetStatusByProject/{sid}").status_code == 200  # consumed
    bt.fake.faults.add(method="POST", path="/report/data/", status=429, headers={"Retry-After": "1"})
    assert bt.post("/report/data/1", json={}).status_code == 429
    bt.fake.faults.add(method="POST", path="/BigtimeData/api/v2/time$", status=500, after=True)
    lost = bt.post(
        "/time", params={"MarkSubmitted": "true"}, json={"ProjectSID": sid, "Dt": "2027-01-11", "Hours_IN": 2}
    )
    assert lost.status_code == 500
    # The time was logged all the same: a blind retry would log it twice.
    assert [e["Hours_IN"] for e in bt.ok(bt.get(f"/time/ByProject/{sid}"))] == [2.0]
    bt.fake.faults.add(method="GET", path="/project/templates", status=0, delay=0.3)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        bt.get("/project/Templates", timeout=0.1)
    assert time.monotonic() - started < 2


def test_rate_limit_counts_every_route(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.fake.configure(rate_limit_per_minute=3, retry_after=10)
    answers = [
        bt.get("/staff").status_code,
        bt.get(f"/project/Team/{sid}").status_code,
        bt.post("/report/data/1", json={}).status_code,
    ]
    assert answers == [200, 200, 200]
    throttled = bt.get(f"/invoice/ByProject/{sid}")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (503, "10")
    bt.clock.advance(61)
    assert bt.get(f"/invoice/ByProject/{sid}").status_code == 200


def test_calls_are_counted_per_route(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.fake.clear_calls()
    for _ in range(3):
        bt.get(f"/task/BudgetStatusByProject/{sid}")
    bt.post("/report/data/1", json={})
    bt.get("/Report/Data/1")
    bt.get("/time/-5")
    bt.get("/no/such/route")
    counts = bt.fake.call_counts()
    assert counts == {
        "GET /task/budgetstatusbyproject/{id}": 3,
        "POST /report/data/{id}": 1,
        "GET /report/data/{id}": 1,
        "GET /time/{sid}": 1,
        "GET /BigtimeData/api/v2/no/such/route": 1,
    }
    assert bt.fake.count("get", "/task/BudgetStatusByProject/{id}") == 3
    assert bt.fake.count("DELETE", "/task/detail/{id}") == 0
    assert bt.admin("GET", "calls/counts").json() == counts
    bt.admin("DELETE", "calls")
    assert bt.fake.call_counts() == {}


def test_reset_restores_the_seed(bt: Env) -> None:
    busy, _ = _two_projects(bt)
    bt.fake.add_staff({"StaffSID": 9, "SName": "Temp"})
    bt.fake.define_report(1, {"Columns": [{"FieldNm": "only", "Source": "ProjectSid"}]})
    bt.fake.configure(figure_names="legacy", report_rows="object")
    assert bt.admin("POST", "reset").status_code == 200
    assert [s["StaffSID"] for s in bt.ok(bt.get("/staff"))] == [1, 2, 3, 4]
    assert bt.get(f"/project/Team/{busy}").status_code == 404  # no projects any more
    assert bt.ok(bt.post("/report/data/1", json={}))["Data"] == []
    assert [f["FieldNm"] for f in bt.ok(bt.get("/report/data/1"))["FieldList"]] == DEFAULT_COLUMNS
    assert (bt.fake.config.figure_names, bt.fake.config.report_rows) == ("standard", "array")
    assert len(bt.ok(bt.get("/project/Templates"))) == 2
