"""Bulk API 2.0 jobs against the Salesforce sandbox: results joined back to keys, locked rows and
lost responses sent again in a new job.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

import pytest

from connectors.salesforce.api import SalesforceConnector
from tests.connectors.salesforce.helpers import KEY, UPSERT_ENDPOINT, _count, _lead


def test_bulk_path_joins_results_back_to_keys(keyed: SalesforceConnector, sf, sleeps: list[float]) -> None:
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    emails = [f"k{i:02d}@bulk.io" for i in range(12)]
    records = [_lead(e, Title=("x" * 300 if i == 7 else "Buyer")) for i, e in enumerate(emails)]
    records[3]["Title"] = None  # "#N/A" in the CSV: blank
    keys = [e.upper() for e in emails]
    results = bulk.upsert("Lead", KEY, records, keys)
    assert [r.key for r in results] == keys
    assert [r.ok for r in results] == [i != 7 for i in range(12)]
    assert all(r.created for i, r in enumerate(results) if i != 7)
    assert results[7].error_code == "STRING_TOO_LONG" and "Title" in results[7].fields
    rows = sf.query_all("SELECT Id, Email, Title FROM Lead WHERE Email LIKE 'k%@bulk.io'")["records"]
    by_email = {r["Email"]: r for r in rows}
    assert len(by_email) == 11
    for i, e in enumerate(emails):
        if i != 7:
            assert by_email[e]["Id"] == results[i].crm_id
    assert by_email[emails[3]]["Title"] is None and by_email[emails[0]]["Title"] == "Buyer"
    assert bulk.calls.by_endpoint.get("POST jobs/ingest") == 1
    assert UPSERT_ENDPOINT not in bulk.calls.by_endpoint
    # Update through Bulk too, by Id: joined back on the Id column.
    ids = [r.crm_id for r in results if r.ok]
    updates = [{"Id": i, "Title": "Champion"} for i in reversed(ids)]
    out = bulk.update("Lead", updates, [f"u{n}" for n in range(len(updates))])
    assert all(r.ok and not r.created for r in out)
    assert [r.crm_id for r in out] == list(reversed(ids))
    assert _count(sf, "Title = 'Champion'") == 11
    assert bulk.calls.by_endpoint.get("POST jobs/ingest") == 2


def test_locked_rows_in_a_bulk_job_go_again_in_a_new_job(
    keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float]
) -> None:
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "lock_row", "path": "jobs/ingest", "count": 1})
    results = bulk.upsert("Lead", KEY, [_lead(f"bl{i}@acme.io") for i in range(6)], [str(i) for i in range(6)])
    assert all(r.ok for r in results), results
    assert bulk.calls.by_endpoint["POST jobs/ingest"] == 2
    assert _count(sf, "Email LIKE 'bl%@acme.io'") == 6


@pytest.mark.parametrize(("method", "path"), [("PUT", "/batches"), ("PATCH", r"/jobs/ingest/750\w+$")])
def test_lost_response_in_a_bulk_job_restarts_the_job_without_duplicates(
    keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float], method: str, path: str
) -> None:
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "drop_after_commit", "method": method, "path": path, "count": 1})
    results = bulk.upsert("Lead", KEY, [_lead(f"bd{i}@acme.io") for i in range(6)], [str(i) for i in range(6)])
    assert all(r.ok for r in results), results
    assert bulk.calls.by_endpoint["POST jobs/ingest"] == 2
    assert _count(sf, "Email LIKE 'bd%@acme.io'") == 6


def test_bulk_jobs_are_cut_by_the_bytes_of_their_csv_not_a_record_count(
    keyed: SalesforceConnector, sf, sleeps: list[float],
) -> None:
    """Each job's upload stays within the CSV cap, measured in bytes as the CSV is built (README
    "Reading the CRM", its writes paragraph); long values make fewer records fit, short ones more."""
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    bulk.bulk_csv_limit = 4_000  # Salesforce's is 100 MB: the same cut, at a size a test can reach
    uploads: list[int] = []
    sf.session.hooks["response"].append(  # the upload streams from a file: its size is its Content-Length
        lambda r, *a, **k: uploads.append(int(r.request.headers["Content-Length"])) if r.request.method == "PUT"
        else None)
    emails = [f"size{i:03d}@bulk.io" for i in range(60)]
    records = [_lead(e, Title=("é" * 90 if i < 20 else "Buyer")) for i, e in enumerate(emails)]  # 2 bytes a char
    results = bulk.upsert("Lead", KEY, records, emails)
    assert [r for r in results if not r.ok] == []
    assert len(uploads) == bulk.calls.by_endpoint.get("POST jobs/ingest") >= 2
    assert max(uploads) <= 4_000  # none over the cap
    assert all(n > 4_000 - 300 for n in uploads[:-1])  # and each full: the next row (< 300 bytes) did not fit
    rows = sf.query_all("SELECT Email FROM Lead WHERE Email LIKE 'size%@bulk.io'")["records"]
    assert len(rows) == 60


def test_a_bulk_upload_streams_from_a_file_and_its_results_are_read_again_after_a_reset(
    keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float],
) -> None:
    """The job's CSV goes as a file (sent block by block, never one ``bytes`` of the whole job),
    and a results answer whose connection breaks is read again from its start: every record
    joined to the Id Salesforce holds for it."""
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    bodies: list[object] = []
    sf.session.hooks["response"].append(lambda r, *a, **k: bodies.append(r.request.body)
                                        if r.request.method == "PUT" else None)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "reset", "method": "GET", "path": "successfulResults", "count": 1})
    emails = [f"st{i:02d}@bulk.io" for i in range(8)]
    results = bulk.upsert("Lead", KEY, [_lead(e, Title='say "hi",\nthere') for e in emails], emails)
    assert all(r.ok and r.created for r in results), results
    assert len(bodies) == 1 and not isinstance(bodies[0], bytes | str) and hasattr(bodies[0], "read")
    assert sandbox_clean.calls("salesforce")["by_endpoint"]["GET jobs/ingest/results"] >= 3  # one read twice
    held = {r["Email"]: r for r in sf.query_all("SELECT Id, Email, Title FROM Lead WHERE Email LIKE 'st%@bulk.io'")
            ["records"]}
    assert [held[e]["Id"] for e in emails] == [r.crm_id for r in results]
    assert {r["Title"] for r in held.values()} == {'say "hi",\nthere'}


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_results_csv_read_in_pieces_reads_as_a_whole(size: int) -> None:
    """Cut anywhere (inside a quoted line break, a two-byte character, the BOM), a results answer
    gives ``csv`` the same rows as the whole text does; a line separator inside a value is no line end."""
    import csv
    import io

    from connectors.salesforce.bulk import _lines

    text = '\ufeffsf__Id,sf__Created,Email,Title\r\n00Q1,true,é@x.io,"a\nb, ""c"""\n00Q2,false,z@x.io,a\u2028b\n'
    data = text.encode("utf-8")
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    whole = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert list(csv.reader(_lines(pieces))) == whole
    assert whole[1:] == [["00Q1", "true", "é@x.io", 'a\nb, "c"'], ["00Q2", "false", "z@x.io", "a\u2028b"]]


def test_bulk_results_join_back_by_key_exactly_then_case_insensitively_repeats_in_order() -> None:
    """Results come in any order and may echo an external id in another case; a key sent twice
    takes its results in input order; a record no result names is NO_RESULT, never lost."""
    from connectors.salesforce.bulk import _join_bulk_results

    sent = [(0, "a@x.io"), (1, "B@x.io"), (2, "a@x.io"), (3, "c@x.io"), (5, "d@x.io")]
    keys = ["k0", "k1", "k2", "k3", "k4", "k5"]
    successes = [("b@x.io", "00Q1", "true"), ("a@x.io", "00Q0", "true"), ("A@X.IO", "00Q2", "false")]
    failures = [("c@x.io", "", "STRING_TOO_LONG:Title: data value too large:Title --")]
    out = _join_bulk_results(sent, keys, successes, failures, [], "ended", upsert=True)
    assert (out[0].crm_id, out[0].created) == ("00Q0", True)
    assert (out[1].crm_id, out[1].key) == ("00Q1", "k1")
    assert (out[2].crm_id, out[2].created) == ("00Q2", False)
    assert (out[3].ok, out[3].error_code, out[3].fields) == (False, "STRING_TOO_LONG", ("Title",))
    assert (out[5].ok, out[5].error_code) == (False, "NO_RESULT") and 4 not in out
