"""Partial failures: part of a run fails, the rest lands, and the next run finishes the job.

Promises (README "Rules that keep the CRM clean", "Outcomes and reasons"):
- companies are written first and people are then linked to them — also when the company write's
  response was lost (creates are idempotent, so the retry finds what the lost call created);
- a failed record is retried on the next run; one bad record never sinks its batch;
- a spent daily allocation stops the run cleanly: what is left is ``api_limit_exhausted`` (on HubSpot
  a person whose company link could not be written is ``link_failed``), and the next run finishes.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import (
    HS_DAILY_LIMIT_SPENT,
    Calls,
    hs_companies,
    hs_company_of,
    hs_contact,
    logged,
    sf_count,
    sf_one,
    state_rows,
    state_table,
)

AS_CONTACTS = {"objects": {"lead": {"create": False}, "contact": {"create_when_lead_off": True}}}


def people() -> pl.DataFrame:
    return persons(person("ann@acme.io", first_name="Ann"), person("bob@acme.io", first_name="Bob"))


def acme(**over: Any) -> pl.DataFrame:
    return companies(company("acme.io", name="Acme", **over))


def account_links(sf: Any) -> dict[str, str | None]:
    return {r["Email"]: r["AccountId"] for r in sf.query("SELECT Email, AccountId FROM Contact")["records"]}


# -- the company write -------------------------------------------------------------------------

def test_salesforce_a_lost_response_on_the_account_write_still_links_the_people(
        sf_runner: Runner, sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    sf_runner.setup()
    sandbox.admin("salesforce", "POST", "faults", {"kind": "drop_after_commit", "method": "PATCH",
                                                   "path": "composite/sobjects/Account/", "count": 1})
    result = sf_runner.sync(people(), acme(), settings=AS_CONTACTS)
    assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
    account = sf_one(sf, "SELECT Id FROM Account WHERE Warmly_Sync_Key__c = {}", "acme.io")["Id"]
    assert sf_count(sf, "SELECT COUNT() FROM Account") == 1  # the retry updated what the lost call created
    assert account_links(sf) == {"ann@acme.io": account, "bob@acme.io": account}
    assert [r["crm_id"] for r in state_rows(warehouse, "acme.io")] == [account]


def test_hubspot_a_lost_response_on_the_company_write_still_links_the_people(
        hs_runner: Runner, hs: Any, sandbox: Any) -> None:
    hs_runner.setup()
    sandbox.admin("hubspot", "POST", "faults",
                  {"kind": "drop_after_commit", "path": "companies/batch/upsert", "count": 1})
    result = hs_runner.sync(people(), acme())
    assert result.failed == 0, result.log.filter(pl.col("status") == "failed").to_dicts()
    assert sorted(result.log["key"]) == ["acme.io", "ann@acme.io", "bob@acme.io"]  # one outcome each
    [co] = hs_companies(hs)
    for email in ("ann@acme.io", "bob@acme.io"):  # the model's people, both created with their link inline
        assert hs_company_of(hs, hs_contact(hs, email, ["email"]).id) == [co.id]


def test_a_company_that_failed_is_written_next_run_and_its_people_are_linked_then(
        sf_runner: Runner, sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    sf_runner.setup()
    sandbox.admin("salesforce", "POST", "faults", {"kind": "lock_row", "method": "PATCH",
                                                   "path": "composite/sobjects/Account/", "count": None})
    first = sf_runner.sync(people(), acme(), settings=AS_CONTACTS)
    assert logged(warehouse, first.run_id)["acme.io"] == ("create", "failed", "UNABLE_TO_LOCK_ROW")
    assert account_links(sf) == {"ann@acme.io": None, "bob@acme.io": None}  # people still written
    assert state_rows(warehouse, "acme.io") == []

    sandbox.admin("salesforce", "DELETE", "faults")
    second = sf_runner.sync(people(), acme(), settings=AS_CONTACTS)  # the same warehouse rows
    account = sf_one(sf, "SELECT Id FROM Account")["Id"]
    run = logged(warehouse, second.run_id)
    assert run["acme.io"] == ("create", "succeeded", None)
    assert run["ann@acme.io"] == run["bob@acme.io"] == ("update", "succeeded", None)
    assert outcome(second, "ann@acme.io")["changed_fields"] == "AccountId"
    assert account_links(sf) == {"ann@acme.io": account, "bob@acme.io": account}


# -- the daily limit during the association calls -------------------------------------------------

def test_hubspot_the_daily_limit_spent_at_the_links_fails_those_people_and_the_next_run_only_links_them(
        hs_runner: Runner, hs: Any, sandbox: Any, warehouse: Warehouse) -> None:
    hs_runner.setup()
    # Contacts a rep made (no company yet) are found by email and linked by a call of their own
    # (new contacts carry their link in the create itself).
    for email in ("ann@acme.io", "bob@acme.io", "zoe@freelance.dev"):
        hs.crm.contacts.basic_api.create({"properties": {"email": email, "lastname": "Rep"}})
    p = pl.concat([people(), persons(person("zoe@freelance.dev", None, first_name="Zoe"))])  # no company
    sandbox.admin("hubspot", "POST", "faults", {"kind": "status", "status": 429, "path": "associate/default",
                                                "count": 1, "body": HS_DAILY_LIMIT_SPENT})
    first = hs_runner.sync(p, acme())
    assert first.stopped and "daily" in first.stopped.lower()
    run = logged(warehouse, first.run_id)
    assert run["ann@acme.io"] == run["bob@acme.io"] == ("update", "failed", "link_failed")
    assert run["zoe@freelance.dev"] == ("update", "succeeded", None)  # nothing to link: done
    assert run["acme.io"] == ("create", "succeeded", None)
    ann = hs_contact(hs, "ann@acme.io", ["email", "warmly_session_count"])
    assert ann.properties["warmly_session_count"] == "3" and hs_company_of(hs, ann.id) == []
    assert set(state_table(warehouse)["key"]) == {"acme.io", "zoe@freelance.dev"}

    calls = Calls(sandbox, "hubspot")
    calls.reset()
    second = hs_runner.sync(p, acme())  # the next day: the two are read again and only linked
    assert second.stopped is None and second.failed == 0
    assert (outcome(second, "ann@acme.io")["action"], outcome(second, "ann@acme.io")["changed_fields"]) == (
        "update", "(company link)")
    assert calls.writes() == 1 and calls.matching("associate/default") == 1
    [co] = hs_companies(hs)
    assert hs_company_of(hs, ann.id) == [co.id]
    assert {r["key"] for r in state_table(warehouse).to_dicts()} == {"acme.io", "zoe@freelance.dev",
                                                                      "ann@acme.io", "bob@acme.io"}
    assert hs_runner.sync(p, acme()).api_calls["writes"] == 0


# -- one update failing in a collection ------------------------------------------------------------

@pytest.fixture
def leads(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    return sf_runner


def test_one_update_failing_in_a_collection_leaves_the_others_written_and_is_retried_alone(
        leads: Runner, sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    # Lead owners come from the model; Bob's names a user the org does not have, which Salesforce
    # refuses for his record alone (an out-of-range number would be left out with a note instead).
    owner = {"objects": {"contact": {"create": False},
                         "lead": {"field_mapping": {"OwnerId": {"column": "orchestration_ids"}}}}}
    leads.settings_data = owner
    p = pl.concat([people(), persons(person("cy@acme.io", first_name="Cy"))])
    leads.sync(p, acme())
    changed = p.with_columns(title=pl.lit("CMO"), orchestration_ids=pl.Series([None, "005000000000099AAA", None]))
    calls = Calls(sandbox, "salesforce")
    calls.reset()
    second = leads.sync(changed, acme())
    run = logged(warehouse, second.run_id)
    assert run["bob@acme.io"] == ("update", "failed", "INVALID_CROSS_REFERENCE_KEY")
    assert run["ann@acme.io"] == run["cy@acme.io"] == ("update", "succeeded", None)
    assert calls.matching("PATCH composite/sobjects/update") == 1  # one call carried all three
    titles = {r["Email"]: r["Title"] for r in sf.query("SELECT Email, Title FROM Lead")["records"]}
    assert titles == {"ann@acme.io": "CMO", "bob@acme.io": "VP Sales", "cy@acme.io": "CMO"}
    # One state row per key: Bob's is still the first run's (a failed write keeps it), Ann's the second's.
    assert [r["run_id"] for r in state_rows(warehouse, "bob@acme.io")] != [second.run_id]
    assert [r["run_id"] for r in state_rows(warehouse, "ann@acme.io")] == [second.run_id]
    assert len(state_rows(warehouse, "bob@acme.io")) == 1

    fixed = changed.with_columns(orchestration_ids=pl.lit(None, pl.Utf8))
    third = leads.sync(fixed, acme())
    assert logged(warehouse, third.run_id)["bob@acme.io"] == ("update", "succeeded", None)
    assert third.summary["Lead"].updated == 1 and third.summary["Lead"].unchanged == 2
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Email = {}", "bob@acme.io")["Title"] == "CMO"
