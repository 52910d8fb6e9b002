"""The Salesforce sandbox: the REST API subset our connectors (through simple-salesforce) speak.

Emulated, for any ``/services/data/vXX.X/``: describe (global, object, basic info), SOQL
``query`` / ``queryAll`` with 2,000-record pages, single-record CRUD and upsert by external id,
sObject Collections (create / update / upsert / retrieve / delete, at most 200 records, per-record
results, ``allOrNone``), Bulk API 2.0 ingest and query jobs, the Tooling API for ``CustomField``,
``limits``, the daily API allocation with ``Sforce-Limit-Info``, and the OAuth 2.0 token
endpoint (password and client-credentials grants). ``docs/sandbox-salesforce.md`` lists what is
and is not emulated, and the choices made where Salesforce's behaviour is not documented.

State lives in SQLite: one ``records`` row per record (JSON document), an index table
``record_keys`` for the values we look up (emails, external ids, unique fields, account links),
custom fields, bulk jobs, sessions and the API usage counter. Every handler runs under the
app lock (see :mod:`connectors.sandbox.base`), so parallel clients are served one at a time.

Sandbox-specific fault: ``{"kind": "lock_row", "count": N}`` makes the next N matching write
calls fail their records with ``UNABLE_TO_LOCK_ROW`` without writing them. Config switches
(``POST /__sandbox/config``): ``daily_api_limit`` (default 100000), ``duplicate_rule_email``
(default false). ``GET /__sandbox/records/{SObject}`` dumps an object's records for debugging.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import random
import secrets
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from connectors.sandbox import soql
from connectors.sandbox.base import App, Request, Response
from connectors.sandbox.salesforce_schema import (
    DEVELOPER_NAME_RE,
    EMAIL_RE,
    ID_TYPES,
    KEY_PREFIXES,
    NUMBER_TYPES,
    OBJECTS,
    ORG_ID,
    STRING_TYPES,
    USER_ID,
    USER_RECORD,
    FieldDef,
    JsonTypeError,
    MetadataError,
    ValueTypeError,
    check_custom_field_metadata,
    custom_field_def,
    id_type,
    make_id,
    normalize_id,
    now_iso,
    object_named,
)

V = r"/services/data/v(?P<v>\d{1,3}\.\d{1,2})"
MAX_COLLECTION = 200
QUERY_BATCH = 2000
MAX_URL_BYTES = 16_384
BULK_CHUNK = 10_000
MAX_CURSORS = 10
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
ROLLED_BACK = "Record rolled back because not all records were valid and the request was using AllOrNone header"


class ApiError(Exception):
    """A whole-call error: answered as ``status`` with ``body`` (handlers raise it, the app renders it)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def api_error(status: int, code: str, message: str, fields: list[str] | None = None) -> ApiError:
    err: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        err["fields"] = fields
    return ApiError(status, [err])


def rec_error(code: str, message: str, fields: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """One per-record error, rendered later for collections (``statusCode``) or single calls (``errorCode``)."""
    return {"code": code, "message": message, "fields": list(fields), **extra}


def _id_on_insert() -> dict[str, Any]:
    return rec_error("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])


def _for_collection(err: dict[str, Any]) -> dict[str, Any]:
    out = {"statusCode": err["code"], "message": err["message"], "fields": err["fields"]}
    out.update({k: v for k, v in err.items() if k not in ("code", "message", "fields")})
    return out


def _for_single(err: dict[str, Any]) -> dict[str, Any]:
    out = {"message": err["message"], "errorCode": err["code"], "fields": err["fields"]}
    out.update({k: v for k, v in err.items() if k not in ("code", "message", "fields")})
    return out


def index_key(fd: FieldDef, value: Any) -> str | None:
    """How a value is stored in ``record_keys``: lower-cased text, canonical ids, numbers as floats."""
    if value is None:
        return None
    if fd.type in NUMBER_TYPES:
        return repr(float(value))
    if fd.type in ID_TYPES:
        return str(value)
    return str(value).lower()


@dataclass
class Op:
    kind: str  # create | update | upsert | delete | hard_delete
    sobject: str
    values: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    ext_field: FieldDef | None = None
    ext_value: Any = None
    ext_in_values: bool = True
    errors: list[dict[str, Any]] = field(default_factory=list)


class _RolledBack(Exception):
    pass


class _Batch:
    """One write call's view of the store: records and index keys, with staged changes on top."""

    def __init__(self, app: SalesforceApp) -> None:
        self.app = app
        self.db = app.db
        self.records: dict[str, list[Any]] = {}  # id -> [sobject, deleted, data]
        self.missing: set[str] = set()
        self.new: set[str] = set()
        self.dirty: set[str] = set()
        self.hard: set[str] = set()
        self.keys: dict[tuple[str, str, str], set[str]] = {}
        self.snapshot: dict[tuple[str, str, str], frozenset[str]] = {}
        self.key_writes: dict[tuple[str, str], tuple[str, str | None]] = {}  # (id, field) -> (sobject, key)
        self.counters: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        if prefix not in self.counters:
            self.counters[prefix] = self.app._counter(prefix)
        self.counters[prefix] += 1
        return make_id(prefix, self.counters[prefix])

    # -- loading ---------------------------------------------------------------------------
    def prefetch(self, ids: Iterable[str]) -> None:
        wanted = [i for i in set(ids) if i and i not in self.records and i not in self.missing]
        for chunk in _chunks(wanted, 900):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT id, sobject, deleted, data FROM records WHERE id IN ({marks})", chunk):
                self.records[row[0]] = [row[1], bool(row[2]), json.loads(row[3])]
            self.missing.update(i for i in chunk if i not in self.records)

    def get(self, rid: str) -> list[Any] | None:
        if rid not in self.records and rid not in self.missing:
            self.prefetch([rid])
        return self.records.get(rid)

    def prefetch_keys(self, sobject: str, fname: str, keys: Iterable[str]) -> None:
        wanted = [k for k in set(keys) if k is not None and (sobject, fname, k) not in self.keys]
        found: dict[str, set[str]] = {k: set() for k in wanted}
        for chunk in _chunks(wanted, 900):
            marks = ",".join("?" * len(chunk))
            for key, rid in self.db.execute(
                f"SELECT key, id FROM record_keys WHERE sobject = ? AND field = ? AND key IN ({marks})",
                [sobject, fname, *chunk],
            ):
                found[key].add(rid)
        for key, ids in found.items():
            self.keys[(sobject, fname, key)] = set(ids)
            self.snapshot[(sobject, fname, key)] = frozenset(ids)

    def ids_for_key(self, sobject: str, fname: str, key: str) -> set[str]:
        if (sobject, fname, key) not in self.keys:
            self.prefetch_keys(sobject, fname, [key])
        return self.keys[(sobject, fname, key)]

    def snapshot_ids(self, sobject: str, fname: str, key: str) -> frozenset[str]:
        self.ids_for_key(sobject, fname, key)
        return self.snapshot[(sobject, fname, key)]

    # -- staging ---------------------------------------------------------------------------
    def _rekey(self, rid: str, sobject: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for fd in self.app.indexed_fields(sobject):
            before = index_key(fd, old.get(fd.name)) if old else None
            after = index_key(fd, new.get(fd.name)) if new else None
            if before == after:
                continue
            if before is not None:
                self.ids_for_key(sobject, fd.name, before).discard(rid)
            if after is not None:
                self.ids_for_key(sobject, fd.name, after).add(rid)
            self.key_writes[(rid, fd.name)] = (sobject, after)

    def insert(self, rid: str, sobject: str, data: dict[str, Any]) -> None:
        self.records[rid] = [sobject, False, data]
        self.missing.discard(rid)
        self.new.add(rid)
        self.dirty.add(rid)
        self._rekey(rid, sobject, None, data)

    def update(self, rid: str, data: dict[str, Any]) -> None:
        rec = self.records[rid]
        self._rekey(rid, rec[0], rec[2], data)
        rec[2] = data
        self.dirty.add(rid)

    def delete(self, rid: str, hard: bool = False) -> None:
        rec = self.records[rid]
        if not rec[1]:
            self._rekey(rid, rec[0], rec[2], None)
        rec[1] = True
        rec[2] = {**rec[2], "IsDeleted": True}
        self.dirty.add(rid)
        if hard:
            self.hard.add(rid)

    def flush(self) -> None:
        for prefix, n in self.counters.items():
            self.app._set_counter(prefix, n)
        inserts, updates = [], []
        for rid in self.dirty:
            if rid in self.hard:
                continue
            sobject, deleted, data = self.records[rid]
            payload = json.dumps(data, separators=(",", ":"))
            if rid in self.new:
                inserts.append((rid, sobject, int(deleted), payload))
            else:
                updates.append((payload, int(deleted), rid))
        # Insert in id order: ids grow with time, so SOQL's natural order is creation order.
        inserts.sort(key=lambda r: r[0])
        if inserts:
            self.db.executemany("INSERT INTO records (id, sobject, deleted, data) VALUES (?, ?, ?, ?)", inserts)
        if updates:
            self.db.executemany("UPDATE records SET data = ?, deleted = ? WHERE id = ?", updates)
        if self.hard:
            gone = [(rid,) for rid in self.hard if rid not in self.new]
            self.db.executemany("DELETE FROM records WHERE id = ?", gone)
            self.db.executemany("DELETE FROM record_keys WHERE id = ?", gone)
        removals = [(rid, f) for (rid, f) in self.key_writes if rid not in self.new]
        if removals:
            self.db.executemany("DELETE FROM record_keys WHERE id = ? AND field = ?", removals)
        adds = [
            (sobject, f, key, rid)
            for (rid, f), (sobject, key) in self.key_writes.items()
            if key is not None and rid not in self.hard
        ]
        if adds:
            self.db.executemany("INSERT INTO record_keys (sobject, field, key, id) VALUES (?, ?, ?, ?)", adds)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _DataCatalog:
    def __init__(self, app: SalesforceApp) -> None:
        self.app = app

    def object_name(self, name: str) -> str | None:
        if name.lower() == "user":
            return "User"
        obj = object_named(name)
        return obj.name if obj else None

    def object_fields(self, sobject: str) -> dict[str, FieldDef]:
        if sobject == "User":
            return USER_FIELDS
        return self.app.fields(sobject)


USER_FIELDS = {
    f.name.lower(): f
    for f in (
        FieldDef("Id", "User ID", "id", length=18, nillable=False, createable=False, updateable=False),
        FieldDef("Name", "Full Name", "string", length=121, createable=False, updateable=False),
        FieldDef("Username", "Username", "string", length=80),
        FieldDef("Email", "Email", "email", length=128),
        FieldDef("IsActive", "Active", "boolean"),
    )
}

TOOLING_FIELDS = {
    f.name.lower(): f
    for f in (
        FieldDef("Id", "Custom Field Definition ID", "id", length=18, createable=False, updateable=False),
        FieldDef("DeveloperName", "Field Name", "string", length=40),
        FieldDef("TableEnumOrId", "Table Enum or ID", "string", length=40),
        FieldDef("NamespacePrefix", "Namespace Prefix", "string", length=15),
        FieldDef("Description", "Description", "textarea", length=1000, filterable=False, sortable=False),
        FieldDef("Length", "Length", "int", digits=9),
        FieldDef("Precision", "Precision", "int", digits=9),
        FieldDef("Scale", "Scale", "int", digits=9),
        FieldDef("ManageableState", "Manageable State", "picklist", length=40,
                 picklist=("unmanaged", "installed", "released")),
        FieldDef("EntityDefinitionId", "Entity Definition ID", "string", length=18),
        FieldDef("CreatedDate", "Created Date", "datetime", createable=False, updateable=False),
        FieldDef("CreatedById", "Created By ID", "reference", length=18, reference_to=("User",)),
        FieldDef("LastModifiedDate", "Last Modified Date", "datetime", createable=False, updateable=False),
        FieldDef("LastModifiedById", "Last Modified By ID", "reference", length=18, reference_to=("User",)),
        FieldDef("FullName", "Full Name", "string", length=255, filterable=False, sortable=False),
        FieldDef("Metadata", "Metadata", "complexvalue", filterable=False, sortable=False),
    )
}


class _ToolingCatalog:
    def object_name(self, name: str) -> str | None:
        return "CustomField" if name.lower() == "customfield" else None

    def object_fields(self, sobject: str) -> dict[str, FieldDef]:
        return TOOLING_FIELDS


class SalesforceApp(App):
    name = "salesforce"

    def __init__(self, db_path: Path, *, token: str) -> None:
        self.token = token
        self._custom: dict[str, list[FieldDef]] = {name: [] for name in OBJECTS}
        self._fields: dict[str, dict[str, FieldDef]] = {}
        self._indexed: dict[str, list[FieldDef]] = {}
        self._required: dict[str, list[str]] = {}
        self._defaults: dict[str, list[tuple[str, Any]]] = {}
        self._cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._sessions: set[str] = set()
        self._usage: tuple[str, int] = ("", 0)
        self._request_version = "62.0"  # of the call being handled (calls are served one at a time)
        super().__init__(db_path)
        self._load_state()
        self._register()

    # -- state -----------------------------------------------------------------------------
    def default_config(self) -> dict[str, Any]:
        return {"daily_api_limit": 100_000, "duplicate_rule_email": False}

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
        self._rebuild_fields()
        self._sessions = {r[0] for r in self.db.execute("SELECT token FROM sessions")}
        row = self.db.execute("SELECT value FROM meta WHERE key = 'api_usage'").fetchone()
        usage = json.loads(row[0]) if row else {"day": "", "used": 0}
        self._usage = (usage["day"], usage["used"])

    def _rebuild_fields(self) -> None:
        for name, obj in OBJECTS.items():
            ordered = obj.standard_fields + self._custom[name]
            self._fields[name] = {f.name.lower(): f for f in ordered}
            self._indexed[name] = [f for f in ordered if f.indexed]
            self._required[name] = [f.name for f in ordered if f.required]
            self._defaults[name] = [
                (f.name, bool(f.default_value) if f.type == "boolean" else f.picklist_default)
                for f in ordered
                if f.defaulted_on_create and (f.type == "boolean" or f.picklist_default is not None)
            ]

    def fields(self, sobject: str) -> dict[str, FieldDef]:
        return self._fields[sobject]

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

    # -- request plumbing ------------------------------------------------------------------
    def _today(self) -> str:
        return dt.datetime.now(dt.timezone.utc).date().isoformat()

    def api_usage(self) -> int:
        day, used = self._usage
        return used if day == self._today() else 0

    def _count_call(self) -> None:
        used = self.api_usage() + 1
        self._usage = (self._today(), used)
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('api_usage', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps({"day": self._usage[0], "used": used}),),
        )

    def before_request(self, req: Request) -> Response | None:
        if req.path.startswith("/services/oauth2/") or req.path.rstrip("/") == "/services/data":
            return None
        url_bytes = len(req.path) + len(urlencode(req.query, doseq=True)) + 1
        if url_bytes > MAX_URL_BYTES:
            return Response(414, [{"errorCode": "URI_TOO_LONG", "message": "Request-URI Too Large"}])
        version = req.path.split("/")[3] if req.path.startswith("/services/data/v") else ""
        if version[1:].replace(".", "").isdigit():
            self._request_version = version[1:]
        token = req.bearer_token
        if not token or (token != self.token and token not in self._sessions):
            return Response(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        if self.api_usage() >= int(self.config["daily_api_limit"]):
            return Response(403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        self._count_call()
        return None

    def after_request(self, req: Request, resp: Response) -> None:
        if req.path.startswith("/services/data/v") and resp.status != 401:
            resp.headers["Sforce-Limit-Info"] = f"api-usage={self.api_usage()}/{int(self.config['daily_api_limit'])}"

    def error_response(self, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return Response(exc.status, exc.body, dict(exc.headers))
        traceback.print_exception(exc, file=sys.stderr)
        return Response(500, [{
            "errorCode": "UNKNOWN_EXCEPTION",
            "message": f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}",
        }])

    def not_found_body(self, req: Request, status: int) -> Any:
        if status == 405:
            return [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{req.method}' not allowed."}]
        return NOT_FOUND

    def _body(self, req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise api_error(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None

    def _object(self, name: str) -> str:
        obj = object_named(name)
        if obj is None:
            raise ApiError(404, NOT_FOUND)
        return obj.name

    @staticmethod
    def _version(req: Request) -> str:
        return req.params["v"]

    @staticmethod
    def _vnum(req: Request) -> float:
        return float(req.params["v"])

    def _record_url(self, version: str, sobject: str, rid: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{rid}"

    # -- routes ----------------------------------------------------------------------------
    def _register(self) -> None:
        r = self.route
        r("GET", r"/services/data/?", "versions")(self.versions)
        r("POST", r"/services/oauth2/token", "oauth2/token")(self.oauth_token)
        r("GET", V + r"/?", "resources")(self.resources)
        r("GET", V + r"/limits/?", "limits")(self.limits)
        r("GET", V + r"/sobjects/?", "describeGlobal")(self.describe_global)
        r("GET", V + r"/sobjects/(?P<type>\w+)/describe/?", "sobjects/describe")(self.describe)
        r("GET", V + r"/sobjects/(?P<type>\w+)/?", "sobjects/basic")(self.basic_info)
        r("POST", V + r"/sobjects/(?P<type>\w+)/?", "sobjects/create")(self.create_one)
        r("GET", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/get")(self.get_one)
        r("PATCH", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/update")(self.update_one)
        r("DELETE", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/delete")(self.delete_one)
        r("GET", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/getByExtId")(
            self.get_by_external_id
        )
        r("PATCH", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/upsert")(
            self.upsert_one
        )
        r("DELETE", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/deleteByExtId")(
            self.delete_by_external_id
        )
        r("GET", V + r"/(?P<kind>query|queryAll)/?", "query")(self.query)
        r("GET", V + r"/(?P<kind>query|queryAll)/(?P<locator>01g[^/]+)/?", "query/more")(self.query_more)
        r("POST", V + r"/composite/sobjects/?", "composite/sobjects/create")(self.collection_create)
        r("PATCH", V + r"/composite/sobjects/?", "composite/sobjects/update")(self.collection_update)
        r("DELETE", V + r"/composite/sobjects/?", "composite/sobjects/delete")(self.collection_delete)
        r("GET", V + r"/composite/sobjects/(?P<type>\w+)/?", "composite/sobjects/retrieve")(self.collection_retrieve)
        r("POST", V + r"/composite/sobjects/(?P<type>\w+)/?", "composite/sobjects/retrieve")(
            self.collection_retrieve
        )
        r("PATCH", V + r"/composite/sobjects/(?P<type>\w+)/(?P<field>\w+)/?", "composite/sobjects/upsert")(
            self.collection_upsert
        )
        r("POST", V + r"/jobs/ingest/?", "jobs/ingest/create")(self.ingest_create)
        r("GET", V + r"/jobs/ingest/?", "jobs/ingest/list")(self.ingest_list)
        r("GET", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/info")(self.ingest_info)
        r("PATCH", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/state")(self.ingest_state)
        r("DELETE", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/delete")(self.job_delete)
        r("PUT", V + r"/jobs/ingest/(?P<job>750\w+)/batches/?", "jobs/ingest/upload")(self.ingest_upload)
        r(
            "GET",
            V + r"/jobs/ingest/(?P<job>750\w+)/(?P<results>(?i:successfulResults|failedResults|unprocessedRecords))/?",
            "jobs/ingest/results",
        )(self.ingest_results)
        r("POST", V + r"/jobs/query/?", "jobs/query/create")(self.query_job_create)
        r("GET", V + r"/jobs/query/?", "jobs/query/list")(self.query_job_list)
        r("GET", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/info")(self.query_job_info)
        r("PATCH", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/state")(self.query_job_state)
        r("DELETE", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/delete")(self.job_delete)
        r("GET", V + r"/jobs/query/(?P<job>750\w+)/results/?", "jobs/query/results")(self.query_job_results)
        r("GET", V + r"/tooling/sobjects/?", "tooling/sobjects")(self.tooling_sobjects)
        r("POST", V + r"/tooling/sobjects/CustomField/?", "tooling/CustomField/create")(self.custom_field_create)
        r("GET", V + r"/tooling/sobjects/CustomField/(?P<id>\w+)/?", "tooling/CustomField/get")(
            self.custom_field_get
        )
        r("DELETE", V + r"/tooling/sobjects/CustomField/(?P<id>\w+)/?", "tooling/CustomField/delete")(
            self.custom_field_delete
        )
        r("GET", V + r"/tooling/query/?", "tooling/query")(self.tooling_query)
        self.admin_route("GET", r"/records/(?P<type>\w+)/?")(self.admin_records)

    # -- discovery -------------------------------------------------------------------------
    def versions(self, req: Request) -> Response:
        return Response(200, [
            {"label": f"v{v}", "url": f"/services/data/v{v}.0", "version": f"{v}.0"} for v in range(31, 67)
        ])

    def resources(self, req: Request) -> Response:
        base = f"/services/data/v{self._version(req)}"
        return Response(200, {k: f"{base}/{k}" for k in (
            "limits", "query", "queryAll", "sobjects", "composite", "jobs", "tooling",
        )})

    def limits(self, req: Request) -> Response:
        limit = int(self.config["daily_api_limit"])

        def pair(mx: int, remaining: int) -> dict[str, int]:
            return {"Max": mx, "Remaining": remaining}

        jobs = self.db.execute("SELECT count(*) FROM jobs").fetchone()[0]
        return Response(200, {
            "DailyApiRequests": pair(limit, max(limit - self.api_usage(), 0)),
            "DailyBulkApiBatches": pair(15000, 15000 - jobs),
            "DailyBulkV2QueryJobs": pair(10000, 10000),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DataStorageMB": pair(5, 5),
            "FileStorageMB": pair(20, 20),
            "HourlyODataCallout": pair(10000, 10000),
            "SingleEmail": pair(15, 15),
        })

    def describe_global(self, req: Request) -> Response:
        v = self._version(req)
        return Response(200, {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION,
            "sobjects": [OBJECTS[name].global_entry(v) for name in sorted(OBJECTS)],
        })

    def describe(self, req: Request) -> Response:
        name = self._object(req.params["type"])
        fields = list(self._fields[name].values())
        return Response(200, OBJECTS[name].describe(self._version(req), fields))

    def basic_info(self, req: Request) -> Response:
        name = self._object(req.params["type"])
        v = self._version(req)
        recent = self.db.execute(
            "SELECT id FROM records WHERE sobject = ? AND deleted = 0 ORDER BY seq DESC LIMIT 5", (name,)
        ).fetchall()
        return Response(200, {
            "objectDescribe": OBJECTS[name].global_entry(v),
            "recentItems": [
                {"attributes": {"type": name, "url": self._record_url(v, name, r[0])}, "Id": r[0]} for r in recent
            ],
        })

    # -- reading ---------------------------------------------------------------------------
    def _row(self, sobject: str, deleted: int | bool, data: dict[str, Any]) -> dict[str, Any]:
        row = dict(data)
        row["IsDeleted"] = bool(deleted)
        if sobject in ("Lead", "Contact"):
            row["Name"] = " ".join(p for p in (data.get("FirstName"), data.get("LastName")) if p) or None
        return row

    def _rows_by_ids(self, ids: Iterable[str], sobject: str | None, include_deleted: bool) -> list[dict[str, Any]]:
        found: list[tuple[int, dict[str, Any]]] = []
        for chunk in _chunks(sorted(set(ids)), 900):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT seq, sobject, deleted, data FROM records WHERE id IN ({marks})"
            for seq, sobj, deleted, data in self.db.execute(sql, chunk):
                if (sobject and sobj != sobject) or (deleted and not include_deleted):
                    continue
                found.append((seq, self._row(sobj, deleted, json.loads(data))))
        found.sort(key=lambda t: t[0])
        return [r for _, r in found]

    def _candidate_rows(self, sobject: str, query: soql.Query, include_deleted: bool) -> list[dict[str, Any]]:
        filters = soql.equality_filters(query)
        for fd, values in filters:
            if fd.name == "Id":
                return self._rows_by_ids([v for v in values if isinstance(v, str)], sobject, include_deleted)
        if not include_deleted:
            for fd, values in filters:
                if fd.indexed and fd in self._indexed[sobject] and None not in values:
                    keys = sorted({index_key(fd, v) for v in values} - {None})  # type: ignore[type-var]
                    ids: set[str] = set()
                    for chunk in _chunks(keys, 900):
                        marks = ",".join("?" * len(chunk))
                        ids.update(r[0] for r in self.db.execute(
                            f"SELECT id FROM record_keys WHERE sobject = ? AND field = ? AND key IN ({marks})",
                            [sobject, fd.name, *chunk],
                        ))
                    return self._rows_by_ids(ids, sobject, include_deleted)
        sql = "SELECT deleted, data FROM records WHERE sobject = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        cursor = self.db.execute(sql + " ORDER BY seq", (sobject,))
        return [self._row(sobject, d, json.loads(data)) for d, data in cursor]

    def _attach(self, rows: list[dict[str, Any]], chains: list[list[tuple[FieldDef, str]]]) -> None:
        by_first: dict[tuple[str, str], list[list[tuple[FieldDef, str]]]] = {}
        for chain in chains:
            by_first.setdefault((chain[0][0].name, chain[0][1]), []).append(chain[1:])
        for (fname, target), rests in by_first.items():
            ids = {r.get(fname) for r in rows if r.get(fname)}
            if target == "User":
                targets = {USER_ID: dict(USER_RECORD)} if USER_ID in ids else {}
            else:
                targets = {r["Id"]: r for r in self._rows_by_ids(ids, target, False)}  # type: ignore[arg-type]
            for r in rows:
                r.setdefault("__rel__", {})[fname] = targets.get(r.get(fname))  # type: ignore[arg-type]
            deeper = [c for c in rests if c]
            if deeper:
                self._attach(list(targets.values()), deeper)

    def _parse_soql(self, text: str | None, catalog: soql.Catalog) -> tuple[soql.Query, str]:
        try:
            query = soql.parse(text or "")
            sobject = soql.bind(query, catalog)
        except soql.SoqlError as exc:
            raise api_error(400, exc.code, exc.message) from None
        return query, sobject

    def _batch_size(self, req: Request) -> int:
        options = req.headers.get("sforce-query-options", "")
        for part in options.split(","):
            key, _, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(200, min(2000, int(value.strip())))
        return QUERY_BATCH

    def _page(self, req: Request, kind: str, records: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
        size = self._batch_size(req)
        out: dict[str, Any] = {"totalSize": len(records), "done": len(records) <= size}
        if len(records) > size:
            locator = make_id("01g", secrets.randbelow(62**9))
            self._cursors[locator] = {"records": records, "size": size}
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
            out["nextRecordsUrl"] = f"/services/data/v{self._version(req)}/{kind}/{locator}-{size}"
        out.update(extra)
        out["records"] = records[:size]
        return out

    def query(self, req: Request) -> Response:
        query, sobject = self._parse_soql(req.arg("q"), _DataCatalog(self))
        include_deleted = req.params["kind"] == "queryAll"
        if sobject == "User":
            rows = [dict(USER_RECORD)]
        else:
            rows = self._candidate_rows(sobject, query, include_deleted)
        result = soql.run(query, rows, lambda rs: self._attach(rs, soql.relationship_hops(query)))
        v = self._version(req)
        if query.count:
            if query.count_field is None:
                return Response(200, {"totalSize": len(result), "done": True, "records": []})
            bound = query.count_field.bound
            assert bound is not None
            n = len([r for r in result if soql.get_value(r, bound) is not None])
            return Response(200, {
                "totalSize": 1, "done": True,
                "records": [{"attributes": {"type": "AggregateResult"}, "expr0": n}],
            })

        def attributes(obj: str, row: dict[str, Any]) -> dict[str, Any]:
            return {"type": obj, "url": self._record_url(v, obj, row["Id"])}

        records = [soql.project(query, row, attributes, sobject) for row in result]
        return Response(200, self._page(req, req.params["kind"], records, {}))

    def query_more(self, req: Request) -> Response:
        locator, _, offset = req.params["locator"].partition("-")
        cursor = self._cursors.get(locator)
        if cursor is None or not offset.isdigit():
            raise api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = int(offset)
        size = cursor["size"]
        records = cursor["records"]
        page = records[start : start + size]
        done = start + size >= len(records)
        out: dict[str, Any] = {"totalSize": len(records), "done": done}
        if not done:
            kind = req.params["kind"]
            out["nextRecordsUrl"] = f"/services/data/v{self._version(req)}/{kind}/{locator}-{start + size}"
        else:
            self._cursors.pop(locator, None)
        out["records"] = page
        return Response(200, out)

    def _full_record(self, version: str, sobject: str, row: dict[str, Any], only: list[str] | None) -> dict[str, Any]:
        fields = self._fields[sobject]
        names = [fields[n.lower()].name for n in only] if only else [f.name for f in fields.values()]
        out: dict[str, Any] = {"attributes": {"type": sobject, "url": self._record_url(version, sobject, row["Id"])}}
        for name in names:
            out[name] = row.get(name)
        return out

    def _field_list(self, sobject: str, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        fields = self._fields[sobject]
        for n in names:
            if n.lower() not in fields:
                raise api_error(
                    400, "INVALID_FIELD",
                    f"No such column '{n}' on entity '{sobject}'. If you are attempting to use a custom field, be "
                    "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                )
        return names

    def _lookup(self, sobject: str, raw_id: str) -> tuple[str, dict[str, Any]]:
        """A live record by id for single-record calls, or the 404 Salesforce answers."""
        rid = normalize_id(unquote(raw_id))
        if rid is None:
            raise api_error(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw_id}"
            )
        row = self.db.execute("SELECT sobject, deleted, data FROM records WHERE id = ?", (rid,)).fetchone()
        if row is None or row[0] != sobject:
            raise ApiError(404, NOT_FOUND)
        if row[1]:
            raise api_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return rid, self._row(sobject, 0, json.loads(row[2]))

    def get_one(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        only = self._field_list(sobject, req.arg("fields"))
        _, row = self._lookup(sobject, req.params["id"])
        return Response(200, self._full_record(self._version(req), sobject, row, only))

    def _external_field(self, sobject: str, name: str, *, status: int = 404) -> FieldDef:
        fd = self._fields[sobject].get(name.lower())
        if fd is None or not (fd.external_id or fd.id_lookup):
            if status == 404:
                raise api_error(
                    404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}"
                )
            raise api_error(
                400, "INVALID_FIELD",
                f"Field name provided, {name} is not an External ID or indexed field for {sobject}",
            )
        return fd

    def _matching(self, sobject: str, fd: FieldDef, value: Any) -> list[dict[str, Any]]:
        if fd.name == "Id":
            rid = normalize_id(value)
            return self._rows_by_ids([rid], sobject, False) if rid else []
        key = index_key(fd, value)
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM record_keys WHERE sobject = ? AND field = ? AND key = ?", (sobject, fd.name, key)
        )]
        rows = self._rows_by_ids(ids, sobject, False)
        if fd.case_sensitive:
            rows = [r for r in rows if r.get(fd.name) == value]
        return rows

    def _url_value(self, sobject: str, fd: FieldDef, raw: str) -> Any:
        text = unquote(raw)
        if fd.type in NUMBER_TYPES:
            try:
                return fd.from_json(text)
            except JsonTypeError:
                raise ApiError(404, NOT_FOUND) from None
        return text

    def get_by_external_id(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        fd = self._external_field(sobject, req.params["field"])
        rows = self._matching(sobject, fd, self._url_value(sobject, fd, req.params["value"]))
        v = self._version(req)
        if not rows:
            raise ApiError(404, NOT_FOUND)
        if len(rows) > 1:
            raise ApiError(300, [self._record_url(v, sobject, r["Id"]) for r in rows])
        only = self._field_list(sobject, req.arg("fields"))
        return Response(200, self._full_record(v, sobject, rows[0], only))

    # -- writing ---------------------------------------------------------------------------
    def _values(self, sobject: str, record: dict[str, Any]) -> tuple[dict[str, Any], Any, bool]:
        """JSON record -> (values by canonical field name, Id if given, Id given?); 400 for what the parser rejects."""
        if not isinstance(record, dict):
            raise api_error(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
        fields = self._fields[sobject]
        values: dict[str, Any] = {}
        rid, has_id = None, False
        for key, value in record.items():
            if key == "attributes":
                continue
            fd = fields.get(key.lower())
            if fd is None:
                raise api_error(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject}", [])
            if fd.name == "Id":
                rid, has_id = value, True
                continue
            try:
                values[fd.name] = fd.from_json(value)
            except JsonTypeError as exc:
                raise api_error(400, "JSON_PARSER_ERROR", str(exc)) from None
        return values, rid, has_id

    def _lock_error(self, rid: str | None) -> dict[str, Any]:
        detail = f" or 1 records: {rid}" if rid else ""
        return rec_error("UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record{detail}")

    def _mark_duplicate_keys(self, ops: list[Op]) -> None:
        groups: dict[tuple[str, str, Any], list[Op]] = {}
        for op in ops:
            if op.kind == "upsert" and op.ext_field is not None and op.ext_value is not None and not op.errors:
                fd = op.ext_field
                key = op.ext_value if fd.case_sensitive else index_key(fd, op.ext_value)
                groups.setdefault((op.sobject, fd.name, key), []).append(op)
        for (_, fname, _), members in groups.items():
            if len(members) > 1:
                for op in members:
                    op.errors.append(
                        rec_error("DUPLICATE_VALUE", f"Duplicate external id specified: {op.ext_value}", [fname])
                    )

    def _prefetch(self, batch: _Batch, ops: list[Op]) -> None:
        ids: set[str] = set()
        keys: dict[tuple[str, str], set[str]] = {}
        for op in ops:
            if op.errors:
                continue
            if op.id:
                rid = normalize_id(op.id)
                if rid:
                    ids.add(rid)
            if op.kind == "upsert" and op.ext_field is not None and op.ext_field.name != "Id":
                k = index_key(op.ext_field, op.ext_value)
                if k is not None:
                    keys.setdefault((op.sobject, op.ext_field.name), set()).add(k)
            for fd in self._indexed.get(op.sobject, []):
                value = op.values.get(fd.name)
                if value is None:
                    continue
                if fd.type == "reference":
                    rid = normalize_id(value)
                    if rid:
                        ids.add(rid)
                else:
                    k = index_key(fd, value)
                    if k is not None:
                        keys.setdefault((op.sobject, fd.name), set()).add(k)
        for (sobject, fname), wanted in keys.items():
            batch.prefetch_keys(sobject, fname, wanted)
        for found in batch.keys.values():
            ids.update(found)
        batch.prefetch(ids)

    def apply(self, ops: list[Op], *, all_or_none: bool = False, locked: bool = False) -> list[dict[str, Any]]:
        """Run write operations as one call: per-record results in input order."""
        self._mark_duplicate_keys(ops)
        batch = _Batch(self)
        results: list[dict[str, Any]] = []
        try:
            with self.transaction():
                self._prefetch(batch, ops)
                stamp = now_iso()
                results = [self._apply_one(batch, op, locked, stamp) for op in ops]
                if all_or_none and any(not r["success"] for r in results):
                    raise _RolledBack()
                batch.flush()
        except _RolledBack:
            rolled = []
            for op, r in zip(ops, results, strict=True):
                if r["success"]:
                    keep_id = op.kind in ("update", "delete", "hard_delete") or (
                        op.kind == "upsert" and not r["created"]
                    )
                    r = {
                        "id": r["id"] if keep_id else None, "success": False,
                        "errors": [rec_error("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK)],
                        "created": False if op.kind == "upsert" else None,
                    }
                rolled.append(r)
            return rolled
        return results

    def _apply_one(self, b: _Batch, op: Op, locked: bool, stamp: str) -> dict[str, Any]:
        def fail(errors: list[dict[str, Any]], rid: str | None = None) -> dict[str, Any]:
            return {"id": rid, "success": False, "errors": errors, "created": False if op.kind == "upsert" else None}

        known_id = normalize_id(op.id) if op.id else None
        if op.errors:
            return fail(op.errors, known_id)
        if locked:
            return fail([self._lock_error(known_id)], known_id)
        if op.kind in ("delete", "hard_delete"):
            return self._apply_delete(b, op)
        creating = op.kind == "create"
        target: list[Any] | None = None
        rid: str | None = None
        values = op.values
        if op.kind == "update":
            if not op.id:
                return fail([rec_error("MISSING_ARGUMENT", "Id not specified in an update call")])
            rid = normalize_id(op.id)
            if rid is None:
                return fail([rec_error("MALFORMED_ID", f"malformed id {op.id}")])
            if id_type(rid) != op.sobject:
                label = self._fields[op.sobject]["id"].label
                return fail([rec_error("MALFORMED_ID", f"{label}: id value of incorrect type: {op.id}", ["Id"])], rid)
            target = b.get(rid)
            if target is None:
                return fail([rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")], rid)
            if target[1]:
                return fail([rec_error("ENTITY_IS_DELETED", "entity is deleted")], rid)
        elif op.kind == "upsert":
            fd = op.ext_field
            assert fd is not None
            if op.ext_value is None or op.ext_value == "":
                return fail([rec_error("MISSING_ARGUMENT", f"{fd.name} not specified")])
            matches = self._upsert_matches(b, op)
            if len(matches) > 1:
                return fail([rec_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"More than 1 record found for external id field: [{', '.join(sorted(matches))}]",
                    [fd.name],
                )])
            if matches:
                rid = matches[0]
                target = b.get(rid)
            elif fd.name == "Id":
                if normalize_id(op.ext_value) is None:
                    return fail([rec_error("MALFORMED_ID", f"malformed id {op.ext_value}")])
                return fail([rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")])
            else:
                creating = True
                if fd.name != "Id" and not op.ext_in_values:
                    values = {**values, fd.name: op.ext_value}
        errors, data = self._validate(b, op.sobject, values, target[2] if target else None, creating, rid)
        if errors:
            return fail(errors, rid)
        assert data is not None
        if creating:
            rid = b.next_id(KEY_PREFIXES[op.sobject])
            data.update({
                "Id": rid, "CreatedDate": stamp, "CreatedById": USER_ID, "LastModifiedDate": stamp,
                "LastModifiedById": USER_ID, "SystemModstamp": stamp,
            })
            data.setdefault("OwnerId", USER_ID)
            b.insert(rid, op.sobject, data)
        else:
            assert rid is not None
            data.update({"LastModifiedDate": stamp, "LastModifiedById": USER_ID, "SystemModstamp": stamp})
            b.update(rid, data)
        return {"id": rid, "success": True, "errors": [], "created": creating if op.kind == "upsert" else None}

    def _upsert_matches(self, b: _Batch, op: Op) -> list[str]:
        fd = op.ext_field
        assert fd is not None
        if fd.name == "Id":
            rid = normalize_id(op.ext_value)
            rec = b.get(rid) if rid else None
            return [rid] if rid and rec and not rec[1] and rec[0] == op.sobject else []
        key = index_key(fd, op.ext_value)
        assert key is not None
        out = []
        for rid in b.ids_for_key(op.sobject, fd.name, key):
            rec = b.get(rid)
            if rec is None or rec[1]:
                continue
            if fd.case_sensitive and rec[2].get(fd.name) != op.ext_value:
                continue
            out.append(rid)
        return out

    def _apply_delete(self, b: _Batch, op: Op) -> dict[str, Any]:
        rid = normalize_id(op.id)
        if rid is None:
            return {"id": op.id, "success": False, "errors": [rec_error("MALFORMED_ID", f"malformed id {op.id}")]}
        rec = b.get(rid)
        if rec is None or rec[0] not in OBJECTS:
            return {"id": rid, "success": False,
                    "errors": [rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]}
        if rec[1] and op.kind != "hard_delete":
            return {"id": rid, "success": False, "errors": [rec_error("ENTITY_IS_DELETED", "entity is deleted")]}
        b.delete(rid, hard=op.kind == "hard_delete")
        if rec[0] == "Account":  # Salesforce deletes an account's contacts with it
            for child in sorted(b.ids_for_key("Contact", "AccountId", rid)):
                crec = b.get(child)
                if crec is not None and not crec[1]:
                    b.delete(child, hard=op.kind == "hard_delete")
        return {"id": rid, "success": True, "errors": []}

    def _check_value(self, fd: FieldDef, value: Any) -> tuple[dict[str, Any] | None, Any]:
        kind = fd.type
        if kind in STRING_TYPES:
            text = str(value)
            if fd.length and len(text) > fd.length:
                return rec_error(
                    "STRING_TOO_LONG", f"{fd.label}: data value too large: {text} (max length={fd.length})", [fd.name]
                ), None
            if kind == "email" and not EMAIL_RE.match(text):
                return rec_error("INVALID_EMAIL_ADDRESS", f"{fd.label}: invalid email address: {text}", [fd.name]), None
            if kind == "picklist" and fd.restricted_picklist and text not in fd.picklist:
                return rec_error(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fd.label}: bad value for restricted picklist field: {text}", [fd.name],
                ), None
            return None, text
        if kind in NUMBER_TYPES:
            normalized = fd.normalize_number(value)
            if normalized is None:
                return rec_error(
                    "NUMBER_OUTSIDE_VALID_RANGE", f"{fd.label}: value outside of valid range on numeric field: {value}",
                    [fd.name],
                ), None
            return None, normalized
        return None, value

    def _check_reference(self, b: _Batch, fd: FieldDef, value: Any) -> tuple[dict[str, Any] | None, Any]:
        rid = normalize_id(value)
        if rid is None:
            return rec_error("MALFORMED_ID", f"{fd.label}: id value of incorrect type: {value}", [fd.name]), None
        target = fd.reference_to[0]
        if id_type(rid) != target:
            return rec_error(
                "FIELD_INTEGRITY_EXCEPTION", f"{fd.label}: id value of incorrect type: {value}", [fd.name]
            ), None
        if target == "User":
            if rid != USER_ID:
                return rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), None
            return None, rid
        rec = b.get(rid)
        if rec is None:
            return rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), None
        if rec[1]:
            return rec_error("ENTITY_IS_DELETED", "entity is deleted"), None
        return None, rid

    def _validate(
        self, b: _Batch, sobject: str, values: dict[str, Any], old: dict[str, Any] | None, creating: bool,
        self_id: str | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        fields = self._fields[sobject]
        errors: list[dict[str, Any]] = []
        no_access: list[str] = []
        clean: dict[str, Any] = {}
        for name, value in values.items():
            fd = fields[name.lower()]
            if not (fd.createable if creating else fd.updateable):
                no_access.append(fd.name)
                continue
            if value == "" and (fd.type in STRING_TYPES or fd.type in ID_TYPES):
                value = None
            if value is None and fd.type == "boolean":
                value = fd.default_value if fd.default_value is not None else False
            if value is not None:
                err, value = self._check_value(fd, value)
                if err:
                    errors.append(err)
                    continue
            clean[fd.name] = value
        if no_access:
            errors.insert(0, rec_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(no_access)}. Please check the security settings of this "
                "field and verify that it is read/write for your user or administrator.",
                no_access,
            ))
        if errors:
            return errors, None
        data = dict(old) if old else {}
        for name, value in clean.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if creating:
            for name, default in self._defaults[sobject]:
                if name not in data:
                    data[name] = default
        missing = [name for name in self._required[sobject] if data.get(name) is None]
        if not creating:
            missing += [
                name for name, value in clean.items()
                if value is None and name not in missing and not fields[name.lower()].nillable
            ]
        if missing:
            return [rec_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                              missing)], None
        for name, value in clean.items():
            fd = fields[name.lower()]
            if fd.type == "reference" and value is not None:
                err, norm = self._check_reference(b, fd, value)
                if err:
                    return [err], None
                data[name] = norm
        for name, value in clean.items():
            fd = fields[name.lower()]
            if not fd.unique or value is None:
                continue
            key = index_key(fd, value)
            assert key is not None
            for other in sorted(b.ids_for_key(sobject, fd.name, key) - {self_id}):
                rec = b.get(other)
                if rec is None or rec[1] or (fd.case_sensitive and rec[2].get(fd.name) != value):
                    continue
                return [rec_error(
                    "DUPLICATE_VALUE", f"duplicate value found: {fd.name} duplicates value on record with id: {other}"
                )], None
        if self.config.get("duplicate_rule_email") and "email" in fields and data.get("Email") and (
            creating or "Email" in clean
        ):
            key = str(data["Email"]).lower()
            dupes = []
            for other in sorted(b.snapshot_ids(sobject, "Email", key) - {self_id or ""}):
                rec = b.get(other)
                if rec is not None and not rec[1] and str(rec[2].get("Email") or "").lower() == key:
                    dupes.append(other)
            if dupes:
                return [self._duplicates_error(sobject, dupes)], None
        return [], data

    def _duplicates_error(self, sobject: str, ids: list[str]) -> dict[str, Any]:
        v = self._request_version
        return rec_error(
            "DUPLICATES_DETECTED", "Use one of these records?", [],
            duplicateResult={
                "allowSave": False,
                "duplicateRule": f"Standard_{sobject}_Duplicate_Rule",
                "duplicateRuleEntityType": sobject,
                "errorMessage": "Use one of these records?",
                "matchResults": [{
                    "entityType": sobject,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": [{
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {"type": sobject, "url": self._record_url(v, sobject, rid)}, "Id": rid,
                        },
                    } for rid in ids],
                    "rule": f"Standard_{sobject}_Match_Rule_v1_0",
                    "size": len(ids),
                    "success": True,
                }],
            },
        )

    def _write_fault(self, req: Request) -> bool:
        return self.take_fault("lock_row", req) is not None

    # -- single-record writes --------------------------------------------------------------
    def _single_failure(self, result: dict[str, Any]) -> ApiError:
        status = 404 if any(e["code"] == "ENTITY_IS_DELETED" for e in result["errors"]) else 400
        return ApiError(status, [_for_single(e) for e in result["errors"]])

    def create_one(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        values, _, has_id = self._values(sobject, self._body(req) or {})
        op = Op("create", sobject, values)
        if has_id:
            op.errors.append(_id_on_insert())
        result = self.apply([op], locked=self._write_fault(req))[0]
        if not result["success"]:
            raise self._single_failure(result)
        return Response(201, {"id": result["id"], "success": True, "errors": []})

    def update_one(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        rid = normalize_id(unquote(req.params["id"]))
        if rid is None:
            raise api_error(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {req.params['id']}"
            )
        row = self.db.execute("SELECT sobject, deleted FROM records WHERE id = ?", (rid,)).fetchone()
        if row is None or row[0] != sobject:
            raise ApiError(404, NOT_FOUND)
        if row[1]:
            raise api_error(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        values, body_id, has_id = self._values(sobject, self._body(req) or {})
        op = Op("update", sobject, values, id=rid)
        if has_id and normalize_id(body_id) != rid:
            raise api_error(400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.", [])
        result = self.apply([op], locked=self._write_fault(req))[0]
        if not result["success"]:
            raise self._single_failure(result)
        return Response(204)

    def delete_one(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        rid = normalize_id(unquote(req.params["id"]))
        if rid is None:
            raise api_error(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                              f"{req.params['id']}")
        row = self.db.execute("SELECT sobject FROM records WHERE id = ?", (rid,)).fetchone()
        if row is None or row[0] != sobject:
            raise ApiError(404, NOT_FOUND)
        result = self.apply([Op("delete", sobject, id=rid)], locked=self._write_fault(req))[0]
        if not result["success"]:
            raise self._single_failure(result)
        return Response(204)

    def upsert_one(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        fd = self._external_field(sobject, req.params["field"])
        value = self._url_value(sobject, fd, req.params["value"])
        values, _, has_id = self._values(sobject, self._body(req) or {})
        if has_id:
            raise api_error(400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.", [])
        if fd.name in values and index_key(fd, values[fd.name]) != index_key(fd, value):
            raise api_error(
                400, "INVALID_FIELD",
                f"The value of the external ID field {fd.name} in the request body does not match the URL", [],
            )
        op = Op("upsert", sobject, values, ext_field=fd, ext_value=value, ext_in_values=fd.name in values)
        if fd.name != "Id":
            live = self._matching(sobject, fd, value)
            if len(live) > 1:
                v = self._version(req)
                raise ApiError(300, [self._record_url(v, sobject, r["Id"]) for r in live])
        result = self.apply([op], locked=self._write_fault(req))[0]
        if not result["success"]:
            raise self._single_failure(result)
        body = {"id": result["id"], "success": True, "errors": [], "created": result["created"]}
        if result["created"]:
            return Response(201, body)
        return Response(200, body) if self._vnum(req) >= 46 else Response(204)

    def delete_by_external_id(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        fd = self._external_field(sobject, req.params["field"])
        rows = self._matching(sobject, fd, self._url_value(sobject, fd, req.params["value"]))
        if not rows:
            raise ApiError(404, NOT_FOUND)
        if len(rows) > 1:
            v = self._version(req)
            raise ApiError(300, [self._record_url(v, sobject, r["Id"]) for r in rows])
        result = self.apply([Op("delete", sobject, id=rows[0]["Id"])], locked=self._write_fault(req))[0]
        if not result["success"]:
            raise self._single_failure(result)
        return Response(204)

    # -- sObject Collections ---------------------------------------------------------------
    def _collection_body(self, req: Request, minimum: float) -> tuple[list[Any], bool]:
        if self._vnum(req) < minimum:
            raise ApiError(404, NOT_FOUND)
        body = self._body(req)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise api_error(400, "JSON_PARSER_ERROR", "The request body must be an object with a 'records' list")
        records = body["records"]
        if len(records) > MAX_COLLECTION:
            raise api_error(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call", []
            )
        return records, bool(body.get("allOrNone") or False)

    def _record_type(self, record: Any, expected: str | None = None) -> str:
        attrs = record.get("attributes") if isinstance(record, dict) else None
        kind = attrs.get("type") if isinstance(attrs, dict) else None
        if not kind:
            if expected:
                return expected
            raise api_error(400, "INVALID_TYPE", "No SObject Type defined in JSON", [])
        obj = object_named(str(kind))
        if obj is None:
            raise api_error(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.", [])
        if expected and obj.name != expected:
            raise api_error(400, "INVALID_TYPE", f"Record type {obj.name} does not match the type {expected} of the "
                                                 "request URI", [])
        return obj.name

    def _render(self, results: list[dict[str, Any]], upsert: bool = False) -> list[dict[str, Any]]:
        out = []
        for r in results:
            item: dict[str, Any] = {}
            if r.get("id") is not None:
                item["id"] = r["id"]
            item["success"] = r["success"]
            item["errors"] = [_for_collection(e) for e in r["errors"]]
            if upsert:
                item["created"] = bool(r.get("created"))
            out.append(item)
        return out

    def collection_create(self, req: Request) -> Response:
        records, all_or_none = self._collection_body(req, 42)
        ops = []
        for record in records:
            sobject = self._record_type(record)
            values, _, has_id = self._values(sobject, record)
            op = Op("create", sobject, values)
            if has_id:
                op.errors.append(_id_on_insert())
            ops.append(op)
        results = self.apply(ops, all_or_none=all_or_none, locked=self._write_fault(req))
        return Response(200, self._render(results))

    def collection_update(self, req: Request) -> Response:
        records, all_or_none = self._collection_body(req, 42)
        ops = []
        for record in records:
            sobject = self._record_type(record)
            values, rid, _ = self._values(sobject, record)
            ops.append(Op("update", sobject, values, id=str(rid) if rid else None))
        results = self.apply(ops, all_or_none=all_or_none, locked=self._write_fault(req))
        return Response(200, self._render(results))

    def collection_upsert(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        records, all_or_none = self._collection_body(req, 46)
        fd = self._external_field(sobject, req.params["field"], status=400)
        if fd.name == "Id":
            raise api_error(400, "INVALID_FIELD", "sObject Collections upsert supports external ID fields only", [])
        ops = []
        for record in records:
            self._record_type(record, sobject)
            values, rid, has_id = self._values(sobject, record)
            op = Op("upsert", sobject, values, ext_field=fd, ext_value=values.get(fd.name))
            if has_id and rid:
                op.errors.append(
                    rec_error("INVALID_FIELD", "Upsert with sObject Collections doesn't accept record ids")
                )
            ops.append(op)
        results = self.apply(ops, all_or_none=all_or_none, locked=self._write_fault(req))
        return Response(200, self._render(results, upsert=True))

    def collection_delete(self, req: Request) -> Response:
        if self._vnum(req) < 42:
            raise ApiError(404, NOT_FOUND)
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            raise api_error(400, "MISSING_ARGUMENT", "The 'ids' parameter is required")
        if len(ids) > MAX_COLLECTION:
            raise api_error(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call", []
            )
        all_or_none = (req.arg("allOrNone") or "false").lower() == "true"
        ops = [Op("delete", "", id=i) for i in ids]
        results = self.apply(ops, all_or_none=all_or_none, locked=self._write_fault(req))
        return Response(200, self._render(results))

    def collection_retrieve(self, req: Request) -> Response:
        sobject = self._object(req.params["type"])
        if req.method == "POST":
            body = self._body(req) or {}
            ids = [str(i) for i in body.get("ids") or []]
            names = [str(f) for f in body.get("fields") or []]
        else:
            ids = [i for i in (req.arg("ids") or "").split(",") if i]
            names = [f for f in (req.arg("fields") or "").split(",") if f]
        if not ids or not names:
            raise api_error(400, "MISSING_ARGUMENT", "Both ids and fields are required")
        if len(ids) > 2000:
            raise api_error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 2000 ids", [])
        only = self._field_list(sobject, ",".join(names))
        canon = [normalize_id(i) for i in ids]
        rows = {r["Id"]: r for r in self._rows_by_ids([c for c in canon if c], sobject, False)}
        v = self._version(req)
        return Response(200, [
            self._full_record(v, sobject, rows[c], only) if c in rows else None for c in canon
        ])

    # -- Bulk API 2.0 ----------------------------------------------------------------------
    def _job(self, job_id: str, kind: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT info, upload, successful, failed, unprocessed, results FROM jobs WHERE id = ? AND kind = ?",
            (job_id, kind),
        ).fetchone()
        if row is None:
            raise api_error(404, "NOT_FOUND", "The requested resource does not exist")
        return {
            "info": json.loads(row[0]), "upload": row[1], "successful": row[2], "failed": row[3],
            "unprocessed": row[4], "results": row[5],
        }

    def _save_job(self, job_id: str, info: dict[str, Any], **cols: Any) -> None:
        info["systemModstamp"] = now_iso()
        sets = ["info = ?"] + [f"{k} = ?" for k in cols]
        self.db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [json.dumps(info), *cols.values(), job_id])

    def _new_job(self, kind: str, info: dict[str, Any]) -> dict[str, Any]:
        with self.transaction():
            job_id = self._next_ids("750", 1)[0]
            seq = self.db.execute("SELECT coalesce(max(seq), 0) + 1 FROM jobs").fetchone()[0]
            stamp = now_iso()
            info = {"id": job_id, **info, "createdById": USER_ID, "createdDate": stamp, "systemModstamp": stamp}
            self.db.execute(
                "INSERT INTO jobs (id, seq, kind, info) VALUES (?, ?, ?, ?)", (job_id, seq, kind, json.dumps(info))
            )
        return info

    @staticmethod
    def _job_view(info: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: info.get(k) for k in keys if k in info}

    INGEST_CREATE_KEYS = (
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "externalIdFieldName",
        "concurrencyMode", "contentType", "apiVersion", "contentUrl", "lineEnding", "columnDelimiter",
    )
    INGEST_INFO_KEYS = INGEST_CREATE_KEYS + (
        "jobType", "retries", "numberRecordsProcessed", "numberRecordsFailed", "totalProcessingTime",
        "apiActiveProcessingTime", "apexProcessingTime", "errorMessage",
    )

    def ingest_create(self, req: Request) -> Response:
        body = self._body(req)
        if not isinstance(body, dict):
            raise api_error(400, "INVALIDJOB", "The request body must be a JSON object")
        obj = object_named(str(body.get("object") or ""))
        if obj is None:
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}")
        operation = body.get("operation")
        if operation not in ("insert", "update", "upsert", "delete", "hardDelete"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        if (body.get("contentType") or "CSV") != "CSV":
            raise api_error(400, "INVALIDJOB", "InvalidJob : Unsupported content type; only CSV is supported")
        delimiters = {"COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE"}
        if (body.get("columnDelimiter") or "COMMA") not in delimiters:
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid column delimiter: {body.get('columnDelimiter')}")
        if (body.get("lineEnding") or "LF") not in ("LF", "CRLF"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {body.get('lineEnding')}")
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            if not ext:
                raise api_error(
                    400, "INVALIDJOB",
                    f"InvalidJob : External ID was blank for {obj.name}. An External ID must be specified for upsert.",
                )
            fd = self._fields[obj.name].get(str(ext).lower())
            if fd is None or not (fd.external_id or fd.id_lookup):
                raise api_error(
                    400, "INVALIDJOB",
                    f"InvalidJob : Field name provided, {ext} is not an External ID or indexed field for {obj.name}",
                )
            ext = fd.name
        v = self._version(req)
        info = self._new_job("ingest", {
            "operation": operation, "object": obj.name, "state": "Open",
            "externalIdFieldName": ext if operation == "upsert" else None,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(v),
            "contentUrl": "", "lineEnding": body.get("lineEnding") or "LF",
            "columnDelimiter": body.get("columnDelimiter") or "COMMA", "jobType": "V2Ingest", "retries": 0,
            "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
        })
        info["contentUrl"] = f"services/data/v{v}/jobs/ingest/{info['id']}/batches"
        self._save_job(info["id"], info)
        return Response(200, self._job_view(info, self.INGEST_CREATE_KEYS))

    def ingest_list(self, req: Request) -> Response:
        rows = self.db.execute("SELECT info FROM jobs WHERE kind = 'ingest' ORDER BY seq").fetchall()
        keys = ("id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
                "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter")
        return Response(200, {
            "done": True, "records": [self._job_view(json.loads(r[0]), keys) for r in rows], "nextRecordsUrl": None,
        })

    def ingest_info(self, req: Request) -> Response:
        info = self._job(req.params["job"], "ingest")["info"]
        return Response(200, self._job_view(info, self.INGEST_INFO_KEYS))

    def ingest_upload(self, req: Request) -> Response:
        job_id = req.params["job"]
        job = self._job(job_id, "ingest")
        info = job["info"]
        if info["state"] != "Open":
            raise api_error(409, "INVALIDJOBSTATE", f"Job state {info['state']} does not allow uploads")
        if job["upload"] is not None:
            raise api_error(
                400, "BULK_API_ERROR",
                f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / 'Delete' the current Job "
                "then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        if len(req.body) > 150 * 1024 * 1024:
            raise api_error(400, "BULK_API_ERROR", "The uploaded data exceeds 150 MB")
        self._save_job(job_id, info, upload=req.body)
        return Response(201)

    def ingest_state(self, req: Request) -> Response:
        job_id = req.params["job"]
        job = self._job(job_id, "ingest")
        info = job["info"]
        body = self._body(req) or {}
        state = body.get("state") if isinstance(body, dict) else None
        current = info["state"]
        if state == "UploadComplete" and current == "Open":
            info["state"] = "UploadComplete"
            reply = self._job_view(info, self.INGEST_CREATE_KEYS)
            self._process_ingest(job_id, info, job["upload"] or b"", locked=self._write_fault(req))
            return Response(200, reply)
        if state == "Aborted" and current in ("Open", "UploadComplete", "InProgress"):
            info["state"] = "Aborted"
            header, rows = self._split_csv(info, job["upload"] or b"")
            self._save_job(job_id, info, unprocessed=self._csv_text([header, *rows]) if header else "")
            return Response(200, self._job_view(info, self.INGEST_CREATE_KEYS))
        raise api_error(400, "INVALIDJOBSTATE", f"Invalid job state transition from {current} to {state}")

    def job_delete(self, req: Request) -> Response:
        kind = "ingest" if "/jobs/ingest/" in req.path else "query"
        info = self._job(req.params["job"], kind)["info"]
        if info["state"] in ("Open", "InProgress"):
            raise api_error(400, "INVALIDJOBSTATE", f"A job in state {info['state']} can't be deleted")
        self.db.execute("DELETE FROM jobs WHERE id = ?", (req.params["job"],))
        return Response(204)

    @staticmethod
    def _dialect(info: dict[str, Any]) -> tuple[str, str]:
        delimiter = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
        return delimiter[info.get("columnDelimiter") or "COMMA"], "\r\n" if info.get("lineEnding") == "CRLF" else "\n"

    def _split_csv(self, info: dict[str, Any], data: bytes) -> tuple[list[str], list[list[str]]]:
        delimiter, _ = self._dialect(info)
        text = data.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [row for row in reader if row]
        if not rows:
            return [], []
        return rows[0], rows[1:]

    def _csv_text(self, rows: Iterable[list[Any]], delimiter: str = ",", line_end: str = "\n") -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_ALL)
        writer.writerows(rows)
        return buf.getvalue()

    def _process_ingest(self, job_id: str, info: dict[str, Any], data: bytes, *, locked: bool) -> None:
        started = time.monotonic()
        header, rows = self._split_csv(info, data)
        sobject, operation = info["object"], info["operation"]
        fields = self._fields[sobject]
        failure = None
        columns: list[FieldDef | None] = []
        for name in header:
            fd = fields.get(name.strip().lower())
            if fd is None:
                failure = f"InvalidBatch : Field name not found : {name}"
                break
            columns.append(fd)
        if not header and rows == []:
            failure = None
        elif failure is None and operation in ("delete", "hardDelete", "update") and "Id" not in [
            c.name for c in columns if c
        ]:
            failure = "InvalidBatch : Field name not found : Id"
        elif failure is None and operation == "upsert" and info["externalIdFieldName"] not in [
            c.name for c in columns if c
        ]:
            failure = f"InvalidBatch : Field name not found : {info['externalIdFieldName']}"
        if failure:
            info.update({"state": "Failed", "errorMessage": failure})
            self._save_job(job_id, info, unprocessed=self._csv_text([header, *rows]))
            return
        ext_name = info.get("externalIdFieldName")
        ops: list[Op] = []
        for row in rows:
            ops.append(self._bulk_op(sobject, operation, columns, row, ext_name))
        results: list[dict[str, Any]] = []
        for start in range(0, len(ops), BULK_CHUNK):
            results.extend(self.apply(ops[start : start + BULK_CHUNK], locked=locked))
        successful = [["sf__Id", "sf__Created", *header]]
        failed = [["sf__Id", "sf__Error", *header]]
        order = list(range(len(rows)))
        random.Random(job_id).shuffle(order)  # Salesforce does not keep input order in its results
        n_failed = 0
        for i in order:
            r, row = results[i], rows[i]
            if r["success"]:
                created = r.get("created") if operation == "upsert" else operation == "insert"
                successful.append([r["id"], "true" if created else "false", *row])
            else:
                n_failed += 1
                err = r["errors"][0]
                failed.append([
                    r.get("id") or "", f"{err['code']}:{err['message']}:{','.join(err['fields'])} --", *row
                ])
        elapsed = int((time.monotonic() - started) * 1000)
        info.update({
            "state": "JobComplete", "numberRecordsProcessed": len(rows), "numberRecordsFailed": n_failed,
            "totalProcessingTime": elapsed, "apiActiveProcessingTime": elapsed,
        })
        self._save_job(
            job_id, info, successful=self._csv_text(successful), failed=self._csv_text(failed),
            unprocessed=self._csv_text([header]),
        )

    def _bulk_op(
        self, sobject: str, operation: str, columns: list[FieldDef | None], row: list[str], ext_name: str | None
    ) -> Op:
        values: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        rid = None
        for fd, cell in zip(columns, row, strict=False):
            assert fd is not None
            if fd.name == "Id":
                rid = cell.strip() or None
                continue
            if cell == "":
                continue  # empty leaves the field unchanged (and unset on insert)
            if cell == "#N/A":
                values[fd.name] = None
                continue
            try:
                values[fd.name] = fd.from_csv(cell)
            except ValueTypeError as exc:
                errors.append(rec_error("INVALID_TYPE_ON_FIELD_IN_RECORD", str(exc), [fd.name]))
        if len(row) > len(columns):
            errors.append(rec_error("TOO_MANY_COLUMNS", "The row has more values than the header has columns"))
        if operation == "insert":
            op = Op("create", sobject, values)
            if rid:
                errors.append(_id_on_insert())
        elif operation == "update":
            op = Op("update", sobject, values, id=rid)
        elif operation in ("delete", "hardDelete"):
            op = Op("hard_delete" if operation == "hardDelete" else "delete", sobject, id=rid)
            if not rid:
                errors.append(rec_error("MISSING_ARGUMENT", "Id not specified in a delete call"))
        else:
            fd = self._fields[sobject][str(ext_name).lower()]
            if fd.name == "Id":
                op = Op("upsert", sobject, values, id=rid, ext_field=fd, ext_value=rid)
                if not rid:
                    op = Op("create", sobject, values)
                    op.kind = "create"
            else:
                op = Op("upsert", sobject, values, ext_field=fd, ext_value=values.get(fd.name))
        op.errors.extend(errors)
        return op

    def ingest_results(self, req: Request) -> Response:
        job = self._job(req.params["job"], "ingest")
        kind = req.params["results"].lower()
        column = {"successfulresults": "successful", "failedresults": "failed", "unprocessedrecords": "unprocessed"}
        text = job[column[kind]]
        if text is None:
            header, _ = self._split_csv(job["info"], job["upload"] or b"")
            prefix = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}
            text = self._csv_text([[*prefix[column[kind]], *header]]) if header or kind != "unprocessedrecords" else ""
        return Response(200, text, content_type="text/csv")

    QUERY_JOB_KEYS = (
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
        "contentType", "apiVersion", "lineEnding", "columnDelimiter",
    )

    def query_job_create(self, req: Request) -> Response:
        body = self._body(req)
        if not isinstance(body, dict):
            raise api_error(400, "INVALIDJOB", "The request body must be a JSON object")
        operation = body.get("operation") or "query"
        if operation not in ("query", "queryAll"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        query, sobject = self._parse_soql(body.get("query"), _DataCatalog(self))
        if query.count:
            raise api_error(400, "INVALIDJOB", "InvalidJob : Aggregate queries are not supported by Bulk API 2.0")
        if sobject == "User":
            rows = [dict(USER_RECORD)]
        else:
            rows = self._candidate_rows(sobject, query, operation == "queryAll")
        result = soql.run(query, rows, lambda rs: self._attach(rs, soql.relationship_hops(query)))
        header = [".".join(ref.bound.names) for ref in query.fields]  # type: ignore[union-attr]
        info_base = {
            "operation": operation, "object": sobject, "state": "UploadComplete", "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(self._version(req)),
            "lineEnding": body.get("lineEnding") or "LF", "columnDelimiter": body.get("columnDelimiter") or "COMMA",
        }
        info = self._new_job("query", info_base)
        delimiter, line_end = self._dialect(info)
        lines = []
        for row in result:
            cells = [ref.bound.field.to_csv(soql.get_value(row, ref.bound)) for ref in query.fields]  # type: ignore
            lines.append(self._csv_text([cells], delimiter, line_end))
        reply = self._job_view(info, self.QUERY_JOB_KEYS)
        info.update({
            "state": "JobComplete", "jobType": "V2Query", "numberRecordsProcessed": len(lines), "retries": 0,
            "totalProcessingTime": 0,
        })
        self._save_job(info["id"], info, results=json.dumps(
            {"header": self._csv_text([header], delimiter, line_end), "lines": lines}
        ))
        return Response(200, reply)

    def query_job_list(self, req: Request) -> Response:
        rows = self.db.execute("SELECT info FROM jobs WHERE kind = 'query' ORDER BY seq").fetchall()
        return Response(200, {
            "done": True, "records": [self._job_view(json.loads(r[0]), self.QUERY_JOB_KEYS) for r in rows],
            "nextRecordsUrl": None,
        })

    def query_job_info(self, req: Request) -> Response:
        info = self._job(req.params["job"], "query")["info"]
        return Response(200, self._job_view(info, self.QUERY_JOB_KEYS + (
            "jobType", "numberRecordsProcessed", "retries", "totalProcessingTime", "errorMessage",
        )))

    def query_job_state(self, req: Request) -> Response:
        job = self._job(req.params["job"], "query")
        info = job["info"]
        body = self._body(req) or {}
        if body.get("state") != "Aborted" or info["state"] not in ("UploadComplete", "InProgress"):
            raise api_error(400, "INVALIDJOBSTATE", f"Invalid job state transition from {info['state']}")
        info["state"] = "Aborted"
        self._save_job(info["id"], info)
        return Response(200, self._job_view(info, self.QUERY_JOB_KEYS))

    def query_job_results(self, req: Request) -> Response:
        job = self._job(req.params["job"], "query")
        if job["info"]["state"] != "JobComplete":
            raise api_error(400, "INVALIDJOBSTATE", f"Job is in state {job['info']['state']}, results not available")
        stored = json.loads(job["results"])
        lines = stored["lines"]
        try:
            start = int(base64.urlsafe_b64decode((req.arg("locator") or "MA==").encode()).decode() or 0)
            size = int(req.arg("maxRecords") or len(lines) or 1)
        except ValueError:
            raise api_error(400, "INVALIDLOCATOR", "Invalid locator") from None
        page = lines[start : start + max(size, 1)]
        end = start + len(page)
        locator = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(lines) else "null"
        return Response(
            200, stored["header"] + "".join(page), content_type="text/csv",
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(page))},
        )

    # -- Tooling API -----------------------------------------------------------------------
    def tooling_sobjects(self, req: Request) -> Response:
        v = self._version(req)
        return Response(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [{
            "name": "CustomField", "label": "Custom Field Definition", "keyPrefix": "00N", "createable": True,
            "deletable": True, "queryable": True, "updateable": False, "custom": False,
            "urls": {"sobject": f"/services/data/v{v}/tooling/sobjects/CustomField"},
        }]})

    def _custom_field_rows(self) -> list[dict[str, Any]]:
        rows = []
        for rid, sobject, dev, meta, created, modified in self.db.execute(
            "SELECT id, sobject, developer_name, metadata, created, modified FROM custom_fields ORDER BY created"
        ):
            m = json.loads(meta)
            rows.append({
                "Id": rid, "DeveloperName": dev, "TableEnumOrId": sobject, "NamespacePrefix": None,
                "Description": m.get("description"), "Length": m.get("length"), "Precision": m.get("precision"),
                "Scale": m.get("scale"), "ManageableState": "unmanaged", "EntityDefinitionId": sobject,
                "CreatedDate": created, "CreatedById": USER_ID, "LastModifiedDate": modified,
                "LastModifiedById": USER_ID, "FullName": f"{sobject}.{dev}__c", "Metadata": self._metadata_out(m),
            })
        return rows

    @staticmethod
    def _metadata_out(meta: dict[str, Any]) -> dict[str, Any]:
        keys = ("label", "type", "length", "precision", "scale", "visibleLines", "externalId", "unique",
                "caseSensitive", "required", "defaultValue", "description", "inlineHelpText")
        out = {k: meta.get(k) for k in keys}
        out.update({"trackHistory": False, "trackTrending": False, "fieldManageability": None, "formula": None})
        return out

    def tooling_query(self, req: Request) -> Response:
        query, _ = self._parse_soql(req.arg("q"), _ToolingCatalog())
        result = soql.run(query, self._custom_field_rows())
        selected = {ref.bound.field.name for ref in query.fields}  # type: ignore[union-attr]
        if selected & {"FullName", "Metadata"} and len(result) > 1:
            raise api_error(
                400, "MALFORMED_QUERY",
                "When retrieving results with Metadata or FullName fields, the query qualifications must specify no "
                f"more than one row for retrieval. Result size: {len(result)}",
            )
        v = self._version(req)
        if query.count:
            return Response(200, {"size": len(result), "totalSize": len(result), "done": True, "queryLocator": None,
                                  "entityTypeName": "CustomField", "records": []})

        def attributes(obj: str, row: dict[str, Any]) -> dict[str, Any]:
            return {"type": obj, "url": f"/services/data/v{v}/tooling/sobjects/{obj}/{row['Id']}"}

        records = [soql.project(query, row, attributes, "CustomField") for row in result]
        return Response(200, {
            "size": len(records), "totalSize": len(records), "done": True, "queryLocator": None,
            "entityTypeName": "CustomField", "records": records,
        })

    def custom_field_create(self, req: Request) -> Response:
        body = self._body(req)
        if not isinstance(body, dict):
            raise api_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        full_name = body.get("FullName")
        meta = body.get("Metadata")
        if not isinstance(full_name, str) or not full_name:
            raise api_error(400, "REQUIRED_FIELD_MISSING", "Required field is missing: FullName", ["FullName"])
        if not isinstance(meta, dict):
            raise api_error(400, "REQUIRED_FIELD_MISSING", "Required field is missing: Metadata", ["Metadata"])
        table, dot, name = full_name.partition(".")
        obj = object_named(table) if dot else None
        if obj is None:
            raise api_error(
                400, "FIELD_INTEGRITY_EXCEPTION",
                f"FullName must be 'Object.Field__c' on an emulated object (Lead, Contact, Account): {full_name}", [],
            )
        if not name.endswith("__c"):
            raise api_error(400, "FIELD_INTEGRITY_EXCEPTION", f"Custom field names must end with '__c': {name}", [])
        developer = name[:-3]
        if not DEVELOPER_NAME_RE.match(developer) or len(developer) > 40:
            raise api_error(
                400, "FIELD_INTEGRITY_EXCEPTION",
                "The Field Name can only contain underscores and alphanumeric characters, must be at most 40 "
                "characters, begin with a letter, not end with an underscore, and not contain two consecutive "
                f"underscores: {developer}", [],
            )
        if f"{developer.lower()}__c" in self._fields[obj.name]:
            raise api_error(
                400, "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {developer} on {obj.name}.", [],
            )
        try:
            clean = check_custom_field_metadata(meta)
        except MetadataError as exc:
            raise api_error(400, exc.code, exc.message, []) from None
        stamp = now_iso()
        with self.transaction():
            field_id = self._next_ids("00N", 1)[0]
            self.db.execute(
                "INSERT INTO custom_fields (id, sobject, developer_name, metadata, created, modified) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (field_id, obj.name, developer, json.dumps(clean), stamp, stamp),
            )
        self._custom[obj.name].append(custom_field_def(field_id, f"{developer}__c", clean))
        self._rebuild_fields()
        return Response(201, {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []})

    def custom_field_get(self, req: Request) -> Response:
        rid = normalize_id(req.params["id"])
        v = self._version(req)
        for row in self._custom_field_rows():
            if row["Id"] == rid:
                return Response(200, {
                    "attributes": {
                        "type": "CustomField", "url": f"/services/data/v{v}/tooling/sobjects/CustomField/{rid}",
                    },
                    **row,
                })
        raise ApiError(404, NOT_FOUND)

    def custom_field_delete(self, req: Request) -> Response:
        rid = normalize_id(req.params["id"])
        row = self.db.execute("SELECT sobject, developer_name FROM custom_fields WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise ApiError(404, NOT_FOUND)
        sobject, developer = row
        api_name = f"{developer}__c"
        with self.transaction():
            self.db.execute("DELETE FROM custom_fields WHERE id = ?", (rid,))
            self.db.execute("DELETE FROM record_keys WHERE sobject = ? AND field = ?", (sobject, api_name))
            self.db.execute(
                "UPDATE records SET data = json_remove(data, ?) "
                "WHERE sobject = ? AND json_extract(data, ?) IS NOT NULL",
                (f"$.{api_name}", sobject, f"$.{api_name}"),
            )
        self._custom[sobject] = [f for f in self._custom[sobject] if f.custom_field_id != rid]
        self._rebuild_fields()
        self._cursors.clear()
        return Response(204)

    # -- OAuth 2.0 -------------------------------------------------------------------------
    def oauth_token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                pass
        if grant == "password":
            if not form.get("username") or form.get("password") != self.token:
                return Response(400, {"error": "invalid_grant", "error_description": "authentication failure"})
        elif grant == "client_credentials":
            if not client_id or client_secret != self.token:
                return Response(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        else:
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        access = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self.db.execute("INSERT INTO sessions (token, created) VALUES (?, ?)", (access, now_iso()))
        self._sessions.add(access)
        instance = f"https://{req.headers.get('host', '127.0.0.1')}"
        issued = str(int(time.time() * 1000))
        identity = f"{instance}/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(self.token.encode(), (identity + issued).encode(), hashlib.sha256).digest()
        ).decode()
        return Response(200, {
            "access_token": access, "instance_url": instance, "id": identity, "token_type": "Bearer",
            "issued_at": issued, "signature": signature, "scope": "api",
        })

    # -- admin -----------------------------------------------------------------------------
    def admin_records(self, req: Request) -> Response:
        obj = object_named(req.params["type"])
        if obj is None:
            return Response(404, {"message": f"unknown object {req.params['type']}"})
        cursor = self.db.execute("SELECT deleted, data FROM records WHERE sobject = ? ORDER BY seq", (obj.name,))
        rows = [self._row(obj.name, d, json.loads(data)) for d, data in cursor]
        return Response(200, {"totalSize": len(rows), "records": rows})
