"""The fake BigTime's tasks and project templates, over HTTP: what "the project arrives ready to work"
needs (budgets on tasks, a project made from a template)."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime_local.fake_bigtime import FakeBigTime
from tests.integration.local.bigtime_env import Env, Seeded, message

# ------------------------------------------------------------------------------------------- tasks


def test_task_fields_round_trip(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    parent = bt.task(sid, "Phase 1", TaskId="P1")
    created = bt.task(
        sid,
        "Discovery",
        taskgroup="Phase 1",  # field names are case-insensitive
        TaskId="P1-DISC",
        TaskType=701,
        CurrentStatus=802,
        Priority="High",
        PerComp=25,
        StartDt="2027-01-04",
        DueDt="2027-01-29",
        BudgetHours=20,
        BudgetFees="4000",
        BudgetExps=250.5,
        ParentSid=parent["TaskSid"],
        AssignmentList=[2, 3],
        Unknown="ignored",
    )
    assert created["ProjectSid"] == sid
    assert created["FullName"] == "Phase 1:Discovery"
    assert (created["TaskType"], created["TaskType_nm"]) == (701, "Billable Work")
    assert (created["CurrentStatus"], created["CurrentStatus_nm"]) == (802, "In Progress")
    assert (created["BudgetHours"], created["BudgetFees"], created["BudgetExps"]) == (20.0, 4000.0, 250.5)
    assert created["BudgetTotal"] == 4250.5
    assert created["ParentSid"] == parent["TaskSid"]
    assert created["AssignmentList"] == [{"Sid": 2, "Nm": "Sam Rivera"}, {"Sid": 3, "Nm": "Alex Chen"}]
    assert (created["AssignCount"], created["AssignmentNames"]) == (2, "Sam Rivera, Alex Chen")
    assert (created["IsArchived"], created["NoCharge"]) == (False, False)
    assert "Unknown" not in created

    # GET Detailed -> change -> POST back: the read view's AssignmentList objects are accepted.
    fetched = bt.ok(bt.get(f"/task/detail/{created['TaskSid']}"))
    assert fetched == created
    updated = bt.ok(bt.post(f"/task/detail/{created['TaskSid']}", json={**fetched, "BudgetHours": 24}))
    assert updated["BudgetHours"] == 24.0
    assert updated["AssignmentList"] == created["AssignmentList"]
    assert bt.ok(bt.post(f"/task/detail/{created['TaskSid']}", json={"TaskType": 0}))["TaskType"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"TaskNm": " "}, "TaskNm"),
        ({"TaskType": 101}, "TaskType"),  # a project-type id, not a task type
        ({"CurrentStatus": 999}, "CurrentStatus"),
        ({"PerComp": 101}, "PerComp"),
        ({"BudgetFees": -1}, "BudgetFees"),
        ({"StartDt": "2027-02-01", "DueDt": "2027-01-01"}, "DueDt"),
        ({"DueDt": "01/02/2027"}, "DueDt"),
        ({"AssignmentList": [5]}, "AssignmentList"),  # staffer 5 is inactive
        ({"AssignmentList": [99]}, "AssignmentList"),
        ({"AssignmentList": "2"}, "AssignmentList"),
        ({"ParentSid": 424242}, "ParentSid"),
    ],
)
def test_task_create_validation_names_the_field(seeded: Seeded, body: dict[str, Any], field: str) -> None:
    bt, _, project = seeded
    response = bt.post("/task/detail", json={"ProjectSid": project["SystemId"], "TaskNm": "T", **body})
    assert response.status_code == 400
    assert f"'{field}'" in message(response)
    assert bt.fake.tasks(project["SystemId"]) == []  # nothing half-written


def test_task_project_errors(seeded: Seeded) -> None:
    bt, _, project = seeded
    missing = bt.post("/task/detail", json={"TaskNm": "T"})
    assert (missing.status_code, message(missing)) == (400, "The field 'ProjectSid' is required.")
    unknown = bt.post("/task/detail", json={"TaskNm": "T", "ProjectSid": 424242})
    assert unknown.status_code == 400
    assert message(unknown) == "The field 'ProjectSid' refers to project 424242, which does not exist."
    listed = bt.get("/task/listByProject/424242")
    assert (listed.status_code, message(listed)) == (404, "Project 424242 was not found.")
    assert bt.get("/task/detail/7999").status_code == 404
    assert bt.post("/task/detail/7999", json={"TaskNm": "X"}).status_code == 404

    other = bt.project(project["ClientId"], code="P-2")
    task = bt.task(project["SystemId"])
    moved = bt.post(f"/task/detail/{task['TaskSid']}", json={"ProjectSid": other["SystemId"]})
    assert moved.status_code == 400
    assert "cannot be moved" in message(moved)


def test_task_codes_are_unique_per_project_and_parents_stay_in_the_project(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    other = bt.project(project["ClientId"], code="P-2")["SystemId"]
    first = bt.task(sid, "A", TaskId="T-1")
    clash = bt.post("/task/detail", json={"ProjectSid": sid, "TaskNm": "B", "TaskId": "t-1 "})
    assert clash.status_code == 400
    assert "'TaskId' must be unique" in message(clash)
    assert bt.task(other, "B", TaskId="T-1")["TaskId"] == "T-1"  # another project may reuse it

    foreign = bt.task(other, "Foreign")
    bad_parent = bt.post(
        "/task/detail", json={"ProjectSid": sid, "TaskNm": "C", "ParentSid": foreign["TaskSid"]}
    )
    assert bad_parent.status_code == 400
    child = bt.task(sid, "Child", ParentSid=first["TaskSid"])
    cycle = bt.post(f"/task/detail/{first['TaskSid']}", json={"ParentSid": child["TaskSid"]})
    assert cycle.status_code == 400
    assert "its own parent" in message(cycle)
    itself = bt.post(f"/task/detail/{first['TaskSid']}", json={"ParentSid": first["TaskSid"]})
    assert itself.status_code == 400


def test_completed_tasks_are_listed_only_on_request(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    open_task = bt.task(sid, "Open")
    done = bt.task(sid, "Done", IsArchived=True)
    names = lambda response: [t["TaskNm"] for t in bt.ok(response)]  # noqa: E731
    assert names(bt.get(f"/task/listByProject/{sid}")) == ["Open"]
    assert names(bt.get(f"/task/ListByProject/{sid}", params={"showCompleted": "True"})) == ["Open", "Done"]
    assert names(bt.get("/Task/ListByProject", params={"id": sid, "ShowCompleted": "true"})) == [
        "Open",
        "Done",
    ]
    assert bt.get(f"/task/listByProject/{sid}", params={"ShowCompleted": "maybe"}).status_code == 400
    assert bt.get("/task/listByProject").status_code == 400  # neither a path id nor ?id=

    assert bt.ok(bt.get(f"/picklist/TasksByProject/{sid}")) == [
        {"Id": open_task["TaskSid"], "Name": "Open", "Group": None}
    ]
    all_tasks = bt.ok(bt.get(f"/picklist/AllTasksByProject/{sid}"))
    assert [t["Id"] for t in all_tasks] == [done["TaskSid"], open_task["TaskSid"]]  # by name
    assert [s["Name"] for s in bt.ok(bt.get("/picklist/TaskStatus"))] == [
        "Completed",
        "In Progress",
        "Not Started",
    ]
    assert bt.fake.tasks(sid, show_completed=False) == bt.ok(bt.get(f"/task/listByProject/{sid}"))


def test_task_delete_rules(seeded: Seeded) -> None:
    bt, _, project = seeded
    sid = project["SystemId"]
    parent = bt.task(sid, "Parent")
    child = bt.task(sid, "Child", ParentSid=parent["TaskSid"])
    with_time = bt.task(sid, "Timed")
    with_expense = bt.task(sid, "Spent")
    bt.time(sid, 1, TaskSID=with_time["TaskSid"])
    bt.expense(sid, 10, TaskSID=with_expense["TaskSid"])

    assert "subtasks" in message(bt.delete(f"/task/detail/{parent['TaskSid']}"))
    for task in (with_time, with_expense):
        refused = bt.delete(f"/task/detail/{task['TaskSid']}")
        assert refused.status_code == 400
        assert "cannot be deleted" in message(refused)
    assert bt.delete(f"/task/detail/{child['TaskSid']}").status_code == 204
    assert bt.delete(f"/task/detail/{parent['TaskSid']}").status_code == 204
    assert [t["TaskNm"] for t in bt.fake.tasks(sid)] == ["Timed", "Spent"]


# ------------------------------------------------------------------------------------------ templates


def test_seeded_templates_list_and_detail(bt: Env) -> None:
    templates = bt.ok(bt.get("/project/Templates"))
    assert [(t["Nm"], t["TaskCount"]) for t in templates] == [("Retainer", 1), ("Standard Implementation", 4)]
    standard = templates[1]
    detail = bt.ok(bt.get(f"/project/Template/{standard['SystemId']}"))
    assert bt.ok(bt.get("/project/Template", params={"id": standard["SystemId"]})) == detail
    assert [t["TaskNm"] for t in detail["TaskList"]] == [
        "Discovery",
        "Build",
        "Training",
        "Project Management",
    ]
    assert detail["TaskList"][3]["BudgetExps"] == 500.0
    assert bt.get("/project/Template/8999").status_code == 404


def test_project_from_template_copies_its_tasks(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    template = bt.ok(
        bt.post(
            "/project/Template",
            json={
                "Nm": "Fixed-fee rollout",
                "TypeId": 102,
                "TaskList": [
                    {"TaskNm": "Setup", "TaskId": "S", "TaskType": 702, "BudgetHours": 8, "BudgetFees": 1600},
                    {"TaskNm": "Go-live", "BudgetHours": 4, "BudgetFees": 800, "NoCharge": True},
                ],
            },
        )
    )
    project = bt.project(client_sid, code="OPP-1", templateid=template["SystemId"])  # any key case
    assert project["TypeId"] == 102  # from the template, as the body set none
    assert (project["BudgetHours"], project["BudgetFees"]) == (12.0, 2400.0)
    tasks = bt.ok(bt.get(f"/task/listByProject/{project['SystemId']}"))
    assert [(t["TaskNm"], t["TaskId"], t["TaskType"], t["BudgetFees"], t["NoCharge"]) for t in tasks] == [
        ("Setup", "S", 702, 1600.0, False),
        ("Go-live", None, None, 800.0, True),
    ]
    second = bt.project(client_sid, code="OPP-2", TemplateId=template["SystemId"], TypeId=106)
    assert second["TypeId"] == 106  # the body wins
    assert {t["TaskSid"] for t in bt.fake.tasks(second["SystemId"])}.isdisjoint({t["TaskSid"] for t in tasks})

    # Deleting the template leaves the projects' tasks alone.
    assert bt.delete(f"/project/Template/{template['SystemId']}").status_code == 204
    assert len(bt.fake.tasks(project["SystemId"])) == 2
    assert bt.delete(f"/project/Template/{template['SystemId']}").status_code == 404


def test_unknown_template_creates_nothing(bt: Env) -> None:
    client_sid = bt.client()["SystemId"]
    refused = bt.post(
        "/project/detail", json={"Nm": "P", "ClientId": client_sid, "ProjectCode": "X", "TemplateId": 8999}
    )
    assert refused.status_code == 400
    assert message(refused) == "The field 'TemplateId' refers to template 8999, which does not exist."
    assert bt.fake.projects == []
    assert bt.project(client_sid, code="X", TemplateId=0)["BudgetHours"] == 0.0  # 0: no template


@pytest.mark.parametrize("template_field", [None, "TemplateSid"])
def test_template_field_is_an_assumption_the_config_can_change(bt: Env, template_field: str | None) -> None:
    bt.use(template_field=template_field)
    client_sid = bt.client()["SystemId"]
    standard = next(t for t in bt.ok(bt.get("/project/Templates")) if t["Nm"] == "Standard Implementation")
    # The client's field name is not the real one: BigTime ignores it like any unknown field.
    ignored = bt.project(client_sid, code="A", TemplateId=standard["SystemId"])
    assert bt.fake.tasks(ignored["SystemId"]) == []
    if template_field:
        used = bt.project(client_sid, code="B", **{template_field: standard["SystemId"]})
        assert len(bt.fake.tasks(used["SystemId"])) == 4


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"TaskList": []}, "'Nm' is required"),
        ({"Nm": "T", "TypeId": 201}, "'TypeId'"),
        ({"Nm": "T", "TaskList": [{"BudgetHours": 1}]}, "TaskList[0]: the field 'TaskNm'"),
        ({"Nm": "T", "TaskList": [{"TaskNm": "A", "BudgetFees": -5}]}, "'BudgetFees' must not be negative"),
        (
            {"Nm": "T", "TaskList": [{"TaskNm": "A", "TaskId": "X"}, {"TaskNm": "B", "TaskId": "x"}]},
            "'TaskId'",
        ),
        ({"Nm": "T", "TaskList": {"TaskNm": "A"}}, "must be a list"),
    ],
)
def test_template_validation(bt: Env, body: dict[str, Any], text: str) -> None:
    response = bt.post("/project/Template", json=body)
    assert response.status_code == 400
    assert text in message(response)
    assert len(bt.ok(bt.get("/project/Templates"))) == 2


def test_templates_can_be_seeded_and_bad_seeds_fail_construction(bt: Env) -> None:
    bt.use(templates=[{"Nm": "Only", "TaskList": [{"TaskNm": "Work", "BudgetHours": 5}]}])
    assert [t["Nm"] for t in bt.ok(bt.get("/project/Templates"))] == ["Only"]
    with pytest.raises(ValueError, match="bad seed data"):
        FakeBigTime(templates=[{"TaskList": []}])
