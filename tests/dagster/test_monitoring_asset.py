"""The monitoring asset: per-object integer metadata and a day table, and the wide-run check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, materialize

from connectors.warehouse import Warehouse
from dagster_pipeline.defs.monitoring import WIDE_CHECK, sync_activity
from dagster_pipeline.defs.resources import WarehouseResource
from tests.sync.log_frames import steady_log


@pytest.mark.parametrize(("creates", "passed"), [([200, 8, 6, 7, 9], True), ([200, 8, 6, 7, 90], False)])
def test_sync_activity_reports_a_week_and_warns_on_a_run_gone_wide(tmp_path: Path, creates, passed) -> None:
    db = tmp_path / "warehouse.duckdb"
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=len(creates) - 1)
    Warehouse.duckdb(db).append("sync_log", steady_log(start, creates), schema="writeback")

    result = materialize([sync_activity], resources={"warehouse": WarehouseResource(url=f"duckdb:///{db}")})
    assert result.success
    metadata = result.asset_materializations_for_node("sync_activity")[0].metadata
    assert metadata["Lead create (7d)"].value == sum(creates)
    assert metadata["Lead unchanged (7d)"].value == 5 * len(creates)
    table = metadata["by_day"].value
    assert [c.name for c in table.schema.columns][:5] == ["day", "workflow", "crm", "object", "action"]
    assert sum(r.data["records"] for r in table.records) == sum(creates) + 5 * len(creates)

    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == WIDE_CHECK and evaluation.severity == AssetCheckSeverity.WARN
    assert evaluation.passed is passed
    if not passed:
        assert evaluation.metadata["wide_runs"].value[0]["creates"] == 90
