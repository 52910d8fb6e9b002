"""Helpers for the Salesforce connector tests: the Lead key, and the SDK and sandbox calls that
seed and check CRM state without going through the connector."""

from __future__ import annotations

from connectors.crm import ApiCalls, FieldSpec
from connectors.salesforce.api import SalesforceConnector

KEY = "Warmly_Sync_Key__c"
UPSERT_ENDPOINT = f"PATCH composite/sobjects/Lead/{KEY}"
PERMISSION_SET = "Connector_Tests"


def _add_key(conn: SalesforceConnector) -> None:
    """The Lead sync key, created and granted to the running user, as `writeback setup` does."""
    conn.create_fields("Lead", [FieldSpec(KEY, "Warmly Sync Key", "string", unique_key=True)])
    conn.grant_field_access(PERMISSION_SET, "Connector tests", {"Lead": [KEY]})


def _reset(conn: SalesforceConnector) -> ApiCalls:
    """A fresh counter on the connector's session (the old one keeps its own tally)."""
    from connectors.salesforce.client import count_calls

    return count_calls(conn.sf.session, ApiCalls())


def _lead(email: str, **extra: object) -> dict[str, object]:
    return {KEY: email, "Email": email, "LastName": email.split("@")[0].title(), "Company": "Acme", **extra}


def _count(sf, where: str) -> int:
    return sf.query(f"SELECT COUNT() FROM Lead WHERE {where}")["totalSize"]


def _insert(sf, records: list[dict[str, object]]) -> list[str]:
    """Seed records through the SDK itself (sObject Collections create), not through our connector."""
    ids: list[str] = []
    for start in range(0, len(records), 200):
        chunk = [{"attributes": {"type": "Lead"}, **r} for r in records[start : start + 200]]
        body = {"allOrNone": True, "records": chunk}
        ids += [r["id"] for r in sf.restful("composite/sobjects", method="POST", json=body)]
    return ids


def _server_calls(sandbox, needle: str) -> int:
    return sum(n for name, n in sandbox.calls("salesforce")["by_endpoint"].items() if needle in name)
