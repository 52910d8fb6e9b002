"""REST resources around single records (:mod:`connectors.sandbox.salesforce.rest`): describe,
single-record create / read / update / delete, and single-record upsert by external id.
"""

from __future__ import annotations

import re

import pytest
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceResourceNotFound

from tests.sandbox.salesforce.conftest import add_field, client, count, create_many, error, lead, records

# -- describe --------------------------------------------------------------------------------


def test_describe_reports_standard_fields_with_their_rules(sf):
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    required_keys = {
        "name", "label", "type", "length", "nillable", "createable", "updateable", "custom", "externalId",
        "unique", "defaultedOnCreate", "restrictedPicklist", "picklistValues", "referenceTo", "soapType",
        "idLookup", "filterable", "sortable", "precision", "scale", "digits", "relationshipName", "calculated",
    }
    for f in fields.values():
        assert required_keys <= set(f), f["name"]
        assert f["custom"] is False  # no custom fields until someone creates them
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Company"]["nillable"] is False and fields["Company"]["length"] == 255
    assert fields["FirstName"]["length"] == 40 and fields["Title"]["length"] == 128
    assert (fields["Email"]["type"], fields["Email"]["length"]) == ("email", 80)
    assert fields["Website"]["type"] == "url" and fields["NumberOfEmployees"]["type"] == "int"
    status = fields["Status"]
    assert status["restrictedPicklist"] is True and status["defaultedOnCreate"] is True
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == ["Open - Not Contacted"]
    assert fields["Industry"]["type"] == "picklist" and fields["Industry"]["restrictedPicklist"] is False
    assert fields["IsConverted"]["createable"] is False
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp", "Id"):
        assert fields[name]["createable"] is False and fields[name]["updateable"] is False

    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["AccountId"]["referenceTo"] == ["Account"] and contact["AccountId"]["relationshipName"] == "Account"
    assert contact["LastName"]["nillable"] is False and contact["Department"]["type"] == "string"
    account = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert account["Name"]["nillable"] is False and "BillingCountry" in account

    described = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert {k: described[k]["keyPrefix"] for k in ("Lead", "Contact", "Account")} == {
        "Lead": "00Q", "Contact": "003", "Account": "001",
    }
    assert sf.Lead.metadata()["objectDescribe"]["name"] == "Lead"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Opportunity__x/describe")


# -- single-record CRUD ----------------------------------------------------------------------


def test_single_record_crud_with_salesforce_status_codes(sf):
    created = sf.Lead.create(lead(Email="ann@acme.io", Title="CTO"))
    rid = created["id"]
    assert created["success"] is True and created["errors"] == []
    assert re.fullmatch(r"00Q[0-9A-Za-z]{15}", rid)
    account = sf.Account.create({"Name": "Acme"})["id"]
    contact = sf.Contact.create({"LastName": "Lee", "AccountId": account})["id"]
    assert account.startswith("001") and contact.startswith("003") and len(account) == len(contact) == 18

    got = sf.Lead.get(rid)
    assert got["attributes"] == {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{rid}"}
    assert (got["Email"], got["Status"], got["IsConverted"], got["Name"]) == (
        "ann@acme.io", "Open - Not Contacted", False, "Doe",
    )
    assert sf.Lead.get(rid[:15])["Id"] == rid  # 15-character ids are the same record

    assert sf.Lead.update(rid, {"Title": "CEO", "FirstName": "Ann"}) == 204
    got = sf.Lead.get(rid)
    assert (got["Title"], got["Name"]) == ("CEO", "Ann Doe")
    assert got["LastModifiedDate"] >= got["CreatedDate"]

    assert sf.Lead.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.get(rid)
    assert error(exc)["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.update(rid, {"Title": "x"})
    assert error(exc) == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.get("00Q000000000000AAA")
    assert error(exc)["errorCode"] == "NOT_FOUND"


# -- upsert by external id -------------------------------------------------------------------


def test_single_upsert_status_codes_depend_on_api_version(sf, sandbox):
    add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64, externalId=True)
    assert sf.Lead.upsert("Warmly_Id__c/w-1", lead(LastName="First")) == 201
    response = sf.Lead.upsert("Warmly_Id__c/W-1", {"Title": "Again"}, raw_response=True)
    assert response.status_code == 200 and response.json()["created"] is False
    old = client(sandbox, SALESFORCE_API_VERSION="45.0")
    assert old.Lead.upsert("Warmly_Id__c/w-1", {"Title": "Old API"}) == 204
    got = sf.Lead.get_by_custom_id("Warmly_Id__c", "w-1")
    assert (got["LastName"], got["Title"], got["Warmly_Id__c"]) == ("First", "Old API", "w-1")
    assert count(sf) == 1


def test_upsert_on_a_value_matching_two_records(sf):
    create_many(sf, "Lead", [lead(Email="twin@acme.io"), lead(Email="TWIN@acme.io")])
    with pytest.raises(SalesforceMoreThanOneRecord) as exc:
        sf.Lead.upsert("Email/twin@acme.io", {"Title": "Which one?"})
    assert exc.value.status == 300
    assert len(exc.value.content) == 2 and all("/sobjects/Lead/00Q" in url for url in exc.value.content)
    results = sf.restful("composite/sobjects/Lead/Email", method="PATCH", json={"records": records("Lead", [
        {"Email": "twin@acme.io", "Title": "x"},
    ])})
    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert count(sf, "Lead", "WHERE Title != null") == 0
