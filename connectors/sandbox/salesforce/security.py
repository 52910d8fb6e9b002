"""What Salesforce checks when the setup objects that carry field-level security are written, and
what a change to them does to the running user's view of the fields.

The objects (``PermissionSet``, ``FieldPermissions``, ``PermissionSetAssignment``) go through the
same write path as Leads; :meth:`SecurityMixin._setup_rules` adds the rules of the Object Reference
("FieldPermissions": ``Field`` must name a field of ``SobjectType`` that can carry permissions —
"Required fields cannot be given field permissions" — and edit requires read; one row per field and
permission set; one assignment per user and permission set; a permission set's ``Name`` is an API
name, unique in the org). Deleting a permission set takes its field permissions and assignments
with it; the profile's own permission set and its assignment cannot be deleted. After any write to
them, :meth:`SecurityMixin._security_changed` drops the field permissions left without read ("a
FieldPermissions record must have at minimum PermissionsRead set to true, or it will be deleted")
and rebuilds the fields the running user sees.

Error codes and messages: ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`` for a ``SobjectType`` /
``Field`` outside their picklists, and ``DUPLICATE_VALUE`` "duplicate value found: <unknown>
duplicates value on record with id: <unknown>" for a repeated row, are Salesforce's own for
restricted picklists and unique setup rows (as reported by public client suites); the wording of
the edit-needs-read and API-name errors is the sandbox's own (see ``SALESFORCE.md``).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.salesforce.batch import _Batch
from connectors.sandbox.salesforce.errors import rec_error
from connectors.sandbox.salesforce.records import RecordsMixin
from connectors.sandbox.salesforce.setup_objects import SETUP_OBJECTS
from connectors.sandbox.salesforce_schema import DEVELOPER_NAME_RE, FieldDef, object_named

_UNKNOWN_DUPLICATE = "duplicate value found: <unknown> duplicates value on record with id: <unknown>"


def permissionable(fd: FieldDef) -> bool:
    """Whether field permissions can be set on the field: custom, and not required (a checkbox can)."""
    return fd.custom and (fd.nillable or fd.type == "boolean")


class SecurityMixin(RecordsMixin):
    # -- rules on write -------------------------------------------------------------------
    def _setup_rules(self, b: _Batch, sobject: str, data: dict[str, Any], self_id: str | None
                     ) -> list[dict[str, Any]]:
        """Per-record errors for a setup object about to be written (``data`` is the whole record)."""
        if sobject == "PermissionSet":
            return self._permission_set_rules(b, data, self_id)
        if sobject == "FieldPermissions":
            return self._field_permission_rules(b, data, self_id)
        if sobject == "PermissionSetAssignment":
            return self._assignment_rules(b, data, self_id)
        return []

    def _live(self, b: _Batch, sobject: str) -> list[dict[str, Any]]:
        """Every live record of a (small) setup object, as this call sees it."""
        ids = {r[0] for r in self.db.execute("SELECT id FROM records WHERE sobject = ? AND deleted = 0", (sobject,))}
        ids.update(rid for rid, rec in b.records.items() if rec[0] == sobject)
        b.prefetch(ids)
        return [rec[2] for rid in sorted(ids) if (rec := b.get(rid)) is not None and not rec[1]]

    def _permission_set_rules(self, b: _Batch, data: dict[str, Any], self_id: str | None) -> list[dict[str, Any]]:
        name = str(data.get("Name") or "")
        if not DEVELOPER_NAME_RE.match(name):
            return [rec_error(
                "FIELD_INTEGRITY_EXCEPTION",
                "Name: The API Name can only contain underscores and alphanumeric characters. It must be unique, "
                "begin with a letter, not include spaces, not end with an underscore, and not contain two "
                "consecutive underscores.", ["Name"],
            )]
        for other in self._live(b, "PermissionSet"):
            if other.get("Id") != self_id and str(other.get("Name") or "").lower() == name.lower():
                return [rec_error("DUPLICATE_DEVELOPER_NAME",
                                  f"The API Name {name} is already in use by another permission set.", ["Name"])]
        return []

    def _field_permission_rules(self, b: _Batch, data: dict[str, Any], self_id: str | None
                                ) -> list[dict[str, Any]]:
        obj = object_named(str(data.get("SobjectType") or ""))
        if obj is None:
            return [rec_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"SObject Type Name: bad value for restricted picklist field: {data.get('SobjectType')}",
                              ["SobjectType"])]
        full = str(data.get("Field") or "")
        prefix, _, name = full.partition(".")
        fd = self._all_fields[obj.name].get(name.lower()) if prefix.lower() == obj.name.lower() else None
        if fd is None or not permissionable(fd):
            return [rec_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"Field Name: bad value for restricted picklist field: {full}", ["Field"])]
        data["SobjectType"], data["Field"] = obj.name, f"{obj.name}.{fd.name}"
        if data.get("PermissionsEdit") and not data.get("PermissionsRead"):
            return [rec_error("FIELD_INTEGRITY_EXCEPTION", "Permission Edit Field depends on permission(s): Read Field",
                              ["PermissionsEdit"])]
        for other in sorted(b.ids_for_key("FieldPermissions", "ParentId", str(data["ParentId"])) - {self_id or ""}):
            rec = b.get(other)
            if rec is not None and not rec[1] and str(rec[2].get("Field") or "").lower() == data["Field"].lower():
                return [rec_error("DUPLICATE_VALUE", _UNKNOWN_DUPLICATE)]
        return []

    def _assignment_rules(self, b: _Batch, data: dict[str, Any], self_id: str | None) -> list[dict[str, Any]]:
        key = str(data["PermissionSetId"])
        for other in sorted(b.ids_for_key("PermissionSetAssignment", "PermissionSetId", key) - {self_id or ""}):
            rec = b.get(other)
            if rec is not None and not rec[1] and rec[2].get("AssigneeId") == data.get("AssigneeId"):
                return [rec_error("DUPLICATE_VALUE", _UNKNOWN_DUPLICATE)]
        return []

    # -- deletes --------------------------------------------------------------------------
    def _profile_owned(self, b: _Batch, permset_id: str | None) -> bool:
        rec = b.get(permset_id) if permset_id else None
        return bool(rec and rec[0] == "PermissionSet" and rec[2].get("IsOwnedByProfile"))

    def _setup_delete(self, b: _Batch, rid: str, rec: list[Any]) -> dict[str, Any] | None:
        """Delete a setup record for good, with what hangs off it; an error for what a profile owns."""
        sobject, data = rec[0], rec[2]
        owned = rid if sobject == "PermissionSet" else data.get("PermissionSetId")
        if sobject in ("PermissionSet", "PermissionSetAssignment") and self._profile_owned(b, owned):
            return rec_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
        b.delete(rid, hard=True)
        if sobject == "PermissionSet":
            for child_type, link in (("FieldPermissions", "ParentId"), ("PermissionSetAssignment", "PermissionSetId")):
                for child in sorted(b.ids_for_key(child_type, link, rid)):
                    crec = b.get(child)
                    if crec is not None and not crec[1]:
                        b.delete(child, hard=True)
        return None

    # -- after a write --------------------------------------------------------------------
    def _security_changed(self) -> None:
        """Drop field permissions without read, then rebuild what the running user sees."""
        with self.transaction():
            gone = [(r[0],) for r in self.db.execute(
                "SELECT id FROM records WHERE sobject = 'FieldPermissions' "
                "AND NOT coalesce(json_extract(data, '$.PermissionsRead'), 0)")]
            self.db.executemany("DELETE FROM records WHERE id = ?", gone)
            self.db.executemany("DELETE FROM record_keys WHERE id = ?", gone)
        self._rebuild_fields()


def touches_security(sobjects: set[str | None]) -> bool:
    return any(s in SETUP_OBJECTS for s in sobjects)
