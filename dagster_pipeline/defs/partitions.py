"""Daily partitions on activity date, shared by every dbt model and the sync assets.

What a partition is: one day (UTC) that has ended. The records of day D are the persons and
companies whose latest activity for the workflow fell on D, plus the companies of those persons
(``dagster_pipeline.sync.window``), so a person synced on D is always linked to its company.

Why only days that have ended: the partitions run up to yesterday, so a scheduled run always
syncs a complete day and nothing of that day can happen after it. A run of "today so far" would
have to be run again later to catch the rest of the day, and a schedule that requested today
missed every record whose last activity came after its tick. Today's records are synced by the
next day's run, or at once by ``writeback sync`` (which writes only what changed).

How a run reads its window: from ``context.partition_time_window``, which holds for one partition
(a schedule tick, a single-partition run) and for a range (a single-run backfill) alike; a
partitioned run never reads a tag itself. The first day is configurable because a real warehouse's
history starts wherever it starts.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings

from dagster import AssetExecutionContext, BackfillPolicy, BetaWarning, DailyPartitionsDefinition, TimeWindow

# Single-run backfills are what make a date range one dbt build; Dagster still labels the
# parameter beta and would warn once per asset on every load.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

START_DATE = os.environ.get("WRITEBACK_PARTITIONS_START", "2026-09-01")

#: Days from START_DATE up to yesterday (UTC): the last partition is always a complete day.
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE)

#: A date range runs as one dbt build and one sync per workflow, not one run per day.
single_run = BackfillPolicy.single_run()


def window_dates(window: TimeWindow) -> tuple[dt.date, dt.date]:
    """Inclusive first and last activity dates of a partition window (its end is exclusive)."""
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


def run_window(context: AssetExecutionContext) -> tuple[dt.date, dt.date] | None:
    """The days a run covers, whether it targets one partition or a range; None for a run without partitions."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    return window_dates(context.partition_time_window)


def partition_day(partition_key: str) -> dt.date:
    """The day of one daily partition key."""
    return daily_partitions.time_window_for_partition_key(partition_key).start.date()
