"""`sf-bigtime check`: the post-deploy smoke check of a deployed stack or the local one.

``--stack-name NAME`` (or ``SF_BIGTIME_STACK_NAME``) checks the deployed CloudFormation stack with your
default AWS credentials (``--profile``, ``--region``); without it, the local stack described by
``.local/stack.json`` (``--state-file``). Exit status: 0 every check passed, 1 a check failed, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sf_bigtime.check import Checker, CheckError, CheckResult, stack_from_cloudformation, stack_from_local

DEFAULT_STATE_FILE = Path(".local/stack.json")
_MARKS = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}


@click.command("check")
@click.option(
    "--stack-name",
    "-s",
    envvar="SF_BIGTIME_STACK_NAME",
    help="The deployed stack to check [env SF_BIGTIME_STACK_NAME]; without it, the local stack.",
)
@click.option("--local", "use_local", is_flag=True, help="Check the local stack even if a stack name is set.")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="SF_BIGTIME_LOCAL_STATE",
    help="The local stack's description [default: .local/stack.json].",
)
@click.option("--region", help="AWS region of the stack (default: your AWS configuration's).")
@click.option("--profile", help="AWS named profile to use.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
def check(
    stack_name: str | None,
    use_local: bool,
    state_file: Path | None,
    region: str | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Check that a stack can reach Salesforce and BigTime with its secrets, and that the org is ready.

    Reads the stack's outputs and parameters, the three secrets and the mapping, tries each ingest
    endpoint without credentials (it must refuse), logs in to Salesforce and BigTime, checks every field
    the functions read or write, runs the worker's query, and resolves the BigTime picklists. Writes nothing.
    """
    import boto3

    try:
        if stack_name and not use_local:
            session = boto3.Session(profile_name=profile, region_name=region)
            stack = stack_from_cloudformation(stack_name, session)
        else:
            stack = stack_from_local(state_file or DEFAULT_STATE_FILE)
            # moto accepts any credentials; never send the operator's real ones to it.
            session = boto3.Session(
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto's dummy credentials
                region_name=stack.region,
            )
    except CheckError as exc:
        raise click.ClickException(str(exc)) from None
    secretsmanager = session.client("secretsmanager", endpoint_url=stack.endpoint_url)
    ssm = session.client("ssm", endpoint_url=stack.endpoint_url)
    checker = Checker(stack, secretsmanager, ssm)
    results = checker.run()
    if as_json:
        document = {"stack": stack.name, "kind": stack.kind, "region": stack.region, "ok": checker.ok}
        click.echo(json.dumps({**document, "checks": [r.to_dict() for r in results]}, indent=2))
    else:
        _print(stack.describe(), results)
    sys.exit(0 if checker.ok else 1)


def _print(title: str, results: list[CheckResult]) -> None:
    click.echo(f"sf-bigtime check: {title}")
    width = max(len(r.name) for r in results)
    for result in results:
        mark = _MARKS[result.status]
        line = f"  {mark:<8}{result.name:<{width}}  {result.detail}"
        click.echo(
            click.style(line, fg=None if result.ok else "red" if result.status == "failed" else "yellow")
        )
    failed = sum(1 for r in results if r.status == "failed")
    skipped = sum(1 for r in results if r.status == "skipped")
    if failed or skipped:
        click.echo(f"{failed} check(s) failed, {skipped} skipped; fix the first failure and run this again.")
    else:
        click.echo(f"all {len(results)} checks passed.")
