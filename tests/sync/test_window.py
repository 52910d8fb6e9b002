"""A window of activity days: which records it selects, and on which day each outcome counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from dagster_pipeline.sync.window import log_by_day, record_days, select_window

D = dt.date(2026, 11, 20)
BEFORE, DAY_BEFORE, NEXT = D - dt.timedelta(days=10), D - dt.timedelta(days=1), D + dt.timedelta(days=1)


def persons(*rows: tuple[str, str | None, dt.date]) -> pl.DataFrame:
    return pl.DataFrame([{"email": e, "company_domain": c, "activity_date": d} for e, c, d in rows],
                        schema={"email": pl.Utf8, "company_domain": pl.Utf8, "activity_date": pl.Date})


def companies(*rows: tuple[str, dt.date]) -> pl.DataFrame:
    return pl.DataFrame([{"domain": c, "activity_date": d} for c, d in rows],
                        schema={"domain": pl.Utf8, "activity_date": pl.Date})


PERSONS = persons(
    ("in@acme.io", "acme.io", D),               # active that day; its company was last active earlier
    ("also.in@soft.io", "soft.io", D),
    ("no.company@gmail.com", None, D),
    ("old@old.io", "old.io", BEFORE),           # another day: out
    ("later@big.io", " Big.IO", NEXT),          # keys compare trimmed and lower-cased, as the engine's do
)
COMPANIES = companies(("acme.io", BEFORE), ("soft.io", D), ("busy.io", D), ("old.io", BEFORE), ("big.io", BEFORE))


@pytest.mark.parametrize(
    ("first", "last", "want_persons", "want_companies"),
    [
        (D, D, {"in@acme.io", "also.in@soft.io", "no.company@gmail.com"}, {"acme.io", "soft.io", "busy.io"}),
        (BEFORE, BEFORE, {"old@old.io"}, {"acme.io", "old.io", "big.io"}),
        (NEXT, NEXT, {"later@big.io"}, {"big.io"}),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 2), set(), set()),
    ],
)
def test_a_window_keeps_its_days_records_and_the_companies_of_its_persons(
        first: dt.date, last: dt.date, want_persons: set[str], want_companies: set[str]) -> None:
    p, c = select_window(PERSONS, COMPANIES, first, last)
    assert set(p["email"]) == want_persons
    assert set(c["domain"]) == want_companies


def test_a_company_pulled_in_by_its_persons_counts_on_their_latest_day() -> None:
    first, last = DAY_BEFORE, D
    people = persons(("a@acme.io", "acme.io", DAY_BEFORE), ("b@acme.io", "acme.io", D), ("c@soft.io", "soft.io", D))
    firms = companies(("acme.io", BEFORE), ("soft.io", DAY_BEFORE))
    p, c = select_window(people, firms, first, last)
    days = dict(record_days(p, c, first, last).iter_rows())
    assert days == {"a@acme.io": DAY_BEFORE, "b@acme.io": D, "c@soft.io": D,
                    "acme.io": D,            # its own day is outside the window: its persons' latest day
                    "soft.io": DAY_BEFORE}   # its own day is in the window: that day


def test_the_days_of_a_run_add_up_to_the_run() -> None:
    first, last = DAY_BEFORE, D
    p, c = select_window(persons(("a@acme.io", "acme.io", DAY_BEFORE), ("b@soft.io", "soft.io", D)),
                         companies(("acme.io", BEFORE), ("soft.io", D)), first, last)
    log = pl.DataFrame({"object": ["Lead", "Lead", "Account", "Account", "Lead"],
                        "key": ["a@acme.io", "b@soft.io", "acme.io", "soft.io", "stray@x.io"],
                        "action": ["create", "unchanged", "create", "update", "failed"]})
    by_day = log_by_day(log, record_days(p, c, first, last), first, last)
    assert list(by_day) == [DAY_BEFORE, D]
    assert set(by_day[DAY_BEFORE]["key"]) == {"a@acme.io", "acme.io"}
    assert set(by_day[D]["key"]) == {"b@soft.io", "soft.io", "stray@x.io"}  # a key without a day: the last day
    assert sum(f.height for f in by_day.values()) == log.height
    assert by_day[D].columns == log.columns


def test_every_day_of_the_window_is_reported_even_without_records() -> None:
    empty = pl.DataFrame(schema={c: pl.Utf8 for c in ("object", "key", "action")})
    by_day = log_by_day(empty, record_days(persons(), companies(), D, NEXT), D, NEXT)
    assert list(by_day) == [D, NEXT] and all(f.is_empty() for f in by_day.values())


# -- the same rule in the warehouse (DuckDB and Snowflake through fakesnow) ----------------------

WIDE = persons(("a@acme.io", "acme.io", DAY_BEFORE), ("b@acme.io", "acme.io", D), ("c@soft.io", "soft.io", D),
               ("old@old.io", "old.io", BEFORE), (" Mixed@Case.IO ", " Big.IO\t", D), ("", None, D))
WIDE_COMPANIES = companies(("acme.io", BEFORE), ("soft.io", DAY_BEFORE), ("old.io", BEFORE), ("big.io", BEFORE),
                           ("https://www.norm.io/", DAY_BEFORE))
RUN, WF = "r1", "website_visitor"
#: (object, key, action, status, reason) of the run's log: the keys as the engine names records.
LOG = [("Lead", "a@acme.io", "create", "succeeded", None), ("Lead", "b@acme.io", "unchanged", "unchanged", None),
       ("Lead", "c@soft.io", "unchanged", "unchanged", None), ("Lead", "mixed@case.io", "update", "succeeded", None),
       ("Lead", "(row 6: email is blank)", "failed", "failed", "missing_key"),
       ("Account", "acme.io", "unchanged", "unchanged", None), ("Account", "soft.io", "failed", "failed", "X"),
       ("Account", "big.io", "unchanged", "unchanged", None), ("Account", "norm.io", "unchanged", "unchanged", None)]


def _log(rows: list[tuple[str, str, str, str, str | None]], run_id: str = RUN, workflow: str = WF) -> pl.DataFrame:
    from dagster_pipeline.sync.state import LOG_SCHEMA

    at = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
    return pl.DataFrame([{"run_id": run_id, "run_at": at, "mode": "sync", "workflow": workflow, "crm": "salesforce",
                          "org": "o", "object": o, "key": k, "crm_id": None, "action": a, "status": s, "reason": r,
                          "changed_fields": None, "message": None} for o, k, a, s, r in rows], schema=LOG_SCHEMA)


@pytest.fixture(params=["duckdb", "snowflake"])
def wide_warehouse(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """The wide models as dbt would build them, the key map a run made of them, and a run's sync log."""
    import fakesnow

    from connectors.warehouse import Warehouse
    from dagster_pipeline.sync.keys import domain_keys, email_keys
    from dagster_pipeline.sync.state import KEYS_SCHEMA, KEYS_TABLE, LOG_TABLE, SCHEMA

    with fakesnow.patch():
        wh = (Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") if request.param == "duckdb"
              else Warehouse("snowflake://writer:secret@acct/analytics/public"))
        wh.append("sync_website_visitor__persons", WIDE, schema="syncs")
        wh.append("sync_website_visitor__companies", WIDE_COMPANIES, schema="syncs")
        emails, domains = WIDE["email"], pl.concat([WIDE_COMPANIES["domain"], WIDE["company_domain"]]).drop_nulls()
        wh.append(KEYS_TABLE, pl.concat([pl.DataFrame({"kind": "email", "raw": emails, "key": email_keys(emails)}),
                                         pl.DataFrame({"kind": "domain", "raw": domains, "key": domain_keys(domains)})]
                                        ).cast(KEYS_SCHEMA), schema=SCHEMA)
        wh.append(LOG_TABLE, pl.concat([_log(LOG), _log(LOG[1:3], run_id="r0"), _log(LOG[1:3], workflow="other")]),
                  schema=SCHEMA)
        yield wh
        wh.close()


MODELS = {"person": ("syncs", "sync_website_visitor__persons"), "company": ("syncs", "sync_website_visitor__companies")}


@pytest.mark.parametrize(("first", "last"), [(D, D), (DAY_BEFORE, D), (BEFORE, BEFORE), (NEXT, NEXT)])
def test_the_warehouse_selects_the_window_as_the_polars_rule_does(wide_warehouse: Any, first: dt.date,
                                                                  last: dt.date) -> None:
    from dagster_pipeline.sync.window import stage_window

    scratch: list[tuple[str, str]] = []
    staged = stage_window(wide_warehouse, "t", dict(MODELS), first, last, scratch=scratch)
    try:
        got_p = wide_warehouse.read_model(staged["person"][1], schema=staged["person"][0])
        got_c = wide_warehouse.read_model(staged["company"][1], schema=staged["company"][0])
    finally:
        for schema, table in scratch:
            wide_warehouse.drop(table, schema=schema)
    want_p, want_c = select_window(WIDE, WIDE_COMPANIES, first, last)
    assert got_p.equals(want_p) and sorted(got_c["domain"]) == sorted(want_c["domain"])
    assert [t for _, t in scratch] == ["window_t_person", "window_t_company"]
    assert not wide_warehouse.table_exists("window_t_person", schema="writeback")


def test_the_warehouse_counts_each_outcome_on_its_day_without_returning_the_unchanged_rows(wide_warehouse: Any) -> None:
    from dagster_pipeline.sync.window import WindowSql, outcomes_by_day

    first, last = DAY_BEFORE, D
    before = wide_warehouse.rows_fetched
    by_day = outcomes_by_day(WindowSql.of(wide_warehouse, first, last, **MODELS), run_id=RUN, workflow=WF,
                             own_log=_log(LOG))
    assert list(by_day) == [DAY_BEFORE, D]
    shown = {day: sorted(part["key"]) for day, (part, _) in by_day.items()}
    assert shown == {DAY_BEFORE: ["a@acme.io", "soft.io"],
                     D: ["(row 6: email is blank)", "mixed@case.io"]}  # a key without a day: the last day
    assert {day: counts for day, (_, counts) in by_day.items()} == {
        DAY_BEFORE: {"Account": 1},          # norm.io, by its key (https://www.norm.io/ in the model)
        D: {"Lead": 2, "Account": 2}}        # acme.io and big.io pulled in by their persons: their latest day
    # Back in Python: the days of the four shown keys that have one, and one count per (day, object).
    assert wide_warehouse.rows_fetched - before == 3 + 3
    # The polars rule agrees on every key it can name (it names norm.io by neither spelling: the last day).
    p, c = select_window(WIDE, WIDE_COMPANIES, first, last)
    without_norm = {DAY_BEFORE: {}, D: {"Lead": 2, "Account": 2}}
    for day, part in log_by_day(_log(LOG), record_days(p, c, first, last), first, last).items():
        assert sorted(part.filter(pl.col("action") != "unchanged")["key"]) == shown[day]
        plain = part.filter((pl.col("action") == "unchanged") & (pl.col("key") != "norm.io"))
        assert dict(plain.group_by("object").len().iter_rows()) == without_norm[day]


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake"])
def test_a_windowed_run_writes_exactly_its_days_records_and_leaves_no_scratch_table(
        sf: Any, dialect: str, tmp_path: Any) -> None:
    """``run_workflow(window=…)`` end to end: the CRM holds the window's records, read back through the SDK."""
    import fakesnow

    from connectors.salesforce.api import SalesforceConnector
    from connectors.warehouse import Warehouse
    from dagster_pipeline.sync.engine import run_workflow
    from dagster_pipeline.sync.settings import parse_settings
    from dagster_pipeline.sync.setup import run_setup
    from dagster_pipeline.sync.state import SyncStore
    from tests.sync.frames import companies as company_frame
    from tests.sync.frames import company, person
    from tests.sync.frames import persons as person_frame

    people = person_frame(person("in@acme.io", "acme.io", activity_date=D),
                          person("out@old.io", "old.io", activity_date=BEFORE),
                          person("next@soft.io", "soft.io", activity_date=NEXT))
    firms = company_frame(company("acme.io", activity_date=BEFORE), company("old.io", activity_date=BEFORE),
                          company("soft.io", activity_date=D), company("busy.io", activity_date=DAY_BEFORE))
    settings = parse_settings({"crm": "salesforce"})
    with fakesnow.patch():
        wh = (Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") if dialect == "duckdb"
              else Warehouse("snowflake://writer:secret@acct/analytics/public"))
        run_setup(settings, SalesforceConnector(sf), store=SyncStore(wh))
        result = run_workflow("website_visitor", settings, wh, SalesforceConnector(sf), mode="sync", run_id="w1",
                              persons=people, companies=firms, window=(D, D))
        made = [f"{kind}_w1_website_visitor_{entity}" for kind in ("input", "window")
                for entity in ("person", "company")]
        left = [t for t in made if wh.table_exists(t, schema="writeback")]
        wh.close()
    assert (result.summary["Lead"].created, result.summary["Account"].created) == (1, 2)
    assert {r["Email"] for r in sf.query_all("SELECT Email FROM Lead")["records"]} == {"in@acme.io"}
    accounts = sf.query_all("SELECT Warmly_Sync_Key__c FROM Account")["records"]
    assert {a["Warmly_Sync_Key__c"] for a in accounts} == {"acme.io", "soft.io"}  # its day's, and its person's
    assert left == []
