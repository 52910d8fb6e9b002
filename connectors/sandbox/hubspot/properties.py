"""The CRM v3 properties API: properties and property groups of contacts and companies.

Custom properties are created (one at a time or in batches), updated and archived;
HubSpot-defined ones keep their type and cannot be archived. Definitions are checked as HubSpot
checks them: the name pattern, type / fieldType pairs, an existing group, distinct option values,
unique values only for strings and numbers. The cached definitions are reloaded after every
change, so a property archived here fails the next write with ``PROPERTY_DOESNT_EXIST``. A group
can be archived only once no live property belongs to it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.base import Request, Response
from connectors.sandbox.hubspot.core import HubSpotBase, _flag, now_ms
from connectors.sandbox.hubspot.errors import ApiError, validation_error
from connectors.sandbox.hubspot.model import (
    FIELD_TYPES,
    PROPERTY_NAME,
    ObjectType,
    iso_ms,
    option_dicts,
    property_definition,
)


class PropertiesMixin(HubSpotBase):
    """The properties and property-groups handlers (see the module docstring)."""

    # -- properties --------------------------------------------------------------------------------
    def _all_properties(self, otype: str, archived: bool) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT definition FROM hs_properties WHERE otype = ? AND archived = ? ORDER BY rowid",
            (otype, int(archived)),
        )
        return [json.loads(r["definition"]) for r in rows]

    def _stored_property(self, otype: str, name: str) -> tuple[dict[str, Any], bool] | None:
        row = self.db.execute(
            "SELECT definition, archived FROM hs_properties WHERE otype = ? AND name = ?", (otype, name)
        ).fetchone()
        return (json.loads(row["definition"]), bool(row["archived"])) if row else None

    def _group_exists(self, otype: str, name: str) -> bool:
        return bool(
            self.db.execute(
                "SELECT 1 FROM hs_groups WHERE otype = ? AND name = ? AND archived = 0", (otype, name)
            ).fetchone()
        )

    def list_properties(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        return Response(200, {"results": self._all_properties(ot.name, _flag(req.arg("archived")))})

    def get_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1] != _flag(req.arg("archived")):
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        return Response(200, stored[0])

    def _new_property(self, ot: ObjectType, spec: Any) -> dict[str, Any]:
        """Validate a PropertyCreate and store it; raises ApiError."""
        if not isinstance(spec, dict):
            raise validation_error("Invalid input JSON: expected a property definition object")
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not spec.get(k)]
        if missing:
            raise validation_error(
                f"Missing required fields: {', '.join(missing)}",
                errors=[{"message": f"{k} is required", "in": k, "code": "REQUIRED_FIELD"} for k in missing],
            )
        name, kind, field_type = str(spec["name"]), str(spec["type"]), str(spec["fieldType"])
        if not PROPERTY_NAME.match(name) or len(name) > 100:
            raise validation_error(
                f"Invalid property name {name!r}: names start with a lowercase letter and contain only lowercase "
                "letters, digits and underscores (at most 100 characters)",
                subCategory="PropertyValidationError.INVALID_PROPERTY_NAME",
            )
        if kind not in FIELD_TYPES:
            raise validation_error(f"Invalid property type {kind!r}: one of {sorted(FIELD_TYPES)}")
        if field_type not in FIELD_TYPES[kind]:
            raise validation_error(
                f"fieldType {field_type!r} is not valid for a property of type {kind!r}; "
                f"use one of {sorted(FIELD_TYPES[kind])}",
                subCategory="PropertyValidationError.INVALID_FIELD_TYPE",
            )
        if not self._group_exists(ot.name, str(spec["groupName"])):
            raise validation_error(
                f"Property group {spec['groupName']} does not exist for object type {ot.type_id}",
                subCategory="PropertyValidationError.INVALID_GROUP",
            )
        unique = bool(spec.get("hasUniqueValue"))
        if unique and kind not in ("string", "number"):
            raise validation_error("Only string and number properties can require unique values")
        options = spec.get("options") or []
        if kind == "bool" and not options:
            options = [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]
        values = [str((o or {}).get("value", "")) for o in options]
        if len(set(values)) != len(values) or any(not v for v in values):
            raise validation_error("Property options need distinct, non-empty values")
        stored = self._stored_property(ot.name, name)
        if stored is not None and not stored[1]:
            raise ApiError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property named '{name}' already exists.",
                context={"name": [name]},
            )
        stamp = iso_ms(now_ms())
        definition = property_definition(
            name,
            str(spec["label"]),
            kind,
            field_type,
            str(spec["groupName"]),
            options=options,
            description=str(spec.get("description") or ""),
            unique=unique,
            hubspot_defined=False,
            display_order=_int_or(spec.get("displayOrder"), -1),
            created_at=stamp,
        )
        definition["hidden"] = bool(spec.get("hidden", False))
        definition["formField"] = bool(spec.get("formField", False))
        definition["createdUserId"] = definition["updatedUserId"] = "1"
        self.db.execute(
            "INSERT OR REPLACE INTO hs_properties (otype, name, definition, archived) VALUES (?, ?, ?, 0)",
            (ot.name, name, json.dumps(definition)),
        )
        return definition

    def create_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        with self.transaction():
            definition = self._new_property(ot, self._body(req))
        self._load_properties()
        return Response(201, definition)

    def update_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        definition = stored[0]
        patch = self._body(req) or {}
        if not isinstance(patch, dict):
            raise validation_error("Invalid input JSON: expected a property update object")
        if definition.get("hubspotDefined") and any(k in patch for k in ("type", "fieldType")):
            raise validation_error(f"The type of HubSpot-defined property {name} cannot be changed")
        kind = str(patch.get("type", definition["type"]))
        field_type = str(patch.get("fieldType", definition["fieldType"]))
        if kind not in FIELD_TYPES or field_type not in FIELD_TYPES[kind]:
            raise validation_error(f"fieldType {field_type!r} is not valid for a property of type {kind!r}")
        if "groupName" in patch and not self._group_exists(ot.name, str(patch["groupName"])):
            raise validation_error(f"Property group {patch['groupName']} does not exist for object type {ot.type_id}")
        for key in ("label", "description", "groupName", "displayOrder", "hidden", "formField"):
            if key in patch:
                definition[key] = patch[key]
        definition["type"], definition["fieldType"] = kind, field_type
        if "options" in patch:
            definition["options"] = option_dicts(patch["options"] or [])
        definition["updatedAt"] = iso_ms(now_ms())
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_properties SET definition = ? WHERE otype = ? AND name = ?",
                (json.dumps(definition), ot.name, name),
            )
        self._load_properties()
        return Response(200, definition)

    def _archive_property(self, ot: ObjectType, name: str) -> None:
        stored = self._stored_property(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property with name: {name}")
        definition = stored[0]
        if definition.get("hubspotDefined"):
            raise validation_error(f"{name} is a HubSpot-defined property and cannot be archived")
        definition["archived"] = True
        definition["archivedAt"] = iso_ms(now_ms())
        self.db.execute(
            "UPDATE hs_properties SET definition = ?, archived = 1 WHERE otype = ? AND name = ?",
            (json.dumps(definition), ot.name, name),
        )

    def archive_property(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        with self.transaction():
            self._archive_property(ot, unquote(req.params["name"]))
        self._load_properties()
        return Response(204)

    def batch_read_properties(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        body, inputs = self._inputs(req)
        archived = bool(body.get("archived"))
        results, errors = [], []
        for item in inputs:
            name = str(item.get("name", ""))
            stored = self._stored_property(ot.name, name)
            if stored is None or stored[1] != archived:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"Unable to find property with name: {name}",
                        "context": {"name": [name]},
                    }
                )
            else:
                results.append(stored[0])
        return Response(207 if errors else 200, self._batch(results, errors, started))

    def batch_create_properties(self, req: Request) -> Response:
        started = now_ms()
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        results, errors = [], []
        with self.transaction():
            for spec in inputs:
                try:
                    results.append(self._new_property(ot, spec))
                except ApiError as exc:
                    errors.append(
                        {
                            "status": "error",
                            "category": exc.body["category"],
                            "message": exc.body["message"],
                            "context": {"name": [str(spec.get("name", ""))]},
                        }
                    )
        self._load_properties()
        return Response(207 if errors else 201, self._batch(results, errors, started))

    def batch_archive_properties(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        _, inputs = self._inputs(req)
        with self.transaction():
            for item in inputs:
                stored = self._stored_property(ot.name, str(item.get("name", "")))
                if stored is not None and not stored[1] and not stored[0].get("hubspotDefined"):
                    self._archive_property(ot, str(item["name"]))
        self._load_properties()
        return Response(204)

    # -- property groups --------------------------------------------------------------------------
    def _stored_group(self, otype: str, name: str) -> tuple[dict[str, Any], bool] | None:
        row = self.db.execute(
            "SELECT definition, archived FROM hs_groups WHERE otype = ? AND name = ?", (otype, name)
        ).fetchone()
        return (json.loads(row["definition"]), bool(row["archived"])) if row else None

    def list_groups(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        rows = self.db.execute(
            "SELECT definition FROM hs_groups WHERE otype = ? AND archived = 0 ORDER BY rowid", (ot.name,)
        )
        return Response(200, {"results": [json.loads(r["definition"]) for r in rows]})

    def get_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        return Response(200, stored[0])

    def create_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        spec = self._body(req)
        if not isinstance(spec, dict) or not spec.get("name") or not spec.get("label"):
            raise validation_error("Missing required fields: name and label")
        name = str(spec["name"])
        if not PROPERTY_NAME.match(name):
            raise validation_error(
                f"Invalid property group name {name!r}: lowercase letters, digits and underscores only"
            )
        stored = self._stored_group(ot.name, name)
        if stored is not None and not stored[1]:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists.")
        order = spec.get("displayOrder")
        group = {
            "name": name,
            "label": str(spec["label"]),
            "displayOrder": -1 if order is None else int(order),
            "archived": False,
        }
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO hs_groups (otype, name, definition, archived) VALUES (?, ?, ?, 0)",
                (ot.name, name, json.dumps(group)),
            )
        return Response(201, group)

    def update_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        group = stored[0]
        patch = self._body(req) or {}
        for key in ("label", "displayOrder"):
            if key in patch:
                group[key] = patch[key]
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_groups SET definition = ? WHERE otype = ? AND name = ?", (json.dumps(group), ot.name, name)
            )
        return Response(200, group)

    def archive_group(self, req: Request) -> Response:
        ot = self._type(req.params["otype"])
        name = unquote(req.params["name"])
        stored = self._stored_group(ot.name, name)
        if stored is None or stored[1]:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property group with name: {name}")
        if any(d.get("groupName") == name for d in self._props[ot.name].values()):
            raise validation_error(f"Property group {name} still has properties; move or archive them first")
        group = {**stored[0], "archived": True}
        with self.transaction() as db:
            db.execute(
                "UPDATE hs_groups SET definition = ?, archived = 1 WHERE otype = ? AND name = ?",
                (json.dumps(group), ot.name, name),
            )
        return Response(204)


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)
