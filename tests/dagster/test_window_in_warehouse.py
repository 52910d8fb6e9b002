"""A partitioned sync leaves its models in the warehouse: only the rows of its days that changed come out.

Promise (README "Partitions and backfills"): the sync asset hands the engine the window, not the
models; the window is selected in the warehouse and the per-day metadata counted there, so a daily
run of a big model reads none of it into Python but what it writes. Measured by the rows the
warehouse returned to the asset (``run_rows_fetched``, :attr:`Warehouse.rows_fetched`), over a
model padded with thousands of rows of another day; the CRM is the Salesforce sandbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from dagster import AssetKey, materialize

from connectors.warehouse import Warehouse
from dagster_pipeline.local_run import all_assets
from tests.dagster.conftest import FIRST_DAY, LAST_DAY

WF = "website_visitor"
OTHER_DAYS = 5_000  # persons of another day: a run of LAST_DAY must leave them where they are
OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")
#: Rows every run reads besides its models': the product's own (field epochs, the per-day counts).
OVERHEAD = 25


def _pad(db: Any) -> tuple[int, int]:
    """Add persons of another day to the persons model; the rows of LAST_DAY's window in both models."""
    from dagster_pipeline.sync.window import select_window

    wh = Warehouse(f"duckdb:///{db}")
    persons = wh.read_model(f"sync_{WF}__persons")
    base = persons.head(1)
    extra = pl.concat([base] * OTHER_DAYS).with_columns(
        (pl.lit("padding") + pl.int_range(OTHER_DAYS).cast(pl.Utf8) + pl.lit("@other-day.io")).alias("email"),
        pl.lit(FIRST_DAY).alias("activity_date"))
    wh.append(f"sync_{WF}__persons", extra, schema=wh.sync_schema)
    window = select_window(persons, wh.read_model(f"sync_{WF}__companies"), LAST_DAY, LAST_DAY)
    return window[0].height, window[1].height


def _run() -> Any:
    from dagster_pipeline.defs.resources import resources_from_env

    result = materialize(all_assets(), partition_key=LAST_DAY.isoformat(), resources=resources_from_env(),
                         selection=[AssetKey("crm_fields"), AssetKey(f"{WF}_crm_sync")])
    assert result.success
    (meta,) = [e.step_materialization_data.materialization.metadata for e in result.get_asset_materialization_events()
               if e.step_materialization_data.materialization.asset_key == AssetKey(f"{WF}_crm_sync")]
    return meta


def test_a_daily_run_fetches_only_the_rows_of_its_day_that_changed(dagster_env: dict[str, Any]) -> None:
    from dagster_pipeline.connect import make_connector
    from dagster_pipeline.sync.settings import load_settings
    from dagster_pipeline.sync.setup import run_setup

    db = dagster_env["db"]
    day_persons, day_companies = _pad(db)
    bound = 4 * (day_persons + day_companies) + OVERHEAD
    assert day_persons and OTHER_DAYS > 5 * bound
    settings = load_settings()
    run_setup(settings, make_connector(settings))

    first = _run()
    # A first run of the day: its rows' raw keys come out once to be normalised (sync_keys), the
    # rows once to be written, and the days of their keys for the metadata; a read of the model
    # would be thousands more.
    assert first["run_rows_fetched"].value <= bound, (first["run_rows_fetched"].value, bound)
    assert first["created"].value > 0

    second = _run()
    # Nothing changed: what comes out is the day's rows that are not synced (skipped, failed),
    # each with its day, and the product's own few rows.
    not_synced = sum(second[k].value for k in ("skipped", "failed", "created", "updated"))
    assert second["run_rows_fetched"].value <= 2 * not_synced + OVERHEAD
    assert second["created"].value == second["updated"].value == 0
    assert sum(second[k].value for k in OUTCOMES) == sum(first[k].value for k in OUTCOMES)
    assert second["unchanged"].value == first["created"].value + first["unchanged"].value
    assert dt.date.fromisoformat(str(second["run_days"].value).split(" … ")[0]) == LAST_DAY
