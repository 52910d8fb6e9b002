"""The write path: every write endpoint (single records, Collections, Bulk ingest) goes through
:meth:`WritesMixin.apply`.

``apply`` runs a list of :class:`~.batch.Op` as one call in one SQLite transaction: it marks
external ids repeated within the call, prefetches the records and index keys the operations touch
into a :class:`~.batch._Batch`, applies each operation in turn (validate, then stage the change)
and writes the batch, or, with ``allOrNone`` and a failed record, rolls everything back and reports
every record as failed. The ``lock_row`` fault fails every record of a call with
``UNABLE_TO_LOCK_ROW``. A converted Lead (:mod:`.convert`) is read-only: an update or upsert that
reaches it fails with ``CANNOT_UPDATE_CONVERTED_LEAD``.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.base import Request
from connectors.sandbox.salesforce.batch import Op, _Batch, _RolledBack, index_key
from connectors.sandbox.salesforce.errors import ROLLED_BACK, rec_error
from connectors.sandbox.salesforce.security import touches_security
from connectors.sandbox.salesforce.setup_objects import ALL_OBJECTS, SETUP_OBJECTS
from connectors.sandbox.salesforce.validation import ValidationMixin
from connectors.sandbox.salesforce_schema import KEY_PREFIXES, USER_ID, id_type, normalize_id, now_iso


class WritesMixin(ValidationMixin):
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
        touched: set[str | None] = {op.sobject for op in ops}
        touched.update(id_type(str(r.get("id") or "")) for r in results)
        if touches_security(touched):
            self._security_changed()
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
        if target is not None and op.sobject == "Lead" and target[2].get("IsConverted"):
            # A converted Lead is read-only (see convert.py): Salesforce refuses any update of it.
            return fail([rec_error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")], rid)
        denied = self._entity_denied(op.sobject, creating)
        if denied:
            return fail([denied], rid)
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

    def _entity_denied(self, sobject: str, creating: bool) -> dict[str, Any] | None:
        """The error for a create (or update) the running user's object permissions forbid.

        Salesforce answers ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`` "entity type cannot be
        inserted: Contact" (or "updated: …", with the object's label), as integrators running
        without Create or Edit on an object report it.
        """
        if self.permitted(sobject, "PermissionsCreate" if creating else "PermissionsEdit"):
            return None
        verb = "inserted" if creating else "updated"
        return rec_error("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
                         f"entity type cannot be {verb}: {ALL_OBJECTS[sobject].label}")

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
        if rec is None or rec[0] not in ALL_OBJECTS:
            return {"id": rid, "success": False,
                    "errors": [rec_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]}
        if rec[1] and op.kind != "hard_delete":
            return {"id": rid, "success": False, "errors": [rec_error("ENTITY_IS_DELETED", "entity is deleted")]}
        if rec[0] in SETUP_OBJECTS:  # setup records skip the recycle bin
            err = self._setup_delete(b, rid, rec)
            return {"id": rid, "success": err is None, "errors": [err] if err else []}
        b.delete(rid, hard=op.kind == "hard_delete")
        if rec[0] == "Account":  # Salesforce deletes an account's contacts with it
            for child in sorted(b.ids_for_key("Contact", "AccountId", rid)):
                crec = b.get(child)
                if crec is not None and not crec[1]:
                    b.delete(child, hard=op.kind == "hard_delete")
        return {"id": rid, "success": True, "errors": []}

    def _write_fault(self, req: Request) -> bool:
        return self.take_fault("lock_row", req) is not None
