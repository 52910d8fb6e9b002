"""The admin load (``POST /__sandbox/load/{SObject}``, :mod:`connectors.sandbox.salesforce.load`): records
loaded at once read back through the real SDK exactly as records created through the API do."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.salesforce.api import SalesforceConnector
from tests.sandbox.salesforce.conftest import count, create_many, lead

#: What differs between two records by construction: their id, email and when they were made.
OWN = {"Id", "Email", "CreatedDate", "LastModifiedDate", "SystemModstamp"}


def load(sandbox: Any, sobject: str, rows: list[dict[str, Any]]) -> requests.Response:
    return requests.post(f"{sandbox.salesforce_url}/__sandbox/load/{sobject}", json=rows, verify=sandbox.ca_file,
                         timeout=30)


def every_field(sf: Any, sobject: str, where: str) -> list[dict[str, Any]]:
    names = [f["name"] for f in getattr(sf, sobject).describe()["fields"]]
    rows = sf.query_all(f"SELECT {', '.join(names)} FROM {sobject} WHERE {where}")["records"]
    return [{k: v for k, v in r.items() if k != "attributes"} for r in rows]


def test_a_loaded_lead_reads_back_like_a_created_one(sf, sandbox):
    fields = {"FirstName": "Ada", "Company": "Acme", "Title": "CTO", "LeadSource": "Web"}
    [made] = create_many(sf, "Lead", [lead(Email="api@acme.com", **fields)])
    answer = load(sandbox, "Lead", [lead(Email="Loaded@Acme.com", **fields)])
    assert answer.status_code == 200, answer.text
    [loaded_id] = answer.json()["ids"]
    created, loaded = (every_field(sf, "Lead", f"Id = '{rid}'")[0] for rid in (made["id"], loaded_id))
    assert {k: v for k, v in loaded.items() if k not in OWN} == {k: v for k, v in created.items() if k not in OWN}
    assert loaded_id.startswith("00Q") and loaded["Email"] == "Loaded@Acme.com"
    assert loaded["CreatedDate"] and loaded["LastModifiedDate"] == loaded["SystemModstamp"]
    # its email is indexed like a created one's: keyed SOQL (case-insensitive) and a Bulk query find it
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE Email IN ('loaded@acme.com')")["records"]] == [
        loaded_id]
    bulk = SalesforceConnector(sf).query_bulk("Lead", ["Email"], "Email != null")
    assert {r["Id"] for r in bulk} == {made["id"], loaded_id}


def test_a_load_keeps_the_dates_it_is_given_and_an_account_link(sf, sandbox):
    [account] = load(sandbox, "Account", [{"Name": "Acme", "Website": "acme.com"}]).json()["ids"]
    answer = load(sandbox, "Contact", [{"LastName": "Doe", "Email": "d@acme.com", "AccountId": account,
                                        "CreatedDate": "2024-01-31T12:00:00Z",
                                        "LastModifiedDate": "2024-02-01T08:30:00.000+0000"}])
    [contact] = answer.json()["ids"]
    [row] = sf.query(f"SELECT AccountId, CreatedDate, LastModifiedDate, SystemModstamp FROM Contact "
                     f"WHERE Id = '{contact}'")["records"]
    assert row["AccountId"] == account
    assert row["CreatedDate"] == "2024-01-31T12:00:00.000+0000"
    assert row["LastModifiedDate"] == row["SystemModstamp"] == "2024-02-01T08:30:00.000+0000"
    assert count(sf, "Contact", f"WHERE AccountId = '{account}'") == 1


@pytest.mark.parametrize(("rows", "problem"), [
    ([lead(Email="ok@acme.com"), lead(Email="not an email")], "INVALID_EMAIL_ADDRESS"),
    ([lead(Email="ok@acme.com"), {"Email": "x@acme.com", "Company": "Acme"}], "REQUIRED_FIELD_MISSING"),
    ([lead(Email="ok@acme.com"), lead(Nope__c="x")], "INVALID_FIELD"),
])
def test_one_bad_record_loads_nothing(sf, sandbox, rows, problem):
    answer = load(sandbox, "Lead", rows)
    assert answer.status_code == 400 and answer.json()["index"] == 1 and problem in answer.text
    assert count(sf) == 0


def test_a_load_is_not_api_use(sf, sandbox):
    sandbox.admin("salesforce", "DELETE", "calls")
    assert load(sandbox, "Lead", [lead(Email=f"p{i}@acme.com") for i in range(500)]).json()["loaded"] == 500
    assert sandbox.calls("salesforce")["total"] == 0
    assert count(sf) == 500
