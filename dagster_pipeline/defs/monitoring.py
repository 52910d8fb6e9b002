"""Monitoring: a week of synced records as an asset Dagster plots, and a check for a segment gone wide.

``sync_activity`` sits on the dbt model ``sync_log_daily`` and on the three syncs. It computes the
same rows as that model from the sync log at materialization time (``dagster_pipeline.sync.monitoring``),
so it includes the syncs that ran after the last dbt build. Its integer metadata — per CRM object
and action, records over the last 7 days — is what the UI draws as a trend across materializations;
the table holds the day-by-day rows. Thin glue: every number comes from the pure module.
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)
from dagster_dbt import get_asset_key_for_model

from dagster_pipeline.defs.dbt import warehouse_dbt
from dagster_pipeline.defs.resources import WarehouseResource
from dagster_pipeline.sync.monitoring import REPORT_SCHEMA, daily_activity, object_totals, wide_runs
from dagster_pipeline.sync.segments import WORKFLOWS
from dagster_pipeline.sync.state import SyncStore

DAYS = 7
SYNC_ACTIVITY = AssetKey("sync_activity")
WIDE_CHECK = "no_run_creates_3x_the_median"

_TABLE_SCHEMA = TableSchema(columns=[
    TableColumn(name, "int" if dtype.is_integer() else "date" if name == "day" else "string")
    for name, dtype in REPORT_SCHEMA.items()
])


@asset(
    key=SYNC_ACTIVITY,
    group_name="monitoring",
    owners=["team:revops-data"],
    kinds={"duckdb", "polars"},
    deps=[get_asset_key_for_model([warehouse_dbt], "sync_log_daily"), *(AssetKey(f"{w}_crm_sync") for w in WORKFLOWS)],
    check_specs=[AssetCheckSpec(WIDE_CHECK, asset=SYNC_ACTIVITY, blocking=False,
                                description="No sync run of the last 7 days created more than 3× the median of "
                                            "the previous runs of its workflow (and at least 10 records).")],
    description="Records synced per day × workflow × CRM object × action over the last 7 days (UTC), "
                "with the top failure reasons: what to watch after turning a workflow on or widening a segment.",
)
def sync_activity(warehouse: WarehouseResource) -> MaterializeResult:
    log = SyncStore(warehouse.get()).read_log()
    report = daily_activity(log, days=DAYS)
    metadata: dict = {
        f"{obj} {action} ({DAYS}d)": MetadataValue.int(n)
        for obj, actions in object_totals(report).items() for action, n in actions.items()
    }
    metadata["records"] = MetadataValue.int(int(report["records"].sum()) if report.height else 0)
    metadata["by_day"] = MetadataValue.table(
        records=[TableRecord({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()
                              if v is not None})
                 for row in report.iter_rows(named=True)],
        schema=_TABLE_SCHEMA,
    )
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=DAYS)
    wide = wide_runs(log, since=since)
    check = AssetCheckResult(
        check_name=WIDE_CHECK,
        passed=not wide,
        severity=AssetCheckSeverity.WARN,
        metadata={"wide_runs": MetadataValue.json([w.as_dict() for w in wide])},
        description=None if not wide else "; ".join(
            f"{w.workflow} run {w.run_id} created {w.creates} (median of {w.previous_runs} previous: "
            f"{w.median_before:g}) — has its segment gone wide?" for w in wide),
    )
    return MaterializeResult(metadata=metadata, check_results=[check])
