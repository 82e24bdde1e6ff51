"""The fake BigTime's staff and project teams, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime_local.fake_bigtime import FakeBigTime
from tests.integration.local.bigtime_env import Env, Seeded, message

# ------------------------------------------------------------------------------------------- staff


def test_staff_list_is_the_basic_view_with_emails(bt: Env) -> None:
    staff = bt.ok(bt.get("/staff"))
    assert [(s["StaffSID"], s["EMail"]) for s in staff] == [
        (1, "pat.admin@fakefirm.test"),
        (2, "sam.rivera@fakefirm.test"),
        (3, "alex.chen@fakefirm.test"),
        (4, "jordan.lee@fakefirm.test"),
    ]
    assert set(staff[1]) == {
        "StaffSID",
        "FName",
        "SName",
        "Title",
        "EMail",
        "Phone_Cell",
        "Phone_Wk",
        "IsInactive",
        "DefaultRole",
        "Capacity",
        "DtCreated",
        "DtModified",
    }
    with_inactive = bt.ok(bt.get("/Staff", params={"ShowInactive": "true"}))
    assert [(s["StaffSID"], s["IsInactive"]) for s in with_inactive][-1] == (5, True)


def test_staff_detail_views_and_errors(bt: Env) -> None:
    basic = bt.ok(bt.get("/staff/detail/2"))
    assert (basic["FName"], basic["SName"], basic["Title"]) == ("Sam", "Rivera", "Project Manager")
    assert "Rate1" not in basic
    detailed = bt.ok(bt.get("/staff/detail/2", params={"View": "Detailed"}))
    assert (detailed["Rate1"], detailed["CostRate"], detailed["UdfList"]) == (200.0, 100.0, [])
    assert bt.get("/staff/detail/99").status_code == 404
    assert bt.get("/staff/detail/2", params={"View": "All"}).status_code == 400
    assert bt.post("/staff/detail/2", json={"EMail": "x@y"}).status_code == 405  # read-only over the API


def test_staff_id_key_and_picklist(bt: Env) -> None:
    bt.use(staff_id_key="StaffSid")
    assert bt.ok(bt.get("/staff/detail/3"))["StaffSid"] == 3
    assert "StaffSID" not in bt.ok(bt.get("/staff"))[0]
    assert bt.ok(bt.get("/picklist/staff")) == [
        {"Id": 3, "Name": "Alex Chen"},
        {"Id": 4, "Name": "Jordan Lee"},
        {"Id": 1, "Name": "Pat Admin"},
        {"Id": 2, "Name": "Sam Rivera"},
    ]
    everyone = bt.ok(bt.get("/picklist/staff", params={"showinactive": "true"}))
    assert {"Id": 5, "Name": "Morgan Gone", "IsInactive": True} in everyone
    with pytest.raises(ValueError, match="staff_id_key"):
        FakeBigTime(staff_id_key="Id")


def test_staff_can_be_seeded_added_and_permissions_filter_it(bt: Env) -> None:
    bt.use(staff=[{"StaffSID": 7, "FName": "Kim", "SName": "Solo", "EMail": "kim@firm.test"}])
    assert [s["StaffSID"] for s in bt.ok(bt.get("/staff"))] == [7]
    added = bt.admin("POST", "staff", json={"StaffSID": 8, "SName": "Added", "EMail": "added@firm.test"})
    assert added.status_code == 200
    assert [s["EMail"] for s in bt.ok(bt.get("/staff"))] == ["kim@firm.test", "added@firm.test"]
    assert bt.admin("POST", "staff", json={"StaffSID": 8, "SName": "Twice"}).status_code == 400
    assert bt.admin("POST", "staff", json={"StaffSID": 9}).status_code == 400  # no SName
    with pytest.raises(ValueError, match="positive int StaffSID"):
        FakeBigTime(staff=[{"SName": "No Id"}])

    bt.use(tokens={"nostaff": {"staffsid": 1, "permissions": {"staff.view": False}}})
    hidden = bt.as_token("nostaff")
    assert bt.ok(bt.get("/staff", headers=hidden)) == []  # BigTime filters what a caller may not see
    assert bt.get("/staff/detail/1", headers=hidden).status_code == 405


# -------------------------------------------------------------------------------------------- team


def team(bt: Env, project_sid: int) -> list[dict[str, Any]]:
    return bt.ok(bt.get(f"/project/Team/{project_sid}"))


def test_team_members_are_added_and_the_lead_is_unique(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    assert team(bt, sid) == []
    answer = bt.ok(
        bt.post(
            f"/project/team/{sid}",
            json=[
                {"staffsid": 2, "ContactRole": 601, "TeamLead": True},
                {"StaffSID": 3, "ContactRole": "602"},
            ],
        )
    )
    assert answer == [
        {"staffsid": 2, "StaffNm": "Sam Rivera", "ContactRole": 601, "TeamLead": True},
        {"staffsid": 3, "StaffNm": "Alex Chen", "ContactRole": 602, "TeamLead": False},
    ]
    assert team(bt, sid) == answer

    # One member object: added, the others stay (upsert); a new lead demotes the old one.
    bt.ok(bt.post(f"/project/Team/{sid}", json={"staffsid": 4, "TeamLead": True}))
    assert [(m["staffsid"], m["TeamLead"]) for m in team(bt, sid)] == [(2, False), (3, False), (4, True)]
    bt.ok(bt.post(f"/project/Team/{sid}", json={"TeamList": [{"staffsid": 3, "ContactRole": 603}]}))
    assert [(m["staffsid"], m["ContactRole"], m["TeamLead"]) for m in team(bt, sid)] == [
        (2, 601, False),
        (3, 603, False),
        (4, None, True),
    ]
    assert bt.fake.team(sid) == team(bt, sid)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ([{"staffsid": 2, "TeamLead": True}, {"staffsid": 3, "TeamLead": True}], "one team lead"),
        ([{"staffsid": 5}], "inactive"),
        ([{"staffsid": 99}], "does not exist"),
        ([{"ContactRole": 601}], "'staffsid' is required"),
        ([{"staffsid": 2}, {"StaffSid": 2}], "listed twice"),
        ([{"staffsid": 2, "ContactRole": 604}], "inactive"),
        ([{"staffsid": 2, "ContactRole": 101}], "LookupProjectTeamRoles"),
        ([], "non-empty"),
        ("2", "team member"),
    ],
)
def test_team_validation_writes_nothing(seeded: Seeded, body: Any, text: str) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    bt.fake.set_team(sid, [{"staffsid": 1, "TeamLead": True}])
    response = bt.post(f"/project/Team/{sid}", json=body)
    assert response.status_code == 400
    assert text in message(response)
    assert [(m["staffsid"], m["TeamLead"]) for m in team(bt, sid)] == [(1, True)]


def test_team_variants_from_config(bt: Env) -> None:
    bt.use(team_post_replaces=True, team_staff_key="StaffSid")
    sid = bt.project(bt.client()["SystemId"])["SystemId"]
    bt.ok(bt.post(f"/project/Team/{sid}", json=[{"staffsid": 2}, {"staffsid": 3}]))
    replaced = bt.ok(bt.post(f"/project/Team/{sid}", json=[{"StaffSid": 4, "TeamLead": True}]))
    assert replaced == [{"StaffSid": 4, "StaffNm": "Jordan Lee", "ContactRole": None, "TeamLead": True}]
    with pytest.raises(ValueError, match="team_staff_key"):
        FakeBigTime(team_staff_key="id")


def test_team_of_an_unknown_or_deleted_project(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    assert bt.get("/project/Team/424242").status_code == 404
    assert bt.post("/project/Team/424242", json=[{"staffsid": 2}]).status_code == 404
    bt.fake.set_team(sid, [{"staffsid": 2}])
    assert bt.delete(f"/project/detail/{sid}").status_code == 204
    assert bt.get(f"/project/Team/{sid}").status_code == 404
    assert bt.fake.firm.staff.teams == {}
