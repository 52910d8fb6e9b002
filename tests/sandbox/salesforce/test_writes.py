"""The write path (:mod:`connectors.sandbox.salesforce.writes`): the ``lock_row`` fault fails every
record of a write call, single, Collections or Bulk, without writing it.
"""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox.salesforce.conftest import count, create_many, error, fault, lead


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
