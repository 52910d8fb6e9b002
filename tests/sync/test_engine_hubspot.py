"""The sync engine against the HubSpot sandbox, checked through hubspot-api-client."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate

from dagster_pipeline.sync.settings import load_settings
from tests.sync.conftest import SHIPPED_SETTINGS, Runner, outcome
from tests.sync.frames import companies, company, person, persons

SETTINGS = {"objects": {"contact": {"field_mapping": {"lifecyclestage": {"value": "lead", "mode": "if_empty"}}}}}
CONTACT_PROPS = ["email", "firstname", "lastname", "jobtitle", "company", "lifecyclestage",
                 "warmly_session_count", "warmly_last_seen", "warmly_workflow"]


def contact(hs: Any, email: str) -> Any:
    found = hs.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        id_property="email", properties=CONTACT_PROPS, inputs=[{"id": email}]))
    assert len(found.results) == 1, found
    return found.results[0]


def all_contacts(hs: Any) -> list[Any]:
    return hs.crm.contacts.get_all(properties=["email"])


def all_companies(hs: Any) -> list[Any]:
    return hs.crm.companies.get_all(properties=["domain", "name", "warmly_sync_key", "warmly_session_count"])


def company_of(hs: Any, contact_id: str) -> list[str]:
    page = hs.crm.associations.v4.basic_api.get_page("contacts", contact_id, "companies")
    return [str(r.to_object_id) for r in page.results]


def server_writes(sandbox: Any) -> int:
    """Calls that change CRM state: not reads, searches, nor the token-info query (a POST that reads)."""
    calls = sandbox.calls("hubspot")["by_endpoint"]
    return sum(n for k, n in calls.items()
               if not any(part in k for part in ("batch/read", "search", "GET", "access-token-info"))
               and k.split(" ")[0] != "GET")


@pytest.fixture
def ready(hs_runner: Runner) -> Runner:
    hs_runner.settings_data = SETTINGS
    report = hs_runner.setup()
    assert report.created["contacts"] and report.created["companies"]
    return hs_runner


def world() -> tuple[Any, Any]:
    return (
        persons(
            person("ann@acme.io", first_name="Ann", title="VP Sales"),
            person("bob@globex.com", "globex.com", first_name="Bob", title="CMO"),
            person("carol@acme.io", first_name="Carol", title="Director of Marketing"),
        ),
        companies(company("acme.io", name="Acme"), company("globex.com", name="Globex")),
    )


def test_first_sync_creates_companies_then_contacts_linked_to_them(ready, hs) -> None:
    existing = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "Carol@Acme.io", "firstname": "Caroline", "lifecyclestage": "opportunity"}))
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()

    by_domain = {co.properties["domain"]: co for co in all_companies(hs)}
    assert set(by_domain) == {"acme.io", "globex.com"}
    assert by_domain["acme.io"].properties["warmly_session_count"] == "12"
    assert by_domain["acme.io"].properties["warmly_sync_key"] == "acme.io"
    # "Cloud Services" is not one of HubSpot's industry options: left out, noted, the company still written.
    assert outcome(result, "acme.io")["message"] == "invalid_option:industry"

    ann = contact(hs, "ann@acme.io")
    assert (ann.properties["firstname"], ann.properties["jobtitle"]) == ("Ann", "VP Sales")
    assert ann.properties["warmly_session_count"] == "3" and ann.properties["warmly_workflow"] == "website_visitor"
    assert ann.properties["lifecyclestage"] == "lead"
    assert company_of(hs, ann.id) == [by_domain["acme.io"].id]

    carol = contact(hs, "carol@acme.io")
    assert carol.id == existing.id  # updated, not duplicated
    assert carol.properties["firstname"] == "Caroline"  # a rep's value is kept (if_empty)
    assert carol.properties["lifecyclestage"] == "opportunity"
    assert company_of(hs, carol.id) == [by_domain["acme.io"].id]
    assert len(all_contacts(hs)) == 3
    assert result.summary["contacts"].created == 2 and result.summary["contacts"].updated == 1


def test_second_sync_makes_no_write_and_no_per_record_read(ready, hs, sandbox) -> None:
    p, c = world()
    ready.sync(p, c)
    sandbox.admin("hubspot", "DELETE", "calls")
    again = ready.sync(p, c)
    assert again.api_calls["writes"] == 0 and server_writes(sandbox) == 0
    by_endpoint = sandbox.calls("hubspot")["by_endpoint"]
    assert not [k for k in by_endpoint if "batch/read" in k or "search" in k]
    assert all(s.created == s.updated == s.failed_total == 0 for s in again.summary.values())


def test_a_warehouse_change_updates_only_the_changed_fields(ready, hs) -> None:
    p, c = world()
    ready.sync(p, c)
    changed = p.with_columns(title=p["email"].replace_strict({"bob@globex.com": "CEO"}, default=p["title"]))
    result = ready.sync(changed, c)
    row = outcome(result, "bob@globex.com")
    assert (row["action"], row["changed_fields"]) == ("update", "jobtitle")
    assert result.summary["contacts"].updated == 1 and result.summary["contacts"].unchanged == 2
    assert contact(hs, "bob@globex.com").properties["jobtitle"] == "CEO"


def test_archived_property_fails_contacts_only_until_setup_restores_it(ready, hs) -> None:
    p, c = world()
    ready.sync(p, c)
    hs.crm.properties.core_api.archive("contacts", "warmly_last_seen")
    changed = p.with_columns(session_count=p["session_count"] + 1)
    changed_c = c.with_columns(session_count=c["session_count"] + 1)
    blocked = ready.sync(changed, changed_c)
    contacts = blocked.log.filter(blocked.log["object"] == "contacts")
    assert set(contacts["reason"]) == {"missing_required_field"}
    assert "warmly_last_seen" in contacts["message"][0]
    assert contact(hs, "ann@acme.io").properties["warmly_session_count"] == "3"
    assert blocked.summary["companies"].updated == 2

    assert ready.setup().created["contacts"] == ["warmly_last_seen"]
    healed = ready.sync(changed, changed_c)
    assert healed.failed == 0 and healed.summary["contacts"].updated == 3
    assert contact(hs, "ann@acme.io").properties["warmly_session_count"] == "4"


def test_a_lost_response_does_not_duplicate(ready, hs, sandbox) -> None:
    sandbox.admin("hubspot", "POST", "faults", {"kind": "drop_after_commit", "path": "batch/upsert", "count": 2})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0
    assert len(all_contacts(hs)) == 3 and len(all_companies(hs)) == 2


def test_a_lost_response_on_a_create_with_its_company_link_does_not_duplicate(ready, hs, sandbox) -> None:
    """New contacts go by batch create (their company link inline), which is not idempotent: the
    retry of a create whose answer was lost meets CONFLICT, and those contacts are upserted and
    linked instead (README "Creates are idempotent")."""
    sandbox.admin("hubspot", "POST", "faults", {"kind": "drop_after_commit", "path": "contacts/batch/create",
                                                "count": 1})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()
    contacts = all_contacts(hs)
    assert len(contacts) == 3
    linked = {c.id: sorted(set(company_of(hs, c.id))) for c in contacts}
    assert all(len(v) == 1 for v in linked.values())


def test_rate_limits_and_server_errors_are_survived(ready, hs, sandbox) -> None:
    sandbox.admin("hubspot", "POST", "faults", {"kind": "status", "status": 502, "count": 2, "path": "batch"})
    sandbox.admin("hubspot", "POST", "faults", {
        "kind": "status", "status": 429, "count": 2, "path": "batch",
        "body": {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                 "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "correlationId": "x"}})
    p, c = world()
    result = ready.sync(p, c)
    assert result.failed == 0 and len(all_contacts(hs)) == 3


def test_an_apostrophe_email_matches_its_existing_contact(ready, hs) -> None:
    existing = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "o'hara@acme.io", "lastname": "O'Hara"}))
    result = ready.sync(persons(person("o'hara@acme.io", first_name="Maureen")), companies(company("acme.io")))
    row = outcome(result, "o'hara@acme.io")
    assert (row["action"], row["crm_id"]) == ("update", existing.id)
    assert len(all_contacts(hs)) == 1


@pytest.mark.parametrize("workflow", ["website_visitor", "inbound_agent", "outbound_agent"])
def test_create_switch_off_is_honoured_by_every_workflow(ready, hs, workflow) -> None:
    p, c = world()
    result = ready.sync(p, c, workflow=workflow,
                        settings={"objects": {"contact": {"create": False}, "company": {"create": False}}})
    assert all_contacts(hs) == [] and all_companies(hs) == []
    assert result.summary["contacts"].skipped == {"create_disabled": 3}


def test_update_switch_off_leaves_existing_contacts_alone(ready, hs) -> None:
    existing = hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "ann@acme.io", "jobtitle": "Intern"}))
    p, c = world()
    result = ready.sync(p, c, settings={"objects": {"contact": {"update": False}}})
    assert outcome(result, "ann@acme.io")["reason"] == "update_disabled"
    assert hs.crm.contacts.basic_api.get_by_id(existing.id, properties=["jobtitle"]).properties["jobtitle"] == "Intern"
    assert result.summary["contacts"].created == 2


def test_the_shipped_settings_file_aimed_at_hubspot_creates_contacts(hs_runner, hs) -> None:
    """`--crm hubspot` with the shipped writeback.yml: HubSpot's own contact settings apply."""
    shipped = load_settings(SHIPPED_SETTINGS)
    assert shipped.crm == "salesforce"  # the file names the other CRM; the run is aimed at HubSpot
    hs_runner.setup(shipped)
    p, c = world()
    result = hs_runner.sync(p, c, settings=shipped)
    assert result.failed == 0 and result.crm == "hubspot"
    assert result.summary["contacts"].created == 3 and result.summary["companies"].created == 2
    assert sorted(x.properties["email"] for x in all_contacts(hs)) == ["ann@acme.io", "bob@globex.com",
                                                                       "carol@acme.io"]
    ann = contact(hs, "ann@acme.io")
    assert ann.properties["lifecyclestage"] == "lead"  # the shipped file's HubSpot mapping
    assert company_of(hs, ann.id)


def test_a_chat_answer_mapping_writes_the_team_size_onto_the_contact(ready, hs) -> None:
    # The admin creates the property, as in HubSpot's settings; mapped fields are the admin's, never ours.
    hs.crm.properties.core_api.create("contacts", PropertyCreate(
        name="team_size", label="Team size", type="string", field_type="text", group_name="contactinformation"))
    mapped = {"objects": {"hubspot": {"contact": {"field_mapping": {"team_size": {"chat_answer": "team_size"}}}}}}
    p = persons(person("ann@acme.io", chat_answers='{"team_size":"51-200","use_case":"Book demos"}'),
                person("bob@globex.com", "globex.com", chat_answers='{"use_case":"Enrich contacts"}'))
    result = ready.sync(p, companies(company("acme.io"), company("globex.com")), settings=mapped)
    assert result.failed == 0, result.log.filter(result.log["status"] == "failed").to_dicts()
    found = hs.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
        id_property="email", properties=["email", "team_size"],
        inputs=[{"id": "ann@acme.io"}, {"id": "bob@globex.com"}]))
    sizes = {r.properties["email"]: r.properties.get("team_size") for r in found.results}
    assert sizes == {"ann@acme.io": "51-200", "bob@globex.com": None}
