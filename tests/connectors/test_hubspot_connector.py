"""The HubSpot connector: pure helpers directly, everything else through the real SDK against
the HubSpot sandbox (state checked through the SDK, not only through the connector's answers)."""

from __future__ import annotations

import datetime as dt
import time
import traceback
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputForCreate, BatchReadInputSimplePublicObjectId

from connectors.crm import FieldSpec
from connectors.errors import ApiLimitExhausted, AuthenticationError, CrmError, RetryableError
from connectors.hubspot.api import (
    HubSpotConnector,
    error_details,
    field_info,
    mentions,
    offending_value,
    property_create_body,
    wire_value,
)
from connectors.hubspot.client import HubSpotCredentials, make_client
from connectors.hubspot.ratelimit import RollingWindowLimiter

RATE_LIMIT_429 = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c0ffee00-0000-0000-0000-000000000000",
    "policyName": "TEN_SECONDLY_ROLLING",
}


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def conn(hs: HubSpot, clock: FakeClock) -> HubSpotConnector:
    return HubSpotConnector(hs, sleep=clock.sleep, clock=clock, seed=7)


def server_calls(sandbox: Any, suffix: str) -> int:
    """Calls the sandbox received on endpoints ending with ``suffix`` (faulted ones included)."""
    return sum(n for k, n in sandbox.calls("hubspot")["by_endpoint"].items() if k.endswith(suffix))


def fault(sandbox: Any, **spec: Any) -> None:
    sandbox.admin("hubspot", "POST", "faults", spec)


def all_contacts(hs: HubSpot) -> list[Any]:
    return hs.crm.contacts.get_all(properties=["email", "firstname", "lastname"])


def sdk_read_by_email(hs: HubSpot, emails: list[str], props: list[str]) -> dict[str, dict[str, Any]]:
    model = BatchReadInputSimplePublicObjectId(
        properties_with_history=[], id_property="email", inputs=[{"id": e} for e in emails],
        properties=[*props, "email"],
    )
    answer = hs.crm.contacts.batch_api.read(model)
    return {r.properties["email"]: {"id": r.id, **r.properties} for r in answer.results}


def sdk_create_contacts(hs: HubSpot, emails: list[str]) -> dict[str, str]:
    model = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[{"properties": {"email": e, "firstname": e.split("@")[0]}} for e in emails]
    )
    answer = hs.crm.contacts.batch_api.create(model)
    return {r.properties["email"]: r.id for r in answer.results}


# ----------------------------------------------------------------------------------------
# Pure helpers
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("prop", "kind", "options"),
    [
        ({"type": "string", "fieldType": "text"}, "string", None),
        ({"type": "string", "fieldType": "textarea"}, "textarea", None),
        ({"type": "string", "fieldType": "phonenumber"}, "phone", None),
        ({"type": "string", "fieldType": "email"}, "email", None),
        ({"type": "number", "fieldType": "number"}, "number", None),
        ({"type": "bool", "fieldType": "booleancheckbox"}, "bool", None),
        ({"type": "enumeration", "fieldType": "booleancheckbox",
          "options": [{"value": "true"}, {"value": "false"}]}, "bool", None),
        ({"type": "date", "fieldType": "date"}, "date", None),
        ({"type": "datetime", "fieldType": "date"}, "datetime", None),
        ({"type": "enumeration", "fieldType": "select", "options": [{"label": "Lead", "value": "lead"},
                                                                    {"label": "Other", "value": "other"}]},
         "picklist", ("lead", "other")),
        ({"type": "object_coordinates", "fieldType": "text"}, "other", None),
    ],
)
def test_field_info_maps_type_and_field_type(prop: dict[str, Any], kind: str, options: Any) -> None:
    info = field_info({"name": "p", **prop})
    assert info.kind == kind
    assert info.options == options


def test_field_info_flags() -> None:
    ro = field_info({"name": "hs_object_id", "type": "number", "fieldType": "number", "hubspotDefined": True,
                     "modificationMetadata": {"readOnlyValue": True}})
    assert (ro.createable, ro.updateable, ro.custom) == (False, False, False)
    key = field_info({"name": "warmly_key", "type": "string", "fieldType": "text", "hasUniqueValue": True})
    assert (key.unique, key.external_id, key.custom, key.createable) == (True, True, True, True)
    assert field_info({"name": "x", "type": "string", "readOnlyValue": True}).updateable is False


@pytest.mark.parametrize(
    ("kind", "type_", "field_type"),
    [("string", "string", "text"), ("textarea", "string", "textarea"), ("int", "number", "number"),
     ("number", "number", "number"), ("bool", "bool", "booleancheckbox"), ("datetime", "datetime", "date"),
     ("date", "date", "date"), ("url", "string", "text"), ("email", "string", "text"), ("phone", "string", "text")],
)
def test_property_create_body_types(kind: str, type_: str, field_type: str) -> None:
    body = property_create_body(FieldSpec("warmly_x", "X", kind), "warmly")  # type: ignore[arg-type]
    assert (body["type"], body["fieldType"], body["groupName"]) == (type_, field_type, "warmly")
    assert ("options" in body) == (kind == "bool")
    assert "hasUniqueValue" not in body


def test_property_create_body_bool_options_unique_and_bad_kind() -> None:
    body = property_create_body(FieldSpec("warmly_flag", "Flag", "bool"), "g")
    assert [o["value"] for o in body["options"]] == ["true", "false"]
    assert property_create_body(FieldSpec("warmly_key", "Key", "string", unique_key=True), "g")["hasUniqueValue"]
    with pytest.raises(ValueError, match="picklist"):
        property_create_body(FieldSpec("warmly_pick", "Pick", "picklist"), "g")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (True, "true"),
        (False, "false"),
        (12.0, "12"),
        (12.5, "12.5"),
        (7, "7"),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 12, 30, 5, 123456), "2024-03-01T12:30:05.123Z"),
        (dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-03-01T12:30:00.000Z"),
        ("as is", "as is"),
    ],
)
def test_wire_value(value: Any, wire: str) -> None:
    assert wire_value(value) == wire


@pytest.mark.parametrize(
    ("text", "value", "found"),
    [
        ("Email address bad@x is invalid", "bad@x", True),
        ("Email address xbad@x is invalid", "bad@x", False),
        ("Email address bad@x.co.uk is invalid", "bad@x.co", False),
        ("Email address bad@x.co. is invalid", "bad@x.co", True),
        ("10 was not a valid number.", "1", False),
        ("foo was not one of the allowed options: [a, b]", "foo", True),
        ("Email address O'Brien@X.com is invalid", "o'brien@x.com", False),
    ],
)
def test_mentions_matches_whole_tokens(text: str, value: str, found: bool) -> None:
    assert mentions(text, value) is found


def test_mentions_ignore_case() -> None:
    assert mentions("Email address O'Brien@X.com is invalid", "o'brien@x.com", ignore_case=True)


@pytest.mark.parametrize(
    ("text", "values", "bad"),
    [
        ("bogus was not one of the allowed options: [lead, customer]", ["lead", "bogus", "customer"], "bogus"),
        ("Email address nope is invalid", ["a@x.com", "nope"], "nope"),
        ("12x was not a valid number.", ["12", "12x"], "12x"),
        ("nothing to see", ["a", "bb"], None),
    ],
)
def test_offending_value_skips_listed_alternatives(text: str, values: list[str], bad: str | None) -> None:
    assert offending_value(text, values) == bad


def test_error_details_reads_the_validation_list_in_the_message() -> None:
    body = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"isValid":false,"message":"Email address nope is invalid",'
                   '"error":"INVALID_EMAIL","name":"email"}]',
        "errors": [{"message": "Email address nope is invalid", "code": "INVALID_EMAIL",
                    "context": {"propertyName": ["email"]}}],
    }
    details = error_details(body)
    assert details[0]["code"] == "INVALID_EMAIL"
    assert {"code": "INVALID_EMAIL", "message": "Email address nope is invalid", "name": "email"} in details
    assert details[-1]["category"] == "VALIDATION_ERROR"
    assert error_details(None) == []


def test_limiter_never_lets_more_than_limit_into_any_window(clock: FakeClock) -> None:
    limiter = RollingWindowLimiter(5, 10.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(17):
        limiter.release(limiter.acquire())
        starts.append(clock.now)
        clock.now += 0.4  # each call takes a little while
    for t in starts:
        assert sum(1 for s in starts if t <= s < t + 10.0) <= 5
    assert starts[-1] - starts[0] >= 30.0  # 17 calls at 5 per 10 s need three full windows
    assert limiter.waited == pytest.approx(sum(clock.sleeps))


def test_limiter_adapts_down_to_server_headers(clock: FakeClock) -> None:
    limiter = RollingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.release(limiter.acquire())
    limiter.observe(4, 3, 10_000)  # a smaller tier than configured
    assert limiter.effective_limit == 4
    limiter.observe(None, 0, None)  # someone else spent the rest of the window
    assert limiter.in_window() == 4
    limiter.acquire()
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(10.0)
    limiter.observe(1, 0, 1_000)  # another window length: not ours to translate
    assert limiter.effective_limit == 4


# ----------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------

SPECS = [
    FieldSpec("warmly_last_seen", "Warmly last seen", "datetime", description="Last visit"),
    FieldSpec("warmly_first_seen_date", "Warmly first seen", "date"),
    FieldSpec("warmly_sessions", "Warmly sessions", "int"),
    FieldSpec("warmly_top_pages", "Warmly top pages", "textarea"),
    FieldSpec("warmly_chatted", "Warmly chatted", "bool"),
    FieldSpec("warmly_linkedin", "Warmly LinkedIn", "url"),
    FieldSpec("warmly_uid", "Warmly id", "string", unique_key=True),
]


def test_describe_maps_the_portal_properties(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    schema = conn.describe("contacts")
    assert schema.object_type == "contacts"
    email = schema.fields["email"]
    assert (email.kind, email.createable, email.custom) == ("string", True, False)
    stage = schema.fields["lifecyclestage"]
    assert stage.kind == "picklist" and stage.options and "lead" in stage.options
    assert schema.fields["hs_object_id"].createable is False
    assert schema.missing(["email", "warmly_last_seen", "hs_object_id"]) == ["warmly_last_seen", "hs_object_id"]
    assert conn.describe("contacts") is schema  # cached: no second call
    assert server_calls(sandbox_clean, "properties/{type}") == 1
    conn.describe("contacts", refresh=True)
    assert server_calls(sandbox_clean, "properties/{type}") == 2
    with pytest.raises(ValueError, match="deals"):
        conn.describe("deals")


def test_create_properties_is_idempotent(conn: HubSpotConnector, hs: HubSpot, sandbox_clean: Any) -> None:
    created = conn.create_properties("contacts", SPECS)
    assert created == [s.name for s in SPECS]
    assert conn.create_properties("contacts", SPECS) == []  # nothing left to create
    assert conn.calls.by_endpoint["POST /crm/v3/properties/contacts"] == len(SPECS)
    assert conn.calls.by_endpoint["POST /crm/v3/properties/contacts/groups"] == 1
    group = hs.crm.properties.groups_api.get_by_name("contacts", "warmly")
    assert group.label == "Warmly"
    expect = {"warmly_last_seen": ("datetime", "date"), "warmly_first_seen_date": ("date", "date"),
              "warmly_sessions": ("number", "number"), "warmly_top_pages": ("string", "textarea"),
              "warmly_chatted": ("bool", "booleancheckbox"), "warmly_linkedin": ("string", "text"),
              "warmly_uid": ("string", "text")}
    for name, (type_, field_type) in expect.items():
        prop = hs.crm.properties.core_api.get_by_name("contacts", name)
        assert (prop.type, prop.field_type, prop.group_name) == (type_, field_type, "warmly")
    assert hs.crm.properties.core_api.get_by_name("contacts", "warmly_uid").has_unique_value is True
    schema = conn.describe("contacts")
    assert schema.fields["warmly_uid"].unique and schema.fields["warmly_chatted"].kind == "bool"
    assert schema.missing([s.name for s in SPECS]) == []


# ----------------------------------------------------------------------------------------
# Reads
# ----------------------------------------------------------------------------------------

def test_read_by_email_case_insensitive_with_apostrophe_and_missing(conn: HubSpotConnector, hs: HubSpot,
                                                                     sandbox_clean: Any) -> None:
    ids = sdk_create_contacts(hs, ["alice@example.com", "o'brien@example.com", "bob@example.com"])
    got = conn.read("contacts", "email", ["Alice@Example.com", "O'Brien@example.COM", "missing@example.com",
                                          "alice@example.com"], ["firstname"])
    assert set(got) == {"Alice@Example.com", "O'Brien@example.COM", "alice@example.com"}
    assert got["Alice@Example.com"]["id"] == ids["alice@example.com"] == got["alice@example.com"]["id"]
    assert got["O'Brien@example.COM"]["id"] == ids["o'brien@example.com"]
    assert got["O'Brien@example.COM"]["properties"]["firstname"] == "o'brien"
    assert conn.calls.reads == 1  # the two spellings of alice went as one input


def test_read_chunks_at_100_and_sends_duplicates_once(conn: HubSpotConnector, hs: HubSpot,
                                                      sandbox_clean: Any) -> None:
    emails = [f"p{i}@example.com" for i in range(150)]
    conn.upsert("contacts", "email", [(e, {"firstname": "P"}) for e in emails])
    got = conn.read("contacts", "email", emails + [e.upper() for e in emails], ["firstname"])
    assert len(got) == 300
    assert conn.calls.by_endpoint["POST /crm/v3/objects/contacts/batch/read"] == 2  # 150 distinct values
    by_id = conn.read("contacts", None, [got[emails[0]]["id"], "999"], ["email"])
    assert list(by_id) == [got[emails[0]]["id"]]
    assert by_id[got[emails[0]]["id"]]["properties"]["email"] == emails[0]


# ----------------------------------------------------------------------------------------
# Writes
# ----------------------------------------------------------------------------------------

def test_upsert_creates_then_updates_without_duplicates(conn: HubSpotConnector, hs: HubSpot,
                                                        sandbox_clean: Any) -> None:
    inputs = [(f"user{i}@example.com", {"firstname": f"U{i}", "lastname": None}) for i in range(250)]
    first = conn.upsert("contacts", "email", inputs)
    assert [r.key for r in first] == [k for k, _ in inputs]
    assert all(r.ok and r.created and r.crm_id for r in first)
    assert conn.calls.writes == 3  # 250 inputs, 100 per call
    assert server_calls(sandbox_clean, "batch/upsert") == 3

    again = conn.upsert("contacts", "email",
                        [(k.upper() if i % 2 else k, {"lastname": "Again"}) for i, (k, _) in enumerate(inputs)])
    assert all(r.ok and not r.created for r in again)
    assert [r.crm_id for r in again] == [r.crm_id for r in first]
    stored = all_contacts(hs)
    assert len(stored) == 250
    sample = sdk_read_by_email(hs, ["user0@example.com", "user1@example.com"], ["firstname", "lastname"])
    assert sample["user1@example.com"]["firstname"] == "U1"  # untouched by the second write
    assert sample["user1@example.com"]["lastname"] == "Again"


def test_upsert_merges_inputs_sharing_a_key(conn: HubSpotConnector, hs: HubSpot, sandbox_clean: Any) -> None:
    results = conn.upsert("contacts", "email", [("dup@example.com", {"firstname": "A"}),
                                                ("DUP@example.com", {"lastname": "B"}),
                                                ("", {"firstname": "nobody"})])
    assert [r.key for r in results] == ["dup@example.com", "DUP@example.com", ""]
    assert results[0].ok and results[1].ok and results[0].crm_id == results[1].crm_id
    assert (results[2].ok, results[2].error_code) == (False, "MISSING_KEY")
    stored = sdk_read_by_email(hs, ["dup@example.com"], ["firstname", "lastname"])["dup@example.com"]
    assert (stored["firstname"], stored["lastname"]) == ("A", "B")


@pytest.mark.parametrize(("trace_ids", "calls"), [(True, 1), (False, 2)])
def test_one_invalid_email_does_not_sink_its_batch(hs: HubSpot, clock: FakeClock, sandbox_clean: Any,
                                                   trace_ids: bool, calls: int) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, write_trace_ids=trace_ids)
    good = [f"ok{i}@example.com" for i in range(6)]
    inputs = [(e, {"firstname": "Ok"}) for e in good[:3]] + [("not-an-email", {"firstname": "Bad"})]
    inputs += [(e, {"firstname": "Ok"}) for e in good[3:]]
    results = conn.upsert("contacts", "email", inputs)
    bad = results[3]
    assert (bad.key, bad.ok, bad.error_code, bad.fields) == ("not-an-email", False, "INVALID_EMAIL", ("email",))
    assert "not-an-email" in (bad.message or "") and "invalid" in (bad.message or "")
    assert all(r.ok and r.created for i, r in enumerate(results) if i != 3)
    assert set(sdk_read_by_email(hs, good, ["email"])) == set(good)
    assert len(all_contacts(hs)) == 6
    # Per-input answers cost one call; a whole-batch rejection one more for the rest.
    assert server_calls(sandbox_clean, "batch/upsert") == calls


def test_invalid_option_is_isolated_by_the_value_in_the_message(hs: HubSpot, clock: FakeClock,
                                                                  sandbox_clean: Any) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, write_trace_ids=False)
    inputs = [(f"s{i}@example.com", {"lifecyclestage": "lead"}) for i in range(5)]
    inputs[2] = ("s2@example.com", {"lifecyclestage": "bogus_stage"})
    results = conn.upsert("contacts", "email", inputs)
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert (results[2].error_code, results[2].fields) == ("INVALID_OPTION", ("lifecyclestage",))
    assert server_calls(sandbox_clean, "batch/upsert") == 2


def test_unidentifiable_conflict_is_found_by_halving(conn: HubSpotConnector, hs: HubSpot,
                                                     sandbox_clean: Any) -> None:
    conn.create_properties("contacts", [FieldSpec("warmly_uid", "Warmly id", "string", unique_key=True)])
    made = conn.upsert("contacts", "email", [(f"c{i}@example.com", {"warmly_uid": f"uid-{i}"}) for i in range(9)])
    ids = [r.crm_id for r in made]
    conn.write_trace_ids = False  # HubSpot answers the whole batch with one 409 then
    updates = [(f"c{i}@example.com", ids[i], {"lastname": f"L{i}"}) for i in range(8)]
    updates[5] = ("c5@example.com", ids[5], {"lastname": "L5", "warmly_uid": "uid-8"})  # taken by c8
    results = conn.update("contacts", updates)
    assert [r.ok for r in results] == [True] * 5 + [False] + [True] * 2
    assert results[5].error_code == "CONFLICT" and "already exists" in (results[5].message or "")
    stored = sdk_read_by_email(hs, [f"c{i}@example.com" for i in range(8)], ["lastname", "warmly_uid"])
    assert stored["c4@example.com"]["lastname"] == "L4"
    assert stored["c5@example.com"]["lastname"] is None and stored["c5@example.com"]["warmly_uid"] == "uid-5"
    assert server_calls(sandbox_clean, "batch/update") <= 1 + 2 * 3 + 1  # log2(8) levels of probes


def test_an_error_about_the_request_itself_costs_three_calls(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    results = conn.upsert("companies", "domain", [(f"d{i}.com", {"name": f"D{i}"}) for i in range(10)])
    assert not any(r.ok for r in results)
    assert {r.error_code for r in results} == {"VALIDATION_ERROR"}
    assert "non-unique" in (results[0].message or "")
    assert server_calls(sandbox_clean, "batch/upsert") == 3


def test_company_upsert_keyed_on_a_unique_custom_property(conn: HubSpotConnector, hs: HubSpot,
                                                          sandbox_clean: Any) -> None:
    conn.create_properties("companies", [FieldSpec("warmly_domain_key", "Warmly domain", "string",
                                                   unique_key=True)])
    inputs = [(d, {"domain": d, "name": d.split(".")[0].title(), "warmly_domain_key": d})
              for d in ("acme.com", "globex.com")]
    first = conn.upsert("companies", "warmly_domain_key", inputs)
    assert all(r.ok and r.created for r in first)
    second = conn.upsert("companies", "warmly_domain_key", [("acme.com", {"name": "Acme Inc"})])
    assert second[0].ok and not second[0].created and second[0].crm_id == first[0].crm_id
    stored = hs.crm.companies.basic_api.get_by_id(first[0].crm_id, properties=["name", "domain"])
    assert (stored.properties["name"], stored.properties["domain"]) == ("Acme Inc", "acme.com")
    assert len(hs.crm.companies.get_all()) == 2


def test_update_by_id_in_batches_of_100(conn: HubSpotConnector, hs: HubSpot, sandbox_clean: Any) -> None:
    made = conn.upsert("contacts", "email", [(f"u{i}@example.com", {}) for i in range(150)])
    results = conn.update("contacts", [(f"u{i}@example.com", r.crm_id, {"lastname": "Updated"})
                                       for i, r in enumerate(made)] + [("ghost", "777", {"lastname": "x"})])
    assert all(r.ok for r in results[:150])
    assert (results[150].key, results[150].ok, results[150].error_code) == ("ghost", False, "OBJECT_NOT_FOUND")
    assert conn.calls.by_endpoint["POST /crm/v3/objects/contacts/batch/update"] == 2
    stored = hs.crm.contacts.basic_api.get_by_id(made[149].crm_id, properties=["lastname"])
    assert stored.properties["lastname"] == "Updated"


# ----------------------------------------------------------------------------------------
# Search and associations
# ----------------------------------------------------------------------------------------

def test_search_in_by_domain_chunks_values_and_pages(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    conn.create_properties("companies", [FieldSpec("warmly_domain_key", "Warmly domain", "string",
                                                   unique_key=True)])
    domains = ["alpha.com", "beta.com", "gamma.com"]
    rows = [(f"k{i}", {"domain": domains[i % 3], "name": f"C{i}"}) for i in range(240)]
    rows += [(f"other{i}", {"domain": f"other{i}.com", "name": "Other"}) for i in range(10)]
    conn.upsert("companies", "warmly_domain_key", rows)
    wanted = domains + [f"absent{i}.com" for i in range(120)]  # 123 values: two IN filters
    found = conn.search_in("companies", "domain", wanted, ["name"])
    assert len(found) == 240 and len({f["id"] for f in found}) == 240
    assert {f["properties"]["domain"] for f in found} == set(domains)
    # first chunk: 240 matches over two pages of 200; second chunk: one empty page
    assert conn.calls.by_endpoint["POST /crm/v3/objects/companies/search"] == 3
    assert server_calls(sandbox_clean, "/search") == 3


def test_associations_read_and_default_associate(conn: HubSpotConnector, hs: HubSpot, sandbox_clean: Any) -> None:
    people = conn.upsert("contacts", "email", [(f"a{i}@example.com", {}) for i in range(3)])
    conn.create_properties("companies", [FieldSpec("warmly_domain_key", "Warmly domain", "string",
                                                   unique_key=True)])
    acme = conn.upsert("companies", "warmly_domain_key", [("acme.com", {"name": "Acme"})])[0].crm_id
    assert acme is not None
    pairs = [("a0@example.com", people[0].crm_id, acme), ("a1@example.com", people[1].crm_id, acme),
             ("a2@example.com", people[2].crm_id, "999999")]
    results = conn.associate_default("contacts", "companies", pairs)  # type: ignore[arg-type]
    assert [r.key for r in results] == ["a0@example.com", "a1@example.com", "a2@example.com"]
    assert [r.ok for r in results] == [True, True, False]
    assert "999999" in (results[2].message or "")
    again = conn.associate_default("contacts", "companies", pairs[:2])  # type: ignore[arg-type]
    assert all(r.ok for r in again)  # linking twice is harmless
    linked = conn.associations("contacts", "companies", [p.crm_id for p in people])  # type: ignore[misc]
    assert linked == {people[0].crm_id: [acme], people[1].crm_id: [acme], people[2].crm_id: []}
    page = hs.crm.associations.v4.basic_api.get_page("contacts", people[1].crm_id, "companies")
    assert [str(r.to_object_id) for r in page.results] == [acme]
    back = conn.associations("companies", "contacts", [acme])
    assert sorted(back[acme]) == sorted([people[0].crm_id, people[1].crm_id])


# ----------------------------------------------------------------------------------------
# Retries, limits, errors
# ----------------------------------------------------------------------------------------

def test_502_twice_then_success(conn: HubSpotConnector, clock: FakeClock, hs: HubSpot, sandbox_clean: Any) -> None:
    sdk_create_contacts(hs, ["x@example.com"])
    fault(sandbox_clean, kind="status", status=502, body={"message": "Bad gateway"}, path="batch/read", count=2)
    got = conn.read("contacts", "email", ["x@example.com"], [])
    assert "x@example.com" in got
    assert server_calls(sandbox_clean, "batch/read") == 3
    assert conn.calls.reads == 3
    assert len(clock.sleeps) == 2
    assert 0.25 <= clock.sleeps[0] <= 0.5 and 0.5 <= clock.sleeps[1] <= 1.0  # 0.5 s, then 1 s, with jitter


def test_429_ten_secondly_honours_retry_after(conn: HubSpotConnector, clock: FakeClock, hs: HubSpot,
                                              sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=429, body=RATE_LIMIT_429, headers={"Retry-After": "3"},
          path="batch/upsert", count=1)
    results = conn.upsert("contacts", "email", [("r@example.com", {"firstname": "R"})])
    assert results[0].ok and results[0].created
    assert clock.sleeps == [3.0]
    assert server_calls(sandbox_clean, "batch/upsert") == 2
    assert len(all_contacts(hs)) == 1


def test_423_backs_off_at_least_two_seconds(conn: HubSpotConnector, clock: FakeClock, sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=423, body={"status": "error", "message": "Locked"},
          path="batch/upsert", count=1)
    assert conn.upsert("contacts", "email", [("l@example.com", {})])[0].ok
    assert clock.sleeps and clock.sleeps[0] >= 2.0


def test_dropped_connection_after_commit_is_retried_without_duplicate(conn: HubSpotConnector, hs: HubSpot,
                                                                     sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="drop_after_commit", path="batch/upsert", count=1)
    inputs = [(f"d{i}@example.com", {"firstname": "D"}) for i in range(20)]
    results = conn.upsert("contacts", "email", inputs)
    assert all(r.ok for r in results)
    assert server_calls(sandbox_clean, "batch/upsert") == 2 and conn.calls.writes == 2
    stored = all_contacts(hs)
    assert sorted(c.properties["email"] for c in stored) == sorted(k for k, _ in inputs)


def test_retries_run_out_inputs_fail_and_reads_raise(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_attempts=3, max_backoff=0.75)
    fault(sandbox_clean, kind="status", status=503, body={"message": "Service unavailable"}, count=None)
    results = conn.upsert("contacts", "email", [(f"f{i}@example.com", {}) for i in range(150)])
    assert len(results) == 150 and not any(r.ok for r in results)
    assert {r.error_code for r in results} == {"HTTP_503"}
    # The first batch used its three attempts; the second was not sent into a CRM that is down.
    assert server_calls(sandbox_clean, "batch/upsert") == 3
    assert max(clock.sleeps) <= 0.75
    with pytest.raises(RetryableError) as info:
        conn.read("contacts", "email", ["f0@example.com"], [])
    assert info.value.status == 503 and info.value.crm == "hubspot"
    assert server_calls(sandbox_clean, "batch/read") == 3


def test_limiter_keeps_within_a_small_window(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"ten_second_limit": 5, "ten_second_window_ms": 1000})
    unlimited = HubSpotConnector(hs, max_attempts=1)
    with pytest.raises(RetryableError) as info:  # the sandbox does enforce the window
        for _ in range(8):
            unlimited.read("contacts", "email", ["nobody@example.com"], [])
    assert info.value.code == "TEN_SECONDLY_ROLLING"
    time.sleep(1.05)
    limited = HubSpotConnector(hs, ten_second_limit=5, window_seconds=1.0, max_attempts=1)
    started = time.monotonic()
    for _ in range(11):
        limited.read("contacts", "email", ["nobody@example.com"], [])  # a 429 would raise: one attempt only
    assert time.monotonic() - started >= 1.9  # 11 calls at 5 per second span two full windows
    assert limited.calls.reads == 11


def test_limiter_learns_the_allowance_from_headers(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"ten_second_limit": 5, "ten_second_window_ms": 1000})
    for _ in range(3):  # another process spends part of the same allowance
        hs.crm.contacts.basic_api.get_page(limit=1)
    conn = HubSpotConnector(hs, ten_second_limit=100, window_seconds=1.0, max_attempts=1)
    for _ in range(8):
        conn.read("contacts", "email", ["nobody@example.com"], [])
    assert conn.limiter.effective_limit == 5
    assert conn.calls.reads == 8


def test_daily_limit_stops_with_api_limit_exhausted(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "config", {"daily_limit": 1})
    conn.read("contacts", "email", ["a@example.com"], [])
    with pytest.raises(ApiLimitExhausted, match="daily"):
        conn.upsert("contacts", "email", [("a@example.com", {})])
    assert server_calls(sandbox_clean, "batch/upsert") == 1  # not retried


def test_daily_429_from_hubspot_is_not_retried(conn: HubSpotConnector, sandbox_clean: Any) -> None:
    fault(sandbox_clean, kind="status", status=429, count=1, path="properties",
          body={**RATE_LIMIT_429, "policyName": "DAILY", "message": "You have reached your daily limit."})
    with pytest.raises(ApiLimitExhausted) as info:
        conn.describe("contacts")
    assert info.value.code == "DAILY" and conn.calls.reads == 1


def test_wrong_token_raises_authentication_error_without_the_token(sandbox_clean: Any) -> None:
    secret = "pat-na1-wrong-0123456789abcdef"
    conn = HubSpotConnector(make_client(HubSpotCredentials(access_token=secret, base_url=sandbox_clean.hubspot_url)))
    with pytest.raises(AuthenticationError) as info:
        conn.describe("contacts")
    assert info.value.status == 401
    text = "".join(traceback.format_exception(info.value))
    assert secret not in text and secret not in repr(info.value)
    assert conn.calls.reads == 1  # never retried


def test_the_token_never_appears_in_error_text(hs: HubSpot, clock: FakeClock, sandbox_clean: Any) -> None:
    token = sandbox_clean.token
    echo = {"status": "error", "message": f"proxy saw Authorization: Bearer {token}", "category": "UPSTREAM"}
    fault(sandbox_clean, kind="status", status=502, body=echo, count=None)
    conn = HubSpotConnector(hs, sleep=clock.sleep, clock=clock, max_attempts=2)
    with pytest.raises(RetryableError) as info:
        conn.read("contacts", "email", ["a@example.com"], [])
    text = "".join(traceback.format_exception(info.value))
    assert token not in text and "[redacted]" in str(info.value)
    results = conn.upsert("contacts", "email", [("a@example.com", {})])
    assert not results[0].ok and token not in (results[0].message or "")
    fault_400 = {"status": "error", "category": "VALIDATION_ERROR", "message": f"bad token {token}"}
    sandbox_clean.admin("hubspot", "DELETE", "faults")
    fault(sandbox_clean, kind="status", status=400, body=fault_400, count=1, path="properties")
    with pytest.raises(CrmError) as rejected:
        conn.describe("contacts")
    assert token not in "".join(traceback.format_exception(rejected.value))
