"""sObject Collections (``composite/sobjects``): create, update, upsert by external id, retrieve and delete.

At most 200 records a call (2,000 ids to retrieve), per-record results in input order, and
``allOrNone`` to roll the whole call back when a record fails. Create, update and delete answer
from API v42, upsert from v46, as in Salesforce.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import Op
from connectors.sandbox.salesforce.errors import (
    NOT_FOUND,
    ApiError,
    _for_collection,
    _id_on_insert,
    api_error,
    rec_error,
)
from connectors.sandbox.salesforce.setup_objects import sobject_named
from connectors.sandbox.salesforce.writes import WritesMixin
from connectors.sandbox.salesforce_schema import normalize_id

MAX_COLLECTION = 200


class CollectionsMixin(WritesMixin):
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
        obj = sobject_named(str(kind))
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
