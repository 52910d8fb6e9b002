"""dbt models as Dagster assets (dagster-dbt); dbt tests become asset checks.

Every model shares the daily partitions: a partitioned run passes ``--vars {min_date,
max_date}`` from the run's time window, which only the sync models read, so one dbt build
serves a whole backfill range (single-run policy).
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_pipeline.dbt_runner import DBT_PROJECT_DIR, dbt_executable
from dagster_pipeline.defs.partitions import daily_partitions, single_run, window_dates

#: The dbt installed beside this Python, so nothing depends on PATH (a venv need not be activated).
DBT_EXECUTABLE = dbt_executable()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Parse the dbt project when no manifest exists yet (fresh clone, tests, demo)."""
    if not dbt_project.manifest_path.exists():
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR)],
            check=True, cwd=DBT_PROJECT_DIR,
        )
    return dbt_project.manifest_path


class Translator(DagsterDbtTranslator):
    """Group dbt models by layer so the asset graph reads seeds → staging → … → syncs → CRM."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "raw"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return AssetKey([dbt_resource_props["name"]])


translator = Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    name="warehouse_dbt",
)
def warehouse_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    args = ["build"]
    if context.has_partition_key_range:
        first, last = window_dates(context.partition_time_window)
        args += ["--vars", json.dumps({"min_date": first.isoformat(), "max_date": last.isoformat()})]
    yield from dbt.cli(args, context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
