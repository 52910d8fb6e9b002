"""Reading stored records, and rendering them the way record reads answer.

Shared by every read path (single records, SOQL, Collections retrieve, the admin dump): a record
is stored as a JSON document, and :meth:`~RecordsMixin._row` adds what Salesforce computes on read
(``IsDeleted``, and ``Name`` for Leads and Contacts).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from connectors.sandbox.salesforce.batch import _chunks
from connectors.sandbox.salesforce.errors import api_error
from connectors.sandbox.salesforce.hooks import HooksMixin
from connectors.sandbox.salesforce_schema import FieldDef


class RecordsMixin(HooksMixin):
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
