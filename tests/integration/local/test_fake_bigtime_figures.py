"""The fake BigTime's logged work and the figures it moves: time, expenses, invoices, budget status.

Staffer 1 (the default API key's) bills 250/h at a cost of 120/h; staffer 3 bills 175/h, costs 90/h.
"""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime_local.fake_bigtime import ApiError, FakeBigTime
from tests.integration.local.bigtime_env import Env, Seeded, message

# -------------------------------------------------------------------------------------------- time


def test_time_entry_ids_change_when_submitted(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    draft = bt.time(sid, 2, submit=False, Notes="kick-off")
    assert draft["SID"] < 0  # unsubmitted entries have negative ids
    assert (draft["StaffSID"], draft["FName"], draft["SName"]) == (1, "Pat", "Admin")  # the caller's staffer
    assert (draft["ProjectNm"], draft["ClientNm"], draft["IsInvoiced"]) == (
        "Implementation",
        "Acme Corp",
        False,
    )
    assert (draft["HoursBillable"], draft["BillRate"], draft["ChargeBillable"], draft["CostRate"]) == (
        2,
        250.0,
        500.0,
        120.0,
    )
    second = bt.time(sid, 1, submit=False)
    assert second["SID"] == draft["SID"] - 1

    submitted = bt.ok(
        bt.post(f"/time/{draft['SID']}", params={"MarkSubmitted": "true"}, json={"Hours_IN": 3})
    )
    assert submitted["SID"] > 0
    assert (submitted["Hours_IN"], submitted["ChargeBillable"], submitted["Notes"]) == (
        3.0,
        750.0,
        "kick-off",
    )
    assert bt.get(f"/time/{draft['SID']}").status_code == 404  # the old id is gone
    assert bt.ok(bt.get(f"/time/{submitted['SID']}")) == submitted
    assert (
        bt.ok(bt.post("/time", params={"MarkSubmitted": "true"}, json={**_body(sid), "Hours_IN": 1}))["SID"]
        > 0
    )


def _body(project_sid: int, **fields: Any) -> dict[str, Any]:
    return {"ProjectSID": project_sid, "Dt": "2027-01-11", "Hours_IN": 1, **fields}


def test_time_charges_defaults_overrides_and_no_charge(seeded: Seeded) -> None:
    bt, client, project = seeded
    sid = project["SystemId"]
    as_staffer = bt.time(sid, 2, StaffSID=3)
    assert (as_staffer["BillRate"], as_staffer["ChargeBillable"], as_staffer["CostRate"]) == (
        175.0,
        350.0,
        90.0,
    )
    given = bt.time(sid, 2, hoursbillable=1.5, BillRate=100, CostRate=50)
    assert (given["HoursBillable"], given["ChargeBillable"], given["CostRate"]) == (1.5, 150.0, 50.0)
    flat = bt.time(sid, 2, ChargeBillable=999.99)
    assert flat["ChargeBillable"] == 999.99
    assert bt.time(sid, 2, NoCharge=True)["ChargeBillable"] == 0.0
    free_task = bt.task(sid, "Warranty", NoCharge=True)
    on_free_task = bt.time(sid, 2, TaskSID=free_task["TaskSid"])
    assert (on_free_task["HoursBillable"], on_free_task["ChargeBillable"], on_free_task["TaskNm"]) == (
        0.0,
        0.0,
        "Warranty",
    )
    internal = bt.project(client["SystemId"], code="INT", IsNoCharge=True)["SystemId"]
    assert bt.time(internal, 4)["ChargeBillable"] == 0.0


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"Dt": None}, "'Dt' is required"),
        ({"Dt": "11/01/2027"}, "'Dt' must be a date"),
        ({"Hours_IN": None}, "'Hours_IN' is required"),
        ({"Hours_IN": 0}, "more than 0"),
        ({"Hours_IN": 24.5}, "at most 24"),
        ({"ProjectSID": None}, "'ProjectSID' is required"),
        ({"ProjectSID": 424242}, "does not exist"),
        ({"StaffSID": 5}, "inactive"),
        ({"StaffSID": 99}, "does not exist"),
        ({"TaskSID": 7999}, "not a task of the project"),
        ({"BillRate": -1}, "'BillRate' must not be negative"),
    ],
)
def test_time_validation(seeded: Seeded, change: dict[str, Any], text: str) -> None:
    bt, _, project = seeded
    response = bt.post("/time", json=_body(project["SystemId"], **change))
    assert response.status_code == 400
    assert text in message(response)
    assert bt.get(f"/time/ByProject/{project['SystemId']}").json() == []


def test_time_needs_an_active_project_and_an_open_task(seeded: Seeded) -> None:
    bt, client, project = seeded
    sid = project["SystemId"]
    archived = bt.task(sid, "Old", IsArchived=True)
    assert "archived" in message(bt.post("/time", json=_body(sid, TaskSID=archived["TaskSid"])))
    other_task = bt.task(bt.project(client["SystemId"], code="P-2")["SystemId"], "Elsewhere")
    assert "not a task" in message(bt.post("/time", json=_body(sid, TaskSID=other_task["TaskSid"])))
    bt.ok(bt.post(f"/project/detail/{sid}", json={"IsInactive": True}))
    assert "inactive" in message(bt.post("/time", json=_body(sid)))


def test_time_lists_by_project_and_by_staffer(seeded: Seeded) -> None:
    bt, client, project = seeded
    sid = project["SystemId"]
    other = bt.project(client["SystemId"], code="P-2")["SystemId"]
    late = bt.time(sid, 1, dt="2027-01-20")
    early = bt.time(sid, 2, dt="2027-01-05", StaffSID=3)
    elsewhere = bt.time(other, 3, dt="2027-01-06")
    by_project = bt.ok(bt.get(f"/time/ByProject/{sid}"))
    assert [e["SID"] for e in by_project] == [early["SID"], late["SID"]]  # by date
    january_start = bt.ok(
        bt.get(f"/time/byproject/{sid}", params={"StartDt": "2027-01-01", "EndDt": "2027-01-10"})
    )
    assert [e["SID"] for e in january_start] == [early["SID"]]
    sheet = bt.ok(bt.get("/time/Sheet/1", params={"startdt": "2027-01-06"}))
    assert [e["SID"] for e in sheet] == [elsewhere["SID"], late["SID"]]
    assert bt.get("/time/Sheet/1", params={"StartDt": "2027-02-01", "EndDt": "2027-01-01"}).status_code == 400
    assert bt.get("/time/Sheet/1", params={"StartDt": "soon"}).status_code == 400
    assert bt.get("/time/Sheet/99").status_code == 404
    assert bt.get("/time/ByProject/424242").status_code == 404


def test_time_update_and_delete(seeded: Seeded) -> None:
    bt, _, project = seeded
    entry = bt.time(project["SystemId"], 2)
    moved = bt.ok(bt.post(f"/time/{entry['SID']}", json={"Dt": "2027-01-12", "StaffSID": 3}))
    assert (moved["SID"], moved["Dt"], moved["ChargeBillable"]) == (entry["SID"], "2027-01-12", 350.0)
    assert bt.post(f"/time/{entry['SID']}", json={"Hours_IN": 30}).status_code == 400
    assert bt.ok(bt.get(f"/time/{entry['SID']}"))["Hours_IN"] == 2.0  # the refused update wrote nothing
    assert bt.delete(f"/time/{entry['SID']}").status_code == 204
    assert bt.get(f"/time/{entry['SID']}").status_code == 404
    assert bt.delete(f"/time/{entry['SID']}").status_code == 404


# ---------------------------------------------------------------------------------------- expenses


def test_expenses_crud_and_defaults(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    taxi = bt.expense(sid, 42.5, CatID=3, Notes="taxi")
    assert (taxi["CostIN"], taxi["CostBill"], taxi["StaffSID"], taxi["IsInvoiced"]) == (42.5, 42.5, 1, False)
    marked_up = bt.expense(sid, 100, CostBill=110, dt="2027-01-02")
    free = bt.expense(sid, 20, NoCharge=True)
    assert free["CostBill"] == 0.0
    assert [e["SID"] for e in bt.ok(bt.get(f"/expense/ByProject/{sid}"))] == [
        marked_up["SID"],
        taxi["SID"],
        free["SID"],
    ]
    updated = bt.ok(bt.post(f"/expense/detail/{taxi['SID']}", json={"CostIN": 50}))
    assert (updated["CostIN"], updated["CostBill"]) == (50.0, 50.0)
    assert bt.ok(bt.get(f"/expense/detail/{taxi['SID']}")) == updated
    assert "'CostIN' is required" in message(
        bt.post("/expense/detail", json={"ProjectSID": sid, "Dt": "2027-01-11"})
    )
    assert (
        bt.post("/expense/detail", json={"ProjectSID": sid, "Dt": "2027-01-11", "CostIN": -1}).status_code
        == 400
    )
    assert bt.delete(f"/expense/detail/{free['SID']}").status_code == 204
    assert bt.get(f"/expense/detail/{free['SID']}").status_code == 404


# ---------------------------------------------------------------------------------------- invoices


def test_invoice_bills_submitted_wip_up_to_its_end_date(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    billed = bt.time(sid, 2, dt="2027-01-05")  # 500
    draft = bt.time(sid, 1, dt="2027-01-06", submit=False)  # not invoiceable yet
    later = bt.time(sid, 1, dt="2027-01-20")  # after DtEnd
    free = bt.time(sid, 1, dt="2027-01-05", NoCharge=True)  # nothing to bill
    expense = bt.expense(sid, 80, dt="2027-01-07")
    invoice = bt.ok(
        bt.post("/invoice/detail", json={"ProjectSid": sid, "InvoiceDt": "2027-01-15", "DtEnd": "2027-01-10"})
    )
    assert invoice["InvoiceNbr"] == "INV-00001"
    assert (invoice["AmountFees"], invoice["AmountExps"], invoice["AmountOther"], invoice["Total"]) == (
        500.0,
        80.0,
        0.0,
        580.0,
    )
    assert (invoice["TimeCount"], invoice["ExpenseCount"], invoice["ClientSid"]) == (
        1,
        1,
        project["ClientId"],
    )
    assert bt.ok(bt.get(f"/time/{billed['SID']}"))["InvoiceSID"] == invoice["InvoiceSid"]
    for sid_left in (draft["SID"], later["SID"], free["SID"]):
        assert bt.ok(bt.get(f"/time/{sid_left}"))["IsInvoiced"] is False
    assert bt.ok(bt.get(f"/expense/detail/{expense['SID']}"))["IsInvoiced"] is True

    locked = bt.post(f"/time/{billed['SID']}", json={"Hours_IN": 5})
    assert locked.status_code == 400
    assert "cannot be changed" in message(locked)
    assert bt.delete(f"/time/{billed['SID']}").status_code == 400
    assert bt.delete(f"/expense/detail/{expense['SID']}").status_code == 400
    assert bt.ok(bt.get(f"/invoice/ByProject/{sid}")) == [invoice]
    assert bt.ok(bt.get(f"/invoice/detail/{invoice['InvoiceSid']}")) == invoice


def test_invoice_rules(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    nothing = bt.post("/invoice/detail", json={"ProjectSid": sid})
    assert nothing.status_code == 400
    assert "no billable work" in message(nothing)
    fixed = bt.ok(bt.post("/invoice/detail", json={"ProjectSid": sid, "Amount": 1000, "InvoiceNbr": "F-1"}))
    assert (fixed["Total"], fixed["InvoiceDt"], fixed["DtEnd"]) == (
        1000.0,
        "2027-01-15",
        "2027-01-15",
    )  # today
    clash = bt.post("/invoice/detail", json={"ProjectSid": sid, "Amount": 5, "InvoiceNbr": "f-1"})
    assert "'InvoiceNbr' must be unique" in message(clash)
    assert bt.post("/invoice/detail", json={"ProjectSid": sid, "Amount": -5}).status_code == 400
    assert "'ProjectSid' is required" in message(bt.post("/invoice/detail", json={"Amount": 5}))
    assert "does not exist" in message(bt.post("/invoice/detail", json={"ProjectSid": 424242, "Amount": 5}))
    refused = bt.delete(f"/project/detail/{sid}")
    assert (refused.status_code, "has invoices" in message(refused)) == (400, True)
    assert bt.delete(f"/invoice/detail/{fixed['InvoiceSid']}").status_code == 204
    assert bt.get(f"/invoice/detail/{fixed['InvoiceSid']}").status_code == 404
    assert bt.delete(f"/project/detail/{sid}").status_code == 204


def test_voiding_an_invoice_returns_its_work_to_wip(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    entry = bt.time(sid, 4)
    invoice = bt.fake.create_invoice({"ProjectSid": sid})
    assert bt.fake.project_figures(sid)["TotalWip"] == 0.0
    assert bt.delete(f"/invoice/detail/{invoice['InvoiceSid']}").status_code == 204
    assert bt.ok(bt.get(f"/time/{entry['SID']}"))["InvoiceSID"] is None
    assert bt.fake.project_figures(sid)["TotalWip"] == 1000.0
    assert bt.fake.project_figures(sid)["InvoicedToDate"] == 0.0


# ----------------------------------------------------------------------------------- budget status


def _worked_project(bt: Env, project_sid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two budgeted tasks, time and expenses on them and without a task, one invoice."""
    build = bt.task(project_sid, "Build", BudgetHours=10, BudgetFees=2000, BudgetExps=300)
    design = bt.task(project_sid, "Design", BudgetHours=4, BudgetFees=800)
    bt.time(project_sid, 3, dt="2027-01-04", TaskSID=build["TaskSid"])  # 750, cost 360
    bt.time(project_sid, 2, dt="2027-01-11", TaskSID=build["TaskSid"], StaffSID=3)  # 350, cost 180
    bt.time(project_sid, 1, dt="2027-01-12", TaskSID=build["TaskSid"], NoCharge=True)  # 0, cost 120
    bt.expense(project_sid, 120, dt="2027-01-05", TaskSID=build["TaskSid"], CostBill=130)
    bt.time(project_sid, 1.5, dt="2027-01-06")  # no task: 375, cost 180
    bt.fake.create_invoice(
        {"ProjectSid": project_sid, "InvoiceDt": "2027-01-08", "DtEnd": "2027-01-07", "Amount": 50}
    )
    return build, design


def test_budget_status_reflects_logged_work_and_invoices(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    build, design = _worked_project(bt, sid)
    rows = {row["TaskSid"]: row for row in bt.ok(bt.get(f"/task/BudgetStatusByProject/{sid}"))}
    assert list(rows) == [build["TaskSid"], design["TaskSid"], 0]
    assert rows[build["TaskSid"]] == {
        "TaskSid": build["TaskSid"],
        "TaskNm": "Build",
        "ProjectSid": sid,
        "BudgetHours": 10.0,
        "BudgetFees": 2000.0,
        "BudgetExps": 300.0,
        "HoursInput": 6.0,
        "HoursBill": 5.0,
        "FeesInput": 1100.0,
        "FeesCost": 660.0,
        "ExpensesInput": 120.0,
        "ExpensesBillable": 130.0,
        "TotalWip": 350.0,  # the 2027-01-11 entry; the rest was invoiced on 2027-01-08
        "InvoicedToDate": 880.0,  # 750 of time + 130 of expenses
        "HoursRemaining": 4.0,
        "FeesRemaining": 900.0,
    }
    assert (rows[design["TaskSid"]]["HoursInput"], rows[design["TaskSid"]]["HoursRemaining"]) == (0.0, 4.0)
    loose = rows[0]
    assert (loose["TaskNm"], loose["HoursInput"], loose["FeesInput"]) == (None, 1.5, 375.0)
    assert (loose["InvoicedToDate"], loose["TotalWip"], loose["BudgetHours"]) == (425.0, 0.0, 0.0)  # + Amount

    figures = bt.fake.project_figures(sid)
    assert figures["InvoicedToDate"] == 1305.0 == sum(r["InvoicedToDate"] for r in rows.values())
    assert (figures["HoursInput"], figures["FeesInput"], figures["TotalWip"]) == (7.5, 1475.0, 350.0)
    detailed = bt.ok(bt.get(f"/project/detail/{sid}", params={"View": "Detailed"}))
    assert (detailed["BudgetHours"], detailed["BudgetFees"], detailed["BudgetExps"]) == (14.0, 2800.0, 300.0)
    assert (detailed["InputHours"], detailed["InputFees"]) == (7.5, 1475.0)
    assert bt.get("/task/BudgetStatusByProject/424242").status_code == 404


def test_unsubmitted_time_counts_unless_configured_otherwise(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.time(sid, 2)
    bt.time(sid, 1, submit=False)
    assert bt.fake.project_figures(sid)["HoursInput"] == 3.0
    bt.fake.configure(actuals_include_unsubmitted=False)
    assert bt.fake.project_figures(sid)["HoursInput"] == 2.0
    assert bt.ok(bt.get(f"/task/BudgetStatusByProject/{sid}"))[0]["FeesInput"] == 500.0


def test_figure_names_follow_the_configured_variant(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    _worked_project(bt, sid)
    standard = bt.ok(bt.get(f"/task/BudgetStatusByProject/{sid}"))
    assert bt.admin("POST", "config", json={"figure_names": "legacy"}).status_code == 200
    legacy = bt.ok(bt.get(f"/task/BudgetStatusByProject/{sid}"))
    assert legacy[0]["HrsIn"] == standard[0]["HoursInput"] == 6.0
    assert legacy[0]["ChargeIn"] == standard[0]["FeesInput"]
    assert legacy[0]["WipTotal"] == standard[0]["TotalWip"]
    assert legacy[0]["FeeCostIn"] == standard[0]["FeesCost"]
    assert legacy[0]["ExpCostIn"] == standard[0]["ExpensesInput"]
    assert "HoursInput" not in legacy[0]
    bt.fake.configure(figure_names={"TotalWip": "WipTotal", "HoursInput": "HrsIn"})
    mixed = bt.ok(bt.get(f"/task/BudgetStatusByProject/{sid}"))[0]
    assert (mixed["WipTotal"], mixed["HrsIn"], mixed["FeesInput"]) == (350.0, 6.0, 1100.0)


@pytest.mark.parametrize(
    "setting",
    [
        "short",
        {"Wip": "X"},
        {"TotalWip": ""},
        {"TotalWip": "HoursInput"},
        {"TotalWip": "hrsin", "HoursInput": "HrsIn"},
    ],
)
def test_bad_figure_names_are_refused(bt: Env, setting: Any) -> None:
    with pytest.raises(ValueError, match="figure_names"):
        FakeBigTime(figure_names=setting)
    assert bt.admin("POST", "config", json={"figure_names": setting}).status_code == 400
    assert bt.fake.config.figure_names == "standard"


def test_python_log_time_and_admin_time(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    entry = bt.fake.log_time(sid, 2, 300, staff_sid=4, dt="2027-01-03")
    assert (entry["SID"] > 0, entry["StaffSID"], entry["ChargeBillable"], entry["Dt"]) == (
        True,
        4,
        300.0,
        "2027-01-03",
    )
    logged = bt.admin("POST", "time", json={"project_sid": sid, "hours": 1, "fees": 100})
    assert logged.status_code == 200
    assert logged.json()["entry"]["Dt"] == "2027-01-15"
    assert bt.admin("POST", "time", json={"project_sid": sid, "hours": 30, "fees": 1}).status_code == 400
    with pytest.raises(ApiError) as excinfo:
        bt.fake.log_time(424242, 1, 1)
    assert excinfo.value.status == 404
    assert bt.admin("GET", f"figures/{sid}").json()["FeesInput"] == 400.0


def test_python_api_logs_work_like_http(seeded: Seeded) -> None:
    bt, client, project = seeded
    sid = project["SystemId"]
    draft = bt.fake.add_time({"ProjectSID": sid, "Dt": "2027-01-04", "Hours_IN": 2}, submitted=False)
    assert (draft["SID"] < 0, draft["StaffSID"], draft["ChargeBillable"]) == (True, 1, 500.0)
    spent = bt.fake.add_expense({"ProjectSID": sid, "Dt": "2027-01-04", "CostIN": 12, "StaffSID": 2})
    assert (spent["StaffSID"], spent["CostBill"]) == (2, 12.0)
    assert bt.ok(bt.get(f"/time/{draft['SID']}")) == draft
    with pytest.raises(ApiError) as excinfo:
        bt.fake.add_time({"ProjectSID": sid, "Dt": "2027-01-04"})
    assert (excinfo.value.status, excinfo.value.message) == (400, "The field 'Hours_IN' is required.")

    template = bt.fake.create_template({"Nm": "Python", "TaskList": [{"TaskNm": "Only", "BudgetFees": 10}]})
    made = bt.fake.create_project(
        {
            "Nm": "From template",
            "ClientId": client["SystemId"],
            "ProjectCode": "T-1",
            "TemplateId": template["SystemId"],
        }
    )
    assert [t["TaskNm"] for t in bt.fake.tasks(made["SystemId"])] == ["Only"]
    assert made["BudgetFees"] == 10.0
