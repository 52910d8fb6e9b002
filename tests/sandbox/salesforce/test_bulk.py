"""Bulk API 2.0 (:mod:`connectors.sandbox.salesforce.bulk`): ingest jobs and their results, and
query jobs with locators.
"""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceResourceNotFound,
)

from tests.sandbox.salesforce.conftest import add_field, count, create_many, error, lead


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
