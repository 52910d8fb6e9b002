"""The checks a record's values pass before they are written
(:mod:`connectors.sandbox.salesforce.validation`): types, lengths, picklists, required fields,
references, unique fields and the duplicate rule on email.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce.conftest import add_field, config, count, create_many, error, lead, records


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
