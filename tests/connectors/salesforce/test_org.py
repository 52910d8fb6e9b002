"""The org (:mod:`connectors.salesforce.org`): identity, the API versions it serves, its daily allowance."""

from __future__ import annotations

from connectors.salesforce.api import SalesforceConnector


def test_org_details_versions_and_allowance(conn: SalesforceConnector, sandbox_clean) -> None:
    org = conn.org_details()
    assert org["Id"].startswith("00D") and org["IsSandbox"] is True and org["OrganizationType"]
    versions = conn.api_versions()
    assert conn.api_version == "62.0" and "62.0" in versions and versions == sorted(versions, key=float)
    sandbox_clean.admin("salesforce", "POST", "config", {"daily_api_limit": 500})
    remaining, most = conn.daily_allowance()
    assert (remaining, most) == (498, 500)  # spent: the Organization query, and the limits call itself
    assert conn.api_usage == (500 - remaining, 500)
