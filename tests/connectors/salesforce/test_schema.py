"""Describe and custom-field creation against the Salesforce sandbox, checked through the SDK.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

from connectors.crm import FieldSpec
from connectors.salesforce.api import SalesforceConnector
from tests.connectors.salesforce.helpers import KEY, PERMISSION_SET, _server_calls


def test_describe_maps_fields_and_is_cached(conn: SalesforceConnector) -> None:
    schema = conn.describe("Lead")
    f = schema.fields
    assert schema.object_type == "Lead"
    assert f["Email"].kind == "email" and f["Email"].createable and f["Email"].updateable
    assert f["Id"].kind == "id" and not f["Id"].createable and not f["Id"].required_on_create
    assert f["LastName"].required_on_create and f["Company"].required_on_create
    assert not f["FirstName"].required_on_create
    assert f["Title"].kind == "string" and f["Title"].length == 128
    assert f["IsConverted"].kind == "bool" and not f["IsConverted"].createable
    assert f["NumberOfEmployees"].kind == "int" and f["AnnualRevenue"].kind == "number"
    assert f["Status"].kind == "picklist" and not f["Status"].required_on_create  # defaulted on create
    assert not f["Email"].custom
    assert conn.describe("Lead") is schema
    assert conn.calls.by_endpoint == {"GET sobjects/Lead/describe": 1}
    conn.describe("Lead", refresh=True)
    assert conn.calls.by_endpoint == {"GET sobjects/Lead/describe": 2}


def test_create_fields_is_idempotent(conn: SalesforceConnector, sf, sandbox_clean) -> None:
    specs = [
        FieldSpec("Warmly_Last_Seen__c", "Warmly Last Seen", "datetime", description="Last visit."),
        FieldSpec("Warmly_Page_Views__c", "Warmly Page Views", "int"),
        FieldSpec("Warmly_Demo_Requested__c", "Warmly Demo Requested", "bool"),
        FieldSpec("Warmly_Top_Pages__c", "Warmly Top Pages", "string", 200),
        FieldSpec(KEY, "Warmly Sync Key", "string", unique_key=True),
    ]
    assert conn.create_fields("Lead", specs) == [s.name for s in specs]
    assert conn.describe("Lead").missing([s.name for s in specs]) == [s.name for s in specs]  # hidden by FLS
    assert conn.hidden_fields("Lead", [s.name for s in specs]) == [s.name for s in specs]
    assert conn.create_fields("Lead", specs) == []  # they exist: only a grant is missing
    conn.grant_field_access(PERMISSION_SET, "Connector tests", {"Lead": [s.name for s in specs]})
    fields = conn.describe("Lead").fields  # refreshed by the grant
    assert fields["Warmly_Last_Seen__c"].kind == "datetime" and fields["Warmly_Last_Seen__c"].custom
    assert fields["Warmly_Page_Views__c"].kind == "number"  # Salesforce describes Number(18,0) as double
    assert fields["Warmly_Demo_Requested__c"].kind == "bool"
    assert fields["Warmly_Top_Pages__c"].length == 200
    assert fields[KEY].external_id and fields[KEY].unique
    # Salesforce itself sees them (describe through the SDK, not our cache).
    names = {d["name"] for d in sf.Lead.describe()["fields"]}
    assert {s.name for s in specs} <= names

    tooling_before = _server_calls(sandbox_clean, "CustomField")
    calls_before = conn.calls.total
    assert conn.create_fields("Lead", specs) == []
    assert conn.calls.total == calls_before  # cached describe: not even a read
    fresh = SalesforceConnector(sf)
    assert fresh.create_fields("Lead", specs) == []
    assert fresh.calls.writes == 0 and fresh.calls.reads == 1
    assert _server_calls(sandbox_clean, "CustomField") == tooling_before

