"""One pull: read the records in Salesforce, read BigTime (per project or one report), write what changed.

The order of a run, and why:

1. One SOQL read of the BigTime Project records (stalest first). Without any, the run ends here (an idle
   stack's schedule costs one Salesforce call and nothing else). Its reply carries ``Sforce-Limit-Info``:
   a scheduled run above the org's API budget (80 % of the daily allocation by default) stops here, so
   the figures never compete with the firm's own integrations for the last calls of the day.
2. BigTime, through :class:`~sf_bigtime.pull.bigtime.BigTimeReader` (half the stack's rate, throttling
   waited out, then a stop that keeps what was read).
3. The rows that changed (:mod:`sf_bigtime.pull.plan`) written in collections (:mod:`sf_bigtime.pull.salesforce`);
   records Salesforce refuses get the reason in ``Pull_Message__c`` (one more call, only then).
4. The read times saved (:mod:`sf_bigtime.pull.progress`), so the next run starts where this one stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sf_bigtime.clients.salesforce import PROJECT_KEY_FIELD, SalesforceClient
from sf_bigtime.errors import PermanentError
from sf_bigtime.mapping.pull import PullSection
from sf_bigtime.pull import plan
from sf_bigtime.pull.bigtime import BigTimeReader, ProjectError, Stop
from sf_bigtime.pull.fields import MESSAGE_LENGTH, PULL_MESSAGE
from sf_bigtime.pull.progress import Progress
from sf_bigtime.pull.salesforce import ProjectRecord, RecordResult, Scope, read_projects, write

Progressed = Callable[[int, int], None]
MAX_LISTED = 200  # per list in a report (--json); the counts are always complete


class PullFailed(PermanentError):
    """The run could not pull anything useful (BigTime answered nothing usable); nothing was written."""


@dataclass
class PullReport:
    """What one run did; counts are complete, the lists hold the first :data:`MAX_LISTED` entries."""

    scope: str
    mode: str
    dry_run: bool = False
    scheduled: bool = False
    examined: int = 0  # BigTime Project records read from Salesforce
    read: int = 0  # projects whose figures were read from BigTime
    changed: int = 0  # records with a change to write (figures, status, message)
    heartbeats: int = 0  # records written only to refresh Last_Pulled__c
    written: int = 0  # records Salesforce accepted
    failed: int = 0  # records Salesforce refused
    opportunities: int = 0  # Opportunities the opt-in copies wrote
    deleted: int = 0  # projects newly marked deleted in BigTime
    problems: int = 0  # projects whose figures could not be read (bad values, unknown shapes)
    unknown_shapes: int = 0  # BigTime replies we could not read at all
    throttled: int = 0  # BigTime's 429/503 answers
    stopped: str | None = None  # why the run ended early (throttling, time); the rest waits for the next
    skipped: str | None = None  # why a scheduled run did nothing (Salesforce API budget)
    staleness_seconds: float | None = None
    stalest_project: str | None = None
    salesforce_calls: int = 0
    bigtime_calls: int = 0
    api_usage: tuple[int, int] | None = None
    warnings: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    project_problems: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # what was (or would be) written

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Puller:
    """Pulls for one stack; built once per warm Lambda (or CLI run) and reused."""

    salesforce: SalesforceClient
    reader: BigTimeReader
    section: PullSection
    progress: Progress | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    api_budget_percent: float = 80.0

    def run(
        self,
        scope: Scope | None = None,
        *,
        scheduled: bool = False,
        dry_run: bool = False,
        on_progress: Progressed | None = None,
    ) -> PullReport:
        scope = scope or Scope()
        report = PullReport(scope.describe(), self.section.mode, dry_run=dry_run, scheduled=scheduled)
        sf_before, bt_before = self.salesforce.calls, self.reader.client.calls
        throttles_before = self.reader.guard.throttles
        try:
            self._run(scope, report, on_progress)
        finally:
            report.salesforce_calls = self.salesforce.calls - sf_before
            report.bigtime_calls = self.reader.client.calls - bt_before
            report.throttled = self.reader.guard.throttles - throttles_before
            report.api_usage = self.salesforce.api_usage
        return report

    # -- the steps ------------------------------------------------------------------------------------
    def _run(self, scope: Scope, report: PullReport, on_progress: Progressed | None) -> None:
        now = self.now()
        forget_before = now - timedelta(days=self.section.deleted_grace_days)
        copies = self.section.opportunity
        records = read_projects(self.salesforce, scope, list(copies), forget_before)
        report.examined = len(records)
        if not records:  # nothing to pull (no project synced yet): no BigTime call, no read times to keep
            return
        checked = self.progress.load() if self.progress is not None else {}
        if report.scheduled and self._over_budget(report):
            report.staleness_seconds, report.stalest_project = plan.staleness(records, checked, now)
            return
        seen: dict[str, plan.Observation] = {}
        try:
            if self.section.mode == "report":
                self._read_report(records, scope, checked, seen, report)
            else:
                self._read_per_project(records, scope, checked, seen, report, on_progress)
        except Stop as stop:
            report.stopped = stop.reason
            report.warnings.append(f"stopped early: {stop.reason}; the next run continues with the stalest")
        except ProjectError as exc:  # the list or report itself came back in a shape we cannot read
            report.unknown_shapes += 1
            report.warnings.append(f"nothing could be read from BigTime: {exc.reason}")
        refused = self._write(records, seen, now, report)
        for pid, observation in seen.items():
            if observation.read and pid not in refused:  # Salesforce shows these figures now
                checked[pid] = now.timestamp()
        if self.progress is not None and not report.dry_run and scope.everything:
            self.progress.save(checked)
        report.staleness_seconds, report.stalest_project = plan.staleness(records, checked, now)

    def _over_budget(self, report: PullReport) -> bool:
        usage = self.salesforce.api_usage
        if usage is None or usage[1] <= 0:
            return False
        used, allowed = usage
        if used * 100 < allowed * self.api_budget_percent:
            return False
        report.skipped = (
            f"the org has used {used} of its {allowed} daily API calls (over {self.api_budget_percent:g} %): "
            "scheduled pulls wait until usage drops; `sf-bigtime pull` still runs"
        )
        return True

    def _read_per_project(
        self,
        records: list[ProjectRecord],
        scope: Scope,
        checked: dict[str, float],
        seen: dict[str, plan.Observation],
        report: PullReport,
        on_progress: Progressed | None,
    ) -> None:
        reader = self.reader
        listed, problems = reader.projects()
        report.warnings += problems[:MAX_LISTED]
        report.unknown_shapes += len(problems)
        if records and not listed:
            raise PullFailed(
                "BigTime listed no projects at all, though Salesforce has BigTime Project records: the API "
                "key's staffer may not see projects (give it that permission); nothing was written",
                code="bigtime_no_projects",
            )
        statuses = reader.status_names()
        for record in records:  # the list's own figures (status, dates, inactive) cost nothing more
            if record.project_id in listed:
                values = plan.list_values(listed[record.project_id], statuses)
                seen[record.project_id] = plan.Observation(values=values)
        self._confirm_missing([r for r in records if r.project_id not in listed], seen, report)
        due = plan.due_per_project(
            records, listed, statuses, checked, self.now(), self.section, scope.everything
        )
        for done, item in enumerate(due, start=1):
            observation = seen[item.record.project_id]
            self._read_one(item.record.project_id, item.with_lead, observation, report)
            if on_progress is not None:
                on_progress(done, len(due))

    def _read_one(self, pid: str, with_lead: bool, observation: plan.Observation, report: PullReport) -> None:
        try:
            observation.values.update(self.reader.figures(pid))
            observation.read = True
            if with_lead:
                observation.values["lead"] = self.reader.lead(pid)
        except ProjectError as exc:
            self._project_error(pid, exc, observation, report)

    def _project_error(
        self, pid: str, exc: ProjectError, observation: plan.Observation, report: PullReport
    ) -> None:
        if exc.kind == "gone":
            observation.gone = True
            report.deleted += 1
        elif exc.kind == "unavailable":
            observation.read = False  # try again next run; nothing is said on the record
            report.warnings.append(f"project {pid}: {exc.reason}")
        else:
            observation.problem = f"BigTime's figures could not be read: {exc.reason}"
            report.problems += 1
            report.unknown_shapes += exc.kind == "shape"
            if len(report.project_problems) < MAX_LISTED:
                report.project_problems.append({"project_id": pid, "problem": exc.reason})

    def _confirm_missing(
        self,
        missing: list[ProjectRecord],
        seen: dict[str, plan.Observation],
        report: PullReport,
        due: Callable[[ProjectRecord], bool] | None = None,
    ) -> None:
        """Records whose project BigTime did not list: a 404 on the project itself confirms the deletion
        (a list can be cut short; a deletion is written once), and a project that answers is read on its
        own. Records already marked deleted are left alone; ``due`` limits how often the others are asked."""
        for record in missing:
            if record.deleted or (due is not None and not due(record)):
                continue
            observation = seen.setdefault(record.project_id, plan.Observation())
            try:
                if not self.reader.exists(record.project_id):
                    observation.gone = True
                    report.deleted += 1
                else:
                    self._read_one(record.project_id, True, observation, report)
            except ProjectError as exc:
                self._project_error(record.project_id, exc, observation, report)

    def _read_report(
        self,
        records: list[ProjectRecord],
        scope: Scope,
        checked: dict[str, float],
        seen: dict[str, plan.Observation],
        report: PullReport,
    ) -> None:
        settings = self.section.report
        columns = settings.column_of()
        assert settings.id is not None  # the mapping requires it in report mode
        rows = self.reader.report(settings.id, columns)
        report.warnings += rows.problems[:MAX_LISTED]
        report.unknown_shapes += len(rows.problems)
        if rows.missing_columns:
            report.warnings.append(
                f"report {settings.id} has no column {', '.join(rows.missing_columns)}: those figures are not "
                "pulled (fix pull.report.columns, or the report; `sf-bigtime check` lists its columns)"
            )
        if rows.unknown_shape:
            return
        if records and scope.everything and not rows.rows:
            raise PullFailed(
                f"BigTime report {settings.id} returned no project rows, though Salesforce has BigTime "
                "Project records: check the report's filters and that the API key's staffer may see "
                "projects; nothing was written",
                code="bigtime_no_projects",
            )
        statuses: dict[str, dict[int, str]] | None = None
        missing = []
        for record in records:
            parsed = rows.rows.get(record.project_id)
            if parsed is None:
                missing.append(record)
                continue
            values = {k: v for k, v in parsed.values.items() if k != "project_id"}
            for figure, list_name in (("status", "StatusProduction"), ("billing_status", "StatusBilling")):
                value = values.get(figure)
                if isinstance(value, str) and value.isdigit():  # a column of ids rather than names
                    statuses = statuses or self.reader.status_names()
                    values[figure] = statuses[list_name].get(int(value), value)
            observation = plan.Observation(values=values, read=True)
            if parsed.bad:
                observation.problem = f"BigTime's report row could not be read: {parsed.problem()}"
                report.problems += 1
                if len(report.project_problems) < MAX_LISTED:
                    report.project_problems.append(
                        {"project_id": record.project_id, "problem": parsed.problem()}
                    )
            seen[record.project_id] = observation
        # A report's filters may leave projects out (inactive ones, say): those are looked up, and read
        # on their own, once per heartbeat rather than on every run.
        now, every = self.now(), timedelta(hours=self.section.heartbeat_hours)
        self._confirm_missing(
            missing,
            seen,
            report,
            due=lambda r: not scope.everything or (plan.last_read(r, checked) or plan.EPOCH) <= now - every,
        )

    def _write(
        self,
        records: list[ProjectRecord],
        seen: dict[str, plan.Observation],
        now: datetime,
        report: PullReport,
    ) -> set[str]:
        """Write what changed; return the BigTime ids of the records Salesforce refused."""
        by_id = {r.project_id: r for r in records}
        rows = []
        for pid, observation in seen.items():
            record = by_id.get(pid)
            row = plan.project_row(record, observation, now, self.section) if record else None
            if row is None:
                continue
            rows.append(row)
            if set(row) <= {PROJECT_KEY_FIELD, "Last_Pulled__c"}:
                report.heartbeats += 1
            else:
                report.changed += 1
        report.read = sum(1 for o in seen.values() if o.read)
        opportunities = plan.opportunity_rows(records, seen, self.section.opportunity)
        report.rows = [*rows[:MAX_LISTED], *opportunities[: max(0, MAX_LISTED - len(rows))]]
        if report.dry_run or not (rows or opportunities):
            return set()
        results = write(self.salesforce, rows, opportunities)
        self._tally(results, by_id, report)
        return {r.key for r in results if not r.ok and r.sobject != "Opportunity"}

    def _tally(
        self, results: list[RecordResult], by_id: dict[str, ProjectRecord], report: PullReport
    ) -> None:
        refused = [r for r in results if not r.ok]
        report.written = sum(1 for r in results if r.ok and r.sobject != "Opportunity")
        report.opportunities = sum(1 for r in results if r.ok and r.sobject == "Opportunity")
        report.failed = len(refused)
        report.failures = [asdict(r) for r in refused[:MAX_LISTED]]
        # Say on each refused record why (one more call, only when something was refused); a record whose
        # message already says so is not written again.
        notes = []
        for result in refused:
            record = by_id.get(result.key) if result.sobject != "Opportunity" else None
            message = f"Salesforce refused the pulled figures: {result.error}"[:MESSAGE_LENGTH]
            if record is not None and record.get(PULL_MESSAGE) != message:
                notes.append({PROJECT_KEY_FIELD: record.project_id, PULL_MESSAGE: message})
        if notes:
            for note in write(self.salesforce, notes):
                if not note.ok:
                    report.warnings.append(f"project {note.key}: could not record the refusal: {note.error}")
