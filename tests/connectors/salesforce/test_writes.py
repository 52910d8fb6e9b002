"""sObject Collections upserts and updates against the Salesforce sandbox: per-record results,
bad records isolated, transient failures and locked rows retried, no duplicates.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

import math
from datetime import datetime

from connectors.salesforce.api import SalesforceConnector
from tests.connectors.salesforce.helpers import (
    KEY,
    UPSERT_ENDPOINT,
    _add_key,
    _count,
    _insert,
    _lead,
    _reset,
    _server_calls,
)


def test_upsert_creates_then_updates(keyed: SalesforceConnector, sf) -> None:
    records = [_lead(f"u{i}@acme.io") for i in range(3)]
    keys = [f"u{i}@acme.io" for i in range(3)]
    first = keyed.upsert("Lead", KEY, records, keys)
    assert [r.key for r in first] == keys
    assert all(r.ok and r.created and r.crm_id for r in first)
    assert _count(sf, "Email LIKE 'u%@acme.io'") == 3
    second = keyed.upsert("Lead", KEY, [{**r, "Title": "CTO", "Email": r["Email"]} for r in records], keys)
    assert all(r.ok and not r.created for r in second)
    assert [r.crm_id for r in second] == [r.crm_id for r in first]
    lead = sf.Lead.get(first[0].crm_id)
    assert lead["Title"] == "CTO"
    assert _count(sf, "Email LIKE 'u%@acme.io'") == 3
    assert keyed.calls.by_endpoint[UPSERT_ENDPOINT] == 2


def test_upsert_isolates_bad_records(keyed: SalesforceConnector, sf) -> None:
    records = [_lead(f"ok{i}@acme.io") for i in range(4)]
    records.insert(2, _lead("long@acme.io", Title="x" * 300))
    records.append({KEY: None, "LastName": "NoKey", "Company": "Acme"})
    records.append(_lead("naive@acme.io", Warmly_Whatever__c=datetime(2026, 1, 1)))
    keys = [str(r.get("Email")) for r in records]
    results = keyed.upsert("Lead", KEY, records, keys)
    assert [r.key for r in results] == keys
    assert [r.ok for r in results] == [True, True, False, True, True, False, False]
    bad = results[2]
    assert bad.error_code == "STRING_TOO_LONG" and "Title" in bad.fields and bad.message
    assert results[5].error_code == "MISSING_KEY" and results[6].error_code == "INVALID_VALUE"
    assert _count(sf, "Email LIKE 'ok%@acme.io'") == 4
    assert _count(sf, "Email = 'long@acme.io'") == 0
    assert keyed.calls.writes == 1  # the unsendable records cost nothing


def test_a_call_refused_whole_is_narrowed_to_its_bad_records(keyed: SalesforceConnector, sf) -> None:
    # Salesforce refuses the whole request (400) for an unknown column or a value it cannot
    # parse; the connector narrows down to the records that carry the problem.
    records = [_lead(f"w{i}@acme.io") for i in range(8)]
    records[2]["NumberOfEmployees"] = "many"
    records[5]["Bogus__c"] = 1
    results = keyed.upsert("Lead", KEY, records, [str(i) for i in range(8)])
    assert [r.ok for r in results] == [i not in (2, 5) for i in range(8)]
    assert results[2].error_code == "JSON_PARSER_ERROR" and results[5].error_code == "INVALID_FIELD"
    assert _count(sf, "Email LIKE 'w%@acme.io'") == 6
    assert keyed.calls.by_endpoint[UPSERT_ENDPOINT] <= 2 + 2 * math.ceil(math.log2(8))


def test_upsert_batches_at_200_per_call(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    n = 450
    results = keyed.upsert("Lead", KEY, [_lead(f"b{i}@acme.io") for i in range(n)], [str(i) for i in range(n)])
    assert all(r.ok and r.created for r in results) and [r.key for r in results] == [str(i) for i in range(n)]
    assert keyed.calls.writes == math.ceil(n / 200) == 3
    assert keyed.calls.by_endpoint == {UPSERT_ENDPOINT: 3}
    assert _server_calls(sandbox_clean, "composite/sobjects") == 3
    assert _count(sf, "Email LIKE 'b%@acme.io'") == n


def test_update_by_id(conn: SalesforceConnector, sf) -> None:
    ids = _insert(sf, [{"LastName": f"U{i}", "Company": "Acme"} for i in range(3)])
    sf.Lead.delete(ids[1])
    conn.calls = _reset(conn)
    records = [{"Id": i, "Title": "VP Sales", "NumberOfEmployees": 50} for i in ids]
    results = conn.update("Lead", records, ["a", "b", "c"])
    assert [r.key for r in results] == ["a", "b", "c"]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_code == "ENTITY_IS_DELETED"
    assert sf.Lead.get(ids[0])["Title"] == "VP Sales" and sf.Lead.get(ids[2])["NumberOfEmployees"] == 50
    assert conn.calls.by_endpoint["PATCH composite/sobjects"] == 1


def test_retries_5xx_then_succeeds(keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float]) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "PATCH", "path": "composite/sobjects", "status": 503, "count": 2,
        "body": [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]})
    results = keyed.upsert("Lead", KEY, [_lead("r@acme.io")], ["r"])
    assert results[0].ok and results[0].created
    assert keyed.calls.by_endpoint == {UPSERT_ENDPOINT: 3}
    # Exponential with jitter over the upper half: 0.25–0.5 s, then 0.5–1 s (backoff_base 0.5).
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 <= sleeps[1] <= 1.0
    assert _count(sf, "Email = 'r@acme.io'") == 1


def test_writes_fail_records_when_attempts_run_out(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=2, sleep=sleeps.append)
    _add_key(conn)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "PATCH", "path": "composite/sobjects", "status": 502, "count": None})
    results = conn.upsert("Lead", KEY, [_lead("x@acme.io"), _lead("y@acme.io")], ["x", "y"])
    assert [(r.ok, r.error_code) for r in results] == [(False, "HTTP_502"), (False, "HTTP_502")]
    assert "2 attempts" in (results[0].message or "")
    assert conn.calls.by_endpoint[UPSERT_ENDPOINT] == 2 and len(sleeps) == 1


def test_locked_rows_are_retried_alone(keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float]) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "lock_row", "path": "composite/sobjects", "count": 1})
    results = keyed.upsert("Lead", KEY, [_lead(f"l{i}@acme.io") for i in range(5)], [str(i) for i in range(5)])
    assert all(r.ok for r in results), results
    assert keyed.calls.by_endpoint[UPSERT_ENDPOINT] == 2 and len(sleeps) == 1
    assert _count(sf, "Email LIKE 'l%@acme.io'") == 5


def test_lost_response_on_upsert_does_not_duplicate(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "drop_after_commit", "method": "PATCH", "path": "composite/sobjects", "count": 1})
    records = [_lead(f"d{i}@acme.io") for i in range(3)]
    results = keyed.upsert("Lead", KEY, records, ["a", "b", "c"])
    assert all(r.ok for r in results)
    assert not any(r.created for r in results)  # the retry found what the lost attempt created
    assert keyed.calls.by_endpoint == {UPSERT_ENDPOINT: 2}
    assert _count(sf, "Email LIKE 'd%@acme.io'") == 3
