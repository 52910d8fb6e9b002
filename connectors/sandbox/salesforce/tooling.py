"""The Tooling API's ``CustomField``: create, get, delete and query custom fields on the data objects.

A created field exists in the org at once (the Tooling API lists it, and its name is taken) but,
as in an org, no profile or permission set grants it: it joins the running user's describe,
SOQL and writes only once field-level security grants it (see :mod:`.security`), or at once
with ``enforce_field_security`` off. A deleted one leaves describe, its values and its field
permissions are removed, and writes that name it fail. Metadata is checked by
:func:`~connectors.sandbox.salesforce_schema.check_custom_field_metadata`.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.sandbox import soql
from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.errors import NOT_FOUND, ApiError, api_error
from connectors.sandbox.salesforce.query import QueryMixin
from connectors.sandbox.salesforce.setup_objects import drop_field_permissions
from connectors.sandbox.salesforce_schema import (
    DEVELOPER_NAME_RE,
    USER_ID,
    FieldDef,
    MetadataError,
    check_custom_field_metadata,
    custom_field_def,
    normalize_id,
    now_iso,
    object_named,
)

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


class ToolingMixin(QueryMixin):
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
        if f"{developer.lower()}__c" in self._all_fields[obj.name]:
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
            drop_field_permissions(self.db, f"{sobject}.{api_name}")
            self.db.execute(
                "UPDATE records SET data = json_remove(data, ?) "
                "WHERE sobject = ? AND json_extract(data, ?) IS NOT NULL",
                (f"$.{api_name}", sobject, f"$.{api_name}"),
            )
        self._custom[sobject] = [f for f in self._custom[sobject] if f.custom_field_id != rid]
        self._rebuild_fields()
        self._cursors.clear()
        return Response(204)
