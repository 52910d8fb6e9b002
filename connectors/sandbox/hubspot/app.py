"""The HubSpot sandbox app: :class:`HubSpotApp`, composed of one mixin per API area.

It owns what belongs to no single area: the switches (``/__sandbox/config``), the SQLite schema
with the default properties and groups, reset, the error bodies for unrouted paths and sandbox
bugs, the route table that maps every emulated path to its handler, and the admin dump of an
object type's records (``GET /__sandbox/records/{type}``); the admin load of many records at once
(``POST /__sandbox/load/{type}``) is :mod:`.load`.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.associations import AssociationsMixin
from connectors.sandbox.hubspot.core import _flag
from connectors.sandbox.hubspot.errors import ApiError, correlation_id
from connectors.sandbox.hubspot.limits import LimitsMixin
from connectors.sandbox.hubspot.load import LoadMixin
from connectors.sandbox.hubspot.model import OBJECT_TYPES, default_groups, default_properties, resolve_type
from connectors.sandbox.hubspot.objects import ObjectsMixin
from connectors.sandbox.hubspot.properties import PropertiesMixin
from connectors.sandbox.hubspot.scopes import ALL_SCOPES, TOKEN_INFO_ROUTE
from connectors.sandbox.hubspot.search import SEARCH_ROUTE, SearchMixin

FIRST_ID = 30_000_000_001  # real HubSpot ids are past 2**31; so are ours


class HubSpotApp(LoadMixin, ObjectsMixin, SearchMixin, AssociationsMixin, PropertiesMixin, LimitsMixin):
    """The HubSpot sandbox (see the package docstring)."""

    name = "hubspot"

    def __init__(self, db_path: Path, *, token: str) -> None:
        self.token = token
        self._ten_second: deque[float] = deque()
        self._search_second: deque[float] = deque()
        self._daily_day = ""
        self._daily_used = 0
        self._window_peak = 0  # the most calls the ten-second window held (GET /__sandbox/usage)
        self._refused: dict[str, int] = {}  # 429 answers by policy
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
            "portal_id": 62515,  # the account (Hub ID) served by /account-info/v3/details
            "time_zone": "US/Eastern",
            "scopes": list(ALL_SCOPES),  # what the private app's token was granted
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
            -- The reverse direction: a record's associations *to* it (a contact's primary company
            -- demoted by batch/associate/default, v4 reads from the other side). Without it every
            -- such lookup scans the whole table and a first sync of N contacts is O(N^2).
            CREATE INDEX IF NOT EXISTS hs_assoc_to ON hs_assoc (to_type, to_id, type_id);
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
        self._window_peak = 0
        self._refused.clear()
        self.create_schema()

    # -- error answers -----------------------------------------------------------------------
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
        routes.append(("GET", r"/account-info/v3/details", "account-info/v3/details", self.account_details))
        routes.append(("POST", r"/oauth/v2/private-apps/get/access-token-info", TOKEN_INFO_ROUTE, self.token_info))
        for method, pattern, name, fn in routes:
            self.route(method, pattern, name)(self._guarded(fn))
        self.admin_route("GET", r"/records/(?P<otype>[^/]+)")(self.admin_records)
        self.admin_route("POST", r"/load/(?P<otype>[^/]+)")(self.admin_load)
        self.admin_route("GET", r"/usage")(self.admin_usage)
        self.admin_route("DELETE", r"/usage")(self.admin_usage)

    def account_details(self, req: Request) -> Response:
        """``GET /account-info/v3/details``: which HubSpot account (portal) the token belongs to.

        The shape of HubSpot's documented "Retrieve account details" answer (Account information
        API; also served at ``/account-info/2026-03/details``): ``portalId`` (the Hub ID),
        ``accountType``, ``timeZone``, ``companyCurrency``, ``additionalCurrencies``,
        ``utcOffset``, ``utcOffsetMilliseconds``, ``uiDomain``, ``dataHostingLocation``. The
        portal id is what sync state is keyed by; set it with ``POST /__sandbox/config
        {"portal_id": …}`` to play another account.
        """
        return Response(200, {
            "portalId": int(self.config["portal_id"]),
            "accountType": "STANDARD",
            "timeZone": self.config["time_zone"],
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        })

    @staticmethod
    def _guarded(fn: Any) -> Any:
        def handler(req: Request) -> Response:
            try:
                return fn(req)
            except ApiError as exc:
                return exc.response()

        handler.__name__ = fn.__name__
        return handler

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
