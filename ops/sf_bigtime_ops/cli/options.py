"""How every command that acts on a stack (``check``, ``status``, ``backfill``, ``reconcile``, ``redrive``)
is told which one: ``--stack-name``/``SF_BIGTIME_STACK_NAME`` for a deployed stack, else the local stack
(``--state-file``), ``--local`` to prefer the local one; ``--region``, ``--profile``, ``--json``.

The command receives them as one :class:`Target`; errors finding or using the stack become a one-line
message and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from sf_bigtime.errors import SyncError
from sf_bigtime.queue.send import EnqueueError
from sf_bigtime.secrets import SecretError
from sf_bigtime_ops.stackinfo import Stack, StackError


@dataclass
class Target:
    stack_name: str | None
    state_file: Path | None
    region: str | None
    profile: str | None
    as_json: bool

    def open(self, *, require_resources: bool = True) -> Stack:
        return Stack.open(
            stack_name=self.stack_name,
            state_file=self.state_file,
            region=self.region,
            profile=self.profile,
            require_resources=require_resources,
        )


def stack_options(verb: str = "act on") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options selecting the stack; the command receives them as ``target``.

    ``verb`` words the help ("act on", "check"). ``--local`` wins over ``SF_BIGTIME_STACK_NAME``; giving
    it together with ``--stack-name`` on the command line is a usage error (which stack was meant?).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(
            stack_name: str | None,
            use_local: bool,
            state_file: Path | None,
            region: str | None,
            profile: str | None,
            as_json: bool,
            **kwargs: Any,
        ) -> Any:
            if (
                use_local
                and stack_name
                and click.get_current_context().get_parameter_source("stack_name")
                == click.core.ParameterSource.COMMANDLINE
            ):
                raise click.UsageError("--local and --stack-name exclude each other")
            target = Target(None if use_local else stack_name, state_file, region, profile, as_json)
            try:
                return command(target=target, **kwargs)
            except (StackError, SyncError, EnqueueError, SecretError, RuntimeError) as exc:
                reason = exc.reason if isinstance(exc, SyncError) else str(exc)
                raise click.ClickException(reason) from None
            except (BotoCoreError, ClientError) as exc:  # e.g. AccessDenied: say which call, not a traceback
                raise click.ClickException(f"AWS refused or failed: {exc}") from None

        options = [
            click.option(
                "--stack-name",
                "-s",
                envvar="SF_BIGTIME_STACK_NAME",
                show_envvar=True,
                help=f"The deployed stack to {verb}. Without it: the local stack.",
            ),
            click.option(
                "--local",
                "use_local",
                is_flag=True,
                help=f"{verb.capitalize()} the local stack even if SF_BIGTIME_STACK_NAME is set.",
            ),
            click.option(
                "--state-file",
                type=click.Path(dir_okay=False, path_type=Path),
                envvar="SF_BIGTIME_LOCAL_STATE",
                show_envvar=True,
                help="The local stack's description [default: .local/stack.json].",
            ),
            click.option(
                "--region", help="AWS region of the deployed stack [default: your AWS configuration]."
            ),
            click.option("--profile", help="AWS profile [default: your AWS configuration]."),
            click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text."),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate
