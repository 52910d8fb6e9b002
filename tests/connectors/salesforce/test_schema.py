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


def test_grant_field_access_is_idempotent(conn: SalesforceConnector, sf) -> None:
    specs = [FieldSpec("Warmly_Last_Seen__c", "Warmly Last Seen", "datetime"), FieldSpec(KEY, "Key", "string",
                                                                                       unique_key=True)]
    conn.create_fields("Lead", specs)
    conn.create_fields("Account", specs[:1])
    grants = {"Lead": [s.name for s in specs], "Account": ["Warmly_Last_Seen__c"]}
    report = conn.grant_field_access("Warmly_CRM_Writeback", "Warmly CRM Writeback", grants)
    assert (report.created_permission_set, report.assigned) == (True, True)
    assert report.granted == grants and report.failed == {}
    assert conn.hidden_fields("Lead", grants["Lead"]) == []
    # Salesforce itself: the standard setup objects, readable through SOQL.
    ps = sf.query("SELECT Id, Label FROM PermissionSet WHERE Name = 'Warmly_CRM_Writeback'")["records"]
    assert [p["Label"] for p in ps] == ["Warmly CRM Writeback"]
    rows = sf.query("SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                    f"WHERE ParentId = '{ps[0]['Id']}'")["records"]
    assert sorted((r["Field"], r["PermissionsRead"], r["PermissionsEdit"]) for r in rows) == [
        ("Account.Warmly_Last_Seen__c", True, True), ("Lead.Warmly_Last_Seen__c", True, True),
        (f"Lead.{KEY}", True, True)]
    assert sf.query(f"SELECT COUNT() FROM PermissionSetAssignment WHERE PermissionSetId = '{ps[0]['Id']}'"
                    )["totalSize"] == 1

    fresh = SalesforceConnector(sf)
    again = fresh.grant_field_access("Warmly_CRM_Writeback", "Warmly CRM Writeback", grants)
    assert (again.created_permission_set, again.assigned, again.granted) == (False, False, {})
    assert fresh.calls.writes == 0

    # A read-only grant made elsewhere is upgraded to edit.
    sf.FieldPermissions.update(sf.query("SELECT Id FROM FieldPermissions WHERE Field = 'Lead.Warmly_Last_Seen__c'")
                               ["records"][0]["Id"], {"PermissionsEdit": False})
    assert not conn.describe("Lead", refresh=True).fields["Warmly_Last_Seen__c"].createable
    upgraded = fresh.grant_field_access("Warmly_CRM_Writeback", "Warmly CRM Writeback", grants)
    assert upgraded.granted == {"Lead": ["Warmly_Last_Seen__c"]}
    assert fresh.describe("Lead").fields["Warmly_Last_Seen__c"].createable
