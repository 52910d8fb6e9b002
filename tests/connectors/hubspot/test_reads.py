"""Batch reads, search and associations against the HubSpot sandbox, checked through the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput

from connectors.crm import FieldSpec
from connectors.errors import CrmError
from connectors.hubspot.api import HubSpotConnector
from tests.connectors.hubspot.helpers import fault, sdk_create_contacts, server_calls


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


def test_search_containing_finds_any_spelling_five_texts_a_call(conn: HubSpotConnector, hs: HubSpot,
                                                                sandbox_clean: Any) -> None:
    spellings = ["https://www.acme.io/about", "ACME.IO", "https://bücher.de/", "https://a-b.com", "beta.com"]
    made = {d: hs.crm.companies.basic_api.create(CompanyInput(properties={"domain": d})).id for d in spellings}
    needles = {"acme.io": ["acme.io"], "xn--bcher-kva.de": ["xn--bcher-kva.de", "bücher.de"], "a_b.com": ["a_b.com"],
               "gamma.com": ["gamma.com"], "delta.com": ["delta.com"]}
    found = conn.search_containing("companies", "domain", needles, ["name"])
    assert sorted(f["id"] for f in found) == sorted(made[d] for d in spellings[:3])
    assert conn.calls.by_endpoint["POST /crm/v3/objects/companies/search"] == 2  # 6 texts, a key's texts together
    assert conn.count_having("companies", "domain") == 5
    assert sorted(f["id"] for f in conn.search_having("companies", "domain", ["name"])) == sorted(made.values())


def test_isolating_reads_fail_only_the_calls_that_failed(conn: HubSpotConnector, hs: HubSpot,
                                                        sandbox_clean: Any) -> None:
    emails = [f"p{i:03d}@example.com" for i in range(150)]
    conn.upsert("contacts", "email", [(e, {}) for e in emails])
    fault(sandbox_clean, kind="status", status=503, count=None, path="contacts/batch/read")
    failed: dict[str, str] = {}
    assert conn.read("contacts", "email", emails, [], failed=failed) == {}
    assert sorted(failed) == emails and "503" in failed[emails[0]]
    sandbox_clean.admin("hubspot", "DELETE", "faults")
    fault(sandbox_clean, kind="status", status=502, count=None, path="companies/search")
    failed = {}
    assert conn.search_containing("companies", "domain", {"a.io": ["a.io"], "b.io": ["b.io"]}, [],
                                  failed=failed) == []
    assert sorted(failed) == ["a.io", "b.io"]
    with pytest.raises(CrmError):  # without failed=, the error is raised as before
        conn.search_containing("companies", "domain", {"a.io": ["a.io"]}, [])


def test_read_all_lists_the_object_with_links_and_keeps_the_keys_asked(conn: HubSpotConnector, hs: HubSpot,
                                                                        sandbox_clean: Any) -> None:
    # 150 contacts with an email and one without: two pages of 100, whatever the keys asked.
    people = conn.upsert("contacts", "email", [(f"l{i}@example.com", {"firstname": f"L{i}"}) for i in range(150)])
    hs.crm.contacts.basic_api.create({"properties": {"firstname": "No email"}})
    conn.create_properties("companies", [FieldSpec("warmly_domain_key", "Warmly domain", "string",
                                                   unique_key=True)])
    acme = conn.upsert("companies", "warmly_domain_key", [("acme.com", {"name": "Acme"})])[0].crm_id
    conn.associate_default("contacts", "companies", [("l1@example.com", people[1].crm_id, acme)])  # type: ignore[list-item]
    asked = ["L1@Example.com", "l2@example.com", "l149@example.com", "missing@example.com", "l1@example.com"]
    found, linked = conn.read_all("contacts", "email", asked, ["firstname"], associations="companies")
    # The same answer as the batch read by email, matched case-insensitively, keys as given.
    assert found == conn.read("contacts", "email", asked, ["firstname"])
    assert set(found) == {"L1@Example.com", "l2@example.com", "l149@example.com", "l1@example.com"}
    assert found["l149@example.com"]["properties"]["firstname"] == "L149"
    # Links of the records found, read inline: l1's company; l2 has none.
    assert linked == {people[1].crm_id: [acme], people[2].crm_id: [], people[149].crm_id: []}
    assert conn.calls.by_endpoint["GET /crm/v3/objects/contacts"] == 2
    assert conn.count_all("contacts") == 151 and conn.count_having("contacts", "email") == 150
    companies, none = conn.read_all("companies", "warmly_domain_key", ["acme.com"], ["name"])
    assert companies["acme.com"]["id"] == acme and none == {}
