"""What the object and search handlers share about a record.

Checking property values against the definitions (unknown or archived properties are
``PROPERTY_DOESNT_EXIST``), the shape HubSpot answers a record in (the requested properties or
the defaults, the always-set ones, history, the v3 association view), resolving ``idProperty``
identifiers to record ids, and unique-value conflicts (409), with a stored record or with an
earlier input of the same batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.sandbox.hubspot.errors import Failure, validation_error
from connectors.sandbox.hubspot.model import (
    ASSOCIATION_TYPES,
    PORTAL_ID,
    ObjectType,
    Problem,
    iso_ms,
    normalise_value,
    resolve_type,
)
from connectors.sandbox.hubspot.store import Obj, StoreMixin

#: Associations per type a v3 object answer shows inline before paging them (see _v3_associations).
V3_ASSOCIATIONS_PAGE = 100


class RecordsMixin(StoreMixin):
    """Property values, the answered shape of a record, identifiers, unique values."""

    # -- property values ------------------------------------------------------------------------
    def _check(self, ot: ObjectType, props: Any) -> tuple[dict[str, str], list[Problem]]:
        if not isinstance(props, dict):
            return {}, [Problem("properties", "INVALID_PROPERTIES", "properties must be an object of name: value")]
        defs = self._props[ot.name]
        clean: dict[str, str] = {}
        problems: list[Problem] = []
        for name, raw in props.items():
            definition = defs.get(name)
            if definition is None:
                problems.append(Problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            value, problem = normalise_value(ot.name, definition, raw)
            if problem is not None:
                problems.append(problem)
            else:
                clean[name] = value or ""
        return clean, problems

    def _effective(self, ot: ObjectType, obj: Obj, props: dict[str, str] | None = None) -> dict[str, str]:
        values = dict(obj.props if props is None else props)
        values["hs_object_id"] = str(obj.id)
        values.setdefault("createdate", iso_ms(obj.created_ms))
        values[ot.last_modified] = iso_ms(obj.updated_ms)
        return values

    def _public(
        self,
        ot: ObjectType,
        obj: Obj,
        names: Iterable[str] | None,
        *,
        nulls: bool = True,
        history: list[str] | None = None,
        associations: list[str] | None = None,
    ) -> dict[str, Any]:
        """An object as HubSpot answers it: the named properties (or the defaults) + the always-set ones."""
        values = self._effective(ot, obj)
        defined = self._props[ot.name]
        wanted = list(ot.defaults) if names is None else [n for n in names if n in defined] + list(ot.always)
        props: dict[str, Any] = {}
        for n in sorted(set(wanted)):
            if n in values:
                props[n] = values[n]
            elif nulls:
                props[n] = None
        out: dict[str, Any] = {
            "id": str(obj.id),
            "properties": props,
            "createdAt": iso_ms(obj.created_ms),
            "updatedAt": iso_ms(obj.updated_ms),
            "archived": obj.archived,
        }
        if obj.archived and obj.archived_ms is not None:
            out["archivedAt"] = iso_ms(obj.archived_ms)
        if history:
            out["propertiesWithHistory"] = {
                n: [{"value": values[n], "timestamp": iso_ms(obj.updated_ms), "sourceType": "API"}]
                for n in history
                if n in defined and n in values
            }
        if associations:
            assoc = self._v3_associations(ot, obj.id, associations)
            if assoc:
                out["associations"] = assoc
        return out

    def _written(self, ot: ObjectType, obj: Obj, written: Iterable[str]) -> dict[str, Any]:
        """Write answers carry the written properties plus the always-set ones."""
        out = self._public(ot, obj, written, nulls=False)
        for n in written:  # a cleared value comes back as ""
            if n in self._props[ot.name] and n not in out["properties"]:
                out["properties"][n] = ""
        return out

    def _id_property(self, ot: ObjectType, id_property: str | None, *, allow_email: bool = True) -> str | None:
        """Validate ``idProperty``: None for the record id, else a property whose values are unique
        (or a contact's email, where HubSpot accepts it: upsert, reads, single-record update)."""
        if id_property is None or id_property in ("", "hs_object_id"):
            return None
        definition = self._props[ot.name].get(id_property)
        if definition is not None and definition.get("hasUniqueValue"):
            return id_property
        if id_property == "email" and ot.name == "contacts" and allow_email:
            return "email"
        raise validation_error(
            f"Unable to perform update/upsert by non-unique {ot.type_id} property {id_property} "
            f"in portal ID {PORTAL_ID}"
        )

    def _resolve(self, ot: ObjectType, keys: list[str], id_property: str | None) -> dict[str, int]:
        """Map identifiers (record ids or unique values) to live record ids."""
        if id_property is None:
            numeric = [int(k) for k in keys if k.isdigit()]
            found = self._load(ot.name, numeric)
            return {k: int(k) for k in keys if k.isdigit() and int(k) in found}
        found_ids = self._lookup(ot.name, id_property, keys)
        return {
            k: found_ids[self._unique_key(id_property, k)]
            for k in keys
            if self._unique_key(id_property, k) in found_ids
        }

    def _conflict(self, ot: ObjectType, prop: str, value: str, existing: int) -> Failure:
        if prop == "email":
            return Failure(409, "CONFLICT", f"{ot.title} already exists. Existing ID: {existing}")
        return Failure(
            409,
            "CONFLICT",
            f'A {ot.singular} with the unique value "{value}" for property "{prop}" already exists. '
            f"Existing ID: {existing}",
        )

    def _unique_failures(
        self, ot: ObjectType, writes: list[tuple[int, int | None, dict[str, str]]]
    ) -> dict[int, Failure]:
        """Unique-value collisions for (input index, own id or None when creating, new values):
        with a stored record, or with an earlier input of the same batch."""
        failures: dict[int, Failure] = {}
        for prop in self._unique_props(ot):
            values = [v[prop] for _, _, v in writes if v.get(prop)]
            if not values:
                continue
            taken = self._lookup(ot.name, prop, values)
            claimed: dict[str, int] = {}
            for idx, own, vals in writes:
                value = vals.get(prop)
                if not value or idx in failures:
                    continue
                key = self._unique_key(prop, value)
                holder = taken.get(key)
                if holder is not None and holder != own:
                    failures[idx] = self._conflict(ot, prop, value, holder)
                elif key in claimed:
                    failures[idx] = self._conflict(ot, prop, value, 0)
                    failures[idx].winner = claimed[key]
                    failures[idx].context = {"prop": [prop], "value": [value]}
                elif own is not None:
                    taken[key] = own
                else:
                    claimed[key] = idx
        return failures

    def _name_winners(self, ot: ObjectType, failures: dict[int, Failure], created_order: list[int]) -> None:
        """In-batch duplicates name the id the earlier input gets (or would get)."""
        pending = [f for f in failures.values() if f.winner is not None]
        if not pending:
            return
        next_id = int(self.db.execute("SELECT value FROM hs_meta WHERE key = 'next_id'").fetchone()[0])
        position = {idx: i for i, idx in enumerate(created_order)}
        for f in pending:
            prop, value = f.context.pop("prop")[0], f.context.pop("value")[0]
            f.message = self._conflict(ot, prop, value, next_id + position.get(f.winner or 0, 0)).message

    # -- v3 association view ------------------------------------------------------------------------
    def _v3_associations(self, ot: ObjectType, oid: int, wanted: list[str]) -> dict[str, Any]:
        """A record's associations as the v3 object endpoints show them (``associations=`` asked):
        per type, ``results`` of ``{id, type}`` — the first 100 only, with ``paging.next`` (``after``
        and a ``link`` to that record's associations) when it has more. HubSpot's developer
        changelog, "Announcing a change to how v3 CRM APIs return association data" (2020-10, in
        force 2021-01-18): GET /crm/v3/objects/{objectType} and /{objectId} return more than 100
        associations paginated, each object with its own next page.
        """
        out: dict[str, Any] = {}
        for name in wanted:
            to_ot = resolve_type(name)
            if to_ot is None:
                continue
            rows = self.db.execute(
                "SELECT to_id, type_id FROM hs_assoc WHERE from_type = ? AND from_id = ? AND to_type = ? "
                "ORDER BY to_id, type_id",
                (ot.name, oid, to_ot.name),
            ).fetchall()
            if rows:
                shown: dict[str, Any] = {
                    "results": [{"id": str(r["to_id"]), "type": ASSOCIATION_TYPES[r["type_id"]].v3_name}
                                for r in rows[:V3_ASSOCIATIONS_PAGE]]
                }
                if len(rows) > V3_ASSOCIATIONS_PAGE:
                    after = str(V3_ASSOCIATIONS_PAGE)
                    shown["paging"] = {"next": {
                        "after": after,
                        "link": f"/crm/v3/objects/{ot.name}/{oid}/associations/{to_ot.name}?after={after}",
                    }}
                out[to_ot.name] = shown
        return out
