"""SOQL: ``query`` / ``queryAll`` with paged results (``queryMore``), and the query evaluation the
Bulk query jobs and the Tooling API share.

Parsing and evaluation are in :mod:`connectors.sandbox.soql`. Here a query is bound to the data
objects (and ``User``, the one integration user), the candidate rows are picked (by id, through
the ``record_keys`` index when the WHERE clause has a usable equality, otherwise by a scan), the
records that relationship fields reach (``Account.Name``) are attached, and the result is paged:
2,000 records a page (``Sforce-Query-Options: batchSize=``), the rest kept behind a query locator
for the last ``MAX_CURSORS`` queries.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from connectors.sandbox import soql
from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import _chunks, index_key
from connectors.sandbox.salesforce.errors import api_error
from connectors.sandbox.salesforce.records import RecordsMixin
from connectors.sandbox.salesforce.setup_objects import sobject_named
from connectors.sandbox.salesforce.state import SalesforceState
from connectors.sandbox.salesforce_schema import USER_ID, USER_RECORD, FieldDef, make_id

QUERY_BATCH = 2000
MAX_CURSORS = 10


class _DataCatalog:
    def __init__(self, app: SalesforceState) -> None:
        self.app = app

    def object_name(self, name: str) -> str | None:
        if name.lower() == "user":
            return "User"
        if name.lower() == "organization":
            return "Organization"
        obj = sobject_named(name)
        return obj.name if obj and self.app.permitted(obj.name, "PermissionsRead") else None

    def object_fields(self, sobject: str) -> dict[str, FieldDef]:
        if sobject == "User":
            return USER_FIELDS
        if sobject == "Organization":
            return ORGANIZATION_FIELDS
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


#: The Organization sObject: exactly one read-only record, the org the session belongs to
#: (SOAP API Developer Guide, "Organization"; ``SELECT Id, Name, IsSandbox FROM Organization``
#: is how integrations tell which org, and which kind of org, they are talking to).
ORGANIZATION_FIELDS = {
    f.name.lower(): f
    for f in (
        FieldDef("Id", "Organization ID", "id", length=18, nillable=False, createable=False, updateable=False),
        FieldDef("Name", "Name", "string", length=80, createable=False, updateable=False),
        FieldDef("IsSandbox", "Is Sandbox", "boolean", createable=False, updateable=False),
        FieldDef("InstanceName", "Instance Name", "string", length=5, createable=False, updateable=False),
        FieldDef("OrganizationType", "Edition", "string", length=40, createable=False, updateable=False),
    )
}


class QueryMixin(RecordsMixin):
    def organization_record(self) -> dict[str, Any]:
        """The running org: its Id comes from config ``organization_id``, so a test can play another org."""
        return {"Id": self.config["organization_id"], "Name": "Sandbox Org", "IsSandbox": True,
                "InstanceName": "CS1", "OrganizationType": "Enterprise Edition"}

    def _candidate_rows(self, sobject: str, query: soql.Query, include_deleted: bool) -> list[dict[str, Any]]:
        filters = soql.equality_filters(query)
        for fd, values in filters:
            if fd.name == "Id":
                return self._rows_by_ids([v for v in values if isinstance(v, str)], sobject, include_deleted)
        if not include_deleted:
            for fd, values in filters:
                indexed = {f.name for f in self._indexed[sobject]}
                if fd.indexed and fd.name in indexed and None not in values:
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
        elif sobject == "Organization":
            rows = [self.organization_record()]
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
