"""Which Salesforce fields the worker reads and writes, and whether an org (or the shipped metadata) has them.

One source of truth, taken from the code that talks to Salesforce rather than kept as a list here:

- reads: the fields of the SOQL the worker itself sends (``SalesforceClient.opportunity_soql`` with the
  mapping's fields), parsed back into field paths, including ``ORDER BY`` and ``WHERE`` fields;
- writes: the declared write fields that ``SalesforceClient.write_back`` enforces
  (``OPPORTUNITY_WRITE_FIELDS``, ``PROJECT_WRITE_FIELDS``);
- the pull's query and writes (``sf_bigtime.pull``: its SOQL, ``PULL_WRITE_FIELDS`` and the Opportunity
  fields the mapping's ``pull.opportunity`` copies figures onto).

:func:`find_problems` walks each path through ``describe`` results (relationship by relationship), so
the same check runs against a real org (``sf-bigtime check``) and offline against the SFDX metadata
(tests load it into the fake org). The mapping decides which fields the query reads
(:meth:`Mapping.query_fields`), so a custom mapping extends the list through :func:`worker_field_uses`;
another query (the reconcile sweep's, say) adds its SOQL with :func:`soql_fields`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

from sf_bigtime.clients.salesforce import (
    OPPORTUNITY_WRITE_FIELDS,
    PROJECT_OBJECT,
    PROJECT_WRITE_FIELDS,
    SalesforceClient,
)
from sf_bigtime.mapping.load import default_mapping
from sf_bigtime.mapping.model import Mapping
from sf_bigtime.secrets import SalesforceClientCredentials

Access = Literal["read", "update", "upsert"]
Describe = Callable[[str], dict[str, Any] | None]

# Any well-formed id: the query text is what matters, not the record it would find.
_EXAMPLE_OPPORTUNITY_ID = "006000000000000AAA"
_OFFLINE = SalesforceClientCredentials(
    consumer_key=SecretStr("offline"), consumer_secret=SecretStr("offline")
)


@dataclass(frozen=True)
class FieldUse:
    """One field the worker touches: ``sobject`` (via ``child`` relationship) then the dotted ``path``."""

    sobject: str
    path: str
    access: Access = "read"
    child: str | None = None  # a child relationship read through a subquery, e.g. OpportunityContactRoles

    def __str__(self) -> str:
        via = f"{self.child}." if self.child else ""
        return f"{self.sobject}.{via}{self.path}"


@dataclass(frozen=True)
class ResolvedField:
    """Where a :class:`FieldUse` ends: the object that owns the field, and the field's describe entry."""

    use: FieldUse
    sobject: str
    describe: dict[str, Any] = field(hash=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.describe.get("name"))

    @property
    def custom(self) -> bool:
        return bool(self.describe.get("custom"))


@dataclass(frozen=True)
class FieldProblem:
    use: FieldUse
    reason: str

    def __str__(self) -> str:
        return f"{self.use}: {self.reason}"


# -- reading field paths out of SOQL ---------------------------------------------------------------------
_CLAUSE = re.compile(r"\b(FROM|WHERE|ORDER\s+BY|LIMIT|OFFSET|GROUP\s+BY|HAVING|WITH|FOR)\b", re.IGNORECASE)
_COMPARED = re.compile(
    r"([A-Za-z_][\w.]*)\s*(?:=|!=|<>|<=|>=|<|>|\bNOT\s+IN\b|\bIN\b|\bLIKE\b|\bINCLUDES\b|\bEXCLUDES\b)",
    re.IGNORECASE,
)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "NULL", "TRUE", "FALSE"})


def soql_fields(soql: str, access: Access = "read") -> list[FieldUse]:
    """Every field path a SOQL query names: selected, compared in WHERE, sorted by; subqueries too.

    Handles the shape this project generates (and most hand-written queries); functions such as
    ``COUNT()`` and semi-joins are not field paths and are not supported here.
    """
    text = _STRING.sub("''", " ".join(soql.split()))
    return _query_fields(text, parent=None, access=access)


def _query_fields(text: str, parent: str | None, access: Access) -> list[FieldUse]:
    body = text.strip()
    if not body.upper().startswith("SELECT "):
        raise ValueError(f"not a SELECT query: {text[:60]!r}")
    body = body[len("SELECT ") :]
    items, rest = _split_select(body)
    clauses = _clauses(rest)
    source = clauses.get("FROM", "").split()
    if not source:
        raise ValueError(f"no FROM in query: {text[:60]!r}")
    if parent is None:
        sobject, child = source[0], None
    else:
        sobject, child = parent, source[0]
    uses: list[FieldUse] = []
    paths: list[str] = []
    subqueries: list[str] = []
    for item in items:
        (subqueries if item.startswith("(") else paths).append(item)
    paths += [m.group(1) for m in _COMPARED.finditer(clauses.get("WHERE", ""))]
    for part in _top_level_split(clauses.get("ORDER BY", "")):
        words = part.split()
        if words:
            paths.append(words[0])
    for path in paths:
        if path.upper() not in _KEYWORDS and "(" not in path:
            uses.append(FieldUse(sobject, path, access, child))
    for sub in subqueries:
        if parent is not None:
            raise ValueError("nested subqueries are not SOQL")
        uses += _query_fields(sub[1:-1], parent=sobject, access=access)
    return _dedupe(uses)


def _split_select(body: str) -> tuple[list[str], str]:
    """Split ``a, b, (SELECT …) FROM …`` into the select items and the text from FROM on."""
    depth = 0
    for i, ch in enumerate(body):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and body[i:].upper().startswith("FROM ") and (i == 0 or body[i - 1] == " "):
            return _top_level_split(body[:i]), body[i:]
    raise ValueError("no FROM in query")


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _clauses(text: str) -> dict[str, str]:
    """``FROM x WHERE y ORDER BY z`` -> {"FROM": "x", "WHERE": "y", "ORDER BY": "z"} (top level only)."""
    marks = []
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and ch.isalpha() and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
            match = _CLAUSE.match(text, i)
            if match:
                marks.append((i, match.end(), " ".join(match.group(1).upper().split())))
    out: dict[str, str] = {}
    for n, (_, end, name) in enumerate(marks):
        stop = marks[n + 1][0] if n + 1 < len(marks) else len(text)
        out[name] = text[end:stop].strip()
    return out


def _dedupe(uses: Iterable[FieldUse]) -> list[FieldUse]:
    seen: dict[tuple[str, str, str, str | None], FieldUse] = {}
    for use in uses:
        seen.setdefault((use.sobject.lower(), use.path.lower(), use.access, use.child), use)
    return list(seen.values())


# -- what the worker uses --------------------------------------------------------------------------------
def worker_soql(mapping: Mapping | None = None) -> str:
    """The Opportunity query of a sync, exactly as the worker builds it for this mapping (default: the
    bundled one)."""
    mapping = mapping or default_mapping()
    client = SalesforceClient(_OFFLINE)  # builds the query text only; nothing is sent
    return client.opportunity_soql(_EXAMPLE_OPPORTUNITY_ID, *mapping.query_fields())


def worker_field_uses(mapping: Mapping | None = None) -> list[FieldUse]:
    """Every field the worker reads (its query) or writes (the declared write-back fields)."""
    writes = [FieldUse("Opportunity", f, "update") for f in OPPORTUNITY_WRITE_FIELDS]
    writes += [FieldUse(PROJECT_OBJECT, f, "upsert") for f in PROJECT_WRITE_FIELDS]
    return _dedupe([*soql_fields(worker_soql(mapping)), *writes])


def reconcile_soql(mapping: Mapping | None = None) -> str:
    """The reconcile sweep's query (and backfill's) for this mapping's trigger (default: the bundled
    mapping's) with every optional clause, as it builds it."""
    from datetime import UTC, date, datetime

    from sf_bigtime.reconcile.sweep import SweepQuery

    now = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = (mapping or default_mapping()).trigger
    return SweepQuery(
        trigger, closed_since=date(2026, 1, 1), modified_after=now, modified_before=now, limit=10
    ).soql()


def pull_soql(mapping: Mapping | None = None) -> str:
    """The pull's query with every optional clause, as it builds it for this mapping."""
    from datetime import UTC, datetime

    from sf_bigtime.pull.salesforce import Scope, project_soql

    mapping = mapping or default_mapping()
    scope = Scope(opportunity_id=_EXAMPLE_OPPORTUNITY_ID, project_id="1")
    return project_soql(scope, list(mapping.pull.opportunity), datetime(2026, 1, 1, tzinfo=UTC))


def pull_field_uses(mapping: Mapping | None = None) -> list[FieldUse]:
    """Every field the pull reads (its query) or writes (upserts on BigTime_Project__c; opt-in updates of
    the Opportunity)."""
    from sf_bigtime.pull.fields import PULL_WRITE_FIELDS

    mapping = mapping or default_mapping()
    writes = [FieldUse(PROJECT_OBJECT, f, "upsert") for f in PULL_WRITE_FIELDS]
    writes += [FieldUse("Opportunity", f, "update") for f in mapping.pull.opportunity]
    return _dedupe([*soql_fields(pull_soql(mapping)), *writes])


def stack_field_uses(mapping: Mapping | None = None) -> list[FieldUse]:
    """Every field the stack's functions read or write: the worker's, the reconcile sweep's and the pull's."""
    return _dedupe(
        [*worker_field_uses(mapping), *soql_fields(reconcile_soql(mapping)), *pull_field_uses(mapping)]
    )


# -- checking them against describe results --------------------------------------------------------------
class CachedDescribe:
    """A describe function that asks at most once per object (and remembers "no such object")."""

    def __init__(self, describe: Describe) -> None:
        self._describe = describe
        self._cache: dict[str, dict[str, Any] | None] = {}

    def __call__(self, sobject: str) -> dict[str, Any] | None:
        key = sobject.lower()
        if key not in self._cache:
            self._cache[key] = self._describe(sobject)
        return self._cache[key]


def _by(items: Iterable[dict[str, Any]], key: str, value: str) -> dict[str, Any] | None:
    wanted = value.lower()
    return next((i for i in items if str(i.get(key) or "").lower() == wanted), None)


def resolve(use: FieldUse, describe: Describe) -> ResolvedField | FieldProblem:
    """Follow ``use`` through the describe results to the field it names, or say where it breaks."""
    obj = describe(use.sobject)
    if obj is None:
        return FieldProblem(use, f"object {use.sobject} does not exist or is not visible")
    if use.child:
        rel = _by(obj.get("childRelationships") or [], "relationshipName", use.child)
        if rel is None:
            return FieldProblem(use, f"{use.sobject} has no child relationship {use.child}")
        child_name = str(rel.get("childSObject"))
        obj = describe(child_name)
        if obj is None:
            return FieldProblem(use, f"object {child_name} does not exist or is not visible")
    *hops, last = use.path.split(".")
    for hop in hops:
        ref = _by(obj.get("fields") or [], "relationshipName", hop)
        targets = (ref or {}).get("referenceTo") or []
        if not targets:
            return FieldProblem(use, f"{obj.get('name')} has no relationship {hop}")
        target = str(targets[0])
        obj = describe(target)
        if obj is None:
            return FieldProblem(use, f"object {target} does not exist or is not visible")
    found = _by(obj.get("fields") or [], "name", last)
    if found is None:
        return FieldProblem(use, f"{obj.get('name')} has no field {last} (or it is not visible)")
    if use.access == "update" and not found.get("updateable"):
        return FieldProblem(use, f"{obj.get('name')}.{last} is not editable")
    if use.access == "upsert" and not (found.get("updateable") and found.get("createable")):
        return FieldProblem(use, f"{obj.get('name')}.{last} cannot be both created and edited")
    return ResolvedField(use, str(obj.get("name")), found)


def find_problems(uses: Iterable[FieldUse], describe: Describe) -> list[FieldProblem]:
    """The uses that do not resolve; describe is called at most once per object."""
    cached = CachedDescribe(describe)
    return [r for r in (resolve(u, cached) for u in uses) if isinstance(r, FieldProblem)]


def resolve_all(uses: Iterable[FieldUse], describe: Describe) -> list[ResolvedField | FieldProblem]:
    cached = CachedDescribe(describe)
    return [resolve(u, cached) for u in uses]
