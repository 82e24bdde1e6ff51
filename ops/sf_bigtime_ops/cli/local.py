"""`sf-bigtime local ...` and `sf-bigtime demo`: the local stack (needs the `[local]` extra)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def _schedule_option(flag: str, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A scheduled function's period on the local stack (the deployed stack has an EventBridge schedule)."""
    return click.option(
        flag,
        type=click.FloatRange(min=0),
        default=0.0,
        show_default=True,
        help=f"{what} every N seconds, as the deployed schedule does (0: only by hand).",
    )


@click.group()
def local() -> None:
    """The local stack: moto, fake Salesforce and BigTime, API Gateway and SQS emulation on 127.0.0.1."""


@local.command("up")
@click.option(
    "--visibility-timeout",
    default=30,
    show_default=True,
    help="Queue visibility timeout (seconds); failed records return sooner, through the worker's backoff.",
)
@click.option("--no-flow", is_flag=True, help="Do not let the fake org's Flow call ingest on Closed Won.")
@click.option("--page-size", default=2000, show_default=True, help="Fake Salesforce query page size.")
@click.option(
    "--max-receive-count",
    type=click.IntRange(min=1),
    default=None,
    help="Deliveries before a message moves to the DLQ [default: the template's MaxReceiveCount].",
)
@_schedule_option("--reconcile-every", "Run the reconcile sweep")
@_schedule_option("--pull-every", "Pull BigTime's figures")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to describe the running stack [default: .local/stack.json].",
)
def local_up(
    visibility_timeout: int,
    no_flow: bool,
    page_size: int,
    max_receive_count: int | None,
    reconcile_every: float,
    pull_every: float,
    state_file: Path | None,
) -> None:
    """Start the local stack and serve until Ctrl-C or SIGTERM; writes .local/stack.json."""
    try:
        from sf_bigtime_local.stack import STACK_FILE, LocalStack, StackOptions
    except ImportError as exc:  # pragma: no cover - only without the [local] extra
        raise click.ClickException(f"the local stack needs `pip install -e '.[local]'` ({exc})") from None
    state_file = state_file or STACK_FILE
    stack = LocalStack(
        StackOptions(
            visibility_timeout=visibility_timeout,
            flow=not no_flow,
            salesforce_page_size=page_size,
            state_file=state_file,
            max_receive_count=max_receive_count,
            reconcile_every=reconcile_every,
            pull_every=pull_every,
        )
    )
    description = stack.start()
    click.echo(f"local stack up; described in {state_file}")
    click.echo(f"  ingest:     {description['ingest']['events_url']}")
    click.echo(f"  salesforce: {description['salesforce']['instance_url']}")
    click.echo(f"  bigtime:    {description['bigtime']['base_url']}")
    click.echo(f"  aws (moto): {description['aws']['endpoint_url']}")
    click.echo("Ctrl-C to stop.")
    sys.stdout.flush()
    stack.run_forever()
    click.echo("local stack stopped")


@click.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the sync.")
def demo(timeout: float) -> None:
    """Closed Won in the fake Salesforce -> BigTime client, project, contacts -> write-back, end to end."""
    from sf_bigtime_local.demo import run_demo

    sys.exit(run_demo(timeout=timeout))
