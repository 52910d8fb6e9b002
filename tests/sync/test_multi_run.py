"""Sync state over many runs: what each run reads and writes, and the state rows it leaves.

Promises (README "Outcomes and reasons", ``dagster_pipeline/sync/state.py``):
- a record whose fingerprint has not moved since its last successful write costs no CRM call;
- the state row of a key is its last successful write (a value going back to an older one is written);
- a record found already correct in the CRM gets a state row, so it stops costing reads;
- a failed record gets no new state row: the next run reads it and writes it again;
- the state keeps one current row per key (a run replaces the rows of the keys it wrote).

Each scenario drives the engine against a sandbox through the real SDK, and after every run checks
the sandbox's own call counts, the CRM records, and ``writeback.sync_log`` / ``writeback.sync_state``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.sync.conftest import Runner
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import (
    HS_DAILY_LIMIT_SPENT,
    Calls,
    hs_company_of,
    hs_contact,
    logged,
    sf_one,
    state_rows,
    state_table,
)

ANN, BOB, CAROL = "ann@acme.io", "bob@acme.io", "carol@globex.com"
PEOPLE = (ANN, BOB, CAROL)
DOMAINS = ("acme.io", "globex.com")


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        persons(person(ANN, first_name="Ann"), person(BOB, first_name="Bob"),
                person(CAROL, "globex.com", first_name="Carol")),
        companies(company("acme.io", name="Acme"), company("globex.com", name="Globex")),
    )


def change(frame: pl.DataFrame, column: str, values: dict[str, Any]) -> pl.DataFrame:
    """The warehouse after a change: ``column`` set for the given emails."""
    return frame.with_columns(frame["email"].replace_strict(values, default=frame[column]).alias(column))


def only(run: dict[str, tuple[str, str, str | None]], **changed: tuple[str, str, str | None]) -> None:
    """Every record of the run ``unchanged``, except those named (by key with ``.`` and ``@`` as ``_``)."""
    expected = {k: ("unchanged", "unchanged", None) for k in (*PEOPLE, *DOMAINS)}
    for name, outcome in changed.items():
        expected[next(k for k in expected if k.replace(".", "_").replace("@", "_") == name)] = outcome
    assert run == expected


UPDATED = ("update", "succeeded", None)


class Sync:
    """Runs the engine, resetting the sandbox's call counts first; checks both sides count alike."""

    def __init__(self, runner: Runner, calls: Calls) -> None:
        self.runner, self.calls = runner, calls

    def __call__(self, p: pl.DataFrame, c: pl.DataFrame, **kw: Any) -> Any:
        self.calls.reset()
        result = self.runner.sync(p, c, **kw)
        assert result.api_calls["writes"] == self.calls.writes(), (result.api_calls, self.calls.by_endpoint())
        return result


# -- Salesforce ----------------------------------------------------------------------------------

@pytest.fixture
def sf_ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    return sf_runner


def test_salesforce_six_runs_with_a_warehouse_change_a_rep_edit_a_fault_and_the_recovery(
        sf_ready: Runner, sf: Any, sandbox: Any, warehouse: Warehouse) -> None:
    calls = Calls(sandbox, "salesforce")
    sync = Sync(sf_ready, calls)
    p, c = world()

    # 1. First sync: two Accounts and three Leads in one upsert call each; one state row per record.
    first = sync(p, c)
    assert logged(warehouse, first.run_id) == {k: ("create", "succeeded", None) for k in (*PEOPLE, *DOMAINS)}
    assert calls.matching("PATCH composite/sobjects/upsert") == 2 and calls.writes() == 2
    lead_ids = {r["Email"]: r["Id"] for r in sf.query("SELECT Id, Email FROM Lead")["records"]}
    state = state_table(warehouse)
    assert state.height == 5 and set(state["run_id"]) == {first.run_id}
    assert dict(state.filter(pl.col("entity") == "person").select("key", "crm_id").rows()) == lead_ids
    ann_first = state_rows(warehouse, ANN)[0]

    # 2. The warehouse changes Ann's title: only Ann is read (as Contact, then as Lead) and written.
    p2 = change(p, "title", {ANN: "Chief Revenue Officer"})
    second = sync(p2, c)
    only(logged(warehouse, second.run_id), ann_acme_io=UPDATED)
    assert calls.matching("GET query") == 3  # which org, Ann among Contacts, Ann among Leads
    assert calls.matching("PATCH composite/sobjects/update") == 1 and calls.writes() == 1
    ann_rows = state_rows(warehouse, ANN)  # one current row per key: the second run's replaced the first's
    assert [r["run_id"] for r in ann_rows] == [second.run_id]
    assert ann_rows[0]["payload_hash"] != ann_first["payload_hash"]
    assert state_table(warehouse).height == 5
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Id = {}", lead_ids[ANN])["Title"] == "Chief Revenue Officer"

    # 3. A rep edits Bob in the CRM; the warehouse did not change: nothing read, written, or remembered.
    sf.Lead.update(lead_ids[BOB], {"Title": "Head of Sales", "Warmly_Session_Count__c": 99})
    third = sync(p2, c)
    only(logged(warehouse, third.run_id))
    assert calls.matching("GET query") == 1 and calls.writes() == 0
    assert state_table(warehouse).height == 5
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Id = {}", lead_ids[BOB])["Title"] == "Head of Sales"

    # 4. New sessions for Bob and Carol, and every update call finds the rows locked: both fail after
    #    the connector's retries, nothing of them is written and they get no state row.
    p4 = change(p2, "session_count", {BOB: 4, CAROL: 4})
    sandbox.admin("salesforce", "POST", "faults",
                  {"kind": "lock_row", "method": "PATCH", "path": "composite/sobjects$", "count": None})
    fourth = sync(p4, c)
    only(logged(warehouse, fourth.run_id), bob_acme_io=("update", "failed", "UNABLE_TO_LOCK_ROW"),
         carol_globex_com=("update", "failed", "UNABLE_TO_LOCK_ROW"))
    assert fourth.failed == 2
    assert state_table(warehouse).height == 5
    assert sf_one(sf, "SELECT Warmly_Session_Count__c FROM Lead WHERE Id = {}",
                  lead_ids[CAROL])["Warmly_Session_Count__c"] == 3

    # 5. The lock is gone: the same warehouse rows are read and written again (Bob's title too, which
    #    is ours to overwrite), in one call, and now they have state rows.
    sandbox.admin("salesforce", "DELETE", "faults")
    fifth = sync(p4, c)
    only(logged(warehouse, fifth.run_id), bob_acme_io=UPDATED, carol_globex_com=UPDATED)
    assert calls.matching("GET query") == 3 and calls.writes() == 1
    bob = sf_one(sf, "SELECT Title, Warmly_Session_Count__c FROM Lead WHERE Id = {}", lead_ids[BOB])
    assert (bob["Title"], bob["Warmly_Session_Count__c"]) == ("VP Sales", 4)
    assert [r["run_id"] for r in state_rows(warehouse, BOB)] == [fifth.run_id]
    assert state_table(warehouse).height == 5

    # 6. Nothing changed since: no per-record read, no write, no new state row.
    sixth = sync(p4, c)
    only(logged(warehouse, sixth.run_id))
    assert calls.matching("GET query") == 1 and calls.writes() == 0
    assert state_table(warehouse).height == 5


def test_the_newest_state_row_of_a_key_wins(sf_ready: Runner, sf: Any, warehouse: Warehouse) -> None:
    """A value that goes back to what it was two runs ago is written back: the CRM holds the newer one."""
    p, c = world()
    sf_ready.sync(p, c)
    sf_ready.sync(change(p, "title", {ANN: "CEO"}), c)
    back = sf_ready.sync(p, c)  # the warehouse row is again what the first run wrote
    assert (logged(warehouse, back.run_id)[ANN]) == UPDATED
    assert sf_one(sf, "SELECT Title FROM Lead WHERE Email = {}", ANN)["Title"] == "VP Sales"
    assert [r["run_id"] for r in state_rows(warehouse, ANN)] == [back.run_id]  # one row per key


def test_a_record_found_already_correct_gets_a_state_row_and_then_costs_no_read(
        sf_ready: Runner, sf: Any, sandbox: Any, warehouse: Warehouse, tmp_path: Any) -> None:
    p, c = world()
    sf_ready.sync(p, c)
    # The same org synced from a warehouse that has no state yet (a new warehouse, a lost state table):
    # every record is read once and found already correct.
    sf_ready.warehouse = fresh = Warehouse(f"duckdb:///{tmp_path / 'fresh.duckdb'}")
    calls = Calls(sandbox, "salesforce")
    sync = Sync(sf_ready, calls)
    found = sync(p, c)
    only(logged(fresh, found.run_id))
    assert calls.matching("GET query") > 1 and calls.writes() == 0
    assert state_table(fresh).height == 5
    assert state_table(fresh).filter(pl.col("crm_id").is_null()).is_empty()

    quiet = sync(p, c)
    only(logged(fresh, quiet.run_id))
    assert calls.matching("GET query") == 1  # only "which org": no record is read any more
    assert state_table(warehouse).height == 5  # the first warehouse is untouched


# -- HubSpot -------------------------------------------------------------------------------------

def test_hubspot_six_runs_with_a_warehouse_change_rep_edits_a_spent_daily_limit_and_the_recovery(
        hs_runner: Runner, hs: Any, sandbox: Any, warehouse: Warehouse) -> None:
    hs_runner.setup()
    calls = Calls(sandbox, "hubspot")
    sync = Sync(hs_runner, calls)
    p, c = world()
    props = ["email", "jobtitle", "warmly_session_count"]

    # 1. First sync: companies, then contacts created with their links inline: one call each.
    first = sync(p, c)
    assert logged(warehouse, first.run_id) == {k: ("create", "succeeded", None) for k in (*PEOPLE, *DOMAINS)}
    assert calls.matching("batch/upsert") == 1 and calls.matching("batch/create") == 1
    assert calls.matching("associate/default") == 0 and calls.writes() == 2
    contact_ids = {e: hs_contact(hs, e, props).id for e in PEOPLE}
    company_ids = {co.properties["domain"]: co.id for co in hs.crm.companies.get_all(properties=["domain"])}
    assert hs_company_of(hs, contact_ids[CAROL]) == [company_ids["globex.com"]]
    assert state_table(warehouse).height == 5

    # 2. The warehouse changes Ann's title: Ann alone is read (record and links) and updated.
    p2 = change(p, "title", {ANN: "CRO"})
    second = sync(p2, c)
    only(logged(warehouse, second.run_id), ann_acme_io=UPDATED)
    assert (calls.matching("objects/{type}/batch/read"), calls.matching("associations", "batch/read")) == (1, 1)
    assert calls.matching("batch/update") == 1 and calls.writes() == 1
    assert [r["run_id"] for r in state_rows(warehouse, ANN)] == [second.run_id]

    # 3. Reps edit the CRM: Bob's title, and Carol moved to another company. The warehouse did not
    #    change, so nothing is read or written.
    hs.crm.contacts.basic_api.update(contact_ids[BOB], {"properties": {"jobtitle": "Head of Sales"}})
    other = hs.crm.companies.basic_api.create({"properties": {"name": "Globex Holdings", "domain": "globex.co"}})
    hs.crm.associations.v4.basic_api.archive("contacts", contact_ids[CAROL], "companies", company_ids["globex.com"])
    hs.crm.associations.v4.basic_api.create_default("contacts", contact_ids[CAROL], "companies", other.id)
    third = sync(p2, c)
    only(logged(warehouse, third.run_id))
    assert calls.matching("batch/read") == 0 and calls.writes() == 0
    assert state_table(warehouse).height == 5

    # 4. New sessions for Bob and Carol, and the daily allowance runs out at the update: the run stops,
    #    both fail api_limit_exhausted, nothing of them is written, no state row.
    p4 = change(p2, "session_count", {BOB: 4, CAROL: 4})
    sandbox.admin("hubspot", "POST", "faults",
                  {"kind": "status", "status": 429, "path": "batch/update", "count": 1, "body": HS_DAILY_LIMIT_SPENT})
    fourth = sync(p4, c)
    assert fourth.stopped and "daily" in fourth.stopped.lower()
    only(logged(warehouse, fourth.run_id), bob_acme_io=("update", "failed", "api_limit_exhausted"),
         carol_globex_com=("update", "failed", "api_limit_exhausted"))
    assert hs_contact(hs, CAROL, props).properties["warmly_session_count"] == "3"
    assert state_table(warehouse).height == 5

    # 5. The next day: both are read and updated in one call. Bob's title is ours to restore; Carol's
    #    company is the rep's choice: she already has one, so no link is added.
    fifth = sync(p4, c)
    assert fifth.stopped is None
    only(logged(warehouse, fifth.run_id), bob_acme_io=UPDATED, carol_globex_com=UPDATED)
    assert calls.matching("batch/update") == 1 and calls.writes() == 1
    bob = hs_contact(hs, BOB, props).properties
    assert (bob["jobtitle"], bob["warmly_session_count"]) == ("VP Sales", "4")
    assert hs_company_of(hs, contact_ids[CAROL]) == [other.id]
    assert state_table(warehouse).height == 5

    # 6. Nothing changed since: no record read, no write, with or without comparing every record.
    sixth = sync(p4, c)
    only(logged(warehouse, sixth.run_id))
    assert calls.matching("batch/read") == 0 and calls.writes() == 0
    full = sync(p4, c, full_refresh=True)
    only(logged(warehouse, full.run_id))
    assert calls.writes() == 0
