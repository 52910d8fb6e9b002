"""The client's call counting: endpoint names, and one counter shared by client and connector."""

from __future__ import annotations

from connectors.crm import ApiCalls
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import endpoint_name


def test_endpoint_names_fold_ids() -> None:
    base = "https://127.0.0.1:1/services/data/v62.0/"
    assert endpoint_name("patch", base + "composite/sobjects/Lead/Warmly_Sync_Key__c") == (
        "PATCH composite/sobjects/Lead/Warmly_Sync_Key__c")
    assert endpoint_name("GET", base + "query/?q=SELECT+Id") == "GET query"
    assert endpoint_name("GET", base + "query/01gD0000002HU6KIAW-2000") == "GET query/{id}"
    assert endpoint_name("GET", base + "jobs/ingest/750R0000000zlh9IAA/successfulResults/") == (
        "GET jobs/ingest/{id}/successfulResults")


def test_one_counter_shared_by_client_and_connector_counts_each_call_once(sandbox_clean) -> None:
    from connectors.salesforce.client import SalesforceCredentials, make_client

    calls = ApiCalls()
    client = make_client(SalesforceCredentials.from_env(sandbox_clean.salesforce_env()), calls=calls)
    conn = SalesforceConnector(client, calls=calls)
    conn.describe("Contact")
    conn.find("Contact", "Email", ["a@b.io"], ["Email"])
    assert conn.calls is calls
    assert calls.as_dict() == {"reads": 2, "writes": 0, "total": 2,
                               "by_endpoint": {"GET sobjects/Contact/describe": 1, "GET query": 1}}
    assert sandbox_clean.calls("salesforce")["total"] == 2
    assert conn.api_usage is not None and conn.api_usage[0] >= 2
