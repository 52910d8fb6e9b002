"""Daily partitions on activity date, shared by the dbt sync models and the sync assets.

A partition is the set of records whose latest activity (for that workflow) fell on that
day, so a backfill over a date range re-syncs exactly those records; fingerprints make a
repeated backfill write nothing. The first day is configurable because a real warehouse's
history starts wherever it starts.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings

from dagster import BackfillPolicy, BetaWarning, DailyPartitionsDefinition, TimeWindow

# Single-run backfills are what make a date range one dbt build; Dagster still labels the
# parameter beta and would warn once per asset on every load.
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

START_DATE = os.environ.get("WRITEBACK_PARTITIONS_START", "2026-09-01")

daily_partitions = DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)

#: A date range runs as one dbt build and one sync per workflow, not one run per day.
single_run = BackfillPolicy.single_run()


def window_dates(window: TimeWindow) -> tuple[dt.date, dt.date]:
    """Inclusive first and last activity dates of a partition window (its end is exclusive)."""
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()
