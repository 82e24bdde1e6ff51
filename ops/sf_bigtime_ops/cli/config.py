"""`sf-bigtime config check [FILE]`: validate a mapping before it reaches a stack (exit 1 on any problem)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from sf_bigtime.mapping.model import Mapping, MappingError
from sf_bigtime.mapping.source import MappingSource


@click.group()
def config() -> None:
    """The mapping (Salesforce -> BigTime): check a file or a deployed SSM parameter."""


@config.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--parameter", metavar="NAME", help="Check the mapping in this SSM parameter instead of a file."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--show", is_flag=True, help="Also print the effective mapping (the file merged onto the default)."
)
def check(file: Path | None, parameter: str | None, as_json: bool, show: bool) -> None:
    """Validate FILE (a mapping YAML, merged onto the bundled default; no FILE: the default itself).

    Prints what the mapping does and which Salesforce fields the worker will read (give the integration
    user access to all of them); on a problem, names each key and what is wrong, and exits 1.
    """
    if file is not None and parameter:
        raise click.UsageError("give a FILE or --parameter, not both")
    source = MappingSource.for_stack(parameter=parameter, file=str(file.resolve()) if file else None)
    try:
        mapping = source.load()
    except MappingError as exc:
        _report_error(exc, as_json)
        sys.exit(1)
    _report_ok(source.name, mapping, as_json, show)


def _salesforce_fields(mapping: Mapping) -> dict[str, list[str]]:
    from sf_bigtime.clients.salesforce import selected_fields

    opportunity_paths, role_paths, children = mapping.query_fields()
    opportunity, contact_roles = selected_fields(opportunity_paths, role_paths)
    fields = {"opportunity": opportunity, "contact_roles": contact_roles or []}
    for child in children:  # line items, team members: subqueries of the same one query
        fields[child.relationship] = list(dict.fromkeys(child.fields))
    return fields


def _effective(mapping: Mapping) -> dict[str, Any]:
    return mapping.model_dump(mode="json", by_alias=True, exclude_none=True)


def _report_ok(name: str, mapping: Mapping, as_json: bool, show: bool) -> None:
    fields = _salesforce_fields(mapping)
    if as_json:
        result: dict[str, Any] = {
            "ok": True,
            "source": name,
            "version": mapping.version,
            "summary": mapping.describe(),
            "salesforce_fields": fields,
            "problems": [],
        }
        if show:
            result["mapping"] = _effective(mapping)
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.secho(f"mapping {name}: OK (version {mapping.version})", fg="green")
    for key, text in mapping.describe().items():
        click.echo(f"  {key:10} {text}")
    click.echo("Salesforce fields the worker reads (the integration user needs read access to each):")
    click.echo(f"  Opportunity:    {', '.join(fields['opportunity'])}")
    if fields["contact_roles"]:
        click.echo(f"  contact roles:  {', '.join(fields['contact_roles'])}")
    for name, paths in fields.items():
        if name not in ("opportunity", "contact_roles"):
            click.echo(f"  {name}: {', '.join(paths)}")
    if show:
        click.echo("Effective mapping:")
        click.echo(yaml.safe_dump(_effective(mapping), sort_keys=False, allow_unicode=True).rstrip())


def _report_error(exc: MappingError, as_json: bool) -> None:
    if as_json:
        problems = [{"key": key, "message": message} for key, message in exc.problems]
        click.echo(json.dumps({"ok": False, "source": exc.source, "problems": problems}, indent=2))
        return
    click.secho(f"mapping {exc.source}: {len(exc.problems)} problem(s)", fg="red", err=True)
    for key, message in exc.problems:
        click.echo(f"  {key + ': ' if key else ''}{message}", err=True)
