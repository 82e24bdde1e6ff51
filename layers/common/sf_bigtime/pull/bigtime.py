"""Reading BigTime's figures politely: the project list, each project's budget status and team lead, or one
saved report with a row per project.

Politeness (docs/decisions.md#pulling-bigtimes-figures): the pull's client is limited to half of the
stack's BigTime rate (:func:`pull_limiter`), so syncs always have the other half; a 429/503 is waited out
(``Retry-After``, else a short backoff) a few times and then the run stops, keeping what it has read; a
deadline ends a scheduled run before Lambda would. 401 and 405 stop the run at once (:class:`BigTimeRefused`):
no project can be read with credentials BigTime refuses, and a person must fix them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sf_bigtime.clients.bigtime import BigTimeCallError, BigTimeClient
from sf_bigtime.clients.ratebudget import BudgetSettings, RateBudget, rate_budget
from sf_bigtime.errors import PermanentError, SyncError
from sf_bigtime.pull.aliases import Parsed, describe_shape, lowered, read_row
from sf_bigtime.pull.fields import NUMBER_FIGURES, number

T = TypeVar("T")
LIST_FIGURES = (
    "project_id",
    "start_date",
    "end_date",
    "inactive",
    "status_id",
    "billing_status_id",
    "modified",
)
STATUS_LISTS = ("StatusProduction", "StatusBilling")
STATUS_TTL_SECONDS = 3600.0  # status names change rarely; each list read is a rate-limited call


HasBigTimeRate = BudgetSettings  # the state table, the firm's BigTime rate, the worker's concurrency


def pull_limiter(settings: HasBigTimeRate) -> RateBudget:
    """The pull's share of BigTime: the firm-wide rate budget in the state table, as caller ``pull`` (at most
    half of ``BigTimeCallsPerMinute``, and only while no sync is waiting), so syncs always win
    (docs/decisions.md#one-bigtime-rate-budget-for-the-firm)."""
    return rate_budget(settings, "pull")


class BigTimeRefused(PermanentError):
    """BigTime refuses the credentials (401) or the permission (405): the whole run fails, with an alarm."""


class Stop(Exception):
    """The run must stop now (repeated throttling, or its time is up); what was read so far is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProjectError(Exception):
    """One project could not be read. ``kind``: gone (404), shape (a reply we cannot read), bad (a value we
    cannot read), unavailable (timeout, 5xx: try again next run)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class Guard:
    """Wraps every BigTime call: the deadline, and the throttling rule (wait, then stop after ``max_throttles``
    in a row). ``sleep`` and ``clock`` are injectable so tests never wait."""

    deadline: float | None = None  # on ``clock``
    max_throttles: int = 3
    backoff_seconds: float = 5.0
    max_wait_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    throttles: int = 0  # all throttled answers this run
    waited: float = 0.0
    _in_a_row: int = 0

    def call(self, what: str, fn: Callable[[], T]) -> T:
        while True:
            if self.deadline is not None and self.clock() >= self.deadline:
                raise Stop("the run's time was up")
            try:
                result = fn()
            except BigTimeCallError as exc:
                if not exc.throttled:
                    raise
                self.throttles += 1
                self._in_a_row += 1
                if self._in_a_row >= self.max_throttles:
                    raise Stop(f"BigTime throttled {self._in_a_row} calls in a row ({what})") from None
                asked = exc.retry_after
                wait = min(
                    self.max_wait_seconds, self.backoff_seconds * self._in_a_row if asked is None else asked
                )
                if self.deadline is not None and self.clock() + wait >= self.deadline:
                    raise Stop(f"BigTime throttled {what} and the run's time is up") from None
                self.sleep(wait)
                self.waited += wait
                continue
            except SyncError as exc:
                _raise_refused(exc)
                raise
            self._in_a_row = 0
            return result


def _raise_refused(exc: SyncError) -> None:
    if exc.code == "bigtime_auth":
        raise BigTimeRefused(
            f"{exc.reason}. Nothing was pulled; fix the BigTime API key in the stack's BigTime secret",
            code="bigtime_auth",
        ) from None
    if exc.code == "bigtime_forbidden":
        raise BigTimeRefused(
            f"{exc.reason}. Nothing more was pulled; the API key's staffer needs to see projects, "
            "budgets, teams and reports",
            code="bigtime_forbidden",
        ) from None


@dataclass
class Listed:
    """A project as BigTime's project list shows it."""

    project_id: str
    values: dict[str, Any]  # start_date, end_date, inactive, status_id, billing_status_id, modified

    @property
    def inactive(self) -> bool:
        return bool(self.values.get("inactive"))


@dataclass
class ReportRows:
    """A saved report read through the mapping's columns."""

    rows: dict[str, Parsed] = field(default_factory=dict)  # project id -> the row
    problems: list[str] = field(default_factory=list)  # rows that name no readable project
    missing_columns: list[str] = field(default_factory=list)  # mapped columns absent from FieldList
    columns: list[str] = field(default_factory=list)  # the report's FieldList, as BigTime sent it
    unknown_shape: bool = False


@dataclass
class BigTimeReader:
    """What the pull reads from BigTime, each read through the guard (one per run or warm Lambda)."""

    client: BigTimeClient
    guard: Guard = field(default_factory=Guard)
    clock: Callable[[], float] = time.monotonic
    _statuses: tuple[float, dict[str, dict[int, str]]] | None = None

    def _get(self, what: str, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.guard.call(what, lambda: self.client.request("GET", path, params=params))

    def projects(self) -> tuple[dict[str, Listed], list[str]]:
        """Every project BigTime lists (inactive too), and the problems of rows that could not be read."""
        data = self._get("the project list", "/project", {"ShowInactive": "true"})
        if not isinstance(data, list):
            raise ProjectError("shape", f"the project list was {describe_shape(data)}, not a list")
        listed: dict[str, Listed] = {}
        problems = []
        for row in data:
            parsed = read_row(row, LIST_FIGURES) if isinstance(row, Mapping) else Parsed()
            pid = parsed.values.get("project_id")
            if pid is None:
                problems.append(f"a project list row without a readable id: {describe_shape(row)}")
                continue
            listed[pid] = Listed(pid, parsed.values)
        return listed, problems

    def status_names(self) -> dict[str, dict[int, str]]:
        """Production and billing status names by id (inactive values too), cached for an hour."""
        now = self.clock()
        if self._statuses is not None and now - self._statuses[0] < STATUS_TTL_SECONDS:
            return self._statuses[1]
        names: dict[str, dict[int, str]] = {}
        for list_name in STATUS_LISTS:
            path = f"/picklist/FieldValues/{list_name}"
            items = self._get(f"the {list_name} list", path, {"ShowInactive": "true"})
            names[list_name] = {}
            for item in items if isinstance(items, list) else []:
                row = lowered(item) if isinstance(item, Mapping) else {}
                try:
                    names[list_name][int(str(row.get("id")))] = str(row.get("name") or "").strip()
                except (TypeError, ValueError):
                    continue
        self._statuses = (now, names)
        return names

    def figures(self, project_id: str) -> dict[str, float]:
        """The project's budgets and actuals: BudgetStatusByProject's rows (one per task) summed."""
        data = self._project_get(project_id, "its budget status", f"/task/BudgetStatusByProject/{project_id}")
        if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
            raise ProjectError("shape", f"its budget status was {describe_shape(data)}, not a list of rows")
        totals: dict[str, float] = {}
        recognised = not data  # no tasks and no work: every figure is zero
        for row in data:
            parsed = read_row(row, NUMBER_FIGURES)
            if parsed.bad:
                raise ProjectError("bad", f"its budget status has values we cannot read: {parsed.problem()}")
            recognised = recognised or parsed.recognised
            for figure, value in parsed.values.items():
                totals[figure] = (totals.get(figure) or 0.0) + (value or 0.0)
        if not recognised:
            raise ProjectError(
                "shape", f"its budget status rows name no figure we know: {describe_shape(data[0])}"
            )
        if not data:
            return dict.fromkeys(NUMBER_FIGURES, 0.0)
        return {figure: number(value) or 0.0 for figure, value in totals.items()}

    def lead(self, project_id: str) -> str | None:
        """The name of the project's team lead (None without one)."""
        data = self._project_get(project_id, "its team", f"/project/Team/{project_id}")
        if not isinstance(data, list):
            raise ProjectError("shape", f"its team was {describe_shape(data)}, not a list")
        for row in data:
            if isinstance(row, Mapping):
                parsed = read_row(row, ("team_lead", "staff_name"))
                if parsed.values.get("team_lead") is True:
                    return parsed.values.get("staff_name")
        return None

    def exists(self, project_id: str) -> bool:
        """Whether BigTime still has the project (its detail answers; 404 means deleted)."""
        try:
            self._project_get(project_id, "the project", f"/project/detail/{project_id}")
        except ProjectError as exc:
            if exc.kind == "gone":
                return False
            raise
        return True

    def report(self, report_id: int, columns: Mapping[str, str]) -> ReportRows:
        """A saved report's rows read through ``columns`` (figure -> FieldNm, case-insensitive)."""
        data = self._get(f"report {report_id}", f"/report/data/{report_id}")
        out = ReportRows()
        record = lowered(data) if isinstance(data, Mapping) else {}
        field_list, rows = record.get("fieldlist"), record.get("data")
        if not isinstance(field_list, list) or not isinstance(rows, list):
            out.unknown_shape = True
            out.problems.append(f"report {report_id} was {describe_shape(data)}, not FieldList and Data")
            return out
        names = [str(lowered(f).get("fieldnm") or "") if isinstance(f, Mapping) else "" for f in field_list]
        present = {n.lower() for n in names}
        out.columns = [n for n in names if n]
        out.missing_columns = [c for c in columns.values() if c.lower() not in present]
        for index, row in enumerate(rows):
            if isinstance(row, list) and len(row) == len(names):
                row = dict(zip(names, row, strict=True))
            if not isinstance(row, Mapping):
                out.problems.append(f"report row {index} is {describe_shape(row)}")
                continue
            parsed = read_row(row, columns, columns)
            pid = parsed.values.get("project_id")
            if pid is None:
                out.problems.append(
                    f"report row {index} has no readable project id ({parsed.problem() or 'missing'})"
                )
                continue
            out.rows[pid] = parsed
        return out

    def _project_get(self, project_id: str, what: str, path: str) -> Any:
        try:
            return self._get(f"project {project_id}: {what}", path)
        except BigTimeRefused:
            raise
        except SyncError as exc:
            if exc.code == "bigtime_not_found":
                raise ProjectError("gone", f"BigTime has no project {project_id} (HTTP 404)") from None
            if isinstance(exc, PermanentError):
                raise ProjectError("bad", f"BigTime refused to read {what}: {exc.reason}") from None
            raise ProjectError("unavailable", f"reading {what} failed: {exc.reason}") from None
