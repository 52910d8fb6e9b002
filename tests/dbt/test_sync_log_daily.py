"""The monitoring model over the sync log: builds before any sync, and counts as the report does."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from dagster_pipeline.dbt_runner import run_dbt
from dagster_pipeline.sync.monitoring import daily_activity
from tests.dbt.conftest import Build
from tests.sync.log_frames import log_rows

UTC = dt.timezone.utc


def test_the_model_is_empty_before_the_first_sync(built: Build) -> None:
    assert not built.warehouse.table_exists("sync_log", schema="writeback")
    model = built.warehouse.read_model("sync_log_daily", schema="monitoring")
    assert model.is_empty()
    assert model.columns == ["day", "workflow", "crm", "object", "action", "records", "runs", "top_failure_reasons"]


def test_the_model_counts_what_writeback_report_counts(built: Build, tmp_path: Path) -> None:
    path = tmp_path / built.path.name
    shutil.copy(built.path, path)
    wh = Build(path, tmp_path / "target").warehouse
    log = pl.concat([
        log_rows("r1", dt.datetime(2026, 11, 19, 23, 30, tzinfo=UTC), "website_visitor", "Lead",
                 {("create", "succeeded", None): 4, ("create", "failed", "STRING_TOO_LONG"): 1,
                  ("failed", "failed", "missing_key"): 3, ("failed", "failed", "read_failed"): 2,
                  ("failed", "failed", "invalid_email"): 2, ("failed", "failed", "run_aborted"): 1}),
        log_rows("r1", dt.datetime(2026, 11, 19, 23, 30, tzinfo=UTC), "website_visitor", "Account",
                 {("create", "succeeded", None): 2, ("skipped", "skipped", "duplicate_key"): 1}),
        # the same day again, then the next UTC day
        log_rows("r2", dt.datetime(2026, 11, 19, 23, 59, tzinfo=UTC), "website_visitor", "Lead",
                 {("unchanged", "succeeded", None): 4, ("update", "succeeded", None): 1}),
        log_rows("r3", dt.datetime(2026, 11, 20, 0, 5, tzinfo=UTC), "inbound_agent", "Contact",
                 {("update", "succeeded", "drift"): 2}),
    ])
    wh.append("sync_log", log, schema="writeback")
    run_dbt(["run", "--select", "sync_log_daily"], duckdb_path=path, target_path=tmp_path / "target")

    model = wh.read_model("sync_log_daily", schema="monitoring").sort(["day", "workflow", "crm", "object", "action"])
    expected = daily_activity(wh.read_model("sync_log", schema="writeback"))
    assert_frame_equal(model, expected)
    lead_failed = expected.filter(pl.col("object") == "Lead", pl.col("action") == "failed").row(0, named=True)
    assert lead_failed["records"] == 9 and lead_failed["runs"] == 1
    assert lead_failed["top_failure_reasons"] == "missing_key (3), invalid_email (2), read_failed (2)"
    lead_day = expected.filter(pl.col("object") == "Lead", pl.col("day") == dt.date(2026, 11, 19))
    assert dict(lead_day.select("action", "records").iter_rows()) == {"create": 4, "failed": 9, "unchanged": 4,
                                                                       "update": 1}
    assert expected.filter(pl.col("day") == dt.date(2026, 11, 20))["records"].to_list() == [2]
