"""The mapping: which Opportunities make BigTime projects, and how Salesforce fields become BigTime fields.

It is configuration, not code (docs/decisions.md#the-mapping-is-configuration): a versioned YAML document, validated here by pydantic.
The bundled ``default.yaml`` holds BigTime's own connector's defaults; a stack overrides it with
its own YAML (an SSM parameter or a file), which is merged onto the default key by key. Every error names
the key and what is wrong, because the person reading it edits YAML, not Python. The reference for users
is ``docs/mapping.md``; keep the two in step.

This module describes the mapping (one field's :class:`~sf_bigtime.mapping.fields.Source` and the trigger's
:class:`~sf_bigtime.mapping.conditions.Condition` have modules of their own); :mod:`sf_bigtime.mapping.load`
parses and validates a document, :mod:`sf_bigtime.mapping.source` finds the stack's, and
:mod:`sf_bigtime.mapping.transform` applies it to records.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from sf_bigtime.clients.salesforce import ChildQuery
from sf_bigtime.mapping.conditions import Condition
from sf_bigtime.mapping.fields import (
    STRICT,
    BigTimeField,
    Source,
    UpdatePolicy,
    check_code,
    check_template,
    placeholders,
    template_paths,
)
from sf_bigtime.mapping.pull import PullSection
from sf_bigtime.mapping.tasks import TasksSection, task_picklists
from sf_bigtime.mapping.team import TEAM_ROLE_PICKLIST, TeamSection, TemplateSection

# BigTime fields whose values are ids from a firm-defined "Field Values" list: the mapping names the value
# (e.g. "Consulting") and the worker resolves it through GET /picklist/FieldValues/{list} (cached).
PROJECT_PICKLISTS = {
    "typeid": "LookupProjectType",
    "statusprod": "StatusProduction",
    "statusbill": "StatusBilling",
}
CONTACT_PICKLISTS = {"contacttype": "LookupClientContactType"}
CLIENT_PICKLISTS: dict[str, str] = {}
SECTION_PICKLISTS = {"client": CLIENT_PICKLISTS, "project": PROJECT_PICKLISTS, "contacts": CONTACT_PICKLISTS}
STATUS_PICKLIST = PROJECT_PICKLISTS["statusprod"]  # a lifecycle action's status names one of these
CONTACT_ADDRESS_PARTS = ("Address", "City", "State", "Zip", "Country")

# Fields the worker sets itself; mapping them would fight the worker.
_RESERVED = {
    "client": {"systemid": "it is BigTime's id", "clientid": "use client.code for the client code"},
    "project": {
        "systemid": "it is BigTime's id",
        "clientid": "the worker sets the project's client",
        "projectcode": "use project.code",
    },
    "contacts": {
        "projectsid": "the worker sets the contact's project",
        "tag": "PRIMARY/BILLING/OTHER come from the contact roles (contacts.billing_role)",
    },
}


class MappingError(ValueError):
    """The mapping cannot be used; ``problems`` lists ``(key, message)`` pairs, ``source`` says where from."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "; ".join(f"{key}: {message}" if key else message for key, message in problems)
        super().__init__(f"mapping {source} is invalid: {lines}")


class _Strict(BaseModel):
    # Defined here, not imported: ruff knows a class is a pydantic model (whose mutable defaults are
    # copied per instance, RUF012) only through a base class in the same file.
    model_config = STRICT


Fields = dict[BigTimeField, Source | None]


def _check_fields(section: str, value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        reason = _RESERVED[section].get(key.lower())
        if reason:
            raise ValueError(f"{key} cannot be mapped: {reason}")
        if "." in key and not (section == "contacts" and key.split(".")[0] == "Address"):
            raise ValueError(f"{key}: only contacts have a nested field (Address.City, …)")
        if "." in key and key.split(".")[1] not in CONTACT_ADDRESS_PARTS:
            raise ValueError(f"{key}: the address parts are {', '.join(CONTACT_ADDRESS_PARTS)}")
    return {k: v for k, v in value.items() if v is not None}  # null removes a default field


class Trigger(_Strict):
    stages: list[Annotated[str, StringConstraints(min_length=1)]] = ["Closed Won"]
    any_won: bool = False
    conditions: list[Condition] = []

    @model_validator(mode="after")
    def _some_stage(self) -> Self:
        if not self.stages and not self.any_won:
            raise ValueError("name at least one stage in `stages`, or set `any_won: true`")
        return self

    def describe(self) -> str:
        stages = "any won stage" if self.any_won else " or ".join(repr(s) for s in self.stages)
        conditions = "".join(f" and {c.describe()}" for c in self.conditions)
        return stages + conditions


class _Section(_Strict):
    """What the client, project and contacts sections share: their ``fields`` (and ``code``, where the
    section has one) are checked the same way. Each section declares its own keys, in the order
    ``config check --show`` prints them and an "unknown key" message lists them."""

    section: ClassVar[str]  # its key in the mapping, and in _RESERVED

    @field_validator("fields", check_fields=False)
    @classmethod
    def _fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_fields(cls.section, value)

    @field_validator("code", check_fields=False)  # contacts have no code
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return check_code(value)


class ClientSection(_Section):
    section = "client"
    match: Literal["name", "never"] = "name"
    code: str | None = None
    update: UpdatePolicy = UpdatePolicy.CREATE_ONLY
    fields: Fields = {}

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if "Nm" not in self.fields:
            raise ValueError("fields.Nm (the client name) is required")
        if self.match == "never" and not _mentions(self.code, ("AccountId", "Account.Id")):
            raise ValueError(
                'match: never needs a `code` holding the Account id (e.g. "SF-{AccountId}"): it is how a '
                "client whose creation was interrupted is found again instead of created twice"
            )
        return self


class ProjectSection(_Section):
    section = "project"
    code: str | None = "SF-{Id}"
    opportunity_id_field: str | None = Field(default=None, min_length=1)
    update: UpdatePolicy = UpdatePolicy.CREATE_ONLY
    fields: Fields = {}

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if "Nm" not in self.fields:
            raise ValueError("fields.Nm (the project name) is required")
        if not self.code and not self.opportunity_id_field:
            raise ValueError(
                "with no `code` (BigTime auto-numbers projects) `opportunity_id_field` is required: "
                "a marker must find a project whose creation was not recorded"
            )
        if self.code and not self.opportunity_id_field and not _mentions(self.code, ("Id",)):
            raise ValueError(
                f"code {self.code!r} must contain {{Id}} (project codes are unique, and the code is the "
                "marker that finds an unrecorded project), or set opportunity_id_field"
            )
        return self

    @property
    def auto_numbered(self) -> bool:
        return not self.code


class ContactsSection(_Section):
    section = "contacts"
    enabled: bool = True
    billing_role: str | None = "Economic Buyer"
    roles: list[str] | None = None
    update: UpdatePolicy = UpdatePolicy.CREATE_ONLY
    fields: Fields = {}

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.enabled and not ({"FName", "SName"} & set(self.fields)):
            raise ValueError("fields needs FName or SName (BigTime contacts need a name)")
        return self


class LifecycleAction(_Strict):
    """What to do to the project: set a production status (by name), a status note, (in)active."""

    status: str | None = Field(default=None, min_length=1)
    note: str | None = None
    inactive: bool | None = None

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return check_template(value) if value else None

    @property
    def noop(self) -> bool:
        return self.status is None and not self.note and self.inactive is None

    def describe(self) -> str:
        parts = []
        if self.status:
            parts.append(f"set status {self.status!r}")
        if self.note:
            parts.append("set the status note")
        if self.inactive is not None:
            parts.append("mark inactive" if self.inactive else "mark active")
        return ", ".join(parts) or "nothing"


class Lifecycle(_Strict):
    closed_lost: LifecycleAction = LifecycleAction()
    reopened: LifecycleAction = LifecycleAction()
    deleted: LifecycleAction = LifecycleAction()

    @model_validator(mode="before")
    @classmethod
    def _nothing(cls, data: Any) -> Any:
        # `closed_lost: nothing` (or null) reads better than an empty mapping.
        if isinstance(data, dict):
            return {k: ({} if v in (None, "nothing", "none") else v) for k, v in data.items()}
        return data


class WriteBackSection(_Strict):
    project_url: str = "https://iq.bigtime.net/Bigtime/Project/{project_id}"

    @field_validator("project_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "{project_id}" not in value or not value.startswith("https://"):
            raise ValueError("must be an https URL containing {project_id}")
        return value


class Mapping(_Strict):
    """A validated mapping (version 1). Build it with :func:`sf_bigtime.mapping.load.build_mapping` or
    :func:`~sf_bigtime.mapping.load.default_mapping`; a stack's comes from a
    :class:`~sf_bigtime.mapping.source.MappingSource`."""

    version: Literal[1]
    trigger: Trigger = Trigger()
    client: ClientSection
    project: ProjectSection
    contacts: ContactsSection = ContactsSection(enabled=False)
    lifecycle: Lifecycle = Lifecycle()
    write_back: WriteBackSection = WriteBackSection()
    # Budget, tasks, team and template (mapping/tasks.py, mapping/team.py): off unless the mapping says.
    tasks: TasksSection = TasksSection(enabled=False)
    team: TeamSection = TeamSection(enabled=False)
    template: TemplateSection = TemplateSection()
    pull: PullSection = PullSection()  # BigTime's figures back onto BigTime_Project__c (mapping/pull.py)

    # -- what to read from Salesforce -----------------------------------------------------------
    def opportunity_paths(self) -> list[str]:
        """Every Opportunity field path the mapping reads (the SOQL's outer SELECT needs all of them)."""
        paths: list[str] = [c.field for c in self.trigger.conditions]
        for section in (self.client, self.project):
            for source in section.fields.values():
                if source is not None:
                    paths += source.paths()
            if section.code:
                paths += template_paths(section.code)
        for action in (self.lifecycle.closed_lost, self.lifecycle.reopened, self.lifecycle.deleted):
            if action.note:
                paths += template_paths(action.note)
        if self.contacts.enabled:
            for source in self.contacts.fields.values():
                paths += [p.split(".", 1)[1] for p in (source.paths() if source else []) if _is_opp(p)]
        paths += self.tasks.opportunity_paths() + self.team.opportunity_paths()
        paths += self.template.opportunity_paths()
        return list(dict.fromkeys(paths))

    def contact_paths(self) -> list[str]:
        """Contact field paths (relative to the contact role) the contacts' sources read."""
        if not self.contacts.enabled:
            return []
        paths: list[str] = []
        for source in self.contacts.fields.values():
            for path in source.paths() if source else []:
                if _is_opp(path):
                    continue
                paths.append(path.split(".", 1)[1] if path.startswith("ContactRole.") else f"Contact.{path}")
        return list(dict.fromkeys(paths))

    def query_fields(self) -> tuple[list[str], list[str] | None, list[ChildQuery]]:
        """What the worker's one query selects beyond its base fields: the Opportunity paths, the
        contact-role paths (None: contacts are off, no contact-role subquery), and the further child
        subqueries (line items, team members). The sync and the field cross-check
        (``sf_bigtime_ops.fieldcheck``) both ask here, so they cannot disagree."""
        children = [q for q in (self.tasks.child_query(), self.team.child_query()) if q is not None]
        return (
            self.opportunity_paths(),
            (self.contact_paths() if self.contacts.enabled else None),
            children,
        )

    def describe(self) -> dict[str, str]:
        """A short, human summary (``sf-bigtime config check``)."""
        p, c = self.project, self.client
        return {
            "trigger": self.trigger.describe(),
            "client": f"match {c.match}"
            + (f", code {c.code!r}" if c.code else "")
            + f", {len(c.fields)} field(s)",
            "project": (f"code {p.code!r}" if p.code else "auto-numbered code")
            + (
                f", Opportunity id in custom field {p.opportunity_id_field!r}"
                if p.opportunity_id_field
                else ""
            )
            + f", {len(p.fields)} field(s)",
            "contacts": (
                f"{len(self.contacts.fields)} field(s), BILLING role {self.contacts.billing_role!r}"
                if self.contacts.enabled
                else "off"
            ),
            "updates": ", ".join(
                f"{name}: {', '.join(sorted(s))}" for name, s in self.sync_fields().items() if s
            )
            or "none (every field create_only)",
            "lifecycle": "; ".join(
                f"{name.replace('_', ' ')}: {getattr(self.lifecycle, name).describe()}"
                for name in ("closed_lost", "reopened", "deleted")
            ),
            "tasks": self.tasks.describe(),
            "team": self.team.describe(),
            "template": self.template.describe(),
            "pull": self.pull.describe(),
        }

    def sync_fields(self) -> dict[str, set[str]]:
        def synced(section: ClientSection | ProjectSection | ContactsSection) -> set[str]:
            return {k for k, s in section.fields.items() if s and policy(section, s) is UpdatePolicy.SYNC}

        return {
            "client": synced(self.client),
            "project": synced(self.project),
            "contacts": synced(self.contacts),
        }


def policy(section: ClientSection | ProjectSection | ContactsSection, source: Source) -> UpdatePolicy:
    return source.update or section.update


def picklist(
    section: ClientSection | ProjectSection | ContactsSection, bt_field: str, source: Source
) -> str | None:
    """The "Field Values" list a mapped BigTime field's value is a name from (the source's ``picklist``,
    else the list BigTime uses for that field), or None: the value is sent as it is."""
    return source.picklist or SECTION_PICKLISTS[section.section].get(bt_field.lower())


def configured_picklists(mapping: Mapping) -> dict[str, set[str]]:
    """The "Field Values" lists the mapping writes, with the value names it gives itself (constants, ``map``
    targets, defaults, lifecycle statuses). A value copied from a Salesforce field is known only when an
    Opportunity is synced (:func:`sf_bigtime.mapping.transform.section_payload` applies the same
    :func:`picklist` rule then); its list is still named here, so ``sf-bigtime check`` sees it answer."""
    sections: list[ClientSection | ProjectSection | ContactsSection] = [mapping.client, mapping.project]
    if mapping.contacts.enabled:
        sections.append(mapping.contacts)
    wanted: dict[str, set[str]] = {}
    for section in sections:
        for bt_field, source in section.fields.items():
            if source is None or policy(section, source) is UpdatePolicy.NEVER:
                continue
            name = picklist(section, bt_field, source)
            if name:
                wanted.setdefault(name, set()).update(source.named_values())
    lifecycle = mapping.lifecycle
    for action in (lifecycle.closed_lost, lifecycle.reopened, lifecycle.deleted):
        if action.status:
            wanted.setdefault(STATUS_PICKLIST, set()).add(action.status)
    for name, values in task_picklists(mapping.tasks).items():
        wanted.setdefault(name, set()).update(values)
    if mapping.team.enabled and mapping.team.role_names():
        wanted.setdefault(TEAM_ROLE_PICKLIST, set()).update(mapping.team.role_names())
    return wanted


def _is_opp(path: str) -> bool:
    return path.startswith("Opportunity.")


def _mentions(template: str | None, names: tuple[str, ...]) -> bool:
    return bool(template) and any(p in names for p in placeholders(template or ""))
