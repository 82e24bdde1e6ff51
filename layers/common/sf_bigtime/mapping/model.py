"""The mapping: which Opportunities make BigTime projects, and how Salesforce fields become BigTime fields.

It is configuration, not code (design decision 7): a versioned YAML document, validated here by pydantic.
The bundled ``default.yaml`` holds BigTime's own connector's defaults; a stack overrides it with
its own YAML (an SSM parameter or a file), which is merged onto the default key by key. Every error names
the key and what is wrong, because the person reading it edits YAML, not Python. The reference for users
is ``docs/mapping.md``; keep the two in step.

This module only describes and loads the mapping; :mod:`sf_bigtime.mapping.transform` applies it to records.
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_MAPPING_RESOURCE = "default.yaml"
MAPPING_VERSION = 1

# A SOQL field path from the Opportunity (or the Contact): up to five relationship hops.
_PATH = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*){0,5}"
PATH_RE = re.compile(rf"^{_PATH}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
FieldPath = Annotated[str, StringConstraints(pattern=rf"^{_PATH}$")]
BigTimeField = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")]
Scalar = str | int | float | bool

# Built-in template placeholders (not Salesforce fields): lower case, so no field can be named like them.
BUILTINS = frozenset({"today"})

# BigTime fields whose values are ids from a firm-defined "Field Values" list: the mapping names the value
# (e.g. "Consulting") and the worker resolves it through GET /picklist/FieldValues/{list} (cached).
PROJECT_PICKLISTS = {
    "typeid": "LookupProjectType",
    "statusprod": "StatusProduction",
    "statusbill": "StatusBilling",
}
CONTACT_PICKLISTS = {"contacttype": "LookupClientContactType"}
CLIENT_PICKLISTS: dict[str, str] = {}
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


class UpdatePolicy(StrEnum):
    """What happens to a BigTime field when a synced Opportunity changes later."""

    CREATE_ONLY = "create_only"  # written when the record is created; BigTime owns it afterwards
    SYNC = "sync"  # kept equal to Salesforce (an empty Salesforce value never clears BigTime's)
    NEVER = "never"  # never written (switches off a default field without deleting it)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_code(template: str | None) -> str | None:
    if not template:
        return None
    if "today" in placeholders(template):
        # A retry on another day must compute the same code, or the marker lookup would miss.
        raise ValueError("a code must be the same on every attempt: {today} cannot be part of it")
    return _check_template(template)


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER_RE.findall(template)


def _check_template(template: str) -> str:
    if template.count("{") != template.count("}"):
        raise ValueError(f"unbalanced braces in template {template!r}")
    for name in placeholders(template):
        if name not in BUILTINS and not PATH_RE.match(name):
            raise ValueError(
                f"{{{name}}} is not a Salesforce field path (letters, digits, _ and dots, e.g. {{Account.Name}})"
            )
    return template


class Source(_Strict):
    """Where one BigTime field's value comes from: a Salesforce field, a template, or a constant.

    YAML shorthand: a string is a field path (or a template when it holds ``{…}``); a number or boolean
    is a constant. ``map`` translates Salesforce values (e.g. Opportunity Type -> BigTime project type);
    ``default`` is used when the value is empty; ``max_length`` truncates text BigTime would refuse.
    """

    field: FieldPath | None = None
    template: str | None = None
    value: Scalar | None = None
    map: dict[str, Scalar | None] | None = None
    default: Scalar | None = None
    update: UpdatePolicy | None = None
    picklist: str | None = Field(default=None, min_length=1)
    max_length: int | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"template": data} if "{" in data else {"field": data}
        if isinstance(data, bool | int | float):
            return {"value": data}
        return data

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in ("field", "template", "value") if k in self.model_fields_set]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of `field` (a Salesforce field), `template` or `value` (a constant)"
                + (f"; found {', '.join(kinds)}" if kinds else "")
            )
        return self

    def paths(self) -> list[str]:
        if self.field:
            return [self.field]
        if self.template:
            return [p for p in placeholders(self.template) if p not in BUILTINS]
        return []


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


class Condition(_Strict):
    """One condition on an Opportunity field; give exactly one operator."""

    field: FieldPath
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    at_least: float | None = None
    at_most: float | None = None
    is_true: bool | None = None
    is_set: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        ops = self.operators()
        if len(ops) != 1:
            names = "equals, not_equals, in, not_in, at_least, at_most, is_true, is_set"
            raise ValueError(f"give exactly one operator ({names}); found {', '.join(ops) or 'none'}")
        return self

    def operators(self) -> list[str]:
        names = [k for k in type(self).model_fields if k != "field" and k in self.model_fields_set]
        return ["in" if k == "in_" else k for k in names]

    def holds(self, value: Any) -> bool:
        op = self.operators()[0]
        if op == "is_set":
            return (value not in (None, "")) is self.is_set
        if op == "is_true":
            return (value is True or str(value).lower() == "true") is self.is_true
        if op in ("at_least", "at_most"):
            number = _number(value)
            if number is None:
                return False
            return number >= self.at_least if op == "at_least" else number <= self.at_most  # type: ignore[operator]
        if op in ("equals", "not_equals"):
            same = _same(value, self.equals if op == "equals" else self.not_equals)
            return same if op == "equals" else not same
        options = self.in_ if op == "in" else self.not_in
        hit = any(_same(value, option) for option in options or [])
        return hit if op == "in" else not hit

    def describe(self) -> str:
        op = self.operators()[0]
        target = getattr(self, "in_" if op == "in" else op)
        return f"{self.field} {op.replace('_', ' ')} {target!r}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same(value: Any, target: Any) -> bool:
    """Salesforce compares picklists and text case-insensitively; numbers by value."""
    if value is None or target is None:
        return value is None and target is None
    if isinstance(target, bool) or isinstance(value, bool):
        return str(value).lower() == str(target).lower()
    a, b = _number(value), _number(target)
    if a is not None and b is not None:
        return a == b
    return str(value).strip().casefold() == str(target).strip().casefold()


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
        return _check_code(value)


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
        return _check_template(value) if value else None

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
    """A validated mapping (version 1). Build it with :func:`load_mapping` or :func:`default_mapping`."""

    version: Literal[1]
    trigger: Trigger = Trigger()
    client: ClientSection
    project: ProjectSection
    contacts: ContactsSection = ContactsSection(enabled=False)
    lifecycle: Lifecycle = Lifecycle()
    write_back: WriteBackSection = WriteBackSection()

    # -- what to read from Salesforce -----------------------------------------------------------
    def opportunity_paths(self) -> list[str]:
        """Every Opportunity field path the mapping reads (the SOQL's outer SELECT needs all of them)."""
        paths: list[str] = [c.field for c in self.trigger.conditions]
        for section in (self.client, self.project):
            for source in section.fields.values():
                if source is not None:
                    paths += source.paths()
            if section.code:
                paths += [p for p in placeholders(section.code) if p not in BUILTINS]
        for action in (self.lifecycle.closed_lost, self.lifecycle.reopened, self.lifecycle.deleted):
            if action.note:
                paths += [p for p in placeholders(action.note) if p not in BUILTINS]
        if self.contacts.enabled:
            for source in self.contacts.fields.values():
                paths += [p.split(".", 1)[1] for p in (source.paths() if source else []) if _is_opp(p)]
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

    def query_fields(self) -> tuple[list[str], list[str] | None]:
        """What the worker's one query selects beyond its base fields: the Opportunity paths, and the
        contact-role paths (None: contacts are off, no contact-role subquery). The sync and the field
        cross-check (``sf_bigtime_ops.fieldcheck``) both ask here, so they cannot disagree."""
        return self.opportunity_paths(), (self.contact_paths() if self.contacts.enabled else None)

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


def _is_opp(path: str) -> bool:
    return path.startswith("Opportunity.")


def _mentions(template: str | None, names: tuple[str, ...]) -> bool:
    return bool(template) and any(p in names for p in placeholders(template or ""))


# -- loading -----------------------------------------------------------------------------------------
def merge(base: Any, override: Any) -> Any:
    """Override merged onto base: mappings key by key (recursively), anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(source, [("", f"not valid YAML: {where}{problem}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(source, [("", "the mapping must be a YAML mapping (key: value lines)")])
    return data


@cache
def _default_data() -> dict[str, Any]:
    text = (
        resources.files("sf_bigtime.mapping").joinpath(DEFAULT_MAPPING_RESOURCE).read_text(encoding="utf-8")
    )
    return parse_yaml(text, "(bundled default)")


def build_mapping(override: dict[str, Any] | None, source: str) -> Mapping:
    """Validate ``override`` merged onto the bundled default; :class:`MappingError` names every problem."""
    override = override or {}
    version = override.get("version", MAPPING_VERSION)
    if version != MAPPING_VERSION:
        raise MappingError(
            source,
            [("version", f"{version!r} is not supported; this release reads version {MAPPING_VERSION}")],
        )
    data = merge(_default_data(), override)
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(source, [_problem(err) for err in exc.errors()]) from None


def _problem(err: Any) -> tuple[str, str]:
    loc = [str(part) for part in err["loc"] if not str(part).startswith(("function-", "tagged-union"))]
    # pydantic names union members (str, int, …) in the location; they mean nothing to the reader.
    loc = [part for part in loc if part not in ("str", "int", "float", "bool", "Source", "[key]")]
    key = ""
    for part in loc:
        part = "in" if part == "in_" else part
        key += f"[{part}]" if part.isdigit() else (f".{part}" if key else part)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch":
        message = f"{err['input']!r} is not a Salesforce field path (letters, digits, _ and dots, e.g. Account.Name)"
        if "[key]" in [str(p) for p in err["loc"]]:  # a key of a field map: a BigTime field name
            message = f"{err['input']!r} is not a BigTime field name"
    elif err["type"] == "extra_forbidden":
        message = "unknown key" + _suggest(loc)
    elif err["type"] == "missing":
        message = "is required"
    return key, message


def _suggest(loc: list[str]) -> str:
    known = _keys_at(loc[:-1])
    close = difflib.get_close_matches(loc[-1], known, n=1) if loc else []
    return f" (did you mean {close[0]!r}?)" if close else (f" (known: {', '.join(known)})" if known else "")


def _keys_at(loc: list[str]) -> list[str]:
    model: Any = Mapping
    for part in loc:
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        model = next(
            (
                a
                for a in getattr(annotation, "__args__", (annotation,))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return [info.alias or name for name, info in fields.items()]


def default_mapping() -> Mapping:
    return build_mapping(None, "(bundled default)")


def mapping_from_text(text: str, source: str) -> Mapping:
    return build_mapping(parse_yaml(text, source), source)


def mapping_from_file(path: str | Path) -> Mapping:
    file = resolve_mapping_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(str(file), [("", f"cannot be read: {exc.strerror or exc}")]) from None
    return mapping_from_text(text, str(file))


def resolve_mapping_path(path: str | Path) -> Path:
    """Relative paths are relative to the folder that holds the ``sf_bigtime`` package: the repository's
    ``layers/common/`` locally, ``/opt/python/`` in Lambda (where the layer's files land)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return Path(__file__).resolve().parents[2] / candidate


# -- where a stack's mapping comes from -----------------------------------------------------------------
MAPPING_CACHE_SECONDS = 300


class MappingSource:
    """The stack's mapping: an SSM parameter (re-read at most every five minutes, through Powertools
    Parameters' cache), a file, or the bundled default; ``overrides`` (from template parameters such as
    TriggerStages) are merged on top. :meth:`load` validates; a changed parameter is validated again and
    an invalid one raises rather than being half-applied."""

    def __init__(
        self,
        parameter: str | None = None,
        file: str | None = None,
        overrides: dict[str, Any] | None = None,
        *,
        max_age: int = MAPPING_CACHE_SECONDS,
    ) -> None:
        if parameter and file:
            raise MappingError(
                "settings",
                [
                    (
                        "",
                        "set the mapping's SSM parameter or its file (MAPPING_PARAMETER or "
                        "MAPPING_FILE), not both",
                    )
                ],
            )
        self.parameter, self.file, self.overrides, self.max_age = parameter, file, overrides or {}, max_age
        self._text: str | None = None
        self._mapping: Mapping | None = None
        self.read_error: str | None = None  # set when a refresh could not read the parameter

    @property
    def name(self) -> str:
        if self.parameter:
            return f"SSM parameter {self.parameter}"
        return f"file {resolve_mapping_path(self.file)}" if self.file else "(bundled default)"

    def load(self) -> Mapping:
        if self.parameter:
            try:
                text = self._read_parameter(self.parameter)
                self.read_error = None
            except MappingError as exc:
                if self._mapping is None:
                    raise
                # SSM unreachable for a moment: keep working with the mapping already validated.
                self.read_error = str(exc)
                return self._mapping
        elif self.file:
            path = resolve_mapping_path(self.file)
            try:
                text = path.read_text(encoding="utf-8") if self._text is None else self._text
            except OSError as exc:
                raise MappingError(self.name, [("", f"cannot be read: {exc.strerror or exc}")]) from None
        else:
            text = ""
        if self._mapping is None or text != self._text:
            data = parse_yaml(text, self.name) if text else {}
            self._mapping = build_mapping(merge(data, self.overrides), self.name)
            self._text = text
        return self._mapping

    def _read_parameter(self, name: str) -> str:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        try:
            value = get_parameter(name, max_age=self.max_age, decrypt=True)
        except Exception as exc:  # GetParameterError wraps ParameterNotFound, AccessDenied, network errors
            cause = exc.__cause__ or exc
            raise MappingError(
                self.name, [("", f"cannot be read: {type(cause).__name__}: {cause}")]
            ) from None
        return str(value)
