"""The setup sObjects that decide what the running user may see and do: ``PermissionSet``,
``FieldPermissions`` and ``PermissionSetAssignment``, and the field grants they add up to.

As in an org, they are ordinary records: created, read (SOQL), updated and deleted through the
REST API like Leads, and kept in the same ``records`` table. Their fields follow the Object
Reference for the Salesforce Platform ("PermissionSet", "FieldPermissions",
"PermissionSetAssignment", API v24.0+):

- ``PermissionSet``: ``Name`` (the API name), ``Label``, ``Description``, ``IsOwnedByProfile``
  (read-only; every profile has one permission set holding its permissions);
- ``FieldPermissions``: ``ParentId`` (the permission set), ``SobjectType``, ``Field``
  (``Lead.Warmly_Last_Seen__c``), ``PermissionsRead``, ``PermissionsEdit`` (defaulted false on
  create; edit requires read; a row without read "will be deleted");
- ``PermissionSetAssignment``: ``AssigneeId`` (a User), ``PermissionSetId``; create, query and
  delete only.

:func:`field_grants` is the rule field-level security applies: a custom field is visible to the
running user when a ``FieldPermissions`` row with read access hangs off a permission set assigned
to that user (the profile's own permission set included); edit access makes it writable.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from connectors.sandbox.salesforce_schema import OBJECTS, USER_ID, FieldDef, ObjectDef, now_iso

#: The profile of the integration user and its permission set (``IsOwnedByProfile``), as every
#: org has one per profile. Its name follows Salesforce's ``X00e…`` naming of profile permission sets.
PROFILE_LABEL = "Integration User Profile"
PROFILE_PERMSET_NAME = "X00e8d0000000001"


def _system_fields() -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return [
        FieldDef("CreatedDate", "Created Date", "datetime", nillable=False, defaulted_on_create=True, **ro),
        FieldDef("CreatedById", "Created By ID", "reference", length=18, nillable=False, defaulted_on_create=True,
                 reference_to=("User",), relationship_name="CreatedBy", **ro),
        FieldDef("LastModifiedDate", "Last Modified Date", "datetime", nillable=False, defaulted_on_create=True, **ro),
        FieldDef("LastModifiedById", "Last Modified By ID", "reference", length=18, nillable=False,
                 defaulted_on_create=True, reference_to=("User",), relationship_name="LastModifiedBy", **ro),
        FieldDef("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted_on_create=True, **ro),
    ]


def _id(label: str) -> FieldDef:
    return FieldDef("Id", label, "id", length=18, nillable=False, createable=False, updateable=False,
                    id_lookup=True, defaulted_on_create=True)


def _flag(name: str, label: str, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "boolean", nillable=False, default_value=False, defaulted_on_create=True, **kw)


def _permission_set_fields() -> list[FieldDef]:
    return [
        _id("Permission Set ID"),
        FieldDef("Name", "Name", "string", length=80, nillable=False, name_field=True),
        FieldDef("Label", "Label", "string", length=80, nillable=False),
        FieldDef("Description", "Description", "textarea", length=255),
        FieldDef("NamespacePrefix", "Namespace Prefix", "string", length=15, createable=False, updateable=False),
        _flag("IsOwnedByProfile", "Is Owned by Profile", createable=False, updateable=False),
        *_system_fields(),
    ]


def _field_permissions_fields() -> list[FieldDef]:
    # SobjectType and Field are restricted picklists in Salesforce; their values depend on the
    # org's fields, so the sandbox checks them in its setup rules rather than in a fixed list.
    return [
        _id("Field Permissions ID"),
        FieldDef("ParentId", "Parent ID", "reference", length=18, nillable=False, updateable=False,
                 reference_to=("PermissionSet",), relationship_name="Parent"),
        FieldDef("SobjectType", "SObject Type Name", "picklist", length=40, nillable=False, updateable=False),
        FieldDef("Field", "Field Name", "picklist", length=100, nillable=False, updateable=False),
        _flag("PermissionsRead", "Read Field"),
        _flag("PermissionsEdit", "Edit Field"),
        FieldDef("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted_on_create=True,
                 createable=False, updateable=False),
    ]


def _assignment_fields() -> list[FieldDef]:
    return [
        _id("Permission Set Assignment ID"),
        FieldDef("AssigneeId", "Assignee ID", "reference", length=18, nillable=False, updateable=False,
                 reference_to=("User",), relationship_name="Assignee"),
        FieldDef("PermissionSetId", "Permission Set ID", "reference", length=18, nillable=False, updateable=False,
                 reference_to=("PermissionSet",), relationship_name="PermissionSet"),
        FieldDef("SystemModstamp", "System Modstamp", "datetime", nillable=False, defaulted_on_create=True,
                 createable=False, updateable=False),
    ]


SETUP_OBJECTS: dict[str, ObjectDef] = {
    "PermissionSet": ObjectDef("PermissionSet", "Permission Set", "Permission Sets", "0PS",
                               _permission_set_fields()),
    "FieldPermissions": ObjectDef("FieldPermissions", "Field Permissions", "Field Permissions", "01k",
                                  _field_permissions_fields()),
    "PermissionSetAssignment": ObjectDef("PermissionSetAssignment", "Permission Set Assignment",
                                         "Permission Set Assignments", "0Pa", _assignment_fields()),
}
#: Setup objects Salesforce lets you create and delete but not update.
NOT_UPDATEABLE = frozenset({"PermissionSetAssignment"})
ALL_OBJECTS: dict[str, ObjectDef] = {**OBJECTS, **SETUP_OBJECTS}


def sobject_named(name: str) -> ObjectDef | None:
    """A data or setup object by API name, any case (``object_named`` knows the data objects only)."""
    for obj in ALL_OBJECTS.values():
        if obj.name.lower() == name.lower():
            return obj
    return None


def field_grants(db: sqlite3.Connection) -> dict[tuple[str, str], bool]:
    """``(object, lower-case field) → editable`` for every field the running user is granted.

    Read from the records themselves: the permission sets assigned to the running user, then
    the ``FieldPermissions`` rows of those sets that grant read (edit on any of them wins).
    """
    assigned = {row[0] for row in db.execute(
        "SELECT json_extract(data, '$.PermissionSetId') FROM records "
        "WHERE sobject = 'PermissionSetAssignment' AND deleted = 0 AND json_extract(data, '$.AssigneeId') = ?",
        (USER_ID,),
    )}
    grants: dict[tuple[str, str], bool] = {}
    for parent, full_name, edit in db.execute(
        "SELECT json_extract(data, '$.ParentId'), json_extract(data, '$.Field'), "
        "json_extract(data, '$.PermissionsEdit') FROM records "
        "WHERE sobject = 'FieldPermissions' AND deleted = 0 AND json_extract(data, '$.PermissionsRead')"
    ):
        if parent not in assigned or not full_name:
            continue
        obj, _, name = str(full_name).partition(".")
        key = (obj, name.lower())
        grants[key] = grants.get(key, False) or bool(edit)
    return grants


def seed_profile(db: sqlite3.Connection, next_id: Any) -> None:
    """The integration user's profile permission set and its assignment, if the store has none.

    Like every org, the sandbox starts with them; like a fresh custom field, nothing grants any
    custom field on them until someone adds ``FieldPermissions``.
    """
    if db.execute("SELECT 1 FROM records WHERE sobject = 'PermissionSet' AND deleted = 0 "
                  "AND json_extract(data, '$.IsOwnedByProfile')").fetchone():
        return
    stamp = now_iso()
    system = {"CreatedDate": stamp, "CreatedById": USER_ID, "LastModifiedDate": stamp, "LastModifiedById": USER_ID,
              "SystemModstamp": stamp}
    ps_id: str = next_id("0PS", 1)[0]
    psa_id: str = next_id("0Pa", 1)[0]
    permset = {"Id": ps_id, "Name": PROFILE_PERMSET_NAME, "Label": PROFILE_LABEL, "IsOwnedByProfile": True,
               "Description": "The permission set owned by the integration user's profile.", **system}
    assignment = {"Id": psa_id, "AssigneeId": USER_ID, "PermissionSetId": ps_id, "SystemModstamp": stamp}
    db.executemany("INSERT INTO records (id, sobject, deleted, data) VALUES (?, ?, 0, ?)", [
        (ps_id, "PermissionSet", json.dumps(permset)),
        (psa_id, "PermissionSetAssignment", json.dumps(assignment)),
    ])
    db.execute("INSERT INTO record_keys (sobject, field, key, id) VALUES ('PermissionSetAssignment', "
               "'PermissionSetId', ?, ?)", (ps_id, psa_id))


def drop_field_permissions(db: sqlite3.Connection, full_name: str) -> None:
    """A deleted field takes its field permissions with it (call inside the deleting transaction)."""
    gone = [(r[0],) for r in db.execute(
        "SELECT id FROM records WHERE sobject = 'FieldPermissions' AND lower(json_extract(data, '$.Field')) = ?",
        (full_name.lower(),))]
    db.executemany("DELETE FROM records WHERE id = ?", gone)
    db.executemany("DELETE FROM record_keys WHERE id = ?", gone)
