"""``POST /__sandbox/load/{SObject}``: many records into the org at once, as reps' records would exist.

Not a Salesforce API: an admin route for benchmarks and tests that need an org already holding
records (a million Leads would take thousands of API calls and tens of minutes to create through
the API, and the benchmark would then measure its own set-up). It is not counted as API use and
ignores faults and limits, like the rest of ``/__sandbox/``.

Each record goes through the same path a create takes (:meth:`~.writes.WritesMixin._apply_one`:
field names resolved, values checked and normalised, required fields, unique fields, references,
owner), so a loaded record reads back through SOQL, Bulk queries and Collections retrieve exactly
as one created through the API does: a fresh ``Id`` of the object's key prefix, ``CreatedDate``,
``LastModifiedDate``, ``SystemModstamp``, ``CreatedById``, ``LastModifiedById``, ``OwnerId``, and
its lookup keys indexed. Two things a create cannot do and a rep's old record has: a record may
name its own ``CreatedDate`` and ``LastModifiedDate`` (``SystemModstamp`` follows the latter).

The body is a JSON array of records or JSON lines (one record per line). The load is all or
nothing: one invalid record fails the call with 400 naming its position and errors, and nothing
is stored. The answer lists the new ids in input order: ``{"loaded": N, "ids": [...]}``.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import Op, _Batch
from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.setup_objects import SETUP_OBJECTS, sobject_named
from connectors.sandbox.salesforce.writes import WritesMixin
from connectors.sandbox.salesforce_schema import now_iso, parse_datetime

#: Fields a load may set that an API create may not: when the rep's record was made and last changed.
STAMPS = ("CreatedDate", "LastModifiedDate")


def load_body(req: Request) -> list[Any]:
    """The records of a load: a JSON array, or JSON lines. Raises ``ValueError`` on anything else."""
    text = req.body.decode("utf-8").strip()
    if not text:
        return []
    if text.startswith("["):
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(records, list):
        raise ValueError("the body is a JSON array of records or JSON lines")
    return records


class LoadMixin(WritesMixin):
    def admin_load(self, req: Request) -> Response:
        obj = sobject_named(req.params["type"])
        if obj is None or obj.name in SETUP_OBJECTS:
            return Response(404, {"message": f"cannot load records of {req.params['type']}"})
        try:
            records = load_body(req)
        except (ValueError, UnicodeDecodeError) as exc:
            return Response(400, {"message": f"bad load body: {exc}"})
        ops: list[Op] = []
        stamps: list[dict[str, str]] = []
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                return Response(400, {"index": i, "message": "every record is a JSON object"})
            record = dict(record)
            given: dict[str, str] = {}
            for name in STAMPS:
                if name in record:
                    value = parse_datetime(str(record.pop(name)))
                    if value is None:
                        return Response(400, {"index": i, "message": f"{name} is not an ISO 8601 date-time"})
                    given[name] = value
            if "Id" in record or "id" in record:
                return Response(400, {"index": i, "message": "ids are the org's to give: leave Id out"})
            try:
                values, _, _ = self._values(obj.name, record)
            except ApiError as exc:
                return Response(400, {"index": i, "errors": exc.body})
            ops.append(Op("create", obj.name, values))
            stamps.append(given)
        batch = _Batch(self)
        ids: list[str] = []
        failure: dict[str, Any] | None = None
        with self.transaction():
            self._prefetch(batch, ops)
            now = now_iso()
            for i, (op, given) in enumerate(zip(ops, stamps, strict=True)):
                created = given.get("CreatedDate", now)
                result = self._apply_one(batch, op, False, created)
                if not result["success"]:
                    failure = {"index": i, "errors": result["errors"]}
                    break
                rid = str(result["id"])
                modified = given.get("LastModifiedDate", created)
                batch.records[rid][2].update(LastModifiedDate=modified, SystemModstamp=modified)
                ids.append(rid)
            if failure is None:
                batch.flush()
        if failure is not None:  # the transaction committed nothing: flush never ran
            return Response(400, {"message": "nothing was loaded", **failure})
        return Response(200, {"loaded": len(ids), "ids": ids})
