"""Partitions as users launch them: one day, a range with the dbt assets, and the schedules' ticks.

What a run writes is checked in the Salesforce sandbox through the real SDK, against records
counted here, independently, from the built warehouse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from dagster import AssetKey, DefaultScheduleStatus, build_schedule_context, materialize

from connectors.salesforce.client import SalesforceCredentials, make_client
from connectors.warehouse import Warehouse
from dagster_pipeline.local_run import all_assets, materialize_range
from dagster_pipeline.sync.records import EMAIL_RE
from tests.dagster.conftest import LAST_DAY

WORKFLOWS = ("website_visitor", "inbound_agent", "outbound_agent")
PERSON_OBJECTS = {"Lead", "Contact"}


def _sf(env: dict[str, Any]) -> Any:
    return make_client(SalesforceCredentials.from_env(env["sandbox"].salesforce_env()))


def _resources() -> dict[str, Any]:
    """Resources bound now, so they carry the credentials the test put in the environment."""
    from dagster_pipeline.defs.resources import resources_from_env

    return resources_from_env()


def _outcomes(meta: Any, obj: str) -> int:
    """Records of one CRM object in a materialization's metadata (``Lead created`` …), whatever their outcome."""
    return sum(meta[f"{obj} {a}"].value for a in ("created", "updated", "unchanged", "skipped", "failed")
               if f"{obj} {a}" in meta)


def _setup() -> None:
    from dagster_pipeline.connect import make_connector
    from dagster_pipeline.sync.settings import load_settings
    from dagster_pipeline.sync.setup import run_setup

    settings = load_settings()
    run_setup(settings, make_connector(settings))


def _models(db: Any, workflow: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    wh = Warehouse(f"duckdb:///{db}")
    return wh.read_model(f"sync_{workflow}__persons"), wh.read_model(f"sync_{workflow}__companies")


def _day_of_most_cross_day_links(db: Any) -> dt.date:
    """The day with the most website persons whose company was last active on another day."""
    persons, companies = _models(db, "website_visitor")
    cross = (persons.join(companies.select("domain", pl.col("activity_date").alias("company_day")),
                          left_on="company_domain", right_on="domain")
             .filter(pl.col("company_day") != pl.col("activity_date")))
    return cross.group_by("activity_date").len().sort(["len", "activity_date"], descending=True)["activity_date"][0]


def _records_of(db: Any, day: dt.date) -> tuple[dict[str, str | None], set[str]]:
    """Every workflow's persons active on ``day`` (email → company domain), and the companies to write:
    those active on ``day`` and the companies of those persons."""
    persons: dict[str, str | None] = {}
    domains: set[str] = set()
    for workflow in WORKFLOWS:
        p, c = _models(db, workflow)
        p = p.filter((pl.col("activity_date") == day) & pl.col("email").str.contains(EMAIL_RE))
        persons |= dict(zip(p["email"], p["company_domain"], strict=True))
        domains |= set(c.filter(pl.col("activity_date") == day)["domain"]) | set(p["company_domain"].drop_nulls())
    return persons, domains


def test_one_day_writes_exactly_that_days_records_each_person_linked_to_its_account(dagster_env) -> None:
    db = dagster_env["db"]
    day = _day_of_most_cross_day_links(db)
    persons, domains = _records_of(db, day)
    _, website_companies = _models(db, "website_visitor")
    company_day = dict(zip(website_companies["domain"], website_companies["activity_date"], strict=True))
    elsewhere = sorted(e for e, d in persons.items() if d and company_day.get(d, day) != day)
    assert len(elsewhere) >= 2  # people whose company's own activity fell on another day
    _setup()
    sf = _sf(dagster_env)
    reps = elsewhere[:2]  # Contacts a rep typed in without an Account: the sync must link them
    for email in reps:
        sf.Contact.create({"LastName": "Typed", "Email": email})

    result = materialize(all_assets(), partition_key=day.isoformat(),
                         selection=[AssetKey("crm_fields"), *(AssetKey(f"{w}_crm_sync") for w in WORKFLOWS)],
                         resources=_resources())
    assert result.success

    leads = sf.query_all("SELECT Email, Company FROM Lead")["records"]
    contacts = sf.query_all("SELECT Email, AccountId FROM Contact")["records"]
    accounts = sf.query_all("SELECT Id, Name, Warmly_Sync_Key__c FROM Account")["records"]
    assert {r["Email"].lower() for r in leads + contacts} == set(persons)  # that day's people, no one else
    assert {a["Warmly_Sync_Key__c"] for a in accounts} == domains  # that day's companies and their people's
    by_domain = {a["Warmly_Sync_Key__c"]: a for a in accounts}
    for lead in leads:
        domain = persons[lead["Email"].lower()]
        if domain:
            assert lead["Company"] == by_domain[domain]["Name"], lead["Email"]
    linked = {c["Email"].lower(): c["AccountId"] for c in contacts}
    assert set(linked) == set(reps)
    for email in reps:
        assert linked[email] == by_domain[persons[email]]["Id"], email


def test_a_range_with_the_dbt_assets_reports_each_day_on_its_own_partition(dagster_env) -> None:
    db = dagster_env["db"]
    first, last = LAST_DAY - dt.timedelta(days=1), LAST_DAY
    whole = {w: tuple(m.height for m in _models(db, w)) for w in WORKFLOWS}
    _setup()

    result = materialize_range(first, last)  # the dbt build, the CRM fields check and every sync
    assert result.success

    wh = Warehouse(f"duckdb:///{db}")
    log = wh.read_model("sync_log", schema="writeback")
    differs = False
    outcomes = ("created", "updated", "unchanged", "skipped", "failed")
    for workflow in WORKFLOWS:
        persons, companies = _models(db, workflow)
        assert (persons.height, companies.height) == whole[workflow]  # the models still hold every day
        events = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
                  if e.step_materialization_data.materialization.asset_key == AssetKey(f"{workflow}_crm_sync")]
        days = {m.partition: m.metadata for m in events}
        assert sorted(days) == [first.isoformat(), last.isoformat()]
        assert all("sync_run_id" not in meta for meta in days.values())  # the log's run id is Dagster's
        run_log = log.filter(pl.col("run_id") == result.run_id, pl.col("workflow") == workflow)
        assert sum(meta[k].value for meta in days.values() for k in outcomes) == run_log.height
        assert sum(meta["created"].value for meta in days.values()) == run_log.filter(
            (pl.col("action") == "create") & (pl.col("status") == "succeeded")).height
        for key, meta in days.items():  # each day's people are exactly the people active that day
            people = sum(_outcomes(meta, obj) for obj in PERSON_OBJECTS)
            assert people == persons.filter(pl.col("activity_date") == dt.date.fromisoformat(key)).height, key
        first_day, last_day = (tuple(days[d.isoformat()][k].value for k in outcomes) for d in (first, last))
        differs = differs or first_day != last_day
    assert differs  # each partition carries its own day, not the run's totals


def test_each_schedule_is_built_from_its_partitioned_job_and_a_tick_requests_the_day_before() -> None:
    from dagster_pipeline.definitions import defs
    from dagster_pipeline.defs.partitions import daily_partitions

    expected_cron = {"inbound_agent": "0 6 * * *", "website_visitor": "20 6 * * *", "outbound_agent": "40 6 * * *"}
    for workflow in WORKFLOWS:
        schedule = defs.resolve_schedule_def(f"{workflow}_schedule")
        job = defs.resolve_job_def(f"{workflow}_job")
        assert schedule.job_name == job.name and job.partitions_def == daily_partitions
        assert schedule.cron_schedule == expected_cron[workflow] and schedule.execution_timezone == "UTC"
        assert schedule.default_status == DefaultScheduleStatus.STOPPED
        for tick in (dt.datetime(2026, 11, 21, 6, 40, tzinfo=dt.timezone.utc),
                     dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.timezone.utc)):
            requests = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick)).run_requests
            assert [r.partition_key for r in requests or []] == ["2026-11-20"]  # the whole day before, once


def test_a_schedule_time_can_be_moved_and_a_cron_string_is_refused(monkeypatch) -> None:
    from dagster_pipeline.defs.schedules import time_for

    monkeypatch.setenv("WRITEBACK_SCHEDULE_INBOUND_AGENT", "7:05")
    assert time_for("inbound_agent") == (7, 5)
    monkeypatch.setenv("WRITEBACK_SCHEDULE_INBOUND_AGENT", "*/15 * * * *")
    with pytest.raises(ValueError, match="WRITEBACK_SCHEDULE_INBOUND_AGENT: expected a time of day as HH:MM"):
        time_for("inbound_agent")
