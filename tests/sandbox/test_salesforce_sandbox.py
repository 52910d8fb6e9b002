"""The Salesforce sandbox, driven only through the real simple-salesforce SDK (and raw HTTPS for OAuth).

Every assertion is about what a Salesforce client sees on the wire: status codes, error codes
and messages, per-record results, headers. The admin API is used only to switch config and
inject faults, never to read state behind the SDK's back.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.salesforce.client import SalesforceCredentials, make_client
from connectors.sandbox.base import serve
from connectors.sandbox.salesforce import SalesforceApp
from connectors.sandbox.tls import make_certificates, server_context

ROOT = Path(__file__).resolve().parents[2]


# -- helpers ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("body", "code", "message", "fields"),
    [
        ({"LastName": "Doe"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]", ["Company"]),
        ({"Company": "Acme"}, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
        (lead(Title="x" * 129), "STRING_TOO_LONG", "Title: data value too large: " + "x" * 129 + " (max length=128)",
         ["Title"]),
        (lead(Email="not-an-email"), "INVALID_EMAIL_ADDRESS", "Email: invalid email address: not-an-email", ["Email"]),
        (lead(Status="Hot"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
         "Status: bad value for restricted picklist field: Hot", ["Status"]),
        (lead(IsConverted=True), "INVALID_FIELD_FOR_INSERT_UPDATE", None, ["IsConverted"]),
        (lead(CreatedDate="2024-01-01T00:00:00Z"), "INVALID_FIELD_FOR_INSERT_UPDATE", None, ["CreatedDate"]),
        (lead(Warmly_Score__c=5), "INVALID_FIELD", "No such column 'Warmly_Score__c' on sobject of type Lead", []),
        (lead(NumberOfEmployees="many"), "JSON_PARSER_ERROR", None, None),
        (lead(NumberOfEmployees=10**9), "NUMBER_OUTSIDE_VALID_RANGE", None, ["NumberOfEmployees"]),
    ],
)
def test_single_record_validation_errors(sf, body, code, message, fields):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create(body)
    assert exc.value.status == 400
    err = error(exc)
    assert err["errorCode"] == code
    if message is not None:
        assert err["message"] == message
    if fields is not None:
        assert err["fields"] == fields
    assert count(sf) == 0


def test_unrestricted_picklist_and_coercions_are_accepted(sf):
    rid = sf.Lead.create(lead(Industry="Quantum Widgets", NumberOfEmployees="250", AnnualRevenue=1.5e6,
                              HasOptedOutOfEmail="true", Email=""))["id"]
    got = sf.Lead.get(rid)
    assert (got["Industry"], got["NumberOfEmployees"], got["AnnualRevenue"], got["HasOptedOutOfEmail"]) == (
        "Quantum Widgets", 250, 1500000.0, True,
    )
    assert got["Email"] is None  # Salesforce stores an empty string as null


def test_contact_account_reference_is_checked(sf):
    account = sf.Account.create({"Name": "Acme Corp", "Industry": "Technology"})["id"]
    lead_id = sf.Lead.create(lead())["id"]
    sf.Contact.create({"LastName": "Lee", "AccountId": account, "Email": "lee@acme.io"})
    result = sf.query("SELECT Id, LastName, Account.Name, Account.Industry FROM Contact")
    row = result["records"][0]
    assert row["Account"]["Name"] == "Acme Corp" and row["Account"]["Industry"] == "Technology"
    assert row["Account"]["attributes"]["type"] == "Account"
    assert sf.query("SELECT Id FROM Contact WHERE Account.Name = 'ACME corp'")["totalSize"] == 1

    missing = account[:3] + "8d000000zzzz"  # well-formed, never issued
    for value, code in ((missing, "INVALID_CROSS_REFERENCE_KEY"), (lead_id, "FIELD_INTEGRITY_EXCEPTION"),
                        ("not-an-id", "MALFORMED_ID")):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Contact.create({"LastName": "X", "AccountId": value})
        assert error(exc)["errorCode"] == code, value
    assert count(sf, "Contact") == 1

    sf.Account.delete(account)  # Salesforce deletes an account's contacts with it
    assert count(sf, "Contact") == 0


# -- SOQL ------------------------------------------------------------------------------------


def test_soql_string_escaping_with_format_soql(sf):
    rid = sf.Lead.create(lead(Email="o'hara@acme.io", Description='She said "hi"\nthen left\\'))["id"]
    sf.Lead.create(lead(Email="ohara@acme.io"))
    for value in ("o'hara@acme.io", "O'HARA@ACME.IO"):
        result = sf.query(format_soql("SELECT Id, Email FROM Lead WHERE Email = {}", value))
        assert [r["Id"] for r in result["records"]] == [rid]
    result = sf.query(format_soql("SELECT Id FROM Lead WHERE Email LIKE '{:like}%'", "o'h"))
    assert [r["Id"] for r in result["records"]] == [rid]
    assert sf.query("SELECT Id FROM Lead WHERE Email = 'o\\u0027hara@acme.io'")["totalSize"] == 1
    assert sf.Lead.get(rid)["Description"] == 'She said "hi"\nthen left\\'


def test_soql_bad_escape_is_malformed_query(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Lead WHERE Email = 'o\\hara@acme.io'")
    err = error(exc)
    assert err["errorCode"] == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\h'" in err["message"]


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id, Nope__c FROM Lead", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Lead'"),
        ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported"),
        ("SELECT Id FROM Lead WHERE Email = 'a' AND Title = 'b' OR Company = 'c'", "MALFORMED_QUERY",
         "unexpected token: OR"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "INVALID_QUERY_FILTER_OPERATOR",
         "must be of type integer"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_QUERY_FILTER_OPERATOR", "should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        ("SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id, Id FROM Lead", "MALFORMED_QUERY", "duplicate field selected"),
        ("SELECT Id FROM Contact WHERE Acount.Name = 'x'", "INVALID_FIELD", "Didn't understand relationship"),
    ],
)
def test_soql_errors(sf, soql, code, fragment):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    err = error(exc)
    assert err["errorCode"] == code
    assert fragment in err["message"]


def test_soql_operators_match_salesforce_semantics(sf):
    rows = [
        lead(LastName="Ames", Email="ames@a.io", NumberOfEmployees=10, Industry="Banking", Country="US"),
        lead(LastName="Baker", Email="baker@b.io", NumberOfEmployees=50, Industry="Technology", Country="DE"),
        lead(LastName="Cole", Email="cole@c.io", NumberOfEmployees=200, Industry="technology", Country="US",
             HasOptedOutOfEmail=True),
        lead(LastName="Drew", NumberOfEmployees=None, Industry=None),
    ]
    ids = [r["id"] for r in create_many(sf, "Lead", rows)]
    a, b, c, d = ids

    def q(where: str, tail: str = "") -> list[str]:
        return [r["Id"] for r in sf.query_all(f"SELECT Id FROM Lead WHERE {where} {tail}")["records"]]

    assert q("Industry = 'TECHNOLOGY'") == [b, c]  # case-insensitive, as in Salesforce
    assert q("Industry != 'Technology'") == [a, d]  # != keeps nulls
    assert q("NumberOfEmployees < 50") == [a]
    assert q("NumberOfEmployees <= 50") == [a, b]
    assert q("NumberOfEmployees > 50") == [c]
    assert q("NumberOfEmployees >= 10 AND NumberOfEmployees != 50") == [a, c]
    assert q("Email LIKE '%@_.io'") == [a, b, c]
    assert q("LastName LIKE 'b%'") == [b]
    assert q("Country IN ('us', 'FR')") == [a, c]
    assert q("Country NOT IN ('US')") == [b, d]
    assert q("Email = null") == [d]
    assert q("Email != null AND (Country = 'DE' OR NumberOfEmployees > 100)") == [b, c]
    assert q("NOT (Country = 'US')") == [b, d]
    assert q("HasOptedOutOfEmail = true") == [c]
    assert q("CreatedDate = TODAY") == ids
    assert q("CreatedDate > 2020-01-01T00:00:00Z AND CreatedDate < 2100-01-01T00:00:00Z") == ids
    assert q("Id IN ({})".format(", ".join(f"'{i[:15]}'" for i in (a, d)))) == [a, d]
    assert q("Email != null", "ORDER BY NumberOfEmployees DESC LIMIT 2") == [c, b]
    assert q("LastName != null", "ORDER BY NumberOfEmployees ASC NULLS LAST") == [a, b, c, d]
    assert q("LastName != null", "ORDER BY Email DESC NULLS FIRST LIMIT 2 OFFSET 1") == [c, b]
    assert count(sf, "Lead", "WHERE Country = 'US'") == 2
    aggregate = sf.query("SELECT COUNT(Email) FROM Lead")["records"][0]
    assert aggregate["expr0"] == 3


def test_query_pages_of_2000_with_next_records_url(sf):
    result = sf.bulk2.Lead.insert(records=[lead(LastName=f"L{i:04d}") for i in range(2500)], wait=0)
    assert result[0]["numberRecordsFailed"] == 0
    first = sf.query("SELECT Id, LastName FROM Lead ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    assert re.fullmatch(r"/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["done"], len(second["records"]), second["records"][-1]["LastName"]) == (True, 500, "L2499")
    assert "nextRecordsUrl" not in second
    everything = sf.query_all("SELECT Id FROM Lead")
    assert len({r["Id"] for r in everything["records"]}) == 2500
    assert count(sf) == 2500


def test_query_all_includes_deleted_records(sf):
    keep, gone = (r["id"] for r in create_many(sf, "Lead", [lead(LastName="Keep"), lead(LastName="Gone")]))
    sf.Lead.delete(gone)
    assert [r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]] == [keep]
    rows = sf.query_all("SELECT Id, IsDeleted FROM Lead ORDER BY LastName", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(gone, True), (keep, False)]


def test_long_query_url_is_refused_like_salesforce(sf):
    emails = [f"person{i:05d}@some-long-domain-name.example" for i in range(500)]
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(format_soql("SELECT Id FROM Lead WHERE Email IN {}", emails))
    assert exc.value.status == 414


# -- sObject Collections ---------------------------------------------------------------------


def test_collection_of_201_records_is_refused_whole(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create_many(sf, "Lead", [lead(LastName=f"L{i}") for i in range(201)])
    assert error(exc)["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert "cannot submit more than 200 records" in error(exc)["message"]
    assert count(sf) == 0
    assert len(create_many(sf, "Lead", [lead(LastName=f"L{i}") for i in range(200)])) == 200


def test_collection_errors_are_per_record_and_in_order(sf):
    results = create_many(sf, "Lead", [
        lead(LastName="Good1"),
        lead(Email="bad"),
        {"LastName": "NoCompany"},
        lead(LastName="Good2", Title="t" * 128),
        lead(Title="t" * 129),
    ])
    assert [r["success"] for r in results] == [True, False, False, True, False]
    assert [r["errors"][0]["statusCode"] for r in results if not r["success"]] == [
        "INVALID_EMAIL_ADDRESS", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG",
    ]
    assert results[2]["errors"][0] == {
        "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]",
        "fields": ["Company"],
    }
    assert "id" not in results[1]
    names = {r["LastName"] for r in sf.query("SELECT LastName FROM Lead")["records"]}
    assert names == {"Good1", "Good2"}


def test_collection_all_or_none_rolls_everything_back(sf):
    results = create_many(sf, "Lead", [lead(LastName="A"), lead(Email="bad"), lead(LastName="C")], all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_EMAIL_ADDRESS", "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    ]
    assert count(sf) == 0
    assert all(r["success"] for r in create_many(sf, "Lead", [lead(), lead()], all_or_none=True))
    assert count(sf) == 2


def test_collection_with_an_unknown_field_fails_the_whole_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create_many(sf, "Lead", [lead(), lead(Warmly_Last_Seen__c="2024-01-01T00:00:00Z")])
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    assert error(exc)["message"] == "No such column 'Warmly_Last_Seen__c' on sobject of type Lead"
    assert count(sf) == 0


def test_collection_update_retrieve_and_delete(sf):
    a, b, c = (r["id"] for r in create_many(sf, "Lead", [lead(LastName=n) for n in "ABC"]))
    sf.Lead.delete(c)
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": records("Lead", [
        {"id": a, "Title": "VP"}, {"id": b, "Email": "nope"}, {"id": c, "Title": "x"}, {"Title": "no id"},
    ])})
    assert [r["success"] for r in results] == [True, False, False, False]
    assert [r.get("id") for r in results] == [a, b, c, None]
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "INVALID_EMAIL_ADDRESS", "ENTITY_IS_DELETED", "MISSING_ARGUMENT",
    ]
    got = sf.restful("composite/sobjects/Lead", params={"ids": f"{a},{c},{b}", "fields": "Id,Title,LastName"})
    assert got[0]["Title"] == "VP" and got[1] is None and got[2]["LastName"] == "B"
    assert set(got[0]) == {"attributes", "Id", "Title", "LastName"}

    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{a},{c},bogus"})
    assert [(r["success"], r["errors"][0]["statusCode"] if r["errors"] else None) for r in deleted] == [
        (True, None), (False, "ENTITY_IS_DELETED"), (False, "MALFORMED_ID"),
    ]
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead")["records"]] == [b]


def test_collection_upsert_reports_created_and_matches_case_insensitively(sf):
    add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64, externalId=True, unique=True)
    path = "composite/sobjects/Lead/Warmly_Id__c"
    first = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records("Lead", [
        lead(Warmly_Id__c="abc-1", LastName="One"), lead(Warmly_Id__c="abc-2", LastName="Two"),
    ])})
    assert [(r["success"], r["created"]) for r in first] == [(True, True), (True, True)]
    second = sf.restful(path, method="PATCH", json={"records": records("Lead", [
        {"Warmly_Id__c": "ABC-1", "Title": "Boss"}, lead(Warmly_Id__c="abc-3"), {"Warmly_Id__c": "", "Title": "x"},
    ])})
    assert [(r["success"], r["created"]) for r in second] == [(True, False), (True, True), (False, False)]
    assert second[0]["id"] == first[0]["id"]
    assert second[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert sf.Lead.get(first[0]["id"])["Title"] == "Boss"
    dupes = sf.restful(path, method="PATCH", json={"records": records("Lead", [
        lead(Warmly_Id__c="z"), lead(Warmly_Id__c="Z"),
    ])})
    assert [r["errors"][0]["statusCode"] for r in dupes] == ["DUPLICATE_VALUE", "DUPLICATE_VALUE"]
    assert count(sf) == 3


def test_case_sensitive_unique_external_id_keeps_cases_apart(sf):
    add_field(sf, "Lead.Visitor_Key__c", type="Text", label="Visitor Key", length=40, externalId=True,
              unique=True, caseSensitive=True)
    path = "composite/sobjects/Lead/Visitor_Key__c"
    one = sf.restful(path, method="PATCH", json={"records": records("Lead", [lead(Visitor_Key__c="Key")])})
    two = sf.restful(path, method="PATCH", json={"records": records("Lead", [lead(Visitor_Key__c="KEY")])})
    assert one[0]["created"] is True and two[0]["created"] is True
    clash = sf.restful("composite/sobjects", method="POST", json={"records": records("Lead", [
        lead(Visitor_Key__c="Key"),
    ])})
    assert clash[0]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"


def test_upsert_needs_an_external_id_field(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects/Lead/Title", method="PATCH", json={"records": records("Lead", [lead()])})
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    assert "Title is not an External ID or indexed field for Lead" in error(exc)["message"]
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Lead.upsert("Title/CTO", lead())
    assert error(exc)["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert("Missing_Key__c/abc", lead())
    add_field(sf, "Lead.Plain__c", type="Text", label="Plain", length=10)
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects/Lead/Plain__c", method="PATCH", json={"records": records("Lead", [lead()])})


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


def test_duplicate_rule_on_email(sf, sandbox):
    first = sf.Lead.create(lead(Email="dup@acme.io"))["id"]
    sf.Lead.create(lead(Email="dup@acme.io"))  # no rule active by default
    config(sandbox, duplicate_rule_email=True)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create(lead(Email="DUP@acme.io"))
    err = error(exc)
    assert (err["errorCode"], err["message"]) == ("DUPLICATES_DETECTED", "Use one of these records?")
    matches = err["duplicateResult"]["matchResults"][0]["matchRecords"]
    assert first in {m["record"]["Id"] for m in matches}
    results = create_many(sf, "Lead", [lead(Email="fresh@acme.io"), lead(Email="dup@ACME.io")])
    assert [r["success"] for r in results] == [True, False]
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    assert sf.Contact.create({"LastName": "Same", "Email": "dup@acme.io"})["success"] is True
    assert sf.Lead.update(first, {"Title": "unchanged email is fine"}) == 204
    assert count(sf) == 3


# -- Tooling API: custom fields --------------------------------------------------------------


def test_custom_field_lifecycle(sf):
    field_id = add_field(sf, "Lead.Warmly_Last_Seen__c", type="DateTime", label="Warmly Last Seen")
    assert field_id.startswith("00N") and len(field_id) == 18
    add_field(sf, "Lead.Warmly_Sessions__c", type="Number", label="Sessions", precision=8, scale=0)
    described = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    seen = described["Warmly_Last_Seen__c"]
    assert (seen["custom"], seen["type"], seen["label"], seen["nillable"]) == (True, "datetime", "Warmly Last Seen",
                                                                              True)
    assert described["Warmly_Sessions__c"]["type"] == "double" and described["Warmly_Sessions__c"]["precision"] == 8

    tooling = sf.toolingexecute(
        "query/?q=" + "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Lead'"
    )
    assert {(r["Id"], r["DeveloperName"], r["TableEnumOrId"]) for r in tooling["records"]} >= {
        (field_id, "Warmly_Last_Seen", "Lead"),
    }
    one = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert one["FullName"] == "Lead.Warmly_Last_Seen__c" and one["Metadata"]["type"] == "DateTime"

    rid = sf.Lead.create(lead(Warmly_Last_Seen__c="2024-05-01T10:00:00+02:00", Warmly_Sessions__c=3.4))["id"]
    row = sf.query(f"SELECT Warmly_Last_Seen__c, Warmly_Sessions__c FROM Lead WHERE Id = '{rid}'")["records"][0]
    assert row["Warmly_Last_Seen__c"] == "2024-05-01T08:00:00.000+0000" and row["Warmly_Sessions__c"] == 3.0

    assert sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="DELETE") == ""
    assert "Warmly_Last_Seen__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(rid, {"Warmly_Last_Seen__c": "2024-06-01T00:00:00Z"})
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Warmly_Last_Seen__c FROM Lead")
    assert error(exc)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest):
        create_many(sf, "Lead", [lead(Warmly_Last_Seen__c="2024-06-01T00:00:00Z")])

    add_field(sf, "Lead.Warmly_Last_Seen__c", type="DateTime", label="Warmly Last Seen")  # restored, data gone
    assert sf.Lead.get(rid)["Warmly_Last_Seen__c"] is None
    assert sf.Lead.update(rid, {"Warmly_Last_Seen__c": "2024-06-01T00:00:00Z"}) == 204


@pytest.mark.parametrize(
    ("full_name", "metadata", "code"),
    [
        ("Lead.Warmly_Id__c", {"type": "Text", "label": "Again", "length": 10}, "DUPLICATE_DEVELOPER_NAME"),
        ("Lead.warmly_id__c", {"type": "Text", "label": "Again", "length": 10}, "DUPLICATE_DEVELOPER_NAME"),
        ("Lead.Company__c", {"type": "Text", "label": "Company"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.NoSuffix", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Bad__Name__c", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Opportunity.Foo__c", {"type": "Text", "label": "x", "length": 10}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Flag__c", {"type": "Checkbox", "label": "Flag"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Notes__c", {"type": "LongTextArea", "label": "Notes", "length": 5000}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Score__c", {"type": "Number", "label": "Score"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Thing__c", {"type": "Hologram", "label": "Thing"}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead.Unlabelled__c", {"type": "Date"}, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_custom_field_create_is_validated(sf, full_name, metadata, code):
    add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute("sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata})
    assert error(exc)["errorCode"] == code


def test_every_custom_field_type_is_writable(sf):
    specs = {
        "Seen__c": ({"type": "DateTime"}, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"),
        "Day__c": ({"type": "Date"}, "2024-02-29", "2024-02-29"),
        "Key__c": ({"type": "Text", "length": 5}, "abcde", "abcde"),
        "Count__c": ({"type": "Number", "precision": 5, "scale": 2}, 123.456, 123.46),
        "Flag__c": ({"type": "Checkbox", "defaultValue": False}, True, True),
        "Notes__c": ({"type": "LongTextArea", "length": 1000, "visibleLines": 3}, "n" * 1000, "n" * 1000),
        "Home__c": ({"type": "Url"}, "https://acme.io", "https://acme.io"),
        "Work_Email__c": ({"type": "Email"}, "w@acme.io", "w@acme.io"),
    }
    for name, (meta, _, _) in specs.items():
        add_field(sf, f"Contact.{name}", label=name[:-3], **meta)
    rid = sf.Contact.create({"LastName": "Typed", **{n: v for n, (_, v, _) in specs.items()}})["id"]
    got = sf.Contact.get(rid)
    assert {n: got[n] for n in specs} == {n: expected for n, (_, _, expected) in specs.items()}
    assert sf.Contact.get(sf.Contact.create({"LastName": "Default"})["id"])["Flag__c"] is False
    for field, bad, code in (("Key__c", "abcdef", "STRING_TOO_LONG"), ("Count__c", 1000, "NUMBER_OUTSIDE_VALID_RANGE"),
                             ("Work_Email__c", "nope", "INVALID_EMAIL_ADDRESS")):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Contact.update(rid, {field: bad})
        assert error(exc)["errorCode"] == code
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.update(rid, {"Day__c": "yesterday"})
    assert error(exc)["errorCode"] == "JSON_PARSER_ERROR"


# -- Bulk API 2.0 ----------------------------------------------------------------------------


def test_bulk2_insert_reports_results_per_row(sf):
    rows = [lead(LastName=f"Bulk{i}", Email=f"b{i}@acme.io") for i in range(3)]
    rows.append({"LastName": "NoCompany", "Company": "", "Email": "nc@acme.io"})
    [summary] = sf.bulk2.Lead.insert(records=rows, wait=0)
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"], summary["numberRecordsTotal"]) == (
        4, 1, 4,
    )
    job = sf.restful(f"jobs/ingest/{summary['job_id']}")
    assert job["state"] == "JobComplete" and job["jobType"] == "V2Ingest" and job["object"] == "Lead"
    assert job["id"].startswith("750") and job["operation"] == "insert"
    results = sf.bulk2.Lead.get_all_ingest_records(summary["job_id"])
    ok = sorted(results["successfulRecords"], key=lambda r: r["LastName"])
    assert [r["LastName"] for r in ok] == ["Bulk0", "Bulk1", "Bulk2"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("00Q") for r in ok)
    [failed] = results["failedRecords"]
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:Required fields are missing: [Company]")
    assert failed["Email"] == "nc@acme.io" and results["unprocessedRecords"] == []
    assert count(sf) == 3
    listed = sf.restful("jobs/ingest")
    assert summary["job_id"] in {j["id"] for j in listed["records"]} and listed["done"] is True
    assert sf.restful(f"jobs/ingest/{summary['job_id']}", method="DELETE") is None  # 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(f"jobs/ingest/{summary['job_id']}")


def test_bulk2_aborted_job_writes_nothing(sf):
    bulk = sf.bulk2.Lead._client
    job = bulk.create_job("insert")
    assert job["state"] == "Open" and job["contentType"] == "CSV"
    bulk.upload_job_data(job["id"], "LastName,Company\nAborted,Acme\n")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        bulk.upload_job_data(job["id"], "LastName,Company\nTwice,Acme\n")
    assert error(exc)["errorCode"] == "BULK_API_ERROR"
    assert bulk.abort_job(job["id"], False)["state"] == "Aborted"
    assert bulk.get_job(job["id"], False)["state"] == "Aborted"
    unprocessed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_unprocessed_records(job["id"]))))
    assert unprocessed == [{"LastName": "Aborted", "Company": "Acme"}]
    with pytest.raises(SalesforceMalformedRequest):
        bulk.close_job(job["id"])
    assert count(sf) == 0


def test_bulk2_upsert_update_and_null_markers(sf):
    add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64, externalId=True)
    sf.bulk2.Lead.insert(records=[lead(Warmly_Id__c="w1", Title="Old", City="Oslo")], wait=0)
    [summary] = sf.bulk2.Lead.upsert(
        records=[
            {"Warmly_Id__c": "W1", "LastName": "Doe", "Company": "Acme", "Title": "#N/A", "City": ""},
            {"Warmly_Id__c": "w2", "LastName": "New", "Company": "Acme", "Title": "Fresh", "City": "Rome"},
            {"Warmly_Id__c": "w3", "LastName": "Bad", "Company": "Acme", "Title": "x" * 200, "City": ""},
        ],
        external_id_field="Warmly_Id__c",
        wait=0,
    )
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (3, 1)
    results = sf.bulk2.Lead.get_all_ingest_records(summary["job_id"])
    created = {r["Warmly_Id__c"]: r["sf__Created"] for r in results["successfulRecords"]}
    assert created == {"W1": "false", "w2": "true"}  # "W1" matched "w1": Text external ids ignore case
    assert results["failedRecords"][0]["sf__Error"].startswith("STRING_TOO_LONG:")
    rows = {r["Warmly_Id__c"]: r for r in sf.query("SELECT Warmly_Id__c, Title, City FROM Lead")["records"]}
    assert (rows["W1"]["Title"], rows["W1"]["City"]) == (None, "Oslo")  # #N/A nulls, empty leaves unchanged
    assert (rows["w2"]["Title"], rows["w2"]["City"]) == ("Fresh", "Rome")

    rid = rows["w2"]["attributes"]["url"].rsplit("/", 1)[1]
    [upd] = sf.bulk2.Lead.update(records=[{"Id": rid, "NumberOfEmployees": "lots"}], wait=0)
    failed = sf.bulk2.Lead.get_failed_records(upd["job_id"])
    assert "INVALID_TYPE_ON_FIELD_IN_RECORD" in failed
    [gone] = sf.bulk2.Lead.delete(records=[{"Id": rid}], wait=0)
    assert gone["numberRecordsFailed"] == 0 and count(sf) == 1


def test_bulk2_job_with_an_unknown_column_fails(sf):
    with pytest.raises(SalesforceOperationError) as exc:
        sf.bulk2.Lead.insert(records=[lead(Warmly_Gone__c="x")], wait=0)
    assert "InvalidBatch : Field name not found : Warmly_Gone__c" in str(exc.value)
    failed = [j for j in sf.restful("jobs/ingest")["records"] if j["state"] == "Failed"]
    assert len(failed) == 1
    assert count(sf) == 0


def test_bulk2_query_pages_with_locators(sf):
    create_many(sf, "Lead", [lead(LastName=f"Q{i}", Email=f"q{i}@acme.io") for i in range(5)])
    pages = list(sf.bulk2.Lead.query("SELECT Id, LastName, Email FROM Lead ORDER BY LastName", max_records=2, wait=0))
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert [r["LastName"] for r in rows] == [f"Q{i}" for i in range(5)]
    assert rows[0]["Email"] == "q0@acme.io"


# -- limits, authentication ------------------------------------------------------------------


def test_daily_api_allocation_is_spent_and_reported(sf, sandbox):
    limits = sf.limits()
    used = sf.api_usage["api-usage"].used
    assert limits["DailyApiRequests"]["Max"] == 100000
    assert limits["DailyApiRequests"]["Remaining"] == 100000 - used
    assert sf.api_usage["api-usage"].total == 100000
    config(sandbox, daily_api_limit=used + 2)
    sf.Lead.describe()
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"] == (used + 2, used + 2)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == 403
    assert exc.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    config(sandbox, daily_api_limit=used + 10)
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 7


def test_every_api_response_carries_limit_info(sf, sandbox):
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    base = f"{sandbox.salesforce_url}/services/data/v62.0"
    for method, path in (("GET", "/query?q=SELECT+Id+FROM+Lead"), ("GET", "/query?q=SELECT+Nope+FROM+Lead"),
                         ("POST", "/sobjects/Lead")):
        resp = requests.request(method, base + path, headers=headers, json={}, verify=sandbox.ca_file, timeout=10)
        assert re.fullmatch(r"api-usage=\d+/100000", resp.headers["Sforce-Limit-Info"]), (method, path)


def test_wrong_or_missing_token_is_401(sandbox_clean):
    bad = client(sandbox_clean, SALESFORCE_ACCESS_TOKEN="wrong-token")
    with pytest.raises(SalesforceExpiredSession) as exc:
        bad.query("SELECT Id FROM Lead")
    assert exc.value.status == 401
    assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    resp = requests.get(f"{sandbox_clean.salesforce_url}/services/data/v62.0/limits", verify=sandbox_clean.ca_file,
                        timeout=10)
    assert resp.status_code == 401


def test_oauth_password_and_client_credentials_grants(sandbox_clean):
    token = sandbox_clean.token
    base = {"SALESFORCE_INSTANCE_URL": sandbox_clean.salesforce_url, "SALESFORCE_CA_BUNDLE": sandbox_clean.ca_file}
    by_password = make_client(SalesforceCredentials.from_env({
        **base, "SALESFORCE_USERNAME": "integration@acme.io", "SALESFORCE_PASSWORD": token[:8],
        "SALESFORCE_SECURITY_TOKEN": token[8:],
    }))
    assert by_password.session_id != token
    assert by_password.Lead.create(lead())["success"] is True
    by_client = make_client(SalesforceCredentials.from_env({
        **base, "SALESFORCE_CLIENT_ID": "writeback-app", "SALESFORCE_CLIENT_SECRET": token,
    }))
    assert by_client.query("SELECT COUNT() FROM Lead")["totalSize"] == 1

    with pytest.raises(PermissionError, match="authentication failure"):
        make_client(SalesforceCredentials.from_env({
            **base, "SALESFORCE_USERNAME": "integration@acme.io", "SALESFORCE_PASSWORD": "wrong",
        }))
    url = f"{sandbox_clean.salesforce_url}/services/oauth2/token"
    ok = requests.post(url, data={"grant_type": "client_credentials", "client_id": "app", "client_secret": token},
                       verify=sandbox_clean.ca_file, timeout=10)
    body = ok.json()
    assert ok.status_code == 200 and body["token_type"] == "Bearer"
    assert {"access_token", "instance_url", "id", "issued_at", "signature"} <= set(body)
    assert body["instance_url"] == sandbox_clean.salesforce_url
    bad_secret = requests.post(url, data={"grant_type": "client_credentials", "client_id": "app",
                                          "client_secret": "nope"}, verify=sandbox_clean.ca_file, timeout=10)
    assert bad_secret.status_code == 400 and bad_secret.json()["error"] == "invalid_client"
    bad_grant = requests.post(url, data={"grant_type": "magic"}, verify=sandbox_clean.ca_file, timeout=10)
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"


# -- persistence, faults, concurrency, start-up ----------------------------------------------


def test_state_survives_a_restart(tmp_path):
    ca, cert, key = make_certificates(tmp_path / "tls")
    db = tmp_path / "salesforce.sqlite"

    def start() -> tuple[Any, Salesforce]:
        served = serve(SalesforceApp(db, token="restart-token"), ssl_context=server_context(cert, key))
        creds = SalesforceCredentials(instance_url=served.url, access_token="restart-token", ca_bundle=str(ca))
        return served, make_client(creds)

    served, sf = start()
    try:
        add_field(sf, "Lead.Warmly_Id__c", type="Text", label="Warmly Id", length=64, externalId=True)
        rid = sf.Lead.create(lead(Email="kept@acme.io", Warmly_Id__c="k1"))["id"]
        sf.Lead.create(lead(Email="gone@acme.io"))
        sf.Lead.delete(sf.query("SELECT Id FROM Lead WHERE Email = 'gone@acme.io'")["records"][0]["Id"])
        used = sf.limits()["DailyApiRequests"]["Max"] - sf.limits()["DailyApiRequests"]["Remaining"]
    finally:
        served.stop()

    served, sf = start()
    try:
        rows = sf.query("SELECT Id, Email, Warmly_Id__c FROM Lead")["records"]
        assert [(r["Id"], r["Email"], r["Warmly_Id__c"]) for r in rows] == [(rid, "kept@acme.io", "k1")]
        assert sf.api_usage["api-usage"].used == used + 1
        assert sf.Lead.upsert("Warmly_Id__c/K1", {"Title": "after restart"}) == 200
        new = sf.Lead.create(lead())["id"]
        assert new != rid and new > rid  # ids keep counting from where they were
    finally:
        served.stop()


def test_lock_row_fault_fails_records_without_writing(sf, sandbox):
    fault(sandbox, kind="lock_row", path="composite/sobjects", count=1)
    results = create_many(sf, "Lead", [lead(), lead()])
    assert [r["errors"][0]["statusCode"] for r in results] == ["UNABLE_TO_LOCK_ROW"] * 2
    assert results[0]["errors"][0]["message"].startswith("unable to obtain exclusive access to this record")
    assert count(sf) == 0
    assert all(r["success"] for r in create_many(sf, "Lead", [lead()]))

    rid = sf.Lead.create(lead())["id"]
    fault(sandbox, kind="lock_row", method="PATCH", path="/sobjects/Lead/", count=1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(rid, {"Title": "locked"})
    assert error(exc)["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert rid in error(exc)["message"]
    assert sf.Lead.get(rid)["Title"] is None
    assert sf.Lead.update(rid, {"Title": "free"}) == 204

    fault(sandbox, kind="lock_row", method="PATCH", path="/jobs/ingest/", count=1)
    [summary] = sf.bulk2.Lead.insert(records=[lead(LastName="Locked1"), lead(LastName="Locked2")], wait=0)
    assert summary["numberRecordsFailed"] == 2
    assert sf.bulk2.Lead.get_failed_records(summary["job_id"]).count("UNABLE_TO_LOCK_ROW") == 2
    assert count(sf, "Lead", "WHERE LastName LIKE 'Locked%'") == 0


@pytest.mark.parametrize("status", [503, 429])
def test_injected_status_fault_reaches_the_sdk(sf, sandbox, status):
    body = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    fault(sandbox, kind="status", status=status, body=body, path="/query", count=1)
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query("SELECT Id FROM Lead")
    assert exc.value.status == status and exc.value.content == body
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_dropped_response_after_commit_still_wrote_the_record(sf, sandbox):
    fault(sandbox, kind="drop_after_commit", method="POST", path="/sobjects/Lead", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Lead.create(lead(Email="lost-response@acme.io"))
    rows = sf.query("SELECT Id FROM Lead WHERE Email = 'lost-response@acme.io'")["records"]
    assert len(rows) == 1


def test_parallel_clients_lose_nothing(sandbox_clean):
    threads, calls, per_call = 6, 4, 50
    clients = [client(sandbox_clean) for _ in range(threads)]
    ids: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int, sf: Salesforce) -> None:
        try:
            for c in range(calls):
                rows = [lead(LastName=f"T{n}-{c}-{i}", Email=f"t{n}.{c}.{i}@acme.io") for i in range(per_call)]
                results = create_many(sf, "Lead", rows)
                single = sf.Lead.create(lead(LastName=f"S{n}-{c}"))
                with lock:
                    ids.extend(r["id"] for r in results if r["success"])
                    ids.append(single["id"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n, sf)) for n, sf in enumerate(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    expected = threads * calls * (per_call + 1)
    assert len(ids) == len(set(ids)) == expected
    assert count(clients[0]) == expected


def test_sandbox_starts_within_three_seconds(tmp_path):
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_pipeline.cli", "sandbox", "--data-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.monotonic() - started
        info = json.loads(line)
        assert info["salesforce_url"].startswith("https://127.0.0.1:")
        assert elapsed < 3.0, f"sandbox took {elapsed:.2f}s to start"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_admin_records_dump_shows_live_and_deleted_records(sf, sandbox):
    keep, gone = (r["id"] for r in create_many(sf, "Lead", [lead(LastName="Keep"), lead(LastName="Gone")]))
    sf.Lead.delete(gone)
    dump = sandbox.admin("salesforce", "GET", "records/Lead")
    assert dump["totalSize"] == 2
    assert {(r["Id"], r["IsDeleted"]) for r in dump["records"]} == {(keep, False), (gone, True)}
