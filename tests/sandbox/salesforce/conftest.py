"""Helpers shared by the Salesforce sandbox tests.

The fixtures they use (``sandbox``, ``sandbox_clean``, ``sf``) come from ``tests/conftest.py``: one
sandbox per test session, reset before each test that asks for a clean one.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce, format_soql

from connectors.salesforce.client import SalesforceCredentials, make_client


def lead(**fields: Any) -> dict[str, Any]:
    return {"LastName": "Doe", "Company": "Acme", **fields}


def records(sobject: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"attributes": {"type": sobject}, **row} for row in rows]


def create_many(sf: Salesforce, sobject: str, rows: list[dict[str, Any]], all_or_none: bool = False) -> list[Any]:
    return sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records(sobject, rows)}
    )


def count(sf: Salesforce, sobject: str = "Lead", where: str = "") -> int:
    return sf.query(f"SELECT COUNT() FROM {sobject} {where}")["totalSize"]


def error(exc: pytest.ExceptionInfo) -> dict[str, Any]:
    content = exc.value.content
    assert isinstance(content, list) and content, content
    return content[0]


def add_field(sf: Salesforce, full_name: str, *, grant_access: bool = True, **metadata: Any) -> str:
    """Create a custom field through the Tooling API and, as an admin would, grant it to the running
    user (field-level security hides a new field until a permission set grants it)."""
    result = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata}
    )
    assert result["success"] is True, result
    if grant_access:
        grant(sf, full_name)
    return result["id"]


TEST_PERMSET = "Sandbox_Test_Access"


def running_user(sf: Salesforce) -> str:
    """The logged-in user's Id, from the OAuth UserInfo endpoint."""
    resp = sf.session.get(f"https://{sf.sf_instance}/services/oauth2/userinfo", headers=sf.headers, timeout=30)
    resp.raise_for_status()
    return resp.json()["user_id"]


def permission_set(sf: Salesforce, name: str = TEST_PERMSET, *, assign: bool = True) -> str:
    """The Id of permission set ``name`` (created if missing), assigned to the running user."""
    found = sf.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", name))["records"]
    if found:
        return found[0]["Id"]
    ps = sf.PermissionSet.create({"Name": name, "Label": name.replace("_", " ")})["id"]
    if assign:
        sf.PermissionSetAssignment.create({"AssigneeId": running_user(sf), "PermissionSetId": ps})
    return ps


def grant(sf: Salesforce, *full_names: str, edit: bool = True, name: str = TEST_PERMSET) -> list[str]:
    """Field permissions (read, and edit unless ``edit=False``) on ``Object.Field__c`` names."""
    ps = permission_set(sf, name)
    return [sf.FieldPermissions.create({"ParentId": ps, "SobjectType": full.split(".")[0], "Field": full,
                                        "PermissionsRead": True, "PermissionsEdit": edit})["id"]
            for full in full_names]


def client(sandbox, **overrides: Any) -> Salesforce:
    env = {**sandbox.salesforce_env(), **overrides}
    return make_client(SalesforceCredentials.from_env(env))


def fault(sandbox, **spec: Any) -> None:
    sandbox.admin("salesforce", "POST", "faults", spec)


def config(sandbox, **values: Any) -> None:
    sandbox.admin("salesforce", "POST", "config", values)
