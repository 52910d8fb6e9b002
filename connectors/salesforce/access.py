"""What the running Salesforce user may see and do: who it is, its object permissions, and granting
it our fields.

:meth:`SalesforceAccess.access` reads the object permissions from describe, which answers for the
running user: the object-level ``queryable`` / ``createable`` / ``updateable`` are its Read, Create
and Edit permissions (an object it cannot read is not found at all).

A custom field created through the Tooling API is granted to no one: until field-level security
grants it, describe omits it, SOQL naming it fails with ``INVALID_FIELD`` and writes naming it
fail. :meth:`SalesforceAccess.grant_field_access` grants read and edit the way an admin would, with
the standard setup sObjects of the REST API (Object Reference: ``PermissionSet``,
``FieldPermissions``, ``PermissionSetAssignment``):

1. the permission set named ``name`` (found by ``Name``, created if missing);
2. one ``FieldPermissions`` row per field with ``PermissionsRead`` and ``PermissionsEdit`` (rows
   already there and only readable are upgraded to edit), created through sObject Collections;
3. its assignment to the running user (``GET /services/oauth2/userinfo`` names the user).

Idempotent: once everything is in place a second call makes three reads and the UserInfo call,
and no write. Creates are not retried (a create is not idempotent); a row another writer added
first is answered ``DUPLICATE_VALUE`` and counts as granted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.crm import ObjectAccess
from connectors.errors import CrmError
from connectors.salesforce.reads import SalesforceReads
from connectors.salesforce.schema import SalesforceSchema
from connectors.salesforce.soql import check_identifier, quote
from connectors.salesforce.transport import CRM

MAX_COLLECTION = 200


@dataclass
class FieldAccessReport:
    """What :meth:`SalesforceAccess.grant_field_access` found and did."""

    permission_set: str
    permission_set_id: str | None = None
    created_permission_set: bool = False
    assigned: bool = False  # the assignment to the running user was made by this call
    granted: dict[str, list[str]] = field(default_factory=dict)  # object -> fields granted (or upgraded) now
    failed: dict[str, str] = field(default_factory=dict)  # "Lead.X__c" -> why it could not be granted

    def as_dict(self) -> dict[str, Any]:
        return {"permission_set": self.permission_set, "created_permission_set": self.created_permission_set,
                "assigned": self.assigned, "granted": self.granted, "failed": self.failed}


class SalesforceAccess(SalesforceSchema, SalesforceReads):
    """The running user (UserInfo) and field-level security grants through a permission set."""

    _user: dict[str, Any] | None = None

    def _userinfo(self) -> dict[str, Any]:
        """Who the session belongs to (OAuth UserInfo); one call per connector."""
        if self._user is None:
            body = self._retrying(lambda: self._json(self._request("GET", "/services/oauth2/userinfo")))
            if not isinstance(body, dict) or not body.get("user_id"):
                raise CrmError("/services/oauth2/userinfo named no user_id", crm=CRM)
            self._user = body
        return self._user

    def running_user_id(self) -> str:
        """The Id of the user the session belongs to."""
        return str(self._userinfo()["user_id"])

    def running_user_name(self) -> str:
        """The username of the user the session belongs to."""
        info = self._userinfo()
        return str(info.get("preferred_username") or info["user_id"])

    def access(self, sobject: str) -> ObjectAccess:
        """The object permissions the running user lacks on ``sobject`` (``Create on Lead``, …)."""
        try:
            schema = self.describe(sobject)
        except CrmError as exc:
            if exc.status != 404:
                raise
            gone: dict[str, tuple[str, ...]] = {a: (f"Read on {sobject}",) for a in ("read", "describe", "create",
                                                                                     "update")}
            return ObjectAccess(sobject, "permission", gone)
        lacking: dict[str, tuple[str, ...]] = {}
        if not schema.queryable:
            lacking["read"] = (f"Read on {sobject}",)
        if not schema.createable:
            lacking["create"] = (f"Create on {sobject}",)
        if not schema.updateable:
            lacking["update"] = (f"Edit on {sobject}",)
        return ObjectAccess(sobject, "permission", lacking)

    def grant_field_access(self, name: str, label: str, fields: Mapping[str, Sequence[str]]) -> FieldAccessReport:
        """Read and edit on ``fields`` (object → field API names) for the running user, through
        the permission set ``name``; see the module docstring. Describe is refreshed afterwards
        for every object that got a grant, so the caller sees the fields at once."""
        check_identifier(name, "permission set name")
        report = FieldAccessReport(name)
        wanted = {f"{obj}.{f}": (obj, f) for obj, names in fields.items() for f in names}
        for obj, f in wanted.values():
            check_identifier(obj, "object name")
            check_identifier(f, "field name")
        found = list(self._query_all(f"SELECT Id FROM PermissionSet WHERE Name = {quote(name)}"))
        if found:
            ps = str(found[0]["Id"])
        else:
            ps = self._create_one("PermissionSet", {"Name": name, "Label": label, "Description":
                                                    "Read and edit on the fields CRM writeback writes."})
            report.created_permission_set = True
        report.permission_set_id = ps
        have = {str(r["Field"]).lower(): r for r in self._query_all(
            f"SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = {quote(ps)}")}
        creates, upgrades = [], []
        for full, (obj, _) in wanted.items():
            row = have.get(full.lower())
            if row is None:
                creates.append((full, {"attributes": {"type": "FieldPermissions"}, "ParentId": ps,
                                       "SobjectType": obj, "Field": full, "PermissionsRead": True,
                                       "PermissionsEdit": True}))
            elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
                upgrades.append((full, {"attributes": {"type": "FieldPermissions"}, "Id": row["Id"],
                                        "PermissionsRead": True, "PermissionsEdit": True}))
        for method, todo in (("POST", creates), ("PATCH", upgrades)):
            for start in range(0, len(todo), MAX_COLLECTION):
                chunk = todo[start : start + MAX_COLLECTION]
                body = {"allOrNone": False, "records": [record for _, record in chunk]}
                results = self._json(self._request(method, "composite/sobjects", json_body=body))
                for (full, _), result in zip(chunk, results, strict=True):
                    errors = result.get("errors") or []
                    if result.get("success") or any(e.get("statusCode") == "DUPLICATE_VALUE" for e in errors):
                        obj, f = wanted[full]
                        report.granted.setdefault(obj, []).append(f)
                    else:
                        report.failed[full] = "; ".join(
                            f"{e.get('statusCode')}: {self._scrub(str(e.get('message') or ''))}" for e in errors)
        user = self.running_user_id()
        assigned = list(self._query_all("SELECT Id FROM PermissionSetAssignment WHERE "
                                        f"AssigneeId = {quote(user)} AND PermissionSetId = {quote(ps)}"))
        if not assigned:
            self._create_one("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps})
            report.assigned = True
        if report.granted or report.assigned:
            for obj in fields:
                self.describe(obj, refresh=True)
        return report

    def _create_one(self, sobject: str, values: dict[str, Any]) -> str:
        body = self._json(self._request("POST", f"sobjects/{sobject}/", json_body=values))
        return str(body["id"])
