"""Batch upserts and updates against the HubSpot sandbox: one result per input, bad inputs
isolated from their batch, state checked through the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot

from connectors.crm import FieldSpec
from connectors.hubspot.api import HubSpotConnector
from tests.connectors.hubspot.helpers import FakeClock, all_contacts, sdk_read_by_email, server_calls


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
