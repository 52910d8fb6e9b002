"""The running user's access (:mod:`connectors.salesforce.access`): object permissions read from
describe, and read and edit granted on our fields through a permission set, checked through the SDK.
"""

from __future__ import annotations

from connectors.crm import FieldSpec
from connectors.salesforce.api import SalesforceConnector
from tests.connectors.salesforce.helpers import KEY


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



def test_access_names_the_object_permissions_the_user_lacks(conn: SalesforceConnector, sandbox_clean) -> None:
    assert conn.access("Lead").lacking == {} and conn.access("Lead").reason == "missing_permission"
    sandbox_clean.admin("salesforce", "POST", "config", {"object_permissions": {
        "Lead": {"PermissionsCreate": False}, "Account": {"PermissionsEdit": False},
        "Contact": {"PermissionsRead": False}}})
    fresh = SalesforceConnector(conn.sf)
    lead, account, contact = fresh.access("Lead"), fresh.access("Account"), fresh.access("Contact")
    assert (lead.allows("read"), lead.allows("update"), lead.missing("create")) == (True, True, ("Create on Lead",))
    assert account.missing("update") == ("Edit on Account",) and account.allows("create")
    assert contact.missing("read") == ("Read on Contact",) and not contact.allows("create")
