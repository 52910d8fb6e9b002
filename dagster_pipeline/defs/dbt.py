"""dbt models as Dagster assets (dagster-dbt); dbt tests become asset checks.

Every model shares the daily partitions, so one job, schedule tick or backfill spans the dbt
models and the syncs, and a range runs as one dbt build (single-run policy).

A build is always whole: a partitioned run does not pass ``--vars {min_date, max_date}``. The sync
models are tables that hold every record with its ``activity_date``, and each sync asset takes
its partition's records from them (``dagster_pipeline.sync.window``). Narrowing the tables to one
run's window would leave them holding that window only, so every other reader would see too
little: a sync of another day that does not rebuild them first, ``writeback sync`` and
``writeback plan``, an analyst querying the model — and Dagster would still show the other days
as materialized. Narrowing would save little either: the layers below the sync models are
rebuilt whole in any case. The vars stay for previewing a window by hand (``dbt build --vars``).
"""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation.

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_pipeline.dbt_runner import DBT_PROJECT_DIR, dbt_executable
from dagster_pipeline.defs.partitions import daily_partitions, single_run

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
    yield from dbt.cli(["build"], context=context).stream()  # whole, whatever the partitions: see above


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
