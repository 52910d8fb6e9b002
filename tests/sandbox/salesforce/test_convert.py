"""A rep converting a Lead (:mod:`connectors.sandbox.salesforce.convert`): the Account and Contact it
makes or fills, the fields set on the Lead, and the Lead read-only on every write path afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce.conftest import add_field, count, create_many, error, lead


def convert(sandbox: Any, **body: Any) -> dict[str, Any]:
    return sandbox.admin("salesforce", "POST", "convert-lead", body)


def test_converting_makes_an_account_and_a_contact_and_marks_the_lead(sf, sandbox):
    for obj in ("Lead", "Contact"):
        add_field(sf, f"{obj}.Score__c", label="Score", type="Number", precision=5, scale=0)
    rid = sf.Lead.create(lead(FirstName="Ann", LastName="Lee", Email="ann@acme.io", Title="CMO", Company="Acme",
                              Website="acme.io", Country="US", LeadSource="Web", Score__c=7))["id"]
    calls_before = sandbox.calls("salesforce")["total"]
    result = convert(sandbox, leadId=rid)
    assert result["success"] is True and result["errors"] == [] and result["opportunityId"] is None
    assert sandbox.calls("salesforce")["total"] == calls_before  # a rep's action is not API use

    converted = sf.query(f"SELECT IsConverted, ConvertedDate, ConvertedAccountId, ConvertedContactId, Status "
                         f"FROM Lead WHERE Id = '{rid}'")["records"][0]
    assert converted["IsConverted"] is True and converted["Status"] == "Closed - Converted"
    assert converted["ConvertedDate"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert (converted["ConvertedAccountId"], converted["ConvertedContactId"]) == (
        result["accountId"], result["contactId"])
    account = sf.Account.get(result["accountId"])
    assert (account["Name"], account["Website"], account["BillingCountry"], account["AccountSource"]) == (
        "Acme", "acme.io", "US", "Web")
    contact = sf.Contact.get(result["contactId"])
    assert (contact["FirstName"], contact["LastName"], contact["Email"], contact["Title"], contact["AccountId"]) == (
        "Ann", "Lee", "ann@acme.io", "CMO", result["accountId"])
    assert contact["Score__c"] is None  # custom fields are carried over only when an admin maps them
    assert sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = true")["totalSize"] == 1  # still queryable


def test_converting_into_existing_records_fills_only_their_empty_fields(sf, sandbox):
    acct = sf.Account.create({"Name": "Acme Holdings", "Industry": "Banking"})["id"]
    existing = sf.Contact.create({"LastName": "Lee-Smith", "Email": "ann.smith@acme.io", "AccountId": acct})["id"]
    rid = sf.Lead.create(lead(FirstName="Ann", LastName="Lee", Email="ann@acme.io", Title="CMO",
                              Industry="Technology", Website="acme.io"))["id"]
    result = convert(sandbox, leadId=rid, accountId=acct, contactId=existing)
    assert (result["success"], result["accountId"], result["contactId"]) == (True, acct, existing)
    account = sf.Account.get(acct)
    assert (account["Name"], account["Industry"], account["Website"]) == ("Acme Holdings", "Banking", "acme.io")
    contact = sf.Contact.get(existing)
    assert (contact["LastName"], contact["Email"], contact["FirstName"], contact["Title"]) == (
        "Lee-Smith", "ann.smith@acme.io", "Ann", "CMO")
    assert count(sf, "Account") == 1 and count(sf, "Contact") == 1


def test_a_converted_lead_is_read_only_on_every_write_path(sf, sandbox):
    add_field(sf, "Lead.Ext__c", label="Ext", type="Text", length=40, externalId=True, unique=True)
    rid = sf.Lead.create(lead(Email="ann@acme.io", Ext__c="ann"))["id"]
    convert(sandbox, leadId=rid)

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.update(rid, {"Title": "CEO"})
    assert (error(exc)["errorCode"], error(exc)["message"]) == (
        "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    by_collection = sf.restful("composite/sobjects", method="PATCH", json={
        "allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "id": rid, "Title": "CEO"}]})
    assert by_collection[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    for field, value in (("Ext__c", "ann"), ("Email", "ann@acme.io")):
        upserted = sf.restful(f"composite/sobjects/Lead/{field}", method="PATCH", json={
            "allOrNone": False, "records": [{"attributes": {"type": "Lead"}, field: value, "Title": "CEO"}]})
        assert upserted[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD", field
    [summary] = sf.bulk2.Lead.update(records=[{"Id": rid, "Title": "CEO"}], wait=0)
    assert summary["numberRecordsFailed"] == 1
    assert sf.Lead.get(rid)["Title"] is None
    assert count(sf, "Lead") == 1  # and no upsert made a second Lead


@pytest.mark.parametrize("body, code", [
    ({"leadId": "00Q000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    ({"accountId": "not-an-id"}, "INVALID_CROSS_REFERENCE_KEY"),
    ({"convertedStatus": "Working - Contacted"}, "INVALID_STATUS"),
    ({"contactId": "003000000000000AAA"}, "REQUIRED_FIELD_MISSING"),
], ids=["no-such-lead", "malformed-account", "not-a-converted-status", "contact-without-account"])
def test_a_conversion_that_fails_writes_nothing(sf, sandbox, body, code):
    rid = sf.Lead.create(lead())["id"]
    result = convert(sandbox, **{"leadId": rid, **body})
    assert (result["success"], result["errors"][0]["statusCode"]) == (False, code)
    assert count(sf, "Account") == 0 and count(sf, "Contact") == 0
    assert count(sf, "Lead", "WHERE IsConverted = false") == 1


def test_a_lead_converts_once_and_a_contact_must_belong_to_the_account(sf, sandbox):
    a, b = (r["id"] for r in create_many(sf, "Account", [{"Name": "A"}, {"Name": "B"}]))
    other = sf.Contact.create({"LastName": "Other", "AccountId": b})["id"]
    rid = sf.Lead.create(lead())["id"]
    wrong = convert(sandbox, leadId=rid, accountId=a, contactId=other)
    assert wrong["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert convert(sandbox, leadId=rid)["success"] is True
    again = convert(sandbox, leadId=rid)
    assert (again["success"], again["errors"][0]["statusCode"]) == (False, "CANNOT_UPDATE_CONVERTED_LEAD")
    assert count(sf, "Contact") == 2  # the rep's and the one the first conversion made


def test_a_request_without_a_lead_is_refused(sandbox):
    with pytest.raises(requests.HTTPError) as exc:
        convert(sandbox, accountId="001000000000000AAA")
    assert exc.value.response.status_code == 400
