"""One job per workflow and its schedule.

Cadences follow how fresh each workflow's data must be in the CRM — a chat lead is worth
the most in its first minutes:

| workflow | default cron | env override |
| --- | --- | --- |
| website_visitor | hourly, ``0 * * * *`` | ``WRITEBACK_SCHEDULE_WEBSITE_VISITOR`` |
| inbound_agent | every 15 minutes, ``*/15 * * * *`` | ``WRITEBACK_SCHEDULE_INBOUND_AGENT`` |
| outbound_agent | daily at 06:00, ``0 6 * * *`` | ``WRITEBACK_SCHEDULE_OUTBOUND_AGENT`` |

Each tick syncs today's partition (records active today), rebuilding its dbt models first.
Schedules ship stopped: turning one on in the UI is a deliberate act, never a side effect
of deploying.
"""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from dagster_pipeline.sync.settings import WORKFLOWS

DEFAULT_CRON = {
    "website_visitor": "0 * * * *",
    "inbound_agent": "*/15 * * * *",
    "outbound_agent": "0 6 * * *",
}


def cron_for(workflow: str) -> str:
    return os.environ.get(f"WRITEBACK_SCHEDULE_{workflow.upper()}", DEFAULT_CRON[workflow])


def job_for(workflow: str) -> UnresolvedAssetJobDefinition:
    return define_asset_job(
        f"{workflow}_job",
        selection=AssetSelection.assets(f"{workflow}_crm_sync").upstream(),  # partitioned daily, like its assets
        description=f"Rebuild the {workflow} sync models and write them to the CRM.",
    )


def schedule_for(workflow: str, job: UnresolvedAssetJobDefinition) -> ScheduleDefinition:
    @schedule(name=f"{workflow}_schedule", cron_schedule=cron_for(workflow), job=job,
              default_status=DefaultScheduleStatus.STOPPED,
              description=f"Sync today's {workflow} activity on `{cron_for(workflow)}`.")
    def _schedule(context: ScheduleEvaluationContext) -> RunRequest:
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return RunRequest(run_key=f"{workflow}-{context.scheduled_execution_time.isoformat()}", partition_key=day)

    return _schedule


jobs = {w: job_for(w) for w in WORKFLOWS}
schedules = [schedule_for(w, jobs[w]) for w in WORKFLOWS]
