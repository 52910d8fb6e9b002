"""Building SOQL: quoted values, checked identifiers, ``IN`` lists cut to fit a URL (pure, no server)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from connectors.salesforce.soql import (
    MAX_QUERY_URL_BYTES,
    check_identifier,
    contains_query_chunks,
    in_queries,
    in_query_chunks,
    like_contains,
    quote,
    select_fields,
)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("o'hara@acme.io", r"'o\'hara@acme.io'"),
        ("back\\slash@acme.io", r"'back\\slash@acme.io'"),
        ("tab\there", r"'tab\there'"),
        ("quote\"d", "'quote\\\"d'"),
        ("plain@acme.io", "'plain@acme.io'"),
    ],
)
def test_quote_escapes_soql_string_literals(value: str, literal: str) -> None:
    assert quote(value) == literal


@pytest.mark.parametrize("name", ["Email", "Warmly_Sync_Key__c", "_x", "A1"])
def test_identifier_accepts_api_names(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "Email OR Id != null", "Account.Name", "x'--", "Lead;", "É"])
def test_identifier_rejects_anything_else(name: str) -> None:
    with pytest.raises(ValueError):
        check_identifier(name)


def test_select_fields_adds_id_and_match_field_once() -> None:
    assert select_fields(["email", "Title"], "Id", "Email") == ["Id", "Email", "Title"]


def test_in_queries_split_on_encoded_url_length() -> None:
    base = "https://127.0.0.1:9999/services/data/v62.0/query/"
    # Escape-heavy values: every "'" becomes \' and then %5C%27 — counting values would overflow.
    values = [f"o'neil+{i:05d}@x'y'z.example" for i in range(3000)]
    queries = list(in_queries(base, "Lead", "Email", values, ["Id", "Email"], where="IsConverted = false"))
    assert len(queries) > 1
    for q in queries:
        url = base + "?" + urlencode({"q": q})
        assert len(url) <= MAX_QUERY_URL_BYTES
        assert q.startswith("SELECT Id, Email FROM Lead WHERE Email IN (")
        assert q.endswith(") AND (IsConverted = false)")
    # Every value is sent exactly once, across the chunks.
    sent = ",".join(q.split(" IN (", 1)[1].rsplit(")", 2)[0] for q in queries)
    assert sent.count("@x") == len(values)
    # Chunks are packed: all but the last come within one value of the budget.
    for q in queries[:-1]:
        assert len(base + "?" + urlencode({"q": q})) > MAX_QUERY_URL_BYTES - 200


def test_in_queries_refuses_unsafe_identifiers_and_oversized_values() -> None:
    base = "https://h/services/data/v62.0/query/"
    with pytest.raises(ValueError):
        list(in_queries(base, "Lead WHERE Id != null", "Email", ["a"], ["Id"]))
    with pytest.raises(ValueError):
        list(in_queries(base, "Lead", "Email", ["a"], ["Id, (SELECT Id FROM Tasks)"]))
    with pytest.raises(ValueError):
        list(in_queries(base, "Lead", "Email", ["x" * 20_000], ["Id"]))


def test_like_contains_escapes_quotes_and_wildcards() -> None:
    assert like_contains("o'brien_100%.com") == r"'%o\'brien\_100\%.com%'"
    assert like_contains("back\\slash") == r"'%back\\slash%'"


def test_contains_queries_keep_a_keys_texts_together_and_fit_the_url() -> None:
    base = "https://127.0.0.1:9999/services/data/v62.0/query/"
    needles = [(f"firm{i:04d}.example", [f"firm{i:04d}.example"]) for i in range(1500)]
    needles.insert(7, ("xn--bcher-kva.de", ["xn--bcher-kva.de", "bücher.de"]))
    chunks = list(contains_query_chunks(base, "Account", "Website", needles, ["Id", "Website"]))
    assert 1 < len(chunks) <= 8  # ~200 domains a statement, where 12 exact spellings each took ~40
    assert [k for keys, _ in chunks for k in keys] == [k for k, _ in needles]  # every key once, in order
    for keys, q in chunks:
        assert len(base + "?" + urlencode({"q": q})) <= MAX_QUERY_URL_BYTES
        assert q.startswith("SELECT Id, Website FROM Account WHERE Website LIKE '%")
        assert q.count(" LIKE ") == sum(len(t) for k, t in needles if k in keys)
    first_keys, first = chunks[0]
    assert "xn--bcher-kva.de" in first_keys and "Website LIKE '%bücher.de%'" in first
    assert len(base + "?" + urlencode({"q": first})) > MAX_QUERY_URL_BYTES - 200  # packed
    with pytest.raises(ValueError):
        list(contains_query_chunks(base, "Account", "Website OR Id", needles, ["Id"]))


def test_in_query_chunks_name_the_values_each_statement_carries() -> None:
    base = "https://h/services/data/v62.0/query/"
    values = [f"p{i}@example.com" for i in range(2000)]
    chunks = list(in_query_chunks(base, "Lead", "Email", values, ["Id", "Email"]))
    assert [s for _, s in chunks] == list(in_queries(base, "Lead", "Email", values, ["Id", "Email"]))
    assert [v for vs, _ in chunks for v in vs] == values
    assert all(all(quote(v) in s for v in vs) for vs, s in chunks)
