"""The required-fields gate on every path a record can take: new people (Leads, Contacts), people
the CRM has (matched now, or unchanged since the last run), companies, and objects whose create
or update is off.

Promise (README "Required custom fields"): with ``write_warmly_data`` on, every Warmly field must
exist on the object, and the sync key where creation is on, and every mapped field; if one is
missing, *every* record of that object fails with ``missing_required_field`` naming the fields,
nothing of them is written, other objects proceed. An object that writes nothing requires nothing.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import (
    hs_companies,
    hs_company_of,
    hs_contact,
    logged,
    sf_count,
    sf_delete_field,
    sf_one,
    state_table,
)

GATED = ("failed", "failed", "missing_required_field")


def people() -> pl.DataFrame:
    return persons(person("ann@acme.io", first_name="Ann"), person("bob@acme.io", first_name="Bob"))


def acme() -> pl.DataFrame:
    return companies(company("acme.io", name="Acme"))


def by_object(result: Any, obj: str) -> pl.DataFrame:
    return result.log.filter(pl.col("object") == obj)


@pytest.fixture
def sf_fields(sf_runner: Runner) -> Runner:
    """Every field created; each test sets its own object settings."""
    sf_runner.setup()
    return sf_runner


# -- Salesforce people ---------------------------------------------------------------------------

def test_new_people_fail_the_gate_and_no_lead_is_created(sf_fields: Runner, sf: Any, warehouse: Warehouse) -> None:
    sf_delete_field(sf, "Lead", "Warmly_Last_Seen")
    result = sf_fields.sync(people(), acme(), settings={"objects": {"contact": {"create": False}}})
    run = logged(warehouse, result.run_id)
    assert (run["ann@acme.io"], run["bob@acme.io"]) == (GATED, GATED)
    assert by_object(result, "Lead")["message"].str.contains("Warmly_Last_Seen__c").all()
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 0
    assert run["acme.io"] == ("create", "succeeded", None)  # other objects proceed
    assert set(state_table(warehouse)["entity"]) == {"company"}


def test_new_people_as_contacts_fail_the_gate_of_the_contact(sf_fields: Runner, sf: Any) -> None:
    sf_delete_field(sf, "Contact", "Warmly_Session_Count")
    off = {"objects": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}}
    result = sf_fields.sync(people(), acme(), settings=off)
    contacts = by_object(result, "Contact")
    assert contacts.height == 2 and set(contacts["reason"]) == {"missing_required_field"}
    assert "Warmly_Session_Count__c" in contacts["message"][0]
    assert sf_count(sf, "SELECT COUNT() FROM Contact") == 0 and sf_count(sf, "SELECT COUNT() FROM Lead") == 0


def test_a_contact_the_crm_has_fails_the_gate_unchanged_or_changed_while_leads_are_written(
        sf_fields: Runner, sf: Any, warehouse: Warehouse) -> None:
    carol = sf.Contact.create({"LastName": "Rivers", "Email": "carol@acme.io"})["id"]
    p = pl.concat([people(), persons(person("carol@acme.io", first_name="Carol"))])
    settings = {"objects": {"contact": {"create": False}}}
    sf_fields.sync(p, acme(), settings=settings)
    sf_delete_field(sf, "Contact", "Warmly_Session_Count")

    unchanged = sf_fields.sync(p, acme(), settings=settings)  # carol has a state row: the unchanged path
    assert logged(warehouse, unchanged.run_id)["carol@acme.io"] == GATED
    changed = sf_fields.sync(p.with_columns(session_count=pl.lit(8), title=pl.lit("CMO")), acme(), settings=settings)
    run = logged(warehouse, changed.run_id)
    assert run["carol@acme.io"] == GATED  # read from the CRM and matched: the gate still holds
    assert (run["ann@acme.io"], run["bob@acme.io"]) == (("update", "succeeded", None),) * 2
    assert sf_one(sf, "SELECT Title FROM Contact WHERE Id = {}", carol)["Title"] == "VP Sales"  # nothing written
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Email = {}", "ann@acme.io")["Title"] == "CMO"


def test_a_missing_mapped_field_fails_the_gate_and_names_it(sf_fields: Runner, sf: Any) -> None:
    mapped = {"objects": {"contact": {"create": False},
                          "lead": {"field_mapping": {"Use_Case__c": {"column": "chat_use_case"}}}}}
    result = sf_fields.sync(people(), acme(), settings=mapped)
    leads = by_object(result, "Lead")
    assert set(leads["reason"]) == {"missing_required_field"}
    assert leads["message"].str.contains("Use_Case__c").all()
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 0


# -- objects whose create or update is off -------------------------------------------------------

def test_with_lead_creation_off_the_sync_key_is_not_required(sf_fields: Runner, sf: Any) -> None:
    ann = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io"})["id"]
    sf_delete_field(sf, "Lead", "Warmly_Sync_Key")
    result = sf_fields.sync(people(), acme(), settings={"objects": {"lead": {"create": False},
                                                                    "contact": {"create": False}}})
    assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
    assert result.summary["Lead"].updated == 1 and result.summary["Lead"].skipped == {"create_disabled": 1}
    assert sf_one(sf, "SELECT Warmly_Session_Count__c FROM Lead WHERE Id = {}", ann)["Warmly_Session_Count__c"] == 3


def test_an_object_that_writes_nothing_requires_nothing(sf_fields: Runner, sf: Any) -> None:
    ann = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io", "Title": "Intern"})["id"]
    sf_delete_field(sf, "Lead", "Warmly_Last_Seen")
    off = {"objects": {"lead": {"create": False, "update": False}, "contact": {"create": False}}}
    result = sf_fields.sync(people(), acme(), settings=off)
    assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
    assert result.summary["Lead"].skipped == {"update_disabled": 1, "create_disabled": 1}
    assert result.summary["Account"].created == 1
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Id = {}", ann)["Title"] == "Intern"


def test_with_lead_updates_off_new_leads_still_pass_the_gate(sf_fields: Runner, sf: Any) -> None:
    sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io"})
    sf_delete_field(sf, "Lead", "Warmly_Last_Seen")
    result = sf_fields.sync(people(), acme(), settings={"objects": {"lead": {"update": False},
                                                                    "contact": {"create": False}}})
    assert set(by_object(result, "Lead")["reason"]) == {"missing_required_field"}
    assert sf_count(sf, "SELECT COUNT() FROM Lead") == 1  # Bob was not created


def test_with_warmly_data_off_a_missing_warmly_field_blocks_nothing(sf_fields: Runner, sf: Any) -> None:
    sf_delete_field(sf, "Lead", "Warmly_Last_Seen")
    result = sf_fields.sync(people(), acme(), settings={"objects": {"lead": {"write_warmly_data": False},
                                                                    "contact": {"create": False}}})
    assert result.failed == 0 and result.summary["Lead"].created == 2
    assert sf_one(sf, "SELECT Warmly_Session_Count__c FROM Lead WHERE Email = {}",
                  "ann@acme.io")["Warmly_Session_Count__c"] is None


# -- HubSpot: new companies and new contacts -----------------------------------------------------

def test_hubspot_new_companies_fail_the_gate_people_proceed_and_are_linked_once_setup_restores_it(
        hs_runner: Runner, hs: Any, warehouse: Warehouse) -> None:
    hs_runner.setup()
    hs.crm.properties.core_api.archive("companies", "warmly_last_seen")
    blocked = hs_runner.sync(people(), acme())
    assert logged(warehouse, blocked.run_id)["acme.io"] == GATED
    assert hs_companies(hs) == []
    ann = hs_contact(hs, "ann@acme.io", ["email"])
    assert hs_company_of(hs, ann.id) == []  # written, but no company to link to yet

    assert hs_runner.setup().created["companies"] == ["warmly_last_seen"]
    healed = hs_runner.sync(people(), acme())  # the same warehouse rows
    assert healed.failed == 0 and logged(warehouse, healed.run_id)["acme.io"] == ("create", "succeeded", None)
    [co] = hs_companies(hs)
    assert hs_company_of(hs, ann.id) == [co.id]


def test_hubspot_new_contacts_fail_the_gate_and_none_is_created(hs_runner: Runner, hs: Any) -> None:
    hs_runner.setup()
    hs.crm.properties.core_api.archive("contacts", "warmly_session_count")
    result = hs_runner.sync(people(), acme())
    contacts = by_object(result, "contacts")
    assert contacts.height == 2 and set(contacts["reason"]) == {"missing_required_field"}
    assert "warmly_session_count" in contacts["message"][0]
    assert list(hs.crm.contacts.get_all()) == []
    assert result.summary["companies"].created == 1
