"""The HubSpot sandbox as a whole (``app`` and the shared sandbox machinery), through the real
SDK: injected faults, parallel clients under the app's lock, the admin record dump, and state
and daily usage that survive a restart.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import ApiException, BatchResponseSimplePublicObject, SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox.base import serve
from connectors.sandbox.hubspot import HubSpotApp
from tests.sandbox.hubspot.conftest import client_for, configure, create_contacts, fail, make_pair, read_by_email


# -- faults -----------------------------------------------------------------------------------------------
def test_injected_503_and_429_reach_the_sdk_then_calls_succeed(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin(
        "hubspot",
        "POST",
        "faults",
        {"kind": "status", "status": 503, "count": 1, "body": {"status": "error", "message": "Service Unavailable"}},
    )
    sandbox_clean.admin(
        "hubspot",
        "POST",
        "faults",
        {
            "kind": "status",
            "status": 429,
            "count": 1,
            "path": "batch/read",
            "body": {"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
        },
    )
    status, body, _ = fail(hs.crm.contacts.basic_api.get_page)
    assert status == 503 and body["message"] == "Service Unavailable"
    assert hs.crm.contacts.basic_api.get_page().results == []
    status, body, _ = fail(read_by_email, hs, ["a@example.com"])
    assert status == 429 and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert read_by_email(hs, ["a@example.com"]).results == []


def test_dropped_response_after_commit_raises_but_the_write_happened(hs: HubSpot, sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "faults", {"kind": "drop_after_commit", "path": "batch/create"})
    with pytest.raises(urllib3.exceptions.HTTPError):
        create_contacts(hs, 2, prefix="lost")
    found = read_by_email(hs, ["lost0@example.com", "lost1@example.com"])
    assert isinstance(found, BatchResponseSimplePublicObject) and len(found.results) == 2
    # retrying the create is now a conflict: the client must read before it writes again
    status, _, _ = fail(create_contacts, hs, 1, prefix="lost")
    assert status == 409


def test_a_reset_connection_applies_nothing_and_skip_lets_the_first_calls_through(hs: HubSpot,
                                                                                 sandbox_clean: Any) -> None:
    sandbox_clean.admin("hubspot", "POST", "faults", {"kind": "reset", "path": "batch/create", "skip": 1})
    create_contacts(hs, 1, prefix="first")  # skipped: answered normally
    with pytest.raises(urllib3.exceptions.ProtocolError, match="Connection reset by peer"):
        create_contacts(hs, 1, prefix="reset")
    create_contacts(hs, 1, prefix="third")  # the fault fired once: spent
    found = read_by_email(hs, ["first0@example.com", "reset0@example.com", "third0@example.com"])
    assert sorted(r.properties["email"] for r in found.results) == ["first0@example.com", "third0@example.com"]


# -- concurrency --------------------------------------------------------------------------------------------
def test_parallel_clients_lose_nothing_and_never_duplicate_an_email(hs: HubSpot, sandbox_clean: Any) -> None:
    configure(sandbox_clean, ten_second_limit=100_000)
    emails = [f"c{i}@example.com" for i in range(40)]
    outcomes: Counter[str] = Counter()
    created_ids: list[str] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = client_for(sandbox_clean)
        for k in range(len(emails)):
            email = emails[(k + offset) % len(emails)]
            try:
                made = client.crm.contacts.basic_api.create(
                    SimplePublicObjectInputForCreate(properties={"email": email})
                )
            except ApiException as exc:
                with lock:
                    outcomes[str(exc.status)] += 1
            else:
                with lock:
                    outcomes["201"] += 1
                    created_ids.append(made.id)

    threads = [threading.Thread(target=worker, args=(i * 10,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == Counter({"201": 40, "409": 120})
    assert len(set(created_ids)) == 40
    records = sandbox_clean.admin("hubspot", "GET", "records/contacts")
    assert records["total"] == 40
    assert sorted(r["properties"]["email"] for r in records["results"]) == sorted(emails)


# -- admin dump and restarts ----------------------------------------------------------------------------------
def test_admin_records_dump_shows_properties_and_associations(hs: HubSpot, sandbox_clean: Any) -> None:
    contact_id, company_id = make_pair(hs)
    hs.crm.associations.v4.basic_api.create_default("contacts", contact_id, "companies", company_id)
    dump = sandbox_clean.admin("hubspot", "GET", "records/companies")
    assert dump["total"] == 1
    [company] = dump["results"]
    assert company["properties"]["domain"] == "acme.com"
    assert {a["id"] for a in company["associations"]["contacts"]["results"]} == {contact_id}
    assert sandbox_clean.calls("hubspot")["by_endpoint"]["POST crm/v3/objects/{type}"] == 2


def test_state_and_daily_usage_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "hubspot.sqlite"
    first = serve(HubSpotApp(db, token="t0ken"))
    try:
        client = HubSpot(access_token="t0ken", host=first.url)
        client.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(
                name="warmly_tag", label="Tag", type="string", field_type="text", group_name="contactinformation"
            ),
        )
        [made] = create_contacts(client, 1, prefix="keep", warmly_tag="kept")
        company = client.crm.companies.basic_api.create(CompanyCreate(properties={"name": "Keep Co"}))
        client.crm.associations.v4.basic_api.create_default("contacts", made.id, "companies", company.id)
        _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
        used = 1_000_000 - int(headers["X-HubSpot-RateLimit-Daily-Remaining"])
    finally:
        first.stop()
    second = serve(HubSpotApp(db, token="t0ken"))
    try:
        client = HubSpot(access_token="t0ken", host=second.url)
        again = read_by_email(client, ["keep0@example.com"], ["warmly_tag"])
        assert again.results[0].id == made.id and again.results[0].properties["warmly_tag"] == "kept"
        linked = client.crm.associations.v4.basic_api.get_page("contacts", made.id, "companies").results
        assert [r.to_object_id for r in linked] == [company.id]
        _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
        # three more calls since: the read, the association page and this one
        assert 1_000_000 - int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) == used + 3
        # ids keep counting from where they were
        [later] = create_contacts(client, 1, prefix="later")
        assert int(later.id) > int(company.id)
    finally:
        second.stop()
