"""``POST /__sandbox/load/{objectType}``: many records into the portal at once, as reps' records would exist.

Not a HubSpot API: an admin route for benchmarks and tests that need a portal already holding
records (a million contacts are 10,000 batch creates through the API, which is the benchmark's
set-up, not what it measures). Not counted as API use; faults and limits do not apply.

Each record is the input of a batch create (``{"properties": {...}, "associations": [{"to":
{"id"}, "types": [{"associationCategory", "associationTypeId"}]}]}``) and goes through the same
checks and storage (:meth:`~.objects.ObjectsMixin._plan`: property values checked and normalised,
unique values and emails, associations to existing records; then the same insert, unique index and
association rows, a primary label bringing the unlabeled one along). A loaded record therefore
reads back through batch read, search and the v4 associations API exactly as a created one does:
a fresh id (``hs_object_id``), ``createdate``, ``lastmodifieddate`` / ``hs_lastmodifieddate``.
What a create cannot do and a rep's old record has: ``createdAt`` and ``updatedAt`` (ISO 8601)
may be given per record.

The body is a JSON array or JSON lines. All or nothing: one bad record fails the call with 400
naming its position, and nothing is stored. The answer: ``{"loaded": N, "ids": [...]}`` in input
order.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.model import iso_ms, resolve_type
from connectors.sandbox.hubspot.objects import ObjectsMixin
from connectors.sandbox.hubspot.store import Obj


def _ms(text: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class LoadMixin(ObjectsMixin):
    def admin_load(self, req: Request) -> Response:
        ot = resolve_type(req.params["otype"])
        if ot is None:
            return Response(404, {"message": f"unknown object type {req.params['otype']}"})
        try:
            text = req.body.decode("utf-8").strip()
            records = (json.loads(text) if text.startswith("[") else
                       [json.loads(line) for line in text.splitlines() if line.strip()])
        except (ValueError, UnicodeDecodeError) as exc:
            return Response(400, {"message": f"bad load body: {exc}"})
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            return Response(400, {"message": "the body is a JSON array of records (objects) or JSON lines"})
        stamps: list[tuple[int | None, int | None]] = []
        for i, record in enumerate(records):
            created, updated = (_ms(record[k]) if k in record else None for k in ("createdAt", "updatedAt"))
            if (created is None and "createdAt" in record) or (updated is None and "updatedAt" in record):
                return Response(400, {"index": i, "message": "createdAt and updatedAt are ISO 8601 date-times"})
            stamps.append((created, updated))
        with self.transaction():
            planned, failures = self._plan(ot, records)
            if failures:
                first = min(failures)
                return Response(400, {"message": "nothing was loaded", "index": first,
                                      "errors": failures[first].whole().body})
            made = self._create(ot, planned)
            dated = [(obj, stamps[idx]) for idx, obj, _ in made if stamps[idx] != (None, None)]
            if dated:
                self._restamp(dated)
        return Response(200, {"loaded": len(made), "ids": [str(obj.id) for _, obj, _ in made]})

    def _restamp(self, dated: list[tuple[Obj, tuple[int | None, int | None]]]) -> None:
        """Give loaded records the dates a rep's records carry (``createdate`` follows ``createdAt``)."""
        rows = []
        for obj, (created, updated) in dated:
            created = created if created is not None else obj.created_ms
            updated = updated if updated is not None else created
            if "createdate" in obj.props and created != obj.created_ms:
                obj.props["createdate"] = iso_ms(created)
            rows.append((created, updated, json.dumps(obj.props), obj.otype, obj.id))
        self.db.executemany(
            "UPDATE hs_objects SET created_ms = ?, updated_ms = ?, props = ? WHERE otype = ? AND id = ?", rows
        )
