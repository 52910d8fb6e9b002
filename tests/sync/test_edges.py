"""The edges of what we promise about values: length limits, restricted picklists, nulls, ``if_empty``.

Promises (README "Rules that keep the CRM clean"):
- text longer than the CRM field is trimmed to fit and the sync log notes it; text exactly at the
  limit is written whole, with no note; a trimmed value is not drift on the next run;
- a picklist value the CRM would reject is left out, noted, and the rest of the record written;
- a null (or blank) in the warehouse never erases a CRM value;
- ``mode: if_empty`` fills a blank field and keeps a rep's value, with or without ``--reconcile``.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from connectors.warehouse import Warehouse
from tests.sync.conftest import Runner, outcome
from tests.sync.frames import companies, company, person, persons
from tests.sync.helpers import hs_contact, log_table, sf_one

TITLE_LIMIT = 128  # Lead.Title in Salesforce
AT_LIMIT = ("Senior Vice President of Revenue " * 5)[:TITLE_LIMIT]
OVER_LIMIT = AT_LIMIT + "X"


@pytest.fixture
def ready(sf_runner: Runner) -> Runner:
    sf_runner.settings_data = {"objects": {"contact": {"create": False}}}
    sf_runner.setup()
    return sf_runner


def acme() -> pl.DataFrame:
    return companies(company("acme.io", name="Acme"))


def messages(warehouse: Warehouse, run_id: str) -> dict[str, str | None]:
    return dict(log_table(warehouse, run_id).select("key", "message").rows())


def titles(sf: Any) -> dict[str, str]:
    return {r["Email"]: r["Title"] for r in sf.query("SELECT Email, Title FROM Lead")["records"]}


def test_text_exactly_at_the_limit_is_written_whole_and_one_over_is_trimmed_with_a_note(
        ready: Runner, sf: Any, warehouse: Warehouse) -> None:
    p = persons(person("ann@acme.io", title=AT_LIMIT), person("bob@acme.io", title=OVER_LIMIT),
                person("cy@acme.io", title="CMO"))
    created = ready.sync(p, acme())
    assert created.failed == 0
    assert titles(sf) == {"ann@acme.io": AT_LIMIT, "bob@acme.io": AT_LIMIT, "cy@acme.io": "CMO"}
    notes = messages(warehouse, created.run_id)
    assert (notes["ann@acme.io"], notes["bob@acme.io"], notes["cy@acme.io"]) == (None, "truncated:Title", None)

    # The same on an update, and only the record that needed it carries the note.
    updated = ready.sync(p.with_columns(title=pl.Series([AT_LIMIT, OVER_LIMIT, OVER_LIMIT])), acme())
    assert outcome(updated, "cy@acme.io")["action"] == "update"
    assert messages(warehouse, updated.run_id)["cy@acme.io"] == "truncated:Title"
    assert titles(sf)["cy@acme.io"] == AT_LIMIT

    # What was trimmed is what the CRM holds: comparing every record finds nothing to restore.
    again = ready.sync(p.with_columns(title=pl.Series([AT_LIMIT, OVER_LIMIT, OVER_LIMIT])), acme(), full_refresh=True)
    assert again.api_calls["writes"] == 0
    assert set(again.log["action"]) == {"unchanged"}


def test_a_value_a_restricted_picklist_would_reject_is_left_out_and_the_rest_written(
        ready: Runner, sf: Any, warehouse: Warehouse) -> None:
    status = {"objects": {"contact": {"create": False},
                          "lead": {"field_mapping": {"Status": {"column": "intent_signal"}}}}}
    p = persons(person("ann@acme.io", intent_signal="Working - Contacted"),
                person("bob@acme.io", intent_signal="Hot", title="CMO"))
    result = ready.sync(p, acme(), settings=status)
    assert result.failed == 0
    rows = {r["Email"]: r for r in sf.query("SELECT Email, Status, Title FROM Lead")["records"]}
    assert rows["ann@acme.io"]["Status"] == "Working - Contacted"
    assert (rows["bob@acme.io"]["Status"], rows["bob@acme.io"]["Title"]) == ("Open - Not Contacted", "CMO")
    notes = messages(warehouse, result.run_id)
    assert (notes["ann@acme.io"], notes["bob@acme.io"]) == (None, "invalid_option:Status")


@pytest.mark.parametrize("blank", [None, "   "], ids=["null", "blank"])
def test_a_null_in_the_warehouse_never_erases_a_salesforce_value(ready: Runner, sf: Any, blank: str | None) -> None:
    p = persons(person("ann@acme.io", title="CMO", phone="+1 555 0100"))
    ready.sync(p, acme())
    gone = p.with_columns(title=pl.lit(blank, pl.Utf8), phone=pl.lit(blank, pl.Utf8), session_count=pl.lit(4))
    result = ready.sync(gone, acme())
    assert outcome(result, "ann@acme.io")["changed_fields"] == "Warmly_Session_Count__c"
    ann = sf_one(sf, "SELECT Title, Phone, Warmly_Session_Count__c FROM Lead WHERE Email = {}", "ann@acme.io")
    assert (ann["Title"], ann["Phone"], ann["Warmly_Session_Count__c"]) == ("CMO", "+1 555 0100", 4)
    assert ready.sync(gone, acme(), full_refresh=True).api_calls["writes"] == 0


def test_a_null_in_the_warehouse_never_erases_a_hubspot_value(hs_runner: Runner, hs: Any) -> None:
    hs_runner.setup()
    p = persons(person("ann@acme.io", title="CMO", phone="+1 555 0100"))
    hs_runner.sync(p, acme())
    result = hs_runner.sync(p.with_columns(title=pl.lit(None, pl.Utf8), phone=pl.lit(None, pl.Utf8)), acme(),
                            full_refresh=True)
    assert result.api_calls["writes"] == 0
    ann = hs_contact(hs, "ann@acme.io", ["jobtitle", "phone"]).properties
    assert (ann["jobtitle"], ann["phone"]) == ("CMO", "+1 555 0100")


def test_an_if_empty_mapping_fills_a_blank_and_keeps_a_reps_value(ready: Runner, sf: Any) -> None:
    rep = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Email": "ann@acme.io",
                          "Description": "Met at the Berlin summit"})["id"]
    mapping = {"objects": {"contact": {"create": False}, "lead": {"field_mapping": {
        "Description": {"column": "chat_use_case", "mode": "if_empty"}}}}}
    p = persons(person("ann@acme.io"), person("bob@acme.io"))
    ready.sync(p, acme(), settings=mapping)
    changed = p.with_columns(chat_use_case=pl.lit("Score accounts"))
    ready.sync(changed, acme(), settings=mapping)
    assert ready.sync(changed, acme(), settings=mapping, full_refresh=True).api_calls["writes"] == 0
    rows = {r["Email"]: r["Description"] for r in sf.query("SELECT Email, Description FROM Lead")["records"]}
    assert rows == {"ann@acme.io": "Met at the Berlin summit", "bob@acme.io": "Route inbound leads"}
    assert sf_one(sf, "SELECT Id FROM Lead WHERE Email = {}", "ann@acme.io")["Id"] == rep
