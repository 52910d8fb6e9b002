"""Helpers shared by the Salesforce sandbox tests.

The fixtures they use (``sandbox``, ``sandbox_clean``, ``sf``) come from ``tests/conftest.py``: one
sandbox per test session, reset before each test that asks for a clean one.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce

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


def add_field(sf: Salesforce, full_name: str, **metadata: Any) -> str:
    result = sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata}
    )
    assert result["success"] is True, result
    return result["id"]


def client(sandbox, **overrides: Any) -> Salesforce:
    env = {**sandbox.salesforce_env(), **overrides}
    return make_client(SalesforceCredentials.from_env(env))


def fault(sandbox, **spec: Any) -> None:
    sandbox.admin("salesforce", "POST", "faults", spec)


def config(sandbox, **values: Any) -> None:
    sandbox.admin("salesforce", "POST", "config", values)
