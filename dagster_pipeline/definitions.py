"""The Dagster code location: it only loads and merges (each defs/ module owns its definitions).

`dagster dev` (in the repository root: pyproject.toml names this module) shows the graph seeds → staging → intermediate
→ sync models → CRM fields (with the blocking required-fields check) → one sync per workflow.
Runs use the in-process executor: DuckDB allows one writing process at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Definitions, in_process_executor

from dagster_pipeline.defs.crm import crm_fields, required_custom_fields_present, sync_assets
from dagster_pipeline.defs.dbt import warehouse_dbt
from dagster_pipeline.defs.monitoring import sync_activity
from dagster_pipeline.defs.resources import resources_from_env
from dagster_pipeline.defs.schedules import jobs, reconcile_job, reconcile_schedule, schedules, warehouse_job
from dagster_pipeline.defs.segments import segments_consistent


def build_definitions(resources: Mapping[str, Any]) -> Definitions:
    """Everything, bound to ``resources`` (the demo and the tests bind credentials set after import)."""
    return Definitions(
        assets=[warehouse_dbt, crm_fields, *sync_assets, sync_activity],
        asset_checks=[required_custom_fields_present, segments_consistent],
        jobs=[warehouse_job, *jobs.values(), reconcile_job],
        schedules=[*schedules, reconcile_schedule],
        resources=dict(resources),
        executor=in_process_executor,
    )


defs = build_definitions(resources_from_env())
