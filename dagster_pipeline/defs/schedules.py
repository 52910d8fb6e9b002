"""One job per workflow and its daily schedule, plus a job that only rebuilds the warehouse.

Each workflow's job rebuilds the dbt models upstream of its sync, checks the CRM's fields, and
writes that workflow's records of the partition(s) it is given. Each schedule is built from that
job with Dagster's ``build_schedule_from_partitioned_job``: once a day it requests the job's
latest partition, which is yesterday (partitions are days that have ended, see ``partitions.py``).

Why this never misses a record and never re-syncs the world: every day gets exactly one tick,
after the day is over, and that tick syncs exactly the records whose latest activity fell on it.
A record active again later moves to its new day and is synced again then; a record synced twice
costs no CRM call when nothing changed (its fingerprint matches). What it costs is freshness:
today's activity reaches the CRM with the next morning's run. A run on a finer cadence would need
finer partitions (the sync models carry a day, not a time); ``writeback sync`` writes everything
that changed, at once, whenever you need it sooner.

| workflow | default time (UTC) | env override |
| --- | --- | --- |
| inbound_agent | 06:00 | ``WRITEBACK_SCHEDULE_INBOUND_AGENT`` |
| website_visitor | 06:20 | ``WRITEBACK_SCHEDULE_WEBSITE_VISITOR`` |
| outbound_agent | 06:40 | ``WRITEBACK_SCHEDULE_OUTBOUND_AGENT`` |

The six hours after midnight leave time for the day's data to land in the warehouse; chat leads
go first; the 20-minute steps usually keep the runs apart, since DuckDB lets one process write at
a time. Schedules ship stopped: turning one on in the UI is a deliberate act, never a side effect of
deploying.
"""

from __future__ import annotations

import os
import re

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    define_asset_job,
    schedule,
)

from dagster_pipeline.defs.crm import RECONCILE_TAG
from dagster_pipeline.defs.dbt import warehouse_dbt
from dagster_pipeline.defs.partitions import daily_partitions
from dagster_pipeline.sync.settings import WORKFLOWS

DEFAULT_TIME = {
    "inbound_agent": "06:00",
    "website_visitor": "06:20",
    "outbound_agent": "06:40",
}
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def time_for(workflow: str) -> tuple[int, int]:
    """(hour, minute) UTC of the workflow's daily run: ``WRITEBACK_SCHEDULE_<WORKFLOW>`` or the default."""
    var = f"WRITEBACK_SCHEDULE_{workflow.upper()}"
    text = os.environ.get(var, DEFAULT_TIME[workflow]).strip()
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"{var}: expected a time of day as HH:MM (UTC), got {text!r}; "
                         "each schedule runs once a day and syncs the day before")
    return int(match.group(1)), int(match.group(2))


#: Rebuild every dbt model and run its tests, without writing to the CRM (e.g. before `writeback plan`).
warehouse_job = define_asset_job(
    "warehouse_job",
    selection=AssetSelection.assets(warehouse_dbt),
    description="Rebuild every dbt model and run its tests; writes nothing to the CRM.",
)

#: Per workflow: its sync models (and what they are built from), the CRM fields check, its sync. Each
#: job takes its assets' daily partitions, which give its schedule the cadence and the partition to request.
jobs = {
    w: define_asset_job(
        f"{w}_job",
        selection=AssetSelection.assets(f"{w}_crm_sync").upstream(),
        description=f"Rebuild the {w} sync models and write the records of the partition's days to the CRM.",
    )
    for w in WORKFLOWS
}


def _at(workflow: str) -> str:
    hour, minute = time_for(workflow)
    return f"{hour:02d}:{minute:02d}"


schedules = [
    build_schedule_from_partitioned_job(
        jobs[w],
        name=f"{w}_schedule",
        hour_of_day=time_for(w)[0],
        minute_of_hour=time_for(w)[1],
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Every day at {_at(w)} UTC, write the {w} records of the day before.",
    )
    for w in WORKFLOWS
]


#: Compare every synced record of every day with the CRM: restore our fields a rep edited (drift,
#: reported per field in each sync's metadata and the sync log) and create again records a rep
#: deleted. Reads every record, so it runs apart from the daily syncs: weekly, shipped stopped.
reconcile_job = define_asset_job(
    "reconcile_job",
    selection=AssetSelection.assets(*(f"{w}_crm_sync" for w in WORKFLOWS)),
    tags={RECONCILE_TAG: "true"},
    description="Compare every synced record with the CRM; restore drift, create again what reps deleted.",
)

#: Dagster's tags for a run over a partition range (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@schedule(job=reconcile_job, cron_schedule="0 3 * * 0", name="reconcile_schedule",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Sundays at 03:00 UTC, reconcile every day's records with the CRM.")
def reconcile_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """One run over every partition up to the tick: the sync reads and compares them all at once."""
    keys = daily_partitions.get_partition_keys(current_time=context.scheduled_execution_time)
    return RunRequest(run_key=f"reconcile-{keys[-1]}",
                      tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
