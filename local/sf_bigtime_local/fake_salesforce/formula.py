"""Formula fields: the subset of Salesforce's formula language that the shipped metadata uses, evaluated on
read so a formula field in ``salesforce/`` behaves in the fake as it does in an org (read-only, computed from
the record's other fields, refused on create and update).

Supported: number and string literals, ``TRUE``/``FALSE``/``NULL``, field names of the same object
(case-insensitive), ``+ - * / ^``, ``&`` (text concatenation), ``= == != <> < <= > >=``, ``&& ||``, and the
functions ``IF AND OR NOT ISBLANK BLANKVALUE MAX MIN ROUND ABS``. Anything else is a :class:`FormulaError`
when the metadata is loaded, so a typo in a formula fails the tests instead of passing silently.

Semantics as Salesforce documents them: with ``formulaTreatBlanksAs`` = ``BlankAsZero`` a blank number field
reads as 0 (text fields as ""); arithmetic with a blank is blank; a comparison with a blank is false; a
division by zero is an error in an org, and blank here [I]. A ``Percent`` formula's result 0.5 is shown as
50 %, and the REST API returns it as ``50.0`` [I]; numbers are rounded to the field's scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Values = dict[str, Any]
Node = Callable[[Values], Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|!=|<>|<=|>=|&&|\|\||[-+*/^&=<>(),]))"
)
_NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


class FormulaError(ValueError):
    """A formula the fake cannot evaluate (unknown field or function, bad syntax)."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FormulaError(f"cannot read the formula at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append(_Token(kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FormulaError("a checkbox is not a number")
    return float(value)


def _arith(op: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        x, y = _num(a), _num(b)
        if x is None or y is None:
            return None
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "^":
            return x**y
        return None if y == 0 else x / y

    return apply


def _compare(op: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> bool:
        if a is None or b is None or a == "" or b == "":
            return op in ("!=", "<>") and not (a in (None, "") and b in (None, ""))
        if isinstance(a, int | float) and not isinstance(a, bool):
            a, b = float(a), _num(b)
        result = {
            "=": a == b,
            "==": a == b,
            "!=": a != b,
            "<>": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }[op]
        return bool(result)

    return apply


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _if(args: list[Node], values: Values) -> Any:
    return args[1](values) if args[0](values) is True else args[2](values)


def _numbers(args: list[Node], values: Values) -> list[float] | None:
    nums = [_num(a(values)) for a in args]
    return None if any(n is None for n in nums) else [n for n in nums if n is not None]


def _round(args: list[Node], values: Values) -> Any:
    x, digits = _num(args[0](values)), _num(args[1](values))
    if x is None or digits is None:
        return None
    scale = 10 ** int(digits)
    return math.floor(abs(x) * scale + 0.5) / scale * (1 if x >= 0 else -1)  # half away from zero


_FUNCTIONS: dict[str, tuple[tuple[int, int], Callable[[list[Node], Values], Any]]] = {
    "IF": ((3, 3), _if),
    "AND": ((1, 99), lambda a, v: all(x(v) is True for x in a)),
    "OR": ((1, 99), lambda a, v: any(x(v) is True for x in a)),
    "NOT": ((1, 1), lambda a, v: a[0](v) is not True),
    "ISBLANK": ((1, 1), lambda a, v: _blank(a[0](v))),
    "BLANKVALUE": ((2, 2), lambda a, v: a[1](v) if _blank(a[0](v)) else a[0](v)),
    "MAX": ((1, 99), lambda a, v: None if (n := _numbers(a, v)) is None else max(n)),
    "MIN": ((1, 99), lambda a, v: None if (n := _numbers(a, v)) is None else min(n)),
    "ABS": ((1, 1), lambda a, v: None if (n := _num(a[0](v))) is None else abs(n)),
    "ROUND": ((2, 2), _round),
}


class _Parser:
    """Recursive descent, lowest precedence first: || , && , comparison, + - &, * /, unary -, ^."""

    def __init__(self, text: str, fields: dict[str, tuple[str, str]], blanks_as_zero: bool) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields = fields  # lower-case name -> (schema name, describe type)
        self.blanks_as_zero = blanks_as_zero
        self.references: set[str] = set()

    def parse(self) -> Node:
        node = self._or()
        if self.pos != len(self.tokens):
            raise FormulaError(f"unexpected {self.tokens[self.pos].text!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos].text if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> _Token:
        if self.pos >= len(self.tokens):
            raise FormulaError("the formula ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token.text != expected:
            raise FormulaError(f"expected {expected!r}, found {token.text!r}")
        self.pos += 1
        return token

    def _binary(self, ops: dict[str, Callable[[Any, Any], Any]], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self._peek() in ops:
            apply = ops[self._take().text]
            left, right = node, operand()
            node = lambda v, f=apply, a=left, b=right: f(a(v), b(v))  # noqa: E731
        return node

    def _or(self) -> Node:
        return self._binary({"||": lambda a, b: a is True or b is True}, self._and)

    def _and(self) -> Node:
        return self._binary({"&&": lambda a, b: a is True and b is True}, self._comparison)

    def _comparison(self) -> Node:
        ops = {op: _compare(op) for op in ("=", "==", "!=", "<>", "<", "<=", ">", ">=")}
        return self._binary(ops, self._sum)

    def _sum(self) -> Node:
        concat = lambda a, b: ("" if a is None else str(a)) + ("" if b is None else str(b))  # noqa: E731
        return self._binary({"+": _arith("+"), "-": _arith("-"), "&": concat}, self._product)

    def _product(self) -> Node:
        return self._binary({"*": _arith("*"), "/": _arith("/")}, self._unary)

    def _unary(self) -> Node:
        if self._peek() == "-":
            self._take()
            operand = self._unary()
            return lambda v: None if (n := _num(operand(v))) is None else -n
        return self._binary({"^": _arith("^")}, self._primary)

    def _primary(self) -> Node:
        token = self._take()
        if token.kind == "num":
            number = float(token.text)
            return lambda _v: number
        if token.kind == "str":
            literal = token.text[1:-1].replace('\\"', '"').replace("\\'", "'")
            return lambda _v: literal
        if token.text == "(":
            node = self._or()
            self._take(")")
            return node
        if token.kind != "name":
            raise FormulaError(f"unexpected {token.text!r}")
        upper = token.text.upper()
        if self._peek() == "(":
            return self._call(upper)
        if upper in ("TRUE", "FALSE"):
            constant = upper == "TRUE"
            return lambda _v: constant
        if upper == "NULL":
            return lambda _v: None
        return self._field(token.text)

    def _call(self, name: str) -> Node:
        if name not in _FUNCTIONS:
            raise FormulaError(f"function {name} is not supported by the fake")
        (low, high), apply = _FUNCTIONS[name]
        self._take("(")
        args: list[Node] = []
        if self._peek() != ")":
            args.append(self._or())
            while self._peek() == ",":
                self._take()
                args.append(self._or())
        self._take(")")
        if not low <= len(args) <= high:
            raise FormulaError(f"{name} takes {low}..{high} arguments, got {len(args)}")
        return lambda v: apply(args, v)

    def _field(self, name: str) -> Node:
        found = self.fields.get(name.lower())
        if found is None:
            raise FormulaError(f"field {name} does not exist")
        schema_name, ftype = found
        self.references.add(schema_name)
        if ftype in _NUMBER_TYPES:
            zero = 0.0 if self.blanks_as_zero else None
            return lambda v: zero if v.get(schema_name) is None else float(v[schema_name])
        if ftype == "boolean":
            return lambda v: bool(v.get(schema_name))
        empty = "" if self.blanks_as_zero else None
        return lambda v: empty if v.get(schema_name) in (None, "") else v[schema_name]


def compile_formula(
    text: str,
    fields: dict[str, tuple[str, str]],
    result_type: str,
    scale: int = 0,
    blanks_as_zero: bool = True,
) -> Callable[[Values], Any]:
    """A function computing the formula's value from a record's values; ``fields`` maps each field's
    lower-case name to (schema name, describe type). Raises :class:`FormulaError` for anything unsupported."""
    node = _Parser(text, fields, blanks_as_zero).parse()

    def compute(values: Values) -> Any:
        try:
            result = node(values)
        except (TypeError, ValueError, OverflowError):
            return None  # an org shows #Error! on the page; the API returns null
        if result is None or result == "":
            return None
        if result_type in _NUMBER_TYPES:
            number = _num(result)
            if number is None:
                return None
            if result_type == "percent":
                number *= 100
            return round(number, scale)
        if result_type == "boolean":
            return result is True
        return str(result)

    return compute
