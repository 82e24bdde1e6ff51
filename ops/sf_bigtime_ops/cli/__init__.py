"""The ``sf-bigtime`` command. Each area registers its subcommands from its own module."""

from __future__ import annotations

import logging

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs.")
def main(verbose: bool) -> None:
    """Salesforce Opportunity -> BigTime project sync: operate a stack, or run one locally."""
    from sf_bigtime.logs import quiet_libraries

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries()  # -v shows our debug logs, not botocore's (which hold the secrets the CLI reads)


# Subcommands live in one module per area; register them here.
from sf_bigtime_ops.cli.config import config  # noqa: E402
from sf_bigtime_ops.cli.local import demo, local  # noqa: E402

main.add_command(local)
main.add_command(demo)
main.add_command(config)

from sf_bigtime_ops.cli.operations import backfill, reconcile, redrive, status  # noqa: E402

for _command in (status, backfill, reconcile, redrive):
    main.add_command(_command)

from sf_bigtime_ops.cli.check import check  # noqa: E402

main.add_command(check)

from sf_bigtime_ops.cli.pull import pull  # noqa: E402

main.add_command(pull)
