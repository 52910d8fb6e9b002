"""A week of records to monitor: the sync log per day, and runs that created far more than usual.

Pure polars over ``writeback.sync_log`` (no Dagster). :func:`daily_activity` computes what the dbt
model ``sync_log_daily`` holds — the same grouping, the same outcome rule, the same top failure
reasons — so ``writeback report``, the Dagster asset and a SQL query of the model agree.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

GROUP = ["day", "workflow", "crm", "object", "action"]
REPORT_SCHEMA = pl.Schema({
    "day": pl.Date(), "workflow": pl.Utf8(), "crm": pl.Utf8(), "object": pl.Utf8(), "action": pl.Utf8(),
    "records": pl.Int64(), "runs": pl.Int64(), "top_failure_reasons": pl.Utf8(),
})
TOP_REASONS = 3
WIDE_FACTOR = 3.0
#: Below this many creates a run is never called wide: five new visitors after quiet runs is not a segment gone wide.
WIDE_MIN_CREATES = 10


def _utc_day(column: str, dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC")
    return expr.dt.date()


def _outcomes(log: pl.DataFrame) -> pl.DataFrame:
    return log.select(
        _utc_day("run_at", log.schema["run_at"]).alias("day"),
        "workflow", "crm", "object",
        # a create or update the CRM refused is a failure, as the run summary counts it
        pl.when((pl.col("action") == "failed") | (pl.col("status") == "failed")).then(pl.lit("failed"))
        .otherwise(pl.col("action")).alias("action"),
        pl.col("reason").fill_null("error"),
        "run_id",
    )


def daily_activity(log: pl.DataFrame, *, days: int | None = None, today: dt.date | None = None) -> pl.DataFrame:
    """Records per UTC day × workflow × CRM object × action, with the top failure reasons.

    ``days``: only the last ``days`` days ending ``today`` (UTC). Sorted by day, then the rest.
    """
    if log.is_empty():
        return pl.DataFrame(schema=REPORT_SCHEMA)
    outcomes = _outcomes(log)
    if days is not None:
        last = today or dt.datetime.now(dt.timezone.utc).date()
        outcomes = outcomes.filter(pl.col("day") > last - dt.timedelta(days=days), pl.col("day") <= last)
    counts = outcomes.group_by(GROUP).agg(pl.len().cast(pl.Int64).alias("records"),
                                          pl.col("run_id").n_unique().cast(pl.Int64).alias("runs"))
    top = (
        outcomes.filter(pl.col("action") == "failed")
        .group_by(["day", "workflow", "crm", "object", "reason"]).len()
        .sort(["len", "reason"], descending=[True, False])
        .group_by(["day", "workflow", "crm", "object"], maintain_order=True)
        .agg((pl.col("reason") + " (" + pl.col("len").cast(pl.Utf8) + ")").head(TOP_REASONS)
             .str.join(", ").alias("top_failure_reasons"))
        .with_columns(pl.lit("failed").alias("action"))
    )
    return (counts.join(top, on=GROUP, how="left", nulls_equal=True)
            .select(list(REPORT_SCHEMA)).cast(REPORT_SCHEMA).sort(GROUP))


def object_totals(report: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per CRM object, records per action over the report (what Dagster plots, one value per key)."""
    totals: dict[str, dict[str, int]] = {}
    for row in report.group_by(["object", "action"]).agg(pl.col("records").sum()).iter_rows(named=True):
        totals.setdefault(row["object"], {})[row["action"]] = int(row["records"])
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class WideRun:
    """A run that created more than ``factor`` × the median of its workflow's previous runs."""

    workflow: str
    run_id: str
    run_at: dt.datetime
    creates: int
    median_before: float
    previous_runs: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "run_at": self.run_at.isoformat()}


def creates_per_run(log: pl.DataFrame) -> pl.DataFrame:
    """Per workflow and run, in run order: the records created (a refused create is not one)."""
    if log.is_empty():
        return pl.DataFrame(schema={"workflow": pl.Utf8(), "run_id": pl.Utf8(), "run_at": log.schema.get(
            "run_at", pl.Datetime("us", "UTC")), "creates": pl.Int64()})
    created = (pl.col("action") == "create") & (pl.col("status") != "failed").fill_null(True)
    run_at = pl.col("run_at")
    tz = getattr(log.schema["run_at"], "time_zone", None)
    run_at = run_at.dt.convert_time_zone("UTC") if tz else run_at.dt.replace_time_zone("UTC")
    return (log.with_columns(run_at)
            .group_by(["workflow", "run_id"])
            .agg(pl.col("run_at").min(), created.sum().cast(pl.Int64).alias("creates"))
            .sort(["workflow", "run_at", "run_id"]))


def wide_runs(log: pl.DataFrame, *, factor: float = WIDE_FACTOR, min_creates: int = WIDE_MIN_CREATES,
              since: dt.datetime | None = None) -> list[WideRun]:
    """Runs (started at or after ``since``) that created more than ``factor`` × the median of the
    previous runs of their workflow, and at least ``min_creates`` records. A workflow's first run has
    no history and is never flagged."""
    out: list[WideRun] = []
    for (workflow,), runs in creates_per_run(log).group_by(["workflow"], maintain_order=True):
        history: list[int] = []
        for row in runs.iter_rows(named=True):
            creates = int(row["creates"])
            if history and (since is None or row["run_at"] >= since):
                median = float(statistics.median(history))
                if creates > factor * median and creates >= min_creates:
                    out.append(WideRun(str(workflow), row["run_id"], row["run_at"], creates, median, len(history)))
            history.append(creates)
    return out
