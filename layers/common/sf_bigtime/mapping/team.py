"""The ``team`` and ``template`` sections of the mapping: who joins the project team (the Opportunity
owner, Opportunity team members by role), matched to BigTime staff by e-mail; and which BigTime project
template a new project is created from.

BigTime documents neither the team routes' semantics nor what a template does on create
(docs/decisions.md#what-we-assume-about-bigtime): both stay behind these switches.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from sf_bigtime.clients.salesforce import ChildQuery
from sf_bigtime.mapping.fields import STRICT, FieldPath, UpdatePolicy

TEAM_MEMBERS = "OpportunityTeamMembers"
TEAM_MEMBER_FIELDS = ("Id", "IsDeleted", "UserId", "TeamMemberRole", "User.Email", "User.Name")
OWNER_FIELDS = ("Owner.Email", "Owner.Name")
TEAM_ROLE_PICKLIST = "LookupProjectTeamRoles"  # a team member's ContactRole
ANY_ROLE = "*"

RoleName = str | None  # a LookupProjectTeamRoles value name; None: no role


class _Strict(BaseModel):
    # Defined here, not imported: ruff knows a class is a pydantic model (whose mutable defaults are
    # copied per instance, RUF012) only through a base class in the same file.
    model_config = STRICT


class TeamSection(_Strict):
    """The project team: the owner and (by role) Opportunity team members, matched to staff by e-mail."""

    enabled: bool = True
    owner: bool = True
    owner_lead: bool = False
    owner_role: str | None = Field(default=None, min_length=1)
    member_roles: dict[str, RoleName] = {}
    update: Literal[UpdatePolicy.CREATE_ONLY, UpdatePolicy.SYNC] = UpdatePolicy.CREATE_ONLY

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.owner_lead and not self.owner:
            raise ValueError("owner_lead needs owner: true (the lead is the owner as a team member)")
        return self

    @property
    def reads_members(self) -> bool:
        return self.enabled and bool(self.member_roles)

    def opportunity_paths(self) -> list[str]:
        return list(OWNER_FIELDS) if self.enabled and self.owner else []

    def child_query(self) -> ChildQuery | None:
        """The Opportunity team's subquery of the worker's one query; None when no member joins."""
        if not self.reads_members:
            return None
        return ChildQuery(TEAM_MEMBERS, TEAM_MEMBER_FIELDS, "CreatedDate ASC, Id ASC")

    def role_for(self, salesforce_role: str | None) -> tuple[bool, RoleName]:
        """(joins, BigTime role) for an Opportunity team member with this Salesforce team role."""
        wanted = (salesforce_role or "").strip().casefold()
        for role, target in self.member_roles.items():
            if role.strip().casefold() == wanted and role != ANY_ROLE:
                return True, target
        if ANY_ROLE in self.member_roles:
            return True, self.member_roles[ANY_ROLE]
        return False, None

    def role_names(self) -> set[str]:
        names = {r for r in self.member_roles.values() if r}
        return names | ({self.owner_role} if self.owner_role else set())

    def describe(self) -> str:
        if not self.enabled or not (self.owner or self.member_roles):
            return "off"
        parts = []
        if self.owner:
            parts.append("the owner" + (" as project lead" if self.owner_lead else ""))
        if self.member_roles:
            roles = "any role" if ANY_ROLE in self.member_roles else ", ".join(sorted(self.member_roles))
            parts.append(f"Opportunity team members ({roles})")
        when = "kept up to date" if self.update is UpdatePolicy.SYNC else "when the project is created"
        return f"{' and '.join(parts)}, matched to BigTime staff by e-mail, {when}"


class TemplateSection(_Strict):
    """The BigTime project template a new project is created from: by an Opportunity field's value
    (``map``), else ``default``; none at all when neither applies."""

    field: FieldPath | None = None
    map: dict[str, str | None] = {}
    default: str | None = Field(default=None, min_length=1)
    create_field: str = "TemplateId"

    @field_validator("create_field")
    @classmethod
    def _create_field(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not a BigTime field name")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.map and not self.field:
            raise ValueError("map needs `field`: the Opportunity field whose value picks the template")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.default or any(self.map.values()))

    def opportunity_paths(self) -> list[str]:
        return [self.field] if self.field and self.enabled else []

    def names(self) -> set[str]:
        """Every template name the mapping can pick."""
        return {n for n in (*self.map.values(), self.default) if n}

    def choose(self, value: object) -> str | None:
        """The template name for this value of ``field`` (text compared without case), else the default."""
        wanted = str(value if value is not None else "").strip().casefold()
        if wanted:
            for key, name in self.map.items():
                if key.strip().casefold() == wanted:
                    return name
        return self.default

    def describe(self) -> str:
        if not self.enabled:
            return "none"
        by = f"by {self.field}: {len(self.map)} value(s)" if self.map else ""
        default = f"default {self.default!r}" if self.default else "no default"
        return ", ".join(p for p in (by, default) if p) + f" (project-create field {self.create_field})"
