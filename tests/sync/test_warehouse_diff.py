"""The diff in the warehouse: what leaves it, what stays, and the state it keeps — on DuckDB and on
Snowflake (fakesnow), through the same SQL.

Promises (README "Diff in the warehouse", ``dagster_pipeline/sync/warehouse_diff.py``):
- a run that changed nothing brings no row of the sync models back into Python, and still logs
  one ``unchanged`` outcome per row (written in the warehouse by ``INSERT … SELECT``);
- a run where 1% of rows changed brings back exactly those rows, and writes only them;
- a new row whose key normalises to the key of a row the warehouse would keep brings both back:
  the first is synced, the other ``duplicate_key``, as without the warehouse diff;
- ``writeback.sync_state`` keeps one row per key however many runs; a table written append-only
  by an older release is compacted to its newest row per key on first use.

The sync models are tables in the warehouse (``syncs.*``), as dbt builds them; the CRM is the
Salesforce sandbox, read back through simple-salesforce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import fakesnow
import polars as pl
import pytest

from connectors.salesforce.api import SalesforceConnector
from connectors.warehouse import Warehouse
from dagster_pipeline.sync.catalog import sync_model
from dagster_pipeline.sync.engine import WorkflowResult, run_workflow
from dagster_pipeline.sync.settings import parse_settings
from dagster_pipeline.sync.setup import run_setup
from dagster_pipeline.sync.state import SCHEMA, STATE_SCHEMA, STATE_TABLE, SyncStore
from tests.sync.frames import companies, company, person, persons

WF = "website_visitor"
N_PEOPLE, N_COMPANIES = 200, 10


def _no_sleep(_: float) -> None:
    """Backoff waits are skipped in tests; the retry decisions are still real."""


def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    doms = [f"co{i}.io" for i in range(N_COMPANIES)]
    p = persons(*(person(f"p{i}@{doms[i % N_COMPANIES]}", doms[i % N_COMPANIES]) for i in range(N_PEOPLE)))
    return p, companies(*(company(d) for d in doms))


def publish(wh: Warehouse, p: pl.DataFrame, c: pl.DataFrame) -> None:
    """(Re)build the workflow's two sync models, as ``dbt build`` would."""
    for entity, frame in (("person", p), ("company", c)):
        wh.drop(sync_model(WF, entity), schema="syncs")
        wh.append(sync_model(WF, entity), frame, schema="syncs")


def settings() -> Any:
    return parse_settings({"crm": "salesforce", "objects": {"contact": {"create": False}}})


def run(wh: Warehouse, sf: Any, mode: str = "sync") -> tuple[WorkflowResult, int]:
    """One run of the workflow on the models in ``wh``; the result and the rows it brought back."""
    before = wh.rows_fetched
    result = run_workflow(WF, settings(), wh, SalesforceConnector(sf, sleep=_no_sleep),
                          mode=mode)  # type: ignore[arg-type]
    return result, wh.rows_fetched - before


def state(wh: Warehouse) -> pl.DataFrame:
    return wh.read_model(STATE_TABLE, schema=SCHEMA)


def scenario(wh: Warehouse, sf: Any) -> None:
    run_setup(settings(), SalesforceConnector(sf, sleep=_no_sleep), store=SyncStore(wh))  # the Warmly fields
    p, c = world()
    publish(wh, p, c)
    first, fetched = run(wh, sf)
    # A first run: every row is new, and each raw key comes once more to be normalised (sync_keys).
    assert fetched == 2 * (N_PEOPLE + N_COMPANIES)
    assert first.summary["Lead"].created == N_PEOPLE and first.summary["Account"].created == N_COMPANIES
    assert state(wh).height == N_PEOPLE + N_COMPANIES

    # Nothing changed: no row of either model leaves the warehouse; every row still has its outcome.
    quiet, fetched = run(wh, sf)
    assert fetched == 0
    assert quiet.own_log.is_empty()
    assert (quiet.summary["Lead"].unchanged, quiet.summary["Account"].unchanged) == (N_PEOPLE, N_COMPANIES)
    logged = SyncStore(wh).read_log(quiet.run_id)
    assert logged.height == N_PEOPLE + N_COMPANIES and set(logged["action"]) == {"unchanged"}
    assert logged["key"].n_unique() == N_PEOPLE + N_COMPANIES
    assert wh.rows_fetched > 0  # reading the log back is the caller's choice, counted like any read

    # A plan of the same: nothing comes back either, and the plan's outcomes are in its log.
    planned, fetched = run(wh, sf, mode="plan")
    assert fetched == 0 and planned.summary["Lead"].unchanged == N_PEOPLE
    assert planned.log.height == N_PEOPLE + N_COMPANIES  # read back from writeback.plan_log on demand

    # 1% of people change: exactly those rows come back, and only they are written.
    changed = [f"p{i}@co{i % N_COMPANIES}.io" for i in (3, 77)]
    p2 = p.with_columns(pl.when(pl.col("email").is_in(changed)).then(pl.lit("Chief Revenue Officer"))
                        .otherwise(pl.col("title")).alias("title"))
    publish(wh, p2, c)
    one_percent, fetched = run(wh, sf)
    assert fetched == len(changed)
    assert one_percent.summary["Lead"].updated == len(changed)
    assert one_percent.summary["Lead"].unchanged == N_PEOPLE - len(changed)
    titles = {r["Email"]: r["Title"] for r in sf.query_all("SELECT Email, Title FROM Lead")["records"]}
    assert {e for e, t in titles.items() if t == "Chief Revenue Officer"} == set(changed)

    # Another spelling of a kept key: both rows come back; the first stays synced, the new one is a duplicate.
    dup = persons(person(" P5@CO5.IO ", "co5.io"))
    publish(wh, pl.concat([p2, dup]), c)
    duplicated, fetched = run(wh, sf)
    assert fetched == 2 + 1  # the two rows, and the new spelling once to be normalised
    own = {r["key"]: (r["action"], r["reason"]) for r in duplicated.own_log.iter_rows(named=True)}
    assert own == {"p5@co5.io": ("unchanged", None), "P5@CO5.IO": ("skipped", "duplicate_key")}
    assert f"row {N_PEOPLE + 1} of" in duplicated.own_log.filter(pl.col("reason") == "duplicate_key")["message"][0]

    # However many runs, one state row per key.
    st = state(wh)
    assert st.height == N_PEOPLE + N_COMPANIES
    assert st.select("crm", "org", "workflow", "entity", "key").is_unique().all()


def test_duckdb_keeps_unchanged_rows_in_the_warehouse(sf: Any, tmp_path: Any) -> None:
    wh = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    scenario(wh, sf)
    wh.close()


@pytest.fixture
def snowflake() -> Iterator[Warehouse]:
    with fakesnow.patch():
        wh = Warehouse("snowflake://writer:secret@acct/analytics/public")
        yield wh
        wh.close()


def test_snowflake_runs_the_same_sql(sf: Any, snowflake: Warehouse) -> None:
    scenario(snowflake, sf)


def _old_state() -> pl.DataFrame:
    """An append-only state as an older release wrote it: three runs of one key, one of another."""
    at = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    rows = [("ann@acme.io", "r1", "h1", 0), ("ann@acme.io", "r3", "h3", 2), ("ann@acme.io", "r2", "h2", 1),
            ("acme.io", "r1", "c1", 0)]
    return pl.DataFrame([{
        "crm": "salesforce", "org": "00D1", "workflow": WF, "entity": "company" if "@" not in k else "person",
        "key": k, "crm_object": "Lead", "crm_id": f"id-{k}", "payload_hash": h, "run_id": r,
        "synced_at": at + dt.timedelta(hours=n),
    } for k, r, h, n in rows], schema=STATE_SCHEMA)


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake"])
def test_an_append_only_state_is_compacted_to_its_newest_row_per_key(dialect: str, tmp_path: Any) -> None:
    with fakesnow.patch():
        wh = (Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") if dialect == "duckdb"
              else Warehouse("snowflake://writer:secret@acct/analytics/public"))
        wh.append(STATE_TABLE, _old_state(), schema=SCHEMA)
        SyncStore(wh).prepare()
        st = state(wh)
        assert dict(st.select("key", "run_id").iter_rows()) == {"ann@acme.io": "r3", "acme.io": "r1"}
        # Writing a key replaces its row.
        new = _old_state().filter(pl.col("key") == "acme.io").with_columns(pl.lit("r4").alias("run_id"))
        SyncStore(wh).save_state(new)
        assert dict(state(wh).select("key", "run_id").iter_rows()) == {"ann@acme.io": "r3", "acme.io": "r4"}
        wh.close()
