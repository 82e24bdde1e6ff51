"""The project's tasks, and so its budget: one per plan of :func:`~sf_bigtime.mapping.task_plans.task_plans`
(line items, product families, one budget task, or the Amount), each created exactly once, their ``sync``
fields kept up to date, the tasks of deleted line items archived; nothing at all when the plans did not
change since the last sync.

Exactly once: each task is created through :func:`~sf_bigtime.sync.claims.create_once` with a claim of its
own (``task#<org>#<opportunity>/<key>``) and carries its marker in its task code (``TaskId``), so a task
whose creation was not recorded (a crash, a lost answer) is found by its code instead of created again.
What the last task sync left is on the Opportunity's item: ``tasks`` (key -> ``{id, hash, retired}``) and
``tasks_hash`` (the fingerprint of the plans then). Tasks are never deleted: time may be logged on them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.clients.store import Claim, Kind
from sf_bigtime.errors import SyncError
from sf_bigtime.mapping.fields import UpdatePolicy
from sf_bigtime.mapping.task_plans import AMOUNT_KEY, TaskPlan, task_plans
from sf_bigtime.mapping.tasks import BUDGET_FIELDS, AmountTask, TasksSection, task_policy
from sf_bigtime.mapping.transform import differences, fingerprint
from sf_bigtime.sync.claims import Made, create_once, same_code
from sf_bigtime.sync.context import SyncRun
from sf_bigtime.sync.projects import ProjectRef

TASK_ID_KEYS = ("TaskSid", "SystemId", "Id")
# Computed or display-only task fields: never sent back in an update.
_READ_ONLY = {"fullname", "tasktype_nm", "currentstatus_nm", "budgettotal", "assigncount", "assignmentnames"}


@dataclass
class TaskResult:
    """What one task sync did."""

    added: int = 0
    updated: int = 0
    archived: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskRef:
    id: int
    created: bool
    hash: str | None  # fingerprint of the `sync` values BigTime holds, as far as we know (None: unknown)
    found: BigTimeObject | None  # the task as BigTime listed it (adopted): compared without another read


def sync_tasks(run: SyncRun, project: ProjectRef) -> TaskResult:
    """Bring the project's tasks in line with the plans; only when they changed since the last sync.

    Projects recorded before tasks were synced (their item has no ``tasks``) are left as they are: their
    budget may have been entered by hand.
    """
    if not run.mapping.tasks.enabled or "tasks" not in run.state:
        return TaskResult()
    plans = task_plans(run.opp, run.mapping, run.today)
    digest = fingerprint([(p.key, p.code, p.sync.values) for p in plans])
    if run.state.get("tasks_hash") == digest:
        return TaskResult()
    known: dict[str, dict[str, Any]] = {k: dict(v) for k, v in dict(run.state.get("tasks") or {}).items()}
    work = _ProjectTasks(run, project)
    try:
        for plan in plans:
            work.ensure(plan, known)
        wanted = {p.key for p in plans}
        for key, entry in known.items():
            if key not in wanted and not entry.get("retired"):
                work.retire(key, entry)
    except SyncError:
        with contextlib.suppress(SyncError):  # keep what is done; the retry does the rest
            run.save(tasks=known)
        raise
    run.save(tasks=known, tasks_hash=digest)
    return work.result


class _ProjectTasks:
    """One sync's work on a project's tasks; lists them from BigTime at most once, and only if needed."""

    def __init__(self, run: SyncRun, project: ProjectRef) -> None:
        self.run, self.project = run, project
        self.result = TaskResult()
        self._listed: list[BigTimeObject] | None = None

    def listed(self, *, fresh: bool = False) -> list[BigTimeObject]:
        if self._listed is None or fresh:
            self._listed = self.run.bigtime.list_project_tasks(self.project.id)
        return self._listed

    def by_code(self, code: str, *, fresh: bool = False) -> BigTimeObject | None:
        return next((t for t in self.listed(fresh=fresh) if same_code(t.get("TaskId"), code)), None)

    def current(self, task_id: int) -> BigTimeObject | None:
        return next((t for t in self.listed() if bigtime_id(t, *TASK_ID_KEYS) == task_id), None)

    def ensure(self, plan: TaskPlan, known: dict[str, dict[str, Any]]) -> None:
        """The plan's task exists (created once, or adopted), with the plan's `sync` values, not archived."""
        entry = known.get(plan.key)
        found: BigTimeObject | None = None
        if entry is None:
            ref = create_once(self.run, _NewTask(self, plan))
            entry = known[plan.key] = {"id": str(ref.id), "hash": ref.hash, "retired": False}
            if ref.created:
                self.result.added += 1
                return
            found = ref.found
        reactivate = bool(entry.get("retired"))
        if entry.get("hash") == plan.sync.fingerprint() and not reactivate:
            return
        desired = self.run.resolve(plan.sync)
        if reactivate:
            desired["IsArchived"] = False
        if self.update(int(entry["id"]), desired, found):
            self.result.updated += 1
        entry.update(hash=plan.sync.fingerprint(), retired=False)

    def retire(self, key: str, entry: dict[str, Any]) -> None:
        """The task of a line item (family, Amount) that is gone: archived, its `sync` budgets set to 0."""
        section = self.run.mapping.tasks
        if section.removed == "keep":
            entry["retired"] = True
            return
        part: TasksSection | AmountTask = section.amount_task if key == AMOUNT_KEY else section
        desired: dict[str, Any] = {"IsArchived": True}
        for name in BUDGET_FIELDS:
            source = part.fields.get(name)
            if source is not None and task_policy(part, source) is UpdatePolicy.SYNC:
                desired[name] = 0
        if self.update(int(entry["id"]), desired, None):
            self.result.archived += 1
        # Only once BigTime has it (a failure above leaves it to the retry); if the line item comes back,
        # its values are compared again.
        entry.update(retired=True, hash=None)

    def update(self, task_id: int, desired: dict[str, Any], found: BigTimeObject | None) -> bool:
        """Write the desired values BigTime does not hold yet (sending the task back whole)."""
        if not desired:
            return False
        current = found if found is not None else self.current(task_id)
        if current is None:
            self.result.warnings.append(
                f"BigTime task {task_id} no longer exists (deleted in BigTime?): it was not re-created"
            )
            return False
        changes = differences(current, desired)
        if not changes:
            return False
        reply = self.run.bigtime.update_task(task_id, task_update_body(current, changes))
        if self._listed is not None:  # keep the one listing current for later plans of this sync
            self._listed = [reply if bigtime_id(t, *TASK_ID_KEYS) == task_id else t for t in self._listed]
        return True


def task_update_body(current: BigTimeObject, changes: dict[str, Any]) -> dict[str, Any]:
    """The task as BigTime showed it (computed fields left out), with the changes applied: whether BigTime
    clears the fields an update leaves out is not documented (docs/decisions.md#what-we-assume-about-bigtime)."""
    body = {
        str(k): v
        for k, v in dict(current).items()
        if not isinstance(v, dict) and str(k).lower() not in _READ_ONLY
    }
    lowered = {k.lower() for k in changes}
    return {**{k: v for k, v in body.items() if k.lower() not in lowered}, **changes}


class _NewTask:
    """A task's steps of :func:`~sf_bigtime.sync.claims.create_once`."""

    kind: Kind = "task"
    what = "task"
    id_keys: tuple[str, ...] = TASK_ID_KEYS

    def __init__(self, work: _ProjectTasks, plan: TaskPlan) -> None:
        self.work, self.plan, self.run = work, plan, work.run
        self.salesforce_id = f"{work.run.opp.id}/{plan.key}"

    def known(self, claim: Claim) -> TaskRef:
        return TaskRef(int(str(claim.existing)), False, claim.item.get("synced_hash"), None)

    def find(self, must_look_up: bool) -> BigTimeObject | None:
        # A project this sync created has no tasks of ours; any other may hold one an earlier attempt made
        # (or one made before the state table was restored): one listing serves every plan of the sync.
        if must_look_up or not self.work.project.created:
            return self.work.by_code(self.plan.code)
        return None

    def body(self) -> dict[str, Any]:
        return {
            **self.run.resolve(self.plan.create),
            "ProjectSid": self.work.project.id,
            "TaskId": self.plan.code,
        }

    def create(self, body: dict[str, Any]) -> BigTimeObject:
        return self.run.bigtime.create_task(body)

    def find_by_code(self) -> BigTimeObject | None:
        return self.work.by_code(self.plan.code, fresh=True)

    def attributes(self, made: Made) -> dict[str, Any]:
        attrs: dict[str, Any] = {"task_code": self.plan.code, "project_id": str(self.work.project.id)}
        if made.created:
            attrs["synced_hash"] = self.plan.sync.fingerprint()
        return attrs

    def result(self, made: Made) -> TaskRef:
        if made.created:
            return TaskRef(made.id, True, self.plan.sync.fingerprint(), None)
        return TaskRef(made.id, False, None, made.found)
