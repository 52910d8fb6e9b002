"""HubSpot sandbox: the CRM v3 objects / search / properties APIs and the v4 associations API
for ``contacts`` and ``companies``, served over plain HTTP on loopback.

It answers the unmodified ``hubspot-api-client`` with HubSpot's documented shapes and status
codes (201 create, 200 read/update/upsert, 207 multi-status, 204 archive) and keeps the
inconvenient parts: 100-input batch caps, whole-batch 400s unless every create input carries an
``objectWriteTraceId``, 409 on a duplicate email, ``PROPERTY_DOESNT_EXIST`` for unknown or
archived properties, enumeration options, the search API's 10,000-result cap and its own
per-second limit, a rolling ten-second window and a daily allowance with the
``X-HubSpot-RateLimit-*`` headers and 429 bodies. See ``docs/sandbox-hubspot.md``.

State lives in SQLite (survives restarts); every handler runs under the base app's lock.
"""

from __future__ import annotations

import fnmatch
import json
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import App, Request, Response
from connectors.sandbox.hubspot_model import (
    ASSOCIATION_TYPES,
    FIELD_TYPES,
    OBJECT_TYPES,
    PORTAL_ID,
    PRIMARY,
    PROPERTY_NAME,
    UNLABELED,
    ObjectType,
    Problem,
    default_groups,
    default_properties,
    iso_ms,
    normalise_value,
    option_dicts,
    parse_instant,
    problems_message,
    property_definition,
    resolve_type,
)

MAX_BATCH = 100
# v4 association batch reads take up to 1,000 ids (HubSpot changelog, February 2025).
MAX_ASSOCIATION_READ = 1000
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
LIST_MAX_LIMIT = 100
FIRST_ID = 30_000_000_001  # real HubSpot ids are past 2**31; so are ours
SEARCH_ROUTE = "crm/v3/objects/{type}/search"
SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "company", "hs_object_id"),
    "companies": ("name", "domain", "website", "phone", "hs_object_id"),
}
OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}  # fmt: skip


def now_ms() -> int:
    return int(time.time() * 1000)


def correlation_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    """A request-level error: answered as-is, nothing is written."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "status": "error",
            "message": message,
            "correlationId": correlation_id(),
            "category": category,
            **extra,
        }

    def response(self) -> Response:
        return Response(self.status, self.body)


def validation_error(message: str, **extra: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, **extra)


@dataclass
class Failure:
    """Why one batch input failed; answered for the whole batch or per input (207)."""

    status: int
    category: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    context: dict[str, list[str]] = field(default_factory=dict)
    winner: int | None = None  # an earlier input of the same batch claimed the unique value

    @classmethod
    def invalid(cls, problems: list[Problem]) -> Failure:
        return cls(400, "VALIDATION_ERROR", problems_message(problems), problems)

    def whole(self) -> Response:
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id()}
        if self.problems:
            body["errors"] = [p.detail() for p in self.problems]
        if self.context:
            body["context"] = self.context
        body["category"] = self.category
        return Response(self.status, body)

    def per_input(self, trace: str | None) -> dict[str, Any]:
        context = dict(self.context)
        if trace is not None:
            context["objectWriteTraceId"] = [trace]
        return {"status": "error", "category": self.category, "message": self.message, "context": context}


@dataclass
class Obj:
    otype: str
    id: int
    props: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None
    prev_props: dict[str, str] | None = None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _list_arg(req: Request, name: str) -> list[str] | None:
    values = req.query.get(name)
    if values is None:
        return None
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class HubSpotApp(App):
    """The HubSpot sandbox (see module docstring)."""

    name = "hubspot"

    def __init__(self, db_path: Path, *, token: str) -> None:
        self.token = token
        self._ten_second: deque[float] = deque()
        self._search_second: deque[float] = deque()
        self._daily_day = ""
        self._daily_used = 0
        self._props: dict[str, dict[str, dict[str, Any]]] = {}
        super().__init__(db_path)
        self._register()

    # -- configuration and state -------------------------------------------------------------
    def default_config(self) -> dict[str, Any]:
        return {
            "ten_second_limit": 190,  # Professional/Enterprise private app
            "ten_second_window_ms": 10_000,
            "daily_limit": 1_000_000,
            "search_per_second": 5,
            "search_index_delay_seconds": 0.0,
        }

    def create_schema(self) -> None:
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS hs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS hs_objects (
                otype TEXT NOT NULL, id INTEGER NOT NULL, props TEXT NOT NULL, prev_props TEXT,
                created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
                archived INTEGER NOT NULL DEFAULT 0, archived_ms INTEGER,
                PRIMARY KEY (otype, id));
            CREATE INDEX IF NOT EXISTS hs_objects_live ON hs_objects (otype, archived, id);
            CREATE TABLE IF NOT EXISTS hs_unique (
                otype TEXT NOT NULL, prop TEXT NOT NULL, value TEXT NOT NULL, id INTEGER NOT NULL,
                PRIMARY KEY (otype, prop, value));
            CREATE INDEX IF NOT EXISTS hs_unique_by_id ON hs_unique (otype, id);
            CREATE TABLE IF NOT EXISTS hs_properties (
                otype TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
                archived INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (otype, name));
            CREATE TABLE IF NOT EXISTS hs_groups (
                otype TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
                archived INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (otype, name));
            CREATE TABLE IF NOT EXISTS hs_assoc (
                from_type TEXT NOT NULL, from_id INTEGER NOT NULL, to_type TEXT NOT NULL,
                to_id INTEGER NOT NULL, type_id INTEGER NOT NULL,
                PRIMARY KEY (from_type, from_id, to_type, to_id, type_id));
            """
        )
        with self.transaction() as db:
            for otype in OBJECT_TYPES:
                if not db.execute("SELECT 1 FROM hs_properties WHERE otype = ? LIMIT 1", (otype,)).fetchone():
                    db.executemany(
                        "INSERT INTO hs_properties (otype, name, definition) VALUES (?, ?, ?)",
                        [(otype, d["name"], json.dumps(d)) for d in default_properties(otype)],
                    )
                if not db.execute("SELECT 1 FROM hs_groups WHERE otype = ? LIMIT 1", (otype,)).fetchone():
                    db.executemany(
                        "INSERT INTO hs_groups (otype, name, definition) VALUES (?, ?, ?)",
                        [(otype, g["name"], json.dumps(g)) for g in default_groups(otype)],
                    )
            db.execute("INSERT OR IGNORE INTO hs_meta (key, value) VALUES ('next_id', ?)", (str(FIRST_ID),))
        row = self.db.execute("SELECT value FROM hs_meta WHERE key = 'daily'").fetchone()
        if row:
            self._daily_day, used = row[0].split(":")
            self._daily_used = int(used)
        self._load_properties()

    def drop_state(self) -> None:
        with self.transaction() as db:
            for table in ("hs_meta", "hs_objects", "hs_unique", "hs_properties", "hs_groups", "hs_assoc"):
                db.execute(f"DELETE FROM {table}")
        self._ten_second.clear()
        self._search_second.clear()
        self._daily_day, self._daily_used = "", 0
        self.create_schema()

    def _load_properties(self) -> None:
        self._props = {otype: {} for otype in OBJECT_TYPES}
        for row in self.db.execute("SELECT otype, name, definition FROM hs_properties WHERE archived = 0"):
            self._props[row["otype"]][row["name"]] = json.loads(row["definition"])

    def _unique_props(self, ot: ObjectType) -> list[str]:
        names = [n for n, d in self._props[ot.name].items() if d.get("hasUniqueValue")]
        if ot.name == "contacts" and "email" in self._props[ot.name]:
            names.append("email")
        return names

    @staticmethod
    def _unique_key(prop: str, value: str) -> str:
        return value.strip().lower() if prop == "email" else value

    # -- authentication, limits, headers ------------------------------------------------------
    def before_request(self, req: Request) -> Response | None:
        token = req.bearer_token
        if not token or token != self.token:
            message = (
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            )
            if token:
                message = (
                    "The access token provided is invalid or has been revoked. Check the private app access "
                    "token or refresh the OAuth token."
                )
            return ApiError(401, "INVALID_AUTHENTICATION", message).response()
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        if today != self._daily_day:
            self._daily_day, self._daily_used = today, 0
        if self._daily_used >= int(self.config["daily_limit"]):
            return self._rate_limited("You have reached your daily limit.", "DAILY")
        clock = time.monotonic()
        if req.route_name == SEARCH_ROUTE:
            window = self._search_second
            while window and clock - window[0] >= 1.0:
                window.popleft()
            if len(window) >= int(self.config["search_per_second"]):
                return self._rate_limited("You have reached your secondly limit.", "SECONDLY")
        else:
            window = self._ten_second
            span = int(self.config["ten_second_window_ms"]) / 1000
            while window and clock - window[0] >= span:
                window.popleft()
            if len(window) >= int(self.config["ten_second_limit"]):
                return self._rate_limited("You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
        window.append(clock)
        self._daily_used += 1
        self.db.execute(
            "INSERT OR REPLACE INTO hs_meta (key, value) VALUES ('daily', ?)",
            (f"{self._daily_day}:{self._daily_used}",),
        )
        return None

    def _rate_limited(self, message: str, policy: str) -> Response:
        return Response(
            429,
            {
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": correlation_id(),
                "policyName": policy,
                "groupName": f"publicapi:private-app-api-calls-{policy.lower().replace('_', '-')}:{PORTAL_ID}",
            },
        )

    def after_request(self, req: Request, resp: Response) -> None:
        body = resp.body if isinstance(resp.body, dict) else {}
        resp.headers.setdefault("X-HubSpot-Correlation-Id", str(body.get("correlationId") or correlation_id()))
        if req.bearer_token != self.token or req.route_name == SEARCH_ROUTE:
            return  # search answers carry no rate-limit headers; 401s neither
        clock = time.monotonic()
        span = int(self.config["ten_second_window_ms"]) / 1000
        while self._ten_second and clock - self._ten_second[0] >= span:
            self._ten_second.popleft()
        limit = int(self.config["ten_second_limit"])
        daily = int(self.config["daily_limit"])
        resp.headers.update(
            {
                "X-HubSpot-RateLimit-Daily": str(daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.config["ten_second_window_ms"])),
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, limit - len(self._ten_second))),
            }
        )

    def error_response(self, exc: Exception) -> Response:
        return ApiError(500, "INTERNAL_ERROR", f"internal error in the sandbox: {exc}").response()

    def not_found_body(self, req: Request, status: int) -> Any:
        return {
            "status": "error",
            "message": f"{req.method} {req.path} is not emulated by the sandbox",
            "correlationId": correlation_id(),
            "category": "OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR",
        }

    # -- routing -----------------------------------------------------------------------------
    def _register(self) -> None:
        t = r"(?P<otype>[^/]+)"
        obj = "/crm/v3/objects/" + t
        routes: list[tuple[str, str, str, Any]] = [
            ("POST", obj + r"/batch/create", "crm/v3/objects/{type}/batch/create", self.batch_create),
            ("POST", obj + r"/batch/update", "crm/v3/objects/{type}/batch/update", self.batch_update),
            ("POST", obj + r"/batch/upsert", "crm/v3/objects/{type}/batch/upsert", self.batch_upsert),
            ("POST", obj + r"/batch/read", "crm/v3/objects/{type}/batch/read", self.batch_read),
            ("POST", obj + r"/batch/archive", "crm/v3/objects/{type}/batch/archive", self.batch_archive),
            ("POST", obj + r"/search", SEARCH_ROUTE, self.search),
            ("GET", obj, "crm/v3/objects/{type}", self.list_objects),
            ("POST", obj, "crm/v3/objects/{type}", self.create_object),
            ("GET", obj + r"/(?P<oid>[^/]+)", "crm/v3/objects/{type}/{id}", self.get_object),
            ("PATCH", obj + r"/(?P<oid>[^/]+)", "crm/v3/objects/{type}/{id}", self.update_object),
            ("DELETE", obj + r"/(?P<oid>[^/]+)", "crm/v3/objects/{type}/{id}", self.archive_object),
        ]
        props = "/crm/v3/properties/" + t
        routes += [
            ("GET", props + r"/groups", "crm/v3/properties/{type}/groups", self.list_groups),
            ("POST", props + r"/groups", "crm/v3/properties/{type}/groups", self.create_group),
            ("GET", props + r"/groups/(?P<name>[^/]+)", "crm/v3/properties/{type}/groups/{name}", self.get_group),
            ("PATCH", props + r"/groups/(?P<name>[^/]+)", "crm/v3/properties/{type}/groups/{name}", self.update_group),
            (
                "DELETE",
                props + r"/groups/(?P<name>[^/]+)",
                "crm/v3/properties/{type}/groups/{name}",
                self.archive_group,
            ),
            ("POST", props + r"/batch/read", "crm/v3/properties/{type}/batch/read", self.batch_read_properties),
            ("POST", props + r"/batch/create", "crm/v3/properties/{type}/batch/create", self.batch_create_properties),
            (
                "POST",
                props + r"/batch/archive",
                "crm/v3/properties/{type}/batch/archive",
                self.batch_archive_properties,
            ),
            ("GET", props, "crm/v3/properties/{type}", self.list_properties),
            ("POST", props, "crm/v3/properties/{type}", self.create_property),
            ("GET", props + r"/(?P<name>[^/]+)", "crm/v3/properties/{type}/{name}", self.get_property),
            ("PATCH", props + r"/(?P<name>[^/]+)", "crm/v3/properties/{type}/{name}", self.update_property),
            ("DELETE", props + r"/(?P<name>[^/]+)", "crm/v3/properties/{type}/{name}", self.archive_property),
        ]
        pair = r"/crm/v4/associations/(?P<from_type>[^/]+)/(?P<to_type>[^/]+)/batch/"
        one = r"/crm/v4/objects/(?P<from_type>[^/]+)/(?P<from_id>[^/]+)/associations/"
        routes += [
            ("POST", pair + "create", "crm/v4/associations/{from}/{to}/batch/create", self.assoc_batch_create),
            (
                "POST",
                pair + "associate/default",
                "crm/v4/associations/{from}/{to}/batch/associate/default",
                self.assoc_batch_default,
            ),
            ("POST", pair + "read", "crm/v4/associations/{from}/{to}/batch/read", self.assoc_batch_read),
            ("POST", pair + "archive", "crm/v4/associations/{from}/{to}/batch/archive", self.assoc_batch_archive),
            (
                "POST",
                pair + "labels/archive",
                "crm/v4/associations/{from}/{to}/batch/labels/archive",
                self.assoc_batch_archive_labels,
            ),
            (
                "PUT",
                one + r"default/(?P<to_type>[^/]+)/(?P<to_id>[^/]+)",
                "crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}",
                self.assoc_put_default,
            ),
            (
                "PUT",
                one + r"(?P<to_type>[^/]+)/(?P<to_id>[^/]+)",
                "crm/v4/objects/{from}/{id}/associations/{to}/{toId}",
                self.assoc_put_labels,
            ),
            (
                "DELETE",
                one + r"(?P<to_type>[^/]+)/(?P<to_id>[^/]+)",
                "crm/v4/objects/{from}/{id}/associations/{to}/{toId}",
                self.assoc_delete,
            ),
            ("GET", one + r"(?P<to_type>[^/]+)", "crm/v4/objects/{from}/{id}/associations/{to}", self.assoc_get_page),
        ]
        for method, pattern, name, fn in routes:
            self.route(method, pattern, name)(self._guarded(fn))
        self.admin_route("GET", r"/records/(?P<otype>[^/]+)")(self.admin_records)

    @staticmethod
    def _guarded(fn: Any) -> Any:
        def handler(req: Request) -> Response:
            try:
                return fn(req)
            except ApiError as exc:
                return exc.response()

        handler.__name__ = fn.__name__
        return handler

    # -- request helpers -----------------------------------------------------------------------
    @staticmethod
    def _type(name: str) -> ObjectType:
        ot = resolve_type(unquote(name))
        if ot is None:
            raise validation_error(f"Unable to infer object type from: {unquote(name)}")
        return ot

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_error(f"Invalid input JSON on line 1, column 1: {exc}") from None

    def _inputs(self, req: Request, limit: int = MAX_BATCH) -> tuple[dict[str, Any], list[Any]]:
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise validation_error('Invalid input JSON: the request body needs an "inputs" array')
        inputs = body["inputs"]
        if len(inputs) > limit:
            raise validation_error(
                f"Too many inputs: {len(inputs)}. The maximum number of inputs per batch request is {limit}.",
                errors=[{"message": f"size must be between 0 and {limit}", "in": "inputs", "code": "TOO_MANY"}],
            )
        for item in inputs:
            if not isinstance(item, dict):
                raise validation_error("Invalid input JSON: every input must be an object")
        return body, inputs

    @staticmethod
    def _batch(results: list[Any], errors: list[dict[str, Any]] | None = None, started: int | None = None) -> Any:
        done = now_ms()
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = iso_ms(started if started is not None else done)
        body["completedAt"] = iso_ms(done)
        return body

    # -- object storage --------------------------------------------------------------------------
    @staticmethod
    def _row(row: Any) -> Obj:
        return Obj(
            row["otype"],
            row["id"],
            json.loads(row["props"]),
            row["created_ms"],
            row["updated_ms"],
            bool(row["archived"]),
            row["archived_ms"],
            json.loads(row["prev_props"]) if row["prev_props"] else None,
        )

    def _load(self, otype: str, ids: Iterable[int], *, archived: bool = False) -> dict[int, Obj]:
        out: dict[int, Obj] = {}
        id_list = list(dict.fromkeys(ids))
        for chunk in _chunks(id_list):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT * FROM hs_objects WHERE otype = ? AND archived = ? AND id IN ({marks})",
                (otype, int(archived), *chunk),
            )
            for row in rows:
                out[row["id"]] = self._row(row)
        return out

    def _lookup(self, otype: str, prop: str, values: Iterable[str]) -> dict[str, int]:
        """Unique value (normalised key) -> object id."""
        keys = list(dict.fromkeys(self._unique_key(prop, v) for v in values))
        out: dict[str, int] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT value, id FROM hs_unique WHERE otype = ? AND prop = ? AND value IN ({marks})",
                (otype, prop, *chunk),
            )
            out.update({r["value"]: r["id"] for r in rows})
        return out

    def _next_ids(self, n: int) -> list[int]:
        first = int(self.db.execute("SELECT value FROM hs_meta WHERE key = 'next_id'").fetchone()[0])
        self.db.execute("UPDATE hs_meta SET value = ? WHERE key = 'next_id'", (str(first + n),))
        return list(range(first, first + n))

    def _insert(self, objs: list[Obj], unique_props: list[str]) -> None:
        self.db.executemany(
            "INSERT INTO hs_objects (otype, id, props, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)",
            [(o.otype, o.id, json.dumps(o.props), o.created_ms, o.updated_ms) for o in objs],
        )
        rows = [
            (o.otype, p, self._unique_key(p, o.props[p]), o.id) for o in objs for p in unique_props if o.props.get(p)
        ]
        self.db.executemany("INSERT INTO hs_unique (otype, prop, value, id) VALUES (?, ?, ?, ?)", rows)

    def _save(self, objs: list[tuple[Obj, dict[str, str]]], unique_props: list[str]) -> None:
        """Persist updated objects; each comes with its properties before the update."""
        self.db.executemany(
            "UPDATE hs_objects SET props = ?, prev_props = ?, updated_ms = ? WHERE otype = ? AND id = ?",
            [(json.dumps(o.props), json.dumps(before), o.updated_ms, o.otype, o.id) for o, before in objs],
        )
        for o, before in objs:
            for p in unique_props:
                if before.get(p) == o.props.get(p):
                    continue
                if before.get(p):
                    self.db.execute(
                        "DELETE FROM hs_unique WHERE otype = ? AND prop = ? AND value = ? AND id = ?",
                        (o.otype, p, self._unique_key(p, before[p]), o.id),
                    )
                if o.props.get(p):
                    self.db.execute(
                        "INSERT OR REPLACE INTO hs_unique (otype, prop, value, id) VALUES (?, ?, ?, ?)",
                        (o.otype, p, self._unique_key(p, o.props[p]), o.id),
                    )

    def _archive(self, otype: str, ids: list[int]) -> None:
        stamp = now_ms()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"UPDATE hs_objects SET archived = 1, archived_ms = ?, updated_ms = ? "
                f"WHERE otype = ? AND archived = 0 AND id IN ({marks})",
                (stamp, stamp, otype, *chunk),
            )
            self.db.execute(f"DELETE FROM hs_unique WHERE otype = ? AND id IN ({marks})", (otype, *chunk))
            self.db.execute(f"DELETE FROM hs_assoc WHERE from_type = ? AND from_id IN ({marks})", (otype, *chunk))
            self.db.execute(f"DELETE FROM hs_assoc WHERE to_type = ? AND to_id IN ({marks})", (otype, *chunk))

    # -- property values ------------------------------------------------------------------------
    def _check(self, ot: ObjectType, props: Any) -> tuple[dict[str, str], list[Problem]]:
        if not isinstance(props, dict):
            return {}, [Problem("properties", "INVALID_PROPERTIES", "properties must be an object of name: value")]
        defs = self._props[ot.name]
        clean: dict[str, str] = {}
        problems: list[Problem] = []
        for name, raw in props.items():
            definition = defs.get(name)
            if definition is None:
                problems.append(Problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            value, problem = normalise_value(ot.name, definition, raw)
            if problem is not None:
                problems.append(problem)
            else:
                clean[name] = value or ""
        return clean, problems

    def _effective(self, ot: ObjectType, obj: Obj, props: dict[str, str] | None = None) -> dict[str, str]:
        values = dict(obj.props if props is None else props)
        values["hs_object_id"] = str(obj.id)
        values.setdefault("createdate", iso_ms(obj.created_ms))
        values[ot.last_modified] = iso_ms(obj.updated_ms)
        return values

    def _public(
        self,
        ot: ObjectType,
        obj: Obj,
        names: Iterable[str] | None,
        *,
        nulls: bool = True,
        history: list[str] | None = None,
        associations: list[str] | None = None,
    ) -> dict[str, Any]:
        """An object as HubSpot answers it: the named properties (or the defaults) + the always-set ones."""
        values = self._effective(ot, obj)
        defined = self._props[ot.name]
        wanted = list(ot.defaults) if names is None else [n for n in names if n in defined] + list(ot.always)
        props: dict[str, Any] = {}
        for n in sorted(set(wanted)):
            if n in values:
                props[n] = values[n]
            elif nulls:
                props[n] = None
        out: dict[str, Any] = {
            "id": str(obj.id),
            "properties": props,
            "createdAt": iso_ms(obj.created_ms),
            "updatedAt": iso_ms(obj.updated_ms),
            "archived": obj.archived,
        }
        if obj.archived and obj.archived_ms is not None:
            out["archivedAt"] = iso_ms(obj.archived_ms)
        if history:
            out["propertiesWithHistory"] = {
                n: [{"value": values[n], "timestamp": iso_ms(obj.updated_ms), "sourceType": "API"}]
                for n in history
                if n in defined and n in values
            }
        if associations:
            assoc = self._v3_associations(ot, obj.id, associations)
            if assoc:
                out["associations"] = assoc
        return out

    def _written(self, ot: ObjectType, obj: Obj, written: Iterable[str]) -> dict[str, Any]:
        """Write answers carry the written properties plus the always-set ones."""
        out = self._public(ot, obj, written, nulls=False)
        for n in written:  # a cleared value comes back as ""
            if n in self._props[ot.name] and n not in out["properties"]:
                out["properties"][n] = ""
        return out

    def _id_property(self, ot: ObjectType, id_property: str | None, *, allow_email: bool = True) -> str | None:
        """Validate ``idProperty``: None for the record id, else a property whose values are unique
        (or a contact's email, where HubSpot accepts it: upsert, reads, single-record update)."""
        if id_property is None or id_property in ("", "hs_object_id"):
            return None
        definition = self._props[ot.name].get(id_property)
        if definition is not None and definition.get("hasUniqueValue"):
            return id_property
        if id_property == "email" and ot.name == "contacts" and allow_email:
            return "email"
        raise validation_error(
            f"Unable to perform update/upsert by non-unique {ot.type_id} property {id_property} "
            f"in portal ID {PORTAL_ID}"
        )

    def _resolve(self, ot: ObjectType, keys: list[str], id_property: str | None) -> dict[str, int]:
        """Map identifiers (record ids or unique values) to live record ids."""
        if id_property is None:
            numeric = [int(k) for k in keys if k.isdigit()]
            found = self._load(ot.name, numeric)
            return {k: int(k) for k in keys if k.isdigit() and int(k) in found}
        found_ids = self._lookup(ot.name, id_property, keys)
        return {
            k: found_ids[self._unique_key(id_property, k)]
            for k in keys
            if self._unique_key(id_property, k) in found_ids
        }

    def _conflict(self, ot: ObjectType, prop: str, value: str, existing: int) -> Failure:
        if prop == "email":
            return Failure(409, "CONFLICT", f"{ot.title} already exists. Existing ID: {existing}")
        return Failure(
            409,
            "CONFLICT",
            f'A {ot.singular} with the unique value "{value}" for property "{prop}" already exists. '
            f"Existing ID: {existing}",
        )

    def _unique_failures(
        self, ot: ObjectType, writes: list[tuple[int, int | None, dict[str, str]]]
    ) -> dict[int, Failure]:
        """Unique-value collisions for (input index, own id or None when creating, new values):
        with a stored record, or with an earlier input of the same batch."""
        failures: dict[int, Failure] = {}
        for prop in self._unique_props(ot):
            values = [v[prop] for _, _, v in writes if v.get(prop)]
            if not values:
                continue
            taken = self._lookup(ot.name, prop, values)
            claimed: dict[str, int] = {}
            for idx, own, vals in writes:
                value = vals.get(prop)
                if not value or idx in failures:
                    continue
                key = self._unique_key(prop, value)
                holder = taken.get(key)
                if holder is not None and holder != own:
                    failures[idx] = self._conflict(ot, prop, value, holder)
                elif key in claimed:
                    failures[idx] = self._conflict(ot, prop, value, 0)
                    failures[idx].winner = claimed[key]
                    failures[idx].context = {"prop": [prop], "value": [value]}
                elif own is not None:
                    taken[key] = own
                else:
                    claimed[key] = idx
        return failures

    def _name_winners(self, ot: ObjectType, failures: dict[int, Failure], created_order: list[int]) -> None:
        """In-batch duplicates name the id the earlier input gets (or would get)."""
        pending = [f for f in failures.values() if f.winner is not None]
        if not pending:
            return
        next_id = int(self.db.execute("SELECT value FROM hs_meta WHERE key = 'next_id'").fetchone()[0])
        position = {idx: i for i, idx in enumerate(created_order)}
        for f in pending:
            prop, value = f.context.pop("prop")[0], f.context.pop("value")[0]
            f.message = self._conflict(ot, prop, value, next_id + position.get(f.winner or 0, 0)).message

    # -- batch create / single create --------------------------------------------------------------
    def _plan(
        self, ot: ObjectType, inputs: list[dict[str, Any]]
    ) -> tuple[list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]], dict[int, Failure]]:
        """Check create inputs: (index, clean values, associations) for the good ones, failures by index."""
        failures: dict[int, Failure] = {}
        planned: list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]] = []
        for idx, item in enumerate(inputs):
            clean, problems = self._check(ot, item.get("properties"))
            if problems:
                failures[idx] = Failure.invalid(problems)
                continue
            links, failure = self._association_specs(ot, item.get("associations"))
            if failure is not None:
                failures[idx] = failure
                continue
            planned.append((idx, clean, links))
        failures.update(self._unique_failures(ot, [(idx, None, clean) for idx, clean, _ in planned]))
        planned = [p for p in planned if p[0] not in failures]
        self._name_winners(ot, failures, [p[0] for p in planned])
        return planned, failures

    def _create(
        self, ot: ObjectType, planned: list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]]
    ) -> list[tuple[int, Obj, list[str]]]:
        """Write planned creates: (index, object, written property names)."""
        if not planned:
            return []
        stamp = now_ms()
        ids = self._next_ids(len(planned))
        made: list[tuple[int, Obj, list[str]]] = []
        for (idx, clean, _), oid in zip(planned, ids, strict=True):
            props = {k: v for k, v in clean.items() if v != ""}
            props.setdefault("createdate", iso_ms(stamp))
            made.append((idx, Obj(ot.name, oid, props, stamp, stamp), list(clean)))
        self._insert([obj for _, obj, _ in made], self._unique_props(ot))
        for (_, _, links), (_, obj, _) in zip(planned, made, strict=True):
            for to_ot, to_id, type_id in links:
                self._associate(ot, obj.id, to_ot, to_id, type_id)
        return made

    def _association_specs(self, ot: ObjectType, raw: Any) -> tuple[list[tuple[ObjectType, int, int]], Failure | None]:
        """Associations given with a create: [{to: {id}, types: [{associationCategory, associationTypeId}]}]."""
        if not raw:
            return [], None
        links: list[tuple[ObjectType, int, int]] = []
        for spec in raw if isinstance(raw, list) else []:
            to_id = str(((spec or {}).get("to") or {}).get("id", ""))
            for kind in (spec or {}).get("types") or []:
                at = ASSOCIATION_TYPES.get(int(kind.get("associationTypeId") or 0))
                if at is None or at.from_type != ot.name or kind.get("associationCategory") != "HUBSPOT_DEFINED":
                    return [], Failure(
                        400,
                        "VALIDATION_ERROR",
                        f"{kind.get('associationCategory')} {kind.get('associationTypeId')} is not a valid "
                        f"association type from {ot.name}",
                    )
                to_ot = OBJECT_TYPES[at.to_type]
                if not to_id.isdigit() or not self._load(to_ot.name, [int(to_id)]):
                    return [], Failure(
                        400,
                        "VALIDATION_ERROR",
                        f"One or more associations are invalid: {to_ot.singular} {to_id} does not exist",
                        context={"toObjectId": [to_id]},
                    )
                links.append((to_ot, int(to_id), at.type_id))
        return links, None

    def batch_create(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        with self.transaction():
            planned, failures = self._plan(ot, inputs)
            if failures and not multi:  # one bad input fails the whole batch; nothing is created
                return failures[min(failures)].whole()
            made = self._create(ot, planned)
        results = [self._written(ot, obj, names) for _, obj, names in made]
        if failures:
            errors = [failures[i].per_input(str(inputs[i]["objectWriteTraceId"])) for i in sorted(failures)]
            return Response(207, self._batch(results, errors, started))
        return Response(201, self._batch(results, None, started))

    def create_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        body = self._body(req)
        if not isinstance(body, dict):
            raise validation_error('Invalid input JSON: expected an object with "properties"')
        with self.transaction():
            planned, failures = self._plan(ot, [body])
            if failures:
                return failures[0].whole()
            made = self._create(ot, planned)
        _, obj, names = made[0]
        return Response(201, self._written(ot, obj, names))

    # -- batch update / upsert / single update ----------------------------------------------------
    def _duplicate_ids(self, ids: list[str]) -> None:
        seen: set[str] = set()
        dupes = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
        if dupes:
            raise validation_error(f"Duplicate IDs found in batch input: {sorted(set(dupes))}. IDs must be unique")

    def _apply_updates(
        self, ot: ObjectType, updates: list[tuple[int, Obj, dict[str, str]]]
    ) -> tuple[list[tuple[int, Obj, list[str]]], dict[int, Failure]]:
        """Check unique values, then write (index, object, clean values); returns written and failures."""
        failures = self._unique_failures(ot, [(idx, obj.id, clean) for idx, obj, clean in updates])
        stamp = now_ms()
        saved: list[tuple[Obj, dict[str, str]]] = []
        done: list[tuple[int, Obj, list[str]]] = []
        for idx, obj, clean in updates:
            if idx in failures:
                continue
            before = dict(obj.props)
            for k, v in clean.items():
                if v == "":
                    obj.props.pop(k, None)
                else:
                    obj.props[k] = v
            obj.updated_ms = max(stamp, obj.updated_ms + 1)
            saved.append((obj, before))
            done.append((idx, obj, list(clean)))
        self._save(saved, self._unique_props(ot))
        return done, failures

    def batch_update(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        id_props = {item.get("idProperty") for item in inputs}
        for id_property in id_props:
            self._id_property(ot, id_property, allow_email=False)
        keys = [str(item.get("id", "")) for item in inputs]
        self._duplicate_ids(keys)
        resolved: dict[int, int] = {}
        for id_property in id_props:
            prop = self._id_property(ot, id_property, allow_email=False)
            group = [i for i, item in enumerate(inputs) if item.get("idProperty") == id_property]
            found = self._resolve(ot, [keys[i] for i in group], prop)
            resolved.update({i: found[keys[i]] for i in group if keys[i] in found})
        objs = self._load(ot.name, resolved.values())
        failures: dict[int, Failure] = {}
        missing: list[int] = []
        updates: list[tuple[int, Obj, dict[str, str]]] = []
        for idx, item in enumerate(inputs):
            if idx not in resolved or resolved[idx] not in objs:
                missing.append(idx)
                continue
            clean, problems = self._check(ot, item.get("properties"))
            if problems:
                failures[idx] = Failure.invalid(problems)
                continue
            updates.append((idx, objs[resolved[idx]], clean))
        if failures and not multi:
            return failures[min(failures)].whole()
        with self.transaction():
            if not multi:
                unique = self._unique_failures(ot, [(i, o.id, c) for i, o, c in updates])
                if unique:
                    return unique[min(unique)].whole()
            done, more = self._apply_updates(ot, updates)
        failures.update(more)
        results = [self._written(ot, obj, names) for _, obj, names in done]
        errors = [failures[i].per_input(str(inputs[i]["objectWriteTraceId"])) for i in sorted(failures)]
        errors += self._not_found_errors(ot, [keys[i] for i in missing], [inputs[i] for i in missing], multi)
        if errors:
            return Response(207, self._batch(results, errors, started))
        return Response(200, self._batch(results, None, started))

    def _not_found_errors(
        self, ot: ObjectType, keys: list[str], items: list[dict[str, Any]], multi: bool
    ) -> list[dict[str, Any]]:
        if not keys:
            return []
        message = f"Could not get some {ot.label} objects, they may be deleted or not exist. Check that ids are valid."
        if multi:
            return [
                Failure(404, "OBJECT_NOT_FOUND", message, context={"ids": [k]}).per_input(
                    str(item["objectWriteTraceId"])
                )
                for k, item in zip(keys, items, strict=True)
            ]
        return [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": message, "context": {"ids": keys}}]

    def batch_upsert(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        multi = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
        for item in inputs:
            if not item.get("idProperty"):
                raise validation_error("idProperty is required for upsert: name a property whose values are unique")
            prop = self._id_property(ot, item.get("idProperty"), allow_email=True)
            if prop is None:
                raise validation_error(
                    f"Unable to perform update/upsert by non-unique {ot.type_id} property hs_object_id "
                    f"in portal ID {PORTAL_ID}"
                )
        keys = [str(item.get("id", "")) for item in inputs]
        self._duplicate_ids(
            [
                f"{item['idProperty']}:{self._unique_key(item['idProperty'], k)}"
                for item, k in zip(inputs, keys, strict=True)
            ]
        )
        existing: dict[int, int] = {}
        for prop in {item["idProperty"] for item in inputs}:
            group = [i for i, item in enumerate(inputs) if item["idProperty"] == prop]
            found = self._resolve(ot, [keys[i] for i in group], prop)
            existing.update({i: found[keys[i]] for i in group if keys[i] in found})
        objs = self._load(ot.name, existing.values())
        failures: dict[int, Failure] = {}
        updates: list[tuple[int, Obj, dict[str, str]]] = []
        creates: list[tuple[int, dict[str, Any]]] = []
        for idx, item in enumerate(inputs):
            props = item.get("properties")
            if idx in existing and existing[idx] in objs:
                clean, problems = self._check(ot, props)
                if problems:
                    failures[idx] = Failure.invalid(problems)
                else:
                    clean.pop(item["idProperty"], None)
                    updates.append((idx, objs[existing[idx]], clean))
            else:
                merged = dict(props) if isinstance(props, dict) else props
                if isinstance(merged, dict):
                    merged[item["idProperty"]] = keys[idx]
                creates.append((idx, {"properties": merged}))
        with self.transaction():
            planned, create_failures = self._plan(ot, [c for _, c in creates])
            for local, failure in create_failures.items():
                failures[creates[local][0]] = failure
            if not multi:
                failures.update(self._unique_failures(ot, [(i, o.id, c) for i, o, c in updates]))
                if failures:
                    return failures[min(failures)].whole()
            done, more = self._apply_updates(ot, [u for u in updates if u[0] not in failures])
            failures.update(more)
            made = self._create(ot, planned)
        results: list[tuple[int, dict[str, Any]]] = []
        for idx, obj, names in done:
            names = [*names, inputs[idx]["idProperty"]]  # the key comes back too
            results.append((idx, {**self._written(ot, obj, names), "new": False}))
        for local, obj, names in made:
            results.append((creates[local][0], {**self._written(ot, obj, names), "new": True}))
        ordered = [r for _, r in sorted(results, key=lambda x: x[0])]
        if failures:
            errors = [failures[i].per_input(str(inputs[i].get("objectWriteTraceId"))) for i in sorted(failures)]
            return Response(207, self._batch(ordered, errors, started))
        return Response(200, self._batch(ordered, None, started))

    def update_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        prop = self._id_property(ot, req.arg("idProperty"))
        found = self._resolve(ot, [key], prop)
        objs = self._load(ot.name, found.values())
        if key not in found or found[key] not in objs:
            return self._not_found()
        body = self._body(req)
        clean, problems = self._check(ot, (body or {}).get("properties") if isinstance(body, dict) else None)
        if problems:
            return Failure.invalid(problems).whole()
        with self.transaction():
            done, failures = self._apply_updates(ot, [(0, objs[found[key]], clean)])
        if failures:
            return failures[0].whole()
        _, obj, names = done[0]
        return Response(200, self._written(ot, obj, names))

    @staticmethod
    def _not_found() -> Response:
        return ApiError(404, "OBJECT_NOT_FOUND", "resource not found").response()

    # -- reads ----------------------------------------------------------------------------------
    def batch_read(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        body, inputs = self._inputs(req)
        prop = self._id_property(ot, body.get("idProperty"), allow_email=True)
        archived = _flag(req.arg("archived"))
        keys = list(dict.fromkeys(str(item.get("id", "")) for item in inputs))
        if archived:
            numeric = [int(k) for k in keys if k.isdigit()] if prop is None else []
            objs = self._load(ot.name, numeric, archived=True)
            found = {k: int(k) for k in keys if k.isdigit() and int(k) in objs}
        else:
            found = self._resolve(ot, keys, prop)
            objs = self._load(ot.name, found.values())
        names = body.get("properties") or []
        history = body.get("propertiesWithHistory") or []
        results = [
            self._public(ot, objs[found[k]], names, history=history) for k in keys if k in found and found[k] in objs
        ]
        missing = [k for k in keys if k not in found or found[k] not in objs]
        if missing:
            return Response(207, self._batch(results, self._not_found_errors(ot, missing, [], False), started))
        return Response(200, self._batch(results, None, started))

    def get_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        prop = self._id_property(ot, req.arg("idProperty"))
        archived = _flag(req.arg("archived"))
        if archived:
            objs = self._load(ot.name, [int(key)] if key.isdigit() and prop is None else [], archived=True)
            found = {key: int(key)} if key.isdigit() else {}
        else:
            found = self._resolve(ot, [key], prop)
            objs = self._load(ot.name, found.values())
        if key not in found or found[key] not in objs:
            return self._not_found()
        obj = objs[found[key]]
        return Response(
            200,
            self._public(
                ot,
                obj,
                _list_arg(req, "properties"),
                history=_list_arg(req, "propertiesWithHistory"),
                associations=_list_arg(req, "associations"),
            ),
        )

    def list_objects(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        limit = self._int_arg(req, "limit", 10)
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise validation_error(f"limit must be between 1 and {LIST_MAX_LIMIT}, got {limit}")
        after = self._int_arg(req, "after", 0)
        archived = _flag(req.arg("archived"))
        rows = self.db.execute(
            "SELECT * FROM hs_objects WHERE otype = ? AND archived = ? AND id >= ? ORDER BY id LIMIT ?",
            (ot.name, int(archived), after, limit + 1),
        ).fetchall()
        objs = [self._row(r) for r in rows]
        names = _list_arg(req, "properties")
        history = _list_arg(req, "propertiesWithHistory")
        assoc = _list_arg(req, "associations")
        body: dict[str, Any] = {
            "results": [self._public(ot, o, names, history=history, associations=assoc) for o in objs[:limit]]
        }
        if len(objs) > limit:
            nxt = str(objs[limit].id)
            body["paging"] = {"next": {"after": nxt, "link": f"/crm/v3/objects/{ot.name}?after={nxt}"}}
        return Response(200, body)

    @staticmethod
    def _int_arg(req: Request, name: str, default: int) -> int:
        raw = req.arg(name)
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError:
            raise validation_error(f"{name} must be an integer, got {raw!r}") from None

    # -- archive ----------------------------------------------------------------------------------
    def batch_archive(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        ids = [int(str(i.get("id"))) for i in inputs if str(i.get("id", "")).isdigit()]
        with self.transaction():
            self._archive(ot.name, ids)
        return Response(204)

    def archive_object(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        key = unquote(req.params["oid"])
        if key.isdigit():
            with self.transaction():
                self._archive(ot.name, [int(key)])
        return Response(204)

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

    # -- v3 association view ------------------------------------------------------------------------
    def _v3_associations(self, ot: ObjectType, oid: int, wanted: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in wanted:
            to_ot = resolve_type(name)
            if to_ot is None:
                continue
            rows = self.db.execute(
                "SELECT to_id, type_id FROM hs_assoc WHERE from_type = ? AND from_id = ? AND to_type = ? "
                "ORDER BY to_id, type_id",
                (ot.name, oid, to_ot.name),
            ).fetchall()
            if rows:
                out[to_ot.name] = {
                    "results": [{"id": str(r["to_id"]), "type": ASSOCIATION_TYPES[r["type_id"]].v3_name} for r in rows]
                }
        return out

    # -- associations (v4) ------------------------------------------------------------------------
    def _pair(self, req: Request) -> tuple[ObjectType, ObjectType]:
        from_ot, to_ot = self._type(req.params["from_type"]), self._type(req.params["to_type"])
        if (from_ot.name, to_ot.name) not in UNLABELED:
            raise validation_error(f"Associations from {from_ot.name} to {to_ot.name} are not supported")
        return from_ot, to_ot

    def _associate(self, from_ot: ObjectType, from_id: int, to_ot: ObjectType, to_id: int, type_id: int) -> list[int]:
        """Create one association (and its inverse); a labeled one brings the unlabeled one along.
        A contact has at most one primary company: a new primary demotes the old one."""
        at = ASSOCIATION_TYPES[type_id]
        created = [type_id]
        if at.label is not None:
            created.append(UNLABELED[(from_ot.name, to_ot.name)])
            contact = from_id if from_ot.name == "contacts" else to_id
            self.db.execute(
                "DELETE FROM hs_assoc WHERE (from_type = 'contacts' AND from_id = ? AND type_id = 1) "
                "OR (to_type = 'contacts' AND to_id = ? AND type_id = 2)",
                (contact, contact),
            )
        rows = []
        for t in created:
            rows.append((from_ot.name, from_id, to_ot.name, to_id, t))
            rows.append((to_ot.name, to_id, from_ot.name, from_id, ASSOCIATION_TYPES[t].inverse))
        self.db.executemany(
            "INSERT OR IGNORE INTO hs_assoc (from_type, from_id, to_type, to_id, type_id) VALUES (?, ?, ?, ?, ?)", rows
        )
        return created

    def _has_primary(self, from_ot: ObjectType, from_id: int, to_id: int) -> bool:
        contact = from_id if from_ot.name == "contacts" else to_id
        return bool(
            self.db.execute(
                "SELECT 1 FROM hs_assoc WHERE from_type = 'contacts' AND from_id = ? AND type_id = 1", (contact,)
            ).fetchone()
        )

    def _missing_objects(
        self, from_ot: ObjectType, from_ids: list[str], to_ot: ObjectType, to_ids: list[str]
    ) -> tuple[set[str], set[str]]:
        froms = self._load(from_ot.name, [int(i) for i in from_ids if i.isdigit()])
        tos = self._load(to_ot.name, [int(i) for i in to_ids if i.isdigit()])
        return (
            {i for i in from_ids if not i.isdigit() or int(i) not in froms},
            {i for i in to_ids if not i.isdigit() or int(i) not in tos},
        )

    @staticmethod
    def _missing_error(ot: ObjectType, side: str, oid: str) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "subCategory": "crm.associations.INVALID_OBJECT_IDS",
            "message": f"No {ot.singular} with ID {oid} exists",
            "context": {side: [oid]},
        }

    @staticmethod
    def _spec(type_id: int) -> dict[str, Any]:
        return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}

    def _labels(self, type_ids: Iterable[int]) -> list[str]:
        return sorted({ASSOCIATION_TYPES[t].label for t in type_ids if ASSOCIATION_TYPES[t].label})  # type: ignore[misc]

    def _types_for(self, from_ot: ObjectType, to_ot: ObjectType, raw: Any) -> list[int]:
        ids = []
        for kind in raw or []:
            if not isinstance(kind, dict):
                raise validation_error("Invalid association type: expected {associationCategory, associationTypeId}")
            type_id = kind.get("associationTypeId")
            at = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
            if (
                at is None
                or kind.get("associationCategory") != "HUBSPOT_DEFINED"
                or (at.from_type, at.to_type) != (from_ot.name, to_ot.name)
            ):
                raise validation_error(
                    f"{kind.get('associationCategory')} {type_id} is not a valid association type from "
                    f"{from_ot.name} to {to_ot.name}",
                    subCategory="crm.associations.INVALID_ASSOCIATION_TYPE",
                )
            ids.append(at.type_id)
        if not ids:
            raise validation_error("At least one association type is required", subCategory="crm.associations.NO_TYPES")
        return ids

    def assoc_batch_create(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        pairs = [
            (str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", "")), i.get("types"))
            for i in inputs
        ]
        kinds = [self._types_for(from_ot, to_ot, t) for _, _, t in pairs]
        missing_from, missing_to = self._missing_objects(
            from_ot, [f for f, _, _ in pairs], to_ot, [t for _, t, _ in pairs]
        )
        results, errors = [], []
        with self.transaction():
            for (f, t, _), type_ids in zip(pairs, kinds, strict=True):
                if f in missing_from:
                    errors.append(self._missing_error(from_ot, "fromObjectId", f))
                    continue
                if t in missing_to:
                    errors.append(self._missing_error(to_ot, "toObjectId", t))
                    continue
                made: list[int] = []
                for type_id in type_ids:
                    made += self._associate(from_ot, int(f), to_ot, int(t), type_id)
                results.append(
                    {
                        "fromObjectTypeId": from_ot.type_id,
                        "fromObjectId": int(f),
                        "toObjectTypeId": to_ot.type_id,
                        "toObjectId": int(t),
                        "labels": self._labels(made),
                    }
                )
        if errors:
            return Response(207, self._batch(results, errors, started))
        return Response(201, self._batch(results, None, started))

    def _default_one(self, from_ot: ObjectType, f: int, to_ot: ObjectType, t: int) -> list[dict[str, Any]]:
        type_ids = [UNLABELED[(from_ot.name, to_ot.name)]]
        if not self._has_primary(from_ot, f, t):
            type_ids.append(PRIMARY[(from_ot.name, to_ot.name)])
        made: list[int] = []
        for type_id in type_ids:
            made += self._associate(from_ot, f, to_ot, t, type_id)
        return [
            {"from": {"id": str(f)}, "to": {"id": str(t)}, "associationSpec": self._spec(type_id)}
            for type_id in dict.fromkeys(made)
        ]

    def assoc_batch_default(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        pairs = [(str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", ""))) for i in inputs]
        missing_from, missing_to = self._missing_objects(from_ot, [f for f, _ in pairs], to_ot, [t for _, t in pairs])
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.transaction():
            for f, t in pairs:
                if f in missing_from:
                    errors.append(self._missing_error(from_ot, "fromObjectId", f))
                elif t in missing_to:
                    errors.append(self._missing_error(to_ot, "toObjectId", t))
                else:
                    results += self._default_one(from_ot, int(f), to_ot, int(t))
        return Response(200, self._batch(results, errors, started))

    def _assoc_rows(self, from_ot: ObjectType, from_id: int, to_ot: ObjectType) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT to_id, type_id FROM hs_assoc WHERE from_type = ? AND from_id = ? AND to_type = ? "
            "ORDER BY to_id, type_id",
            (from_ot.name, from_id, to_ot.name),
        ).fetchall()
        grouped: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            at = ASSOCIATION_TYPES[r["type_id"]]
            grouped.setdefault(r["to_id"], []).append(
                {"category": "HUBSPOT_DEFINED", "typeId": at.type_id, "label": at.label}
            )
        return [{"toObjectId": to_id, "associationTypes": kinds} for to_id, kinds in grouped.items()]

    def assoc_batch_read(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req, MAX_ASSOCIATION_READ)
        results, errors = [], []
        for item in inputs:
            f = str(item.get("id", ""))
            rows = self._assoc_rows(from_ot, int(f), to_ot) if f.isdigit() else []
            if rows:
                results.append({"from": {"id": f}, "to": rows})
            else:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No {to_ot.singular} is associated with {from_ot.singular} {f}.",
                        "context": {
                            "fromObjectId": [f],
                            "fromObjectType": [from_ot.singular],
                            "toObjectType": [to_ot.singular],
                        },
                    }
                )
        return Response(207 if errors else 200, self._batch(results, errors, started))

    def _unlink(self, from_ot: ObjectType, f: int, to_ot: ObjectType, t: int, type_ids: list[int] | None) -> None:
        if type_ids is None or UNLABELED[(from_ot.name, to_ot.name)] in type_ids:
            self.db.execute(
                "DELETE FROM hs_assoc WHERE (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ?) "
                "OR (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ?)",
                (from_ot.name, f, to_ot.name, t, to_ot.name, t, from_ot.name, f),
            )
            return
        for type_id in type_ids:
            inverse = ASSOCIATION_TYPES[type_id].inverse
            self.db.execute(
                "DELETE FROM hs_assoc WHERE "
                "(from_type = ? AND from_id = ? AND to_type = ? AND to_id = ? AND type_id = ?) "
                "OR (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ? AND type_id = ?)",
                (from_ot.name, f, to_ot.name, t, type_id, to_ot.name, t, from_ot.name, f, inverse),
            )

    def assoc_batch_archive(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                f = str((item.get("from") or {}).get("id", ""))
                for target in item.get("to") or []:
                    t = str((target or {}).get("id", ""))
                    if f.isdigit() and t.isdigit():
                        self._unlink(from_ot, int(f), to_ot, int(t), None)
        return Response(204)

    def assoc_batch_archive_labels(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                f = str((item.get("from") or {}).get("id", ""))
                t = str((item.get("to") or {}).get("id", ""))
                type_ids = self._types_for(from_ot, to_ot, item.get("types"))
                if f.isdigit() and t.isdigit():
                    self._unlink(from_ot, int(f), to_ot, int(t), type_ids)
        return Response(204)

    def _one_pair(self, req: Request) -> tuple[ObjectType, int, ObjectType, int]:
        from_ot, to_ot = self._pair(req)
        f, t = unquote(req.params["from_id"]), unquote(req.params["to_id"])
        missing_from, missing_to = self._missing_objects(from_ot, [f], to_ot, [t])
        if missing_from or missing_to:
            ot, oid = (from_ot, f) if missing_from else (to_ot, t)
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No {ot.singular} with ID {oid} exists")
        return from_ot, int(f), to_ot, int(t)

    def assoc_put_default(self, req: Request) -> Response:
        started = now_ms()
        from_ot, f, to_ot, t = self._one_pair(req)
        with self.transaction():
            results = self._default_one(from_ot, f, to_ot, t)
        return Response(200, self._batch(results, None, started))

    def assoc_put_labels(self, req: Request) -> Response:
        from_ot, f, to_ot, t = self._one_pair(req)
        body = self._body(req)
        type_ids = self._types_for(from_ot, to_ot, body if isinstance(body, list) else None)
        with self.transaction():
            made: list[int] = []
            for type_id in type_ids:
                made += self._associate(from_ot, f, to_ot, t, type_id)
        return Response(
            201,
            {
                "fromObjectTypeId": from_ot.type_id,
                "fromObjectId": f,
                "toObjectTypeId": to_ot.type_id,
                "toObjectId": t,
                "labels": self._labels(made),
            },
        )

    def assoc_delete(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        f, t = unquote(req.params["from_id"]), unquote(req.params["to_id"])
        if f.isdigit() and t.isdigit():
            with self.transaction():
                self._unlink(from_ot, int(f), to_ot, int(t), None)
        return Response(204)

    def assoc_get_page(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        f = unquote(req.params["from_id"])
        limit = self._int_arg(req, "limit", 500)
        after = self._int_arg(req, "after", 0)
        rows = self._assoc_rows(from_ot, int(f), to_ot) if f.isdigit() else []
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, body)

    # -- properties --------------------------------------------------------------------------------
    def _all_properties(self, otype: str, archived: bool) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT definition FROM hs_properties WHERE otype = ? AND archived = ? ORDER BY rowid",
            (otype, int(archived)),
        )
        return [json.loads(r["definition"]) for r in rows]

    def _stored_property(self, otype: str, name: str) -> tuple[dict[str, Any], bool] | None:
        row = self.db.execute(
            "SELECT definition, archived FROM hs_properties WHERE otype = ? AND name = ?", (otype, name)
        ).fetchone()
        return (json.loads(row["definition"]), bool(row["archived"])) if row else None

    def _group_exists(self, otype: str, name: str) -> bool:
        return bool(
            self.db.execute(
                "SELECT 1 FROM hs_groups WHERE otype = ? AND name = ? AND archived = 0", (otype, name)
            ).fetchone()
        )

    def list_properties(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        return Response(200, {"results": self._all_properties(ot.name, _flag(req.arg("archived")))})

    def get_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1] != _flag(req.arg("archived")):
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        return Response(200, stored[0])

    def _new_property(self, ot: ObjectType, spec: Any) -> dict[str, Any]:
        """Validate a PropertyCreate and store it; raises ApiError."""
        if not isinstance(spec, dict):
            raise validation_error("Invalid input JSON: expected a property definition object")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not spec.get(k)]
        if missing:
            raise validation_error(
                f"Missing required fields: {', '.join(missing)}",
                errors=[{"message": f"{k} is required", "in": k, "code": "REQUIRED_FIELD"} for k in missing],
            )
        name, kind, field_type = str(spec["name"]), str(spec["type"]), str(spec["fieldType"])
        if not PROPERTY_NAME.match(name) or len(name) > 100:
            raise validation_error(
                f"Invalid property name {name!r}: names start with a lowercase letter and contain only lowercase "
                "letters, digits and underscores (at most 100 characters)",
                subCategory="PropertyValidationError.INVALID_PROPERTY_NAME",
            )
        if kind not in FIELD_TYPES:
            raise validation_error(f"Invalid property type {kind!r}: one of {sorted(FIELD_TYPES)}")
        if field_type not in FIELD_TYPES[kind]:
            raise validation_error(
                f"fieldType {field_type!r} is not valid for a property of type {kind!r}; "
                f"use one of {sorted(FIELD_TYPES[kind])}",
                subCategory="PropertyValidationError.INVALID_FIELD_TYPE",
            )
        if not self._group_exists(ot.name, str(spec["groupName"])):
            raise validation_error(
                f"Property group {spec['groupName']} does not exist for object type {ot.type_id}",
                subCategory="PropertyValidationError.INVALID_GROUP",
            )
        unique = bool(spec.get("hasUniqueValue"))
        if unique and kind not in ("string", "number"):
            raise validation_error("Only string and number properties can require unique values")
        options = spec.get("options") or []
        if kind == "bool" and not options:
            options = [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]
        values = [str((o or {}).get("value", "")) for o in options]
        if len(set(values)) != len(values) or any(not v for v in values):
            raise validation_error("Property options need distinct, non-empty values")
        stored = self._stored_property(ot.name, name)
        if stored is not None and not stored[1]:
            raise ApiError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property named '{name}' already exists.",
                context={"name": [name]},
            )
        stamp = iso_ms(now_ms())
        definition = property_definition(
            name,
            str(spec["label"]),
            kind,
            field_type,
            str(spec["groupName"]),
            options=options,
            description=str(spec.get("description") or ""),
            unique=unique,
            hubspot_defined=False,
            display_order=_int_or(spec.get("displayOrder"), -1),
            created_at=stamp,
        )
        definition["hidden"] = bool(spec.get("hidden", False))
        definition["formField"] = bool(spec.get("formField", False))
        definition["createdUserId"] = definition["updatedUserId"] = "1"
        self.db.execute(
            "INSERT OR REPLACE INTO hs_properties (otype, name, definition, archived) VALUES (?, ?, ?, 0)",
            (ot.name, name, json.dumps(definition)),
        )
        return definition

    def create_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        with self.transaction():
            definition = self._new_property(ot, self._body(req))
        self._load_properties()
        return Response(201, definition)

    def update_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        definition = stored[0]
        patch = self._body(req) or {}
        if not isinstance(patch, dict):
            raise validation_error("Invalid input JSON: expected a property update object")
        if definition.get("hubspotDefined") and any(k in patch for k in ("type", "fieldType")):
            raise validation_error(f"The type of HubSpot-defined property {name} cannot be changed")
        kind = str(patch.get("type", definition["type"]))
        field_type = str(patch.get("fieldType", definition["fieldType"]))
        if kind not in FIELD_TYPES or field_type not in FIELD_TYPES[kind]:
            raise validation_error(f"fieldType {field_type!r} is not valid for a property of type {kind!r}")
        if "groupName" in patch and not self._group_exists(ot.name, str(patch["groupName"])):
            raise validation_error(f"Property group {patch['groupName']} does not exist for object type {ot.type_id}")
        for key in ("label", "description", "groupName", "displayOrder", "hidden", "formField"):
            if key in patch:
                definition[key] = patch[key]
        definition["type"], definition["fieldType"] = kind, field_type
        if "options" in patch:
            definition["options"] = option_dicts(patch["options"] or [])
        definition["updatedAt"] = iso_ms(now_ms())
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_properties SET definition = ? WHERE otype = ? AND name = ?",
                (json.dumps(definition), ot.name, name),
            )
        self._load_properties()
        return Response(200, definition)

    def _archive_property(self, ot: ObjectType, name: str) -> None:
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        definition = stored[0]
        if definition.get("hubspotDefined"):
            raise validation_error(f"{name} is a HubSpot-defined property and cannot be archived")
        definition["archived"] = True
        definition["archivedAt"] = iso_ms(now_ms())
        self.db.execute(
            "UPDATE hs_properties SET definition = ?, archived = 1 WHERE otype = ? AND name = ?",
            (json.dumps(definition), ot.name, name),
        )

    def archive_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        with self.transaction():
            self._archive_property(ot, unquote(req.params["name"]))
        self._load_properties()
        return Response(204)

    def batch_read_properties(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        body, inputs = self._inputs(req)
        archived = bool(body.get("archived"))
        results, errors = [], []
        for item in inputs:
            name = str(item.get("name", ""))
            stored = self._stored_property(ot.name, name)
            if stored is None or stored[1] != archived:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"Unable to find property with name: {name}",
                        "context": {"name": [name]},
                    }
                )
            else:
                results.append(stored[0])
        return Response(207 if errors else 200, self._batch(results, errors, started))

    def batch_create_properties(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        results, errors = [], []
        with self.transaction():
            for spec in inputs:
                try:
                    results.append(self._new_property(ot, spec))
                except ApiError as exc:
                    errors.append(
                        {
                            "status": "error",
                            "category": exc.body["category"],
                            "message": exc.body["message"],
                            "context": {"name": [str(spec.get("name", ""))]},
                        }
                    )
        self._load_properties()
        return Response(207 if errors else 201, self._batch(results, errors, started))

    def batch_archive_properties(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                stored = self._stored_property(ot.name, str(item.get("name", "")))
                if stored is not None and not stored[1] and not stored[0].get("hubspotDefined"):
                    self._archive_property(ot, str(item["name"]))
        self._load_properties()
        return Response(204)

    # -- property groups --------------------------------------------------------------------------
    def _stored_group(self, otype: str, name: str) -> tuple[dict[str, Any], bool] | None:
        row = self.db.execute(
            "SELECT definition, archived FROM hs_groups WHERE otype = ? AND name = ?", (otype, name)
        ).fetchone()
        return (json.loads(row["definition"]), bool(row["archived"])) if row else None

    def list_groups(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        rows = self.db.execute(
            "SELECT definition FROM hs_groups WHERE otype = ? AND archived = 0 ORDER BY rowid", (ot.name,)
        )
        return Response(200, {"results": [json.loads(r["definition"]) for r in rows]})

    def get_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        return Response(200, stored[0])

    def create_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        spec = self._body(req)
        if not isinstance(spec, dict) or not spec.get("name") or not spec.get("label"):
            raise validation_error("Missing required fields: name and label")
        name = str(spec["name"])
        if not PROPERTY_NAME.match(name):
            raise validation_error(
                f"Invalid property group name {name!r}: lowercase letters, digits and underscores only"
            )
        stored = self._stored_group(ot.name, name)
        if stored is not None and not stored[1]:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists.")
        order = spec.get("displayOrder")
        group = {
            "name": name,
            "label": str(spec["label"]),
            "displayOrder": -1 if order is None else int(order),
            "archived": False,
        }
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO hs_groups (otype, name, definition, archived) VALUES (?, ?, ?, 0)",
                (ot.name, name, json.dumps(group)),
            )
        return Response(201, group)

    def update_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        group = stored[0]
        patch = self._body(req) or {}
        for key in ("label", "displayOrder"):
            if key in patch:
                group[key] = patch[key]
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_groups SET definition = ? WHERE otype = ? AND name = ?", (json.dumps(group), ot.name, name)
            )
        return Response(200, group)

    def archive_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        if any(d.get("groupName") == name for d in self._props[ot.name].values()):
            raise validation_error(f"Property group {name} still has properties; move or archive them first")
        group = {**stored[0], "archived": True}
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_groups SET definition = ?, archived = 1 WHERE otype = ? AND name = ?",
                (json.dumps(group), ot.name, name),
            )
        return Response(204)

    # -- admin ----------------------------------------------------------------------------------------
    def admin_records(self, req: Request) -> Response:
        ot = resolve_type(req.params["otype"])
        if ot is None:
            return Response(404, {"message": f"unknown object type {req.params['otype']}"})
        archived = _flag(req.arg("archived"))
        rows = self.db.execute(
            "SELECT * FROM hs_objects WHERE otype = ? AND archived = ? ORDER BY id", (ot.name, int(archived))
        ).fetchall()
        results = []
        for row in rows:
            obj = self._row(row)
            out = self._public(ot, obj, list(obj.props), nulls=False)
            other = "companies" if ot.name == "contacts" else "contacts"
            assoc = self._v3_associations(ot, obj.id, [other])
            if assoc:
                out["associations"] = assoc
            results.append(out)
        return Response(200, {"total": len(results), "results": results})


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)
