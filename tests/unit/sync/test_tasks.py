"""The project's tasks and budget (sf_bigtime.sync.tasks): created from the line items exactly once, kept in
step when the deal changes after it was won, archived (never deleted) when a line item goes, and no
BigTime call when nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from sf_bigtime.clients.bigtime import BigTimeCallError
from sf_bigtime.errors import PermanentError, TransientError
from tests.crash import Crash, die_on_record, revive
from tests.unit.sync.conftest import ORG, STALE, TEAM_CALLS, Memory


def won_with_items(mem: Memory) -> tuple[str, list[str]]:
    opp = mem.won_opportunity()
    items = [
        mem.line_item(opp, "Consulting", 40, 150, ServiceDate="2026-09-01"),
        mem.line_item(opp, "Training", 8, 120),
        mem.line_item(opp, "Licence", 1, 1800, unit="Each"),
    ]
    return opp, items


def tasks_by_code(mem: Memory, opp: str) -> dict[str, dict[str, Any]]:
    [project] = mem.bt.projects.values()
    return {t["TaskId"]: t for t in mem.bt.project_tasks(project["SystemId"])}


def budgets(task: dict[str, Any]) -> tuple[Any, Any]:
    return task.get("BudgetHours"), task.get("BudgetFees")


def test_line_items_become_tasks_with_budgets_when_the_project_is_created(mem: Memory) -> None:
    opp, (consulting, training, licence) = won_with_items(mem)
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.tasks_added == 3
    assert "3 task(s) added" in outcome.message
    tasks = tasks_by_code(mem, opp)
    assert budgets(tasks[f"SF-{consulting}"]) == (40.0, 6000.0)
    assert budgets(tasks[f"SF-{training}"]) == (8.0, 960.0)
    assert budgets(tasks[f"SF-{licence}"]) == (None, 1800.0)  # sold per unit: no hours
    assert tasks[f"SF-{consulting}"]["TaskNm"] == "Consulting"
    assert tasks[f"SF-{consulting}"]["StartDt"] == "2026-09-01"
    [project] = mem.bt.projects.values()
    assert mem.bt.budget(project["SystemId"]) == {
        "BudgetHours": 48.0,
        "BudgetFees": 8760.0,
        "BudgetExps": 0.0,
    }
    # One create per task and nothing else for them: a project this sync created has no tasks to look up.
    assert mem.bt.log.count("create_task") == 3 and "list_project_tasks" not in mem.bt.log
    assert outcome.bigtime_calls == 3 + 3 + 2 + len(TEAM_CALLS)  # client, project, contacts, tasks, team
    item = mem.item(opp)
    assert set(item["tasks"]) == {consulting, training, licence} and item["tasks_hash"]
    task_item = mem.store.get("task", ORG, f"{opp}/{consulting}")
    assert (
        task_item["task_id"] == item["tasks"][consulting]["id"]
        and task_item["task_code"] == f"SF-{consulting}"
    )


def test_nothing_changed_means_no_bigtime_call(mem: Memory) -> None:
    opp, _ = won_with_items(mem)
    mem.sync(opp)
    again = mem.sync(opp)
    assert again.bigtime_calls == 0 and not again.wrote_back


def test_a_changed_quantity_and_price_update_the_task_budget(mem: Memory) -> None:
    opp, (consulting, training, _) = won_with_items(mem)
    mem.sync(opp)
    mem.bt.log.clear()
    mem.edit_line_item(opp, consulting, Quantity=50.0)
    mem.edit_line_item(opp, training, UnitPrice=130.0)

    outcome = mem.sync(opp)
    assert outcome.tasks_updated == 2 and "2 task(s) updated" in outcome.message and outcome.wrote_back
    tasks = tasks_by_code(mem, opp)
    assert budgets(tasks[f"SF-{consulting}"]) == (50.0, 7500.0)
    assert budgets(tasks[f"SF-{training}"]) == (8.0, 1040.0)
    # One listing serves both updates; each update sends the task back whole.
    assert mem.bt.log == ["list_project_tasks", "update_task", "update_task"]
    assert tasks[f"SF-{consulting}"]["TaskNm"] == "Consulting"  # the rest of the task is kept


def test_a_create_only_detail_changing_costs_nothing(mem: Memory) -> None:
    opp, (consulting, _, _) = won_with_items(mem)
    mem.sync(opp)
    mem.edit_line_item(opp, consulting, Description="now with a description")
    assert mem.sync(opp).bigtime_calls == 0
    assert tasks_by_code(mem, opp)[f"SF-{consulting}"].get("Notes") is None


def test_budgets_under_create_only_are_left_to_bigtime(mem: Memory) -> None:
    mapping = {
        "tasks": {
            "fields": {"BudgetFees": {"update": "create_only"}, "BudgetHours": {"update": "create_only"}}
        }
    }
    opp, (consulting, _, _) = won_with_items(mem)
    mem.sync(opp, mapping)
    mem.edit_line_item(opp, consulting, Quantity=99.0)
    outcome = mem.sync(opp, mapping)
    assert outcome.bigtime_calls == 0 and outcome.tasks_updated == 0
    assert budgets(tasks_by_code(mem, opp)[f"SF-{consulting}"]) == (40.0, 6000.0)


def test_a_deleted_line_item_archives_its_task_and_clears_its_budget_never_deletes_it(mem: Memory) -> None:
    opp, (consulting, training, _) = won_with_items(mem)
    mem.sync(opp)
    mem.delete_line_item(opp, training)

    outcome = mem.sync(opp)
    assert outcome.tasks_archived == 1 and "1 task(s) archived" in outcome.message
    tasks = tasks_by_code(mem, opp)
    assert len(tasks) == 3  # still there: time may be logged on it
    gone = tasks[f"SF-{training}"]
    assert gone["IsArchived"] is True and budgets(gone) == (0, 0)
    assert not tasks[f"SF-{consulting}"]["IsArchived"]
    [project] = mem.bt.projects.values()
    assert mem.bt.budget(project["SystemId"])["BudgetFees"] == 7800.0  # what is still sold
    assert mem.item(opp)["tasks"][training]["retired"] is True
    assert mem.sync(opp).bigtime_calls == 0

    # Restored from the recycle bin: the same line item, the same task, active again with its budget.
    mem.edit_line_item(opp, training, IsDeleted=False)
    back = mem.sync(opp)
    assert back.tasks_updated == 1 and back.tasks_added == 0
    restored = tasks_by_code(mem, opp)[f"SF-{training}"]
    assert restored["IsArchived"] is False and budgets(restored) == (8.0, 960.0)


def test_an_archive_that_failed_is_done_by_the_retry(mem: Memory) -> None:
    opp, (consulting, training, _) = won_with_items(mem)
    mem.sync(opp)
    mem.edit_line_item(opp, consulting, Quantity=41.0)
    mem.delete_line_item(opp, training)
    calls = 0
    update = mem.bt.update_task

    def second_fails(task_id: int, fields: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the archive, after the budget update went through
            raise BigTimeCallError(
                "BigTime POST /task/detail/{id}: throttled (HTTP 503)", maybe_applied=False
            )
        return update(task_id, fields)

    mem.bt.update_task = second_fails  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        mem.sync(opp)
    assert not tasks_by_code(mem, opp)[f"SF-{training}"]["IsArchived"]
    assert not mem.item(opp)["tasks"][training]["retired"]  # what was not done is not recorded as done

    outcome = mem.sync(opp)
    assert (outcome.tasks_updated, outcome.tasks_archived) == (0, 1)  # the budget update is not repeated
    assert tasks_by_code(mem, opp)[f"SF-{training}"]["IsArchived"] is True
    assert budgets(tasks_by_code(mem, opp)[f"SF-{consulting}"]) == (41.0, 6150.0)


def test_removed_keep_leaves_the_task_of_a_deleted_line_item_alone(mem: Memory) -> None:
    mapping = {"tasks": {"removed": "keep"}}
    opp, (_, training, _) = won_with_items(mem)
    mem.sync(opp, mapping)
    mem.bt.log.clear()
    mem.delete_line_item(opp, training)
    outcome = mem.sync(opp, mapping)
    assert outcome.tasks_archived == 0 and "update_task" not in mem.bt.log
    assert budgets(tasks_by_code(mem, opp)[f"SF-{training}"]) == (8.0, 960.0)


def test_a_new_line_item_after_the_win_adds_a_task_looking_for_one_first(mem: Memory) -> None:
    opp, _ = won_with_items(mem)
    mem.sync(opp)
    mem.bt.log.clear()
    extra = mem.line_item(opp, "Travel", 1, 500, unit="Each")
    outcome = mem.sync(opp)
    assert outcome.tasks_added == 1 and outcome.tasks_updated == 0
    # A project recorded earlier may hold a task of ours that was never recorded: one listing first.
    assert mem.bt.log == ["list_project_tasks", "create_task"]
    assert budgets(tasks_by_code(mem, opp)[f"SF-{extra}"]) == (None, 500.0)


def test_without_line_items_the_amount_is_one_budget_task_replaced_when_line_items_come(mem: Memory) -> None:
    opp = mem.won_opportunity(Amount=48000)
    assert mem.sync(opp).tasks_added == 1
    [amount] = tasks_by_code(mem, opp).values()
    assert (amount["TaskId"], amount["TaskNm"], amount["BudgetFees"]) == (
        "SF-AMOUNT",
        "Project budget",
        48000,
    )

    mem.edit(opp, Amount=52000)
    assert mem.sync(opp).tasks_updated == 1
    assert tasks_by_code(mem, opp)["SF-AMOUNT"]["BudgetFees"] == 52000

    item = mem.line_item(opp, "Consulting", 100, 150)  # the Amount is now the line items' sum
    outcome = mem.sync(opp)
    assert (outcome.tasks_added, outcome.tasks_archived) == (1, 1)
    tasks = tasks_by_code(mem, opp)
    assert tasks["SF-AMOUNT"]["IsArchived"] is True and tasks["SF-AMOUNT"]["BudgetFees"] == 0
    assert budgets(tasks[f"SF-{item}"]) == (100.0, 15000.0)


def test_tasks_off_or_a_project_from_before_tasks_make_no_task(mem: Memory) -> None:
    opp, _ = won_with_items(mem)
    outcome = mem.sync(opp, {"tasks": {"enabled": False}})
    assert outcome.tasks_added == 0 and not mem.bt.tasks
    assert mem.sf.queried[-1] == []  # and the query asked for no line items

    older, _ = won_with_items(mem)
    mem.sync(older, {"tasks": {"enabled": False}, "team": {"enabled": False}})
    mem.store.items[f"opp#{ORG}#{older}"].pop("tasks")  # recorded by a release without tasks
    mem.bt.log.clear()
    assert mem.sync(older).tasks_added == 0 and mem.bt.log == []


def test_per_product_family_makes_one_task_per_family(mem: Memory) -> None:
    mapping = {
        "tasks": {
            "per": "product_family",
            "fields": {"TaskNm": {"field": "Product2.Family", "default": "Other"}},
        }
    }
    opp = mem.won_opportunity()
    a = mem.line_item(opp, "Consulting", 40, 150, family="Services")
    mem.line_item(opp, "Training", 8, 120, family="Services")
    mem.line_item(opp, "Licence", 1, 1800, unit="Each")
    assert mem.sync(opp, mapping).tasks_added == 2
    tasks = tasks_by_code(mem, opp)
    assert (
        budgets(tasks["SF-FAM-SERVICES"]) == (48.0, 6960.0)
        and tasks["SF-FAM-SERVICES"]["TaskNm"] == "Services"
    )
    assert budgets(tasks["SF-FAM-NONE"]) == (None, 1800.0) and tasks["SF-FAM-NONE"]["TaskNm"] == "Other"
    mem.edit_line_item(opp, a, Quantity=10.0)
    assert mem.sync(opp, mapping).tasks_updated == 1
    assert budgets(tasks_by_code(mem, opp)["SF-FAM-SERVICES"]) == (18.0, 2460.0)


# -- exactly once -----------------------------------------------------------------------------------------
def test_a_lost_task_create_answer_is_adopted_by_its_code_on_the_retry(mem: Memory) -> None:
    opp, (consulting, training, licence) = won_with_items(mem)
    mem.bt.lose_response("create_task")  # the first task: created in BigTime, the answer lost
    with pytest.raises(BigTimeCallError) as lost:
        mem.sync(opp)
    assert lost.value.maybe_applied and len(mem.bt.tasks) == 1
    task_item = mem.store.get("task", ORG, f"{opp}/{consulting}")
    assert task_item["needs_lookup"] is True and "task_id" not in task_item
    assert mem.item(opp)["tasks"] == {} and "tasks_hash" not in mem.item(opp)

    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.tasks_added == 2  # the adopted one was not "added"
    assert mem.bt.log.count("create_task") == 2 and mem.bt.log.count("list_project_tasks") == 1
    assert sorted(tasks_by_code(mem, opp)) == sorted(f"SF-{i}" for i in (consulting, training, licence))
    assert "needs_lookup" not in mem.store.get("task", ORG, f"{opp}/{consulting}")


def test_a_crash_between_bigtimes_task_and_our_record_still_makes_one_task(mem: Memory) -> None:
    opp, items = won_with_items(mem)
    die_on_record(mem.store, "task")
    with pytest.raises(Crash):
        mem.sync(opp)
    revive(mem.store)
    assert len(mem.bt.tasks) == 1  # BigTime made it; we never wrote its id down

    with pytest.raises(TransientError) as busy:  # the dead worker's claim is fresh: wait
        mem.sync(opp)
    assert busy.value.code == "claim_busy" and "task" in busy.value.reason

    mem.clock.advance(STALE + 1)
    outcome = mem.sync(opp)
    assert outcome.status == "Synced" and outcome.tasks_added == 2
    assert len(mem.bt.tasks) == 3 and mem.bt.log.count("create_task") == 3
    assert sorted(tasks_by_code(mem, opp)) == sorted(f"SF-{i}" for i in items)


def test_a_transient_failure_midway_keeps_the_tasks_made_and_the_retry_makes_the_rest(mem: Memory) -> None:
    opp, items = won_with_items(mem)
    calls = 0
    create = mem.bt.create_task

    def third_fails(fields: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise BigTimeCallError("BigTime POST /task/detail: throttled (HTTP 503)", maybe_applied=False)
        return create(fields)

    mem.bt.create_task = third_fails  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        mem.sync(opp)
    assert len(mem.bt.tasks) == 2 and set(mem.item(opp)["tasks"]) == set(items[:2])

    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert outcome.tasks_added == 1 and len(mem.bt.tasks) == 3
    assert mem.bt.log.count("create_task") == 1  # the two recorded tasks cost nothing


def test_a_task_of_ours_bigtime_already_holds_is_adopted_when_the_state_was_lost(mem: Memory) -> None:
    """The state table was emptied (a re-created stack): the project is adopted from the Opportunity's
    BigTime_Project_Id__c, and its tasks by their codes, not created twice."""
    opp, items = won_with_items(mem)
    mem.sync(opp)
    project_id = mem.sf.opportunities[opp]["BigTime_Project_Id__c"]
    mem.store.items.clear()
    mem.bt.log.clear()
    outcome = mem.sync(opp)
    assert outcome.project_id == project_id and not outcome.created_project
    assert outcome.tasks_added == 0 and len(mem.bt.tasks) == 3 and "create_task" not in mem.bt.log
    assert set(mem.item(opp)["tasks"]) == set(items)


def test_a_rejected_task_stops_the_sync_and_says_why(mem: Memory) -> None:
    opp = mem.won_opportunity()
    mem.line_item(opp, "Consulting", 10, 100)
    mem.bt.fail(
        "create_task", PermanentError("BigTime rejected the data (HTTP 400): no", code="bigtime_rejected")
    )
    outcome = mem.sync(opp)
    assert outcome.status == "Failed" and "rejected" in outcome.message
    assert mem.sf.opportunities[opp]["BigTime_Sync_Status__c"] == "Failed"
