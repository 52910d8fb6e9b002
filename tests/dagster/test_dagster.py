"""The Dagster code location: what it defines, and what materializing it does to the CRM."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dagster import AssetKey
from simple_salesforce import format_soql

from connectors.salesforce.client import SalesforceCredentials, make_client
from connectors.warehouse import Warehouse
from dagster_pipeline.local_run import CRM_KEYS, materialize_range
from dagster_pipeline.sync.records import EMAIL_RE
from tests.dagster.conftest import FIRST_DAY, LAST_DAY

WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
SYNC_KEYS = [AssetKey(f"{w}_crm_sync") for w in WORKFLOWS]
CRM_ONLY = CRM_KEYS  # the sync half of the graph, on an already built warehouse


def test_definitions_load_with_the_expected_graph() -> None:
    from dagster_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for wf in WORKFLOWS:
        assert {f"sync_{wf}__persons", f"sync_{wf}__companies", f"{wf}_crm_sync"} <= keys
        node = graph.get(AssetKey(f"{wf}_crm_sync"))
        assert {AssetKey(f"sync_{wf}__persons"), AssetKey(f"sync_{wf}__companies"), AssetKey("crm_fields")} <= set(
            node.parent_keys)
        assert node.partitions_def is not None and node.partitions_def == graph.get(
            AssetKey(f"sync_{wf}__persons")).partitions_def
        assert node.backfill_policy is not None and node.backfill_policy.max_partitions_per_run is None
        assert "salesforce" in node.kinds
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("crm_fields", "required_custom_fields_present") in checks
    assert {("website_visitor_crm_sync", "failure_rate_below_threshold")} <= checks
    assert any(name.startswith("unique_") for _, name in checks)  # dbt tests surface as asset checks
    assert {s.name for s in defs.schedules} == {*(f"{w}_schedule" for w in WORKFLOWS), "reconcile_schedule"}
    assert {j.name for j in defs.jobs} == {"warehouse_job", *(f"{w}_job" for w in WORKFLOWS), "reconcile_job"}


def test_the_code_location_uses_only_public_dagster_apis() -> None:
    package = Path(__file__).resolve().parents[2] / "dagster_pipeline"
    private = [str(p.relative_to(package)) for p in package.rglob("*.py")
               if re.search(r"\b(from|import) dagster(_dbt)?\._", p.read_text())]
    assert private == []


def _sf(env: dict[str, Any]) -> Any:
    return make_client(SalesforceCredentials.from_env(env["sandbox"].salesforce_env()))


def _synced_people(db: Any, first: dt.date | None = None, last: dt.date | None = None) -> set[str]:
    wh = Warehouse(f"duckdb:///{db}")
    emails: set[str] = set()
    for wf in WORKFLOWS:
        frame = wh.read_model(f"sync_{wf}__persons")
        if first:
            frame = frame.filter(pl.col("activity_date").is_between(first, last))
        emails |= set(frame.filter(pl.col("email").str.contains(EMAIL_RE))["email"].str.to_lowercase())
    return emails


@pytest.mark.parametrize(("crm", "creates"), [(None, {"lead": True, "contact": False}),
                                             ("hubspot", {"contact": True, "company": True})])
def test_writeback_crm_aims_the_assets_at_that_crm_with_its_own_settings(
        monkeypatch: pytest.MonkeyPatch, crm: str | None, creates: dict[str, bool]) -> None:
    from dagster_pipeline.defs.resources import resources_from_env
    from tests.sync.conftest import SHIPPED_SETTINGS

    monkeypatch.setenv("WRITEBACK_SETTINGS", str(SHIPPED_SETTINGS))  # crm: salesforce
    if crm:
        monkeypatch.setenv("WRITEBACK_CRM", crm)
    else:
        monkeypatch.delenv("WRITEBACK_CRM", raising=False)
    settings = resources_from_env()["crm"].load_settings()
    assert settings.crm == (crm or "salesforce")
    assert {name: settings.may_create(name) for name in creates} == creates


def _crm_people(sf: Any) -> set[str]:
    leads = sf.query_all("SELECT Email FROM Lead")["records"]
    contacts = sf.query_all("SELECT Email FROM Contact")["records"]
    return {r["Email"].lower() for r in leads + contacts if r["Email"]}


def _setup(env: dict[str, Any]) -> None:
    from dagster_pipeline.connect import make_connector
    from dagster_pipeline.sync.settings import load_settings
    from dagster_pipeline.sync.setup import run_setup

    settings = load_settings()
    run_setup(settings, make_connector(settings))


@pytest.mark.slow
def test_materializing_everything_writes_every_segment_member_once_and_a_rerun_writes_nothing(dagster_env) -> None:
    _setup(dagster_env)
    result = materialize_range(FIRST_DAY, LAST_DAY)
    assert result.success
    sf = _sf(dagster_env)
    expected = _synced_people(dagster_env["db"])
    assert expected and _crm_people(sf) == expected  # every person of every workflow, none twice
    leads = sf.query_all("SELECT Email FROM Lead")["records"]
    assert len(leads) == len({r["Email"].lower() for r in leads})
    days = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
            if e.step_materialization_data.materialization.asset_key == AssetKey("website_visitor_crm_sync")]
    assert len(days) == (LAST_DAY - FIRST_DAY).days + 1  # one materialization per partition
    assert sum(d.metadata["failed"].value for d in days) == 0
    people = sum(d.metadata[f"{o} {a}"].value for d in days for o in ("Lead", "Contact")
                 for a in ("created", "updated", "unchanged") if f"{o} {a}" in d.metadata)
    assert people == Warehouse(f"duckdb:///{dagster_env['db']}").row_count("sync_website_visitor__persons")
    assert all({"run_api_reads", "run_api_writes"} <= set(d.metadata) for d in days)
    assert all(d.metadata["failed_records"].value.records == [] for d in days)
    # dbt tables carry their row count (fetch_row_counts), which Dagster plots; views are not counted.
    model = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
             if e.step_materialization_data.materialization.asset_key == AssetKey("sync_website_visitor__persons")]
    assert model and {m.metadata["dagster/row_count"].value for m in model} == {people}

    sandbox = dagster_env["sandbox"]
    sandbox.admin("salesforce", "DELETE", "calls")
    again = materialize_range(FIRST_DAY, LAST_DAY, selection=CRM_ONLY)
    assert again.success
    writes = {k: n for k, n in sandbox.calls("salesforce")["by_endpoint"].items() if k.startswith(("POST", "PATCH"))}
    assert writes == {}


def test_required_fields_check_fails_and_blocks_the_syncs(dagster_env) -> None:
    _setup(dagster_env)
    sf = _sf(dagster_env)
    field = sf.toolingexecute("query/?q=" + format_soql(
        "SELECT Id FROM CustomField WHERE DeveloperName = {} AND TableEnumOrId = {}", "Warmly_Top_Pages", "Account"))
    sf.toolingexecute(f"sobjects/CustomField/{field['records'][0]['Id']}", method="DELETE")
    result = materialize_range(FIRST_DAY, LAST_DAY, selection=CRM_ONLY, raise_on_error=False)
    check = [c for c in result.get_asset_check_evaluations() if c.check_name == "required_custom_fields_present"][0]
    assert not check.passed
    assert check.metadata["missing_fields"].value == {"Account": ["Warmly_Top_Pages__c"]}
    materialized = {e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert not materialized & set(SYNC_KEYS)  # blocked: no sync ran
    assert _crm_people(sf) == set()


def test_a_two_day_backfill_touches_only_those_days(dagster_env) -> None:
    _setup(dagster_env)
    first, last = LAST_DAY - dt.timedelta(days=1), LAST_DAY
    result = materialize_range(first, last, selection=CRM_ONLY)
    assert result.success
    expected = _synced_people(dagster_env["db"], first, last)
    everyone = _synced_people(dagster_env["db"])
    assert expected and expected < everyone
    assert _crm_people(_sf(dagster_env)) == expected
    again = materialize_range(first, last, selection=CRM_ONLY)
    days = [e.event_specific_data.materialization.metadata for e in again.get_asset_materialization_events()
            if e.event_specific_data.materialization.asset_key == AssetKey("website_visitor_crm_sync")]
    assert len(days) == 2
    assert all(d["created"].value == d["updated"].value == 0 for d in days)  # the same backfill twice writes nothing


def test_the_reconcile_job_restores_what_a_rep_edited_and_its_schedule_covers_every_day(dagster_env) -> None:
    from dagster import build_schedule_context

    from dagster_pipeline.definitions import build_definitions
    from dagster_pipeline.defs.resources import resources_from_env
    from dagster_pipeline.defs.schedules import RANGE_END_TAG, RANGE_START_TAG, reconcile_schedule

    _setup(dagster_env)
    first, last = LAST_DAY - dt.timedelta(days=1), LAST_DAY
    assert materialize_range(first, last, selection=CRM_ONLY).success
    sf = _sf(dagster_env)
    lead = sf.query("SELECT Id, Warmly_Session_Count__c FROM Lead ORDER BY Email LIMIT 1")["records"][0]
    sf.Lead.update(lead["Id"], {"Warmly_Session_Count__c": 9999})  # a rep's edit of our engagement data

    assert materialize_range(first, last, selection=CRM_ONLY).success  # a plain run trusts the fingerprint
    assert sf.Lead.get(lead["Id"])["Warmly_Session_Count__c"] == 9999

    job = build_definitions(resources_from_env()).resolve_job_def("reconcile_job")
    run = job.execute_in_process(tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()})
    assert run.success
    log = Warehouse(f"duckdb:///{dagster_env['db']}").read_model("sync_log", schema="writeback")
    restored = log.filter((pl.col("crm_id") == lead["Id"]) & (pl.col("reason") == "drift"))
    assert restored["changed_fields"].to_list() == ["Warmly_Session_Count__c"]
    assert sf.Lead.get(lead["Id"])["Warmly_Session_Count__c"] == lead["Warmly_Session_Count__c"]

    tick = reconcile_schedule(build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 22, 3)))
    assert tick.tags[RANGE_START_TAG] == FIRST_DAY.isoformat() and tick.tags[RANGE_END_TAG] == "2026-11-21"
