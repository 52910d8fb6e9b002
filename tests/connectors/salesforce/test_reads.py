"""Keyed reads through SOQL against the Salesforce sandbox: escaping, paging, URL-sized chunks.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.soql import MAX_QUERY_URL_BYTES, in_queries, quote
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
