"""Building SOQL: quoted values, checked identifiers, ``IN`` lists cut to fit a URL (pure, no server)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from connectors.salesforce.soql import MAX_QUERY_URL_BYTES, check_identifier, in_queries, quote, select_fields


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
