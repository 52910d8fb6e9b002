"""Where the workflows' segments disagree: the ICP consistency check (pure, no Dagster).

The segments are dbt vars in ``dbt_project/dbt_project.yml`` (see ``macros/segments.sql``):
website_visitor and inbound_agent each have company and person rules; outbound_agent has, per
orchestration, an *audience* step (company rules) and a *people* step (person rules). Each of
these is a **scope** here: ``website_visitor``, ``inbound_agent``, ``outbound_agent.<orchestration>``.

Rules are compared **by meaning**, one column at a time: all the rules a scope has on a column
(AND-ed, as dbt applies them) become one :class:`Constraint` — the set of values it lets through —
so ``employee_count >= 50`` and ``> 49`` are equal (number columns hold whole numbers), and
``in [VP, C-level]`` equals ``in [c-level, vp]`` (text compares case-insensitively). A column one
scope filters and another does not is a disagreement.

An analyst declares an intended difference in the ``segment_exceptions`` var::

    segment_exceptions:
      - {segment: inbound_agent, entity: company, column: employee_count,
         reason: "chat is intent: smaller companies are welcome"}

It says "this scope's rule on this column may differ". A disagreement is *declared* when the
scopes no exception names agree among themselves; anything else is reported.

Only the project file is read: ``dbt --vars`` overrides given on one command line are not seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.errors import ConfigError

PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
ENTITIES = ("company", "person")
OPS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "is null", "is not null")

# The columns a rule may name, with their kind (as macros/segments.sql declares them).
_ENGAGEMENT = {
    "session_count": "number", "page_view_count": "number", "chat_count": "number",
    "demo_requested": "boolean", "first_seen_at": "timestamp", "last_seen_at": "timestamp",
    "intent_signal": "text", "intent_topic": "text",
}
COLUMNS: dict[str, dict[str, str]] = {
    "person": {
        "email": "text", "email_domain": "text", "is_personal_email": "boolean", "first_name": "text",
        "last_name": "text", "title": "text", "seniority": "text", "department": "text",
        "identification_source": "text", "phone": "text", "chat_use_case": "text", **_ENGAGEMENT,
    },
    "company": {
        "domain": "text", "name": "text", "industry": "text", "country": "text", "employee_count": "number",
        "annual_revenue": "number", "visitor_count": "number", **_ENGAGEMENT,
    },
}


class SegmentConfigError(ConfigError):
    """A segment or a segment exception the check cannot read; the message names where."""


# -- one column's constraint -------------------------------------------------------------------

Value = Any  # a canonical value: int/float (number), lower-case str (text), bool, "YYYY-MM-DD HH:MM:SS"


@dataclass(frozen=True)
class Constraint:
    """The values one scope's rules on one column let through (``None`` = no bound of that kind).

    ``allowed`` is a finite set when the rules name the values (``=``, ``in``); then every other
    part is folded into it. ``nulls``: whether a missing value passes (only with no rule or
    ``is null``: any comparison fails on a missing value, as in SQL).
    """

    allowed: frozenset[Value] | None = None
    excluded: frozenset[Value] = frozenset()
    lower: tuple[Value, bool] | None = None  # (value, inclusive)
    upper: tuple[Value, bool] | None = None
    contains: frozenset[str] = frozenset()
    nulls: bool = True
    non_nulls: bool = True
    display: Mapping[Value, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def unfiltered(self) -> bool:
        return self == Constraint()

    @property
    def empty(self) -> bool:
        return not self.nulls and (not self.non_nulls or self.allowed == frozenset())

    def render(self) -> str:
        if self.unfiltered:
            return "no rule"
        if self.empty:
            return "nothing"
        if not self.non_nulls:
            return "is null"

        def show(v: Value) -> str:
            return self.display.get(v, str(v).lower() if isinstance(v, bool) else str(v))

        parts: list[str] = []
        if self.allowed is not None:
            values = sorted(self.allowed, key=_sort_key)
            parts.append(f"= {show(values[0])}" if len(values) == 1 else f"in [{', '.join(map(show, values))}]")
        if self.lower is not None:
            parts.append(f"{'>=' if self.lower[1] else '>'} {show(self.lower[0])}")
        if self.upper is not None:
            parts.append(f"{'<=' if self.upper[1] else '<'} {show(self.upper[0])}")
        if self.excluded:
            values = sorted(self.excluded, key=_sort_key)
            parts.append(f"!= {show(values[0])}" if len(values) == 1 else f"not in [{', '.join(map(show, values))}]")
        parts += [f"contains {show(v)}" for v in sorted(self.contains)]
        if not parts:
            parts.append("is not null")
        return " and ".join(parts)


def _sort_key(value: Value) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _canonical(value: Any, kind: str, where: str) -> Value:
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SegmentConfigError(f"{where}: the value must be a number, got {value!r}")
        return int(value) if float(value).is_integer() else float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SegmentConfigError(f"{where}: the value must be true or false, got {value!r}")
        return value
    if kind == "timestamp":
        try:
            return dt.datetime.fromisoformat(str(value).strip()).isoformat(sep=" ")
        except ValueError as exc:
            raise SegmentConfigError(f"{where}: the value must be an ISO date or timestamp, got {value!r}") from exc
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SegmentConfigError(f"{where}: the value must be a string, got {value!r}")
    return str(value).lower()


def constraint(rules: Sequence[Mapping[str, Any]], kind: str, where: str = "segment") -> Constraint:
    """The AND of ``rules`` (all on one column of ``kind``) as one normalised constraint."""
    allowed: set[Value] | None = None
    excluded: set[Value] = set()
    lower: tuple[Value, bool] | None = None
    upper: tuple[Value, bool] | None = None
    contains: set[str] = set()
    nulls, non_nulls = True, True
    display: dict[Value, str] = {}

    def tighter_lower(bound: tuple[Value, bool]) -> None:
        nonlocal lower
        if lower is None or bound[0] > lower[0] or (bound[0] == lower[0] and not bound[1]):
            lower = bound

    def tighter_upper(bound: tuple[Value, bool]) -> None:
        nonlocal upper
        if upper is None or bound[0] < upper[0] or (bound[0] == upper[0] and not bound[1]):
            upper = bound

    for rule in rules:
        op = " ".join(str(rule.get("op", "")).lower().split())
        if op not in OPS:
            raise SegmentConfigError(f"{where}: unknown op {rule.get('op')!r}. Allowed ops: {', '.join(OPS)}")
        if op == "is null":
            non_nulls = False
            continue
        nulls = False  # every other op fails on a missing value
        if op == "is not null":
            continue
        raw = rule.get("value")
        items = list(raw) if op in ("in", "not in") and isinstance(raw, list | tuple) else [raw]
        values = []
        for item in items:
            v = _canonical(item, kind, where)
            display.setdefault(v, str(item).lower() if isinstance(item, bool) else str(item))
            values.append(v)
        if op in ("=", "in"):
            allowed = set(values) if allowed is None else allowed & set(values)
        elif op in ("!=", "not in"):
            excluded |= set(values)
        elif op == "contains":
            contains.add(values[0])
        elif op in (">", ">="):
            tighter_lower((values[0], op == ">="))
        else:
            tighter_upper((values[0], op == "<="))

    if kind == "number":  # whole numbers: every bound becomes an inclusive integer bound
        if lower is not None:
            lower = (math.ceil(lower[0]) if lower[1] else math.floor(lower[0]) + 1, True)
        if upper is not None:
            upper = (math.floor(upper[0]) if upper[1] else math.ceil(upper[0]) - 1, True)
        if allowed is not None:
            allowed = {v for v in allowed if float(v).is_integer()}
        excluded = {v for v in excluded if float(v).is_integer()}
        if lower is not None and upper is not None and lower[0] == upper[0]:
            allowed = {lower[0]} if allowed is None else allowed & {lower[0]}
    if kind == "boolean":
        allowed = {True, False} if allowed is None else allowed
    if allowed is not None:  # a finite set: fold every other part into it
        allowed = {v for v in allowed if _passes(v, excluded, lower, upper, contains)}
        excluded, lower, upper, contains = set(), None, None, set()
        if kind == "boolean" and allowed == {True, False}:
            allowed = None  # any non-missing boolean
    else:
        excluded = {v for v in excluded if _passes(v, set(), lower, upper, contains)}
    if not non_nulls:  # is null AND a comparison: nothing; is null alone: only missing values
        allowed, excluded, lower, upper, contains = None, set(), None, None, set()
    return Constraint(
        allowed=None if allowed is None else frozenset(allowed), excluded=frozenset(excluded),
        lower=lower, upper=upper, contains=frozenset(contains), nulls=nulls, non_nulls=non_nulls,
        display=display,
    )


def _passes(v: Value, excluded: set[Value], lower: tuple[Value, bool] | None, upper: tuple[Value, bool] | None,
            contains: set[str]) -> bool:
    if v in excluded:
        return False
    if lower is not None and (v < lower[0] or (v == lower[0] and not lower[1])):
        return False
    if upper is not None and (v > upper[0] or (v == upper[0] and not upper[1])):
        return False
    return all(c in str(v) for c in contains)


# -- scopes and the comparison ------------------------------------------------------------------

@dataclass(frozen=True)
class Exception_:
    segment: str
    entity: str
    column: str
    reason: str


@dataclass(frozen=True)
class Comparison:
    """One column of one entity, across every scope."""

    entity: str
    column: str
    constraints: dict[str, Constraint]
    declared: tuple[Exception_, ...] = ()

    @property
    def agrees(self) -> bool:
        return len(set(self.constraints.values())) == 1

    @property
    def undeclared_scopes(self) -> list[str]:
        excepted = {e.segment for e in self.declared}
        return [s for s in self.constraints if s not in excepted]

    @property
    def intended(self) -> bool:
        """A disagreement that the exceptions explain: the scopes they do not name agree."""
        return not self.agrees and len({self.constraints[s] for s in self.undeclared_scopes}) <= 1

    @property
    def status(self) -> str:
        return "agree" if self.agrees else "declared" if self.intended else "disagree"

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity, "column": self.column, "status": self.status,
            "rules": {s: c.render() for s, c in self.constraints.items()},
            "exceptions": [{"segment": e.segment, "reason": e.reason} for e in self.declared],
        }


@dataclass(frozen=True)
class SegmentReport:
    scopes: list[str]
    comparisons: list[Comparison]
    source: str

    @property
    def disagreements(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.status == "disagree"]

    @property
    def ok(self) -> bool:
        return not self.disagreements

    def disagreements_for(self, workflow: str, entity: str) -> list[Comparison]:
        """Undeclared disagreements on ``entity`` rules in which one of ``workflow``'s scopes takes part."""
        return [c for c in self.disagreements if c.entity == entity
                and any(s.split(".")[0] == workflow for s in c.undeclared_scopes)]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "scopes": self.scopes, "ok": self.ok,
                "disagreements": [f"{c.entity}.{c.column}" for c in self.disagreements],
                "comparisons": [c.as_dict() for c in self.comparisons]}


def _rules(value: Any, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise SegmentConfigError(f"{where}: must be a list of rules like [{{column: ..., op: ..., value: ...}}]")
    return value


def scopes(vars: Mapping[str, Any]) -> dict[str, dict[str, list[Mapping[str, Any]]]]:
    """Every scope's rules per entity, from the dbt vars (``segments`` overrides as dbt applies them)."""
    overrides = vars.get("segments") or {}
    if not isinstance(overrides, Mapping):
        raise SegmentConfigError("var 'segments': must map workflows to segments")
    out: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for wf in WORKFLOWS:
        segment = overrides[wf] if wf in overrides else vars.get(f"segment_{wf}")
        segment = segment or {}
        if not isinstance(segment, Mapping):
            raise SegmentConfigError(f"workflow '{wf}': the segment must be a mapping")
        if wf != "outbound_agent":
            out[wf] = {e: _rules(segment.get(e), f"workflow '{wf}', {e} rules") for e in ENTITIES}
            continue
        orchestrations = segment.get("orchestrations") or {}
        if not isinstance(orchestrations, Mapping):
            raise SegmentConfigError("workflow 'outbound_agent': orchestrations must map ids to steps")
        for orc, steps in orchestrations.items():
            steps = steps or {}
            where = f"workflow 'outbound_agent', orchestration '{orc}'"
            out[f"{wf}.{orc}"] = {"company": _rules(steps.get("audience"), f"{where}, audience step"),
                                  "person": _rules(steps.get("people"), f"{where}, people step")}
    return out


def parse_exceptions(value: Any, scope_names: Iterable[str]) -> list[Exception_]:
    """The ``segment_exceptions`` var; ``segment: outbound_agent`` names every orchestration."""
    names = list(scope_names)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SegmentConfigError("var 'segment_exceptions': must be a list of {segment, entity, column, reason}")
    out: list[Exception_] = []
    for i, item in enumerate(value, 1):
        where = f"var 'segment_exceptions', entry {i}"
        if not isinstance(item, Mapping):
            raise SegmentConfigError(f"{where}: must be a mapping {{segment, entity, column, reason}}")
        unknown = set(item) - {"segment", "entity", "column", "reason"}
        if unknown:
            raise SegmentConfigError(f"{where}: unknown key '{sorted(unknown)[0]}'. "
                                     "Allowed keys: segment, entity, column, reason")
        segment, entity, column = item.get("segment"), item.get("entity"), item.get("column")
        reason = str(item.get("reason") or "").strip()
        matched = [n for n in names if n == segment or n.startswith(f"{segment}.")]
        if not matched:
            raise SegmentConfigError(f"{where}: unknown segment {segment!r}. Segments: {', '.join(names)}")
        if entity not in ENTITIES:
            raise SegmentConfigError(f"{where}: entity must be company or person, got {entity!r}")
        if column not in COLUMNS[entity]:
            raise SegmentConfigError(f"{where}: unknown {entity} column {column!r}")
        if not reason:
            raise SegmentConfigError(f"{where}: say why the difference is intended (reason)")
        out += [Exception_(n, entity, column, reason) for n in matched]
    return out


def compare(vars: Mapping[str, Any], source: str = "dbt vars") -> SegmentReport:
    """Compare every scope's rules, column by column, and apply the declared exceptions."""
    by_scope = scopes(vars)
    names = list(by_scope)
    exceptions = parse_exceptions(vars.get("segment_exceptions"), names)
    comparisons: list[Comparison] = []
    for entity in ENTITIES:
        per_column: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
        for scope, rules in by_scope.items():
            for i, rule in enumerate(rules[entity], 1):
                column = rule.get("column")
                if column not in COLUMNS[entity]:
                    raise SegmentConfigError(f"segment '{scope}', {entity} rule {i}: unknown column {column!r}")
                per_column.setdefault(column, {}).setdefault(scope, []).append(rule)
        for column in sorted(per_column):
            kind = COLUMNS[entity][column]
            constraints = {s: constraint(per_column[column].get(s, []), kind, f"segment '{s}', {entity}.{column}")
                           for s in names}
            declared = tuple(e for e in exceptions if e.entity == entity and e.column == column)
            comparisons.append(Comparison(entity, column, constraints, declared))
    return SegmentReport(names, comparisons, source)


def load_vars(path: str | Path = PROJECT_FILE) -> dict[str, Any]:
    try:
        project = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SegmentConfigError(f"{path}: cannot read the dbt project: {exc}") from exc
    return dict(project.get("vars") or {})


def compare_project(path: str | Path = PROJECT_FILE) -> SegmentReport:
    """The comparison of the segments as the dbt project file declares them (not ``--vars`` overrides)."""
    return compare(load_vars(path), source=Path(path).name)


# -- a workflow's segment, identified by its meaning ------------------------------------------

def _canonical_constraint(c: Constraint) -> dict[str, Any]:
    def values(vs: Iterable[Value]) -> list[Value]:
        return sorted(vs, key=_sort_key)

    return {"allowed": None if c.allowed is None else values(c.allowed), "excluded": values(c.excluded),
            "lower": list(c.lower) if c.lower else None, "upper": list(c.upper) if c.upper else None,
            "contains": values(c.contains), "nulls": c.nulls, "non_nulls": c.non_nulls}


def segment_hash(workflow: str, vars: Mapping[str, Any] | None = None, path: str | Path = PROJECT_FILE) -> str:
    """A short hash of ``workflow``'s segment (for outbound_agent: every orchestration's steps).

    Rules are hashed by meaning, as the consistency check compares them: reordering rules,
    ``> 49`` for ``>= 50`` or ``in [VP, C-level]`` for ``in [c-level, vp]`` keep the hash; a
    rule added, dropped or changed (or an orchestration added) changes it. ``vars`` default to
    the dbt project file's.
    """
    vars = load_vars(path) if vars is None else vars
    canon: dict[str, dict[str, Any]] = {}
    for scope, rules in scopes(vars).items():
        if scope.split(".")[0] != workflow:
            continue
        parts: dict[str, Any] = {}
        for entity in ENTITIES:
            per_column: dict[str, list[Mapping[str, Any]]] = {}
            for i, rule in enumerate(rules[entity], 1):
                column = rule.get("column")
                if column not in COLUMNS[entity]:
                    raise SegmentConfigError(f"segment '{scope}', {entity} rule {i}: unknown column {column!r}")
                per_column.setdefault(column, []).append(rule)
            for column, col_rules in per_column.items():
                c = constraint(col_rules, COLUMNS[entity][column], f"segment '{scope}', {entity}.{column}")
                if not c.unfiltered:
                    parts[f"{entity}.{column}"] = _canonical_constraint(c)
        canon[scope] = parts
    text = json.dumps(canon, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
