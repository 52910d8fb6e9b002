"""Faults that are about the CRM rather than one call: 5xx on the reads, locked rows, and the daily
allocation spent part-way through a run — on both CRMs, each checked for 0 duplicates (SDK),
one outcome per model row (warehouse), and a next run that heals (``tests/faults/conftest.py``).
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.faults.conftest import Faulty, assert_accounted, assert_heals, assert_no_duplicates
from tests.sync.helpers import HS_DAILY_LIMIT_SPENT

SF_DAILY_LIMIT_SPENT = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]


def test_5xx_on_the_person_reads_fails_those_people_and_the_companies_still_land(faulty: Faulty) -> None:
    if faulty.crm == "salesforce":
        faulty.fault(kind="status", status=503, count=None, method="GET", path="query", query="FROM (Lead|Contact)",
                     body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "Service temporarily unavailable"}])
    else:
        faulty.fault(kind="status", status=502, count=None, path="contacts/batch/read")
    result = faulty.sync()
    assert_accounted(faulty, result.run_id)
    people = result.log.filter(pl.col("object").is_in(["Lead", "Contact", "contacts"]))
    assert set(people["reason"]) == {"read_failed"}
    assert set(result.log.filter(~pl.col("object").is_in(["Lead", "Contact", "contacts"]))["status"]) == {"succeeded"}
    faulty.clear()  # before reading the CRM back: the fault would fail our own query too
    assert faulty.people() == []  # unseen, a person might exist: nothing created
    assert_no_duplicates(faulty)
    assert_heals(faulty)


def test_locked_rows_fail_their_records_and_the_next_run_writes_them(faulty: Faulty) -> None:
    """Salesforce: ``UNABLE_TO_LOCK_ROW`` per record (retried, then failed). HubSpot: 423 Locked, which
    its error-handling page documents for a record being written by several requests at once
    (https://developers.hubspot.com/docs/api-reference/error-handling)."""
    if faulty.crm == "salesforce":
        faulty.fault(kind="lock_row", method="PATCH", path="composite/sobjects/Lead/", count=None, skip=1)
        reasons = {"UNABLE_TO_LOCK_ROW"}
    else:
        # New contacts with a company go by batch create (their link inline): 12 in 4 calls.
        faulty.fault(kind="status", status=423, count=None, path="contacts/batch/create", skip=1,
                     body={"status": "error", "message": "Locked", "category": "LOCKED"})
        reasons = {"LOCKED", "HTTP_423", "RETRIES_EXHAUSTED"}
    result = faulty.sync()
    assert faulty.fired() > 0, "the fault never fired"
    assert_accounted(faulty, result.run_id)
    failed = result.log.filter(pl.col("status") == "failed")
    assert not failed.is_empty() and set(failed["reason"]) <= reasons, failed.to_dicts()
    assert len(faulty.people()) == 3  # the first batch landed
    assert_no_duplicates(faulty)
    assert_heals(faulty)


# Salesforce links a person to its Account in the person's own write; HubSpot a new contact in its
# batch create, and a contact that exists without its company (made by a rep) in a call of its own.
@pytest.mark.parametrize(("crm", "where"), [("salesforce", "people"), ("hubspot", "people"), ("hubspot", "links")])
def test_the_daily_allocation_spent_mid_run_stops_cleanly_and_the_next_run_finishes(faulty: Faulty,
                                                                                    where: str) -> None:
    if faulty.crm == "salesforce":
        faulty.fault(kind="status", status=403, count=None, method="PATCH", path="composite/sobjects/Lead/", skip=1,
                     body=SF_DAILY_LIMIT_SPENT)
    else:
        path = "contacts/batch/create" if where == "people" else "batch/associate/default"
        if where == "links":
            faulty.rep_contacts()
        faulty.fault(kind="status", status=429, count=None, path=path, skip=1, body=HS_DAILY_LIMIT_SPENT)
    result = faulty.sync()
    assert faulty.fired() > 0, "the fault never fired"
    assert result.stopped and "daily" in result.stopped.lower()
    assert_accounted(faulty, result.run_id)
    failed = result.log.filter(pl.col("status") == "failed")
    assert set(failed["reason"]) <= {"api_limit_exhausted", "link_failed"}, failed.to_dicts()
    assert 0 < failed.height < result.log.height
    assert_no_duplicates(faulty)
    assert_heals(faulty)
