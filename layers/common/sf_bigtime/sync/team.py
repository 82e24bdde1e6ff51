"""The project team: the Opportunity owner (optionally as project lead) and, by role, its Opportunity team
members, matched to BigTime staff by e-mail. Someone without an active staffer of that e-mail is a warning
in the sync's message, never a failure.

Setting team members is idempotent (a member is keyed by staffer), so it needs no claim; what the last
sync applied is fingerprinted on the Opportunity's item (``team_hash``, ``team_warnings``), so an
unchanged team costs no BigTime call. With ``update: create_only`` the team is set up once, with the
project; with ``sync`` later owners and members join too. Nobody is ever removed from a team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.clients.salesforce import OpportunitySnapshot, record_path
from sf_bigtime.mapping.fields import UpdatePolicy
from sf_bigtime.mapping.team import TEAM_MEMBERS, TEAM_ROLE_PICKLIST, RoleName, TeamSection
from sf_bigtime.mapping.transform import fingerprint, text
from sf_bigtime.sync.context import SyncRun
from sf_bigtime.sync.projects import ProjectRef

STAFF_KEYS = ("staffsid", "StaffSid", "StaffSID")  # a team row's staffer id, spelled as BigTime pleases


@dataclass(frozen=True)
class Member:
    """Someone from Salesforce who should be on the project team."""

    email: str
    name: str
    who: str  # "the Opportunity owner" | "Opportunity team member (role)", for warnings
    role: RoleName  # BigTime team role name
    lead: bool


def team_members(opp: OpportunitySnapshot, section: TeamSection) -> list[Member]:
    """The owner first, then the team members whose role joins; each e-mail once."""
    members: list[Member] = []
    if section.owner:
        members.append(
            Member(
                text(opp.get("Owner.Email")).strip().lower(),
                text(opp.get("Owner.Name")),
                "the Opportunity owner",
                section.owner_role,
                section.owner_lead,
            )
        )
    for row in opp.children(TEAM_MEMBERS) if section.reads_members else []:
        salesforce_role = text(row.get("TeamMemberRole"))
        joins, role = section.role_for(salesforce_role)
        if joins:
            members.append(
                Member(
                    text(record_path(row, "User.Email")).strip().lower(),
                    text(record_path(row, "User.Name")),
                    f"Opportunity team member ({salesforce_role or 'no role'})",
                    role,
                    False,
                )
            )
    seen: set[str] = set()
    unique = []
    for member in members:
        if member.email and member.email in seen:
            continue
        seen.add(member.email)
        unique.append(member)
    return unique


def sync_team(run: SyncRun, project: ProjectRef) -> tuple[int, list[str]]:
    """(members added or changed, warnings). Only when the team changed in Salesforce since the last sync
    (``sync``), or once (``create_only``). Projects recorded before teams were synced are left alone."""
    section = run.mapping.team
    if not section.enabled or "tasks" not in run.state:  # see sync_tasks: an older project
        return 0, []
    members = team_members(run.opp, section)
    digest = fingerprint([(m.email, m.role, m.lead) for m in members])
    applied = run.state.get("team_hash")
    if applied == digest or (applied is not None and section.update is UpdatePolicy.CREATE_ONLY):
        return 0, list(run.state.get("team_warnings") or [])
    warnings: list[str] = []
    wanted: dict[int, dict[str, Any]] = {}
    for member in members:
        staff = run.bigtime.staff_id(member.email) if member.email else None
        if staff is None:
            warnings.append(_no_staffer(member))
            continue
        if staff in wanted:
            continue
        row: dict[str, Any] = {"StaffSid": staff, "TeamLead": member.lead}
        if member.role:
            row["ContactRole"] = run.bigtime.picklist_id(TEAM_ROLE_PICKLIST, member.role)
        wanted[staff] = row
    changed = _apply(run, project, wanted) if wanted else 0
    run.save(team_hash=digest, team_warnings=warnings)
    return changed, warnings


def _apply(run: SyncRun, project: ProjectRef, wanted: dict[int, dict[str, Any]]) -> int:
    """One read of the team, and one write if anyone is missing or differs. Whether a write replaces the
    team or adds to it is not documented, so it carries the whole team (docs/decisions.md#what-we-assume-about-bigtime)."""
    current = {
        sid: row for row in run.bigtime.project_team(project.id) if (sid := bigtime_id(row, *STAFF_KEYS))
    }
    new_lead = any(row["TeamLead"] for row in wanted.values())
    changed = [
        sid
        for sid, row in wanted.items()
        if sid not in current
        or (row["TeamLead"] and current[sid].get("TeamLead") is not True)
        or ("ContactRole" in row and bigtime_id(current[sid], "ContactRole") != row["ContactRole"])
    ]
    if not changed:
        return 0
    body = []
    for sid, member in current.items():
        if sid in wanted:
            continue
        kept: dict[str, Any] = {"StaffSid": sid, "TeamLead": member.get("TeamLead") is True and not new_lead}
        if member.get("ContactRole") not in (None, ""):
            kept["ContactRole"] = member.get("ContactRole")
        body.append(kept)
    for sid, row in wanted.items():
        merged = dict(row)
        if (
            "ContactRole" not in merged
            and sid in current
            and current[sid].get("ContactRole") not in (None, "")
        ):
            merged["ContactRole"] = current[sid].get("ContactRole")  # a role set in BigTime stays
        if (
            not merged["TeamLead"]
            and sid in current
            and current[sid].get("TeamLead") is True
            and not new_lead
        ):
            merged["TeamLead"] = True  # nor does a lead set in BigTime lose it
        body.append(merged)
    run.bigtime.set_project_team(project.id, body)
    return len(changed)


def _no_staffer(member: Member) -> str:
    who = f"{member.who} {member.name}".strip()
    if not member.email:
        return f"{who} has no e-mail (or it is not visible): not on the project team"
    return f"{who} <{member.email}> matches no active BigTime staffer by e-mail: not on the project team"
