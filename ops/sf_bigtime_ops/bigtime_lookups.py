"""The BigTime lookups the mapping's ``template`` and ``team`` sections need, checked for ``sf-bigtime
check``: the project templates it names exist, and the staff list (which the team is matched against by
e-mail) answers. Reads only."""

from __future__ import annotations

from typing import Any, Literal

from sf_bigtime.clients.bigtime import BigTimeClient, as_record
from sf_bigtime.errors import SyncError
from sf_bigtime.mapping.model import Mapping

Status = Literal["ok", "failed", "skipped"]
Result = tuple[str, Status, str]
MAX_LISTED = 8


def lookup_checks(client: BigTimeClient, mapping: Mapping) -> list[Result]:
    """One result per lookup the mapping uses (none when it uses none)."""
    results: list[Result] = []
    if mapping.template.enabled:
        results.append(_templates(client, mapping.template.names()))
    team = mapping.team
    if team.enabled and (team.owner or team.member_roles):
        results.append(_staff(client))
    return results


def _list(client: BigTimeClient, path: str) -> list[Any]:
    data = client.request("GET", path)
    return [as_record(row) for row in data] if isinstance(data, list) else []


def _templates(client: BigTimeClient, names: set[str]) -> Result:
    name = "bigtime-templates"
    try:
        rows = _list(client, "/project/Templates")
    except SyncError as exc:
        return name, "failed", f"{exc.reason} (the mapping's template section needs GET /project/Templates)"
    have = {
        str(r.get("Nm") or r.get("Name")).strip().casefold(): str(r.get("Nm") or r.get("Name")) for r in rows
    }
    missing = sorted(n for n in names if n.strip().casefold() not in have)
    if missing:
        listed = ", ".join(sorted(have.values())[:MAX_LISTED]) or "none"
        return (
            name,
            "failed",
            f"{', '.join(map(repr, missing))} not among BigTime's project templates (it has: {listed}); fix "
            "template.map/default in the mapping or add the template in BigTime",
        )
    return name, "ok", f"{', '.join(sorted(map(repr, names)))} found"


def _staff(client: BigTimeClient) -> Result:
    name = "bigtime-staff"
    try:
        rows = _list(client, "/staff")
    except SyncError as exc:
        return name, "failed", f"{exc.reason} (the project team is matched against GET /staff by e-mail)"
    active = [r for r in rows if r.get("IsInactive") is not True]
    emails = [r for r in active if str(r.get("EMail") or r.get("Email") or "").strip()]
    if not active:
        return (
            name,
            "failed",
            "BigTime lists no active staffer to the API key (its staffer may lack the right to view staff): "
            "nobody could join a project team; give that right, or set team.enabled: false",
        )
    if not emails:
        return (
            name,
            "failed",
            f"BigTime lists {len(active)} active staffer(s) and none has an e-mail: nobody could join a "
            "project team (members are matched by e-mail); add the e-mails in BigTime or set team.enabled: false",
        )
    return name, "ok", f"{len(emails)} active staffer(s) with an e-mail to match the project team against"
