"""Exactly one client per Account and one project per Opportunity, under duplicate deliveries, concurrent
workers, and a worker that dies between BigTime's "created" and our record of it."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from sf_bigtime.errors import TransientError
from sf_bigtime.queue.message import SyncRequest
from sf_bigtime.sync.run import sync_opportunity
from sf_bigtime_local.lambda_runtime import LambdaContext
from tests.clock import Clock
from tests.crash import Crash, die_on_record
from tests.integration.conftest import ORG, World, sqs_record

STALE = 960.0  # SyncContext.claim_stale_after


def test_twenty_opportunities_of_one_new_account_three_deliveries_each_concurrent_workers(
    world: World, serialized_aws: None
) -> None:
    """60 deliveries (every Opportunity twice under the same delivery id — a redelivered message — and
    once under a new one — a second event), shuffled across 4 threads that each behave like a separate
    Lambda instance: own Worker, own clients and caches, real Powertools idempotency on the shared table.
    Unlike SQS FIFO, nothing here keeps one Opportunity's deliveries apart: a stronger test than production.
    A transient failure (e.g. another worker holds the claim) puts the delivery back, as SQS would."""
    account = world.account("Globex Corporation")
    opportunities = [world.won_opportunity(account, name=f"Globex – Phase {i:02d}") for i in range(20)]
    consulting, licence = world.product("Consulting", 150, "Hours"), world.product("Licence", 900, "Each")
    for i, opp in enumerate(opportunities):  # two line items each: two tasks each, and never a third
        world.line_item(opp, consulting, 10 + i)
        world.line_item(opp, licence, 1)
    pending: deque[SyncRequest] = deque()
    for round_ in range(3):
        for i, opp in enumerate(opportunities):
            delivery = f"evt-{i}-a" if round_ < 2 else f"evt-{i}-b"
            pending.append(world.request(opp, delivery))
    lock = threading.Lock()
    in_flight = 0
    results: list[tuple[str, dict[str, Any]]] = []
    retried: Counter[str] = Counter()
    errors: list[BaseException] = []

    def run(worker_index: int) -> None:
        nonlocal in_flight
        worker = world.worker()
        worker.idempotency.register_lambda_context(LambdaContext("sf-bigtime-worker", timeout_seconds=300))
        while True:
            with lock:
                if not pending:
                    if in_flight == 0:
                        return
                    request = None
                else:
                    request = pending.popleft() if worker_index % 2 else pending.pop()
                    in_flight += 1
            if request is None:
                time.sleep(0.005)
                continue
            try:
                results.append((request.delivery_id, worker.handle_record(SQSRecord(sqs_record(request)))))
            except (TransientError, IdempotencyAlreadyInProgressError) as exc:
                retried[type(exc).__name__] += 1
                with lock:
                    pending.append(request)
            except BaseException as exc:
                errors.append(exc)
                return
            finally:
                with lock:
                    in_flight -= 1

    threads = [threading.Thread(target=run, args=(i,), name=f"lambda-{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    [client] = world.bt.clients
    assert client["Nm"] == "Globex Corporation"
    projects = world.bt.projects
    assert len(projects) == 20
    assert sorted(p["ProjectCode"] for p in projects) == sorted(f"SF-{o}" for o in opportunities)
    assert {p["ClientId"] for p in projects} == {client["SystemId"]}
    for project in projects:
        assert sorted(c["Tag"] for c in world.bt.project_contacts(project["SystemId"])) == [
            "BILLING",
            "PRIMARY",
        ]
    by_code = {p["ProjectCode"]: p["SystemId"] for p in projects}
    for opp in opportunities:
        record = world.sf.get("Opportunity", opp)
        assert record["BigTime_Sync_Status__c"] == "Synced"
        assert record["BigTime_Project_Id__c"] == str(by_code[f"SF-{opp}"])
    related = world.sf.query("SELECT Opportunity__c FROM BigTime_Project__c")["records"]
    assert sorted(r["Opportunity__c"] for r in related) == sorted(opportunities)

    assert len(results) == 60 and all(r["status"] == "Synced" for _, r in results)
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for delivery, result in results:
        by_delivery.setdefault(delivery, []).append(result)
    # The redelivered message got the first run's outcome replayed (Powertools idempotency), not a rerun.
    assert all(len(runs) == 2 and runs[0] == runs[1] for d, runs in by_delivery.items() if d.endswith("-a"))
    first_runs = [runs[0] for runs in by_delivery.values()]
    assert sum(r["created_project"] for r in first_runs) == 20
    assert sum(r["created_client"] for r in first_runs) == 1
    # BigTime saw exactly one client create and twenty project creates: no create was ever repeated.
    creates = Counter(c.route for c in world.bt.calls if c.method == "POST")
    assert creates["/client/detail"] == 1 and creates["/project/detail"] == 20
    assert creates["/project/contact"] == 40
    assert creates["/task/detail"] == 40  # two tasks per project, each created once
    for i, opp in enumerate(opportunities):
        made = world.bt.tasks(by_code[f"SF-{opp}"])
        assert sorted((t["TaskNm"], t["BudgetHours"]) for t in made) == [
            ("Consulting", 10.0 + i),
            ("Licence", None),
        ]


def test_crash_after_bigtimes_create_before_the_record_still_one_project(world: World) -> None:
    opp = world.won_opportunity()
    clock = Clock()
    dying = world.context(clock=clock)
    die_on_record(dying.store, "opp")
    with pytest.raises(Crash):
        sync_opportunity(world.request(opp), dying)
    assert len(world.bt.projects) == 1  # BigTime did create it; we never wrote its id down

    # While the dead worker's claim is fresh, a redelivery waits (it cannot tell dead from slow).
    with pytest.raises(TransientError) as busy:
        sync_opportunity(world.request(opp), world.context(clock=clock))
    assert busy.value.code == "claim_busy"  # retried with the queue's exponential backoff

    clock.advance(STALE + 1)  # SQS redelivers after the claim went stale
    outcome = sync_opportunity(world.request(opp), world.context(clock=clock))
    assert outcome.status == "Synced" and not outcome.created_project
    [project] = world.bt.projects
    assert outcome.project_id == str(project["SystemId"])
    assert world.sf.get("Opportunity", opp)["BigTime_Project_Id__c"] == str(project["SystemId"])
    # The marker lookup found it by its code: one list call, no create.
    assert [c.route for c in world.bt.calls if c.method == "POST"].count("/project/detail") == 1
    item = world.contexts[-1].store.get("opp", ORG, opp)
    assert item["project_id"] == str(project["SystemId"]) and "claim_token" not in item


def test_crash_after_bigtimes_task_create_before_the_record_still_one_task(world: World) -> None:
    opp = world.won_opportunity()
    entry = world.product("Consulting", 150, "Hours")
    items = [world.line_item(opp, entry, 40), world.line_item(opp, entry, 8)]
    clock = Clock()
    dying = world.context(clock=clock)
    die_on_record(dying.store, "task")
    with pytest.raises(Crash):
        sync_opportunity(world.request(opp), dying)
    [project] = world.bt.projects
    assert len(world.bt.tasks(project["SystemId"])) == 1  # BigTime made it; its id was never written down

    with pytest.raises(TransientError) as busy:  # the dead worker's task claim is fresh: wait
        sync_opportunity(world.request(opp), world.context(clock=clock))
    assert busy.value.code == "claim_busy"

    clock.advance(STALE + 1)
    outcome = sync_opportunity(world.request(opp), world.context(clock=clock))
    assert outcome.status == "Synced" and outcome.tasks_added == 1  # the other one was adopted
    made = world.bt.tasks(project["SystemId"])
    assert sorted(t["TaskId"] for t in made) == sorted(f"SF-{i}" for i in items)
    assert [c.route for c in world.bt.calls if c.method == "POST"].count("/task/detail") == 2
    item = world.contexts[-1].store.get("task", ORG, f"{opp}/{items[0]}")
    assert item["task_id"] == str(next(t["TaskSid"] for t in made if t["TaskId"] == f"SF-{items[0]}"))


def test_crash_with_auto_numbered_codes_is_found_by_the_custom_field_marker(world: World) -> None:
    world.bt.configure(auto_number_projects=True)
    mapping = {"project": {"code": None, "opportunity_id_field": "Salesforce Opportunity Id"}}
    opp = world.won_opportunity()
    clock = Clock()
    dying = world.context(clock=clock, mapping=mapping)
    die_on_record(dying.store, "opp")
    with pytest.raises(Crash):
        sync_opportunity(world.request(opp), dying)
    [project] = world.bt.projects
    assert project["ProjectCode"] == "P-00001"  # BigTime numbered it; the code is no marker of ours
    # another project of another client with the same name is never a candidate
    other = world.bt.create_client({"Nm": "Someone Else"})
    world.bt.create_project({"Nm": project["Nm"], "ClientId": other["SystemId"]})

    clock.advance(STALE + 1)
    outcome = sync_opportunity(world.request(opp), world.context(clock=clock, mapping=mapping))
    assert outcome.status == "Synced" and not outcome.created_project
    assert outcome.project_id == str(project["SystemId"]) and len(world.bt.projects) == 2
    assert (
        world.bt.custom_fields(project["SystemId"])["Salesforce Opportunity Id"] == opp
    )  # the marker is written now


def test_marker_lookup_never_guesses_between_two_unmarked_candidates(world: World) -> None:
    world.bt.configure(auto_number_projects=True)
    mapping = {"project": {"code": None, "opportunity_id_field": "Salesforce Opportunity Id"}}
    opp = world.won_opportunity()
    clock = Clock()
    dying = world.context(clock=clock, mapping=mapping)
    die_on_record(dying.store, "opp")
    with pytest.raises(Crash):
        sync_opportunity(world.request(opp), dying)
    [first] = world.bt.projects
    twin = world.bt.create_project({"Nm": first["Nm"], "ClientId": first["ClientId"]})  # made by a person

    clock.advance(STALE + 1)
    outcome = sync_opportunity(world.request(opp), world.context(clock=clock, mapping=mapping))
    assert outcome.status == "Failed"
    assert str(first["SystemId"]) in outcome.message and str(twin["SystemId"]) in outcome.message
    assert "Salesforce Opportunity Id" in world.sf.get("Opportunity", opp)["BigTime_Sync_Message__c"]
    assert len(world.bt.projects) == 2  # nothing created on a guess


def test_crash_after_the_client_was_created_still_one_client(world: World) -> None:
    opp = world.won_opportunity()
    clock = Clock()
    dying = world.context(clock=clock)
    die_on_record(dying.store, "acct")
    with pytest.raises(Crash):
        sync_opportunity(world.request(opp), dying)
    assert len(world.bt.clients) == 1 and world.bt.projects == []
    clock.advance(STALE + 1)
    outcome = sync_opportunity(world.request(opp), world.context(clock=clock))
    assert outcome.status == "Synced" and not outcome.created_client and outcome.created_project
    assert len(world.bt.clients) == 1 and len(world.bt.projects) == 1


def test_create_that_timed_out_but_was_applied_is_adopted(world: World) -> None:
    # BigTime creates the project, then answers too late: the caller sees a read timeout.
    world.bt.faults.add(method="POST", path="/project/detail$", status=0, after=True, delay=0.8)
    opp = world.won_opportunity()
    with pytest.raises(TransientError, match="ReadTimeout"):
        sync_opportunity(world.request(opp), world.context(timeout=0.3))
    time.sleep(0.6)  # let the fake finish its late answer before the retry (a short wait, not a poll)
    assert len(world.bt.projects) == 1
    outcome = sync_opportunity(world.request(opp), world.context())
    assert outcome.status == "Synced" and not outcome.created_project and len(world.bt.projects) == 1
