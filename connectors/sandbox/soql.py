"""A SOQL subset for the Salesforce sandbox: tokenizer, parser, binder and evaluator.

Supported::

    SELECT f1, f2, Rel.f3 | COUNT() | COUNT(f) FROM Obj
      [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]

with conditions ``=, !=, <>, <, <=, >, >=, LIKE, IN (…), NOT IN (…)``, ``AND`` / ``OR`` / ``NOT``
and parentheses (mixing AND and OR without parentheses is an error, as in Salesforce), literals
``'strings'`` (escapes ``\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX``, plus ``\\%`` and ``\\_`` in LIKE;
any other backslash is ``MALFORMED_QUERY``), numbers, ``null``, ``true`` / ``false``, date and
datetime literals and ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``.
String comparisons are case-insensitive, as in Salesforce; ``!=`` and ``NOT IN`` keep nulls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.sandbox.salesforce_schema import (
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    FieldDef,
    format_datetime,
    normalize_id,
    parse_datetime,
)

MAX_QUERY_LENGTH = 100_000


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- tokens ----------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # ident, string, number, date, datetime, dateliteral, op, lparen, rparen, comma, eof
    value: Any
    pos: int
    text: str
    like: str | None = None  # for strings: a regex for LIKE with \% and \_ as literal characters


_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_DATETIME_LIT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})")
_DATE_LIT = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DATE_KEYWORD = re.compile(r"(?i)(TODAY|YESTERDAY|TOMORROW)(?![\w:])|(LAST_N_DAYS|NEXT_N_DAYS):(\d+)")


def _located(query: str, pos: int, message: str) -> str:
    line_start = query.rfind("\n", 0, pos) + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end != -1 else len(query)]
    row = query.count("\n", 0, pos) + 1
    col = pos - line_start
    return f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n{message}"


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            start = i
            i += 1
            out: list[str] = []
            like: list[str] = []
            while True:
                if i >= n:
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        _located(query, start, f"line 1:{n} mismatched character '<EOF>' expecting \"'\""),
                    )
                c = query[i]
                if c == "'":
                    i += 1
                    break
                if c == "\\":
                    nxt = query[i + 1] if i + 1 < n else ""
                    if nxt in _ESCAPES:
                        out.append(_ESCAPES[nxt])
                        like.append(re.escape(_ESCAPES[nxt]))
                        i += 2
                    elif nxt in ("%", "_"):
                        out.append(nxt)
                        like.append(re.escape(nxt))
                        i += 2
                    elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", query[i + 2 : i + 6]):
                        char = chr(int(query[i + 2 : i + 6], 16))
                        out.append(char)
                        like.append(re.escape(char))
                        i += 6
                    else:
                        end = query.find("'", i + 2)
                        raw = query[start : end + 1 if end != -1 else n]
                        raise SoqlError(
                            "MALFORMED_QUERY",
                            _located(
                                query, start,
                                f"Invalid string literal {raw}. "
                                f"Illegal character sequence '\\{nxt}' in string literal.",
                            ),
                        )
                    continue
                out.append(c)
                like.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
                i += 1
            tokens.append(Token("string", "".join(out), start, query[start:i], "".join(like)))
            continue
        if ch in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[ch]
            tokens.append(Token(kind, ch, i, ch))
            i += 1
            continue
        if ch in "=!<>":
            for op in ("!=", "<>", "<=", ">=", "=", "<", ">"):
                if query.startswith(op, i):
                    tokens.append(Token("op", "!=" if op == "<>" else op, i, op))
                    i += len(op)
                    break
            else:
                raise SoqlError("MALFORMED_QUERY", _located(query, i, f"unexpected token: {ch}"))
            continue
        m = _DATETIME_LIT.match(query, i)
        if m:
            parsed = parse_datetime(m.group())
            if parsed is None:
                raise SoqlError("MALFORMED_QUERY", _located(query, i, f"line 1:{i} no viable alternative at character"))
            tokens.append(Token("datetime", parsed, i, m.group()))
            i = m.end()
            continue
        m = _DATE_LIT.match(query, i)
        if m:
            try:
                value = dt.date.fromisoformat(m.group()).isoformat()
            except ValueError:
                raise SoqlError("MALFORMED_QUERY", _located(query, i, f"Invalid date: {m.group()}")) from None
            tokens.append(Token("date", value, i, m.group()))
            i = m.end()
            continue
        m = _NUMBER.match(query, i)
        if m and (ch.isdigit() or ch in "+-."):
            text = m.group()
            tokens.append(Token("number", float(text) if any(c in text for c in ".eE") else int(text), i, text))
            i = m.end()
            continue
        m = _DATE_KEYWORD.match(query, i)
        if m:
            if m.group(1):
                tokens.append(Token("dateliteral", (m.group(1).upper(), 0), i, m.group()))
            else:
                tokens.append(Token("dateliteral", (m.group(2).upper(), int(m.group(3))), i, m.group()))
            i = m.end()
            continue
        m = _IDENT.match(query, i)
        if m:
            tokens.append(Token("ident", m.group(), i, m.group()))
            i = m.end()
            continue
        raise SoqlError("MALFORMED_QUERY", _located(query, i, f"line 1:{i} no viable alternative at character '{ch}'"))
    tokens.append(Token("eof", None, n, ""))
    return tokens


# -- syntax tree -----------------------------------------------------------------------------


@dataclass
class FieldRef:
    path: list[str]
    pos: int
    text: str
    bound: BoundField | None = None


@dataclass
class Literal:
    kind: str  # string, number, null, bool, date, datetime, dateliteral
    value: Any
    pos: int
    text: str
    like: str | None = None


@dataclass
class Compare:
    field: FieldRef
    op: str  # = != < <= > >= like in notin
    values: list[Literal]
    pos: int


@dataclass
class Not:
    node: Any


@dataclass
class BoolOp:
    op: str  # and / or
    nodes: list[Any]


@dataclass
class Query:
    text: str
    fields: list[FieldRef]
    count: bool
    count_field: FieldRef | None
    sobject: str
    sobject_pos: int
    where: Any = None
    order: list[tuple[FieldRef, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_first)
    limit: int | None = None
    offset: int | None = None


KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "nulls", "first",
    "last", "limit", "offset", "null", "true", "false", "group", "having", "with", "for", "includes", "excludes",
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, tok: Token | None = None, message: str | None = None) -> SoqlError:
        tok = tok or self.tok
        if message is None:
            message = "unexpected token: <EOF>" if tok.kind == "eof" else f"unexpected token: {tok.text}"
        return SoqlError("MALFORMED_QUERY", _located(self.text, tok.pos, message))

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.value.lower() in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.error()
        tok = self.tok
        self.i += 1
        return tok

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.value.lower() in KEYWORDS:
            raise self.error()
        self.i += 1
        return FieldRef(tok.value.split("."), tok.pos, tok.value)

    def parse(self) -> Query:
        self.expect_kw("select")
        fields: list[FieldRef] = []
        count = False
        count_field = None
        if self.is_kw("count") and self.tokens[self.i + 1].kind == "lparen":
            self.i += 2
            count = True
            if self.tok.kind != "rparen":
                count_field = self.field_ref()
            if self.tok.kind != "rparen":
                raise self.error()
            self.i += 1
        else:
            while True:
                if self.tok.kind == "lparen":
                    raise self.error(message="The sandbox does not emulate subqueries")
                fields.append(self.field_ref())
                if self.tok.kind != "comma":
                    break
                self.i += 1
        if not self.is_kw("from"):
            raise self.error()
        self.i += 1
        obj = self.tok
        if obj.kind != "ident" or "." in obj.value:
            raise self.error()
        self.i += 1
        query = Query(self.text, fields, count, count_field, obj.value, obj.pos)
        if self.is_kw("where"):
            self.i += 1
            query.where = self.condition()
        if self.is_kw("group", "having", "with", "for"):
            raise self.error(message=f"The sandbox does not emulate {self.tok.value.upper()} clauses")
        if self.is_kw("order"):
            self.i += 1
            self.expect_kw("by")
            while True:
                ref = self.field_ref()
                desc = False
                if self.is_kw("asc", "desc"):
                    desc = self.tok.value.lower() == "desc"
                    self.i += 1
                nulls_first = not desc
                if self.is_kw("nulls"):
                    self.i += 1
                    if not self.is_kw("first", "last"):
                        raise self.error()
                    nulls_first = self.tok.value.lower() == "first"
                    self.i += 1
                query.order.append((ref, desc, nulls_first))
                if self.tok.kind != "comma":
                    break
                self.i += 1
        if self.is_kw("limit"):
            self.i += 1
            query.limit = self.integer()
        if self.is_kw("offset"):
            self.i += 1
            query.offset = self.integer()
            if query.offset > 2000:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if self.tok.kind != "eof":
            raise self.error()
        return query

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not isinstance(tok.value, int) or tok.value < 0:
            raise self.error()
        self.i += 1
        return tok.value

    def condition(self) -> Any:
        first = self.term()
        op = None
        nodes = [first]
        while self.is_kw("and", "or"):
            this = self.tok.value.lower()
            if op is not None and this != op:
                raise self.error()
            op = this
            self.i += 1
            nodes.append(self.term())
        return BoolOp(op, nodes) if op else first

    def term(self) -> Any:
        if self.is_kw("not"):
            self.i += 1
            return Not(self.term())
        if self.tok.kind == "lparen":
            self.i += 1
            node = self.condition()
            if self.tok.kind != "rparen":
                raise self.error()
            self.i += 1
            return node
        ref = self.field_ref()
        pos = self.tok.pos
        if self.tok.kind == "op":
            op = self.tok.value
            self.i += 1
            return Compare(ref, op, [self.literal()], pos)
        if self.is_kw("like"):
            self.i += 1
            return Compare(ref, "like", [self.literal()], pos)
        negate = False
        if self.is_kw("not"):
            negate = True
            self.i += 1
            if not self.is_kw("in"):
                raise self.error()
        if self.is_kw("in"):
            self.i += 1
            if self.tok.kind != "lparen":
                raise self.error()
            self.i += 1
            if self.is_kw("select"):
                raise self.error(message="The sandbox does not emulate semi-join subqueries")
            values = [self.literal()]
            while self.tok.kind == "comma":
                self.i += 1
                values.append(self.literal())
            if self.tok.kind != "rparen":
                raise self.error()
            self.i += 1
            return Compare(ref, "notin" if negate else "in", values, pos)
        if self.is_kw("includes", "excludes"):
            raise self.error(message="The sandbox does not emulate INCLUDES / EXCLUDES")
        raise self.error()

    def literal(self) -> Literal:
        tok = self.tok
        self.i += 1
        if tok.kind in ("string", "number", "date", "datetime", "dateliteral"):
            return Literal(tok.kind, tok.value, tok.pos, tok.text, tok.like)
        if tok.kind == "ident":
            low = tok.value.lower()
            if low == "null":
                return Literal("null", None, tok.pos, tok.text)
            if low in ("true", "false"):
                return Literal("bool", low == "true", tok.pos, tok.text)
        self.i -= 1
        raise self.error()


def parse(text: str) -> Query:
    if text is None or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError("MALFORMED_QUERY", "SOQL statements cannot be longer than 100,000 characters.")
    return _Parser(text).parse()


# -- binding ---------------------------------------------------------------------------------


class Catalog(Protocol):
    def object_name(self, name: str) -> str | None:
        """Canonical object name, or None if the object is unknown."""

    def object_fields(self, sobject: str) -> dict[str, FieldDef]:
        """Fields by lower-cased name."""


@dataclass
class BoundField:
    hops: list[tuple[FieldDef, str]]  # (reference field, target object) per relationship hop
    field: FieldDef
    names: list[str]  # canonical output path: ["Account", "Name"] or ["Email"]

    @property
    def direct(self) -> bool:
        return not self.hops


def bind(query: Query, catalog: Catalog) -> str:
    """Resolve names against the catalog (raising Salesforce's errors); returns the object name."""
    sobject = catalog.object_name(query.sobject)
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            _located(
                query.text, query.sobject_pos,
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            ),
        )
    seen: set[str] = set()
    for ref in query.fields:
        _bind_ref(query, ref, sobject, catalog)
        key = ".".join(ref.bound.names).lower()  # type: ignore[union-attr]
        if key in seen:
            raise SoqlError("MALFORMED_QUERY", _located(query.text, ref.pos, f"duplicate field selected: {ref.text}"))
        seen.add(key)
    if query.count_field is not None:
        _bind_ref(query, query.count_field, sobject, catalog)
    for ref, _, _ in query.order:
        _bind_ref(query, ref, sobject, catalog)
        if not ref.bound.field.sortable:  # type: ignore[union-attr]
            raise SoqlError(
                "INVALID_FIELD",
                _located(query.text, ref.pos, f"field '{ref.bound.field.name}' can not be sorted in a query call"),  # type: ignore[union-attr]
            )
    if query.where is not None:
        _bind_condition(query, query.where, sobject, catalog)
    return sobject


def _bind_ref(query: Query, ref: FieldRef, sobject: str, catalog: Catalog) -> None:
    path = list(ref.path)
    if len(path) > 1 and path[0].lower() == sobject.lower():
        path = path[1:]
    current = sobject
    hops: list[tuple[FieldDef, str]] = []
    names: list[str] = []
    for part in path[:-1]:
        fields = catalog.object_fields(current)
        rel = next(
            (f for f in fields.values() if f.relationship_name and f.relationship_name.lower() == part.lower()), None
        )
        if rel is None or not rel.reference_to or catalog.object_name(rel.reference_to[0]) is None:
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    query.text, ref.pos,
                    f"Didn't understand relationship '{part}' in field path. If you are attempting to use a custom "
                    "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                ),
            )
        hops.append((rel, rel.reference_to[0]))
        names.append(rel.relationship_name or part)
        current = rel.reference_to[0]
    fields = catalog.object_fields(current)
    fd = fields.get(path[-1].lower())
    if fd is None:
        raise SoqlError(
            "INVALID_FIELD",
            _located(
                query.text, ref.pos,
                f"No such column '{path[-1]}' on entity '{current}'. If you are attempting to use a custom field, be "
                "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            ),
        )
    names.append(fd.name)
    ref.bound = BoundField(hops, fd, names)


def _type_name(fd: FieldDef) -> str:
    return {"datetime": "dateTime", "int": "integer"}.get(fd.type, fd.type)


def _bind_condition(query: Query, node: Any, sobject: str, catalog: Catalog) -> None:
    if isinstance(node, BoolOp):
        for child in node.nodes:
            _bind_condition(query, child, sobject, catalog)
        return
    if isinstance(node, Not):
        _bind_condition(query, node.node, sobject, catalog)
        return
    assert isinstance(node, Compare)
    _bind_ref(query, node.field, sobject, catalog)
    fd = node.field.bound.field  # type: ignore[union-attr]
    if not fd.filterable:
        raise SoqlError(
            "INVALID_FIELD",
            _located(query.text, node.field.pos, f"field '{fd.name}' can not be filtered in query call"),
        )
    for lit in node.values:
        _check_literal(query, node, fd, lit)


def _bad_value(query: Query, fd: FieldDef, lit: Literal, quoted: bool) -> SoqlError:
    tail = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SoqlError(
        "INVALID_QUERY_FILTER_OPERATOR",
        _located(
            query.text, lit.pos,
            f"value of filter criterion for field '{fd.name}' must be of type {_type_name(fd)} and {tail}",
        ),
    )


def _check_literal(query: Query, node: Compare, fd: FieldDef, lit: Literal) -> None:
    kind = fd.type
    if node.op == "like":
        if kind not in STRING_TYPES and kind not in ID_TYPES:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                _located(query.text, node.pos, f"invalid operator on {_type_name(fd)} field: LIKE"),
            )
        if lit.kind != "string":
            raise _bad_value(query, fd, lit, True)
        return
    if lit.kind == "null":
        return
    if kind in ID_TYPES:
        if lit.kind != "string":
            raise _bad_value(query, fd, lit, True)
        norm = normalize_id(lit.value)
        if norm is None:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", _located(query.text, lit.pos, f"invalid ID field: {lit.value}")
            )
        lit.value = norm
    elif kind in STRING_TYPES:
        if lit.kind != "string":
            raise _bad_value(query, fd, lit, True)
    elif kind in NUMBER_TYPES:
        if lit.kind != "number":
            raise _bad_value(query, fd, lit, False)
    elif kind == "boolean":
        if lit.kind != "bool":
            raise _bad_value(query, fd, lit, False)
    elif kind == "date":
        if lit.kind not in ("date", "dateliteral"):
            raise _bad_value(query, fd, lit, False)
    elif kind == "datetime":
        if lit.kind not in ("datetime", "dateliteral"):
            raise _bad_value(query, fd, lit, False)


# -- evaluation ------------------------------------------------------------------------------

Row = dict[str, Any]


def _date_range(lit: Literal, today: dt.date) -> tuple[dt.date, dt.date]:
    name, n = lit.value
    if name == "TODAY":
        return today, today + dt.timedelta(days=1)
    if name == "YESTERDAY":
        return today - dt.timedelta(days=1), today
    if name == "TOMORROW":
        return today + dt.timedelta(days=1), today + dt.timedelta(days=2)
    if name == "LAST_N_DAYS":
        return today - dt.timedelta(days=n), today + dt.timedelta(days=1)
    return today, today + dt.timedelta(days=n + 1)  # NEXT_N_DAYS


def _range_values(fd: FieldDef, lit: Literal) -> tuple[str, str]:
    start, end = _date_range(lit, dt.datetime.now(dt.timezone.utc).date())
    if fd.type == "date":
        return start.isoformat(), end.isoformat()
    to_dt = lambda d: format_datetime(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc))  # noqa: E731
    return to_dt(start), to_dt(end)


def fold(fd: FieldDef, value: Any) -> Any:
    """The comparison key of a stored value (case-insensitive for text)."""
    if value is None:
        return None
    if fd.type in STRING_TYPES:
        return str(value).lower()
    return value


def get_value(row: Row, bound: BoundField) -> Any:
    current: Any = row
    for ref, _ in bound.hops:
        current = (current.get("__rel__") or {}).get(ref.name)
        if current is None:
            return None
    return current.get(bound.field.name)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
    except TypeError:
        return False
    raise AssertionError(op)


def _matches(node: Any, row: Row, cache: dict[int, Any]) -> bool:
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(_matches(n, row, cache) for n in node.nodes)
        return any(_matches(n, row, cache) for n in node.nodes)
    if isinstance(node, Not):
        return not _matches(node.node, row, cache)
    bound: BoundField = node.field.bound
    fd = bound.field
    value = fold(fd, get_value(row, bound))
    if node.op == "like":
        if value is None:
            return False
        pattern = cache.get(id(node))
        if pattern is None:
            pattern = cache[id(node)] = re.compile(node.values[0].like or "", re.IGNORECASE | re.DOTALL)
        return pattern.fullmatch(str(value)) is not None
    if node.op in ("in", "notin"):
        keys = cache.get(id(node))
        if keys is None:
            keys = cache[id(node)] = {fold(fd, lit.value) for lit in node.values if lit.kind != "dateliteral"}
        hit = value in keys or any(
            _in_range(fd, value, lit) for lit in node.values if lit.kind == "dateliteral"
        )
        return hit if node.op == "in" else not hit
    lit = node.values[0]
    if lit.kind == "dateliteral":
        if value is None:
            return node.op == "!="
        start, end = _range_values(fd, lit)
        return {
            "=": start <= value < end, "!=": not start <= value < end, "<": value < start, "<=": value < end,
            ">": value >= end, ">=": value >= start,
        }[node.op]
    return _compare(node.op, value, fold(fd, lit.value))


def _in_range(fd: FieldDef, value: Any, lit: Literal) -> bool:
    if value is None:
        return False
    start, end = _range_values(fd, lit)
    return start <= value < end


def relationship_hops(query: Query) -> list[list[tuple[FieldDef, str]]]:
    refs = [r for r in query.fields if r.bound and r.bound.hops]
    refs += [r for r, _, _ in query.order if r.bound and r.bound.hops]
    refs += [n.field for n in _compares(query.where) if n.field.bound and n.field.bound.hops]
    return [r.bound.hops for r in refs]  # type: ignore[union-attr]


def _compares(node: Any) -> Iterable[Compare]:
    if node is None:
        return
    if isinstance(node, BoolOp):
        for child in node.nodes:
            yield from _compares(child)
    elif isinstance(node, Not):
        yield from _compares(node.node)
    else:
        yield node


def equality_filters(query: Query) -> list[tuple[FieldDef, list[Any]]]:
    """Top-level ``f = v`` / ``f IN (…)`` conjuncts on the queried object's own fields (index candidates)."""
    node = query.where
    nodes = node.nodes if isinstance(node, BoolOp) and node.op == "and" else [node] if node is not None else []
    out = []
    for n in nodes:
        if isinstance(n, Compare) and n.op in ("=", "in") and n.field.bound and n.field.bound.direct:
            if all(lit.kind not in ("dateliteral",) for lit in n.values):
                out.append((n.field.bound.field, [lit.value for lit in n.values]))
    return out


def _sort_key(fd: FieldDef, value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return int(value)
    return value


def _order_key(bound: BoundField) -> Callable[[Row], Any]:
    def key(row: Row) -> Any:
        return _sort_key(bound.field, get_value(row, bound))

    return key


def run(
    query: Query,
    rows: Iterable[Row],
    attach_related: Callable[[list[Row]], None] | None = None,
) -> list[Row]:
    """Filter, order and cut ``rows`` (already loaded with their relationships if needed)."""
    candidates = list(rows)
    if attach_related is not None and relationship_hops(query):
        attach_related(candidates)
    if query.where is not None:
        cache: dict[int, Any] = {}
        candidates = [r for r in candidates if _matches(query.where, r, cache)]
    for ref, desc, nulls_first in reversed(query.order):
        bound = ref.bound
        assert bound is not None
        present = [r for r in candidates if get_value(r, bound) is not None]
        missing = [r for r in candidates if get_value(r, bound) is None]
        present.sort(key=_order_key(bound), reverse=desc)
        candidates = missing + present if nulls_first else present + missing
    if query.offset:
        candidates = candidates[query.offset :]
    if query.limit is not None:
        candidates = candidates[: query.limit]
    return candidates


def project(query: Query, row: Row, attributes: Callable[[str, Row], dict[str, Any]], sobject: str) -> Row:
    """One output record: ``attributes`` first, then the selected fields in order (relationships nested)."""
    out: Row = {"attributes": attributes(sobject, row)}
    for ref in query.fields:
        bound = ref.bound
        assert bound is not None
        if bound.direct:
            out[bound.field.name] = row.get(bound.field.name)
            continue
        target: Row = out
        current: Any = row
        for (hop, hop_object), name in zip(bound.hops, bound.names, strict=False):
            current = (current.get("__rel__") or {}).get(hop.name) if current is not None else None
            if current is None:
                target.setdefault(name, None)
                break
            nested = target.get(name)
            if nested is None:
                nested = target[name] = {"attributes": attributes(hop_object, current)}
            target = nested
        else:
            target[bound.field.name] = current.get(bound.field.name)
    return out
