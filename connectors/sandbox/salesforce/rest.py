"""The REST resources around single records: the version list, resources, describe, and
single-record create / read / update / delete and upsert by external id
(``sobjects/{Type}/{Field}/{value}``).

Single-record writes go through the same write path as Collections
(:meth:`~.writes.WritesMixin.apply`) with one operation, and answer its per-record error as the
call's error: 404 for a deleted record, 400 otherwise. Upsert answers 201 when it creates, and
200 with a body from API v46 (204 before).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import Op, index_key
from connectors.sandbox.salesforce.collections import MAX_COLLECTION
from connectors.sandbox.salesforce.errors import NOT_FOUND, ApiError, _for_single, _id_on_insert, api_error
from connectors.sandbox.salesforce.setup_objects import ALL_OBJECTS
from connectors.sandbox.salesforce.writes import WritesMixin
from connectors.sandbox.salesforce_schema import NUMBER_TYPES, FieldDef, JsonTypeError, normalize_id


class RestMixin(WritesMixin):
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

    def describe_global(self, req: Request) -> Response:
        v = self._version(req)
        return Response(200, {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION,
            "sobjects": [self._entry(name, v) for name in sorted(ALL_OBJECTS)
                         if self.permitted(name, "PermissionsRead")],
        })

    def describe(self, req: Request) -> Response:
        name = self._object(req.params["type"])
        fields = list(self._fields[name].values())
        body = ALL_OBJECTS[name].describe(self._version(req), fields)
        body.update(self._object_flags(name))
        return Response(200, body)

    def _object_flags(self, name: str) -> dict[str, bool]:
        """Describe's object-level flags, as the running user's object permissions make them."""
        return {"queryable": self.permitted(name, "PermissionsRead"),
                "createable": self.permitted(name, "PermissionsCreate"),
                "updateable": self.permitted(name, "PermissionsEdit")}

    def _entry(self, name: str, version: str) -> dict[str, Any]:
        return {**ALL_OBJECTS[name].global_entry(version), **self._object_flags(name)}

    def basic_info(self, req: Request) -> Response:
        name = self._object(req.params["type"])
        v = self._version(req)
        recent = self.db.execute(
            "SELECT id FROM records WHERE sobject = ? AND deleted = 0 ORDER BY seq DESC LIMIT 5", (name,)
        ).fetchall()
        return Response(200, {
            "objectDescribe": self._entry(name, v),
            "recentItems": [
                {"attributes": {"type": name, "url": self._record_url(v, name, r[0])}, "Id": r[0]} for r in recent
            ],
        })

    # -- reading ---------------------------------------------------------------------------
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
