"""Every write endpoint the sync uses, under every transient fault, on both CRMs.

Endpoints: Salesforce sObject Collections upsert (creates) and update, Bulk API 2.0 ingest;
HubSpot batch create with the company association inline (new contacts with a company: not
idempotent, a retry after a commit meets ``CONFLICT`` and goes by upsert then link), batch
upsert (companies, and contacts without a company), batch update, and the associations' batch
create (``associate/default``: contacts that exist without their company link, here made by a
rep before the run). The sync never writes records through Salesforce's single-record REST; the
only single-record creates are setup's permission set and its assignment (``test_setup_faults.py``).

Faults, on the second write call of the endpoint (the first lands): 429 with a short
``Retry-After`` (waited, then written) and with one past ``sync.max_retry_after_seconds``
(never waited: the records fail ``rate_limited``), 5xx until retries run out, a timeout (the
CRM answers after the client gave up, and commits anyway), a connection reset (nothing
applied), and a lost response after commit. Each case checks 0 duplicates through the SDK,
one outcome per model row in the warehouse's sync log, and that the next run heals
(``tests/faults/conftest.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from tests.faults.conftest import assert_accounted, assert_heals, assert_no_duplicates, new_faulty, world

SF_SLOW_DOWN = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded."}]
HS_SLOW_DOWN = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                "message": "You have reached your ten_secondly_rolling limit."}
SF_UNAVAILABLE = [{"errorCode": "SERVER_UNAVAILABLE", "message": "Service temporarily unavailable"}]
HS_UNAVAILABLE = {"status": "error", "message": "Service Unavailable", "category": "SERVICE_UNAVAILABLE"}
UNAVAILABLE_REASONS = {"SERVER_UNAVAILABLE", "SERVICE_UNAVAILABLE", "HTTP_503", "link_failed"}
#: The timeout case: the client gives up after this many seconds, the CRM answers (and commits) later.
CLIENT_TIMEOUT, CRM_LATENCY = 1.5, 2.5


@dataclass(frozen=True)
class Endpoint:
    crm: str
    name: str
    method: str
    path: str  # the sandbox fault's regex
    update: bool = False  # the faulted run updates records a first run created
    rep_contacts: bool = False  # the faulted run finds contacts a rep made and links them (HubSpot)
    skip: int = 1  # matching calls let through before the fault fires
    tuning: tuple[tuple[str, Any], ...] = ()


ENDPOINTS = [
    Endpoint("salesforce", "collections-create", "PATCH", r"composite/sobjects/Lead/"),
    Endpoint("salesforce", "collections-update", "PATCH", r"composite/sobjects$", update=True),
    # 12 Leads at a threshold of 6: one Bulk job; its close (UploadComplete) is the commit point.
    Endpoint("salesforce", "bulk-ingest", "PATCH", r"jobs/ingest/[^/]+$", skip=0,
             tuning=(("bulk_threshold", 6),)),
    Endpoint("hubspot", "batch-create-with-associations", "POST", r"contacts/batch/create"),
    # The world's people all have a company, so the upserts a run sends are the companies' (4 in 2 calls).
    Endpoint("hubspot", "batch-upsert", "POST", r"companies/batch/upsert"),
    Endpoint("hubspot", "batch-update", "POST", r"contacts/batch/update", update=True),
    Endpoint("hubspot", "associations-batch-create", "POST", r"batch/associate/default", rep_contacts=True),
]


def fault_spec(e: Endpoint, fault: str) -> tuple[dict[str, Any], set[str]]:
    """The sandbox fault for ``fault`` on ``e``, and the failure reasons the faulted run may log."""
    sf = e.crm == "salesforce"
    where = {"method": e.method, "path": e.path, "skip": e.skip}
    if fault == "429-short":
        return {**where, "kind": "status", "status": 429, "count": 1, "headers": {"Retry-After": "1"},
                "body": SF_SLOW_DOWN if sf else HS_SLOW_DOWN}, set()
    if fault == "429-long":
        return {**where, "kind": "status", "status": 429, "count": None, "headers": {"Retry-After": "3600"},
                "body": SF_SLOW_DOWN if sf else HS_SLOW_DOWN}, {"rate_limited", "link_failed"}
    if fault == "5xx":
        return {**where, "kind": "status", "status": 503, "count": None,
                "body": SF_UNAVAILABLE if sf else HS_UNAVAILABLE}, UNAVAILABLE_REASONS
    if fault == "timeout":
        return {**where, "kind": "latency", "seconds": CRM_LATENCY, "count": 1}, set()
    if fault == "reset":
        return {**where, "kind": "reset", "count": 1}, set()
    if fault == "lost-response":
        return {**where, "kind": "drop_after_commit", "count": 1}, set()
    raise AssertionError(fault)


FAULTS = ["429-short", "429-long", "5xx", "timeout", "reset", "lost-response"]
CASES = [pytest.param(e, f, id=f"{e.crm}-{e.name}-{f}", marks=[pytest.mark.slow] if f == "timeout" else [])
         for e in ENDPOINTS for f in FAULTS]


@pytest.mark.parametrize(("e", "fault"), CASES)
def test_a_write_fault_loses_nothing_duplicates_nothing_and_heals(prepared: Any, tmp_path: Any, e: Endpoint,
                                                                   fault: str) -> None:
    f = new_faulty(e.crm, prepared, tmp_path)
    tuning = dict(e.tuning)
    if fault == "timeout":
        tuning["request_timeout_seconds"] = CLIENT_TIMEOUT
    title = "VP Sales"
    if e.update:
        assert f.sync(**tuning).failed == 0
        title = "Chief Revenue Officer"
    if e.rep_contacts:
        f.rep_contacts()
    spec, may_fail = fault_spec(e, fault)
    f.fault(**spec)
    f.sleeps.clear()
    p, c = world(f.ns, title)
    started = time.monotonic()
    result = f.sync(p, c, **tuning)
    elapsed = time.monotonic() - started
    assert f.fired() > 0, "the fault never fired: the sync does not use this endpoint (any more)"

    assert_accounted(f, result.run_id, p, c)
    assert_no_duplicates(f)
    failed = result.log.filter(pl.col("status") == "failed")
    if may_fail:
        assert not failed.is_empty(), "the fault never fired"
        assert set(failed["reason"]) <= may_fail, failed.to_dicts()
        assert failed.height < result.log.height, "a fault on one call sank the whole run"
    else:
        assert failed.is_empty(), failed.to_dicts()
    if fault == "429-short":
        assert max(f.sleeps) >= 1.0, f"the Retry-After was not honoured: {f.sleeps}"
    if fault == "429-long":
        assert max(f.sleeps, default=0.0) <= 5.0, f"waited past sync.max_retry_after_seconds: {f.sleeps}"
        assert all("sync.max_retry_after_seconds" in m for m in failed["message"]), failed["message"].to_list()
    if fault == "timeout":
        assert elapsed < CLIENT_TIMEOUT + CRM_LATENCY + 5
        time.sleep(CRM_LATENCY)  # the abandoned call commits late: let it land before checking again
        assert_no_duplicates(f)
    assert_heals(f, title)

