"""sObject Collections (:mod:`connectors.sandbox.salesforce.collections`): the 200-record cap,
per-record results, ``allOrNone``, update / retrieve / delete, and upsert by external id.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.sandbox.salesforce.conftest import add_field, count, create_many, error, lead, records


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
