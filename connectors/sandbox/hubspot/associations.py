"""The CRM v4 associations API between contacts and companies.

Batch create / default / read (up to 1,000 ids) / archive / archive labels, and the single-pair
default, labels, delete and paged read endpoints. Every association is stored with its inverse;
a labeled (primary) association brings the unlabeled one along, and a contact has at most one
primary company: a new primary demotes the old one. The v3 view of associations inside an object
read is part of the record shape (``records``); associations given with a create are checked in
``objects``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.core import now_ms
from connectors.sandbox.hubspot.errors import ApiError, validation_error
from connectors.sandbox.hubspot.model import ASSOCIATION_TYPES, PRIMARY, UNLABELED, ObjectType
from connectors.sandbox.hubspot.store import StoreMixin

# v4 association batch reads take up to 1,000 ids (HubSpot changelog, February 2025).
MAX_ASSOCIATION_READ = 1000


class AssociationsMixin(StoreMixin):
    """The v4 associations handlers (see the module docstring)."""

    # -- associations (v4) ------------------------------------------------------------------------
    def _pair(self, req: Request) -> tuple[ObjectType, ObjectType]:
        from_ot, to_ot = self._type(req.params["from_type"]), self._type(req.params["to_type"])
        if (from_ot.name, to_ot.name) not in UNLABELED:
            raise validation_error(f"Associations from {from_ot.name} to {to_ot.name} are not supported")
        return from_ot, to_ot

    def _associate(self, from_ot: ObjectType, from_id: int, to_ot: ObjectType, to_id: int, type_id: int) -> list[int]:
        """Create one association (and its inverse); a labeled one brings the unlabeled one along.
        A contact has at most one primary company: a new primary demotes the old one."""
        at = ASSOCIATION_TYPES[type_id]
        created = [type_id]
        if at.label is not None:
            created.append(UNLABELED[(from_ot.name, to_ot.name)])
            contact = from_id if from_ot.name == "contacts" else to_id
            self.db.execute(
                "DELETE FROM hs_assoc WHERE (from_type = 'contacts' AND from_id = ? AND type_id = 1) "
                "OR (to_type = 'contacts' AND to_id = ? AND type_id = 2)",
                (contact, contact),
            )
        rows = []
        for t in created:
            rows.append((from_ot.name, from_id, to_ot.name, to_id, t))
            rows.append((to_ot.name, to_id, from_ot.name, from_id, ASSOCIATION_TYPES[t].inverse))
        self.db.executemany(
            "INSERT OR IGNORE INTO hs_assoc (from_type, from_id, to_type, to_id, type_id) VALUES (?, ?, ?, ?, ?)", rows
        )
        return created

    def _has_primary(self, from_ot: ObjectType, from_id: int, to_id: int) -> bool:
        contact = from_id if from_ot.name == "contacts" else to_id
        return bool(
            self.db.execute(
                "SELECT 1 FROM hs_assoc WHERE from_type = 'contacts' AND from_id = ? AND type_id = 1", (contact,)
            ).fetchone()
        )

    def _missing_objects(
        self, from_ot: ObjectType, from_ids: list[str], to_ot: ObjectType, to_ids: list[str]
    ) -> tuple[set[str], set[str]]:
        froms = self._load(from_ot.name, [int(i) for i in from_ids if i.isdigit()])
        tos = self._load(to_ot.name, [int(i) for i in to_ids if i.isdigit()])
        return (
            {i for i in from_ids if not i.isdigit() or int(i) not in froms},
            {i for i in to_ids if not i.isdigit() or int(i) not in tos},
        )

    @staticmethod
    def _missing_error(ot: ObjectType, side: str, oid: str) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "subCategory": "crm.associations.INVALID_OBJECT_IDS",
            "message": f"No {ot.singular} with ID {oid} exists",
            "context": {side: [oid]},
        }

    @staticmethod
    def _spec(type_id: int) -> dict[str, Any]:
        return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}

    def _labels(self, type_ids: Iterable[int]) -> list[str]:
        return sorted({ASSOCIATION_TYPES[t].label for t in type_ids if ASSOCIATION_TYPES[t].label})  # type: ignore[misc]

    def _types_for(self, from_ot: ObjectType, to_ot: ObjectType, raw: Any) -> list[int]:
        ids = []
        for kind in raw or []:
            if not isinstance(kind, dict):
                raise validation_error("Invalid association type: expected {associationCategory, associationTypeId}")
            type_id = kind.get("associationTypeId")
            at = ASSOCIATION_TYPES.get(type_id) if isinstance(type_id, int) else None
            if (
                at is None
                or kind.get("associationCategory") != "HUBSPOT_DEFINED"
                or (at.from_type, at.to_type) != (from_ot.name, to_ot.name)
            ):
                raise validation_error(
                    f"{kind.get('associationCategory')} {type_id} is not a valid association type from "
                    f"{from_ot.name} to {to_ot.name}",
                    subCategory="crm.associations.INVALID_ASSOCIATION_TYPE",
                )
            ids.append(at.type_id)
        if not ids:
            raise validation_error("At least one association type is required", subCategory="crm.associations.NO_TYPES")
        return ids

    def assoc_batch_create(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        pairs = [
            (str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", "")), i.get("types"))
            for i in inputs
        ]
        kinds = [self._types_for(from_ot, to_ot, t) for _, _, t in pairs]
        missing_from, missing_to = self._missing_objects(
            from_ot, [f for f, _, _ in pairs], to_ot, [t for _, t, _ in pairs]
        )
        results, errors = [], []
        with self.transaction():
            for (f, t, _), type_ids in zip(pairs, kinds, strict=True):
                if f in missing_from:
                    errors.append(self._missing_error(from_ot, "fromObjectId", f))
                    continue
                if t in missing_to:
                    errors.append(self._missing_error(to_ot, "toObjectId", t))
                    continue
                made: list[int] = []
                for type_id in type_ids:
                    made += self._associate(from_ot, int(f), to_ot, int(t), type_id)
                results.append(
                    {
                        "fromObjectTypeId": from_ot.type_id,
                        "fromObjectId": int(f),
                        "toObjectTypeId": to_ot.type_id,
                        "toObjectId": int(t),
                        "labels": self._labels(made),
                    }
                )
        if errors:
            return Response(207, self._batch(results, errors, started))
        return Response(201, self._batch(results, None, started))

    def _default_one(self, from_ot: ObjectType, f: int, to_ot: ObjectType, t: int) -> list[dict[str, Any]]:
        type_ids = [UNLABELED[(from_ot.name, to_ot.name)]]
        if not self._has_primary(from_ot, f, t):
            type_ids.append(PRIMARY[(from_ot.name, to_ot.name)])
        made: list[int] = []
        for type_id in type_ids:
            made += self._associate(from_ot, f, to_ot, t, type_id)
        return [
            {"from": {"id": str(f)}, "to": {"id": str(t)}, "associationSpec": self._spec(type_id)}
            for type_id in dict.fromkeys(made)
        ]

    def assoc_batch_default(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        pairs = [(str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", ""))) for i in inputs]
        missing_from, missing_to = self._missing_objects(from_ot, [f for f, _ in pairs], to_ot, [t for _, t in pairs])
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.transaction():
            for f, t in pairs:
                if f in missing_from:
                    errors.append(self._missing_error(from_ot, "fromObjectId", f))
                elif t in missing_to:
                    errors.append(self._missing_error(to_ot, "toObjectId", t))
                else:
                    results += self._default_one(from_ot, int(f), to_ot, int(t))
        return Response(200, self._batch(results, errors, started))

    def _assoc_rows(self, from_ot: ObjectType, from_id: int, to_ot: ObjectType) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT to_id, type_id FROM hs_assoc WHERE from_type = ? AND from_id = ? AND to_type = ? "
            "ORDER BY to_id, type_id",
            (from_ot.name, from_id, to_ot.name),
        ).fetchall()
        grouped: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            at = ASSOCIATION_TYPES[r["type_id"]]
            grouped.setdefault(r["to_id"], []).append(
                {"category": "HUBSPOT_DEFINED", "typeId": at.type_id, "label": at.label}
            )
        return [{"toObjectId": to_id, "associationTypes": kinds} for to_id, kinds in grouped.items()]

    def assoc_batch_read(self, req: Request) -> Response:
        started = now_ms()
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req, MAX_ASSOCIATION_READ)
        results, errors = [], []
        for item in inputs:
            f = str(item.get("id", ""))
            rows = self._assoc_rows(from_ot, int(f), to_ot) if f.isdigit() else []
            if rows:
                results.append({"from": {"id": f}, "to": rows})
            else:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No {to_ot.singular} is associated with {from_ot.singular} {f}.",
                        "context": {
                            "fromObjectId": [f],
                            "fromObjectType": [from_ot.singular],
                            "toObjectType": [to_ot.singular],
                        },
                    }
                )
        return Response(207 if errors else 200, self._batch(results, errors, started))

    def _unlink(self, from_ot: ObjectType, f: int, to_ot: ObjectType, t: int, type_ids: list[int] | None) -> None:
        if type_ids is None or UNLABELED[(from_ot.name, to_ot.name)] in type_ids:
            self.db.execute(
                "DELETE FROM hs_assoc WHERE (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ?) "
                "OR (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ?)",
                (from_ot.name, f, to_ot.name, t, to_ot.name, t, from_ot.name, f),
            )
            return
        for type_id in type_ids:
            inverse = ASSOCIATION_TYPES[type_id].inverse
            self.db.execute(
                "DELETE FROM hs_assoc WHERE "
                "(from_type = ? AND from_id = ? AND to_type = ? AND to_id = ? AND type_id = ?) "
                "OR (from_type = ? AND from_id = ? AND to_type = ? AND to_id = ? AND type_id = ?)",
                (from_ot.name, f, to_ot.name, t, type_id, to_ot.name, t, from_ot.name, f, inverse),
            )

    def assoc_batch_archive(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                f = str((item.get("from") or {}).get("id", ""))
                for target in item.get("to") or []:
                    t = str((target or {}).get("id", ""))
                    if f.isdigit() and t.isdigit():
                        self._unlink(from_ot, int(f), to_ot, int(t), None)
        return Response(204)

    def assoc_batch_archive_labels(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                f = str((item.get("from") or {}).get("id", ""))
                t = str((item.get("to") or {}).get("id", ""))
                type_ids = self._types_for(from_ot, to_ot, item.get("types"))
                if f.isdigit() and t.isdigit():
                    self._unlink(from_ot, int(f), to_ot, int(t), type_ids)
        return Response(204)

    def _one_pair(self, req: Request) -> tuple[ObjectType, int, ObjectType, int]:
        from_ot, to_ot = self._pair(req)
        f, t = unquote(req.params["from_id"]), unquote(req.params["to_id"])
        missing_from, missing_to = self._missing_objects(from_ot, [f], to_ot, [t])
        if missing_from or missing_to:
            ot, oid = (from_ot, f) if missing_from else (to_ot, t)
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No {ot.singular} with ID {oid} exists")
        return from_ot, int(f), to_ot, int(t)

    def assoc_put_default(self, req: Request) -> Response:
        started = now_ms()
        from_ot, f, to_ot, t = self._one_pair(req)
        with self.transaction():
            results = self._default_one(from_ot, f, to_ot, t)
        return Response(200, self._batch(results, None, started))

    def assoc_put_labels(self, req: Request) -> Response:
        from_ot, f, to_ot, t = self._one_pair(req)
        body = self._body(req)
        type_ids = self._types_for(from_ot, to_ot, body if isinstance(body, list) else None)
        with self.transaction():
            made: list[int] = []
            for type_id in type_ids:
                made += self._associate(from_ot, f, to_ot, t, type_id)
        return Response(
            201,
            {
                "fromObjectTypeId": from_ot.type_id,
                "fromObjectId": f,
                "toObjectTypeId": to_ot.type_id,
                "toObjectId": t,
                "labels": self._labels(made),
            },
        )

    def assoc_delete(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        f, t = unquote(req.params["from_id"]), unquote(req.params["to_id"])
        if f.isdigit() and t.isdigit():
            with self.transaction():
                self._unlink(from_ot, int(f), to_ot, int(t), None)
        return Response(204)

    def assoc_get_page(self, req: Request) -> Response:
        from_ot, to_ot = self._pair(req)
        f = unquote(req.params["from_id"])
        limit = self._int_arg(req, "limit", 500)
        after = self._int_arg(req, "after", 0)
        rows = self._assoc_rows(from_ot, int(f), to_ot) if f.isdigit() else []
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, body)
