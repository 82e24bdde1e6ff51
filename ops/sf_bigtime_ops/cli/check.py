"""`sf-bigtime check`: the post-deploy smoke check of a deployed stack or the local one.

``--stack-name NAME`` (or ``SF_BIGTIME_STACK_NAME``) checks the deployed CloudFormation stack with your
default AWS credentials (``--profile``, ``--region``); without it, the local stack described by
``.local/stack.json`` (``--state-file``). Exit status: 0 every check passed, 1 a check failed, 2 bad usage.
"""

from __future__ import annotations

import json
import sys

import click

from sf_bigtime_ops.cli.options import Target, stack_options
from sf_bigtime_ops.stack_check import Checker, CheckResult

_MARKS = {"ok": "ok", "failed": "FAILED", "skipped": "skipped"}


@click.command("check")
@stack_options("check")
def check(target: Target) -> None:
    """Check that a stack can reach Salesforce and BigTime with its secrets, and that the org is ready.

    Reads the stack's outputs and parameters, the three secrets and the mapping, tries each ingest
    endpoint without credentials (it must refuse), logs in to Salesforce and BigTime, checks every field
    the functions read or write, runs the worker's query, and resolves the BigTime picklists. Writes nothing.
    """
    # A stack missing an output or parameter is still read: the "stack" check says what is missing.
    stack = target.open(require_resources=False)
    checker = Checker(stack.info, stack.client("secretsmanager"), stack.client("ssm"))
    results = checker.run()
    info = stack.info
    if target.as_json:
        document = {"stack": info.name, "kind": info.kind, "region": info.region, "ok": checker.ok}
        click.echo(json.dumps({**document, "checks": [r.to_dict() for r in results]}, indent=2))
    else:
        _print(info.describe(), results)
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
