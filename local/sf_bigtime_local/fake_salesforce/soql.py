"""A small SOQL engine: tokenizer, recursive-descent parser, resolver against the schema, and evaluator.

Why hand-written: python-soql-parser 0.2.0 (the only maintained SOQL parser on PyPI) cannot parse child
subqueries such as ``(SELECT … FROM OpportunityContactRoles)`` and drops the ``:7`` of ``LAST_N_DAYS:7``
(tried with 0.2.0; docs/decisions.md#a-local-stack-instead-of-sam-local), and this project's one-call query
needs both.

Supported subset::

    SELECT field | Parent.Path.field | COUNT() | COUNT(field) | (SELECT … FROM ChildRelationship
           [WHERE …] [ORDER BY …] [LIMIT n]) , …
    FROM Object [alias]
    [WHERE cond]        cond: cmp | NOT cond | (cond) | cond AND cond … | cond OR cond …
                        cmp:  path (= != <> < <= > >=) value | path [NOT] IN (v, …) | path LIKE 'pat'
                        value: 'string' (SOQL escapes) | number | true | false | null | 2026-01-01
                               | 2026-01-01T00:00:00Z (+0000, -08:00) | TODAY | YESTERDAY | TOMORROW
                               | LAST_N_DAYS:n | NEXT_N_DAYS:n | N_DAYS_AGO:n | THIS/LAST/NEXT_WEEK|MONTH|YEAR
    [ORDER BY path [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]

Real SOQL rules kept on purpose (so queries that pass here pass in an org): AND and OR may not be mixed
without parentheses; ids in filters must be well-formed; date fields take date literals, not strings;
long text areas cannot be filtered or sorted; ``!=`` and ``NOT IN`` match nulls; text comparisons are
case-insensitive; picklists sort in picklist order; OFFSET is capped at 2000.
Not supported (answered with MALFORMED_QUERY naming the fake): GROUP BY, HAVING, WITH, FOR, TYPEOF,
semi-joins ``IN (SELECT …)``, aggregates other than COUNT, INCLUDES/EXCLUDES, nested child subqueries.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sf_bigtime.sfid import is_salesforce_id, to_18

from .errors import FakeSalesforceError
from .schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, ChildRelationship, Field, Schema, SObjectType
from .store import Record, Store
from .values import parse_date, parse_datetime, to_wire

MAX_OFFSET = 2000
MAX_DEPTH = 40  # nesting of parentheses/NOT; keeps pathological input from exhausting the stack

_RESERVED = frozenset(
    {"AND", "ASC", "BY", "DESC", "EXCLUDES", "FALSE", "FIRST", "FOR", "FROM", "GROUP", "HAVING", "IN"}
    | {"INCLUDES", "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "OR", "ORDER", "SELECT", "TRUE"}
    | {"TYPEOF", "WHERE", "WITH"}
)
_FIXED_DATE_LITERALS = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK", "THIS_MONTH", "LAST_MONTH"}
    | {"NEXT_MONTH", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR", "LAST_90_DAYS", "NEXT_90_DAYS"}
)
_N_DATE_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<baddatetime>\d{4}-\d{2}-\d{2}T[\w:.+-]*)
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\w.]))
    |(?P<number>[+-]?\d+(?:\.\d+)?(?![\w.]))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


# --- errors -------------------------------------------------------------------------------------------


class SoqlError(FakeSalesforceError):
    """A query error answered with HTTP 400 (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, …)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(400, error_code, message)


def _positioned(query: str, pos: int, reason: str) -> str:
    """Salesforce's message layout: the query line, a caret, ``ERROR at Row:r:Column:c``, the reason."""
    pos = max(0, min(pos, len(query)))
    row = query.count("\n", 0, pos) + 1
    start = query.rfind("\n", 0, pos) + 1
    end = query.find("\n", pos)
    line = query[start : end if end >= 0 else len(query)]
    col = pos - start
    return f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n{reason}"


# --- tokens -------------------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # ident string number date datetime op punct eof
    text: str
    pos: int
    value: Any = None
    pattern: re.Pattern[str] | None = None  # LIKE regex of a string literal

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char == "'":
            tokens.append(_string_token(query, pos))
            pos += len(tokens[-1].text)
            continue
        m = _TOKEN_RE.match(query, pos)
        if m is None or m.lastgroup is None:
            raise SoqlError(
                "MALFORMED_QUERY",
                _positioned(query, pos, f"line 1:{pos} no viable alternative at character '{char}'"),
            )
        kind, text = m.lastgroup, m.group()
        if kind == "baddatetime":
            raise SoqlError("MALFORMED_QUERY", _positioned(query, pos, f"Invalid datetime: {text}"))
        if kind == "date":
            value: Any = parse_date(text)
            if value is None:
                raise SoqlError("MALFORMED_QUERY", _positioned(query, pos, f"Invalid date: {text}"))
            tokens.append(Token(kind, text, pos, value))
        elif kind == "datetime":
            value = parse_datetime(text)
            if value is None:
                raise SoqlError("MALFORMED_QUERY", _positioned(query, pos, f"Invalid datetime: {text}"))
            tokens.append(Token(kind, text, pos, value))
        elif kind == "number":
            tokens.append(Token(kind, text, pos, Decimal(text)))
        elif kind != "ws":
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(query)))
    return tokens


def _string_token(query: str, start: int) -> Token:
    """A single-quoted literal. ``value`` is the decoded text; ``pattern`` the LIKE regex (``\\%``/``\\_`` literal)."""
    out: list[str] = []
    regex: list[str] = []
    pos = start + 1
    while pos < len(query):
        char = query[pos]
        if char == "'":
            pattern = re.compile("".join(regex), re.IGNORECASE | re.DOTALL)
            return Token("string", query[start : pos + 1], start, "".join(out), pattern)
        if char == "\\":
            nxt = query[pos + 1 : pos + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                regex.append(re.escape(_ESCAPES[nxt]))
                pos += 2
                continue
            if nxt in ("%", "_"):
                out.append(nxt)
                regex.append(re.escape(nxt))
                pos += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", query[pos + 2 : pos + 6]):
                decoded = chr(int(query[pos + 2 : pos + 6], 16))
                out.append(decoded)
                regex.append(re.escape(decoded))
                pos += 6
                continue
            raise SoqlError(
                "MALFORMED_QUERY",
                _positioned(
                    query,
                    pos,
                    f"Invalid string literal '{query[start + 1 : pos + 2]}'. "
                    f"Illegal character sequence '\\{nxt}' in string literal.",
                ),
            )
        out.append(char)
        regex.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        pos += 1
    raise SoqlError("MALFORMED_QUERY", _positioned(query, start, "line 1: unterminated string literal"))


# --- syntax tree --------------------------------------------------------------------------------------


@dataclass
class FieldRef:
    path: list[str]
    pos: int


@dataclass
class CountItem:
    field: FieldRef | None
    pos: int


@dataclass
class Literal:
    kind: str  # string number boolean null date datetime range
    value: Any
    pos: int
    pattern: re.Pattern[str] | None = None


@dataclass
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= LIKE IN NOTIN
    values: list[Literal]


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list[Any]


@dataclass
class NotOp:
    item: Any


@dataclass
class OrderItem:
    field: FieldRef
    desc: bool = False
    nulls_last: bool = False


@dataclass
class Query:
    select: list[Any]  # FieldRef | CountItem | SubQuery
    sobject: str
    sobject_pos: int
    alias: str | None = None
    where: Any = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


@dataclass
class SubQuery:
    query: Query
    pos: int


# --- parser -------------------------------------------------------------------------------------------


class Parser:
    """Recursive descent over :func:`tokenize` output; every failure is a positioned MALFORMED_QUERY."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0

    def parse(self) -> Query:
        q = self._query(top=True)
        self._expect_eof()
        return q

    # helpers
    def _peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def _next(self) -> Token:
        tok = self._peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def _fail(self, tok: Token, reason: str | None = None) -> SoqlError:
        shown = tok.text if tok.kind != "eof" else "<EOF>"
        return SoqlError(
            "MALFORMED_QUERY", _positioned(self.query, tok.pos, reason or f"unexpected token: {shown}")
        )

    def _unsupported(self, tok: Token, what: str) -> SoqlError:
        return self._fail(tok, f"{what} is not supported by the fake Salesforce")

    def _expect_kw(self, word: str) -> Token:
        tok = self._next()
        if not tok.is_kw(word):
            raise self._fail(tok)
        return tok

    def _expect(self, kind: str, text: str | None = None) -> Token:
        tok = self._next()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise self._fail(tok)
        return tok

    def _expect_eof(self) -> None:
        tok = self._peek()
        if tok.kind != "eof":
            raise self._fail(tok)

    def _name(self, allow_dots: bool = True) -> Token:
        tok = self._next()
        if tok.kind != "ident" or tok.text.upper() in _RESERVED or (not allow_dots and "." in tok.text):
            raise self._fail(tok)
        return tok

    def _enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(tok, "query is nested too deeply")

    # grammar
    def _query(self, top: bool) -> Query:
        self._expect_kw("SELECT")
        select = self._select_list(top)
        self._expect_kw("FROM")
        obj = self._name(allow_dots=False)
        q = Query(select, obj.text, obj.pos)
        if top and self._peek().kind == "ident" and self._peek().text.upper() not in _RESERVED:
            q.alias = self._name(allow_dots=False).text
        tok = self._peek()
        if tok.is_kw("WITH", "GROUP", "HAVING", "FOR", "TYPEOF"):
            raise self._unsupported(tok, tok.text.upper())
        if tok.is_kw("WHERE"):
            self._next()
            q.where = self._condition()
        if self._peek().is_kw("GROUP", "HAVING", "WITH"):
            raise self._unsupported(self._peek(), self._peek().text.upper())
        if self._peek().is_kw("ORDER"):
            self._next()
            self._expect_kw("BY")
            q.order_by = self._order_list()
        if self._peek().is_kw("LIMIT"):
            self._next()
            q.limit = self._int()
        if self._peek().is_kw("OFFSET"):
            if not top:
                raise self._fail(self._peek())
            self._next()
            q.offset = self._int()
        if self._peek().is_kw("FOR"):
            raise self._unsupported(self._peek(), "FOR")
        return q

    def _int(self) -> int:
        tok = self._next()
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self._fail(tok)
        return int(tok.text)

    def _select_list(self, top: bool) -> list[Any]:
        items: list[Any] = []
        while True:
            tok = self._peek()
            if tok.kind == "punct" and tok.text == "(":
                if not top:
                    raise self._unsupported(tok, "a child subquery inside a child subquery")
                self._next()
                if self._peek().is_kw("SELECT"):
                    sub = self._query(top=False)
                    self._expect("punct", ")")
                    items.append(SubQuery(sub, tok.pos))
                else:
                    raise self._fail(self._peek())
            elif tok.is_kw("COUNT") and self._peek(1).text == "(":
                self._next()
                self._next()
                ref = None
                if self._peek().text != ")":
                    name = self._name()
                    ref = FieldRef(name.text.split("."), name.pos)
                self._expect("punct", ")")
                items.append(CountItem(ref, tok.pos))
            elif tok.kind == "ident" and self._peek(1).text == "(" and tok.text.upper() not in _RESERVED:
                raise self._unsupported(tok, f"the function {tok.text.upper()}()")
            else:
                name = self._name()
                items.append(FieldRef(name.text.split("."), name.pos))
            if self._peek().text == "," and self._peek().kind == "punct":
                self._next()
                continue
            return items

    def _order_list(self) -> list[OrderItem]:
        items: list[OrderItem] = []
        while True:
            name = self._name()
            item = OrderItem(FieldRef(name.text.split("."), name.pos))
            if self._peek().is_kw("ASC", "DESC"):
                item.desc = self._next().text.upper() == "DESC"
            if self._peek().is_kw("NULLS"):
                self._next()
                tok = self._next()
                if not tok.is_kw("FIRST", "LAST"):
                    raise self._fail(tok)
                item.nulls_last = tok.text.upper() == "LAST"
            items.append(item)
            if self._peek().kind == "punct" and self._peek().text == ",":
                self._next()
                continue
            return items

    def _condition(self) -> Any:
        items = [self._unary()]
        connector: str | None = None
        while self._peek().is_kw("AND", "OR"):
            tok = self._next()
            word = tok.text.upper()
            if connector is not None and word != connector:
                # SOQL requires parentheses when AND and OR are mixed.
                raise self._fail(tok, f"unexpected token: {tok.text}")
            connector = word
            items.append(self._unary())
        return BoolOp(connector, items) if connector else items[0]

    def _unary(self) -> Any:
        tok = self._peek()
        self._enter(tok)
        try:
            if tok.is_kw("NOT"):
                self._next()
                return NotOp(self._unary())
            if tok.kind == "punct" and tok.text == "(":
                self._next()
                inner = self._condition()
                self._expect("punct", ")")
                return inner
            return self._comparison()
        finally:
            self.depth -= 1

    def _comparison(self) -> Comparison:
        name = self._name()
        ref = FieldRef(name.text.split("."), name.pos)
        tok = self._next()
        if tok.is_kw("NOT"):
            if not self._peek().is_kw("IN"):
                raise self._fail(self._peek())
            self._next()
            return Comparison(ref, "NOTIN", self._value_list())
        if tok.is_kw("IN"):
            return Comparison(ref, "IN", self._value_list())
        if tok.is_kw("LIKE"):
            value = self._value()
            if value.kind != "string":
                raise self._fail(self.tokens[self.i - 1])
            return Comparison(ref, "LIKE", [value])
        if tok.is_kw("INCLUDES", "EXCLUDES"):
            raise self._unsupported(tok, tok.text.upper())
        if tok.kind == "op":
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(ref, op, [self._value()])
        raise self._fail(tok)

    def _value_list(self) -> list[Literal]:
        self._expect("punct", "(")
        if self._peek().is_kw("SELECT"):
            raise self._unsupported(self._peek(), "a semi-join subquery (IN (SELECT …))")
        values = [self._value()]
        while self._peek().kind == "punct" and self._peek().text == ",":
            self._next()
            values.append(self._value())
        self._expect("punct", ")")
        return values

    def _value(self) -> Literal:
        tok = self._next()
        if tok.kind == "string":
            return Literal("string", tok.value, tok.pos, tok.pattern)
        if tok.kind == "number":
            return Literal("number", float(tok.value), tok.pos)
        if tok.kind == "date":
            return Literal("date", tok.value, tok.pos)
        if tok.kind == "datetime":
            return Literal("datetime", tok.value, tok.pos)
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", tok.pos)
            if word == "NULL":
                return Literal("null", None, tok.pos)
            if word in _FIXED_DATE_LITERALS:
                return Literal("range", (word, 0), tok.pos)
            if word in _N_DATE_LITERALS:
                self._expect("punct", ":")
                n = self._int()
                return Literal("range", (word, n), tok.pos)
        raise self._fail(tok)


def parse(query: str) -> Query:
    """Parse SOQL text into a :class:`Query` (raises :class:`SoqlError` with MALFORMED_QUERY)."""
    if not isinstance(query, str) or not query.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
    return Parser(query).parse()


# --- resolution against the schema ---------------------------------------------------------------------


@dataclass
class Path:
    rels: list[Field]  # reference fields followed from the queried object
    field: Field

    @property
    def keys(self) -> list[str]:
        return [r.relationship_name or r.name for r in self.rels] + [self.field.name]


@dataclass
class Cond:
    path: Path
    op: str
    values: list[Any]  # converted Python values; ranges as (start, end) tuples
    ranges: list[bool]
    pattern: re.Pattern[str] | None = None


@dataclass
class SubPlan:
    rel: ChildRelationship
    plan: Plan


@dataclass
class Plan:
    sobject: SObjectType
    columns: list[Any]  # Path | CountItem(resolved as Path | None) | SubPlan
    where: Any
    order: list[tuple[Path, bool, bool]]
    limit: int | None
    offset: int | None
    count_only: bool = False
    aggregate: bool = False


class Resolver:
    """Check a parsed query against the schema (INVALID_TYPE / INVALID_FIELD) and convert literals."""

    def __init__(self, query: str, schema: Schema, today: date) -> None:
        self.query = query
        self.schema = schema
        self.today = today

    def _error(self, code: str, pos: int, reason: str) -> SoqlError:
        return SoqlError(code, _positioned(self.query, pos, reason))

    def plan(self, q: Query, sobject: SObjectType | None = None) -> Plan:
        if sobject is None:
            found = self.schema.get(q.sobject)
            if found is None:
                raise self._error(
                    "INVALID_TYPE",
                    q.sobject_pos,
                    f"sObject type '{q.sobject}' is not supported. If you are attempting to use a custom object, "
                    "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                )
            sobject = found
        self.alias = q.alias
        columns: list[Any] = []
        seen: set[str] = set()
        counts = [c for c in q.select if isinstance(c, CountItem)]
        if counts and len(counts) != len(q.select):
            raise self._error("MALFORMED_QUERY", counts[0].pos, "Field must be grouped or aggregated")
        for item in q.select:
            if isinstance(item, SubQuery):
                columns.append(self._subplan(sobject, item))
                continue
            if isinstance(item, CountItem):
                columns.append(item if item.field is None else self.path(sobject, item.field))
                continue
            path = self.path(sobject, item)
            key = ".".join(path.keys).lower()
            if key in seen:
                raise self._error(
                    "MALFORMED_QUERY", item.pos, f"duplicate field selected: {'.'.join(path.keys)}"
                )
            seen.add(key)
            columns.append(path)
        order = []
        for o in q.order_by:
            path = self.path(sobject, o.field)
            if not path.field.filterable:
                raise self._error(
                    "INVALID_FIELD",
                    o.field.pos,
                    f"field '{path.field.name}' can not be sorted in a query call",
                )
            order.append((path, o.desc, o.nulls_last))
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        count_only = len(counts) == 1 and counts[0].field is None and len(q.select) == 1
        return Plan(
            sobject,
            columns,
            self._cond(sobject, q.where) if q.where is not None else None,
            order,
            q.limit,
            q.offset,
            count_only=count_only,
            aggregate=bool(counts) and not count_only,
        )

    def _subplan(self, parent: SObjectType, sub: SubQuery) -> SubPlan:
        rel = parent.child(sub.query.sobject)
        child = self.schema.get(rel.child) if rel else None
        if rel is None or child is None:
            raise self._error(
                "INVALID_TYPE",
                sub.query.sobject_pos,
                f"Didn't understand relationship '{sub.query.sobject}' in FROM part of query call. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the appropriate names.",
            )
        if any(isinstance(c, CountItem) for c in sub.query.select):
            raise self._error("MALFORMED_QUERY", sub.pos, "COUNT() is not supported in a child subquery")
        alias = self.alias
        plan = self.plan(sub.query, child)
        self.alias = alias
        return SubPlan(rel, plan)

    def path(self, sobject: SObjectType, ref: FieldRef) -> Path:
        parts = list(ref.path)
        if self.alias and len(parts) > 1 and parts[0].lower() == self.alias.lower():
            parts = parts[1:]
        current = sobject
        rels: list[Field] = []
        for part in parts[:-1]:
            rel = current.parent(part)
            target = self.schema.get(rel.reference_to[0]) if rel else None
            if rel is None or target is None:
                raise self._error(
                    "INVALID_FIELD",
                    ref.pos,
                    f"Didn't understand relationship '{part}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            rels.append(rel)
            current = target
        f = current.field(parts[-1])
        if f is None:
            raise self._error(
                "INVALID_FIELD",
                ref.pos,
                f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference your "
                "WSDL or the describe call for the appropriate names.",
            )
        return Path(rels, f)

    def _cond(self, sobject: SObjectType, node: Any) -> Any:
        if isinstance(node, BoolOp):
            return BoolOp(node.op, [self._cond(sobject, i) for i in node.items])
        if isinstance(node, NotOp):
            return NotOp(self._cond(sobject, node.item))
        assert isinstance(node, Comparison)
        path = self.path(sobject, node.field)
        f = path.field
        if not f.filterable:
            raise self._error(
                "INVALID_FIELD", node.field.pos, f"field '{f.name}' can not be filtered in a query call"
            )
        if node.op == "LIKE" and f.type not in TEXT_TYPES:
            raise self._error(
                "INVALID_FIELD",
                node.field.pos,
                f"invalid operator on field '{f.name}': LIKE works on text fields only",
            )
        values, ranges = [], []
        for lit in node.values:
            value = self._convert(f, lit)
            values.append(value)
            ranges.append(lit.kind == "range")
        pattern = node.values[0].pattern if node.op == "LIKE" else None
        return Cond(path, node.op, values, ranges, pattern)

    def _convert(self, f: Field, lit: Literal) -> Any:
        if lit.kind == "null":
            return None
        want: str
        if f.type in ID_TYPES:
            want = "string"
            if lit.kind == "string":
                if not is_salesforce_id(lit.value):
                    raise self._error(
                        "INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid ID field: {lit.value}"
                    )
                return to_18(lit.value)
        elif f.type in TEXT_TYPES:
            want = "string"
            if lit.kind == "string":
                return lit.value
        elif f.type == "boolean":
            want = "boolean"
            if lit.kind == "boolean":
                return lit.value
        elif f.type in NUMBER_TYPES:
            want = "double" if f.type != "int" else "int"
            if lit.kind == "number":
                return lit.value
        elif f.type == "date":
            want = "date"
            if lit.kind == "date":
                return lit.value
            if lit.kind == "range":
                return self._range(lit)
        elif f.type == "datetime":
            want = "dateTime"
            if lit.kind == "datetime":
                return lit.value
            if lit.kind == "range":
                start, end = self._range(lit)
                return (_midnight(start), _midnight(end))
        else:
            raise self._error(
                "INVALID_FIELD", lit.pos, f"field '{f.name}' can not be filtered in a query call"
            )
        quoted = "should be enclosed in quotes" if want == "string" else "should not be enclosed in quotes"
        raise self._error(
            "INVALID_FIELD",
            lit.pos,
            f"value of filter criterion for field '{f.name}' must be of type {want} and {quoted}",
        )

    def _range(self, lit: Literal) -> tuple[date, date]:
        try:
            return date_range(lit.value[0], lit.value[1], self.today)
        except (OverflowError, ValueError):
            raise self._error(
                "MALFORMED_QUERY", lit.pos, f"date literal out of range: {lit.value[0]}:{lit.value[1]}"
            ) from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def date_range(name: str, n: int, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal, in days (the org time zone is UTC in the fake)."""
    day = timedelta(days=1)
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday (en_US)
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)
    fixed = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (week_start, week_start + 7 * day),
        "LAST_WEEK": (week_start - 7 * day, week_start),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "THIS_MONTH": (month_start, _add_months(month_start, 1)),
        "LAST_MONTH": (_add_months(month_start, -1), month_start),
        "NEXT_MONTH": (_add_months(month_start, 1), _add_months(month_start, 2)),
        "THIS_YEAR": (year_start, year_start.replace(year=year_start.year + 1)),
        "LAST_YEAR": (year_start.replace(year=year_start.year - 1), year_start),
        "NEXT_YEAR": (
            year_start.replace(year=year_start.year + 1),
            year_start.replace(year=year_start.year + 2),
        ),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
    }
    if name in fixed:
        return fixed[name]
    if name == "LAST_N_DAYS":  # includes today
        return (today - n * day, today + day)
    if name == "NEXT_N_DAYS":
        return (today + day, today + (n + 1) * day)
    if name == "N_DAYS_AGO":
        return (today - n * day, today - (n - 1) * day)
    raise ValueError(name)


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass
class Result:
    total_size: int
    records: list[dict[str, Any]]


class Executor:
    """Run a :class:`Plan` over the store and shape records as the REST API does."""

    def __init__(self, store: Store, include_deleted: bool, version: str) -> None:
        self.store = store
        self.include_deleted = include_deleted
        self.version = version

    def parent(self, record: Record, rel: Field) -> Record | None:
        target_id = record.values.get(rel.name)
        if not target_id:
            return None
        parent = self.store.records.get(target_id)
        if parent is None or (parent.deleted and not self.include_deleted):
            return None
        return parent

    def value(self, record: Record, path: Path) -> Any:
        current: Record | None = record
        for rel in path.rels:
            current = self.parent(current, rel)
            if current is None:
                return None
        return current.value(path.field)

    def matches(self, record: Record, node: Any) -> bool:
        if node is None:
            return True
        if isinstance(node, BoolOp):
            check = all if node.op == "AND" else any
            return check(self.matches(record, item) for item in node.items)
        if isinstance(node, NotOp):
            return not self.matches(record, node.item)
        return self._compare(node, self.value(record, node.path))

    def _compare(self, cond: Cond, value: Any) -> bool:
        f = cond.path.field
        if cond.op == "LIKE":
            return (
                isinstance(value, str)
                and cond.pattern is not None
                and cond.pattern.fullmatch(value) is not None
            )
        if cond.op in ("IN", "NOTIN"):
            hit = any(_equal(f, value, v, r) for v, r in zip(cond.values, cond.ranges, strict=True))
            return hit if cond.op == "IN" else not hit
        target, is_range = cond.values[0], cond.ranges[0]
        if cond.op == "=":
            return _equal(f, value, target, is_range)
        if cond.op == "!=":
            return not _equal(f, value, target, is_range)
        if value is None or target is None:
            return False
        a = _norm(f, value)
        if is_range:
            start, end = (_norm(f, t) for t in target)
            return {"<": a < start, "<=": a < end, ">": a >= end, ">=": a >= start}[cond.op]
        b = _norm(f, target)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[cond.op]

    def rows(self, plan: Plan, candidates: list[Record]) -> list[Record]:
        rows = [r for r in candidates if self.matches(r, plan.where)]
        if plan.order:
            rows.sort(key=functools.cmp_to_key(lambda a, b: self._cmp(plan, a, b)))
        start = plan.offset or 0
        end = start + plan.limit if plan.limit is not None else None
        return rows[start:end]

    def _cmp(self, plan: Plan, a: Record, b: Record) -> int:
        for path, desc, nulls_last in plan.order:
            va, vb = self.value(a, path), self.value(b, path)
            if va is None and vb is None:
                continue
            if va is None or vb is None:
                first = 1 if nulls_last else -1
                return first if va is None else -first
            ka, kb = _sort_key(path.field, va), _sort_key(path.field, vb)
            if ka != kb:
                result = -1 if ka < kb else 1
                return -result if desc else result
        return 0

    def run(self, plan: Plan) -> Result:
        rows = self.rows(plan, self.store.all(plan.sobject, self.include_deleted))
        if plan.count_only:
            return Result(len(rows), [])
        if plan.aggregate:
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for i, col in enumerate(plan.columns):
                count = (
                    len(rows)
                    if isinstance(col, CountItem)
                    else sum(self.value(r, col) is not None for r in rows)
                )
                record[f"expr{i}"] = count
            return Result(1, [record])
        return Result(len(rows), [self.shape(plan, r) for r in rows])

    def attributes(self, record: Record) -> dict[str, str]:
        name = record.sobject.name
        return {"type": name, "url": f"/services/data/v{self.version}/sobjects/{name}/{record.id}"}

    def shape(self, plan: Plan, record: Record) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.attributes(record)}
        for col in plan.columns:
            if isinstance(col, SubPlan):
                out[col.rel.name] = self._children(col, record)
                continue
            target, current = out, record
            for rel in col.rels:
                key = rel.relationship_name or rel.name
                parent = self.parent(current, rel)
                if parent is None:
                    target.setdefault(key, None)
                    break
                if target.get(key) is None:
                    target[key] = {"attributes": self.attributes(parent)}
                target, current = target[key], parent
            else:
                target[col.field.name] = to_wire(col.field, current.value(col.field))
        return out

    def _children(self, sub: SubPlan, parent: Record) -> dict[str, Any] | None:
        child_type = sub.plan.sobject
        candidates = [
            c
            for c in self.store.all(child_type, self.include_deleted)
            if c.values.get(sub.rel.field) == parent.id
        ]
        rows = self.rows(sub.plan, candidates)
        if not rows:
            return None
        return {"totalSize": len(rows), "done": True, "records": [self.shape(sub.plan, r) for r in rows]}


def _norm(f: Field, value: Any) -> Any:
    if isinstance(value, str) and f.type not in ID_TYPES:
        return value.casefold()
    return value


def _equal(f: Field, value: Any, target: Any, is_range: bool) -> bool:
    if target is None or value is None:
        return value is None and target is None
    if is_range:
        start, end = target
        return bool(start <= value < end)
    return bool(_norm(f, value) == _norm(f, target))


def _sort_key(f: Field, value: Any) -> Any:
    if f.type == "picklist" and isinstance(value, str):
        # Picklists sort in the order of their values, not alphabetically.
        index = f.picklist_values.index(value) if value in f.picklist_values else len(f.picklist_values)
        return (index, value.casefold())
    return (0, _norm(f, value))


def execute(
    query: str,
    schema: Schema,
    store: Store,
    *,
    today: date,
    include_deleted: bool = False,
    version: str = "66.0",
) -> Result:
    """Parse, resolve and run ``query``; raises :class:`SoqlError` for anything Salesforce would reject."""
    plan = Resolver(query, schema, today).plan(parse(query))
    return Executor(store, include_deleted, version).run(plan)
