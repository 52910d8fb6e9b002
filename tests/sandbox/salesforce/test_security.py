"""Field-level security (:mod:`connectors.sandbox.salesforce.security`, ``setup_objects``): a custom field
is hidden from the running user until a permission set assigned to that user grants it, as in an org;
the permission set, its field permissions and the assignment are ordinary sObjects with their rules.
"""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceResourceNotFound,
)

from tests.sandbox.salesforce.conftest import (
    add_field,
    config,
    create_many,
    error,
    grant,
    lead,
    permission_set,
    running_user,
)

FIELD = "Lead.Warmly_Last_Seen__c"
SEEN = "2024-05-01T10:00:00Z"


def described(sf, sobject: str = "Lead") -> dict:
    return {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}


def test_a_new_field_is_invisible_until_a_granted_permission_set_is_assigned(sf):
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    assert "Warmly_Last_Seen__c" not in described(sf)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Warmly_Last_Seen__c FROM Lead")
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Warmly_Last_Seen__c' on entity 'Lead'" in error(exc)["message"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create(lead(Warmly_Last_Seen__c=SEEN))
    assert error(exc) == {"message": "No such column 'Warmly_Last_Seen__c' on sobject of type Lead",
                          "errorCode": "INVALID_FIELD", "fields": []}
    with pytest.raises(SalesforceMalformedRequest):
        create_many(sf, "Lead", [lead(Warmly_Last_Seen__c=SEEN)])
    # The org has the field: the Tooling API lists it, and its name is taken.
    tooling = sf.toolingexecute("query/?q=" + format_soql(
        "SELECT DeveloperName FROM CustomField WHERE TableEnumOrId = {}", "Lead"))
    assert [r["DeveloperName"] for r in tooling["records"]] == ["Warmly_Last_Seen"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        add_field(sf, FIELD, grant_access=False, type="DateTime", label="Again")
    assert error(exc)["errorCode"] == "DUPLICATE_DEVELOPER_NAME"

    # Field permissions on a permission set nobody is assigned: still hidden.
    unassigned = permission_set(sf, "Not_Assigned", assign=False)
    sf.FieldPermissions.create({"ParentId": unassigned, "SobjectType": "Lead", "Field": FIELD,
                                "PermissionsRead": True, "PermissionsEdit": True})
    assert "Warmly_Last_Seen__c" not in described(sf)
    sf.PermissionSetAssignment.create({"AssigneeId": running_user(sf), "PermissionSetId": unassigned})
    field = described(sf)["Warmly_Last_Seen__c"]
    assert field["createable"] and field["updateable"] and field["permissionable"]
    rid = sf.Lead.create(lead(Warmly_Last_Seen__c=SEEN))["id"]
    assert sf.query(f"SELECT Warmly_Last_Seen__c FROM Lead WHERE Id = '{rid}'")["totalSize"] == 1


def test_read_without_edit_is_visible_but_not_writable(sf):
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    rid = sf.Lead.create(lead())["id"]
    grant(sf, FIELD, edit=False)
    field = described(sf)["Warmly_Last_Seen__c"]
    assert (field["createable"], field["updateable"]) == (False, False)
    assert sf.Lead.get(rid)["Warmly_Last_Seen__c"] is None
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(rid, {"Warmly_Last_Seen__c": SEEN})
    assert error(exc) == {
        "message": "Unable to create/update fields: Warmly_Last_Seen__c. Please check the security settings of this "
                   "field and verify that it is read/write for your profile or permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["Warmly_Last_Seen__c"],
    }


def test_the_profile_permission_set_grants_too_and_cannot_be_deleted(sf):
    profile = sf.query("SELECT Id, Name, IsOwnedByProfile FROM PermissionSet WHERE IsOwnedByProfile = true")
    assert profile["totalSize"] == 1
    ps = profile["records"][0]["Id"]
    assigned = sf.query(format_soql("SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = {}", ps))
    assert [r["AssigneeId"] for r in assigned["records"]] == [running_user(sf)]
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Lead", "Field": FIELD, "PermissionsRead": True,
                                "PermissionsEdit": True})
    assert "Warmly_Last_Seen__c" in described(sf)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.PermissionSet.delete(ps)
    assert error(exc)["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"Field": "Lead.Nope__c"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Field": "Lead.LastName"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),  # not permissionable
        ({"SobjectType": "Contact"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),  # Field is not Contact's
        ({"SobjectType": "Opportunity"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"PermissionsRead": False, "PermissionsEdit": True}, "FIELD_INTEGRITY_EXCEPTION"),
        ({"ParentId": None}, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_field_permissions_are_validated(sf, record, code):
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    base = {"ParentId": permission_set(sf), "SobjectType": "Lead", "Field": FIELD, "PermissionsRead": True}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.FieldPermissions.create({**base, **record})
    assert error(exc)["errorCode"] == code


def test_one_row_per_field_and_set_one_assignment_per_user_and_set(sf):
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    ps = permission_set(sf)
    duplicate = "duplicate value found: <unknown> duplicates value on record with id: <unknown>"
    grant(sf, FIELD)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        grant(sf, FIELD.lower())
    assert (error(exc)["errorCode"], error(exc)["message"]) == ("DUPLICATE_VALUE", duplicate)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.PermissionSetAssignment.create({"AssigneeId": running_user(sf), "PermissionSetId": ps})
    assert (error(exc)["errorCode"], error(exc)["message"]) == ("DUPLICATE_VALUE", duplicate)
    for name, code in (("Sandbox_Test_Access", "DUPLICATE_DEVELOPER_NAME"), ("has space", "FIELD_INTEGRITY_EXCEPTION")):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.PermissionSet.create({"Name": name, "Label": "x"})
        assert error(exc)["errorCode"] == code


def test_grants_go_with_their_permission_set_and_their_field(sf):
    add_field(sf, FIELD, type="DateTime", label="Warmly Last Seen")
    fp = sf.query("SELECT Id, SobjectType, Field, PermissionsRead, PermissionsEdit, Parent.Name FROM FieldPermissions")
    assert [(r["SobjectType"], r["Field"], r["Parent"]["Name"]) for r in fp["records"]] == [
        ("Lead", FIELD, "Sandbox_Test_Access")]
    field_id = sf.toolingexecute("query/?q=SELECT+Id+FROM+CustomField")["records"][0]["Id"]
    sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="DELETE")
    assert sf.query("SELECT COUNT() FROM FieldPermissions")["totalSize"] == 0
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    assert "Warmly_Last_Seen__c" not in described(sf)  # a re-created field starts hidden again

    [fp_id] = grant(sf, FIELD)
    sf.FieldPermissions.update(fp_id, {"PermissionsEdit": False, "PermissionsRead": False})
    assert sf.query("SELECT COUNT() FROM FieldPermissions")["totalSize"] == 0  # no read: deleted
    grant(sf, FIELD)
    ps = permission_set(sf)
    sf.PermissionSet.delete(ps)
    assert "Warmly_Last_Seen__c" not in described(sf)
    for sobject in ("FieldPermissions", "PermissionSetAssignment"):
        where = "ParentId" if sobject == "FieldPermissions" else "PermissionSetId"
        assert sf.query(format_soql(f"SELECT COUNT() FROM {sobject} WHERE {where} = {{}}", ps))["totalSize"] == 0
    with pytest.raises(SalesforceResourceNotFound):
        sf.PermissionSet.get(ps)


def test_the_switch_off_shows_every_field_and_reset_restores_it(sf, sandbox_clean):
    config(sandbox_clean, enforce_field_security=False)
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    assert described(sf)["Warmly_Last_Seen__c"]["createable"]
    assert sf.Lead.create(lead(Warmly_Last_Seen__c=SEEN))["success"]
    config(sandbox_clean, enforce_field_security=True)
    assert "Warmly_Last_Seen__c" not in described(sf)
    sandbox_clean.admin("salesforce", "POST", "config", {"enforce_field_security": False})
    sandbox_clean.reset()
    assert sandbox_clean.admin("salesforce", "GET", "config")["enforce_field_security"] is True
    # The reset wiped the permission sets but the profile's, which comes back.
    assert sf.query("SELECT COUNT() FROM PermissionSet")["totalSize"] == 1


def test_bulk_and_describe_global_see_what_the_user_sees(sf):
    add_field(sf, FIELD, grant_access=False, type="DateTime", label="Warmly Last Seen")
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"PermissionSet", "FieldPermissions", "PermissionSetAssignment", "Lead"} <= names
    with pytest.raises(SalesforceOperationError, match="Field name not found : Warmly_Last_Seen__c"):
        sf.bulk2.Lead.insert(records=[lead(Warmly_Last_Seen__c=SEEN)], wait=0)


def test_userinfo_names_the_running_user(sf, sandbox_clean):
    url = f"{sandbox_clean.salesforce_url}/services/oauth2/userinfo"
    ok = requests.get(url, headers={"Authorization": f"Bearer {sandbox_clean.token}"}, verify=sandbox_clean.ca_file,
                      timeout=10)
    body = ok.json()
    assert body["user_id"].startswith("005") and body["organization_id"].startswith("00D")
    assert body["sub"].endswith(f"/id/{body['organization_id']}/{body['user_id']}")
    bad = requests.get(url, headers={"Authorization": "Bearer nope"}, verify=sandbox_clean.ca_file, timeout=10)
    assert (bad.status_code, bad.text) == (403, "Bad_OAuth_Token")


def test_object_permissions_shape_describe_and_refuse_writes(sf, sandbox_clean):
    existing = sf.Lead.create(lead())["id"]
    config(sandbox_clean, object_permissions={"Lead": {"PermissionsCreate": False, "PermissionsEdit": False}})
    entry = {o["name"]: o for o in sf.describe()["sobjects"]}["Lead"]
    assert (entry["queryable"], entry["createable"], entry["updateable"]) == (True, False, False)
    described_lead = sf.Lead.describe()
    assert (described_lead["createable"], described_lead["updateable"]) == (False, False)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create(lead())
    assert error(exc) == {"message": "entity type cannot be inserted: Lead",
                          "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "fields": []}
    [result] = create_many(sf, "Lead", [lead()])
    assert result["errors"][0]["statusCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(existing, {"Title": "CEO"})
    assert error(exc)["message"] == "entity type cannot be updated: Lead"
    assert sf.Contact.create({"LastName": "Other objects keep theirs"})["success"]
    # A permission set assignment can be created and deleted, never updated.
    ps = permission_set(sf, "Other_Set", assign=False)
    psa = sf.PermissionSetAssignment.create({"AssigneeId": running_user(sf), "PermissionSetId": ps})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.PermissionSetAssignment.update(psa, {"PermissionSetId": ps})
    assert error(exc)["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"


def test_an_object_without_read_is_not_there_for_the_user(sf, sandbox_clean):
    config(sandbox_clean, object_permissions={"Account": {"PermissionsRead": False}})
    assert "Account" not in {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.describe()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account")
    assert error(exc)["errorCode"] == "INVALID_TYPE"
