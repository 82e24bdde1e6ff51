"""`sf-bigtime status | backfill | reconcile | redrive`: operate a deployed stack or the local one.

Which stack: ``--stack-name NAME`` (or ``SF_BIGTIME_STACK_NAME``) means the deployed CloudFormation stack,
read with your default AWS credentials (``--profile``, ``--region``). Without it, the commands use the
local stack described by ``.local/stack.json`` (``--state-file``); ``--local`` forces that even when
``SF_BIGTIME_STACK_NAME`` is set. Every command prints what it acted on first.

Output is for people by default; ``--json`` prints one JSON document on stdout (progress and errors go to
stderr). Exit status: 0 done, 1 failed (or, for ``status``, the stack has no record of the Opportunity),
2 bad usage.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

from sf_bigtime.sfid import is_salesforce_id
from sf_bigtime_ops.cli.options import Target, stack_options
from sf_bigtime_ops.stackinfo import Stack, StackError

LIST_LIMIT = 25  # rows per section in human output; --json has everything


# -- status -----------------------------------------------------------------------------------------
@click.command()
@click.argument("opportunity_id")
@click.option("--org-id", help="Salesforce org id, when the stack serves several orgs.")
@click.option("--no-salesforce", is_flag=True, help="Only the stack's record; do not read the Opportunity.")
@stack_options()
def status(target: Target, opportunity_id: str, org_id: str | None, no_salesforce: bool) -> None:
    """Mapping, last outcome, attempts, last error, timestamps and API calls of one Opportunity.

    Exits 1 if the stack has no record of it (never synced).
    """
    from sf_bigtime.reconcile.sweep import org_id_of
    from sf_bigtime_ops.status import opportunity_status

    if not is_salesforce_id(opportunity_id, "006"):
        raise click.BadParameter(
            "not an Opportunity id (006…, 15 or 18 characters)", param_hint="OPPORTUNITY_ID"
        )
    stack = target.open()
    salesforce = None if no_salesforce else stack.salesforce
    org = org_id or stack.single_org_id()
    if org is None:
        if salesforce is None:
            raise click.UsageError("the stack serves several orgs: pass --org-id")
        org = org_id_of(salesforce)
    trigger = None
    if salesforce is not None:
        try:
            trigger = stack.trigger()
        except StackError as exc:  # the stack's record is still worth showing
            click.secho(f"warning: {exc}", fg="yellow", err=True)
    report = opportunity_status(stack.store, org, opportunity_id, salesforce=salesforce, trigger=trigger)
    if target.as_json:
        _print_json(stack, report)
    else:
        _print_status(stack, report)
    if not report["known"]:
        sys.exit(1)


def _print_status(stack: Stack, r: dict[str, Any]) -> None:
    click.secho(f"Opportunity {r['opportunity_id']} · org {r['org_id']} · {stack.info.describe()}", bold=True)
    outcome = r["last_outcome"]
    rows = [
        ("BigTime project", r["mapping"]["project_id"]),
        ("BigTime client", r["mapping"]["client_id"]),
        ("last outcome", outcome["status"]),
        ("  reason", outcome["reason"]),
        ("  at", outcome["at"]),
        ("  from", f"{outcome['source']} · delivery {outcome['delivery_id']}" if outcome["source"] else None),
        ("attempts", r["attempts"]),
        ("last error", r["last_error"]),
        ("  at", r["last_error_at"]),
        ("last success", r["last_success_at"]),
        ("first seen", r["first_seen_at"]),
        ("updated", r["updated_at"]),
        ("claimed since", (r["claim"] or {}).get("since")),
        (
            "API calls (last sync)",
            f"Salesforce {r['api_calls_last_sync']['salesforce']}, BigTime {r['api_calls_last_sync']['bigtime']}"
            if r["api_calls_last_sync"]["salesforce"] is not None
            else None,
        ),
    ]
    rows += [("warning", w) for w in r["warnings"]]
    sf = r["salesforce"]
    if sf is not None:
        if "error" in sf:
            rows.append(("Salesforce", sf["error"]))
        else:
            rows += [
                ("Salesforce", f"{sf['name']} ({sf['account']}) · stage {sf['stage']}"),
                ("  sync status", " · ".join(str(v) for v in (sf["sync_status"], sf["sync_message"]) if v)),
                ("  project id", sf["project_id"]),
                ("  last synced", sf["last_synced"]),
            ]
    for label, value in rows:
        if value not in (None, ""):
            click.echo(f"  {label:<22} {value}")
    colour = "green" if r["mapping"]["project_id"] else ("red" if outcome["status"] == "Failed" else "yellow")
    click.secho(f"→ {r['advice']}", fg=colour)


# -- backfill and reconcile ---------------------------------------------------------------------------
@click.command()
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only Opportunities with a close date on or after DATE (YYYY-MM-DD).",
)
@click.option(
    "--stage",
    "stages",
    multiple=True,
    help="Only this trigger stage (repeatable) [default: every trigger stage of the stack].",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Enqueue at most N; the rest are listed as deferred (run again for the next N).",
)
@click.option(
    "--include-failed",
    is_flag=True,
    help="Also re-send those whose last sync failed or is being retried (after fixing the cause).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be enqueued; enqueue nothing.")
@stack_options()
def backfill(
    target: Target,
    since: datetime | None,
    stages: tuple[str, ...],
    limit: int | None,
    include_failed: bool,
    dry_run: bool,
) -> None:
    """Enqueue won Opportunities that have no BigTime project yet (safe to run again).

    Walks every Opportunity in a trigger stage without a BigTime project id (SOQL, paged), skips those the
    stack already maps, is syncing or is retrying, and enqueues the rest with delivery ids derived from
    the Opportunity's last change: a second run enqueues nothing new, and overlapping runs are dropped
    by SQS deduplication and the worker's idempotency.
    """
    from sf_bigtime.reconcile.sweep import Sweep, SweepQuery, org_id_of

    stack = target.open()
    try:
        query = SweepQuery(stack.trigger(), stages=stages, closed_since=since.date() if since else None)
    except ValueError as exc:  # a --stage the trigger does not name
        raise click.BadParameter(str(exc), param_hint="--stage") from None
    _announce(target, stack, "backfill", dry_run)
    org = org_id_of(stack.salesforce)
    sweep = Sweep(stack.salesforce, stack.store, stack.enqueue, org)
    with _Progress("Opportunities examined") as progress:
        report = sweep.run(
            query,
            source="backfill",
            dry_run=dry_run,
            include_failed=include_failed,
            max_enqueue=limit,
            progress=progress,
        )
    _print_sweep(target, stack, report)


@click.command()
@click.option(
    "--lookback-hours",
    type=click.FloatRange(min=0, min_open=True),
    help="Look at Opportunities changed in this many hours [default: the stack's, 72].",
)
@click.option(
    "--grace-minutes",
    type=click.FloatRange(min=0),
    help="Leave changes younger than this alone, their event may be on its way [default: the stack's, 10].",
)
@click.option(
    "--max",
    "max_per_run",
    type=click.IntRange(min=1),
    help="Enqueue at most N [default: the stack's ReconcileMaxPerRun].",
)
@click.option("--dry-run", is_flag=True, help="Show what was missed; enqueue nothing.")
@stack_options()
def reconcile(
    target: Target,
    lookback_hours: float | None,
    grace_minutes: float | None,
    max_per_run: int | None,
    dry_run: bool,
) -> None:
    """Catch won Opportunities whose event never arrived (what the scheduled function does).

    The same sweep as backfill over a recent window: Opportunities in a trigger stage without a BigTime
    project, changed in the last --lookback-hours but not in the last --grace-minutes, that the worker
    never saw (or not since their last change). Those are enqueued. Runs on its own every 15 minutes in
    a deployed stack (ReconcileSchedule); run it by hand after fixing a broken Flow or Named Credential.
    """
    from sf_bigtime.reconcile.scheduled import Reconciler
    from sf_bigtime.settings import ReconcileSettings

    stack = target.open()
    stack.trigger()  # an unreadable mapping stops here, saying why
    _announce(target, stack, "reconcile", dry_run)
    settings = ReconcileSettings(
        table_name=stack.info.table_name,
        queue_url=stack.info.queue_url,
        salesforce_secret_arn=stack.info.salesforce_secret_arn,
        lookback_hours=lookback_hours or stack.info.reconcile_lookback_hours,
        grace_minutes=stack.info.reconcile_grace_minutes if grace_minutes is None else grace_minutes,
        max_per_run=max_per_run or stack.info.reconcile_max_per_run,
    )
    reconciler = Reconciler(
        settings=settings,
        salesforce=stack.salesforce,
        store=stack.store,
        enqueue=stack.enqueue,
        mappings=stack.mappings,
    )
    with _Progress("Opportunities examined") as progress:
        report = reconciler.run(dry_run=dry_run, progress=progress)
    _print_sweep(target, stack, report)


def _announce(
    target: Target, stack: Stack, what: str, dry_run: bool, nothing: str = "nothing will be enqueued"
) -> None:
    if not target.as_json:
        suffix = f" (dry run: {nothing})" if dry_run else ""
        click.secho(f"{what} on {stack.info.describe()}{suffix}", bold=True, err=True)


def _print_sweep(target: Target, stack: Stack, report: Any) -> None:
    if target.as_json:
        _print_json(stack, report.to_dict())
        return
    verb = "would enqueue" if report.dry_run else "enqueued"
    click.echo(
        f"org {report.org_id} · {report.found} Opportunities in a trigger stage without a BigTime project"
    )
    click.echo(f"  {verb:<14} {report.enqueued}")
    if report.deferred:
        click.echo(f"  {'deferred':<14} {report.deferred} (over the limit; run again)")
    for code, count in sorted(report.skipped.items()):
        click.echo(f"  {'skipped':<14} {count} {code}")
    for action, title in (("enqueue", verb), ("defer", "deferred"), ("skip", "skipped")):
        rows = [c for c in report.candidates if c.action == action]
        if not rows:
            continue
        click.secho(f"{title}:", bold=True)
        for c in rows[:LIST_LIMIT]:
            click.echo(f"  {c.opportunity_id}  {c.close_date or '':<10}  {c.name[:40]:<40}  {c.reason}")
        if len(rows) > LIST_LIMIT:
            click.echo(f"  … and {len(rows) - LIST_LIMIT} more (--json lists all)")


# -- redrive ----------------------------------------------------------------------------------------
@click.command()
@click.option(
    "--max", "max_messages", type=click.IntRange(min=1), help="Move at most N messages (oldest first)."
)
@click.option("--dry-run", is_flag=True, help="Count and show the first messages; move nothing.")
@click.option(
    "--method",
    type=click.Choice(["auto", "move-task", "receive-send"]),
    default="auto",
    show_default=True,
    help="auto: SQS's message move task, or receive/send with --max or where the task API is missing.",
)
@click.option("--rate", type=click.IntRange(min=1, max=500), help="Move task: messages per second.")
@click.option(
    "--wait-seconds",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="Move task: how long to follow it before leaving it to finish on its own.",
)
@stack_options()
def redrive(
    target: Target,
    max_messages: int | None,
    dry_run: bool,
    method: str,
    rate: int | None,
    wait_seconds: float,
) -> None:
    """Move dead-letter messages back to the queue, in order, and say how many moved.

    Fix what made them fail first (the worker logs and `sf-bigtime status` say why): a message that fails
    again returns to the dead-letter queue after the usual retries.
    """
    from sf_bigtime_ops.redrive import RedriveError
    from sf_bigtime_ops.redrive import redrive as do_redrive

    stack = target.open()
    _announce(target, stack, "redrive", dry_run)
    with _Progress("messages moved") as progress:
        try:
            report = do_redrive(
                stack.sqs,
                stack.info.dlq_url,
                stack.info.queue_url,
                max_messages=max_messages,
                dry_run=dry_run,
                method=method,  # type: ignore[arg-type]
                rate=rate,
                wait_seconds=wait_seconds,
                progress=progress,
            )
        except RedriveError as exc:
            raise click.ClickException(f"{exc} (moved {exc.moved})") from None
    if target.as_json:
        _print_json(stack, report.to_dict())
        return
    if report.dry_run:
        click.echo(f"{report.before} message(s) in the dead-letter queue; {report.note}")
        for m in report.sample:
            click.echo(
                f"  {m.opportunity_id or m.group_id}  {m.source or '?':<10}  delivery {m.delivery_id}  "
                f"received {m.receive_count}×"
            )
        return
    if report.before == 0:
        click.echo("nothing to move: the dead-letter queue is empty")
        return
    click.echo(
        f"moved {report.moved} of {report.before} message(s) by {report.method}; {report.remaining} left"
    )
    if report.note:
        click.echo(f"  {report.note}")


# -- helpers ----------------------------------------------------------------------------------------
class _Progress:
    """A click progress bar on stderr, created on the first report (the total is known only then)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._done = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=max(total, done, 1), label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(max(0, done - self._done))
        self._done = done


def _print_json(stack: Stack, report: dict[str, Any]) -> None:
    """A command's --json document: which stack, then its report."""
    click.echo(json.dumps({"stack": stack.info.describe(), **report}, indent=2, default=str))
