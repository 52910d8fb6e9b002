"""The CRM v3 search endpoint: ``POST /crm/v3/objects/{type}/search``.

Filter groups (at most 5, of at most 6 filters, 18 filters in all), one sort, a free-text
``query`` over a few searchable properties, and offset paging that stops at 10,000 results.
The index can be set to lag writes (``search_index_delay_seconds``): until the delay has passed,
new records are missing and updated ones show their previous values. A query whose every group
pins a unique property with EQ or IN reads only those records; any other scans the object type.
Search has its own per-second limit (in ``limits``), told apart by :data:`SEARCH_ROUTE`.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.core import now_ms
from connectors.sandbox.hubspot.errors import validation_error
from connectors.sandbox.hubspot.model import ObjectType, parse_instant
from connectors.sandbox.hubspot.records import RecordsMixin
from connectors.sandbox.hubspot.store import Obj

SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
SEARCH_ROUTE = "crm/v3/objects/{type}/search"
SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "company", "hs_object_id"),
    "companies": ("name", "domain", "website", "phone", "hs_object_id"),
}
OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}  # fmt: skip


class SearchMixin(RecordsMixin):
    """The search handler and its filter / sort / query matching."""

    # -- search ----------------------------------------------------------------------------------
    def search(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        body = self._body(req) or {}
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected a search request object")
        groups = body.get("filterGroups") or []
        total_filters = sum(len(g.get("filters") or []) for g in groups)
        if (
            len(groups) > SEARCH_MAX_GROUPS
            or total_filters > SEARCH_MAX_FILTERS
            or any(len(g.get("filters") or []) > SEARCH_MAX_FILTERS_PER_GROUP for g in groups)
        ):
            raise validation_error(
                f"Too many filters: up to {SEARCH_MAX_GROUPS} filterGroups with up to "
                f"{SEARCH_MAX_FILTERS_PER_GROUP} filters each, {SEARCH_MAX_FILTERS} filters in total, are allowed"
            )
        limit = int(body.get("limit") or 10)
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            raise validation_error(f"limit must be between 1 and {SEARCH_MAX_LIMIT}, got {limit}")
        try:
            after = int(str(body.get("after") or 0))
        except ValueError:
            raise validation_error(f"after must be an offset, got {body.get('after')!r}") from None
        if after + limit > SEARCH_MAX_RESULTS:
            raise validation_error(
                f"The search API returns at most {SEARCH_MAX_RESULTS} results per query; after={after} with "
                f"limit={limit} pages beyond it. Narrow the query with filters instead."
            )
        defs = self._props[ot.name]
        for g in groups:
            for f in g.get("filters") or []:
                if f.get("operator") not in OPERATORS:
                    raise validation_error(f"Unsupported filter operator {f.get('operator')!r}")
                if f.get("propertyName") not in defs:
                    raise validation_error(
                        f'Property "{f.get("propertyName")}" does not exist', subCategory="INVALID_PROPERTY"
                    )
        sort_prop, descending = self._sort(body.get("sorts") or [], defs)
        matched = [
            (obj, values)
            for obj, values in self._searchable(ot, groups)
            if (not groups or any(self._group_matches(g, values, defs) for g in groups))
            and self._query_matches(ot, body.get("query"), values)
        ]
        if sort_prop is None:
            matched.sort(key=lambda pair: pair[0].id, reverse=descending)
        else:
            kind = defs[sort_prop]["type"] if sort_prop in defs else "string"
            present = [m for m in matched if m[1].get(sort_prop) not in (None, "")]
            absent = [m for m in matched if m[1].get(sort_prop) in (None, "")]
            present.sort(key=lambda pair: (self._comparable(kind, pair[1][sort_prop]), pair[0].id), reverse=descending)
            matched = present + sorted(absent, key=lambda pair: pair[0].id)
        page = matched[after : after + limit]
        names = body.get("properties") or None
        results = []
        for obj, values in page:
            shown = Obj(obj.otype, obj.id, values, obj.created_ms, obj.updated_ms)
            results.append(self._public(ot, shown, names))
        out: dict[str, Any] = {"total": len(matched), "results": results}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, out)

    @staticmethod
    def _sort(sorts: list[Any], defs: dict[str, Any]) -> tuple[str | None, bool]:
        if not sorts:
            return None, False
        first = sorts[0]
        if isinstance(first, dict):
            name = str(first.get("propertyName", ""))
            descending = str(first.get("direction", "ASCENDING")).upper() == "DESCENDING"
        else:
            text = str(first)
            descending = text.startswith("-")
            name = text.lstrip("-")
        if name in ("hs_object_id", ""):
            return None, descending
        if name not in defs:
            raise validation_error(f'Property "{name}" does not exist', subCategory="INVALID_PROPERTY")
        return name, descending

    def _searchable(self, ot: ObjectType, groups: list[dict[str, Any]]) -> list[tuple[Obj, dict[str, str]]]:
        """Candidates as the search index sees them (which may lag writes)."""
        delay_ms = float(self.config["search_index_delay_seconds"]) * 1000
        keys = self._index_keys(ot, groups)
        if keys is None:
            rows = self.db.execute("SELECT * FROM hs_objects WHERE otype = ? AND archived = 0", (ot.name,))
            objs = [self._row(r) for r in rows]
        else:
            objs = list(self._load(ot.name, keys).values())
        stamp = now_ms()
        out = []
        for obj in objs:
            if delay_ms and stamp - obj.created_ms < delay_ms:
                continue  # not indexed yet
            props = obj.props
            if delay_ms and stamp - obj.updated_ms < delay_ms and obj.prev_props is not None:
                props = obj.prev_props  # the index still has the previous version
            out.append((obj, self._effective(ot, obj, props)))
        return out

    def _index_keys(self, ot: ObjectType, groups: list[dict[str, Any]]) -> list[int] | None:
        """Record ids to look at when every group pins a unique property with EQ/IN, else None (scan)."""
        if not groups:
            return None
        unique = set(self._unique_props(ot))
        ids: set[int] = set()
        for g in groups:
            pinned = None
            for f in g.get("filters") or []:
                name, op = f.get("propertyName"), f.get("operator")
                if op not in ("EQ", "IN") or (name not in unique and name != "hs_object_id"):
                    continue
                values = [str(f.get("value", ""))] if op == "EQ" else [str(v) for v in f.get("values") or []]
                if name == "hs_object_id":
                    pinned = {int(v) for v in values if v.isdigit()}
                else:
                    pinned = set(self._lookup(ot.name, name, values).values())
                break
            if pinned is None:
                return None
            ids |= pinned
        return sorted(ids)

    @staticmethod
    def _comparable(kind: str, value: str) -> Any:
        if kind == "number":
            try:
                return float(value)
            except ValueError:
                return float("nan")
        if kind in ("datetime", "date"):
            ms = parse_instant(value)
            return ms if ms is not None else 0
        return value.casefold()

    def _group_matches(self, group: dict[str, Any], values: dict[str, str], defs: dict[str, Any]) -> bool:
        return all(self._filter_matches(f, values, defs) for f in group.get("filters") or [])

    def _filter_matches(self, f: dict[str, Any], values: dict[str, str], defs: dict[str, Any]) -> bool:
        name, op = f["propertyName"], f["operator"]
        kind = "number" if name == "hs_object_id" else defs[name]["type"]
        current = values.get(name)
        has = current not in (None, "")
        if op == "HAS_PROPERTY":
            return has
        if op == "NOT_HAS_PROPERTY":
            return not has
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            token = str(f.get("value", "")).casefold()
            found = has and self._token_match(str(current).casefold(), token)
            return found if op == "CONTAINS_TOKEN" else not found
        if op in ("IN", "NOT_IN"):
            wanted = {self._comparable(kind, str(v)) for v in f.get("values") or []}
            inside = has and self._comparable(kind, str(current)) in wanted
            return inside if op == "IN" else not inside
        target = self._comparable(kind, str(f.get("value", "")))
        if op == "NEQ":
            return not has or self._comparable(kind, str(current)) != target
        if not has:
            return False
        mine = self._comparable(kind, str(current))
        if op == "EQ":
            return mine == target
        if op == "BETWEEN":
            high = self._comparable(kind, str(f.get("highValue", "")))
            return target <= mine <= high
        try:
            return {"LT": mine < target, "LTE": mine <= target, "GT": mine > target, "GTE": mine >= target}[op]
        except TypeError:
            return False

    @staticmethod
    def _token_match(text: str, token: str) -> bool:
        if "*" in token:
            return fnmatch.fnmatchcase(text, token) or any(
                fnmatch.fnmatchcase(part, token) for part in text.replace("@", " ").replace(".", " ").split()
            )
        words = set(text.replace("@", " ").replace(".", " ").replace("-", " ").split())
        return token in words or token == text

    @staticmethod
    def _query_matches(ot: ObjectType, query: Any, values: dict[str, str]) -> bool:
        if not query:
            return True
        needle = str(query).casefold()
        return any(needle in str(values.get(n, "")).casefold() for n in SEARCHABLE[ot.name])
