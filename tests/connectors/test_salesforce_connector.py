"""The Salesforce connector: pure wire logic, then the real SDK against the sandbox Salesforce.

Integration tests check CRM state through simple-salesforce itself (``sf.query``,
``sf.Lead.get``), not only the connector's own return values, and observe requests through
the session's public hook list and the sandbox's server-side call counts — nothing of ours
is patched. ``sleep`` is the connector's own injectable parameter: a list records the waits.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote_plus, urlencode

import pytest

from connectors.crm import ApiCalls, FieldSpec
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.salesforce.api import SalesforceConnector
from connectors.salesforce.client import endpoint_name
from connectors.salesforce.soql import MAX_QUERY_URL_BYTES, check_identifier, in_queries, quote, select_fields
from connectors.salesforce.wire import (
    InvalidValue,
    csv_text,
    custom_field_metadata,
    error_detail,
    field_info,
    parse_bulk_error,
    parse_csv,
    parse_limit_info,
    parse_retry_after,
    to_csv_cell,
    to_wire,
)

# -- pure: SOQL ------------------------------------------------------------------------------


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


# -- pure: values and payloads -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc), "2026-11-20T10:00:00.000Z"),
        (datetime(2026, 11, 20, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))), "2026-11-20T10:00:00.123Z"),
        (date(2026, 1, 2), "2026-01-02"),
        (True, True),
        (7, 7),
        (1.5, 1.5),
        (Decimal("3.00"), 3),
        (None, None),
        ("x", "x"),
    ],
)
def test_to_wire(value: object, wire: object) -> None:
    assert to_wire("F", value) == wire


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), math.nan, float("inf"), object(), b"bytes"])
def test_to_wire_refuses_values_without_a_faithful_form(value: object) -> None:
    with pytest.raises(InvalidValue) as err:
        to_wire("Warmly_Last_Seen__c", value)
    assert err.value.field == "Warmly_Last_Seen__c"


def test_csv_cells_blank_with_na_and_avoid_exponents() -> None:
    assert to_csv_cell("F", None) == "#N/A"
    assert to_csv_cell("F", False) == "false"
    assert to_csv_cell("F", 1e-07) == "0.0000001"
    assert to_csv_cell("F", datetime(2026, 11, 20, 10, tzinfo=timezone.utc)) == "2026-11-20T10:00:00.000Z"
    text = csv_text(["Email", "Title"], [["a,b@x.io", 'say "hi"\nthere']])
    assert parse_csv(text) == [{"Email": "a,b@x.io", "Title": 'say "hi"\nthere'}]
    assert parse_csv("") == []


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --",
         ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]", ("Company",))),
        ("STRING_TOO_LONG:Title: data value too large:Title --",
         ("STRING_TOO_LONG", "Title: data value too large", ("Title",))),
        ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
         ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ())),
        ("INVALID_EMAIL_ADDRESS:Email: invalid email address: bad",
         ("INVALID_EMAIL_ADDRESS", "Email: invalid email address: bad", ())),
        ("something went wrong", ("BULK_ERROR", "something went wrong", ())),
    ],
)
def test_parse_bulk_error(raw: str, parsed: tuple[str, str, tuple[str, ...]]) -> None:
    assert parse_bulk_error(raw) == parsed


def test_headers_and_error_bodies() -> None:
    assert parse_limit_info("api-usage=18/15000") == (18, 15000)
    assert parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=x)") == (25, 5000)
    assert parse_limit_info(None) is None
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert error_detail([{"message": "Session expired", "errorCode": "INVALID_SESSION_ID"}]) == (
        "INVALID_SESSION_ID", "Session expired")
    assert error_detail({"message": "x"}) == (None, "x")
    assert error_detail("text") == (None, "")


def test_endpoint_names_fold_ids() -> None:
    base = "https://127.0.0.1:1/services/data/v62.0/"
    assert endpoint_name("patch", base + "composite/sobjects/Lead/Warmly_Sync_Key__c") == (
        "PATCH composite/sobjects/Lead/Warmly_Sync_Key__c")
    assert endpoint_name("GET", base + "query/?q=SELECT+Id") == "GET query"
    assert endpoint_name("GET", base + "query/01gD0000002HU6KIAW-2000") == "GET query/{id}"
    assert endpoint_name("GET", base + "jobs/ingest/750R0000000zlh9IAA/successfulResults/") == (
        "GET jobs/ingest/{id}/successfulResults")


# -- pure: schema ----------------------------------------------------------------------------


def _describe_field(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "X__c", "type": "string", "length": 80, "nillable": True, "createable": True,
        "updateable": True, "custom": True, "externalId": False, "unique": False,
        "defaultedOnCreate": False, "restrictedPicklist": False, "picklistValues": [],
    }
    return {**base, **over}


@pytest.mark.parametrize(
    ("sf_type", "kind"),
    [("string", "string"), ("textarea", "textarea"), ("email", "email"), ("url", "url"), ("phone", "phone"),
     ("int", "int"), ("double", "number"), ("currency", "number"), ("percent", "number"), ("boolean", "bool"),
     ("date", "date"), ("datetime", "datetime"), ("picklist", "picklist"), ("reference", "reference"),
     ("id", "id"), ("address", "other")],
)
def test_field_info_kinds(sf_type: str, kind: str) -> None:
    assert field_info(_describe_field(type=sf_type)).kind == kind


def test_field_info_flags() -> None:
    company = field_info(_describe_field(name="Company", custom=False, nillable=False, length=255))
    assert company.required_on_create and company.length == 255 and not company.custom
    defaulted = field_info(_describe_field(name="Status", nillable=False, defaultedOnCreate=True))
    assert not defaulted.required_on_create
    read_only = field_info(_describe_field(name="Id", type="id", nillable=False, createable=False, updateable=False))
    assert not read_only.required_on_create and not read_only.updateable
    key = field_info(_describe_field(externalId=True, unique=True))
    assert key.external_id and key.unique
    assert field_info(_describe_field(type="boolean", length=0)).length is None
    values = [{"value": "Open", "active": True}, {"value": "Old", "active": False}]
    assert field_info(_describe_field(type="picklist", restrictedPicklist=True, picklistValues=values)).options == (
        "Open",)
    assert field_info(_describe_field(type="picklist", picklistValues=values)).options is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (FieldSpec("A__c", "A", "string", 40), {"type": "Text", "length": 40}),
        (FieldSpec("A__c", "A", "string", 1000), {"type": "Text", "length": 255}),
        (FieldSpec("A__c", "A", "textarea"), {"type": "LongTextArea", "length": 32768, "visibleLines": 3}),
        (FieldSpec("A__c", "A", "int"), {"type": "Number", "precision": 18, "scale": 0}),
        (FieldSpec("A__c", "A", "number"), {"type": "Number", "precision": 18, "scale": 2}),
        (FieldSpec("A__c", "A", "bool"), {"type": "Checkbox", "defaultValue": "false"}),
        (FieldSpec("A__c", "A", "datetime"), {"type": "DateTime"}),
        (FieldSpec("A__c", "A", "date"), {"type": "Date"}),
        (FieldSpec("A__c", "A", "url"), {"type": "Url"}),
        (FieldSpec("A__c", "A", "email"), {"type": "Email"}),
        (FieldSpec("A__c", "A", "string", 40, unique_key=True),
         {"type": "Text", "length": 255, "externalId": True, "unique": True, "caseSensitive": False}),
    ],
)
def test_custom_field_metadata(spec: FieldSpec, expected: dict[str, object]) -> None:
    assert custom_field_metadata(spec) == {**expected, "label": "A"}


def test_custom_field_metadata_refuses_unsupported_kinds() -> None:
    with pytest.raises(ValueError):
        custom_field_metadata(FieldSpec("A__c", "A", "reference"))
    assert custom_field_metadata(FieldSpec("A__c", "A", "int", description="why"))["description"] == "why"


# -- pure: retry policy ----------------------------------------------------------------------


def _offline_connector(**kwargs: object) -> SalesforceConnector:
    from simple_salesforce import Salesforce

    client = Salesforce(instance_url="https://127.0.0.1:9", session_id="offline-token")
    return SalesforceConnector(client, **kwargs)  # type: ignore[arg-type]


def test_backoff_grows_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    conn = _offline_connector(backoff_base=0.5, max_backoff=4.0)
    for attempt in range(1, 10):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(20):
            delay = conn._delay(attempt, None)
            assert delay is not None and ceiling / 2 <= delay <= ceiling
    assert conn._delay(1, 7.0) == 7.0
    assert conn._delay(1, 3600.0) is None  # not waited out inside a run


def test_bad_arguments_are_refused_before_any_call() -> None:
    calls = ApiCalls()
    conn = _offline_connector(calls=calls)
    with pytest.raises(ValueError):
        conn.upsert("Lead", "Email", [{"Email": "a@x.io"}], [])
    with pytest.raises(ValueError):
        conn.upsert("Lead; DELETE", "Email", [], [])
    with pytest.raises(ValueError):
        conn.find("Lead", "Email OR Id != null", ["a"], ["Id"])
    with pytest.raises(ValueError):
        conn.create_fields("Lead", [FieldSpec("NoSuffix", "x", "string")])
    assert conn.find("Lead", "Email", [], ["Id"]) == []
    assert calls.total == 0


# -- against the sandbox, through the real SDK -----------------------------------------------

KEY = "Warmly_Sync_Key__c"
UPSERT_ENDPOINT = f"PATCH composite/sobjects/Lead/{KEY}"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def conn(sf, sleeps: list[float]) -> SalesforceConnector:
    return SalesforceConnector(sf, sleep=sleeps.append)


@pytest.fixture
def keyed(conn: SalesforceConnector, sandbox_clean) -> SalesforceConnector:
    """``conn`` with the Lead external-id field in place, and counters zeroed on both sides."""
    conn.create_fields("Lead", [FieldSpec(KEY, "Warmly Sync Key", "string", unique_key=True)])
    sandbox_clean.admin("salesforce", "DELETE", "calls")
    conn.calls = _reset(conn)
    return conn


def _reset(conn: SalesforceConnector) -> ApiCalls:
    """A fresh counter on the connector's session (the old one keeps its own tally)."""
    from connectors.salesforce.client import count_calls

    return count_calls(conn.sf.session, ApiCalls())


def _lead(email: str, **extra: object) -> dict[str, object]:
    return {KEY: email, "Email": email, "LastName": email.split("@")[0].title(), "Company": "Acme", **extra}


def _count(sf, where: str) -> int:
    return sf.query(f"SELECT COUNT() FROM Lead WHERE {where}")["totalSize"]


def _insert(sf, records: list[dict[str, object]]) -> list[str]:
    """Seed records through the SDK itself (sObject Collections create), not through our connector."""
    ids: list[str] = []
    for start in range(0, len(records), 200):
        chunk = [{"attributes": {"type": "Lead"}, **r} for r in records[start : start + 200]]
        body = {"allOrNone": True, "records": chunk}
        ids += [r["id"] for r in sf.restful("composite/sobjects", method="POST", json=body)]
    return ids


def _server_calls(sandbox, needle: str) -> int:
    return sum(n for name, n in sandbox.calls("salesforce")["by_endpoint"].items() if needle in name)


def test_describe_maps_fields_and_is_cached(conn: SalesforceConnector) -> None:
    schema = conn.describe("Lead")
    f = schema.fields
    assert schema.object_type == "Lead"
    assert f["Email"].kind == "email" and f["Email"].createable and f["Email"].updateable
    assert f["Id"].kind == "id" and not f["Id"].createable and not f["Id"].required_on_create
    assert f["LastName"].required_on_create and f["Company"].required_on_create
    assert not f["FirstName"].required_on_create
    assert f["Title"].kind == "string" and f["Title"].length == 128
    assert f["IsConverted"].kind == "bool" and not f["IsConverted"].createable
    assert f["NumberOfEmployees"].kind == "int" and f["AnnualRevenue"].kind == "number"
    assert f["Status"].kind == "picklist" and not f["Status"].required_on_create  # defaulted on create
    assert not f["Email"].custom
    assert conn.describe("Lead") is schema
    assert conn.calls.by_endpoint == {"GET sobjects/Lead/describe": 1}
    conn.describe("Lead", refresh=True)
    assert conn.calls.by_endpoint == {"GET sobjects/Lead/describe": 2}


def test_create_fields_is_idempotent(conn: SalesforceConnector, sf, sandbox_clean) -> None:
    specs = [
        FieldSpec("Warmly_Last_Seen__c", "Warmly Last Seen", "datetime", description="Last visit."),
        FieldSpec("Warmly_Page_Views__c", "Warmly Page Views", "int"),
        FieldSpec("Warmly_Demo_Requested__c", "Warmly Demo Requested", "bool"),
        FieldSpec("Warmly_Top_Pages__c", "Warmly Top Pages", "string", 200),
        FieldSpec(KEY, "Warmly Sync Key", "string", unique_key=True),
    ]
    assert conn.create_fields("Lead", specs) == [s.name for s in specs]
    fields = conn.describe("Lead").fields  # refreshed by create_fields
    assert fields["Warmly_Last_Seen__c"].kind == "datetime" and fields["Warmly_Last_Seen__c"].custom
    assert fields["Warmly_Page_Views__c"].kind == "number"  # Salesforce describes Number(18,0) as double
    assert fields["Warmly_Demo_Requested__c"].kind == "bool"
    assert fields["Warmly_Top_Pages__c"].length == 200
    assert fields[KEY].external_id and fields[KEY].unique
    # Salesforce itself sees them (describe through the SDK, not our cache).
    names = {d["name"] for d in sf.Lead.describe()["fields"]}
    assert {s.name for s in specs} <= names

    tooling_before = _server_calls(sandbox_clean, "CustomField")
    calls_before = conn.calls.total
    assert conn.create_fields("Lead", specs) == []
    assert conn.calls.total == calls_before  # cached describe: not even a read
    fresh = SalesforceConnector(sf)
    assert fresh.create_fields("Lead", specs) == []
    assert fresh.calls.writes == 0 and fresh.calls.reads == 1
    assert _server_calls(sandbox_clean, "CustomField") == tooling_before


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


def test_429_retry_after_is_honoured(conn: SalesforceConnector, sandbox_clean, sleeps: list[float]) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "GET", "path": "/query", "status": 429, "count": 1,
        "headers": {"Retry-After": "7"}, "body": [{"message": "slow down", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]})
    assert conn.find("Lead", "Email", ["a@b.io"], ["Email"]) == []
    assert sleeps == [7.0]
    assert conn.calls.by_endpoint == {"GET query": 2}


def test_reads_raise_retryable_when_attempts_run_out(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=3, sleep=sleeps.append)
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "status", "method": "GET", "path": "/query", "status": 500, "count": None})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    assert err.value.status == 500 and "3 attempts" in str(err.value)
    assert len(sleeps) == 2 and conn.calls.by_endpoint == {"GET query": 3}


def test_writes_fail_records_when_attempts_run_out(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=2, sleep=sleeps.append)
    conn.create_fields("Lead", [FieldSpec(KEY, "Warmly Sync Key", "string", unique_key=True)])
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


def test_locked_rows_in_a_bulk_job_go_again_in_a_new_job(
    keyed: SalesforceConnector, sf, sandbox_clean, sleeps: list[float]
) -> None:
    bulk = SalesforceConnector(sf, bulk_threshold=5, sleep=sleeps.append)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "lock_row", "path": "jobs/ingest", "count": 1})
    results = bulk.upsert("Lead", KEY, [_lead(f"bl{i}@acme.io") for i in range(6)], [str(i) for i in range(6)])
    assert all(r.ok for r in results), results
    assert bulk.calls.by_endpoint["POST jobs/ingest"] == 2
    assert _count(sf, "Email LIKE 'bl%@acme.io'") == 6


def test_lost_response_on_upsert_does_not_duplicate(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    sandbox_clean.admin("salesforce", "POST", "faults", {
        "kind": "drop_after_commit", "method": "PATCH", "path": "composite/sobjects", "count": 1})
    records = [_lead(f"d{i}@acme.io") for i in range(3)]
    results = keyed.upsert("Lead", KEY, records, ["a", "b", "c"])
    assert all(r.ok for r in results)
    assert not any(r.created for r in results)  # the retry found what the lost attempt created
    assert keyed.calls.by_endpoint == {UPSERT_ENDPOINT: 2}
    assert _count(sf, "Email LIKE 'd%@acme.io'") == 3


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


def test_daily_limit_stops_with_a_clear_error(keyed: SalesforceConnector, sf, sandbox_clean) -> None:
    keyed.find("Lead", "Email", ["a@b.io"], ["Email"])
    used, total = keyed.api_usage or (0, 0)
    assert total > 0 and used > 0
    sandbox_clean.admin("salesforce", "POST", "config", {"daily_api_limit": used + 1})
    keyed.find("Lead", "Email", ["a@b.io"], ["Email"])  # the last call allowed
    with pytest.raises(ApiLimitExhausted) as err:
        keyed.upsert("Lead", KEY, [_lead("z@acme.io")], ["z"])
    text = str(err.value)
    assert "daily API allocation spent" in text and f"/{used + 1}" in text
    assert err.value.status == 403 and err.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert keyed.calls.by_endpoint[UPSERT_ENDPOINT] == 1  # not retried
    assert sf.session_id not in text


def test_wrong_token_is_an_authentication_error(sandbox_clean) -> None:
    from simple_salesforce import Salesforce

    from connectors.salesforce.client import http_session

    wrong = "00Dwrong!" + "x" * 40
    client = Salesforce(instance_url=sandbox_clean.salesforce_url, session_id=wrong,
                        session=http_session(sandbox_clean.ca_file))
    conn = SalesforceConnector(client, sleep=lambda s: None)
    with pytest.raises(AuthenticationError) as err:
        conn.describe("Lead")
    assert err.value.status == 401 and err.value.code == "INVALID_SESSION_ID"
    assert conn.calls.total == 1  # not retried
    for exc in _chain(err.value):
        assert wrong not in str(exc) and wrong not in repr(exc)
    with pytest.raises(AuthenticationError):
        conn.upsert("Lead", KEY, [_lead("w@acme.io")], ["w"])


def test_no_exception_text_carries_the_token(sf, sandbox_clean, sleeps: list[float]) -> None:
    conn = SalesforceConnector(sf, max_attempts=2, sleep=sleeps.append)
    token = sf.session_id
    caught: list[BaseException] = []
    for call in (
        lambda: conn.find("Lead", "Email", ["a@b.io"], ["Email"], where="Bogus__c = 1"),
        lambda: conn.describe("NoSuchObject"),
    ):
        with pytest.raises(CrmError) as err:
            call()
        caught.append(err.value)
    sandbox_clean.admin("salesforce", "POST", "faults", {"kind": "drop_after_commit", "path": "/query", "count": None})
    with pytest.raises(RetryableError) as err:
        conn.find("Lead", "Email", ["a@b.io"], ["Email"])
    caught.append(err.value)
    assert err.value.code == "CONNECTION_ERROR"
    for exc in caught:
        for e in _chain(exc):
            assert token not in str(e) and token not in repr(e)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in out:
        out.append(seen)
        seen = seen.__cause__ or seen.__context__
    return out


def test_one_counter_shared_by_client_and_connector_counts_each_call_once(sandbox_clean) -> None:
    from connectors.salesforce.client import SalesforceCredentials, make_client

    calls = ApiCalls()
    client = make_client(SalesforceCredentials.from_env(sandbox_clean.salesforce_env()), calls=calls)
    conn = SalesforceConnector(client, calls=calls)
    conn.describe("Contact")
    conn.find("Contact", "Email", ["a@b.io"], ["Email"])
    assert conn.calls is calls
    assert calls.as_dict() == {"reads": 2, "writes": 0, "total": 2,
                               "by_endpoint": {"GET sobjects/Contact/describe": 1, "GET query": 1}}
    assert sandbox_clean.calls("salesforce")["total"] == 2
    assert conn.api_usage is not None and conn.api_usage[0] >= 2
