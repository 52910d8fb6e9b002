"""Salesforce sandbox state: the SQLite tables, the field catalog and the id counters.

:class:`SalesforceState` is the base every other part of the sandbox builds on. It holds the
attributes they share, creates the tables, loads what survives a restart (custom fields, OAuth
sessions, the API usage counter), and keeps each object's field catalog: the standard fields plus
the custom fields created through the Tooling API, with the lists the write path needs (indexed,
required and defaulted fields), rebuilt whenever a custom field comes or goes.

Field-level security: ``_fields`` is the catalog **as the running user sees it**. With the config
switch ``enforce_field_security`` on (the default, as in an org), a custom field is in it only once
a permission set assigned to the user grants read on it (see
:func:`~.setup_objects.field_grants`), and is writable only with edit; with the switch off, every
field is. Everything that answers the API (describe, SOQL, writes, Bulk) reads ``_fields``;
indexes, required fields and defaults are the org's and use every field.

Object permissions (:meth:`SalesforceState.permitted`): the profile grants Read, Create and Edit
on every data object unless config ``object_permissions`` takes one away; an object without
Read is not there for the user (describe 404, SOQL ``INVALID_TYPE``), and describe's object-level
``queryable`` / ``createable`` / ``updateable`` follow them.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from connectors.sandbox.base import App
from connectors.sandbox.salesforce.setup_objects import (
    ALL_OBJECTS,
    NOT_UPDATEABLE,
    SETUP_OBJECTS,
    field_grants,
    seed_profile,
)
from connectors.sandbox.salesforce_schema import OBJECTS, ORG_ID, FieldDef, custom_field_def, make_id


class SalesforceState(App):
    def __init__(self, db_path: Path, *, token: str) -> None:
        self.token = token
        self._custom: dict[str, list[FieldDef]] = {name: [] for name in OBJECTS}
        self._all_fields: dict[str, dict[str, FieldDef]] = {}
        self._granted_fields: dict[str, dict[str, FieldDef]] = {}
        self._indexed: dict[str, list[FieldDef]] = {}
        self._required: dict[str, list[str]] = {}
        self._defaults: dict[str, list[tuple[str, Any]]] = {}
        self._cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._sessions: set[str] = set()
        self._usage: tuple[str, int] = ("", 0)
        self._request_version = "62.0"  # of the call being handled (calls are served one at a time)
        super().__init__(db_path)
        self._load_state()

    def default_config(self) -> dict[str, Any]:
        return {"daily_api_limit": 100_000, "duplicate_rule_email": False, "organization_id": ORG_ID,
                "enforce_field_security": True, "object_permissions": {},
                # The connected app the JWT bearer grant accepts (see .auth): none until configured.
                "jwt_consumer_key": None, "jwt_certificate": None, "jwt_audience": "https://test.salesforce.com",
                "jwt_clock_offset_seconds": 0}

    def permitted(self, sobject: str, permission: str) -> bool:
        """Whether the running user's profile grants an object permission (``PermissionsRead``,
        ``PermissionsCreate``, ``PermissionsEdit``); config ``object_permissions`` takes some away,
        ``{"Lead": {"PermissionsCreate": false}}``. Setup objects follow the integration user's
        "Manage Profiles and Permission Sets", which it has."""
        if sobject in SETUP_OBJECTS:
            return not (sobject in NOT_UPDATEABLE and permission == "PermissionsEdit")
        granted = (self.config.get("object_permissions") or {}).get(sobject) or {}
        return bool(granted.get(permission, True))

    @property
    def _fields(self) -> dict[str, dict[str, FieldDef]]:
        """Each object's fields as the running user sees them (field-level security applied)."""
        if self.config.get("enforce_field_security", True):
            return self._granted_fields
        return self._all_fields

    def create_schema(self) -> None:
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                sobject TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                data TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS records_by_object ON records (sobject, deleted, seq);
            CREATE TABLE IF NOT EXISTS record_keys (
                sobject TEXT NOT NULL, field TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL,
                PRIMARY KEY (id, field)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS record_keys_lookup ON record_keys (sobject, field, key);
            CREATE TABLE IF NOT EXISTS custom_fields (
                id TEXT PRIMARY KEY, sobject TEXT NOT NULL, developer_name TEXT NOT NULL,
                metadata TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS counters (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS jobs (
                id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, info TEXT NOT NULL,
                upload BLOB, successful TEXT, failed TEXT, unprocessed TEXT, results TEXT
            );
            """
        )

    def drop_state(self) -> None:
        # Id counters survive a reset on purpose: Salesforce never hands out the same id twice,
        # and a test holding an id from before the reset must not find someone else's record.
        with self.transaction():
            for table in ("records", "record_keys", "custom_fields", "meta", "jobs"):
                self.db.execute(f"DELETE FROM {table}")
        self._cursors.clear()
        self._load_state()

    def _load_state(self) -> None:
        self._custom = {name: [] for name in OBJECTS}
        for row in self.db.execute("SELECT id, sobject, developer_name, metadata FROM custom_fields ORDER BY created"):
            self._custom[row[1]].append(custom_field_def(row[0], row[2] + "__c", json.loads(row[3])))
        with self.transaction():
            seed_profile(self.db, self._next_ids)
        self._rebuild_fields()
        self._sessions = {r[0] for r in self.db.execute("SELECT token FROM sessions")}
        row = self.db.execute("SELECT value FROM meta WHERE key = 'api_usage'").fetchone()
        usage = json.loads(row[0]) if row else {"day": "", "used": 0}
        self._usage = (usage["day"], usage["used"])

    def _rebuild_fields(self) -> None:
        """Rebuild every catalog: after a custom field comes or goes, or a grant changes."""
        for name, obj in ALL_OBJECTS.items():
            ordered = obj.standard_fields + self._custom.get(name, [])
            self._all_fields[name] = {f.name.lower(): f for f in ordered}
            self._indexed[name] = [f for f in ordered if f.indexed]
            self._required[name] = [f.name for f in ordered if f.required]
            self._defaults[name] = [
                (f.name, bool(f.default_value) if f.type == "boolean" else f.picklist_default)
                for f in ordered
                if f.defaulted_on_create and (f.type == "boolean" or f.picklist_default is not None)
            ]
        self._granted_fields = self._apply_field_security(field_grants(self.db))

    def _apply_field_security(self, grants: dict[tuple[str, str], bool]) -> dict[str, dict[str, FieldDef]]:
        """The catalog without the custom fields no grant reaches; read-only where read is granted without edit."""
        out: dict[str, dict[str, FieldDef]] = {}
        for name, fields in self._all_fields.items():
            if name in SETUP_OBJECTS:
                out[name] = fields
                continue
            visible: dict[str, FieldDef] = {}
            for key, f in fields.items():
                if not f.custom:
                    visible[key] = f  # standard fields: granted by the profile
                elif (name, key) in grants:
                    editable = grants[(name, key)]
                    visible[key] = f if editable else dataclasses.replace(f, createable=False, updateable=False)
            out[name] = visible
        return out

    def fields(self, sobject: str) -> dict[str, FieldDef]:
        return self._fields[sobject]

    def all_fields(self, sobject: str) -> dict[str, FieldDef]:
        """Every field of the object, whoever may see it (the org's schema, as the Tooling API shows it)."""
        return self._all_fields[sobject]

    def indexed_fields(self, sobject: str) -> list[FieldDef]:
        return self._indexed[sobject]

    def _counter(self, prefix: str) -> int:
        row = self.db.execute("SELECT n FROM counters WHERE prefix = ?", (prefix,)).fetchone()
        return row[0] if row else 0

    def _set_counter(self, prefix: str, n: int) -> None:
        self.db.execute(
            "INSERT INTO counters (prefix, n) VALUES (?, ?) ON CONFLICT (prefix) DO UPDATE SET n = excluded.n",
            (prefix, n),
        )

    def _next_ids(self, prefix: str, count: int) -> list[str]:
        start = self._counter(prefix)
        self._set_counter(prefix, start + count)
        return [make_id(prefix, start + i + 1) for i in range(count)]
