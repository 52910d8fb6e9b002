"""Keyed reads through SOQL against the Salesforce sandbox: escaping, paging, URL-sized chunks.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from connectors.errors import CrmError
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.soql import MAX_QUERY_URL_BYTES, in_queries, in_query_chunks, quote
from tests.connectors.salesforce.helpers import _insert, _reset


def test_find_escapes_values_and_drops_attributes(conn: SalesforceConnector, sf) -> None:
    _insert(sf, [
        {"LastName": "O'Hara", "Company": "Acme", "Email": "o'hara@acme.io"},
        {"LastName": "Slash", "Company": "Back\\Slash Ltd", "Email": "slash@acme.io"},
        {"LastName": "Other", "Company": "Acme", "Email": "ohara@acme.io"},
    ])
    conn.calls = _reset(conn)  # the seeding went through the same session
    urls: list[str] = []
    sf.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.request.url))
    rows = conn.find("Lead", "Email", ["o'hara@acme.io", "o'hara@acme.io", "nobody@x.io"], ["LastName"])
    assert urls[0].count(quote_plus(quote("o'hara@acme.io"))) == 1  # a repeated value is sent once
    assert [(r["Email"], r["LastName"]) for r in rows] == [("o'hara@acme.io", "O'Hara")]
    assert set(rows[0]) == {"Id", "Email", "LastName"}
    rows = conn.find("Lead", "Company", ["Back\\Slash Ltd"], ["Email"])
    assert [r["Email"] for r in rows] == ["slash@acme.io"]
    rows = conn.find("Lead", "Company", ["Acme"], ["Email"], where="Email != 'ohara@acme.io'")
    assert [r["Email"] for r in rows] == ["o'hara@acme.io"]
    assert conn.calls.by_endpoint == {"GET query": 3}  # duplicates sent once: one query each


def test_find_follows_every_page(conn: SalesforceConnector, sf) -> None:
    _insert(sf, [{"LastName": f"P{i}", "Company": "Paging Co", "Email": f"p{i}@paging.io"} for i in range(2100)])
    conn.calls = _reset(conn)
    rows = conn.find("Lead", "Company", ["Paging Co"], ["Email"])
    assert len(rows) == 2100 and len({r["Id"] for r in rows}) == 2100
    assert conn.calls.by_endpoint == {"GET query": 1, "GET query/{id}": 1}


def test_find_chunks_long_value_lists_under_the_url_limit(conn: SalesforceConnector, sf) -> None:
    wanted = [f"o'neil.{i:04d}@a-rather-long-domain-name.example" for i in range(2500)]
    _insert(sf, [{"LastName": f"N{i}", "Company": "Acme", "Email": e} for i, e in enumerate(wanted[::50])])
    conn.calls = _reset(conn)
    urls: list[str] = []
    sf.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.request.url))
    rows = conn.find("Lead", "Email", wanted, ["Email"])
    assert sorted(r["Email"] for r in rows) == sorted(wanted[::50])
    base = sf.base_url + "query/"
    expected = list(in_queries(base, "Lead", "Email", wanted, ["Id", "Email"]))
    assert len(expected) > 2
    assert conn.calls.by_endpoint == {"GET query": len(expected)}
    assert len(urls) == len(expected)
    assert all(len(u) <= MAX_QUERY_URL_BYTES < 16_384 for u in urls)


def test_find_containing_matches_any_spelling_once_and_escapes_wildcards(conn: SalesforceConnector, sf,
                                                                         sandbox_clean) -> None:
    ids = {w: sf.Account.create({"Name": w, "Website": w})["id"] for w in (
        "https://www.acme.io/about", "ACME.IO", "https://a-b.com", "https://www.o'brien.com/", "https://bücher.de")}
    conn.calls = _reset(conn)
    rows = conn.find_containing("Account", "Website", {"acme.io": ["acme.io"], "a_b.com": ["a_b.com"],
                                                       "o'brien.com": ["o'brien.com"],
                                                       "xn--bcher-kva.de": ["xn--bcher-kva.de", "bücher.de"]},
                                ["Name"])
    assert sorted(r["Id"] for r in rows) == sorted(ids[w] for w in ("https://www.acme.io/about", "ACME.IO",
                                                                    "https://www.o'brien.com/", "https://bücher.de"))
    assert conn.calls.by_endpoint == {"GET query": 1}


def test_isolating_reads_fail_only_the_statement_that_failed(conn: SalesforceConnector, sf, sandbox_clean) -> None:
    wanted = [f"o'neil.{i:04d}@a-rather-long-domain-name.example" for i in range(1000)]
    _insert(sf, [{"LastName": "First", "Company": "Acme", "Email": wanted[0]},
                 {"LastName": "Last", "Company": "Acme", "Email": wanted[-1]}])
    chunks = list(in_query_chunks(sf.base_url + "query/", "Lead", "Email", wanted, ["Id", "Email", "LastName"]))
    assert len(chunks) >= 2
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "status", "status": 503, "count": None,
                                                         "path": "query", "query": r"neil\.0999@"})
    failed: dict[str, str] = {}
    rows = conn.find("Lead", "Email", wanted, ["LastName"], failed=failed)
    assert [r["LastName"] for r in rows] == ["First"]  # the other statements were read
    assert sorted(failed) == sorted(chunks[-1][0])  # exactly the values the failed statement carried
    assert "503" in failed[wanted[-1]]
    with pytest.raises(CrmError):  # without failed=, the error is raised as before
        conn.find("Lead", "Email", wanted[-1:], ["LastName"])
