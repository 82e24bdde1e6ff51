"""`sf-bigtime pull`: BigTime's figures onto the BigTime Project records now, for one Opportunity, one BigTime
project or all of them, on the local stack or a deployed one (what the scheduled pull does, by hand).

It runs here, with the stack's own secrets and mapping, at the pull's share of the stack's BigTime rate (half
of ``BigTimeCallsPerMinute``), and ignores the org's API budget (an operator asked for it). Exit status 1 when
a record was refused, a project's figures could not be read, or the run stopped early.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from sf_bigtime.mapping.model import MappingError
from sf_bigtime.mapping.source import MappingSource
from sf_bigtime.sfid import is_salesforce_id, to_18
from sf_bigtime_ops.cli.operations import LIST_LIMIT, _announce, _print_json, _Progress
from sf_bigtime_ops.cli.options import Target, stack_options


@click.command()
@click.option(
    "--opportunity", "opportunity_id", help="Only the BigTime project(s) of this Opportunity (006…)."
)
@click.option("--project", "project_id", help="Only this BigTime project (its BigTime id).")
@click.option("--all", "everything", is_flag=True, help="Every BigTime project with a record in Salesforce.")
@click.option("--dry-run", is_flag=True, help="Read both sides and show what would change; write nothing.")
@stack_options()
def pull(
    target: Target, opportunity_id: str | None, project_id: str | None, everything: bool, dry_run: bool
) -> None:
    """Copy BigTime's figures, status and dates onto the BigTime Project records now.

    Reads the records in Salesforce (one query), then BigTime as the stack's mapping says (per project, or
    one saved report), and writes only the records that changed (Last Pulled also moves once a day).
    Choose exactly one of --opportunity, --project and --all.
    """
    from sf_bigtime.pull.bigtime import BigTimeRefused
    from sf_bigtime.pull.run import PullFailed
    from sf_bigtime.pull.salesforce import Scope
    from sf_bigtime.pull.scheduled import build_puller

    if sum(map(bool, (opportunity_id, project_id, everything))) != 1:
        raise click.UsageError("choose exactly one of --opportunity ID, --project ID and --all")
    if opportunity_id is not None:
        if not is_salesforce_id(opportunity_id, "006"):
            raise click.BadParameter("not an Opportunity id (006…)", param_hint="--opportunity")
        opportunity_id = to_18(opportunity_id)
    if project_id is not None and not project_id.strip().isdigit():
        raise click.BadParameter("a BigTime project id is a number", param_hint="--project")
    stack = target.open()
    settings = stack.info.pull_settings()
    try:
        source = MappingSource.for_stack(
            parameter=settings.mapping_parameter, file=settings.mapping_file, ssm=stack.client("ssm")
        )
        section = source.load().pull
    except MappingError as exc:
        raise click.ClickException(f"{exc} (check it with `sf-bigtime config check`)") from None
    _announce(target, stack, "pull", dry_run, "nothing will be written")
    puller = build_puller(
        settings, section, salesforce=stack.salesforce, bigtime=stack.bigtime, table=stack.table
    )
    scope = Scope(opportunity_id=opportunity_id, project_id=project_id.strip() if project_id else None)
    with _Progress("projects read") as progress:
        try:
            report = puller.run(scope, dry_run=dry_run, on_progress=progress)
        except (BigTimeRefused, PullFailed) as exc:
            raise click.ClickException(exc.reason) from None
    if target.as_json:
        _print_json(stack, report.to_dict())
    else:
        _print_report(report)
    if report.failed or report.problems or report.stopped:
        sys.exit(1)


def _print_report(report: Any) -> None:
    verb = "would write" if report.dry_run else "written"
    click.echo(
        f"{report.scope} · mode {report.mode} · {report.examined} record(s) in Salesforce, "
        f"{report.read} read from BigTime"
    )
    rows = [
        ("changed", report.changed),
        ("heartbeats", report.heartbeats),
        (verb, report.written if not report.dry_run else report.changed + report.heartbeats),
        ("refused", report.failed),
        ("Opportunities", report.opportunities),
        ("deleted in BigTime", report.deleted),
        ("unreadable", report.problems),
        ("unknown shapes", report.unknown_shapes),
        ("throttled", report.throttled),
        ("API calls", f"Salesforce {report.salesforce_calls}, BigTime {report.bigtime_calls}"),
    ]
    for label, value in rows:
        if value not in (0, None, ""):
            click.echo(f"  {label:<20} {value}")
    if report.staleness_seconds is not None:
        click.echo(
            f"  {'oldest figures':<20} {report.staleness_seconds / 60:.0f} min (project {report.stalest_project})"
        )
    for title, items in (
        ("refused by Salesforce", [f"{f['key']}: {f['error']}" for f in report.failures]),
        ("figures unreadable", [f"{p['project_id']}: {p['problem']}" for p in report.project_problems]),
        ("warnings", report.warnings),
    ):
        if items:
            click.secho(f"{title}:", bold=True)
            for item in items[:LIST_LIMIT]:
                click.echo(f"  {item}")
            if len(items) > LIST_LIMIT:
                click.echo(f"  … and {len(items) - LIST_LIMIT} more (--json lists all)")
    if report.dry_run:
        for row in report.rows[:LIST_LIMIT]:
            key = row.get("BigTime_Project_Id__c") or row.get("Id")
            changes = ", ".join(
                f"{k}={v!r}" for k, v in row.items() if k not in ("BigTime_Project_Id__c", "Id")
            )
            click.echo(f"  {key}: {changes}")
    if report.stopped:
        click.secho(
            f"→ stopped early ({report.stopped}); run again to continue with the stalest", fg="yellow"
        )
